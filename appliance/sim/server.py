"""The simulator's HTTP and WebSocket server (aiohttp): a thin layer over the pure parts.

:class:`Simulator` serves, on one port, the key endpoints, the provisioning URL, the realtime
WebSocket and the ``/sim/`` admin endpoints described in :mod:`appliance.sim`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from appliance.sim.config import ServedSession
from appliance.sim.keys import KeyRefused, KeyStore
from appliance.sim.schema import Invalid, check
from appliance.sim.script import Script, parse_command
from appliance.sim.session import MAX_HEARD, Close, Drop, Out, RawText, SimSession, Stall
from appliance.sim.shapes import BETA_SESSIONS_BODY, GA_CLIENT_SECRET_BODY

log = logging.getLogger("appliance.sim")

REALTIME_PATH = "/v1/realtime"
MAX_FRAME_BYTES = 16 * 1024 * 1024


def _openai_error(
    status: int, message: str, *, code: str | None, param: str | None = None
) -> web.Response:
    return web.json_response(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": code,
            }
        },
        status=status,
    )


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def redact_event(event: Any) -> Any:
    """A copy of a client event for the log, with base64 audio replaced by its byte count."""
    if not isinstance(event, dict):
        return event
    copy = dict(event)
    audio = copy.get("audio")
    if isinstance(audio, str):
        try:
            size = len(base64.b64decode(audio, validate=True))
        except (binascii.Error, ValueError):
            size = len(audio) * 3 // 4
        copy["audio"] = {"audio_bytes": size}
    item = copy.get("item")
    if isinstance(item, dict) and isinstance(item.get("content"), list):
        item = dict(item)
        item["content"] = [redact_event(part) for part in item["content"]]
        copy["item"] = item
    return copy


@dataclass
class SimLog:
    """What ``GET /sim/log`` shows."""

    connections: list[dict[str, Any]] = field(default_factory=list)
    client_events: list[Any] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    http: list[dict[str, Any]] = field(default_factory=list)
    heard: list[dict[str, Any]] = field(default_factory=list)
    """What each committed user turn held (:attr:`SimSession.heard`)."""

    def as_json(self) -> dict[str, Any]:
        """The log as a JSON-able dict."""
        return {
            "connections": self.connections,
            "client_events": self.client_events,
            "errors": self.errors,
            "http": self.http,
            "heard": self.heard,
        }

    def clear(self) -> None:
        """Forget everything logged so far."""
        self.connections.clear()
        self.client_events.clear()
        self.errors.clear()
        self.http.clear()
        self.heard.clear()


class _Connection:
    """One accepted WebSocket: feeds frames to a :class:`SimSession` and sends what it says."""

    def __init__(
        self, sim: Simulator, request: web.Request, ws: web.WebSocketResponse, session: SimSession
    ) -> None:
        self.sim = sim
        self.request = request
        self.ws = ws
        self.session = session
        self.stalled = False
        self.closed = False
        self._lock = asyncio.Lock()
        self._pump_task: asyncio.Task[None] | None = None

    async def emit(self, outs: list[Out]) -> None:
        """Carry out the session's outputs in order."""
        async with self._lock:
            for out in outs:
                if self.closed:
                    return
                if isinstance(out, Stall):
                    log.info("scripted stall: sending nothing more on this connection")
                    self.stalled = True
                elif isinstance(out, Drop):
                    log.info("scripted drop: closing the connection without a close frame")
                    self.abort()
                    return
                elif isinstance(out, Close):
                    self.closed = True
                    await self.ws.close(code=out.code, message=out.reason.encode())
                    return
                elif self.stalled:
                    continue
                elif isinstance(out, RawText):
                    await self._send(out.text)
                else:
                    if out.get("type") == "error":
                        self.sim.log.errors.append(out)
                        log.info("error event sent: %s", out["error"].get("message"))
                    await self._send(json.dumps(out))

    async def _send(self, text: str) -> None:
        try:
            await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self.closed = True

    def abort(self) -> None:
        """Drop the TCP connection at once (no WebSocket close frame)."""
        self.closed = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    def _ensure_pump(self) -> None:
        if self.session.response_active and (self._pump_task is None or self._pump_task.done()):
            self._pump_task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        while not self.closed and self.session.response_active:
            step = self.session.pump()
            await self.emit(step.events)
            if step.audio_ms:
                await asyncio.sleep(step.audio_ms / 1000 / self.sim.pace)

    async def inject(self, command: dict[str, Any]) -> None:
        """Play a scripted fault now."""
        await self.emit(self.session.inject(command))

    async def run(self) -> None:
        """Serve the connection until it closes."""
        try:
            await self.emit(self.session.start())
            self._ensure_pump()
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        logged: Any = redact_event(json.loads(msg.data))
                    except ValueError:
                        logged = {"invalid_json": msg.data[:200]}
                    self.sim.log.client_events.append(logged)
                    await self.emit(self.session.receive_text(msg.data))
                    if self.session.heard:
                        self.sim.log.heard += self.session.heard
                        del self.sim.log.heard[:-MAX_HEARD]
                        self.session.heard.clear()
                    self._ensure_pump()
                elif msg.type == WSMsgType.BINARY:
                    await self.emit(
                        [
                            self.session._error(
                                "invalid_value", "Binary frames are not supported; send JSON text."
                            )
                        ]
                    )
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.closed = True
            if self._pump_task is not None:
                self._pump_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._pump_task


class Simulator:
    """The local stand-in for the OpenAI Realtime API.

    :param api_key: the "real" API key: mints ephemeral keys, and also opens a session.
    :param provision_token: when set, ``/provision`` requires ``Authorization: Bearer`` it.
    :param key_ttl: seconds an ephemeral key lives (unless the mint request says otherwise).
    :param answer_seconds: length of a spoken answer.
    :param refuse_beta: refuse beta connections like the real service now does.
    :param pace: how many times faster than real time answer audio is sent.

    Use ``async with Simulator() as sim:`` (listens on a free port of 127.0.0.1) or
    :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        *,
        api_key: str = "sk-sim-local",
        provision_token: str | None = None,
        key_ttl: float = 60.0,
        answer_seconds: float = 1.5,
        refuse_beta: bool = False,
        pace: float = 4.0,
    ) -> None:
        self.api_key = api_key
        self.provision_token = provision_token
        self.refuse_beta = refuse_beta
        self.pace = pace
        self.script = Script(answer_seconds=answer_seconds)
        self.keys = KeyStore(key_ttl)
        self.log = SimLog()
        self.connections: list[_Connection] = []
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._runner is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self._host}:{self._port}"

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT/v1/realtime``."""
        return self.url.replace("http://", "ws://", 1) + REALTIME_PATH

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        sockets = runner.addresses
        self._host = host
        self._port = int(sockets[0][1]) if sockets else port

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for conn in list(self.connections):
            conn.abort()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- scripting ----------------------------------------------------------------------------

    async def apply_script(self, command: Any) -> None:
        """Validate and queue one script command (as ``POST /sim/script`` does)."""
        parsed = parse_command(command)
        open_conns = [c for c in self.connections if not c.closed]
        now = self.script.add(parsed, session_open=bool(open_conns))
        if now is not None:
            await open_conns[-1].inject(now)

    def state(self) -> dict[str, Any]:
        """What ``GET /sim/state`` shows."""
        open_conns = [c for c in self.connections if not c.closed]
        return {
            "sessions_open": len(open_conns),
            "keys_issued": self.keys.issued,
            # a test waits on these for a conversation to go quiet (no turn, no answer pending)
            "user_speaking": any(c.session.user_speaking for c in open_conns),
            "responding": any(c.session.response_active for c in open_conns),
        }

    # ---- the app ------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_FRAME_BYTES)
        app.router.add_post("/v1/realtime/client_secrets", self._client_secrets)
        app.router.add_post("/v1/realtime/sessions", self._beta_sessions)
        app.router.add_route("GET", "/provision", self._provision)
        app.router.add_route("POST", "/provision", self._provision)
        app.router.add_get(REALTIME_PATH, self._realtime)
        app.router.add_post("/sim/script", self._post_script)
        app.router.add_delete("/sim/script", self._delete_script)
        app.router.add_get("/sim/log", self._get_log)
        app.router.add_delete("/sim/log", self._delete_log)
        app.router.add_get("/sim/state", self._get_state)
        return app

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/sim/"):
            return await handler(request)
        fault = self.script.take_http_fault(request.path)
        response: web.StreamResponse
        if fault is not None and fault.kind == "http":
            log.info("scripted HTTP %d on %s", fault.status, request.path)
            response = web.Response(
                status=fault.status,
                text=fault.body or json.dumps({"error": {"message": "scripted failure"}}),
                content_type="application/json" if not fault.body else "text/plain",
            )
        elif fault is not None and fault.kind == "garbage":
            response = web.json_response({"status": "ok", "note": "this reply holds no key"})
        else:
            if fault is not None and fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                self.log.http.append(
                    {"method": request.method, "path": request.path, "status": exc.status}
                )
                raise
        handled_itself = request.path == REALTIME_PATH and (fault is None or fault.kind == "slow")
        if not handled_itself:
            self.log.http.append(
                {"method": request.method, "path": request.path, "status": response.status}
            )
        return response

    def _check_api_key(self, request: web.Request) -> web.Response | None:
        token = _bearer(request)
        if token is None:
            return _openai_error(
                401,
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key",
            )
        if not secrets.compare_digest(token, self.api_key):
            return _openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
        return None

    async def _json_body(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except (ValueError, UnicodeDecodeError):
            raise Invalid(
                "invalid_json",
                "We could not parse the JSON body of your request. Expected a JSON object.",
            ) from None

    def _mint(self, dialect: str, config: ServedSession, ttl: float | None = None) -> Any:
        key = self.keys.mint(dialect, config, ttl=ttl, expired=self.script.expire_keys)
        log.info("minted an ephemeral key (%s)", dialect)
        return key

    async def _client_secrets(self, request: web.Request) -> web.Response:
        refused = self._check_api_key(request)
        if refused is not None:
            return refused
        try:
            body = await self._json_body(request)
            check(body, GA_CLIENT_SECRET_BODY)
            config = ServedSession()
            config.apply_ga(body["session"])
        except Invalid as exc:
            return _openai_error(400, exc.message, code=exc.code, param=exc.param)
        ttl = body.get("expires_after", {}).get("seconds")
        key = self._mint("ga", config, ttl)
        session = {
            "object": "realtime.session",
            "id": "sess_" + secrets.token_hex(8),
            **config.to_ga(),
            "expires_at": 0,
        }
        return web.json_response(
            {"value": key.value, "expires_at": int(key.expires_at), "session": session}
        )

    async def _beta_sessions(self, request: web.Request) -> web.Response:
        refused = self._check_api_key(request)
        if refused is not None:
            return refused
        try:
            body = await self._json_body(request)
            check(body, BETA_SESSIONS_BODY)
            fields = {k: v for k, v in body.items() if k != "client_secret"}
            config = ServedSession()
            config.apply_beta(fields)
        except Invalid as exc:
            return _openai_error(400, exc.message, code=exc.code, param=exc.param)
        ttl = body.get("client_secret", {}).get("expires_after", {}).get("seconds")
        key = self._mint("beta", config, ttl)
        return web.json_response(
            {
                "id": "sess_" + secrets.token_hex(8),
                "object": "realtime.session",
                **config.to_beta(),
                "client_secret": {"value": key.value, "expires_at": int(key.expires_at)},
            }
        )

    async def _provision(self, request: web.Request) -> web.Response:
        if self.provision_token is not None:
            token = _bearer(request)
            if token is None or not secrets.compare_digest(token, self.provision_token):
                return _openai_error(
                    401, "Provisioning needs a valid bearer token.", code="invalid_token"
                )
        shape = request.query.get("shape", "value")
        if shape not in ("text", "value", "client_secret"):
            return _openai_error(
                400,
                f"Unknown shape {shape!r}; use text, value or client_secret.",
                code="invalid_value",
                param="shape",
            )
        key = self._mint("ga", ServedSession())
        if shape == "text":
            return web.Response(text=key.value, content_type="text/plain")
        secret = {"value": key.value, "expires_at": int(key.expires_at)}
        if shape == "value":
            return web.json_response(secret)
        return web.json_response({"client_secret": secret})

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        beta = "realtime=v1" in request.headers.get("OpenAI-Beta", "").replace(" ", "")
        dialect = "beta" if beta else "ga"
        model = request.query.get("model")

        def refuse(status: int, message: str, code: str) -> web.Response:
            self.log.connections.append(
                {"dialect": dialect, "model": model, "accepted": False, "reason": message}
            )
            self.log.http.append({"method": request.method, "path": request.path, "status": status})
            log.info("refused a realtime connection: %s", message)
            return _openai_error(status, message, code=code)

        ws = web.WebSocketResponse(timeout=2.0, max_msg_size=MAX_FRAME_BYTES)
        if not ws.can_prepare(request).ok:
            return refuse(400, "expected a WebSocket upgrade", "invalid_request")
        token = _bearer(request)
        if token is None:
            return refuse(401, "missing 'Authorization: Bearer <key>' header", "missing_api_key")
        if secrets.compare_digest(token, self.api_key):
            config = ServedSession()
        else:
            try:
                config = self.keys.consume(token).config
            except KeyRefused as exc:
                return refuse(401, str(exc), "invalid_api_key")
        if model:
            config.model = model
        await ws.prepare(request)
        self.log.http.append({"method": request.method, "path": request.path, "status": 101})
        if beta and (self.refuse_beta or self.script.refuse_beta):
            self.log.connections.append(
                {
                    "dialect": dialect,
                    "model": config.model,
                    "accepted": False,
                    "reason": "beta_api_shape_disabled",
                }
            )
            error = {
                "type": "error",
                "event_id": "event_" + secrets.token_hex(8),
                "error": {
                    "type": "invalid_request_error",
                    "code": "beta_api_shape_disabled",
                    "message": "The beta Realtime API shape is disabled; use the GA interface "
                    "(no 'OpenAI-Beta: realtime=v1' header).",
                    "param": None,
                    "event_id": None,
                },
            }
            self.log.errors.append(error)
            await ws.send_str(json.dumps(error))
            await ws.close(code=4000, message=b"beta_api_shape_disabled")
            return ws
        self.log.connections.append(
            {"dialect": dialect, "model": config.model, "accepted": True, "reason": None}
        )
        log.info("realtime session opened (%s, %s)", dialect, config.model)
        conn = _Connection(self, request, ws, SimSession(dialect, config, self.script))
        self.connections.append(conn)
        try:
            await conn.run()
        finally:
            self.connections.remove(conn)
            log.info("realtime session closed")
        return ws

    # ---- admin --------------------------------------------------------------------------------

    async def _post_script(self, request: web.Request) -> web.Response:
        try:
            body = await self._json_body(request)
            commands = body if isinstance(body, list) else [body]
            for command in commands:
                parse_command(command)
            for command in commands:
                await self.apply_script(command)
        except Invalid as exc:
            return _openai_error(400, exc.message, code=exc.code, param=exc.param)
        return web.json_response({"queued": len(commands)})

    async def _delete_script(self, request: web.Request) -> web.Response:
        self.script.clear()
        return web.json_response({"cleared": True})

    async def _get_log(self, request: web.Request) -> web.Response:
        return web.json_response(self.log.as_json())

    async def _delete_log(self, request: web.Request) -> web.Response:
        self.log.clear()
        return web.json_response({"cleared": True})

    async def _get_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())
