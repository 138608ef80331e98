"""GPIO benchmark: button edge -> state machine latency, and LED blink timing.

Runs on gpiozero's mock pins (no hardware needed): a real :class:`~appliance.hub.Hub` attached
to a real asyncio loop running a real :class:`~appliance.state.Machine`
(:class:`~appliance.rig.inprocess.MachineLoop`, the appliance's worker without the session), with
:func:`appliance.gpio.start_gpio` on top.
"""

from __future__ import annotations

import itertools
import statistics
import time

from appliance.bench import Row
from appliance.config import GpioConfig
from appliance.rig.inprocess import MachineLoop
from appliance.state import Connect, Failed, Input, Stop, Toggle


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
