"""The simulator's sans-I/O session: validation, VAD turns, responses, truncation, calls."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from appliance.sim.config import ServedSession
from appliance.sim.script import Script
from appliance.sim.session import BYTES_PER_MS, Close, Drop, RawText, SimSession, Stall
from appliance.sim.voice import synth_speech

GA_SEQUENCE = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
    "rate_limits.updated",
]
BETA_SEQUENCE = [
    "response.created",
    "response.output_item.added",
    "conversation.item.created",
    "response.content_part.added",
    "response.audio.delta",
    "response.audio_transcript.delta",
    "response.audio.done",
    "response.audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.done",
    "rate_limits.updated",
]


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode()


def make(dialect: str = "ga", *, answer_seconds: float = 0.5, **config: Any) -> SimSession:
    session = SimSession(dialect, ServedSession(**config), Script(answer_seconds=answer_seconds))
    session.start()
    return session


def events(outs: list[Any]) -> list[dict[str, Any]]:
    return [o for o in outs if isinstance(o, dict)]


def types(outs: list[Any]) -> list[str]:
    return [o["type"] for o in events(outs)]


def errors(outs: list[Any]) -> list[dict[str, Any]]:
    return [o["error"] for o in events(outs) if o["type"] == "error"]


def drain(session: SimSession, outs: list[Any] | None = None) -> list[Any]:
    """Everything up to the end of the active response (pumping its audio)."""
    result = list(outs or [])
    for _ in range(10_000):
        if not session.response_active:
            return result
        result += session.pump().events
    raise AssertionError("the response never finished")


def squeeze(names: list[str]) -> list[str]:
    """Collapse repeated delta runs so a sequence can be compared with a pattern."""
    out: list[str] = []
    for name in names:
        if name.endswith(".delta") and name in out[-2:]:
            continue
        out.append(name)
    return out


def speech_then_silence(speech_s: float, silence_s: float, lead_s: float = 0.2) -> bytes:
    return bytes(int(lead_s * 48000)) + synth_speech(speech_s) + bytes(int(silence_s * 48000))


def append_all(session: SimSession, pcm: bytes, chunk: int = 4800) -> list[Any]:
    outs: list[Any] = []
    for i in range(0, len(pcm), chunk):
        outs += session.receive(
            {"type": "input_audio_buffer.append", "audio": b64(pcm[i : i + chunk])}
        )
    return outs


# ---- session objects ---------------------------------------------------------------------------


def test_ga_session_created_has_the_ga_shape() -> None:
    session = SimSession("ga", ServedSession(instructions="Be brief."))
    created = events(session.start())[0]
    assert created["type"] == "session.created"
    s = created["session"]
    assert s["type"] == "realtime"
    assert s["instructions"] == "Be brief."
    assert s["output_modalities"] == ["audio"]
    assert s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert s["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert set(s["audio"]["output"]) == {"format", "voice", "speed"}
    assert "max_output_tokens" in s
    assert "voice" not in s and "modalities" not in s


def test_beta_session_created_is_flat_and_followed_by_conversation_created() -> None:
    session = SimSession("beta", ServedSession(voice="verse"))
    outs = events(session.start())
    assert [o["type"] for o in outs] == ["session.created", "conversation.created"]
    s = outs[0]["session"]
    assert s["voice"] == "verse"
    assert s["input_audio_format"] == "pcm16"
    assert s["modalities"] == ["audio", "text"]
    assert "max_response_output_tokens" in s and "temperature" in s
    assert "type" not in s and "audio" not in s


# ---- validation ----------------------------------------------------------------------------------


def test_ga_session_update_is_applied_and_answered_with_session_updated() -> None:
    session = make("ga")
    outs = session.receive(
        {
            "type": "session.update",
            "event_id": "ev1",
            "session": {
                "type": "realtime",
                "instructions": "Talk like a pirate.",
                "audio": {"output": {"voice": "marin"}, "input": {"turn_detection": None}},
            },
        }
    )
    assert types(outs) == ["session.updated"]
    s = events(outs)[0]["session"]
    assert s["instructions"] == "Talk like a pirate."
    assert s["audio"]["output"]["voice"] == "marin"
    assert s["audio"]["input"]["turn_detection"] is None


def test_ga_takes_a_reasoning_models_effort_and_parallel_tool_calls() -> None:
    session = make("ga")
    update = {"type": "realtime", "reasoning": {"effort": "xhigh"}, "parallel_tool_calls": False}
    outs = session.receive({"type": "session.update", "session": update})
    assert types(outs) == ["session.updated"]
    s = events(outs)[0]["session"]
    assert s["reasoning"] == {"effort": "xhigh"} and s["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("dialect", "session", "code", "param"),
    [
        ("ga", {"instructions": "x"}, "missing_required_parameter", "session.type"),
        ("ga", {"type": "realtime", "voice": "alloy"}, "unknown_parameter", "session.voice"),
        ("ga", {"type": "realtime", "instructions": 5}, "invalid_type", "session.instructions"),
        ("ga", {"type": "transcription"}, "invalid_value", "session.type"),
        (
            "ga",
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "loud"}}}},
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        ("beta", {"type": "realtime"}, "unknown_parameter", "session.type"),
        ("beta", {"audio": {}}, "unknown_parameter", "session.audio"),
        ("beta", {"temperature": "hot"}, "invalid_type", "session.temperature"),
        ("beta", {"reasoning": {"effort": "low"}}, "unknown_parameter", "session.reasoning"),
        (
            "beta",
            {"parallel_tool_calls": True},
            "unknown_parameter",
            "session.parallel_tool_calls",
        ),
        (
            "ga",
            {"type": "realtime", "reasoning": {"effort": "max"}},
            "invalid_value",
            "session.reasoning.effort",
        ),
        (
            "ga",
            {"type": "realtime", "parallel_tool_calls": "yes"},
            "invalid_type",
            "session.parallel_tool_calls",
        ),
        (
            "beta",
            {"max_response_output_tokens": 0},
            "integer_below_min_value",
            "session.max_response_output_tokens",
        ),
    ],
)
def test_bad_session_updates_get_an_error_naming_the_param(
    dialect: str, session: dict[str, Any], code: str, param: str
) -> None:
    sim = make(dialect)
    before = sim.session_object()
    outs = sim.receive({"type": "session.update", "event_id": "bad1", "session": session})
    (error,) = errors(outs)
    assert error["code"] == code
    assert error["param"] == param
    assert error["event_id"] == "bad1"
    assert error["type"] == "invalid_request_error"
    assert sim.session_object() == before


def test_unknown_event_types_and_fields_are_refused_and_the_session_goes_on() -> None:
    session = make("ga")
    (error,) = errors(session.receive({"type": "response.audio.delta", "event_id": "e7"}))
    assert error["code"] == "invalid_value" and error["param"] == "type"
    assert error["event_id"] == "e7"
    (error,) = errors(session.receive({"type": "input_audio_buffer.clear", "force": True}))
    assert error["code"] == "unknown_parameter" and error["param"] == "force"
    (error,) = errors(session.receive_text("{not json"))
    assert error["code"] == "invalid_json"
    assert types(session.receive({"type": "input_audio_buffer.clear"})) == [
        "input_audio_buffer.cleared"
    ]


@pytest.mark.parametrize(
    ("audio", "needle"), [("not base64!!", "base64"), (b64(b"\x00\x01\x02"), "even")]
)
def test_append_needs_base64_pcm16(audio: str, needle: str) -> None:
    session = make("ga")
    (error,) = errors(session.receive({"type": "input_audio_buffer.append", "audio": audio}))
    assert error["param"] == "audio"
    assert needle in error["message"]


@pytest.mark.parametrize(
    ("dialect", "good", "bad"), [("ga", "output_text", "text"), ("beta", "text", "output_text")]
)
def test_assistant_text_content_type_differs_per_dialect(dialect: str, good: str, bad: str) -> None:
    session = make(dialect)

    def create(part_type: str) -> list[Any]:
        item = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": part_type, "text": "hi"}],
        }
        return session.receive({"type": "conversation.item.create", "item": item})

    (error,) = errors(create(bad))
    assert error["param"] == "item.content[0].type"
    assert good in error["message"]
    outs = create(good)
    assert not errors(outs)
    expected = (
        ["conversation.item.added", "conversation.item.done"]
        if dialect == "ga"
        else ["conversation.item.created"]
    )
    assert types(outs) == expected


def test_commit_of_an_almost_empty_buffer_is_an_error() -> None:
    session = make("ga", turn_detection=None)
    session.receive({"type": "input_audio_buffer.append", "audio": b64(bytes(480))})
    (error,) = errors(session.receive({"type": "input_audio_buffer.commit"}))
    assert error["code"] == "input_audio_buffer_commit_empty"


def test_manual_commit_creates_the_user_item_and_its_transcript() -> None:
    session = make("ga", turn_detection=None, transcription={"model": "whisper-1"})
    append_all(session, speech_then_silence(1.0, 0.1))
    outs = session.receive({"type": "input_audio_buffer.commit"})
    assert types(outs)[:3] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    done = [
        e
        for e in events(outs)
        if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert done and done[0]["transcript"].startswith("(heard 0.")
    assert not session.response_active  # a manual commit does not answer by itself


# ---- responses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "pattern"), [("ga", GA_SEQUENCE), ("beta", BETA_SEQUENCE)])
def test_response_event_sequence_per_dialect(dialect: str, pattern: list[str]) -> None:
    session = make(dialect, answer_seconds=1.0)
    outs = drain(session, session.receive({"type": "response.create"}))
    assert squeeze(types(outs)) == pattern
    deltas = [e for e in events(outs) if e["type"] == pattern[4]]
    assert len(deltas) == 10  # 1.0 s in 100 ms deltas
    first = deltas[0]
    assert {"response_id", "item_id", "output_index", "content_index", "delta"} <= set(first)
    pcm = b"".join(base64.b64decode(e["delta"]) for e in deltas)
    assert len(pcm) == 1000 * BYTES_PER_MS
    done = events(outs)[-2]
    assert done["response"]["status"] == "completed"
    assert done["response"]["output"][0]["content"][0]["transcript"] == (
        "This is the simulator answering."
    )
    transcript = "".join(e["delta"] for e in events(outs) if e["type"] == pattern[5])
    assert transcript == "This is the simulator answering."


def test_the_answer_is_audible_speech_like_audio() -> None:
    pcm = synth_speech(2.0)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    rms_db = 20 * np.log10(np.sqrt(np.mean(samples**2)))
    assert -18 < rms_db < -9
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480)
    levels = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
    assert np.mean(levels > -30) > 0.6  # mostly voiced
    assert levels.max() - levels.min() > 30  # with syllable gaps
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * 24000 / len(samples)
    assert 80 < peak_hz < 1000


def test_user_text_then_response_create_echoes_it() -> None:
    session = make("beta")
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
    session.receive({"type": "conversation.item.create", "item": item})
    outs = drain(session, session.receive({"type": "response.create"}))
    done = [e for e in events(outs) if e["type"] == "response.audio_transcript.done"]
    assert done[0]["transcript"] == "You said: hello"


@pytest.mark.parametrize(
    ("dialect", "delta"), [("ga", "response.output_text.delta"), ("beta", "response.text.delta")]
)
def test_text_only_responses(dialect: str, delta: str) -> None:
    session = make(dialect)
    params = {"output_modalities": ["text"]} if dialect == "ga" else {"modalities": ["text"]}
    outs = session.receive({"type": "response.create", "response": params})
    assert delta in types(outs)
    assert not session.response_active
    assert not any("audio" in t for t in types(outs))


def test_second_response_create_while_active_and_cancel_without_response() -> None:
    session = make("ga")
    (error,) = errors(session.receive({"type": "response.cancel"}))
    assert error["code"] == "response_cancel_not_active"
    session.receive({"type": "response.create"})
    (error,) = errors(session.receive({"type": "response.create"}))
    assert error["code"] == "conversation_already_has_active_response"
    outs = session.receive({"type": "response.cancel"})
    done = events(outs)[-2]
    assert done["type"] == "response.done"
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"


# ---- truncation ------------------------------------------------------------------------------


def _spoken_item(session: SimSession, deltas: int) -> str:
    outs = session.receive({"type": "response.create"})
    item_id = next(e for e in events(outs) if e["type"] == "response.output_item.added")["item"][
        "id"
    ]
    for _ in range(deltas):
        session.pump()
    return item_id


def test_truncate_checks_audio_end_ms_against_the_audio_sent() -> None:
    session = make("ga", answer_seconds=2.0)
    item_id = _spoken_item(session, 3)  # 300 ms sent
    session.receive({"type": "response.cancel"})
    truncate = {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0}
    (error,) = errors(session.receive({**truncate, "audio_end_ms": 301}))
    assert "audio_end_ms is longer than the audio" in error["message"]
    assert error["param"] == "audio_end_ms"
    (error,) = errors(session.receive({**truncate, "content_index": 1, "audio_end_ms": 10}))
    assert error["param"] == "content_index"
    (error,) = errors(session.receive({**truncate, "item_id": "item_nope", "audio_end_ms": 10}))
    assert error["param"] == "item_id"
    outs = session.receive({**truncate, "audio_end_ms": 250})
    assert types(outs) == ["conversation.item.truncated"]
    assert events(outs)[0]["audio_end_ms"] == 250
    (error,) = errors(session.receive({**truncate, "audio_end_ms": 280}))  # now 250 ms long
    assert error["param"] == "audio_end_ms"


def test_user_items_cannot_be_truncated() -> None:
    session = make("ga")
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    item_id = events(session.receive({"type": "conversation.item.create", "item": item}))[0][
        "item"
    ]["id"]
    (error,) = errors(
        session.receive(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 0,
            }
        )
    )
    assert error["param"] == "item_id"


# ---- VAD turns and barge-in ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_vad_turn_commits_transcribes_and_answers(dialect: str) -> None:
    session = make(dialect, transcription={"model": "whisper-1"})
    outs = append_all(session, speech_then_silence(1.2, 0.8))
    names = types(outs)
    item_event = "conversation.item.added" if dialect == "ga" else "conversation.item.created"
    expected = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        item_event,
        "conversation.item.input_audio_transcription.completed",
        "response.created",
    ]
    positions = [names.index(name) for name in expected]
    assert positions == sorted(positions)
    started = events(outs)[names.index(expected[0])]
    stopped = events(outs)[names.index(expected[1])]
    assert started["item_id"] == stopped["item_id"]
    assert 0 <= started["audio_start_ms"] <= 200  # speech at 200 ms, minus 300 ms padding
    assert stopped["audio_end_ms"] >= 1200 + 500
    transcript = events(outs)[names.index(expected[4])]["transcript"]
    assert transcript.startswith("(heard 1.") and transcript.endswith(" s of speech)")
    assert session.response_active
    assert not session.user_speaking  # the turn is over (GET /sim/state's user_speaking)


def test_user_speaking_is_true_inside_a_turn_only() -> None:
    session = make("ga")
    assert not session.user_speaking
    outs = append_all(session, synth_speech(0.6))
    assert "input_audio_buffer.speech_started" in types(outs)
    assert session.user_speaking
    outs = append_all(session, speech_then_silence(0.0, 1.0))
    assert "input_audio_buffer.speech_stopped" in types(outs)
    assert not session.user_speaking


def test_vad_with_create_response_false_does_not_answer() -> None:
    td = {"type": "server_vad", "create_response": False}
    session = make("ga")
    session.receive(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": td}}},
        }
    )
    outs = append_all(session, speech_then_silence(0.6, 0.8))
    assert "input_audio_buffer.committed" in types(outs)
    assert "response.created" not in types(outs)


def test_speech_during_a_response_cancels_it() -> None:
    session = make("ga", answer_seconds=3.0)
    item_id = _spoken_item(session, 2)
    outs = append_all(session, synth_speech(0.3))
    names = types(outs)
    assert names[0] == "input_audio_buffer.speech_started"
    done = events(outs)[names.index("response.done")]
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert not session.response_active
    truncated = session.receive(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 200,
        }
    )
    assert types(truncated) == ["conversation.item.truncated"]


# ---- function calls ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_scripted_parallel_function_calls_and_their_outputs(dialect: str) -> None:
    session = make(dialect)
    session.script.function_calls.append(
        [
            {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"name": "get_time", "arguments": "{}"},
        ]
    )
    outs = session.receive({"type": "response.create"})
    assert not session.response_active
    assert not any(".delta" in t and "audio" in t for t in types(outs))
    done = next(e for e in events(outs) if e["type"] == "response.done")
    calls = done["response"]["output"]
    assert [c["type"] for c in calls] == ["function_call", "function_call"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert calls[0]["arguments"] == '{"city":"Paris"}'
    assert calls[0]["call_id"] != calls[1]["call_id"]

    def output(call_id: str, text: str) -> list[Any]:
        item = {"type": "function_call_output", "call_id": call_id, "output": text}
        return session.receive({"type": "conversation.item.create", "item": item})

    (error,) = errors(output("call_unknown", "{}"))
    assert error["param"] == "item.call_id"
    assert not errors(output(calls[0]["call_id"], '{"temp": 21}'))
    assert not errors(output(calls[1]["call_id"], '{"time": "noon"}'))
    answer = drain(session, session.receive({"type": "response.create"}))
    final = next(e for e in events(answer) if e["type"] == "response.done")
    transcript = final["response"]["output"][0]["content"][0]["transcript"]
    assert '{"temp": 21}' in transcript and '{"time": "noon"}' in transcript


# ---- scripted faults -----------------------------------------------------------------------------


def test_drop_after_n_deltas() -> None:
    session = make("ga", answer_seconds=2.0)
    session.script.drops.append(2)
    session.receive({"type": "response.create"})
    steps = [session.pump() for _ in range(3)]
    assert [len(s.events) > 0 and isinstance(s.events[0], dict) for s in steps[:2]] == [True, True]
    assert steps[2].events == [Drop()]
    assert not session.response_active


def test_injected_faults() -> None:
    session = make("ga")
    assert session.inject({"fault": "stall"}) == [Stall()]
    assert isinstance(session.inject({"fault": "malformed_json"})[0], RawText)
    assert types(session.inject({"fault": "unknown_event"})) == ["sim.unknown_thing"]
    outs = session.inject({"fault": "error", "fatal": True, "code": "boom", "message": "m"})
    assert errors(outs)[0]["code"] == "boom"
    assert outs[-1] == Close(1011, "scripted fatal error")


def test_faults_waiting_for_a_session_come_after_session_created() -> None:
    script = Script()
    script.add({"fault": "unknown_event"}, session_open=False)
    outs = SimSession("ga", None, script).start()
    assert types(outs) == ["session.created", "sim.unknown_thing"]
    assert SimSession("ga", None, script).start()[1:] == []
