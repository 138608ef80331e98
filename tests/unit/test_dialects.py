"""Each dialect's mapping of the seed's config names to the wire, checked against the field names
published in the API reference (GA: RealtimeSessionCreateRequestGA; beta: RealtimeSession)."""

import pytest

from appliance.config import SessionConfig
from appliance.realtime.dialects import DIALECTS, DialectError, guess

# Field names as published in the API reference.
GA_SESSION_FIELDS = {
    "type",
    "output_modalities",
    "model",
    "instructions",
    "audio",
    "include",
    "tracing",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "truncation",
    "prompt",
}
GA_AUDIO_INPUT_FIELDS = {"format", "transcription", "noise_reduction", "turn_detection"}
GA_AUDIO_OUTPUT_FIELDS = {"format", "voice", "speed"}
BETA_SESSION_FIELDS = {
    "model",
    "modalities",
    "instructions",
    "voice",
    "input_audio_format",
    "output_audio_format",
    "input_audio_transcription",
    "turn_detection",
    "tools",
    "tool_choice",
    "temperature",
    "max_response_output_tokens",
    "speed",
    "input_audio_noise_reduction",
    "tracing",
}

FULL = SessionConfig.model_validate(
    {
        "model": "gpt-realtime-2",
        "instructions": "Be brief.",
        "voice": "alloy",
        "speed": 1.1,
        "max_response_output_tokens": "inf",
        "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500},
        "input_audio_transcription": True,
        "noise_reduction": "far_field",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "tool_choice": "auto",
    }
)


def test_ga_nests_audio_and_renames_tokens():
    s = DIALECTS["ga"].session(FULL)
    assert set(s) <= GA_SESSION_FIELDS
    assert s["type"] == "realtime" and s["output_modalities"] == ["audio"]
    assert set(s["audio"]["input"]) <= GA_AUDIO_INPUT_FIELDS
    assert set(s["audio"]["output"]) <= GA_AUDIO_OUTPUT_FIELDS
    assert s["audio"]["output"]["voice"] == "alloy"
    assert s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert s["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert s["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
    assert s["audio"]["input"]["noise_reduction"] == {"type": "far_field"}
    assert s["max_output_tokens"] == "inf"
    assert "voice" not in s and "turn_detection" not in s and "temperature" not in s


def test_beta_is_flat():
    s = DIALECTS["beta"].session(FULL)
    assert set(s) <= BETA_SESSION_FIELDS
    assert s["voice"] == "alloy" and s["input_audio_format"] == "pcm16"
    assert s["input_audio_transcription"] == {"model": "whisper-1"}
    assert s["max_response_output_tokens"] == "inf"
    assert s["input_audio_noise_reduction"] == {"type": "far_field"}
    assert "audio" not in s and "type" not in s


def test_transcription_object_keeps_language_and_prompt():
    cfg = SessionConfig.model_validate(
        {"input_audio_transcription": {"language": "fr", "prompt": "museum"}}
    )
    ga = DIALECTS["ga"].session(cfg)["audio"]["input"]["transcription"]
    assert ga == {"model": "whisper-1", "language": "fr", "prompt": "museum"}


def test_temperature_on_ga_is_a_clear_error_not_a_silent_drop():
    cfg = SessionConfig.model_validate({"temperature": 0.7})
    with pytest.raises(DialectError, match=r"temperature.*dialect"):
        DIALECTS["ga"].session(cfg)
    assert DIALECTS["beta"].session(cfg)["temperature"] == 0.7


def test_partial_update_carries_only_given_fields():
    ga = DIALECTS["ga"].session(FULL, only={"voice"})
    assert ga == {"type": "realtime", "audio": {"output": {"voice": "alloy"}}}
    beta = DIALECTS["beta"].session(FULL, only={"instructions"})
    assert beta == {"instructions": "Be brief."}


def test_minting_bodies_and_replies():
    ga, beta = DIALECTS["ga"], DIALECTS["beta"]
    assert ga.key_path == "/v1/realtime/client_secrets"
    assert ga.mint_body(FULL)["session"]["model"] == "gpt-realtime-2"
    assert ga.minted_key({"value": "ek_1", "expires_at": 5}) == ("ek_1", 5)
    assert beta.key_path == "/v1/realtime/sessions"
    assert beta.mint_body(FULL)["model"] == "gpt-realtime-2"
    assert beta.minted_key({"client_secret": {"value": "ek_2", "expires_at": 6}}) == ("ek_2", 6)
    with pytest.raises(ValueError):
        ga.minted_key({"client_secret": {"value": "x"}})


def test_socket_url_and_headers():
    ga, beta = DIALECTS["ga"], DIALECTS["beta"]
    assert ga.ws_url("https://api.openai.com", "gpt-realtime-2") == (
        "wss://api.openai.com/v1/realtime?model=gpt-realtime-2"
    )
    assert ga.ws_url("http://127.0.0.1:8765/", "m") == "ws://127.0.0.1:8765/v1/realtime?model=m"
    assert "OpenAI-Beta" not in ga.ws_headers("k")
    assert beta.ws_headers("k") == {"Authorization": "Bearer k", "OpenAI-Beta": "realtime=v1"}


def test_message_content_types_per_dialect():
    ga, beta = DIALECTS["ga"], DIALECTS["beta"]
    assert ga.message("hi", "assistant")["item"]["content"][0]["type"] == "output_text"
    assert beta.message("hi", "assistant")["item"]["content"][0]["type"] == "text"
    assert ga.message("hi", "system")["item"]["content"][0]["type"] == "input_text"
    with pytest.raises(ValueError):
        ga.message("hi", "robot")


def test_auto_dialect_by_model_name():
    assert guess("gpt-realtime-2") == "ga"
    assert guess("gpt-4o-realtime-preview-2025-06-03") == "beta"


def test_ga_carries_reasoning_and_parallel_tool_calls_at_the_session_level():
    cfg = SessionConfig.model_validate(
        {"reasoning": {"effort": "minimal"}, "parallel_tool_calls": False}
    )
    s = DIALECTS["ga"].session(cfg)
    assert s["reasoning"] == {"effort": "minimal"}
    assert s["parallel_tool_calls"] is False
    assert DIALECTS["ga"].mint_body(cfg)["session"]["reasoning"] == {"effort": "minimal"}
    # a live update carries just what changed
    assert DIALECTS["ga"].session(cfg, {"reasoning"}) == {
        "type": "realtime",
        "reasoning": {"effort": "minimal"},
    }
    assert "reasoning" not in DIALECTS["ga"].session(SessionConfig())


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"reasoning": {"effort": "high"}}, "reasoning"),
        ({"parallel_tool_calls": True}, "parallel_tool_calls"),
    ],
)
def test_beta_refuses_reasoning_and_parallel_tool_calls_by_name(fields, name):
    cfg = SessionConfig.model_validate({"model": "gpt-4o-realtime-preview-2025-06-03", **fields})
    with pytest.raises(DialectError, match=rf"realtime\.config\.{name}: the beta") as caught:
        DIALECTS["beta"].session(cfg)
    assert caught.value.field == f"realtime.config.{name}"
    with pytest.raises(DialectError):
        DIALECTS["beta"].session(cfg, {name})  # a live update too
