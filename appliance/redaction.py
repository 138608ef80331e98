"""Keeping secrets out of logs, screens, events and error text, and text from outside safe in them.

:class:`Redactor` knows the configured secrets (API key, ephemeral keys, provisioning header
values) and the shapes of OpenAI keys, and scrubs any text. :class:`RedactingFilter` applies it
to every log record. :func:`printable` takes the control characters and terminal escape
sequences out of text that came from outside (a server's reply, an error event): the redactor
applies it to everything it scrubs, so they reach neither ``last_error`` nor the log.
:func:`mask_url` hides the credentials a URL may carry (``user:pass@``, query values).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "***"
# OpenAI-style keys and ephemeral keys, bearer tokens.
_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|ek_[A-Za-z0-9_\-]{4,}|(?i:bearer)\s+[A-Za-z0-9_\-.=:/+]{4,})"
)


# Terminal escape sequences (CSI, OSC, other ESC sequences), removed whole.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor moves, clearing the screen
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence
)
# Other control characters (C0 but tab and newline, DEL, C1), zero-width and bidirectional
# formatting characters (they can make a text read differently from what it is), and the
# Unicode line separators.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]"
)


def printable(text: str, *, keep_lines: bool = False) -> str:
    """``text`` from outside made safe for one line of a log, a status field or the screen.

    Terminal escape sequences are removed; other control and formatting characters become
    spaces. Unless ``keep_lines`` (for text of our own that may span lines), newlines and
    tabs become spaces too and runs of spaces collapse into one: the result is one line.
    """
    text = _ESCAPES.sub("", text.replace("\r\n", "\n"))
    text = _CONTROLS.sub(" ", text)
    if keep_lines:
        return text
    return " ".join(text.split())


def mask_url(url: str) -> str:
    """``url`` with the credentials it may carry replaced by ``***``: the user and password
    (``https://***@host``), and the value of each query and fragment parameter
    (``?token=***``). Text that is not a URL is returned unchanged."""
    if not _URL.match(url):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port or host: show the scheme only
        return url.split("://", 1)[0] + "://" + REDACTED
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}@{netloc}"
    return urlunsplit(
        (parts.scheme, netloc, parts.path, _mask_params(parts.query), _mask_params(parts.fragment))
    )


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _mask_params(text: str) -> str:
    if not text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not pairs:  # not key=value pairs: hide it whole
        return REDACTED
    return "&".join(f"{quote(name, safe='')}={REDACTED}" for name, _value in pairs)


EPHEMERAL_KEPT = 64
"""Ephemeral keys remembered for scrubbing: each serves one session and expires within minutes,
so the last few are all that can still turn up; a device that has run for a year must not
scrub every log line against every key it ever fetched."""


class Redactor:
    """Scrubs known secret values and key-shaped tokens from text. Thread-safe.

    Configured secrets (:meth:`add`) are kept for the life of the process; ephemeral keys
    (:meth:`add_ephemeral`) only the last :data:`EPHEMERAL_KEPT`.
    """

    def __init__(self, ephemeral_kept: int = EPHEMERAL_KEPT) -> None:
        self._secrets: set[str] = set()
        self._ephemeral: deque[str] = deque(maxlen=ephemeral_kept)
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= 4:
                    self._secrets.add(value)

    def add_ephemeral(self, value: str | None) -> None:
        if value and len(value) >= 4:
            with self._lock:
                if value not in self._ephemeral:
                    self._ephemeral.append(value)

    def __call__(self, text: str) -> str:
        text = printable(text, keep_lines=True)
        with self._lock:
            secrets = sorted(self._secrets.union(self._ephemeral), key=len, reverse=True)
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
        # Text arguments are data (often from outside: server messages, transcripts, causes):
        # each is put on one line, so none can forge a log line of its own.
        if isinstance(record.args, tuple):
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: printable(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        message = record.getMessage()
        clean = self.redactor(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(
                logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            )
            record.exc_info = None
        record.msg, record.args = clean, None
        return True
