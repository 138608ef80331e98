"""The browser kiosk of ``scripts/bench --only peer``: Chromium showing Deep Chat's realtime
view from the local page, in a window of the asked size on Xvfb; its processes counted and
all gone after close.

Installs Chromium (apt, as root) and deep-chat (npm, into the bench's cache) when missing:
slow the first time on a machine.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from appliance.rig import browser, xdisplay
from appliance.rig.process import process_tree, tree_memory, wait_until
from appliance.rig.xdisplay import XWatcher

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
pytest.importorskip("Xlib", reason="python-xlib (dev extras) is needed to read the window")
SIZE = (800, 480)


@pytest.fixture(scope="module")
def site() -> object:
    if not xdisplay.available():
        pytest.skip("Xvfb is not installed")
    if browser.find_chromium() is None and os.environ.get("APPLIANCE_FULL") != "1":
        # installing Chromium and deep-chat takes minutes: the full run only
        pytest.skip("Chromium is not installed (APPLIANCE_FULL=1 installs it, as root)")
    if browser.find_chromium() is None and os.geteuid() != 0:
        pytest.skip("Chromium is not installed and this is not root (apt-get install chromium)")
    try:
        return browser.kiosk_site()
    except browser.BrowserUnavailable as exc:
        pytest.skip(f"the browser kiosk cannot be installed here: {exc}")


def test_chromium_shows_the_realtime_view_and_leaves_nothing(site) -> None:
    with (
        xdisplay.virtual_display(1024, 768) as display,
        browser.PageServer(site) as server,
    ):
        watcher = XWatcher(display)
        try:
            with browser.BrowserKiosk(display, f"{server.url}/index.html", SIZE) as kiosk:
                mapped, drawn = watcher.follow_settled(SIZE, 120, alive=kiosk.alive)
                assert kiosk.spawned < mapped <= drawn
                pixels = watcher.pixels().astype(int)
                # the view: a white page with the grey avatar and two grey round buttons (not a
                # blank page, not an error screen)
                white = (pixels.min(axis=1) >= 245).mean()
                grey = ((pixels.max(axis=1) < 240) & (pixels.min(axis=1) > 150)).mean()
                assert white > 0.8 and 0.015 < grey < 0.1, (white, grey)
                tree = process_tree(kiosk.pid)
                memory, count = tree_memory(kiosk.pid)
                assert count >= 3  # a browser, a zygote, a renderer at least
                assert memory.pss > 50
        finally:
            watcher.close()
        wait_until(lambda: not any(_alive(pid) for pid in tree), 20, "Chromium gone")
        assert np.all([not _alive(pid) for pid in tree])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
