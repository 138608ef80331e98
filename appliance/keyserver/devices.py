"""Enrolled devices: add, list, revoke, rotate, and who a bearer token belongs to."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from appliance.keyserver import tokens
from appliance.keyserver.config import NAME_PATTERN
from appliance.keyserver.store import Store, Tx


class DeviceError(Exception):
    """A device command that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Device:
    """One device as listed (never its token)."""

    id: int
    name: str
    group: str
    created_at: float
    rotated_at: float | None
    revoked_at: float | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


UNKNOWN, REVOKED = "unknown_token", "revoked"
"""Why a token is refused (the 401's error code)."""

_COLUMNS = "id, name, grp, created_at, rotated_at, revoked_at"


def _device(row: tuple) -> Device:
    return Device(int(row[0]), row[1], row[2], row[3], row[4], row[5])


def check_name(name: str) -> None:
    if not re.match(NAME_PATTERN, name):
        raise DeviceError(
            f"device name {name!r}: use letters, digits, '.', '_' or '-' (1-64, no spaces)"
        )


def add(store: Store, name: str, group: str, burst: int) -> str:
    """Enrol ``name`` in ``group``; the token, to be shown once."""
    check_name(name)
    new = tokens.new_token()
    now = time.time()

    def work(tx: Tx) -> None:
        if tx.one("SELECT revoked_at FROM devices WHERE name = ?", (name,)):
            raise DeviceError(
                f"a device named {name!r} exists; `device rotate {name}` gives it a new token"
            )
        tx.run(
            "INSERT INTO devices (name, grp, key_id, token_hash, created_at, bucket, bucket_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, group, new.key_id, new.token_hash, now, float(burst), now),
        )

    store.transact(work)
    return new.token


def listing(store: Store) -> list[Device]:
    """Every device, by name."""
    rows = store.transact(lambda tx: tx.all(f"SELECT {_COLUMNS} FROM devices ORDER BY name"))
    return [_device(r) for r in rows]


def revoke(store: Store, name: str) -> None:
    """Refuse ``name``'s token from now on (its usage stays on record)."""
    changed = store.transact(
        lambda tx: tx.run(
            "UPDATE devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (time.time(), name),
        )
    )
    if not changed:
        known = [d for d in listing(store) if d.name == name]
        raise DeviceError(f"{name!r} is already revoked" if known else f"no device named {name!r}")


def rotate(store: Store, name: str, group: str | None = None) -> str:
    """A new token for ``name`` (the old one stops working; a revoked device is re-enabled)."""
    new = tokens.new_token()
    sets, params = (
        "key_id = ?, token_hash = ?, rotated_at = ?, revoked_at = NULL",
        [
            new.key_id,
            new.token_hash,
            time.time(),
        ],
    )
    if group is not None:
        sets += ", grp = ?"
        params.append(group)
    changed = store.transact(
        lambda tx: tx.run(f"UPDATE devices SET {sets} WHERE name = ?", (*params, name))
    )
    if not changed:
        raise DeviceError(f"no device named {name!r}; add it with `device add {name}`")
    return new.token


def authenticate(store: Store, token: str) -> tuple[Device | None, str]:
    """The device a bearer token belongs to, or None and why not (:data:`UNKNOWN`,
    :data:`REVOKED`)."""
    parts = tokens.split(token)
    if parts is None:
        return None, UNKNOWN
    key_id, secret = parts
    row = store.transact(
        lambda tx: tx.one(f"SELECT {_COLUMNS}, token_hash FROM devices WHERE key_id = ?", (key_id,))
    )
    if row is None or not tokens.matches(secret, row[-1]):
        return None, UNKNOWN
    device = _device(row[:-1])
    return (None, REVOKED) if device.revoked else (device, "")
