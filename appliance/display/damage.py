"""Damage tracking for the kiosk view: what the last frame showed, and what must be repainted
to bring it to the next one.

:meth:`~appliance.display.screen.Screen.redraw` keeps a :class:`Painted` record of the last
frame it drew into a surface. While the view stays the same, only four things can change on
screen: the avatar's size (it follows the voice), a button's hover/press look, the
animations (the connecting spinner and the loading ripple, which move with the clock), and the
captions (their box is repainted when their words change, and only then).
:func:`damage` lists the rectangles they cover, old and new, joined where they touch; the screen
repaints each under a clip. Anything else (another view, the setup screen, the first frame in
a surface) is drawn whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from appliance.captions import Caption
from appliance.state import View


@dataclass
class Painted:
    """What the last frame drawn into ``target`` showed, where the parts that can change while
    the view stays the same were drawn."""

    target: pygame.Surface
    view: View
    now: float
    avatar: pygame.Surface
    avatar_rect: pygame.Rect
    buttons: dict[str, tuple[str, pygame.Rect]]  # each button's hover/press look, and where
    animated: list[pygame.Rect]  # the spinner's and the ripple's: they move with ``now``
    middle: pygame.Rect | None  # what _draw_middle covered (None: nothing)
    captions: tuple[Caption, ...] = ()  # the captions shown
    caption_box: pygame.Rect | None = None  # where they are drawn


def damage(
    last: Painted,
    avatar: pygame.Surface,
    avatar_rect: pygame.Rect,
    interactions: dict[str, str],
    now: float,
    captions: tuple[Caption, ...] = (),
) -> list[pygame.Rect]:
    """The rectangles to repaint to go from the frame ``last`` records to one of the same view
    with ``avatar`` drawn at ``avatar_rect``, the buttons' looks in ``interactions`` (by
    name: ``"default"``, ``"hover"``, ``"click"``), the clock at ``now`` and ``captions``
    (``[]``: nothing changed)."""
    rects: list[pygame.Rect] = []
    if avatar is not last.avatar:
        rects.append(last.avatar_rect.union(avatar_rect))
    for name, interaction in interactions.items():
        drawn, rect = last.buttons[name]
        if interaction != drawn:
            rects.append(rect)
    if now != last.now:
        rects += last.animated
    if captions != last.captions and last.caption_box is not None:
        rects.append(last.caption_box)
    return merged(rects)


def merged(rects: list[pygame.Rect]) -> list[pygame.Rect]:
    """``rects`` with those that overlap or touch joined into one."""
    out: list[pygame.Rect] = []
    for rect in rects:
        rect = pygame.Rect(rect)
        if not rect.width or not rect.height:
            continue
        joined = True
        while joined:
            joined = False
            for other in out:
                if rect.inflate(2, 2).colliderect(other):
                    out.remove(other)
                    rect.union_ip(other)
                    joined = True
                    break
        out.append(rect)
    return out
