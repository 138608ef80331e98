"""The event bus: what the appliance tells the outside world, to whoever listens.

Events are plain JSON-able dicts with a ``type`` (``state``, ``started``, ``stopped``,
``transcript``, ``error``, ``interrupted``, ``function_call``) and a ``time``. The control
socket's ``events`` clients subscribe a bounded queue each (a slow reader loses its oldest
events, never the appliance's time); hooks are a listener. :meth:`Bus.emit` never blocks and
never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]
EVENT_QUEUE_SIZE = 256
"""Per-subscriber backlog; a subscriber that falls further behind loses the oldest events."""


class Bus:
    """Fan-out of events, on the worker's event loop."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, size: int = EVENT_QUEUE_SIZE) -> asyncio.Queue[Event]:
        """A queue that receives every event from now on (until :meth:`unsubscribe`)."""
        queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._queues.discard(queue)

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener(event)`` for every event (keep it quick: it runs on the loop)."""
        self._listeners.append(listener)

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def emit(self, event: Event) -> Event:
        """Stamp ``event`` with the time and hand it to every subscriber and listener."""
        event = {"time": round(time.time(), 3), **event}
        for queue in list(self._queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as exc:  # a listener must never hurt the appliance
                log.warning("event listener failed: %s", exc)
        return event
