"""The setup screen's facts: is a key source missing, and how to reach this device (pure but
for reading the file system and the network interfaces; no pygame).

Deep Chat shows an "insert key" view when it has no key. A kiosk has no keyboard: its setup
screen says what is missing and the exact commands to run over SSH, with the device's name
and addresses, so whoever stands in front of it can finish the job from a laptop.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance.config import AppConfig

KEY_FILE = Path("/etc/appliance/openai.key")
"""Where the installed service's API key lives (handed over as the credential ``openai.key``)."""
CREDENTIAL_NAME = "openai.key"
PROVISIONING_EXAMPLE = "https://YOUR-SERVER/realtime-key"

# The errors a session reports when it has no key to use: the setup screen answers them too.
KEY_MISSING = re.compile(
    r"no key source|no API key|API key (credential|file .*) is empty|cannot read the API key file"
)


def missing_key(config: AppConfig, environ: Mapping[str, str] | None = None) -> str | None:
    """Why no session can get a key, or ``None`` when a key source is configured.

    Only what can be known without reading a secret: files are looked at (exist, not empty),
    never read.
    """
    environ = os.environ if environ is None else environ
    rt, openai = config.realtime, config.openai
    if rt.provisioning is not None or rt.ephemeral_key is not None or openai.key is not None:
        return None
    if openai.key_file is not None:
        return _file_problem(openai.key_file)
    if environ.get("CREDENTIALS_DIRECTORY"):
        problem = _file_problem(Path(environ["CREDENTIALS_DIRECTORY"]) / CREDENTIAL_NAME)
        # systemd hands the key file over as this credential: name the file people edit
        return None if problem is None else f"the API key file {KEY_FILE} is empty"
    return "no key source: neither a provisioning URL nor an API key is configured"


def _file_problem(path: Path) -> str | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return f"the API key file {path} does not exist"
    except OSError:
        return None  # there, but not for us to look at: the session will say what is wrong
    return f"the API key file {path} is empty" if size == 0 else None


def key_file(config: AppConfig) -> Path:
    """The file an administrator puts the API key in."""
    return config.openai.key_file or KEY_FILE


@dataclass(frozen=True)
class Device:
    """How to reach this device: its name and its addresses (IPv4 first)."""

    hostname: str
    addresses: tuple[str, ...]


def device() -> Device:
    """This machine's host name and its non-loopback addresses, read now."""
    return Device(socket.gethostname(), tuple(_ipv4_addresses() + _ipv6_addresses()))


def _ipv4_addresses() -> list[str]:
    """The IPv4 address of each network interface (but loopback), from the kernel."""
    out: list[str] = []
    try:
        interfaces = socket.if_nameindex()
    except OSError:
        return out
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in interfaces:
            with contextlib.suppress(OSError):
                request = struct.pack("256s", name.encode()[:15])
                packed = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
                address = socket.inet_ntoa(packed[20:24])
                if not ipaddress.ip_address(address).is_loopback and address not in out:
                    out.append(address)
    return out


def _ipv6_addresses() -> list[str]:
    """Global IPv6 addresses (no link-local or loopback ones), from ``/proc/net/if_inet6``."""
    out: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            fields = line.split()
            if len(fields) < 6 or fields[3] != "00":  # scope 00: global
                continue
            raw = fields[0]
            address = str(ipaddress.IPv6Address(":".join(raw[i : i + 4] for i in range(0, 32, 4))))
            if address not in out:
                out.append(address)
    return out


def commands(config: AppConfig) -> list[tuple[str, str]]:
    """(the label key saying what it does, the command) for each way to give this device a
    key (the texts are in :mod:`appliance.labels`)."""
    path = key_file(config)
    return [
        (
            "setup_provisioning",
            f"sudo appliance config set realtime.provisioning.url {PROVISIONING_EXAMPLE}",
        ),
        ("setup_key_file", f"sudo sh -c 'umask 077; cat > {path}'"),
        ("setup_restart", "sudo systemctl restart appliance"),
    ]
