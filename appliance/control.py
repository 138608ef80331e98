"""The control socket: a Unix socket speaking one JSON object per line.

A client sends one request line, e.g. ``{"cmd": "status"}``, and gets one reply line
(``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``). ``{"cmd": "events"}`` replies
``{"ok": true}`` and then streams one event per line until the client hangs up.

Commands: ``status``, ``start``, ``stop``, ``toggle``, ``mute``, ``unmute``, ``press``
(``hold``), ``say`` (``text``, ``role``, ``respond``), ``update-config`` (``config``),
``volume`` (``change``: ``"30"``, ``"+10"``, ``"-10"``; none: only tell it),
``snapshot`` (the reply carries the PNG, base64), ``reload``, ``events``.

Input is bounded: a request line over 64 KiB gets an error reply, and what an ``events``
subscriber sends is read and thrown away.

The socket is created with mode 0660 (group ``appliance`` under systemd); other users cannot
connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any, Protocol

from appliance.bus import Bus


class Commands(Protocol):
    """What the control socket asks of the appliance (:class:`appliance.app.Appliance`)."""

    bus: Bus

    def status(self) -> dict[str, Any]: ...

    def command(self, name: str) -> dict[str, Any]:
        """``start``, ``stop``, ``toggle``, ``mute`` or ``unmute``."""
        ...

    def press(self, hold: bool) -> dict[str, Any]: ...

    async def say(self, text: str, role: str, respond: bool | None) -> dict[str, Any]: ...

    def set_volume(self, change: str | int | None) -> dict[str, Any]:
        """``{"ok": true, "volume": N}`` after the change (none: the current volume)."""
        ...

    async def update_config(self, changes: dict[str, Any]) -> dict[str, Any]: ...

    async def reload(self) -> dict[str, Any]: ...

    async def snapshot(self) -> dict[str, Any]:
        """``{"ok": true, "png": BASE64}``: the screen now."""
        ...


log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
REQUEST_TIMEOUT_S = 10.0
CLIENT_LIMIT = 64
"""Commands handled at the same time; more wait their turn."""
SUBSCRIBER_LIMIT = 64
"""``events`` streams at the same time; they do not take command slots."""
CONNECTION_LIMIT = 256
"""Open connections of any kind; beyond it new ones are refused at once."""


SIMPLE = frozenset({"start", "stop", "toggle", "mute", "unmute"})


class ControlServer:
    def __init__(self, app: Commands, path: Path, mode: int = 0o660) -> None:
        self.app = app
        self.path = Path(path)
        self.mode = mode
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(CLIENT_LIMIT)
        self._subscribers = 0

    async def start(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale(self.path)
            old_umask = os.umask(0o177)
            try:
                self._server = await asyncio.start_unix_server(
                    self._client, path=str(self.path), limit=MAX_REQUEST_BYTES
                )
            finally:
                os.umask(old_umask)
            os.chmod(self.path, self.mode)
        except (OSError, ValueError) as exc:
            log.error(
                "control socket disabled: cannot listen on %s (%s); set control.socket",
                self.path,
                getattr(exc, "strerror", None) or exc,
            )
            self._server = None
            return
        log.info("control socket %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            if len(self._clients) > CONNECTION_LIMIT:
                await _reply(writer, {"ok": False, "error": "too many connections; try again"})
                return
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # closing the socket ends each client's task; it ends normally, so asyncio's
            # stream machinery (which asks a finished handler for its exception) logs nothing
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_S)
        except TimeoutError:
            return
        except ValueError:  # the line is over the stream's limit: it was not read whole
            limit = MAX_REQUEST_BYTES // 1024
            await _reply(writer, {"ok": False, "error": f"request too long (over {limit} KiB)"})
            return
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError
        except (ValueError, RecursionError):
            await _reply(writer, {"ok": False, "error": 'send one JSON object: {"cmd": "status"}'})
            return
        if request["cmd"] == "events":
            if self._subscribers >= SUBSCRIBER_LIMIT:
                await _reply(writer, {"ok": False, "error": "too many event subscribers"})
                return
            self._subscribers += 1
            try:
                await self._stream_events(reader, writer)
            finally:
                self._subscribers -= 1
            return
        async with self._slots:
            try:
                reply = await self.dispatch(request)
            except Exception as exc:  # a bad command must never hurt the appliance
                log.exception("control command %s failed", request.get("cmd"))
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        await _reply(writer, reply)

    async def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        app = self.app
        cmd = request["cmd"]
        if cmd == "status":
            return {"ok": True, **app.status()}
        if cmd in SIMPLE:
            return app.command(cmd)
        if cmd == "press":  # what the physical button does, with the same action mapping
            return app.press(bool(request.get("hold")))
        if cmd == "say":
            text = request.get("text")
            if not isinstance(text, str) or not text.strip():
                return {"ok": False, "error": "say needs a non-empty text"}
            return await app.say(text, str(request.get("role", "system")), request.get("respond"))
        if cmd == "update-config":
            changes = request.get("config")
            if not isinstance(changes, dict):
                return {"ok": False, "error": "update-config needs a JSON object"}
            return await app.update_config(changes)
        if cmd == "volume":
            change = request.get("change")
            if change is not None and (
                isinstance(change, bool) or not isinstance(change, str | int)
            ):
                return {"ok": False, "error": 'volume: "change" is N, "+N" or "-N", like "30"'}
            return app.set_volume(change)
        if cmd == "reload":
            return await app.reload()
        if cmd == "snapshot":  # the PNG comes back in the reply; the client writes it
            return await app.snapshot()
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    async def _stream_events(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        queue = self.app.bus.subscribe()
        try:
            await _reply(writer, {"ok": True, "type": "subscribed", **self.app.status()})
            hangup = asyncio.ensure_future(_until_hangup(reader))
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, hangup}, return_when=asyncio.FIRST_COMPLETED)
                if hangup in done:
                    getter.cancel()
                    return
                await _reply(writer, getter.result())
        finally:
            self.app.bus.unsubscribe(queue)


async def _until_hangup(reader: asyncio.StreamReader) -> None:
    """Wait for a subscriber to hang up, throwing away whatever it sends meanwhile (kept, it
    would grow the appliance's memory without bound)."""
    while await reader.read(4096):
        pass


async def _reply(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    writer.write((json.dumps(payload, default=str) + "\n").encode())
    await writer.drain()


def _remove_stale(path: Path) -> None:
    """Remove a socket file left by a crashed run; refuse if something still listens."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise OSError(f"another appliance is listening on {path}")


# --- client ------------------------------------------------------------------------------------


class ControlClientError(Exception):
    pass


def request(path: Path, payload: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
    """Send one command and return the reply (blocking; for the CLI)."""
    with _connect(path, timeout) as sock:
        sock.sendall((json.dumps(payload) + "\n").encode())
        line = sock.makefile("rb").readline()
    if not line:
        raise ControlClientError(f"no reply from {path}")
    return json.loads(line)


def stream(path: Path, payload: dict[str, Any]) -> Any:
    """Send a streaming command (``events``) and yield each reply line as a dict."""
    sock = _connect(path, None)
    with sock:
        sock.sendall((json.dumps(payload) + "\n").encode())
        for line in sock.makefile("rb"):
            yield json.loads(line)


def _connect(path: Path, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except FileNotFoundError:
        sock.close()
        raise ControlClientError(
            f"no appliance is running on {path} (start it with `appliance run`, or pass --socket)"
        ) from None
    except PermissionError:
        sock.close()
        raise ControlClientError(
            f"permission denied on {path}: add your user to the 'appliance' group"
        ) from None
    except OSError as exc:
        sock.close()
        raise ControlClientError(f"cannot connect to {path}: {exc.strerror or exc}") from None
    return sock
