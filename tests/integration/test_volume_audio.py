"""The output volume at the DAC: real PyAudio streams on the virtual sound server.

* ``appliance run`` with ``audio.backend = "pyaudio"`` against the simulator: an answer played
  at ``appliance volume 100`` and one at ``appliance volume 30``, recorded from the sink's
  monitor (``appliance_out.monitor``): the second is as much quieter as the curve says;
* echo cancelling with the echo rig (:mod:`appliance.rig.echo`: the speaker fed back into the
  microphone 60 ms late, 6 dB down): the canceller's reference is the gained signal, block for
  block what goes to the device, so it removes at least 30 dB of echo at 100 % and at 30 %, in
  one stream, the volume changed between two answers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from rig import session_config

from appliance.audio.pcm import WIRE_RATE
from appliance.audio.playback import Playback
from appliance.audio.volume import Volume, gain
from appliance.config import AudioConfig
from appliance.rig.echo import echo_path
from appliance.rig.process import wait_for, wait_until
from appliance.rig.sound import SoundServer
from appliance.sim.voice import synth_speech

pyaudio_backend = pytest.importorskip(
    "appliance.audio.pyaudio_backend", reason="PyAudio is not installed"
)

MIN_ERLE_DB = 30.0


def active_level_db(samples: np.ndarray, rate: int = 48_000) -> float:
    """The power (dBFS) of the 20 ms frames that hold sound (the null sink's silence is
    digital zero), so the answer's level does not depend on how much silence was recorded."""
    frame = rate // 50
    n = len(samples) // frame * frame
    frames = samples[:n].reshape(-1, frame).astype(np.float64)
    power = np.mean(frames**2, axis=1)
    loud = power[power > 1e-9]
    assert len(loud) > 20, "nothing was heard on the speaker"
    return 10 * math.log10(float(np.mean(loud)))


def answer_level(app, sound_server: SoundServer) -> float:
    """Ask for an answer, record the sink while it plays, return its level (dBFS)."""
    seen = len(app.events)
    with sound_server.record() as recorder:
        app.ctl("say", text="Tell me about the museum", role="user", respond=True)
        app.wait_event(
            lambda e: (
                e["type"] == "transcript"
                and e["role"] == "assistant"
                and any(e is later for later in app.events[seen:])
            ),
            15,
            "the answer",
        )
        wait_until(lambda: app.ctl("status")["state"] == "listening", 15, "the answer to end")
        heard = recorder.stop()
    return active_level_db(heard)


def test_the_volume_is_applied_at_the_dac(sim, start, sound_server: SoundServer):
    sim.script({"answer_seconds": 2})
    config = session_config(sim, "ga", realtime={"auto_start": True})
    config["audio"] = {"backend": "pyaudio", "echo": "half-duplex"}
    app = start(config, use_wav=False, env={"PULSE_SERVER": sound_server.address})
    app.wait_state("listening")
    assert app.cli("volume", "100").stdout.strip() == "100"
    full = answer_level(app, sound_server)
    result = app.cli("volume", "30")
    assert result.returncode == 0 and result.stdout.strip() == "30", result.stderr
    low = answer_level(app, sound_server)
    expected = 20 * math.log10(gain(30))  # -20.9 dB
    assert low - full == pytest.approx(expected, abs=1.0), (full, low)
    assert app.ctl("status")["volume"] == 30


def test_cancelling_holds_at_any_volume(sound_server: SoundServer):
    pytest.importorskip("livekit.rtc", reason="livekit is not installed: no echo cancelling")
    voice = synth_speech(8.0)
    volume = Volume(100)
    playback = Playback(volume=volume)
    backend = pyaudio_backend.PyAudioBackend(AudioConfig(echo="cancel"))
    errors: list[str] = []
    erle: dict[int, float] = {}
    with echo_path(sound_server.address, delay_ms=60, gain_db=-6.0):
        backend.open(playback, lambda samples, t: None, errors.append)
        try:
            processor = backend.processor
            assert processor is not None and backend.cancelling
            stats = processor.stats
            # what the canceller is given as its reference, and what goes to the device,
            # block by block (keyed by the moment each reaches the DAC)
            render = processor.render
            references: dict[float, bytes] = {}
            played: dict[float, bytes] = {}

            def reference(block: bytes, dac: float) -> None:
                references[dac] = bytes(block)
                render(block, dac)

            processor.render = reference  # type: ignore[method-assign]
            backend.output_tap = lambda block, at, dac: played.__setitem__(dac, bytes(block))
            for percent, settle_s in ((100, 4.0), (30, 2.0)):
                volume.percent = percent
                playback.push("answer", voice)
                start = playback.position
                # measured once the canceller has settled: 4 s into the first answer, as the
                # bench does; 2 s after the drop to 30 % (in its first second or two the
                # residual is some 10 dB higher, about 30 dB below the echo)
                settled = start + settle_s * WIRE_RATE
                assert wait_for(lambda at=settled: playback.position > at, 15)
                stats.echo_in = stats.echo_out = 0.0
                stats.echo_frames = 0
                wait_until(
                    lambda: not playback.playing and playback.queued_ms == 0, 20, "the answer"
                )
                assert stats.echo_frames > 100, f"too little echo measured at {percent} %"
                erle[percent] = stats.erle_db or 0.0
        finally:
            backend.close()
    assert errors == []
    assert erle[100] >= MIN_ERLE_DB and erle[30] >= MIN_ERLE_DB, erle
    both = references.keys() & played.keys()
    assert len(both) > 100
    assert all(references[dac] == played[dac] for dac in both), "the reference is not what played"
    loudest = max(np.abs(np.frombuffer(played[dac], dtype="<i2")).max() for dac in both)
    assert loudest > 1000  # the blocks compared hold the voice, not only silence
