"""The session's policy without sockets or threads: frames, closes and a clock in, decisions out.

Each bug once found by running processes has its test here, on the pure core
(:class:`appliance.realtime.session.Session`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from appliance import state
from appliance.config import AppConfig, load, restart_needed, validate
from appliance.realtime.dialects import DIALECTS
from appliance.realtime.session import (
    HANDSHAKE_TIMEOUT_S,
    STABLE_AFTER_S,
    Caption,
    Close,
    EmitEvent,
    EphemeralKey,
    Feed,
    GiveUp,
    Memory,
    Mint,
    OpenAudio,
    Play,
    Provision,
    RememberBetaRefusal,
    Renew,
    Retry,
    RunFunctions,
    Send,
    Session,
    StopPlayback,
    UseKey,
)

BETA_MODEL = "gpt-4o-realtime-preview-2025-06-03"


def make_config(**sections: Any) -> AppConfig:
    data: dict[str, Any] = {"openai": {"api_base": "http://127.0.0.1:9"}}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return validate(data)


def provisioned(**realtime: Any) -> AppConfig:
    return make_config(
        realtime={"provisioning": {"url": "http://127.0.0.1:9/provision"}, **realtime}
    )


def session_for(config: AppConfig, memory: Memory | None = None) -> Session:
    return Session(config, memory or Memory(), rand=lambda: 0.5, has_api_key=lambda _c: False)


def key(dialect: str | None = None, expires_at: float | None = None, at: float = 0.0):
    return EphemeralKey("ek_test", "provisioning", dialect, expires_at, at)


def frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def created(session_id: str = "sess_1") -> str:
    return frame("session.created", session={"id": session_id})


def beta_refusal() -> str:
    return frame(
        "error",
        error={
            "type": "invalid_request_error",
            "code": "beta_api_shape_disabled",
            "message": "The beta API shape is no longer supported.",
        },
    )


def sent(actions: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(a.frame) for a in actions if isinstance(a, Send)]


def go_live(session: Session, now: float = 0.0, k: EphemeralKey | None = None) -> list[Any]:
    """Connect with ``k`` and receive ``session.created``; returns the actions."""
    session.connecting(k or key(), now)
    actions = session.on_frame(created(), now)
    assert any(isinstance(a, OpenAudio) for a in actions)
    return actions + session.audio_opened(now)


# --- dialects: the GA fallback sticks (bugs 1 and 2) ----------------------------------------


def test_a_ga_model_is_never_tried_on_beta_whatever_the_reply_shape():
    session = session_for(provisioned())  # dialect "auto", the default GA model
    session.connecting(key(dialect="beta"), 0.0)  # Deep Chat's example: the beta shape
    assert session.connection_dialect == "ga"


def test_after_a_beta_refusal_ga_is_used_even_when_the_next_key_looks_beta():
    memory = Memory()
    session = session_for(provisioned(config={"model": BETA_MODEL}), memory)  # "auto"
    url, headers = session.connecting(key(dialect="beta"), 0.0)  # the reply's shape: beta
    assert session.connection_dialect == "beta" and headers.get("OpenAI-Beta")
    assert isinstance(session.on_frame(beta_refusal(), 0.1)[0], Close)
    decision = session.on_closed(4000, "beta refused", 0.2)
    assert isinstance(decision, Renew) and session.failures == 0  # at once, not a failure
    # the next key again has the beta shape: it no longer decides
    url, headers = session.connecting(key(dialect="beta"), 0.3)
    assert session.connection_dialect == "ga" and "OpenAI-Beta" not in headers
    assert url.startswith("ws://127.0.0.1:9/v1/realtime")


def test_a_remembered_refusal_spares_every_later_session_the_beta_attempt():
    memory = Memory()
    config = provisioned(config={"model": BETA_MODEL})
    first = session_for(config, memory)
    first.connecting(key(), 0.0)
    assert first.connection_dialect == "beta"  # the preview model suggests beta
    first.on_frame(beta_refusal(), 0.1)
    assert isinstance(first.on_closed(4000, "", 0.2), Renew)
    second = session_for(config, memory)  # the next press, same configuration
    second.connecting(key(dialect="beta"), 10.0)
    assert second.connection_dialect == "ga"


def test_a_beta_refusal_is_handed_on_to_be_kept_across_restarts():
    session = session_for(provisioned(config={"model": BETA_MODEL}))
    session.connecting(key(), 0.0)
    session.on_frame(beta_refusal(), 0.1)
    decision = session.on_closed(4000, "", 0.2)
    assert isinstance(decision, Renew)
    assert decision.actions == (RememberBetaRefusal("http://127.0.0.1:9"),)
    # a memory that starts out knowing (from the state file) goes straight to GA
    known = session_for(provisioned(config={"model": BETA_MODEL}), Memory(beta_refused=True))
    known.connecting(key(dialect="beta"), 0.0)
    assert known.connection_dialect == "ga"


def warned_session(config: AppConfig, memory: Memory, warnings: list[str], **kw: Any) -> Session:
    kw.setdefault("has_api_key", lambda _c: False)
    return Session(config, memory, rand=lambda: 0.5, warn=warnings.append, **kw)


def test_after_a_beta_refusal_temperature_is_left_out_with_one_warning():
    # a preview model with temperature validates (auto starts in beta, which has it)
    config = provisioned(config={"model": BETA_MODEL, "temperature": 0.8, "voice": "alloy"})
    memory, warnings = Memory(), []
    first = warned_session(config, memory, warnings)
    first.connecting(key(), 0.0)
    assert first.connection_dialect == "beta"
    first.on_frame(beta_refusal(), 0.1)
    assert isinstance(first.on_closed(4000, "", 0.2), Renew)
    first.connecting(key(), 0.3)  # GA now: no "the GA Realtime API has no temperature"
    (update,) = [e for e in sent(first.on_frame(created(), 0.4)) if e["type"] == "session.update"]
    assert "temperature" not in update["session"]
    assert update["session"]["audio"]["output"]["voice"] == "alloy"  # the rest is sent
    for press in range(3):  # every later press works too, without another warning
        later = warned_session(config, memory, warnings)
        later.connecting(key(), 10.0 + press)
        assert later.connection_dialect == "ga"
    assert len(warnings) == 1
    assert "realtime.config.temperature" in warnings[0] and "beta" in warnings[0]
    assert config.realtime.config.temperature == 0.8  # the configuration is unchanged
    # a live reload sends the whole session: without temperature as well
    (resent,) = sent(first.resend_session(config.realtime.config, 20.0))
    assert resent["type"] == "session.update" and "temperature" not in resent["session"]


def test_a_key_minted_on_ga_after_a_refusal_is_minted_without_temperature():
    config = make_config(
        openai={"api_base": "http://127.0.0.1:9", "key": "sk-test-123"},
        realtime={"config": {"model": BETA_MODEL, "temperature": 0.8}},
    )
    memory, warnings = Memory(beta_refused=True), []
    plan = warned_session(config, memory, warnings, has_api_key=lambda _c: True).key_plan(0.0)
    assert isinstance(plan, Mint) and plan.dialect == "ga"
    assert "temperature" not in DIALECTS["ga"].mint_body(plan.config)["session"]
    beta = warned_session(config, Memory(), warnings, has_api_key=lambda _c: True).key_plan(0.0)
    assert isinstance(beta, Mint) and beta.dialect == "beta"
    assert DIALECTS["beta"].mint_body(beta.config)["temperature"] == 0.8
    assert len(warnings) == 1


def test_a_refusal_with_dialect_beta_is_reported_not_retried():
    session = session_for(
        make_config(
            openai={"api_base": "http://127.0.0.1:9", "dialect": "beta"},
            realtime={"config": {"model": BETA_MODEL}, "provisioning": {"url": "http://x/p"}},
        )
    )
    session.connecting(key(), 0.0)
    session.on_frame(beta_refusal(), 0.1)
    decision = session.on_closed(4000, "", 0.2)
    assert isinstance(decision, GiveUp) and 'openai.dialect = "ga"' in decision.message


# --- keys (bugs 4 and 9) -------------------------------------------------------------------


def test_a_spent_static_key_fails_at_once():
    memory = Memory()
    config = make_config(realtime={"ephemeral_key": "ek_static_123"})
    first = session_for(config, memory)
    plan = first.key_plan(wall=0.0)
    assert isinstance(plan, UseKey) and plan.key.value == "ek_static_123"
    second = session_for(config, memory)  # the next press
    plan = second.key_plan(wall=60.0)
    assert isinstance(plan, GiveUp) and "already used" in plan.message
    assert "ek_static_123" not in plan.message


def test_key_sources_in_order():
    both = make_config(
        realtime={"provisioning": {"url": "http://x/p"}},
        openai={"api_base": "http://x", "key": "sk-test-123"},
    )
    session = Session(both, Memory(), has_api_key=lambda _c: True)
    assert isinstance(session.key_plan(wall=0.0), Provision)
    minted = Session(
        make_config(openai={"api_base": "http://x", "key": "sk-test-123"}),
        Memory(),
        has_api_key=lambda _c: True,
    )
    assert minted.key_plan(wall=0.0) == Mint("ga", minted.config.realtime.config)
    nothing = session_for(make_config())
    plan = nothing.key_plan(wall=0.0)
    assert isinstance(plan, GiveUp) and "no key source" in plan.message


def test_a_key_fetched_ahead_serves_a_press_minutes_later_while_it_is_valid():
    memory = Memory()
    session = session_for(provisioned(auto_fetch_ephemeral_key=True), memory)
    ahead = key(expires_at=1000.0 + 600, at=1000.0)  # a GA key: ten minutes
    session.keep_prefetched(ahead)
    plan = session.key_plan(wall=1000.0 + 70)  # the first press, a minute after boot
    assert plan == UseKey(ahead)
    assert memory.prefetched is None  # single use: the next press fetches again


def test_a_key_fetched_ahead_is_not_used_once_it_is_about_to_expire():
    memory = Memory()
    session = session_for(provisioned(), memory)
    ahead = key(expires_at=1060.0, at=1000.0)
    assert ahead.refresh_at() < 1060.0  # replaced a little ahead of its expiry
    session.keep_prefetched(ahead)
    assert isinstance(session.key_plan(wall=1055.0), Provision)
    # a reply without an expiry is trusted for the shortest lifetime the service gives
    assert key(at=1000.0).usable_at(1030.0) and not key(at=1000.0).usable_at(1059.0)


# --- recovery (bugs 5, 6 and 7) -------------------------------------------------------------


def test_the_handshake_deadline_covers_session_created():
    session = session_for(provisioned())
    session.connecting(key(), 0.0)
    assert session.on_timer(HANDSHAKE_TIMEOUT_S - 0.1, audible=False) == []
    actions = session.on_timer(HANDSHAKE_TIMEOUT_S + 0.1, audible=False)
    assert actions and isinstance(actions[0], Close)
    decision = session.on_closed(1000, "no session.created", HANDSHAKE_TIMEOUT_S + 0.2)
    assert isinstance(decision, Retry)
    assert "did not start the session" in decision.cause


def test_connections_that_fail_right_after_going_live_count_against_max_attempts():
    config = provisioned()
    config.recovery.max_attempts = 1
    session = session_for(config)
    go_live(session, 0.0)
    first = session.on_closed(1009, "message too big", 0.5)  # a 20 MB frame
    assert isinstance(first, Retry) and first.attempt == 1
    go_live(session, 2.0)
    second = session.on_closed(1009, "message too big", 2.5)
    assert isinstance(second, GiveUp) and "gave up after 1 retry" in second.message


def test_a_connection_this_side_ended_says_why_instead_of_blaming_the_server():
    session = session_for(provisioned())
    go_live(session, 0.0)
    ours = "the server sent a 50 MB message (limit 16 MB)"
    decision = session.on_closed(1006, "", 0.5, ours=ours)
    assert isinstance(decision, Retry) and decision.cause == ours
    assert session.last_error == ours
    go_live(session, 2.0)
    assert "closed by the server (code 1006)" in session.on_closed(1006, "", 2.5).cause


def test_a_connection_that_stayed_up_starts_the_count_afresh():
    config = provisioned()
    config.recovery.max_attempts = 1
    session = session_for(config)
    go_live(session, 0.0)
    assert isinstance(session.on_closed(1006, "", 0.5), Retry)
    go_live(session, 2.0)
    decision = session.on_closed(1006, "", 2.0 + STABLE_AFTER_S + 1)
    assert isinstance(decision, Retry) and decision.attempt == 1


def test_last_error_is_cleared_once_the_session_is_live_again():
    session = session_for(provisioned())
    go_live(session, 0.0)
    decision = session.on_closed(1006, "", 1.0)
    assert isinstance(decision, Retry)
    assert Feed(state.Reconnecting(decision.cause, 1)) in decision.actions
    assert session.last_error and "code 1006" in session.last_error
    go_live(session, 3.0)
    assert session.last_error is None


def test_a_fatal_server_error_is_not_retried():
    session = session_for(provisioned())
    go_live(session, 0.0)
    error = frame("error", error={"code": "invalid_api_key", "message": "bad key"})
    actions = session.on_frame(error, 0.5)
    assert any(isinstance(a, EmitEvent) and a.event["fatal"] is False for a in actions)
    decision = session.on_closed(1008, "", 0.6)
    assert isinstance(decision, GiveUp) and "invalid_api_key" in decision.message


def test_a_stall_closes_the_connection_and_a_quiet_moment_renews_it():
    config = provisioned()
    config.recovery.session_max_s = 100
    session = session_for(config)
    go_live(session, 0.0)
    session.say("Hello?", "user", None, 1.0)  # an answer is now owed
    assert session.on_timer(1.0 + config.recovery.stall_timeout_s - 1, audible=False) == []
    assert session.on_timer(1.0 + config.recovery.stall_timeout_s + 1, audible=False) == [
        Close(1000, "stalled")
    ]
    assert "stopped answering" in session.on_closed(1000, "stalled", 20.0).cause
    go_live(session, 30.0)
    assert session.on_timer(140.0, audible=True) == []  # the model is talking: wait
    assert session.on_timer(141.0, audible=False) == [Close(1000, "renewing")]
    assert isinstance(session.on_closed(1000, "renewing", 141.5), Renew)


# --- barge-in, functions, replay ------------------------------------------------------------


@dataclass
class Played:
    item_id: str
    content_index: int
    played_ms: int


def test_barge_in_cancels_and_truncates_at_the_played_ms_then_drops_that_item():
    session = session_for(provisioned())
    go_live(session)
    session.on_frame(frame("response.created", response={"id": "resp_1"}), 1.0)
    assert session.on_frame(frame("input_audio_buffer.speech_started", audio_start_ms=10), 1.1) == [
        StopPlayback(cancel_response=False)
    ]
    actions = session.barge_in(Played("item_1", 0, 420), cancel_response=True, now=1.2)
    assert [e["type"] for e in sent(actions)] == ["response.cancel", "conversation.item.truncate"]
    assert sent(actions)[1]["audio_end_ms"] == 420
    late = frame("response.output_audio.delta", item_id="item_1", content_index=0, delta="AAAAAA==")
    assert session.on_frame(late, 1.3) == []  # what the server had already sent is dropped
    other = frame(
        "response.output_audio.delta", item_id="item_2", content_index=0, delta="AAAAAA=="
    )
    assert isinstance(session.on_frame(other, 1.4)[0], Play)


def test_every_function_call_gets_its_output_then_one_response():
    session = session_for(provisioned())
    go_live(session)
    done = frame(
        "response.done",
        response={
            "id": "r",
            "status": "completed",
            "output": [
                {"type": "function_call", "name": "a", "arguments": "{}", "call_id": "c1"},
                {"type": "function_call", "name": "b", "arguments": "{}", "call_id": "c2"},
            ],
        },
    )
    run = [a for a in session.on_frame(done, 1.0) if isinstance(a, RunFunctions)]
    assert [c.call_id for c in run[0].calls.calls] == ["c1", "c2"]
    events = sent(session.function_results([("c1", {"ok": 1}), ("c2", {"ok": 2})], 1.1))
    assert [e["type"] for e in events] == ["conversation.item.create"] * 2 + ["response.create"]
    assert [e["item"]["call_id"] for e in events[:2]] == ["c1", "c2"]


def calls_done(count: int) -> str:
    """A ``response.done`` asking for ``count`` function calls."""
    output = [
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": f"c{i}"}
        for i in range(count)
    ]
    return frame("response.done", response={"id": "r", "status": "completed", "output": output})


def test_a_flood_of_function_calls_runs_only_the_first_32_and_refuses_the_rest():
    session = session_for(provisioned())  # realtime.max_function_calls: the default
    go_live(session)
    actions = session.on_frame(calls_done(10_000), 1.0)
    (run,) = [a for a in actions if isinstance(a, RunFunctions)]
    ran: list[str] = []

    def handler(call: Any) -> dict[str, Any]:
        ran.append(call.call_id)
        return {"ok": True}

    results = [(call.call_id, handler(call)) for call in run.calls.calls]
    assert ran == [f"c{i}" for i in range(32)]  # exactly 32 handler runs: the first ones
    assert len(run.refused) == 9_968
    # one line for the whole response, naming the count, the limit and the setting
    assert run.warning is not None and "\n" not in run.warning
    assert "10000" in run.warning and "32" in run.warning
    assert "realtime.max_function_calls" in run.warning
    events = sent(session.function_results(results + list(run.refused), 1.1))
    assert len(events) == 10_001 and events[-1]["type"] == "response.create"
    items = [e["item"] for e in events[:-1]]
    assert [item["call_id"] for item in items] == [f"c{i}" for i in range(10_000)]
    outputs = [json.loads(item["output"]) for item in items]
    assert outputs[:32] == [{"ok": True}] * 32
    refused = outputs[32:]
    assert all("not run" in o["error"] and "max_function_calls" in o["error"] for o in refused)


def test_the_function_call_limit_is_configurable_and_calls_within_it_all_run():
    session = session_for(provisioned(max_function_calls=2))
    go_live(session)
    (run,) = [a for a in session.on_frame(calls_done(3), 1.0) if isinstance(a, RunFunctions)]
    assert [c.call_id for c in run.calls.calls] == ["c0", "c1"]
    assert [call_id for call_id, _ in run.refused] == ["c2"]
    (run,) = [a for a in session.on_frame(calls_done(2), 2.0) if isinstance(a, RunFunctions)]
    assert len(run.calls.calls) == 2 and run.refused == () and run.warning is None


def test_the_conversation_is_replayed_into_the_session_after_a_reconnect():
    config = provisioned()
    session = session_for(config)
    go_live(session, 0.0)
    session.on_frame(
        frame(
            "conversation.item.input_audio_transcription.completed",
            item_id="u1",
            transcript="Where is the dinosaur hall?",
        ),
        1.0,
    )
    session.on_frame(
        frame(
            "response.output_audio_transcript.done", item_id="a1", transcript="On the second floor."
        ),
        2.0,
    )
    assert session.on_frame(created(), 2.5) == []  # a repeated session.created changes nothing
    assert isinstance(session.on_closed(1006, "", 3.0), Retry)
    replayed = sent(go_live(session, 5.0))
    items = [e["item"] for e in replayed if e["type"] == "conversation.item.create"]
    assert [(i["role"], i["content"][0]["type"], i["content"][0]["text"]) for i in items] == [
        ("user", "input_text", "Where is the dinosaur hall?"),
        ("assistant", "output_text", "On the second floor."),
    ]
    assert not any(e["type"] == "response.create" for e in replayed)  # nobody asked anything


def test_replay_keeps_only_the_configured_number_of_turns_and_can_be_off():
    config = provisioned()
    config.recovery.replay_turns = 2
    session = session_for(config)
    go_live(session, 0.0)
    for n in range(5):
        session.say(f"note {n}", "user", False, 1.0 + n)
    session.on_closed(1006, "", 7.0)
    texts = [
        e["item"]["content"][0]["text"]
        for e in sent(go_live(session, 9.0))
        if e["type"] == "conversation.item.create"
    ]
    assert texts == ["note 3", "note 4"]
    config.recovery.replay_turns = 0
    session.on_closed(1006, "", 10.0)
    assert not any(e["type"] == "conversation.item.create" for e in sent(go_live(session, 12.0)))


def test_a_first_connection_replays_nothing():
    session = session_for(provisioned())
    assert sent(go_live(session)) == []


# --- configuration layers (bug 8) -----------------------------------------------------------


def test_command_line_overrides_survive_a_reload_and_are_not_reported_as_changes(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[display]\nmode = "fullscreen"\n[control]\nsocket = "/run/a.sock"\n')
    overrides = {
        "display": {"mode": "none"},
        "control": {"socket": str(tmp_path / "s")},
        "realtime": {"auto_start": True},
    }
    running = load(path, environ={}, overrides=overrides)
    assert running.display.mode == "none" and running.realtime.auto_start
    path.write_text(path.read_text() + '[realtime.config]\nvoice = "verse"\n')
    reloaded = load(path, environ={}, overrides=overrides)
    assert reloaded.display.mode == "none" and reloaded.control.socket == tmp_path / "s"
    assert restart_needed(running, reloaded) == []


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_update_config_is_validated_and_kept_for_later_connections(dialect):
    model = BETA_MODEL if dialect == "beta" else "gpt-realtime-2"
    config = make_config(
        openai={"api_base": "http://x", "dialect": dialect},
        realtime={"provisioning": {"url": "http://x/p"}, "config": {"model": model}},
    )
    session = session_for(config)
    new, actions = session.update_config({"voice": "verse"}, 0.0)
    assert new.voice == "verse" and actions == []  # not connected: kept for the next one
    go_live(session, 1.0)
    new, actions = session.update_config({"instructions": "Answer in French"}, 2.0)
    [update] = sent(actions)
    assert update["type"] == "session.update" and new.voice == "verse"
    with pytest.raises(ValueError):
        session.update_config({"voice": 42}, 3.0)


def test_a_server_error_is_shown_emitted_and_kept_redacted_and_as_text():
    """The notice fed to the state machine (what the screen and status show) is the same
    redacted text as the error event and ``last_error``, not the typed message."""
    session = session_for(provisioned())
    go_live(session)
    secret = "sk-proj-SECRETapikey0123456789"
    actions = session.on_frame(frame("error", error={"code": "x", "message": f"key {secret}"}), 1.0)
    [notice] = [a.input for a in actions if isinstance(a, Feed)]
    [event] = [a.event for a in actions if isinstance(a, EmitEvent)]
    assert notice == state.Notice(event["message"])
    assert isinstance(notice.text, str) and secret not in notice.text
    assert session.last_error == event["message"] and "***" in event["message"]


# --- captions ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["assistant", "both", "off"])
def test_transcripts_go_to_the_captions_as_they_stream_in(mode):
    session = session_for(make_config(display={"captions": mode}))
    go_live(session)
    frames = [
        frame("conversation.item.input_audio_transcription.delta", item_id="u1", delta="Where"),
        frame(
            "conversation.item.input_audio_transcription.completed",
            item_id="u1",
            transcript="Where is it?",
        ),
        frame("response.output_audio_transcript.delta", item_id="a1", delta="Upstairs"),
        frame("response.output_audio_transcript.done", item_id="a1", transcript="Upstairs."),
    ]
    captions = [a for f in frames for a in session.on_frame(f, 1.0) if isinstance(a, Caption)]
    # the session hands on every transcript; the captions' model picks what its mode shows
    expected = [
        Caption("user", "u1", "Where"),
        Caption("user", "u1", "Where is it?", final=True),
        Caption("assistant", "a1", "Upstairs"),
        Caption("assistant", "a1", "Upstairs.", final=True),
    ]
    assert captions == ([] if mode == "off" else expected)
