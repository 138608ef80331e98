"""The volume bar: shown over the avatar for :data:`SHOW_S` after the volume changes.

:func:`shown` is the timing, pure (the clock is passed in): the hub keeps the last change and
its time (:attr:`~appliance.hub.Hub.volume_shown`), the display loop asks what to draw now.
:func:`draw` paints the bar: a dark rounded panel near the bottom of the avatar area with
``<caption>  N %`` and a horizontal bar filled to N %.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from appliance.display.paint import fill
from appliance.display.style import RGBA

SHOW_S = 2.0
"""How long the bar stays on screen after the last change."""

PANEL_COLOR: RGBA = (24, 24, 24, 220)
TRACK_COLOR: RGBA = (255, 255, 255, 70)
FILL_COLOR: RGBA = (255, 255, 255, 255)
TEXT_COLOR: RGBA = (255, 255, 255, 255)
PANEL_SIZE = (320, 68)
"""CSS px: the panel's width and height (scaled with the screen like everything else)."""


def shown(change: tuple[int, float] | None, now: float, show_s: float = SHOW_S) -> int | None:
    """The volume to show at ``now``: the last change's, until ``show_s`` after it; else None.

    ``change`` is ``(percent, when)`` on the same clock as ``now``."""
    if change is None:
        return None
    percent, when = change
    return percent if 0.0 <= now - when < show_s else None


def panel_rect(area: pygame.Rect, px: Callable[[float], int]) -> pygame.Rect:
    """Where the panel goes: centred near the bottom of ``area`` (the avatar's)."""
    width = min(px(PANEL_SIZE[0]), area.width)
    height = min(px(PANEL_SIZE[1]), area.height)
    rect = pygame.Rect(0, 0, width, height)
    rect.midbottom = (area.centerx, area.bottom - px(10))
    return rect.clip(area) if not area.contains(rect) else rect


def draw(
    frame: pygame.Surface,
    area: pygame.Rect,
    percent: int,
    font: pygame.font.Font,
    px: Callable[[float], int],
    caption: str = "Volume",
) -> pygame.Rect:
    """Paint the bar for ``percent`` over ``area``, titled ``caption`` (the ``volume`` label
    in the screen's language); returns the panel's rectangle."""
    panel = panel_rect(area, px)
    fill(frame, panel, PANEL_COLOR, radius=px(12))
    pad = px(14)
    text = font.render(f"{caption}  {percent} %", True, TEXT_COLOR)
    frame.blit(text, text.get_rect(midtop=(panel.centerx, panel.top + px(8))))
    track = pygame.Rect(panel.left + pad, 0, max(1, panel.width - 2 * pad), px(10))
    track.bottom = panel.bottom - px(12)
    fill(frame, track, TRACK_COLOR, radius=track.height // 2)
    filled = round(track.width * max(0, min(100, percent)) / 100)
    if filled:
        fill(
            frame,
            pygame.Rect(track.left, track.top, filled, track.height),
            FILL_COLOR,
            radius=track.height // 2,
        )
    return panel
