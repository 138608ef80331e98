"""Button gestures from raw edges and time (pure): debouncing, short press, hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.buttonlogic import HOLD, PRESS, ButtonLogic, action_input
from appliance.state import Mute, Toggle


def run(
    logic: ButtonLogic, edges: list[tuple[float, bool]], until: float
) -> list[tuple[float, str]]:
    """Feed edges, ticking at every deadline as a driver thread would; gestures with times."""
    out: list[tuple[float, str]] = []
    pending = sorted(edges)
    while True:
        deadline = logic.deadline()
        next_edge = pending[0][0] if pending else None
        if next_edge is not None and (deadline is None or next_edge <= deadline):
            t, level = pending.pop(0)
            out += [(t, g) for g in logic.edge(level, t)]
        elif deadline is not None and deadline <= until:
            out += [(deadline, g) for g in logic.tick(deadline)]
        else:
            return out


def test_short_press_fires_on_release() -> None:
    logic = ButtonLogic(0.03, 0.8)
    assert run(logic, [(1.0, True), (1.2, False)], 5) == [(pytest.approx(1.23), PRESS)]


def test_hold_fires_while_held_and_release_reports_nothing() -> None:
    logic = ButtonLogic(0.03, 0.8)
    gestures = run(logic, [(1.0, True), (2.5, False)], 5)
    assert gestures == [(pytest.approx(1.8), HOLD)]


def test_release_just_before_hold_time_is_a_press() -> None:
    logic = ButtonLogic(0.03, 0.8)
    assert [g for _, g in run(logic, [(1.0, True), (1.79, False)], 5)] == [PRESS]


def test_chatter_within_bounce_is_one_press() -> None:
    logic = ButtonLogic(0.03, 0.8)
    chatter = [(1.000, True), (1.004, False), (1.009, True), (1.015, False), (1.020, True)]
    release = [(1.300, False), (1.306, True), (1.311, False)]
    assert [g for _, g in run(logic, chatter + release, 5)] == [PRESS]


def test_glitch_shorter_than_bounce_is_ignored() -> None:
    logic = ButtonLogic(0.03, 0.8)
    assert run(logic, [(1.0, True), (1.01, False)], 5) == []


def test_late_tick_does_not_lose_a_press() -> None:
    """The driver thread may wake late: an edge after a stable period still settles it first."""
    logic = ButtonLogic(0.03, 0.8)
    assert logic.edge(True, 1.0) == []
    assert logic.edge(False, 1.2) == []  # no tick happened in between
    assert logic.tick(1.25) == [PRESS]


def test_without_hold_a_press_fires_on_the_way_down() -> None:
    logic = ButtonLogic(0.02, None)
    assert run(logic, [(1.0, True), (3.0, False)], 5) == [(pytest.approx(1.02), PRESS)]


def test_zero_bounce_is_immediate() -> None:
    logic = ButtonLogic(0.0, None)
    assert logic.edge(True, 1.0) == [PRESS]


def test_button_down_at_start_is_not_a_gesture() -> None:
    logic = ButtonLogic(0.03, 0.8, pressed=True)
    assert run(logic, [(1.0, False)], 5) == []
    assert [g for _, g in run(logic, [(2.0, True), (2.1, False)], 5)] == [PRESS]


@given(
    st.lists(
        st.tuples(st.floats(0.04, 0.7), st.floats(0.04, 0.5)),  # (down time, up time) > bounce
        min_size=1,
        max_size=20,
    )
)
def test_n_clean_presses_are_n_presses(cycles: list[tuple[float, float]]) -> None:
    logic = ButtonLogic(0.03, 0.8)
    edges, t = [], 0.0
    for down, up in cycles:
        edges += [(t, True), (t + down, False)]
        t += down + up
    assert [g for _, g in run(logic, edges, t + 1)] == [PRESS] * len(cycles)


def test_button_actions_map_to_state_machine_inputs() -> None:
    # the physical button, `appliance press` and the screen share this one mapping
    assert action_input("toggle") == Toggle()
    assert action_input("mute") == Mute()
    assert action_input("none") is None
    with pytest.raises(ValueError, match="use toggle, mute or none"):
        action_input("explode")
