"""The recovery policy, as pure functions: which failures are retried, and after how long.

A session that drops, stalls, or cannot get a key or a connection is retried with capped
exponential backoff and jitter, with a fresh key each attempt; after ``max_attempts`` failures in
a row the appliance shows the error and waits for a press (which retries at once). Failures that
retrying cannot fix (a wrong device token, an invalid API key, an invalid configuration) are not
retried: they show their cause straight away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from appliance.realtime.protocol import (
    ResponseDone,
    ResponseStarted,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
)

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
    """Whether a connection is alive, from what the server says (pure: the clock is passed in).

    A stall is silence while the server owes an answer (after ``session.update``, a committed
    turn, ``response.create``, during a response), not a quiet room: with nobody talking the
    service sends nothing for minutes. Quiet moments (nothing owed, nobody speaking) are when
    a session can be renewed without cutting anyone off.
    """

    def __init__(self, now: float) -> None:
        self.last_heard = now
        self.expecting = False
        self.user_speaking = False
        self.stalled = False  # set by the watchdog when it gives up on the connection
        self.planned = False  # set by the watchdog for a renewal at a quiet moment

    def heard(self, now: float) -> None:
        """Any frame from the server."""
        self.last_heard = now

    def expect(self, now: float) -> None:
        """We sent something the server must answer."""
        if not self.expecting:
            self.expecting = True
            self.last_heard = now

    def track(self, happening: Any, response_active: bool) -> None:
        """Follow what the server said (a protocol happening)."""
        if isinstance(happening, SessionUpdated):
            self.expecting = response_active
        elif isinstance(happening, SpeechStarted):
            self.user_speaking = True
        elif isinstance(happening, SpeechStopped):
            self.user_speaking = False
            self.expecting = True  # server VAD commits the turn: a response follows
        elif isinstance(happening, ResponseStarted):
            self.expecting = True
        elif isinstance(happening, ResponseDone):
            self.expecting = False

    def is_stalled(self, now: float, timeout_s: float) -> bool:
        return self.expecting and now - self.last_heard > timeout_s

    def is_quiet(self, audible: bool) -> bool:
        """Nothing owed, nobody talking, nothing playing (``audible``): safe to renew."""
        return not (self.expecting or self.user_speaking or audible)
