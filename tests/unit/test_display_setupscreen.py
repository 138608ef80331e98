"""The setup screen and the damage tracking as parts of their own, next to the kiosk view.

Real pygame on SDL's dummy driver: the setup screen drawn by itself into a fresh surface is,
byte for byte, the frame :class:`Screen` shows; :func:`damage.damage` names exactly what changed.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
import pytest

from appliance.config import validate
from appliance.display import damage
from appliance.display.screen import Screen
from appliance.display.setupscreen import SetupScreen
from appliance.state import Phase, View

SIZE = (800, 480)
PROVISIONED = {"realtime": {"provisioning": {"url": "https://keys.example.com/realtime"}}}


def test_the_setup_screen_draws_the_whole_frame_by_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    screen = Screen(validate({}), SIZE)  # no key source
    shown = screen.render(View(), 1.0)
    assert isinstance(screen.setup, SetupScreen)
    reason = screen.setup.reason(View())
    assert reason and reason == screen.setup_shown

    alone = pygame.Surface(SIZE, pygame.SRCALPHA, 32)
    alone.fill(screen.theme.background)
    screen.setup.draw(alone, reason)
    assert pygame.image.tobytes(alone, "RGBA") == pygame.image.tobytes(shown, "RGBA")
    assert screen.setup.lines() == screen.setup_lines()
    assert "Setup needed: no key for the voice service" in screen.setup.lines()


def test_the_setup_screen_is_not_shown_with_a_key_source() -> None:
    setup = Screen(validate(PROVISIONED), SIZE).setup
    assert setup.reason(View()) is None and setup.key(View()) is None
    # a session failing for want of a key shows it all the same
    failed = View(phase=Phase.ERROR, error_cause="no API key in the credential")
    assert setup.reason(failed) == "no API key in the credential"


def test_damage_names_what_changed_and_joins_what_touches() -> None:
    screen = Screen(validate(PROVISIONED), SIZE)
    view = View(phase=Phase.LIVE)
    screen.redraw(view, 1.0)
    last = screen._painted
    assert last is not None
    unchanged = {name: interaction for name, (interaction, _rect) in last.buttons.items()}
    assert damage.damage(last, last.avatar, last.avatar_rect, unchanged, last.now) == []

    hovered = {**unchanged, "toggle": "hover"}
    toggle_rect = last.buttons["toggle"][1]
    assert damage.damage(last, last.avatar, last.avatar_rect, hovered, last.now) == [toggle_rect]

    grown = pygame.Surface((4, 4))
    bigger = last.avatar_rect.inflate(20, 20)
    assert damage.damage(last, grown, bigger, unchanged, last.now) == [bigger]
    assert damage.merged([pygame.Rect(0, 0, 10, 10), pygame.Rect(10, 0, 5, 5)]) == [
        pygame.Rect(0, 0, 15, 10)
    ]
