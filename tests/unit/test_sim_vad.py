"""The simulator's energy VAD and script parsing."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.sim.schema import Invalid
from appliance.sim.script import Script, parse_command
from appliance.sim.vad import EnergyVad, SpeechStarted, SpeechStopped, threshold_dbfs


def tone(seconds: float, dbfs: float) -> bytes:
    t = np.arange(round(seconds * 24000)) / 24000
    amp = 10 ** (dbfs / 20) * np.sqrt(2)  # sine RMS = amp / sqrt(2)
    return np.round(amp * np.sin(2 * np.pi * 200 * t) * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(round(seconds * 48000))


def test_threshold_mapping() -> None:
    assert threshold_dbfs(0.0) == -70
    assert threshold_dbfs(0.5) == -40
    assert threshold_dbfs(1.0) == -10


def test_silence_gives_no_events() -> None:
    assert EnergyVad().feed(silence(2.0)) == []


def test_speech_start_and_stop_positions() -> None:
    vad = EnergyVad(
        {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 100,
            "silence_duration_ms": 300,
        }
    )
    out = vad.feed(silence(1.0) + tone(0.6, -20) + silence(0.5))
    assert out == [SpeechStarted(900), SpeechStopped(1900, 600)]


def test_events_do_not_depend_on_chunking() -> None:
    pcm = silence(0.3) + tone(0.4, -20) + silence(0.7)
    whole = EnergyVad().feed(pcm)
    vad = EnergyVad()
    pieces = [e for i in range(0, len(pcm), 1234) for e in vad.feed(pcm[i : i + 1234])]
    assert whole == pieces and len(whole) == 2


@pytest.mark.parametrize(("threshold", "heard"), [(0.3, True), (0.9, False)])
def test_threshold_decides_what_is_speech(threshold: float, heard: bool) -> None:
    vad = EnergyVad({"type": "server_vad", "threshold": threshold})
    out = vad.feed(tone(0.5, -35) + silence(1.0))  # -35 dBFS: over -52, under -16
    assert bool(out) is heard


def test_short_pause_does_not_end_speech_and_a_click_does_not_start_it() -> None:
    vad = EnergyVad({"type": "server_vad", "silence_duration_ms": 500})
    out = vad.feed(tone(0.3, -20) + silence(0.3) + tone(0.3, -20) + silence(0.6))
    assert [type(e) for e in out] == [SpeechStarted, SpeechStopped]
    assert EnergyVad().feed(silence(0.2) + tone(0.02, -10) + silence(1.0)) == []


def test_semantic_vad_eagerness_sets_the_silence() -> None:
    vad = EnergyVad({"type": "semantic_vad", "eagerness": "high"})
    assert vad.silence_duration_ms == 250


def test_script_commands_are_validated() -> None:
    assert parse_command({"fault": "drop", "after_deltas": 3})["after_deltas"] == 3
    with pytest.raises(Invalid, match="Unknown fault"):
        parse_command({"fault": "explode"})
    with pytest.raises(Invalid) as info:
        parse_command({"fault": "http", "path": "/provision", "statsu": 500})
    assert info.value.param == "statsu"
    with pytest.raises(Invalid):
        parse_command({"function_calls": [{"arguments": "{}"}]})


def test_http_faults_count_down() -> None:
    script = Script()
    script.add(
        {"fault": "http", "path": "/provision", "status": 503, "count": 2}, session_open=False
    )
    assert script.take_http_fault("/other") is None
    assert script.take_http_fault("/provision").status == 503
    assert script.take_http_fault("/provision").status == 503
    assert script.take_http_fault("/provision") is None
