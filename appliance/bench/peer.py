"""The appliance beside a browser kiosk, measured on one machine in one run.

The browser kiosk: Chromium (apt) showing Deep Chat's OpenAI Realtime view (the ``deep-chat``
npm package) from a local page, in an app window of the appliance's size, both installed into
the bench's cache when missing (:mod:`appliance.rig.browser`). The appliance: the real
``appliance run`` in window mode against the simulator (:mod:`appliance.bench._kiosk`, as in
the ``start`` and ``memory`` areas). Both on the same Xvfb display, at 800x480, idle (not
started), one after the other: a warm-up run of each (not counted: the page cache and the
browser's profile warm, as on a kiosk restarted), then :data:`RUNS` rounds of the appliance
then the browser.

Per run:

* spawn -> first frame on screen. The appliance: as in the ``start`` area (the first frame
  after which more than half of the window is not black: its idle screen, drawn whole).
  The browser paints in steps (a blank page, then the view): its window's pixels are read on
  every frame until no frame has come for 1.5 s, and the time is that of the first frame
  that already showed what stayed on the screen
  (:meth:`~appliance.rig.xdisplay.XWatcher.follow_settled`);
* PSS of all its processes (the appliance is one; Chromium a browser, a zygote, a GPU, a
  network, a storage and a renderer process...), summed from ``/proc/PID/smaps_rollup`` over
  the process tree after :data:`SETTLE_S`;
* idle CPU: the CPU time of the whole tree over :data:`IDLE_S` (``--quick``:
  :data:`QUICK_IDLE_S`), as a share of one core. The X server's own share is not included.

The medians are reported, with the samples.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass

from appliance.bench import Row, row
from appliance.bench._kiosk import Kiosk, Rig
from appliance.bench.start import wait_no_window
from appliance.rig.browser import (
    DEEP_CHAT_VERSION,
    BrowserKiosk,
    PageServer,
    chromium_version,
    ensure_chromium,
    kiosk_site,
)
from appliance.rig.process import tree_cpu_seconds, tree_memory
from appliance.rig.xdisplay import XWatcher

AREA = "peer"
SIZE = (800, 480)
RUNS = 5
QUICK_RUNS = 2
SETTLE_S = 2.0
"""After the first frame, before the readings: the start-up settles (both sides alike)."""
IDLE_S = 10.0
QUICK_IDLE_S = 3.0
FIRST_FRAME_TIMEOUT_S = 60.0
APPLIANCE = "appliance"
BROWSER = "browser kiosk"


@dataclass
class Run:
    first_frame_ms: float
    pss: float
    uss: float
    processes: int
    cpu_percent: float


def run(quick: bool) -> list[Row]:
    binary = ensure_chromium()
    version = chromium_version(binary)
    site = kiosk_site()
    runs = QUICK_RUNS if quick else RUNS
    idle_s = QUICK_IDLE_S if quick else IDLE_S
    measured: dict[str, list[Run]] = {APPLIANCE: [], BROWSER: []}
    with Rig() as rig, PageServer(site) as server:
        for round_ in range(runs + 1):  # round 0 warms up
            for side in (APPLIANCE, BROWSER):
                wait_no_window(rig, size=SIZE)
                if side == APPLIANCE:
                    result = _appliance(rig, idle_s)
                else:
                    result = _browser(rig, f"{server.url}/index.html", binary, idle_s)
                if round_:
                    measured[side].append(result)
        where = rig.where
    setup = {
        APPLIANCE: f"real `appliance run`, window {SIZE[0]}x{SIZE[1]} on Xvfb (SDL x11), idle, "
        f"{where}",
        BROWSER: f"{version} --app window {SIZE[0]}x{SIZE[1]} on the same Xvfb, deep-chat "
        f"{DEEP_CHAT_VERSION}'s OpenAI Realtime view (idle) from a local page",
    }
    rows: list[Row] = []
    for side in (APPLIANCE, BROWSER):
        rows += side_rows(side, measured[side], setup[side], runs, idle_s)
    return rows


def _appliance(rig: Rig, idle_s: float) -> Run:
    with Kiosk(rig, SIZE) as kiosk:
        _, frame_s = kiosk.first_frame(timeout=FIRST_FRAME_TIMEOUT_S)
        kiosk.wait_ready()
        kiosk.check_x11()
        return _idle(kiosk.pid, frame_s, idle_s)


def _browser(rig: Rig, url: str, binary: str, idle_s: float) -> Run:
    watcher = XWatcher(rig.display)
    try:
        with BrowserKiosk(rig.display, url, SIZE, binary=binary) as browser:
            try:
                _, drawn = watcher.follow_settled(SIZE, FIRST_FRAME_TIMEOUT_S, alive=browser.alive)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; Chromium's output:\n{browser.output()}") from None
            return _idle(browser.pid, drawn - browser.spawned, idle_s)
    finally:
        watcher.close()


def _idle(pid: int, first_frame_s: float, idle_s: float) -> Run:
    """Readings of the process tree at ``pid`` once it settled: CPU over ``idle_s``, then
    memory."""
    time.sleep(SETTLE_S)  # the start-up settles (as in the memory area)
    before = tree_cpu_seconds(pid)
    began = time.perf_counter()
    time.sleep(idle_s)  # the measuring window
    after = tree_cpu_seconds(pid)
    wall = time.perf_counter() - began
    spent = sum(after[p] - before.get(p, 0.0) for p in after)
    mem, count = tree_memory(pid)
    return Run(first_frame_s * 1000, mem.pss, mem.uss, count, 100 * spent / wall)


def side_rows(side: str, runs: list[Run], setup: str, n: int, idle_s: float) -> list[Row]:
    frames = [r.first_frame_ms for r in runs]
    pss = [r.pss for r in runs]
    cpu = [r.cpu_percent for r in runs]
    counts = sorted({r.processes for r in runs})
    where = f"{setup}; median of {n} runs, alternating with the other side after a warm-up"
    return [
        row(
            AREA,
            f"{side} {SIZE[0]}x{SIZE[1]}: spawn -> first frame",
            statistics.median(frames),
            "ms",
            f"spawn -> the idle view on screen, seen in the window's pixels; {where} "
            f"(min {min(frames):.0f}, max {max(frames):.0f})",
            frames,
            digits=1,
        ),
        row(
            AREA,
            f"{side} {SIZE[0]}x{SIZE[1]} idle: PSS (all processes)",
            statistics.median(pss),
            "MiB",
            f"summed over its {'/'.join(map(str, counts))} processes; USS "
            f"{statistics.median(r.uss for r in runs):.0f} MiB; {SETTLE_S:g} s after the first "
            f"frame; {where}",
            pss,
            digits=1,
        ),
        row(
            AREA,
            f"{side} {SIZE[0]}x{SIZE[1]} idle: CPU",
            statistics.median(cpu),
            "%",
            f"of one core, all its processes, over {idle_s:g} s (Xvfb not included); {where}",
            cpu,
            digits=2,
        ),
    ]


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
