"""The whole appliance on real PyAudio streams: ``appliance run`` with ``audio.backend =
"pyaudio"`` on the virtual sound server (scripts/lib/soundserver.sh), against the simulator.

Speech played into the virtual microphone must reach the simulator as valid 24 kHz audio, the
answer must be heard on the virtual speaker, and the echo policy must hold: with the speaker
looped back into the microphone, half-duplex never lets the model hear itself, while
full-duplex does (and the echo interrupts the model, which is why half-duplex is the default).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rig import session_config

from appliance.rig.process import wait_until
from appliance.rig.sound import SoundServer, loud_span
from appliance.rig.speech import write_speech_wav

pytest.importorskip("pyaudio", reason="PyAudio is not installed")


def real_audio(sim, echo_policy: str, **realtime) -> dict:
    config = session_config(sim, "ga", realtime=realtime)
    config["audio"] = {"backend": "pyaudio", "echo": echo_policy, "echo_tail_ms": 300}
    return config


def test_speech_in_the_mic_reaches_the_model_and_the_answer_is_heard(
    sim, start, sound_server: SoundServer, tmp_path: Path
):
    app = start(
        real_audio(sim, "half-duplex"), use_wav=False, env={"PULSE_SERVER": sound_server.address}
    )
    app.ctl("start")
    app.wait_state("listening")
    speech = write_speech_wav(
        tmp_path / "q.wav", [(0.2, 1.2)], total_s=1.6, rate=44_100, channels=1
    )
    with sound_server.record() as recorder:
        sound_server.play(speech)
        user = app.wait_event(
            lambda e: e["type"] == "transcript" and e["role"] == "user",
            15,
            "the model heard the speech",
        )
        app.wait_event(
            lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "answer"
        )
        app.wait_state("listening", 15)
        heard = recorder.samples()
    # the simulator's VAD measured about the length of what was played (24 kHz, real time)
    seconds = float(user["text"].split("heard ")[1].split(" s")[0])
    assert 0.8 <= seconds <= 1.8, user["text"]
    appends = sim.client_events("input_audio_buffer.append")
    assert appends and {e["audio"]["audio_bytes"] % 2 for e in appends} == {0}
    assert sim.log()["errors"] == []
    assert loud_span(heard, 48_000, 0.05) is not None, "the answer was not heard on the speaker"


@pytest.mark.usefixtures("echo")
def test_half_duplex_never_sends_the_models_own_voice_back(sim, start, sound_server: SoundServer):
    sim.script({"answer_seconds": 3})
    app = start(
        real_audio(sim, "half-duplex", auto_start=True),
        use_wav=False,
        env={"PULSE_SERVER": sound_server.address},
    )
    app.wait_state("listening")
    app.ctl("say", text="Tell me about the museum", role="user")
    app.wait_event(lambda e: e["type"] == "state" and e["state"] == "speaking", 10, "speaking")
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 10, "answer")
    wait_until(lambda: app.ctl("status")["state"] == "listening", 15, "the answer to end")
    # the model spoke for 3 s into a speaker looped back into the microphone, and never
    # heard itself: no speech detected, no barge-in, nothing truncated
    assert not any(e["type"] == "interrupted" for e in app.events)
    assert not any(e["type"] == "transcript" and e["role"] == "user" for e in app.events)
    assert sim.client_events("conversation.item.truncate") == []


@pytest.mark.usefixtures("echo")
def test_full_duplex_with_an_echo_lets_the_model_hear_itself(sim, start, sound_server: SoundServer):
    """The control experiment: the same echo path in full-duplex interrupts the model."""
    sim.script({"answer_seconds": 3})
    app = start(
        real_audio(sim, "full-duplex", auto_start=True),
        use_wav=False,
        env={"PULSE_SERVER": sound_server.address},
    )
    app.wait_state("listening")
    app.ctl("say", text="Tell me about the museum", role="user")
    app.wait_event(lambda e: e["type"] == "interrupted", 15, "the echo to interrupt the model")
    truncate = wait_until(lambda: sim.client_events("conversation.item.truncate"), 10, "truncate")
    assert 0 < truncate[0]["audio_end_ms"] < 3000
