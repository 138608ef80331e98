"""Limits: a device's keys per minute (a token bucket with a burst), its daily budget in
sessions, minutes and tokens, and the fleet's daily cap.

Each check is one conditional ``UPDATE ... WHERE <within the limit> ... RETURNING``, all in one
transaction: the database, not Python, decides whether there is room, so the limits hold with
several server processes on one PostgreSQL (a concurrent update waits for the row lock and
re-checks the condition) or SQLite (one writer at a time). Nothing is read, changed in Python
and written back. Days are UTC dates.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from appliance.keyserver.config import Limits
from appliance.keyserver.store import Store, Tx

NO_LIMIT = 2**62
"""What a limit of 0 ("none") becomes in SQL."""

RATE_LIMITED = "rate_limited"
DAILY_SESSIONS = "daily_sessions"
DAILY_MINUTES = "daily_minutes"
DAILY_TOKENS = "daily_tokens"
FLEET_CAP = "fleet_cap"
MESSAGES = {
    RATE_LIMITED: "Too many keys in a short time; try again in a moment.",
    DAILY_SESSIONS: "Daily limit of sessions reached; back tomorrow.",
    DAILY_MINUTES: "Daily limit of talking time reached; back tomorrow.",
    DAILY_TOKENS: "Daily limit of usage reached; back tomorrow.",
    FLEET_CAP: "The service's daily limit is reached; back tomorrow.",
}
"""The refusal reasons (the 429's ``error.code``) and their plain words."""


@dataclass(frozen=True)
class Refusal:
    """Why a key is refused, and after how many seconds to ask again."""

    code: str
    retry_after: int

    @property
    def message(self) -> str:
        return MESSAGES[self.code]


def day_of(now: float) -> str:
    """The UTC date of a Unix time, ``YYYY-MM-DD``."""
    return dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()


def seconds_to_midnight(now: float) -> int:
    """Whole seconds until the next UTC midnight (at least 1)."""
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)
    return max(1, math.ceil(midnight.timestamp() - now))


def rate_wait(available: float, per_minute: float) -> int:
    """Whole seconds until a bucket holding ``available`` keys has one."""
    if available >= 1:
        return 0
    if per_minute <= 0:
        return 60
    return max(1, math.ceil((1 - available) * 60 / per_minute))


def _cap(value: float) -> float:
    return value if value > 0 else NO_LIMIT


def admit(tx: Tx, device_id: int, limits: Limits, now: float) -> Refusal | None:
    """Take one key from the device's bucket and one session from its day and the fleet's,
    or none of them: the refusal. Run inside a transaction that is rolled back on a refusal
    (the caller's :func:`take`)."""
    if limits.keys_per_minute > 0:
        refusal = _bucket(tx, device_id, limits, now)
        if refusal is not None:
            return refusal

    day = day_of(now)
    until_tomorrow = seconds_to_midnight(now)
    tx.run(
        "INSERT INTO device_days (device_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (device_id, day),
    )
    sessions, seconds, tokens = (
        _cap(limits.sessions_per_day),
        _cap(limits.minutes_per_day * 60.0),
        _cap(limits.tokens_per_day),
    )
    row = tx.one(
        "UPDATE device_days SET sessions = sessions + 1 WHERE device_id = ? AND day = ?"
        " AND sessions < ? AND seconds < ? AND tokens < ? RETURNING sessions",
        (device_id, day, sessions, seconds, tokens),
    )
    if row is None:
        used = tx.one(
            "SELECT sessions, seconds, tokens FROM device_days WHERE device_id = ? AND day = ?",
            (device_id, day),
        )
        assert used is not None
        code = (
            DAILY_SESSIONS
            if used[0] >= sessions
            else DAILY_MINUTES
            if used[1] >= seconds
            else DAILY_TOKENS
        )
        return Refusal(code, until_tomorrow)

    if limits.fleet_sessions_per_day or limits.fleet_tokens_per_day:
        tx.run("INSERT INTO fleet_days (day) VALUES (?) ON CONFLICT DO NOTHING", (day,))
        row = tx.one(
            "UPDATE fleet_days SET sessions = sessions + 1 WHERE day = ?"
            " AND sessions < ? AND tokens < ? RETURNING sessions",
            (day, _cap(limits.fleet_sessions_per_day), _cap(limits.fleet_tokens_per_day)),
        )
        if row is None:
            return Refusal(FLEET_CAP, until_tomorrow)
    return None


def _bucket(tx: Tx, device_id: int, limits: Limits, now: float) -> Refusal | None:
    """One key from the device's token bucket (refilled at keys_per_minute, up to burst)."""
    rate = limits.keys_per_minute / 60.0
    burst = float(limits.burst)
    elapsed = tx.greatest("0", "? - bucket_at")
    filled = tx.least("?", f"bucket + {elapsed} * ?")
    row = tx.one(
        f"UPDATE devices SET bucket = {filled} - 1, bucket_at = {tx.greatest('bucket_at', '?')}"
        f" WHERE id = ? AND {filled} >= 1 RETURNING bucket",
        (burst, now, rate, now, device_id, burst, now, rate),
    )
    if row is not None:
        return None
    left = tx.one(f"SELECT {filled} FROM devices WHERE id = ?", (burst, now, rate, device_id))
    available = float(left[0]) if left else 0.0
    return Refusal(RATE_LIMITED, rate_wait(available, limits.keys_per_minute))


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal


def take(store: Store, device_id: int, limits: Limits, now: float) -> Refusal | None:
    """:func:`admit` in its own transaction, rolled back whole on a refusal."""

    def work(tx: Tx) -> None:
        refusal = admit(tx, device_id, limits, now)
        if refusal is not None:
            raise _Refused(refusal)

    try:
        store.transact(work)
    except _Refused as refused:
        return refused.refusal
    return None


def give_back(tx: Tx, device_id: int, limits: Limits, now: float) -> None:
    """Return the session :func:`admit` took (the upstream did not mint a key). The rate
    bucket's key stays spent, so a failing upstream is not hammered."""
    day = day_of(now)
    tx.run(
        "UPDATE device_days SET sessions = sessions - 1"
        " WHERE device_id = ? AND day = ? AND sessions > 0",
        (device_id, day),
    )
    if limits.fleet_sessions_per_day or limits.fleet_tokens_per_day:
        tx.run(
            "UPDATE fleet_days SET sessions = sessions - 1 WHERE day = ? AND sessions > 0", (day,)
        )
