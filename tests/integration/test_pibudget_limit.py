"""The Pi budget bench's CPU limit really holds a process to a quarter of one core."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from appliance.bench.pibudget import CpuLimit

BUSY = "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end:\n    pass\n"


def test_a_busy_process_gets_a_quarter_of_a_core() -> None:
    try:
        limit = CpuLimit().__enter__()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    try:
        begun = time.monotonic()
        proc = subprocess.Popen([*limit.prefix, sys.executable, "-c", BUSY])
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - begun
        assert proc.returncode == 0
        share = (usage.ru_utime + usage.ru_stime) / wall
        # the interpreter's start is in it too; 25 % of one core, with room for accounting
        assert share <= 0.32, f"{share:.0%} of a core"
        throttling = limit.throttling()
        if throttling:
            assert throttling.get("nr_throttled", 0) > 0
    finally:
        limit.__exit__(None, None, None)
    assert limit.path is None
