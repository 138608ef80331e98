"""The thread-safe meeting point between the asyncio worker and the front ends.

The worker owns the :class:`~appliance.state.Machine`. Front ends (pygame screen on the main
thread, GPIO callbacks on gpiozero's threads) never touch it: they read :attr:`Hub.view` (an
immutable :class:`~appliance.state.View`, replaced atomically), read the played-audio meter, and
:meth:`Hub.post` inputs, which the worker applies in order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.audio.meter import Analyser
from appliance.captions import Caption
from appliance.state import Input, View

ViewListener = Callable[[View], None]


@dataclass
class DisplayStats:
    """How the screen keeps its pace (written by the display loop, read by ``status``)."""

    frames: int = 0
    """Frames presented (only those that changed pixels: an unchanged one costs nothing)."""
    due: int = 0
    """Loop turns at which a frame was due (while the avatar moves or the spinner turns)."""
    late: int = 0
    """Of those, turns that began a whole frame period or more after they were due: frames
    the loop could not keep up with (a busy CPU)."""
    power: str = "on"
    """The screen: on, dim or dark (see appliance/display/sleep.py)."""


class Hub:
    def __init__(self, analyser: Analyser | None = None) -> None:
        self.view = View()
        self.captions: tuple[Caption, ...] = ()
        """The captions shown (immutable, replaced atomically like :attr:`view`)."""
        self.version = 0
        self.analyser = analyser or Analyser()
        self._changed = threading.Condition()
        self._listeners: list[ViewListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: Callable[[Input], None] | None = None
        self._early: list[Input] = []
        self.snapshots: queue.Queue[tuple[Path, concurrent.futures.Future[Path]]] = queue.Queue()
        self.stopping = threading.Event()
        self.screen_ready = threading.Event()
        """Set once the screen is up (or known to be absent): part of being ready."""
        self.display_stats = DisplayStats()
        self.volume_shown: tuple[int, float] | None = None
        """The volume last changed to and when (``time.monotonic()``): the screen shows it
        as a bar for a while (:mod:`appliance.display.volumebar`)."""
        self.volume_handler: Callable[[str], None] | None = None
        """The worker's volume command (``"+10"``, ``"-10"``, ``"30"``), for the GPIO."""
        self.activities = 0
        """How many times someone was active (:meth:`activity`): the screen wakes on it."""

    # --- worker side ------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop, inbox: Callable[[Input], None]) -> None:
        """Connect the worker: ``inbox`` is called on ``loop`` for every posted input."""
        self._loop = loop
        self._inbox = inbox
        early, self._early = self._early, []
        for given in early:
            self.post(given)

    def show(self, view: View) -> None:
        """Show ``view`` to the front ends; called by the worker after each state change."""
        if view == self.view:
            return
        self.view = view
        with self._changed:
            self.version += 1
            self._changed.notify_all()
        for listener in list(self._listeners):
            listener(view)

    def show_captions(self, captions: tuple[Caption, ...]) -> None:
        """Show ``captions`` (the conversation's last words); called by the worker."""
        if captions == self.captions:
            return
        self.captions = captions
        self.wake()

    def show_volume(self, percent: int, now: float | None = None) -> None:
        """Show the volume bar at ``percent`` (the worker, after a change)."""
        self.volume_shown = (percent, time.monotonic() if now is None else now)
        self.wake()

    # --- front-end side ---------------------------------------------------------------------

    def adjust_volume(self, change: str) -> None:
        """Ask the worker to change the volume (``"+10"``, ``"-10"``) from any thread."""
        handler = self.volume_handler
        if self._loop is None or handler is None:
            return
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            self._loop.call_soon_threadsafe(handler, change)

    def post(self, given: Input) -> None:
        """Send an input to the state machine from any thread. Counts as :meth:`activity`."""
        self.activity()
        if self._loop is None or self._inbox is None:
            self._early.append(given)
            return
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            self._loop.call_soon_threadsafe(self._inbox, given)

    def on_view(self, listener: ViewListener) -> None:
        """Call ``listener(view)`` on every change (from the worker thread; keep it short)."""
        self._listeners.append(listener)

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until :attr:`version` differs from ``version`` or ``timeout`` passes."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.version != version or self.stopping.is_set(), timeout
            )
            return self.version

    def activity(self) -> None:
        """Someone is there: wakes a sleeping screen and restarts its idle time (any thread).
        Every input posted counts (a button, the screen); a wake-word detector calls this
        when it hears the word, before it starts a session."""
        with self._changed:
            self.activities += 1
            self.version += 1
            self._changed.notify_all()

    def wake(self) -> None:
        """Wake anything blocked in :meth:`wait_for_change` (snapshot requests, shutdown)."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def request_snapshot(self, path: Path) -> concurrent.futures.Future[Path]:
        """Ask the screen to save its current frame to ``path`` (PNG)."""
        future: concurrent.futures.Future[Path] = concurrent.futures.Future()
        self.snapshots.put((path, future))
        self.wake()
        return future
