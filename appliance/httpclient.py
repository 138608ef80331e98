"""The HTTP client (aiohttp), imported when it is first needed.

Only fetching a key and calling a webhook function use HTTP. An idle appliance never does, and
importing aiohttp costs about 200 ms and 11 MiB, so it is imported on first use, in a worker
thread: the event loop (control socket, button, LED) keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from types import ModuleType


async def aiohttp() -> ModuleType:
    """The ``aiohttp`` module, importing it off the event loop the first time."""
    module = sys.modules.get("aiohttp")
    if module is None:
        module = await asyncio.to_thread(importlib.import_module, "aiohttp")
    return module
