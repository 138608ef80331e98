"""The figures the project set goals for, beside what a browser kiosk (Chromium showing
Deep Chat's OpenAI Realtime view) measured in the same run, and what this run measured.
Printed by ``scripts/bench`` after its table, and kept in the JSON as ``goals``.

The browser kiosk's figures come from the ``peer`` area (``scripts/bench --only peer``): a
goal's ``peer`` names the row to read; without that row in the run the column says
"not run (--only peer)". Nothing here is a recorded figure.

Only the goals whose rows were measured in this run are shown (``--only`` picks areas).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.bench import Row


@dataclass(frozen=True)
class Goal:
    area: str
    name: str  # the row's name
    figure: str  # what it is, in words
    peer: str | None  # the name of the browser kiosk's row in the peer area (None: not there)
    goal: str
    met: Callable[[float], bool]


PEER_AREA = "peer"
PEER_FIRST_FRAME = "browser kiosk 800x480: spawn -> first frame"
PEER_PSS = "browser kiosk 800x480 idle: PSS (all processes)"
PEER_CPU = "browser kiosk 800x480 idle: CPU"
NOT_RUN = "not run (--only peer)"


BLOCK_MS = 20
OUTPUT_LATENCY_MS = 24  # audio.output_latency_ms's default

GOALS = (
    Goal("memory", "800x480 idle: PSS", "PSS idle", PEER_PSS, "<= 77 MiB", lambda v: v <= 77),
    Goal("memory", "800x480 speaking: PSS", "PSS live", None, "<= 90 MiB", lambda v: v <= 90),
    Goal(
        "start",
        "spawn -> first frame on screen",
        "spawn -> first frame",
        PEER_FIRST_FRAME,
        "<= 500 ms",
        lambda v: v <= 500,
    ),
    Goal(
        PEER_AREA,
        "appliance 800x480: spawn -> first frame",
        "spawn -> first frame, side by side",
        PEER_FIRST_FRAME,
        "<= 500 ms",
        lambda v: v <= 500,
    ),
    Goal(
        PEER_AREA,
        "appliance 800x480 idle: PSS (all processes)",
        "PSS idle, side by side",
        PEER_PSS,
        "<= 77 MiB",
        lambda v: v <= 77,
    ),
    Goal(
        PEER_AREA,
        "appliance 800x480 idle: CPU",
        "idle CPU, side by side",
        PEER_CPU,
        "< 1 %",
        lambda v: v < 1,
    ),
    Goal(
        "display",
        "1280x720 speaking 60 fps: CPU appliance",
        "1280x720, avatar moving, 60 fps",
        None,
        "< 25 %",
        lambda v: v < 25,
    ),
    Goal(
        "display",
        "1280x720 speaking: CPU appliance",
        "model speaking (display.fps 30)",
        None,
        "< 15 %",
        lambda v: v < 15,
    ),
    Goal(
        "display",
        "1280x720 idle: CPU appliance",
        "stopped",
        PEER_CPU,
        "< 1 %",
        lambda v: v < 1,
    ),
    Goal(
        "live",
        "barge-in (speech_started -> answer ends at DAC) p95",
        "barge-in -> speaker silent",
        None,
        f"<= {BLOCK_MS} ms",
        lambda v: v <= BLOCK_MS,
    ),
    Goal(
        "live",
        "delta->DAC p95",
        "output_audio.delta -> DAC, p95",
        None,
        f"<= {BLOCK_MS + OUTPUT_LATENCY_MS} ms (a block + output latency)",
        lambda v: v <= BLOCK_MS + OUTPUT_LATENCY_MS,
    ),
    Goal(
        "pibudget",
        "output underruns + input overruns",
        "quarter core: underruns + overruns",
        None,
        "0",
        lambda v: v == 0,
    ),
    Goal(
        "pibudget",
        "display frames late",
        "quarter core: frames late at 30 fps",
        None,
        "0",
        lambda v: v == 0,
    ),
    Goal(
        "pibudget",
        "barge-in (press -> answer ends at DAC) p95",
        "quarter core: barge-in",
        None,
        f"<= {2 * BLOCK_MS} ms (2 blocks)",
        lambda v: v <= 2 * BLOCK_MS,
    ),
    *(
        Goal(
            "echo",
            f"rig ERLE {delay} ms",
            f"echo rig ERLE, {delay} ms",
            None,
            ">= 30 dB",
            lambda v: v >= 30,
        )
        for delay in (30, 60, 120)
    ),
    Goal(
        "echo",
        "rig CPU per 10 ms frame 60 ms",
        "echo cancelling CPU per 10 ms frame",
        None,
        "< 0.5 ms (5 % of a core)",
        lambda v: v < 0.5,
    ),
    Goal(
        "echo",
        "added capture latency (cancel - none), median",
        "capture latency added by cancelling",
        None,
        "<= 10 ms",
        lambda v: v <= 10,
    ),
)


def compare(rows: list[Row]) -> list[dict]:
    """One entry per goal whose row was measured: figure, peer (the browser kiosk's figure
    in this run), goal, ours, met."""
    measured = {(r.get("area"), r.get("name")): r for r in rows}
    out = []
    for goal in GOALS:
        found = measured.get((goal.area, goal.name))
        if found is None:
            continue
        value = float(found["value"])
        peer = measured.get((PEER_AREA, goal.peer)) if goal.peer else None
        out.append(
            {
                "figure": goal.figure,
                "peer": _figure(peer) if peer else (NOT_RUN if goal.peer else "-"),
                "goal": goal.goal,
                "ours": _figure(found),
                "met": goal.met(value),
            }
        )
    return out


def _figure(found: Row) -> str:
    """The row's value with 3 significant digits (whole numbers from 1000 on) and its unit."""
    value = float(found["value"])
    shown = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return f"{shown} {found.get('unit', '')}".strip()


def format_goals(compared: list[dict]) -> str:
    """The comparison as a plain-text table (empty when no goal was measured)."""
    if not compared:
        return ""
    header = ("figure", "browser kiosk", "goal", "this run", "")
    lines = [
        (c["figure"], c["peer"], c["goal"], c["ours"], "met" if c["met"] else "NOT MET")
        for c in compared
    ]
    widths = [max(len(x[i]) for x in (header, *lines)) for i in range(len(header))]
    out = ["  ".join(x.ljust(w) for x, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += [
        "  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    return "\n".join(out)
