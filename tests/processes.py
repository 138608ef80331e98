"""Real processes for tests: the simulator subprocess, a clean child environment, and waiting
on conditions with a deadline (never on fixed sleeps). Shared by the integration tests and the
hardware-in-the-loop rig.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.sim.process import SimProcess

ROOT = Path(__file__).resolve().parents[1]


def child_env(*pythonpath: Path, **extra: str) -> dict[str, str]:
    """The environment for an appliance or simulator child: no stray ``APPLIANCE_*``
    overrides (but ``APPLIANCE_HIL``), the repository (and ``pythonpath``) importable."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("APPLIANCE_") or name == "APPLIANCE_HIL"
    }
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), str(ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_until(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        threading.Event().wait(poll)


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory (``VmHWM``) of a live process, in MiB. The hostile-input tests
    read it before they stop the process, to assert that no input from outside exhausts
    memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def rss_mib(pid: int) -> float:
    """The current resident memory (``VmRSS``) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


class Sim(SimProcess):
    """The simulator subprocess (with a clean environment) and its admin endpoints."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, env=child_env())

    def _http(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        return json.loads(text) if text.strip() else None

    def log(self) -> dict[str, Any]:
        """What the simulator saw (``GET /sim/log``)."""
        return self._http("GET", "/sim/log")

    def state(self) -> dict[str, Any]:
        """Open sessions and keys issued (``GET /sim/state``)."""
        return self._http("GET", "/sim/state")

    def client_events(self, kind: str | None = None) -> list[dict[str, Any]]:
        events = self.log()["client_events"]
        return [e for e in events if kind is None or e.get("type") == kind]


@dataclass
class Measured:
    """How a command ran: see :func:`run_measured`."""

    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float
    peak_rss_mib: float
    timed_out: bool


_LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""
"""Runs the command and writes its peak memory. A child's ``ru_maxrss`` counts the memory of
the process it was forked from (Linux folds the old memory's peak in at ``exec``), so the
command is started from this small interpreter, not from the test process."""


def run_measured(args: list[str], timeout: float, **popen: Any) -> Measured:
    """Run ``args`` to its end (killed after ``timeout`` s) and measure it: exit status, output,
    wall time and peak resident memory (``ru_maxrss`` from ``wait4``). For the hostile-input
    tests of short-lived commands, whose memory cannot be read while they live; a command
    that hangs is killed and reported with ``timed_out``."""
    with (
        tempfile.TemporaryDirectory() as folder,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        peak = Path(folder) / "maxrss"
        begun = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(peak), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            **popen,
        )
        try:
            proc.wait(timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        elapsed = time.monotonic() - begun
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            elapsed_s=elapsed,
            peak_rss_mib=int(peak.read_text() or 0) / 1024 if peak.exists() else 0.0,
            timed_out=timed_out,
        )


async def until(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.005) -> Any:
    """:func:`wait_until` inside an event loop: poll ``check`` (yielding to the loop between
    looks) until it returns something truthy; fail naming ``what`` after ``timeout``."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(poll)
