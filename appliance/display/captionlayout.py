"""Where the captions go and how they break into lines (pure: a ``measure`` function stands
for the font).

The captions sit at the bottom of the avatar's part of the screen, just above the buttons row,
over the avatar when it grows: :func:`caption_box` gives the box for ``display.caption_lines``
lines of the caption font, fewer when the screen has no room for them all, and never over the
buttons row or the state caption at the top. :func:`caption_lines` word-wraps the conversation
(:class:`~appliance.captions.Caption` items, oldest first) to the box's width and keeps the
last lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from appliance.captions import Caption, Role
from appliance.display.text import wrap

Box = tuple[int, int, int, int]  # left, top, width, height
WRAP_ALL = 10_000
"""No limit, in effect, on the lines of one item before the last ones are kept."""


def caption_box(
    area: Box, line_height: int, lines: int, padding: int, max_width: int | None = None
) -> tuple[Box, int]:
    """The caption box at the bottom of ``area`` (the room between the state caption and the
    buttons row) and how many lines fit in it (at most ``lines``; 0: none fit)."""
    left, top, width, height = area
    fit = max(0, min(lines, (height - 2 * padding) // max(1, line_height)))
    box_h = fit * line_height + 2 * padding if fit else 0
    box_w = width if max_width is None else min(width, max_width)
    return (left + (width - box_w) // 2, top + height - box_h, box_w, box_h), fit


def caption_lines(
    captions: Sequence[Caption], width: float, measure: Callable[[str], float], max_lines: int
) -> tuple[tuple[Role, str], ...]:
    """The last ``max_lines`` lines of ``captions`` word-wrapped to ``width``, each with its
    speaker's role; every item starts a new line."""
    if max_lines <= 0:
        return ()
    out: list[tuple[Role, str]] = []
    for caption in reversed(captions):
        lines = wrap(caption.text, width, measure, WRAP_ALL)
        out[:0] = [(caption.role, line) for line in lines]
        if len(out) >= max_lines:
            break
    return tuple(out[-max_lines:])
