"""``appliance devices --test-echo``: check a real device's echo path and what cancelling leaves.

Plays a chirp and a voice on the configured devices with cancelling on (the PyAudio backend
and :mod:`appliance.audio.echo`'s processor), and reports the echo's delay (DAC -> ADC), its
level at the microphone and what is left of it after cancelling, with a verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from appliance.audio.echo import RATE, cancel_available
from appliance.audio.pcm import to_int16

if TYPE_CHECKING:
    from appliance.config import AudioConfig


@dataclass
class EchoTest:
    input_name: str
    output_name: str
    delay_ms: float | None  # DAC -> ADC of the chirp's echo, on PortAudio's clocks
    echo_dbfs: float  # the echo's level at the microphone, while the voice played
    left_dbfs: float  # what was left of it after cancelling
    erle_db: float | None

    def report(self) -> str:
        delay = "not found" if self.delay_ms is None else f"{self.delay_ms:.0f} ms"
        lines = [
            f"echo test: output {self.output_name!r} -> input {self.input_name!r}",
            f"  echo delay (DAC -> ADC, by a chirp): {delay}",
            f"  echo at the microphone: {self.echo_dbfs:.1f} dBFS",
            f"  left after cancelling: {self.left_dbfs:.1f} dBFS"
            + (f" (ERLE {self.erle_db:.1f} dB)" if self.erle_db is not None else ""),
        ]
        if self.echo_dbfs < -55:
            verdict = (
                "no echo heard: the speaker is off or far from the microphone (full-duplex "
                "would do), or the microphone is muted"
            )
        elif self.left_dbfs <= -45:
            verdict = 'ok: echo = "cancel" removes the echo here; talking over the voice works'
        else:
            verdict = (
                "echo left above -45 dBFS: a server VAD may hear it; lower the speaker volume "
                "or move it away, or use half-duplex"
            )
        lines.append(f"  {verdict}")
        return "\n".join(lines)


def test_echo(config: AudioConfig, voice_s: float = 8.0) -> EchoTest:
    """Play a chirp and then a voice on the configured devices with cancelling on; measure
    the echo's delay, its level, and what is left of it. Raises AudioError (no device) and
    RuntimeError (no canceller)."""
    from appliance.audio.playback import Playback
    from appliance.audio.pyaudio_backend import PyAudioBackend
    from appliance.sim.voice import synth_speech

    why = cancel_available()
    if why is not None:
        raise RuntimeError(f"echo cancelling is not available: {why}")
    config = config.model_copy(update={"echo": "cancel", "noise_suppression": "off"})
    backend = PyAudioBackend(config)
    playback = Playback()
    raw: list[tuple[np.ndarray, float]] = []
    errors: list[str] = []
    t = np.arange(RATE // 2) / RATE
    chirp = 0.25 * np.sin(2 * np.pi * (200 * t + 3800 * t**2))
    backend.open(playback, lambda samples, at: None, errors.append)
    try:
        processor = backend.processor
        if processor is None or not processor.cancelling:
            raise RuntimeError("the echo canceller did not load (see the log)")
        processor.tap = lambda near, adc: raw.append((near.copy(), adc))
        time.sleep(1.0)  # the streams settle
        began = time.perf_counter()
        playback.push("chirp", to_int16(chirp.astype(np.float32)))
        time.sleep(1.2)
        reference = processor.reference.take(began - 0.2, round(1.4 * RATE))
        mic_at = began - 0.2
        mic = _timeline(raw, mic_at, len(reference))
        # the voice: what cancelling leaves of it, after it has had 3 s to learn
        playback.push("voice", np.frombuffer(synth_speech(voice_s), dtype="<i2"))
        time.sleep(3.0)
        stats = processor.stats
        stats.echo_in = stats.echo_out = 0.0
        stats.echo_frames = 0
        time.sleep(voice_s - 3.0 + 0.3)
    finally:
        backend.close()
    if errors:
        raise RuntimeError(errors[0])
    delay = None
    if np.any(reference) and np.any(mic):
        size = 1 << (2 * len(mic)).bit_length()
        corr = np.fft.irfft(
            np.fft.rfft(mic.astype(np.float64), size)
            * np.conj(np.fft.rfft(reference.astype(np.float64), size)),
            size,
        )[: RATE // 2]
        if np.max(np.abs(corr)) > 0:
            delay = float(np.argmax(np.abs(corr))) * 1000 / RATE
    frames = max(stats.echo_frames, 1)
    echo_dbfs = 10 * np.log10(max(stats.echo_in / frames, 1e-3) / 32768**2)
    left_dbfs = 10 * np.log10(max(stats.echo_out / frames, 1e-3) / 32768**2)
    assert backend.input_device is not None and backend.output_device is not None
    return EchoTest(
        backend.input_device.name,
        backend.output_device.name,
        delay,
        float(echo_dbfs),
        float(left_dbfs),
        stats.erle_db,
    )


def _timeline(frames: list[tuple[np.ndarray, float]], start: float, n: int) -> np.ndarray:
    """Raw microphone frames laid out on their ADC times, ``n`` samples from ``start``."""
    out = np.zeros(n, dtype=np.int16)
    for samples, at in frames:
        k = round((at - start) * RATE)
        lo, hi = max(k, 0), min(k + len(samples), n)
        if hi > lo:
            out[lo:hi] = samples[lo - k : hi - k]
    return out
