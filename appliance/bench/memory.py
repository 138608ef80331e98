"""Memory of the real ``appliance run``, idle and during a live session.

The appliance runs as in :mod:`appliance.bench.display` (window on Xvfb, the simulator, PyAudio
on the virtual sound server) at 800x480 and 1920x1080. Read from ``/proc/PID/smaps_rollup`` of
the appliance process:

* PSS (proportional set size): its private pages plus its share of the pages it shares with
  other processes (libraries, pygame's SDL, numpy). What it adds to the machine's memory, but
  it depends on what else runs: a library mapped by three processes counts a third here;
* USS (Private_Clean + Private_Dirty): the pages only this process holds, what stopping it
  gives back.

Idle: the idle screen, not started, after the start-up settled (samples every 0.5 s, the last
one reported). Speaking: a session live and the model answering out loud (samples every 0.5 s,
the highest reported).

Captions: those runs have them on (``display.captions = "assistant"``, the default: the answer's
words on screen as they stream in). One more run per size with ``"off"`` gives, while speaking,
what the captions add to the PSS (on minus off, the highest sample of each; two processes,
so the figure carries the noise between two runs, a fraction of a MiB).

Labels: what the screen's texts (:mod:`appliance.labels`, every shipped language loaded) add
to the PSS of a Python process that already holds the configuration and pygame, measured in a
child process before and after.
"""

from __future__ import annotations

import subprocess
import sys
import time

from appliance.bench import Row, row
from appliance.bench._kiosk import Kiosk, Rig
from appliance.rig.process import Memory, child_env, memory

SIZES = ((800, 480), (1920, 1080))


def _samples(pid: int, seconds: float, every: float = 0.5) -> list[Memory]:
    out = []
    end = time.monotonic() + seconds
    while True:
        out.append(memory(pid))
        if time.monotonic() + every > end:
            return out
        time.sleep(every)  # the sampling period


def run(quick: bool) -> list[Row]:
    live_s = 2.0 if quick else 5.0
    rows: list[Row] = []
    with Rig(answer_seconds=live_s + 6) as rig:
        for size in SIZES:
            with Kiosk(rig, size) as kiosk:
                kiosk.first_frame()
                kiosk.wait_ready()
                kiosk.check_x11()
                time.sleep(1.0)  # the start-up settles
                idle = _samples(kiosk.pid, 1.0)
                kiosk.speak()
                live = _samples(kiosk.pid, live_s)
                if kiosk.ctl("status").get("state") != "speaking":
                    raise kiosk.failed("the answer ended before the samples were taken")
                if not kiosk.ctl("status").get("captions"):
                    raise kiosk.failed("no captions were shown while the model spoke")
            rows += _rows(size, idle, live, rig.where)
            with Kiosk(rig, size, display={"captions": "off"}) as kiosk:
                kiosk.first_frame()
                kiosk.wait_ready()
                time.sleep(1.0)  # the start-up settles
                kiosk.speak()
                off = _samples(kiosk.pid, live_s)
            rows.append(_captions_row(size, live, off, rig.where))
    return [*rows, labels_row()]


_LABELS_CHILD = """
import os, sys
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
import appliance.config, pygame
print("base", flush=True); sys.stdin.readline()
from appliance.labels import SHIPPED, Labels, cause_key
words = [Labels(language) for language in SHIPPED]
texts = [w.text(key, seconds=9, attempt=2) for w in words for key in w.table]
cause_key("cannot connect to the server")
print("loaded", flush=True); sys.stdin.readline()
"""


def labels_row() -> Row:
    """The PSS the labels add: a child process's PSS before and after loading them."""
    child = subprocess.Popen(
        [sys.executable, "-c", _LABELS_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        readings = []
        for expected in ("base", "loaded"):
            if child.stdout.readline().strip() != expected:
                raise RuntimeError(f"the labels child did not report {expected!r}")
            readings.append(memory(child.pid))
            child.stdin.write("\n")
            child.stdin.flush()
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    added = (readings[1].pss - readings[0].pss) * 1024
    return row(
        "memory",
        "labels (4 languages): added PSS",
        added,
        "KiB",
        "appliance.labels imported and every shipped language built and formatted, in a "
        f"Python process that already holds the configuration and pygame (PSS "
        f"{readings[0].pss:.1f} -> {readings[1].pss:.1f} MiB)",
        digits=0,
    )


def _captions_row(size: tuple[int, int], on: list[Memory], off: list[Memory], where: str) -> Row:
    window = f"{size[0]}x{size[1]}"
    pss_on, pss_off = max(m.pss for m in on), max(m.pss for m in off)
    return row(
        "memory",
        f"{window} speaking: captions' PSS",
        pss_on - pss_off,
        "MiB",
        f"PSS with display.captions on minus off, the model answering out loud (highest "
        f"sample of each: {pss_on:.1f} vs {pss_off:.1f} MiB; two processes, so the noise "
        f"between two runs is in it); real `appliance run`, window {window} on Xvfb, {where}",
        digits=2,
    )


def _rows(size: tuple[int, int], idle: list[Memory], live: list[Memory], where: str) -> list[Row]:
    window = f"{size[0]}x{size[1]}"
    setup = f"real `appliance run`, window {window} on Xvfb, {where}"
    rows: list[Row] = []
    for label, phase, pick, note in (
        ("idle", idle, lambda ms: ms[-1], f"idle screen, not started; last of {len(idle)} samples"),
        (
            "speaking",
            live,
            max,
            f"session live, the model answering out loud; highest of {len(live)} samples",
        ),
    ):
        pss = pick([m.pss for m in phase])
        uss = pick([m.uss for m in phase])
        rss = pick([m.rss for m in phase])
        rows.append(
            row(
                "memory",
                f"{window} {label}: PSS",
                pss,
                "MiB",
                "private pages + its share of pages shared with other processes (libraries: "
                f"depends on what else runs); RSS {rss:.0f} MiB; {note}; {setup}",
                [m.pss for m in phase],
                digits=2,
            )
        )
        rows.append(
            row(
                "memory",
                f"{window} {label}: USS",
                uss,
                "MiB",
                f"Private_Clean + Private_Dirty: what only this process holds; {note}; {setup}",
                [m.uss for m in phase],
                digits=2,
            )
        )
    return rows


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
