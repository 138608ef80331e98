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
