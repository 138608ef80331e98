"""The GPIO front end: one push-button and one LED (gpiozero), mirroring the screen's buttons.

A short press of the button does what the screen's toggle button does (start; cancel while
connecting; interrupt the model while it speaks, then stop on the next press); holding it mutes
or unmutes the microphone. An optional second button is a microphone (mute) button. The LED
shows the state (see :mod:`appliance.led`). The volume has two optional buttons (up, down) or a
rotary encoder (gpiozero's ``RotaryEncoder``): each press or detent moves it by
``gpio.volume_step`` percent (:meth:`~appliance.hub.Hub.adjust_volume`).

Call :func:`start_gpio` once; it returns ``None`` (after one log line saying why) when there is
no GPIO to drive, and the appliance runs without it. Everything here talks to the state machine
only through the :class:`~appliance.hub.Hub`.

Debouncing is done here (:mod:`appliance.buttonlogic`), not by the pin driver, so it behaves the
same on every gpiozero pin factory, including the mock one used by the tests.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import warnings
from typing import Any

from appliance.buttonlogic import HOLD, PRESS, ButtonLogic, action_input
from appliance.config import GpioConfig
from appliance.hub import Hub
from appliance.led import Pattern, brightness, lit, next_change, pattern_name

log = logging.getLogger("appliance.gpio")


# --- button ------------------------------------------------------------------------------------


class _ButtonDriver:
    """A gpiozero ``Button`` feeding a :class:`ButtonLogic` on a small thread."""

    def __init__(
        self, name: str, button: Any, logic: ButtonLogic, actions: dict[str, str], hub: Hub
    ):
        self.name = name
        self.button = button
        self.logic = logic
        self.actions = actions
        self.hub = hub
        self._edges: queue.Queue[tuple[bool, float] | None] = queue.Queue()
        button.when_pressed = lambda: self._edges.put((True, time.monotonic()))
        button.when_released = lambda: self._edges.put((False, time.monotonic()))
        self._thread = threading.Thread(target=self._run, name=f"gpio-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            deadline = self.logic.deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._edges.get(timeout=timeout)
            except queue.Empty:
                gestures = self.logic.tick(time.monotonic())
            else:
                if item is None:
                    return
                gestures = self.logic.edge(*item)
            for gesture in gestures:
                self._fire(gesture)

    def _fire(self, gesture: str) -> None:
        action = self.actions.get(gesture, "none")
        log.debug("%s button: %s -> %s", self.name, gesture, action)
        if action[:1] in ("+", "-"):  # a volume button: "+10", "-10"
            self.hub.adjust_volume(action)
            return
        wanted = action_input(action)
        if wanted is not None:
            self.hub.post(wanted)

    def close(self) -> None:
        self.button.when_pressed = None
        self.button.when_released = None
        self._edges.put(None)
        self._thread.join(timeout=2)
        self.button.close()


# --- LED ---------------------------------------------------------------------------------------


class _LedRenderer:
    """Renders the pattern of the current state on a gpiozero ``PWMLED`` or ``LED``."""

    def __init__(self, led: Any, pwm: bool, patterns: dict[str, Pattern], hub: Hub) -> None:
        self.led = led
        self.pwm = pwm
        self.patterns = patterns
        self.hub = hub
        self._wake = threading.Event()
        self._closed = False
        hub.on_view(lambda _view: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="gpio-led", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        state: str | None = None
        started = 0.0
        shown: float | None = None
        while not self._closed:
            self._wake.clear()  # before reading the view: a change after this wakes us
            view = self.hub.view
            current = pattern_name(view.state, view.countdown_s, view.wake)
            now = time.monotonic()
            if current != state:
                state, started = current, now
            pattern = self.patterns.get(current, self.patterns["idle"])
            t = now - started
            if self.pwm:
                value = brightness(pattern, t, self.hub.analyser.level)
            else:
                value = 1.0 if lit(pattern, t) else 0.0
            if value != shown:
                try:
                    self.led.value = value
                except Exception as exc:  # a pin that went away must not kill the appliance
                    log.warning("LED: cannot set the pin (%s); LED updates stop", exc)
                    return
                shown = value
            nxt = next_change(pattern, t, pwm=self.pwm)
            self._wake.wait(None if nxt is None else max(0.0, started + nxt - time.monotonic()))

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=2)
        with contextlib.suppress(Exception):
            self.led.off()
        self.led.close()


# --- volume encoder ----------------------------------------------------------------------------


class _EncoderDriver:
    """A gpiozero ``RotaryEncoder``: a detent clockwise is one step up, the other way down."""

    def __init__(self, encoder: Any, step: int, hub: Hub) -> None:
        self.encoder = encoder
        encoder.when_rotated_clockwise = lambda: hub.adjust_volume(f"+{step}")
        encoder.when_rotated_counter_clockwise = lambda: hub.adjust_volume(f"-{step}")

    def close(self) -> None:
        self.encoder.when_rotated_clockwise = None
        self.encoder.when_rotated_counter_clockwise = None
        self.encoder.close()


# --- front end ---------------------------------------------------------------------------------


class GpioFrontend:
    """The running GPIO front end. :meth:`close` releases the pins."""

    def __init__(self, hub: Hub, config: GpioConfig, *, pin_factory: Any = None) -> None:
        from gpiozero import LED, PWMLED, Button, RotaryEncoder
        from gpiozero.exc import PinPWMError

        self.config = config
        self.buttons: list[_ButtonDriver] = []
        self.led: _LedRenderer | None = None
        self.encoder: _EncoderDriver | None = None
        patterns = config.led_patterns  # parsed when the config was validated
        bounce = config.bounce_ms / 1000
        try:
            if config.button_pin is not None:
                self.buttons.append(
                    self._button(
                        "main",
                        Button(config.button_pin, pull_up=config.pull_up, pin_factory=pin_factory),
                        bounce,
                        None if config.hold == "none" else config.hold_ms / 1000,
                        {PRESS: config.press, HOLD: config.hold},
                        hub,
                    )
                )
            if config.microphone_pin is not None:
                self.buttons.append(
                    self._button(
                        "microphone",
                        Button(
                            config.microphone_pin, pull_up=config.pull_up, pin_factory=pin_factory
                        ),
                        bounce,
                        None,
                        {PRESS: "mute"},
                        hub,
                    )
                )
            step = config.volume_step
            for name, pin, change in (
                ("volume up", config.volume_up_pin, f"+{step}"),
                ("volume down", config.volume_down_pin, f"-{step}"),
            ):
                if pin is not None:
                    button = Button(pin, pull_up=config.pull_up, pin_factory=pin_factory)
                    self.buttons.append(
                        self._button(name, button, bounce, None, {PRESS: change}, hub)
                    )
            if config.encoder_pins is not None:
                a, b = config.encoder_pins
                # max_steps=0: no end stops; the volume itself stops at 0 and 100
                encoder = RotaryEncoder(a, b, max_steps=0, pin_factory=pin_factory)
                self.encoder = _EncoderDriver(encoder, step, hub)
            if config.led_pin is not None:
                try:
                    led: Any = PWMLED(
                        config.led_pin, active_high=config.active_high, pin_factory=pin_factory
                    )
                    pwm = True
                except PinPWMError:
                    led = LED(
                        config.led_pin, active_high=config.active_high, pin_factory=pin_factory
                    )
                    pwm = False
                self.led = _LedRenderer(led, pwm, patterns, hub)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _button(
        name: str,
        button: Any,
        bounce_s: float,
        hold_s: float | None,
        actions: dict[str, str],
        hub: Hub,
    ) -> _ButtonDriver:
        try:
            logic = ButtonLogic(bounce_s, hold_s, pressed=bool(button.is_pressed))
            return _ButtonDriver(name, button, logic, actions, hub)
        except BaseException:
            button.close()
            raise

    @property
    def pwm(self) -> bool:
        """True when the LED pin does PWM (dimming, breathing)."""
        return self.led is not None and self.led.pwm

    def describe(self) -> str:
        parts = []
        for driver in self.buttons:
            parts.append(f"{driver.name} button on {driver.button.pin}")
        if self.led is not None:
            parts.append(f"LED on {self.led.led.pin} ({'PWM' if self.led.pwm else 'on/off'})")
        if self.encoder is not None:
            encoder = self.encoder.encoder
            parts.append(f"volume encoder on {encoder.a.pin} and {encoder.b.pin}")
        return ", ".join(parts)

    def close(self) -> None:
        """Stop the threads and release the pins (the LED is switched off). Idempotent."""
        for driver in self.buttons:
            with contextlib.suppress(Exception):
                driver.close()
        self.buttons = []
        if self.encoder is not None:
            with contextlib.suppress(Exception):
                self.encoder.close()
            self.encoder = None
        if self.led is not None:
            with contextlib.suppress(Exception):
                self.led.close()
            self.led = None


def start_gpio(hub: Hub, config: GpioConfig, *, pin_factory: Any = None) -> GpioFrontend | None:
    """Set up the button(s) and the LED; None (after one log line saying why) when GPIO is off.

    ``pin_factory`` is a gpiozero pin factory (the tests pass a ``MockFactory``); by default
    gpiozero picks one (``GPIOZERO_PIN_FACTORY``, else lgpio, RPi.GPIO, pigpio, native).
    """
    if not config.enabled:
        log.info("GPIO off: disabled in the configuration (gpio.enabled = false)")
        return None
    pins = (config.button_pin, config.microphone_pin, config.led_pin, config.volume_up_pin)
    if all(pin is None for pin in (*pins, config.volume_down_pin, config.encoder_pins)):
        log.info("GPIO off: no button_pin, microphone_pin, led_pin or volume pins configured")
        return None
    try:
        import gpiozero  # noqa: F401
    except ImportError:
        log.warning("GPIO off: gpiozero is not installed (pip install gpiozero)")
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frontend = GpioFrontend(hub, config, pin_factory=pin_factory)
        except Exception as exc:
            log.warning("GPIO off: %s", explain(exc, [str(w.message) for w in caught]))
            return None
    log.info("GPIO on: %s", frontend.describe())
    return frontend


def explain(exc: BaseException, fallbacks: list[str] | None = None) -> str:
    """A one-line reason why the GPIO could not be opened, with the cause and the fix."""
    from gpiozero.exc import BadPinFactory, GPIOPinInUse, PinInvalidPin

    if isinstance(exc, BadPinFactory):
        tried = [m.removeprefix("Falling back from ") for m in fallbacks or [] if "from" in m]
        detail = f" (tried {'; '.join(tried)})" if tried else ""
        return f"no GPIO on this machine: gpiozero found no pin driver{detail}"
    if isinstance(exc, PinInvalidPin):
        return f"invalid pin: {exc} (pins are named like 17, GPIO17 or BOARD11)"
    if isinstance(exc, GPIOPinInUse):
        return f"{exc} (another program or another setting uses that pin)"
    if isinstance(exc, PermissionError) or "ermission" in str(exc):
        return f"no permission to use the GPIO ({exc}); add the service user to the gpio group"
    return f"cannot open the GPIO: {type(exc).__name__}: {exc}"
