"""The HTTP client (aiohttp), imported when it is first needed.

Only fetching a key and calling a webhook function use HTTP. An idle appliance never does, and
importing aiohttp costs about 200 ms and 11 MiB, so it is imported on first use, in a worker
thread: the event loop (control socket, button, LED) keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType

_module: ModuleType | None = None


async def aiohttp() -> ModuleType:
    """The ``aiohttp`` module, importing it off the event loop the first time.

    Not ``sys.modules``: a session stopped during the import leaves a half-initialised module
    there while the worker thread goes on. The next call imports again, which waits for that
    import to finish (Python's per-module import lock) and returns the whole module."""
    global _module
    if _module is None:
        _module = await asyncio.to_thread(importlib.import_module, "aiohttp")
    return _module
