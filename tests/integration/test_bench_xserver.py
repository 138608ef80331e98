"""The bench counts frames through the X server: one DAMAGE event per frame presented.

A pygame window on a private Xvfb flips a known number of frames; the bench's watcher must
count exactly those, find the X server's process, and see the window drawn.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from appliance.bench import xvfb
from appliance.bench._xserver import XWatcher, kill_group, server_pid

pytest.importorskip("Xlib", reason="python-xlib (dev extras) is needed to count frames")
if not xvfb.available():
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


def test_frames_are_counted_by_the_x_server() -> None:
    with xvfb.virtual_display(640, 480) as display:
        with open(f"/proc/{server_pid(display)}/comm") as comm:
            assert comm.read().strip() == "Xvfb"
        env = xvfb.x11_env(display)
        env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
        env["SDL_NO_SIGNAL_HANDLERS"] = "1"  # SIGTERM ends it (SDL would make it a QUIT event)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            start_new_session=True,
        )
        watcher = XWatcher(display)
        try:
            watcher.find_window((320, 200), 20, alive=lambda: child.poll() is None)
            watcher.watch()
            watcher.wait_drawn(timeout=20, alive=lambda: child.poll() is None)
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
