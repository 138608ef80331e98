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
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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


class AudioDevice:
    """The async, serialized owner of one backend. ``is_open`` is true from the end of a
    successful :meth:`open` to the start of the next :meth:`close`."""

    def __init__(self, backend: AudioBackend) -> None:
        self.backend = backend
        self.is_open = False
        self.opens = 0
        """Successful opens so far (each is matched by exactly one backend close)."""
        self.closes = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio-device")

    @property
    def name(self) -> str:
        return self.backend.name

    async def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        """Open the backend (on the device thread). Raises what the backend raises, e.g.
        :class:`~appliance.audio.backend.AudioError`. If the caller is cancelled meanwhile,
        the open still completes; the caller's :meth:`close` then closes it."""
        await self._run(self._open, playback, on_capture, on_error)

    async def close(self) -> None:
        """Close the backend if it is open; returns once its streams are gone, even when the
        calling task is cancelled meanwhile (the cancellation is re-raised afterwards)."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._close)
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
