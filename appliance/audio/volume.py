"""The output volume: a software gain on the played audio, and its maths (pure, numpy).

``audio.volume`` is a percentage, 0 to 100. It maps to a gain on a square-law curve,
``gain = (percent / 100) ** 2``: half the setting is a quarter of the amplitude (-12 dB), 30 %
is -21 dB, 10 % is -40 dB, and 0 % is silence. Equal steps of the setting then sound roughly
like equal steps of loudness, where a straight line would crowd the audible change into the
lowest few percent.

:class:`Volume` holds the setting for the audio thread. :meth:`Volume.apply` scales each block
of int16 samples that :meth:`~appliance.audio.playback.Playback.read` hands to the device, so the
sound card, the echo canceller's reference (which is built from that same block) and a WAV
output all see the same gained samples. A change is ramped across one block (a few ms), so a
change while the model speaks makes no click.
"""

from __future__ import annotations

import re
import threading

import numpy as np

MIN_VOLUME = 0
MAX_VOLUME = 100
DEFAULT_VOLUME = 100
"""``audio.volume``'s default: the audio as the model sent it."""
DEFAULT_STEP = 10
"""``gpio.volume_step``'s default: percentage points per button press or encoder detent."""

_CHANGE = re.compile(r"\s*([+-]?)\s*(\d{1,3})\s*%?\s*")


def gain(percent: float) -> float:
    """The amplitude factor of ``percent`` (clamped to 0..100): ``(percent / 100) ** 2``."""
    fraction = clamp(percent) / MAX_VOLUME
    return fraction * fraction


def clamp(percent: float) -> int:
    """``percent`` rounded and kept within 0..100."""
    return int(min(MAX_VOLUME, max(MIN_VOLUME, round(percent))))


def parse_change(text: str | int, current: int) -> int:
    """The new volume from a command: ``N`` sets it, ``+N``/``-N`` move it (clamped to 0..100).

    Raises :class:`ValueError` with a message naming the form when ``text`` is none of them;
    an absolute value outside 0..100 is refused too (a relative one is clamped)."""
    if isinstance(text, bool):
        raise ValueError("volume: give N (0-100), +N or -N, like 30")
    if isinstance(text, int):
        text = str(text)
    match = _CHANGE.fullmatch(str(text))
    if match is None:
        raise ValueError(f"volume: {text!r} is not a volume; give N (0-100), +N or -N, like 30")
    sign, number = match.group(1), int(match.group(2))
    if sign == "+":
        return clamp(current + number)
    if sign == "-":
        return clamp(current - number)
    if number > MAX_VOLUME:
        raise ValueError(
            f"volume: {number} is over {MAX_VOLUME}; give 0 to {MAX_VOLUME}, +N or -N, like 30"
        )
    return number


def scale(samples: np.ndarray, start: float, end: float | None = None) -> np.ndarray:
    """``samples`` (int16) times a gain going linearly from ``start`` to ``end`` (default:
    ``start``) across the block, rounded and clipped to int16. At unity gain ``samples``
    itself comes back (int16 already), else a new array."""
    end = start if end is None else end
    if start == end == 1.0:
        return samples.astype(np.int16, copy=False)
    if start == end == 0.0:
        return np.zeros(len(samples), dtype=np.int16)
    if start == end:
        factor: float | np.ndarray = np.float32(start)
    else:
        n = len(samples)
        # the gain reaches ``end`` at the block's last sample
        factor = np.linspace(start, end, n, dtype=np.float32) if n > 1 else np.float32(end)
    out = np.rint(samples.astype(np.float32) * factor)
    return np.clip(out, -32768, 32767).astype(np.int16)


class Volume:
    """The live volume. :attr:`percent` is set from any thread; :meth:`apply` runs on the
    audio thread and moves the gain it applies to the new one across one block."""

    def __init__(self, percent: int = DEFAULT_VOLUME) -> None:
        self._percent = clamp(percent)
        self._lock = threading.Lock()
        self._applied = gain(self._percent)  # the gain at the end of the last block

    @property
    def percent(self) -> int:
        return self._percent

    @percent.setter
    def percent(self, value: int) -> None:
        self._percent = clamp(value)

    @property
    def gain(self) -> float:
        """The gain of the current setting (what :meth:`apply` reaches by a block's end)."""
        return gain(self._percent)

    def apply(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` (int16) at the current volume (the audio thread); see :func:`scale`."""
        target = gain(self._percent)
        with self._lock:
            start, self._applied = self._applied, target
        return scale(samples, start, target)

    def steady(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` (int16) at the current volume, no ramp, the ramp's state untouched: a
        sound played apart from the stream (a cue after the session's device closed)."""
        level = self.gain
        return scale(samples, level, level)
