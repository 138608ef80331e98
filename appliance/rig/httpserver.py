"""A real HTTP server on a loopback address, for tests that need a peer: an image host, a
provisioning URL that redirects, a webhook.

:class:`LocalHTTPServer` serves a ``BaseHTTPRequestHandler`` class on ``host`` (a loopback
address; port 0, so the system picks a free one) from a daemon thread, one thread per request,
until :meth:`~LocalHTTPServer.close` (or the end of a ``with`` block). Only loopback addresses
are accepted: a test server never listens beyond this machine.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of parallel requests is not refused


class LocalHTTPServer:
    """``handler`` served on ``host``:a free port; ``url`` is ``scheme://host:port``. With
    ``tls``, the socket is wrapped in that server-side context (https)."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"{host} is not a loopback address")
        self.httpd = _Server((host, 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.host = host
        self.port: int = self.httpd.server_address[1]
        self.url = f"{'https' if tls is not None else 'http'}://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="local-http", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the listening socket (requests in flight end on their own
        threads)."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> LocalHTTPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
