"""The screen's render path on a real X server (a private Xvfb: no GPU behind it).

Without a GPU, SDL's default for a pygame window is to present each frame through an OpenGL
renderer, which is Mesa's llvmpipe (software GL: libLLVM mapped, extra threads, several ms per
update). ``open_display`` must take SDL's X11 framebuffer instead and say so in the log; a
user's own ``SDL_FRAMEBUFFER_ACCELERATION`` is kept, and then the log names llvmpipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from appliance.display import renderer
from appliance.rig import xdisplay

OPEN = """
import json, logging, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
import pygame
from appliance.config import validate
from appliance.display.loop import open_display
surface = open_display(validate({"display": {"mode": "window", "size": [800, 480]}}))
for i in range(20):
    surface.fill((i * 10, 80, 120))
    pygame.display.flip()
maps = open("/proc/self/maps").read()
print(json.dumps({"opened": surface is not None, "llvm": "libLLVM" in maps}))
"""


def open_window(display: str, **env: str) -> tuple[dict[str, bool], str]:
    environment = xdisplay.x11_env(display)
    environment.pop(renderer.HINT, None)
    environment.pop("LIBGL_ALWAYS_SOFTWARE", None)
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", OPEN],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_no_software_gl_without_a_gpu(display: str) -> None:
    seen, log = open_window(display)
    assert seen == {"opened": True, "llvm": False}
    line = next(line for line in log.splitlines() if "on SDL driver x11" in line)
    assert "renderer: the video driver's own framebuffer, no OpenGL" in line
    assert "no direct rendering (DRI3/DRI2): no GPU" in line
    assert "WARNING" not in log


def test_a_users_choice_is_kept_and_software_gl_is_named(display: str) -> None:
    seen, log = open_window(display, SDL_FRAMEBUFFER_ACCELERATION="1")
    if not seen["llvm"]:
        pytest.skip("this machine's SDL found no OpenGL at all")
    line = next(line for line in log.splitlines() if "on SDL driver x11" in line)
    assert "llvmpipe" in line and "was set outside" in line
    assert "WARNING display: OpenGL is software here" in log


@pytest.fixture
def no_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SDL_FRAMEBUFFER_ACCELERATION, and whatever choose() sets is undone afterwards."""
    monkeypatch.setenv(renderer.HINT, "")  # records the value to restore
    monkeypatch.delenv(renderer.HINT)


@pytest.mark.usefixtures("no_hint")
def test_choose_leaves_other_drivers_and_a_set_hint_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "default on kmsdrm" in renderer.choose("kmsdrm")
    assert renderer.HINT not in os.environ
    monkeypatch.setenv(renderer.HINT, "opengles2")
    assert "set outside" in renderer.choose("x11")
    assert os.environ[renderer.HINT] == "opengles2"


@pytest.mark.usefixtures("no_hint")
def test_forced_software_gl_means_no_gl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBGL_ALWAYS_SOFTWARE", "1")
    assert "LIBGL_ALWAYS_SOFTWARE" in renderer.choose("x11")
    assert os.environ[renderer.HINT] == "0"


WINDOW_EVENTS_AFTER_DESCRIBE = """
import gc
import pygame
from pygame._sdl2.video import Window
from appliance.config import validate
from appliance.display.loop import open_display
open_display(validate({"display": {"mode": "window", "size": [320, 200]}}))
pygame.event.get()
gc.collect()
junk = [bytes(range(256)) * 2 for _ in range(20000)]  # memory a freed object had is reused
pygame.display.set_mode((400, 300), pygame.RESIZABLE)  # window events, as a resize makes
events = pygame.event.get()
windows = [e.window for e in events if hasattr(e, "window")]
print(len(windows), all(isinstance(w, Window) for w in windows))
"""


def test_window_events_after_the_renderer_was_described_are_read_safely() -> None:
    """Describing the renderer makes pygame's ``Window`` for the display's window; pygame's
    event conversion hands it out as ``event.window`` for every window event, so it must stay
    alive (a freed one made ``pygame.event.get()`` crash with SIGSEGV)."""
    environment = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", WINDOW_EVENTS_AFTER_DESCRIBE],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    count, all_windows = result.stdout.split()
    assert int(count) > 0 and all_windows == "True"
