"""Sound cues on the real path: ``appliance run`` with PyAudio on the virtual sound server,
against the simulator. The start cue is heard at session start, the stop cue at a stop, the
error cue at a failure; "off" is silence; and a cue looped back into the microphone never
reaches the model as speech."""

from __future__ import annotations

import numpy as np
import pytest
from rig import session_config

from appliance.bench.soak import client_streams
from appliance.rig.process import wait_until
from appliance.rig.sound import SoundServer, dominant_frequency, loud_span

pytest.importorskip("pyaudio", reason="PyAudio is not installed")

RATE = 48_000
LOUD = 0.05  # the cues peak at -12 dBFS (0.25)
SILENT = 0.01


def config(sim, *, echo: str = "half-duplex", cues: dict | None = None, **realtime) -> dict:
    data = session_config(sim, "ga", realtime=realtime)
    data["audio"] = {"backend": "pyaudio", "echo": echo, "echo_tail_ms": 300}
    if cues is not None:
        data["audio"]["cues"] = cues
    return data


def heard(recorder, what: str) -> np.ndarray:
    """The first sound recorded, once it has ended (0.2 s of quiet after it)."""

    def ended() -> tuple[np.ndarray] | None:
        samples = recorder.samples()
        span = loud_span(samples, RATE, LOUD)
        if span is None or len(samples) - span[1] < 0.2 * RATE:
            return None
        return (samples[span[0] : span[1]],)

    return wait_until(ended, 15, what)[0]


def halves(sound: np.ndarray) -> tuple[float, float]:
    middle = len(sound) // 2
    return dominant_frequency(sound[:middle], RATE), dominant_frequency(sound[middle:], RATE)


def test_start_and_stop_cues_are_heard(sim, start, sound_server: SoundServer) -> None:
    app = start(config(sim), use_wav=False, env={"PULSE_SERVER": sound_server.address})
    with sound_server.record() as recorder:
        app.ctl("start")
        app.wait_state("listening")
        cue = heard(recorder, "the start cue")
    first, second = halves(cue)
    assert first == pytest.approx(659, abs=25) and second == pytest.approx(880, abs=25)
    assert 0.2 < len(cue) / RATE < 0.35
    with sound_server.record() as recorder:
        app.ctl("stop")
        app.wait_state("idle")
        cue = heard(recorder, "the stop cue")
    first, second = halves(cue)
    assert first == pytest.approx(880, abs=25) and second == pytest.approx(659, abs=25)
    # the stop cue played on a stream of its own: closed once played, nothing left at idle
    wait_until(lambda: not client_streams(app.proc.pid), 5, "no stream left after the cue")


def test_error_cue_is_heard_when_the_provisioning_url_is_down(
    sim, start, sound_server: SoundServer
) -> None:
    down = config(sim, provisioning={"url": "http://127.0.0.1:9/provision", "timeout_s": 2})
    down["recovery"] = {"max_attempts": 0}  # fail at once, no retries
    app = start(down, use_wav=False, env={"PULSE_SERVER": sound_server.address})
    with sound_server.record() as recorder:
        app.ctl("start")
        app.wait_state("error")
        cue = heard(recorder, "the error cue")
    assert dominant_frequency(cue, RATE) == pytest.approx(220, abs=15)
    step = RATE // 100  # 10 ms
    envelope = np.abs(cue[: len(cue) // step * step]).reshape(-1, step).max(axis=1)
    quiet = np.flatnonzero(envelope < SILENT)
    assert len(quiet) >= 4, "two tones with a pause between them"


def test_cues_off_are_silent(sim, start, sound_server: SoundServer, tmp_path) -> None:
    off = {"start": "off", "stop": "off", "error": "off"}
    app = start(config(sim, cues=off), use_wav=False, env={"PULSE_SERVER": sound_server.address})
    with sound_server.record() as recorder:
        app.ctl("start")
        app.wait_state("listening")
        app.ctl("stop")
        app.wait_state("idle")
        # the same device closed and opened again: what a stop cue would have needed
        app.ctl("start")
        app.wait_state("listening")
        app.ctl("stop")
        app.wait_state("idle")
        wait_until(lambda: len(recorder.samples()) > RATE, 10, "a second recorded")
        samples = recorder.stop()
    assert np.abs(samples).max() < SILENT, "a cue played though all are off"


def appended_ms(sim) -> float:
    """Milliseconds of microphone audio the simulator received (24 kHz PCM16)."""
    events = sim.client_events("input_audio_buffer.append")
    return sum(e["audio"]["audio_bytes"] for e in events) / 48


@pytest.mark.usefixtures("echo")
def test_the_start_cue_never_reaches_the_model_even_full_duplex(
    sim, start, sound_server: SoundServer
) -> None:
    """Full duplex has no other protection: the cue, looped into the microphone at -12 dBFS,
    is loud enough for the simulator's VAD (-40 dBFS), which must never hear it."""
    app = start(
        config(sim, echo="full-duplex"), use_wav=False, env={"PULSE_SERVER": sound_server.address}
    )
    with sound_server.record() as recorder:
        app.ctl("start")
        app.wait_state("listening")
        heard(recorder, "the start cue, played and looped into the microphone")
    # the microphone was sent on after the cue: had the cue been sent, the VAD would have
    # committed it (speech, then 400 ms of silence) long before 2.5 s of audio were in
    wait_until(lambda: appended_ms(sim) >= 2500, 15, "2.5 s of microphone audio sent")
    app.ctl("stop")
    app.wait_state("idle")
    assert not any(e["type"] == "transcript" and e["role"] == "user" for e in app.events)
    assert app.ctl("status")["last_error"] is None
