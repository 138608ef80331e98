"""The PyAudio backend with real PortAudio streams on the virtual sound server.

What the backend plays is recorded back from ``appliance_out.monitor``; what is played into
``appliance_mic`` must reach ``on_capture`` (see scripts/lib/soundserver.sh).
"""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.backend import AudioError
from appliance.audio.pcm import WIRE_RATE, resample, to_int16
from appliance.audio.playback import Playback
from appliance.config import AudioConfig
from appliance.rig import sound
from appliance.rig.process import wait_for
from appliance.rig.sound import SoundServer, db, dominant_frequency, loud_span, rms, tone
from appliance.rig.speech import espeak_file

pyaudio_backend = pytest.importorskip(
    "appliance.audio.pyaudio_backend", reason="PyAudio is not installed"
)
pytest.importorskip("pyaudio", reason="PyAudio is not installed")
PyAudioBackend = pyaudio_backend.PyAudioBackend


@dataclass
class Session:
    """An open backend with everything its callbacks delivered."""

    backend: PyAudioBackend
    playback: Playback
    captured: list[tuple[np.ndarray, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_capture(self, samples: np.ndarray, t: float) -> None:
        with self.lock:
            self.captured.append((samples.copy(), t))

    def capture(self) -> np.ndarray:
        with self.lock:
            blocks = [s for s, _ in self.captured]
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)

    def flowing(self) -> bool:
        stats = self.backend.stats
        return stats.input_callbacks >= 5 and stats.output_callbacks >= 5


def open_session(config: AudioConfig | None = None) -> Session:
    # the raw conversion path: no echo cancelling (tests/unit/test_echo.py and
    # tests/integration/test_echo_barge_in.py test the processed one)
    session = Session(PyAudioBackend(config or AudioConfig(echo="full-duplex")), Playback())
    session.backend.open(session.playback, session.on_capture, session.errors.append)
    return session


@pytest.fixture
def session(sound_server: SoundServer) -> Iterator[Session]:
    session = open_session()
    try:
        assert wait_for(session.flowing, 5), f"streams did not start: {session.backend.stats}"
        yield session
    finally:
        session.backend.finish()  # also terminates PortAudio (close keeps it for the next open)


def pcm(samples: np.ndarray) -> bytes:
    return to_int16(samples).astype("<i2").tobytes()


def test_tone_is_played_at_the_right_pitch_and_level(
    session: Session, sound_server: SoundServer
) -> None:
    amplitude, seconds = 0.3, 0.6
    with sound_server.record() as recorder:
        session.playback.push("item", pcm(tone(1000, seconds, WIRE_RATE, amplitude)))

        def tone_recorded() -> bool:
            x = recorder.samples()
            span = loud_span(x, recorder.rate, amplitude / 4)
            # the whole tone, and 100 ms of silence after it
            return span is not None and len(x) - span[1] > recorder.rate // 10

        assert wait_for(tone_recorded, 5), "the tone never reached the output sink"
        recorded = recorder.stop()
    start, end = loud_span(recorded, recorder.rate, amplitude / 4)
    assert (end - start) / recorder.rate == pytest.approx(seconds, abs=0.03)
    middle = recorded[start + recorder.rate // 10 : end - recorder.rate // 10]
    assert dominant_frequency(middle, recorder.rate) == pytest.approx(1000, abs=2)
    assert db(rms(middle) / (amplitude / np.sqrt(2))) == pytest.approx(0, abs=1.0)
    assert session.playback.stats.played_samples >= round(seconds * WIRE_RATE)
    assert session.errors == []


def _speech(path: Path) -> tuple[np.ndarray, int]:
    """A spoken phrase (espeak-ng) or, without it, a speech-like synthetic signal."""
    if espeak_file(path, "press the button and talk to me") is not None:
        with wave.open(str(path)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
        x = x / 32768.0
    else:
        rate = 22050
        t = np.arange(rate) / rate
        syllables = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
        x = syllables * sum(0.1 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 12))
    x = (x / np.max(np.abs(x)) * 0.5).astype(np.float32)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm(x))
    return x, rate


def test_speech_into_the_mic_reaches_on_capture(
    session: Session, sound_server: SoundServer, tmp_path: Path
) -> None:
    speech, rate = _speech(tmp_path / "speech.wav")
    with session.lock:
        session.captured.clear()
    sound_server.play(tmp_path / "speech.wav")

    want = resample(speech, rate, WIRE_RATE)

    def heard_all() -> bool:
        # the phrase starts at or before its first loud sample: wait until the capture holds
        # a whole phrase's length from there (its quiet tail included), and a little more
        x = session.capture().astype(np.float32) / 32768
        span = loud_span(x, WIRE_RATE, 0.02)
        return span is not None and len(x) >= span[0] + len(want) + WIRE_RATE // 10

    assert wait_for(heard_all, 5), "the speech never reached on_capture"
    with session.lock:
        blocks = list(session.captured)
    for samples, _ in blocks:
        assert samples.dtype == np.int16 and samples.ndim == 1
    times = [t for _, t in blocks]
    assert times == sorted(times)
    # 24 kHz in real time: samples delivered match the time they span (one block of slack)
    delivered = sum(len(s) for s, _ in blocks[1:])
    assert delivered / (times[-1] - times[0]) == pytest.approx(WIRE_RATE, rel=0.05)

    got = session.capture().astype(np.float32) / 32768
    # find the phrase in the capture and compare waveforms: same sound, same level
    n = len(got) + len(want)
    corr = np.fft.irfft(np.fft.rfft(got, n) * np.conj(np.fft.rfft(want, n)), n)
    lag = int(np.argmax(corr))
    assert lag + len(want) <= len(got), "the capture ends before the phrase does"
    aligned = got[lag : lag + len(want)]
    similarity = float(np.dot(aligned, want) / (np.linalg.norm(aligned) * np.linalg.norm(want)))
    assert similarity > 0.9
    assert db(rms(aligned) / rms(want)) == pytest.approx(0, abs=1.5)
    assert session.errors == []


def test_clear_silences_the_output_within_one_block(session: Session) -> None:
    backend = session.backend
    blocks: list[tuple[float, np.ndarray]] = []
    backend.output_tap = lambda data, t, _dac: blocks.append((t, np.frombuffer(data, dtype="<i2")))
    session.playback.push("item", pcm(tone(440, 3.0, WIRE_RATE, 0.5)))
    assert wait_for(lambda: len(blocks) > 3 and np.abs(blocks[-1][1]).max() > 8000, 5)
    cleared_at = time.perf_counter()
    item = session.playback.clear()
    assert item is not None and item.item_id == "item"
    assert wait_for(lambda: sum(t > cleared_at for t, _ in blocks) >= 4, 5)
    after = np.concatenate([b for t, b in list(blocks) if t > cleared_at])
    audible = np.flatnonzero(np.abs(after) > 16)
    tail = (audible[-1] + 1) if len(audible) else 0
    # the block being rendered when clear() ran may still play; nothing after it
    assert tail <= backend.block_frames * 1.05
    assert np.abs(after[backend.block_frames * 2 :]).max() <= 16
    assert not session.playback.playing


def test_missing_devices_are_named(sound_server: SoundServer) -> None:
    with pytest.raises(AudioError, match=r"no input device matching 'NoSuchMic' \(available: "):
        open_session(AudioConfig(input_device="NoSuchMic"))
    with pytest.raises(AudioError, match=r"no output device with index 99 "):
        open_session(AudioConfig(output_device=99))


def test_close_is_always_safe(sound_server: SoundServer) -> None:
    backend = PyAudioBackend(AudioConfig())
    backend.close()
    backend.open(Playback(), lambda s, t: None, lambda e: None)
    backend.close()
    backend.close()
    backend.finish()
    backend.finish()
    backend.close()
    assert backend._pa is None


def test_a_vanished_sound_server_is_reported_once(
    sound_server: SoundServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = sound.start(tmp_path / "sound")
    try:
        monkeypatch.setenv("PULSE_SERVER", own.address)
        session = open_session()
        try:
            assert wait_for(session.flowing, 5)
            own.stop()  # like unplugging the sound card mid-session
            assert wait_for(lambda: session.errors, 10), "the failure was not reported"
            session.backend.close()  # both streams failed; only the first failure is reported
            assert len(session.errors) == 1
            assert "'default'" in session.errors[0]
        finally:
            session.backend.close()
            session.backend.close()
    finally:
        own.stop()


def test_devices_table_marks_the_chosen_ones(sound_server: SoundServer) -> None:
    from appliance.audio.devices import format_devices

    text = format_devices(AudioConfig(input_device="pulse"))
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["index", "name"]
    pulse = next(line for line in lines if line.split()[1] == "pulse")
    default = next(line for line in lines if line.split()[1] == "default")
    assert pulse.endswith("input")
    assert default.endswith("output")
    assert "no input device" in format_devices(AudioConfig(input_device="NoSuchMic"))
