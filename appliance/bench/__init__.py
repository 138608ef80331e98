"""Benchmarks (``scripts/bench``): each module in this package measures one area.

Every area module exposes ``run(quick: bool) -> list[Row]``. ``python -m appliance.bench`` runs
them all, prints one table and writes the rows as JSON. Modules whose name starts with ``_``
are helpers, not areas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np


class Row(TypedDict, total=False):
    area: str  # "session", "audio", "display", "gpio", ...
    name: str  # what was measured, e.g. "capture->append latency p50"
    value: float
    unit: str  # "ms", "%", "fps", "MiB", ...
    note: str  # what the figure includes, and the conditions: block size, resolution, ...
    samples: list[float]  # the raw measurements behind ``value`` (optional)
    median: float  # of ``samples`` (optional)
    p95: float  # of ``samples`` (optional)


def row(
    area: str,
    name: str,
    value: float,
    unit: str,
    note: str,
    samples: Sequence[float] | None = None,
    *,
    digits: int = 3,
) -> Row:
    """A :class:`Row`; with ``samples``, they are kept (rounded to ``digits`` decimals) with
    their median and 95th percentile."""
    out: Row = {"area": area, "name": name, "value": round(float(value), digits), "unit": unit}
    out["note"] = note
    if samples is not None and len(samples):
        values = [float(s) for s in samples]
        out["samples"] = [round(v, digits) for v in values]
        out["median"] = round(float(np.median(values)), digits)
        out["p95"] = round(float(np.percentile(values, 95)), digits)
    return out
