"""The volume bar: its timing (pure, with a given clock) and what the screen draws.

Real pygame rendering at 800x480; the frames go to tests/artifacts/screens/ for people to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import DisplayConfig, validate
from appliance.display import volumebar
from appliance.display.loop import DisplayLoop
from appliance.display.screen import Screen
from appliance.hub import Hub
from appliance.state import Phase, View

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
KEYED = validate({"realtime": {"provisioning": {"url": "https://keys.example.com/realtime"}}})
SPEAKING = View(phase=Phase.LIVE, speaking=True)


def save(frame: pygame.Surface, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    pygame.image.save(frame, str(SCREENS / f"{name}.png"))


def rgb(frame: pygame.Surface, rect: pygame.Rect) -> np.ndarray:
    return pygame.surfarray.array3d(frame)[rect.left : rect.right, rect.top : rect.bottom]


def track_fill(frame: pygame.Surface, screen: Screen) -> float:
    """The share of the bar's track (its middle row) that is drawn white."""
    panel = volumebar.panel_rect(screen.avatar_area, screen.px)
    pad = screen.px(14)
    y = panel.bottom - screen.px(12) - screen.px(5)
    row = pygame.surfarray.array3d(frame)[panel.left + pad : panel.right - pad, y]
    return float((row.min(axis=1) > 240).mean())


def panel_shown(frame: pygame.Surface, screen: Screen) -> bool:
    """The bar's dark panel is there (a patch inside its rounded corner)."""
    panel = volumebar.panel_rect(screen.avatar_area, screen.px)
    return bool(rgb(frame, pygame.Rect(panel.left + 16, panel.top + 12, 8, 8)).max() < 60)


@pytest.fixture(scope="module")
def screen() -> Screen:
    return Screen(KEYED, (800, 480))


def test_the_bar_is_shown_for_two_seconds_after_a_change() -> None:
    assert volumebar.shown(None, 5.0) is None
    change = (30, 100.0)
    assert volumebar.shown(change, 100.0) == 30
    assert volumebar.shown(change, 101.99) == 30
    assert volumebar.shown(change, 102.0) is None
    assert volumebar.shown(change, 99.0) is None  # a change "from the future": not shown
    assert volumebar.SHOW_S == 2.0


@pytest.mark.parametrize("percent", [30, 100, 0])
def test_the_bar_shows_the_volume_over_the_avatar(screen: Screen, percent: int) -> None:
    plain = screen.render(SPEAKING, 1.0).copy()
    frame = screen.render(SPEAKING, 1.0, volume=percent)
    save(frame, f"volume_{percent}_800x480")
    panel = volumebar.panel_rect(screen.avatar_area, screen.px)
    assert screen.avatar_area.contains(panel)
    assert panel.width == 320 and panel.bottom <= screen.avatar_container_rect.bottom
    assert panel_shown(frame, screen) and not panel_shown(plain, screen)
    assert track_fill(frame, screen) == pytest.approx(percent / 100, abs=0.03)
    # the rest of the screen is untouched
    below = pygame.Rect(0, screen.buttons_rect.top, 800, screen.buttons_rect.height)
    assert np.array_equal(rgb(frame, below), rgb(plain, below))


def test_redraw_adds_and_removes_the_bar_and_keeps_it_over_a_moving_avatar(
    screen: Screen,
) -> None:
    target = pygame.Surface((800, 480), pygame.SRCALPHA, 32)
    screen.render(SPEAKING, 1.0, target=target)
    assert screen.redraw(SPEAKING, 1.0, target=target, volume=40) is None  # drawn whole
    assert track_fill(target, screen) == pytest.approx(0.4, abs=0.03)
    damage = screen.redraw(SPEAKING, 1.5, target=target, volume=40)  # the avatar grows
    assert damage  # a partial repaint...
    whole = screen.render(SPEAKING, 1.5, volume=40)
    assert np.array_equal(pygame.surfarray.array3d(target), pygame.surfarray.array3d(whole))
    assert screen.redraw(SPEAKING, 1.5, target=target) is None  # the bar goes: drawn whole
    plain = screen.render(SPEAKING, 1.5)
    assert np.array_equal(pygame.surfarray.array3d(target), pygame.surfarray.array3d(plain))


def test_the_display_loop_shows_a_change_then_hides_it() -> None:
    hub = Hub()
    loop = DisplayLoop(hub, KEYED.model_copy(update={"display": DisplayConfig(mode="none")}))
    hub.show(SPEAKING)
    hub.show_volume(70, now=500.0)
    assert loop.draw(hub.view, 500.5, force=True)
    assert track_fill(loop.screen.frame, loop.screen) == pytest.approx(0.7, abs=0.03)
    assert not loop.draw(hub.view, 501.9)  # nothing changed: no frame, the bar stays
    assert panel_shown(loop.screen.frame, loop.screen)
    assert loop.draw(hub.view, 502.5)  # 2 s on: drawn again, without the bar
    assert not panel_shown(loop.screen.frame, loop.screen)
