"""The avatar meter: Deep Chat's analyser maths (256-point FFT, Blackman, smoothing 0.8,
-100..-30 dB, mean of the byte bins / 255) on played PCM."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from appliance.audio.meter import FFT_SIZE, Analyser, byte_frequency_data, loudness, scale_for
from appliance.audio.pcm import WIRE_RATE

MAX_SCALE = 2.5
BLOCK = 480  # 20 ms at 24 kHz, what the output stream reads


def settled_scale(signal: np.ndarray, max_scale: float = MAX_SCALE) -> float:
    """Feed ``signal`` block by block, as playback does, and return the final scale."""
    analyser = Analyser(max_scale)
    for start in range(0, len(signal) - BLOCK + 1, BLOCK):
        analyser.feed(signal[start : start + BLOCK])
    return analyser.scale


def noise(amplitude: float, seconds: float = 0.5, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.uniform(-1, 1, round(seconds * WIRE_RATE))).astype(np.float32)


def test_silence_keeps_the_avatar_at_its_size() -> None:
    analyser = Analyser(MAX_SCALE)
    for _ in range(10):
        assert analyser.feed(np.zeros(BLOCK, dtype=np.float32)) == 1.0
    assert analyser.level == 0.0


def test_scale_grows_with_the_level() -> None:
    amplitudes = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
    scales = [settled_scale(noise(a)) for a in amplitudes]
    assert all(a < b for a, b in pairwise(scales)), scales
    assert all(1.0 < s <= MAX_SCALE for s in scales)


def test_full_scale_broadband_sound_is_near_max_scale() -> None:
    scale = settled_scale(noise(1.0))
    assert scale == pytest.approx(MAX_SCALE, abs=0.25)


def test_full_scale_voice_moves_the_avatar_well_above_a_sine() -> None:
    # harmonics of a 150 Hz voice up to 6 kHz, like a loud vowel: the bins above 6 kHz and
    # between harmonics stay low, so it lands between a sine and broadband noise
    t = np.arange(WIRE_RATE // 2) / WIRE_RATE
    voice = sum(np.sin(2 * np.pi * 150 * k * t + k) / k**0.5 for k in range(1, 41))
    voice = (voice / np.max(np.abs(voice))).astype(np.float32)
    sine = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    assert settled_scale(sine) + 0.3 < settled_scale(voice) < settled_scale(noise(1.0))


def test_a_pure_sine_fills_few_bins_so_its_scale_stays_small() -> None:
    # Deep Chat's maths averages all 128 bins: a full-scale sine lights up only the few around
    # its frequency (the Blackman window's main lobe and skirts), so the mean stays low. This is
    # what the web component does too; the avatar reacts to broadband sound such as speech.
    t = np.arange(WIRE_RATE // 2) / WIRE_RATE
    sine = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    scale = settled_scale(sine)
    assert 1.0 < scale < 1.3


def test_smoothing_makes_the_meter_fall_gradually() -> None:
    analyser = Analyser(MAX_SCALE)
    for _ in range(10):
        analyser.feed(noise(0.5, seconds=BLOCK / WIRE_RATE))
    loud = analyser.scale
    after = [analyser.feed(np.zeros(BLOCK, dtype=np.float32)) for _ in range(3)]
    assert loud > after[0] > after[1] > after[2] > 1.0


def test_bins_match_web_audio_ranges() -> None:
    bins, smoothed = byte_frequency_data(noise(1.0, seconds=FFT_SIZE / WIRE_RATE), None)
    assert bins.dtype == np.uint8 and len(bins) == FFT_SIZE // 2 == len(smoothed)
    quiet, _ = byte_frequency_data(np.full(FFT_SIZE, 1e-7, dtype=np.float32), None)
    assert quiet.max() == 0  # below minDecibels


def test_short_frames_are_padded() -> None:
    bins, _ = byte_frequency_data(noise(1.0, seconds=100 / WIRE_RATE), None)
    assert len(bins) == FFT_SIZE // 2 and bins.max() > 0


def test_scale_formula_and_reset() -> None:
    assert loudness(np.full(128, 255, dtype=np.uint8)) == 1.0
    assert scale_for(1.0, MAX_SCALE) == MAX_SCALE
    assert scale_for(0.5, 3.0) == 2.0
    analyser = Analyser(MAX_SCALE)
    analyser.feed(noise(1.0, seconds=BLOCK / WIRE_RATE))
    analyser.reset()
    assert (analyser.scale, analyser.level) == (1.0, 0.0)
