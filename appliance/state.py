"""The appliance's state machine: one source of truth for screen, LED, socket and hooks.

Pure: no I/O, no clock, no threads. Feed it inputs with :meth:`Machine.handle`; it returns the
effects the caller must carry out (connect, disconnect, interrupt playback, emit an event) and
exposes the current :class:`View`, from which every front end derives what it shows.

States follow Deep Chat's realtime view (see README, "States"):

========== ================ ===================== ===============
phase      toggle button    microphone button     LED (default)
========== ================ ===================== ===============
idle       default          default / active=muted off
connecting active + loading unavailable           slow blink
live       active           default / active=muted on / pulse
error      default (retry)  unavailable           fast blink
========== ================ ===================== ===============

Unlike Deep Chat, an error is not a dead end: the next toggle starts again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Phase(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    ERROR = "error"


class ButtonState(StrEnum):
    """Deep Chat's three button states."""

    DEFAULT = "default"
    ACTIVE = "active"
    UNAVAILABLE = "unavailable"


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Toggle:
    """The toggle button (screen, GPIO short press, ``appliance toggle``).

    Starts when idle or in error, cancels while connecting, interrupts the model first when it
    is speaking (like barge-in) and stops on the next press.
    """


@dataclass(frozen=True)
class Start:
    """Start a session (``appliance start``, auto-start). Ignored unless idle or in error."""


class StopReason(StrEnum):
    """Why a session stopped: the ``reason`` of the ``stopped`` event, the log, the hooks and
    ``status``."""

    PRESS = "press"  # the toggle (screen, button, `appliance toggle`) or `appliance stop`
    IDLE = "idle"  # nobody spoke for realtime.idle_stop_s
    MAX = "max"  # the session reached realtime.max_session_s
    ERROR = "error"  # a failure ended it
    RECONNECT = "reconnect"  # the connection dropped or was renewed; it connects again
    SHUTDOWN = "shutdown"  # the appliance is stopping


@dataclass(frozen=True)
class Stop:
    """Stop or cancel the session (``appliance stop``; the hang-up timers with their
    ``reason``)."""

    reason: StopReason = StopReason.PRESS


@dataclass(frozen=True)
class Countdown:
    """Seconds left before an idle stop (``None``: no countdown shown). Shown only while
    live."""

    seconds: int | None


@dataclass(frozen=True)
class Mute:
    """Mute or unmute the microphone; ``muted=None`` flips it. Works in every phase."""

    muted: bool | None = None


@dataclass(frozen=True)
class Connected:
    """The session is established (``session.created`` arrived)."""


@dataclass(frozen=True)
class Reconnecting:
    """The session dropped and the recovery policy is trying again (``attempt`` from 1)."""

    cause: str
    attempt: int


@dataclass(frozen=True)
class Closed:
    """The session ended without being asked to (socket closed by the peer)."""

    reason: str = "connection closed"


@dataclass(frozen=True)
class Failed:
    """Something failed: key, connection, audio device, fatal server error. ``cause`` is shown."""

    cause: str


@dataclass(frozen=True)
class Notice:
    """A non-fatal problem worth showing (e.g. a non-fatal server ``error`` event)."""

    text: str


@dataclass(frozen=True)
class AudioStarted:
    """The model's audio started playing."""


@dataclass(frozen=True)
class AudioStopped:
    """The model's audio stopped playing (finished, interrupted or dropped)."""


@dataclass(frozen=True)
class WakeListening:
    """Whether the microphone listens for the wake word now (``[wake]``, idle or in error)."""

    on: bool


Input = (
    Toggle
    | Start
    | Stop
    | Mute
    | Countdown
    | Connected
    | Reconnecting
    | Closed
    | Failed
    | Notice
    | AudioStarted
    | AudioStopped
    | WakeListening
)


# ---------------------------------------------------------------------------------------------
# Effects


@dataclass(frozen=True)
class Connect:
    """Fetch a fresh key and open a session."""


@dataclass(frozen=True)
class Disconnect:
    """Close the session (or cancel the connection attempt)."""


@dataclass(frozen=True)
class Interrupt:
    """Stop playback now, drop queued audio and truncate the model's item (barge-in)."""


@dataclass(frozen=True)
class Emit:
    """Fire a Deep Chat event: ``started``, or ``stopped`` with its ``reason``."""

    name: str
    reason: StopReason | None = None


Effect = Connect | Disconnect | Interrupt | Emit


# ---------------------------------------------------------------------------------------------
# View


@dataclass(frozen=True)
class View:
    """Everything a front end needs to draw the current state."""

    phase: Phase = Phase.IDLE
    muted: bool = False
    speaking: bool = False
    error_cause: str | None = None
    notice: str | None = None
    reconnect_attempt: int = 0
    countdown_s: int | None = None
    """Seconds left before an idle stop, during its last seconds; else ``None``."""
    wake: bool = False
    """The microphone listens for the wake word (nothing is sent before it is heard)."""

    @property
    def state(self) -> str:
        """One word for people and scripts: idle, connecting, reconnecting, listening,
        muted, speaking or error."""
        if self.phase is Phase.LIVE:
            if self.speaking:
                return "speaking"
            return "muted" if self.muted else "listening"
        if self.phase is Phase.CONNECTING and self.reconnect_attempt:
            return "reconnecting"
        return self.phase.value

    @property
    def toggle(self) -> ButtonState:
        if self.phase in (Phase.CONNECTING, Phase.LIVE):
            return ButtonState.ACTIVE
        return ButtonState.DEFAULT

    @property
    def toggle_loading(self) -> bool:
        return self.phase is Phase.CONNECTING

    @property
    def microphone(self) -> ButtonState:
        if self.phase in (Phase.CONNECTING, Phase.ERROR):
            return ButtonState.UNAVAILABLE
        return ButtonState.ACTIVE if self.muted else ButtonState.DEFAULT

    @property
    def loading_visible(self) -> bool:
        return self.phase is Phase.CONNECTING

    @property
    def error_visible(self) -> bool:
        return self.phase is Phase.ERROR

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "phase": self.phase.value,
            "muted": self.muted,
            "speaking": self.speaking,
            "error": self.error_cause,
            "notice": self.notice,
            "reconnect_attempt": self.reconnect_attempt,
            "countdown_s": self.countdown_s,
            "wake": self.wake,
            "toggle": self.toggle.value,
            "toggle_loading": self.toggle_loading,
            "microphone": self.microphone.value,
        }


class Machine:
    """The state machine. ``handle(input)`` returns effects; ``view`` is the current state."""

    def __init__(self, *, muted: bool = False) -> None:
        self.view = View(muted=muted)

    def handle(self, given: Input) -> list[Effect]:
        v = self.view
        effects: list[Effect] = []
        match given:
            case Toggle():
                if v.phase in (Phase.IDLE, Phase.ERROR):
                    effects += self._start()
                elif v.phase is Phase.LIVE and v.speaking:
                    self.view = replace(v, speaking=False, countdown_s=None)
                    effects.append(Interrupt())
                else:
                    effects += self._stop(StopReason.PRESS)
            case Start():
                if v.phase in (Phase.IDLE, Phase.ERROR):
                    effects += self._start()
            case Stop(reason=reason):
                effects += self._stop(reason)
            case Mute(muted=muted):
                self.view = replace(
                    v, muted=(not v.muted) if muted is None else muted, countdown_s=None
                )
            case Countdown(seconds=seconds):
                if v.phase is Phase.LIVE or seconds is None:
                    self.view = replace(v, countdown_s=seconds)
            case Connected():
                if v.phase is Phase.CONNECTING:
                    self.view = replace(
                        v, phase=Phase.LIVE, error_cause=None, notice=None, reconnect_attempt=0
                    )
                    effects.append(Emit("started"))
                elif v.phase in (Phase.IDLE, Phase.ERROR):
                    # a late success for an attempt that was cancelled or failed
                    effects.append(Disconnect())
                # already live (a repeated session.created): nothing changes
            case Reconnecting(cause=cause, attempt=attempt):
                if v.phase in (Phase.LIVE, Phase.CONNECTING):
                    if v.phase is Phase.LIVE:
                        effects.append(Emit("stopped", StopReason.RECONNECT))
                    self.view = replace(
                        v,
                        phase=Phase.CONNECTING,
                        speaking=False,
                        countdown_s=None,
                        notice=cause,
                        reconnect_attempt=attempt,
                    )
            case Closed(reason=reason):
                if v.phase in (Phase.LIVE, Phase.CONNECTING):
                    effects += self._fail(reason)
            case Failed(cause=cause):
                effects += self._fail(cause)
            case Notice(text=text):
                self.view = replace(v, notice=text)
            case AudioStarted():
                if v.phase is Phase.LIVE:
                    self.view = replace(v, speaking=True)
            case AudioStopped():
                self.view = replace(v, speaking=False)
            case WakeListening(on=on):
                self.view = replace(v, wake=on)
        return effects

    def _start(self) -> list[Effect]:
        self.view = replace(
            self.view, phase=Phase.CONNECTING, error_cause=None, notice=None, reconnect_attempt=0
        )
        return [Connect()]

    def _stop(self, reason: StopReason) -> list[Effect]:
        v = self.view
        if v.phase is Phase.IDLE:
            return []
        effects: list[Effect] = []
        if v.phase in (Phase.CONNECTING, Phase.LIVE):
            effects.append(Disconnect())
        if v.phase is Phase.LIVE:
            effects.append(Emit("stopped", reason))
        self.view = replace(
            v,
            phase=Phase.IDLE,
            speaking=False,
            countdown_s=None,
            error_cause=None,
            notice=None,
            reconnect_attempt=0,
        )
        return effects

    def _fail(self, cause: str) -> list[Effect]:
        v = self.view
        effects: list[Effect] = []
        if v.phase in (Phase.CONNECTING, Phase.LIVE):
            effects.append(Disconnect())
        if v.phase is Phase.LIVE:
            effects.append(Emit("stopped", StopReason.ERROR))
        self.view = replace(
            v,
            phase=Phase.ERROR,
            speaking=False,
            error_cause=cause,
            reconnect_attempt=0,
            countdown_s=None,
        )
        return effects
