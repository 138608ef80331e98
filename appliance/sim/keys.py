"""Ephemeral keys: minted, single use, expiring. Pure state with an injectable clock."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.sim.config import ServedSession


@dataclass
class IssuedKey:
    """One minted key and what it opens."""

    value: str
    expires_at: float
    dialect: str
    config: ServedSession
    used: bool = False


class KeyRefused(Exception):
    """A key cannot open a session; the message says why (never the key itself)."""


class KeyStore:
    """Mints and checks ephemeral keys.

    :param ttl: seconds a key lives by default.
    :param clock: returns the Unix time.
    """

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._keys: dict[str, IssuedKey] = {}
        self.issued = 0

    def mint(
        self,
        dialect: str,
        config: ServedSession,
        *,
        ttl: float | None = None,
        expired: bool = False,
    ) -> IssuedKey:
        """A fresh key; ``expired=True`` makes one that is already past its time."""
        now = self._clock()
        lifetime = self.ttl if ttl is None else ttl
        key = IssuedKey(
            value="ek_" + secrets.token_hex(16),
            expires_at=now - 1 if expired else now + lifetime,
            dialect=dialect,
            config=config.copy(),
        )
        self._keys[key.value] = key
        self.issued += 1
        return key

    def consume(self, value: str) -> IssuedKey:
        """Use a key to open a session; raise :class:`KeyRefused` saying why it cannot."""
        key = self._keys.get(value)
        if key is None:
            raise KeyRefused("unknown ephemeral key")
        if key.used:
            raise KeyRefused("ephemeral key already used")
        if self._clock() >= key.expires_at:
            raise KeyRefused("ephemeral key expired")
        key.used = True
        return key
