"""``python -m appliance.bench``: run the benchmark modules, print a table, write JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import signal
import sys
import textwrap
import time
import traceback
from pathlib import Path

import appliance.bench as package
from appliance.bench import Row
from appliance.bench._goals import compare, format_goals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("--quick", action="store_true", help="shorter measurements")
    parser.add_argument("--only", action="append", help="run only these areas (module names)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--soak", action="store_true", help="also run the long soak (slow)")
    parser.add_argument(
        "--pi-budget",
        action="store_true",
        help="run the appliance on a quarter of one core (a Pi 3 / Zero 2 W core) for a 5-minute "
        "session (--quick: 1 minute); alone it runs only that, with --only also those areas",
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the areas' cleanup (Xvfb, appliance processes) runs
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # "_name" modules are helpers (e.g. _kiosk); a module without run() is a helper too
    names = areas(
        sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name[0] != "_"),
        only=args.only,
        soak=args.soak,
        pi_budget=args.pi_budget,
    )
    rows: list[Row] = []
    failures: list[str] = []
    for name in names:
        started = time.monotonic()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"appliance.bench.{name}")
            if not callable(getattr(module, "run", None)):
                print("   (a helper, not an area)", file=sys.stderr)
                continue
            rows += module.run(args.quick)
        except Exception as exc:
            traceback.print_exc()
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        print(f"   {time.monotonic() - started:.1f} s", file=sys.stderr)
    print(format_table(rows))
    goals = compare(rows)
    if goals:
        print(
            "\nGoals, beside a browser kiosk (Chromium + Deep Chat) measured in this run "
            "(--only peer):\n"
        )
        print(format_goals(goals))
    result = {
        "machine": {"python": platform.python_version(), "machine": platform.machine()},
        "rows": rows,
        "goals": goals,
        "failures": failures,
    }
    args.json.write_text(json.dumps(result, indent=2))
    print(f"\nwritten to {args.json}")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


def areas(names: list[str], *, only: list[str] | None, soak: bool, pi_budget: bool) -> list[str]:
    """The areas to run: all but the long ones (``soak``, ``pibudget``) unless asked for;
    ``--only`` picks; ``--pi-budget`` alone runs only the Pi budget area."""
    if not soak:
        names = [n for n in names if n != "soak"]
    if pi_budget:
        return [n for n in names if n == "pibudget" or (only and n in only)]
    if only:
        return [n for n in names if n in only]
    return [n for n in names if n != "pibudget"]


def format_table(rows: list[Row], note_width: int = 72) -> str:
    """The rows as a plain-text table; ``n`` is the number of raw samples behind a value, and
    long notes wrap within their column."""
    header = ("area", "measure", "value", "unit", "n", "what it includes, conditions")
    lines = [
        (
            r.get("area", ""),
            r.get("name", ""),
            _num(r.get("value")),
            r.get("unit", ""),
            str(len(r["samples"])) if r.get("samples") else "",
            # a note repeated from the row above (p50, then p95) is not printed twice
            ["as above"]
            if i and r.get("note") and r.get("note") == rows[i - 1].get("note")
            else textwrap.wrap(r.get("note", ""), note_width) or [""],
        )
        for i, r in enumerate(rows)
    ]
    columns = zip(header[:-1], *(x[:-1] for x in lines), strict=True)
    widths = [max(len(str(x)) for x in col) for col in columns]
    widths.append(max([len(header[-1])] + [len(part) for x in lines for part in x[-1]]))
    indent = sum(widths[:-1]) + 2 * (len(widths) - 1)
    out = ["  ".join(str(x).ljust(w) for x, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        first, *more = line[-1]
        cells = [*line[:-1], first]
        out.append("  ".join(str(x).ljust(w) for x, w in zip(cells, widths, strict=True)).rstrip())
        out += [" " * indent + part for part in more]
    return "\n".join(out)


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
