"""The key server's HTTP side (aiohttp).

``POST /key`` (Bearer) -> ``{"value", "expires_at"}`` (``?shape=client_secret``:
``{"client_secret": {...}}``); ``POST /usage`` and ``POST /v1/usage`` (Bearer, a usage report)
-> ``{"ok": true, "duplicate": bool}``; ``GET /healthz``; ``GET /metrics``; ``GET /`` the
optional page (:mod:`~appliance.keyserver.page`).

Errors are ``{"error": {"code", "message"}}``: 401 ``unknown_token`` / ``revoked``; 429 with
``Retry-After`` for the limits (:mod:`~appliance.keyserver.limits`) and for an address that
sent too many bad tokens; 400 a bad body or shape; 408 a body that did not arrive in time; 413
a body over the limit; 502 / 504 the upstream failed / did not answer; 503 the database is
unavailable (with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from appliance.keyserver import devices, limits, page, tokens, usage
from appliance.keyserver.config import KeyServerConfig
from appliance.keyserver.metrics import Metrics
from appliance.keyserver.mint import Minter, UpstreamError
from appliance.keyserver.store import Store, StoreUnavailable

log = logging.getLogger("appliance.keyserver")
access = logging.getLogger("appliance.keyserver.access")
T = TypeVar("T")

DB_RETRY_AFTER = 5
"""Seconds a client is told to wait when the database is unavailable."""
MAX_SOURCES = 10000
"""Addresses whose failed tokens are remembered (the oldest are forgotten first)."""
SOURCE_BACKOFF_MESSAGE = "Too many wrong tokens from this address; wait before trying again."
REPORTS_MESSAGE = "Too many usage reports for that day from this device."
CORS_MAX_AGE = 600
PUBLIC_PATHS = ("/key", "/usage", "/v1/usage")


def error(status: int, code: str, message: str, retry_after: int | None = None) -> web.Response:
    """The JSON error reply of the wire contract."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


class SourceFailures:
    """Failed tokens per source address: ``limit`` within ``window`` seconds makes the
    address wait until the window ends. Bounded: the oldest addresses are forgotten."""

    def __init__(self, limit: int, window: float, max_sources: int = MAX_SOURCES) -> None:
        self.limit, self.window, self.max_sources = limit, window, max_sources
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def failed(self, source: str, now: float) -> None:
        start, count = self._seen.pop(source, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        self._seen[source] = (start, count + 1)
        while len(self._seen) > self.max_sources:
            self._seen.popitem(last=False)

    def wait(self, source: str, now: float) -> int:
        """Seconds ``source`` must wait (0: it may try)."""
        start, count = self._seen.get(source, (now, 0))
        left = start + self.window - now
        return max(1, int(left + 0.999)) if count >= self.limit and left > 0 else 0


class KeyServer:
    """The server's state: configuration, database, upstream client, metrics."""

    def __init__(self, config: KeyServerConfig, store: Store, minter: Minter) -> None:
        self.config = config
        self.store = store
        self.minter = minter
        self.metrics = Metrics()
        self.executor = ThreadPoolExecutor(
            max_workers=config.database.threads, thread_name_prefix="keyserver-db"
        )
        server = config.keyserver
        self.failures = SourceFailures(server.bad_token_limit, server.bad_token_window)
        self.origins = set(server.cors_origins)
        self.proxies = {ipaddress.ip_address(a) for a in server.trusted_proxies}
        self.page = None if server.page is None else page.load(server.page)

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store call on a database thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._guard],
            client_max_size=self.config.keyserver.max_body_bytes,
        )
        app.router.add_post("/key", self.key)
        app.router.add_post("/usage", self.usage)
        app.router.add_post("/v1/usage", self.usage)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        if self.page is not None:
            app.router.add_get("/", self.web_page)
        for path in PUBLIC_PATHS:
            app.router.add_route("OPTIONS", path, self.preflight)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, app: web.Application) -> None:
        await self.minter.close()
        self.executor.shutdown(wait=True)
        self.store.close()

    # ---- middleware ----------------------------------------------------------------------------

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.metrics.in_flight.inc()
        try:
            try:
                response = await handler(request)
            except StoreUnavailable as exc:
                log.error("database unavailable: %s", exc)
                self.metrics.database_errors.inc()
                response = error(
                    503,
                    "database_unavailable",
                    "The key server's database is unavailable; try again shortly.",
                    DB_RETRY_AFTER,
                )
            except web.HTTPRequestEntityTooLarge:
                response = self._too_large()
            except web.HTTPException as exc:
                response = error(exc.status, "http", exc.reason)
        finally:
            self.metrics.in_flight.dec()
        origin = request.headers.get("Origin")
        if origin and origin in self.origins and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
            response.headers["Vary"] = "Origin"
        return response

    def _too_large(self) -> web.Response:
        limit = self.config.keyserver.max_body_bytes
        return error(413, "body_too_large", f"The body is larger than {limit} bytes.")

    async def preflight(self, request: web.Request) -> web.Response:
        origin = request.headers.get("Origin", "")
        if origin not in self.origins:
            return error(403, "origin_not_allowed", "This web origin is not allowed.")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": str(CORS_MAX_AGE),
                "Vary": "Origin",
            },
        )

    # ---- who is asking -------------------------------------------------------------------------

    def source(self, request: web.Request) -> str:
        """The client's address (from X-Forwarded-For when the peer is a trusted proxy)."""
        peer = request.remote or ""
        try:
            trusted = ipaddress.ip_address(peer) in self.proxies
        except ValueError:
            trusted = False
        if trusted:
            forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            if forwarded:
                return forwarded[:64]
        return peer

    async def device(self, request: web.Request) -> devices.Device | web.Response:
        """The device of the request's bearer token, or the refusal to send."""
        source, now = self.source(request), time.monotonic()
        wait = self.failures.wait(source, now)
        if wait:
            self.metrics.refusals.labels("source_backoff").inc()
            request["code"] = "source_backoff"
            return error(429, limits.RATE_LIMITED, SOURCE_BACKOFF_MESSAGE, wait)
        token = tokens.bearer(request.headers.get("Authorization"))
        found, why = (
            (None, devices.UNKNOWN)
            if token is None
            else await self.db(devices.authenticate, self.store, token)
        )
        if found is None:
            self.failures.failed(source, now)
            self.metrics.refusals.labels(why).inc()
            request["code"] = why
            message = (
                "This device was removed from the key server."
                if why == devices.REVOKED
                else "Unknown token; check the device's provisioning token."
            )
            return error(401, why, message)
        request["device"] = found.name
        return found

    # ---- handlers ------------------------------------------------------------------------------

    async def key(self, request: web.Request) -> web.StreamResponse:
        shape = request.query.get("shape", "value")
        if shape not in ("value", "client_secret"):
            return error(400, "bad_shape", "shape must be value or client_secret.")
        found = await self.device(request)
        if isinstance(found, web.Response):
            return found
        group = found.group
        if group not in self.config.groups:
            log.error("device %s is in group %r, which the configuration lacks", found.name, group)
            return error(500, "unknown_group", f"This device's group {group!r} is not configured.")
        now = time.time()
        refusal = await self.db(limits.take, self.store, found.id, self.config.limits, now)
        if refusal is not None:
            self.metrics.refusals.labels(refusal.code).inc()
            request["code"] = refusal.code
            return error(429, refusal.code, refusal.message, refusal.retry_after)
        started = time.monotonic()
        try:
            minted = await self.minter.mint(self.config.session_for(group))
        except UpstreamError as exc:
            self.metrics.upstream_errors.labels(exc.code).inc()
            log.warning("no key for %s: %s", found.name, exc)
            request["code"] = exc.code
            await self.db(self._give_back, found.id, now)
            return error(exc.status, exc.code, f"No key from the upstream: {exc}")
        finally:
            self.metrics.upstream_seconds.observe(time.monotonic() - started)
        self.metrics.keys_minted.labels(group).inc()
        secret = {"value": minted.value, "expires_at": minted.expires_at}
        body = secret if shape == "value" else {"client_secret": secret}
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def _give_back(self, device_id: int, now: float) -> None:
        self.store.transact(lambda tx: limits.give_back(tx, device_id, self.config.limits, now))

    async def usage(self, request: web.Request) -> web.StreamResponse:
        limit = self.config.keyserver.max_body_bytes
        if (request.content_length or 0) > limit:
            return self._too_large()
        found = await self.device(request)
        if isinstance(found, web.Response):
            return found
        timeout = self.config.keyserver.body_timeout
        try:
            body = await asyncio.wait_for(request.read(), timeout)
        except TimeoutError:
            request["code"] = "body_timeout"
            return error(408, "body_timeout", f"The body did not arrive within {timeout:g} s.")
        try:
            report = usage.parse_report(body, time.time())
        except usage.BadReport as exc:
            self.metrics.usage_reports.labels("bad").inc()
            request["code"] = "bad_report"
            return error(400, "bad_report", str(exc))
        now = time.time()
        per_day = self.config.limits.reports_per_day
        try:
            stored = await self.db(usage.record, self.store, found.id, report, now, per_day)
        except usage.TooManyReports:
            self.metrics.usage_reports.labels("refused").inc()
            request["code"] = limits.RATE_LIMITED
            return error(429, limits.RATE_LIMITED, REPORTS_MESSAGE, limits.seconds_to_midnight(now))
        self.metrics.usage_reports.labels("stored" if stored else "duplicate").inc()
        if stored:
            self._count_usage(report)
        return web.json_response({"ok": True, "duplicate": not stored})

    def _count_usage(self, report: usage.Report) -> None:
        use = report.usage
        kinds = {
            "input_audio": use.input_token_details.audio_tokens,
            "input_text": use.input_token_details.text_tokens,
            "input_cached": use.input_token_details.cached_tokens,
            "output_audio": use.output_token_details.audio_tokens,
            "output_text": use.output_token_details.text_tokens,
        }
        for kind, count in kinds.items():
            self.metrics.usage_tokens.labels(kind).inc(count)
        self.metrics.usage_seconds.inc(report.session_seconds)

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            await self.db(self.store.transact, lambda tx: tx.one("SELECT 1"))
        except StoreUnavailable:
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        return web.json_response({"ok": True, "database": "ok"})

    async def web_page(self, request: web.Request) -> web.Response:
        assert self.page is not None
        return web.Response(body=self.page.body, headers=self.page.headers)

    async def metrics_page(self, request: web.Request) -> web.Response:
        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": self.metrics.content_type})


class JsonAccessLog(AbstractAccessLogger):
    """One JSON line per request: never a header, a token, a key or a query string."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        entry = {
            "remote": request.remote,
            "method": request.method,
            "path": request.path[:200],
            "status": response.status,
            "bytes": response.body_length,
            "ms": round(time * 1000, 1),
        }
        for field in ("device", "code"):
            value = request.get(field)
            if value:
                entry[field] = value
        self.logger.info(json.dumps(entry))
