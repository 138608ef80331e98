"""Usage reports from the devices (``POST /usage``), and the daily table with an estimated cost.

A report is stored once per ``(device, report_id)``: a replay (the device did not see the
reply and sent it again) changes nothing and is answered ``{"ok": true, "duplicate": true}``.
The report and the day's counters change in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appliance.keyserver.config import Prices
from appliance.keyserver.store import Store, Tx

MAX_TOKENS = 10**9
"""Tokens one report may claim per field (a session cannot use more)."""
MAX_SESSION_SECONDS = 86400.0
MAX_RESPONSES = 10**6
MAX_AGE_DAYS = 30
"""How old a report may be (it waited on a device that was offline)."""
MAX_AHEAD_SECONDS = 86400.0
"""How far in the future ``started_at`` may be (a device clock off by a day at most)."""

StopReason = Literal["idle", "max", "press", "error", "reconnect", "shutdown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class InputDetails(_Strict):
    audio_tokens: int = Field(0, ge=0, le=MAX_TOKENS)
    text_tokens: int = Field(0, ge=0, le=MAX_TOKENS)
    cached_tokens: int = Field(0, ge=0, le=MAX_TOKENS)


class OutputDetails(_Strict):
    audio_tokens: int = Field(0, ge=0, le=MAX_TOKENS)
    text_tokens: int = Field(0, ge=0, le=MAX_TOKENS)


class Usage(_Strict):
    input_tokens: int = Field(0, ge=0, le=MAX_TOKENS)
    output_tokens: int = Field(0, ge=0, le=MAX_TOKENS)
    input_token_details: InputDetails = Field(default_factory=InputDetails)
    output_token_details: OutputDetails = Field(default_factory=OutputDetails)


class Report(_Strict):
    """The body of ``POST /usage``."""

    report_id: str = Field(max_length=64)
    session_seconds: float = Field(ge=0, le=MAX_SESSION_SECONDS, allow_inf_nan=False)
    stop_reason: StopReason
    started_at: str = Field(max_length=64)
    usage: Usage
    responses: int = Field(0, ge=0, le=MAX_RESPONSES)

    @field_validator("session_seconds", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("report_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError("must be a UUID") from None

    @field_validator("started_at")
    @classmethod
    def _iso(cls, value: str) -> str:
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z") from None
        if when.tzinfo is None:
            raise ValueError("must name its time zone (e.g. end in Z or +00:00)")
        return when.astimezone(dt.UTC).isoformat()


class BadReport(Exception):
    """A report that cannot be stored; the message names the field."""


def parse_report(body: bytes, now: float) -> Report:
    """The report in ``body``, or :class:`BadReport` saying what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadReport("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadReport("the body must be a JSON object")
    try:
        report = Report.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(body)"
        raise BadReport(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
    started = dt.datetime.fromisoformat(report.started_at).timestamp()
    if started > now + MAX_AHEAD_SECONDS:
        raise BadReport("started_at: in the future; check the device's clock")
    if started < now - MAX_AGE_DAYS * 86400:
        raise BadReport(f"started_at: older than {MAX_AGE_DAYS} days")
    return report


class TooManyReports(Exception):
    """The device sent ``limits.reports_per_day`` reports for that day already."""


def record(store: Store, device_id: int, report: Report, now: float, per_day: int = 2000) -> bool:
    """Store ``report``; False when it was already stored (a replay);
    :class:`TooManyReports` when the day has ``per_day`` reports of the device already."""
    day = report.started_at[:10]
    use = report.usage
    tokens = use.input_tokens + use.output_tokens

    def work(tx: Tx) -> bool:
        row = tx.one(
            "INSERT INTO usage_reports (device_id, report_id, day, received_at, started_at,"
            " session_seconds, stop_reason, input_tokens, output_tokens, input_audio,"
            " input_text, input_cached, output_audio, output_text, responses)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (device_id, report_id) DO NOTHING RETURNING report_id",
            (
                device_id,
                report.report_id,
                day,
                now,
                report.started_at,
                report.session_seconds,
                report.stop_reason,
                use.input_tokens,
                use.output_tokens,
                use.input_token_details.audio_tokens,
                use.input_token_details.text_tokens,
                use.input_token_details.cached_tokens,
                use.output_token_details.audio_tokens,
                use.output_token_details.text_tokens,
                report.responses,
            ),
        )
        if row is None:
            return False
        tx.run(
            "INSERT INTO device_days (device_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (device_id, day),
        )
        counted = tx.one(
            "UPDATE device_days SET seconds = seconds + ?, tokens = tokens + ?,"
            " reports = reports + 1 WHERE device_id = ? AND day = ? AND reports < ?"
            " RETURNING reports",
            (report.session_seconds, tokens, device_id, day, per_day),
        )
        if counted is None:
            raise TooManyReports(day)  # rolls the report back too
        tx.run("INSERT INTO fleet_days (day) VALUES (?) ON CONFLICT DO NOTHING", (day,))
        tx.run("UPDATE fleet_days SET tokens = tokens + ? WHERE day = ?", (tokens, day))
        return True

    return store.transact(work)


# ---- the table ------------------------------------------------------------------------------


@dataclass
class Line:
    """One device's day."""

    day: str
    device: str
    sessions: int
    reports: int
    seconds: float
    input_audio: int
    input_text: int
    input_cached: int
    output_audio: int
    output_text: int
    cost: float = 0.0
    stops: dict[str, int] = field(default_factory=dict)
    """Reports by the session's ``stop_reason`` (press, idle, max, error, reconnect,
    shutdown)."""


def cost(line: Line, prices: Prices) -> float:
    """Estimated cost: cached input at the cached price, the rest of the input at its audio or
    text price (the cached tokens are taken from the audio first), output at its price."""
    cached = line.input_cached
    audio_in = max(0, line.input_audio - cached)
    text_in = max(0, line.input_text - max(0, cached - line.input_audio))
    total = (
        audio_in * prices.audio_input
        + text_in * prices.text_input
        + cached * prices.cached_input
        + line.output_audio * prices.audio_output
        + line.output_text * prices.text_output
    )
    return total / 1_000_000


def summary(
    store: Store, prices: Prices, *, day: str | None = None, device: str | None = None
) -> list[Line]:
    """Per device and day: sessions (keys minted), reports, seconds, tokens, cost."""
    where, params = [], []
    if day:
        where.append("dd.day = ?")
        params.append(day)
    if device:
        where.append("d.name = ?")
        params.append(device)
    sql = (
        "SELECT dd.day, d.name, dd.sessions,"
        " (SELECT count(*) FROM usage_reports r WHERE r.device_id = dd.device_id"
        "  AND r.day = dd.day),"
        " dd.seconds,"
        " (SELECT coalesce(sum(input_audio), 0) FROM usage_reports r"
        "  WHERE r.device_id = dd.device_id AND r.day = dd.day),"
        " (SELECT coalesce(sum(input_text), 0) FROM usage_reports r"
        "  WHERE r.device_id = dd.device_id AND r.day = dd.day),"
        " (SELECT coalesce(sum(input_cached), 0) FROM usage_reports r"
        "  WHERE r.device_id = dd.device_id AND r.day = dd.day),"
        " (SELECT coalesce(sum(output_audio), 0) FROM usage_reports r"
        "  WHERE r.device_id = dd.device_id AND r.day = dd.day),"
        " (SELECT coalesce(sum(output_text), 0) FROM usage_reports r"
        "  WHERE r.device_id = dd.device_id AND r.day = dd.day)"
        " FROM device_days dd JOIN devices d ON d.id = dd.device_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY dd.day, d.name"
    )
    rows = store.transact(lambda tx: tx.all(sql, params))
    lines = [
        Line(r[0], r[1], int(r[2]), int(r[3]), float(r[4]), *(int(x) for x in r[5:10]))
        for r in rows
    ]
    stops_sql = (
        "SELECT r.day, d.name, r.stop_reason, count(*) FROM usage_reports r"
        " JOIN devices d ON d.id = r.device_id"
        + (" WHERE " + " AND ".join(w.replace("dd.", "r.") for w in where) if where else "")
        + " GROUP BY r.day, d.name, r.stop_reason"
    )
    stops: dict[tuple[str, str], dict[str, int]] = {}
    for r in store.transact(lambda tx: tx.all(stops_sql, params)):
        stops.setdefault((r[0], r[1]), {})[r[2]] = int(r[3])
    for line in lines:
        line.cost = cost(line, prices)
        line.stops = dict(sorted(stops.get((line.day, line.device), {}).items()))
    return lines


def format_table(lines: list[Line], currency: str) -> str:
    """The lines as a plain-text table with a total."""
    header = (
        "day",
        "device",
        "sessions",
        "reports",
        "minutes",
        "in audio",
        "in text",
        "cached",
        "out audio",
        "out text",
        f"cost {currency}",
    )
    rows = [
        (
            l.day,
            l.device,
            str(l.sessions),
            str(l.reports),
            f"{l.seconds / 60:.1f}",
            str(l.input_audio),
            str(l.input_text),
            str(l.input_cached),
            str(l.output_audio),
            str(l.output_text),
            f"{l.cost:.4f}",
        )
        for l in lines  # noqa: E741
    ]
    rows.append(
        (
            "total",
            "",
            str(sum(x.sessions for x in lines)),
            str(sum(x.reports for x in lines)),
            f"{sum(x.seconds for x in lines) / 60:.1f}",
            "",
            "",
            "",
            "",
            "",
            f"{sum(x.cost for x in lines):.4f}",
        )
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)
