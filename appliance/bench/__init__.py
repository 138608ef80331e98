"""Benchmarks (``scripts/bench``): each module in this package measures one area.

Every module exposes ``run(quick: bool) -> list[Row]``. ``python -m appliance.bench`` runs them
all, prints one table and writes the rows as JSON.
"""

from __future__ import annotations

from typing import TypedDict


class Row(TypedDict, total=False):
    area: str  # "session", "audio", "display", "gpio", ...
    name: str  # what was measured, e.g. "capture->append latency p50"
    value: float
    unit: str  # "ms", "%", "fps", "MiB", ...
    note: str  # conditions: block size, resolution, sample count
