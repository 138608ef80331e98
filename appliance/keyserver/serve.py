"""``appliance keyserver serve``: listen until SIGTERM or SIGINT, then stop gracefully.

Once listening it prints one line, ``appliance-keyserver listening on URL``, to standard
output. A stop closes the listening socket at once, lets the requests in flight finish (up to
``keyserver.shutdown_timeout``) and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import sys

from aiohttp import web

from appliance.keyserver.config import KeyServerConfig, read_api_key, split_listen
from appliance.keyserver.mint import Minter
from appliance.keyserver.store import Store
from appliance.keyserver.web import JsonAccessLog, KeyServer

READY_PREFIX = "appliance-keyserver listening on "
log = logging.getLogger("appliance.keyserver")


def tls_context(config: KeyServerConfig) -> ssl.SSLContext | None:
    """The server's TLS context from ``tls_cert`` / ``tls_key``, or None for plain HTTP."""
    server = config.keyserver
    if server.tls_cert is None or server.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(server.tls_cert), str(server.tls_key))
    return context


async def serve(config: KeyServerConfig, listen: str | None = None) -> int:
    """Run the server until a signal; the exit code."""
    host, port = split_listen(listen or config.keyserver.listen)
    store = Store(config.database.url, timeout=config.database.timeout)
    await asyncio.to_thread(store.check_schema)
    tls = tls_context(config)
    server = KeyServer(config, store, Minter(config.upstream, read_api_key(config)))
    runner = web.AppRunner(
        server.app(),
        handle_signals=False,
        access_log_class=JsonAccessLog,
        access_log=logging.getLogger("appliance.keyserver.access")
        if config.keyserver.access_log
        else None,
        shutdown_timeout=config.keyserver.shutdown_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls, backlog=1024)
    await site.start()
    bound = runner.addresses[0]
    scheme = "https" if tls else "http"
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
    print(f"{READY_PREFIX}{scheme}://{shown}:{bound[1]}", flush=True)
    log.info(
        "database %s, upstream %s (%s)", store.where, config.upstream.api_base, config.upstream.api
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: finishing the requests in flight")
    await runner.cleanup()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    log.info("stopped")
    return 0
