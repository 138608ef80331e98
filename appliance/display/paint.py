"""Small drawing helpers shared by the kiosk view and the setup screen."""

from __future__ import annotations

from collections.abc import Callable

import pygame

from appliance.display.style import RGBA


def measure(font: pygame.font.Font) -> Callable[[str], int]:
    """How wide ``font`` draws a text, in pixels (for :func:`~appliance.display.text.wrap`)."""
    return lambda text: font.size(text)[0]


def fill(frame: pygame.Surface, rect: pygame.Rect, color: RGBA, radius: int = 0) -> None:
    """Fill ``rect`` of ``frame`` with ``color``, blended when translucent, its corners rounded
    by ``radius``."""
    if color[3] == 255 and not radius:
        frame.fill(color, rect)
        return
    if not radius:  # a plain translucent fill: only the part inside the clip
        rect = rect.clip(frame.get_clip())
        if not rect.width or not rect.height:
            return
    layer = pygame.Surface(rect.size, pygame.SRCALPHA, 32)
    pygame.draw.rect(layer, color, layer.get_rect(), border_radius=radius)
    frame.blit(layer, rect)
