"""Speech for the microphone, as signals and WAV files: a synthetic speech-like signal (the
same on every machine) and espeak-ng's voice; and reading a WAV's levels back.

    write_speech_wav(path, [(0.5, 1.2)], total_s=4.2)   # 1.2 s of "speech" from 0.5 s
    espeak_wav(path, "Where is the bathroom?")            # a real voice, when installed
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

ESPEAK_TIMEOUT_S = 60.0
"""The longest espeak-ng may take to say a phrase."""


def speech_like(seconds: float, rate: int, f0: float = 140.0, level: float = 0.3) -> np.ndarray:
    """A voiced, syllable-modulated signal: energetic like speech, deterministic."""
    t = np.arange(int(seconds * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    return (level * voiced * envelope / 2.0).astype(np.float32)


def write_speech_wav(
    path: Path,
    segments: list[tuple[float, float]],
    total_s: float,
    rate: int = 48_000,
    channels: int = 2,
    level: float = 0.3,
) -> Path:
    """A WAV with speech in the given (start_s, duration_s) segments, silence elsewhere."""
    signal_ = np.zeros(int(total_s * rate), dtype=np.float32)
    for start, duration in segments:
        chunk = speech_like(duration, rate, level=level)
        i = int(start * rate)
        signal_[i : i + len(chunk)] += chunk[: len(signal_) - i]
    pcm = (np.clip(signal_, -1, 1) * 32767).astype("<i2")
    frames = np.repeat(pcm.reshape(-1, 1), channels, axis=1)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames.tobytes())
    return path


def write_float_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """A mono PCM16 WAV of ``samples`` (float in [-1, 1], rounded and clipped)."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def read_wav_levels(path: Path, window_s: float = 0.1) -> tuple[int, np.ndarray]:
    """(rate, RMS per window) of a mono PCM16 WAV."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
    n = int(rate * window_s)
    windows = data[: len(data) // n * n].reshape(-1, n) / 32768.0
    return rate, np.sqrt((windows**2).mean(axis=1)) if len(windows) else np.zeros(0)


def espeak_file(
    path: Path,
    text: str,
    voice: str | None = None,
    *,
    speed: int | None = None,
    pitch: int | None = None,
) -> Path | None:
    """``text`` spoken by espeak-ng into the WAV ``path`` as it writes it (its own rate and
    level; its default voice unless ``voice``; ``speed`` in words per minute, default 175;
    ``pitch`` 0-99, default 50), or None when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    options = [*(["-v", voice] if voice else [])]
    options += [*(["-s", str(speed)] if speed else []), *(["-p", str(pitch)] if pitch else [])]
    command = ["espeak-ng", *options, "-w", str(path), text]
    subprocess.run(command, check=True, capture_output=True, timeout=ESPEAK_TIMEOUT_S)
    return path


def espeak(
    text: str,
    *,
    voice: str = "en-us",
    rate: int = 24_000,
    level_dbfs: float = -12.0,
    speed: int | None = None,
    pitch: int | None = None,
) -> np.ndarray | None:
    """``text`` spoken by espeak-ng at ``rate`` (float; voiced parts at ``level_dbfs``;
    ``speed`` and ``pitch`` as for :func:`espeak_file`), or None when espeak-ng is not
    installed."""
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        path = espeak_file(Path(tmp) / "s.wav", text, voice, speed=speed, pitch=pitch)
        if path is None:
            return None
        with wave.open(str(path)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
            spoken_rate = w.getframerate()
    x = soxr.resample(pcm, spoken_rate, rate).astype(np.float32)
    loud = np.abs(x) > 0.01
    if loud.any():
        x *= 10 ** (level_dbfs / 20) / float(np.sqrt(np.mean(x[loud] ** 2)))
    return x


def espeak_wav(
    path: Path,
    text: str,
    *,
    voice: str = "en-gb",
    rate: int = 48_000,
    level_dbfs: float = -20.0,
) -> Path:
    """``text`` spoken by espeak-ng (by default a British voice, unlike any model voice) as a
    mono WAV at ``rate``, voiced parts at ``level_dbfs``. Fails if espeak-ng is missing."""
    x = espeak(text, voice=voice, rate=rate, level_dbfs=level_dbfs)
    if x is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    return write_float_wav(path, x, rate)
