"""Hostile inputs to the realtime session, end to end: the real ``appliance run`` against the
strict simulator (and, for function calls, a real webhook on localhost).

A model (or a server) asking for thousands of function calls in one response; a server that
refuses the beta API, met with a config validated for beta; the refusal remembered across
reloads and restarts in a state file that may be corrupt; a reasoning model's GA fields.
Every test is bounded in time, and the flood in memory too.
"""

from __future__ import annotations

import json
import stat
import threading
import time
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import tomli_w
from fault_matrix import row
from rig import session_config

from appliance.rig.httpserver import LocalHTTPServer
from appliance.rig.process import peak_rss_mib, wait_until

pytestmark = pytest.mark.hostile


# --- a reasoning model's GA fields reach the server ------------------------------------------


def test_reasoning_effort_and_parallel_tool_calls_reach_the_ga_server(sim, start) -> None:
    config = session_config(sim, "ga", realtime={"auto_start": True})
    config["realtime"]["config"].update(
        {"reasoning": {"effort": "minimal"}, "parallel_tool_calls": False}
    )
    app = start(config)
    app.wait_state("listening")
    update = wait_until(lambda: sim.client_events("session.update"), 10, "session.update")[0]
    assert update["session"]["reasoning"] == {"effort": "minimal"}
    assert update["session"]["parallel_tool_calls"] is False
    assert sim.log()["errors"] == []  # the strict simulator took them, as GA does


def test_reasoning_on_the_beta_dialect_is_refused_before_anything_starts(sim, tmp_path) -> None:
    import subprocess
    import sys

    from rig import handlers_env

    config = session_config(sim, "beta")
    config["realtime"]["config"]["reasoning"] = {"effort": "high"}
    path = tmp_path / "beta.toml"
    path.write_text(tomli_w.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=handlers_env(),
    )
    assert result.returncode == 2
    assert "realtime.config.reasoning: the beta Realtime API has no reasoning" in result.stderr


# --- status says where keys come from ---------------------------------------------------------


def test_status_says_none_configured_without_a_key_source(sim, start) -> None:
    app = start(session_config(sim, "ga", source="none"))
    assert app.ctl("status")["key_source"] == "none configured"
    assert "key source: none configured" in app.log()


# --- a flood of function calls in one response ------------------------------------------------


class CountingWebhook:
    """A function webhook on localhost: answers every call with JSON, counts them."""

    def __init__(self) -> None:
        self.calls = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    outer.calls += 1
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LocalHTTPServer(Handler)
        self.url = f"{self.server.url}/function"

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def webhook() -> Iterator[CountingWebhook]:
    hook = CountingWebhook()
    yield hook
    hook.close()


FLOOD = 10_000
FLOOD_RSS_MIB = 200.0
"""Peak memory of the appliance answering a flood of function calls (idle: about 80 MiB)."""


def _outputs(sim: Any) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in sim.client_events("conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]


@row("function_flood")
def test_a_flood_of_function_calls_runs_32_webhook_calls_and_answers_the_rest(
    fault, sim, start, webhook
) -> None:
    config = session_config(sim, "ga", realtime={"auto_start": True})
    config["realtime"]["config"]["function_handler"] = {"url": webhook.url}
    app = start(config)
    app.wait_state("listening")
    began = time.monotonic()
    calls = [{"name": "get_weather", "arguments": '{"city": "Paris"}'} for _ in range(FLOOD)]
    sim.script({"function_calls": calls})
    sim.script({"transcript": "Done."})  # the answer after the outputs: short
    assert app.ctl("say", text="Weather everywhere, please.", role="user")["ok"]
    app.wait_event(
        lambda e: e["type"] == "transcript" and e["text"] == "Done.", 30, "the answer after"
    )
    outputs = wait_until(lambda: len(_outputs(sim)) == FLOOD and _outputs(sim), 30, "outputs", 0.5)
    elapsed = time.monotonic() - began
    peak = peak_rss_mib(app.proc.pid)
    assert webhook.calls == 32  # the default realtime.max_function_calls
    results = [json.loads(item["output"]) for item in outputs]
    assert sum(r == {"ok": True} for r in results) == 32
    refused = [r for r in results if "error" in r]
    assert len(refused) == FLOOD - 32
    assert all("realtime.max_function_calls" in r["error"] for r in refused)
    assert len({item["call_id"] for item in outputs}) == FLOOD  # every call answered once
    warnings = [line for line in app.log().splitlines() if "max_function_calls" in line]
    assert len(warnings) == 1, warnings  # one line for the response, not one per call
    assert sim.log()["errors"] == []
    assert app.ctl("status")["state"] in ("listening", "speaking")
    assert elapsed < 30, elapsed
    assert peak < FLOOD_RSS_MIB, peak
    assert fault.log in app.log()


# --- a server that refuses beta, met with a config validated for beta -------------------------


def _auto_preview(sim: Any, source: str = "provisioning") -> dict[str, Any]:
    """A preview model with ``dialect = "auto"``, keys in the beta shape (Deep Chat's own
    provisioning example): sessions start in beta."""
    config = session_config(sim, "beta", source=source)
    config["openai"]["dialect"] = "auto"
    if source == "provisioning":
        config["realtime"]["provisioning"]["url"] = f"{sim.url}/provision?shape=client_secret"
    return config


def _dialects(sim: Any, since: int = 0) -> list[tuple[str, bool]]:
    return [(c["dialect"], c["accepted"]) for c in sim.log()["connections"][since:]]


def _press(app: Any, dialect: str = "ga") -> None:
    """Start a session, see it live in ``dialect`` without an error, stop it."""
    app.ctl("start")
    status = app.wait_state("listening")
    assert status["dialect"] == dialect and status["last_error"] is None, status
    app.ctl("stop")
    app.wait_state("idle")


@row("beta_refused_temperature")
def test_temperature_is_left_out_once_on_ga_after_the_server_refused_beta(
    fault, sim, start
) -> None:
    sim.script({"fault": "refuse_beta"})
    config = _auto_preview(sim, source="mint")  # the minted key carries the session too
    config["realtime"]["config"]["temperature"] = 0.8  # beta's: validates for a preview model
    app = start(config)
    for _ in range(3):  # every press reaches a live session, none is stuck on an error
        _press(app)
    assert _dialects(sim) == [("beta", False), ("ga", True), ("ga", True), ("ga", True)]
    updates = [e["session"] for e in sim.client_events("session.update")]
    assert len(updates) == 3 and all("temperature" not in u for u in updates)
    warnings = [line for line in app.log().splitlines() if "config.temperature" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], warnings
    assert "left out" in warnings[0] and "refused beta" in warnings[0]
    assert not any(e.get("state") == "error" for e in app.events)
    assert fault.log in app.log()


# --- the refusal is remembered across reloads and restarts ---------------------------------


def test_a_reload_changing_a_realtime_field_keeps_ga(sim, start) -> None:
    sim.script({"fault": "refuse_beta"})
    app = start(_auto_preview(sim))
    _press(app)
    assert _dialects(sim) == [("beta", False), ("ga", True)]
    data = tomllib.loads(app.config_path.read_text())
    data["realtime"]["provisioning"]["timeout_s"] = 6  # any realtime field
    app.config_path.write_text(tomli_w.dumps(data))
    assert app.ctl("reload")["ok"]
    _press(app)
    assert _dialects(sim, 2) == [("ga", True)]  # no beta attempt after the reload


def test_a_restart_with_the_same_state_file_goes_straight_to_ga(sim, start, tmp_path) -> None:
    state = tmp_path / "state"
    sim.script({"fault": "refuse_beta"})
    first = start(_auto_preview(sim), env={"STATE_DIRECTORY": str(state)})
    _press(first)
    assert first.stop() == 0
    remembered = state / "dialect.json"
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600
    assert sim.url in json.loads(remembered.read_text())["beta_refused"]
    seen = len(sim.log()["connections"])
    second = start(_auto_preview(sim), env={"STATE_DIRECTORY": str(state)})
    assert second.ctl("status")["dialect"] == "ga"
    _press(second)
    assert _dialects(sim, seen) == [("ga", True)]  # the real process never tried beta


def test_a_refusal_older_than_a_day_tries_beta_again(sim, start, tmp_path) -> None:
    fresh, old = tmp_path / "fresh", tmp_path / "old"
    for folder, age in ((fresh, 60), (old, 2 * 86_400)):
        folder.mkdir(mode=0o700)
        entry = {"version": 1, "beta_refused": {sim.url: time.time() - age}}
        (folder / "dialect.json").write_text(json.dumps(entry))
    # the simulator serves beta here: only the file can make the appliance choose GA
    _press(start(_auto_preview(sim), env={"STATE_DIRECTORY": str(fresh)}), "ga")
    assert _dialects(sim) == [("ga", True)]
    _press(start(_auto_preview(sim), env={"STATE_DIRECTORY": str(old)}), "beta")
    assert _dialects(sim, 1) == [("beta", True)]


def test_a_corrupt_state_file_is_ignored_with_one_warning(sim, start, tmp_path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    remembered = state / "dialect.json"
    remembered.write_bytes(b'\x00\xff{"beta_refused": ' + b"[" * 5000)
    sim.script({"fault": "refuse_beta"})
    app = start(_auto_preview(sim), env={"STATE_DIRECTORY": str(state)})
    _press(app)
    _press(app)
    assert _dialects(sim) == [("beta", False), ("ga", True), ("ga", True)]
    warnings = [line for line in app.log().splitlines() if str(remembered) in line]
    assert [("WARNING" in w, "ignored" in w) for w in warnings[:1]] == [(True, True)], warnings
    assert sum("not JSON" in w for w in warnings) == 1
    assert sim.url in json.loads(remembered.read_text())["beta_refused"]  # replaced, valid
