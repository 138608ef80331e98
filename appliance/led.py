"""LED patterns: what the status LED shows in each state, as pure functions of time.

Pure: no pins, no clock, no threads. :mod:`appliance.gpio` renders a :class:`Pattern` on a
gpiozero ``PWMLED`` (or a plain ``LED`` when the pin cannot do PWM).

Default patterns (``view.state`` -> pattern)::

    idle          off
    connecting    blink at 1 Hz            (also while reconnecting)
    listening     on
    muted         double blink, once a second
    speaking      breathe with the played amplitude
    error         blink at 5 Hz
    countdown     blink at 2 Hz            (the last seconds before an idle stop)
    wake          a short flash every 2 s  (idle, listening for the wake word)

Any of them can be replaced with ``[gpio.patterns]`` in the configuration. A pattern is one of:

=============================================== ===============================================
``"off"`` / ``"on"``                            steady
``0.3`` or ``{on = 0.3}``                       steady at 30 % brightness (PWM pins; else on)
``"blink"`` or ``{blink = 2.0, duty = 0.5}``    square wave at 2 Hz, lit for ``duty`` of each
                                                period (defaults: 1 Hz, 0.5)
``"fast-blink"``                                ``{blink = 5.0}``
``"double"`` or ``{double = 1.0}``              two 100 ms flashes per period, at 1 Hz
``"breathe"`` or ``{breathe = "amplitude",``    brightness follows the audio being played:
``floor = 0.1, gain = 1.5}``                    ``floor + (1 - floor) * min(1, level * gain)``
``{breathe = 0.5}``                             a smooth sine breathing at 0.5 Hz
=============================================== ===============================================

For example ``patterns = {muted = "on", error = {blink = 2.0}}``. Without PWM, anything that
is neither off nor blinking is shown as on. Every pattern starts lit (a blink starts with its
"on" half) when the state is entered, so a press gets visible feedback at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATES = ("idle", "connecting", "reconnecting", "listening", "muted", "speaking", "error")
"""The values of :attr:`appliance.state.View.state`, each with its own pattern."""

COUNTDOWN = "countdown"
"""The pattern shown instead of the state's while an idle stop is counted down."""

WAKE = "wake"
"""The pattern shown instead of ``idle`` while the wake word is listened for."""

PATTERN_NAMES = (*STATES, COUNTDOWN, WAKE)
"""What ``[gpio.patterns]`` may set."""

RENDER_HZ = 50.0
"""How often a continuously varying pattern (breathing) is refreshed on a PWM pin."""

FLASH_S = 0.1
"""Length of one flash of a double blink (shortened for periods below 0.5 s)."""


@dataclass(frozen=True)
class Steady:
    """Constant brightness: 0 is off, 1 is fully on."""

    level: float = 1.0


@dataclass(frozen=True)
class Blink:
    """A square wave: lit for ``duty`` of each period of ``1 / hz`` seconds, lit first."""

    hz: float = 1.0
    duty: float = 0.5


@dataclass(frozen=True)
class Double:
    """Two short flashes at the start of each period of ``1 / hz`` seconds."""

    hz: float = 1.0


@dataclass(frozen=True)
class Breathe:
    """Smooth brightness: a sine at ``hz``, or the played amplitude when ``hz`` is None."""

    hz: float | None = None
    floor: float = 0.1
    gain: float = 1.5


Pattern = Steady | Blink | Double | Breathe

DEFAULT_PATTERNS: dict[str, Pattern] = {
    "idle": Steady(0.0),
    "connecting": Blink(1.0),
    "reconnecting": Blink(1.0),
    "listening": Steady(1.0),
    "muted": Double(1.0),
    "speaking": Breathe(),
    "error": Blink(5.0),
    COUNTDOWN: Blink(2.0),
    WAKE: Blink(0.5, duty=0.05),
}

_NAMED: dict[str, Pattern] = {
    "off": Steady(0.0),
    "on": Steady(1.0),
    "blink": Blink(1.0),
    "slow-blink": Blink(1.0),
    "fast-blink": Blink(5.0),
    "double": Double(1.0),
    "double-blink": Double(1.0),
    "breathe": Breathe(),
}


# --- parsing -----------------------------------------------------------------------------------


def parse_pattern(spec: Any) -> Pattern:
    """One pattern from its configuration form (see the module docstring).

    Raises :class:`ValueError` with a message that names the accepted forms.
    """
    if isinstance(spec, bool):
        return Steady(1.0 if spec else 0.0)
    if isinstance(spec, int | float):
        return Steady(_fraction("brightness", spec))
    if isinstance(spec, str):
        try:
            return _NAMED[spec.strip().lower()]
        except KeyError:
            names = ", ".join(repr(n) for n in _NAMED)
            raise ValueError(f"unknown pattern {spec!r}; use one of {names} or a table") from None
    if isinstance(spec, Mapping):
        kinds = [k for k in ("on", "blink", "double", "breathe") if k in spec]
        if len(kinds) != 1:
            raise ValueError(
                "a pattern table needs exactly one of on, blink, double, breathe "
                f"(got {sorted(spec)})"
            )
        kind = kinds[0]
        allowed = {"on": set(), "blink": {"duty"}, "double": set(), "breathe": {"floor", "gain"}}
        extra = set(spec) - {kind} - allowed[kind]
        if extra:
            raise ValueError(f"{kind}: unknown option(s) {sorted(extra)}")
        value = spec[kind]
        if kind == "on":
            return Steady(_fraction("on", value))
        if kind == "blink":
            return Blink(_hz("blink", value), _fraction("duty", spec.get("duty", 0.5)))
        if kind == "double":
            return Double(_hz("double", value))
        hz = None if value in ("amplitude", True) else _hz("breathe", value)
        gain = spec.get("gain", 1.5)
        if not _is_number(gain) or gain <= 0:
            raise ValueError(f"gain must be a number > 0 (got {gain!r})")
        return Breathe(hz, _fraction("floor", spec.get("floor", 0.1)), float(gain))
    raise ValueError(f"a pattern is a name, a number 0..1 or a table (got {spec!r})")


def parse_patterns(overrides: Mapping[str, Any] | None) -> dict[str, Pattern]:
    """The full state -> pattern table: the defaults with ``overrides`` applied.

    ``connecting`` also sets ``reconnecting`` unless that one is given too.
    """
    table = dict(DEFAULT_PATTERNS)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(PATTERN_NAMES))
    if unknown:
        raise ValueError(f"unknown state(s) {unknown}; states are {', '.join(PATTERN_NAMES)}")
    for state, spec in overrides.items():
        try:
            table[state] = parse_pattern(spec)
        except ValueError as exc:
            raise ValueError(f"{state}: {exc}") from None
    if "connecting" in overrides and "reconnecting" not in overrides:
        table["reconnecting"] = table["connecting"]
    return table


def pattern_name(state: str, countdown_s: int | None, wake: bool = False) -> str:
    """Which pattern the LED shows: :data:`COUNTDOWN` while an idle stop is counted down
    (``countdown_s`` of the view), :data:`WAKE` when idle listening for the wake word, else
    the state's."""
    if countdown_s is not None:
        return COUNTDOWN
    return WAKE if wake and state == "idle" else state


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fraction(name: str, value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1 (got {value!r})")
    return float(value)


def _hz(name: str, value: Any) -> float:
    if not _is_number(value) or not 0 < value <= 50:
        raise ValueError(
            f"{name} frequency must be a number of Hz above 0, at most 50 (got {value!r})"
        )
    return float(value)


# --- rendering ---------------------------------------------------------------------------------


def _double_edges(pattern: Double) -> tuple[float, float, float, float]:
    period = 1.0 / pattern.hz
    flash = min(FLASH_S, period / 5)
    return flash, 2 * flash, 3 * flash, period


_EDGE_S = 1e-9
"""A time this close before an edge counts as on it, in :func:`brightness` as in
:func:`next_change` (floating-point edges such as 3 * 0.1 land a hair off)."""


def _cycle_fraction(cycles: float) -> float:
    """Position within the current cycle, 0..1, snapping a hair before an edge onto it (the
    same rounding as :func:`next_change`, so both agree on which side of an edge ``t`` is)."""
    return max(0.0, cycles - math.floor(cycles + 1e-9))


def brightness(pattern: Pattern, t: float, amplitude: float = 0.0) -> float:
    """Brightness 0..1 at ``t`` seconds after the pattern started.

    ``amplitude`` (0..1) is the played audio level, used by amplitude breathing.
    """
    match pattern:
        case Steady(level=level):
            return level
        case Blink(hz=hz, duty=duty):
            phase = _cycle_fraction(t * hz) / hz  # seconds into the cycle
            return 1.0 if phase < duty / hz - _EDGE_S else 0.0
        case Double():
            off1, on2, off2, period = _double_edges(pattern)
            phase = _cycle_fraction(t / period) * period
            on = phase < off1 - _EDGE_S or on2 - _EDGE_S <= phase < off2 - _EDGE_S
            return 1.0 if on else 0.0
        case Breathe(hz=None, floor=floor, gain=gain):
            level = min(1.0, max(0.0, amplitude) * gain)
            return floor + (1.0 - floor) * level
        case Breathe(hz=hz, floor=floor):
            wave = 0.5 + 0.5 * math.cos(2 * math.pi * hz * t)  # starts at full brightness
            return floor + (1.0 - floor) * wave
    raise TypeError(f"not a pattern: {pattern!r}")


def lit(pattern: Pattern, t: float) -> bool:
    """On/off rendering for an LED without PWM: steady levels above 0 and breathing are on."""
    match pattern:
        case Steady(level=level):
            return level > 0
        case Blink() | Double():
            return brightness(pattern, t) > 0
        case Breathe():
            return True
    raise TypeError(f"not a pattern: {pattern!r}")


def next_change(pattern: Pattern, t: float, *, pwm: bool) -> float | None:
    """When (in pattern time, > ``t``) the rendering may change next; None: not until the state
    changes. Blinks answer their next edge exactly, so a renderer that sleeps until then keeps
    the period without drift; PWM breathing answers ``t + 1 / RENDER_HZ``."""
    match pattern:
        case Steady():
            return None
        case Blink(hz=hz, duty=duty):
            cycle = math.floor(t * hz + 1e-9)
            for edge in (cycle + duty, cycle + 1.0, cycle + 1.0 + duty):
                if edge / hz > t + 1e-9:
                    return edge / hz
        case Double():
            period = 1.0 / pattern.hz
            base = math.floor(t / period + 1e-9) * period
            for offset in (*_double_edges(pattern), period + _double_edges(pattern)[0]):
                if base + offset > t + 1e-9:
                    return base + offset
        case Breathe():
            return t + 1.0 / RENDER_HZ if pwm else None
    raise TypeError(f"not a pattern: {pattern!r}")
