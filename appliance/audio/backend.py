"""The interface every audio backend implements (WAV files, PyAudio, none).

A backend owns the device clock. Once :meth:`AudioBackend.open` ed it calls ``on_capture`` with
blocks of wire-format audio (24 kHz mono int16 ndarray) from its own thread, and pulls blocks to
play from :class:`~appliance.audio.playback.Playback`. It is opened when a session goes live and
closed when it ends, so an unplugged device is found again on the next start (with the wake
word on, the microphone stays open between sessions: :mod:`appliance.audio.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from appliance.audio.playback import Playback

CaptureCallback = Callable[[np.ndarray, float], None]
"""Called with (int16 samples at 24 kHz mono, capture time from ``time.perf_counter()``)."""

ErrorCallback = Callable[[str], None]
"""Called (from any thread) when the device fails; the text is shown to the user."""


class AudioError(Exception):
    """An audio device cannot be opened or failed; the message names the device and the cause."""


class AudioBackend(Protocol):
    name: str

    def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        """Start capture and playback; raise :class:`AudioError` if a device is missing."""

    def close(self) -> None:
        """Stop both streams. Safe to call twice or after a failed open."""


class NullBackend:
    """No sound at all (``audio.backend = "none"``): plays into the void, captures nothing."""

    name = "none"

    def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        pass

    def close(self) -> None:
        pass
