"""The two dialects of the OpenAI Realtime API, as pure mappings.

Users write the seed's (Deep Chat's) config names: ``voice``, ``turn_detection``,
``input_audio_transcription``, ``max_response_output_tokens``, ``temperature``... Each dialect maps
them to its wire shape:

* **GA** (current): ``session.type = "realtime"``, audio settings nested under ``audio.input`` /
  ``audio.output``, ``max_output_tokens``, ``output_modalities``; server audio messages
  ``response.output_audio.*``; assistant text content ``output_text``; keys from
  ``POST /v1/realtime/client_secrets`` (``value``).
* **beta** (legacy hosts, old configs): flat fields, header ``OpenAI-Beta: realtime=v1``,
  ``response.audio.*``; assistant content ``text``; keys from ``POST /v1/realtime/sessions``
  (``client_secret.value``).

A field a dialect cannot express (``temperature`` on GA; ``reasoning`` or
``parallel_tool_calls`` on beta) is a :class:`DialectError`, never a
silent drop. The rules are in :mod:`appliance.realtime.rules`, in one place: the mappings raise
the first problem found, and validation reports them all against the dialect the configuration
will use (``auto``: :func:`guess`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from appliance.audio.pcm import WIRE_RATE
from appliance.config import SessionConfig, Transcription
from appliance.realtime.rules import BETA_MODEL_PREFIXES, Problem, guess, problems
from appliance.realtime.rules import wanted as _wanted

__all__ = ["BETA_MODEL_PREFIXES", "DIALECTS", "Dialect", "DialectError", "guess"]

BETA_REFUSAL_CODE = "beta_api_shape_disabled"


class DialectError(ValueError):
    """A config field that this dialect cannot express. ``field`` is its dotted name."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MessageTypes:
    """The ``type`` of the server messages whose name differs between the dialects."""

    audio_delta: str
    audio_done: str
    transcript_delta: str
    transcript_done: str
    text_delta: str
    text_done: str


def _transcription(value: bool | Transcription | None) -> dict[str, Any] | None:
    if value is None or value is False:
        return None
    if value is True:
        return {"model": "whisper-1"}
    return value.model_dump(exclude_none=True)


def _tools(cfg: SessionConfig) -> list[dict[str, Any]]:
    return [tool.model_dump(exclude_none=True) for tool in cfg.tools]


def _plain(value: Any) -> Any:
    """A config value as JSON-ready data (models dumped without unset parts)."""
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


class Dialect:
    """Base: what both dialects share. Subclasses fill in the wire specifics."""

    name: str
    key_path: str
    message_types: MessageTypes
    assistant_content: str

    def ws_url(self, api_base: str, model: str) -> str:
        base = api_base.rstrip("/")
        if base.startswith("http"):
            base = "ws" + base[len("http") :]
        return f"{base}/v1/realtime?model={quote(model, safe='')}"

    def ws_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def session(self, cfg: SessionConfig, only: set[str] | None = None) -> dict[str, Any]:
        """The ``session`` object for ``session.update`` (``only``: just these config fields).
        Raises :class:`DialectError` for the first of :meth:`problems`."""
        raise NotImplementedError

    def problems(self, cfg: SessionConfig, only: set[str] | None = None) -> list[Problem]:
        """What this dialect cannot express in ``cfg`` (``only``: in just these fields)."""
        return problems(self.name, cfg, only)

    def _check(self, cfg: SessionConfig, only: set[str] | None) -> set[str]:
        """The fields to send, once :meth:`problems` found nothing to refuse among them."""
        found = self.problems(cfg, only)
        if found:
            field, message = found[0]
            raise DialectError(message, field)
        return _wanted(cfg, only)

    def mint_body(self, cfg: SessionConfig) -> dict[str, Any]:
        """The body that mints an ephemeral key carrying ``cfg``."""
        raise NotImplementedError

    def minted_key(self, data: Any) -> tuple[str, float | None]:
        """(key, expires_at) from the minting reply; raises ``ValueError`` if absent."""
        raise NotImplementedError

    def session_update(self, cfg: SessionConfig, only: set[str] | None = None) -> dict[str, Any]:
        return {"type": "session.update", "session": self.session(cfg, only)}

    def message(self, text: str, role: str) -> dict[str, Any]:
        """A ``conversation.item.create`` for Deep Chat's ``sendMessage(text, role)``."""
        if role not in ("system", "user", "assistant"):
            raise ValueError("role must be system, user or assistant")
        kind = self.assistant_content if role == "assistant" else "input_text"
        return {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
        }


class GA(Dialect):
    name = "ga"
    key_path = "/v1/realtime/client_secrets"
    assistant_content = "output_text"
    message_types = MessageTypes(
        audio_delta="response.output_audio.delta",
        audio_done="response.output_audio.done",
        transcript_delta="response.output_audio_transcript.delta",
        transcript_done="response.output_audio_transcript.done",
        text_delta="response.output_text.delta",
        text_done="response.output_text.done",
    )

    def session(self, cfg: SessionConfig, only: set[str] | None = None) -> dict[str, Any]:
        wanted = self._check(cfg, only)
        session: dict[str, Any] = {"type": "realtime"}
        audio_in: dict[str, Any] = {}
        audio_out: dict[str, Any] = {}
        if only is None:
            session["output_modalities"] = ["audio"]
            audio_in["format"] = {"type": "audio/pcm", "rate": WIRE_RATE}
            audio_out["format"] = {"type": "audio/pcm", "rate": WIRE_RATE}
        if "instructions" in wanted:
            session["instructions"] = cfg.instructions
        if "voice" in wanted:
            audio_out["voice"] = cfg.voice
        if wanted & {"speed", "audio"} and cfg.output_speed is not None:
            audio_out["speed"] = cfg.output_speed
        if "max_response_output_tokens" in wanted:
            session["max_output_tokens"] = cfg.max_response_output_tokens
        if "turn_detection" in wanted:
            td = cfg.turn_detection
            audio_in["turn_detection"] = None if td is None else td.model_dump(exclude_none=True)
        if "input_audio_transcription" in wanted:
            audio_in["transcription"] = _transcription(cfg.input_audio_transcription)
        if "noise_reduction" in wanted:
            nr = cfg.noise_reduction
            audio_in["noise_reduction"] = None if nr is None else {"type": nr}
        if "tools" in wanted:
            session["tools"] = _tools(cfg)
        for name in (
            "tool_choice",
            "truncation",
            "prompt",
            "tracing",
            "include",
            "reasoning",
            "parallel_tool_calls",
        ):
            if name in wanted:  # GA fields Deep Chat passes as they are: the same shape here
                session[name] = _plain(getattr(cfg, name))
        audio: dict[str, Any] = {}
        if audio_in:
            audio["input"] = audio_in
        if audio_out:
            audio["output"] = audio_out
        if audio:
            session["audio"] = audio
        return session

    def mint_body(self, cfg: SessionConfig) -> dict[str, Any]:
        session = self.session(cfg)
        session["model"] = cfg.model
        return {"session": session}

    def minted_key(self, data: Any) -> tuple[str, float | None]:
        if isinstance(data, dict) and isinstance(data.get("value"), str):
            return data["value"], data.get("expires_at")
        raise ValueError("the reply has no 'value' (expected the GA client_secrets shape)")


class Beta(Dialect):
    name = "beta"
    key_path = "/v1/realtime/sessions"
    assistant_content = "text"
    message_types = MessageTypes(
        audio_delta="response.audio.delta",
        audio_done="response.audio.done",
        transcript_delta="response.audio_transcript.delta",
        transcript_done="response.audio_transcript.done",
        text_delta="response.text.delta",
        text_done="response.text.done",
    )

    def ws_headers(self, key: str) -> dict[str, str]:
        return {**super().ws_headers(key), "OpenAI-Beta": "realtime=v1"}

    def session(self, cfg: SessionConfig, only: set[str] | None = None) -> dict[str, Any]:
        wanted = self._check(cfg, only)
        session: dict[str, Any] = {}
        if only is None:
            session["modalities"] = ["audio", "text"]
            session["input_audio_format"] = "pcm16"
            session["output_audio_format"] = "pcm16"
        for name in ("instructions", "voice", "temperature", "tool_choice", "tracing", "include"):
            if name in wanted:
                session[name] = _plain(getattr(cfg, name))
        if wanted & {"speed", "audio"} and cfg.output_speed is not None:
            session["speed"] = cfg.output_speed  # beta's speed is flat
        if "max_response_output_tokens" in wanted:
            session["max_response_output_tokens"] = cfg.max_response_output_tokens
        if "turn_detection" in wanted:
            td = cfg.turn_detection
            session["turn_detection"] = None if td is None else td.model_dump(exclude_none=True)
        if "input_audio_transcription" in wanted:
            session["input_audio_transcription"] = _transcription(cfg.input_audio_transcription)
        if "noise_reduction" in wanted:
            nr = cfg.noise_reduction
            session["input_audio_noise_reduction"] = None if nr is None else {"type": nr}
        if "tools" in wanted:
            session["tools"] = _tools(cfg)
        return session

    def mint_body(self, cfg: SessionConfig) -> dict[str, Any]:
        return {"model": cfg.model, **self.session(cfg)}

    def minted_key(self, data: Any) -> tuple[str, float | None]:
        secret = data.get("client_secret") if isinstance(data, dict) else None
        if isinstance(secret, dict) and isinstance(secret.get("value"), str):
            return secret["value"], secret.get("expires_at")
        raise ValueError("the reply has no 'client_secret.value' (expected the beta shape)")


DIALECTS: dict[str, Dialect] = {"ga": GA(), "beta": Beta()}
