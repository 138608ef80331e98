"""Log lines that stay short, and few: every logged value capped, repeated lines summed up.

A server decides much of what the appliance logs (transcripts, error events, function-call
arguments), and a hostile or broken one could otherwise write a 15-million-character line, or
tens of thousands of lines a second, onto an SD card and into the journal. :class:`LogGuard`,
the one filter on the appliance's log handler (:func:`appliance.cli.setup_logging`), sees
every record before it is written:

* **Repeats.** Records of the same logger, level and message template (``"state %s"``, not
  the text it becomes) are let through :data:`REPEAT_BURST` times per :data:`REPEAT_WINDOW_S`;
  the rest are counted, and when the window ends one line says how many were left out
  (``281709 more like this in the last 60 s, not logged (the first: "...")``), written at the
  next line logged after the window, or when the appliance exits.
* **Caps.** Each ``%``-argument is cut at :data:`VALUE_MAX_CHARS`, a message logged without
  arguments at :data:`LINE_MAX_CHARS`, an exception's traceback at
  :data:`TRACEBACK_MAX_CHARS`, each with ``... (N more characters)``. The whole formatted
  message is cut at :data:`LINE_MAX_CHARS` too.
* **Secrets** are scrubbed as before (:class:`~appliance.redaction.RedactingFilter`, which the
  guard runs). A value is scrubbed *before* it is cut, so that a cut never leaves the start of
  a secret that the redactor would no longer recognise.
"""

from __future__ import annotations

import logging
import numbers
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from appliance.redaction import REDACTOR, RedactingFilter, printable

VALUE_MAX_CHARS = 1000
"""Longest ``%``-argument of a log line; the rest becomes ``... (N more characters)``."""
LINE_MAX_CHARS = 4000
"""Longest message (a line logged without arguments, and any formatted line)."""
MARKER_ROOM = 40
"""Room for the ``... (N more characters)`` a cut adds: a line already cut is not cut again."""
TRACEBACK_MAX_CHARS = 8000
"""Longest traceback logged with an exception."""
SECRET_MARGIN_CHARS = 8192
"""A value is scrubbed over this much more than what is kept of it: a secret (a key, a
provisioning header's token) that starts in the kept part is still whole there, so it is
recognised and hidden before the cut."""
REPEAT_BURST = 20
"""Records of one logger, level and message template let through per window: enough for
the state changes and transcripts of a lively conversation, few enough that a flood writes
a few lines a minute, not thousands a second (journald, the SD card)."""
REPEAT_WINDOW_S = 60.0
"""The window over which :data:`REPEAT_BURST` counts."""
REPEAT_KEYS = 256
"""Message templates tracked at once (f-string messages make one each); the least recently
started window is closed first, its summary said."""
PREVIEW_CHARS = 200
"""Length of the example a summary quotes."""


def cut(text: str, limit: int) -> str:
    """``text`` made safe to log and at most ``limit`` characters, then ``... (N more
    characters)``: secrets scrubbed (over :data:`SECRET_MARGIN_CHARS` more, so that none is
    cut before it is recognised), and only then cut."""
    if len(text) <= limit:
        return text
    head = REDACTOR(text[: limit + SECRET_MARGIN_CHARS])[:limit]
    return f"{head}... ({len(text) - limit} more characters)"


class _Shown:
    """A non-text argument, shown capped: ``str()`` and ``repr()`` of it cut at ``limit``,
    on one line (as text arguments are)."""

    __slots__ = ("limit", "value")

    def __init__(self, value: object, limit: int) -> None:
        self.value, self.limit = value, limit

    def __str__(self) -> str:
        return printable(cut(str(self.value), self.limit))

    def __repr__(self) -> str:
        return printable(cut(repr(self.value), self.limit))


def _capped(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return cut(value, limit)
    if value is None or isinstance(value, numbers.Number):
        return value  # %d, %.1f need the number itself; a number is short
    return _Shown(value, limit)


def cap_record(record: logging.LogRecord, limit: int = VALUE_MAX_CHARS) -> None:
    """Cut ``record``'s arguments at ``limit``, its message at :data:`LINE_MAX_CHARS` when it
    has no arguments, and turn its exception into a traceback cut at
    :data:`TRACEBACK_MAX_CHARS` (scrubbed first, like everything cut)."""
    args = record.args
    if args and isinstance(args, tuple):
        record.args = tuple(_capped(a, limit) for a in args)
    elif args and isinstance(args, Mapping):
        record.args = {k: _capped(v, limit) for k, v in args.items()}
    elif isinstance(record.msg, str):
        record.msg = cut(record.msg, LINE_MAX_CHARS)
    else:  # an object logged as the message
        record.msg = _Shown(record.msg, LINE_MAX_CHARS)
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
        record.exc_text = REDACTOR(cut(text, TRACEBACK_MAX_CHARS))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = REDACTOR(cut(record.exc_text, TRACEBACK_MAX_CHARS))


def preview(record: logging.LogRecord) -> str:
    """A short, scrubbed, one-line rendering of ``record``'s message."""
    args = record.args
    if isinstance(args, tuple):
        args = tuple(_capped(a, PREVIEW_CHARS) for a in args)
    elif isinstance(args, Mapping):
        args = {k: _capped(v, PREVIEW_CHARS) for k, v in args.items()}
    msg = record.msg if isinstance(record.msg, str) else str(_Shown(record.msg, PREVIEW_CHARS))
    try:
        text = msg % args if args else msg
    except (TypeError, ValueError, KeyError):
        text = msg
    return printable(cut(REDACTOR(cut(text, PREVIEW_CHARS)), PREVIEW_CHARS))


# --- repeats -------------------------------------------------------------------------------------

Key = tuple[str, int, str]


@dataclass
class _Window:
    start: float
    passed: int = 1
    left_out: int = 0
    example: str = ""


@dataclass(frozen=True)
class Summary:
    """``left_out`` records like ``key`` were not logged during ``seconds``."""

    key: Key
    left_out: int
    seconds: float
    example: str

    def record(self) -> logging.LogRecord:
        name, level, _template = self.key
        record = logging.LogRecord(
            name,
            level,
            __file__,
            0,
            '%d more like this in the last %.0f s, not logged (the first: "%s")',
            (self.left_out, max(1.0, self.seconds), self.example),
            None,
        )
        record.repeat_summary = True
        return record


class RepeatLimiter:
    """Counts records per key in windows of ``window_s``: the first ``burst`` of a window
    pass, the others are left out and summed up (:class:`Summary`) when the window ends.
    Thread-safe. The clock is passed in (tests)."""

    def __init__(
        self,
        burst: int = REPEAT_BURST,
        window_s: float = REPEAT_WINDOW_S,
        max_keys: int = REPEAT_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.window_s, self.max_keys, self.clock = burst, window_s, max_keys, clock
        self._windows: dict[Key, _Window] = {}
        self._due = float("inf")  # when the earliest window with left-out records ends
        self._lock = threading.Lock()

    def admit(self, key: Key, example: Callable[[], str]) -> tuple[bool, list[Summary]]:
        """Whether a record of ``key`` may be logged now, and the summaries of the windows
        that have ended (to be logged first). ``example`` renders the record, called for the
        first one left out of a window only."""
        now = self.clock()
        with self._lock:
            due = self._ended(now) if now >= self._due else []
            window = self._windows.get(key)
            if window is None or now - window.start >= self.window_s:
                if window is not None and window.left_out:
                    due.append(self._summary(key, window, now))
                if window is None and len(self._windows) >= self.max_keys:
                    due += self._evict(now)
                self._windows[key] = _Window(now)
                return True, due
            if window.passed < self.burst:
                window.passed += 1
                return True, due
            if not window.left_out:
                window.example = example()
                self._due = min(self._due, window.start + self.window_s)
            window.left_out += 1
            return False, due

    def flush(self) -> list[Summary]:
        """The summaries of every window with records left out (at exit); they start afresh."""
        now = self.clock()
        with self._lock:
            due = [self._summary(k, w, now) for k, w in self._windows.items() if w.left_out]
            self._windows.clear()
            self._due = float("inf")
            return due

    def _ended(self, now: float) -> list[Summary]:
        due: list[Summary] = []
        for key, window in list(self._windows.items()):
            if now - window.start >= self.window_s:
                del self._windows[key]
                if window.left_out:
                    due.append(self._summary(key, window, now))
        self._due = min(
            (w.start + self.window_s for w in self._windows.values() if w.left_out),
            default=float("inf"),
        )
        return due

    def _evict(self, now: float) -> list[Summary]:
        due = self._ended(now)
        if len(self._windows) >= self.max_keys:  # all still open: close the oldest
            key = min(self._windows, key=lambda k: self._windows[k].start)
            window = self._windows.pop(key)
            if window.left_out:
                due.append(self._summary(key, window, now))
        return due

    @staticmethod
    def _summary(key: Key, window: _Window, now: float) -> Summary:
        return Summary(key, window.left_out, now - window.start, window.example)


# --- the filter -----------------------------------------------------------------------------------


class LogGuard(logging.Filter):
    """The appliance handler's one filter: repeats summed up, values capped, secrets scrubbed
    (see the module). Summaries are written through ``handler``; :meth:`flush` writes those
    still pending (called when the handler closes, at exit)."""

    def __init__(
        self,
        handler: logging.Handler,
        limiter: RepeatLimiter | None = None,
        redacting: RedactingFilter | None = None,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.limiter = limiter or RepeatLimiter()
        self.redacting = redacting or RedactingFilter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "repeat_summary", False):
            template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
            key = (record.name, record.levelno, template[:PREVIEW_CHARS])
            admitted, due = self.limiter.admit(key, lambda: preview(record))
            self._say(due)
            if not admitted:
                return False
        cap_record(record)
        self.redacting.filter(record)
        if isinstance(record.msg, str) and len(record.msg) > LINE_MAX_CHARS + MARKER_ROOM:
            record.msg = cut(record.msg, LINE_MAX_CHARS)
        return True

    def flush(self) -> None:
        self._say(self.limiter.flush())

    def _say(self, summaries: list[Summary]) -> None:
        for summary in summaries:
            self.handler.handle(summary.record())


class GuardedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler with a :class:`LogGuard`; closing it (``logging.shutdown`` at exit)
    writes the summaries still pending."""

    def __init__(self, stream: Any = None, limiter: RepeatLimiter | None = None) -> None:
        super().__init__(stream)
        self.guard = LogGuard(self, limiter)
        self.addFilter(self.guard)

    def close(self) -> None:
        if self.guard is not None:
            guard, self.guard = self.guard, None
            guard.flush()
        super().close()
