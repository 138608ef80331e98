"""PCM helpers: wire format conversions, channel mixing, the streaming resampler, and the
backend's capture/playback converters (device format <-> 24 kHz mono int16)."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from appliance.audio.pcm import (
    WIRE_RATE,
    Resampler,
    ms_to_samples,
    resample,
    samples_to_ms,
    to_channels,
    to_float,
    to_int16,
    to_mono,
)
from appliance.audio.playback import Playback
from appliance.audio.pyaudio_backend import DEVICE_QUALITY, CaptureConverter, PlaybackConverter
from appliance.rig.sound import db, dominant_frequency, rms, tone

DEVICE_RATES = [16_000, 44_100, 48_000]


def stream(resampler: Resampler, signal: np.ndarray, block: int) -> np.ndarray:
    """Resample ``signal`` in blocks of ``block`` samples, as a device callback would."""
    out = [resampler.process(signal[i : i + block]) for i in range(0, len(signal), block)]
    out.append(resampler.process(np.zeros(0, dtype=np.float32), last=True))
    return np.concatenate(out)


@pytest.mark.parametrize("rate", DEVICE_RATES)
@pytest.mark.parametrize("direction", ["to_wire", "from_wire"])
def test_streamed_resampling_keeps_pitch_level_and_length(rate: int, direction: str) -> None:
    in_rate, out_rate = (rate, WIRE_RATE) if direction == "to_wire" else (WIRE_RATE, rate)
    freq, amplitude, seconds = 1000.0, 0.5, 1.0
    signal = tone(freq, seconds, in_rate, amplitude)
    out = stream(Resampler(in_rate, out_rate), signal, block=round(in_rate * 0.02))
    assert len(out) == pytest.approx(seconds * out_rate, abs=out_rate * 0.005)
    middle = out[out_rate // 10 : -out_rate // 10]
    assert dominant_frequency(middle, out_rate) == pytest.approx(freq, abs=1)
    assert db(rms(middle) / (amplitude / np.sqrt(2))) == pytest.approx(0, abs=0.1)
    # no clicks between blocks: the streamed result matches the one-shot resampling
    whole = resample(signal, in_rate, out_rate)
    n = min(len(whole), len(out))
    assert np.max(np.abs(out[n // 10 : n - n // 10] - whole[n // 10 : n - n // 10])) < 1e-3


def test_resampling_to_a_lower_rate_removes_what_it_cannot_carry() -> None:
    # 10 kHz is above 8 kHz (Nyquist of 16 kHz): it must vanish, not alias to 6 kHz
    out = resample(tone(10_000, 0.5, WIRE_RATE, 0.5), WIRE_RATE, 16_000)
    assert db(rms(out[1000:-1000]) / 0.35) < -60


def test_same_rate_passes_through() -> None:
    x = tone(440, 0.1, WIRE_RATE, 0.5)
    assert np.array_equal(Resampler(WIRE_RATE, WIRE_RATE).process(x), x)


def test_int16_conversions_round_trip_and_clip() -> None:
    x = np.array([0.0, 0.5, -0.5, 1.5, -1.5], dtype=np.float32)
    pcm = to_int16(x)
    assert pcm.tolist() == [0, 16384, -16384, 32767, -32768]
    back = to_float(pcm.astype("<i2").tobytes())
    assert back.dtype == np.float32
    assert back[:3] == pytest.approx([0.0, 0.5, -0.5], abs=1e-4)


def test_ms_and_samples() -> None:
    assert ms_to_samples(20) == 480
    assert samples_to_ms(480) == 20
    assert samples_to_ms(44_100, 44_100) == 1000


def test_mono_and_stereo_mixing() -> None:
    left = np.array([1.0, 0.5, 0.0], dtype=np.float32)
    right = np.array([0.0, 0.5, -1.0], dtype=np.float32)
    assert to_mono(np.stack([left, right], axis=1)).tolist() == [0.5, 0.5, -0.5]
    assert to_mono(left) is left
    stereo = to_channels(left, 2)
    assert stereo.shape == (3, 2)
    assert np.array_equal(stereo[:, 0], left) and np.array_equal(stereo[:, 1], left)
    assert to_channels(left, 1).shape == (3, 1)


@pytest.mark.parametrize("rate", DEVICE_RATES)
@pytest.mark.parametrize("channels", [1, 2])
def test_capture_converter_gives_wire_audio(rate: int, channels: int) -> None:
    mono = tone(700, 1.0, rate, 0.4)
    frames = to_channels(mono, channels)
    if channels == 2:
        frames = frames.copy()
        frames[:, 1] *= 0.5  # the two channels are averaged
    data = to_int16(frames).astype("<i2").tobytes()
    converter = CaptureConverter(rate, channels)
    block = round(rate * 0.02) * channels * 2
    out = np.concatenate(
        [converter.convert(data[i : i + block]) for i in range(0, len(data), block)]
    )
    assert out.dtype == np.int16 and out.ndim == 1
    # all of it but the resampler's filter delay, which stays short (see DEVICE_QUALITY)
    assert WIRE_RATE * 0.99 <= len(out) <= WIRE_RATE
    x = to_float(out)[WIRE_RATE // 10 : -WIRE_RATE // 10]
    assert dominant_frequency(x, WIRE_RATE) == pytest.approx(700, abs=1)
    expected = 0.4 * (0.75 if channels == 2 else 1.0) / np.sqrt(2)
    assert db(rms(x) / expected) == pytest.approx(0, abs=0.1)


def chirp(f0: float, f1: float, seconds: float, rate: int, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * (f0 * t + (f1 - f0) / (2 * seconds) * t**2)
    return (amplitude * np.sin(phase)).astype(np.float32)


@pytest.mark.parametrize("rate", DEVICE_RATES)
@pytest.mark.parametrize("channels", [1, 2])
def test_playback_converter_fills_exact_device_blocks(rate: int, channels: int) -> None:
    playback = Playback()
    signal = np.concatenate([tone(500, 1.0, WIRE_RATE, 0.5), chirp(200, 4000, 0.5, WIRE_RATE, 0.5)])
    playback.push("item", to_int16(signal).astype("<i2").tobytes())
    converter = PlaybackConverter(playback, rate, channels)
    rng = np.random.default_rng(3)
    blocks = []
    while sum(len(b) for b in blocks) < rate * 1.7:
        frames = int(rng.integers(1, round(rate * 0.05)))
        data = converter.fill(frames)
        assert len(data) == frames * channels * 2
        blocks.append(np.frombuffer(data, dtype="<i2").reshape(-1, channels))
    out = np.concatenate(blocks)
    if channels == 2:
        assert np.array_equal(out[:, 0], out[:, 1])
    x = to_float(out[:, 0].copy())
    middle = x[rate // 10 : rate - rate // 10]
    assert dominant_frequency(middle, rate) == pytest.approx(500, abs=1)
    assert db(rms(middle) / (0.5 / np.sqrt(2))) == pytest.approx(0, abs=0.1)
    # continuous: no sample lost, repeated or clicked in the chirp, whatever the block sizes
    whole = soxr.resample(signal, WIRE_RATE, rate, DEVICE_QUALITY)
    lag = int(np.argmax(np.correlate(x[rate : rate + rate // 5], whole[rate : rate + rate // 10])))
    assert 0 <= lag <= rate * 0.01  # only the resampler's short start-up delay
    x = x[lag:]
    assert (
        np.max(np.abs(x[rate // 10 : len(whole) - rate // 10] - whole[rate // 10 : -rate // 10]))
        < 3e-3
    )
    assert playback.queued_ms == 0


@pytest.mark.parametrize("rate", DEVICE_RATES)
def test_playback_converter_goes_silent_within_a_block_after_clear(rate: int) -> None:
    playback = Playback()
    playback.push("item", to_int16(tone(440, 2.0, WIRE_RATE, 0.5)).astype("<i2").tobytes())
    converter = PlaybackConverter(playback, rate, 1)
    block = round(rate * 0.02)
    for _ in range(10):
        converter.fill(block)
    playback.clear()
    assert not np.any(np.frombuffer(converter.fill(block), dtype="<i2"))
    # and the next item starts cleanly
    playback.push("next", to_int16(tone(440, 0.1, WIRE_RATE, 0.5)).astype("<i2").tobytes())
    assert np.any(np.frombuffer(converter.fill(block) + converter.fill(block), dtype="<i2"))


def test_playback_converter_plays_the_end_of_an_item_out() -> None:
    # the resampler's held-back tail of a finished item is played, not dropped like on clear()
    playback = Playback()
    signal = tone(440, 0.1, WIRE_RATE, 0.5)
    playback.push("item", to_int16(signal).astype("<i2").tobytes())
    converter = PlaybackConverter(playback, 44_100, 1)
    out = np.concatenate([np.frombuffer(converter.fill(441), dtype="<i2") for _ in range(20)])
    span = np.flatnonzero(np.abs(out) > 1000)
    assert (span[-1] - span[0]) / 44_100 == pytest.approx(0.1, abs=0.002)
