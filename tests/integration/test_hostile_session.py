"""Hostile inputs to the realtime session, end to end: the real ``appliance run`` against the
strict simulator (and, for function calls, a real webhook on localhost).

A model (or a server) asking for thousands of function calls in one response; a server that
refuses the beta API, met with a config validated for beta; the refusal remembered across
reloads and restarts in a state file that may be corrupt; a reasoning model's GA fields.
Every test is bounded in time, and the flood in memory too.
"""

from __future__ import annotations

import pytest
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
