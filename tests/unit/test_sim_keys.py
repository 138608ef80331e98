"""The simulator's ephemeral keys: single use, expiring."""

from __future__ import annotations

import pytest

from appliance.sim.config import ServedSession
from appliance.sim.keys import KeyRefused, KeyStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_keys_expire_after_their_ttl() -> None:
    clock = Clock()
    store = KeyStore(ttl=60, clock=clock)
    fresh = store.mint("ga", ServedSession())
    late = store.mint("ga", ServedSession(), ttl=10)
    clock.now += 30
    assert store.consume(fresh.value) is fresh
    with pytest.raises(KeyRefused, match="ephemeral key expired"):
        store.consume(late.value)
    assert store.issued == 2


def test_keys_are_single_use_and_unknown_keys_are_refused() -> None:
    store = KeyStore()
    key = store.mint("beta", ServedSession(voice="verse"))
    assert store.consume(key.value).config.voice == "verse"
    with pytest.raises(KeyRefused, match="already used"):
        store.consume(key.value)
    with pytest.raises(KeyRefused, match="unknown") as info:
        store.consume("ek_other")
    assert "ek_other" not in str(info.value)


def test_expired_at_birth() -> None:
    store = KeyStore()
    key = store.mint("ga", ServedSession(), expired=True)
    with pytest.raises(KeyRefused, match="expired"):
        store.consume(key.value)
