"""The simulator's session configuration, held once and shown in either dialect.

:class:`ServedSession` is dialect-neutral. ``apply_ga`` / ``apply_beta`` merge an already
validated ``session`` object (from key minting or ``session.update``) into it, with the real
service's partial-update rules: absent fields stay, ``null`` clears, a new ``turn_detection``
object is completed with defaults. ``to_ga`` / ``to_beta`` render the full session object
that ``session.created`` / ``session.updated`` carry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from appliance.sim.schema import Invalid

DEFAULT_MODEL = "gpt-realtime"

PCM_GA = {"type": "audio/pcm", "rate": 24000}

SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "create_response": True,
    "interrupt_response": True,
    "idle_timeout_ms": None,
}
SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}


def complete_turn_detection(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fill a ``turn_detection`` object with the service's defaults for missing fields."""
    if value is None:
        return None
    defaults = SERVER_VAD_DEFAULTS if value["type"] == "server_vad" else SEMANTIC_VAD_DEFAULTS
    return {**defaults, **value}


@dataclass
class ServedSession:
    """Everything a realtime session is configured with, independent of the dialect."""

    model: str = DEFAULT_MODEL
    instructions: str = "You are a helpful voice assistant."
    voice: str = "alloy"
    speed: float = 1.0
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    transcription: dict[str, Any] | None = None
    turn_detection: dict[str, Any] | None = field(default_factory=lambda: dict(SERVER_VAD_DEFAULTS))
    noise_reduction: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    max_output_tokens: int | str = "inf"
    temperature: float = 0.8
    tracing: Any = None
    include: list[str] | None = None
    truncation: Any = "auto"
    prompt: Any = None
    reasoning: dict[str, Any] | None = None  # a reasoning model's {"effort": ...}
    parallel_tool_calls: bool = True

    def copy(self) -> ServedSession:
        """A deep copy."""
        return copy.deepcopy(self)

    # ---- merging ---------------------------------------------------------------------------

    def apply_ga(self, session: dict[str, Any], *, path: str = "session") -> None:
        """Merge a validated GA session object."""
        s = copy.deepcopy(session)
        for name in (
            "instructions",
            "output_modalities",
            "tools",
            "tool_choice",
            "tracing",
            "include",
            "truncation",
            "prompt",
            "max_output_tokens",
            "reasoning",
            "parallel_tool_calls",
        ):
            if name in s:
                setattr(self, name, s[name])
        if "model" in s:
            self.model = s["model"]
        if "output_modalities" in s and len(s["output_modalities"]) != 1:
            raise Invalid(
                "invalid_value",
                "Invalid 'output_modalities': exactly one of 'audio' or 'text' is supported.",
                f"{path}.output_modalities",
            )
        audio = s.get("audio", {})
        inp = audio.get("input", {})
        out = audio.get("output", {})
        for fmt_name, fmt in (("input", inp.get("format")), ("output", out.get("format"))):
            if fmt is not None and fmt != PCM_GA:
                raise Invalid(
                    "invalid_value",
                    "The simulator speaks only {'type': 'audio/pcm', 'rate': 24000}.",
                    f"{path}.audio.{fmt_name}.format",
                )
        if "transcription" in inp:
            self.transcription = inp["transcription"]
        if "turn_detection" in inp:
            self.turn_detection = complete_turn_detection(inp["turn_detection"])
        if "noise_reduction" in inp:
            self.noise_reduction = inp["noise_reduction"]
        if "voice" in out:
            self.voice = out["voice"]
        if "speed" in out:
            self.speed = out["speed"]

    def apply_beta(self, session: dict[str, Any], *, path: str = "session") -> None:
        """Merge a validated beta (flat) session object."""
        s = copy.deepcopy(session)
        for name in (
            "model",
            "instructions",
            "voice",
            "speed",
            "tools",
            "tool_choice",
            "tracing",
            "include",
            "temperature",
        ):
            if name in s:
                setattr(self, name, s[name])
        for name in ("input_audio_format", "output_audio_format"):
            if name in s and s[name] != "pcm16":
                raise Invalid(
                    "invalid_value", "The simulator speaks only 'pcm16'.", f"{path}.{name}"
                )
        if "modalities" in s:
            mods = set(s["modalities"])
            self.output_modalities = ["audio"] if "audio" in mods else ["text"]
        if "max_response_output_tokens" in s:
            self.max_output_tokens = s["max_response_output_tokens"]
        if "input_audio_transcription" in s:
            self.transcription = s["input_audio_transcription"]
        if "turn_detection" in s:
            self.turn_detection = complete_turn_detection(s["turn_detection"])
        if "input_audio_noise_reduction" in s:
            self.noise_reduction = s["input_audio_noise_reduction"]

    def apply(self, dialect: str, session: dict[str, Any], *, path: str = "session") -> None:
        """Merge a validated session object of ``dialect``."""
        if dialect == "ga":
            self.apply_ga(session, path=path)
        else:
            self.apply_beta(session, path=path)

    # ---- rendering -------------------------------------------------------------------------

    def to_ga(self) -> dict[str, Any]:
        """The GA session object (without ``id``/``object``/``expires_at``)."""
        return copy.deepcopy(
            {
                "type": "realtime",
                "model": self.model,
                "output_modalities": self.output_modalities,
                "instructions": self.instructions,
                "tools": self.tools,
                "tool_choice": self.tool_choice,
                "max_output_tokens": self.max_output_tokens,
                "tracing": self.tracing,
                "truncation": self.truncation,
                "prompt": self.prompt,
                "include": self.include,
                "reasoning": self.reasoning,
                "parallel_tool_calls": self.parallel_tool_calls,
                "audio": {
                    "input": {
                        "format": dict(PCM_GA),
                        "transcription": self.transcription,
                        "noise_reduction": self.noise_reduction,
                        "turn_detection": self.turn_detection,
                    },
                    "output": {
                        "format": dict(PCM_GA),
                        "voice": self.voice,
                        "speed": self.speed,
                    },
                },
            }
        )

    def to_beta(self) -> dict[str, Any]:
        """The beta (flat) session object (without ``id``/``object``/``expires_at``)."""
        return copy.deepcopy(
            {
                "model": self.model,
                "modalities": ["audio", "text"] if "audio" in self.output_modalities else ["text"],
                "instructions": self.instructions,
                "voice": self.voice,
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "input_audio_transcription": self.transcription,
                "turn_detection": self.turn_detection,
                "input_audio_noise_reduction": self.noise_reduction,
                "speed": self.speed,
                "tracing": self.tracing,
                "tools": self.tools,
                "tool_choice": self.tool_choice,
                "temperature": self.temperature,
                "max_response_output_tokens": self.max_output_tokens,
            }
        )

    def render(self, dialect: str) -> dict[str, Any]:
        """The session object in ``dialect``'s shape."""
        return self.to_ga() if dialect == "ga" else self.to_beta()
