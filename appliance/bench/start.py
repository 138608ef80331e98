"""Start-up as a user sees it: from spawning ``appliance run`` to its first frame on the screen.

The real ``appliance run --config CONFIG`` (window mode, 800x480, idle: no auto start; audio
and simulator configured as in :mod:`appliance.bench.display`) is spawned on a private Xvfb
display, five times. Measured from outside, through the X server:

* ``spawn -> window mapped``: the appliance's window becomes viewable on the display;
* ``spawn -> first frame on screen``: the first frame presented into the window after which
  more than half of its pixels are not black (the idle screen). The pixels are read on every
  frame the X server reports (DAMAGE), so the time is the arrival of that frame's event.

Both include the interpreter's start, the imports, loading the config, the worker thread,
SDL opening its X11 window and drawing the idle screen. The page cache is warm (the same
files were just read), as on a kiosk restarted by systemd; a cold boot reads them from disk.
"""

from __future__ import annotations

import statistics
import sys

from appliance.bench import Row, row
from appliance.bench._kiosk import Kiosk, Rig

SIZE = (800, 480)
RUNS = 5


def run(quick: bool) -> list[Row]:
    mapped: list[float] = []
    drawn: list[float] = []
    with Rig() as rig:
        for _ in range(RUNS):
            wait_no_window(rig)
            with Kiosk(rig, SIZE) as kiosk:
                window_s, frame_s = kiosk.first_frame()
                kiosk.check_x11()
            mapped.append(window_s * 1000)
            drawn.append(frame_s * 1000)
        where = rig.where
    note = (
        f"real `appliance run`, window {SIZE[0]}x{SIZE[1]} on Xvfb (SDL x11), idle, {where}; "
        f"median of {RUNS} runs; page cache warm"
    )
    return [
        row(
            "start",
            "spawn -> first frame on screen",
            statistics.median(drawn),
            "ms",
            "includes interpreter start, imports, config, worker thread, SDL window, first idle "
            "screen presented; seen from outside (X DAMAGE event, then >50% of the window's "
            f"pixels non-black). {note} (min {min(drawn):.0f}, max {max(drawn):.0f})",
            drawn,
            digits=1,
        ),
        row(
            "start",
            "spawn -> window mapped",
            statistics.median(mapped),
            "ms",
            f"until the window is viewable on the X display (nothing drawn yet). {note} "
            f"(min {min(mapped):.0f}, max {max(mapped):.0f})",
            mapped,
            digits=1,
        ),
    ]


def wait_no_window(rig: Rig, timeout: float = 10.0, size: tuple[int, int] = SIZE) -> None:
    """Wait until the previous run's window (of ``size``) is gone from the display."""
    from appliance.rig.process import wait_for
    from appliance.rig.xdisplay import XWatcher

    watcher = XWatcher(rig.display)
    try:
        if not wait_for(lambda: not watcher.viewable_windows(size), timeout, interval=0.02):
            raise RuntimeError("a window of an earlier run is still on the display")
    finally:
        watcher.close()


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
