"""What a session spent, and the usage reports that wait on disk until the key server has them.

Pure part: :class:`TokenUsage` is the ``usage`` of one ``response.done`` (tokens in and out,
with their audio, text and cached shares), read safely from what the server sent;
:class:`Tally` sums them over a session (the :class:`~appliance.realtime.session.Session`
keeps one); :func:`make_report` is the report of one session, as the key server's
``POST /usage`` takes it::

    {"report_id": "<uuid4>", "session_seconds": 12.5, "stop_reason": "idle",
     "started_at": "2026-12-07T10:00:00.000Z",
     "usage": {"input_tokens": 20, "output_tokens": 40,
               "input_token_details": {"audio_tokens": 15, "text_tokens": 5, "cached_tokens": 0},
               "output_token_details": {"audio_tokens": 30, "text_tokens": 10}},
     "responses": 1}

The queue (:class:`ReportQueue`): each report is one file, ``NNNNNNNNNN-<report_id>.json``
(a sequence number, so the oldest sorts first whatever the clock says) in the ``usage``
folder of the state directory (:func:`appliance.realtime.refusals.state_dir`), written whole
(:func:`appliance.files.write_atomic`, mode 0600, the folder synced) before it is sent and
removed after the server took it: a restart or a power cut loses none, at worst one is sent
twice (the key server keeps one per ``report_id``). At most :data:`MAX_REPORTS` wait; a new
one beyond that drops the oldest, with a log line. Where no state directory can be written,
reports wait in memory only (:data:`MEMORY_REPORTS` of them), said once.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from appliance import files

log = logging.getLogger("appliance")

FOLDER_NAME = "usage"
"""The queue's folder in the state directory."""
MAX_REPORTS = 1000
"""Reports kept waiting at most (a kiosk offline for weeks); the oldest goes first."""
MAX_REPORT_BYTES = 4096
"""A larger file in the queue is not one of ours (a report is about 400 bytes): dropped."""
MEMORY_REPORTS = 100
"""Reports kept in memory when the state directory cannot be written."""
MAX_RESPONSE_TOKENS = 10_000_000
"""A count above this in one ``response.done`` is not believed (it counts as 0)."""
STOP_REASONS = ("idle", "max", "press", "error", "reconnect", "shutdown")

_NAME = re.compile(r"(\d{10})-([0-9a-f-]{36})\.json")


# --- what a session spent (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one response, or a sum of them."""

    input_tokens: int = 0
    output_tokens: int = 0
    input_audio: int = 0
    input_text: int = 0
    input_cached: int = 0
    output_audio: int = 0
    output_text: int = 0

    @classmethod
    def parse(cls, usage: Any) -> TokenUsage | None:
        """The ``usage`` object of a ``response.done`` (``None`` when there is none). A count
        that is not a whole number from 0 to :data:`MAX_RESPONSE_TOKENS` counts as 0."""
        if not isinstance(usage, Mapping):
            return None
        given = usage.get("input_token_details")
        inputs = given if isinstance(given, Mapping) else {}
        given = usage.get("output_token_details")
        outputs = given if isinstance(given, Mapping) else {}
        return cls(
            _count(usage.get("input_tokens")),
            _count(usage.get("output_tokens")),
            _count(inputs.get("audio_tokens")),
            _count(inputs.get("text_tokens")),
            _count(inputs.get("cached_tokens")),
            _count(outputs.get("audio_tokens")),
            _count(outputs.get("text_tokens")),
        )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(TokenUsage))
        )

    def as_json(self) -> dict[str, Any]:
        """The report's ``usage`` object (the service's names)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "input_token_details": {
                "audio_tokens": self.input_audio,
                "text_tokens": self.input_text,
                "cached_tokens": self.input_cached,
            },
            "output_token_details": {
                "audio_tokens": self.output_audio,
                "text_tokens": self.output_text,
            },
        }


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 <= value <= MAX_RESPONSE_TOKENS else 0


@dataclass(frozen=True)
class Tally:
    """The sum of a session's ``response.done`` usages, and how many responses there were."""

    usage: TokenUsage = TokenUsage()
    responses: int = 0

    def add(self, usage: TokenUsage | None) -> Tally:
        """This tally with one more response (``usage``: its usage, if it said one)."""
        total = self.usage if usage is None else self.usage + usage
        return replace(self, usage=total, responses=self.responses + 1)


def make_report(
    tally: Tally, seconds: float, reason: str, started_at: float, report_id: str | None = None
) -> dict[str, Any]:
    """The report of one session: ``seconds`` from its start (``started_at``, wall-clock epoch
    seconds) to its stop for ``reason`` (a :class:`~appliance.state.StopReason`)."""
    started = datetime.datetime.fromtimestamp(started_at, datetime.UTC)
    return {
        "report_id": report_id or str(uuid.uuid4()),
        "session_seconds": round(max(0.0, seconds), 3),
        "stop_reason": str(reason),
        "started_at": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "usage": tally.usage.as_json(),
        "responses": tally.responses,
    }


# --- the queue on disk -------------------------------------------------------------------------


class ReportQueue:
    """Reports waiting to be sent, in ``folder`` (``None``: in memory only). Its methods do
    file I/O: call them off the event loop. ``warn`` gets each problem once."""

    def __init__(
        self,
        folder: Path | None,
        max_reports: int = MAX_REPORTS,
        warn: Callable[[str], None] = log.warning,
    ) -> None:
        self.folder = folder
        self.max_reports = max_reports
        self._warn = warn
        self._warned: set[str] = set()
        self._memory: dict[str, bytes] = {}
        self._last_seq = 0
        self._lock = threading.RLock()  # the sender and a session's end, on worker threads

    def put(self, report: dict[str, Any]) -> str:
        """Keep ``report`` until :meth:`remove`; its name in the queue. The oldest reports
        beyond :attr:`max_reports` are dropped, each with a log line."""
        data = json.dumps(report, separators=(",", ":")).encode("utf-8")
        with self._lock:
            return self._put(report["report_id"], data)

    def _put(self, report_id: str, data: bytes) -> str:
        names = self.names()
        seq = max([self._last_seq, *(int(name[:10]) for name in names)]) + 1
        self._last_seq = seq
        name = f"{seq % 10**10:010d}-{report_id}.json"
        for old in names[: max(0, len(names) + 1 - self.max_reports)]:
            log.warning(
                "usage report %s dropped: %d reports are waiting already (the limit); "
                "is the key server's usage URL reachable?",
                old,
                len(names),
            )
            self.remove(old)
        if self.folder is not None and self._write(name, data):
            return name
        self._memory[name] = data
        for old in sorted(self._memory)[: max(0, len(self._memory) - MEMORY_REPORTS)]:
            log.warning("usage report %s dropped: %d wait in memory", old, MEMORY_REPORTS)
            del self._memory[old]
        return name

    def _write(self, name: str, data: bytes) -> bool:
        assert self.folder is not None
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            files.write_atomic(self.folder / name, data, mode=0o600)
            _sync_folder(self.folder)
        except OSError as exc:
            self._say(
                "write",
                f"cannot keep usage reports in {self.folder} ({exc.strerror or exc}): they wait "
                "in memory only, and a restart loses them; make the state directory writable",
            )
            return False
        return True

    def names(self) -> list[str]:
        """The waiting reports, oldest first."""
        with self._lock:
            found = set(self._memory)
        if self.folder is not None:
            try:
                with os.scandir(self.folder) as entries:
                    found.update(e.name for e in entries if _NAME.fullmatch(e.name))
            except (FileNotFoundError, NotADirectoryError):
                pass  # nothing written yet (or it cannot be: said when writing)
            except OSError as exc:
                self._say("list", f"cannot read the usage queue {self.folder}: {exc.strerror}")
        return sorted(found)

    def read(self, name: str) -> dict[str, Any] | None:
        """The report ``name``; ``None`` (and the file removed, with a log line) when it is
        not a report this module wrote."""
        with self._lock:
            data = self._memory.get(name)
        if data is None and self.folder is not None:
            try:
                data = files.read_small(
                    self.folder / name, MAX_REPORT_BYTES, "a usage report", follow_links=False
                )
            except FileNotFoundError:
                return None
            except (OSError, files.FileRefused) as exc:
                log.warning("usage report %s dropped: %s", name, exc)
                self.remove(name)
                return None
        try:
            report = json.loads(data or b"")
        except (ValueError, RecursionError):
            report = None
        if not isinstance(report, dict) or "report_id" not in report:
            log.warning("usage report %s dropped: not a usage report", name)
            self.remove(name)
            return None
        return report

    def remove(self, name: str) -> None:
        """Forget the report ``name`` (sent, or dropped). Never raises."""
        with self._lock:
            kept = self._memory.pop(name, None)
        if kept is None and self.folder is not None:
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()

    def _say(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warn(message)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (the directory's entry on disk)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
