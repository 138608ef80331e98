"""Soak: many start/stop cycles and a long live session in one appliance process.

``scripts/bench --soak`` (only with ``--soak``: it takes minutes) starts the simulator and a
headless ``appliance run`` (WAV audio, no display, no GPIO), then:

1. warms up, then runs 1,000 start/stop cycles over the control socket (``--quick``: 200),
   each waiting for ``listening`` and then ``idle``;
2. keeps one session live for a few minutes (``--quick``: 20 s) with speech in the microphone
   and a spoken answer every few seconds.

It samples the process's open file descriptors (``/proc/PID/fd``), threads and RSS
(``/proc/PID/status``) and the worker's asyncio task count (``appliance status``) before, along
the way (the "curve") and after. Growth that does not level off is a leak.

The helpers (:func:`sample`, :func:`start_stop_cycles`, :func:`wait_state`,
:func:`speech_wav`) are shared with ``tests/integration/test_soak.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from appliance.audio.wav import write_wav
from appliance.bench import Row
from appliance.control import request
from appliance.sim.process import SimProcess
from appliance.sim.voice import synth_speech

MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """Resources held by one process at one moment."""

    fds: int
    threads: int
    rss_bytes: int
    tasks: int | None = None  # the worker's asyncio tasks (from ``status``), if known

    @property
    def rss_mib(self) -> float:
        return self.rss_bytes / MIB

    def growth(self, later: Sample) -> dict[str, float]:
        """``later`` minus this sample, per metric (RSS in MiB)."""
        out = {
            "fds": float(later.fds - self.fds),
            "threads": float(later.threads - self.threads),
            "rss_mib": later.rss_mib - self.rss_mib,
        }
        if self.tasks is not None and later.tasks is not None:
            out["tasks"] = float(later.tasks - self.tasks)
        return out


def sample(pid: int, socket: Path | None = None) -> Sample:
    """Open fds, threads and RSS of process ``pid`` (Linux ``/proc``); with ``socket``, also
    the asyncio task count the appliance reports in ``status`` (without this request's own)."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    fields: dict[str, str] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    threads = int(fields["Threads"])
    rss = int(fields["VmRSS"].split()[0]) * 1024  # "1234 kB"
    tasks = None
    if socket is not None:
        reported = request(socket, {"cmd": "status"}, timeout=10).get("tasks")
        tasks = int(reported) if isinstance(reported, int) else None
    return Sample(fds, threads, rss, tasks)


def wait_state(socket: Path, wanted: str | set[str], timeout: float = 15.0) -> dict[str, Any]:
    """Poll ``status`` until the state is ``wanted`` (one or a set); raise with the last status
    when ``timeout`` passes first."""
    names = {wanted} if isinstance(wanted, str) else wanted
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = request(socket, {"cmd": "status"}, timeout=timeout)
        if status.get("state") in names:
            return status
        if status.get("state") == "error" and "error" not in names:
            break
        time.sleep(0.005)  # a poll interval, not synchronisation
    raise TimeoutError(
        f"state {'/'.join(sorted(names))} not reached within {timeout:g} s; last status: "
        f"state {status.get('state')}, error {status.get('last_error')}"
    )


def start_stop_cycles(
    socket: Path,
    count: int,
    *,
    on_cycle: Callable[[int], None] | None = None,
    timeout: float = 15.0,
) -> float:
    """``count`` cycles of ``start`` -> listening -> ``stop`` -> idle; returns the seconds taken.
    ``on_cycle(n)`` runs after cycle ``n`` (1-based)."""
    started = time.monotonic()
    for n in range(1, count + 1):
        reply = request(socket, {"cmd": "start"}, timeout=timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"cycle {n}: start refused: {reply}")
        wait_state(socket, {"listening", "muted"}, timeout)
        reply = request(socket, {"cmd": "stop"}, timeout=timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"cycle {n}: stop refused: {reply}")
        wait_state(socket, "idle", timeout)
        if on_cycle is not None:
            on_cycle(n)
    return time.monotonic() - started


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


# --- the benchmark -------------------------------------------------------------------------------


class _Processes:
    """The simulator and one appliance, as subprocesses (like the integration tests)."""

    def __init__(self, work: Path, audio_in: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.sim = SimProcess("--answer-seconds", "2", env=env)
        url = self.sim.url
        self.socket = work / "control.sock"
        config = work / "config.toml"
        config.write_text(
            "[openai]\n"
            f'api_base = "{url}"\n'
            'dialect = "ga"\n'
            "[realtime.provisioning]\n"
            f'url = "{url}/provision"\n'
            "[realtime.config]\n"
            'turn_detection = { type = "server_vad", silence_duration_ms = 400 }\n'
            "input_audio_transcription = true\n"
            "[control]\n"
            f'socket = "{self.socket}"\n'
            "[display]\n"
            'mode = "none"\n'
            "[gpio]\n"
            "enabled = false\n"
        )
        self.log = (work / "appliance.log").open("w")
        self.app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "appliance",
                "run",
                "--config",
                str(config),
                "--audio-in",
                str(audio_in),
                "--audio-out",
                str(work / "out.wav"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if request(self.socket, {"cmd": "status"}, timeout=2).get("ok"):
                    break
            except Exception:
                if self.app.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the appliance did not start") from None
                time.sleep(0.05)

    def close(self) -> None:
        if self.app.poll() is None:
            self.app.send_signal(signal.SIGTERM)
            try:
                self.app.wait(15)
            except subprocess.TimeoutExpired:
                self.app.kill()
                self.app.wait()
        self.sim.stop()
        self.log.close()


def _rows(label: str, s: Sample, note: str) -> list[Row]:
    rows: list[Row] = [
        {"area": "soak", "name": f"fds {label}", "value": float(s.fds), "unit": "count"},
        {"area": "soak", "name": f"threads {label}", "value": float(s.threads), "unit": "count"},
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


def run(quick: bool) -> list[Row]:
    cycles = 200 if quick else 1000
    every = 50 if quick else 250
    live_s = 20.0 if quick else 180.0
    work = Path(tempfile.mkdtemp(prefix="appliance-soak-"))
    audio_in = speech_wav(work / "speech.wav", live_s + 5)
    procs = _Processes(work, audio_in)
    pid, sock = procs.app.pid, procs.socket
    rows: list[Row] = []
    try:
        start_stop_cycles(sock, 20)  # warm-up: executor threads, imports, caches
        before = sample(pid, sock)
        rows += _rows("before (after 20 warm-up cycles)", before, "idle")

        def along(n: int) -> None:
            if n % every == 0 and n != cycles:
                rows.extend(_rows(f"after {n} cycles", sample(pid, sock), "idle"))

        took = start_stop_cycles(sock, cycles, on_cycle=along)
        after_cycles = sample(pid, sock)
        rows += _rows(f"after {cycles} cycles", after_cycles, "idle")
        rows.append(
            {
                "area": "soak",
                "name": "start->listening->stop->idle cycle",
                "value": took / cycles * 1000,
                "unit": "ms",
                "note": f"mean of {cycles}, simulator on localhost",
            }
        )
        request(sock, {"cmd": "start"})
        wait_state(sock, {"listening", "speaking"})
        live_started = time.monotonic()
        next_say = live_started + 4
        next_sample = live_started + live_s / 4
        answers = 0
        while (now := time.monotonic()) - live_started < live_s:
            if now >= next_say:
                reply = request(sock, {"cmd": "say", "text": "Tell me more.", "role": "user"})
                answers += bool(reply.get("ok"))
                next_say = now + 6
            if now >= next_sample and now - live_started < live_s - 1:
                minute = round(now - live_started)
                rows += _rows(f"live, after {minute} s", sample(pid, sock), "live session")
                next_sample = now + live_s / 4
            time.sleep(0.2)  # pacing of the driver loop, not synchronisation
        status = request(sock, {"cmd": "status"})
        after_live = sample(pid, sock)
        rows += _rows(f"live, after {live_s:g} s", after_live, "live session")
        request(sock, {"cmd": "stop"})
        wait_state(sock, "idle")
        after = sample(pid, sock)
        rows += _rows("after everything (idle)", after, "idle")
        for name, delta in before.growth(after).items():
            unit = "MiB" if name == "rss_mib" else "count"
            rows.append(
                {
                    "area": "soak",
                    "name": f"growth of {name.removesuffix('_mib')}",
                    "value": delta,
                    "unit": unit,
                    "note": f"{cycles} cycles + {live_s:g} s live",
                }
            )
        rows.append(
            {
                "area": "soak",
                "name": "playback underruns (live)",
                "value": float(status["playback"]["underruns"]),
                "unit": "count",
                "note": f"{answers} spoken answers asked for, plus the microphone's turns",
            }
        )
        return rows
    finally:
        procs.close()
