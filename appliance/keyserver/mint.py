"""Minting an ephemeral key upstream with the real API key.

GA: ``POST {api_base}/v1/realtime/client_secrets`` with ``{"expires_after": {"anchor":
"created_at", "seconds": N}, "session": {...}}``; the reply is ``{"value", "expires_at",
"session"}``. Beta: ``POST {api_base}/v1/realtime/sessions`` with the flat session and
``client_secret.expires_after``; the reply holds ``client_secret: {"value", "expires_at"}``.

An upstream that does not answer within ``upstream.timeout`` is :data:`TIMEOUT` (the client
gets 504); one that fails, refuses or answers without a key is :data:`FAILED` (502). The API
key is never in a message.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from appliance.keyserver.config import Upstream

MAX_REPLY_BYTES = 256 * 1024
"""Largest upstream reply read."""
GA_PATH = "/v1/realtime/client_secrets"
BETA_PATH = "/v1/realtime/sessions"
TIMEOUT, FAILED = "upstream_timeout", "upstream_error"


class UpstreamError(Exception):
    """No key: ``code`` is :data:`TIMEOUT` or :data:`FAILED`; the message is safe to log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def status(self) -> int:
        return 504 if self.code == TIMEOUT else 502


@dataclass(frozen=True)
class Minted:
    """An ephemeral key and when it expires (Unix seconds)."""

    value: str
    expires_at: int


def request_body(upstream: Upstream, session: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The path and JSON body of the mint request for ``session``."""
    expires = {"anchor": "created_at", "seconds": upstream.expires_after}
    if upstream.api == "ga":
        return GA_PATH, {"expires_after": expires, "session": session}
    return BETA_PATH, {**session, "client_secret": {"expires_after": expires}}


def parse_reply(data: Any) -> Minted:
    """The key in an upstream reply (GA or beta shape); :class:`UpstreamError` if none."""
    secret = data.get("client_secret") if isinstance(data, dict) else None
    holder = secret if isinstance(secret, dict) else data
    value = holder.get("value") if isinstance(holder, dict) else None
    expires = holder.get("expires_at") if isinstance(holder, dict) else None
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise UpstreamError(FAILED, "the upstream reply holds no key")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        expires = int(time.time())
    return Minted(value, int(expires))


async def _read_bounded(stream: aiohttp.StreamReader) -> bytes:
    """The whole reply, or :class:`UpstreamError` once it passes :data:`MAX_REPLY_BYTES`."""
    chunks, size = [], 0
    async for chunk in stream.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise UpstreamError(FAILED, "the upstream reply is too large")
        chunks.append(chunk)
    return b"".join(chunks)


class Minter:
    """Mints keys over one HTTP connection pool. Use :meth:`close` at the end."""

    def __init__(self, upstream: Upstream, api_key: str) -> None:
        self.upstream = upstream
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        if upstream.api == "beta":
            self._headers["OpenAI-Beta"] = "realtime=v1"
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.upstream.timeout),
                connector=aiohttp.TCPConnector(limit=100),
            )
        return self._session

    async def mint(self, session: dict[str, Any]) -> Minted:
        """A fresh key for ``session``, or :class:`UpstreamError`."""
        path, body = request_body(self.upstream, session)
        url = self.upstream.api_base + path
        try:
            async with self._client().post(url, json=body, headers=self._headers) as reply:
                if reply.status >= 400:
                    raise UpstreamError(FAILED, f"the upstream answered HTTP {reply.status}")
                raw = await _read_bounded(reply.content)
        except TimeoutError:
            raise UpstreamError(
                TIMEOUT, f"the upstream did not answer within {self.upstream.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                FAILED, f"the upstream cannot be reached ({type(exc).__name__})"
            ) from None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamError(FAILED, "the upstream reply is not JSON") from None
        return parse_reply(data)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await asyncio.sleep(0)
