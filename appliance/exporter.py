"""The metrics' two ways out: an HTTP endpoint and node_exporter's textfile (``[metrics]``).

Both are off by default; :mod:`appliance.app` imports this module only when one is set. The
bookkeeping (:mod:`appliance.metrics`) listens on the bus; the readings that other parts own
(the output buffer's underruns, the sound card's, the echo canceller's ERLE) are read when the
metrics are written, never from the audio threads.

* ``metrics.listen = "HOST:PORT"``: ``GET /metrics`` on the worker's event loop (asyncio
  streams, no threads): requests are small and bounded (:data:`MAX_REQUEST_BYTES`,
  :data:`REQUEST_TIMEOUT_S`, :data:`MAX_CLIENTS`), answered and closed. A port that cannot be
  bound is an error in the log; the appliance runs on without the endpoint.
* ``metrics.textfile = PATH``: rewritten every ``metrics.textfile_interval_s`` (a temporary
  file in the same directory, renamed over it: node_exporter never reads half a file), mode
  0644 whatever the umask (node_exporter runs as another user). Removed at a clean stop, so a
  stopped appliance does not look alive; a crashed one leaves it, and its age
  (``node_textfile_mtime_seconds``) tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.metrics import Metrics, Readings

if TYPE_CHECKING:
    from appliance.audio.lifecycle import AudioDevice
    from appliance.audio.playback import Playback
    from appliance.bus import Bus
    from appliance.config import MetricsConfig

log = logging.getLogger("appliance")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_REQUEST_BYTES = 8192
"""A request's line and headers, at most (Prometheus sends a few hundred bytes); longer is a
431 and the connection is closed."""
REQUEST_TIMEOUT_S = 5.0
"""A client that has not sent its whole request by then is dropped."""
MAX_CLIENTS = 8
"""Connections served at once; more are closed at once (a scraper needs one)."""


def package_version() -> str:
    """The installed appliance's version (``appliance --version``)."""
    try:
        from importlib.metadata import version

        return version("appliance")
    except Exception:
        return "unknown"


def write_textfile(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, renamed), mode
    0644."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o644)
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Exporter:
    """Keeps :attr:`metrics` from ``bus`` and serves or writes them as ``config`` says."""

    def __init__(
        self,
        config: MetricsConfig,
        bus: Bus,
        *,
        playback: Playback,
        audio: AudioDevice,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.playback = playback
        self.audio = audio
        self.clock = clock
        self.metrics = Metrics(package_version(), clock())
        bus.listen(self.metrics.on_event)
        self.address: tuple[str, int] | None = None
        """Where the endpoint listens (the port the system gave for port 0)."""
        self.writes = 0
        """Textfile writes so far."""
        self._server: asyncio.Server | None = None
        self._writer: asyncio.Task[None] | None = None
        self.clients = 0
        """Connections being served now."""
        self._write_error: str | None = None

    def readings(self) -> Readings:
        """What the other parts say now."""
        backend: Any = self.audio.backend
        stats = getattr(backend, "stats", None)
        device = getattr(stats, "output_underflows", None)
        processor = getattr(backend, "processor", None)
        erle = getattr(getattr(processor, "stats", None), "erle_db", None)
        return Readings(
            now=self.clock(),
            output_underruns=self.playback.stats.underruns,
            device_underruns=device if isinstance(device, int) else None,
            erle_db=float(erle) if isinstance(erle, int | float) else None,
        )

    def render(self) -> str:
        return self.metrics.render(self.readings())

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self.config.listen is not None:
            await self._listen(self.config.listen)
        if self.config.textfile is not None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write_every(self.config.textfile, self.config.textfile_interval_s)
            )

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), REQUEST_TIMEOUT_S)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            path = self.config.textfile
            if path is not None:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(path.unlink, True)

    # --- the endpoint -----------------------------------------------------------------------

    async def _listen(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        try:
            self._server = await asyncio.start_server(
                self._serve, host, int(port), limit=MAX_REQUEST_BYTES, reuse_address=True
            )
        except OSError as exc:
            log.error("metrics: cannot listen on %s (%s); no metrics endpoint", listen, exc)
            return
        self.address = self._server.sockets[0].getsockname()[:2]
        log.info("metrics: http://%s/metrics", listen)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.clients >= MAX_CLIENTS:
            writer.close()
            return
        self.clients += 1
        try:
            status, body = await self._answer(reader)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: "
                f"{CONTENT_TYPE if status.startswith('200') else 'text/plain; charset=utf-8'}"
                f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT_S)
        except (OSError, TimeoutError, ConnectionError):
            pass
        finally:
            self.clients -= 1
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[str, bytes]:
        """The status line's text and the body for the request ``reader`` brings."""
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            return "431 Request Header Fields Too Large", b"request too large\n"
        except asyncio.IncompleteReadError as exc:
            if len(exc.partial) >= MAX_REQUEST_BYTES:
                return "431 Request Header Fields Too Large", b"request too large\n"
            raise ConnectionError("the client went away") from None
        parts = request.split(b"\r\n", 1)[0].split()
        if len(parts) != 3:
            return "400 Bad Request", b"bad request\n"
        method, target = parts[0], parts[1].split(b"?", 1)[0]
        if method not in (b"GET", b"HEAD"):
            return "405 Method Not Allowed", b"only GET\n"
        if target != b"/metrics":
            return "404 Not Found", b"the metrics are at /metrics\n"
        body = self.render().encode("utf-8")
        return "200 OK", b"" if method == b"HEAD" else body

    # --- the textfile -----------------------------------------------------------------------

    async def _write_every(self, path: Path, interval: float) -> None:
        while True:
            await self.write_now(path)
            await asyncio.sleep(interval)

    async def write_now(self, path: Path) -> None:
        """Write the textfile once; a failure is logged once until it changes."""
        text = self.render()
        try:
            await asyncio.to_thread(write_textfile, path, text)
        except OSError as exc:
            problem = exc.strerror or str(exc)  # not the temporary name: it changes each time
            if problem != self._write_error:
                log.error("metrics: cannot write %s (%s)", path, problem)
            self._write_error = problem
            return
        if self._write_error is not None:
            log.info("metrics: writing %s again", path)
            self._write_error = None
        self.writes += 1
