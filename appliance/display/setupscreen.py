"""The setup screen: shown instead of the kiosk view while the appliance has no key source.

Deep Chat shows an "insert key" view when it has no key. A kiosk has no keyboard: its setup
screen says what is missing, the exact commands to run over SSH, and this device's name and
addresses (the facts come from :mod:`appliance.display.setup`). It is shown when no key source
is configured and no session ever started, or when a session failed for want of a key; a touch
anywhere on it tries again. :class:`~appliance.display.screen.Screen` asks it, frame by frame,
whether it is shown, and lets it draw the whole frame when it is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pygame

from appliance.config import AppConfig
from appliance.display import setup as setup_facts
from appliance.display.paint import fill, measure
from appliance.display.style import RGBA
from appliance.display.text import wrap
from appliance.display.theme import Theme
from appliance.labels import Labels, setup_reason
from appliance.state import Phase, View

SETUP_RECHECK_S = 2.0
"""How often (seconds) the setup screen looks again at the key file and the addresses."""

FontOf = Callable[..., pygame.font.Font]
"""``font(css_size, bold=False, mono=False)``: the kiosk view's font of that CSS size."""
TextOf = Callable[[str, pygame.font.Font, RGBA], pygame.Surface]
"""``text(text, font, color)``: ``text`` drawn in ``font`` (the kiosk view's cache)."""


class SetupScreen:
    """Whether the setup screen is shown for a view, and drawing it.

    It draws with the kiosk view's units and fonts (``px``, ``font``, ``text``), so both look
    alike at any screen size.
    """

    def __init__(
        self,
        config: AppConfig,
        theme: Theme,
        size: tuple[int, int],
        *,
        px: Callable[[float], int],
        font: FontOf,
        text: TextOf,
        words: Labels | None = None,
    ) -> None:
        self.config = config
        self.theme = theme
        self.size = size
        self.px = px
        self._font = font
        self._text = text
        self.words = words or Labels.of(config.display)
        """The texts in ``display.language`` (see :mod:`appliance.labels`)."""
        self._sessions_started = False
        self._checked = -math.inf
        self._missing_key: str | None = None
        self._device = setup_facts.Device("", ())
        self.blocks: list[tuple[str, pygame.Rect]] = []
        """The lines of text last drawn and where they were drawn (for tests)."""

    def reason(self, view: View) -> str | None:
        """What is missing when ``view`` must be the setup screen (Deep Chat's "insert key"
        view, for a kiosk), else None: when no key source is configured and no session ever
        started (a key source given by a reload shows with the first press), or when a
        session failed for want of a key."""
        if view.phase in (Phase.CONNECTING, Phase.LIVE):
            self._sessions_started = True
            return None
        self._recheck()
        if view.phase is Phase.ERROR and view.error_cause:
            if setup_facts.KEY_MISSING.search(view.error_cause):
                return self._missing_key or view.error_cause
            return None
        if view.phase is Phase.IDLE and not self._sessions_started:
            return self._missing_key
        return None

    def key(self, view: View) -> tuple | None:
        """What the setup screen shows for ``view`` (None: not shown); a frame is drawn again
        when it changes (an address came up, the key file was filled in)."""
        reason = self.reason(view)
        return None if reason is None else (reason, self._device)

    def lines(self) -> list[str]:
        """The text last drawn, line by line."""
        return [text for text, _rect in self.blocks]

    def _recheck(self) -> None:
        now = time.monotonic()
        if now - self._checked < SETUP_RECHECK_S:
            return
        self._checked = now
        self._missing_key = setup_facts.missing_key(self.config)
        if self._missing_key:
            self._device = setup_facts.device()

    def draw(self, frame: pygame.Surface, reason: str) -> None:
        """What is missing (``reason``), the commands to run over SSH, and how to reach this
        device, over ``frame`` (already filled with the background)."""
        t = self.theme
        width, height = self.size
        margin = self.px(22)
        room = width - 2 * margin
        device = self._device
        words = self.words
        host = device.hostname or "this-device"
        where = ", ".join(device.addresses[:3]) or words["setup_no_address"]
        title = self._font(24, bold=True)
        body = self._font(15)
        small = self._font(14)
        mono = self._mono_fitting([cmd for _what, cmd in setup_facts.commands(self.config)], room)
        blocks: list[tuple[str, pygame.Surface, int, bool]] = []  # text, surface, gap, boxed

        def add(text: str, font: pygame.font.Font, color, gap: int = 0, boxed: bool = False):
            lines = [text] if boxed else wrap(text, room, measure(font), 3)
            for i, line in enumerate(lines):
                blocks.append((line, self._text(line, font, color), gap if i == 0 else 0, boxed))

        known = setup_reason(reason)
        if known is not None:
            reason = words.text(known[0], **known[1])
        add(words["setup_title"], title, t.text)
        add(reason[:1].upper() + reason[1:] + ".", body, t.error, self.px(6))
        add(words.text("setup_ssh", host=host), body, t.text, self.px(16))
        for what, command in setup_facts.commands(self.config):
            add(words[what], small, t.caption, self.px(10))
            add(command, mono, t.text, self.px(4), boxed=True)
        add(words["setup_retry"], small, t.caption, self.px(16))
        add(words.text("setup_device", host=host, addresses=where), small, t.text, self.px(12))

        pad_x, pad_y = self.px(8), self.px(4)
        heights = [s.get_height() + g + (2 * pad_y if boxed else 0) for _, s, g, boxed in blocks]
        column = min(room, max(s.get_width() + (2 * pad_x if b else 0) for _, s, _, b in blocks))
        x = (width - column) // 2
        y = max(margin // 2, (height - sum(heights)) // 2)
        self.blocks = []
        for text, surface, gap, boxed in blocks:
            y += gap
            if boxed:
                box = pygame.Rect(
                    x, y, surface.get_width() + 2 * pad_x, surface.get_height() + 2 * pad_y
                )
                fill(frame, box, (238, 238, 238, 255), radius=self.px(5))
                rect = frame.blit(surface, (x + pad_x, y + pad_y))
                y = box.bottom
            else:
                rect = frame.blit(surface, (x, y))
                y = rect.bottom
            self.blocks.append((text, rect))

    def _mono_fitting(self, texts: list[str], room: int) -> pygame.font.Font:
        """The monospace font, 14 CSS px or smaller, in which every one of ``texts`` (plus its
        box's padding) fits ``room``."""
        css = 14.0
        while True:
            font = self._font(css, mono=True)
            widest = max(font.size(text)[0] for text in texts) + 2 * self.px(8)
            if widest <= room or css <= 7:
                return font
            css -= 0.5
