"""When the screen sleeps: pure timing, no clock, no I/O.

After ``display.sleep_after_s`` seconds of idle (default 300; 0 = never) the screen dims, and
``display.dim_s`` (:data:`DARK_AFTER_DIM_S`, 15) later it goes dark. Idle means: nobody
touched the screen, pressed a button or said the wake word, nothing changed state, and no
session is on (connecting or live: a session never sleeps). Any of those wakes it at once.

The first touch on a sleeping (dim or dark) screen only wakes it: :meth:`SleepTimer.touch`
returns False for it, and the display loop does not press the button under the finger (the
visitor could not see what they touched). A physical button press, a wake word or a session
start are not touches: they wake the screen and do what they do.

Every method takes ``now`` (seconds, any monotonic clock), so the whole behaviour is tested
with plain numbers (tests/unit/test_display_sleep.py).
"""

from __future__ import annotations

from enum import StrEnum

DARK_AFTER_DIM_S = 15.0
"""How long the screen stays dim before it goes dark."""


class Power(StrEnum):
    """What the screen shows: everything, a dimmed frame, or nothing."""

    ON = "on"
    DIM = "dim"
    DARK = "dark"


class SleepTimer:
    """The screen's power from the moments of activity.

    ``sleep_after_s <= 0`` never sleeps. :meth:`busy` keeps it awake while a session is on;
    :meth:`activity` and :meth:`touch` wake it; :meth:`power` says what to show now and
    :meth:`next_change` when that will change by itself.
    """

    def __init__(
        self, sleep_after_s: float, now: float, dark_after_dim_s: float = DARK_AFTER_DIM_S
    ) -> None:
        self.sleep_after_s = float(sleep_after_s)
        self.dark_after_dim_s = max(0.0, float(dark_after_dim_s))
        self.last_activity = now
        self._busy = False

    @property
    def enabled(self) -> bool:
        return self.sleep_after_s > 0

    def power(self, now: float) -> Power:
        """What the screen should show at ``now``."""
        if not self.enabled or self._busy:
            return Power.ON
        idle = now - self.last_activity
        if idle < self.sleep_after_s:
            return Power.ON
        if idle < self.sleep_after_s + self.dark_after_dim_s:
            return Power.DIM
        return Power.DARK

    def next_change(self, now: float) -> float | None:
        """Seconds from ``now`` until :meth:`power` changes by itself (None: it will not)."""
        if not self.enabled or self._busy:
            return None
        idle = now - self.last_activity
        for edge in (self.sleep_after_s, self.sleep_after_s + self.dark_after_dim_s):
            if idle < edge:
                return edge - idle
        return None

    def activity(self, now: float) -> None:
        """Something happened (a press, a wake word, a change of state): wake, and count the
        idle time from ``now``."""
        self.last_activity = max(self.last_activity, now)

    def touch(self, now: float) -> bool:
        """A touch (or click, or key) on the screen at ``now``: wakes it. Returns whether the
        touch may also press what it hit: False when it woke a dim or dark screen."""
        awake = self.power(now) is Power.ON
        self.activity(now)
        return awake

    def busy(self, on: bool, now: float) -> None:
        """A session is on (``on``): no sleeping until it ends, and the idle time then counts
        from its end."""
        if on or self._busy:
            self.activity(now)
        self._busy = on
