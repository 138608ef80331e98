"""The kiosk screen: Deep Chat's realtime view (avatar, toggle and microphone buttons, loading
and error messages) drawn with pygame on a 7-inch panel, a TV or a laptop window.

* :func:`run_display` runs on the main thread until ``hub.stopping`` is set.
* :class:`Screen` renders one frame of a :class:`~appliance.state.View` without any loop.
* :mod:`appliance.display.style` is the CSS subset used by Deep Chat's ``styles`` options.
"""

from __future__ import annotations

from appliance.display.loop import DisplayLoop, run_display
from appliance.display.screen import Screen

__all__ = ["DisplayLoop", "Screen", "run_display"]
