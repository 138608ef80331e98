"""When a session hangs up by itself: nobody spoke for a while, or it lasted too long.

Pure: no clock, no I/O. :class:`HangUp` is told when there was activity (the visitor or the
model speaking, a press) and asked, with the time, what is due: the seconds of the countdown
shown before an idle stop, or the stop itself and why (:class:`~appliance.state.StopReason`).
The session policy (:class:`~appliance.realtime.session.Session`) owns one per user session, so
a reconnect does not reset the cap on its length.
"""

from __future__ import annotations

import math

from appliance.state import StopReason

COUNTDOWN_S = 10
"""The last seconds before an idle stop, shown on the screen as a countdown."""


class HangUp:
    """The idle stop (``idle_stop_s``, 0: never) and the cap on a session's length
    (``max_session_s``, 0: none), measured from :meth:`begin` (the monotonic clock's)."""

    def __init__(self, idle_stop_s: float, max_session_s: float) -> None:
        self.idle_stop_s = idle_stop_s
        self.max_session_s = max_session_s
        self.began: float | None = None
        self.last_activity = 0.0

    def begin(self, now: float) -> None:
        """The session went live: its length counts from the first time; every time (a
        reconnect too) gives the visitor a full idle period again."""
        if self.began is None:
            self.began = now
        self.activity(now)

    def activity(self, now: float) -> None:
        """Someone spoke, the model is answering, or the visitor pressed something."""
        self.last_activity = max(self.last_activity, now)

    def due(self, now: float) -> StopReason | None:
        """The reason to stop now, if any (the cap first: nothing keeps a session past it)."""
        if self.began is None:
            return None
        if self.max_session_s and now - self.began >= self.max_session_s:
            return StopReason.MAX
        if self.idle_stop_s and now - self.last_activity >= self.idle_stop_s:
            return StopReason.IDLE
        return None

    def countdown(self, now: float) -> int | None:
        """Whole seconds left before an idle stop, during its last :data:`COUNTDOWN_S`
        seconds (rounded up: 10 ... 1); ``None`` before them or without an idle stop."""
        if self.began is None or not self.idle_stop_s:
            return None
        left = self.idle_stop_s - (now - self.last_activity)
        if left > COUNTDOWN_S or left <= 0:
            return None
        return math.ceil(left)
