"""The GPIO front end on gpiozero's mock pins, end to end with a real Hub and state machine.

Real gpiozero ``Button``/``PWMLED``/``LED`` objects on ``MockFactory`` pins; the test drives the
button pin and reads the LED pin's recorded history. The state machine is the real one, on a
real asyncio loop in a thread (:class:`~appliance.rig.inprocess.MachineLoop`).
"""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero import LED, Button
from gpiozero.pins.mock import MockFactory, MockPWMPin

from appliance import led
from appliance.config import GpioConfig
from appliance.gpio import GpioFrontend, start_gpio
from appliance.hub import Hub
from appliance.rig.inprocess import MachineLoop
from appliance.rig.process import wait_for
from appliance.state import (
    AudioStarted,
    Connect,
    Connected,
    Countdown,
    Disconnect,
    Effect,
    Emit,
    Failed,
    Interrupt,
    Mute,
    Toggle,
)

BOUNCE_MS = 20
HOLD_MS = 300


def config(**changes: object) -> GpioConfig:
    base: dict[str, object] = {
        "button_pin": 17,
        "led_pin": 27,
        "bounce_ms": BOUNCE_MS,
        "hold_ms": HOLD_MS,
    }
    return GpioConfig(**(base | changes))


def stimulus(seconds: float) -> None:
    """Keep the button in its current level for a while (stimulus timing, not synchronisation)."""
    threading.Event().wait(seconds)


def poll(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    """True once ``check()`` is, False after ``timeout`` (polled every 2 ms)."""
    return wait_for(check, timeout, interval=0.002)


class Rig:
    """Mock pins + start_gpio + Hub + a real Machine on a loop."""

    def __init__(self, factory: MockFactory, cfg: GpioConfig, answer_connect: bool) -> None:
        self.factory = factory
        self.machine = MachineLoop(on_effect=self._on_effect)
        self.answer_connect = answer_connect
        frontend = start_gpio(self.machine.hub, cfg, pin_factory=factory)
        assert frontend is not None
        self.frontend: GpioFrontend = frontend
        self.button = factory.pin(17)
        self.led = factory.pin(27) if cfg.led_pin is not None else None

    def _on_effect(self, effect: Effect) -> None:
        if isinstance(effect, Connect) and self.answer_connect:
            self.machine.post_later(0.01, Connected())

    def press(self, down_s: float = 2.5 * BOUNCE_MS / 1000) -> None:
        self.button.drive_low()
        stimulus(down_s)
        self.button.drive_high()
        stimulus(2.5 * BOUNCE_MS / 1000)

    def toggles(self) -> int:
        return self.machine.count(Toggle)

    def wait_toggles(self, n: int) -> None:
        assert self.machine.wait_until(lambda: self.toggles() >= n), f"expected {n} toggles"

    def settled_toggles(self) -> int:
        """Toggles so far, proven complete: a final clean press must add exactly one.

        Every gesture from earlier edges is emitted before the final press's (one driver thread
        handles the edges in order), so a late or doubled action would show up here.
        """
        before = self.toggles()
        self.press()
        self.wait_toggles(before + 1)
        return self.toggles() - 1

    def effects(self, kind: type) -> int:
        return sum(isinstance(e, kind) for _, e in self.machine.effects)

    def state(self) -> str:
        return self.machine.hub.view.state

    def wait_state(self, state: str) -> None:
        assert self.machine.wait_view(lambda v: v.state == state), (
            f"state {self.state()}, expected {state}"
        )

    def close(self) -> None:
        self.frontend.close()
        self.machine.close()


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory(pin_class=MockPWMPin)


@pytest.fixture
def make_rig(factory: MockFactory) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(*, answer_connect: bool = False, **changes: object) -> Rig:
        rig = Rig(factory, config(**changes), answer_connect)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


# --- button -----------------------------------------------------------------------------------


def test_short_press_toggles(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.press()
    rig.wait_state("connecting")
    assert rig.toggles() == 1
    assert rig.effects(Connect) == 1
    assert rig.machine.count(Mute) == 0


def test_hold_mutes_once_and_does_not_toggle(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    pressed = time.monotonic()
    rig.button.drive_low()
    assert rig.machine.wait_until(lambda: rig.machine.count(Mute) == 1)
    held = time.monotonic() - pressed
    assert HOLD_MS / 1000 - 0.01 <= held <= HOLD_MS / 1000 + 0.3
    assert rig.machine.hub.view.muted is True
    stimulus(0.1)
    rig.button.drive_high()
    stimulus(2.5 * BOUNCE_MS / 1000)
    assert rig.settled_toggles() == 0
    assert rig.machine.count(Mute) == 1


def test_chatter_within_bounce_is_one_press(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    for _ in range(5):  # contact chatter: edges microseconds apart, well within bounce_ms
        rig.button.drive_low()
        rig.button.drive_high()
    rig.button.drive_low()
    stimulus(2.5 * BOUNCE_MS / 1000)
    for _ in range(5):
        rig.button.drive_high()
        rig.button.drive_low()
    rig.button.drive_high()
    rig.wait_toggles(1)
    assert rig.settled_toggles() == 1


def test_fast_presses_are_neither_lost_nor_doubled(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    presses = 12
    for _ in range(presses):  # each level held a little longer than bounce_ms
        rig.button.drive_low()
        stimulus(1.6 * BOUNCE_MS / 1000)
        rig.button.drive_high()
        stimulus(1.6 * BOUNCE_MS / 1000)
    rig.wait_toggles(presses)
    assert rig.settled_toggles() == presses
    # An even number of toggles from idle ends idle again (start, cancel, start, ...).
    assert rig.effects(Connect) == presses // 2 + 1


def test_press_while_connecting_cancels(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.press()
    rig.wait_state("connecting")
    rig.press()
    rig.wait_state("idle")
    assert rig.effects(Disconnect) == 1


def test_press_while_speaking_interrupts_then_stops(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(answer_connect=True)
    rig.press()
    rig.wait_state("listening")
    rig.machine.hub.post(AudioStarted())
    rig.wait_state("speaking")
    rig.press()
    rig.wait_state("listening")
    assert rig.effects(Interrupt) == 1
    assert rig.effects(Disconnect) == 0
    rig.press()
    rig.wait_state("idle")
    assert rig.effects(Disconnect) == 1
    assert any(isinstance(e, Emit) and e.name == "stopped" for _, e in rig.machine.effects)


def test_press_after_error_starts_again(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.press()
    rig.wait_state("connecting")
    rig.machine.hub.post(Failed("provisioning answered 500"))
    rig.wait_state("error")
    rig.press()
    rig.wait_state("connecting")
    assert rig.effects(Connect) == 2


def test_custom_actions_and_press_on_the_way_down(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(press="mute", hold="none")
    rig.button.drive_low()  # no hold gesture: the press fires without waiting for the release
    assert rig.machine.wait_until(lambda: rig.machine.count(Mute) == 1)
    assert rig.button.state == 0
    rig.button.drive_high()
    assert rig.toggles() == 0


def test_microphone_button_mutes(factory: MockFactory) -> None:
    cfg = config(microphone_pin=22)
    with MachineLoop() as machine:
        frontend = start_gpio(machine.hub, cfg, pin_factory=factory)
        assert frontend is not None
        try:
            mic = factory.pin(22)
            mic.drive_low()
            assert machine.wait_view(lambda v: v.muted)
            stimulus(2.5 * BOUNCE_MS / 1000)
            mic.drive_high()
            stimulus(2.5 * BOUNCE_MS / 1000)
            mic.drive_low()
            assert machine.wait_view(lambda v: not v.muted)
            assert machine.count(Toggle) == 0
        finally:
            frontend.close()


# --- LED ---------------------------------------------------------------------------------------


def history(pin: MockPWMPin) -> list[tuple[float, float]]:
    """The pin's recorded ``(time, value)`` changes, times from the first record."""
    out, t = [], 0.0
    for record in list(pin.states):
        t += record.timestamp
        out.append((t, float(record.state)))
    return out


def transition_gaps(pin: MockPWMPin, count: int) -> list[float]:
    """Forget the pin's history, wait for ``count`` on/off transitions, return the gaps (s)
    between them (``count - 1`` values; the first transition's offset is unknown)."""
    pin.clear_states()

    def times() -> list[float]:
        return [t for t, _ in history(pin)[1:]]

    assert poll(lambda: len(times()) >= count, timeout=5), f"LED history {history(pin)}"
    return [b - a for a, b in itertools.pairwise(times()[:count])]


def test_led_off_when_idle_on_when_listening(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(answer_connect=True)
    assert rig.led is not None
    assert rig.frontend.pwm is True
    assert rig.led.state == 0
    rig.press()
    rig.wait_state("listening")
    assert poll(lambda: rig.led.state == 1.0)
    rig.press()
    rig.wait_state("idle")
    assert poll(lambda: rig.led.state == 0)


@pytest.mark.parametrize(("state", "hz"), [("connecting", 1.0), ("error", 5.0)])
def test_led_blinks_at_the_configured_rate(
    make_rig: Callable[..., Rig], state: str, hz: float
) -> None:
    rig = make_rig()
    assert rig.led is not None
    rig.press()
    rig.wait_state("connecting")
    if state == "error":
        rig.machine.hub.post(Failed("provisioning answered 500"))
        rig.wait_state("error")
    gaps = transition_gaps(rig.led, 3 if hz < 2 else 6)
    half = 0.5 / hz
    # Edges are scheduled on absolute times, so the mean gap is accurate even when single
    # edges are late on a busy machine.
    assert abs(statistics.fmean(gaps) - half) < 0.03 / len(gaps) + 0.004, (gaps, half)
    assert all(abs(gap - half) < 0.06 for gap in gaps), (gaps, half)


def test_led_blinks_twice_a_second_while_an_idle_stop_is_counted_down(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(answer_connect=True)
    assert rig.led is not None
    rig.press()
    rig.wait_state("listening")
    assert poll(lambda: rig.led.state == 1.0)
    rig.machine.hub.post(Countdown(9))
    gaps = transition_gaps(rig.led, 4)
    assert all(abs(gap - 0.25) < 0.06 for gap in gaps), gaps


def test_led_double_blinks_when_muted(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(answer_connect=True)
    assert rig.led is not None
    rig.press()
    rig.wait_state("listening")
    rig.machine.hub.post(Mute(True))
    rig.wait_state("muted")
    # On 0.1 s, off 0.1 s, on 0.1 s, off 0.7 s, from the moment the state is entered.
    gaps = transition_gaps(rig.led, 6)
    expected = [0.1, 0.1, 0.7, 0.1, 0.1]
    assert all(abs(g - e) < 0.06 for g, e in zip(gaps, expected, strict=True)), gaps


def test_led_breathes_with_the_played_amplitude(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(answer_connect=True)
    assert rig.led is not None
    rig.press()
    rig.wait_state("listening")
    analyser = rig.machine.hub.analyser
    analyser.level = 0.0
    rig.machine.hub.post(AudioStarted())
    rig.wait_state("speaking")
    assert poll(lambda: abs(rig.led.state - 0.1) < 1e-6), rig.led.state  # the floor
    analyser.level = 0.4
    assert poll(lambda: abs(rig.led.state - (0.1 + 0.9 * 0.6)) < 1e-6), rig.led.state
    analyser.level = 1.0
    assert poll(lambda: rig.led.state == 1.0), rig.led.state


def test_configured_patterns_are_used(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(answer_connect=True, patterns={"listening": 0.3, "idle": "on"})
    assert rig.led is not None
    assert poll(lambda: rig.led.state == 1.0)
    rig.press()
    rig.wait_state("listening")
    assert poll(lambda: abs(rig.led.state - 0.3) < 1e-9)


def test_the_patterns_are_parsed_once_when_the_config_is_validated(
    factory: MockFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[object] = []
    parse_pattern = led.parse_pattern

    def counting(spec: object) -> led.Pattern:
        parsed.append(spec)
        return parse_pattern(spec)

    monkeypatch.setattr(led, "parse_pattern", counting)
    cfg = config(patterns={"idle": "on", "listening": 0.3})
    assert parsed == ["on", 0.3]  # validated: parsed, and the result kept
    with MachineLoop() as machine:
        frontend = start_gpio(machine.hub, cfg, pin_factory=factory)
        assert frontend is not None
        try:
            assert poll(lambda: factory.pin(27).state == 1.0)  # idle: "on"
        finally:
            frontend.close()
    assert parsed == ["on", 0.3]  # the front end used the kept patterns


def test_led_without_pwm_shows_breathing_as_on() -> None:
    factory = MockFactory()  # plain mock pins: no PWM
    with MachineLoop(on_effect=None) as machine:
        frontend = start_gpio(machine.hub, config(button_pin=None), pin_factory=factory)
        assert frontend is not None
        try:
            assert frontend.pwm is False
            led = factory.pin(27)
            machine.hub.post(Toggle())
            machine.hub.post(Connected())
            machine.hub.post(AudioStarted())
            assert machine.wait_view(lambda v: v.state == "speaking")
            assert poll(lambda: led.state is True)
            machine.hub.post(Mute(True))
            machine.hub.post(Toggle())  # interrupt: speaking -> muted (double blink)
            assert machine.wait_view(lambda v: v.state == "muted")
            assert poll(lambda: led.state is False)  # the first flash ends after 0.1 s
        finally:
            frontend.close()


def test_active_low_led_is_inverted(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(active_high=False)
    assert rig.led is not None
    assert poll(lambda: rig.led.state == 1.0)  # idle: LED off = pin high


# --- lifecycle and "no GPIO" -------------------------------------------------------------------


def test_close_releases_the_pins_and_switches_the_led_off(factory: MockFactory) -> None:
    with MachineLoop() as machine:
        frontend = start_gpio(machine.hub, config(patterns={"idle": "on"}), pin_factory=factory)
        assert frontend is not None
        assert poll(lambda: factory.pin(27).state == 1.0)
        frontend.close()
        assert factory.pin(27).state == 0
        frontend.close()  # idempotent
        Button(17, pin_factory=factory).close()
        LED(27, pin_factory=factory).close()


def gpio_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "appliance.gpio"]


def test_disabled_returns_none_with_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "appliance.gpio")
    assert start_gpio(Hub(), config(enabled=False)) is None
    (record,) = gpio_records(caplog)
    assert "GPIO off" in record.getMessage() and "enabled = false" in record.getMessage()


def test_no_pins_configured_returns_none(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "appliance.gpio")
    cfg = config(button_pin=None, led_pin=None)
    assert start_gpio(Hub(), cfg, pin_factory=MockFactory()) is None
    (record,) = gpio_records(caplog)
    assert "no button_pin" in record.getMessage()


def test_no_gpio_hardware_returns_none_with_one_line(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, recwarn: object
) -> None:
    model = Path("/proc/device-tree/model")
    if model.exists() and "Raspberry" in model.read_text(errors="replace"):
        pytest.skip("this machine has GPIO")
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    caplog.set_level(logging.INFO, "appliance.gpio")
    with MachineLoop() as machine:
        assert start_gpio(machine.hub, config()) is None
    (record,) = gpio_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("GPIO off: no GPIO on this machine")
    assert len(recwarn) == 0  # gpiozero's fallback warnings are folded into that line


def test_pin_in_use_returns_none_and_releases_what_it_took(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "appliance.gpio")
    other = LED(27, pin_factory=factory)
    try:
        assert start_gpio(Hub(), config(), pin_factory=factory) is None
    finally:
        other.close()
    (record,) = gpio_records(caplog)
    assert "in use" in record.getMessage()
    Button(17, pin_factory=factory).close()  # the button taken before the failure was released


def test_invalid_pin_name_returns_none(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "appliance.gpio")
    assert start_gpio(Hub(), config(led_pin="GPIO99"), pin_factory=factory) is None
    (record,) = gpio_records(caplog)
    assert "invalid pin" in record.getMessage() and "GPIO99" in record.getMessage()


@pytest.mark.parametrize("name", ["17", "GPIO17", "BOARD11", 17])
def test_pin_names(factory: MockFactory, name: str | int) -> None:
    with MachineLoop() as machine:
        frontend = start_gpio(machine.hub, config(button_pin=name), pin_factory=factory)
        assert frontend is not None
        try:
            factory.pin(17).drive_low()
            stimulus(2.5 * BOUNCE_MS / 1000)
            factory.pin(17).drive_high()
            assert machine.wait_view(lambda v: v.state == "connecting")
        finally:
            frontend.close()
