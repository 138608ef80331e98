"""The playbook against real hosts: three booted Debian 12 containers, over SSH.

The hosts come from the container rig (appliance.rig.nspawn.boot_hosts): each runs sshd on
its own loopback address and port with its own host key, checked strictly, and takes only the
rig's SSH key. Their Python packages come from the rig's wheel house (the role's
``appliance_install_environment``) and their system packages are in the cached root
(``appliance_install_apt: false``): no host needs the network. The simulator runs on this
machine's loopback, which the containers share.

The playbook (deploy/ansible/site.yml) installs and configures the three, a second run
changes nothing, a change to the session only is applied with a reload (the service's main
PID stays the same, the new model is live), and an upgrade with one host given a broken
release stops the rollout there: that host rolls back by itself (journal and ``status``), the
host before it runs the new release, the host after it keeps its release.

One test, in steps that build on each other (each playbook run costs tens of seconds, so
nothing is installed twice). Skipped where containers cannot boot or ansible-core is missing.
Everything the rig starts is stopped by PID when the module ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rig import SIM_API_KEY

from appliance.rig import nspawn
from appliance.rig.sim import Sim

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "ansible"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
HOST_COUNT = 3
RUN_TIMEOUT_S = 600
"""One playbook run (the first installs three virtualenvs from the wheel house)."""
HEALTH_TIMEOUT_S = 60
"""The role's health check: idle within this many seconds after an install or upgrade."""
NEW_MODEL = "gpt-realtime-mini"
NAMES = [f"kiosk{i}" for i in range(HOST_COUNT)]
TOKEN = "fleet-device-token"
OLD_DROPIN = "etc/systemd/system/appliance.service.d/provisioning-token.conf"
"""What an older role wrote to load the token a second time; the unit loads it now."""

pytestmark = [
    pytest.mark.boot,
    pytest.mark.slow,
    # Booting, three installs and four playbook runs; the first run on a fresh machine also
    # builds the cached root and the wheel house (bounded by the rig's own limits).
    pytest.mark.timeout(2400),
    pytest.mark.skipif(not PLAYBOOK.exists(), reason="ansible-core is not installed"),
]


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    server = Sim("--api-key", SIM_API_KEY)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[nspawn.SshHost], Path]]:
    """Booted hosts with sshd, and the wheel house; stopped by PID by the rig at the end."""
    reason = nspawn.unavailable()
    if reason:
        pytest.skip(f"no systemd-nspawn containers here: {reason}")
    workdir = tmp_path_factory.mktemp("fleet")
    with nspawn.boot_hosts(HOST_COUNT, workdir) as hosts:
        box = hosts[0].container
        cached = (nspawn.wheels_dir() / ".complete").is_file()
        source = nspawn.SOURCE_INSIDE if cached else nspawn.copy_checkout(box)
        yield hosts, nspawn.ensure_wheels(box, source)


def inventory(
    path: Path, hosts: list[nspawn.SshHost], wheels: Path, sim: Sim, model: str | None = None
) -> dict[str, Any]:
    """The fleet's inventory (JSON is YAML), written to ``path``; returned for changes."""
    realtime: dict[str, Any] = {"auto_start": False, "config": {"voice": "verse"}}
    if model:
        realtime["config"]["model"] = model
    data: dict[str, Any] = {
        "appliances": {
            "vars": {
                "appliance_health_timeout": HEALTH_TIMEOUT_S,
                "appliance_config": {
                    "openai": {"api_base": sim.url},
                    "realtime": realtime,
                    "display": {"mode": "none"},
                    "audio": {"backend": "none"},
                    "gpio": {"enabled": False},
                },
                "appliance_openai_key": SIM_API_KEY,
                "appliance_provisioning_token": TOKEN,
                # No network on the hosts: pip from the wheel house, apt not needed.
                "appliance_install_environment": nspawn.offline_pip_env(wheels),
                "appliance_install_apt": False,
            },
            "hosts": {name: host.ansible_vars() for name, host in zip(NAMES, hosts, strict=True)},
        }
    }
    path.write_text(json.dumps(data))
    return data


def env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg"),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "HOME": str(tmp),  # the controller's bundle cache, under the test's folder
    }


def play(tmp: Path, inv: Path) -> tuple[int, dict[str, dict[str, int]], str]:
    """Run site.yml: exit status, each host's recap, the output."""
    result = subprocess.run(
        [str(PLAYBOOK), "-i", str(inv), str(DEPLOY / "site.yml")],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env(tmp),
    )
    recap = {
        name: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
        for name, counts in re.findall(r"^(kiosk\d+)\s*:\s*(.*)$", result.stdout, re.M)
    }
    return result.returncode, recap, result.stdout + result.stderr


def on_hosts(hosts: list[nspawn.SshHost], command: str) -> dict[str, str]:
    """A shell command in every host (nsenter, not the playbook's SSH): each one's output."""
    return {
        name: host.container.run(command, check=False).stdout.strip()
        for name, host in zip(NAMES, hosts, strict=True)
    }


def status(host: nspawn.SshHost) -> dict[str, Any]:
    return json.loads(host.container.run(["appliance", "status"]).stdout)


def source_copy(tmp: Path, name: str) -> Path:
    """A copy of this source (what a release is made of)."""
    src = tmp / name
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "tests", "__pycache__", "*.egg-info", ".ruff_cache", ".pytest_cache"
        ),
    )
    return src


def release_name(source: Path) -> str:
    return subprocess.run(
        [str(source / "scripts" / "install-pi"), "--print-release"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def broken_source(tmp: Path) -> Path:
    """A copy of this source whose `appliance run` exits at start: a release that fails."""
    src = source_copy(tmp, "broken-src")
    main = src / "appliance" / "service.py"
    main.write_text('raise SystemExit("a broken release")\n' + main.read_text())
    return src


def newer_source(tmp: Path) -> Path:
    """A copy of this source with the next version: a good upgrade."""
    src = source_copy(tmp, "newer-src")
    project = src / "pyproject.toml"
    text = re.sub(r'^version = ".*"', 'version = "9.9.9"', project.read_text(), count=1, flags=re.M)
    project.write_text(text)
    return src


def test_the_playbook_configures_a_fleet_and_stops_at_a_bad_host(
    fleet: tuple[list[nspawn.SshHost], Path], sim: Sim, tmp_path: Path
) -> None:
    hosts, wheels = fleet
    inv = tmp_path / "inventory.yml"
    data = inventory(inv, hosts, wheels, sim)
    timings: dict[str, float] = {}

    def timed_play(step: str) -> tuple[int, dict[str, dict[str, int]], str]:
        started = time.monotonic()
        outcome = play(tmp_path, inv)
        timings[step] = round(time.monotonic() - started, 1)
        print(f"playbook run '{step}': {timings[step]} s")
        return outcome

    # kiosk0 has the drop-in an older role wrote for the token.
    old = hosts[0].container.root / OLD_DROPIN
    old.parent.mkdir(parents=True)
    old.write_text(
        "[Service]\nLoadCredential=provisioning.token:/etc/appliance/provisioning.token\n"
    )

    # Install and configure, over SSH, with nothing from the network.
    code, recap, out = timed_play("install")
    assert code == 0, out
    assert set(recap) == set(NAMES), out
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values()), recap
    assert [status(host)["state"] for host in hosts] == ["idle"] * HOST_COUNT
    assert set(on_hosts(hosts, "systemctl is-enabled appliance").values()) == {"enabled"}
    first = on_hosts(hosts, "readlink /opt/appliance/current")
    # The token is a credential that the unit loads once (its own LoadCredential=).
    assert not old.exists()
    for host in hosts:
        token = host.container.root / "etc" / "appliance" / "provisioning.token"
        assert token.read_text() == TOKEN + "\n" and token.stat().st_mode & 0o777 == 0o600
        creds = host.container.run("systemctl cat appliance").stdout
        assert creds.count("\nLoadCredential=provisioning.token:") == 1, creds
    assert TOKEN not in out
    assert len(set(first.values())) == 1 and first["kiosk0"].startswith("releases/0.1.0-"), first

    # Again: nothing changes.
    code, recap, out = timed_play("again")
    assert code == 0, out
    assert all(r["changed"] == 0 for r in recap.values()), recap

    # A change to the session only: a reload, the same process, the new model live.
    pids = on_hosts(hosts, "systemctl show -p MainPID --value appliance")
    assert all(pid not in ("", "0") for pid in pids.values()), pids
    assert all(status(host)["model"] != NEW_MODEL for host in hosts)
    data = inventory(inv, hosts, wheels, sim, model=NEW_MODEL)
    code, recap, out = timed_play("reload")
    assert code == 0, out
    assert "RUNNING HANDLER [appliance : Reload appliance]" in out, out
    assert "RUNNING HANDLER [appliance : Restart appliance]" not in out, out
    assert on_hosts(hosts, "systemctl show -p MainPID --value appliance") == pids
    assert [status(host)["model"] for host in hosts] == [NEW_MODEL] * HOST_COUNT

    # An upgrade, one host at a time; kiosk1 gets a release that fails its health check.
    newer, broken = newer_source(tmp_path), broken_source(tmp_path)
    data["appliances"]["vars"]["appliance_source"] = str(newer)
    data["appliances"]["hosts"]["kiosk1"]["appliance_source"] = str(broken)
    inv.write_text(json.dumps(data))
    code, recap, out = timed_play("upgrade")
    assert code != 0, out
    assert "failed its health check" in out, out
    assert recap["kiosk1"]["failed"] == 1, recap
    after = on_hosts(hosts, "readlink /opt/appliance/current")
    assert after["kiosk0"].endswith("/" + release_name(newer))  # upgraded
    assert after["kiosk1"] == first["kiosk1"]  # rolled back by itself
    assert after["kiosk2"] == first["kiosk2"]  # the rollout stopped before it
    assert "kiosk2" not in recap or recap["kiosk2"]["ok"] == 0, recap
    bad = release_name(broken)
    assert status(hosts[1])["release"]["rolled_back_from"] == bad
    assert status(hosts[1])["state"] == "idle"
    journal = hosts[1].container.run(["journalctl", "-t", "appliance-release", "-o", "cat"]).stdout
    assert f"release {bad} failed its health check" in journal, journal
    assert "rolled back to" in journal, journal
    print(f"playbook runs: {timings}")
