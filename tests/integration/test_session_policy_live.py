"""The session policy's rules, against real processes: a real ``appliance run`` and the strict
simulator. The same rules are unit-tested on the pure core in tests/unit/test_session_policy.py;
these prove the shell carries them out.
"""

from __future__ import annotations

from rig import session_config

from appliance.rig.process import wait_until

FAST_RETRY = {"backoff_initial_s": 0.1, "backoff_max_s": 0.2}


def test_a_server_that_refuses_beta_is_met_with_ga_from_then_on(sim, start):
    # Deep Chat's own provisioning example answers {"client_secret": {"value": ...}}, the
    # beta shape; the server, like the live service since the beta shutdown, refuses beta.
    sim.script({"fault": "refuse_beta"})
    config = session_config(sim, "beta", recovery=FAST_RETRY)  # a preview model
    config["openai"]["dialect"] = "auto"
    config["realtime"]["provisioning"]["url"] = f"{sim.url}/provision?shape=client_secret"
    app = start(config)
    for _ in range(3):  # three presses: every one reaches a live session
        app.ctl("start")
        status = app.wait_state("listening")
        assert status["dialect"] == "ga" and status["last_error"] is None
        app.ctl("stop")
        app.wait_state("idle")
    dialects = [(c["dialect"], c["accepted"]) for c in sim.log()["connections"]]
    # one refused beta attempt, never again; then GA every time
    assert dialects == [("beta", False), ("ga", True), ("ga", True), ("ga", True)]
    assert not any(e.get("state") in ("error", "reconnecting") for e in app.events)


def test_the_conversation_comes_back_after_a_dropped_socket(sim, start):
    config = session_config(sim, "ga", realtime={"auto_start": True}, recovery=FAST_RETRY)
    app = start(config)
    app.wait_state("listening")
    assert app.ctl("say", text="My name is Ada.", role="user")["ok"]
    app.wait_event(
        lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "the answer"
    )
    app.wait_state("listening")
    answer = [e["text"] for e in app.events if e["type"] == "transcript"][-1]
    sim.script({"fault": "drop", "after_deltas": 1})
    app.ctl("say", text="Tell me a long story.", role="user")
    app.wait_event(lambda e: e.get("state") == "reconnecting", 10, "the drop")
    app.wait_state("listening")

    def replayed() -> list[tuple[str, str]]:
        items = [e["item"] for e in sim.client_events("conversation.item.create")]
        return [
            (item["role"], item["content"][0]["text"])
            for item in items
            if item.get("type") == "message"
        ]

    # the new session got the earlier turns back as items, in order, with no new response
    wait_until(lambda: replayed().count(("user", "My name is Ada.")) == 2, 10, "the replay")
    items = replayed()
    second_session = items[items.index(("user", "My name is Ada."), 1) :]
    assert second_session[:2] == [("user", "My name is Ada."), ("assistant", answer)]
    assert sim.log()["errors"] == []  # the strict simulator accepted every replayed item
    assert app.ctl("status")["last_error"] is None


def test_reload_keeps_the_command_line_settings(sim, start, tmp_path):
    socket = tmp_path / "cli.sock"
    app = start(session_config(sim, "ga"), extra_args=("--socket", str(socket)), wait_ready=False)
    app.socket = socket  # the command line's socket, not the file's
    app.process.socket = socket
    app.wait_ready()  # on the socket given on the command line
    reply = app.ctl("reload")
    assert reply["ok"] and reply["restart_needed"] == [], reply
    assert app.ctl("status")["ok"]  # still on the command line's socket
