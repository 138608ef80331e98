"""``scripts/demo --keyserver``: simulator, key server and appliance, offline, in one command;
a spoken question is answered and the key server's usage table shows the session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from appliance.demo import DEVICE
from appliance.rig.process import child_env

DEMO_TIMEOUT_S = 150.0


def test_the_demo_with_a_key_server_answers_and_prints_the_usage(tmp_path: Path) -> None:
    out = tmp_path / "demo-out.wav"
    result = subprocess.run(
        [sys.executable, "-m", "appliance.demo", "--headless", "--keyserver", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        env=child_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "key server: http://127.0.0.1:" in result.stdout
    assert "assistant" in result.stdout and out.stat().st_size > 44  # an answer was played
    table = result.stdout.split("$ appliance keyserver usage\n", 1)[1].splitlines()
    assert table[0].split()[:4] == ["day", "device", "sessions", "reports"]
    (row,) = [line.split() for line in table if DEVICE in line]
    assert row[2:4] == ["1", "1"], table  # one key minted, one usage report
    assert int(row[5]) > 0, table  # the session's input audio tokens
