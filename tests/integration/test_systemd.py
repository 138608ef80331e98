"""The systemd unit, sysusers and tmpfiles files, checked by systemd's own tools.

Also runs the appliance's native stack (numpy, soxr, pygame, PyAudio) under the rule that the
unit's ``MemoryDenyWriteExecute=yes`` enforces, using the kernel's ``PR_SET_MDWE``.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "appliance.service"
SYSUSERS = ROOT / "systemd" / "appliance.sysusers.conf"
TMPFILES = ROOT / "systemd" / "appliance.tmpfiles.conf"
SCORE_FILE = ROOT / "systemd" / "SECURITY_SCORE"
EXEC_START = "/opt/appliance/current/venv/bin/appliance"

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt: systemd)"
)


def unit_settings(text: str) -> dict[str, list[str]]:
    """``Section.Key -> [values]`` of a unit file (keys may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a real executable (verify checks it exists)."""
    stub = tmp_path / "bin" / "appliance"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = UNIT.read_text()
    assert EXEC_START in text
    copy = tmp_path / "appliance.service"
    copy.write_text(text.replace(EXEC_START, str(stub)))
    return copy


@needs_analyze
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = unit_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 even for unknown keys; any line about our file is a problem.
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "appliance.service" in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []


@needs_analyze
def test_verify_would_catch_a_typo(tmp_path: Path) -> None:
    unit = unit_copy(tmp_path)
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "NoNewPrivilege" in result.stderr


def security_score(unit: Path) -> float:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit.parent,
    )
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    return float(match.group(1))


def allowed_score() -> float:
    lines = [ln for ln in SCORE_FILE.read_text().splitlines() if not ln.startswith("#")]
    return float(lines[0])


@needs_analyze
def test_security_exposure_does_not_get_worse(tmp_path: Path) -> None:
    threshold = allowed_score()
    assert threshold <= 2.5  # systemd calls <= 2.5 "OK"
    score = security_score(unit_copy(tmp_path))
    assert score <= threshold, f"exposure {score} is worse than {threshold} ({SCORE_FILE})"


@needs_analyze
def test_security_score_notices_a_weaker_unit(tmp_path: Path) -> None:
    unit = unit_copy(tmp_path)
    unit.write_text(
        unit.read_text()
        .replace("ProtectSystem=strict", "ProtectSystem=no")
        .replace("CapabilityBoundingSet=\n", "")
    )
    assert security_score(unit) > allowed_score()


def test_unit_has_the_service_contract() -> None:
    s = unit_settings(UNIT.read_text())
    expect = {
        "Service.Type": ["notify"],
        "Service.NotifyAccess": ["main"],
        "Service.WatchdogSec": ["30"],
        "Service.Restart": ["on-failure"],
        "Service.ExecStart": [f"{EXEC_START} run --config /etc/appliance/config.toml"],
        "Service.ExecReload": ["/bin/kill -HUP $MAINPID"],
        "Service.User": ["appliance"],
        "Service.ConfigurationDirectory": ["appliance"],
        "Service.StateDirectory": ["appliance"],
        "Service.RuntimeDirectory": ["appliance"],
        "Service.LoadCredential": [
            "openai.key:/etc/appliance/openai.key",
            "provisioning.token:/etc/appliance/provisioning.token",
        ],
        # a missing token file is no failure: the empty default is used (systemd.exec(5))
        "Service.SetCredential": ["provisioning.token:\\n"],
        "Service.StandardOutput": ["journal"],
        "Service.DevicePolicy": ["closed"],
        "Service.ProtectSystem": ["strict"],
        "Service.NoNewPrivileges": ["yes"],
        "Service.CapabilityBoundingSet": [""],
        "Service.MemoryDenyWriteExecute": ["yes"],
        "Install.WantedBy": ["multi-user.target"],
    }
    for key, value in expect.items():
        assert s.get(key) == value, key
    assert set(s["Service.SupplementaryGroups"][0].split()) == {
        "audio",
        "video",
        "render",
        "input",
        "gpio",
    }
    allowed = " ".join(s["Service.DeviceAllow"])
    for device in ("char-alsa", "char-drm", "char-fb", "char-input", "char-gpiochip"):
        assert device in allowed
    assert s["Service.RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert "@system-service" in s["Service.SystemCallFilter"]
    assert s["Service.RestartSec"]


def test_control_socket_default_is_in_the_runtime_directory() -> None:
    from appliance.config import ControlConfig

    runtime = unit_settings(UNIT.read_text())["Service.RuntimeDirectory"][0]
    assert ControlConfig().socket.parent == Path("/run") / runtime


def test_credential_name_matches_the_key_reader() -> None:
    from appliance.realtime.keys import CREDENTIAL_NAME, TOKEN_CREDENTIAL

    credentials = unit_settings(UNIT.read_text())["Service.LoadCredential"]
    assert [c.split(":")[0] for c in credentials] == [CREDENTIAL_NAME, TOKEN_CREDENTIAL]


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    """A root with the base users and groups of a Debian system."""
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\naudio:x:29:\nvideo:x:44:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    return tmp_path / "root"


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd not installed")
def test_sysusers_and_tmpfiles_create_the_user_and_config_dir(sysroot: Path) -> None:
    for tool, conf, extra in (
        ("systemd-sysusers", SYSUSERS, []),
        ("systemd-tmpfiles", TMPFILES, ["--create"]),
    ):
        result = subprocess.run(
            [tool, f"--root={sysroot}", *extra, "-"],
            input=conf.read_text(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
    users = {
        line.split(":")[0]: line.split(":")
        for line in (sysroot / "etc/passwd").read_text().splitlines()
    }
    assert users["appliance"][5] == "/var/lib/appliance"
    assert users["appliance"][6] in ("/usr/sbin/nologin", "/sbin/nologin")
    assert int(users["appliance"][2]) < 1000  # a system user
    groups = {
        line.split(":")[0]: int(line.split(":")[2])
        for line in (sysroot / "etc/group").read_text().splitlines()
    }
    assert {"appliance", "gpio", "audio"} <= set(groups)
    # Every supplementary group of the unit exists (else it fails at start: 216/GROUP), also
    # on a root without udev (its render and input groups).
    unit = UNIT.read_text()
    wanted = re.search(r"^SupplementaryGroups=(.*)$", unit, re.M)
    assert wanted is not None
    assert set(wanted.group(1).split()) <= set(groups)
    config_dir = (sysroot / "etc/appliance").stat()
    assert config_dir.st_mode & 0o777 == 0o750
    assert (config_dir.st_uid, config_dir.st_gid) == (0, groups["appliance"])


# --- MemoryDenyWriteExecute -----------------------------------------------------------------

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

MDWE_SCRIPT = textwrap.dedent(
    """
    import ctypes, mmap, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:
        sys.exit(77)
    try:  # the rule is on: writable+executable memory is refused
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        sys.exit("MDWE is not enforced")
    except PermissionError:
        pass
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    import numpy as np, soxr
    tone = np.sin(np.arange(48000) / 48000 * 2 * np.pi * 440).astype(np.float32)
    out = soxr.resample(tone, 48000, 24000)
    assert abs(len(out) - 24000) < 10
    spectrum = np.abs(np.fft.rfft(out[:1024]))
    assert spectrum.argmax() > 0
    import pygame
    pygame.init()
    screen = pygame.display.set_mode((320, 240))
    pygame.draw.circle(screen, (200, 50, 50), (160, 120), 60)
    font = pygame.font.Font(None, 24)
    screen.blit(font.render("Loading", True, (255, 255, 255)), (10, 10))
    avatar = pygame.image.load(sys.argv[1])
    screen.blit(pygame.transform.smoothscale(avatar, (100, 100)), (110, 70))
    pygame.display.flip()
    assert tuple(screen.get_at((160, 65)))[:3] == (200, 50, 50)
    import pyaudio
    import appliance.app, appliance.display, appliance.gpio, appliance.hooks  # noqa
    import aiohttp, websockets, pydantic  # noqa
    print("ok")
    """
)


def mdwe_supported() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    # PR_GET_MDWE (66) answers on kernels >= 6.3.
    return libc.prctl(66, 0, 0, 0, 0) >= 0


@pytest.mark.skipif(not mdwe_supported(), reason="kernel without PR_SET_MDWE (Linux >= 6.3)")
def test_native_stack_works_without_writable_executable_memory(tmp_path: Path) -> None:
    avatar = ROOT / "assets" / "avatar.png"
    script = tmp_path / "mdwe.py"
    script.write_text(MDWE_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script), str(avatar)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode != 77, "prctl(PR_SET_MDWE) refused"
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
