"""The sound-card audio path, with real PyAudio streams.

* capture conversion: from a capture callback's entry to ``on_capture`` (device format -> 24 kHz
  mono int16), p50/p95;
* delta -> device: from an audio delta's push to its first sample being handed to the output
  callback, p50/p95 (about half a block on average: the callback comes once per block);
* resampler cost per block, each way;
* CPU of the process while streaming both ways (process CPU time / wall time).

By default it runs on a private virtual sound server (``scripts/lib/soundserver.sh``), or on the
one ``PULSE_SERVER`` points at. ``APPLIANCE_BENCH_AUDIO=devices`` measures the configured sound
card instead (``APPLIANCE_AUDIO__INPUT_DEVICE`` / ``..._OUTPUT_DEVICE`` choose it).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from appliance.audio.pcm import WIRE_RATE, to_int16
from appliance.audio.playback import Playback
from appliance.audio.pyaudio_backend import CaptureConverter, PlaybackConverter, PyAudioBackend
from appliance.bench import Row
from appliance.config import AudioConfig
from appliance.rig.process import wait_for
from appliance.rig.sound import sound_server


@contextmanager
def sound_path() -> Iterator[str]:
    """Yield a description of where the audio goes, with a sound server running if one is
    needed (:func:`appliance.rig.sound.sound_server`; ``APPLIANCE_BENCH_AUDIO=devices``: the
    configured sound card)."""
    if os.environ.get("APPLIANCE_BENCH_AUDIO") == "devices":
        yield "configured devices"
        return
    with sound_server(any_server=True):
        yield "virtual sound server"


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    return wait_for(predicate, timeout, interval=0.002)


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)) * 1000, 3)


def _tone(seconds: float) -> bytes:
    t = np.arange(round(seconds * WIRE_RATE)) / WIRE_RATE
    return to_int16(0.3 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def _resampler_cost(rate: int, block_ms: int, blocks: int) -> tuple[float, float]:
    """Mean µs per block: capture conversion, playback conversion (mono device)."""
    frames = round(rate * block_ms / 1000)
    capture = CaptureConverter(rate, 1)
    data = to_int16(np.random.default_rng(1).uniform(-0.5, 0.5, frames)).astype("<i2").tobytes()
    started = time.perf_counter()
    for _ in range(blocks):
        capture.convert(data)
    capture_us = (time.perf_counter() - started) / blocks * 1e6
    playback = Playback()
    playback.push("bench", _tone(blocks * block_ms / 1000 + 1))
    render = PlaybackConverter(playback, rate, 1)
    started = time.perf_counter()
    for _ in range(blocks):
        render.fill(frames)
    return capture_us, (time.perf_counter() - started) / blocks * 1e6


def run(quick: bool) -> list[Row]:
    config = AudioConfig()
    rows: list[Row] = []
    with sound_path() as where:
        backend = PyAudioBackend(config)
        playback = Playback()
        captured = [0]

        def on_capture(samples: np.ndarray, t: float) -> None:
            captured[0] += len(samples)

        errors: list[str] = []
        backend.open(playback, on_capture, errors.append)
        try:
            if not _wait(lambda: backend.stats.output_callbacks > 5, 10):
                raise RuntimeError("the output stream did not start")
            note = (
                f"{where}: in {backend.input_rate} Hz, out {backend.output_rate} Hz, "
                f"blocks of {config.block_ms} ms"
            )

            # delta -> first sample handed to the device, deltas landing at random phases
            playback.measure_latency()
            rng = random.Random(1)
            for _ in range(15 if quick else 50):
                playback.push("bench", _tone(0.04))
                _wait(lambda: not playback.queued_ms and not playback.playing, 2)
                time.sleep(rng.uniform(0, config.block_ms / 1000))
            playback.measure_latency(False)
            latencies = playback.stats.first_sample_latency_s
            rows += [
                Row(
                    area="audio",
                    name="delta -> device p50",
                    value=_ms(latencies, 50),
                    unit="ms",
                    note=f"{note}, {len(latencies)} deltas",
                ),
                Row(
                    area="audio",
                    name="delta -> device p95",
                    value=_ms(latencies, 95),
                    unit="ms",
                    note=note,
                ),
            ]

            # both ways streaming: capture conversion latency and the process's CPU
            seconds = 2.0 if quick else 6.0
            backend.stats.convert_s.clear()
            backend.stats.measure = True
            playback.push("bench", _tone(seconds + 1))
            cpu, wall = time.process_time(), time.perf_counter()
            _wait(lambda: time.perf_counter() - wall >= seconds, seconds + 1)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            backend.stats.measure = False
            convert = list(backend.stats.convert_s)
            rows += [
                Row(
                    area="audio",
                    name="capture conversion p50",
                    value=_ms(convert, 50),
                    unit="ms",
                    note=f"{note}, {len(convert)} blocks",
                ),
                Row(
                    area="audio",
                    name="capture conversion p95",
                    value=_ms(convert, 95),
                    unit="ms",
                    note=note,
                ),
                Row(
                    area="audio",
                    name="CPU while streaming both ways",
                    value=round(100 * cpu / wall, 1),
                    unit="%",
                    note=f"{note}, whole process, {seconds:.0f} s, 100% = one core",
                ),
            ]
            if errors:
                raise RuntimeError(f"audio failed during the bench: {errors[0]}")
        finally:
            backend.close()

    for rate in (44_100, 48_000, 16_000):
        capture_us, render_us = _resampler_cost(rate, config.block_ms, 200 if quick else 1000)
        rows += [
            Row(
                area="audio",
                name=f"resample {rate} -> 24000 per block",
                value=round(capture_us, 1),
                unit="µs",
                note=f"{config.block_ms} ms blocks, mono",
            ),
            Row(
                area="audio",
                name=f"resample 24000 -> {rate} per block",
                value=round(render_us, 1),
                unit="µs",
                note=f"{config.block_ms} ms blocks, mono, with the buffer read and the meter",
            ),
        ]
    return rows
