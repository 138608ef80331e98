"""The bench counts frames through the X server: one DAMAGE event per frame presented.

A pygame window on a private Xvfb flips a known number of frames; the bench's watcher must
count exactly those, find the X server's process, and see the window drawn.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from appliance.rig import xdisplay
from appliance.rig.process import kill_group, wait_until
from appliance.rig.xdisplay import XWatcher, server_pid

pytest.importorskip("Xlib", reason="python-xlib (dev extras) is needed to count frames")
if not xdisplay.available():
    pytest.skip("Xvfb is not installed", allow_module_level=True)

FLIPS = 40
CHILD = f"""
import sys, time
import pygame
pygame.display.init()
surface = pygame.display.set_mode((320, 200))
surface.fill((200, 200, 200))
pygame.display.flip()
sys.stdin.readline()  # the watcher is ready
for i in range({FLIPS}):
    surface.fill((i * 5 % 256, 100, 100))
    pygame.display.flip()
    time.sleep(0.005)
print("done", flush=True)
sys.stdin.readline()
"""


def start_child(display: str, code: str) -> subprocess.Popen[str]:
    """``code`` in a Python child drawing on ``display``, talked to over stdin/stdout."""
    env = xdisplay.x11_env(display)
    env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
    env["SDL_NO_SIGNAL_HANDLERS"] = "1"  # SIGTERM ends it (SDL would make it a QUIT event)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,
    )


def test_frames_are_counted_by_the_x_server() -> None:
    with xdisplay.virtual_display(640, 480) as display:
        with open(f"/proc/{server_pid(display)}/comm") as comm:
            assert comm.read().strip() == "Xvfb"
        child = start_child(display, CHILD)
        watcher = XWatcher(display)
        try:
            watcher.follow((320, 200), 20, alive=lambda: child.poll() is None)
            start = time.perf_counter()
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "done"
            # the last events may still be on their way
            deadline = time.monotonic() + 5
            while len(watcher.frames(start, float("inf"))) < FLIPS:
                assert time.monotonic() < deadline, watcher.frames(start, float("inf"))
                time.sleep(0.01)
            time.sleep(0.2)
            frames = watcher.frames(start, float("inf"))
            assert len(frames) == FLIPS
            stamps = [server_ms for _, server_ms in frames]
            assert stamps == sorted(stamps)
        finally:
            watcher.close()
            if child.stdin is not None:
                child.stdin.close()  # it exits on end of input
            kill_group(child)


REPLACED = """
import sys
import pygame
from Xlib import X
from Xlib.display import Display
x = Display()  # kept open: the second window's id cannot reuse the first one's
root = x.screen().root
first = root.create_window(0, 0, 320, 200, 0, x.screen().root_depth, background_pixel=0)
first.map()
x.sync()
print("first", flush=True)
sys.stdin.readline()
first.destroy()  # replaced before it was drawn, as SDL may do during start-up
x.sync()
pygame.display.init()
second = pygame.display.set_mode((320, 200))
second.fill((200, 200, 200))
pygame.display.flip()
print("second", flush=True)
sys.stdin.readline()
"""


def test_a_window_replaced_during_start_is_followed() -> None:
    """The watcher found the first window, which is destroyed before it is drawn: it follows
    the window that replaces it instead of failing with ``WindowGone``."""
    with xdisplay.virtual_display(640, 480) as display:
        child = start_child(display, REPLACED)
        watcher = XWatcher(display)
        result: list[object] = []
        try:
            assert child.stdin is not None and child.stdout is not None
            assert child.stdout.readline().strip() == "first"
            first = watcher.find_window((320, 200), 20).id
            watcher.window = None

            def follow() -> None:
                try:
                    result.append(watcher.follow((320, 200), 20, alive=lambda: True))
                except Exception as exc:  # reported by the assertion below
                    result.append(exc)

            thread = threading.Thread(target=follow)
            thread.start()
            # the follower is on the first (black) window, waiting for it to be drawn
            wait_until(lambda: watcher.window is not None, 20, "the follower to find a window")
            assert watcher.window.id == first
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "second"
            thread.join(25)
            assert not thread.is_alive()
            assert isinstance(result[0], tuple), result
            assert watcher.window.id != first
            assert watcher.coverage() > 0.5
        finally:
            watcher.close()
            if child.stdin is not None:
                child.stdin.close()
            kill_group(child)


IN_STEPS = """
import select, sys, time
import pygame
pygame.display.init()
surface = pygame.display.set_mode((320, 200))
while not select.select([sys.stdin], [], [], 0.02)[0]:  # a blank page until "go"
    surface.fill((255, 255, 255))
    pygame.display.flip()
sys.stdin.readline()
surface.fill((255, 255, 255))
pygame.draw.circle(surface, (90, 90, 90), (160, 70), 40)  # the view
pygame.draw.rect(surface, (200, 200, 200), (20, 140, 280, 40))
pygame.display.flip()
print("view", flush=True)
sys.stdin.readline()
"""


def test_a_view_painted_in_steps_counts_from_the_frame_that_stays() -> None:
    """A browser paints a blank page, then the view: the first frame is the view's, not the
    blank page's (which the coverage rule of ``follow`` would take)."""
    with xdisplay.virtual_display(640, 480) as display:
        child = start_child(display, IN_STEPS)
        watcher = XWatcher(display)
        result: list[object] = []
        try:
            assert child.stdin is not None and child.stdout is not None

            def follow() -> None:
                try:
                    result.append(watcher.follow_settled((320, 200), 20, settle_s=0.5))
                except Exception as exc:  # reported by the assertion below
                    result.append(exc)

            thread = threading.Thread(target=follow)
            thread.start()
            wait_until(lambda: watcher.frames(0, float("inf")), 20, "blank frames counted")
            go = time.perf_counter()
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "view"
            thread.join(25)
            assert not thread.is_alive()
            assert isinstance(result[0], tuple), result
            mapped, drawn = result[0]
            assert mapped < go < drawn
        finally:
            watcher.close()
            if child.stdin is not None:
                child.stdin.close()
            kill_group(child)
