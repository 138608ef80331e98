"""Frame pacing: the avatar scale smoothing and when the loop animates."""

from __future__ import annotations

import os
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"

from appliance.config import AppConfig, DisplayConfig
from appliance.display.loop import STALE_METER_S, DisplayLoop, ScaleSmoother
from appliance.hub import Hub
from appliance.state import Phase, View


def test_smoother_follows_lightly_and_settles() -> None:
    smoother = ScaleSmoother(tau=0.05)
    first = smoother.step(2.0, 1 / 30)
    assert 1.0 < first < 2.0  # smoothed, not a jump
    for _ in range(30):
        smoother.step(2.0, 1 / 30)
    assert smoother.value == 2.0  # snapped once close enough
    assert ScaleSmoother(tau=0).step(1.7, 0.01) == 1.7


def test_loop_animates_only_while_something_moves() -> None:
    hub = Hub()
    loop = DisplayLoop(hub, AppConfig(display=DisplayConfig(mode="none")))
    assert loop.headless
    assert not loop.animating(View())
    assert loop.animating(View(phase=Phase.CONNECTING))  # spinner
    hub.analyser.scale = 1.6
    speaking = View(phase=Phase.LIVE, speaking=True)
    assert loop.animating(speaking)
    # a meter nobody feeds any more, with nothing speaking, counts as silent
    t0 = time.monotonic() + 1000
    hub.analyser.scale = 1.4
    assert loop.target_scale(View(phase=Phase.LIVE), t0) == 1.4  # it just changed
    assert loop.target_scale(View(phase=Phase.LIVE), t0 + STALE_METER_S + 0.1) == 1.0
    assert loop.target_scale(speaking, t0 + STALE_METER_S + 0.1) == 1.4


def test_the_loop_counts_the_frames_due_and_those_it_was_late_for() -> None:
    """What ``status`` reports as ``display``: a turn that begins a frame period or more after
    its frame was due is late (the CPU was busy elsewhere)."""
    hub = Hub()
    config = AppConfig(display=DisplayConfig(mode="window", size=(320, 240), fps=5))
    loop = DisplayLoop(hub, config)
    try:
        assert not loop.headless
        hub.show(View(phase=Phase.CONNECTING))  # the spinner turns: frames are due
        loop.step()  # draws, then waits for the next frame's time
        stats = hub.display_stats
        assert stats.frames == 1 and stats.due == 0
        loop.step()  # begins when its frame is due
        assert (stats.due, stats.late) == (1, 0)
        assert stats.frames == 2  # the spinner moved
        loop._due_at -= 1.0  # as if this turn came a second after its frame was due
        loop.step()
        assert (stats.due, stats.late) == (2, 1)
        hub.show(View())  # idle: nothing animates, no frame is due
        loop.step()
        loop.step()
        assert stats.due == 3  # the turn after the last animated one, no more
    finally:
        loop.close()
