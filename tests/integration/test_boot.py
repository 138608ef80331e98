"""The unit booted for real: a Debian 12 container under systemd-nspawn (appliance/rig/nspawn.py).

The appliance is installed into the booted container with ``scripts/install-pi`` from this
checkout, headless (no display, no sound card, no GPIO), its API key the simulator's, as a
systemd credential; the simulator runs on this machine's loopback, which the container shares.
The container is then rebooted: the unit comes up at boot by itself.

A drop-in sets ``WatchdogSec=5`` (the shipped unit says 30 s) so that the watchdog test takes
seconds. The tests run in order on one container; the reboot is the last.

Skipped where containers cannot boot (not root, no systemd-nspawn or debootstrap: see
``nspawn.unavailable()``). The first run builds the cached root and the wheel house (minutes);
later runs reuse them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rig import SIM_API_KEY

from appliance.rig import nspawn
from appliance.rig.process import wait_until
from appliance.rig.sim import Sim

pytestmark = [
    pytest.mark.boot,
    # The first test carries the setup: building the cached root and the wheel house on a
    # fresh machine (each step bounded by the rig's own limits).
    pytest.mark.timeout(2400),
]

WATCHDOG_S = 5
"""The test's WatchdogSec (drop-in), instead of the unit's 30 s."""
UP_S = 60.0
"""The service started (or restarted) and idle."""
NEW_MODEL = "gpt-realtime-mini"


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    server = Sim("--api-key", SIM_API_KEY)
    yield server
    server.stop()


def _config(sim: Sim) -> str:
    return f"""\
[openai]
api_base = "{sim.url}"

[realtime]
auto_start = false

[display]
mode = "none"

[audio]
backend = "none"

[gpio]
enabled = false
"""


@dataclass
class Installed:
    box: nspawn.Container
    said: str
    """What install-pi wrote to stderr."""
    active_before_boot: str
    """``systemctl is-active appliance`` after install-pi, before the reboot."""


@pytest.fixture(scope="module")
def installed(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    reason = nspawn.unavailable()
    if reason:
        pytest.skip(f"no systemd-nspawn containers here: {reason}")
    workdir = tmp_path_factory.mktemp("boot")
    with nspawn.booted(workdir, "appliance-boot") as box:
        etc = box.root / "etc" / "appliance"
        etc.mkdir(mode=0o750)
        (etc / "config.toml").write_text(_config(sim))
        (etc / "openai.key").write_text(SIM_API_KEY + "\n")
        (etc / "openai.key").chmod(0o600)
        said = nspawn.install_appliance(box).stderr
        active = box.run(["systemctl", "is-active", "appliance"], check=False).stdout.strip()
        dropin = box.root / "etc" / "systemd" / "system" / "appliance.service.d"
        dropin.mkdir(parents=True)
        (dropin / "test-watchdog.conf").write_text(f"[Service]\nWatchdogSec={WATCHDOG_S}\n")
        box.reboot()
        yield Installed(box, said, active)


@pytest.fixture
def container(installed: Installed) -> nspawn.Container:
    return installed.box


def show(box: nspawn.Container, *names: str) -> dict[str, str]:
    out = box.run(["systemctl", "show", "appliance", *(f"--property={n}" for n in names)])
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def status(box: nspawn.Container) -> dict[str, Any]:
    return json.loads(box.run(["appliance", "status"]).stdout)


def journal(box: nspawn.Container) -> str:
    return box.run(["journalctl", "-u", "appliance", "-b", "--no-pager", "-o", "cat"]).stdout


def wait_idle(box: nspawn.Container) -> dict[str, Any]:
    def idle() -> dict[str, Any] | None:
        if show(box, "ActiveState")["ActiveState"] != "active":
            return None
        result = box.run(["appliance", "status"], check=False)
        if result.returncode != 0:
            return None
        reply = json.loads(result.stdout)
        return reply if reply.get("state") == "idle" else None

    return wait_until(idle, UP_S, "the appliance active and idle", poll=0.5)


def test_installed_by_install_pi_and_started_at_boot_with_no_press(installed: Installed) -> None:
    container, err = installed.box, installed.said
    # install-pi saw a running systemd: it reloaded it and enabled the unit, started nothing.
    assert "systemctl daemon-reload" in err and "systemd is not running" not in err, err
    assert installed.active_before_boot == "inactive"
    assert container.run(["systemctl", "is-enabled", "appliance"]).stdout.strip() == "enabled"
    # Nobody started it: after the reboot it came up by itself, at boot.
    reply = wait_idle(container)
    assert reply["session_id"] is None  # auto_start is off: no session without a press
    # The unit's LoadCredential=provisioning.token: has a default: no token file, it starts.
    assert not (container.root / "etc" / "appliance" / "provisioning.token").exists()
    props = show(container, "NRestarts", "UnitFileState")
    assert props == {"NRestarts": "0", "UnitFileState": "enabled"}, props


def test_notify_reaches_ready_and_the_journal_has_its_log(container: nspawn.Container) -> None:
    wait_idle(container)
    props = show(container, "Type", "ActiveState", "SubState", "StatusText", "WatchdogUSec")
    # A Type=notify service is "active" only once it has said READY=1.
    assert props["Type"] == "notify"
    assert (props["ActiveState"], props["SubState"]) == ("active", "running"), props
    assert "idle" in props["StatusText"], props
    assert props["WatchdogUSec"] == f"{WATCHDOG_S}s", props
    log = journal(container)
    assert "ready: " in log and "key source" in log, log[-3000:]
    assert SIM_API_KEY not in log


def test_a_session_reaches_the_simulator_on_the_hosts_loopback(
    container: nspawn.Container, sim: Sim
) -> None:
    wait_idle(container)
    container.run(["appliance", "start"])
    wait_until(lambda: sim.state()["sessions_open"] >= 1, UP_S, "a session at the simulator")
    wait_until(lambda: status(container)["state"] == "listening", UP_S, "state listening")
    container.run(["appliance", "stop"])
    wait_idle(container)


def test_the_watchdog_restarts_a_stopped_process(container: nspawn.Container) -> None:
    wait_idle(container)
    before = show(container, "MainPID", "NRestarts")
    container.run(["kill", "-STOP", before["MainPID"]])

    def restarted() -> bool:
        now = show(container, "MainPID", "NRestarts", "ActiveState")
        return now["MainPID"] not in ("0", before["MainPID"]) and now["ActiveState"] == "active"

    # WatchdogSec, then SIGABRT (and SIGKILL after TimeoutStopSec at worst), RestartSec=5.
    wait_until(restarted, 20 + WATCHDOG_S + 5 + UP_S, "a restart by the watchdog", poll=0.5)
    assert int(show(container, "NRestarts")["NRestarts"]) == int(before["NRestarts"]) + 1
    assert "Watchdog timeout" in journal(container)
    wait_idle(container)


def test_reload_applies_a_changed_config(container: nspawn.Container) -> None:
    wait_idle(container)
    pid = show(container, "MainPID")["MainPID"]
    assert status(container)["model"] != NEW_MODEL
    container.run(["appliance", "config", "set", "realtime.config.model", NEW_MODEL])
    assert status(container)["model"] != NEW_MODEL  # the file changed, the service not yet
    container.run(["systemctl", "reload", "appliance"])
    wait_until(lambda: status(container)["model"] == NEW_MODEL, UP_S, "the new model live")
    assert show(container, "MainPID")["MainPID"] == pid  # reloaded, not restarted


def test_a_reboot_brings_it_back(container: nspawn.Container) -> None:
    wait_idle(container)
    before = show(container, "InvocationID")["InvocationID"]
    leader = container.leader
    container.reboot()
    assert container.leader != leader
    reply = wait_idle(container)
    assert show(container, "InvocationID")["InvocationID"] != before
    assert reply["model"] == NEW_MODEL  # the changed file outlived the reboot


def test_the_provisioning_token_reaches_the_key_server_as_a_credential(
    container: nspawn.Container,
) -> None:
    """/etc/appliance/provisioning.token, loaded by the unit's own LoadCredential=, is sent as
    ``Authorization: Bearer`` with the key request: a key server (the simulator, which refuses
    any other token) hands out a key, and the session opens with it."""
    wait_idle(container)
    token = "device-token-" + os.urandom(6).hex()
    # Its own API key, which the device does not have: only the provisioned key opens a session.
    keyserver = Sim("--api-key", "sk-not-the-devices", "--provision-token", token)
    try:
        etc = container.root / "etc" / "appliance"
        (etc / "provisioning.token").write_text(token + "\n")
        (etc / "provisioning.token").chmod(0o600)
        container.run(["appliance", "config", "set", "openai.api_base", keyserver.url])
        url = f"{keyserver.url}/provision"
        container.run(["appliance", "config", "set", "realtime.provisioning.url", url])
        container.run(["systemctl", "restart", "appliance"])  # credentials are copied at start
        wait_idle(container)
        creds = container.run(["systemctl", "cat", "appliance"]).stdout
        assert creds.count("\nLoadCredential=provisioning.token:") == 1, creds
        container.run(["appliance", "start"])
        opened = lambda: keyserver.state()["sessions_open"] >= 1  # noqa: E731
        wait_until(opened, UP_S, "a session with a provisioned key")
        container.run(["appliance", "stop"])
        assert token not in journal(container)
    finally:
        keyserver.stop()


# --- the rig's SSH hosts (what the Ansible tests use) ----------------------------------------


def test_boot_hosts_each_with_its_own_sshd_host_key_and_address(tmp_path: Path) -> None:
    reason = nspawn.unavailable()
    if reason:
        pytest.skip(f"no systemd-nspawn containers here: {reason}")
    with nspawn.boot_hosts(2, tmp_path) as hosts:
        # Strict host key checking against the rig's known_hosts: each host's own key.
        names = [host.ssh("hostname").stdout.strip() for host in hosts]
        assert names == [host.name for host in hosts]
        assert len({(host.address, host.port) for host in hosts}) == 2
        keys = (tmp_path / "known_hosts").read_text().splitlines()
        assert len({line.split()[-1] for line in keys}) == 2
        for host in hosts:
            assert host.ssh("systemctl", "is-system-running").stdout.strip() == "running"
        # Only the rig's key gets in.
        other = tmp_path / "other"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
        )
        args = hosts[0].ssh_args()
        args[args.index(str(hosts[0].key))] = str(other)
        refused = subprocess.run([*args, "true"], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 255 and "Permission denied" in refused.stderr
        # A reboot keeps the host's address, key and files.
        hosts[1].ssh("touch", "/root/kept")
        hosts[1].container.reboot()
        nspawn.wait_ssh(hosts[1])
        hosts[1].ssh("test", "-f", "/root/kept")
        leaders = [host.container.leader for host in hosts]
        roots = [host.container.root for host in hosts]
    # Everything it started is gone: a clean poweroff each, no process, no copy of the root.
    assert [host.container.stopped for host in hosts] == [0, 0]
    for pid in leaders:
        assert not Path(f"/proc/{pid}").exists()
    for root in roots:
        assert not root.exists()
        assert str(root) not in Path("/proc/self/mounts").read_text()


def test_a_boot_that_never_finishes_fails_at_its_deadline(tmp_path: Path) -> None:
    reason = nspawn.unavailable()
    if reason:
        pytest.skip(f"no systemd-nspawn containers here: {reason}")

    def hang(root: Path) -> None:  # multi-user.target waits for a job that never ends
        units = root / "etc" / "systemd" / "system"
        (units / "hang.service").write_text(
            "[Service]\nType=oneshot\nExecStart=/bin/sleep infinity\n"
            "[Install]\nWantedBy=multi-user.target\n"
        )
        (units / "multi-user.target.wants" / "hang.service").symlink_to("../hang.service")

    with nspawn.booted(tmp_path, "appliance-hang", prepare=hang, wait=False) as box:
        started = time.monotonic()
        late = re.escape("not up within 5 s (state starting)")
        with pytest.raises(nspawn.BootFailed, match=late):
            box.wait_running(timeout=5)
        assert 5 <= time.monotonic() - started < 5 + 15
        leader = box.leader
    assert box.stopped == 0  # the poweroff stops the hanging job too
    assert not Path(f"/proc/{leader}").exists()


@pytest.mark.parametrize("n", [0, nspawn.MAX_HOSTS + 1])
def test_boot_hosts_refuses_a_count_out_of_range(n: int, tmp_path: Path) -> None:
    limit = f"1 to {nspawn.MAX_HOSTS}"
    with pytest.raises(ValueError, match=limit), nspawn.boot_hosts(n, tmp_path):
        pass


def test_unavailable_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reason the boot tests are skipped with, where containers cannot boot."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "need root" in (nspawn.unavailable() or "")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name: None if name == "systemd-nspawn" else real_which(name)
    )
    assert "apt-get install systemd-container" in (nspawn.unavailable() or "")
