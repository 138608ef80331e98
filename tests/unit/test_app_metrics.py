"""The worker's metrics in-process: a real session against the simulator on 127.0.0.1 moves
them; with ``[metrics]`` unset nothing of them is even imported."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from appliance import state
from appliance.app import Appliance
from appliance.config import AppConfig
from appliance.metrics import Readings
from appliance.rig.inprocess import running_worker
from appliance.rig.process import ROOT, child_env, until
from appliance.sim.server import Simulator

DEADLINE_S = 5.0


@pytest.fixture(autouse=True)
def outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)


def metrics_of(app: Appliance) -> dict[str, float]:
    """``name{labels}`` -> value of what the appliance would expose now."""
    text = app.exporter.metrics.render(Readings(now=0.0))
    pairs = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    return {name: float(value) for name, value in pairs}


def run(tmp_path: Path, scenario: Any, **config: Any) -> None:
    async def main() -> None:
        async with Simulator(pace=50.0) as sim:
            settings = {
                "openai": {"api_base": sim.url, "dialect": "ga"},
                "realtime": {"provisioning": {"url": f"{sim.url}/provision?shape=value"}},
                "audio": {"backend": "none"},
                "control": {"socket": str(tmp_path / "control.sock")},
                "recovery": {"max_attempts": 0},
                "metrics": {"textfile": str(tmp_path / "appliance.prom")},
                **config,
            }
            async with running_worker(settings) as app:
                await scenario(sim, app)

    asyncio.run(main())


def test_a_session_moves_the_metrics(tmp_path: Path) -> None:
    async def scenario(sim: Simulator, app: Appliance) -> None:
        app.handle(state.Start())
        await until(lambda: app.shown.state == "listening", DEADLINE_S, "listening")
        m = metrics_of(app)
        assert m["appliance_sessions_started_total"] == 1
        assert m['appliance_state{state="listening"}'] == 1
        assert m["appliance_key_fetch_seconds_count"] == 1, "the key's fetch was timed"
        assert 0 < m["appliance_key_fetch_seconds_sum"] < DEADLINE_S
        app.handle(state.Stop())
        await until(lambda: app.shown.state == "idle", DEADLINE_S, "idle")
        m = metrics_of(app)
        assert m['appliance_sessions_stopped_total{reason="press"}'] == 1
        assert m['appliance_state{state="idle"}'] == 1

    run(tmp_path, scenario)


def test_a_failed_key_fetch_is_counted_with_its_error_kind(tmp_path: Path) -> None:
    async def scenario(sim: Simulator, app: Appliance) -> None:
        await sim.apply_script({"fault": "http", "path": "/provision", "status": 500})
        app.handle(state.Start())
        await until(lambda: app.shown.state == "error", DEADLINE_S, "the error state")
        m = metrics_of(app)
        assert m["appliance_key_fetch_failures_total"] == 1
        assert m["appliance_key_fetch_seconds_count"] == 0
        assert m['appliance_errors_total{kind="provisioning"}'] == 1
        assert m['appliance_state{state="error"}'] == 1
        assert m["appliance_sessions_started_total"] == 0

    run(tmp_path, scenario)


def test_without_a_metrics_section_nothing_of_it_is_loaded(tmp_path: Path) -> None:
    assert not AppConfig().metrics.enabled
    code = (
        "import sys\n"
        "from appliance.app import Appliance\n"
        "from appliance.audio.backend import NullBackend\n"
        "from appliance.config import validate\n"
        "from appliance.hub import Hub\n"
        f"config = validate({{'control': {{'socket': {str(tmp_path / 's.sock')!r}}}}})\n"
        "app = Appliance(config, Hub(), NullBackend())\n"
        "print(app.exporter, sorted(m for m in sys.modules if m in\n"
        "    ('appliance.exporter', 'appliance.metrics')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None []"
