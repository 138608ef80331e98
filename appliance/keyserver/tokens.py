"""Device tokens: random, shown once, stored only as a hash, compared in constant time.

A token is ``aks_<key id>_<secret>``: the key id (public, 16 hex digits) finds the device's row;
the secret (32 random bytes) is checked against the row's SHA-256 with
:func:`hmac.compare_digest`. A slow password hash is not needed: the secret is random with
256 bits, not a password a person chose.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "aks"
MAX_TOKEN_CHARS = 200
"""A longer Authorization value is refused before any work."""
_SHAPE = re.compile(r"^aks_([0-9a-f]{16})_([A-Za-z0-9_-]{20,120})$")


@dataclass(frozen=True)
class NewToken:
    """A freshly made token (shown once) and what the database keeps of it."""

    token: str
    key_id: str
    token_hash: str


def new_token() -> NewToken:
    """A new random token."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewToken(f"{PREFIX}_{key_id}_{secret}", key_id, hash_secret(secret))


def hash_secret(secret: str) -> str:
    """What is stored of a token's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed token, else None."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    match = _SHAPE.match(token)
    return (match.group(1), match.group(2)) if match else None


def matches(secret: str, token_hash: str) -> bool:
    """Whether ``secret`` is the one whose hash was stored (constant time)."""
    return hmac.compare_digest(hash_secret(secret).encode(), token_hash.encode())


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, else None."""
    if not header or len(header) > MAX_TOKEN_CHARS + 16:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
