"""The HTTP client (aiohttp), imported when it is first needed, and the one redirect policy.

Only fetching a key and calling a webhook function use HTTP. An idle appliance never does, and
importing aiohttp costs about 200 ms and 11 MiB, so it is imported on first use, in a worker
thread: the event loop (control socket, button, LED) keeps running meanwhile.

Those requests carry the device's secrets (the provisioning headers, the API key, a function
call's arguments), so :func:`request` follows a redirect only to the same origin (scheme, host
and port): the secrets go where they went anyway. A redirect to another host, another port, or
from ``https`` to plain ``http`` is not followed and is a :class:`RedirectRefused` naming
both URLs (their credentials masked). aiohttp would follow it, dropping only
``Authorization``: a custom header such as ``X-Device-Token`` would go along, in cleartext
after a downgrade.
"""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import Any
from urllib.parse import urljoin, urlsplit

from appliance.redaction import mask_url

_module: ModuleType | None = None

MAX_REDIRECTS = 3
"""Same-origin redirects followed for one request (a moved path, a trailing slash); more is a
loop or a misconfigured server."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class RedirectRefused(Exception):
    """A redirect that was not followed. The message is safe to show: it names both URLs with
    their credentials masked."""


async def aiohttp() -> ModuleType:
    """The ``aiohttp`` module, importing it off the event loop the first time.

    Not ``sys.modules``: a session stopped during the import leaves a half-initialised module
    there while the worker thread goes on. The next call imports again, which waits for that
    import to finish (Python's per-module import lock) and returns the whole module."""
    global _module
    if _module is None:
        _module = await asyncio.to_thread(importlib.import_module, "aiohttp")
    return _module


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def redirect_refusal(url: str, target: str) -> str | None:
    """Why a redirect from ``url`` to ``target`` must not be followed, or ``None`` when it
    stays within the same origin (scheme, host and port)."""
    here, there = origin(url), origin(target)
    if here[0] == "https" and there[0] != "https":
        return (
            "it leaves https for plain http, where the request's secrets would travel unencrypted"
        )
    if here != there:
        return (
            "it leads to another host or port, and the request carries the device's secrets; "
            "if that server is trusted, configure its URL instead"
        )
    return None


async def request(http: Any, method: str, url: str, *, what: str, **kwargs: Any) -> Any:
    """The response (an aiohttp ``ClientResponse``, to use with ``async with``) to ``method``
    ``url`` on the aiohttp session ``http``, following up to :data:`MAX_REDIRECTS` same-origin
    redirects (303, and 301/302 after a POST, become a GET without body, as browsers do).

    ``what`` names the request and its URL in messages ("provisioning URL https://..."). Raises
    :class:`RedirectRefused` for any other redirect, before anything is sent to its target.
    """
    for _ in range(MAX_REDIRECTS + 1):
        resp = await http.request(method, url, allow_redirects=False, **kwargs)
        location = resp.headers.get("Location")
        if resp.status not in REDIRECT_STATUSES or not location:
            return resp
        resp.release()
        target = urljoin(url, location)
        why = redirect_refusal(url, target)
        if why is not None:
            raise RedirectRefused(f"{what} redirected to {mask_url(target)}; not followed: {why}")
        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
            method = "GET"
            kwargs = {k: v for k, v in kwargs.items() if k not in ("json", "data")}
        url = target
    raise RedirectRefused(f"{what} redirected more than {MAX_REDIRECTS} times; not followed")


async def read_body(resp: Any, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of ``resp``'s body, however it arrives (in several TCP segments,
    chunked), and whether there was more (the rest is not read)."""
    body = bytearray()
    while len(body) <= limit:
        chunk = await resp.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body[:limit]), len(body) > limit
