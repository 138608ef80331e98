"""The realtime session's policy, sans-I/O: one object decides, the shell only carries out.

:class:`Session` is one user session, from a press to the stop, across every connection it
needs (reconnects after a drop, renewals before the service's time limit). It never touches a
socket, a clock or a thread: the asyncio shell (:mod:`appliance.realtime.link`) tells it what
happened (:meth:`Session.on_frame`, :meth:`Session.on_closed`, :meth:`Session.on_timer`, a key
that arrived, the audio device that opened) with the time (the monotonic clock's for its
deadlines; the wall clock's, which keys expire in, for :meth:`Session.key_plan`), and carries
out what it returns: frames to send (already encoded), state-machine inputs, events to emit on
the bus, audio to play, and the decision after a connection ends (:class:`Retry`,
:class:`Renew`, :class:`GiveUp`).

It owns:

* the dialect choice: ``auto`` follows the model name and the provisioning reply's shape, but
  once a server refused the beta shape, GA is used for every later session (:class:`Memory`,
  and for a day across reloads and restarts: :class:`RememberBetaRefusal`), a refusal is
  never retried on beta, and a beta-only ``temperature`` is left out on GA with a warning;
* the key-source order and the single-use rule (:meth:`Session.key_plan`): a static
  ``ephemeral_key`` serves one session; used again, it fails at once instead of being retried;
  a key fetched ahead (``auto_fetch_ephemeral_key``) is used while it has not expired;
* the recovery policy: capped exponential backoff with jitter, a fresh key per attempt,
  ``max_attempts`` failures in a row (a connection that stayed up a while resets the count),
  failures that retrying cannot fix reported at once;
* liveness: the handshake deadline (the socket *and* ``session.created``), stalls while the
  server owes an answer, renewal at a quiet moment before the session's time limit;
* hanging up (:class:`~appliance.realtime.hangup.HangUp`): the countdown, then the stop, when
  nobody spoke for ``realtime.idle_stop_s``, and the stop at ``realtime.max_session_s``, which
  a reconnect does not reset;
* barge-in (``response.cancel`` and the truncate at the played ms), function-call bookkeeping
  (at most ``realtime.max_function_calls`` run per response, the rest answered with an error),
  and the recent conversation, replayed into the new session after a reconnect.
"""

from __future__ import annotations

import json
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance import state
from appliance.config import AppConfig, SessionConfig
from appliance.realtime.dialects import BETA_REFUSAL_CODE, DIALECTS, DialectError, guess
from appliance.realtime.hangup import HangUp
from appliance.realtime.protocol import (
    AudioDelta,
    FunctionCalls,
    Protocol,
    ResponseDone,
    ResponseStarted,
    ServerError,
    ServerMessage,
    SessionReady,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    TranscriptDelta,
)
from appliance.realtime.usage import Tally
from appliance.redaction import REDACTOR
from appliance.state import StopReason

HANDSHAKE_TIMEOUT_S = 15.0
"""From starting to connect until ``session.created``: the socket and the session both."""
STABLE_AFTER_S = 10.0
"""A connection live this long counts as having worked: the failure count starts afresh."""
KEY_REFRESH_MARGIN_S = 10.0
"""A key fetched ahead is replaced this long before it expires."""
ASSUMED_KEY_LIFETIME_S = 60.0
"""How long a key whose reply gives no ``expires_at`` is trusted (the service's shortest)."""

ACTIVITY = (SpeechStarted, SpeechStopped, Transcript, ResponseDone)
"""Server messages that say someone spoke (or just finished): the idle stop waits again."""

# Server error codes after which reconnecting cannot help.
FATAL_SERVER_CODES = frozenset(
    {
        "invalid_api_key",
        "insufficient_quota",
        "model_not_found",
        "unsupported_model",
        "invalid_model",
        "account_deactivated",
    }
)
# Codes the real service uses when a session reaches its maximum duration.
SESSION_LIMIT_CODES = frozenset({"session_expired", "session_duration_exceeded"})


class SessionError(Exception):
    """A session attempt failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def retryable_http_status(status: int) -> bool:
    """Server-side and rate-limit statuses are worth retrying; other client errors are not."""
    return status >= 500 or status in (408, 425, 429)


# --- recovery and liveness (pure helpers) ---------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 1.0
    max_s: float = 30.0
    max_attempts: int = 5
    jitter: float = 0.2

    def delay(self, attempt: int, rand: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1, 2, ...)."""
        rand = random.random() if rand is None else rand
        base = min(self.max_s, self.initial_s * 2 ** max(0, attempt - 1))
        return max(0.0, base * (1 + self.jitter * (2 * rand - 1)))

    def gives_up(self, attempt: int) -> bool:
        """True when retry number ``attempt`` would exceed the allowed attempts."""
        return attempt > self.max_attempts


class Liveness:
    """Whether a connection is alive, from what the server says (the clock is passed in).

    A stall is silence while the server owes an answer (after ``session.update``, a committed
    turn, ``response.create``, during a response), not a quiet room: with nobody talking the
    service sends nothing for minutes. Quiet moments (nothing owed, nobody speaking) are when
    a session can be renewed without cutting anyone off.
    """

    def __init__(self, now: float) -> None:
        self.last_heard = now
        self.expecting = False
        self.user_speaking = False

    def heard(self, now: float) -> None:
        """Any frame from the server."""
        self.last_heard = now

    def expect(self, now: float) -> None:
        """We sent something the server must answer."""
        if not self.expecting:
            self.expecting = True
            self.last_heard = now

    def track(self, message: ServerMessage, response_active: bool) -> None:
        """Follow what the server said (a typed server message)."""
        if isinstance(message, SessionUpdated):
            self.expecting = response_active
        elif isinstance(message, SpeechStarted):
            self.user_speaking = True
        elif isinstance(message, SpeechStopped):
            self.user_speaking = False
            self.expecting = True  # server VAD commits the turn: a response follows
        elif isinstance(message, ResponseStarted):
            self.expecting = True
        elif isinstance(message, ResponseDone):
            self.expecting = False

    def is_stalled(self, now: float, timeout_s: float) -> bool:
        return self.expecting and now - self.last_heard > timeout_s

    def is_quiet(self, audible: bool) -> bool:
        """Nothing owed, nobody talking, nothing playing (``audible``): safe to renew."""
        return not (self.expecting or self.user_speaking or audible)


# --- what the session asks the shell to do --------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Send this text frame on the socket."""

    frame: str


@dataclass(frozen=True)
class Feed:
    """Apply this input to the state machine."""

    input: state.Input


@dataclass(frozen=True)
class EmitEvent:
    """Emit this event on the bus (socket subscribers, hooks)."""

    event: dict[str, Any]


@dataclass(frozen=True)
class Play:
    """Queue this audio for the speaker."""

    delta: AudioDelta


@dataclass(frozen=True)
class Caption:
    """Words for the captions (:class:`appliance.captions.Captions`): more of ``role``'s
    transcript of ``item_id`` (``final``: the whole of it, replacing what came before)."""

    role: str
    item_id: str
    text: str
    final: bool = False


@dataclass(frozen=True)
class StopPlayback:
    """The user spoke over the model: stop playback if anything plays, then call
    :meth:`Session.barge_in` with what was played (``cancel_response``: and cancel the
    response). Not the state machine's :class:`appliance.state.Interrupt`, a press while the
    model speaks, which the appliance carries out as a barge-in that cancels the response."""

    cancel_response: bool


@dataclass(frozen=True)
class RunFunctions:
    """Run these function calls; hand their results, then ``refused`` (the ready outputs of
    the calls over ``realtime.max_function_calls``, not run), to
    :meth:`Session.function_results`. ``warning``: one line to log, when calls were refused."""

    calls: FunctionCalls
    refused: tuple[tuple[str, Any], ...] = ()
    warning: str | None = None


@dataclass(frozen=True)
class OpenAudio:
    """Open the audio device; call :meth:`Session.audio_opened` once it is open."""


@dataclass(frozen=True)
class RememberBetaRefusal:
    """Keep, across reloads and restarts, that the server at ``api_base`` refuses beta (see
    :mod:`appliance.realtime.refusals`)."""

    api_base: str


@dataclass(frozen=True)
class Close:
    """Close the socket (the session then sees :meth:`Session.on_closed`)."""

    code: int
    reason: str


Action = (
    Send
    | Feed
    | EmitEvent
    | Play
    | Caption
    | StopPlayback
    | RunFunctions
    | OpenAudio
    | RememberBetaRefusal
    | Close
)


@dataclass(frozen=True)
class Retry:
    """Wait ``delay_s``, then connect again with a fresh key. ``actions`` first."""

    delay_s: float
    cause: str
    attempt: int
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Renew:
    """Connect again now (a planned renewal, or GA after a beta refusal). ``actions`` first."""

    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class GiveUp:
    """Stop trying: show ``message`` (already safe to show) until the next press."""

    message: str


Decision = Retry | Renew | GiveUp


# --- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EphemeralKey:
    """A key for one session. ``expires_at`` is wall-clock (epoch) seconds, if known."""

    value: str
    source: str
    dialect: str | None = None  # the dialect the reply's shape reveals, if any
    expires_at: float | None = None
    fetched_at: float = 0.0  # wall-clock

    def __repr__(self) -> str:  # never print the value
        return f"EphemeralKey(source={self.source!r}, dialect={self.dialect!r})"

    def usable_at(self, wall: float, margin_s: float = KEY_REFRESH_MARGIN_S) -> bool:
        """Still good at wall-clock time ``wall``, with ``margin_s`` to spare."""
        return wall < self.refresh_at(margin_s)

    def refresh_at(self, margin_s: float = KEY_REFRESH_MARGIN_S) -> float:
        """When a key kept for later should be replaced by a fresh one (wall-clock)."""
        expires = self.expires_at
        if expires is None:
            expires = self.fetched_at + ASSUMED_KEY_LIFETIME_S
        return expires - margin_s


@dataclass(frozen=True)
class UseKey:
    """Use this key (static, or fetched ahead and still valid)."""

    key: EphemeralKey


@dataclass(frozen=True)
class Provision:
    """Fetch a key from the provisioning URL."""


@dataclass(frozen=True)
class Mint:
    """Mint a key with the API key, at ``dialect``'s endpoint, for the session ``config``
    (the configuration's, as ``dialect`` carries it: see :meth:`Session.session_config`)."""

    dialect: str
    config: SessionConfig


KeyPlan = UseKey | Provision | Mint | GiveUp


def has_api_key(config: AppConfig, environ: dict[str, str] | None = None) -> bool:
    """A real API key is configured (it is read, and may still fail, when minting)."""
    import os

    env = os.environ if environ is None else environ
    o = config.openai
    return bool(o.key or o.key_file or env.get("CREDENTIALS_DIRECTORY"))


class Memory:
    """What the appliance learned about the server, kept across the sessions of one
    configuration: whether it refuses the beta shape, the static key's use, a key fetched
    ahead, whether the leaving out of ``temperature`` was said. A new configuration (reload)
    gets a new memory; ``beta_refused`` may come from the state file, which keeps a refusal
    across reloads and restarts (:mod:`appliance.realtime.refusals`)."""

    def __init__(self, beta_refused: bool = False) -> None:
        self.beta_refused = beta_refused
        self.static_key_used = False
        self.prefetched: EphemeralKey | None = None
        self.temperature_said = False


# --- the session ---------------------------------------------------------------------------------


@dataclass
class _Connection:
    """What is known about the current connection."""

    dialect: str
    protocol: Protocol
    started: float
    liveness: Liveness
    ready: bool = False
    session_id: str | None = None
    live_since: float | None = None
    last_error: ServerError | None = None
    beta_refused: bool = False
    stalled: bool = False
    planned: bool = False
    timed_out: bool = False
    hung_up: bool = False
    interrupted: set[str] = field(default_factory=set)


def _log_warning(message: str) -> None:
    logging.getLogger("appliance").warning("%s", message)


class Session:
    """One user session's policy. ``config`` is read at each new connection; ``memory``
    outlives the session (see :class:`Memory`). ``warn`` says what the configuration asks
    for and cannot get (once per memory)."""

    def __init__(
        self,
        config: AppConfig,
        memory: Memory,
        *,
        rand: Callable[[], float] = random.random,
        has_api_key: Callable[[AppConfig], bool] = has_api_key,
        warn: Callable[[str], None] = _log_warning,
    ) -> None:
        self.config = config
        self.memory = memory
        self._warn = warn
        self.last_error: str | None = None
        self.turns: deque[tuple[str, str]] = deque(maxlen=max(1, config.recovery.replay_turns))
        self._rand = rand
        self._has_api_key = has_api_key
        rec = config.recovery
        self.backoff = Backoff(rec.backoff_initial_s, rec.backoff_max_s, rec.max_attempts)
        self.failures = 0
        self.connections = 0
        self._conn: _Connection | None = None
        self.hangup = HangUp(config.realtime.idle_stop_s, config.realtime.max_session_s)
        self._countdown: int | None = None  # the countdown last fed to the state machine
        self.tally = Tally()
        """The usage of the responses since the last :meth:`take_usage` (usage reports)."""

    # --- which dialect, which key -------------------------------------------------------------

    @property
    def connection_dialect(self) -> str | None:
        return self._conn.dialect if self._conn else None

    @property
    def session_id(self) -> str | None:
        """The server's id of the live session, if any."""
        return self._conn.session_id if self._conn else None

    @property
    def protocol(self) -> Protocol | None:
        """The live connection's protocol (``None`` until ``session.created``)."""
        return self._conn.protocol if self._conn and self._conn.ready else None

    def dialect(self, key_dialect: str | None = None) -> str:
        """The dialect for the next connection. With ``auto``: GA for a GA model (the beta
        API only ever served the preview models); for a preview model, the shape of the
        provisioning reply (``key_dialect``) or else beta; and GA for good once the server
        refused beta."""
        wanted = self.config.openai.dialect
        if wanted != "auto":
            return wanted
        by_model = guess(self.config.realtime.config.model)
        if self.memory.beta_refused or by_model == "ga":
            return "ga"
        return key_dialect or by_model

    def key_plan(self, wall: float) -> KeyPlan:
        """Where the next connection's key comes from (a fresh one every time). ``wall``: the
        wall-clock time (epoch seconds) that keys' expiry is measured in."""
        memory, rt = self.memory, self.config.realtime
        pre, memory.prefetched = memory.prefetched, None
        if pre is not None and pre.usable_at(wall):
            return UseKey(pre)
        if rt.ephemeral_key and not memory.static_key_used:
            memory.static_key_used = True
            value = rt.ephemeral_key.get_secret_value()
            return UseKey(EphemeralKey(value, "static", None, None, wall))
        if rt.provisioning:
            return Provision()
        if self._has_api_key(self.config):
            return self._mint()
        if rt.ephemeral_key:
            return GiveUp(
                "the static ephemeral key was already used (keys are single use): set "
                "realtime.provisioning.url or openai.key_file for a fresh key per session"
            )
        return GiveUp(
            "no key source: set realtime.provisioning.url, openai.key_file or "
            "realtime.ephemeral_key"
        )

    def prefetch_plan(self) -> Provision | Mint | None:
        """Where a key fetched ahead (``auto_fetch_ephemeral_key``) comes from, if anywhere:
        never the single-use static key."""
        if self.config.realtime.provisioning:
            return Provision()
        if self._has_api_key(self.config):
            return self._mint()
        return None

    def _mint(self) -> Mint:
        dialect = self.dialect()
        return Mint(dialect, self.session_config(dialect))

    def session_config(self, dialect: str, cfg: SessionConfig | None = None) -> SessionConfig:
        """The session config (``cfg``, else the configuration's) as ``dialect`` is sent it.

        With ``openai.dialect = "auto"``, a preview model's configuration is validated against
        beta, and may hold beta's ``temperature``; when the session ends up on GA all the same
        (the server refused beta, or the provisioning reply had the GA shape), GA cannot carry
        it: it is left out, with one warning per configuration, rather than every press
        ending in "the GA Realtime API has no temperature"."""
        cfg = self.config.realtime.config if cfg is None else cfg
        fell_back = self.config.openai.dialect == "auto" and guess(cfg.model) == "beta"
        if dialect != "ga" or not fell_back or cfg.temperature is None:
            return cfg
        if not self.memory.temperature_said:
            self.memory.temperature_said = True
            why = "the server refused beta" if self.memory.beta_refused else "the key is GA's"
            self._warn(
                f"realtime.config.temperature = {cfg.temperature:g} is left out: the GA Realtime "
                f"API, used for {cfg.model!r} ({why}), has no temperature; remove it from the "
                "configuration"
            )
        return cfg.model_copy(update={"temperature": None})

    def keep_prefetched(self, key: EphemeralKey) -> None:
        self.memory.prefetched = key

    # --- one connection ---------------------------------------------------------------------------

    def connecting(self, key: EphemeralKey, now: float) -> tuple[str, dict[str, str]]:
        """A key arrived: the URL and headers to connect with. Starts the handshake
        deadline. Raises :class:`DialectError` for a config the dialect cannot express."""
        dialect_name = self.dialect(key.dialect)
        dialect = DIALECTS[dialect_name]
        cfg = self.session_config(dialect_name)
        protocol = Protocol(dialect, cfg)
        protocol.session_update_message()  # a config error shows before connecting
        self._conn = _Connection(dialect_name, protocol, now, Liveness(now))
        self.connections += 1
        url = dialect.ws_url(self.config.openai.api_base, cfg.model)
        return url, dialect.ws_headers(key.value)

    def refused(self, where: str, status: int, body: str) -> Decision:
        """The WebSocket handshake was answered with HTTP ``status``."""
        self._conn = None
        return self.failed(
            SessionError(
                f"{where} refused the connection: HTTP {status}: {body}",
                # 401: the key expired or was used; a fresh one may work
                retryable=status == 401 or retryable_http_status(status),
            )
        )

    def unreachable(self, where: str, cause: str) -> Decision:
        """The WebSocket could not be opened (network, TLS, timeout)."""
        self._conn = None
        return self.failed(SessionError(f"cannot connect to {where}: {cause}", retryable=True))

    def on_frame(self, frame: str | bytes, now: float) -> list[Action]:
        """One frame from the server."""
        conn = self._conn
        if conn is None:
            return []
        conn.liveness.heard(now)
        actions: list[Action] = []
        for message in conn.protocol.receive(frame):
            conn.liveness.track(message, conn.protocol.response_active)
            if isinstance(message, ACTIVITY) or not conn.liveness.is_quiet(audible=False):
                self.hangup.activity(now)
            actions += self._on(conn, message, now)
        return actions

    def _on(self, conn: _Connection, message: ServerMessage, now: float) -> list[Action]:
        if isinstance(message, SessionReady):
            if conn.ready:
                return []  # a repeated session.created: already set up
            conn.ready = True
            session_id = message.session.get("id")
            conn.session_id = session_id if isinstance(session_id, str) else None
            actions: list[Action] = []
            cfg = self.config.realtime.config
            if _needs_update(cfg):
                actions.append(self._send(conn, conn.protocol.session_update_message(), now))
            if self.connections > 1:
                actions += self._replay(conn)
            actions.append(OpenAudio())
            return actions
        if isinstance(message, ServerError):
            conn.last_error = message
            if message.code == BETA_REFUSAL_CODE:
                conn.beta_refused = True
                return [Close(1000, "beta refused")]
            text = self.last_error = REDACTOR(str(message))
            return [
                EmitEvent({"type": "error", "message": text, "fatal": False, "code": message.code}),
                Feed(state.Notice(text)),
            ]
        if isinstance(message, AudioDelta):
            return [] if message.item_id in conn.interrupted else [Play(message)]
        if isinstance(message, SpeechStarted):
            return [StopPlayback(cancel_response=False)]
        if isinstance(message, TranscriptDelta):
            return self._caption(message.role, message.item_id, message.delta, final=False)
        if isinstance(message, Transcript):
            if message.text.strip():
                self.turns.append((message.role, message.text))
            event = EmitEvent({"type": "transcript", "role": message.role, "text": message.text})
            return [event, *self._caption(message.role, message.item_id, message.text, final=True)]
        if isinstance(message, FunctionCalls):
            return [self._run_functions(message)]
        if isinstance(message, ResponseDone):
            self.tally = self.tally.add(message.usage)
        return []

    def take_usage(self) -> Tally:
        """The usage counted since the last call (a session's end: its usage report)."""
        tally, self.tally = self.tally, Tally()
        return tally

    def _caption(self, role: str, item_id: str | None, text: str, *, final: bool) -> list[Action]:
        """The captions' share of a transcript (nothing with ``display.captions = "off"``)."""
        if self.config.display.captions == "off" or item_id is None:
            return []
        return [Caption(role, item_id, text, final)]

    def _run_functions(self, message: FunctionCalls) -> RunFunctions:
        """The calls of one response to run: at most ``realtime.max_function_calls``, the
        first ones; every other call is answered with an error output, not run."""
        limit = self.config.realtime.max_function_calls
        calls = message.calls
        if len(calls) <= limit:
            return RunFunctions(message)
        why = (
            f"not run: the response asked for {len(calls)} function calls and at most {limit} "
            "are run per response (realtime.max_function_calls)"
        )
        refused = tuple((call.call_id, {"error": why}) for call in calls[limit:])
        warning = (
            f"a response asked for {len(calls)} function calls: ran the first {limit}, "
            f"answered {len(refused)} with an error (realtime.max_function_calls = {limit})"
        )
        return RunFunctions(FunctionCalls(calls[:limit]), refused, warning)

    def _replay(self, conn: _Connection) -> list[Action]:
        """The recent conversation, as items of the new session (no response asked for)."""
        if self.config.recovery.replay_turns <= 0:
            return []
        return [
            Send(json.dumps(conn.protocol.say_messages(text, role, respond=False)[0]))
            for role, text in list(self.turns)[-self.config.recovery.replay_turns :]
        ]

    def audio_opened(self, now: float) -> list[Action]:
        """The device is open: the session is live."""
        conn = self._conn
        if conn is None:
            return []
        conn.live_since = now
        self.last_error = None  # recovered: the previous error is no longer the state
        self.hangup.begin(now)
        self._countdown = None  # the state machine cleared it when the connection dropped
        return [Feed(state.Connected())]

    def activity(self, now: float) -> None:
        """The visitor pressed something (toggle, mute): the idle stop waits again."""
        self.hangup.activity(now)

    def on_timer(self, now: float, audible: bool) -> list[Action]:
        """Called a few times a second: hanging up, deadlines, stalls, renewal at a quiet
        moment."""
        conn = self._conn
        if conn is None or conn.stalled or conn.planned or conn.timed_out or conn.hung_up:
            return []
        hang_up = self._hang_up(conn, now, audible)
        if conn.hung_up:
            return hang_up
        rec = self.config.recovery
        if not conn.ready:
            if now - conn.started > HANDSHAKE_TIMEOUT_S:
                conn.timed_out = True
                return [*hang_up, Close(1000, "no session.created")]
            return hang_up
        if conn.liveness.is_stalled(now, rec.stall_timeout_s):
            conn.stalled = True
            return [*hang_up, Close(1000, "stalled")]
        live_since = conn.live_since if conn.live_since is not None else conn.started
        if now - live_since > rec.session_max_s and conn.liveness.is_quiet(audible):
            conn.planned = True
            return [*hang_up, Close(1000, "renewing")]
        return hang_up

    def _hang_up(self, conn: _Connection, now: float, audible: bool) -> list[Action]:
        """The stop when one is due (idle or at the cap), else the countdown when it changed.
        The model answering or playing, or the visitor speaking, is activity (and no time for
        a countdown)."""
        busy = conn.live_since is not None and not conn.liveness.is_quiet(audible)
        if busy:
            self.hangup.activity(now)
        reason = self.hangup.due(now)
        if reason is StopReason.IDLE and conn.live_since is None:
            reason = None  # reconnecting: the visitor cannot speak; only the cap applies
        if reason is not None:
            conn.hung_up = True
            return [Feed(state.Stop(reason))]
        live = conn.live_since is not None
        shown = self.hangup.countdown(now) if live and not busy else None
        if shown == self._countdown:
            return []
        self._countdown = shown
        return [Feed(state.Countdown(shown))]

    def on_closed(
        self, code: int | None, reason: str, now: float, *, ours: str | None = None
    ) -> Decision:
        """The connection ended: what now. ``ours``: why this side closed it, in plain words
        (a frame over the size limit, pings the server left unanswered), when it did so on its
        own; ``None`` when the server closed it or it was lost, and for the closes the session
        asked for (:class:`Close`), which it knows itself."""
        conn, self._conn = self._conn, None
        if conn is None:
            cause = ours or f"connection closed (code {code})"
            return self.failed(SessionError(cause, retryable=True))
        if conn.planned:
            self.failures = 0
            return Renew((Feed(state.Reconnecting("renewing the session", 1)),))
        if conn.beta_refused:
            if self.config.openai.dialect == "auto" and conn.dialect == "beta":
                self.memory.beta_refused = True  # never beta again for this configuration
                return Renew((RememberBetaRefusal(self.config.openai.api_base),))  # nor later
            return GiveUp(
                "the server refuses the beta API (beta_api_shape_disabled): "
                'set openai.dialect = "ga" or "auto"'
            )
        stall_s = self.config.recovery.stall_timeout_s
        if conn.timed_out:
            cause = f"the server did not start the session within {HANDSHAKE_TIMEOUT_S:g} s"
        elif conn.stalled:
            cause = f"the server stopped answering (nothing for {stall_s:g} s)"
        elif ours:
            cause = ours
        else:
            detail = f": {reason}" if reason else ""
            cause = f"connection closed by the server (code {code}{detail})"
        last = conn.last_error
        if last is not None:
            cause += f" after: {last}"
        fatal = last is not None and last.code in FATAL_SERVER_CODES
        worked = conn.live_since is not None and now - conn.live_since >= STABLE_AFTER_S
        return self.failed(SessionError(cause, retryable=not fatal), worked=worked)

    def failed(self, error: SessionError, *, worked: bool = False) -> Decision:
        """A key, a connection or a session failed: retry after a while, or give up.
        ``worked``: the connection had been up long enough to count as a success."""
        cause = REDACTOR(str(error))
        if not error.retryable:
            return GiveUp(cause)
        if worked:
            self.failures = 0
        self.failures += 1
        if self.backoff.gives_up(self.failures):
            retries = self.failures - 1
            return GiveUp(
                f"{cause} (gave up after {retries} {'retry' if retries == 1 else 'retries'}; "
                "press to try again)"
            )
        delay = self.backoff.delay(self.failures, self._rand())
        self.last_error = cause
        return Retry(
            delay,
            cause,
            self.failures,
            (
                EmitEvent({"type": "error", "message": cause, "fatal": False}),
                Feed(state.Reconnecting(cause, self.failures)),
            ),
        )

    # --- what the user or the shell does -------------------------------------------------------

    def barge_in(self, played: Any | None, cancel_response: bool, now: float) -> list[Action]:
        """Playback was stopped (``played``: the item cut short, with its ``item_id``,
        ``content_index`` and ``played_ms``, or ``None``). Frames: ``response.cancel`` if
        asked and a response runs, then the truncate at the ms really played."""
        conn = self._conn
        if conn is None or not conn.ready:
            return []
        protocol = conn.protocol
        actions: list[Action] = []
        if cancel_response and protocol.response_active:
            actions.append(Send(json.dumps(protocol.cancel_message())))
        if played is not None:
            conn.interrupted.add(played.item_id)
            truncate = protocol.truncate_message(
                played.item_id, played.content_index, played.played_ms
            )
            actions.append(Send(json.dumps(truncate)))
            actions.append(
                EmitEvent(
                    {
                        "type": "interrupted",
                        "item_id": played.item_id,
                        "audio_end_ms": played.played_ms,
                    }
                )
            )
        return actions

    def function_results(self, results: list[tuple[str, Any]], now: float) -> list[Action]:
        """The outputs of a :class:`RunFunctions` (``(call_id, result)`` pairs: the results
        of the calls run, then its ``refused``), then one ``response.create``."""
        conn = self._conn
        if conn is None or not conn.ready:
            return []
        messages = conn.protocol.function_output_messages(results)
        conn.liveness.expect(now)
        return [Send(json.dumps(message)) for message in messages]

    def say(self, text: str, role: str, respond: bool | None, now: float) -> list[Action]:
        """Deep Chat's ``sendMessage``. Raises ``ValueError`` for a bad role; returns no
        actions when not connected."""
        conn = self._conn
        if conn is None or not conn.ready:
            return []
        messages = conn.protocol.say_messages(text, role, respond)
        if role in ("user", "assistant") and text.strip():
            self.turns.append((role, text))
        if messages[-1]["type"] == "response.create":
            conn.liveness.expect(now)
        return [Send(json.dumps(message)) for message in messages]

    def update_config(
        self, changes: dict[str, Any], now: float
    ) -> tuple[SessionConfig, list[Action]]:
        """Deep Chat's ``updateConfig``: validate ``changes`` against the session config (raises
        ``ValueError`` / :class:`DialectError`), keep it for later connections, and the
        ``session.update`` carrying just those fields if connected."""
        if any(_plain_name(name) == "functionhandler" for name in changes):
            # it names code to import and run: only the configuration file may do that
            raise ValueError(
                "function_handler comes only from the configuration file "
                "(realtime.config.function_handler; then `appliance reload`)"
            )
        conn = self._conn
        protocol = conn.protocol if conn else None
        if protocol is None:
            dialect = self.dialect()
            protocol = Protocol(DIALECTS[dialect], self.session_config(dialect))
        new, message = protocol.update_config(changes)
        self.config.realtime.config = new
        if conn is None or not conn.ready:
            return new, []
        return new, [self._send(conn, message, now)]

    def resend_session(self, cfg: SessionConfig, now: float) -> list[Action]:
        """A reloaded session config: the whole ``session.update``, if connected."""
        conn = self._conn
        if conn is None or not conn.ready:
            return []
        conn.protocol.config = self.session_config(conn.dialect, cfg)
        try:
            message = conn.protocol.session_update_message()
        except DialectError:
            return []
        return [self._send(conn, message, now)]

    def append(self, pcm: bytes) -> Send | None:
        """A microphone block, as an ``input_audio_buffer.append`` frame."""
        conn = self._conn
        if conn is None or not conn.ready:
            return None
        return Send(json.dumps(conn.protocol.append_message(pcm)))

    @staticmethod
    def _send(conn: _Connection, message: dict[str, Any], now: float) -> Send:
        conn.liveness.expect(now)
        return Send(json.dumps(message))

    def is_quiet(self, audible: bool) -> bool:
        conn = self._conn
        return conn is None or conn.liveness.is_quiet(audible)


def _plain_name(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _needs_update(cfg: SessionConfig) -> bool:
    """Send ``session.update`` only when the user configured session fields; otherwise the
    key's minted session (e.g. from a provisioning server) stays as it is."""
    return bool(cfg.model_dump(exclude_unset=True, exclude={"model", "function_handler"}))
