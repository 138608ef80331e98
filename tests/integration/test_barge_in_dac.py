"""Barge-in silences the speaker, not just the queue: real PyAudio streams on the virtual sound
server, with what reaches the sink recorded back from ``appliance_out.monitor``.

Times at the sink are read from the recording: the tone's first sample is placed at the moment
PortAudio said it would reach the DAC (``outputBufferDacTime`` of its block, through the
backend's ``output_tap``), and the tone's end in the recording is that moment plus the number of
recorded samples in between. So the end is measured in samples of what was really played, and
only the start leans on PortAudio's estimate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from appliance.audio.pcm import WIRE_RATE, samples_to_ms, to_int16
from appliance.audio.playback import ItemProgress, Playback
from appliance.config import AudioConfig
from appliance.rig.process import wait_for
from appliance.rig.sound import Recorder, SoundServer, loud_span, tone

pyaudio_backend = pytest.importorskip(
    "appliance.audio.pyaudio_backend", reason="PyAudio is not installed"
)
PyAudioBackend = pyaudio_backend.PyAudioBackend

AMPLITUDE = 0.5
THRESHOLD = AMPLITUDE / 4


@dataclass
class Output:
    """An open backend, everything its output callback handed to the device, and errors."""

    backend: PyAudioBackend
    playback: Playback
    blocks: list[tuple[float, float, np.ndarray]] = field(default_factory=list)  # at, dac, mono
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tap(self, data: bytes, at: float, dac: float) -> None:
        samples = np.frombuffer(data, dtype="<i2")
        channels = max(1, len(samples) // max(1, self.backend.output_period_frames))
        with self.lock:
            self.blocks.append((at, dac, samples[::channels].copy()))

    def first_sound_at_dac(self, after: float) -> float:
        """When the first non-silent sample of a block filled after ``after`` reaches the DAC
        (perf_counter), by PortAudio's estimate."""
        rate = self.backend.output_rate
        with self.lock:
            blocks = list(self.blocks)
        for at, dac, samples in blocks:
            loud = np.flatnonzero(np.abs(samples) > 2)
            if at > after and len(loud):
                return dac + loud[0] / rate
        raise AssertionError("the tone never reached the output callback")


@pytest.fixture
def output(sound_server: SoundServer) -> Iterator[Output]:
    out = Output(PyAudioBackend(AudioConfig()), Playback())
    out.backend.output_tap = out.tap
    out.backend.open(out.playback, lambda samples, t: None, out.errors.append)
    try:
        stats = out.backend.stats
        assert wait_for(lambda: stats.output_callbacks >= 5, 5), "the output never started"
        yield out
    finally:
        out.backend.close()


def push_tone(playback: Playback, item: str, seconds: float) -> None:
    samples = tone(440, seconds, WIRE_RATE, AMPLITUDE)
    playback.push(item, to_int16(samples).astype("<i2").tobytes())


def heard_for(recorder: Recorder, seconds: float) -> bool:
    span = loud_span(recorder.samples(), recorder.rate, THRESHOLD)
    return span is not None and span[1] - span[0] >= seconds * recorder.rate


def ended(recorder: Recorder, quiet_s: float = 0.3) -> bool:
    """The tone was heard and has been followed by ``quiet_s`` of silence."""
    x = recorder.samples()
    span = loud_span(x, recorder.rate, THRESHOLD)
    return span is not None and len(x) - span[1] >= quiet_s * recorder.rate


@dataclass
class Cut:
    cleared: float  # perf_counter just before the clear
    ended: float  # the tone's end at the sink (perf_counter, from the recording)
    heard_ms: float  # the tone's length at the sink
    item: ItemProgress  # what clear() returned: played_ms goes into the truncate


def play_and_cut(out: Output, sound_server: SoundServer, item: str, after_s: float) -> Cut:
    """Play a long tone, clear the playback once ``after_s`` of it was heard at the sink."""
    with sound_server.record() as recorder:
        pushed = time.perf_counter()
        push_tone(out.playback, item, 5.0)
        assert wait_for(lambda: heard_for(recorder, after_s), 10), "the tone was not heard"
        cleared = time.perf_counter()
        progress = out.playback.clear()
        assert wait_for(lambda: ended(recorder), 10), "the tone did not stop"
        x = recorder.stop()
    assert progress is not None and progress.item_id == item
    span = loud_span(x, recorder.rate, THRESHOLD)
    assert span is not None
    heard_s = (span[1] - span[0]) / recorder.rate
    began = out.first_sound_at_dac(pushed)
    return Cut(cleared, began + heard_s, heard_s * 1000, progress)


def test_clearing_silences_the_sink_within_20_ms(output: Output, sound_server: SoundServer) -> None:
    block_ms = output.backend.config.block_ms
    latencies, errors = [], []
    for n in range(3):
        cut = play_and_cut(output, sound_server, f"item{n}", 0.4 + 0.15 * n)
        latencies.append((cut.ended - cut.cleared) * 1000)
        # the truncate reports what reached the sink (the device's buffer was dropped)
        errors.append(cut.item.played_ms - cut.heard_ms)
    # the device buffer (output_latency_ms, 24 ms by default) no longer plays out: the last
    # sound at the sink comes within 20 ms of the clear (a small negative figure is the
    # envelope's few ms of smearing at the tone's edges)
    assert max(latencies) <= 20, f"sound went on {latencies} ms after the clear"
    assert max(abs(e) for e in errors) <= block_ms, f"truncate minus heard: {errors} ms"
    assert output.backend.stats.flushes == 3
    assert output.errors == []


def test_the_output_plays_again_after_flushes(output: Output, sound_server: SoundServer) -> None:
    # clears in quick succession, while sound plays, and while it is silent
    for n in range(5):
        push_tone(output.playback, f"burst{n}", 1.0)
        callbacks = output.backend.stats.output_callbacks
        assert wait_for(lambda c=callbacks: output.backend.stats.output_callbacks > c + 2, 5)
        output.playback.clear()
    output.playback.clear()  # nothing playing: nothing to flush
    assert output.backend.stats.flushes == 5
    # the stream runs again and plays a whole tone, start to end
    with sound_server.record() as recorder:
        push_tone(output.playback, "after", 0.5)
        assert wait_for(lambda: ended(recorder), 10), "nothing played after the flushes"
        x = recorder.stop()
    span = loud_span(x, recorder.rate, THRESHOLD)
    assert span is not None
    assert (span[1] - span[0]) / recorder.rate == pytest.approx(0.5, abs=0.03)
    assert output.playback.progress("after") == ItemProgress("after", 0, 12000, 12000)
    # the watchdog took no aborted stream for an unplugged device
    assert output.errors == []


def test_played_counts_only_what_reached_the_dac(output: Output) -> None:
    # read out to the device is ahead of the DAC by the device buffer; a clear takes that
    # part off the item's played samples
    push_tone(output.playback, "item", 3.0)
    callbacks = output.backend.stats.output_callbacks
    assert wait_for(lambda: output.backend.stats.output_callbacks > callbacks + 20, 5)
    read = output.playback.progress("item")
    progress = output.playback.clear()
    assert read is not None and progress is not None
    held_ms = read.played_ms - progress.played_ms
    latency_ms = output.backend.output_latency_s * 1000
    # what the device held: between nothing and its buffer plus the block being filled
    period_ms = output.backend.output_period_frames * 1000 / output.backend.output_rate
    assert 0 < held_ms <= latency_ms + period_ms + 10
    assert output.playback.stats.flushed_samples > 0
    assert samples_to_ms(output.playback.stats.played_samples) == pytest.approx(
        progress.played_ms, abs=1
    )


def test_close_during_flushes_is_safe(sound_server: SoundServer) -> None:
    backend = PyAudioBackend(AudioConfig())
    playback = Playback()
    errors: list[str] = []
    for _ in range(3):
        backend.open(playback, lambda samples, t: None, errors.append)
        push_tone(playback, "item", 1.0)
        callbacks = backend.stats.output_callbacks
        assert wait_for(lambda c=callbacks: backend.stats.output_callbacks > c + 3, 5)
        clearer = threading.Thread(target=playback.clear)
        clearer.start()
        backend.close()  # at once: the restart may still be under way
        clearer.join(5)
        assert not clearer.is_alive()
    backend.close()
    assert errors == []
    assert [t.name for t in threading.enumerate() if t.name.startswith("audio-")] == []
