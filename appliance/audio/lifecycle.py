"""One audio device's lifecycle, safe under any interleaving of starts, stops and cancels.

:class:`AudioDevice` wraps an :class:`~appliance.audio.backend.AudioBackend` for the asyncio
worker. Every ``open`` and ``close`` of the backend runs on one dedicated thread, in the order
they were asked for, so they never overlap: a session cancelled while its open is still in
flight queues its close behind that open, which then closes exactly what was opened. A close
is awaited to the end even when the task awaiting it is cancelled, so once a session's
teardown is over, no stream of it exists.

PortAudio and ALSA are not safe to open and close from several threads at once (doing so
crashed the process with SIGABRT/SIGSEGV within a few quick start/stop cycles), and a
single-thread executor is the simplest way to make that impossible.

With a :class:`Listener` (the wake word, :mod:`appliance.wake`) the device can also be kept
open between sessions (:meth:`AudioDevice.listen`): the listener then gets every captured
block while no session does, and a session that opens the device takes the same streams over,
with the audio the listener held for it (:meth:`Listener.take_held`), so that nothing is lost
at the join. Its close leaves the streams to the listener.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np

from appliance.audio.backend import AudioBackend, CaptureCallback, ErrorCallback
from appliance.audio.playback import Playback

log = logging.getLogger(__name__)

T = TypeVar("T")


async def finish_even_if_cancelled(future: asyncio.Future[T]) -> T:
    """Await ``future`` to its end. If the awaiting task is cancelled meanwhile, keep waiting
    for ``future`` and re-raise the cancellation afterwards."""
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(future)
            break
        except asyncio.CancelledError:
            if future.done():
                if future.cancelled():
                    raise
                result = future.result()
                cancelled = True
                break
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


class Listener(Protocol):
    """What listens to the microphone between sessions (:mod:`appliance.wake`). Its methods
    are called on the audio thread, under the device's routing lock."""

    def capture(self, block: np.ndarray, captured: float, session: bool) -> None:
        """A captured block; ``session``: a session gets it too."""

    def take_held(self) -> list[np.ndarray]:
        """The audio held for the session that takes the streams over now (oldest first)."""

    def failed(self, message: str) -> None:
        """The device failed while only the listener had it."""


class AudioDevice:
    """The async, serialized owner of one backend. ``is_open`` is true from the end of a
    successful :meth:`open` (or :meth:`listen`) to the start of the next real close."""

    def __init__(self, backend: AudioBackend) -> None:
        self.backend = backend
        self.is_open = False
        self.opens = 0
        """Successful opens so far (each is matched by exactly one backend close)."""
        self.closes = 0
        self.listener: Listener | None = None
        """Set once, before the first open: the streams are then routed through the device
        (:meth:`listen`)."""
        self.listening = False
        """The listener wants the streams open between sessions."""
        self._session = False
        self._sink: CaptureCallback | None = None
        self._session_error: ErrorCallback | None = None
        self._route = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio-device")

    @property
    def name(self) -> str:
        return self.backend.name

    async def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> list[np.ndarray]:
        """Open the backend for a session (on the device thread). Raises what the backend
        raises, e.g. :class:`~appliance.audio.backend.AudioError`. If the caller is cancelled
        meanwhile, the open still completes; the caller's :meth:`close` then closes it.
        Returns the audio the listener held for this session (empty without one)."""
        return await self._run(self._open_session, playback, on_capture, on_error)

    async def close(self) -> None:
        """End the session's use: close the backend if it is open and no listener keeps it;
        returns once its streams are gone, even when the calling task is cancelled meanwhile
        (the cancellation is re-raised afterwards)."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._close_session)
        await finish_even_if_cancelled(future)

    async def listen(self, playback: Playback) -> None:
        """Keep the streams open for the listener between sessions (opened now if closed).
        Raises what the backend raises."""
        await self._run(self._listen, playback)

    async def unlisten(self) -> None:
        """The listener no longer wants the streams: closed now unless a session has them."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._unlisten)
        await finish_even_if_cancelled(future)

    async def cue(self, playback: Playback, samples: np.ndarray) -> None:
        """Play a sound cue (24 kHz mono int16), in turn with the opens and closes: mixed into
        ``playback`` while a session has the device open, else on the output alone (backends
        with a ``play`` method; others skip it). A cue that cannot play is logged, never
        raised: it must not disturb what follows."""
        await self._run(self._cue, playback, samples)

    async def shutdown(self) -> None:
        """Close, finalise the backend (an output WAV's header; PyAudio's PortAudio, which it
        keeps initialised from session to session), stop the device thread. The app's exit."""
        await self.close()
        finish = getattr(self.backend, "finish", None)
        if finish is not None:
            await self._run(finish)
        self._executor.shutdown(wait=True)

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # --- on the device thread ----------------------------------------------------------------

    def _open_session(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> list[np.ndarray]:
        if self.listener is None:
            self._open(playback, on_capture, on_error)
            return []
        with self._route:  # every block is either held (before) or the session's (after)
            held = self.listener.take_held()
            self._sink, self._session_error = on_capture, on_error
        self._session = True
        if not (self.is_open and self.listening):
            self._open(playback, self._capture, self._error)
        elif self._microphone_only is not None:
            # the microphone runs alone: the speaker (and the processing) join it
            self.backend.open(playback, self._capture, self._error)
        return held

    def _close_session(self) -> None:
        with self._route:
            self._sink = self._session_error = None
        self._session = False
        if not self.listening:
            self._close()
        elif self.is_open and self._microphone_only is not None:
            self.backend.close_speaker()  # type: ignore[attr-defined]

    @property
    def _microphone_only(self) -> Any:
        """The backend's way to run the microphone alone, if it has one (PyAudio)."""
        return getattr(self.backend, "open_microphone", None)

    def _listen(self, playback: Playback) -> None:
        self.listening = True
        if not self.is_open:
            try:
                if self._microphone_only is not None:
                    self._microphone_only(self._capture, self._error)
                    self.is_open = True
                    self.opens += 1
                else:
                    self._open(playback, self._capture, self._error)
            except BaseException:
                self.listening = False
                try:
                    self.backend.close()
                except Exception:
                    log.debug("close after a failed open failed", exc_info=True)
                raise

    def _unlisten(self) -> None:
        self.listening = False
        if not self._session:
            self._close()

    def _capture(self, block: np.ndarray, captured: float) -> None:  # the audio thread
        with self._route:
            sink, listener = self._sink, self.listener
            if sink is not None:
                sink(block, captured)
            if listener is not None:
                listener.capture(block, captured, sink is not None)

    def _error(self, message: str) -> None:  # any thread
        with self._route:
            report, listener = self._session_error, self.listener
        if report is not None:
            report(message)
        elif listener is not None:
            listener.failed(message)

    def _open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        if self.is_open:
            self._close()
        try:
            self.backend.open(playback, on_capture, on_error)
        except BaseException:
            # a failed open cleans up after itself; make sure nothing half-open is left
            try:
                self.backend.close()
            except Exception:
                log.debug("close after a failed open failed", exc_info=True)
            raise
        self.is_open = True
        self.opens += 1

    def _cue(self, playback: Playback, samples: np.ndarray) -> None:
        if self.is_open:
            playback.cue(samples)
            return
        play = getattr(self.backend, "play", None)
        if play is None:
            return
        try:
            play(playback.volume.steady(samples))  # as loud as if mixed into the stream
        except Exception as exc:
            log.warning("audio: a sound cue did not play: %s", exc)

    def _close(self) -> None:
        if not self.is_open:
            return
        self.is_open = False
        self.closes += 1
        self.backend.close()
