"""Sans-I/O realtime protocol: server messages in, typed; client messages built here.

What travels on the WebSocket is a *frame* holding one *message*: a JSON object with a
``type``. The service's documentation calls messages "events"; in this code base "event" is
kept for the appliance's bus and "input" for the state machine (only the error text people
read keeps the service's word: "malformed response.done event"). :class:`Protocol` never
touches a socket. :meth:`Protocol.receive` turns one server frame into a list of typed server
messages (:data:`ServerMessage`; a ``response.done`` with function calls gives two: the calls,
then the end of the response); the ``*_message`` methods build client messages. The session
policy (:mod:`appliance.realtime.session`) decides which to send and the link
(:mod:`appliance.realtime.link`) sends them.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from appliance.config import SessionConfig
from appliance.realtime.dialects import Dialect
from appliance.realtime.usage import TokenUsage

TRANSCRIPT_MAX_CHARS = 65_536
"""Longest transcript kept (in the ``transcript`` event for the hooks and the socket, and in
the turns replayed after a reconnect); a longer one is cut, ending in ``... (N more
characters cut)``. A server frame may hold 16 MB of text."""
ERROR_TEXT_MAX_CHARS = 1_000
"""Longest text kept of a server ``error`` message (it reaches ``last_error``, the screen's
notice and the bus's ``error`` event); its code, type and param are kept up to
:data:`MESSAGE_TYPE_SHOWN_CHARS`."""
MESSAGE_TYPE_SHOWN_CHARS = 100
"""Longest message type named in a "malformed ... event" error."""


class Malformed(ValueError):
    """What is wrong with a server message, in plain words (``"invalid base64 in delta"``)."""


# --- server messages, typed ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionReady:
    session: dict[str, Any]


@dataclass(frozen=True)
class SessionUpdated:
    session: dict[str, Any]


@dataclass(frozen=True)
class AudioDelta:
    item_id: str
    content_index: int
    pcm: bytes


@dataclass(frozen=True)
class AudioDone:
    item_id: str


@dataclass(frozen=True)
class Transcript:
    role: str  # "user" or "assistant"
    text: str
    item_id: str | None = None


@dataclass(frozen=True)
class TranscriptDelta:
    """More of a transcript as it streams in (for the captions): the assistant's audio
    transcript, or the visitor's words (``input_audio_transcription``)."""

    role: str  # "user" or "assistant"
    delta: str
    item_id: str | None = None


@dataclass(frozen=True)
class SpeechStarted:
    item_id: str | None
    audio_start_ms: int | None


@dataclass(frozen=True)
class SpeechStopped:
    item_id: str | None


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str
    call_id: str


@dataclass(frozen=True)
class FunctionCalls:
    calls: tuple[FunctionCall, ...]


@dataclass(frozen=True)
class ResponseStarted:
    response_id: str | None


@dataclass(frozen=True)
class ResponseDone:
    response_id: str | None
    status: str | None
    usage: TokenUsage | None = None
    """The response's tokens (its ``usage``), for the key server's usage report."""


@dataclass(frozen=True)
class ServerError:
    message: str
    code: str | None = None
    kind: str | None = None
    param: str | None = None

    def __str__(self) -> str:
        code = f" ({self.code})" if self.code else ""
        return f"server error{code}: {self.message}"


@dataclass(frozen=True)
class Ignored:
    type: str


ServerMessage = (
    SessionReady
    | SessionUpdated
    | AudioDelta
    | AudioDone
    | Transcript
    | TranscriptDelta
    | SpeechStarted
    | SpeechStopped
    | FunctionCalls
    | ResponseStarted
    | ResponseDone
    | ServerError
    | Ignored
)


@dataclass
class Protocol:
    """One session's protocol state for ``dialect``."""

    dialect: Dialect
    config: SessionConfig
    response_active: bool = False
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- server -> client -----------------------------------------------------------------

    def receive(self, frame: str | bytes) -> list[ServerMessage]:
        """Interpret one server frame. Never raises: bad frames become :class:`ServerError`."""
        try:
            message = json.loads(frame)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return [ServerError("the server sent a frame that is not JSON", code="bad_frame")]
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return [ServerError("the server sent an event without a type", code="bad_frame")]
        try:
            return self._dispatch(message)
        except Malformed as exc:
            reason = str(exc)
        except KeyError as exc:  # a field the code below reads without naming it
            reason = f"no {exc.args[0]}"
        except (TypeError, ValueError, AttributeError, OverflowError):
            reason = "a field of an unexpected kind"
        kind = message["type"]
        if len(kind) > MESSAGE_TYPE_SHOWN_CHARS:
            kind = kind[:MESSAGE_TYPE_SHOWN_CHARS] + "..."
        return [ServerError(f"malformed {kind} event: {reason}", code="bad_event")]

    def _dispatch(self, message: dict[str, Any]) -> list[ServerMessage]:
        kind = message["type"]
        names = self.dialect.message_types
        if kind == "session.created":
            return [SessionReady(_object(message.get("session")))]
        if kind == "session.updated":
            return [SessionUpdated(_object(message.get("session")))]
        if kind == names.audio_delta:
            pcm = _pcm(_field(message, "delta"))
            item_id = str(_field(message, "item_id"))
            return [
                AudioDelta(item_id, _index(message.get("content_index", 0), "content_index"), pcm)
            ]
        if kind == names.audio_done:
            return [AudioDone(str(message.get("item_id")))]
        if kind in (names.transcript_done, names.text_done):
            name = "text" if "transcript" not in message and "text" in message else "transcript"
            text = _transcript(_field(message, name), name)
            return [Transcript("assistant", text, _text(message.get("item_id")))]
        if kind in (names.transcript_delta, "conversation.item.input_audio_transcription.delta"):
            role = "assistant" if kind == names.transcript_delta else "user"
            delta = _transcript(_field(message, "delta"), "delta")
            return [TranscriptDelta(role, delta, _text(message.get("item_id")))]
        if kind == "conversation.item.input_audio_transcription.completed":
            text = _transcript(_field(message, "transcript"), "transcript")
            return [Transcript("user", text, _text(message.get("item_id")))]
        if kind == "input_audio_buffer.speech_started":
            start_ms = message.get("audio_start_ms")
            return [
                SpeechStarted(
                    _text(message.get("item_id")),
                    None if start_ms is None else _index(start_ms, "audio_start_ms"),
                )
            ]
        if kind == "input_audio_buffer.speech_stopped":
            return [SpeechStopped(_text(message.get("item_id")))]
        if kind == "response.created":
            self.response_active = True
            return [ResponseStarted(_text(_object(message.get("response")).get("id")))]
        if kind == "response.done":
            self.response_active = False
            response = _object(message.get("response"))
            out: list[ServerMessage] = [
                ResponseDone(
                    _text(response.get("id")),
                    _text(response.get("status")),
                    TokenUsage.parse(response.get("usage")),
                )
            ]
            output = response.get("output")
            calls = tuple(
                FunctionCall(
                    str(_field(item, "name", "a function call without")),
                    str(item.get("arguments") or "{}"),
                    str(_field(item, "call_id", "a function call without")),
                )
                for item in (output if isinstance(output, list) else [])
                if isinstance(item, dict) and item.get("type") == "function_call"
            )
            if calls:  # every call, not only output[0]
                out.insert(0, FunctionCalls(calls))
            return out
        if kind == "error":
            err = _object(message.get("error"))
            return [
                ServerError(
                    _cut(str(err.get("message") or "unknown error"), ERROR_TEXT_MAX_CHARS),
                    code=_short(err.get("code")),
                    kind=_short(err.get("type")),
                    param=_short(err.get("param")),
                )
            ]
        return [Ignored(kind)]

    # --- client -> server -------------------------------------------------------------------

    def _stamp(self, message: dict[str, Any]) -> dict[str, Any]:
        message["event_id"] = f"evt_client_{next(self._ids)}"
        return message

    def session_update_message(self, only: set[str] | None = None) -> dict[str, Any]:
        return self._stamp(self.dialect.session_update(self.config, only))

    def append_message(self, pcm: bytes) -> dict[str, Any]:
        return {
            "type": "input_audio_buffer.append",
            "audio": base64.b64encode(pcm).decode("ascii"),
        }

    def truncate_message(
        self, item_id: str, content_index: int, audio_end_ms: int
    ) -> dict[str, Any]:
        return self._stamp(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": content_index,
                "audio_end_ms": max(0, int(audio_end_ms)),
            }
        )

    def cancel_message(self) -> dict[str, Any]:
        return self._stamp({"type": "response.cancel"})

    def function_output_messages(self, results: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        """One ``function_call_output`` per (call_id, result), then one ``response.create``."""
        messages = [
            self._stamp(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "function_call_output",
                        "call_id": call_id,
                        "output": json.dumps(result),
                    },
                }
            )
            for call_id, result in results
        ]
        messages.append(self._stamp({"type": "response.create"}))
        return messages

    def say_messages(
        self, text: str, role: str = "system", respond: bool | None = None
    ) -> list[dict[str, Any]]:
        """Deep Chat's ``sendMessage(text, role)``: the message, then ``response.create``.

        ``respond=None`` asks for a response after a user message only: system context and
        assistant lines need none (Deep Chat always forces one; we do not copy that).
        """
        messages = [self._stamp(self.dialect.message(text, role))]
        if respond if respond is not None else role == "user":
            messages.append(self._stamp({"type": "response.create"}))
        return messages

    def update_config(self, changes: dict[str, Any]) -> tuple[SessionConfig, dict[str, Any]]:
        """Validate seed-named ``changes`` against the current config; return the new config and
        the ``session.update`` message carrying just those fields."""
        merged = {**self.config.model_dump(exclude_unset=True), **changes}
        new = SessionConfig.model_validate(merged)
        only = {_field_name(name) for name in changes}
        message = self._stamp(self.dialect.session_update(new, only))
        self.config = new
        return new, message


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from the server, or an empty one if it sent something else."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    """An id, code or status: a string, or None when absent (anything else is stringified)."""
    return None if value is None else str(value)


def _field(message: dict[str, Any], name: str, missing: str = "no") -> Any:
    """``message[name]``, or :class:`Malformed` ("no delta") when it is absent."""
    if name not in message:
        raise Malformed(f"{missing} {name}")
    return message[name]


def _pcm(delta: Any) -> bytes:
    """An audio delta's 16-bit PCM, from its base64 text."""
    if not isinstance(delta, str):
        raise Malformed("delta is not text")
    try:
        pcm = base64.b64decode(delta, validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise Malformed("invalid base64 in delta") from None
    if len(pcm) % 2:
        raise Malformed("delta has an odd number of bytes (16-bit PCM has two per sample)")
    return pcm


def _transcript(value: Any, name: str) -> str:
    """A transcript's text, cut at :data:`TRANSCRIPT_MAX_CHARS`."""
    if not isinstance(value, str):
        raise Malformed(f"{name} is not text")
    return _cut(value, TRANSCRIPT_MAX_CHARS)


def _cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters ending in ``... (N more characters cut)``."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters cut)"


def _short(value: Any) -> str | None:
    """An error's code, type or param (:func:`_text`), cut at :data:`MESSAGE_TYPE_SHOWN_CHARS`."""
    text = _text(value)
    return None if text is None else _cut(text, MESSAGE_TYPE_SHOWN_CHARS)


def _index(value: Any, name: str) -> int:
    """A non-negative integer field (content_index, audio_start_ms)."""
    wrong = Malformed(f"{name} is not a whole number of at least 0")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong
    if isinstance(value, float) and not math.isfinite(value):
        raise wrong
    number = int(value)
    if number < 0:
        raise wrong
    return number


def _field_name(name: str) -> str:
    for field_name, info in SessionConfig.model_fields.items():
        if name in (field_name, info.alias):
            return field_name
    raise ValueError(f"unknown session field {name!r}")
