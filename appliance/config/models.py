"""Configuration: pydantic models, loading (TOML, JSON, Deep Chat JSON), env overrides, redaction.

The file is TOML or JSON. A Deep Chat ``directConnection`` JSON is accepted as it is::

    {"directConnection": {"openAI": {"key": "...", "realtime": {...}}}}

or just the ``openAI`` object. camelCase and snake_case names are both accepted everywhere.
Environment variables ``APPLIANCE_<SECTION>__<FIELD>[__<FIELD>...]`` override the file (values
are parsed as JSON when they parse, else taken as strings), e.g.
``APPLIANCE_REALTIME__CONFIG__VOICE=verse``.

Secrets (the API key, ephemeral keys, provisioning headers) are :class:`SecretStr` or redacted by
:func:`redacted`; they never appear in ``repr``, logs or error messages.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SecretStr,
    Strict,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from appliance.files import CONFIG_LIMIT, FileRefused, read_small
from appliance.realtime.rules import guess
from appliance.realtime.rules import problems as dialect_rules
from appliance.redaction import REDACTOR, mask_url

DEFAULT_CONFIG_PATH = Path("/etc/appliance/config.toml")
ENV_PREFIX = "APPLIANCE_"
REDACTED = "***"


class Model(BaseModel):
    """Base for all sections: strict about unknown names, camelCase or snake_case accepted."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        validate_assignment=True,
        allow_inf_nan=False,
    )


class OpenModel(Model):
    """A section that passes unknown fields through (CSS-like style objects, tool schemas)."""

    model_config = ConfigDict(extra="allow")


def _usable_path(value: Path | None) -> Path | None:
    if value is not None and "\x00" in str(value):
        raise ValueError("a path cannot hold a NUL character")
    return value


UsablePath = Annotated[Path, AfterValidator(_usable_path)]
"""A file system path the OS can open (no NUL byte)."""

# Strict scalars: a setting written as true, 30 or 1.5 is taken as it is, never converted from
# another type ("yes", 1 as a boolean, true as a number, "800" as a number): a typo or a wrong
# type is an error that names the field, not a value nobody meant. Floats accept whole numbers,
# and (``allow_inf_nan=False`` above) no infinity or NaN.
Bool = Annotated[bool, Strict()]
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Pin = Annotated[int, Strict(), Field(ge=0, le=63)]
"""A BCM GPIO number."""


def _check_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    """``value`` if it is a URL of one of ``schemes`` with a usable host and port."""
    if not re.match(rf"^({'|'.join(schemes)})://[^/\s]+", value, re.IGNORECASE):
        raise ValueError(f"must be a URL like {example}")
    try:
        port = urlsplit(value).port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    return value


Style = dict[str, Any]
"""A CSS-like style object (camelCase or kebab-case keys); see ``appliance.display``."""


# --- [openai] -------------------------------------------------------------------------------


class OpenAIConfig(Model):
    api_base: str = Field(
        "https://api.openai.com",
        description="API base URL: api.openai.com, a proxy, an Azure-style host, the simulator.",
    )
    key: SecretStr | None = Field(
        None, description="A real API key: ephemeral keys are minted on the device with it."
    )
    key_file: UsablePath | None = Field(
        None, description="A file holding the real API key (mode 0600), read at each session."
    )
    dialect: Literal["auto", "ga", "beta"] = Field(
        "auto", description="Realtime API version: ga (current), beta (legacy hosts), or auto."
    )
    loose_key_file: Literal["warn", "refuse"] = Field(
        "warn", description="What to do when the key file is readable by others."
    )

    @field_validator("api_base")
    @classmethod
    def _check_base(cls, value: str) -> str:
        example = "https://api.openai.com or http://127.0.0.1:8765"
        return _check_url(value, ("https?", "wss?"), example).rstrip("/")


# --- [realtime] -----------------------------------------------------------------------------


class ProvisioningConfig(Model):
    """Deep Chat's ``fetchEphemeralKey``, as a URL answering with a fresh ephemeral key."""

    url: str = Field(description="URL answering with a key: plain text, {value}, {client_secret}.")
    method: Literal["GET", "POST"] = "POST"
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Sent with the request; values are treated as secrets."
    )
    body: dict[str, Any] | str | None = Field(None, description="JSON object or text body.")
    timeout_s: Float = Field(10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _check_url(value, ("https?",), "https://keys.example.com/realtime")


class TurnDetection(Model):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: Float | None = Field(None, ge=0, le=1)
    prefix_padding_ms: Int | None = Field(None, ge=0, le=10_000)
    silence_duration_ms: Int | None = Field(None, ge=0, le=10_000)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: Bool | None = None
    interrupt_response: Bool | None = None


# Limits of the session config (``realtime.config``): generous for real use, and what keeps a
# file (or an imported Deep Chat JSON) from making the session config, sent at every session,
# enormous. A million tools were once accepted: 17.8 s, 1.1 GB, a 39 MB config that validated.

MAX_TOOLS = 128
"""Tools of one session: the API's own limit on the functions of one request."""

MAX_TOOL_NAME = 64
"""Characters of a tool's name: the API's own limit."""

MAX_INSTRUCTIONS = 32 * 1024
"""Characters of ``instructions``: 32 KiB, some 8,000 tokens, a quarter of a realtime model's
context (a long museum guide's script is a few thousand characters)."""

MAX_TEXT = 4096
"""Characters of every other text of the session config: a model or voice name, a tool's
description, a transcription prompt, a prompt or tracing id."""

Text = Annotated[str, Field(max_length=MAX_TEXT)]
"""A text of the session config, at most :data:`MAX_TEXT` characters."""


class Transcription(Model):
    model: Text = "whisper-1"
    language: Text | None = None
    prompt: Text | None = None


class Tool(OpenModel):
    type: Literal["function", "code_interpreter", "file_search"] = "function"
    name: Annotated[str, Field(max_length=MAX_TOOL_NAME)] | None = None
    description: Text | None = None
    parameters: dict[str, Any] | None = None


class WebhookHandler(Model):
    url: str
    timeout_s: Float = Field(10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _check_url(value, ("https?",), "https://hooks.example.com/function")


# GA session fields that Deep Chat passes through as they are (RealtimeSessionCreateRequest).


class TokenLimits(Model):
    post_instructions: Int | None = Field(None, ge=1)


class RetentionRatio(Model):
    """``truncation = {type = "retention_ratio", retention_ratio = 0.8}``."""

    type: Literal["retention_ratio"]
    retention_ratio: Float = Field(ge=0, le=1)
    token_limits: TokenLimits | None = None


class PromptReference(Model):
    """A stored prompt template: ``prompt = {id = "pmpt_...", variables = {...}}``."""

    id: Text = Field(min_length=1)
    variables: dict[str, Any] | None = None
    version: Text | None = None


class Tracing(Model):
    workflow_name: Text | None = None
    group_id: Text | None = None
    metadata: dict[str, Any] | None = None


class FunctionChoice(Model):
    """``tool_choice = {type = "function", name = "..."}``: this function, now."""

    type: Literal["function"]
    name: Text = Field(min_length=1)


class McpChoice(Model):
    """``tool_choice = {type = "mcp", server_label = "...", name = "..."}``."""

    type: Literal["mcp"]
    server_label: Text = Field(min_length=1)
    name: Text | None = None


def _choice_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return {"function": "FunctionChoice", "mcp": "McpChoice"}.get(kind)


ToolChoiceObject = Annotated[
    Annotated[FunctionChoice, Tag("FunctionChoice")] | Annotated[McpChoice, Tag("McpChoice")],
    Discriminator(
        _choice_kind,
        custom_error_type="tool_choice",
        custom_error_message='must be "auto", "none", "required", {type = "function", name = '
        '"..."} or {type = "mcp", server_label = "...", name = "..."}',
    ),
]


class Reasoning(Model):
    """GA's ``reasoning = {effort = "..."}`` for a reasoning model (``gpt-realtime-2``)."""

    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = Field(
        None, description="More effort: better answers, later ones (the service's default: low)."
    )


class SessionAudioOutput(Model):
    speed: Float | None = Field(None, ge=0.25, le=1.5)


class SessionAudio(Model):
    """GA's nested ``audio`` as Deep Chat passes it: ``audio.output.speed``."""

    output: SessionAudioOutput | None = None


class SessionConfig(Model):
    """Deep Chat's ``OpenAIRealtimeConfig`` with the seed's (beta-era) names.

    The dialect layer maps these names to the wire (GA nests audio settings).
    """

    model: Text = "gpt-realtime-2"
    instructions: Annotated[str, Field(max_length=MAX_INSTRUCTIONS)] | None = None
    voice: Text | None = None
    speed: Float | None = Field(None, ge=0.25, le=1.5)
    temperature: Float | None = Field(None, ge=0, le=2)
    max_response_output_tokens: Int | Literal["inf"] | None = None
    turn_detection: TurnDetection | None = None
    input_audio_transcription: Bool | Transcription | None = None
    noise_reduction: Literal["near_field", "far_field"] | None = None
    tools: list[Tool] = Field(default_factory=list, max_length=MAX_TOOLS)
    tool_choice: Literal["auto", "none", "required"] | ToolChoiceObject | None = Field(
        None, description='"auto", "none", "required", {type = "function", name} or {type = "mcp"}.'
    )
    function_handler: str | WebhookHandler | None = Field(
        None, description='"package.module:function" (sync or async) or {url = "..."}.'
    )
    truncation: Literal["auto", "disabled"] | RetentionRatio | None = Field(
        None, description='GA: "auto", "disabled" or {type = "retention_ratio", ...}.'
    )
    prompt: PromptReference | None = Field(None, description="GA: a stored prompt template.")
    tracing: Literal["auto"] | Tracing | None = Field(
        None, description='"auto" or {workflow_name, group_id, metadata}.'
    )
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None
    audio: SessionAudio | None = Field(None, description="GA's audio.output.speed.")
    reasoning: Reasoning | None = Field(
        None, description='GA, reasoning models: {effort = "minimal" ... "xhigh"}.'
    )
    parallel_tool_calls: Bool | None = Field(
        None, description="GA: whether the model may call several functions at once."
    )

    @property
    def output_speed(self) -> float | None:
        """The voice's speed: ``speed``, or GA's ``audio.output.speed``."""
        if self.speed is not None:
            return self.speed
        out = self.audio.output if self.audio is not None else None
        return out.speed if out is not None else None

    @field_validator("audio")
    @classmethod
    def _one_speed(cls, value: SessionAudio | None, info: ValidationInfo) -> SessionAudio | None:
        out = value.output if value is not None else None
        speeds = (info.data.get("speed"), out.speed if out is not None else None)
        if None not in speeds and speeds[0] != speeds[1]:
            raise ValueError(
                f"output.speed = {speeds[1]:g} and speed = {speeds[0]:g} say two things: keep one"
            )
        return value

    @field_validator("tools")
    @classmethod
    def _unique_tool_names(cls, tools: list[Tool]) -> list[Tool]:
        first: dict[str, int] = {}
        for i, tool in enumerate(tools):
            if tool.name is None:
                continue
            if tool.name in first:
                raise ValueError(
                    f"the name {tool.name!r} is used by tools [{first[tool.name]}] and [{i}]; "
                    "each tool needs its own name (the model calls a function by its name)"
                )
            first[tool.name] = i
        return tools

    @field_validator("function_handler")
    @classmethod
    def _check_handler(cls, value: str | WebhookHandler | None) -> str | WebhookHandler | None:
        if isinstance(value, str) and not re.match(r"^[\w.]+:[\w.]+$", value):
            raise ValueError('must be "package.module:function" or {url = "https://..."}')
        return value

    @field_validator("max_response_output_tokens")
    @classmethod
    def _check_tokens(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and not 1 <= value <= 4096:
            raise ValueError('must be between 1 and 4096, or "inf"')
        return value


class AvatarStyles(Model):
    image: Style = Field(default_factory=dict)
    container: Style = Field(default_factory=dict)


class AvatarConfig(Model):
    src: str | None = Field(None, description="Image file path or URL (fetched once, cached).")
    max_scale: Float = Field(2.5, le=10, description="Maximum scale; values < 1 fall back to 2.5.")
    styles: AvatarStyles = Field(default_factory=AvatarStyles)

    @field_validator("max_scale", mode="before")
    @classmethod
    def _fallback_scale(cls, value: Any) -> Any:
        # Deep Chat keeps maxScale only if truthy and >= 1.
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 1:
            return 2.5
        return value


class SvgContent(Model):
    content: str | None = None
    styles: dict[str, Style] = Field(default_factory=dict)


class TextContent(Model):
    content: str | None = None
    styles: dict[str, Style] = Field(default_factory=dict)


class ButtonStyles(Model):
    """One state of a button: container styles (default/hover/click), svg and text."""

    container: dict[str, Style] = Field(default_factory=dict)
    svg: SvgContent | None = None
    text: TextContent | None = None


class ButtonConfig(Model):
    default: ButtonStyles | None = None
    active: ButtonStyles | None = None
    unavailable: ButtonStyles | None = None


class ButtonsConfig(Model):
    container: Style = Field(default_factory=dict)
    microphone: ButtonConfig = Field(default_factory=ButtonConfig)
    toggle: ButtonConfig = Field(default_factory=ButtonConfig)


class LoadingConfig(Model):
    text: str = "Loading"
    html: str | None = None
    display: Bool = True
    style: Style = Field(default_factory=dict)


class ErrorConfig(Model):
    text: str = "Error"
    style: Style = Field(default_factory=dict)


class RealtimeConfig(Model):
    """Deep Chat's ``realtime`` object."""

    ephemeral_key: SecretStr | None = Field(
        None, description="A pre-minted key. Single use: good for one session only."
    )
    provisioning: ProvisioningConfig | None = Field(
        None, description="Deep Chat's fetchEphemeralKey, as a URL.", alias="fetchEphemeralKey"
    )
    auto_fetch_ephemeral_key: Bool = False
    auto_start: Bool = False
    max_function_calls: Int = Field(
        32,
        ge=1,
        le=1000,
        description="Function calls run per model response; the model is told the rest were "
        "not run (a flood of calls never becomes a flood of handler runs or webhook requests).",
    )
    config: SessionConfig = Field(default_factory=SessionConfig)
    avatar: AvatarConfig = Field(default_factory=AvatarConfig)
    buttons: ButtonsConfig = Field(default_factory=ButtonsConfig)
    loading: LoadingConfig = Field(default_factory=LoadingConfig)
    error: ErrorConfig = Field(default_factory=ErrorConfig)

    @field_validator("provisioning", mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value


# --- device sections ---------------------------------------------------------------------------


class AudioConfig(Model):
    backend: Literal["pyaudio", "wav", "none"] = Field(
        "pyaudio", description="pyaudio: sound card; wav: files (--audio-in/--audio-out)."
    )
    input_device: str | Annotated[int, Strict(), Field(ge=0)] | None = Field(
        None, description="Name substring or index."
    )
    output_device: str | Annotated[int, Strict(), Field(ge=0)] | None = Field(
        None, description="Name substring or index."
    )
    echo: Literal["cancel", "half-duplex", "full-duplex"] = Field(
        "cancel",
        description="cancel: echo cancelling in the process (falls back to half-duplex where "
        "it is not installed); half-duplex: the mic is off while the model speaks; "
        "full-duplex: the mic always on (headsets, hardware that cancels echo itself).",
    )
    echo_tail_ms: Int = Field(300, ge=0, le=5000, description="Half-duplex mic hold-off.")
    noise_suppression: Literal["off", "low", "moderate", "high", "very-high"] = Field(
        "off", description="WebRTC noise suppression on the microphone."
    )
    auto_gain: Bool = Field(False, description="WebRTC automatic gain on the microphone.")
    auto_gain_dbfs: Int = Field(
        -9, ge=-31, le=-1, description="Automatic gain's target level, dBFS (-31 to -1)."
    )
    block_ms: Int = Field(20, ge=5, le=200, description="Audio block (latency vs CPU).")
    output_latency_ms: Int = Field(
        24,
        ge=10,
        le=500,
        description="Output device buffer: what plays before a new answer is heard (barge-in "
        "flushes it); smaller needs steadier CPU (underruns).",
    )
    playback_buffer_s: Float = Field(120.0, gt=0, le=600, description="Jitter buffer bound.")


ScreenSide = Annotated[int, Strict(), Field(ge=64, le=16384)]


class DisplayConfig(Model):
    mode: Literal["fullscreen", "window", "none"] = "fullscreen"
    size: tuple[ScreenSide, ScreenSide] | None = Field(
        None, description="[width, height]; default: screen."
    )
    fps: Int = Field(30, ge=1, le=120)


class GpioConfig(Model):
    enabled: Bool = True
    button_pin: str | Pin | None = Field(17, description="gpiozero pin: 17, GPIO17, BOARD11.")
    microphone_pin: str | Pin | None = None
    pull_up: Bool = True
    bounce_ms: Int = Field(30, ge=0, le=1000)
    hold_ms: Int = Field(800, ge=100, le=10000)
    press: Literal["toggle", "mute", "none"] = "toggle"
    hold: Literal["toggle", "mute", "none"] = "mute"
    led_pin: str | Pin | None = Field(27, description="gpiozero pin of the LED, or none.")
    active_high: Bool = True
    patterns: dict[str, Any] = Field(
        default_factory=dict, description="LED pattern per state (see README)."
    )

    @field_validator("button_pin", "microphone_pin", "led_pin", mode="before")
    @classmethod
    def _none_pin(cls, value: Any) -> Any:
        # TOML has no null: "none" (or "") switches a pin off
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @field_validator("patterns")
    @classmethod
    def _check_patterns(cls, value: dict[str, Any]) -> dict[str, Any]:
        from appliance.led import parse_patterns  # pure, no gpiozero

        parse_patterns(value)
        return value


class ControlConfig(Model):
    socket: UsablePath = Path("/run/appliance/control.sock")
    mode: Int = Field(0o660, description="Socket permissions: 0o000 to 0o777, e.g. 0o660.")

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: int) -> int:
        if not 0 <= value <= 0o777:
            octal = f"; this is {oct(value)}" if value >= 0 else ""
            raise ValueError(f"must be a permission mode from 0o000 to 0o777, like 0o660{octal}")
        return value


class HooksConfig(Model):
    started: list[list[str]] = Field(default_factory=list)
    stopped: list[list[str]] = Field(default_factory=list)
    state: list[list[str]] = Field(default_factory=list)
    transcript: list[list[str]] = Field(default_factory=list)
    error: list[list[str]] = Field(default_factory=list)
    function_call: list[list[str]] = Field(default_factory=list)
    timeout_s: Float = Field(10.0, gt=0, le=3600)


class RecoveryConfig(Model):
    max_attempts: Int = Field(5, ge=0, le=100)
    backoff_initial_s: Float = Field(1.0, gt=0, le=600)
    backoff_max_s: Float = Field(30.0, gt=0, le=3600)
    stall_timeout_s: Float = Field(
        15.0, gt=0, le=600, description="Reconnect when an owed answer does not come for this long."
    )
    session_max_s: Float = Field(
        3300.0,
        gt=0,
        le=86400,
        description="Renew the session at a quiet moment after this long (the service's "
        "sessions end after a maximum duration).",
    )
    replay_turns: Int = Field(
        20,
        ge=0,
        le=200,
        description="After a reconnect, the new session gets this many of the last turns' "
        "text back, so the conversation goes on (0: start afresh).",
    )


class LoggingConfig(Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class AppConfig(Model):
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    realtime: RealtimeConfig = Field(default_factory=RealtimeConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    display: DisplayConfig = Field(default_factory=DisplayConfig)
    gpio: GpioConfig = Field(default_factory=GpioConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    hooks: HooksConfig = Field(default_factory=HooksConfig)
    recovery: RecoveryConfig = Field(default_factory=RecoveryConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    _ignored: list[str] = PrivateAttr(default_factory=list)

    @property
    def ignored_keys(self) -> list[str]:
        """What the file holds that the appliance does not use (the other keys of a Deep Chat
        JSON), as ``"<path>: ignored: <why>"``: warnings of ``appliance config validate``
        (errors with ``--strict``), logged when the appliance starts."""
        return list(self._ignored)


# --- loading ---------------------------------------------------------------------------------


class ConfigError(Exception):
    """A configuration that cannot be used. ``str()`` names the field and the fix."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


def parse_text(text: str, *, fmt: str) -> dict[str, Any]:
    """Parse TOML or JSON text into a plain dict (``fmt`` is ``"toml"`` or ``"json"``)."""
    try:
        data = json.loads(text) if fmt == "json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"not valid {fmt.upper()}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError("the file must hold an object/table at the top level")
    return data


def guess_format(path: Path, text: str) -> str:
    if path.suffix.lower() == ".json":
        return "json"
    if path.suffix.lower() == ".toml":
        return "toml"
    return "json" if text.lstrip().startswith("{") else "toml"


def from_deepchat(data: dict[str, Any], ignored: list[str] | None = None) -> dict[str, Any]:
    """Turn a Deep Chat ``directConnection`` JSON (or its ``openAI`` object) into our shape.

    Data already in our shape is returned unchanged. What a Deep Chat JSON holds that the
    appliance does not use (keys beside ``directConnection`` or ``openAI``, ``openAI`` options
    other than ``key`` and ``realtime``, the ``methods`` and ``events`` functions) is left
    out; each such key is added to ``ignored`` as ``"<path>: ignored: <why>"``.
    """
    notes: list[str] = []
    prefix = ""
    if "directConnection" in data:
        inner = data["directConnection"]
        if not isinstance(inner, dict) or "openAI" not in inner:
            raise ConfigError("directConnection: expected an object with an openAI key")
        notes += [
            f"{k}: ignored: only directConnection is read" for k in data if k != "directConnection"
        ]
        notes += [
            f"directConnection.{k}: ignored: only directConnection.openAI is read"
            for k in inner
            if k != "openAI"
        ]
        data, prefix = inner["openAI"], "directConnection.openAI."
    elif "openAI" in data:
        notes += [f"{k}: ignored: only openAI is read" for k in data if k != "openAI"]
        data, prefix = data["openAI"], "openAI."
    else:
        ours = set(AppConfig.model_fields)
        if "key" not in data or set(data) & (ours - {"realtime"}):
            return data
    if not isinstance(data, dict):
        raise ConfigError("openAI: expected an object")
    data = dict(data)
    out: dict[str, Any] = {}
    if "key" in data:
        out["openai"] = {"key": data.pop("key")}
    realtime = data.pop("realtime", True)
    if realtime is True:
        realtime = {}
    if not isinstance(realtime, dict):
        raise ConfigError("openAI.realtime: expected true or an object")
    realtime = dict(realtime)
    # Functions cannot travel in JSON; these Deep Chat keys have other homes here.
    for dropped, home in (
        ("methods", "`appliance update-config` and `appliance say` do what they do"),
        ("events", "[hooks] and `appliance events` give them"),
    ):
        if dropped in realtime:
            realtime.pop(dropped)
            notes.append(f"{prefix}realtime.{dropped}: ignored: functions; {home}")
    out["realtime"] = realtime
    # other openAI-level options (chat, assistant, ...) do not apply to a realtime kiosk
    notes += [f"{prefix}{name}: ignored: not a realtime option" for name in data]
    if ignored is not None:
        ignored += notes
    return out


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Nested dict from ``APPLIANCE_SECTION__FIELD=value`` variables."""
    tree: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if len(parts) < 2:
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge ``over`` into a copy of ``base`` (names compared case-/style-insensitively)."""
    out = dict(base)
    norm = {_norm(k): k for k in out}
    for key, value in over.items():
        target = norm.get(_norm(key), key)
        if isinstance(value, Mapping) and isinstance(out.get(target), dict):
            out[target] = merge(out[target], value)
        else:
            out[target] = value
    return out


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def validate(data: dict[str, Any], *, source: str = "config", text: str | None = None) -> AppConfig:
    """Validate a dict into an :class:`AppConfig`, or raise :class:`ConfigError`."""
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc.errors(), text)
    else:
        problems = _dialect_problems(config, text)
        if not problems:
            config._ignored = ignored_in(text, source) if text else []
            return config
    head = f"{source}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"
    raise ConfigError(head + "\n" + "\n".join(f"  - {p}" for p in problems), problems)


def ignored_in(text: str, source: str) -> list[str]:
    """The keys of the file ``source`` (its ``text``) that :func:`from_deepchat` leaves out."""
    notes: list[str] = []
    try:
        from_deepchat(parse_text(text, fmt=guess_format(Path(source), text)), ignored=notes)
    except ConfigError:
        return []
    return notes


def dialect_of(config: AppConfig) -> str:
    """The dialect sessions start in: ``openai.dialect``, or for ``auto`` the one its model
    implies (beta for the ``*-realtime-preview`` models, else GA)."""
    wanted = config.openai.dialect
    return guess(config.realtime.config.model) if wanted == "auto" else wanted


def _dialect_problems(config: AppConfig, text: str | None) -> list[str]:
    """What the dialect the sessions will use cannot express: the rules the dialect mappings
    apply (:mod:`appliance.realtime.rules`), so that what validates here is what the first
    press sends."""
    name = dialect_of(config)
    out = []
    for field, message in dialect_rules(name, config.realtime.config, model=True):
        if config.openai.dialect == "auto":
            chosen = "GA" if name == "ga" else name
            message += (
                f' (openai.dialect "auto" chose {chosen} for {config.realtime.config.model!r})'
            )

        line = _line_of(tuple(field.split(".")), text)
        out.append(f"{message} [line {line}]" if line else message)
    return out


def read_text(path: Path) -> str:
    """The text of the configuration file (or Deep Chat JSON) at ``path``: a regular file of
    at most :data:`~appliance.files.CONFIG_LIMIT` (1 MiB), UTF-8. A FIFO, a device or a
    larger file is refused at once, never waited on or read to the end. Raises
    ``FileNotFoundError``, or :class:`ConfigError` naming the path and the problem."""
    try:
        data = read_small(path, CONFIG_LIMIT, "a configuration file")
    except FileRefused as exc:
        raise ConfigError(str(exc)) from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); check its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def load(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    required: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Load the configuration in layers: the file (TOML/JSON/Deep Chat JSON), then the
    ``APPLIANCE_*`` environment variables, then ``overrides`` (the command line's ``--socket``,
    ``--display``, ``--auto-start``...), so a reload that reads the file again keeps them.

    ``path=None`` uses ``$APPLIANCE_CONFIG`` or ``/etc/appliance/config.toml``; a missing default
    file gives the defaults, a missing explicit file is an error.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None or "APPLIANCE_CONFIG" in environ
    path = Path(path or environ.get("APPLIANCE_CONFIG") or DEFAULT_CONFIG_PATH)
    data: dict[str, Any] = {}
    text: str | None = None
    try:
        text = read_text(path)
    except FileNotFoundError:
        if explicit or required:
            raise ConfigError(f"{path}: no such file (create it, or pass --config)") from None
    if text is not None:
        try:
            data = from_deepchat(parse_text(text, fmt=guess_format(path, text)))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    data = merge(merge(data, env_overrides(environ)), overrides or {})
    return validate(data, source=str(path), text=text)


# --- what changed between two configurations ------------------------------------------------------

RESTART_FIELDS = (
    "audio",
    "display",
    "gpio",
    "control",
    "logging",
    "realtime.avatar",
    "realtime.buttons",
)
"""Fields (and sections) read once at start: changing them needs ``systemctl restart``.

Everything else is applied by a reload (``systemctl reload appliance``): the session config
(sent to a live session with ``session.update``), keys and provisioning, hooks, the
recovery policy."""


def changed_fields(old: AppConfig, new: AppConfig) -> list[str]:
    """Dotted names of the leaves that differ between two configurations (secrets included,
    compared by value, never shown)."""
    out: list[str] = []
    _diff(old.model_dump(), new.model_dump(), "", out)
    return out


def restart_needed(old: AppConfig, new: AppConfig) -> list[str]:
    """The changed fields that only take effect after a restart (see :data:`RESTART_FIELDS`)."""
    return [
        name
        for name in changed_fields(old, new)
        if any(name == f or name.startswith(f + ".") for f in RESTART_FIELDS)
    ]


def _diff(a: Any, b: Any, prefix: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k), out)
    elif a != b:
        out.append(prefix)


# --- what the file refers to ------------------------------------------------------------------

HANDLER_FIELD = "realtime.config.function_handler"


def handler_problem(spec: str | WebhookHandler | None) -> str | None:
    """Why ``function_handler = spec`` cannot be used, or ``None``, found without running any
    code of the handler's modules.

    Importing a module runs it, and so does ``importlib.util.find_spec("pkg.mod")``, which
    imports ``pkg``. Validation is run by administrators, often as root, on a file that may
    name any module, and must not have effects; so the module is only *located*, one dotted
    part at a time with :class:`importlib.machinery.PathFinder` (which reads directories, never
    executes), and when it is Python source, its text is parsed (``ast``, not run) for a
    top-level definition of the function. ``appliance run``, which imports the handler anyway,
    imports it before anything starts (see ``cli.cmd_run``), so that a module failing there is
    a clear exit 2 naming the field rather than a traceback and a restart loop.
    """
    if not isinstance(spec, str):
        return None
    module_name, _, attr = spec.partition(":")
    origin = _locate_module(module_name)
    if isinstance(origin, str) and origin.startswith("!"):
        return (
            f"{HANDLER_FIELD}: cannot import {module_name!r}: {origin[1:]}; check the name, or "
            "install the module where the service's Python finds it"
        )
    first = attr.split(".")[0]
    if origin and origin.endswith(".py") and not _defines(Path(origin), first):
        return f"{HANDLER_FIELD}: {module_name!r} defines no {first!r} ({origin})"
    return None


def _locate_module(name: str) -> str | None:
    """Where module ``name`` would be loaded from (its file, or None when it has none), or
    ``"!<why>"`` when it cannot be found. Runs no module code (see :func:`handler_problem`)."""
    import importlib.machinery
    import importlib.util
    import sys

    parts = name.split(".")
    found = None
    for i in range(len(parts)):
        fullname = ".".join(parts[: i + 1])
        if fullname in sys.modules:
            found = getattr(sys.modules[fullname], "__spec__", None)
        elif i == 0:
            try:
                found = importlib.util.find_spec(fullname)  # top level: imports nothing
            except (ImportError, ValueError) as exc:
                return f"!{exc}"
        else:
            locations = getattr(found, "submodule_search_locations", None)
            if locations is None:
                return f"!{'.'.join(parts[:i])} is not a package"
            found = importlib.machinery.PathFinder.find_spec(fullname, list(locations))
        if found is None:
            return f"!no module named {fullname!r}"
    origin = getattr(found, "origin", None)
    return origin if isinstance(origin, str) and os.path.isfile(origin) else None


def _defines(path: Path, name: str) -> bool:
    """Whether the Python source at ``path`` defines ``name`` at its top level (or may: a
    module ``__getattr__``, a star import, source that cannot be read or parsed)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, SystemError):
        # SystemError: Python 3.11.2 (Bookworm's) can fail a parse with "AST constructor
        # recursion depth mismatch" when a finalizer runs during it
        return True  # the import at start says what is wrong
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return True
                names.add(alias.asname or alias.name.split(".")[0])
    return name in names or "__getattr__" in names


# --- messages --------------------------------------------------------------------------------


def _loc_name(loc: tuple[Any, ...]) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before", "lax-or-strict"):
            continue
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc``."""
    model: Any = AppConfig
    for item in loc[:-1]:
        if isinstance(item, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = _field(model, str(item))
        if field is None:
            return None
        model = _model_of(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field(model: type[BaseModel], name: str) -> Any:
    for field_name, field in model.model_fields.items():
        if _norm(field_name) == _norm(name) or (field.alias and _norm(field.alias) == _norm(name)):
            return field
    return None


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


_MISMATCHES = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "float_type": "a number",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "a list",
    "tuple_type": "a list",
    "literal_error": "",
}
"""Errors that only say a value is not of one branch's type. A field of several possible types
(a union) gets one of them per branch: they are left out when the field has a more telling
problem, and said once ("must be text or a whole number") when it has not."""


def _problems(errors: list[Any], text: str | None) -> list[str]:
    """One line per problem, with union branches' type mismatches folded."""
    located = []
    for err in errors:
        loc = _field_path(tuple(err["loc"]), keep_last=err["type"] == "extra_forbidden")
        located.append((_loc_name(loc) or "(top level)", err))
    telling = [where for where, err in located if err["type"] not in _MISMATCHES]

    def explained(where: str) -> bool:
        return any(t == where or t.startswith((where + ".", where + "[")) for t in telling)

    out: list[str] = []
    mismatches: dict[str, list[Any]] = {}
    for where, err in located:
        if err["type"] not in _MISMATCHES:
            out.append(_describe(err, text))
        elif not explained(where):
            mismatches.setdefault(where, []).append(err)
    for where, group in mismatches.items():
        if len(group) == 1:
            out.append(_describe(group[0], text))
            continue
        nouns = []
        for err in group:
            if err["type"] == "literal_error":
                nouns.append(f"one of {err.get('ctx', {}).get('expected', '')}")
            elif _MISMATCHES[err["type"]] not in nouns:
                nouns.append(_MISMATCHES[err["type"]])
        msg = f"{where}: must be {', or '.join(nouns)} (got {_show(where, group[0].get('input'))})"
        line = _line_of(_field_path(tuple(group[0]["loc"]), keep_last=False), text)
        out.append(f"{msg} [line {line}]" if line else msg)
    return out


def _describe(err: Any, text: str | None) -> str:
    kind = err["type"]
    loc = _field_path(tuple(err["loc"]), keep_last=kind == "extra_forbidden")
    if kind == "missing" and loc and isinstance(loc[-1], str):  # pydantic names its alias
        loc = (*loc[:-1], re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", loc[-1]).lower())
    where = _loc_name(loc) or "(top level)"
    value = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        names = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        fix = f"did you mean {close[0]!r}?" if close else "remove it"
        if names and not close:
            fix += f" (known: {', '.join(names)})"
        msg = f"{where}: unknown field; {fix}"
    elif kind == "missing":
        msg = f"{where}: required; add it"
    elif kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        msg = f"{where}: {_show(where, value)} is not allowed; use one of {expected}"
    elif kind in ("too_long", "string_too_long"):
        limit = err.get("ctx", {}).get("max_length")
        size = len(value) if isinstance(value, str | list | dict | tuple) else "more"
        unit, fix = (
            ("characters", "shorten it") if kind == "string_too_long" else ("items", "remove some")
        )
        msg = f"{where}: at most {limit} {unit} (got {size}); {fix}"
    elif kind == "value_error" and isinstance(value, dict | list):
        msg = f"{where}: {err['msg'].removeprefix('Value error, ')}"  # the value says it
    else:
        detail = _TYPE_MESSAGES.get(kind) or err["msg"].removeprefix("Value error, ")
        msg = f"{where}: {detail} (got {_show(where, value)})"
    line = _line_of(loc, text)
    return f"{msg} [line {line}]" if line else msg


_TYPE_MESSAGES = {
    "bool_type": "must be true or false (no quotes)",
    "int_type": "must be a whole number (no quotes)",
    "float_type": "must be a number (no quotes)",
    "finite_number": "must be a finite number",
}
_BRANCHES = {"str", "int", "bool", "float", "dict", "list", "tuple", "literal", "none"}
_SECRET_WORDS = ("key", "header", "token", "secret", "authorization", "body")


def _model_names(cls: type[BaseModel] = Model) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _model_names(sub)
    return names


def _field_path(loc: tuple[Any, ...], *, keep_last: bool) -> tuple[Any, ...]:
    """``loc`` without the union-branch tags pydantic inserts (``str``, ``function-after[...]``,
    model class names). The first element is always a field (or the user's unknown name), and
    so is the last of an unknown-field error."""
    models = _model_names()

    def is_tag(item: Any) -> bool:
        if not isinstance(item, str):
            return False
        return (
            "[" in item
            or item.lower() in _BRANCHES
            or item in models
            or item.startswith("constrained-")
        )

    last = len(loc) - 1
    return tuple(
        item
        for i, item in enumerate(loc)
        if i == 0 or (keep_last and i == last) or not is_tag(item)
    )


def _show(where: str, value: Any) -> str:
    """The offending value for a message: never a secret, never a whole section."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if any(word in where.lower() for word in _SECRET_WORDS):
        return REDACTED
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    text = REDACTOR(text)
    return text if len(text) <= 60 else text[:57] + "..."


def _line_of(loc: tuple[Any, ...], text: str | None) -> int | None:
    """Best-effort line number of the field in the source text."""
    if not text:
        return None
    names = [x for x in loc if isinstance(x, str)]
    if not names:
        return None
    last = names[-1]
    variants = {last, to_camel(last)}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip().lstrip("\"'")
        if any(re.match(rf"{re.escape(v)}[\"']?\s*[=:]", stripped) for v in variants):
            return number
        if stripped.startswith(f"[{'.'.join(names)}"):
            return number
    return None


# --- output ----------------------------------------------------------------------------------


def redacted(config: AppConfig) -> dict[str, Any]:
    """The effective config as plain data, with every secret replaced by ``***``."""
    data = config.model_dump(mode="json", exclude_none=True)
    openai = data.get("openai", {})
    if config.openai.key is not None:
        openai["key"] = REDACTED
    rt = data.get("realtime", {})
    if config.realtime.ephemeral_key is not None:
        rt["ephemeral_key"] = REDACTED
    prov = rt.get("provisioning")
    if prov:
        prov["headers"] = {name: REDACTED for name in prov.get("headers", {})}
        if prov.get("body") is not None:
            prov["body"] = REDACTED
    return masked_urls(data)


def masked_urls(value: Any) -> Any:
    """``value`` (plain data) with every URL's credentials masked (see
    :func:`appliance.redaction.mask_url`): ``https://user:pass@host``, ``?token=...``."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, dict):
        return {k: masked_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked_urls(v) for v in value]
    return value


def schema() -> dict[str, Any]:
    """The JSON schema of the configuration file."""
    return AppConfig.model_json_schema(by_alias=False)
