"""The published shapes of the Realtime API, GA and beta, as :mod:`appliance.sim.schema` specs.

Only what a client of the Realtime API over WebSocket may send is listed; anything else is
refused the way the real service refuses it (``Unknown parameter: 'session.voice'.``).

GA (``/v1/realtime/client_secrets``, no ``OpenAI-Beta`` header): the session has
``type: "realtime"``, ``output_modalities``, nested ``audio.input`` / ``audio.output`` and
``max_output_tokens``; assistant text content is ``output_text``.

Beta (``/v1/realtime/sessions``, header ``OpenAI-Beta: realtime=v1``): the session is flat
(``voice``, ``turn_detection``, ``input_audio_format``, ``input_audio_transcription``,
``modalities``, ``temperature``, ``max_response_output_tokens``) and has no ``type``;
assistant text content is ``text``.
"""

from __future__ import annotations

from typing import Literal

from appliance.sim.schema import (
    AnyOf,
    Anything,
    Bool,
    Enum,
    Int,
    ListOf,
    Nullable,
    Num,
    Obj,
    Spec,
    Str,
    Tagged,
    obj,
)

Dialect = Literal["ga", "beta"]

VOICES = [
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
]

REASONING_EFFORTS = ["minimal", "low", "medium", "high", "xhigh"]
"""GA's ``session.reasoning.effort`` for a reasoning model (beta has no reasoning)."""

# ---- shared pieces ---------------------------------------------------------------------------

TURN_DETECTION = Tagged(
    {
        "server_vad": obj(
            ("type",),
            type=Str(),
            threshold=Num(0.0, 1.0),
            prefix_padding_ms=Int(0, 10_000),
            silence_duration_ms=Int(0, 10_000),
            create_response=Bool(),
            interrupt_response=Bool(),
            idle_timeout_ms=Nullable(Int(5_000, 30_000)),
        ),
        "semantic_vad": obj(
            ("type",),
            type=Str(),
            eagerness=Enum(["low", "medium", "high", "auto"]),
            create_response=Bool(),
            interrupt_response=Bool(),
        ),
    }
)

TRANSCRIPTION = obj((), model=Str(), language=Str(), prompt=Str())
NOISE_REDUCTION = obj((), type=Enum(["near_field", "far_field"]))
MAX_TOKENS = AnyOf([Enum(["inf"]), Int(1, 4096)])
FUNCTION_TOOL = obj(
    ("type",),
    type=Enum(["function"]),
    name=Str(64),
    description=Str(),
    parameters=Anything(),
)
TOOL_CHOICE = AnyOf(
    [
        Enum(["auto", "none", "required"]),
        obj(("type", "name"), type=Enum(["function"]), name=Str()),
    ]
)
METADATA = Nullable(Anything())

# ---- GA ----------------------------------------------------------------------------------------

GA_AUDIO_FORMAT = Tagged(
    {
        "audio/pcm": obj(("type",), type=Str(), rate=Enum([24000])),
        "audio/pcmu": obj(("type",), type=Str()),
        "audio/pcma": obj(("type",), type=Str()),
    }
)

GA_AUDIO = obj(
    (),
    input=obj(
        (),
        format=GA_AUDIO_FORMAT,
        transcription=Nullable(TRANSCRIPTION),
        turn_detection=Nullable(TURN_DETECTION),
        noise_reduction=Nullable(NOISE_REDUCTION),
    ),
    output=obj((), format=GA_AUDIO_FORMAT, voice=Enum(VOICES), speed=Num(0.25, 1.5)),
)

GA_SESSION_FIELDS: dict[str, Spec] = {
    "type": Enum(["realtime"]),
    "model": Str(),
    "instructions": Str(),
    "output_modalities": ListOf(Enum(["audio", "text"]), 1),
    "audio": GA_AUDIO,
    "include": Nullable(ListOf(Enum(["item.input_audio_transcription.logprobs"]))),
    "tracing": Nullable(Anything()),
    "tools": ListOf(FUNCTION_TOOL),
    "tool_choice": TOOL_CHOICE,
    "max_output_tokens": MAX_TOKENS,
    "truncation": Anything(),
    "prompt": Nullable(Anything()),
    "reasoning": obj((), effort=Enum(REASONING_EFFORTS)),
    "parallel_tool_calls": Bool(),
}
GA_SESSION = Obj(GA_SESSION_FIELDS, frozenset({"type"}))

GA_CLIENT_SECRET_BODY = obj(
    ("session",),
    session=GA_SESSION,
    expires_after=obj(("anchor", "seconds"), anchor=Enum(["created_at"]), seconds=Int(10, 7200)),
)

GA_CONTENT = Tagged(
    {
        "input_text": obj(("type", "text"), type=Str(), text=Str()),
        "input_audio": obj(("type",), type=Str(), audio=Str(), transcript=Nullable(Str())),
        "input_image": obj(("type",), type=Str(), image_url=Str(), detail=Str()),
        "output_text": obj(("type", "text"), type=Str(), text=Str()),
        "output_audio": obj(("type",), type=Str(), audio=Str(), transcript=Nullable(Str())),
    }
)
GA_ROLE_CONTENT = {
    "user": ["input_text", "input_audio", "input_image"],
    "system": ["input_text"],
    "assistant": ["output_text", "output_audio"],
}

_ITEM_COMMON: dict[str, Spec] = {
    "id": Str(32),
    "object": Enum(["realtime.item"]),
    "status": Enum(["completed", "incomplete", "in_progress"]),
}


def _items(content: Spec) -> Tagged:
    return Tagged(
        {
            "message": Obj(
                {
                    **_ITEM_COMMON,
                    "type": Str(),
                    "role": Enum(list(GA_ROLE_CONTENT)),
                    "content": ListOf(content),
                },
                frozenset({"type", "role", "content"}),
            ),
            "function_call": Obj(
                {
                    **_ITEM_COMMON,
                    "type": Str(),
                    "call_id": Str(),
                    "name": Str(),
                    "arguments": Str(),
                },
                frozenset({"type", "name", "arguments"}),
            ),
            "function_call_output": Obj(
                {**_ITEM_COMMON, "type": Str(), "call_id": Str(), "output": Str()},
                frozenset({"type", "call_id", "output"}),
            ),
        }
    )


GA_ITEM = _items(GA_CONTENT)

GA_RESPONSE = obj(
    (),
    conversation=AnyOf([Enum(["auto", "none"]), Str()]),
    input=ListOf(GA_ITEM),
    instructions=Str(),
    max_output_tokens=MAX_TOKENS,
    metadata=METADATA,
    output_modalities=ListOf(Enum(["audio", "text"]), 1),
    prompt=Nullable(Anything()),
    tool_choice=TOOL_CHOICE,
    tools=ListOf(FUNCTION_TOOL),
    audio=obj((), output=obj((), format=GA_AUDIO_FORMAT, voice=Enum(VOICES))),
)

# ---- beta --------------------------------------------------------------------------------------

BETA_FORMAT = Enum(["pcm16", "g711_ulaw", "g711_alaw"])

BETA_SESSION_FIELDS: dict[str, Spec] = {
    "model": Str(),
    "instructions": Str(),
    "modalities": ListOf(Enum(["audio", "text"]), 2),
    "voice": Enum(VOICES),
    "input_audio_format": BETA_FORMAT,
    "output_audio_format": BETA_FORMAT,
    "input_audio_transcription": Nullable(TRANSCRIPTION),
    "turn_detection": Nullable(TURN_DETECTION),
    "input_audio_noise_reduction": Nullable(NOISE_REDUCTION),
    "speed": Num(0.25, 1.5),
    "tracing": Nullable(Anything()),
    "tools": ListOf(FUNCTION_TOOL),
    "tool_choice": Str(),
    "temperature": Num(0.6, 1.2),
    "max_response_output_tokens": MAX_TOKENS,
    "include": Nullable(ListOf(Enum(["item.input_audio_transcription.logprobs"]))),
}
BETA_SESSION = Obj(BETA_SESSION_FIELDS, frozenset())

BETA_SESSIONS_BODY = Obj(
    {
        **BETA_SESSION_FIELDS,
        "client_secret": obj(
            (),
            expires_after=obj(("anchor",), anchor=Enum(["created_at"]), seconds=Int(10, 7200)),
        ),
    },
    frozenset(),
)

BETA_CONTENT = Tagged(
    {
        "input_text": obj(("type", "text"), type=Str(), text=Str()),
        "input_audio": obj(("type",), type=Str(), audio=Str(), transcript=Nullable(Str())),
        "item_reference": obj(("type", "id"), type=Str(), id=Str()),
        "text": obj(("type", "text"), type=Str(), text=Str()),
        "audio": obj(("type",), type=Str(), audio=Str(), transcript=Nullable(Str())),
    }
)
BETA_ROLE_CONTENT = {
    "user": ["input_text", "input_audio", "item_reference"],
    "system": ["input_text"],
    "assistant": ["text", "audio"],
}
BETA_ITEM = _items(BETA_CONTENT)

BETA_RESPONSE = obj(
    (),
    modalities=ListOf(Enum(["audio", "text"]), 2),
    instructions=Str(),
    voice=Enum(VOICES),
    output_audio_format=BETA_FORMAT,
    tools=ListOf(FUNCTION_TOOL),
    tool_choice=Str(),
    temperature=Num(0.6, 1.2),
    max_response_output_tokens=MAX_TOKENS,
    conversation=AnyOf([Enum(["auto", "none"]), Str()]),
    metadata=METADATA,
    input=ListOf(BETA_ITEM),
)

# ---- client events -----------------------------------------------------------------------------


def _events(session: Spec, item: Spec, response: Spec) -> dict[str, Obj]:
    base: dict[str, Spec] = {"type": Str(), "event_id": Str(512)}
    return {
        "session.update": Obj({**base, "session": session}, frozenset({"session"})),
        "input_audio_buffer.append": Obj({**base, "audio": Str()}, frozenset({"audio"})),
        "input_audio_buffer.commit": Obj(base, frozenset()),
        "input_audio_buffer.clear": Obj(base, frozenset()),
        "conversation.item.create": Obj(
            {**base, "previous_item_id": Nullable(Str()), "item": item}, frozenset({"item"})
        ),
        "conversation.item.retrieve": Obj({**base, "item_id": Str()}, frozenset({"item_id"})),
        "conversation.item.truncate": Obj(
            {**base, "item_id": Str(), "content_index": Int(0), "audio_end_ms": Int(0)},
            frozenset({"item_id", "content_index", "audio_end_ms"}),
        ),
        "conversation.item.delete": Obj({**base, "item_id": Str()}, frozenset({"item_id"})),
        "response.create": Obj({**base, "response": response}, frozenset()),
        "response.cancel": Obj({**base, "response_id": Str()}, frozenset()),
    }


CLIENT_EVENTS: dict[str, dict[str, Obj]] = {
    "ga": _events(GA_SESSION, GA_ITEM, GA_RESPONSE),
    "beta": _events(BETA_SESSION, BETA_ITEM, BETA_RESPONSE),
}
"""Client event type to its spec, per dialect."""

ROLE_CONTENT: dict[str, dict[str, list[str]]] = {"ga": GA_ROLE_CONTENT, "beta": BETA_ROLE_CONTENT}
"""Which content part types each role may carry, per dialect."""

AUDIO_EVENTS: dict[str, dict[str, str]] = {
    "ga": {
        "audio_delta": "response.output_audio.delta",
        "audio_done": "response.output_audio.done",
        "transcript_delta": "response.output_audio_transcript.delta",
        "transcript_done": "response.output_audio_transcript.done",
        "text_delta": "response.output_text.delta",
        "text_done": "response.output_text.done",
        "audio_part": "output_audio",
        "text_part": "output_text",
    },
    "beta": {
        "audio_delta": "response.audio.delta",
        "audio_done": "response.audio.done",
        "transcript_delta": "response.audio_transcript.delta",
        "transcript_done": "response.audio_transcript.done",
        "text_delta": "response.text.delta",
        "text_done": "response.text.done",
        "audio_part": "audio",
        "text_part": "text",
    },
}
"""Server event names and assistant content part types that differ between the dialects."""
