"""The wake word's pure parts (refractory, pre-roll), its model files and configuration, the
listener's routing of the microphone, the audio device shared between the listener and a
session, and the engine itself on espeak-ng's "Okay Nabu"."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from appliance import app as app_module
from appliance.audio.backend import AudioError
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.pcm import ms_to_samples
from appliance.audio.playback import Playback
from appliance.audio.wake import (
    HOLD_MAX_S,
    MAX_MANIFEST_BYTES,
    PRE_ROLL_MS,
    PreRoll,
    Refractory,
    WakeModelError,
    read_manifest,
)
from appliance.config import ConfigError, validate
from appliance.hub import Hub
from appliance.led import WAKE, pattern_name
from appliance.rig.process import until
from appliance.state import Machine, Start, WakeListening
from appliance.wake import WakeListener

BLOCK = 480  # 20 ms of wire audio


def block(n: int) -> np.ndarray:
    return np.full(BLOCK, n, dtype=np.int16)


# --- pure parts ---------------------------------------------------------------------------------


def test_refractory_lets_one_detection_through_per_period() -> None:
    r = Refractory(2.0)
    assert r.allow(10.0)
    assert not r.allow(10.1) and not r.allow(11.99)
    assert r.allow(12.0) and not r.allow(13.0)
    assert Refractory(0.0).allow(1.0) and Refractory(0.0).allow(1.0)


def test_the_pre_roll_keeps_the_latest_audio_in_order_and_no_more() -> None:
    roll = PreRoll(3 * BLOCK)
    for n in range(10):
        roll.push(block(n))
    assert roll.samples == 3 * BLOCK
    assert [int(b[0]) for b in roll.take()] == [7, 8, 9]
    assert roll.take() == [] and roll.samples == 0
    roll.push(np.zeros(5 * BLOCK, np.int16))  # one block longer than the bound is kept whole
    assert roll.samples == 5 * BLOCK


# --- model files and configuration ------------------------------------------------------------


def manifest(folder: Path, name: str = "hey_bob", **changes) -> Path:
    (folder / f"{name}.tflite").write_bytes(b"model")
    data = {
        "wake_word": "Hey Bob",
        "model": f"{name}.tflite",
        "micro": {"probability_cutoff": 0.9, "sliding_window_size": 5},
        **changes,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_a_custom_manifest_is_read_and_checked(tmp_path: Path) -> None:
    found = read_manifest(manifest(tmp_path))
    assert (found.wake_word, found.probability_cutoff, found.tflite.name) == (
        "Hey Bob",
        0.9,
        "hey_bob.tflite",
    )
    with pytest.raises(WakeModelError, match=r"names .*gone\.tflite, which does not exist"):
        read_manifest(manifest(tmp_path, model="gone.tflite"))
    with pytest.raises(WakeModelError, match="not a microWakeWord manifest"):
        read_manifest(manifest(tmp_path, micro={}))
    with pytest.raises(WakeModelError, match="probability_cutoff must be in"):
        read_manifest(
            manifest(tmp_path, micro={"probability_cutoff": 1.5, "sliding_window_size": 5})
        )


def test_a_manifest_at_the_size_limit_is_read_and_one_byte_over_is_refused(tmp_path: Path) -> None:
    path = manifest(tmp_path)
    text = path.read_text()
    path.write_text(text + " " * (MAX_MANIFEST_BYTES - len(text)))
    assert read_manifest(path).wake_word == "Hey Bob"
    path.write_text(text + " " * (MAX_MANIFEST_BYTES - len(text) + 1))
    with pytest.raises(WakeModelError, match="over 64 KiB"):
        read_manifest(path)


def test_the_wake_section_is_validated_and_a_missing_model_file_is_named(tmp_path: Path) -> None:
    config = validate({"wake": {"enabled": True}})
    assert config.wake.model == "okay_nabu" and config.wake.phrase == "Okay Nabu"
    assert validate({"wake": {"hint": "Hey Kiosk"}}).wake.phrase == "Hey Kiosk"
    custom = manifest(tmp_path)
    assert (
        validate({"wake": {"model": str(custom.with_suffix(".tflite"))}}).wake.phrase == "Hey Bob"
    )
    with pytest.raises(ConfigError, match=r"no such file: .*nowhere\.json"):
        validate({"wake": {"model": str(tmp_path / "nowhere.json")}})
    (tmp_path / "lonely.tflite").write_bytes(b"x")  # its manifest is missing
    with pytest.raises(ConfigError, match=r"no such file: .*lonely\.json"):
        validate({"wake": {"model": str(tmp_path / "lonely.tflite")}})
    with pytest.raises(ConfigError, match="okay_nabu, hey_jarvis, alexa, hey_mycroft"):
        validate({"wake": {"model": "okay_google"}})
    for bad in (0, 1, 1.5):
        with pytest.raises(ConfigError, match=r"wake\.sensitivity"):
            validate({"wake": {"sensitivity": bad}})
    with pytest.raises(ConfigError, match=r"wake\.refractory_s"):
        validate({"wake": {"refractory_s": 61}})


# --- the state and the LED ----------------------------------------------------------------------


def test_the_view_says_when_the_word_is_listened_for_and_the_led_shows_it() -> None:
    m = Machine()
    m.handle(WakeListening(True))
    assert m.view.wake and m.view.state == "idle" and m.view.as_dict()["wake"]
    assert pattern_name(m.view.state, m.view.countdown_s, m.view.wake) == WAKE
    m.handle(Start())
    assert pattern_name(m.view.state, m.view.countdown_s, m.view.wake) == "connecting"
    m.handle(WakeListening(False))
    assert not m.view.wake


# --- the listener's routing -----------------------------------------------------------------


class ScriptedDetector:
    """Hears the word in the blocks whose first sample is in ``at``."""

    wake_word = "Okay Nabu"
    last_probability = 0.99

    def __init__(self, *at: int) -> None:
        self.at = set(at)
        self.fed: list[int] = []

    def feed(self, block: np.ndarray) -> bool:
        self.fed.append(int(block[0]))
        return int(block[0]) in self.at


def listener(detector, **kw) -> tuple[WakeListener, list[str]]:
    heard: list[str] = []
    now = iter(10.0 * t for t in range(1000))  # detections 10 s apart
    return (
        WakeListener(
            detector,
            2.0,
            on_wake=lambda: heard.append("wake"),
            on_error=heard.append,
            clock=lambda: next(now),
            **kw,
        ),
        heard,
    )


def test_a_detection_keeps_the_pre_roll_and_what_follows_for_the_session() -> None:
    detector = ScriptedDetector(40, 43)
    wake, heard = listener(detector)
    for n in range(45):
        wake.capture(block(n), 0.0, session=False)
    assert heard == ["wake"] and wake.holding  # a word while holding starts nothing more
    assert detector.fed == list(range(45))  # it hears everything: no old word in its memory
    held = [int(b[0]) for b in wake.take_held()]
    kept = PRE_ROLL_MS // 20
    assert held == list(range(41 - kept, 45))  # the pre-roll, the detection, what followed
    assert not wake.holding
    wake.capture(block(45), 0.0, session=True)  # the session has the microphone now
    assert wake.take_held() == [] and detector.fed[-1] == 45


def test_held_audio_is_dropped_when_no_session_takes_it_and_listening_goes_on() -> None:
    detector = ScriptedDetector(3, 5)
    wake, heard = listener(detector)
    for n in range(5):
        wake.capture(block(n), 0.0, session=False)
    wake.release()
    assert not wake.holding
    wake.capture(block(5), 0.0, session=False)
    assert heard == ["wake", "wake"]


def test_during_a_session_the_word_counts_only_as_a_barge_in() -> None:
    barge_in = [False]
    detector = ScriptedDetector(1, 7)
    wake, heard = listener(detector, barge_in=lambda: barge_in[0])
    wake.capture(block(1), 0.0, session=True)
    assert heard == [] and detector.fed == [1]  # heard, not acted on: the model may be playing
    barge_in[0] = True
    wake.capture(block(7), 0.0, session=True)
    assert heard == ["wake"] and not wake.holding


# --- the device shared between the listener and a session ---------------------------------------


class Backend:
    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.capture = None

    def open(self, playback, on_capture, on_error) -> None:
        self.calls.append("open")
        self.capture = on_capture

    def close(self) -> None:
        self.calls.append("close")


def test_a_session_takes_the_listening_streams_over_with_the_held_audio() -> None:
    async def scenario() -> None:
        backend = Backend()
        device = AudioDevice(backend)
        wake, _heard = listener(ScriptedDetector(2))
        device.listener = wake
        playback = Playback(max_seconds=1)
        await device.listen(playback)
        for n in range(4):
            backend.capture(block(n), 0.0)
        sent: list[int] = []
        held = await device.open(playback, lambda b, t: sent.append(int(b[0])), lambda m: None)
        assert [int(b[0]) for b in held] == [0, 1, 2, 3] and backend.calls == ["open"]
        backend.capture(block(4), 0.0)
        assert sent == [4]  # the same streams, no gap: the session's from the next block
        await device.close()
        assert backend.calls == ["open"] and device.is_open  # kept for the listener
        backend.capture(block(5), 0.0)
        assert sent == [4]
        await device.unlisten()
        assert backend.calls == ["open", "close"] and not device.is_open
        await device.shutdown()

    asyncio.run(scenario())


# --- the engine -----------------------------------------------------------------------------------


def test_the_engine_hears_okay_nabu_and_not_other_words() -> None:
    pytest.importorskip("pymicro_wakeword", reason="pymicro-wakeword is not installed")
    from appliance.audio.wake import Detector
    from appliance.rig.speech import espeak

    said = espeak("Okay Nabu", voice="en-us", rate=24_000, level_dbfs=-20.0)
    if said is None:
        pytest.skip("espeak-ng is not installed")
    other = espeak("Where is the bathroom?", voice="en-us", rate=24_000, level_dbfs=-20.0)

    def hears(x: np.ndarray) -> bool:
        detector = Detector("okay_nabu")
        x = np.concatenate([x, np.zeros(12_000, np.float32)])
        pcm = np.round(x * 32767).astype(np.int16)
        found = any(detector.feed(pcm[i : i + BLOCK]) for i in range(0, len(pcm), BLOCK))
        detector.close()
        return found

    assert hears(said) and not hears(other)


def test_an_appliance_loads_the_engine_only_when_the_word_is_listened_for() -> None:
    code = (
        "import sys\n"
        "import appliance.app, appliance.cli, appliance.wake, appliance.audio.wake\n"
        "from appliance.config import validate\n"
        "validate({'wake': {'enabled': True}})\n"
        "print(sorted(m for m in sys.modules if m.startswith('pymicro')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


class Unpluggable:
    """A sound card that is not there: every open fails."""

    name = "unplugged"

    def __init__(self) -> None:
        self.opens: list[float] = []

    def open(self, playback, on_capture, on_error) -> None:
        self.opens.append(time.monotonic())
        raise AudioError("no such device")

    def close(self) -> None:
        pass


def test_a_microphone_that_does_not_open_for_the_word_is_tried_again_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pymicro_wakeword", reason="pymicro-wakeword is not installed")
    monkeypatch.setattr(app_module, "WAKE_RETRY_S", 0.3)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    backend = Unpluggable()

    async def main() -> None:
        settings = {
            "audio": {"backend": "none"},
            "control": {"socket": str(tmp_path / "control.sock")},
            "wake": {"enabled": True},
        }
        app = app_module.Appliance(validate(settings), Hub(), backend)
        worker = asyncio.get_running_loop().create_task(app.run())
        try:
            await until(lambda: len(backend.opens) >= 3, 10, "two tries again")
            assert app.machine.view.wake is False and app.machine.view.phase.value == "idle"
        finally:
            app.request_stop()
            await asyncio.wait_for(worker, 10)

    asyncio.run(main())
    gaps = np.diff(backend.opens)
    # each failed open is followed by a pause: no loop of opens
    assert (gaps >= 0.25).all(), gaps


def test_the_audio_held_for_a_session_is_bounded() -> None:
    wake, heard = listener(ScriptedDetector(0))
    limit = ms_to_samples(HOLD_MAX_S * 1000) // BLOCK
    for n in range(limit + 50):  # a session that never comes up
        wake.capture(block(n), 0.0, session=False)
    held = wake.take_held()
    assert heard == ["wake"] and len(held) == limit  # the latest HOLD_MAX_S, no more
    assert int(held[-1][0]) == limit + 49


class MicrophoneFirst(Backend):
    """A backend that can run the microphone alone (as PyAudio does)."""

    def open_microphone(self, on_capture, on_error) -> None:
        self.calls.append("microphone")
        self.capture = on_capture

    def open(self, playback, on_capture, on_error) -> None:
        self.calls.append("speaker" if "microphone" in self.calls else "open")
        self.capture = on_capture

    def close_speaker(self) -> None:
        self.calls.append("close speaker")


def test_at_idle_the_microphone_runs_alone_and_a_session_adds_the_speaker() -> None:
    async def scenario() -> None:
        backend = MicrophoneFirst()
        device = AudioDevice(backend)
        device.listener, _heard = listener(ScriptedDetector())
        playback = Playback(max_seconds=1)
        await device.listen(playback)
        assert backend.calls == ["microphone"] and device.is_open
        sent: list[int] = []
        await device.open(playback, lambda b, t: sent.append(int(b[0])), lambda m: None)
        backend.capture(block(1), 0.0)
        assert backend.calls == ["microphone", "speaker"] and sent == [1]
        await device.close()
        assert backend.calls[-1] == "close speaker" and device.is_open
        await device.open(playback, lambda b, t: sent.append(int(b[0])), lambda m: None)
        await device.close()
        await device.unlisten()
        assert backend.calls == [
            "microphone",
            "speaker",
            "close speaker",
            "speaker",
            "close speaker",
            "close",
        ]
        assert not device.is_open
        await device.shutdown()

    asyncio.run(scenario())


def test_a_model_file_that_is_not_a_model_or_too_large_is_refused_not_a_crash(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pymicro_wakeword", reason="pymicro-wakeword is not installed")
    from appliance.audio.wake import MAX_MODEL_BYTES, Detector

    path = manifest(tmp_path)  # its .tflite holds b"model"
    with pytest.raises(WakeModelError, match=r"hey_bob\.tflite is not a TensorFlow Lite model"):
        Detector(str(path))
    with (tmp_path / "hey_bob.tflite").open("wb") as f:
        f.truncate(MAX_MODEL_BYTES)  # at the limit: read, and found not to be a model
    with pytest.raises(WakeModelError, match="not a TensorFlow Lite model"):
        Detector(str(path))
    with (tmp_path / "hey_bob.tflite").open("wb") as f:
        f.truncate(MAX_MODEL_BYTES + 1)
    with pytest.raises(WakeModelError, match="over the 16 MiB limit"):
        Detector(str(path))
