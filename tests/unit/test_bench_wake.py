"""The wake word bench: its generated test set (appliance/rig/wakeset.py) and its scoring."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.bench.wake import (
    ENGINES,
    detection_rates,
    false_accepts,
    hits,
    latencies_ms,
    measure,
)
from appliance.rig import wakeset
from appliance.rig.wakeset import RATE, SNRS_DB, Clip, Recipe

TINY = Recipe(("en-us",), (175,), (50,), 6.0)


def clip(start: int, snr: float = 10.0) -> Clip:
    return Clip(
        start,
        start + 100,
        start + 500,
        start + 400,
        start + 1000,
        snr,
        "white",
        "en-us",
        175,
        50,
        "x",
    )


def test_a_detection_counts_for_the_clip_it_falls_in_from_the_phrase_on() -> None:
    clips = [clip(0, 20.0), clip(1000, 20.0), clip(2000, 5.0), clip(3000, 5.0)]
    detections = [50, 1100, 2999, 3400]  # in a lead, at a phrase's start, at a clip's end - 1
    assert hits(detections, clips) == [False, True, True, True]
    assert detection_rates(detections, clips) == {20.0: 0.5, 5.0: 1.0}
    assert latencies_ms(detections, clips) == pytest.approx(  # from the voice's end
        [1000 * (1100 - 1400) / RATE, 1000 * (2999 - 2400) / RATE, 1000 * (3400 - 3400) / RATE]
    )


def test_false_accepts_are_the_detections_after_the_positives() -> None:
    assert false_accepts([10, 4999, 5000, 9000], positives_len=5000) == 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> wakeset.WakeSet:
    if wakeset.shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("wake") / "tiny.npz"
    wakeset.save(wakeset.generate(TINY, babble_s=5.0), path)
    return wakeset.load(path)


def test_the_set_has_each_snr_it_says(tiny: wakeset.WakeSet) -> None:
    assert [c.snr_db for c in tiny.clips] == list(SNRS_DB)
    x = tiny.positives.astype(np.float64) / 32767
    for c in tiny.clips:
        noise = x[c.start : c.phrase_start]  # the lead: noise alone
        noise_dbfs = 20 * np.log10(np.sqrt(np.mean(noise**2)))
        assert noise_dbfs == pytest.approx(wakeset.SPEECH_DBFS - c.snr_db, abs=1.0)
        phrase = np.abs(x[c.phrase_start : c.phrase_end])
        assert phrase.max() > 10 ** ((wakeset.SPEECH_DBFS - c.snr_db + 6) / 20)
        # espeak-ng ends its audio with a silence: the voice ends 0.1-0.5 s before
        assert 0.1 * RATE < c.phrase_end - c.voice_end < 0.5 * RATE
    assert tiny.negative_s == pytest.approx(TINY.negative_s)


def test_the_set_is_the_same_every_time_and_cached(
    tmp_path, monkeypatch: pytest.MonkeyPatch, tiny: wakeset.WakeSet
) -> None:
    again = wakeset.generate(TINY, babble_s=5.0)
    assert np.array_equal(again[0], tiny.positives)
    assert np.array_equal(again[2], tiny.negatives)
    monkeypatch.setattr(wakeset.Recipe, "make", staticmethod(lambda quick: TINY))
    monkeypatch.setattr(wakeset, "BABBLE_S", 5.0)
    first = wakeset.wake_set(quick=True, folder=tmp_path)
    assert np.array_equal(first.positives, tiny.positives)
    stamp = first.path.stat().st_mtime_ns
    second = wakeset.wake_set(quick=True, folder=tmp_path)
    assert second.path == first.path and second.path.stat().st_mtime_ns == stamp
    assert np.array_equal(second.positives, first.positives)
    assert len(list(tmp_path.iterdir())) == 1  # no partial file left


def test_microwakeword_hears_the_quiet_phrase_and_nothing_else(tiny: wakeset.WakeSet) -> None:
    measured = measure(ENGINES[0], tiny)
    assert hits(measured.detections, tiny.clips)[0]  # 20 dB SNR
    assert false_accepts(measured.detections, len(tiny.positives)) == 0
    assert measured.cpu_s > 0
    assert measured.done_pss > measured.base_pss
