"""A hostile realtime server against the real ``appliance run``: frames over the size limit on
every connection, pings left unanswered, 15 MB transcripts and function-call arguments, a
flood of error events. Memory, the log and what ``last_error`` says are asserted, each case
bounded in time.

The server here is a few lines of raw WebSocket (:class:`HostileServer`), not the simulator:
it sends frames built once (a 50 MB frame, compressed or not, costs nothing per connection),
and it can do what a well-behaved library would not (leave pings unanswered).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fault_matrix import row

from appliance.logguard import REPEAT_BURST, VALUE_MAX_CHARS
from appliance.realtime.protocol import TRANSCRIPT_MAX_CHARS
from appliance.rig.process import peak_rss_mib, rss_mib, wait_until

pytestmark = pytest.mark.hostile

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BIG_FRAME_BYTES = 50 * 1024 * 1024
"""What the hostile server sends: over the appliance's 16 MB limit."""
KEY = "ek_hostile_test_key"


# --- the server --------------------------------------------------------------------------------


def ws_frame(payload: bytes, *, opcode: int = 0x1, deflate: bool = False) -> bytes:
    """One final server frame (unmasked); ``deflate``: permessage-deflate, no context kept."""
    if deflate:
        packer = zlib.compressobj(wbits=-15)
        payload = (packer.compress(payload) + packer.flush(zlib.Z_SYNC_FLUSH))[:-4]
    head = bytes([0x80 | (0x40 if deflate else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + size.to_bytes(2, "big")
    else:
        head += bytes([127]) + size.to_bytes(8, "big")
    return head + payload


def event_frame(event: dict[str, Any], *, deflate: bool = False) -> bytes:
    return ws_frame(json.dumps(event).encode(), deflate=deflate)


SESSION_CREATED = event_frame({"type": "session.created", "session": {"id": "sess_hostile"}})


class Peer:
    """One WebSocket connection: answers the client's close and (unless told not to) its
    pings; what the test's behaviour sends goes through :meth:`send`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        number: int,
        *,
        answer_pings: bool,
    ) -> None:
        self.reader, self.writer, self.number = reader, writer, number
        self.answer_pings = answer_pings

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def serve_client(self) -> None:
        """Read the client's frames until it closes (or the connection is gone)."""
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                opcode, payload = await self._read_frame()
                if opcode == 0x8:  # close: answer it, then end the connection
                    await self.send(ws_frame(payload, opcode=0x8))
                    break
                if opcode == 0x9 and self.answer_pings:
                    await self.send(ws_frame(payload, opcode=0xA))
        self.writer.close()

    async def _read_frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        mask = await self.reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
        data = await self.reader.readexactly(size)
        key = (mask * (size // 4 + 1))[:size]
        plain = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
        return first & 0x0F, plain


Behaviour = Callable[[Peer], Awaitable[None]]


class HostileServer:
    """A provisioning endpoint (``/provision``: a plain-text key) and a realtime WebSocket
    (``/v1/realtime``) on localhost, in a thread of its own. Each connection is handed to
    ``behaviour``; ``connections`` counts them."""

    def __init__(
        self, behaviour: Behaviour, *, deflate: bool = True, answer_pings: bool = True
    ) -> None:
        self.behaviour, self.deflate, self.answer_pings = behaviour, deflate, answer_pings
        self.connections = 0
        self.url = ""
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        assert self._ready.wait(10), "the hostile server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, limit=1 << 20)
        )
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self.loop.run_forever()
        server.close()
        left = asyncio.all_tasks(self.loop)  # connections still open: end them
        for task in left:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        self.loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        lines = head.split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        if path.startswith("/provision"):
            await reader.read(int(headers.get("content-length", "0")))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(KEY), KEY.encode())
            )
            await writer.drain()
            writer.close()
            return
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()
        ).decode()
        deflate = self.deflate and "permessage-deflate" in headers.get(
            "sec-websocket-extensions", ""
        )
        extension = (
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
            if deflate
            else ""
        )
        writer.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extension}\r\n"
            ).encode()
        )
        self.connections += 1
        peer = Peer(reader, writer, self.connections, answer_pings=self.answer_pings)
        client = asyncio.ensure_future(peer.serve_client())
        with contextlib.suppress(OSError):
            await peer.send(SESSION_CREATED)
            await self.behaviour(peer)
        await client


def hostile_config(server: HostileServer, **sections: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "openai": {"api_base": server.url, "dialect": "ga"},
        "realtime": {
            "config": {"model": "gpt-realtime-2"},
            "provisioning": {"url": f"{server.url}/provision", "timeout_s": 5},
        },
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return config


def big_frame(*, deflate: bool) -> bytes:
    """A 50 MB text frame (a transcript delta of one long word), built once."""
    text = json.dumps({"type": "response.output_audio_transcript.delta", "delta": ""})
    filler = b"a" * (BIG_FRAME_BYTES - len(text))
    return ws_frame(text[:-2].encode() + filler + b'"}', deflate=deflate)


# --- a 50 MB frame on every connection ------------------------------------------------------------

WARM_UP_FRAMES = 30
"""Refused frames before the first reading: the allocator settles within about 30."""
RSS_GROWTH_LIMIT_MIB = 8.0
"""What 100 refused frames may add to the resident memory, read at two moments alike (a live
session waiting): allocator noise (measured: readings vary by up to 6 MB from one such moment
to the next, with no trend over 200 more frames), not 16 MB a frame (130 MB when each
refused frame was kept until a full garbage collection)."""


def test_a_50_mb_frame_on_every_connection_leaves_memory_where_it_was(start):
    """Each connection gets a 50 MB frame (compressed: the client expands 16 MB of it before
    it refuses it), but two that are left alone, where the memory is read: after the warm-up
    and after 100 more refused frames."""
    frame = big_frame(deflate=True)
    first, second = WARM_UP_FRAMES + 1, WARM_UP_FRAMES + 102
    quiet = {first, second}

    async def behaviour(peer: Peer) -> None:
        if peer.number not in quiet:
            await peer.send(frame)

    with HostileServer(behaviour) as server:
        recovery = {"max_attempts": 100, "backoff_initial_s": 0.01, "backoff_max_s": 0.01}
        app = start(hostile_config(server, recovery=recovery))
        began = time.monotonic()

        def live_on(number: int) -> bool:
            return server.connections == number and app.ctl("status")["state"] == "listening"

        app.ctl("start")
        wait_until(lambda: live_on(first), 30, "the warm-up's refused frames")
        warm = rss_mib(app.proc.pid)
        app.ctl("stop")  # a new press: a new count of attempts
        app.wait_state("idle")
        app.ctl("start")
        wait_until(lambda: live_on(second), 60, "100 more refused frames")
        after, peak = rss_mib(app.proc.pid), peak_rss_mib(app.proc.pid)
        elapsed = time.monotonic() - began
    assert after - warm < RSS_GROWTH_LIMIT_MIB, (
        f"resident memory {warm:.1f} MiB after {WARM_UP_FRAMES} refused frames, {after:.1f} "
        f"MiB after 100 more (peak {peak:.1f} MiB)"
    )
    assert elapsed < 60, f"{WARM_UP_FRAMES + 100} refused frames took {elapsed:.0f} s"
    assert "the server sent a message over the 16 MB limit" in app.log()


@row("frame_too_big")
def test_the_refused_frame_is_named_not_blamed_on_the_server(fault, start):
    async def behaviour(peer: Peer) -> None:
        await peer.send(big_frame(deflate=False))

    with HostileServer(behaviour, deflate=False) as server:
        app = start(hostile_config(server, recovery={"max_attempts": 0}))
        app.ctl("start")
        status = app.wait_state("error", 20)
    assert "the server sent a 50 MB message (limit 16 MB)" in status["last_error"]
    assert "closed by the server" not in app.log()
    assert fault.shown in status["last_error"] and fault.log in app.log()


@row("pings_unanswered")
def test_a_server_that_stops_answering_pings_is_named(fault, start):
    async def behaviour(peer: Peer) -> None:
        return None  # session.created, then nothing: the pings go unanswered

    with HostileServer(behaviour, answer_pings=False) as server:
        # pings every 0.5 s, each given 0.5 s (half the stall timeout)
        config = hostile_config(server, recovery={"max_attempts": 0, "stall_timeout_s": 1.0})
        app = start(config)
        app.ctl("start")
        status = app.wait_state("error", 20)
    assert "the server stopped answering pings" in status["last_error"]
    assert "closed by the server" not in app.log()
    assert fault.log in app.log()


# --- the log stays small -------------------------------------------------------------------------

TRANSCRIPT_CHARS = 15_000_000
LOG_LIMIT_BYTES = 100_000


def test_15_mb_transcripts_and_arguments_keep_the_log_small_and_the_event_capped(start):
    words = "word " * (TRANSCRIPT_CHARS // 5)
    said = event_frame({"type": "response.output_audio_transcript.done", "transcript": words})
    call = event_frame(
        {
            "type": "response.done",
            "response": {
                "id": "resp_1",
                "status": "completed",
                "output": [
                    {
                        "type": "function_call",
                        "name": "get_weather",
                        "call_id": "call_1",
                        "arguments": json.dumps({"city": "Paris", "padding": words}),
                    }
                ],
            },
        }
    )

    async def behaviour(peer: Peer) -> None:
        for _ in range(5):
            await peer.send(said)
        await peer.send(call)

    with HostileServer(behaviour) as server:
        config = hostile_config(server)
        config["realtime"]["config"]["function_handler"] = "handlers:get_weather"
        app = start(config)
        app.ctl("start")
        app.wait_event(lambda e: e.get("type") == "function_call", 30, "the function call")
        transcripts = [e for e in app.events if e.get("type") == "transcript"]
        log = app.log()
    assert len(transcripts) == 5
    cut = len(words) - TRANSCRIPT_MAX_CHARS
    assert (
        transcripts[0]["text"] == words[:TRANSCRIPT_MAX_CHARS] + f"... ({cut} more characters cut)"
    )
    assert len(log.encode()) < LOG_LIMIT_BYTES, f"the log is {len(log.encode())} bytes"
    lines = [line for line in log.splitlines() if "assistant: word word" in line]
    assert len(lines) == 5
    assert all(line.endswith("more characters)") for line in lines)
    assert all(len(line) < VALUE_MAX_CHARS + 200 for line in lines)
    [function_line] = [line for line in log.splitlines() if "function get_weather(" in line]
    assert "more characters)" in function_line and len(function_line) < 2 * VALUE_MAX_CHARS


FLOOD_S = 3.0


@row("error_flood")
def test_a_flood_of_server_errors_logs_a_few_lines_and_how_many_more(fault, start):
    sent = 0

    async def behaviour(peer: Peer) -> None:
        nonlocal sent
        until = time.monotonic() + FLOOD_S
        while time.monotonic() < until:
            batch = b"".join(
                event_frame(
                    {
                        "type": "error",
                        "error": {
                            "type": "invalid_request_error",
                            "code": "rate_limit_exceeded",
                            "message": f"rate limited ({sent + i})",
                        },
                    }
                )
                for i in range(200)
            )
            await peer.send(batch)
            sent += 200
        last = {"type": "error", "error": {"code": "last_one", "message": "the last error"}}
        await peer.send(event_frame(last))

    with HostileServer(behaviour) as server:
        app = start(hostile_config(server))
        app.ctl("start")
        wait_until(
            lambda: "the last error" in (app.ctl("status").get("last_error") or ""),
            30,
            "the last error event read",
        )
        assert app.stop() == 0  # the summary still pending is written at exit
    log = app.log()
    errors = re.findall(r"WARNING appliance: server error \(rate_limit_exceeded\)", log)
    [summary] = re.findall(r"WARNING appliance: (\d+) more like this in the last \d+ s", log)
    assert sent > 10 * REPEAT_BURST, f"only {sent} errors sent"
    assert len(errors) == REPEAT_BURST
    # every error event but the first few, the last one included
    assert int(summary) == sent + 1 - REPEAT_BURST
    assert len(log.encode()) < LOG_LIMIT_BYTES, f"the log is {len(log.encode())} bytes"
    assert fault.log in log
