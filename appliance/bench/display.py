"""Display benchmark: the real ``appliance run`` window on an X server, idle and speaking.

For each size (800x480, the 7-inch panel; 1280x720; 1920x1080, a TV) the real
``appliance run --config CONFIG`` is spawned in window mode (``display.size``, 30 fps) on a
private Xvfb display (SDL's x11 driver), talking to the simulator, with its audio on PyAudio on
the virtual sound server (WAV files when there is none). Then:

* idle: the appliance not started, the idle screen shown;
* speaking: a session started and the model answering out loud (``say``), so the avatar
  scales with the audio being played; the simulator's voice pauses between words, and the
  avatar comes to rest in those pauses like it would with a real voice;
* at 800x480 once more with ``display.sleep_after_s = 1`` and ``dim_s = 1``, idle, once the
  screen has gone dark (``800x480 dark``): no frames, and the CPU of input polling alone (on
  Xvfb, which has no DPMS, the screen is drawn black once);
* at 1280x720 once more with ``display.fps = 60``, speaking (``1280x720 speaking 60 fps``):
  the avatar moving at 60 frames per second, the case the goal "under a quarter of a core"
  is about.

In each phase, measured from outside the appliance:

* ``fps presented``: frames that reached the window, counted by the X server (one DAMAGE event
  per frame put into the window), per second, over the whole phase. The appliance presents a
  frame only when a pixel changes (the avatar's size, not just the meter's value), so while
  the voice is quiet between words fewer frames than ``display.fps`` come, by design;
* ``frame interval p95`` (speaking): the 95th percentile of the gaps between frames (X server
  timestamps, 1 ms resolution): stutter shows here, not in the mean, and so do the moments
  the avatar kept its size (no frame to present);
* ``CPU appliance`` and ``CPU Xvfb``: utime + stime from ``/proc/PID/stat`` (all threads) over
  the phase's wall-clock time, in % of one core. The appliance's figure is the whole process:
  drawing, the worker (websocket, JSON, base64) and, while speaking, the audio streams. Xvfb's
  is the X server's share of presenting (copying each frame into its framebuffer), which a
  kiosk on KMSDRM does not have and a desktop's compositor has in its own way.

The per-second values are kept as ``samples``. Compare figures within one run: these machines
are shared.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from appliance.bench import Row, row
from appliance.bench._kiosk import Kiosk, Rig
from appliance.rig.process import CLOCK_TICKS, CpuMeter, cpu_seconds

SIZES = ((800, 480), (1280, 720), (1920, 1080))
FPS = 30
DARK = (800, 480)  # the screen asleep, dark
DARK_WAIT_S = 10.0
FAST = ((1280, 720), 60)  # the avatar moving at 60 fps: goal under 25 % of a core


@dataclass
class Phase:
    """What one measuring window saw."""

    seconds: float
    frames: int
    fps: list[float]  # per second
    cpu_app: list[float]  # % of one core, per second
    cpu_x: list[float]
    cpu_app_total: float  # over the whole window
    cpu_x_total: float
    intervals_ms: list[float]  # between consecutive frames (X server timestamps)


def measure(kiosk: Kiosk, xvfb_pid: int, seconds: float) -> Phase:
    """Count frames and CPU for ``seconds``, in one-second steps."""
    watcher = kiosk.watcher
    whole = CpuMeter(app=kiosk.pid, x=xvfb_pid)
    start = whole.started
    fps: list[float] = []
    cpu_app: list[float] = []
    cpu_x: list[float] = []
    step_start, step_app, step_x = start, cpu_seconds(kiosk.pid), cpu_seconds(xvfb_pid)
    steps = max(1, round(seconds))
    for i in range(1, steps + 1):
        time.sleep(max(0.0, start + i * seconds / steps - time.perf_counter()))
        now, app, x = time.perf_counter(), cpu_seconds(kiosk.pid), cpu_seconds(xvfb_pid)
        wall = now - step_start
        fps.append(len(watcher.frames(step_start, now)) / wall)
        cpu_app.append(100 * (app - step_app) / wall)
        cpu_x.append(100 * (x - step_x) / wall)
        step_start, step_app, step_x = now, app, x
    total, wall = whole.percent()
    frames = watcher.frames(start, start + wall)
    stamps = np.array([server_ms for _, server_ms in frames], dtype=np.int64)
    return Phase(
        seconds=wall,
        frames=len(frames),
        fps=fps,
        cpu_app=cpu_app,
        cpu_x=cpu_x,
        cpu_app_total=total["app"],
        cpu_x_total=total["x"],
        intervals_ms=[float(d) for d in np.diff(stamps)],
    )


def run(quick: bool) -> list[Row]:
    idle_s = 2.0 if quick else 5.0
    speak_s = 3.0 if quick else 8.0
    dark_s = 4.0 if quick else 10.0
    rows: list[Row] = []
    # the answer outlasts the measuring window (with room for the start of the session)
    with Rig(answer_seconds=speak_s + 6) as rig:
        for size in SIZES:
            with Kiosk(rig, size, fps=FPS) as kiosk:
                _start(kiosk)
                idle = measure(kiosk, rig.xvfb_pid, idle_s)
                speaking = _speaking(kiosk, rig.xvfb_pid, speak_s)
            rows += _rows(size, idle, speaking, rig.where)
        with Kiosk(rig, DARK, fps=FPS, display={"sleep_after_s": 1, "dim_s": 1}) as kiosk:
            _start(kiosk)
            _wait_dark(kiosk)
            dark = measure(kiosk, rig.xvfb_pid, dark_s)
        rows += _rows(DARK, dark, None, rig.where, label="dark")
        size, fps = FAST
        with Kiosk(rig, size, fps=fps) as kiosk:
            _start(kiosk)
            fast = _speaking(kiosk, rig.xvfb_pid, speak_s)
        rows += _rows(size, None, fast, rig.where, fps=fps)
    return rows


def _start(kiosk: Kiosk) -> None:
    kiosk.first_frame()
    kiosk.wait_ready()
    kiosk.check_x11()
    time.sleep(1.0)  # let the start-up settle (first status, key prefetch)


def _wait_dark(kiosk: Kiosk) -> None:
    deadline = time.monotonic() + DARK_WAIT_S
    while kiosk.ctl("status").get("display", {}).get("power") != "dark":
        if time.monotonic() > deadline:
            raise kiosk.failed("the screen did not go dark")
        time.sleep(0.1)  # polling the status, not synchronisation


def _speaking(kiosk: Kiosk, xvfb_pid: int, seconds: float) -> Phase:
    kiosk.speak()
    time.sleep(0.5)  # the first words: the avatar is moving
    speaking = measure(kiosk, xvfb_pid, seconds)
    status = kiosk.ctl("status")
    if status.get("state") != "speaking":
        raise kiosk.failed(f"the answer ended early (state {status.get('state')})")
    return speaking


def _rows(
    size: tuple[int, int],
    idle: Phase | None,
    speaking: Phase | None,
    where: str,
    fps: int = FPS,
    label: str = "idle",
) -> list[Row]:
    window = f"{size[0]}x{size[1]}"
    setup = "real `appliance run` window on Xvfb (SDL x11)"
    notes: dict[str, str] = {}
    phases: list[tuple[str, Phase]] = []
    if idle is not None:
        notes["idle"] = f"idle screen, not started; {idle.seconds:.0f} s"
        notes["dark"] = (
            f"idle screen asleep and dark (drawn black: Xvfb has no DPMS); {idle.seconds:.0f} s"
        )
        phases.append((label, idle))
    if speaking is not None:
        notes["speaking"] = (
            f"avatar following the spoken answer ({where}), word pauses included; "
            f"{speaking.seconds:.0f} s"
        )
        phases.append(("speaking", speaking))
    suffix = "" if fps == FPS else f" {fps} fps"
    tick = f"CPU time is counted in steps of {1000 / CLOCK_TICKS:g} ms"
    rows: list[Row] = []
    for label, phase in phases:
        note = notes[label]
        name = f"{window} {label}{suffix}"
        rows.append(
            row(
                "display",
                f"{name}: fps presented",
                phase.frames / phase.seconds,
                "fps",
                f"frames put into the {setup}, counted by the X server (DAMAGE events), "
                f"display.fps {fps}; {note}; samples: per second",
                phase.fps,
                digits=2,
            )
        )
        if label == "speaking" and phase.intervals_ms:
            rows.append(
                row(
                    "display",
                    f"{name}: frame interval p95",
                    float(np.percentile(phase.intervals_ms, 95)),
                    "ms",
                    f"gaps between those frames (X server timestamps, 1 ms steps; "
                    f"{1000 / fps:.1f} ms is on time); {note}",
                    phase.intervals_ms,
                    digits=1,
                )
            )
        rows.append(
            row(
                "display",
                f"{name}: CPU appliance",
                phase.cpu_app_total,
                "%",
                "the whole appliance process, all threads (drawing, worker, audio), from "
                f"/proc utime+stime; 100 = one core; {note}; samples: per second ({tick})",
                phase.cpu_app,
                digits=2,
            )
        )
        rows.append(
            row(
                "display",
                f"{name}: CPU Xvfb",
                phase.cpu_x_total,
                "%",
                "the X server process (copying the frames into its framebuffer), from /proc; "
                f"100 = one core; {note}; samples: per second ({tick})",
                phase.cpu_x,
                digits=2,
            )
        )
    return rows


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
