"""A Pi core's budget (``scripts/bench --pi-budget``): the real appliance on a quarter of a core.

The real ``appliance run`` runs inside a cgroup limited to a quarter of one core (cgroup v1's
``cpu`` controller: ``cpu.cfs_quota_us = 25000`` per ``cpu.cfs_period_us = 100000``; else
cgroup v2's ``cpu.max``; else ``systemd-run --scope -p CPUQuota=25%``), at 800x480 (the official
7-inch screen) in a window on Xvfb, with real PyAudio on the virtual sound server, talking to the
simulator, with the default [audio] settings (echo cancelling on: the microphone streams while
the model speaks, so talking over it interrupts it). A quarter of a core here is roughly one
Cortex-A53 core of a Raspberry Pi 3 or Zero 2 W. The cgroup also gets the highest CPU weight,
so that the quarter is the appliance's whatever else this shared machine runs (on a Pi nothing
competes for it). Only the appliance is limited: the simulator, the sound server and Xvfb (which
a kiosk on KMSDRM does not have) run outside the cgroup.

A 5-minute session (``--quick``: 1 minute) of rounds: a question (``say``), the model answers
for a while, and is interrupted, in turn by a press (the button, through the control socket)
and by speech into the microphone (then the model answers that to its end). Measured from
outside the appliance:

* underruns and overruns: PortAudio's status flags (``paOutputUnderflow``,
  ``paInputOverflow``), as the appliance logs them each time its streams close;
* frames per second while the model speaks: frames presented into the window, counted by the
  X server (DAMAGE), over the stretches where the voice is audible at the sink (the avatar
  rests in the pauses between words and no frame is due then), and over the whole speaking
  time (pauses included);
* barge-in (press -> the answer ends at the DAC): from the press sent on the control socket
  to the appliance's ``barge-in: ... truncated`` log line, which it writes once the playback
  was cleared and the output device flushed (its stream aborted: what it held is dropped); the
  log's timestamps have 1 ms steps. And, as a check on what was really heard, how many presses
  were followed by silence at the sink (``appliance_out.monitor``, recorded) within 100 ms;
* the appliance's CPU (all threads) and how often the cgroup throttled it.

With ``pymicro-wakeword`` installed the wake word is on (``[wake]``): the CPU of idle listening
is measured first, the first session is started by "Okay Nabu" (espeak-ng) into the
microphone, and every third round stops the session and starts the next by the word again.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from appliance.bench import Row, row
from appliance.bench._kiosk import Kiosk, Rig
from appliance.control import ControlClientError, stream
from appliance.rig.process import cpu_seconds, poll_until
from appliance.rig.sound import Recorder
from appliance.rig.speech import espeak_file

SIZE = (800, 480)
QUOTA_US, PERIOD_US = 25_000, 100_000
# The quarter of a core is the appliance's whole (the highest CPU weight): on a Pi nothing else
# competes for it, here other processes of a shared machine would (their run queue waits of
# 30-120 ms underran the output before this)
SHARES_V1, WEIGHT_V2 = 262_144, 10_000
BLOCK_MS = 20
RATE = 48_000  # the recording of the sink
SILENT = 1e-4  # -80 dBFS: the flushed output is digital silence (exact zeros)
IDLE_S, IDLE_QUICK_S = 20.0, 5.0  # idle listening for the wake word, measured before the session
WAKE_EVERY = 3  # every third round restarts the session by the wake word


# --- the CPU limit ---------------------------------------------------------------------------


class CpuLimit:
    """A cgroup with a quarter of one core for the duration of a ``with``: at most that much
    (the CFS quota), and that much whatever else runs (the highest weight). :attr:`prefix`
    starts a command inside it (the command execs, so its pid stays the one spawned)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.prefix: list[str] = []
        self.how = ""

    def __enter__(self) -> CpuLimit:
        name = f"appliance-pibudget-{os.getpid()}"
        v1 = Path("/sys/fs/cgroup/cpu")
        v2 = Path("/sys/fs/cgroup")
        errors = []
        if (v1 / "cpu.cfs_quota_us").exists():
            try:
                path = v1 / name
                path.mkdir(exist_ok=True)
                self.path = path
                (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(QUOTA_US))
                (path / "cpu.shares").write_text(str(SHARES_V1))
                self.how = (
                    f"cgroup v1 cpu controller, cpu.cfs_quota_us {QUOTA_US} per "
                    f"cpu.cfs_period_us {PERIOD_US}, cpu.shares {SHARES_V1}"
                )
            except OSError as exc:
                errors.append(f"cgroup v1: {exc}")
                self._remove()
        if self.path is None and "cpu" in _read(v2 / "cgroup.controllers").split():
            try:
                with contextlib.suppress(OSError):
                    (v2 / "cgroup.subtree_control").write_text("+cpu")
                path = v2 / name
                path.mkdir(exist_ok=True)
                self.path = path
                (path / "cpu.max").write_text(f"{QUOTA_US} {PERIOD_US}")
                (path / "cpu.weight").write_text(str(WEIGHT_V2))
                self.how = f"cgroup v2 cpu.max {QUOTA_US} {PERIOD_US}, cpu.weight {WEIGHT_V2}"
            except OSError as exc:
                errors.append(f"cgroup v2: {exc}")
                self._remove()
        if self.path is not None:
            procs = str(self.path / "cgroup.procs")
            self.prefix = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', procs]
        elif shutil.which("systemd-run") and Path("/run/systemd/system").is_dir():
            self.prefix = [
                "systemd-run",
                "--scope",
                "--quiet",
                "-p",
                "CPUQuota=25%",
                "-p",
                f"CPUWeight={WEIGHT_V2}",
                "--",
            ]
            self.how = f"systemd-run --scope -p CPUQuota=25% -p CPUWeight={WEIGHT_V2}"
        else:
            raise RuntimeError(
                "cannot limit the CPU: no writable cgroup cpu controller (run as root) and no "
                f"systemd; {'; '.join(errors) or 'no cgroup cpu controller mounted'}"
            )
        return self

    def throttling(self) -> dict[str, float]:
        """``nr_periods``, ``nr_throttled`` and ``throttled_ms`` so far (empty without a
        cgroup of our own)."""
        if self.path is None:
            return {}
        stats: dict[str, float] = {}
        for line in _read(self.path / "cpu.stat").splitlines():
            key, _, value = line.partition(" ")
            if value.strip().isdigit():
                stats[key] = float(value)
        if "throttled_time" in stats:  # v1: ns
            stats["throttled_ms"] = stats["throttled_time"] / 1e6
        elif "throttled_usec" in stats:  # v2
            stats["throttled_ms"] = stats["throttled_usec"] / 1e3
        return stats

    def __exit__(self, *exc: object) -> None:
        self._remove()

    def _remove(self) -> None:
        path, self.path = self.path, None
        if path is None:
            return
        for _ in range(50):  # the appliance's exit empties the group a moment later
            try:
                path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)  # waiting for the kernel to reap the group's last task


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# --- what reaches the sink -------------------------------------------------------------------


def _sink_recorder() -> Recorder:
    """``parec`` on ``appliance_out.monitor`` (mono, 48 kHz) of the server this process's
    environment names."""
    return Recorder(None, "appliance_out.monitor", RATE)


def _loud_now(recorder: Recorder, window_s: float = 0.03) -> bool:
    """The last ``window_s`` recorded hold sound throughout (the voice, not a pause)."""
    x = recorder.samples()[-round(window_s * RATE) :]
    return len(x) > 0 and bool(np.all(_envelope(x) > 0.01))


def _envelope(x: np.ndarray, window_s: float = 0.005) -> np.ndarray:
    win = max(1, round(window_s * RATE))
    return np.sqrt(np.convolve(np.square(x), np.ones(win) / win, mode="same"))


# --- the appliance's state, from its event stream ----------------------------------------------


class States:
    """The appliance's state changes (the control socket's ``events``), with arrival times."""

    def __init__(self, socket: Path) -> None:
        self.changes: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._follow, args=(socket,), daemon=True)
        self._thread.start()

    def _follow(self, socket: Path) -> None:
        with contextlib.suppress(ControlClientError, OSError, ValueError):
            for event in stream(socket, {"cmd": "events"}):
                if event.get("type") == "state":
                    with self._changed:
                        self.changes.append((time.perf_counter(), str(event.get("state"))))
                        self._changed.notify_all()

    @property
    def now(self) -> str:
        with self._changed:
            return self.changes[-1][1] if self.changes else ""

    def wait(self, *names: str, after: float = 0.0, timeout: float = 30.0) -> float:
        """The time of the first change to one of ``names`` at or after ``after``."""

        def found() -> float | None:
            return next((t for t, s in self.changes if s in names and t >= after), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout):
                raise RuntimeError(f"state {'/'.join(names)} not reached (now {self.now!r})")
            result = found()
            assert result is not None
            return result

    def spans(self, name: str, end: float) -> list[tuple[float, float]]:
        """The ``[start, end)`` stretches spent in state ``name``."""
        with self._changed:
            changes = list(self.changes)
        out = []
        for (at, state), following in zip(changes, [*changes[1:], (end, "")], strict=True):
            if state == name:
                out.append((at, following[0]))
        return out


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Session:
    """What happened, for the rows."""

    began: float = 0.0
    ended: float = 0.0
    presses: list[float] = field(default_factory=list)  # the press sent
    speech_cuts: int = 0
    answers: int = 0  # answers played to their end
    lost: list[str] = field(default_factory=list)  # rounds that went wrong, and why
    connected: dict[str, int] = field(default_factory=dict)  # display stats once first listening
    throttled_connected: dict[str, float] = field(default_factory=dict)  # cpu.stat then
    wake_starts: int = 0  # sessions started by the wake word
    idle_cpu: float | None = None  # % of one core while idle, listening for the wake word


def run(quick: bool) -> list[Row]:
    seconds = 60.0 if quick else 300.0
    with Rig(answer_seconds=6.0) as rig:
        if rig.audio != "pyaudio":
            raise RuntimeError("the Pi budget run needs PyAudio on the virtual sound server")
        interruption = _interruption(rig.work / "stop.wav")
        word = _wake_word(rig.work / "word.wav")
        with CpuLimit() as limit:
            recorder = _sink_recorder()
            try:
                with Kiosk(
                    rig, SIZE, cues=False, prefix=limit.prefix, wake=word is not None
                ) as kiosk:
                    kiosk.first_frame(timeout=60)
                    kiosk.wait_ready(timeout=60)
                    kiosk.check_x11()
                    idle_cpu = None
                    if word is not None:
                        idle_cpu = _idle_listening(kiosk, IDLE_QUICK_S if quick else IDLE_S)
                    throttled_before = limit.throttling()
                    cpu0 = cpu_seconds(kiosk.pid)
                    states = States(kiosk.socket)
                    before = kiosk.ctl("status")["display"]
                    session = _session(
                        kiosk, states, recorder, interruption, seconds, limit.throttling, word
                    )
                    session.idle_cpu = idle_cpu
                    cpu = cpu_seconds(kiosk.pid) - cpu0
                    after = kiosk.ctl("status")["display"]
                    paced = {
                        "due": after["due"] - session.connected["due"],
                        "late": after["late"] - session.connected["late"],
                        "late_connecting": session.connected["late"] - before["late"],
                    }
                    # from the first session up; those of its connect are said beside
                    up = session.throttled_connected or throttled_before
                    throttled = {k: v - up.get(k, 0.0) for k, v in limit.throttling().items()}
                    if throttled:  # a cgroup of our own (not systemd-run's scope)
                        throttled["connect_throttled"] = up.get("nr_throttled", 0.0) - (
                            throttled_before.get("nr_throttled", 0.0)
                        )
                    kiosk.ctl("stop")
                    if word is not None:
                        kiosk.ctl("mute")  # the streams stay open for the word until muted
                    states.wait("idle", after=session.ended, timeout=30)
                    log = _wait_for_close(kiosk)
                    frames = kiosk.watcher.frames(session.began, session.ended)
            finally:
                recorder.stop()
            return _rows(
                session, states, recorder, frames, paced, log, cpu, throttled, limit.how, rig.where
            )


def _session(
    kiosk: Kiosk,
    states: States,
    recorder: Recorder,
    interruption: Path,
    seconds: float,
    throttling: Callable[[], dict[str, float]] = dict,
    word: Path | None = None,
) -> Session:
    rng = np.random.default_rng(7)
    session = Session(began=time.perf_counter())
    deadline = session.began + seconds
    _start(kiosk, word, session)
    states.wait("listening", after=session.began)
    # the first connect loads the session's libraries (HTTP client, canceller, PortAudio):
    # frames late until here are start-up's, the rest the session's
    session.connected = kiosk.ctl("status")["display"]
    session.throttled_connected = throttling()
    round_ = 0
    while time.perf_counter() < deadline:
        round_ += 1
        asked = time.perf_counter()
        if word is not None and round_ % WAKE_EVERY == 0 and states.now == "listening":
            kiosk.ctl("stop")  # the next session is the wake word's
            try:
                states.wait("idle", after=asked)
            except RuntimeError as exc:
                session.lost.append(f"round {round_}: stop: {exc}")
            asked = time.perf_counter()
        if states.now != "listening":
            _start(kiosk, word, session)
            try:
                states.wait("listening", after=asked)
            except RuntimeError as exc:
                session.lost.append(f"round {round_}: start: {exc}")
                continue
        kiosk.ctl("say", text="Tell me about this room.", role="user")
        try:
            speaking = states.wait("speaking", after=asked)
        except RuntimeError as exc:
            session.lost.append(f"round {round_}: {exc}")
            continue
        _until(time.perf_counter() + rng.uniform(1.0, 2.5))
        if round_ % 2:
            # a press while the voice is sounding (not in a pause between words)
            _until(time.perf_counter() + 2.0, lambda: _loud_now(recorder))
            session.presses.append(time.perf_counter())
            kiosk.ctl("press")
            try:
                states.wait("listening", after=speaking)
            except RuntimeError as exc:
                session.lost.append(f"round {round_}: press: {exc}")
        else:
            # talking over the model (the microphone streams, echo cancelled): speech_started
            # interrupts it, and the model answers what was said, to the end
            subprocess.run(
                ["paplay", "--device=appliance_mic", str(interruption)], check=True, timeout=30
            )
            try:
                heard = states.wait("listening", after=speaking)
                again = states.wait("speaking", after=heard, timeout=15)
                states.wait("listening", after=again, timeout=30)
                session.speech_cuts += 1
                session.answers += 1
            except RuntimeError as exc:
                session.lost.append(f"round {round_}: speech: {exc}")
        _until(time.perf_counter() + 0.5)  # the device plays out what it holds
    session.ended = time.perf_counter()
    return session


def _start(kiosk: Kiosk, word: Path | None, session: Session) -> None:
    """Start a session: by the wake word into the microphone when it is on, else a press."""
    if word is None or kiosk.ctl("status")["state"] not in ("idle", "error"):
        kiosk.ctl("start")
        return
    subprocess.run(["paplay", "--device=appliance_mic", str(word)], check=True, timeout=30)
    session.wake_starts += 1


def _wake_word(path: Path) -> Path | None:
    """ "Okay Nabu" (espeak-ng), or None when the wake word cannot be on here (no
    pymicro-wakeword or no espeak-ng): the run is then the one without it."""
    import importlib.util

    if importlib.util.find_spec("pymicro_wakeword") is None:
        return None
    from appliance.rig.speech import espeak

    said = espeak("Okay Nabu", voice="en-us", rate=RATE, level_dbfs=-20.0)
    if said is None:
        return None
    from appliance.rig.speech import write_float_wav

    pad = np.zeros(RATE // 4, np.float32)
    return write_float_wav(path, np.concatenate([pad, said, pad]), RATE)


def _idle_listening(kiosk: Kiosk, seconds: float) -> float:
    """The appliance's CPU (% of one core) while idle, listening for the wake word."""
    if not poll_until(lambda: kiosk.ctl("status").get("wake"), 30):
        raise kiosk.failed("the wake word was never listened for")
    time.sleep(1.0)  # the streams settle
    cpu0, t0 = cpu_seconds(kiosk.pid), time.perf_counter()
    time.sleep(seconds)
    return 100 * (cpu_seconds(kiosk.pid) - cpu0) / (time.perf_counter() - t0)


def _interruption(path: Path) -> Path:
    """What the user says over the model: a spoken phrase (espeak-ng). The synthetic voice of
    the live bench is the simulator's own kind of voice, which the echo canceller's guard
    rightly takes for the played voice coming back; without espeak-ng it is used anyway (at
    another pitch) and speech barge-ins may not happen (the rounds say so)."""
    if espeak_file(path, "wait, stop, I have a question") is not None:
        return path
    from appliance.audio.wav import write_wav

    rate = 44_100
    t = np.arange(rate) / rate
    voiced = sum(np.sin(2 * np.pi * 230 * k * t) / k for k in range(1, 6))
    speech = 0.2 * voiced * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    write_wav(path, (np.clip(speech, -1, 1) * 32767).astype(np.int16), rate)
    return path


def _until(deadline: float, done: Callable[[], bool] | None = None) -> None:
    """Pace the scenario: return at ``deadline``, or sooner once ``done()`` (checked every
    10 ms). The waits are the scenario's timing (how long the model talks), not
    synchronisation."""
    while time.perf_counter() < deadline:
        if done is not None and done():
            return
        time.sleep(min(0.01, max(0.0, deadline - time.perf_counter())))


_CLOSED = re.compile(
    r"audio: closed; (\d+) output underruns \((\d+) while playing\), (\d+) input overruns, "
    r"(\d+) barge-in flushes"
)


def _wait_for_close(kiosk: Kiosk, timeout: float = 30.0) -> str:
    """The appliance's log once its audio streams have closed (the line with their counts)."""
    poll_until(lambda: _CLOSED.search(kiosk.log()) or not kiosk.alive(), timeout, 0.05)
    log = kiosk.log()
    if not _CLOSED.search(log):
        raise kiosk.failed("the audio streams did not close (no 'audio: closed' line)")
    return log


def audible_spans(x: np.ndarray, origin: float) -> list[tuple[float, float]]:
    """The stretches where the sink's output is audible (10 ms envelope over -40 dBFS), as
    ``perf_counter`` spans."""
    loud = _envelope(x, 0.01) > 0.01
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    spans = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start >= RATE // 20:  # 50 ms or more: a syllable, not a click
            spans.append((origin + start / RATE, origin + end / RATE))
    return spans


_BARGE_IN = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO appliance: barge-in: ", re.MULTILINE
)


def barge_ins(log: str, presses: list[float]) -> list[float]:
    """Per press: ms from the press to the appliance's barge-in log line (written once the
    output device was flushed). Log times are wall-clock with 1 ms steps: the middle of the
    step is taken, on ``time.perf_counter`` through this process's offset between the two."""
    offset = time.time() - time.perf_counter()
    logged = sorted(
        datetime.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp() + 0.0005 - offset
        for match in _BARGE_IN.finditer(log)
    )
    out = []
    for pressed in presses:
        after = next((t for t in logged if pressed - 0.001 <= t <= pressed + 2.0), None)
        if after is not None:
            out.append(max(0.0, after - pressed) * 1000)
    return out


def silent_after(x: np.ndarray, origin: float, presses: list[float], within_s: float) -> int:
    """How many presses were followed by silence at the sink within ``within_s`` (for 300 ms
    after that; the next round's answer comes 0.5 s after the press at the earliest), from the
    recording."""
    count = 0
    for pressed in presses:
        i = round((pressed + within_s - origin) * RATE)
        window = x[max(0, i) : i + RATE * 3 // 10]
        if len(window) and not np.any(np.abs(window) > SILENT):
            count += 1
    return count


def _rows(
    session: Session,
    states: States,
    recorder: Recorder,
    frames: list[tuple[float, int]],
    paced: dict[str, int],
    log: str,
    cpu: float,
    throttled: dict[str, float],
    how: str,
    where: str,
) -> list[Row]:
    wall = session.ended - session.began
    setup = (
        f"real `appliance run` {SIZE[0]}x{SIZE[1]} window on Xvfb, {where}, default audio "
        f"settings, {wall / 60:.1f} min session; limited to a quarter of a core ({how})"
    )
    under = playing = over = flushes = 0
    for match in _CLOSED.finditer(log):
        under += int(match[1])
        playing += int(match[2])
        over += int(match[3])
        flushes += int(match[4])
    x = recorder.samples()
    origin = recorder.origin()
    audible = [
        (max(a, session.began), min(b, session.ended))
        for a, b in audible_spans(x, origin)
        if b > session.began and a < session.ended
    ]
    speaking = states.spans("speaking", session.ended)
    arrivals = np.array([at for at, _ in frames])

    def frames_in(spans: list[tuple[float, float]]) -> tuple[float, float, list[float]]:
        count = sum(int(np.count_nonzero((arrivals >= a) & (arrivals < b))) for a, b in spans)
        seconds = sum(b - a for a, b in spans)
        gaps: list[float] = []
        for a, b in spans:
            inside = arrivals[(arrivals >= a) & (arrivals < b)]
            gaps += [float(d) * 1000 for d in np.diff(inside)]
        return count, seconds, gaps

    loud_frames, loud_s, loud_gaps = frames_in(audible)
    all_frames, speaking_s, _ = frames_in(speaking)
    cuts = barge_ins(log, session.presses)
    silenced = silent_after(x, origin, session.presses, 0.1)
    rows = [
        row(
            "pibudget",
            "output underruns + input overruns",
            float(under + over),
            "count",
            f"PortAudio status flags as the appliance logged them when its streams closed: "
            f"{under} output underruns ({playing} while an answer played, the rest in "
            f"silence), {over} input overruns; {flushes} barge-in flushes; goal 0; {setup}",
        ),
        row(
            "pibudget",
            "output underruns while an answer played",
            float(playing),
            "count",
            f"of the output underruns above, those next to a block of an answer (a gap in the "
            f"voice); the others fell in silence, e.g. while the streams start; {setup}",
        ),
        row(
            "pibudget",
            "display frames late",
            float(paced["late"]),
            "count",
            f"of {paced['due']} loop turns at which a frame was due (the avatar moving, the "
            f"spinner turning; display.fps 30) once the first session was up, those that began "
            f"a frame period (33 ms) or more after it was due: frames the loop could not keep up "
            f"with; as the appliance's status counts them; goal 0 (every frame due at 30 fps "
            f"drawn on time); besides, {paced['late_connecting']} late while the first session "
            f"connected (loading its libraries: the HTTP client, the echo canceller, PortAudio); "
            f"{setup}",
        ),
        row(
            "pibudget",
            "fps presented while the voice is audible",
            loud_frames / loud_s if loud_s else 0.0,
            "fps",
            f"frames presented into the window (X DAMAGE) while the answer is audible at the "
            f"sink ({loud_s:.0f} s in stretches of 50 ms or more), display.fps 30; a frame in "
            f"which the avatar keeps its size in pixels is not drawn, so this stays under 30 "
            f"when every frame is on time (see 'display frames late'); {setup}",
        ),
    ]
    if loud_gaps:
        rows.append(
            row(
                "pibudget",
                "frame interval p95 while audible",
                float(np.percentile(loud_gaps, 95)),
                "ms",
                f"gaps between those frames (arrival at the bench); 33.3 ms is on time; {setup}",
                loud_gaps,
                digits=1,
            )
        )
    rows.append(
        row(
            "pibudget",
            "fps while speaking (pauses included)",
            all_frames / speaking_s if speaking_s else 0.0,
            "fps",
            f"the same over the whole 'speaking' state ({speaking_s:.0f} s), the pauses between "
            f"words included, when the avatar rests and no frame is due; {setup}",
        )
    )
    if cuts:
        note = (
            f"a press sent on the control socket -> the answer ends at the DAC: the "
            f"appliance's barge-in log line, written once the playback was cleared and the "
            f"output device flushed (1 ms steps); {len(cuts)} of {len(session.presses)} presses; "
            f"the sink (recorded) was silent within 100 ms after {silenced} of them; goal <= 2 "
            f"blocks ({2 * BLOCK_MS} ms); {setup}"
        )
        rows += [
            row(
                "pibudget",
                "barge-in (press -> answer ends at DAC) p50",
                float(np.median(cuts)),
                "ms",
                note,
                cuts,
                digits=1,
            ),
            row(
                "pibudget",
                "barge-in (press -> answer ends at DAC) p95",
                float(np.percentile(cuts, 95)),
                "ms",
                note,
                digits=1,
            ),
        ]
    rows.append(
        row(
            "pibudget",
            "CPU appliance",
            100 * cpu / wall,
            "%",
            f"the whole appliance process (all threads), /proc utime+stime over the session; "
            f"100 = one core, the limit is 25; {setup}",
            digits=1,
        )
    )
    if throttled:
        periods = throttled.get("nr_periods", 0.0)
        rows.append(
            row(
                "pibudget",
                "periods throttled",
                100 * throttled.get("nr_throttled", 0.0) / periods if periods else 0.0,
                "%",
                f"{throttled.get('nr_throttled', 0):.0f} of {periods:.0f} CFS periods of "
                f"{PERIOD_US // 1000} ms ran out of quota once the first session was up, "
                f"{throttled.get('throttled_ms', 0):.0f} ms throttled in all (the cgroup's "
                f"cpu.stat); besides, {throttled.get('connect_throttled', 0):.0f} while the "
                f"first session connected (loading its libraries); {setup}",
                digits=2,
            )
        )
    if session.idle_cpu is not None:
        rows.append(
            row(
                "pibudget",
                "CPU idle, listening for the wake word",
                session.idle_cpu,
                "%",
                "the whole appliance process while idle with [wake] on (okay_nabu): the "
                "microphone's stream alone, the detector on every block; 100 = one core; "
                f"goal <= 3; {setup}",
                digits=1,
            )
        )
    rows.append(
        row(
            "pibudget",
            "rounds",
            float(len(session.presses) + session.speech_cuts),
            "count",
            f"{len(session.presses)} press and {session.speech_cuts} speech barge-ins, "
            f"{session.answers} answers played to the end; {session.wake_starts} sessions "
            f"started by the wake word"
            + (f"; went wrong: {'; '.join(session.lost)}" if session.lost else "")
            + f"; {setup}",
        )
    )
    return rows


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
