"""Where the benchmarks keep what is slow to make or fetch (generated test sets, a browser's
npm packages): one folder per use, outside the checkout, kept between runs.

    folder = cache_dir("wakeset")   # $APPLIANCE_BENCH_CACHE/wakeset, created

``$APPLIANCE_BENCH_CACHE`` if set, else ``$XDG_CACHE_HOME/appliance-bench``, else
``~/.cache/appliance-bench``. Deleting it is always safe: the next run makes it again.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    explicit = os.environ.get("APPLIANCE_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "appliance-bench"


def cache_dir(name: str) -> Path:
    """The cache folder ``name`` (created if missing)."""
    folder = cache_root() / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
