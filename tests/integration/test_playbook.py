"""The playbook against real hosts: three booted Debian 12 containers, over SSH.

Each container (appliance.rig.nspawn: systemd-nspawn, a cached Debian 12 root) runs sshd on
its own loopback address and port with its own host key, and takes the SSH key the rig makes.
The playbook (deploy/ansible/site.yml) then installs and configures the three, a second run
changes nothing, an upgrade with one host given a broken release stops the rollout there (that
host rolls back by itself, the host after it keeps its release), and a change to the session
only is applied with a reload: the service's main PID stays the same.

The hosts come from one fixture, :func:`hosts`: ``[(address, port, user, private_key_path)]``.
It skips, with the reason, where the container rig is not available.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "ansible"
BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"
ANSIBLE = BIN / "ansible"
HOST_COUNT = 3
RUN_TIMEOUT_S = 900
"""One playbook run (the first installs three virtualenvs)."""
HEALTH_TIMEOUT_S = 90

Host = tuple[str, int, str, Path]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(4 * RUN_TIMEOUT_S),
    pytest.mark.skipif(not PLAYBOOK.exists(), reason="ansible-core is not installed"),
]


def _as_host(item: Any) -> Host:
    """The rig's host (a tuple, or an object with address, port, user, key)."""
    if isinstance(item, tuple):
        address, port, user, key = item
    else:
        address, port, user = item.address, item.port, item.user
        key = getattr(item, "private_key_path", None) or item.key
    return str(address), int(port), str(user), Path(key)


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[Host]]:
    """Booted containers with sshd, stopped (by PID) by the rig when the module ends."""
    nspawn = pytest.importorskip(
        "appliance.rig.nspawn",
        reason="the booted-container rig (appliance.rig.nspawn) is not in this tree",
    )
    with nspawn.boot_hosts(HOST_COUNT) as booted:
        yield [_as_host(h) for h in booted]


def pip_environment() -> dict[str, str]:
    """This machine's pip settings for install-pi on the hosts: its index, and behind a proxy
    with its own CA the system bundle (which the rig copies into the roots, as check-pi
    does)."""
    out = {k: v for k, v in os.environ.items() if k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    if os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE"):
        out["PIP_CERT"] = "/etc/ssl/certs/ca-certificates.crt"
    return out


def inventory(path: Path, hosts: list[Host], extra: dict[str, dict] | None = None) -> Path:
    known = path.parent / "known_hosts"
    data: dict[str, Any] = {
        "appliances": {
            "vars": {
                "appliance_health_timeout": HEALTH_TIMEOUT_S,
                "appliance_config": {
                    "realtime": {"config": {"voice": "verse"}},
                    "display": {"mode": "none"},
                },
                "appliance_install_environment": pip_environment(),
                "ansible_ssh_common_args": (
                    f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=accept-new"
                ),
            },
            "hosts": {},
        }
    }
    for i, (address, port, user, key) in enumerate(hosts):
        data["appliances"]["hosts"][f"kiosk{i}"] = {
            "ansible_host": address,
            "ansible_port": port,
            "ansible_user": user,
            "ansible_ssh_private_key_file": str(key),
            **(extra or {}).get(f"kiosk{i}", {}),
        }
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg"),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "HOME": str(tmp),  # the controller's bundle cache, under the test's folder
    }


def play(tmp: Path, inv: Path, *args: str) -> tuple[int, dict[str, dict[str, int]], str]:
    """Run site.yml: exit status, each host's recap, the output."""
    result = subprocess.run(
        [str(PLAYBOOK), "-i", str(inv), str(DEPLOY / "site.yml"), *args],
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


def on_hosts(tmp: Path, inv: Path, command: str) -> dict[str, str]:
    """A command on every host (as root): each host's output."""
    args = ["appliances", "-i", str(inv), "-b", "-o", "-m", "ansible.builtin.shell"]
    result = subprocess.run(
        [str(ANSIBLE), *args, "-a", command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(tmp),
    )
    out = {}
    for line in result.stdout.splitlines():
        if m := re.match(r"^(kiosk\d+) \| \w+.*?\| rc=\d+ \| \(stdout\) (.*)$", line):
            out[m.group(1)] = m.group(2)
    return out


def source_copy(tmp: Path, name: str) -> Path:
    """A copy of this source (what a release is made of)."""
    src = tmp / name
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(".git", ".venv", "tests", "__pycache__", "*.egg-info"),
    )
    return src


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
    hosts: list[Host], tmp_path: Path
) -> None:
    inv = inventory(tmp_path / "inventory.yml", hosts)

    # Install and configure.
    code, recap, out = play(tmp_path, inv)
    assert code == 0, out
    assert set(recap) == {"kiosk0", "kiosk1", "kiosk2"}
    states = on_hosts(
        tmp_path,
        inv,
        "appliance status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])'",
    )
    assert states == {"kiosk0": "idle", "kiosk1": "idle", "kiosk2": "idle"}

    # Again: nothing changes.
    code, recap, out = play(tmp_path, inv)
    assert code == 0, out
    assert all(r["changed"] == 0 for r in recap.values()), recap

    # A change to the session only: a reload, the same process.
    pids = on_hosts(tmp_path, inv, "systemctl show -p MainPID --value appliance")
    inv = inventory(tmp_path / "inventory.yml", hosts)
    data = json.loads(inv.read_text())
    data["appliances"]["vars"]["appliance_config"]["realtime"]["config"]["voice"] = "alloy"
    inv.write_text(json.dumps(data))
    code, recap, out = play(tmp_path, inv)
    assert code == 0, out
    assert "RUNNING HANDLER [appliance : Reload appliance]" in out
    assert "RUNNING HANDLER [appliance : Restart appliance]" not in out
    assert on_hosts(tmp_path, inv, "systemctl show -p MainPID --value appliance") == pids

    # An upgrade, one host at a time; kiosk1 gets a release that fails its health check.
    before = on_hosts(tmp_path, inv, "readlink /opt/appliance/current")
    newer, broken = newer_source(tmp_path), broken_source(tmp_path)
    data["appliances"]["vars"]["appliance_source"] = str(newer)
    data["appliances"]["hosts"]["kiosk1"]["appliance_source"] = str(broken)
    inv.write_text(json.dumps(data))
    code, recap, out = play(tmp_path, inv)
    assert code != 0
    assert "failed its health check" in out
    after = on_hosts(tmp_path, inv, "readlink /opt/appliance/current")
    assert after["kiosk0"] != before["kiosk0"]  # upgraded
    assert after["kiosk1"] == before["kiosk1"]  # rolled back by itself
    assert after["kiosk2"] == before["kiosk2"]  # the rollout stopped before it
    rolled = on_hosts(
        tmp_path,
        inv,
        "appliance status | python3 -c 'import json,sys; "
        'print(json.load(sys.stdin)["release"]["rolled_back_from"])\'',
    )
    assert rolled["kiosk1"].startswith("0.1.0-")
    journal = on_hosts(
        tmp_path, inv, "journalctl -t appliance-release -o cat | tail -n 3 | tr '\\n' ' '"
    )
    assert "rolled back to" in journal["kiosk1"]
