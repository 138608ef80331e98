"""The sans-I/O protocol: server messages in, typed; client messages built."""

import base64
import json

import pytest

from appliance.config import SessionConfig
from appliance.realtime import protocol as p
from appliance.realtime.dialects import DIALECTS


def proto(dialect="ga", **cfg):
    return p.Protocol(DIALECTS[dialect], SessionConfig.model_validate(cfg))


def frame(**message):
    return json.dumps(message)


@pytest.mark.parametrize(
    "dialect,delta_type,transcript_type",
    [
        ("ga", "response.output_audio.delta", "response.output_audio_transcript.done"),
        ("beta", "response.audio.delta", "response.audio_transcript.done"),
    ],
)
def test_audio_and_transcripts_per_dialect(dialect, delta_type, transcript_type):
    pr = proto(dialect)
    pcm = b"\x01\x00\x02\x00"
    out = pr.receive(
        frame(type=delta_type, item_id="it", content_index=0, delta=base64.b64encode(pcm).decode())
    )
    assert out == [p.AudioDelta("it", 0, pcm)]
    out = pr.receive(frame(type=transcript_type, item_id="it", transcript="Hello"))
    assert out == [p.Transcript("assistant", "Hello", "it")]
    # the other dialect's names are not mistaken for audio
    other = "response.audio.delta" if dialect == "ga" else "response.output_audio.delta"
    assert pr.receive(frame(type=other, item_id="x", delta="")) == [p.Ignored(other)]


@pytest.mark.parametrize(
    ("dialect", "delta_type"),
    [
        ("ga", "response.output_audio_transcript.delta"),
        ("beta", "response.audio_transcript.delta"),
    ],
)
def test_transcript_deltas_for_the_captions(dialect, delta_type):
    pr = proto(dialect)
    assert pr.receive(frame(type=delta_type, item_id="it", delta=" world")) == [
        p.TranscriptDelta("assistant", " world", "it")
    ]
    user = "conversation.item.input_audio_transcription.delta"
    assert pr.receive(frame(type=user, item_id="u1", delta="hi")) == [
        p.TranscriptDelta("user", "hi", "u1")
    ]
    [bad] = pr.receive(frame(type=delta_type, item_id="it", delta=3))
    assert isinstance(bad, p.ServerError) and "delta is not text" in bad.message


def test_user_transcript_and_speech_started():
    pr = proto()
    assert pr.receive(
        frame(
            type="conversation.item.input_audio_transcription.completed",
            item_id="u1",
            content_index=0,
            transcript="hi",
        )
    ) == [p.Transcript("user", "hi", "u1")]
    assert pr.receive(
        frame(type="input_audio_buffer.speech_started", item_id="u2", audio_start_ms=120)
    ) == [p.SpeechStarted("u2", 120)]


def test_every_function_call_in_response_done():
    pr = proto()
    pr.receive(frame(type="response.created", response={"id": "r1"}))
    assert pr.response_active
    out = pr.receive(
        frame(
            type="response.done",
            response={
                "id": "r1",
                "status": "completed",
                "output": [
                    {"type": "function_call", "name": "a", "arguments": "{}", "call_id": "c1"},
                    {"type": "message", "role": "assistant"},
                    {"type": "function_call", "name": "b", "arguments": '{"x":1}', "call_id": "c2"},
                ],
            },
        )
    )
    assert out[0] == p.FunctionCalls(
        (p.FunctionCall("a", "{}", "c1"), p.FunctionCall("b", '{"x":1}', "c2"))
    )
    assert out[1] == p.ResponseDone("r1", "completed")
    assert not pr.response_active


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1,2]",
        json.dumps({"no": "type"}),
        frame(type="response.output_audio.delta", item_id="x", delta="!!notbase64"),
        frame(
            type="response.output_audio.delta", item_id="x", delta=base64.b64encode(b"abc").decode()
        ),
        frame(type="response.done", response={"output": [{"type": "function_call"}]}),
    ],
)
def test_malformed_server_frames_never_raise(raw):
    out = proto().receive(raw)
    assert len(out) == 1 and isinstance(out[0], p.ServerError)


@pytest.mark.parametrize(
    "message,reason",
    [
        (
            {"type": "response.output_audio.delta", "item_id": "x", "delta": "!!notbase64"},
            "invalid base64 in delta",
        ),
        (
            {"type": "response.output_audio.delta", "item_id": "x", "delta": "YWJj"},
            "delta has an odd number of bytes (16-bit PCM has two per sample)",
        ),
        ({"type": "response.output_audio.delta", "item_id": "x"}, "no delta"),
        ({"type": "response.output_audio.delta", "item_id": "x", "delta": 5}, "delta is not text"),
        ({"type": "response.output_audio.delta", "delta": "AAAAAA=="}, "no item_id"),
        (
            {
                "type": "response.output_audio.delta",
                "item_id": "x",
                "delta": "",
                "content_index": -1,
            },
            "content_index is not a whole number of at least 0",
        ),
        (
            {"type": "response.done", "response": {"output": [{"type": "function_call"}]}},
            "a function call without name",
        ),
        (
            {"type": "conversation.item.input_audio_transcription.completed"},
            "no transcript",
        ),
        (
            {"type": "response.output_audio_transcript.done", "transcript": ["a"]},
            "transcript is not text",
        ),
        ({"type": "response.output_text.done", "text": None}, "text is not text"),
        ({"type": "response.output_audio_transcript.done"}, "no transcript"),
    ],
)
def test_a_malformed_message_says_what_is_wrong_with_it(message, reason):
    [error] = proto().receive(json.dumps(message))
    assert isinstance(error, p.ServerError) and error.code == "bad_event"
    assert error.message == f"malformed {message['type']} event: {reason}"


def test_a_transcript_is_cut_at_its_cap_with_a_marker():
    long = "word " * (p.TRANSCRIPT_MAX_CHARS // 2)
    [said] = proto().receive(frame(type="response.output_audio_transcript.done", transcript=long))
    cut = len(long) - p.TRANSCRIPT_MAX_CHARS
    assert said.text == long[: p.TRANSCRIPT_MAX_CHARS] + f"... ({cut} more characters cut)"
    [heard] = proto().receive(
        frame(type="conversation.item.input_audio_transcription.completed", transcript=long)
    )
    assert heard.text == said.text
    short = "x" * p.TRANSCRIPT_MAX_CHARS
    [whole] = proto().receive(frame(type="response.output_audio_transcript.done", transcript=short))
    assert whole.text == short


def test_server_error_event():
    out = proto().receive(
        frame(
            type="error",
            error={"type": "invalid_request_error", "code": "x", "message": "bad", "param": "p"},
        )
    )
    assert out == [p.ServerError("bad", code="x", kind="invalid_request_error", param="p")]
    assert "bad" in str(out[0])


def test_a_huge_server_error_is_cut_before_it_reaches_the_screen_and_status():
    message = "m" * 16_000_000
    [err] = proto().receive(
        frame(type="error", error={"message": message, "code": "c" * 5000, "param": None})
    )
    more = len(message) - p.ERROR_TEXT_MAX_CHARS
    assert err.message == "m" * p.ERROR_TEXT_MAX_CHARS + f"... ({more} more characters cut)"
    assert err.code.startswith("c" * p.MESSAGE_TYPE_SHOWN_CHARS + "... (")
    assert err.param is None
    assert len(str(err)) < 2 * p.ERROR_TEXT_MAX_CHARS


def test_client_events():
    pr = proto(voice="alloy")
    append = pr.append_message(b"\x00\x01")
    assert append == {"type": "input_audio_buffer.append", "audio": "AAE="}
    t = pr.truncate_message("it", 0, 1234.7)
    assert (t["type"], t["item_id"], t["content_index"], t["audio_end_ms"]) == (
        "conversation.item.truncate",
        "it",
        0,
        1234,
    )
    events = pr.function_output_messages([("c1", {"ok": 1}), ("c2", {"error": "x"})])
    assert [e["type"] for e in events] == ["conversation.item.create"] * 2 + ["response.create"]
    assert events[0]["item"] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": json.dumps({"ok": 1}),
    }
    ids = {e["event_id"] for e in events}
    assert len(ids) == 3


def test_say_respond_defaults():
    pr = proto()
    assert [e["type"] for e in pr.say_messages("ctx")] == ["conversation.item.create"]
    assert [e["type"] for e in pr.say_messages("hi", "user")] == [
        "conversation.item.create",
        "response.create",
    ]
    assert len(pr.say_messages("ctx", "system", respond=True)) == 2


def test_update_config_validates_and_maps():
    pr = proto(voice="alloy")
    cfg, message = pr.update_config({"instructions": "Answer in French"})
    assert cfg.instructions == "Answer in French" and cfg.voice == "alloy"
    assert message["session"] == {"type": "realtime", "instructions": "Answer in French"}
    with pytest.raises(ValueError):
        pr.update_config({"voise": "x"})
    with pytest.raises(ValueError):
        pr.update_config({"turn_detection": {"type": "nope"}})
