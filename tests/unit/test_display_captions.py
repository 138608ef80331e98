"""Captions on the screen: real pygame rendering at 800x480 and 1920x1080, checked pixel by
pixel; frames are written to tests/artifacts/screens/ for people to look at."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest
from test_display_screen import KEYED, SPEAKING, pixels, save

from appliance.captions import Caption
from appliance.config import AppConfig, validate
from appliance.display.screen import Screen

SIZES = [(800, 480), (1920, 1080)]
CONVERSATION = (
    Caption("user", "Where can I see the dinosaur skeletons, and is the café open today?"),
    Caption(
        "assistant",
        "The dinosaur hall is on the first floor, past the mammoth: take the stairs on your "
        "left. The café on the ground floor is open until five o'clock today, and the shop "
        "next to it sells the guidebook.",
    ),
)


def config(**display: object) -> AppConfig:
    return validate({**KEYED.model_dump(exclude_unset=True), "display": display})


def rendered(screen: Screen, captions: tuple[Caption, ...], scale: float = 1.0) -> np.ndarray:
    screen.captions = captions
    return pixels(screen.render(SPEAKING, scale))


def text_rows(area: np.ndarray) -> int:
    """How many separate bands of dark (text) pixels run down ``area``: its lines of text."""
    dark = (area.max(axis=2) < 120).any(axis=0)
    return int(np.count_nonzero(np.diff(dark.astype(int)) == 1) + dark[0])


@pytest.mark.parametrize("size", SIZES)
def test_captions_show_the_last_lines_above_the_buttons(size):
    screen = Screen(config(captions="both"), size)
    name = f"{size[0]}x{size[1]}"
    plain = rendered(screen, ())
    frame = rendered(screen, CONVERSATION)
    save(screen.frame, f"captions_{name}")
    lines = screen.caption_lines()
    assert len(lines) == 3  # display.caption_lines
    assert lines[-1][1].endswith("sells the guidebook.")  # the last words, wrapped
    box = screen.caption_rect
    assert box.top >= screen.avatar_area.top  # below the state caption
    assert not any(box.colliderect(b.hit) for b in screen.buttons.values())
    # under the avatar at rest
    assert box.top >= screen.avatar_rect(1.0).bottom
    # drawn in the box, three lines of text, and nothing changed anywhere else
    changed = np.abs(frame - plain).max(axis=2) > 0
    xs, ys = np.nonzero(changed)
    assert len(xs) > 500
    assert box.collidepoint(xs.min(), ys.min()) and box.collidepoint(xs.max(), ys.max())
    assert text_rows(frame[box.left : box.right, box.top : box.bottom]) == 3
    # over the avatar when it grows, never over the buttons (nor their touch areas)
    big = rendered(screen, CONVERSATION, screen.max_scale)
    save(screen.frame, f"captions_speaking_big_{name}")
    below = min(b.hit.top for b in screen.buttons.values())
    assert (big[:, below:] == rendered(screen, (), screen.max_scale)[:, below:]).all()


def test_the_visitor_in_its_own_colour_and_more_lines():
    screen = Screen(config(captions="both", caption_lines=6), (800, 480))
    frame = rendered(screen, CONVERSATION)
    save(screen.frame, "captions_six_lines_800x480")
    lines = screen.caption_lines()
    assert len(lines) == 4 and lines[0][0] == "user" and lines[-1][0] == "assistant"
    green = screen.theme.state_colors["listening"][:3]
    box = screen.caption_rect
    area = frame[box.left : box.right, box.top : box.bottom]
    assert (np.abs(area - np.array(green)).max(axis=2) < 40).sum() > 100


@pytest.mark.parametrize("size", SIZES)
def test_large_captions_get_fewer_lines_never_over_the_buttons_or_the_state(size):
    screen = Screen(config(caption_lines=10, caption_size=64.0), size)
    frame = rendered(screen, CONVERSATION)
    save(screen.frame, f"captions_large_{size[0]}x{size[1]}")
    lines = screen.caption_lines()
    assert 1 <= len(lines) < 10
    box = screen.caption_rect
    assert not any(box.colliderect(b.hit) for b in screen.buttons.values())
    assert box.top >= screen.avatar_area.top  # below the state caption
    width = screen.px(640)
    assert box.width <= width
    assert text_rows(frame[box.left : box.right, box.top : box.bottom]) == len(lines)


def test_captions_off_draw_nothing():
    screen = Screen(config(captions="off"), (800, 480))
    assert (rendered(screen, CONVERSATION) == rendered(screen, ())).all()
    assert screen.caption_lines() == ()


def test_a_caption_change_repaints_only_the_caption_box():
    a = Screen(config(), (800, 480))
    whole = Screen(config(), (800, 480))
    target = pygame.Surface(a.size, pygame.SRCALPHA, 32)
    a.redraw(SPEAKING, 1.0, target=target)
    a.captions = CONVERSATION[1:]
    assert a.redraw(SPEAKING, 1.0, target=target) == [a.caption_rect]
    assert a.redraw(SPEAKING, 1.0, target=target) == []  # unchanged: nothing drawn
    whole.captions = a.captions
    assert (pixels(target) == pixels(whole.render(SPEAKING, 1.0))).all()
    # cleared at stop: the box is repainted empty
    a.captions = ()
    assert a.redraw(SPEAKING, 1.0, target=target) == [a.caption_rect]
    whole.captions = ()
    assert (pixels(target) == pixels(whole.render(SPEAKING, 1.0))).all()


def test_captions_reach_the_screen_through_the_hub_and_wake_the_loop():
    from appliance.config import DisplayConfig
    from appliance.display.loop import DisplayLoop
    from appliance.hub import Hub

    hub = Hub()
    config = AppConfig(display=DisplayConfig(mode="window", size=(800, 480)))
    loop = DisplayLoop(hub, config)
    try:
        hub.show(SPEAKING)
        loop.step()
        frames = hub.display_stats.frames
        version = hub.version
        hub.show_captions(CONVERSATION[1:])
        assert hub.version != version  # the sleeping loop wakes
        loop.step()
        assert hub.display_stats.frames == frames + 1
        assert loop.damaged == [loop.screen.caption_rect]  # only the captions repainted
        assert loop.screen.caption_lines()[-1][1].endswith("guidebook.")
        loop.step()
        assert hub.display_stats.frames == frames + 1  # unchanged: nothing drawn
        hub.show_captions(CONVERSATION[1:])  # the same again: no wake-up
        assert hub.version == version + 1
    finally:
        loop.close()
