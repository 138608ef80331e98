"""Display benchmark: frame rate and CPU while the avatar moves, idle CPU, start-up, memory.

Runs the real :class:`~appliance.display.DisplayLoop` on SDL's dummy video driver (no screen
needed) in a child process, so SDL's global state and the memory figures belong to the display
alone. On a Pi with a panel, run it with ``SDL_VIDEODRIVER=kmsdrm`` to include the real flip.

Rows:

* ``avatar max fps`` at 800x480 and 1920x1080: frames drawn as fast as possible with a moving
  avatar (the scale follows a 2.3 Hz sine, as a voice would);
* ``CPU animating`` at the configured 30 fps (% of one core, whole process);
* ``CPU idle``: the loop sleeping on an unchanging screen;
* ``start to first frame``: from spawning ``python`` to the first frame drawn;
* ``RSS``: resident memory of that process after the runs.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time

from appliance.bench import Row

SIZES = ((800, 480), (1920, 1080))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SDL_VIDEODRIVER", "dummy")
    env["SDL_AUDIODRIVER"] = "dummy"
    env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
    return env


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(quick: bool) -> list[Row]:
    """The in-process measurements (run in the child)."""
    from appliance.config import AppConfig, DisplayConfig
    from appliance.display import DisplayLoop
    from appliance.hub import Hub
    from appliance.state import Phase, View

    seconds = 1.0 if quick else 3.0
    rows: list[Row] = []
    for size in SIZES:
        note = f"{size[0]}x{size[1]}, SDL {os.environ.get('SDL_VIDEODRIVER', 'auto')}"
        hub = Hub()
        config = AppConfig(display=DisplayConfig(mode="window", size=size, fps=30))
        loop = DisplayLoop(hub, config)
        hub.publish(View(phase=Phase.LIVE, speaking=True))

        def scale(t: float) -> float:
            return 1.0 + 0.75 * (1.0 + math.sin(2 * math.pi * 2.3 * t))

        # as fast as possible
        start, cpu, frames = time.monotonic(), time.process_time(), 0
        while (now := time.monotonic()) - start < seconds:
            hub.analyser.scale = scale(now - start)
            frames += loop.draw(hub.view, now, force=True)
        wall = time.monotonic() - start
        rows.append(
            {"area": "display", "name": "avatar max fps", "value": round(frames / wall, 1),
             "unit": "fps", "note": note}
        )  # fmt: skip

        # paced by the loop at 30 fps
        start, cpu, frames0 = time.monotonic(), time.process_time(), loop.frames
        while (now := time.monotonic()) - start < seconds:
            hub.analyser.scale = scale(now - start)
            loop.step()
        wall = time.monotonic() - start
        rows.append(
            {"area": "display", "name": "CPU animating", "unit": "%", "note": f"{note}, "
             f"{(loop.frames - frames0) / wall:.0f} fps drawn at fps=30",
             "value": round(100 * (time.process_time() - cpu) / wall, 1)}
        )  # fmt: skip

        if size == SIZES[0]:
            hub.analyser.scale = 1.0
            hub.publish(View())
            for _ in range(40):  # let the smoothing settle and the idle frame be drawn
                loop.step()
            start, cpu = time.monotonic(), time.process_time()
            while time.monotonic() - start < seconds:
                loop.step()
            wall = time.monotonic() - start
            rows.append(
                {"area": "display", "name": "CPU idle", "unit": "%", "note": note,
                 "value": round(100 * (time.process_time() - cpu) / wall, 2)}
            )  # fmt: skip
        loop.close()
    rows.append(
        {"area": "display", "name": "RSS", "value": round(_rss_mib(), 1), "unit": "MiB",
         "note": "display process after the runs (peak "
         f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"}
    )  # fmt: skip
    return rows


_FIRST_FRAME = """
import sys
from appliance.config import AppConfig, DisplayConfig
from appliance.display import DisplayLoop
from appliance.hub import Hub
import time
loop = DisplayLoop(Hub(), AppConfig(display=DisplayConfig(mode="window", size=(800, 480))))
loop.draw(loop.hub.view, time.monotonic(), force=True)
sys.stdout.write("frame\\n")
sys.stdout.flush()
"""


def first_frame_ms() -> float:
    """Milliseconds from spawning the interpreter to its first frame."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", _FIRST_FRAME],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_child_env(),
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = (time.monotonic() - start) * 1000
    proc.wait(30)
    if line.strip() != "frame":
        raise RuntimeError("the display did not draw a first frame")
    return elapsed


def run(quick: bool) -> list[Row]:
    """Run the display benchmarks (``quick``: 1 s per measurement instead of 3 s)."""
    proc = subprocess.run(
        [sys.executable, "-m", "appliance.bench.display", "--child", "quick" if quick else "full"],
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"display bench failed: {proc.stderr.strip()[-500:]}")
    rows: list[Row] = json.loads(proc.stdout.strip().splitlines()[-1])
    rows.append(
        {"area": "display", "name": "start to first frame", "unit": "ms",
         "value": round(first_frame_ms()), "note": "python start, imports, 800x480, dummy driver"}
    )  # fmt: skip
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(measure(sys.argv[2:3] == ["quick"])))
    else:
        for row in run("--quick" in sys.argv):
            print(f"{row['name']:<22} {row['value']:>8} {row['unit']:<4} {row.get('note', '')}")
