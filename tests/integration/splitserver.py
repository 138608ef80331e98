"""A real HTTP server on localhost that answers in pieces: the reply's body in two writes with
a pause between them (two TCP segments), or with ``Transfer-Encoding: chunked``.

It answers every request with what ``body()`` returns at that moment (so a test can hand out a
fresh key per request), and counts the requests it served.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PAUSE_S = 0.2
"""Between the two writes: long enough for the first one to leave as its own segment."""


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mode: str
    body: Callable[[], bytes]
    served: int


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        length = 0
        while True:  # the request head, then its body (ignored)
            line = self.rfile.readline(65537)
            if not line:
                return
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
            if line in (b"\r\n", b"\n"):
                break
        self.rfile.read(length)
        body = self.server.body()
        self.server.served += 1
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        half = len(body) // 2
        if self.server.mode == "chunked":
            self._send(head + b"Transfer-Encoding: chunked\r\n\r\n")
            for part in (body[:half], body[half:]):
                self._send(b"%x\r\n%s\r\n" % (len(part), part))
                time.sleep(PAUSE_S)  # the fault itself: the rest comes later
            self._send(b"0\r\n\r\n")
        else:
            self._send(head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:half]))
            time.sleep(PAUSE_S)  # the fault itself: the rest comes later
            self._send(body[half:])

    def _send(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


@contextmanager
def split_server(body: Callable[[], bytes], mode: str = "split") -> Iterator[_Server]:
    """A server on 127.0.0.1 answering with ``body()``; ``mode`` is ``"split"`` (two writes,
    Content-Length) or ``"chunked"``. Its URL is ``url(server)``."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mode, server.body, server.served = mode, body, 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url(server: _Server, path: str = "/key") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"
