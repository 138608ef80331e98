"""GPIO benchmark: button edge -> state machine latency, and LED blink timing.

Runs on gpiozero's mock pins (no hardware needed): a real :class:`~appliance.hub.Hub` attached
to a real asyncio loop running a real :class:`~appliance.state.Machine` (:class:`MachineLoop`,
the appliance's worker without the session), with :func:`appliance.gpio.start_gpio` on top.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import threading
import time
from collections.abc import Callable

from appliance.bench import Row
from appliance.config import GpioConfig
from appliance.hub import Hub
from appliance.state import Connect, Effect, Failed, Input, Machine, Stop, Toggle, View


class MachineLoop:
    """A real :class:`Machine` on a real asyncio loop in its own thread, attached to a Hub.

    Each posted input is applied with ``machine.handle(event)`` and the view published with
    ``hub.publish(machine.view)``, as the appliance's worker does. ``on_effect(effect)`` is
    called on the loop thread for every effect (answer ``Connect`` by posting ``Connected()``).
    :attr:`applied` and :attr:`effects` record ``(monotonic time, item)`` for every input and
    effect. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, hub: Hub | None = None, *, on_effect: Callable[[Effect], None] | None = None
    ) -> None:
        self.hub = hub or Hub()
        self.machine = Machine()
        self.on_effect = on_effect
        self.applied: list[tuple[float, Input]] = []
        self.effects: list[tuple[float, Effect]] = []
        self._changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="machine-loop", daemon=True
        )
        self._thread.start()
        ready.wait()
        self.hub.attach(self.loop, self.handle)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def handle(self, event: Input) -> None:
        """Apply one input (on the loop thread)."""
        effects = self.machine.handle(event)
        now = time.monotonic()
        self.hub.publish(self.machine.view)
        with self._changed:
            self.applied.append((now, event))
            self.effects.extend((now, effect) for effect in effects)
            self._changed.notify_all()
        if self.on_effect is not None:
            for effect in effects:
                self.on_effect(effect)

    def post_later(self, delay: float, event: Input) -> None:
        """Apply ``event`` after ``delay`` seconds (thread-safe)."""
        self.loop.call_soon_threadsafe(self.loop.call_later, delay, self.handle, event)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` is true (checked after each input); False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_view(self, predicate: Callable[[View], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(hub.view)`` is true; False on timeout."""
        return self.wait_until(lambda: predicate(self.hub.view), timeout)

    def count(self, kind: type) -> int:
        """How many inputs of type ``kind`` were applied so far."""
        with self._changed:
            return sum(isinstance(event, kind) for _, event in self.applied)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()

    def __enter__(self) -> MachineLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _press_latency(bounce_ms: int, samples: int) -> list[float]:
    """Release edge (a short press is recognised on release) -> ``Connect`` effect, in ms."""
    from gpiozero.pins.mock import MockFactory

    from appliance.gpio import start_gpio

    factory = MockFactory()
    config = GpioConfig(button_pin=17, led_pin=None, bounce_ms=bounce_ms)
    latencies = []
    with MachineLoop() as rig:
        frontend = start_gpio(rig.hub, config, pin_factory=factory)
        assert frontend is not None
        pin = factory.pin(17)
        try:
            for _ in range(samples):
                connects = sum(isinstance(e, Connect) for _, e in rig.effects)
                pin.drive_low()
                time.sleep(bounce_ms / 1000 + 0.01)  # stimulus: hold the button past the bounce
                released = time.monotonic()
                pin.drive_high()
                if not rig.wait_until(
                    lambda n=connects: sum(isinstance(e, Connect) for _, e in rig.effects) > n
                ):
                    raise RuntimeError("the press never produced a Connect effect")
                at = next(t for t, e in reversed(rig.effects) if isinstance(e, Connect))
                latencies.append((at - released) * 1000)
                rig.hub.post(Stop())
                rig.wait_view(lambda v: v.state == "idle")
                time.sleep(bounce_ms / 1000 + 0.01)  # let the release settle
        finally:
            frontend.close()
    return latencies


def _blink_periods(then: Input | None, hz: float, seconds: float) -> list[float]:
    """Measured periods (s) between rising LED edges while the machine sits in a blink state."""
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from appliance.gpio import start_gpio

    factory = MockFactory(pin_class=MockPWMPin)
    config = GpioConfig(button_pin=None, led_pin=27, patterns={"connecting": {"blink": hz}})
    with MachineLoop() as rig:
        frontend = start_gpio(rig.hub, config, pin_factory=factory)
        assert frontend is not None
        try:
            rig.hub.post(Toggle())
            if then is not None:
                rig.hub.post(then)
            pin = factory.pin(27)
            pin.clear_states()
            time.sleep(seconds)  # stimulus: let the LED blink for a while
            states = list(pin.states)
        finally:
            frontend.close()
    rises, t = [], 0.0
    for i, state in enumerate(states):
        t += state.timestamp
        if i and state.state and not states[i - 1].state:
            rises.append(t)
    return [b - a for a, b in itertools.pairwise(rises)]


def run(quick: bool) -> list[Row]:
    """Press latency (p50/p95) and LED blink period error (mean/max)."""
    rows: list[Row] = []
    samples = 15 if quick else 60
    for bounce in (30, 0):
        lat = _press_latency(bounce, samples)
        note = f"mock pin, bounce_ms={bounce}, {samples} presses; includes the debounce time"
        rows.append(
            Row(
                area="gpio",
                name=f"release edge -> Connect p50 (bounce {bounce} ms)",
                value=round(statistics.median(lat), 2),
                unit="ms",
                note=note,
            )
        )
        rows.append(
            Row(
                area="gpio",
                name=f"release edge -> Connect p95 (bounce {bounce} ms)",
                value=round(_percentile(lat, 0.95), 2),
                unit="ms",
                note=note,
            )
        )
    for name, then, hz in (("connecting 1 Hz", None, 1.0), ("error 5 Hz", Failed("bench"), 5.0)):
        seconds = 3.2 if quick else 10.0
        periods = _blink_periods(then, hz, seconds)
        if not periods:
            rows.append(
                Row(
                    area="gpio",
                    name=f"LED blink {name}",
                    value=float("nan"),
                    unit="ms",
                    note="no complete period measured",
                )
            )
            continue
        errors = [abs(p - 1 / hz) * 1000 for p in periods]
        note = f"mock PWM pin, {len(periods)} periods over {seconds:g} s"
        rows.append(
            Row(
                area="gpio",
                name=f"LED period error mean ({name})",
                value=round(statistics.fmean(errors), 2),
                unit="ms",
                note=note,
            )
        )
        rows.append(
            Row(
                area="gpio",
                name=f"LED period error max ({name})",
                value=round(max(errors), 2),
                unit="ms",
                note=note,
            )
        )
    return rows
