"""The output volume's maths: the curve, int16 scaling with clipping, the ramp, commands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from appliance.audio.playback import Playback
from appliance.audio.volume import Volume, clamp, gain, parse_change, scale


def db(factor: float) -> float:
    return 20 * math.log10(factor)


def test_the_curve_is_square_law_with_silence_at_zero() -> None:
    assert gain(0) == 0.0
    assert gain(100) == 1.0
    assert gain(50) == pytest.approx(0.25)
    assert db(gain(30)) == pytest.approx(-20.9, abs=0.1)
    assert db(gain(10)) == pytest.approx(-40.0, abs=0.01)
    steps = [gain(p) for p in range(0, 101, 10)]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)  # strictly rising


def test_the_curve_clamps_out_of_range_settings() -> None:
    assert gain(-20) == 0.0 and gain(250) == 1.0
    assert clamp(-1) == 0 and clamp(101) == 100 and clamp(49.6) == 50


def test_scale_rounds_and_clips_int16() -> None:
    samples = np.array([32767, -32768, 1000, -1000, 1, 0], dtype=np.int16)
    half = scale(samples, 0.5)
    assert half.dtype == np.int16
    assert half.tolist() == [16384, -16384, 500, -500, 0, 0]
    assert scale(samples, 0.0).tolist() == [0] * 6
    assert scale(samples, 1.0).tolist() == samples.tolist()
    loud = scale(samples, 2.0)  # never above unity here, but never wraps either
    assert loud.tolist() == [32767, -32768, 2000, -2000, 2, 0]


def test_a_change_ramps_across_one_block_without_a_jump() -> None:
    block = np.full(480, 20000, dtype=np.int16)
    out = scale(block, 1.0, 0.25)
    assert out[0] == 20000 and out[-1] == 5000
    steps = np.abs(np.diff(out.astype(np.int32)))
    assert steps.max() <= math.ceil(15000 / 479)  # spread evenly over the block: no click


def test_volume_ramps_once_then_holds() -> None:
    volume = Volume(100)
    block = np.full(100, 10000, dtype=np.int16)
    assert np.array_equal(volume.apply(block), block)
    volume.percent = 50
    first = volume.apply(block)
    assert first[0] == 10000 and first[-1] == 2500
    assert np.all(volume.apply(block) == 2500)  # the next block is at the new gain
    volume.percent = 0
    volume.apply(block)
    assert not np.any(volume.apply(block))  # 0 % is silence


def test_playback_reads_at_the_volume_and_the_meter_sees_the_voice() -> None:
    volume = Volume(30)
    playback = Playback(volume=volume)
    playback.push("a", np.full(960, 10000, dtype="<i2").tobytes())
    out = playback.read(960)
    assert np.all(out == round(10000 * 0.09))
    # the avatar follows the voice as sent, not the speaker's level
    reference = Playback()
    reference.push("a", np.full(960, 10000, dtype="<i2").tobytes())
    reference.read(960)
    assert playback.analyser.level == pytest.approx(reference.analyser.level)


def test_sound_cues_play_at_the_volume_mixed_or_alone() -> None:
    cue = np.full(960, 10000, dtype=np.int16)
    playback = Playback(volume=Volume(30))
    playback.cue(cue)
    assert np.all(playback.read(960) == round(10000 * 0.09))  # mixed into the stream
    alone = playback.volume.steady(cue)  # after the session's device closed
    assert np.all(alone == round(10000 * 0.09))
    assert playback.volume.apply(cue)[0] == round(10000 * 0.09)  # the ramp's state untouched


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("30", 100, 30),
        (30, 100, 30),
        ("0", 50, 0),
        ("100", 0, 100),
        ("+10", 50, 60),
        ("-10", 50, 40),
        ("+30", 90, 100),
        ("-30", 20, 0),
        (" 45 % ", 10, 45),
    ],
)
def test_parse_change(text: str | int, current: int, expected: int) -> None:
    assert parse_change(text, current) == expected


@pytest.mark.parametrize("text", ["loud", "", "+", "1.5", "101", "--5", "1000"])
def test_parse_change_refuses_what_is_not_a_volume(text: str) -> None:
    with pytest.raises(ValueError, match="volume"):
        parse_change(text, 50)
