"""Hands-free: the wake word starts a session (``[wake]``, README "Hands-free").

:class:`WakeListener` is the audio device's :class:`~appliance.audio.lifecycle.Listener`.
While no session has the microphone it runs each captured block through the
:class:`~appliance.audio.wake.Detector`, on the audio thread, and keeps the last
:data:`~appliance.audio.wake.PRE_ROLL_MS` of it; nothing is sent anywhere. On a detection it
keeps that pre-roll and everything after it (bounded) for the session that the detection
starts, which takes it over when it opens the device, so the words said right after the wake
word reach the model whole. During a session the detector runs only while the model speaks and
an echo canceller cleans the microphone (a spoken barge-in); otherwise what it hears is
ignored. It hears every block all the same, so its memory holds no old word when it counts
again.

The appliance (:mod:`appliance.app`) decides when the device listens (idle or in error, not
muted) and what a detection does (:meth:`WakeListener.on_wake` is called on the audio thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from appliance.audio.pcm import ms_to_samples
from appliance.audio.wake import HOLD_MAX_S, PRE_ROLL_MS, Detector, PreRoll, Refractory

log = logging.getLogger("appliance")


class WakeListener:
    """Routes the microphone between the detector, the pre-roll and the held audio.

    ``barge_in`` (called on the audio thread) says whether a detection during a session counts
    now (the model speaks and an echo canceller runs); ``on_wake`` and ``on_error`` are called
    on the audio thread.
    """

    def __init__(
        self,
        detector: Detector,
        refractory_s: float,
        *,
        on_wake: Callable[[], None],
        on_error: Callable[[str], None],
        barge_in: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.detector = detector
        self.refractory = Refractory(refractory_s)
        self.on_wake = on_wake
        self.on_error = on_error
        self.barge_in = barge_in
        self.clock = clock
        self.pre_roll = PreRoll(ms_to_samples(PRE_ROLL_MS))
        self.held: PreRoll | None = None
        """The audio kept for the session a detection started, while it comes up."""
        self.detections = 0
        self._lock = threading.Lock()

    @property
    def holding(self) -> bool:
        return self.held is not None

    def capture(self, block: np.ndarray, captured: float, session: bool) -> None:
        """A captured block (the audio thread)."""
        with self._lock:
            # the detector hears every block, used or not, so that it never judges new audio
            # with an old word still in its memory (a session's end would start another)
            heard = self.detector.feed(block)
            if session:
                if heard and self.barge_in() and self._allowed():
                    self.on_wake()
                return
            if self.held is not None:
                self.held.push(block)
                return
            self.pre_roll.push(block)
            if heard and self._allowed():
                self.held = PreRoll(ms_to_samples(HOLD_MAX_S * 1000))
                for kept in self.pre_roll.take():
                    self.held.push(kept)
                self.on_wake()

    def _allowed(self) -> bool:
        """A detection counts (outside the refractory period); it is logged."""
        if not self.refractory.allow(self.clock()):
            return False
        self.detections += 1
        log.info(
            "wake word %r heard (probability %.2f)",
            self.detector.wake_word,
            self.detector.last_probability,
        )
        return True

    def take_held(self) -> list[np.ndarray]:
        """The audio from just before the detection to now; listening as before afterwards."""
        with self._lock:
            held, self.held = self.held, None
            return held.take() if held is not None else []

    def release(self) -> None:
        """Drop the held audio (the session it was for did not start or failed)."""
        with self._lock:
            self.held = None
            self.pre_roll.clear()

    def failed(self, message: str) -> None:
        self.on_error(message)
