"""Soak on the real path: start/stop cycles and a long live session in one appliance process.

``scripts/bench --soak`` (only with ``--soak``: it takes about half an hour; ``--quick``: a few
minutes) starts the simulator, a private X display (Xvfb) and ``appliance run`` with its window
on that display and PyAudio on the virtual sound server: what a user runs, not a stand-in.
Then:

1. 1,000 start/stop cycles (``--quick``: 100) over the control socket, after 10 warm-up
   cycles. Each cycle picks at
   random to stop while connecting, while listening or while the model speaks, after a random
   wait of 0 to 2 s. After each stop it waits for ``idle`` and asks the sound server for the
   appliance's capture and playback streams: there must be none.
2. One session kept live for 30 minutes (``--quick``: 1) with a spoken answer every few
   seconds.

Figures: crashes (the process died), error states, streams left open while idle, and the
process's open fds, threads, asyncio tasks, RSS and PSS at cycle 0, 100 and 1,000 and along
the live session. Flat after the warm-up means no leak. PSS and RSS are also sampled every
few cycles and fitted with a line: its slope (KiB per cycle) is the per-session growth, which
the three samples alone cannot tell from noise. PSS includes a share of the libraries that
other processes map too, so it moves when they come and go; USS (private pages only) does not.

For a shorter run than ``--quick``'s or the full one, ``APPLIANCE_SOAK_CYCLES`` sets the cycle
count, ``APPLIANCE_SOAK_LIVE_S`` the live session's seconds and ``APPLIANCE_SOAK_MAX_WAIT_S``
the longest random wait in a cycle (default 2 s), e.g. ``APPLIANCE_SOAK_CYCLES=250
APPLIANCE_SOAK_LIVE_S=10 scripts/bench --soak --only soak``.

:func:`run_cycles` and the samplers are shared with ``tests/integration/test_soak.py``, which
runs a 100-cycle version in ``scripts/test``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from appliance.audio.wav import write_wav
from appliance.bench import Row
from appliance.control import ControlClientError, request, stream
from appliance.rig.process import ApplianceProcess
from appliance.rig.process import wait_state as rig_wait_state
from appliance.rig.sim import SimProcess
from appliance.rig.xdisplay import available as xvfb_available
from appliance.rig.xdisplay import virtual_display, x11_env
from appliance.sim.voice import synth_speech

MIB = 1024 * 1024
WARM_UP_CYCLES = 10
"""Cycles before cycle 0: the window, PortAudio and the executors are set up on the first ones."""
CYCLE_KINDS = ("connecting", "listening", "speaking")
"""Where a cycle's stop lands: during the connection, while listening, while the model speaks."""


# --- measuring a process ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Resources held by one process at one moment."""

    fds: int
    threads: int
    rss_bytes: int
    pss_bytes: int
    tasks: int | None = None  # the worker's asyncio tasks (from ``status``), if known
    uss_bytes: int = 0  # Private_Clean + Private_Dirty: what only this process holds

    @property
    def rss_mib(self) -> float:
        return self.rss_bytes / MIB

    @property
    def pss_mib(self) -> float:
        return self.pss_bytes / MIB

    def growth(self, later: Sample) -> dict[str, float]:
        """``later`` minus this sample, per metric (memory in MiB)."""
        out = {
            "fds": float(later.fds - self.fds),
            "threads": float(later.threads - self.threads),
            "rss_mib": later.rss_mib - self.rss_mib,
            "pss_mib": later.pss_mib - self.pss_mib,
        }
        if self.tasks is not None and later.tasks is not None:
            out["tasks"] = float(later.tasks - self.tasks)
        return out


def _kib_fields(path: str) -> dict[str, int]:
    fields: dict[str, int] = {}
    with open(path, encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                fields[name.strip()] = int(parts[0]) * 1024
            elif parts and parts[0].isdigit():
                fields[name.strip()] = int(parts[0])
    return fields


def sample(pid: int, socket: Path | None = None) -> Sample:
    """Open fds, threads, RSS and PSS (``/proc/PID/smaps_rollup``) of process ``pid``; with
    ``socket``, also the asyncio task count the appliance reports in ``status``."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    status = _kib_fields(f"/proc/{pid}/status")
    rollup = _kib_fields(f"/proc/{pid}/smaps_rollup")
    tasks = None
    if socket is not None:
        reported = request(socket, {"cmd": "status"}, timeout=10).get("tasks")
        tasks = int(reported) if isinstance(reported, int) else None
    uss = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    return Sample(fds, status["Threads"], status["VmRSS"], rollup.get("Pss", 0), tasks, uss)


def client_streams(pid: int) -> list[str]:
    """The capture and playback streams that process ``pid`` has open in the sound server
    (``PULSE_SERVER``), as ``"source-output N"`` / ``"sink-input N"``."""
    found = []
    for kind in ("source-outputs", "sink-inputs"):
        out = subprocess.run(
            ["pactl", "--format=json", "list", kind],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        for item in json.loads(out or "[]"):
            owner = (item.get("properties") or {}).get("application.process.id")
            if owner == str(pid):
                found.append(f"{kind[:-1]} {item.get('index')}")
    return found


class EventLog:
    """The appliance's event stream (``{"cmd": "events"}``), read on a thread."""

    def __init__(self, socket: Path) -> None:
        self.events: list[dict[str, Any]] = []
        self._lines = stream(socket, {"cmd": "events"})
        first = next(self._lines)
        if first.get("type") != "subscribed":
            raise RuntimeError(f"events: unexpected first reply {first}")
        self._thread = threading.Thread(target=self._read, daemon=True, name="soak-events")
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # ends when the appliance closes the socket
            for event in self._lines:
                self.events.append(event)

    def states(self) -> list[str]:
        return [e["state"] for e in list(self.events) if e.get("type") == "state"]

    def errors(self) -> list[str]:
        return [
            str(e.get("error"))
            for e in list(self.events)
            if e.get("type") == "state" and e.get("state") == "error"
        ]


# --- the cycles ----------------------------------------------------------------------------------


@dataclass
class CycleReport:
    """What :func:`run_cycles` saw."""

    cycles: int = 0
    crashed: str | None = None  # the process's exit status and the last log lines
    error_states: list[str] = field(default_factory=list)
    idle_streams: list[tuple[int, list[str]]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    samples: dict[int, Sample] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return self.crashed is None and not self.error_states and not self.idle_streams


def slope(samples: dict[int, Sample], metric: str = "pss_bytes") -> float:
    """Least-squares growth of ``metric`` (a :class:`Sample` field) per cycle, from samples
    keyed by cycle number; 0 with fewer than two samples."""
    if len(samples) < 2:
        return 0.0
    cycles = np.array(sorted(samples), dtype=np.float64)
    values = np.array([getattr(samples[int(n)], metric) for n in cycles], dtype=np.float64)
    return float(np.polyfit(cycles, values, 1)[0])


def wait_state(socket: Path, wanted: str | set[str], timeout: float = 15.0) -> dict[str, Any]:
    """:func:`appliance.rig.process.wait_state`, polled every 5 ms and giving up at once on an
    unexpected ``error``."""
    return rig_wait_state(
        socket, wanted, timeout, give_up_on={"error"}, request_timeout=timeout, interval=0.005
    )


def run_cycles(
    proc: subprocess.Popen[Any],
    socket: Path,
    count: int,
    *,
    seed: int = 0,
    max_wait_s: float = 2.0,
    sample_at: tuple[int, ...] = (0, 100, 1000),
    streams: Callable[[int], list[str]] = client_streams,
    log_tail: Callable[[], str] = lambda: "",
    timeout: float = 20.0,
) -> CycleReport:
    """``count`` start/stop cycles on a running appliance, stopping while connecting, while
    listening or while the model speaks, after a random wait of up to ``max_wait_s``.

    Never raises for what it is there to find: a crash, an error state or a stream left open
    while idle is recorded in the report (a crash ends the run).
    """
    rng = random.Random(seed)
    report = CycleReport()
    events = EventLog(socket)
    started = time.monotonic()

    def died() -> bool:
        if proc.poll() is None:
            return False
        report.crashed = f"exit status {proc.returncode} after {report.cycles} cycles\n{log_tail()}"
        return True

    try:
        for n in range(count + 1):
            if n in sample_at:
                report.samples[n] = sample(proc.pid, socket)
            if n == count:
                break
            kind = rng.choice(CYCLE_KINDS)
            try:
                _one_cycle(socket, kind, rng, max_wait_s, timeout)
            except (TimeoutError, ControlClientError, OSError) as exc:
                if died():
                    break
                report.error_states.append(f"cycle {n + 1} ({kind}): {exc}")
                with contextlib.suppress(Exception):  # back to idle for the next cycle
                    request(socket, {"cmd": "stop"})
                    wait_state(socket, "idle", timeout)
            if died():
                break
            left = streams(proc.pid)
            if left:
                report.idle_streams.append((n + 1, left))
            report.cycles = n + 1
            report.kinds[kind] += 1
    finally:
        report.seconds = time.monotonic() - started
        report.error_states += [f"error state: {cause}" for cause in events.errors()]
    return report


def _one_cycle(
    socket: Path, kind: str, rng: random.Random, max_wait_s: float, timeout: float
) -> None:
    reply = request(socket, {"cmd": "start"}, timeout=timeout)
    if not reply.get("ok"):
        raise TimeoutError(f"start refused: {reply}")
    if kind != "connecting":
        wait_state(socket, {"listening", "muted"}, timeout)
        if kind == "speaking":
            request(socket, {"cmd": "say", "text": "Tell me a story.", "role": "user"})
            wait_state(socket, "speaking", timeout)
        time.sleep(rng.uniform(0.0, max_wait_s))  # the scenario's pause, not synchronisation
    request(socket, {"cmd": "stop"}, timeout=timeout)
    wait_state(socket, "idle", timeout)


# --- one appliance on the real path ------------------------------------------------------------


def speech_wav(path: Path, seconds: float, every_s: float = 5.0, speech_s: float = 1.2) -> Path:
    """A 24 kHz mono WAV of ``seconds`` with a spoken-like phrase every ``every_s`` seconds
    (from 0.5 s), silence in between: server VAD hears one turn per phrase."""
    rate = 24_000
    data = np.zeros(int(seconds * rate), dtype=np.int16)
    phrase = np.frombuffer(synth_speech(speech_s), dtype="<i2")
    at = 0.5
    while at + speech_s < seconds:
        i = int(at * rate)
        data[i : i + len(phrase)] = phrase[: len(data) - i]
        at += every_s
    write_wav(path, data, rate)
    return path


def soak_config(sim_url: str, socket: Path, *, window: bool) -> str:
    """The TOML of an appliance that talks to the simulator at ``sim_url``, PyAudio audio,
    its window on ``$DISPLAY`` (``window``) or no screen."""
    display = 'mode = "window"\nsize = [800, 480]\n' if window else 'mode = "none"\n'
    return (
        "[openai]\n"
        f'api_base = "{sim_url}"\n'
        'dialect = "ga"\n'
        "[realtime]\n"
        "max_session_s = 0\n"  # the live session runs longer than the default cap
        "[realtime.provisioning]\n"
        f'url = "{sim_url}/provision"\n'
        "[realtime.config]\n"
        'turn_detection = { type = "server_vad", silence_duration_ms = 400 }\n'
        "input_audio_transcription = true\n"
        "[audio]\n"
        'backend = "pyaudio"\n'
        'echo = "half-duplex"\n'
        # no sound cues: the stop cue plays on a stream of its own after each stop, which the
        # check for streams left open at idle would count (tests/integration/test_cues_audio.py
        # checks that stream closes after its cue)
        'cues = { start = "off", stop = "off", error = "off" }\n'
        "[control]\n"
        f'socket = "{socket}"\n'
        f"[display]\n{display}"
        "[gpio]\n"
        "enabled = false\n"
    )


@contextlib.contextmanager
def real_appliance(
    work: Path, *, window: bool, prefix: tuple[str, ...] = (), answer_seconds: float = 2.0
) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    """The simulator, Xvfb (``window``) and ``appliance run`` on PyAudio; yields (process,
    control socket, log file). Needs ``PULSE_SERVER`` to point at the virtual sound server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env["PYTHONUNBUFFERED"] = "1"
    sim = SimProcess("--answer-seconds", f"{answer_seconds:g}", env=env)
    socket = work / "control.sock"
    config = work / "config.toml"
    config.write_text(soak_config(sim.url, socket, window=window))
    log_path = work / "appliance.log"
    with contextlib.ExitStack() as stack:
        stack.callback(sim.stop)
        if window:
            env = x11_env(stack.enter_context(virtual_display(800, 480)), env)
        app = ApplianceProcess(config, log_path, env=env, prefix=prefix, socket=socket)
        stack.callback(app.stop)
        yield app.proc, socket, log_path


# --- the benchmark ---------------------------------------------------------------------------


def _rows(label: str, s: Sample, note: str) -> list[Row]:
    rows: list[Row] = [
        {"area": "soak", "name": f"fds {label}", "value": float(s.fds), "unit": "count"},
        {"area": "soak", "name": f"threads {label}", "value": float(s.threads), "unit": "count"},
        {"area": "soak", "name": f"PSS {label}", "value": s.pss_mib, "unit": "MiB"},
        {"area": "soak", "name": f"RSS {label}", "value": s.rss_mib, "unit": "MiB"},
    ]
    if s.tasks is not None:
        rows.append(
            {
                "area": "soak",
                "name": f"asyncio tasks {label}",
                "value": float(s.tasks),
                "unit": "count",
            }
        )
    for row in rows:
        row["note"] = note
    return rows


def _live(socket: Path, pid: int, seconds: float) -> tuple[list[Row], int, dict[str, Any]]:
    rows: list[Row] = []
    request(socket, {"cmd": "start"})
    wait_state(socket, {"listening", "speaking"})
    started = time.monotonic()
    next_say, next_sample = started + 2, started + seconds / 4
    answers = 0
    while (now := time.monotonic()) - started < seconds:
        if now >= next_say:
            reply = request(socket, {"cmd": "say", "text": "Tell me more.", "role": "user"})
            answers += bool(reply.get("ok"))
            next_say = now + 6
        if now >= next_sample and now - started < seconds - 1:
            rows += _rows(f"live, after {round(now - started)} s", sample(pid, socket), "live")
            next_sample = now + seconds / 4
        time.sleep(0.2)  # pacing of the driver loop, not synchronisation
    status = request(socket, {"cmd": "status"})
    rows += _rows(f"live, after {seconds:g} s", sample(pid, socket), "live session")
    request(socket, {"cmd": "stop"})
    wait_state(socket, "idle")
    return rows, answers, status


def run(quick: bool) -> list[Row]:
    cycles = int(os.environ.get("APPLIANCE_SOAK_CYCLES") or (100 if quick else 1000))
    live_s = float(os.environ.get("APPLIANCE_SOAK_LIVE_S") or (60.0 if quick else 1800.0))
    max_wait_s = float(os.environ.get("APPLIANCE_SOAK_MAX_WAIT_S") or 2.0)
    every = max(1, cycles // 50)  # samples for the slope
    window = xvfb_available()
    where = f"PyAudio on the virtual sound server, {'window on Xvfb' if window else 'no screen'}"
    work = Path(tempfile.mkdtemp(prefix="appliance-soak-"))
    rows: list[Row] = []
    with real_appliance(work, window=window) as (app, socket, log_path):
        rows += _rows("at start", sample(app.pid, socket), "idle, before any session")
        warm = run_cycles(app, socket, WARM_UP_CYCLES, seed=1, max_wait_s=0.3, sample_at=())
        if not warm.clean:
            raise RuntimeError(f"the warm-up cycles failed: {warm}")
        report = run_cycles(
            app,
            socket,
            cycles,
            seed=int(time.time()),
            max_wait_s=max_wait_s,
            sample_at=tuple(sorted({0, 100, cycles, *range(0, cycles + 1, every)})),
            log_tail=lambda: log_path.read_text()[-3000:],
        )
        kinds = ", ".join(f"{report.kinds[k]} {k}" for k in CYCLE_KINDS)
        note = f"{report.cycles} cycles ({kinds}), waits 0-{max_wait_s:g} s, {where}"
        rows += [
            {
                "area": "soak",
                "name": "crashes",
                "value": float(report.crashed is not None),
                "unit": "count",
                "note": note,
            },
            {
                "area": "soak",
                "name": "error states",
                "value": float(len(report.error_states)),
                "unit": "count",
                "note": note,
            },
            {
                "area": "soak",
                "name": "streams open while idle",
                "value": float(sum(len(s) for _, s in report.idle_streams)),
                "unit": "count",
                "note": "pactl source-outputs + sink-inputs of the appliance after each stop",
            },
            {
                "area": "soak",
                "name": "start/stop cycle",
                "value": report.seconds / max(1, report.cycles) * 1000,
                "unit": "ms",
                "note": f"mean of {report.cycles}, including the random waits",
            },
        ]
        for n, s in sorted(report.samples.items()):
            if n in (0, 100, cycles):
                rows += _rows(f"at cycle {n}", s, "idle")
        fitted = f"least-squares line through {len(report.samples)} idle samples, cycle 0-{cycles}"
        rows += [
            {
                "area": "soak",
                "name": f"{label} growth per cycle",
                "value": slope(report.samples, metric) / 1024,
                "unit": "KiB",
                "note": fitted,
            }
            for label, metric in (("PSS", "pss_bytes"), ("RSS", "rss_bytes"), ("USS", "uss_bytes"))
        ]
        for problem in [report.crashed, *report.error_states[:5]]:
            if problem:
                print(f"soak: {problem}", file=sys.stderr)
        if report.crashed is None:
            live_rows, answers, status = _live(socket, app.pid, live_s)
            rows += live_rows
            rows.append(
                {
                    "area": "soak",
                    "name": "playback underruns (live)",
                    "value": float(status["playback"]["underruns"]),
                    "unit": "count",
                    "note": f"{answers} spoken answers in {live_s:g} s",
                }
            )
            after = sample(app.pid, socket)
            rows += _rows("after everything (idle)", after, "idle")
            first = report.samples.get(0)
            if first is not None:
                for name, delta in first.growth(after).items():
                    rows.append(
                        {
                            "area": "soak",
                            "name": f"growth of {name.removesuffix('_mib')}",
                            "value": delta,
                            "unit": "MiB" if name.endswith("_mib") else "count",
                            "note": f"cycle 0 -> after {cycles} cycles + {live_s:g} s live",
                        }
                    )
    return rows
