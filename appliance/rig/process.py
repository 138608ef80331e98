"""Processes driven from outside: ``appliance run`` as a child, waiting on conditions with a
deadline (never on fixed sleeps), a clean child environment and memory readings.

    app = ApplianceProcess(config_path, log_path, args=("--audio-in", "q.wav"))
    app.request({"cmd": "start"})
    app.wait_state("listening")
    ...
    code = app.stop()    # SIGTERM, then SIGKILL after a grace period; the exit status

The demo, the benchmarks, the tests and the hardware rig use it. The simulator's counterpart
is :class:`appliance.rig.sim.SimProcess`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.config import load
from appliance.control import ControlClientError, request

ROOT = Path(__file__).resolve().parents[2]
"""The checkout (or install prefix) the ``appliance`` package is imported from."""

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
"""The kernel's clock ticks per second (the unit of ``/proc/PID/stat``'s CPU times)."""

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0
POLL_S = 0.02
"""How often :func:`wait_until` and :func:`wait_state` look again."""


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


def poll_until(check: Callable[[], Any], timeout: float, interval: float = POLL_S) -> Any:
    """Call ``check`` every ``interval`` s until it returns something truthy or ``timeout`` s
    have passed; returns its last result (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        threading.Event().wait(interval)


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.01) -> bool:
    """True once ``check()`` is truthy, False if ``timeout`` s pass first."""
    return bool(poll_until(check, timeout, interval))


def wait_until(check: Callable[[], Any], timeout: float, what: str, poll: float = POLL_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    result = poll_until(check, timeout, poll)
    if not result:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
    return result


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


class StateNotReached(TimeoutError):
    """:func:`wait_state` gave up; the message names the state wanted and the last status."""


def wait_state(
    socket: Path,
    wanted: str | Iterable[str],
    timeout: float = 15.0,
    *,
    alive: Callable[[], bool] | None = None,
    give_up_on: Iterable[str] = (),
    request_timeout: float = 10.0,
    interval: float = POLL_S,
) -> dict[str, Any]:
    """Poll the control socket's ``status`` until the state is ``wanted`` (one or several);
    returns that status. Raises :class:`StateNotReached` with the last status when ``timeout``
    passes first, at once when the state is one of ``give_up_on`` (and not wanted), or when
    ``alive()`` says the appliance has exited."""
    names = {wanted} if isinstance(wanted, str) else set(wanted)
    stop_states = set(give_up_on) - names
    last: dict[str, Any] = {}
    why = f"within {timeout:g} s"

    def check() -> dict[str, Any] | bool:
        nonlocal last, why
        last = request(socket, {"cmd": "status"}, timeout=request_timeout)
        if last.get("state") in names:
            return last
        if last.get("state") in stop_states:
            why = f"(it went to {last.get('state')})"
            return True
        if alive is not None and not alive():
            why = "(the appliance exited)"
            return True
        return False

    poll_until(check, timeout, interval)
    if last.get("state") in names:
        return last
    raise StateNotReached(
        f"state {'/'.join(sorted(names))} not reached {why}; last status: "
        f"state {last.get('state')}, error {last.get('last_error')}"
    )


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


class ApplianceFailedToStart(RuntimeError):
    """The process exited, or its socket did not answer in time; the message has its log."""


class ApplianceProcess:
    """``python -m appliance run --config CONFIG ARGS``, its output in ``log_path``.

    The control socket is the config's ``control.socket`` (or ``socket``). ``prefix`` goes
    before the command (e.g. a namespace wrapper); the process's pid is the appliance's as long
    as the prefix execs. ``wait`` (default) returns once the socket answers ``status``. With
    ``new_session`` it leads a process group of its own, which :meth:`stop` ends whole.
    :attr:`spawned` is the ``time.perf_counter()`` just before the spawn.
    """

    def __init__(
        self,
        config_path: Path,
        log_path: Path,
        *,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
        socket: Path | None = None,
        wait: bool = True,
        ready_timeout: float = READY_TIMEOUT_S,
        new_session: bool = False,
        cwd: Path | None = None,
    ) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.socket = socket or load(config_path, environ={}).control.socket
        command = [*prefix, sys.executable, "-m", "appliance", "run", "--config", str(config_path)]
        self.new_session = new_session
        with log_path.open("wb") as log:
            self.spawned = time.perf_counter()
            self.proc = subprocess.Popen(
                [*command, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=new_session,
            )
        if wait:
            try:
                self.wait_ready(ready_timeout)
            except BaseException:
                self.stop()
                raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self, tail: int | None = None) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text if tail is None else text[-tail:]

    def answers(self) -> bool:
        """The control socket answers ``status`` (raises if the process has exited)."""
        if not self.alive():
            raise ApplianceFailedToStart(
                f"the appliance exited with status {self.proc.returncode}:\n{self.log(3000)}"
            )
        try:
            return bool(request(self.socket, {"cmd": "status"}, timeout=2).get("ok"))
        except (ControlClientError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S, interval: float = 0.05) -> None:
        """Return once the control socket answers; fail with the log if the process exits or
        ``timeout`` s pass first."""
        if not poll_until(self.answers, timeout, interval):
            raise ApplianceFailedToStart(
                f"the control socket {self.socket} did not answer within {timeout:g} s:\n"
                + self.log(3000)
            )

    def request(self, payload: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        return request(self.socket, payload, timeout=timeout)

    def wait_state(self, *names: str, timeout: float = 15.0, **options: Any) -> dict[str, Any]:
        """:func:`wait_state` on this appliance's socket, giving up if the process exits."""
        return wait_state(self.socket, names, timeout, alive=self.alive, **options)

    def stop(self, grace: float = STOP_GRACE_S) -> int:
        """SIGTERM, SIGKILL if it has not exited after ``grace`` s; returns the exit status.
        Started with ``new_session``: the whole process group (:func:`kill_group`)."""
        if self.new_session:
            kill_group(self.proc, grace)
        elif self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


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


def kill_group(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``proc`` (started with ``start_new_session``), wait
    up to ``grace`` seconds for ``proc``, then SIGKILL whatever is left of the group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# --- /proc readings -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far, all its threads (``/proc/PID/stat``;
    threads that ended are included, children are not)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # after the command name: state is field 3, utime 14, stime 15 (1-based, man 5 proc)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU % (of one core) of some processes over a wall-clock window."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.started = time.perf_counter()
        self.cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def percent(self) -> tuple[dict[str, float], float]:
        """Per name, CPU % since the start; and the window's length in seconds."""
        wall = time.perf_counter() - self.started
        return {
            name: 100 * (cpu_seconds(pid) - self.cpu[name]) / wall
            for name, pid in self.pids.items()
        }, wall


@dataclass(frozen=True)
class Memory:
    """From ``/proc/PID/smaps_rollup``, in MiB."""

    rss: float
    pss: float
    uss: float  # Private_Clean + Private_Dirty: what the process alone holds


def memory(pid: int) -> Memory:
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            name, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                fields[name] = int(parts[0])
    mib = 1024.0
    return Memory(
        rss=fields["Rss"] / mib,
        pss=fields["Pss"] / mib,
        uss=(fields["Private_Clean"] + fields["Private_Dirty"]) / mib,
    )


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now (from each process's parent in
    ``/proc/PID/stat``), ``pid`` first."""
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        parents.setdefault(ppid, []).append(int(name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


def tree_memory(pid: int) -> tuple[Memory, int]:
    """The sum of :func:`memory` over :func:`process_tree` (a process that ends meanwhile is
    left out) and the number of processes summed. PSS adds up to what the tree costs the
    machine; RSS double-counts what its processes share."""
    total = [0.0, 0.0, 0.0]
    count = 0
    for member in process_tree(pid):
        try:
            m = memory(member)
        except (OSError, KeyError):
            continue
        total = [total[0] + m.rss, total[1] + m.pss, total[2] + m.uss]
        count += 1
    return Memory(*total), count


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """:func:`cpu_seconds` of each process of :func:`process_tree` (those that end meanwhile
    are left out)."""
    out = {}
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[member] = cpu_seconds(member)
    return out
