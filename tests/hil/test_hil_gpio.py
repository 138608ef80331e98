"""Button and LED end to end: a real appliance against the simulator, through the GPIO pins.

Each test runs on the virtual rig (mock pins, in-process appliance) in ``scripts/test`` and on
the real Pi rig with APPLIANCE_HIL=1 (see conftest.py).
"""

from __future__ import annotations

import itertools
import statistics

from hilrig import HOLD_MS, Rig, wait_until


def gaps(changes: list[tuple[float, bool]]) -> list[float]:
    return [b[0] - a[0] for a, b in itertools.pairwise(changes)]


def alternates(changes: list[tuple[float, bool]]) -> bool:
    return all(a[1] != b[1] for a, b in itertools.pairwise(changes))


def assert_blinks(rig: Rig, hz: float, count: int) -> None:
    """The LED changes ``count`` times from now, every half period of ``hz``."""
    rig.led_mark()
    changes = rig.wait_led_changes(count)
    half = 0.5 / hz
    assert alternates(changes), changes
    between = gaps(changes)
    assert abs(statistics.fmean(between) - half) < 0.25 * half, (between, half)


def assert_steady(rig: Rig, lit: bool, seconds: float = 0.6) -> None:
    """The LED is ``lit`` and does not change for ``seconds``."""
    wait_until(lambda: rig.led_lit() == lit, 3, f"LED {'on' if lit else 'off'}")
    changes = rig.observe(seconds)
    assert changes == [], f"the LED should stay {'on' if lit else 'off'}: {changes}"


def test_press_connects_led_blinks_then_on(rig: Rig) -> None:
    assert rig.app.state() == "idle"
    assert_steady(rig, lit=False, seconds=0.3)
    rig.sim.script({"fault": "slow", "path": "/provision", "seconds": 1.8, "count": 1})
    rig.led_mark()
    rig.press()
    rig.app.wait_state("connecting", timeout=5)
    changes = rig.wait_led_changes(3)  # on at once, off after 0.5 s, on again after 1 s
    assert [lit for _, lit in changes] == [True, False, True], changes
    assert all(abs(g - 0.5) < 0.12 for g in gaps(changes)), gaps(changes)
    rig.app.wait_state("listening", timeout=10)
    assert_steady(rig, lit=True)


def test_hold_mutes_and_does_not_toggle(rig: Rig) -> None:
    rig.press()
    rig.app.wait_state("listening")
    held = rig.hold(lambda: rig.app.status()["muted"])
    assert held >= HOLD_MS / 1000 - 0.05
    assert rig.app.wait_state("muted")["phase"] == "live"
    # Muted: a double blink (two 0.1 s flashes a second); the release did not toggle.
    rig.led_mark()
    changes = rig.wait_led_changes(5, timeout=4)
    assert alternates(changes), changes
    assert sorted(round(g, 1) for g in gaps(changes)) == [0.1, 0.1, 0.1, 0.7], gaps(changes)
    assert rig.app.state() == "muted"
    rig.hold(lambda: not rig.app.status()["muted"])
    rig.app.wait_state("listening")
    assert_steady(rig, lit=True)


def test_press_during_speech_interrupts_then_stops(rig: Rig) -> None:
    rig.sim.script({"answer_seconds": 6})
    rig.press()
    rig.app.wait_state("listening")
    rig.app.say("Tell me a long story")
    rig.app.wait_state("speaking")
    rig.press()  # first press: interrupt the model, stay in the session
    assert rig.app.wait_state("listening", timeout=5)["phase"] == "live"
    rig.press()  # second press: stop
    rig.app.wait_state("idle", timeout=5)
    assert_steady(rig, lit=False, seconds=0.3)


def test_error_blinks_fast_and_a_press_recovers(rig: Rig) -> None:
    rig.sim.script({"fault": "http", "path": "/provision", "status": 500, "count": 1})
    rig.press()
    status = rig.app.wait_state("error")
    assert "500" in (status["last_error"] or "")
    assert_blinks(rig, hz=5.0, count=7)
    rig.press()
    rig.app.wait_state("listening")
    assert_steady(rig, lit=True)
