"""Usage reports to the key server: one per session, kept on disk until the server has it.

:class:`UsageReporter` listens on the bus. At each ``stopped`` event (a press, the idle stop,
the cap, an error, a reconnect, the shutdown) it takes the usage the session counted since its
``started`` (:meth:`appliance.realtime.link.Link.take_usage`), writes the report into the
queue (:class:`~appliance.realtime.usage.ReportQueue`) and wakes the sender. The sender posts
the waiting reports, oldest first, to the usage URL (:func:`usage_url`) with the device's
token as ``Authorization: Bearer``:

* 2xx: sent, removed from the queue;
* 429: the key server is busy; everything waits for its ``Retry-After`` (at most a day);
* another 4xx: the server will never take it (malformed, unknown device): dropped, with a log
  line;
* anything else (5xx, no answer, no network, a redirect elsewhere, no token): kept, and tried
  again after a backoff (:data:`INITIAL_BACKOFF_S` doubling to :data:`MAX_BACKOFF_S`). A new
  report does not cut the wait short.

At start, what waits from before a restart or a power cut is sent first. Reports are only made
with a token configured: a third-party provisioning URL gets none without that opt-in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from appliance.config import AppConfig
from appliance.realtime.keys import (
    KeySourceError,
    duration,
    excerpt,
    has_token,
    read_token,
    request,
    retry_after_s,
    safe_url,
    with_token,
)
from appliance.realtime.refusals import state_dir
from appliance.realtime.usage import FOLDER_NAME, ReportQueue, Tally, make_report

log = logging.getLogger("appliance")

INITIAL_BACKOFF_S = 5.0
"""The wait after a first failed send."""
MAX_BACKOFF_S = 900.0
"""The longest wait between failed sends (15 minutes)."""
SEND_TIMEOUT_S = 10.0
"""One report's request, from connecting to the answer."""
CLOSE_TIMEOUT_S = 5.0
"""At shutdown, how long the last session's report may take to reach the disk."""


def usage_url(config: AppConfig, environ: dict[str, str] | None = None) -> str | None:
    """Where reports go: ``realtime.provisioning.usage_url``, else the provisioning URL with
    its last ``/key`` replaced by ``/usage``; ``None`` with ``usage_url = "off"``, without a
    token, or when neither gives a URL."""
    prov = config.realtime.provisioning
    if prov is None or prov.usage_url == "off" or not has_token(config, environ):
        return None
    return prov.usage_url or derived_usage_url(prov.url)


def derived_usage_url(key_url: str) -> str | None:
    """``https://host/x/key?q`` gives ``https://host/x/usage``; a URL not ending in ``/key``
    gives ``None``."""
    parts = urlsplit(key_url)
    if not parts.path.endswith("/key"):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path[: -len("key")] + "usage", "", ""))


class UsageReporter:
    """Makes a report at each session's end and sends the queue. ``take_usage`` gives the
    usage counted since the last call; ``queue`` defaults to the state directory's."""

    def __init__(
        self,
        config: AppConfig,
        take_usage: Callable[[], Tally],
        queue: ReportQueue | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.take_usage = take_usage
        if queue is None:
            folder = state_dir()
            queue = ReportQueue(folder / FOLDER_NAME if folder is not None else None)
        self.queue = queue
        self.failures = 0
        self._rand = rand
        self._started: tuple[float, float] | None = None  # (wall clock, monotonic)
        self._wake = asyncio.Event()
        self._writes: set[asyncio.Task[None]] = set()
        self._said_no_url = False

    def configure(self, config: AppConfig) -> None:
        """A reloaded configuration: its URL and token from the next send on."""
        self.config = config
        self._said_no_url = False

    # --- making reports ---------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        """A bus listener: ``started`` begins a report, ``stopped`` ends and queues it."""
        kind = event.get("type")
        if kind == "started":
            self._started = (time.time(), time.monotonic())
        elif kind == "stopped":
            started, self._started = self._started, None
            tally = self.take_usage()
            if started is None or usage_url(self.config) is None:
                return
            seconds = time.monotonic() - started[1]
            report = make_report(tally, seconds, str(event.get("reason") or "error"), started[0])
            task = asyncio.get_running_loop().create_task(self._keep(report))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _keep(self, report: dict[str, Any]) -> None:
        """Write ``report`` into the queue (off the loop), then wake the sender."""
        try:
            name = await asyncio.to_thread(self.queue.put, report)
        except Exception as exc:  # never lose the appliance over a report
            log.warning("usage report not kept: %s", exc)
            return
        tally = report["usage"]
        log.info(
            "usage report %s queued: %.1f s, %d responses, %d tokens in, %d out",
            name,
            report["session_seconds"],
            report["responses"],
            tally["input_tokens"],
            tally["output_tokens"],
        )
        self._wake.set()

    async def aclose(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Let the reports being written reach the disk (the sender is the caller's task)."""
        if self._writes:
            await asyncio.wait(set(self._writes), timeout=timeout)

    # --- sending ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Send the queue whenever there is something new, and after each wait."""
        self._wake.set()  # what waits from before a restart goes first
        while True:
            await self._wake.wait()
            self._wake.clear()
            wait = await self.send_waiting()
            if wait is not None:
                await asyncio.sleep(wait)
                self._wake.set()

    async def send_waiting(self) -> float | None:
        """Send the waiting reports, oldest first; the seconds to wait before trying again
        when one could not be sent (``None``: all sent, or nothing to send now)."""
        names = await asyncio.to_thread(self.queue.names)
        if not names:
            return None
        url = usage_url(self.config)
        if url is None:
            if not self._said_no_url:
                self._said_no_url = True
                log.warning(
                    "%d usage reports wait, but no usage URL is configured now (a token and "
                    "realtime.provisioning.usage_url, or a provisioning URL ending in /key)",
                    len(names),
                )
            return None
        for name in names:
            report = await asyncio.to_thread(self.queue.read, name)
            if report is not None:
                wait = await self._send(url, name, report)
                if wait is not None:
                    return wait
        return None

    async def _send(self, url: str, name: str, report: dict[str, Any]) -> float | None:
        where = f"usage URL {safe_url(url)}"
        try:
            token = read_token(self.config)
            if token is None:
                raise KeySourceError("no device token (realtime.provisioning.token_file)")
            status, body, where, retry_after = await request(
                "POST", url, SEND_TIMEOUT_S, where, headers=with_token({}, token), json=report
            )
        except KeySourceError as exc:
            return self._failed(name, str(exc))
        if 200 <= status < 300:
            self.failures = 0
            await asyncio.to_thread(self.queue.remove, name)
            log.info("usage report %s sent", name)
            return None
        if status == 429:
            wait = retry_after_s(retry_after, time.time())
            log.warning(
                "usage report %s not sent: %s is busy (HTTP 429); trying again in %s",
                name,
                where,
                duration(wait),
            )
            return wait
        if 400 <= status < 500:
            await asyncio.to_thread(self.queue.remove, name)
            log.warning(
                "usage report %s dropped: %s answered HTTP %d: %s",
                name,
                where,
                status,
                excerpt(body),
            )
            return None
        return self._failed(name, f"{where} answered HTTP {status}: {excerpt(body)}")

    def _failed(self, name: str, why: str) -> float:
        """The wait after a send that failed (the report is kept)."""
        self.failures += 1
        base = min(MAX_BACKOFF_S, INITIAL_BACKOFF_S * 2 ** min(self.failures - 1, 20))
        wait = min(MAX_BACKOFF_S, base * (0.8 + 0.4 * self._rand()))  # jitter: not all at once
        log.warning("usage report %s not sent: %s; trying again in %s", name, why, duration(wait))
        return wait
