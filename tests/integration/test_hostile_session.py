"""Hostile inputs to the realtime session, end to end: the real ``appliance run`` against the
strict simulator (and, for function calls, a real webhook on localhost).

A model (or a server) asking for thousands of function calls in one response; a server that
refuses the beta API, met with a config validated for beta; the refusal remembered across
reloads and restarts in a state file that may be corrupt; a reasoning model's GA fields.
Every test is bounded in time, and the flood in memory too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from processes import peak_rss_mib
from rig import session_config, wait_until

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

    import tomli_w
    from rig import _env

    config = session_config(sim, "beta")
    config["realtime"]["config"]["reasoning"] = {"effort": "high"}
    path = tmp_path / "beta.toml"
    path.write_text(tomli_w.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(),
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

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a burst of parallel calls is not refused
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/function"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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


def test_a_flood_of_function_calls_runs_32_webhook_calls_and_answers_the_rest(
    sim, start, webhook
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
