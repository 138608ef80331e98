"""The key server under load: ``scripts/bench --only keyserver``.

1,000 enrolled devices; a burst of 500 concurrent ``POST /key`` (500 different devices), then a
steady 50 requests/s for 60 s (``--quick``: 10 s), open loop (a request is sent on schedule
whether or not the previous ones were answered). Twice: SQLite with one server process, and
PostgreSQL (a private server, :mod:`appliance.rig.postgres`) with two replicas, the requests
alternating between them. The simulator is the upstream (it mints a key per request).

Per setup: latency p50 and p99 (client side, from the request to the whole reply), throughput,
refusals and errors, and the CPU of the key server processes (% of one core, summed over the
replicas) over each phase. The load generator (this process, aiohttp) and the simulator run on
the same machine and take CPU too.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from appliance.bench import Row, row

DEVICES = 1000
BURST = 500
RATE = 50.0
STEADY_S, QUICK_STEADY_S = 60.0, 10.0
LIMITS = {"keys_per_minute": 600, "burst": 20, "sessions_per_day": 100000}
"""Limits on, so that every request runs the limit SQL, but high enough to refuse nothing."""


def run(quick: bool) -> list[Row]:
    from appliance.rig.keyserver import SIM_API_KEY
    from appliance.rig.sim import Sim

    steady = QUICK_STEADY_S if quick else STEADY_S
    rows: list[Row] = []
    sim = Sim("--api-key", SIM_API_KEY)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-keyserver-") as tmp:
            rows += _measure("sqlite, 1 process", Path(tmp) / "sqlite", sim.url, None, 1, steady)
            rows += _postgres(Path(tmp) / "pg", sim.url, steady)
    finally:
        sim.stop()
    return rows


def _postgres(folder: Path, upstream: str, steady: float) -> list[Row]:
    from appliance.rig.postgres import Postgres, Unavailable

    try:
        pg = Postgres()
    except Unavailable as exc:
        print(f"   PostgreSQL rows skipped: {exc}", file=sys.stderr)
        return []
    with pg:
        url = pg.create_database("bench")
        return _measure("postgresql, 2 replicas", folder, upstream, url, 2, steady)


def _enrol(config_path: Path) -> list[str]:
    from appliance.keyserver import config as cfg
    from appliance.keyserver import devices
    from appliance.keyserver.store import Store

    config = cfg.load(config_path)
    store = Store(config.database.url, timeout=30)
    try:
        store.migrate()
        return [
            devices.add(store, f"kiosk{i:04d}", "default", LIMITS["burst"]) for i in range(DEVICES)
        ]
    finally:
        store.close()


def _measure(
    label: str, folder: Path, upstream: str, database: str | None, replicas: int, steady: float
) -> list[Row]:
    from appliance.rig.keyserver import KeyServerProcess, write_config
    from appliance.rig.process import CpuMeter

    config = write_config(
        folder,
        upstream,
        database=database,
        sections={"limits": LIMITS, "keyserver": {"access_log": False}},
    )
    tokens = _enrol(config)
    servers = [KeyServerProcess(config) for _ in range(replicas)]
    try:
        urls = [f"{s.url}/key" for s in servers]
        pids = {f"r{i}": s.pid for i, s in enumerate(servers)}
        asyncio.run(_phase([(urls[0], tokens[0])], 0))  # warm: imports, first connections

        meter = CpuMeter(**pids)
        targets = [(urls[i % replicas], tokens[i]) for i in range(BURST)]
        burst = asyncio.run(_phase(targets, 0))
        burst_cpu, burst_wall = meter.percent()

        meter = CpuMeter(**pids)
        count = int(steady * RATE)
        targets = [(urls[i % replicas], random.choice(tokens)) for i in range(count)]
        steady_results = asyncio.run(_phase(targets, 1 / RATE))
        steady_cpu, steady_wall = meter.percent()
    finally:
        codes = [s.stop() for s in servers]
    if codes != [0] * replicas:
        raise RuntimeError(f"{label}: key server exit codes {codes}")
    note = (
        f"{label}; {DEVICES} devices enrolled; simulator upstream; client: aiohttp in the bench "
        "process, new connection per request"
    )
    return [
        *_rows(f"{label}: burst of {BURST}", burst, burst_wall, sum(burst_cpu.values()), note),
        *_rows(
            f"{label}: {RATE:g} req/s for {steady:g} s",
            steady_results,
            steady_wall,
            sum(steady_cpu.values()),
            note,
        ),
    ]


async def _phase(targets: list[tuple[str, str]], interval: float) -> list[tuple[int, float]]:
    """Send each request, all at once (interval 0) or one every ``interval`` seconds."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(url: str, token: str, at: float) -> tuple[int, float]:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            try:
                async with session.post(url, headers={"Authorization": f"Bearer {token}"}) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            return status, time.perf_counter() - started

        start = time.perf_counter()
        return list(
            await asyncio.gather(
                *(one(u, t, start + i * interval) for i, (u, t) in enumerate(targets))
            )
        )


def _rows(
    name: str, results: list[tuple[int, float]], wall: float, cpu: float, note: str
) -> list[Row]:
    latencies = sorted(ms * 1000 for _, ms in results)
    ok = sum(1 for status, _ in results if status == 200)
    refused = sum(1 for status, _ in results if status == 429)
    failed = len(results) - ok - refused
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    outcome = f"{ok} keys, {refused} refused, {failed} failed of {len(results)}"
    return [
        row(
            "keyserver",
            f"{name}: latency p50",
            statistics.median(latencies),
            "ms",
            f"{note}; {outcome}",
            digits=1,
        ),
        row("keyserver", f"{name}: latency p99", p99, "ms", f"{note}; {outcome}", digits=1),
        row(
            "keyserver",
            f"{name}: throughput",
            ok / wall,
            "keys/s",
            f"keys minted per second of the phase ({wall:.1f} s)",
            digits=1,
        ),
        row(
            "keyserver",
            f"{name}: server CPU",
            cpu,
            "%",
            "key server processes, % of one core (replicas summed) over the phase",
            digits=1,
        ),
    ]


if __name__ == "__main__":
    from appliance.bench.__main__ import format_table

    print(format_table(run("--quick" in sys.argv)))
