"""Keeping secrets out of logs, screens, events and error text.

:class:`Redactor` knows the configured secrets (API key, ephemeral keys, provisioning header
values) and the shapes of OpenAI keys, and scrubs any text. :class:`RedactingFilter` applies it
to every log record.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "***"
# OpenAI-style keys and ephemeral keys, bearer tokens.
_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|ek_[A-Za-z0-9_\-]{4,}|(?i:bearer)\s+[A-Za-z0-9_\-.=:/+]{4,})"
)


class Redactor:
    """Scrubs known secret values and key-shaped tokens from text. Thread-safe."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= 4:
                    self._secrets.add(value)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return _PATTERNS.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.lower().startswith("bearer"):
        return "Bearer " + REDACTED
    return token[:3] + REDACTED


REDACTOR = Redactor()
"""The process-wide redactor: everything that leaves the process goes through it."""


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the formatted message and its arguments."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(
                logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            )
            record.exc_info = None
        record.msg, record.args = clean, None
        return True
