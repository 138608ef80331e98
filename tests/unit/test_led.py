"""LED patterns: parsing the configuration syntax and rendering over time (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.config import ConfigError, validate
from appliance.led import (
    COUNTDOWN,
    DEFAULT_PATTERNS,
    STATES,
    WAKE,
    Blink,
    Breathe,
    Double,
    Steady,
    brightness,
    lit,
    next_change,
    parse_pattern,
    parse_patterns,
    pattern_name,
)
from appliance.state import Phase, View


def test_every_view_state_has_a_default_pattern() -> None:
    views = [
        View(),
        View(phase=Phase.CONNECTING),
        View(phase=Phase.CONNECTING, reconnect_attempt=1),
        View(phase=Phase.LIVE),
        View(phase=Phase.LIVE, muted=True),
        View(phase=Phase.LIVE, speaking=True),
        View(phase=Phase.ERROR),
    ]
    assert {v.state for v in views} == set(STATES) == set(DEFAULT_PATTERNS) - {COUNTDOWN, WAKE}


def test_the_countdown_before_an_idle_stop_has_its_own_pattern() -> None:
    counting = View(phase=Phase.LIVE, countdown_s=4)
    assert pattern_name(counting.state, counting.countdown_s) == COUNTDOWN
    assert pattern_name("listening", None) == "listening"
    assert parse_patterns({})[COUNTDOWN] == Blink(2.0)
    assert parse_patterns({"countdown": "fast-blink"})[COUNTDOWN] == Blink(5.0)


def test_defaults_follow_the_design_table() -> None:
    table = parse_patterns({})
    assert table["idle"] == Steady(0.0)
    assert table["connecting"] == table["reconnecting"] == Blink(1.0)
    assert table["listening"] == Steady(1.0)
    assert table["muted"] == Double(1.0)
    assert table["speaking"] == Breathe(None)
    assert table["error"] == Blink(5.0)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("on", Steady(1.0)),
        ("OFF", Steady(0.0)),
        (0.3, Steady(0.3)),
        (True, Steady(1.0)),
        ({"on": 0.25}, Steady(0.25)),
        ("blink", Blink(1.0)),
        ("fast-blink", Blink(5.0)),
        ({"blink": 2.0}, Blink(2.0)),
        ({"blink": 3, "duty": 0.2}, Blink(3.0, 0.2)),
        ("double", Double(1.0)),
        ({"double": 0.5}, Double(0.5)),
        ("breathe", Breathe()),
        ({"breathe": "amplitude", "floor": 0.0, "gain": 2}, Breathe(None, 0.0, 2.0)),
        ({"breathe": 0.5}, Breathe(0.5)),
    ],
)
def test_pattern_syntax(spec: object, expected: object) -> None:
    assert parse_pattern(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("strobe", "unknown pattern 'strobe'"),
        (1.5, "brightness must be a number from 0 to 1"),
        ({"blink": 0}, "blink frequency must be"),
        ({"blink": 2, "double": 1}, "exactly one of"),
        ({"blink": 2, "duty": 2}, "duty must be"),
        ({"blink": 2, "speed": 1}, "unknown option"),
        ({"breathe": "amplitude", "gain": 0}, "gain must be"),
        ([1, 2], "a pattern is a name"),
    ],
)
def test_bad_patterns_say_what_is_wrong(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pattern(spec)


def test_overrides_apply_and_connecting_covers_reconnecting() -> None:
    table = parse_patterns({"muted": "on", "connecting": {"blink": 2.0}})
    assert table["muted"] == Steady(1.0)
    assert table["connecting"] == table["reconnecting"] == Blink(2.0)
    assert table["error"] == Blink(5.0)
    table = parse_patterns({"connecting": "on", "reconnecting": "fast-blink"})
    assert table["reconnecting"] == Blink(5.0)


def test_config_rejects_bad_patterns_with_the_state_named() -> None:
    with pytest.raises(ConfigError, match=r"gpio\.patterns: muted: unknown pattern"):
        validate({"gpio": {"patterns": {"muted": "wobble"}}})
    with pytest.raises(ConfigError, match="unknown state"):
        validate({"gpio": {"patterns": {"speakin": "on"}}})
    ok = validate({"gpio": {"patterns": {"muted": "on", "error": {"blink": 2.0}}}})
    assert parse_patterns(ok.gpio.patterns)["error"] == Blink(2.0)


def test_the_config_keeps_the_parsed_patterns() -> None:
    gpio = validate({"gpio": {"patterns": {"muted": "on", "error": {"blink": 2.0}}}}).gpio
    assert gpio.led_patterns == parse_patterns({"muted": "on", "error": {"blink": 2.0}})
    assert gpio.patterns == {"muted": "on", "error": {"blink": 2.0}}  # shown as written
    assert validate({}).gpio.led_patterns == parse_patterns({})  # the defaults
    gpio.patterns = {"error": "on"}  # an assignment is validated, and parsed, again
    assert gpio.led_patterns["error"] == Steady(1.0)
    with pytest.raises(ValidationError, match="unknown pattern"):
        gpio.patterns = {"error": "wobble"}
    assert gpio.led_patterns["error"] == Steady(1.0)


def test_blink_starts_lit_and_keeps_its_period() -> None:
    pattern = Blink(2.0)  # 0.25 s on, 0.25 s off
    assert [brightness(pattern, t) for t in (0.0, 0.2, 0.3, 0.49, 0.5, 0.76)] == [
        1.0,
        1.0,
        0.0,
        0.0,
        1.0,
        0.0,
    ]
    assert next_change(pattern, 0.0, pwm=True) == pytest.approx(0.25)
    assert next_change(pattern, 0.25, pwm=True) == pytest.approx(0.5)
    assert next_change(pattern, 10.3, pwm=False) == pytest.approx(10.5)


def test_double_blink_flashes_twice_per_period() -> None:
    pattern = Double(1.0)
    samples = [brightness(pattern, i / 100) for i in range(100)]
    rises = sum(1 for a, b in zip([0.0, *samples], samples, strict=False) if b > a)
    assert rises == 2
    assert sum(samples) == pytest.approx(20, abs=1)  # two 100 ms flashes


def test_amplitude_breathing_follows_the_level() -> None:
    pattern = Breathe(None, floor=0.1, gain=1.5)
    assert brightness(pattern, 0.0, 0.0) == pytest.approx(0.1)
    assert brightness(pattern, 0.0, 0.4) == pytest.approx(0.1 + 0.9 * 0.6)
    assert brightness(pattern, 0.0, 0.9) == pytest.approx(1.0)
    assert brightness(pattern, 5.0, 0.4) == brightness(pattern, 0.0, 0.4)
    assert next_change(pattern, 1.0, pwm=True) == pytest.approx(1.02)


def test_sine_breathing_is_smooth_and_starts_bright() -> None:
    pattern = Breathe(0.5, floor=0.0)
    assert brightness(pattern, 0.0) == pytest.approx(1.0)
    assert brightness(pattern, 1.0) == pytest.approx(0.0)
    assert brightness(pattern, 0.5) == pytest.approx(0.5)


def test_without_pwm_dim_and_breathing_are_on() -> None:
    assert lit(Steady(0.2), 0.0) is True
    assert lit(Steady(0.0), 0.0) is False
    assert lit(Breathe(), 3.0) is True
    assert next_change(Breathe(), 3.0, pwm=False) is None
    assert lit(Blink(1.0), 0.7) is False
    assert next_change(Steady(1.0), 3.0, pwm=True) is None


patterns = st.one_of(
    st.builds(Blink, st.floats(0.1, 20), st.floats(0.05, 0.95)),
    st.builds(Double, st.floats(0.1, 5)),
)


@given(patterns, st.floats(0, 100))
def test_rendering_only_changes_at_next_change(pattern: Blink | Double, t: float) -> None:
    """Sleeping until ``next_change`` never misses an edge: the value is constant until then."""
    nxt = next_change(pattern, t, pwm=True)
    assert nxt is not None and nxt > t
    value = lit(pattern, t)
    for k in range(1, 10):
        probe = t + (nxt - t) * k / 10
        assert lit(pattern, probe) == value or abs(probe - nxt) < 1e-6


@pytest.mark.parametrize(
    ("pattern", "t"),
    [(Double(1.0), 0.3), (Double(1.0), 0.1), (Blink(1.0, 0.3), 0.3), (Blink(5.0), 0.1)],
)
def test_a_floating_point_edge_is_on_the_same_side_for_both(pattern, t):
    # 3 * 0.1 is 0.30000000000000004: brightness and next_change must agree that t is on the
    # edge, or a renderer sleeping until next_change misses a whole flash
    nxt = next_change(pattern, t, pwm=True)
    assert all(lit(pattern, t + (nxt - t) * k / 10) == lit(pattern, t) for k in range(1, 10))
