"""appliance/audio/echo.py: framing, alignment on the devices' clocks, the library wrappers,
loading and the half-duplex fallback."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pydantic import ValidationError

from appliance.audio import echo
from appliance.audio.echo import FRAME, RATE, Processor, ReferenceRing
from appliance.config import AudioConfig
from appliance.sim.voice import synth_speech


def ramp(n: int, start: int = 0) -> np.ndarray:
    return (np.arange(start, start + n) % 30000).astype(np.int16)


# --- the reference ring --------------------------------------------------------------------------


def test_the_ring_returns_what_reached_the_dac_at_a_time():
    ring = ReferenceRing(seconds=1.0)
    ring.push(ramp(2400), start=10.0)  # 100 ms from t = 10 s
    assert np.array_equal(ring.take(10.0, 240), ramp(240))
    assert np.array_equal(ring.take(10.05, 240), ramp(240, 1200))
    # partly before the start, partly after the end: silence there
    before = ring.take(10.0 - 0.005, 240)
    assert np.array_equal(before[:120], np.zeros(120)) and np.array_equal(before[120:], ramp(120))
    after = ring.take(10.1 - 0.005, 240)
    assert np.array_equal(after[:120], ramp(120, 2280)) and not after[120:].any()


def test_a_gap_in_the_output_clock_is_silence_and_keeps_earlier_times():
    ring = ReferenceRing(seconds=1.0)
    ring.push(ramp(240), start=5.0)
    ring.push(ramp(240, 240), start=5.0 + 0.010 + 0.050)  # 50 ms later than contiguous
    assert np.array_equal(ring.take(5.0, 240), ramp(240))
    assert not ring.take(5.02, 240).any()
    assert np.array_equal(ring.take(5.06, 240), ramp(240, 240))


def test_jitter_in_the_reported_times_does_not_move_the_samples():
    """A host API's DAC times wander by a millisecond or so per block: the ring keeps the
    stream contiguous (no silence put in, no sample dropped) and its clock stays within a
    fraction of a millisecond of the true one."""
    ring = ReferenceRing(seconds=2.0)
    rng = np.random.default_rng(3)
    for k in range(100):  # 1 s in blocks of 10 ms, each reported up to 3 ms off
        ring.push(ramp(240, 240 * k), start=20.0 + k * 0.010 + rng.uniform(-0.003, 0.003))
    assert ring.end == pytest.approx(21.0, abs=0.001)
    # read where the true clock says: the same samples, give or take one
    got = ring.take(20.5, 2400).astype(np.int64)
    assert abs(int(got[0]) - 12000) <= 24  # within a millisecond
    assert np.all(np.diff(got) == 1)  # not one sample skipped or repeated inside


def test_a_flush_cuts_what_never_played_from_the_reference():
    ring = ReferenceRing(seconds=1.0)
    ring.push(ramp(2400), start=3.0)  # 100 ms handed to the device
    ring.cut(3.04)  # the device dropped what was to play from 40 ms on
    assert np.array_equal(ring.take(3.0, 960), ramp(960))
    assert not ring.take(3.04, 1440).any()
    ring.push(ramp(240, 5000), start=3.07)  # the stream restarted 30 ms later
    assert not ring.take(3.04, 720).any()
    assert np.array_equal(ring.take(3.07, 240), ramp(240, 5000))
    ring.cut(10.0)  # nothing due then: nothing cut
    assert np.array_equal(ring.take(3.07, 240), ramp(240, 5000))


def test_the_stream_clock_follows_slowly_and_jumps_at_a_gap():
    clock = echo.StreamClock()
    assert clock.place(1.0, 240) == 1.0  # the first report anchors it
    assert clock.place(1.013, 240) == pytest.approx(1.01 + echo.FOLLOW * 0.003)
    assert clock.jumps == 0
    assert clock.place(1.5, 240) == 1.5  # half a second later: a gap, followed at once
    assert clock.jumps == 1


def test_the_ring_forgets_what_is_older_than_its_size():
    ring = ReferenceRing(seconds=0.1)  # 2400 samples
    for k in range(10):
        ring.push(ramp(1000, k * 1000), start=k * 1000 / RATE)
    assert not ring.take(0.0, 240).any()
    end = 10_000 / RATE
    assert np.array_equal(ring.take(end - 0.01, 240), ramp(240, 9760))


# --- the guard ----------------------------------------------------------------------------------


def _guard_frames(near: np.ndarray, out: np.ndarray, far: np.ndarray, delay: int):
    """Run the guard over 10 ms frames; yields (frame index, returned frame, given frame)."""
    guard = echo.EchoGuard()
    window = echo.GUARD_WINDOW_MS * RATE // 1000
    for i in range(window // FRAME + 1, len(near) // FRAME):
        at = i * FRAME - delay + echo.LEAD_MS * RATE // 1000  # the reference the echo came from
        span = far[at - window : at + FRAME]
        frame = slice(i * FRAME, (i + 1) * FRAME)
        yield i, guard.process(out[frame], span, near[frame]), out[frame]


def _speech(seconds: float, f0: float, level_dbfs: float) -> np.ndarray:
    return np.frombuffer(synth_speech(seconds, f0=f0, level_dbfs=level_dbfs), dtype="<i2")


def test_the_guard_cuts_a_residue_the_canceller_left_of_pure_echo():
    """The microphone holds only echo; the canceller left 10 dB under it, and not a copy of
    the reference (as when AEC3 relearns a shifted echo path): the guard cuts it."""
    far = _speech(2.0, 140, -10)
    delay = 60 * RATE // 1000
    near = np.zeros_like(far)
    near[delay:] = far[:-delay] // 2  # the room: 60 ms, -6 dB
    rng = np.random.default_rng(5)
    residue = (near.astype(np.float64) * 0.3 * rng.standard_normal(len(near))).astype(np.int16)
    cut = passed = 0
    for _i, got, given in _guard_frames(near, residue, far, delay):
        if np.mean(np.square(given, dtype=np.float64)) < echo.GUARD_QUIET:
            continue
        if np.array_equal(got, given):
            passed += 1
        else:
            cut += 1
            assert np.max(np.abs(got)) <= np.max(np.abs(given)) * echo.GUARD_GAIN + 1
    assert cut > 20 and passed <= cut // 20, (cut, passed)


def _whisper(seconds: float, level_dbfs: float, seed: int = 7) -> np.ndarray:
    """A voice unlike the reference: noise through a few resonances, in syllables of 200 ms
    (two harmonic test voices correlate with each other, which no two real voices do)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    for centre in (500, 1500, 2500):
        spectrum *= 1 + 4 * np.exp(-(((f - centre) / 150) ** 2))
    x = np.fft.irfft(spectrum, n) * np.sin(np.pi * (np.arange(n) / RATE % 0.2) / 0.2) ** 2
    x *= 32768 * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(x**2))
    return x.astype(np.int16)


def test_a_voice_under_the_echo_passes_the_guard():
    """A user up to 6 dB quieter than the echo: the canceller leaves the voice, and the guard
    lets it be (the microphone is no longer a copy of the reference)."""
    far = _speech(2.0, 140, -10)
    user = _whisper(2.0, -22)
    delay = 60 * RATE // 1000
    echo_part = np.zeros_like(far)
    echo_part[delay:] = far[:-delay] // 2
    near = (echo_part.astype(np.int32) + user).clip(-32768, 32767).astype(np.int16)

    def energy(x: np.ndarray) -> float:
        return float(np.mean(np.square(x, dtype=np.float64)))

    judged = [
        np.array_equal(got, given)
        for i, got, given in _guard_frames(near, user, far, delay)
        if energy(given) >= echo.GUARD_QUIET * 100
        and energy(given) * 4 >= energy(echo_part[i * FRAME : (i + 1) * FRAME])
    ]
    assert len(judged) > 50 and sum(judged) >= 0.95 * len(judged), (sum(judged), len(judged))


# --- the processor with fakes --------------------------------------------------------------------


class FakeCanceller:
    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray, int]] = []

    def process(self, near: np.ndarray, far: np.ndarray, delay_ms: int) -> np.ndarray:
        self.calls.append((near.copy(), far.copy(), delay_ms))
        return (near.astype(np.int32) - far).clip(-32768, 32767).astype(np.int16)


def test_each_frame_gets_the_reference_that_played_lead_ms_before_it():
    canceller = FakeCanceller()
    processor = Processor(canceller, None, lead_ms=20)
    processor.start(output_rate=RATE, output_channels=1)
    played = ramp(RATE)  # 1 s, played from t = 100 s
    for k in range(0, RATE, 480):
        processor.render(played[k : k + 480].tobytes(), 100.0 + k / RATE)
    # the microphone hears it 35 ms after the DAC (device buffers, the room)
    mic = np.zeros(RATE, dtype=np.int16)
    out, first = processor.capture(mic[:4800], 100.5)
    assert first == 100.5 and len(out) == 4800
    _near, far, delay = canceller.calls[0]
    assert delay == 20
    assert np.array_equal(far, played[12000 - 480 : 12000 - 480 + FRAME])  # 0.5 s - 20 ms
    assert np.array_equal(canceller.calls[3][1], played[12000 - 480 + 720 :][:FRAME])


def test_stereo_output_at_another_rate_is_a_mono_24k_reference():
    canceller = FakeCanceller()
    processor = Processor(canceller, None, lead_ms=0)
    processor.start(output_rate=48_000, output_channels=2)
    t = np.arange(48_000) / 48_000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    stereo = np.repeat(tone, 2)
    for k in range(0, 48_000, 960):
        processor.render(stereo[2 * k : 2 * (k + 960)].tobytes(), 7.0 + k / 48_000)
    processor.capture(np.zeros(FRAME, np.int16), 7.5)
    far = canceller.calls[0][1].astype(np.float64)
    expect = 8000 * np.sin(2 * np.pi * 440 * (0.5 + np.arange(FRAME) / RATE))
    # the resampler's filter delay is a few samples at most
    assert np.sqrt(np.mean((far - expect) ** 2)) < 0.25 * 8000


def test_blocks_of_any_size_come_out_in_whole_frames_without_losing_a_sample():
    processor = Processor(FakeCanceller(), None)
    processor.start(RATE, 1)
    rng = np.random.default_rng(1)
    sent, got, t = [], [], 0.0
    times = []
    for _ in range(200):
        n = int(rng.integers(1, 700))
        block = rng.integers(-1000, 1000, n).astype(np.int16)
        sent.append(block)
        out, first = processor.capture(block, t)
        if len(out):
            times.append((sum(len(g) for g in got), first))
        got.append(out)
        t += n / RATE
        assert len(out) % FRAME == 0
    # the first block is padded to a whole number of frames, with silence ahead of it
    pad = -len(sent[0]) % FRAME
    sent_all = np.concatenate([np.zeros(pad, np.int16), *sent])
    got_all = np.concatenate(got)
    assert len(sent_all) - len(got_all) < FRAME
    assert np.array_equal(got_all, sent_all[: len(got_all)])  # nothing played: nothing removed
    for offset, first in times:  # the time returned is that of the first sample returned
        assert first == pytest.approx((offset - pad) / RATE, abs=1e-9)


def test_blocks_of_20_ms_wait_for_nothing():
    """The first block (whatever the resampler gave) is padded to whole frames; 20 ms blocks
    after it come out whole, at once."""
    processor = Processor(FakeCanceller(), None)
    processor.start(RATE, 1)
    out, first = processor.capture(np.ones(470, np.int16), 10.0)
    assert len(out) == 480 and first == pytest.approx(10.0 - 10 / RATE)
    for k in range(1, 20):
        out, first = processor.capture(np.ones(480, np.int16), 10.0 + (470 + 480 * (k - 1)) / RATE)
        assert len(out) == 480
        assert first == pytest.approx(10.0 + (470 + 480 * (k - 1)) / RATE)


class FakeCleaner:
    delay_samples = FRAME

    def process(self, frame: np.ndarray) -> np.ndarray:
        return frame // 2


def test_the_cleaner_runs_after_the_canceller_and_its_delay_is_reported():
    processor = Processor(FakeCanceller(), FakeCleaner())
    processor.start(RATE, 1)
    out, first = processor.capture(np.full(480, 100, np.int16), 3.0)
    assert (out == 50).all()
    assert first == pytest.approx(3.0 - FRAME / RATE)
    assert processor.stats.frames == 2 and processor.stats.busy_s > 0


def test_erle_is_counted_only_while_the_reference_plays():
    processor = Processor(FakeCanceller(), None, lead_ms=0)
    processor.start(RATE, 1)
    loud = np.full(RATE // 10, 3000, np.int16)
    processor.render(loud.tobytes(), 1.0)
    # the mic holds the echo exactly: the fake removes all but 1 %
    processor.capture((loud * 1.01).astype(np.int16), 1.0)
    processor.capture(np.full(480, 500, np.int16), 5.0)  # long after: not counted
    assert processor.stats.echo_frames == 10
    assert processor.stats.erle_db == pytest.approx(20 * np.log10(3030 / 30), abs=0.5)


# --- loading and the fallback --------------------------------------------------------------------


class Backend:
    def __init__(self, cancelling: bool) -> None:
        self.cancelling = cancelling


def test_gating_follows_the_mode_and_falls_back_to_half_duplex():
    cancel, half, full = (AudioConfig(echo=m) for m in ("cancel", "half-duplex", "full-duplex"))
    assert echo.gated(cancel, Backend(True)) is False
    assert echo.gated(cancel, Backend(False)) is True  # no canceller: half-duplex
    assert echo.gated(cancel, object()) is True  # a WAV backend: no canceller either
    assert echo.gated(half, Backend(True)) is True
    assert echo.gated(full, Backend(False)) is False


def test_a_missing_library_is_said_once_and_gives_no_processor(monkeypatch, caplog):
    monkeypatch.setattr(echo, "cancel_available", lambda: "the livekit package is not installed")
    monkeypatch.setattr(echo, "_warned", set())
    config = AudioConfig(echo="cancel")
    with caplog.at_level(logging.WARNING):
        assert echo.open_processor(config) is None
        assert echo.open_processor(config) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not installed" in warnings[0] and "half-duplex" in warnings[0]


def test_a_library_that_fails_to_load_is_said_too(monkeypatch, caplog):
    monkeypatch.setattr(echo, "cancel_available", lambda: None)
    monkeypatch.setattr(echo, "_warned", set())

    def broken() -> None:
        raise OSError("liblivekit_ffi.so: cannot open shared object file")

    with caplog.at_level(logging.WARNING):
        assert echo.open_processor(AudioConfig(echo="cancel"), make_canceller=broken) is None
    assert "cannot open shared object" in caplog.text


def test_nothing_asked_nothing_loaded():
    assert echo.open_processor(AudioConfig(echo="half-duplex")) is None
    assert echo.open_processor(AudioConfig(echo="full-duplex")) is None


def test_the_processor_is_kept_across_sessions_when_its_settings_are_the_same(monkeypatch):
    monkeypatch.setattr(echo, "cancel_available", lambda: None)
    made = []

    def canceller() -> FakeCanceller:
        made.append(1)
        return FakeCanceller()

    config = AudioConfig(echo="cancel")
    first = echo.open_processor(config, make_canceller=canceller)
    assert first is not None and first.cancelling
    assert echo.open_processor(config, first, make_canceller=canceller) is first
    assert len(made) == 1


def test_noise_and_gain_alone_need_no_canceller(monkeypatch):
    monkeypatch.setattr(echo, "clean_available", lambda: None)
    seen = []

    def cleaner(level: int, gain: int) -> FakeCleaner:
        seen.append((level, gain))
        return FakeCleaner()

    config = AudioConfig(
        echo="full-duplex", noise_suppression="high", auto_gain=True, auto_gain_dbfs=-12
    )
    processor = echo.open_processor(config, make_cleaner=cleaner)
    assert processor is not None and not processor.cancelling
    assert seen == [(3, 12)]


# --- configuration -------------------------------------------------------------------------------


def test_the_default_is_cancel_and_processing_is_off():
    config = AudioConfig()
    assert config.echo == "cancel"
    assert config.noise_suppression == "off" and config.auto_gain is False


@pytest.mark.parametrize(
    "fields",
    [
        {"echo": "cancelling"},
        {"noise_suppression": "medium"},
        {"noise_suppression": 2},
        {"auto_gain": "on"},
        {"auto_gain": 1},
        {"auto_gain_dbfs": 0},
        {"auto_gain_dbfs": -32},
        {"auto_gain_dbfs": -9.0},
    ],
)
def test_bad_values_are_refused(fields):
    with pytest.raises(ValidationError):
        AudioConfig(**fields)


# --- the real libraries --------------------------------------------------------------------------


def voice(seconds: float) -> np.ndarray:
    return np.frombuffer(synth_speech(seconds), dtype="<i2")


@pytest.mark.parametrize(
    ("delay_ms", "jitter_ms"), [(30, 0.0), (60, 0.0), (120, 0.0), (60, 2.0), (120, 2.0)]
)
def test_livekit_cancels_an_echo_on_the_devices_clocks(delay_ms, jitter_ms):
    """``jitter_ms``: each block's reported DAC and ADC times are off by up to that much (as a
    host API's are, more under load); the audio itself is steady."""
    pytest.importorskip("livekit.rtc", reason="livekit is not installed")
    rng = np.random.default_rng(delay_ms)
    processor = Processor(echo.LiveKitCanceller(), None)
    processor.start(48_000, 2)
    far = np.concatenate([voice(4.0), np.zeros(RATE // 2, np.int16)] * 3)
    # the room: the speaker heard delay_ms after the DAC, 6 dB down, a little reverb
    echo_path = np.zeros(delay_ms * RATE // 1000 + 1200)
    echo_path[delay_ms * RATE // 1000] = 0.5
    echo_path[-1200:] += (
        0.02 * np.random.default_rng(0).standard_normal(1200) * np.exp(-np.arange(1200) / 300)
    )
    mic = np.convolve(far.astype(np.float64), echo_path)[: len(far)].astype(np.int16)
    import soxr

    far48 = soxr.resample(far.astype(np.float32) / 32768, RATE, 48_000)
    out = []
    block = 480  # 20 ms at 24 kHz, 960 at 48 kHz
    for k in range(0, len(far) - block, block):
        t = 50.0 + k / RATE
        chunk = far48[2 * k : 2 * (k + block)]
        stereo = np.repeat((chunk * 32767).astype(np.int16), 2)
        processor.render(stereo.tobytes(), t + rng.uniform(-jitter_ms, jitter_ms) / 1000)
        got, _ = processor.capture(
            mic[k : k + block], t + rng.uniform(-jitter_ms, jitter_ms) / 1000
        )
        out.append(got)
    out_all = np.concatenate(out).astype(np.float64)
    settle = 3 * RATE  # after the first answer
    e_in = np.sum(mic[settle : len(out_all)].astype(np.float64) ** 2)
    e_out = np.sum(out_all[settle:] ** 2)
    assert 10 * np.log10(e_in / e_out) >= 30
    assert processor.stats.frames == len(out_all) // FRAME


def test_webrtc_noise_gain_keeps_the_length_and_lowers_steady_noise():
    pytest.importorskip("webrtc_noise_gain", reason="webrtc-noise-gain is not installed")
    cleaner = echo.NoiseGainCleaner(noise_level=3, gain_dbfs=0)
    rng = np.random.default_rng(2)
    noise = (rng.standard_normal(3 * RATE) * 300).astype(np.int16)
    out = np.concatenate(
        [cleaner.process(noise[k : k + FRAME]) for k in range(0, len(noise), FRAME)]
    )
    assert len(out) == len(noise)
    tail = slice(2 * RATE, None)
    level_in = np.sqrt(np.mean(noise[tail].astype(np.float64) ** 2))
    level_out = np.sqrt(np.mean(out[tail].astype(np.float64) ** 2))
    assert 20 * np.log10(level_in / level_out) > 10
