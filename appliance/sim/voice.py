"""A speech-like voice for the simulator's answers: audible, deterministic, no samples needed.

The signal is a voiced tone (a falling, slightly wavering pitch near 140 Hz with eight
harmonics whose weights move like vowel formants) cut into syllables of 220 ms by a smooth
envelope, with a pause every fifth syllable like the gap between words. It is normalised so
that its voiced parts sit at about -12 dBFS RMS, with 10 ms fades at both ends.
"""

from __future__ import annotations

import numpy as np

RATE = 24_000
SYLLABLE_S = 0.22


def synth_speech(seconds: float, *, level_dbfs: float = -12.0, f0: float = 140.0) -> bytes:
    """``seconds`` of speech-like PCM16 mono at 24 kHz (little-endian bytes)."""
    n = max(0, round(seconds * RATE))
    if n == 0:
        return b""
    t = np.arange(n, dtype=np.float64) / RATE
    pitch = f0 * (1.0 + 0.06 * np.sin(2 * np.pi * 0.9 * t)) * (1.0 - 0.12 * t / max(seconds, 1e-9))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    syllable = np.floor(t / SYLLABLE_S)
    vowel = np.sin(syllable * 2.3) * 0.5 + 0.5  # 0..1, changes per syllable
    signal = np.zeros(n)
    for k in range(1, 9):
        formant = 1.0 + 0.9 * np.cos((k - 2 - 4 * vowel) * 0.8)
        signal += formant / k * np.sin(k * phase)
    within = (t % SYLLABLE_S) / SYLLABLE_S
    envelope = np.sin(np.pi * within) ** 2
    envelope[(syllable % 5) == 4] = 0.0  # a pause between "words"
    signal *= envelope
    voiced = envelope > 0.1
    rms = float(np.sqrt(np.mean(signal[voiced] ** 2))) if voiced.any() else 0.0
    if rms > 0:
        signal *= 10 ** (level_dbfs / 20) / rms
    peak = float(np.max(np.abs(signal)))
    if peak > 0.95:
        signal *= 0.95 / peak
    fade = min(n // 2, RATE // 100)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        signal[:fade] *= ramp
        signal[-fade:] *= ramp[::-1]
    return np.round(signal * 32767).astype("<i2").tobytes()
