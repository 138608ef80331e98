"""Hands-free on the real path: ``appliance run`` with ``[wake] enabled = true`` on real PyAudio
streams (the virtual sound server), against the simulator; espeak-ng speaks into the virtual
microphone.

* "Okay Nabu" starts a session, a question then gets an answer, and after a stop the word
  starts the next one;
* phrases without the word start nothing, and nothing reaches the server until the word;
* "Okay Nabu, what is the weather in Paris" in one breath: the simulator's VAD hears the whole
  question (its voiced frames, ``/sim/log``'s ``heard``), nothing cut at the start or the join.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rig import session_config

from appliance.rig.process import child_env, wait_until
from appliance.rig.sound import SoundServer
from appliance.rig.speech import espeak, read_wav_levels, write_float_wav

pytest.importorskip("pyaudio", reason="PyAudio is not installed")
pytest.importorskip("pymicro_wakeword", reason="pymicro-wakeword is not installed")

pytestmark = pytest.mark.slow

RATE = 24_000
VOICE = "en-us"  # espeak-ng's voices that okay_nabu hears: en-us, en-gb, en-us+m3 (not +f2/+f3)
FRAME = RATE // 50  # the simulator VAD's 20 ms frames
VOICED_DBFS = -40.0  # its threshold 0.5 (session_config's turn_detection)
TOLERANCE_MS = 60  # three frames: a frame at each edge may flip through resampling


def say(text: str) -> np.ndarray:
    x = espeak(text, voice=VOICE, rate=RATE, level_dbfs=-20.0)
    if x is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return x


def wav(path: Path, *parts: np.ndarray | float) -> Path:
    """A WAV of speech parts and pauses (seconds), with 0.3 s of silence around."""
    quiet = np.zeros(int(0.3 * RATE), np.float32)
    pieces = [quiet]
    for part in parts:
        pieces.append(np.zeros(int(part * RATE), np.float32) if isinstance(part, float) else part)
    pieces.append(quiet)
    return write_float_wav(path, np.concatenate(pieces), RATE)


def voiced(x: np.ndarray) -> np.ndarray:
    """Which 20 ms frames the simulator's VAD calls voiced."""
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    return level >= VOICED_DBFS


def config(sim, echo: str = "half-duplex") -> dict:
    cfg = session_config(sim, "ga")
    cfg["audio"] = {"backend": "pyaudio", "echo": echo}
    cfg["wake"] = {"enabled": True, "model": "okay_nabu"}
    return cfg


def start_listening(start, sim, sound_server: SoundServer, echo: str = "half-duplex"):
    app = start(config(sim, echo), use_wav=False, env={"PULSE_SERVER": sound_server.address})
    status = wait_until(lambda: (s := app.ctl("status"))["wake"] and s, 30, "the word listened for")
    assert status["state"] == "idle" and status["audio_open"], status
    return app


def count(app, kind: str) -> int:
    return sum(1 for e in app.events if e["type"] == kind)


def test_the_wake_word_starts_a_session_that_answers_and_again_after_a_stop(
    sim, start, sound_server: SoundServer, tmp_path: Path
):
    """With the defaults (echo cancelling): at idle the microphone runs alone; a session
    adds the speaker and the canceller to it, and its end takes them away again."""
    app = start_listening(start, sim, sound_server, echo="cancel")
    # loaded at idle, not in the first session's connect
    wait_until(lambda: "the session's libraries are loaded" in app.log(), 30, "the preload")
    word = wav(tmp_path / "word.wav", say("Okay Nabu"))
    sound_server.play(word)
    app.wait_event(lambda e: e["type"] == "started", 20, "the word to start a session")
    app.wait_state("listening", 15)
    sound_server.play(wav(tmp_path / "q.wav", say("Where is the bathroom?")))
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "user", 15, "question")
    app.wait_event(
        lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "the answer"
    )
    app.ctl("stop")
    app.wait_event(
        lambda e: e["type"] == "state" and e["state"] == "idle" and e["wake"], 15, "back to it"
    )
    assert app.ctl("status")["audio_open"]  # the microphone listens for the word again
    log = app.log()
    assert log.count("alone (listening for the wake word)") == 1  # opened once, at start
    assert log.count("added to the input") == 1 and "audio: closed" in log  # the speaker
    sound_server.play(word)
    app.wait_event(lambda e: count(app, "started") == 2, 20, "the word to start the next one")
    assert count(app, "wake") == 2


def test_phrases_without_the_word_start_nothing_and_send_nothing(
    sim, start, sound_server: SoundServer, tmp_path: Path
):
    app = start_listening(start, sim, sound_server)
    sound_server.play(
        wav(
            tmp_path / "other.wav",
            say("Where is the bathroom?"),
            0.5,
            say("What is the weather in Paris?"),
            0.5,
            say("Okay, tell me about the museum."),
        )
    )
    assert app.ctl("status")["state"] == "idle"
    assert sim.log()["connections"] == [] and sim.client_events() == []
    sound_server.play(wav(tmp_path / "word.wav", say("Okay Nabu")))  # the control
    app.wait_event(lambda e: e["type"] == "started", 20, "the word to start a session")
    # only the word was heard, once; the phrases before it never left the device
    assert count(app, "wake") == 1 and count(app, "started") == 1
    assert len(sim.log()["connections"]) == 1


def test_a_question_said_in_one_breath_after_the_word_is_heard_whole(
    sim, start, sound_server: SoundServer, tmp_path: Path
):
    question = say("what is the weather in Paris?")
    breath = say("Okay Nabu, what is the weather in Paris?")
    # espeak's comma is a short pause: where the question starts in the one-breath phrase
    frames = voiced(breath)
    first = int(np.argmax(frames))
    gap = first + next(
        i for i in range(len(frames) - first - 4) if not frames[first + i : first + i + 4].any()
    )
    question_ms = 20 * int(frames[gap:].sum())
    assert question_ms >= 20 * int(voiced(question).sum()) - 100, "the phrase split elsewhere"
    app = start_listening(start, sim, sound_server)
    sound_server.play(wav(tmp_path / "breath.wav", breath, 1.0))
    user = app.wait_event(
        lambda e: e["type"] == "transcript" and e["role"] == "user", 20, "the question"
    )
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "answer")
    heard = sim.log()["heard"]
    assert len(heard) == 1, heard  # one turn: the join made no pause the VAD could hear
    # every voiced frame of the question arrived (a cut start or a gap at the join is fewer),
    # plus at most the end of the word in the pre-roll, and nothing twice
    total_ms = 20 * int(frames.sum())
    assert question_ms - TOLERANCE_MS <= heard[0]["voiced_ms"] <= total_ms + TOLERANCE_MS, (
        heard,
        question_ms,
        total_ms,
    )
    assert "heard" in user["text"]


def test_the_wake_demo_starts_by_the_spoken_word_and_records_the_answer(
    sound_server: SoundServer, tmp_path: Path
):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = tmp_path / "answer.wav"
    result = subprocess.run(
        [sys.executable, "-m", "appliance.demo", "--wake", "--headless", "--out", str(out)],
        env=child_env(PULSE_SERVER=sound_server.address),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wake word heard: Okay Nabu" in result.stdout
    assert "Done: started by the wake word" in result.stdout
    rate, levels = read_wav_levels(out)
    assert rate == 48_000 and levels.max() > 0.05  # the answer was played


def test_without_echo_cancelling_the_word_is_not_listened_for_while_the_model_speaks(
    sim, start, sound_server: SoundServer, tmp_path: Path
):
    """Half-duplex: the word said (clearly, no echo) over the model's answer does nothing."""
    sim.script({"answer_seconds": 6})
    app = start_listening(start, sim, sound_server)
    word = wav(tmp_path / "word.wav", say("Okay Nabu"))
    sound_server.play(word)
    app.wait_state("listening", 20)
    app.ctl("say", text="Tell me about the museum", role="user", respond=True)
    app.wait_event(lambda e: e["type"] == "state" and e["state"] == "speaking", 10, "speaking")
    sound_server.play(word)
    assert app.ctl("status")["state"] == "speaking"  # the word was said over the answer
    wait_until(lambda: app.ctl("status")["state"] == "listening", 15, "the answer to end")
    assert count(app, "wake") == 1 and count(app, "interrupted") == 0
    assert sim.client_events("response.cancel") == []


def test_mute_closes_the_microphone_and_the_word_starts_nothing(
    sim, start, sound_server: SoundServer, tmp_path: Path
):
    app = start_listening(start, sim, sound_server)
    app.ctl("mute")
    status = wait_until(lambda: (s := app.ctl("status"))["wake"] is False and s, 10, "unlisten")
    assert status["audio_open"] is False and status["muted"]  # the microphone is closed
    word = wav(tmp_path / "word.wav", say("Okay Nabu"))
    sound_server.play(word)
    app.ctl("unmute")
    wait_until(lambda: app.ctl("status")["wake"], 10, "the word listened for again")
    assert count(app, "wake") == 0 and sim.log()["connections"] == []
    sound_server.play(word)  # the control: unmuted, the same word starts a session
    app.wait_event(lambda e: e["type"] == "started", 20, "the word to start a session")
