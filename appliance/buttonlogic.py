"""Push-button gestures: debounced short presses and holds, from raw edges and a clock.

Pure: feed :meth:`ButtonLogic.edge` every raw level change of the pin and call
:meth:`ButtonLogic.tick` when :meth:`ButtonLogic.deadline` comes; both return the gestures
that happened (``"press"`` or ``"hold"``). :mod:`appliance.gpio` drives it from gpiozero's
callbacks and a small thread.

Debouncing keeps a level only once it has been stable for ``bounce_s`` (contact chatter shorter
than that is ignored, whatever its shape), which adds ``bounce_s`` of latency to each edge.

With a hold gesture (``hold_s`` set), a short press is reported when the button is released,
and a hold as soon as the button has been down for ``hold_s``; the release after a hold reports
nothing. Without one (``hold_s=None``), a press is reported as soon as the button goes down.
"""

from __future__ import annotations

from appliance.state import Input, Mute, Toggle

PRESS = "press"
HOLD = "hold"


def action_input(action: str) -> Input | None:
    """The state-machine input for a configured button action: ``toggle``, ``mute`` or
    ``none``. The physical button, ``appliance press`` and the screen share this mapping."""
    if action == "toggle":
        return Toggle()
    if action == "mute":
        return Mute()
    if action == "none":
        return None
    raise ValueError(f"unknown button action {action!r}; use toggle, mute or none")


class ButtonLogic:
    """The gesture interpreter for one button (not thread-safe: one caller at a time)."""

    def __init__(self, bounce_s: float, hold_s: float | None, *, pressed: bool = False) -> None:
        if bounce_s < 0:
            raise ValueError("bounce_s must be >= 0")
        if hold_s is not None and hold_s <= 0:
            raise ValueError("hold_s must be > 0 or None")
        self.bounce_s = bounce_s
        self.hold_s = hold_s
        self._raw = pressed
        self._raw_since = 0.0
        self._down = pressed
        self._down_at = 0.0
        # A button already down at start-up is not a gesture: its release reports nothing.
        self._held = pressed

    @property
    def is_down(self) -> bool:
        """The debounced state."""
        return self._down

    def edge(self, pressed: bool, t: float) -> list[str]:
        """The pin's raw level changed to ``pressed`` at time ``t`` (seconds, monotonic)."""
        out = self.tick(t)  # a level that was stable until now counts, even if tick() was late
        if pressed != self._raw:
            self._raw = pressed
            self._raw_since = t
        return out + self.tick(t)

    def tick(self, t: float) -> list[str]:
        """Time passed: settle a stable level, fire a hold that is due."""
        out: list[str] = []
        if self._raw != self._down and t - self._raw_since >= self.bounce_s - 1e-9:
            self._down = self._raw
            if self._down:
                self._down_at = self._raw_since
                self._held = False
                if self.hold_s is None:
                    out.append(PRESS)
            elif self.hold_s is not None and not self._held:
                out.append(PRESS)
        if self._hold_pending() and t - self._down_at >= self.hold_s - 1e-9:  # type: ignore[operator]
            self._held = True
            out.append(HOLD)
        return out

    def _hold_pending(self) -> bool:
        """A hold can still fire: down, not yet held, and not released before the hold time
        (a release still being debounced counts from its first edge)."""
        if not self._down or self.hold_s is None or self._held:
            return False
        return self._raw or self._raw_since - self._down_at >= self.hold_s - 1e-9

    def deadline(self) -> float | None:
        """When :meth:`tick` must be called next (None: only on the next edge)."""
        times = []
        if self._raw != self._down:
            times.append(self._raw_since + self.bounce_s)
        if self._hold_pending():
            times.append(self._down_at + self.hold_s)  # type: ignore[operator]
        return min(times) if times else None
