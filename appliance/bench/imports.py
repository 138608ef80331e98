"""Import costs: what ``appliance run`` imports before its first frame, and after it.

``appliance run`` draws its idle screen before it imports what a session needs (see
:mod:`appliance.service`). Each figure is measured in fresh interpreters (this venv's Python,
page cache warm), median of several runs:

* ``before the first frame``: what the main thread imports before it draws: the command line
  and the configuration (pydantic), the hub (numpy), the service, pygame (without
  ``pkg_resources``) and the screen;
* ``session side``: what the worker imports once the screen is up: the sound card backend,
  GPIO, the appliance with the realtime link, session and protocol, the HTTP and WebSocket
  clients, the control socket;
* one row per heavy package, imported alone (its own dependencies included), from
  ``python -X importtime`` (its cumulative figure for the package).

The phases are timed with ``time.perf_counter`` around the imports (no ``-X importtime``, which
slows importing); the note of each phase names its costliest modules from a ``-X importtime``
run. A Raspberry Pi 3 or Zero 2 W takes several times as long.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass

from appliance.bench import Row, row

RUNS = 5

PHASES = """
import sys, time
marks = [time.perf_counter()]
def mark(name):
    marks.append(time.perf_counter())
    print(f"## {name} {1000 * (marks[-1] - marks[-2]):.3f}", file=sys.stderr, flush=True)
import appliance.cli
import appliance.service
from appliance.hub import Hub
appliance.service._import_pygame()
import appliance.display
mark("first")
import appliance.audio.pyaudio_backend
import appliance.gpio
import appliance.app
mark("session")
"""

# (row label, code run, the module whose cumulative time counts)
PACKAGES = (
    ("import numpy", "import numpy", "numpy"),
    ("import pydantic", "import pydantic", "pydantic"),
    ("import pygame", "import pygame", "pygame"),
    (
        "import pygame (no pkg_resources)",
        "import sys; sys.modules['pkg_resources'] = None; import pygame",
        "pygame",
    ),
    ("import aiohttp", "import aiohttp", "aiohttp"),
    ("import websockets (client)", "import websockets.asyncio.client", "websockets"),
    ("import soxr", "import soxr", "soxr"),
    ("import pyaudio", "import pyaudio", "pyaudio"),
)


@dataclass
class Phase:
    name: str
    label: str
    note: str


PHASE_ROWS = (
    Phase(
        "first",
        "before the first frame",
        "what the main thread of `appliance run` imports before it draws: the command line, "
        "the configuration (pydantic), the hub (numpy), the service, pygame (without "
        "pkg_resources), the screen",
    ),
    Phase(
        "session",
        "session side (after the first frame)",
        "what the worker imports while the idle screen is up: the sound card backend, GPIO, "
        "the appliance with the realtime link/session/protocol, HTTP (aiohttp) and WebSocket "
        "clients, the control socket",
    ),
)


def _run(args: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stderr


def _phases(stderr: str) -> dict[str, float]:
    out = {}
    for line in stderr.splitlines():
        if line.startswith("## "):
            _, name, ms = line.split()
            out[name] = float(ms)
    return out


def _importtime(stderr: str) -> list[tuple[str, int, int, str]]:
    """(name, self us, cumulative us, phase) per ``-X importtime`` line."""
    lines = []
    phase = "first"
    for line in stderr.splitlines():
        if line.startswith("## "):
            phase = "session" if line.split()[1] == "first" else "done"
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.split("|", 2)
        lines.append((name.rstrip(), int(own.split(":")[1]), int(cumulative), phase))
    return lines


def _top_level(name: str) -> bool:
    """``-X importtime`` indents a module by two spaces per level of nesting."""
    return not name[1:].startswith(" ")


def _top(lines: list[tuple[str, int, int, str]], phase: str, n: int = 5) -> str:
    """The ``n`` top-level modules of ``phase`` with the largest cumulative times."""
    top = [
        (cumulative, name.strip())
        for name, _own, cumulative, where in lines
        if where == phase and _top_level(name)
    ]
    top.sort(reverse=True)
    return ", ".join(f"{name} {cumulative / 1000:.0f}" for cumulative, name in top[:n])


def run(quick: bool) -> list[Row]:
    runs = 3 if quick else RUNS
    phase_ms: dict[str, list[float]] = {p.name: [] for p in PHASE_ROWS}
    for _ in range(runs):
        for name, ms in _phases(_run(["-c", PHASES])).items():
            phase_ms[name].append(ms)
    profile = _importtime(_run(["-X", "importtime", "-c", PHASES]))
    rows: list[Row] = []
    for phase in PHASE_ROWS:
        values = phase_ms[phase.name]
        rows.append(
            row(
                "imports",
                phase.label,
                statistics.median(values),
                "ms",
                f"{phase.note}; fresh interpreter, median of {runs}; costliest (-X importtime, "
                f"cumulative ms): {_top(profile, phase.name)}",
                values,
                digits=1,
            )
        )
    for label, code, module in PACKAGES:
        values = []
        for _ in range(runs):
            try:
                stderr = _run(["-X", "importtime", "-c", code])
            except subprocess.CalledProcessError:
                break  # not installed here
            found = [
                cumulative
                for name, _own, cumulative, _phase in _importtime(stderr)
                if _top_level(name) and (name.strip() + ".").startswith(module + ".")
            ]
            if found:
                values.append(sum(found) / 1000)
        if not values:
            continue
        rows.append(
            row(
                "imports",
                label,
                statistics.median(values),
                "ms",
                f"alone in a fresh interpreter, its dependencies included (-X importtime "
                f"cumulative; importtime's own overhead included); median of {len(values)}",
                values,
                digits=1,
            )
        )
    return rows


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
