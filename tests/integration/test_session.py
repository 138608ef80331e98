"""End to end: ``appliance run`` against ``appliance sim`` in both dialects, as a user drives it."""

from __future__ import annotations

import json
import wave

import pytest
from rig import cli, session_config

from appliance.rig.process import wait_until
from appliance.rig.speech import read_wav_levels, write_speech_wav

DIALECTS = ["ga", "beta"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("source", ["provisioning", "mint"])
def test_speech_in_answer_out(sim, start, speech_wav, dialect, source):
    app = start(session_config(sim, dialect, source), audio_in=speech_wav)
    assert app.cli("start").returncode == 0
    app.wait_event(lambda e: e["type"] == "started", 15, "started")
    user = app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "user", 15, "user")
    answer = app.wait_event(
        lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "assistant transcript"
    )
    assert "speech" in user["text"] and answer["text"]
    app.wait_event(lambda e: e["type"] == "state" and e["state"] == "speaking", 10, "speaking")
    app.wait_event(
        lambda e: (
            e["type"] == "state"
            and e["state"] == "listening"
            and any(x["state"] == "speaking" for x in app.events if x["type"] == "state")
        ),
        15,
        "back to listening after speaking",
    )
    status = app.ctl("status")
    assert status["dialect"] == dialect and status["model"]
    assert app.stop() == 0  # SIGTERM: clean exit, WAV finalised
    rate, levels = read_wav_levels(app.audio_out)
    assert rate == 24_000
    assert levels.max() > 0.05, "the model's answer is audible in the output WAV"
    log = sim.log()
    assert log["errors"] == [], f"the simulator rejected something: {log['errors']}"
    accepted = [c for c in log["connections"] if c["accepted"]]
    assert accepted and accepted[0]["dialect"] == dialect
    appends = [e for e in log["client_events"] if e["type"] == "input_audio_buffer.append"]
    assert appends and all(e["audio"]["audio_bytes"] % 2 == 0 for e in appends)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_two_parallel_function_calls_round_trip(sim, start, dialect):
    app = start(session_config(sim, dialect, realtime={"auto_start": True}))
    app.wait_state("listening")
    sim.script(
        {
            "function_calls": [
                {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
                {"name": "get_weather", "arguments": json.dumps({"city": "Tokyo"})},
            ]
        }
    )
    assert app.ctl("say", text="What is the weather in Paris and Tokyo?", role="user")["ok"]
    calls = [
        app.wait_event(lambda e, c=c: e["type"] == "function_call" and c in e["arguments"], 15, c)
        for c in ("Paris", "Tokyo")
    ]
    assert {c["output"]["city"] for c in calls} == {"Paris", "Tokyo"}
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "answer")
    events = sim.client_events()
    outputs = [
        e
        for e in events
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]
    assert {o["item"]["call_id"] for o in outputs} == {c["call_id"] for c in calls}
    assert {json.loads(o["item"]["output"])["city"] for o in outputs} == {"Paris", "Tokyo"}
    # one response.create after the outputs (and one before, for the user's message)
    assert [e["type"] for e in events].count("response.create") == 2
    assert sim.log()["errors"] == []


def test_failing_function_handler_answers_the_model_with_the_error(sim, start):
    app = start(session_config(sim, "ga", realtime={"auto_start": True}))
    app.wait_state("listening")
    sim.script({"function_calls": [{"name": "explode", "arguments": "{}"}]})
    app.ctl("say", text="boom", role="user")
    call = app.wait_event(lambda e: e["type"] == "function_call", 15, "function call")
    assert "on fire" in call["output"]["error"]
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "answer")
    assert app.ctl("status")["state"] in ("listening", "speaking")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_say_and_update_config_reach_the_server_valid(sim, start, dialect):
    app = start(session_config(sim, dialect, realtime={"auto_start": True}))
    app.wait_state("listening")
    result = app.cli(
        "update-config", json.dumps({"instructions": "Answer in French", "voice": "verse"})
    )
    assert result.returncode == 0, result.stderr
    assert app.cli("say", "The shop closes at six.").returncode == 0
    assert app.cli("say", "Hello there", "--role", "assistant").returncode == 0
    assert app.cli("say", "Bonjour", "--role", "user").returncode == 0
    app.wait_event(lambda e: e["type"] == "transcript" and "Bonjour" in e["text"], 15, "reply")
    updates = sim.client_events("session.update")
    last = updates[-1]["session"]
    if dialect == "ga":
        assert last["instructions"] == "Answer in French"
        assert last["audio"]["output"]["voice"] == "verse"
    else:
        assert last == {"instructions": "Answer in French", "voice": "verse"}
    items = [e["item"] for e in sim.client_events("conversation.item.create")]
    roles = {(i["role"], i["content"][0]["type"], i["content"][0]["text"]) for i in items}
    assistant_type = "output_text" if dialect == "ga" else "text"
    assert ("system", "input_text", "The shop closes at six.") in roles
    assert ("assistant", assistant_type, "Hello there") in roles
    assert ("user", "input_text", "Bonjour") in roles
    assert sim.log()["errors"] == []
    bad = app.cli("update-config", json.dumps({"voise": "x"}))
    assert bad.returncode == 1 and "voise" in bad.stderr


def test_commands_before_a_session(sim, start):
    app = start(session_config(sim, "ga"))
    assert app.ctl("status")["state"] == "idle"
    result = app.cli("say", "hello")
    assert result.returncode == 1 and "not connected" in result.stderr
    assert app.ctl("mute")["muted"] is True
    app.ctl("start")
    status = app.wait_state("muted")
    assert status["muted"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_barge_in_by_voice_truncates_with_played_ms(sim, start, tmp_path, dialect):
    # speech, the model answers (6 s), the user talks over it at 4.0 s
    wav = write_speech_wav(tmp_path / "barge.wav", [(0.4, 1.0), (4.0, 1.2)], total_s=7.0)
    sim.script({"answer_seconds": 6})
    config = session_config(
        sim, dialect, realtime={"auto_start": True}, audio={"echo": "full-duplex"}
    )
    app = start(config, audio_in=wav)
    speaking = app.wait_event(
        lambda e: e["type"] == "state" and e["state"] == "speaking", 15, "speaking"
    )
    cut = app.wait_event(lambda e: e["type"] == "interrupted", 15, "barge-in")
    heard_ms = (cut["time"] - speaking["time"]) * 1000
    truncates = wait_until(lambda: sim.client_events("conversation.item.truncate"), 10, "truncate")
    end_ms = truncates[0]["audio_end_ms"]
    assert end_ms == cut["audio_end_ms"]
    # plausible: what was really played, i.e. close to the wall time since playback started
    assert 300 < end_ms < 6000
    assert abs(end_ms - heard_ms) < 400, (end_ms, heard_ms)
    assert sim.log()["errors"] == []
    app.wait_state("listening")


def test_barge_in_by_button_cancels_and_truncates(sim, start):
    sim.script({"answer_seconds": 6})
    app = start(session_config(sim, "ga", realtime={"auto_start": True}))
    app.wait_state("listening")
    app.ctl("say", text="Tell me a long story", role="user")
    app.wait_state("speaking")
    assert app.cli("press").returncode == 0  # the button while the model speaks: interrupt
    truncate = wait_until(lambda: sim.client_events("conversation.item.truncate"), 10, "truncate")
    assert truncate[0]["audio_end_ms"] > 0
    assert app.wait_state("listening")["phase"] == "live"
    assert app.cli("press").returncode == 0  # second press stops
    app.wait_state("idle")
    app.wait_event(lambda e: e["type"] == "stopped", 5, "stopped")


@pytest.mark.parametrize("shape", ["text", "value", "client_secret"])
def test_provisioning_reply_shapes(sim, start, shape):
    config = session_config(sim, "ga")
    config["realtime"]["provisioning"]["url"] = f"{sim.url}/provision?shape={shape}"
    app = start(config)
    app.ctl("start")
    app.wait_state("listening")
    assert [c["accepted"] for c in sim.log()["connections"]] == [True]


FAST_RETRY = {"backoff_initial_s": 0.2, "backoff_max_s": 1.0}


def test_provisioning_http_500_is_retried_then_live(sim, start):
    app = start(session_config(sim, "ga", recovery=FAST_RETRY))
    sim.script(
        {
            "fault": "http",
            "path": "/provision",
            "status": 500,
            "count": 1,
            "body": "internal trouble",
        }
    )
    app.ctl("start")
    app.wait_state("listening")
    states = [e["state"] for e in app.events if e["type"] == "state"]
    assert states[:3] == ["connecting", "reconnecting", "listening"], states
    warning = app.wait_event(lambda e: e["type"] == "error", 5, "error event")
    assert "HTTP 500" in warning["message"] and warning["fatal"] is False


def test_provisioning_http_500_gives_up_shows_error_and_next_start_recovers(sim, start):
    app = start(session_config(sim, "ga", recovery={**FAST_RETRY, "max_attempts": 1}))
    sim.script(
        {
            "fault": "http",
            "path": "/provision",
            "status": 500,
            "count": 2,
            "body": "internal trouble",
        }
    )
    app.ctl("start")
    status = app.wait_state("error")
    assert "HTTP 500" in status["last_error"] and "internal trouble" in status["last_error"]
    assert "gave up after 1 retry" in status["last_error"]
    error = app.wait_event(lambda e: e["type"] == "error" and e["fatal"], 5, "fatal error")
    assert "HTTP 500" in error["message"]
    app.ctl("start")
    app.wait_state("listening")


def test_provisioning_401_is_not_retried(sim, start):
    app = start(session_config(sim, "ga", recovery=FAST_RETRY))
    sim.script(
        {
            "fault": "http",
            "path": "/provision",
            "status": 401,
            "count": 1,
            "body": "bad device token",
        }
    )
    app.ctl("start")
    status = app.wait_state("error")
    assert "HTTP 401" in status["last_error"]
    assert not any(e["type"] == "state" and e["state"] == "reconnecting" for e in app.events)


def test_dropped_socket_is_shown_and_next_start_recovers(sim, start):
    config = session_config(sim, "ga", realtime={"auto_start": True}, recovery={"max_attempts": 0})
    app = start(config)
    app.wait_state("listening")
    sim.script({"fault": "drop", "after_deltas": 2})
    app.ctl("say", text="Say something long", role="user")
    status = app.wait_state("error")
    assert "connection closed" in status["last_error"]
    app.wait_event(lambda e: e["type"] == "stopped", 5, "stopped")
    app.ctl("toggle")  # a press retries
    app.wait_state("listening")


def test_dropped_socket_reconnects_by_itself(sim, start):
    app = start(session_config(sim, "ga", realtime={"auto_start": True}, recovery=FAST_RETRY))
    app.wait_state("listening")
    sim.script({"fault": "drop", "after_deltas": 2})
    app.ctl("say", text="Say something long", role="user")
    app.wait_event(
        lambda e: e["type"] == "state" and e["state"] == "reconnecting", 10, "reconnecting"
    )
    app.wait_event(
        lambda e: e["type"] == "started" and e["time"] > app.events[0]["time"], 10, "started again"
    )
    app.wait_state("listening")
    accepted = [c for c in sim.log()["connections"] if c["accepted"]]
    assert len(accepted) == 2  # a fresh key for the new connection


def test_stalled_server_is_detected_and_reconnected(sim, start):
    config = session_config(
        sim, "ga", realtime={"auto_start": True}, recovery={**FAST_RETRY, "stall_timeout_s": 1.5}
    )
    app = start(config)
    app.wait_state("listening")
    sim.script({"fault": "stall"})
    app.ctl("say", text="Are you there?", role="user")
    event = app.wait_event(
        lambda e: e["type"] == "error" and "stopped answering" in e["message"], 10, "stall detected"
    )
    assert event["fatal"] is False
    app.wait_state("listening")
    assert len([c for c in sim.log()["connections"] if c["accepted"]]) == 2


def test_session_is_renewed_at_a_quiet_moment(sim, start):
    config = session_config(
        sim, "ga", realtime={"auto_start": True}, recovery={"session_max_s": 1.0}
    )
    app = start(config)
    app.wait_event(lambda e: e["type"] == "state" and e["state"] == "reconnecting", 10, "renewal")
    app.wait_state("listening")
    assert len([c for c in sim.log()["connections"] if c["accepted"]]) >= 2
    assert not any(e["type"] == "error" for e in app.events)


def test_each_session_gets_a_fresh_key(sim, start):
    app = start(session_config(sim, "ga"))
    for _ in range(3):
        app.ctl("start")
        app.wait_state("listening")
        app.ctl("stop")
        app.wait_state("idle")
    connections = sim.log()["connections"]
    assert len(connections) == 3 and all(c["accepted"] for c in connections)


def test_beta_refusal_falls_back_to_ga_in_auto(sim, start):
    sim.script({"fault": "refuse_beta"})
    config = session_config(sim, "beta", source="mint")
    config["openai"]["dialect"] = "auto"  # a preview model: auto picks beta first
    app = start(config)
    app.ctl("start")
    status = app.wait_state("listening")
    assert status["dialect"] == "ga"
    dialects = [c["dialect"] for c in sim.log()["connections"]]
    assert dialects[0] == "beta" and dialects[-1] == "ga"


def test_bad_config_exits_2_naming_the_field_and_starts_nothing(tmp_path):

    bad = tmp_path / "bad.toml"
    sock = tmp_path / "control.sock"
    bad.write_text(
        f'[control]\nsocket = "{sock}"\n[realtime.config]\nvoice = 5\nturn_detection = "x"\n'
    )
    result = cli("run", "--config", str(bad), "--display", "none", timeout=30)
    assert result.returncode == 2
    assert "realtime.config.voice" in result.stderr and "[line 4]" in result.stderr
    assert not sock.exists()
    check = cli("config", "validate", str(bad), timeout=30)
    assert check.returncode == 2 and "turn_detection" in check.stderr


def test_sigterm_mid_speech_exits_0_with_a_valid_wav(sim, start, speech_wav):
    sim.script({"answer_seconds": 8})
    app = start(session_config(sim, "ga", realtime={"auto_start": True}), audio_in=speech_wav)
    app.wait_state("speaking", 20)
    assert app.stop() == 0
    with wave.open(str(app.audio_out), "rb") as wav:
        assert wav.getframerate() == 24_000 and wav.getnframes() > 0
