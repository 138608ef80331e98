"""The playback (jitter) buffer: played vs queued, underruns, clear (barge-in), bounds."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from appliance.audio.pcm import WIRE_RATE
from appliance.audio.playback import Playback


def pcm(samples: np.ndarray | list[int]) -> bytes:
    return np.asarray(samples, dtype="<i2").tobytes()


def ramp(n: int, start: int = 1) -> np.ndarray:
    return (np.arange(n) % 30000 + start).astype(np.int16)


def test_reads_return_exact_blocks_in_order_then_silence() -> None:
    playback = Playback()
    audio = ramp(1000)
    playback.push("a", pcm(audio[:300]))
    playback.push("a", pcm(audio[300:]))
    out = np.concatenate([playback.read(480) for _ in range(3)])
    assert len(out) == 1440
    assert np.array_equal(out[:1000], audio)
    assert not np.any(out[1000:])


def test_played_ms_counts_what_was_read_not_what_was_queued() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(WIRE_RATE)))  # 1000 ms queued
    assert playback.queued_ms == 1000
    for _ in range(10):
        playback.read(480)  # 10 x 20 ms
    progress = playback.progress("a")
    assert progress is not None
    assert (progress.queued, progress.played, progress.played_ms) == (WIRE_RATE, 4800, 200)
    assert playback.queued_ms == 800
    current = playback.current
    assert current is not None and current.item_id == "a" and current.played_ms == 200


def test_items_are_tracked_separately() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(480)))
    playback.push("b", pcm(ramp(960)), content_index=1)
    playback.read(720)
    a, b = playback.progress("a"), playback.progress("b", 1)
    assert a is not None and b is not None
    assert (a.played, b.played) == (480, 240)
    assert playback.progress("b") is None


def test_underruns_are_counted_once_per_dry_spell() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(100)))
    playback.read(480)  # ran dry mid-block
    assert playback.stats.underruns == 1
    playback.read(480)  # silence while idle is no underrun
    playback.read(480)
    assert playback.stats.underruns == 1
    playback.push("a", pcm(ramp(480)))
    playback.read(480)  # exactly filled
    assert playback.stats.underruns == 1
    assert playback.stats.played_samples == 580


def test_start_and_stop_are_signalled_once() -> None:
    events: list[str] = []
    playback = Playback(
        on_start=lambda: events.append("start"), on_stop=lambda: events.append("stop")
    )
    playback.push("a", pcm(ramp(1000)))
    for _ in range(4):
        playback.read(480)
    assert events == ["start", "stop"]
    assert not playback.playing


def test_clear_drops_everything_and_reports_the_playing_item() -> None:
    events: list[str] = []
    playback = Playback(on_stop=lambda: events.append("stop"))
    playback.push("a", pcm(ramp(WIRE_RATE)))
    playback.read(480)
    assert playback.playing
    item = playback.clear()
    assert item is not None and item.item_id == "a" and item.played_ms == 20
    assert events == ["stop"]
    assert playback.queued_ms == 0 and not playback.playing and playback.current is None
    assert not np.any(playback.read(480))
    assert playback.clear() is None  # nothing playing: nothing to report
    assert events == ["stop"]
    assert playback.audible_within(10.0)
    assert not playback.audible_within(0.0)


def test_the_buffer_is_bounded_and_drops_the_oldest() -> None:
    playback = Playback(max_seconds=0.1)  # 2400 samples
    for i in range(5):
        playback.push("a", pcm(np.full(1000, i + 1)))
        assert playback.queued_ms <= 100
    assert playback.stats.dropped_samples == 3000  # whole chunks, oldest first
    out = playback.read(2400)
    assert out[:2000].tolist() == [4] * 1000 + [5] * 1000
    assert not np.any(out[2000:])


def test_empty_pushes_are_ignored() -> None:
    playback = Playback()
    playback.push("a", b"")
    assert playback.progress("a") is None


def test_latency_measurement_records_per_chunk() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(100)))
    playback.read(480)
    stats = playback.stats
    assert stats.first_sample_latency_s == [] and stats.queued_latency_s == []
    playback.measure_latency()
    playback.push("a", pcm(ramp(100)))  # into an empty buffer
    playback.push("a", pcm(ramp(100)))  # behind the first one
    playback.read(480)
    assert len(stats.first_sample_latency_s) == 1 and len(stats.queued_latency_s) == 1
    assert all(0 <= s < 1 for s in stats.first_sample_latency_s + stats.queued_latency_s)


def test_the_meter_follows_what_is_read() -> None:
    playback = Playback()
    playback.push(
        "a", pcm((np.random.default_rng(1).uniform(-1, 1, 4800) * 20000).astype(np.int16))
    )
    playback.read(480)
    assert playback.analyser.scale > 1.5
    for _ in range(40):
        playback.read(480)
    assert playback.analyser.scale == pytest.approx(1.0, abs=0.05)


def test_concurrent_push_and_read_lose_nothing() -> None:
    playback = Playback()
    audio = ramp(48_000)
    out: list[np.ndarray] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set() or playback.queued_ms:
            out.append(playback.read(480))

    thread = threading.Thread(target=reader)
    thread.start()
    for start in range(0, len(audio), 960):
        playback.push("a", pcm(audio[start : start + 960]))
    done.set()
    thread.join(timeout=10)
    got = np.concatenate(out)
    got = got[got != 0]  # silence where the reader outran the writer
    assert np.array_equal(got, audio)
    assert playback.stats.played_samples == len(audio)


class FakeDevice:
    """An output device that has played up to ``heard`` of the read stream."""

    def __init__(self, heard: float | None) -> None:
        self.heard_at = heard
        self.flushes = 0

    def heard(self) -> float | None:
        return self.heard_at

    def flush(self) -> None:
        self.flushes += 1


def test_clear_takes_what_the_device_has_not_played_off_played() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(4800)))
    for _ in range(5):
        playback.read(480)  # 2400 read out to the device
    device = FakeDevice(heard=1500.0)  # the DAC is 900 samples behind
    playback.attach(device)
    progress = playback.clear()
    assert progress is not None and progress.played == 1500
    stored = playback.progress("a")
    assert stored is not None and stored.played == 1500  # what later readers see too
    assert device.flushes == 1
    assert playback.stats.played_samples == 1500
    assert playback.stats.flushed_samples == 900


def test_unplayed_audio_is_taken_off_the_items_it_belongs_to() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(600)))
    playback.push("b", pcm(ramp(2000)))
    playback.read(480)
    playback.read(480)  # a: 600, b: 360 read
    playback.read(480)  # b: 840
    device = FakeDevice(heard=500.0)  # a 500 heard; 100 of a and all of b not yet
    playback.attach(device)
    progress = playback.clear()
    a, b = playback.progress("a"), playback.progress("b")
    assert a is not None and b is not None
    assert (a.played, b.played) == (500, 0)
    assert progress is not None and progress.item_id == "b" and progress.played == 0


def test_silence_read_between_items_shifts_the_stream_position() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(100)))
    playback.read(480)  # 100 of a, then 380 of silence
    assert playback.position == 480
    playback.push("b", pcm(ramp(1000)))
    playback.read(480)  # b starts at stream position 480
    device = FakeDevice(heard=700.0)
    playback.attach(device)
    playback.clear()
    b = playback.progress("b")
    assert b is not None and b.played == 220


def test_without_a_device_estimate_everything_read_counts_and_nothing_is_flushed() -> None:
    playback = Playback()
    playback.push("a", pcm(ramp(2000)))
    playback.read(960)
    device = FakeDevice(heard=None)  # cannot flush: what it holds will play
    playback.attach(device)
    progress = playback.clear()
    assert progress is not None and progress.played == 960
    assert device.flushes == 1  # asked, and it decides it cannot
    playback.detach(device)
    playback.push("b", pcm(ramp(2000)))
    playback.read(960)
    playback.clear()
    assert device.flushes == 1


def test_nothing_to_flush_when_nothing_played() -> None:
    playback = Playback()
    device = FakeDevice(heard=0.0)
    playback.attach(device)
    assert playback.clear() is None
    playback.read(480)  # silence
    device.heard_at = 480.0
    playback.clear()
    assert device.flushes == 0
