"""The volume buttons and the rotary encoder on gpiozero's mock pins, through a real Hub.

Real gpiozero ``Button`` and ``RotaryEncoder`` objects on ``MockFactory`` pins; the hub's
volume requests go to the worker's loop (a real asyncio loop in a thread,
:class:`~appliance.rig.inprocess.MachineLoop`) and into a real
:class:`~appliance.volumecontrol.VolumeControl`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from appliance.config import GpioConfig
from appliance.gpio import start_gpio
from appliance.rig.inprocess import MachineLoop
from appliance.rig.process import wait_for
from appliance.volumecontrol import VolumeControl

BOUNCE_MS = 20


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.fixture
def machine() -> Iterator[MachineLoop]:
    with MachineLoop() as loop:
        yield loop


def control(machine: MachineLoop, percent: int) -> VolumeControl:
    volume = VolumeControl(percent, machine.hub, None)
    volume.path = None  # nothing to save to in these tests
    machine.hub.volume_handler = volume.change
    return volume


def press(pin: MockPin) -> None:
    pin.drive_low()
    threading.Event().wait(2.5 * BOUNCE_MS / 1000)  # stimulus timing: held past the bounce
    pin.drive_high()
    threading.Event().wait(2.5 * BOUNCE_MS / 1000)


def detent(a: MockPin, b: MockPin) -> None:
    """One detent of a quadrature encoder, ``a`` leading (pins pulled up: active is low)."""
    a.drive_low()
    b.drive_low()
    a.drive_high()
    b.drive_high()


def test_volume_buttons_step_up_and_down(factory: MockFactory, machine: MachineLoop) -> None:
    volume = control(machine, 50)
    cfg = GpioConfig(
        button_pin=None,
        led_pin=None,
        volume_up_pin=5,
        volume_down_pin=6,
        volume_step=5,
        bounce_ms=BOUNCE_MS,
    )
    frontend = start_gpio(machine.hub, cfg, pin_factory=factory)
    assert frontend is not None
    try:
        up, down = factory.pin(5), factory.pin(6)
        press(up)
        press(up)
        assert wait_for(lambda: volume.percent == 60, 3)
        press(down)
        assert wait_for(lambda: volume.percent == 55, 3)
        shown = machine.hub.volume_shown
        assert shown is not None and shown[0] == 55  # the screen is told
        assert "volume up button" in frontend.describe()
    finally:
        frontend.close()


def test_volume_stops_at_the_ends(factory: MockFactory, machine: MachineLoop) -> None:
    volume = control(machine, 95)
    cfg = GpioConfig(button_pin=None, led_pin=None, volume_up_pin=5, bounce_ms=BOUNCE_MS)
    frontend = start_gpio(machine.hub, cfg, pin_factory=factory)
    assert frontend is not None
    try:
        press(factory.pin(5))
        press(factory.pin(5))
        assert wait_for(lambda: volume.percent == 100, 3)
    finally:
        frontend.close()


def test_encoder_turns_the_volume_both_ways(factory: MockFactory, machine: MachineLoop) -> None:
    volume = control(machine, 50)
    cfg = GpioConfig(button_pin=None, led_pin=None, encoder_pins=(20, 21), volume_step=10)
    frontend = start_gpio(machine.hub, cfg, pin_factory=factory)
    assert frontend is not None
    try:
        a, b = factory.pin(20), factory.pin(21)
        for _ in range(3):
            detent(a, b)
        assert wait_for(lambda: volume.percent == 80, 3), volume.percent
        detent(b, a)
        assert wait_for(lambda: volume.percent == 70, 3), volume.percent
        assert "volume encoder on" in frontend.describe()
    finally:
        frontend.close()
    again = start_gpio(machine.hub, cfg, pin_factory=factory)
    assert again is not None  # closing released the encoder's pins: they can be taken again
    again.close()


def test_only_volume_pins_still_start_the_gpio(factory: MockFactory, machine: MachineLoop) -> None:
    cfg = GpioConfig(button_pin=None, led_pin=None, encoder_pins=("GPIO20", "GPIO21"))
    frontend = start_gpio(machine.hub, cfg, pin_factory=factory)
    assert frontend is not None
    frontend.close()
