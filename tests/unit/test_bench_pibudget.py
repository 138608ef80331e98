"""The Pi budget bench's pieces: which areas run, log times, audible stretches."""

from __future__ import annotations

import time

import numpy as np

from appliance.bench.__main__ import areas
from appliance.bench.pibudget import RATE, audible_spans, barge_ins, silent_after

ALL = ["audio", "display", "imports", "live", "pibudget", "soak", "start"]


def test_long_areas_run_only_when_asked() -> None:
    default = areas(ALL, only=None, soak=False, pi_budget=False)
    assert "pibudget" not in default and "soak" not in default and "live" in default
    assert areas(ALL, only=None, soak=False, pi_budget=True) == ["pibudget"]
    assert areas(ALL, only=["start"], soak=False, pi_budget=True) == ["pibudget", "start"]
    assert areas(ALL, only=["pibudget"], soak=False, pi_budget=False) == ["pibudget"]
    assert "soak" in areas(ALL, only=None, soak=True, pi_budget=False)


def _stamp(perf: float) -> str:
    wall = perf + time.time() - time.perf_counter()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall)) + f",{int(wall % 1 * 1000):03d}"


def test_barge_in_times_come_from_the_log_lines_after_each_press() -> None:
    now = time.perf_counter()
    presses = [now - 10.0, now - 5.0, now - 2.0]
    log = "\n".join(
        [
            f"{_stamp(now - 20.0)} INFO appliance: barge-in: item_0 truncated at 100 ms",
            f"{_stamp(presses[0] + 0.012)} INFO appliance: barge-in: item_1 truncated at 900 ms",
            f"{_stamp(presses[1] + 0.003)} INFO appliance: barge-in: item_2 truncated at 1 ms",
            f"{_stamp(presses[1] + 0.5)} INFO appliance: session stopped",
        ]
    )
    found = barge_ins(log, presses)
    assert len(found) == 2  # the third press has no line (nothing was playing)
    assert 11 <= found[0] <= 13.5 and 2 <= found[1] <= 4.5


def test_audible_stretches_skip_clicks_and_pauses() -> None:
    t = np.arange(2 * RATE) / RATE
    x = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    x[RATE // 2 : RATE] = 0  # a pause of 0.5 s
    x[int(1.5 * RATE) : int(1.5 * RATE) + RATE // 100] = 0.5  # stays loud: no new stretch
    spans = audible_spans(x, origin=100.0)
    assert len(spans) == 2
    assert abs(spans[0][0] - 100.0) < 0.01 and abs(spans[0][1] - 100.5) < 0.01
    assert abs(spans[1][0] - 101.0) < 0.01 and abs(spans[1][1] - 102.0) < 0.01


def test_silence_after_a_press_is_read_from_the_recording() -> None:
    x = np.zeros(3 * RATE, dtype=np.float32)
    x[: RATE + RATE // 20] = 0.2  # sound until 50 ms after a press at 1 s
    x[int(1.6 * RATE) : int(1.9 * RATE)] = 0.2  # the next round's answer, 0.6 s later
    x[2 * RATE : 2 * RATE + RATE // 5] = 0.2  # a press at 2 s, sound for 200 ms after it
    assert silent_after(x, 0.0, [1.0, 2.0], within_s=0.1) == 1
