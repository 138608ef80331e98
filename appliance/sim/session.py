"""One simulated realtime session, sans I/O: client events in, server events out.

:class:`SimSession` is what the WebSocket handler drives:

- :meth:`SimSession.start` gives the first events (``session.created``...);
- :meth:`SimSession.receive_text` / :meth:`SimSession.receive` take one client event and
  return what the server sends back at once (an ``error`` for a bad event, VAD events,
  the start of a response...);
- :meth:`SimSession.pump` gives the next slice of an answer being spoken (one audio delta of
  100 ms and its share of the transcript), with the audio duration so the caller can pace it;
- :meth:`SimSession.inject` plays a scripted fault on this session.

Returned items are JSON-able ``dict`` events or one of the directives :class:`Drop`,
:class:`Close`, :class:`Stall` and :class:`RawText`, which the I/O layer carries out.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from appliance.sim.config import ServedSession
from appliance.sim.schema import Invalid, check
from appliance.sim.script import ResponsePlan, Script
from appliance.sim.shapes import AUDIO_EVENTS, CLIENT_EVENTS, ROLE_CONTENT
from appliance.sim.vad import FRAME_BYTES, EnergyVad, SpeechStarted, frame_dbfs, threshold_dbfs
from appliance.sim.voice import synth_speech

BYTES_PER_MS = 48  # 24 kHz, 16-bit mono
DEFAULT_ANSWER = "This is the simulator answering."
MAX_BUFFER_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100
USAGE = {
    "total_tokens": 60,
    "input_tokens": 20,
    "output_tokens": 40,
    "input_token_details": {"audio_tokens": 15, "text_tokens": 5, "cached_tokens": 3},
    "output_token_details": {"audio_tokens": 30, "text_tokens": 10},
}
"""The ``usage`` of every finished or cancelled response (the service's shape, with its
audio, text and cached shares), for the usage reports' sums."""


@dataclass(frozen=True)
class Drop:
    """Close the connection abruptly, without a close frame."""


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with ``code`` and ``reason``."""

    code: int
    reason: str = ""


@dataclass(frozen=True)
class Stall:
    """Send nothing more on this connection (keep it open and keep reading)."""


@dataclass(frozen=True)
class RawText:
    """Send ``text`` as it is, as one text frame (e.g. malformed JSON)."""

    text: str


Out = dict[str, Any] | Drop | Close | Stall | RawText


@dataclass
class Step:
    """One slice of a response from :meth:`SimSession.pump`."""

    events: list[Out]
    audio_ms: int = 0


@dataclass
class _Item:
    item: dict[str, Any]
    audio_ms: int = 0
    audio_part: int | None = None  # content index of the assistant's audio part


@dataclass
class _Response:
    id: str
    audio: bool
    plan: ResponsePlan
    out_of_band: bool
    metadata: Any
    item: dict[str, Any] | None = None
    pcm: bytes = b""
    sent_bytes: int = 0
    deltas: int = 0
    words: list[str] = field(default_factory=list)
    words_sent: int = 0
    transcript: str = ""


MAX_HEARD = 1000
"""Committed turns remembered in :attr:`SimSession.heard` (the latest)."""


class SimSession:
    """The protocol state of one realtime session (see the module docstring).

    :param dialect: ``"ga"`` or ``"beta"``.
    :param config: the session configuration (from the minted key, or defaults).
    :param script: the simulator-wide script (answer length, scripted calls and faults).
    :param delta_ms: audio per ``*.audio.delta`` event.
    :param clock: returns the Unix time (for ``expires_at``).
    """

    def __init__(
        self,
        dialect: str,
        config: ServedSession | None = None,
        script: Script | None = None,
        *,
        delta_ms: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', not {dialect!r}")
        self.dialect = dialect
        self.config = config.copy() if config is not None else ServedSession()
        self.script = script if script is not None else Script()
        self.delta_ms = delta_ms
        self._clock = clock
        self._salt = secrets.token_hex(4)
        self._counter = 0
        self.id = self._new_id("sess")
        self.conversation_id = self._new_id("conv")
        self.expires_at = int(clock()) + 3600
        self.items: dict[str, _Item] = {}
        self._order: list[str] = []
        self._since_response: list[str] = []
        self._calls: set[str] = set()
        self.response: _Response | None = None
        self._buffer = bytearray()
        self._vad = EnergyVad(self.config.turn_detection)
        self._vad_item: str | None = None
        self.audio_sent = False
        self.names = AUDIO_EVENTS[dialect]
        self.heard: list[dict[str, Any]] = []
        """What each committed user turn held (``GET /sim/log``'s ``heard``): ``speech_ms``
        (the VAD's span, as in the transcript), ``voiced_ms`` (its voiced 20 ms frames: a gap
        or a cut in the audio shows here) and ``audio_ms`` (all audio of the turn)."""

    # ---- ids and small builders ---------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._salt}{self._counter:06d}"

    def _event(self, type_: str, **fields: Any) -> dict[str, Any]:
        # Deep copy: items change as a response goes on, events must not.
        return {"type": type_, "event_id": self._new_id("event"), **copy.deepcopy(fields)}

    def _error(
        self,
        code: str,
        message: str,
        param: str | None = None,
        event_id: str | None = None,
        type_: str = "invalid_request_error",
    ) -> dict[str, Any]:
        return self._event(
            "error",
            error={
                "type": type_,
                "code": code,
                "message": message,
                "param": param,
                "event_id": event_id,
            },
        )

    def session_object(self) -> dict[str, Any]:
        """The full session object in this session's dialect."""
        return {
            "object": "realtime.session",
            "id": self.id,
            **self.config.render(self.dialect),
            "expires_at": self.expires_at,
        }

    @property
    def response_active(self) -> bool:
        """Whether a response is being produced."""
        return self.response is not None

    @property
    def user_speaking(self) -> bool:
        """Whether the server VAD is inside a stretch of speech (not yet committed)."""
        return self._vad.speaking

    @property
    def last_item_id(self) -> str | None:
        """The id of the last item of the conversation."""
        return self._order[-1] if self._order else None

    # ---- entry points ---------------------------------------------------------------------------

    def start(self) -> list[Out]:
        """The events sent when the connection opens, then any fault waiting for a session."""
        outs: list[Out] = [self._event("session.created", session=self.session_object())]
        if self.dialect == "beta":
            outs.append(
                self._event(
                    "conversation.created",
                    conversation={"id": self.conversation_id, "object": "realtime.conversation"},
                )
            )
        for command in self.script.take_immediate():
            outs += self.inject(command)
        return outs

    def receive_text(self, text: str) -> list[Out]:
        """Handle one text frame from the client."""
        try:
            event = json.loads(text)
        except ValueError as exc:
            return [self._error("invalid_json", f"The event is not valid JSON: {exc}.")]
        return self.receive(event)

    def receive(self, event: Any) -> list[Out]:
        """Handle one decoded client event; return what the server sends back."""
        if not isinstance(event, dict):
            return [self._error("invalid_type", "An event must be a JSON object.")]
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        type_ = event.get("type")
        if "type" not in event:
            return [
                self._error(
                    "missing_required_parameter",
                    "Missing required parameter: 'type'.",
                    "type",
                    event_id,
                )
            ]
        specs = CLIENT_EVENTS[self.dialect]
        if type_ not in specs:
            shown = f"'{type_}'" if isinstance(type_, str) else json.dumps(type_)
            return [
                self._error(
                    "invalid_value",
                    f"Invalid value: {shown}. Supported values are: "
                    + ", ".join(f"'{name}'" for name in specs)
                    + ".",
                    "type",
                    event_id,
                )
            ]
        try:
            check(event, specs[type_])
            handler = getattr(self, "_on_" + type_.replace(".", "_"))
            return handler(event)
        except Invalid as exc:
            return [self._error(exc.code, exc.message, exc.param, event_id)]

    def inject(self, command: dict[str, Any]) -> list[Out]:
        """Play a scripted fault on this session now."""
        kind = command.get("fault")
        if kind == "stall":
            return [Stall()]
        if kind == "drop":
            return [Drop()]
        if kind == "malformed_json":
            return [RawText('{"type": "response.output_audio.delta", "delta": "AAAA')]
        if kind == "unknown_event":
            return [self._event("sim.unknown_thing")]
        if kind == "error":
            fatal = command.get("fatal", False)
            outs: list[Out] = [
                self._error(
                    command.get("code", "server_error"),
                    command.get("message", "The simulator was scripted to fail."),
                    type_=command.get("type", "server_error"),
                )
            ]
            if fatal:
                outs.append(Close(command.get("close_code", 1011), "scripted fatal error"))
            return outs
        return []

    # ---- session ------------------------------------------------------------------------------

    def _on_session_update(self, event: dict[str, Any]) -> list[Out]:
        session = event["session"]
        new = self.config.copy()
        new.apply(self.dialect, session)
        if new.voice != self.config.voice and self.audio_sent:
            raise Invalid(
                "cannot_update_voice",
                "Cannot update a conversation's voice if assistant audio is present.",
                "session.voice" if self.dialect == "beta" else "session.audio.output.voice",
            )
        self.config = new
        if new.turn_detection is not None:
            self._vad.configure(new.turn_detection)
        else:
            self._vad.reset()
        return [self._event("session.updated", session=self.session_object())]

    # ---- input audio --------------------------------------------------------------------------

    def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> list[Out]:
        try:
            pcm = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(
                "invalid_value", "Invalid 'audio'. Expected base64-encoded PCM16 audio.", "audio"
            ) from None
        if len(pcm) % 2:
            raise Invalid(
                "invalid_value",
                f"Invalid 'audio': PCM16 needs an even number of bytes, got {len(pcm)}.",
                "audio",
            )
        self._buffer += pcm
        if len(self._buffer) > MAX_BUFFER_BYTES:
            del self._buffer[: len(self._buffer) - MAX_BUFFER_BYTES]
        outs: list[Out] = []
        td = self.config.turn_detection
        if td is None:
            return outs
        for vad_event in self._vad.feed(pcm):
            if isinstance(vad_event, SpeechStarted):
                self._vad_item = self._new_id("item")
                outs.append(
                    self._event(
                        "input_audio_buffer.speech_started",
                        audio_start_ms=vad_event.audio_start_ms,
                        item_id=self._vad_item,
                    )
                )
                if self.response is not None and td.get("interrupt_response", True):
                    outs += self._finish_response("cancelled", "turn_detected")
            else:
                item_id = self._vad_item or self._new_id("item")
                self._vad_item = None
                outs.append(
                    self._event(
                        "input_audio_buffer.speech_stopped",
                        audio_end_ms=vad_event.audio_end_ms,
                        item_id=item_id,
                    )
                )
                outs += self._commit(item_id, vad_event.speech_ms)
                if td.get("create_response", True) and self.response is None:
                    outs += self._start_response({})
        return outs

    def _voiced_ms(self, threshold: float = 0.5) -> int:
        usable = len(self._buffer) - len(self._buffer) % FRAME_BYTES
        if usable == 0:
            return 0
        frames = np.frombuffer(bytes(self._buffer[:usable]), dtype="<i2").reshape(
            -1, FRAME_BYTES // 2
        )
        limit = threshold_dbfs(threshold)
        return 20 * sum(1 for frame in frames if frame_dbfs(frame) >= limit)

    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> list[Out]:
        buffered_ms = len(self._buffer) / BYTES_PER_MS
        if buffered_ms < MIN_COMMIT_MS:
            raise Invalid(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
            )
        item_id = self._vad_item or self._new_id("item")
        self._vad_item = None
        self._vad.reset()
        return self._commit(item_id, self._voiced_ms())

    def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> list[Out]:
        self._buffer.clear()
        self._vad.reset()
        self._vad_item = None
        return [self._event("input_audio_buffer.cleared")]

    def _commit(self, item_id: str, speech_ms: int) -> list[Out]:
        previous = self.last_item_id
        self.heard.append(
            {
                "item_id": item_id,
                "speech_ms": speech_ms,
                "voiced_ms": self._voiced_ms(self._vad.threshold),
                "audio_ms": round(len(self._buffer) / BYTES_PER_MS),
            }
        )
        del self.heard[:-MAX_HEARD]
        self._buffer.clear()
        item = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        outs: list[Out] = [
            self._event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        ]
        outs += self._add_item(item, previous)
        if self.config.transcription is not None:
            transcript = f"(heard {speech_ms / 1000:.1f} s of speech)"
            if self.dialect == "ga":
                outs.append(
                    self._event(
                        "conversation.item.input_audio_transcription.delta",
                        item_id=item_id,
                        content_index=0,
                        delta=transcript,
                    )
                )
            outs.append(
                self._event(
                    "conversation.item.input_audio_transcription.completed",
                    item_id=item_id,
                    content_index=0,
                    transcript=transcript,
                )
            )
            item["content"][0]["transcript"] = transcript
        return outs

    # ---- conversation -------------------------------------------------------------------------

    def _add_item(
        self, item: dict[str, Any], previous: str | None, audio_part: int | None = None
    ) -> list[Out]:
        """Store ``item`` after ``previous`` and return its added/created event(s)."""
        record = _Item(item, audio_part=audio_part)
        self.items[item["id"]] = record
        if self._order and self._order[-1] == previous:  # the usual case, without a scan
            index = len(self._order)
        else:
            index = self._order.index(previous) + 1 if previous in self._order else len(self._order)
        self._order.insert(index, item["id"])
        self._since_response.append(item["id"])
        if self.dialect == "ga":
            outs: list[Out] = [
                self._event("conversation.item.added", previous_item_id=previous, item=item)
            ]
            if item.get("status") == "completed":
                outs.append(
                    self._event("conversation.item.done", previous_item_id=previous, item=item)
                )
            return outs
        return [self._event("conversation.item.created", previous_item_id=previous, item=item)]

    def _on_conversation_item_create(self, event: dict[str, Any]) -> list[Out]:
        item = dict(event["item"])
        kind = item["type"]
        if kind == "message":
            allowed = ROLE_CONTENT[self.dialect][item["role"]]
            for i, part in enumerate(item["content"]):
                if part["type"] not in allowed:
                    raise Invalid(
                        "invalid_value",
                        f"Invalid value: '{part['type']}'. Supported values are: "
                        + " and ".join(f"'{a}'" for a in allowed)
                        + f" (for role '{item['role']}').",
                        f"item.content[{i}].type",
                    )
        elif kind == "function_call_output" and item["call_id"] not in self._calls:
            raise Invalid(
                "invalid_value",
                f"Invalid 'item.call_id': no function call with call_id '{item['call_id']}' "
                "in this conversation.",
                "item.call_id",
            )
        elif kind == "function_call":
            self._calls.add(item.setdefault("call_id", self._new_id("call")))
        if item.get("id") in self.items:
            raise Invalid(
                "invalid_value", f"Item with id '{item['id']}' already exists.", "item.id"
            )
        previous = event.get("previous_item_id")
        if previous is not None and previous not in self.items:
            raise Invalid(
                "invalid_value",
                f"Invalid 'previous_item_id': no item with id '{previous}'.",
                "previous_item_id",
            )
        item.setdefault("id", self._new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        return self._add_item(item, previous if previous is not None else self.last_item_id)

    def _find(self, item_id: str, param: str = "item_id") -> _Item:
        if item_id not in self.items:
            raise Invalid("invalid_value", f"Conversation item '{item_id}' not found.", param)
        return self.items[item_id]

    def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> list[Out]:
        return [self._event("conversation.item.retrieved", item=self._find(event["item_id"]).item)]

    def _on_conversation_item_delete(self, event: dict[str, Any]) -> list[Out]:
        item_id = event["item_id"]
        self._find(item_id)
        del self.items[item_id]
        self._order.remove(item_id)
        if item_id in self._since_response:
            self._since_response.remove(item_id)
        return [self._event("conversation.item.deleted", item_id=item_id)]

    def _on_conversation_item_truncate(self, event: dict[str, Any]) -> list[Out]:
        item_id = event["item_id"]
        record = self._find(item_id)
        if record.audio_part is None:
            raise Invalid(
                "invalid_value",
                f"Only assistant messages with audio can be truncated; '{item_id}' is not one.",
                "item_id",
            )
        if event["content_index"] != record.audio_part:
            raise Invalid(
                "invalid_value",
                f"Invalid 'content_index': item '{item_id}' has its audio at content index "
                f"{record.audio_part}, not {event['content_index']}.",
                "content_index",
            )
        end = event["audio_end_ms"]
        if end > record.audio_ms:
            raise Invalid(
                "invalid_value",
                f"audio_end_ms is longer than the audio: {end} ms asked, item '{item_id}' has "
                f"{record.audio_ms} ms of audio.",
                "audio_end_ms",
            )
        record.audio_ms = end
        record.item["content"][record.audio_part]["transcript"] = ""
        return [
            self._event(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=record.audio_part,
                audio_end_ms=end,
            )
        ]

    # ---- responses ----------------------------------------------------------------------------

    def _on_response_create(self, event: dict[str, Any]) -> list[Out]:
        if self.response is not None:
            raise Invalid(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        return self._start_response(event.get("response", {}))

    def _on_response_cancel(self, event: dict[str, Any]) -> list[Out]:
        wanted = event.get("response_id")
        if self.response is None or (wanted is not None and wanted != self.response.id):
            raise Invalid(
                "response_cancel_not_active", "Cancellation failed: no active response found."
            )
        return self._finish_response("cancelled", "client_cancelled")

    def _answer_text(self) -> str:
        outputs: list[str] = []
        said: str | None = None
        for item_id in self._since_response:
            item = self.items[item_id].item if item_id in self.items else None
            if item is None:
                continue
            if item["type"] == "function_call_output":
                outputs.append(item["output"])
            elif item["type"] == "message" and item["role"] == "user":
                texts = [p["text"] for p in item["content"] if p["type"] == "input_text"]
                said = " ".join(texts) if texts else None
        if outputs:
            return "Here is what the functions returned: " + "; ".join(outputs) + "."
        if said:
            return f"You said: {said}"
        return DEFAULT_ANSWER

    def _start_response(self, params: dict[str, Any]) -> list[Out]:
        modalities = params.get("output_modalities") or params.get("modalities")
        if modalities is None:
            audio = "audio" in self.config.output_modalities
        else:
            audio = "audio" in modalities
        plan = self.script.take_plan(audio=audio)
        response = _Response(
            id=self._new_id("resp"),
            audio=audio,
            plan=plan,
            out_of_band=params.get("conversation") == "none",
            metadata=params.get("metadata"),
        )
        self.response = response
        outs: list[Out] = [
            self._event("response.created", response=self._response_object("in_progress", None))
        ]
        if plan.function_calls is not None:
            self._since_response = []
            return outs + self._function_calls(plan.function_calls)
        response.transcript = plan.transcript or self._answer_text()
        self._since_response = []
        response.words = response.transcript.split(" ")
        part_type = self.names["audio_part"] if audio else self.names["text_part"]
        item = {
            "id": self._new_id("item"),
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        response.item = item
        outs.append(
            self._event(
                "response.output_item.added", response_id=response.id, output_index=0, item=item
            )
        )
        if not response.out_of_band:
            outs += self._add_item(item, self.last_item_id, audio_part=0 if audio else None)
        part: dict[str, Any] = (
            {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        )
        outs.append(
            self._event(
                "response.content_part.added",
                response_id=response.id,
                item_id=item["id"],
                output_index=0,
                content_index=0,
                part=part,
            )
        )
        item["content"] = [
            {"type": part_type, "transcript": ""} if audio else {"type": part_type, "text": ""}
        ]
        if audio:
            response.pcm = synth_speech(self.script.answer_seconds)
            return outs
        # A text answer is sent at once, word by word.
        for i, word in enumerate(response.words):
            outs.append(
                self._event(
                    self.names["text_delta"],
                    response_id=response.id,
                    item_id=item["id"],
                    output_index=0,
                    content_index=0,
                    delta=word if i == 0 else " " + word,
                )
            )
        response.words_sent = len(response.words)
        return outs + self._finish_response("completed", None)

    def _function_calls(self, calls: list[dict[str, Any]]) -> list[Out]:
        assert self.response is not None
        response = self.response
        outs: list[Out] = []
        items = []
        for index, call in enumerate(calls):
            call_id = call.get("call_id") or self._new_id("call")
            self._calls.add(call_id)
            arguments = call.get("arguments", "{}")
            item = {
                "id": self._new_id("item"),
                "type": "function_call",
                "object": "realtime.item",
                "status": "in_progress",
                "name": call["name"],
                "call_id": call_id,
                "arguments": "",
            }
            outs.append(
                self._event(
                    "response.output_item.added",
                    response_id=response.id,
                    output_index=index,
                    item=dict(item),
                )
            )
            if self.dialect == "beta":
                outs.append(
                    self._event(
                        "conversation.item.created",
                        previous_item_id=self.last_item_id,
                        item=dict(item),
                    )
                )
            else:
                outs.append(
                    self._event(
                        "conversation.item.added",
                        previous_item_id=self.last_item_id,
                        item=dict(item),
                    )
                )
            common = {
                "response_id": response.id,
                "item_id": item["id"],
                "output_index": index,
                "call_id": call_id,
            }
            outs.append(
                self._event("response.function_call_arguments.delta", **common, delta=arguments)
            )
            outs.append(
                self._event(
                    "response.function_call_arguments.done",
                    **common,
                    name=call["name"],
                    arguments=arguments,
                )
            )
            item["arguments"] = arguments
            item["status"] = "completed"
            previous = self.last_item_id
            self.items[item["id"]] = _Item(item)
            self._order.append(item["id"])
            outs.append(
                self._event(
                    "response.output_item.done",
                    response_id=response.id,
                    output_index=index,
                    item=item,
                )
            )
            if self.dialect == "ga":
                outs.append(
                    self._event("conversation.item.done", previous_item_id=previous, item=item)
                )
            items.append(item)
        self.response = None
        outs.append(
            self._event(
                "response.done",
                response=self._response_object("completed", None, items, response),
            )
        )
        outs.append(self._rate_limits())
        return outs

    def pump(self) -> Step:
        """The next slice of the audio answer being produced (empty when none is)."""
        response = self.response
        if response is None or not response.audio:
            return Step([])
        plan = response.plan
        if plan.drop_after_deltas is not None and response.deltas >= plan.drop_after_deltas:
            self.response = None
            return Step([Drop()])
        assert response.item is not None
        chunk_bytes = self.delta_ms * BYTES_PER_MS
        chunk = response.pcm[response.sent_bytes : response.sent_bytes + chunk_bytes]
        if not chunk:
            return Step(self._finish_response("completed", None))
        response.sent_bytes += len(chunk)
        response.deltas += 1
        self.audio_sent = True
        if response.item["id"] in self.items:
            self.items[response.item["id"]].audio_ms = response.sent_bytes // BYTES_PER_MS
        common = {
            "response_id": response.id,
            "item_id": response.item["id"],
            "output_index": 0,
            "content_index": 0,
        }
        events: list[Out] = [
            self._event(
                self.names["audio_delta"], **common, delta=base64.b64encode(chunk).decode("ascii")
            )
        ]
        # The transcript keeps pace with the audio.
        due = int(np.ceil(len(response.words) * response.sent_bytes / max(len(response.pcm), 1)))
        while response.words_sent < min(due, len(response.words)):
            word = response.words[response.words_sent]
            events.append(
                self._event(
                    self.names["transcript_delta"],
                    **common,
                    delta=word if response.words_sent == 0 else " " + word,
                )
            )
            response.words_sent += 1
        return Step(events, audio_ms=len(chunk) // BYTES_PER_MS)

    def _finish_response(self, status: str, reason: str | None) -> list[Out]:
        """The closing events of the active response, with ``status`` (completed/cancelled)."""
        response = self.response
        assert response is not None
        self.response = None
        item = response.item
        assert item is not None
        common = {
            "response_id": response.id,
            "item_id": item["id"],
            "output_index": 0,
            "content_index": 0,
        }
        said = " ".join(response.words[: response.words_sent])
        outs: list[Out] = []
        if response.audio:
            outs.append(self._event(self.names["audio_done"], **common))
            outs.append(self._event(self.names["transcript_done"], **common, transcript=said))
            part = {"type": "audio", "transcript": said}
            item["content"] = [{"type": self.names["audio_part"], "transcript": said}]
        else:
            outs.append(self._event(self.names["text_done"], **common, text=said))
            part = {"type": "text", "text": said}
            item["content"] = [{"type": self.names["text_part"], "text": said}]
        outs.append(self._event("response.content_part.done", **common, part=part))
        item["status"] = "completed" if status == "completed" else "incomplete"
        outs.append(
            self._event(
                "response.output_item.done", response_id=response.id, output_index=0, item=item
            )
        )
        if self.dialect == "ga" and not response.out_of_band and item["id"] in self.items:
            previous_index = self._order.index(item["id"]) - 1
            previous = self._order[previous_index] if previous_index >= 0 else None
            outs.append(self._event("conversation.item.done", previous_item_id=previous, item=item))
        details = None if reason is None else {"type": status, "reason": reason}
        outs.append(
            self._event(
                "response.done",
                response=self._response_object(status, details, [item], response),
            )
        )
        outs.append(self._rate_limits())
        return outs

    def _response_object(
        self,
        status: str,
        details: dict[str, Any] | None,
        output: list[dict[str, Any]] | None = None,
        response: _Response | None = None,
    ) -> dict[str, Any]:
        response = response or self.response
        assert response is not None
        body: dict[str, Any] = {
            "object": "realtime.response",
            "id": response.id,
            "status": status,
            "status_details": details,
            "output": output or [],
            "conversation_id": None if response.out_of_band else self.conversation_id,
            "metadata": response.metadata,
            "usage": None if status == "in_progress" else dict(USAGE),
        }
        if self.dialect == "ga":
            body["output_modalities"] = ["audio"] if response.audio else ["text"]
            body["max_output_tokens"] = self.config.max_output_tokens
            body["audio"] = {
                "output": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "voice": self.config.voice,
                }
            }
        else:
            body["modalities"] = ["audio", "text"] if response.audio else ["text"]
            body["voice"] = self.config.voice
            body["output_audio_format"] = "pcm16"
            body["temperature"] = self.config.temperature
            body["max_output_tokens"] = self.config.max_output_tokens
        return body

    def _rate_limits(self) -> dict[str, Any]:
        return self._event(
            "rate_limits.updated",
            rate_limits=[
                {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 60.0},
                {"name": "tokens", "limit": 50000, "remaining": 49940, "reset_seconds": 1.2},
            ],
        )
