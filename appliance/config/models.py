"""The configuration's schema: the pydantic models of every section, their types and limits.

camelCase and snake_case names are both accepted everywhere. Secrets (the API key, ephemeral
keys, provisioning headers) are :class:`SecretStr`; they never appear in ``repr``, logs or
error messages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
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
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from appliance.led import Pattern


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
    token_file: UsablePath | None = Field(
        None,
        description="A file holding this device's key-server token (mode 0600), sent as "
        "Authorization: Bearer; else the systemd credential provisioning.token.",
    )
    usage_url: str | None = Field(
        None,
        description="Where session usage is reported (with the token): default the URL with "
        '/key replaced by /usage; "off": no reports.',
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _check_url(value, ("https?",), "https://keys.example.com/realtime")

    @field_validator("usage_url")
    @classmethod
    def _check_usage_url(cls, value: str | None) -> str | None:
        if value is None or value == "off":
            return value
        return _check_url(value, ("https?",), 'https://keys.example.com/usage, or "off"')


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
    auto_fetch_ephemeral_key: Bool = Field(
        False,
        description="Fetch one key at boot, so that a press soon after is faster (a press "
        "with that key expired fetches a fresh one).",
    )
    auto_start: Bool = False
    idle_stop_s: Float = Field(
        45.0,
        ge=0,
        le=86400,
        description="Stop the session after this long with neither the visitor nor the model "
        "speaking; the screen counts the last 10 s down (0: never).",
    )
    max_session_s: Float = Field(
        900.0,
        ge=0,
        le=86400,
        description="Stop a session this long after it started, whatever happens; a reconnect "
        "does not reset it (default 15 minutes; 0: no limit).",
    )
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


CueSetting = Literal["default", "off"] | UsablePath


class CuesConfig(Model):
    """``[audio.cues]``: the short sounds at session start, stop and error."""

    start: CueSetting = Field("default", description='"default", "off" or a WAV file path.')
    stop: CueSetting = Field("default", description='"default", "off" or a WAV file path.')
    error: CueSetting = Field("default", description='"default", "off" or a WAV file path.')


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
    volume: Int = Field(
        100,
        ge=0,
        le=100,
        description="Output volume, 0-100 % (a square-law gain: 50 is -12 dB, 0 is silence); "
        "`appliance volume` and the volume buttons change it and save it here.",
    )
    cues: CuesConfig = Field(
        default_factory=CuesConfig,
        description="Sounds at session start, stop and error (a blind visitor hears what "
        "happened): the built-in ones, off, or a WAV file each.",
    )


ScreenSide = Annotated[int, Strict(), Field(ge=64, le=16384)]


class DisplayConfig(Model):
    mode: Literal["fullscreen", "window", "none"] = "fullscreen"
    size: tuple[ScreenSide, ScreenSide] | None = Field(
        None, description="[width, height]; default: screen."
    )
    fps: Int = Field(30, ge=1, le=120)
    language: Literal["en", "de", "fr", "es"] = Field(
        "en", description="The shipped set of screen texts: en, de, fr or es."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Screen texts by key, over the language's set (see README, Languages "
        "and labels).",
    )

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, value: dict[str, str]) -> dict[str, str]:
        from appliance.labels import check_overrides  # pure, no pygame

        return check_overrides(value)

    captions: Literal["off", "assistant", "both"] = Field(
        "assistant",
        description="Captions under the avatar: off, assistant (its spoken words) or both "
        "(the visitor's too, with input_audio_transcription on).",
    )
    caption_lines: Int = Field(
        3, ge=1, le=10, description="Lines of captions shown (the last ones; fewer if no room)."
    )
    caption_size: Float = Field(
        17.0, ge=8, le=64, description="Caption font size in CSS px (scaled like the screen)."
    )
    sleep_after_s: Int = Field(
        300,
        ge=0,
        le=86400,
        description="Idle seconds before the screen dims, then goes dark (0: never). A touch, "
        "a press or a session start wakes it; the first touch only wakes it.",
    )
    dim_s: Int = Field(
        15, ge=0, le=3600, description="Seconds the screen stays dim before it goes dark."
    )
    backlight: Literal["auto", "off"] | UsablePath = Field(
        "auto",
        description="The screen's sleep: auto: the first /sys/class/backlight/* (else DPMS "
        "on X, else drawing black); off: no backlight; or a backlight directory.",
    )


class LedPatterns(dict[str, Any]):
    """``gpio.patterns`` as written (what is shown, saved and compared), holding the patterns
    it gives, parsed once, when it was validated: :attr:`parsed` (see :mod:`appliance.led`)."""

    def __init__(self, written: dict[str, Any], parsed: dict[str, Pattern]) -> None:
        super().__init__(written)
        self.parsed = parsed


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
    volume_up_pin: str | Pin | None = Field(None, description="Button: volume up, or none.")
    volume_down_pin: str | Pin | None = Field(None, description="Button: volume down, or none.")
    encoder_pins: tuple[str | Pin, str | Pin] | None = Field(
        None, description="Rotary encoder's A and B pins for the volume, e.g. [5, 6]."
    )
    volume_step: Int = Field(
        10, ge=1, le=100, description="Volume change (percent) per press or encoder detent."
    )

    @field_validator(
        "button_pin", "microphone_pin", "led_pin", "volume_up_pin", "volume_down_pin", mode="before"
    )
    @classmethod
    def _none_pin(cls, value: Any) -> Any:
        # TOML has no null: "none" (or "") switches a pin off
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @field_validator("patterns")
    @classmethod
    def _parse_patterns(cls, value: dict[str, Any]) -> LedPatterns:
        from appliance.led import parse_patterns  # pure, no gpiozero

        return LedPatterns(value, parse_patterns(value))

    @property
    def led_patterns(self) -> dict[str, Pattern]:
        """The LED pattern of each state: the defaults with :attr:`patterns` applied, as parsed
        when the configuration was validated."""
        if isinstance(self.patterns, LedPatterns):
            return self.patterns.parsed
        from appliance.led import parse_patterns

        return parse_patterns(self.patterns)  # the default, {}: nothing to parse


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


METRICS_INTERVAL_S = 15.0
"""How often the metrics textfile is rewritten, by default (node_exporter reads it when it is
scraped; 15 s matches a usual scrape interval)."""


def _listen_address(value: str | None) -> str | None:
    """``host:port`` (``[::]:9101`` for IPv6), or None for off (TOML has no null: ``""``)."""
    if value is None or not value.strip():
        return None
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host:
        raise ValueError('must be "host:port", like "0.0.0.0:9101" or "127.0.0.1:9101"')
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("the port must be a number from 1 to 65535, like 9101")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError('an IPv6 address goes in brackets, like "[::]:9101"')
    return value.strip()


def _textfile(value: Path | None) -> Path | None:
    if value is None or not str(value).strip() or str(value) == ".":
        return None
    if value.suffix != ".prom":
        raise ValueError(
            "node_exporter reads only files ending in .prom; use a name like "
            "/var/lib/prometheus/node-exporter/appliance.prom"
        )
    if not value.is_absolute():
        raise ValueError(
            "must be an absolute path, like /var/lib/prometheus/node-exporter/appliance.prom"
        )
    return value


class MetricsConfig(Model):
    listen: Annotated[str | None, AfterValidator(_listen_address)] = Field(
        None,
        description='Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. "0.0.0.0:9101" '
        "(off when unset).",
    )
    textfile: Annotated[UsablePath | None, AfterValidator(_textfile)] = Field(
        None,
        description="Write the metrics to this .prom file for node_exporter's textfile "
        "collector, e.g. /var/lib/prometheus/node-exporter/appliance.prom (off when unset).",
    )
    textfile_interval_s: Float = Field(
        METRICS_INTERVAL_S, ge=1, le=3600, description="How often the textfile is rewritten."
    )

    @property
    def enabled(self) -> bool:
        return self.listen is not None or self.textfile is not None


WAKE_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")
"""The microWakeWord models that come with ``pymicro-wakeword``."""

MAX_WAKE_MANIFEST_BYTES = 64 * 1024
"""A custom wake word model's JSON manifest is a few hundred bytes; a larger file is refused."""


class WakeConfig(Model):
    """``[wake]``: start a session by a spoken word (README, Hands-free)."""

    enabled: Bool = Field(
        False,
        description="Listen for the wake word while idle (the microphone is open then; "
        "nothing leaves the device before the word).",
    )
    model: str = Field(
        "okay_nabu",
        min_length=1,
        max_length=4096,
        description="okay_nabu, hey_jarvis, alexa, hey_mycroft, or the path of a custom "
        "microWakeWord model: its JSON manifest, or its .tflite with the manifest beside it.",
    )
    sensitivity: Float | None = Field(
        None,
        gt=0,
        lt=1,
        description="The probability cutoff, 0-1: higher means fewer false starts and more "
        "missed words (default: the model's own, 0.97 for okay_nabu).",
    )
    refractory_s: Float = Field(
        2.0, ge=0, le=60, description="Seconds after a detection during which the word is ignored."
    )
    hint: str | None = Field(
        None,
        max_length=200,
        description="The wake phrase as the screen's hint names it (the wake_hint label's "
        "{phrase}); default: the model's, e.g. Okay Nabu.",
    )

    @property
    def phrase(self) -> str:
        """The wake phrase the screen names: :attr:`hint`, or the model's (from its name)."""
        if self.hint:
            return self.hint
        return Path(self.model).stem.replace("_", " ").title()

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        if value in WAKE_MODELS:
            return value
        path = Path(value)
        if "\x00" in value or path.suffix not in (".json", ".tflite"):
            raise ValueError(
                f"must be one of {', '.join(WAKE_MODELS)}, or the path of a microWakeWord "
                "model's .json manifest (or its .tflite, with the .json beside it)"
            )
        manifest = path.with_suffix(".json")
        for needed in (path, manifest):
            if not needed.is_file():
                raise ValueError(f"no such file: {needed}")
        return value


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
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    wake: WakeConfig = Field(default_factory=WakeConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    _ignored: list[str] = PrivateAttr(default_factory=list)

    @property
    def ignored_keys(self) -> list[str]:
        """What the file holds that the appliance does not use (the other keys of a Deep Chat
        JSON), as ``"<path>: ignored: <why>"``: warnings of ``appliance config validate``
        (errors with ``--strict``), logged when the appliance starts."""
        return list(self._ignored)


def name_key(name: str) -> str:
    """The form two names are compared in: ``maxScale``, ``max_scale`` and ``max-scale`` are one
    name."""
    return name.replace("_", "").replace("-", "").lower()
