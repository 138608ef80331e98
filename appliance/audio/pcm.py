"""PCM helpers: the wire format, channel mixing and resampling (soxr, band-limited)."""

from __future__ import annotations

import numpy as np
import soxr

WIRE_RATE = 24_000
"""Sample rate of the realtime API's audio, both ways."""
SAMPLE_BYTES = 2


def ms_to_samples(ms: float, rate: int = WIRE_RATE) -> int:
    return round(ms * rate / 1000)


def samples_to_ms(samples: int, rate: int = WIRE_RATE) -> int:
    return int(samples * 1000 // rate)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to int16, clipped."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def to_float(pcm: bytes | np.ndarray) -> np.ndarray:
    """PCM16 bytes (or an int16 array) to float32 in [-1, 1]."""
    data = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes | bytearray) else pcm
    return data.astype(np.float32) / 32768.0


def to_mono(frames: np.ndarray) -> np.ndarray:
    """Mix an interleaved (n, channels) array down to mono by averaging the channels."""
    if frames.ndim == 1:
        return frames
    return frames.mean(axis=1, dtype=np.float32)


def to_channels(mono: np.ndarray, channels: int) -> np.ndarray:
    """Up-mix mono to ``channels`` identical channels, shape (n, channels)."""
    if channels == 1:
        return mono.reshape(-1, 1)
    return np.repeat(mono.reshape(-1, 1), channels, axis=1)


class Resampler:
    """Streaming band-limited resampler for one mono stream (keeps filter state across blocks)."""

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, "float32", quality)
        )

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples, last=last)


def resample(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resample a whole mono float signal in one go."""
    if in_rate == out_rate:
        return np.asarray(samples, dtype=np.float32)
    return soxr.resample(np.asarray(samples, dtype=np.float32), in_rate, out_rate, "HQ")
