"""The key server on a real PostgreSQL server (installed with apt and started by
:mod:`appliance.rig.postgres`, as an unprivileged user in a temporary directory): two replicas
on one database cannot overspend a budget or a rate limit under a concurrent burst, a replayed
report is stored once across replicas, and the server survives the database going away."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.rig.keyserver import (
    KeyServerProcess,
    burst,
    cli,
    enrol,
    request,
    write_config,
)
from appliance.rig.sim import Sim

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    from appliance.rig.postgres import Postgres, Unavailable

    try:
        server = Postgres()
    except Unavailable as exc:
        pytest.skip(f"no PostgreSQL server here: {exc}")
    yield server
    server.close()


@pytest.fixture
def database(postgres: Any) -> str:
    return postgres.create_database("ks_" + uuid.uuid4().hex[:12])


def replicas(config: Path, count: int = 2) -> list[KeyServerProcess]:
    return [KeyServerProcess(config) for _ in range(count)]


def stop_all(servers: list[KeyServerProcess]) -> None:
    assert [s.stop() for s in servers] == [0] * len(servers)


def test_two_replicas_cannot_overspend_a_daily_budget(
    tmp_path: Path, sim: Sim, database: str
) -> None:
    config = write_config(
        tmp_path,
        sim.url,
        database=database,
        sections={
            "limits": {"keys_per_minute": 0, "sessions_per_day": 20, "fleet_sessions_per_day": 30}
        },
    )
    assert cli(config, "migrate").returncode == 0
    token, other = enrol(config, "kiosk1"), enrol(config, "kiosk2")
    servers = replicas(config)
    try:
        targets = [(f"{servers[i % 2].url}/key", token) for i in range(80)]
        results = burst(targets)
        assert [r[0] for r in results].count(200) == 20
        assert {r[1] for r in results if r[0] != 200} == {"daily_sessions"}
        fleet = burst([(f"{servers[i % 2].url}/key", other) for i in range(40)])
        assert [r[0] for r in fleet].count(200) == 10  # the fleet's 30 less kiosk1's 20
        assert {r[1] for r in fleet if r[0] != 200} == {"fleet_cap"}
        assert sim.state()["keys_issued"] == 30
        table = cli(config, "usage", "--json").stdout
        assert '"sessions": 20' in table and '"sessions": 10' in table
    finally:
        stop_all(servers)


def test_two_replicas_cannot_overspend_a_rate_limit(
    tmp_path: Path, sim: Sim, database: str
) -> None:
    config = write_config(
        tmp_path,
        sim.url,
        database=database,
        sections={"limits": {"keys_per_minute": 0.5, "burst": 5, "sessions_per_day": 0}},
    )
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, "kiosk1")
    servers = replicas(config)
    try:
        results = burst([(f"{servers[i % 2].url}/key", token) for i in range(60)])
        assert [r[0] for r in results].count(200) == 5
        assert {r[1] for r in results if r[0] != 200} == {"rate_limited"}
    finally:
        stop_all(servers)


def test_a_replayed_report_is_stored_once_across_replicas(
    tmp_path: Path, sim: Sim, database: str
) -> None:
    config = write_config(tmp_path, sim.url, database=database)
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, "kiosk1")
    servers = replicas(config)
    body = {
        "report_id": str(uuid.uuid4()),
        "session_seconds": 30.0,
        "stop_reason": "max",
        "started_at": "2026-01-01T00:00:00+00:00",
        "usage": {"input_tokens": 10, "output_tokens": 20},
        "responses": 1,
    }
    try:
        import datetime as dt

        body["started_at"] = dt.datetime.now(dt.UTC).isoformat()
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(10) as pool:
            replies = list(
                pool.map(
                    lambda i: request(f"{servers[i % 2].url}/usage", token=token, body=body),
                    range(10),
                )
            )
        assert [r.status for r in replies] == [200] * 10
        assert [r.json["duplicate"] for r in replies].count(False) == 1
        import json

        (day,) = json.loads(cli(config, "usage", "--json").stdout)["days"]
        assert (day["reports"], day["seconds"]) == (1, 30.0)
    finally:
        stop_all(servers)


def test_database_gone_for_a_moment(tmp_path: Path, sim: Sim, database: str, postgres) -> None:
    config = write_config(
        tmp_path, sim.url, database=database, sections={"database": {"timeout": 2.0}}
    )
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, "kiosk1")
    (server,) = replicas(config, 1)
    try:
        assert server.key(token).status == 200
        postgres.stop_server()
        try:
            gone = server.key(token)
            assert (gone.status, gone.code) == (503, "database_unavailable")
            assert request(f"{server.url}/healthz", method="GET").status == 503
            assert "postgres@" not in "".join(server.output)  # no connection string in the log
        finally:
            postgres.start_server()
        assert server.key(token).status == 200  # the same process, no restart
    finally:
        stop_all([server])


def test_migrate_is_versioned_on_postgres(tmp_path: Path, database: str) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", database=database)
    assert cli(config, "device", "list").returncode == 1  # not migrated yet
    first = cli(config, "migrate")
    assert "applied 1:" in first.stdout and "schema version 1" in first.stdout
    again = cli(config, "migrate")
    assert "applied" not in again.stdout and again.returncode == 0


MDWE_WRAPPER = """
import ctypes, mmap, runpy, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE
    sys.exit("prctl(PR_SET_MDWE) refused")
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("PR_SET_MDWE is not enforced")
except PermissionError:
    pass
assert sys.argv[1:3] == ["-m", "appliance"]
sys.argv = ["appliance", *sys.argv[3:]]
runpy.run_module("appliance", run_name="__main__", alter_sys=True)
"""


def test_server_runs_without_writable_executable_memory(
    tmp_path: Path, sim: Sim, database: str
) -> None:
    """The unit's MemoryDenyWriteExecute=yes: aiohttp, psycopg's binary wheel and
    prometheus-client need no writable and executable memory."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(66, 0, 0, 0, 0) < 0:
        pytest.skip("kernel without PR_SET_MDWE (Linux >= 6.3)")
    import sys

    wrapper = tmp_path / "mdwe.py"
    wrapper.write_text(MDWE_WRAPPER)
    config = write_config(tmp_path, sim.url, database=database)
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, "kiosk1")
    server = KeyServerProcess(config, python=[sys.executable, str(wrapper)])
    try:
        assert server.key(token).status == 200
        assert "PR_SET_MDWE" not in "".join(server.output)
        assert request(f"{server.url}/metrics", method="GET").status == 200
    finally:
        stop_all([server])
