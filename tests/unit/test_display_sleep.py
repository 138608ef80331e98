"""The screen's sleep timing (appliance/display/sleep.py): idle -> dim -> dark, and waking."""

from __future__ import annotations

from appliance.display.sleep import DARK_AFTER_DIM_S, Power, SleepTimer

T0 = 1000.0


def test_idle_dims_after_sleep_after_s_then_goes_dark() -> None:
    timer = SleepTimer(300, T0)
    assert timer.power(T0 + 299.9) is Power.ON
    assert timer.next_change(T0) == 300
    assert timer.power(T0 + 300) is Power.DIM
    assert timer.next_change(T0 + 300) == DARK_AFTER_DIM_S
    assert timer.power(T0 + 300 + DARK_AFTER_DIM_S - 0.1) is Power.DIM
    assert timer.power(T0 + 300 + DARK_AFTER_DIM_S) is Power.DARK
    assert timer.next_change(T0 + 10_000) is None  # dark stays dark


def test_zero_never_sleeps() -> None:
    timer = SleepTimer(0, T0)
    assert timer.power(T0 + 1e9) is Power.ON
    assert timer.next_change(T0) is None


def test_first_touch_on_a_sleeping_screen_only_wakes_it() -> None:
    timer = SleepTimer(10, T0, dark_after_dim_s=5)
    assert timer.touch(T0 + 1)  # awake: the touch presses what it hits
    dark = T0 + 1 + 16
    assert timer.power(dark) is Power.DARK
    assert not timer.touch(dark)  # wakes, swallowed
    assert timer.power(dark) is Power.ON
    assert timer.touch(dark + 0.2)  # the next touch presses
    dim = dark + 0.2 + 11
    assert timer.power(dim) is Power.DIM
    assert not timer.touch(dim)  # a dim screen is asleep too
    assert timer.power(dim) is Power.ON


def test_activity_wakes_and_restarts_the_idle_time() -> None:
    timer = SleepTimer(10, T0, dark_after_dim_s=5)
    assert timer.power(T0 + 20) is Power.DARK
    timer.activity(T0 + 20)  # a press, a wake word, a change of state
    assert timer.power(T0 + 20) is Power.ON
    assert timer.power(T0 + 29.9) is Power.ON
    assert timer.power(T0 + 30) is Power.DIM
    timer.activity(T0 + 5)  # a late report never moves the idle time back
    assert timer.power(T0 + 30) is Power.DIM


def test_a_session_never_sleeps_and_idle_counts_from_its_end() -> None:
    timer = SleepTimer(10, T0, dark_after_dim_s=5)
    timer.busy(True, T0 + 9)  # a session starts
    assert timer.power(T0 + 500) is Power.ON
    assert timer.next_change(T0 + 500) is None
    timer.busy(False, T0 + 600)  # it ends
    assert timer.power(T0 + 609) is Power.ON
    assert timer.power(T0 + 610) is Power.DIM
    timer.busy(False, T0 + 700)  # still idle: no effect on the idle time
    assert timer.power(T0 + 700) is Power.DARK
