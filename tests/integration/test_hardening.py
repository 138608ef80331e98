"""Hardening, through real processes: the ``appliance`` command line, ``appliance run``, real
HTTP servers on localhost and real hook processes.

Each test was written to fail on the code before its fix (see the issue "Caught up front, applied
whole: validation, Deep Chat fidelity, and the hardening gaps").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rig import _env

# --- helpers -----------------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``appliance`` command line."""
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or _env(),
    )


def killed_during_write(path: Path, key: str, value: str) -> subprocess.CompletedProcess[str]:
    """``appliance config set`` SIGKILLed at the worst moment: the new file is written and
    synced beside the config, the rename has not happened yet."""
    script = (
        "import os, signal, sys\n"
        "os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from appliance.cli import main\n"
        f"sys.exit(main(['config', 'set', '--config', {str(path)!r}, {key!r}, {value!r}]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=_env()
    )


# --- 14: a killed `config set` leaves no temporary files behind for good ---------------------


def test_killed_config_set_leftovers_are_cleaned_on_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[realtime.config]\nvoice = "alloy"\n')
    before = path.read_bytes()
    result = killed_during_write(path, "realtime.config.voice", "verse")
    assert result.returncode == -9, result.stderr
    assert path.read_bytes() == before  # the rename never happened: the old file stands
    stale = sorted(p.name for p in tmp_path.glob(".config.toml.*.tmp"))
    assert len(stale) == 1, stale  # what a kill at that moment leaves behind
    assert "verse" in (tmp_path / stale[0]).read_text()

    other = tmp_path / ".other.toml.x1y2z3.tmp"  # not ours: another file's temporary
    other.write_text("x")
    result = cli("config", "set", "--config", str(path), "realtime.config.voice", "sage")
    assert result.returncode == 0, result.stderr
    assert 'voice = "sage"' in path.read_text()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([".config.toml.lock", ".other.toml.x1y2z3.tmp", "config.toml"]), left
