"""The appliance's worker in-process: inputs in, views and bus events out.

:class:`~appliance.app.Appliance` runs on the test's event loop against the real simulator on
127.0.0.1, with the null audio backend, no GPIO and its control socket in a temporary
directory. What the front ends see (the hub's views) and what the hooks and the socket's
subscribers get (the bus's events) are recorded as they happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from appliance import state
from appliance.app import Appliance
from appliance.rig.inprocess import running_worker
from appliance.rig.process import until
from appliance.sim.server import Simulator

DEADLINE_S = 5.0
"""Each wait's limit, for a loaded machine: everything here normally takes milliseconds."""


class Recorded:
    """An :class:`Appliance` with what it shows recorded: each view the hub shows, with
    whether the audio device was open at that moment, and each bus event."""

    def __init__(self, app: Appliance) -> None:
        self.app = app
        self.views: list[tuple[str, bool]] = []
        self.events: list[dict[str, Any]] = []
        app.hub.on_view(lambda view: self.views.append((view.state, app.audio.is_open)))
        app.bus.listen(self.events.append)

    def states(self) -> list[str]:
        return [name for name, _open in self.views]

    def event_types(self) -> list[str]:
        return [e["type"] if e["type"] != "state" else f"state:{e['state']}" for e in self.events]


def untimed(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` without the time the bus stamped on it."""
    return {key: value for key, value in event.items() if key != "time"}


def run(
    tmp_path: Path,
    scenario: Callable[[Simulator, Recorded], Awaitable[None]],
    **config: Any,
) -> None:
    """Run ``scenario`` with a fresh simulator and an appliance keyed by its provisioning URL
    (``config``: more sections); stop both whatever happens."""

    async def main() -> None:
        async with Simulator(pace=50.0) as sim:
            settings = {
                "openai": {"api_base": sim.url, "dialect": "ga"},
                "realtime": {"provisioning": {"url": f"{sim.url}/provision?shape=value"}},
                "audio": {"backend": "none"},
                "control": {"socket": str(tmp_path / "control.sock")},
                "recovery": {"backoff_initial_s": 0.01, "backoff_max_s": 0.01},
                **config,
            }
            recorded: list[Recorded] = []
            async with running_worker(settings, lambda app: recorded.append(Recorded(app))):
                await scenario(sim, recorded[0])

    asyncio.run(main())


@pytest.fixture(autouse=True)
def outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)


def test_start_then_stop_show_the_views_and_emit_the_events_in_order(tmp_path: Path) -> None:
    async def scenario(sim: Simulator, r: Recorded) -> None:
        r.app.hub.post(state.Start())  # as the screen, the button or the socket posts it
        await until(lambda: r.app.shown.phase is state.Phase.LIVE, DEADLINE_S, "live")
        assert r.states() == ["connecting", "listening"]
        assert r.app.hub.view == r.app.shown == r.app.machine.view
        assert r.event_types() == ["state:connecting", "started", "state:listening"]
        assert sim.state()["sessions_open"] == 1 and r.app.audio.is_open

        r.app.hub.post(state.Stop())
        await until(lambda: r.app.shown.phase is state.Phase.IDLE, DEADLINE_S, "idle")
        # idle is shown only once the session's audio device is closed
        assert r.views[-1] == ("idle", False)
        assert r.states() == ["connecting", "listening", "idle"]
        assert r.event_types()[3:] == ["stopped", "state:idle"]
        await until(lambda: sim.state()["sessions_open"] == 0, DEADLINE_S, "the socket closed")
        assert r.app.status()["state"] == "idle" and r.app.status()["last_error"] is None

    run(tmp_path, scenario)


def test_commands_answer_with_the_state_they_lead_to(tmp_path: Path) -> None:
    async def scenario(sim: Simulator, r: Recorded) -> None:
        assert r.app.command("nonsense") == {"ok": False, "error": "unknown command 'nonsense'"}
        assert r.app.command("toggle") == {"ok": True, "state": "connecting", "muted": False}
        await until(lambda: r.app.shown.state == "listening", DEADLINE_S, "listening")
        assert r.app.command("mute") == {"ok": True, "state": "muted", "muted": True}
        assert r.states()[-1] == "muted"
        assert r.events[-1]["type"] == "state" and r.events[-1]["muted"] is True
        assert r.app.command("stop")["state"] == "idle"
        await until(lambda: r.app.shown.state == "idle", DEADLINE_S, "idle")
        assert r.states() == ["connecting", "listening", "muted", "idle"]

    run(tmp_path, scenario)


def test_a_session_without_a_key_ends_in_the_error_view_with_an_error_event(
    tmp_path: Path,
) -> None:
    async def scenario(sim: Simulator, r: Recorded) -> None:
        await sim.apply_script({"fault": "http", "path": "/provision", "status": 500})
        r.app.handle(state.Start())
        await until(lambda: r.app.shown.phase is state.Phase.ERROR, DEADLINE_S, "an error")
        assert r.states() == ["connecting", "error"]
        cause = r.app.shown.error_cause
        assert cause and "500" in cause
        errors = [untimed(e) for e in r.events if e["type"] == "error"]
        assert errors == [{"type": "error", "message": cause, "fatal": True}]
        assert untimed(r.events[-1]) == {"type": "state", **r.app.shown.as_dict()}
        assert sim.log.connections == []  # no key, no connection

    run(tmp_path, scenario, recovery={"max_attempts": 0})
