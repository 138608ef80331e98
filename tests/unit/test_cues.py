"""Sound cues (appliance/audio/cues.py): when they play, the shipped WAVs, custom files and
their validation, and how the playback mixes them apart from the model's audio."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.audio import cues
from appliance.audio.pcm import WIRE_RATE
from appliance.audio.playback import Playback
from appliance.cli import main
from appliance.config import AppConfig
from appliance.state import Phase, View

ROOT = Path(__file__).resolve().parents[2]
IDLE, ERROR = View(), View(phase=Phase.ERROR, error_cause="x")
CONNECTING = View(phase=Phase.CONNECTING)
RECONNECTING = View(phase=Phase.CONNECTING, reconnect_attempt=1)
LIVE = View(phase=Phase.LIVE)


def write_wav(path: Path, seconds: float, rate: int = 48_000, channels: int = 2) -> Path:
    n = round(seconds * rate)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(tone, channels).tobytes())
    return path


@pytest.mark.parametrize(
    "before, after, cue",
    [
        (CONNECTING, LIVE, "start"),
        (RECONNECTING, LIVE, None),  # back after a reconnection: not a new start
        (LIVE, IDLE, "stop"),
        (CONNECTING, IDLE, "stop"),  # an attempt cancelled
        (LIVE, ERROR, "error"),
        (CONNECTING, ERROR, "error"),
        (IDLE, ERROR, "error"),  # a key fetched ahead failed
        (ERROR, ERROR, None),
        (IDLE, CONNECTING, None),
        (LIVE, RECONNECTING, None),
        (LIVE, View(phase=Phase.LIVE, speaking=True), None),
        (LIVE, View(phase=Phase.LIVE, muted=True), None),
    ],
)
def test_which_change_of_state_plays_which_cue(before: View, after: View, cue: str) -> None:
    assert cues.cue_for(before, after) == cue


def test_shipped_cues_are_small_24k_mono_and_what_the_script_makes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make-cues"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in cues.CUE_NAMES:
        shipped = ROOT / "assets" / "cues" / f"{name}.wav"
        assert shipped.read_bytes() == (tmp_path / f"{name}.wav").read_bytes()
        assert shipped.stat().st_size < 30_000
        with wave.open(str(shipped)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        samples = cues.load_cue(name, "default")
        assert samples is not None and 0.2 < len(samples) / WIRE_RATE < 0.5
        assert 0.2 < np.abs(samples).max() / 32768 < 0.3  # -12 dBFS peaks


def test_start_rises_stop_falls_error_is_low() -> None:
    def pitch(samples: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(samples.astype(float)))
        return float(np.argmax(spectrum) * WIRE_RATE / len(samples))

    start, stop, error = (cues.load_cue(n, "default") for n in cues.CUE_NAMES)
    assert pitch(start[:2400]) < pitch(start[-2400:])
    assert pitch(stop[:2400]) > pitch(stop[-2400:])
    assert pitch(error) < 300


def test_custom_cue_is_resampled_and_off_is_none(tmp_path: Path) -> None:
    custom = write_wav(tmp_path / "ding.wav", 0.5, rate=48_000, channels=2)
    samples = cues.load_cue("start", custom)
    assert len(samples) == pytest.approx(0.5 * WIRE_RATE, abs=2)
    assert cues.load_cue("stop", "off") is None


def test_bad_cue_files_are_named_with_the_setting(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a wav")
    long = write_wav(tmp_path / "long.wav", 6.0, rate=8000, channels=1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = {
        text: "a PCM WAV file is needed",
        long: "6.0 s long; a cue is at most 5 s",
        fifo: "must be a regular file",
        tmp_path / "missing.wav": "cannot read",
    }
    for path, why in cases.items():
        with pytest.raises(cues.CueError) as caught:
            cues.load_cue("error", path)
        message = str(caught.value)
        assert message.startswith("audio.cues.error: ") and str(path) in message
        assert why in message


def test_a_bad_cue_file_falls_back_to_the_built_in_cue_at_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = AppConfig.model_validate(
        {"audio": {"cues": {"start": str(tmp_path / "missing.wav"), "stop": "off"}}}
    )
    caplog.set_level(logging.WARNING)
    loaded = cues.load_cues(config.audio.cues)
    assert np.array_equal(loaded["start"], cues.load_cue("start", "default"))
    assert loaded["stop"] is None and loaded["error"] is not None
    assert "audio.cues.start:" in caplog.text and "the built-in cue plays instead" in caplog.text


def test_config_validate_names_a_bad_cue_file(tmp_path: Path, capsys) -> None:
    good = write_wav(tmp_path / "good.wav", 0.3)
    path = tmp_path / "config.toml"
    path.write_text(f'[audio.cues]\nstart = "{good}"\nstop = "off"\nerror = "{tmp_path}"\n')
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"audio.cues.error: {tmp_path}" in err and "audio.cues.start" not in err
    path.write_text(f'[audio.cues]\nstart = "{good}"\nstop = "off"\n')
    assert main(["config", "validate", str(path)]) == 0


def test_playback_mixes_a_cue_apart_from_the_model_audio() -> None:
    started: list[bool] = []
    playback = Playback(on_start=lambda: started.append(True))
    cue = np.full(1000, 1000, dtype=np.int16)
    playback.cue(cue)
    assert playback.cue_within(0.0)
    block = playback.read(600)
    assert (block == 1000).all()
    assert not playback.playing and not started  # not the model speaking
    assert playback.analyser.scale == 1.0  # the avatar does not follow a cue
    playback.push("item", np.full(400, 50, dtype="<i2").tobytes())
    block = playback.read(600)
    assert (block[:400] == 1050).all() and (block[400:] == 0).all()  # mixed, then silence
    assert playback.progress("item").played == 400  # only the model's audio counts
    playback.cue(cue)
    playback.clear()  # barge-in drops the model's audio, not the cue
    assert (playback.read(100) == 1000).all()
    assert playback.cue_within(1.0)
    loud = np.full(10, 30000, dtype=np.int16)
    playback.cue(loud)
    playback.push("item2", np.full(10, 30000, dtype="<i2").tobytes())
    assert (playback.read(10) == 32767).all()  # clipped, not wrapped
