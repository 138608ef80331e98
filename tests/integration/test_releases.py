"""Releases side by side (scripts/install-pi, scripts/appliance-release) and the health check
that rolls a bad release back.

What is real: install-pi into a staging root, the release tool, the atomic `current` switch,
and the health check's `appliance run` and `appliance status` processes. The check runs with
``--direct`` (no systemd here): it starts the current release's `appliance run` itself,
headless, instead of `systemctl restart`. A good release's virtualenv is stood in for by a
two-line wrapper that runs this checkout's appliance (building a virtualenv takes minutes); a
broken release is a program that fails at start, or one that never answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.rig.process import ApplianceProcess

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install-pi"
TOOL = ROOT / "scripts" / "appliance-release"
PREFIX = "opt/appliance"

pytestmark = pytest.mark.skipif(
    shutil.which("systemctl") is None, reason="systemctl not installed (apt: systemd)"
)


def run(*command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def install(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(
        "bash", str(INSTALL), "--root", str(root), "--no-venv", "--no-apt", *args, check=check
    )


def release_tool(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("bash", str(TOOL), "--root", str(root), *args, check=check)


def program(root: Path, release: str, body: str) -> None:
    """The release's `appliance` command (its virtualenv's entry point)."""
    path = root / PREFIX / "releases" / release / "venv/bin/appliance"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def good(root: Path, release: str) -> None:
    program(root, release, f'exec {sys.executable} -m appliance "$@"')


def current(root: Path) -> str:
    return os.readlink(root / PREFIX / "current")


def state(root: Path) -> dict:
    return json.loads((root / "var/lib/appliance/release.json").read_text())


def test_releases_side_by_side_keep_two_and_the_config(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install(root, "--release", "1.0")
    result = install(root, "--upgrade", "--release", "1.1")
    assert "keeping your /etc/appliance/config.toml" in result.stderr
    assert current(root) == "releases/1.1"
    assert os.readlink(root / PREFIX / "previous") == "releases/1.0"
    config, key = root / "etc/appliance/config.toml", root / "etc/appliance/openai.key"
    config.write_text('[realtime.config]\nvoice = "verse"\n')
    key.write_text("sk-mine\n")
    install(root, "--upgrade", "--release", "1.2")
    assert sorted(p.name for p in (root / PREFIX / "releases").iterdir()) == ["1.1", "1.2"]
    assert current(root) == "releases/1.2"
    assert state(root)["release"] == "1.2"
    assert state(root)["previous"] == "1.1"
    assert state(root)["rolled_back_from"] is None
    assert config.read_text() == '[realtime.config]\nvoice = "verse"\n'
    assert key.read_text() == "sk-mine\n"
    # The health check is for the device's service manager; here it is said, not run.
    assert "(skipped: --root)" in result.stderr and "check --timeout 60" in result.stderr
    # No temporary link is left behind by the atomic switch.
    assert sorted(p.name for p in (root / PREFIX).iterdir() if p.name.startswith(".")) == []


def test_upgrade_needs_an_installed_device_and_names_are_checked(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    result = install(root, "--upgrade", check=False)
    assert result.returncode != 0
    assert "nothing is installed" in result.stderr
    result = install(root, "--release", "../evil", check=False)
    assert result.returncode != 0
    assert "letters, digits" in result.stderr
    for bad in ("0", "601", "x"):
        result = install(root, "--timeout", bad, check=False)
        assert "--timeout must be 1 to 600 seconds" in result.stderr
    assert not (root / PREFIX).exists()
    install(root, "--timeout", "600", "--release", "at-the-limit")  # the limit itself is taken


def test_the_release_name_follows_the_source() -> None:
    name = run("bash", str(INSTALL), "--print-release").stdout.strip()
    assert name.startswith("0.1.0-") and len(name) == len("0.1.0-") + 10
    assert run("bash", str(INSTALL), "--print-release").stdout.strip() == name


def test_a_good_release_passes_the_health_check(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install(root, "--release", "good")
    good(root, "good")
    result = release_tool(root, "check", "--direct", "--timeout", "600")  # the limit
    assert "release good is healthy (idle)" in result.stderr
    assert current(root) == "releases/good"


@pytest.mark.parametrize(
    ("body", "timeout", "why"),
    [
        (
            'echo "ImportError: a broken release" >&2; exit 1',
            "60",
            "appliance run exited with status 1",
        ),
        ("exec sleep 600", "2", "not idle within 2 s"),
    ],
    ids=["exits-at-start", "never-idle"],
)
def test_a_broken_release_is_rolled_back(tmp_path: Path, body: str, timeout: str, why: str):
    root = tmp_path / "stage"
    install(root, "--release", "good")
    good(root, "good")
    install(root, "--upgrade", "--release", "broken")
    program(root, "broken", body)
    assert current(root) == "releases/broken"

    result = release_tool(root, "check", "--direct", "--timeout", timeout, check=False)

    assert result.returncode == 1, result.stderr
    assert f"release broken failed its health check ({why}): rolled back to good" in result.stderr
    assert "release good is running again (idle)" in result.stderr
    assert current(root) == "releases/good"
    assert os.readlink(root / PREFIX / "previous") == "releases/broken"
    assert state(root)["rolled_back_from"] == "broken"
    assert why in state(root)["reason"]

    # The release that runs again says so: in its log, and in `appliance status`.
    config = tmp_path / "config.toml"
    config.write_text(f'[control]\nsocket = "{tmp_path / "control.sock"}"\n')
    env = {**os.environ, "STATE_DIRECTORY": str(root / "var/lib/appliance")}
    app = ApplianceProcess(config, tmp_path / "app.log", args=["--display", "none"], env=env)
    try:
        status = app.request({"cmd": "status"})
        assert status["release"]["release"] == "good"
        assert status["release"]["rolled_back_from"] == "broken"
        assert "rolled back from broken" in app.log()
    finally:
        assert app.stop() == 0


def test_no_previous_release_no_rollback(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install(root, "--release", "only")
    program(root, "only", "exit 3")
    result = release_tool(root, "check", "--direct", "--timeout", "30", check=False)
    assert result.returncode == 1
    assert "there is no previous release to roll back to" in result.stderr
    assert current(root) == "releases/only"


def test_the_release_tool_refuses_bad_input(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install(root, "--release", "a")
    assert "no release b" in release_tool(root, "switch", "b", check=False).stderr
    assert "letters, digits" in release_tool(root, "switch", "../x", check=False).stderr
    for bad in ("0", "601"):
        result = release_tool(root, "check", "--direct", "--timeout", bad, check=False)
        assert "--timeout must be 1 to 600 seconds" in result.stderr
    result = release_tool(root, "check", check=False)
    assert "use check --direct" in result.stderr
    # By hand: back to the previous release and forth.
    install(root, "--release", "b")
    release_tool(root, "rollback")
    assert current(root) == "releases/a"
    assert state(root)["rolled_back_from"] == "b"
    assert "a (current)" in release_tool(root, "list").stdout


def test_on_the_live_system_the_switch_and_check_name_no_root() -> None:
    """Without --root (a device): the release tool is called for / (a dry run here)."""
    result = run("bash", str(INSTALL), "--dry-run", "--no-apt")
    lines = result.stderr.splitlines()
    tool = "/usr/local/lib/appliance/appliance-release"
    assert any(
        ln.startswith(f"+ bash {tool} --prefix /opt/appliance switch 0.1.0-") for ln in lines
    )
    assert not any("--root" in ln for ln in lines if tool in ln)
