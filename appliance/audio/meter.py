"""The avatar's amplitude meter: Deep Chat's Web Audio analyser, reproduced on played PCM.

Deep Chat feeds the model's stream into an ``AnalyserNode`` (fftSize 256, Blackman window,
smoothingTimeConstant 0.8, minDecibels -100, maxDecibels -30) and scales the avatar by
``1 + mean(byteFrequencyData) / 255 * (maxScale - 1)``. :class:`Analyser` does the same maths on
the samples the output stream is playing right now, so the avatar moves with what is heard.
"""

from __future__ import annotations

import numpy as np

FFT_SIZE = 256
SMOOTHING = 0.8
MIN_DB = -100.0
MAX_DB = -30.0
_WINDOW = np.blackman(FFT_SIZE).astype(np.float64)


def byte_frequency_data(
    frame: np.ndarray, previous: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """One analyser step on the last ``FFT_SIZE`` float samples.

    Returns ``(bytes, smoothed)``: the 0..255 bins (as Web Audio's getByteFrequencyData) and the
    smoothed magnitudes to pass as ``previous`` next time.
    """
    if len(frame) < FFT_SIZE:
        frame = np.concatenate([np.zeros(FFT_SIZE - len(frame)), frame])
    spectrum = np.fft.rfft(frame[-FFT_SIZE:] * _WINDOW)[: FFT_SIZE // 2]
    magnitude = np.abs(spectrum) / FFT_SIZE
    smoothed = magnitude if previous is None else SMOOTHING * previous + (1 - SMOOTHING) * magnitude
    with np.errstate(divide="ignore"):
        db = 20.0 * np.log10(smoothed)
    scaled = np.floor(255.0 / (MAX_DB - MIN_DB) * (db - MIN_DB))
    return np.clip(np.nan_to_num(scaled, neginf=0.0), 0, 255).astype(np.uint8), smoothed


def loudness(bins: np.ndarray) -> float:
    """Mean of the byte bins over 255: 0.0 (silence) .. 1.0."""
    return float(bins.mean()) / 255.0


def scale_for(loud: float, max_scale: float) -> float:
    """Deep Chat's avatar scale: ``1 + loudness * (maxScale - 1)``."""
    return 1.0 + loud * (max_scale - 1.0)


class Analyser:
    """Stateful meter fed with played blocks; ``scale`` is read by the display at any time.

    ``scale`` and ``level`` are plain floats replaced atomically, so the display thread reads
    them without a lock.
    """

    def __init__(self, max_scale: float = 2.5) -> None:
        self.max_scale = max_scale
        self._smoothed: np.ndarray | None = None
        self.level = 0.0
        self.scale = 1.0

    def feed(self, samples: np.ndarray) -> float:
        """Analyse float samples that are being played now; returns the new scale."""
        bins, self._smoothed = byte_frequency_data(samples, self._smoothed)
        self.level = loudness(bins)
        self.scale = scale_for(self.level, self.max_scale)
        return self.scale

    def reset(self) -> None:
        self._smoothed = None
        self.level = 0.0
        self.scale = 1.0
