"""The kiosk screen's renderer: Deep Chat's realtime view drawn with pygame, no event loop.

:class:`Screen` turns a :class:`~appliance.state.View` and the avatar scale into a frame, and
maps a touch position to a button. It works without a window (tests, ``display.mode = "none"``
snapshots), so every state can be rendered and checked pixel by pixel.

Layout (Deep Chat's, with captions added for people who cannot tell the states by colour)::

    +-----------------------------------------------+
    |              * Listening                      |  state caption
    |                  .-----.                      |
    |                 ( avatar )                    |  avatar area: 60 % of the height
    |                  '-----'                      |  (avatar.styles.container.height)
    |     the conversation's last words, wrapped    |  conversation captions
    +-----------------------------------------------+  (display.captions)
    |     (mic)        Loading / Error        (>)   |  buttons row: 40 %
    |     Mic on       cause, notice         Start  |  button captions
    +-----------------------------------------------+

The avatar grows with the voice by ``scale`` (1 .. ``avatar.max_scale``) around its centre. At
rest it has Deep Chat's size (110 CSS px high, 8 px padding, a 1 px border, or its styles'),
whatever ``max_scale``: like Deep Chat's CSS ``transform: scale()``, ``max_scale`` only bounds
the growth. Where the screen has less room than ``max_scale`` asks for, the avatar grows to the
edge of its area and stops there (Deep Chat would draw it over the buttons). CSS pixel sizes are
multiplied by the UI scale ``min(width / 800, height / 480)``, so the 7-inch 800x480 panel shows
Deep Chat's sizes and a 1920x1080 TV shows the same layout 2.25 times larger.

Damage: :meth:`Screen.redraw` draws the same frame as :meth:`Screen.render` but repaints only
what changed since the last frame it drew into the same surface, and returns those rectangles:
while only the avatar's size changes, the union of its old and new rectangles; a button whose
hover/press look changed, its rectangle; while connecting, the spinner's and the ripple's. Each
is repainted by the ordinary drawing code under a clip (``Surface.set_clip``), which skips the
parts that lie outside it, so what lies inside is exactly what a full frame would hold there.
Anything else (another view, the setup screen, the first frame in a surface) is drawn whole.
What changed is worked out by :mod:`appliance.display.damage`.

Conversation captions (``display.captions``, :mod:`appliance.captions`) sit under the avatar,
down to the top of the buttons' touch areas and never over them; the avatar grows behind them.
:attr:`Screen.captions` (set by the display loop from the hub) says what they show; a change
repaints their box only.

The setup screen (:class:`~appliance.display.setupscreen.SetupScreen`) replaces the whole frame
while the appliance has no key source; :attr:`Screen.setup` says when, and draws it.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame

from appliance.captions import Caption, Role
from appliance.config import AppConfig, ButtonConfig, ButtonStyles
from appliance.display import damage as tracking
from appliance.display import images, volumebar
from appliance.display.captionlayout import caption_box, caption_lines
from appliance.display.paint import fill, measure
from appliance.display.setupscreen import SetupScreen
from appliance.display.style import (
    EMPTY,
    RGBA,
    Length,
    Style,
    Warnings,
    resolve,
)
from appliance.display.text import Line, ellipsize, html_lines, wrap
from appliance.display.theme import Theme, load_theme
from appliance.labels import Labels, cause_key
from appliance.state import ButtonState, Phase, View

Target = Literal["toggle", "microphone"]
Interaction = Literal["default", "hover", "click"]

REFERENCE = (800, 480)
AVATAR_CACHE_BYTES = 12 * 2**20  # scaled avatars kept for reuse while it moves
MIN_TOUCH = 96  # CSS px: the touch area around each button (the drawn button is 70 px)
CAPTION_MAX_WIDTH = 640  # CSS px: the captions' widest line (shorter lines read better)
CAPTION_PADDING = 4  # CSS px around the captions' lines
CAPTION_BACKDROP_ALPHA = 215  # the background colour behind the captions, over the avatar

STATUS_COLOR = {
    "idle": "idle",
    "connecting": "connecting",
    "reconnecting": "connecting",
    "listening": "listening",
    "muted": "muted",
    "speaking": "speaking",
    "error": "error",
}

_BUILTIN_ICONS = {
    ("toggle", ButtonState.DEFAULT): "play",
    ("toggle", ButtonState.ACTIVE): "stop",
    ("microphone", ButtonState.DEFAULT): "microphone",
}

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/TTF", "/usr/share/fonts/dejavu")


def _font_file(bold: bool, mono: bool = False) -> str | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    if mono:
        name = "DejaVuSansMono.ttf"
    for directory in _FONT_DIRS:
        path = Path(directory) / name
        if path.is_file():
            return str(path)
    return None  # pygame's bundled font


def font_files() -> list[str | None]:
    """The font files the screen draws with (regular, bold, monospace; None: pygame's bundled
    font, where DejaVu is missing)."""
    return list(dict.fromkeys((_font_file(False), _font_file(True), _font_file(False, True))))


def missing_glyphs(text: str, *, fallback: bool = True) -> dict[str, str]:
    """The characters of ``text`` that a font of the screen has no glyph for (it would draw a
    box), by font file (``"pygame"``: pygame's bundled font, used where DejaVu is missing;
    ``fallback``: check it even where DejaVu is installed). Empty when every font draws every
    character."""
    import pygame.freetype

    if not pygame.freetype.get_init():
        pygame.freetype.init()
    chars = "".join(sorted({c for c in text if c >= " " and not c.isspace()}))
    out: dict[str, str] = {}
    for path in dict.fromkeys(font_files() + ([None] if fallback else [])):
        font = pygame.freetype.Font(path, 16)
        missing = "".join(c for c, m in zip(chars, font.get_metrics(chars), strict=True) if not m)
        if missing:
            out[path or "pygame"] = missing
    return out


@dataclass
class _Look:
    """One state of one button, as configured."""

    container: dict[str, Style]
    svg: str | None
    text: str | None
    svg_styles: dict[str, Style]
    text_styles: dict[str, Style]


@dataclass
class _Button:
    name: Target
    looks: dict[ButtonState, _Look]
    center: tuple[int, int] = (0, 0)
    hit: pygame.Rect = field(default_factory=lambda: pygame.Rect(0, 0, 0, 0))


def _stateful(raw: dict[str, dict] | None, where: str, warnings: Warnings) -> dict[str, Style]:
    out: dict[str, Style] = {}
    for key, value in (raw or {}).items():
        if key not in ("default", "hover", "click"):
            warnings.warn(
                f"statekey:{where}:{key}",
                f"{where}: {key!r} is not a style state (use default, hover, click); ignored",
            )
            continue
        out[key] = resolve(value, f"{where}.{key}", warnings)
    return out


def _state(view: View, name: Target) -> ButtonState:
    """The state ``view`` gives the button ``name``."""
    return view.microphone if name == "microphone" else view.toggle


def _interactive(styles: dict[str, Style], interaction: Interaction) -> Style:
    style = styles.get("default", EMPTY)
    if interaction in ("hover", "click"):
        style = styles.get("hover", EMPTY).over(style)
    if interaction == "click":
        style = styles.get("click", EMPTY).over(style)
    return style


class Screen:
    """Renders frames of the realtime view at a fixed size.

    ``render(view, scale)`` returns the frame (drawn into ``target`` when given, e.g. the
    display surface); ``hit_test(pos)`` says which button a touch at ``pos`` hits in the last
    rendered state. ``pointer`` and ``pressed`` give the hover/click looks (set by the loop).
    """

    def __init__(
        self,
        config: AppConfig,
        size: tuple[int, int],
        *,
        theme: Theme | None = None,
        warnings: Warnings | None = None,
        avatar: pygame.Surface | None = None,
    ) -> None:
        """``avatar``: the avatar image to show (the display loop passes the default one and
        loads ``avatar.src`` on a thread, see :meth:`set_avatar`); without it
        ``avatar.src`` is loaded here, now."""
        if not pygame.font.get_init():
            pygame.font.init()
        self.config = config
        self.size = (max(64, int(size[0])), max(64, int(size[1])))
        width, height = self.size
        self.ui = max(0.4, min(width / REFERENCE[0], height / REFERENCE[1]))
        self.theme = theme or load_theme()
        self.warnings = warnings or Warnings()
        self.pointer: tuple[int, int] | None = None
        self.pressed = False
        self.captions: tuple[Caption, ...] = ()
        """The conversation's last words (set by the loop from the hub, like ``pointer``)."""
        self._caption_layout: tuple[tuple[Caption, ...], tuple[tuple[Role, str], ...]] = ((), ())
        self._caption_block: tuple[object, pygame.Surface] | None = None
        self.view = View()
        self.max_scale = max(1.0, float(config.realtime.avatar.max_scale))

        rt = config.realtime
        w = self.warnings
        self.avatar_container = resolve(
            rt.avatar.styles.container, "realtime.avatar.styles.container", w
        )
        self.avatar_image = resolve(rt.avatar.styles.image, "realtime.avatar.styles.image", w)
        self.buttons_container = resolve(rt.buttons.container, "realtime.buttons.container", w)
        self.loading_style = resolve(rt.loading.style, "realtime.loading.style", w)
        self.error_style = resolve(rt.error.style, "realtime.error.style", w)
        self.words = Labels.of(config.display)
        """The screen's words: ``display.language``'s texts, ``display.labels`` over them."""
        for font, chars in missing_glyphs(
            "".join(config.display.labels.values()), fallback=False
        ).items():
            w.warn(f"glyphs:{font}", f"display.labels: {font} has no glyph for {chars!r}")
        # Deep Chat's loading.text / error.text win when the file sets them
        loading_text = (
            rt.loading.text if "text" in rt.loading.model_fields_set else self.words["loading"]
        )
        self.error_title = (
            rt.error.text
            if "text" in rt.error.model_fields_set and rt.error.text
            else self.words["error_title"]
        )
        self.loading_lines: list[Line] = (
            html_lines(rt.loading.html)
            if rt.loading.html is not None
            else [[(loading_text, False)]]
        )
        self.buttons: dict[Target, _Button] = {
            "microphone": self._button("microphone", rt.buttons.microphone),
            "toggle": self._button("toggle", rt.buttons.toggle),
        }
        self._fonts: dict[tuple[int, bool, bool], pygame.font.Font] = {}
        self._texts: OrderedDict[tuple, pygame.Surface] = OrderedDict()
        self._button_cache: dict[tuple, pygame.Surface] = {}
        self._avatar_cache: OrderedDict[int, pygame.Surface] = OrderedDict()
        self._avatar_bytes = 0
        self._layout()
        self._avatar_src = avatar if avatar is not None else images.load_avatar(rt.avatar.src)
        self._avatar_master = self._build_avatar()
        self._frame: pygame.Surface | None = None
        self._painted: tracking.Painted | None = None
        self._painted_volume: int | None = None  # the volume bar in the last frame drawn
        self.setup = SetupScreen(
            config,
            self.theme,
            self.size,
            px=self.px,
            font=self._font,
            text=self._text,
            words=self.words,
        )
        """The setup screen, shown instead of this view while no key source is configured."""
        self.setup_shown: str | None = None
        """Why the last frame was the setup screen (what is missing), or None."""

    # --- configuration -------------------------------------------------------------------------

    def _button(self, name: Target, cfg: ButtonConfig) -> _Button:
        looks: dict[ButtonState, _Look] = {}
        for state in ButtonState:
            styles: ButtonStyles | None = getattr(cfg, state.value)
            where = f"realtime.buttons.{name}.{state.value}"
            w = self.warnings
            looks[state] = _Look(
                container=_stateful(styles.container if styles else None, f"{where}.container", w),
                svg=styles.svg.content if styles and styles.svg else None,
                text=styles.text.content if styles and styles.text else None,
                svg_styles=_stateful(
                    styles.svg.styles if styles and styles.svg else None, f"{where}.svg.styles", w
                ),
                text_styles=_stateful(
                    styles.text.styles if styles and styles.text else None,
                    f"{where}.text.styles",
                    w,
                ),
            )
        return _Button(name, looks)

    def _content(self, button: _Button, state: ButtonState) -> tuple[str | None, str | None]:
        """(svg, text) shown by ``button`` in ``state``, with Deep Chat's fallbacks: the
        state's own content, else the built-in icon of that state (toggle: play/stop,
        microphone: microphone), else the default state's content."""
        look = button.looks[state]
        if look.svg or look.text:
            return look.svg, look.text
        builtin = _BUILTIN_ICONS.get((button.name, state))
        if builtin:
            return images.icon_svg(builtin), None
        default = button.looks[ButtonState.DEFAULT]
        if default.svg or default.text:
            return default.svg, default.text
        return self._builtin_icon(button, state), None

    @staticmethod
    def _builtin_icon(button: _Button, state: ButtonState) -> str:
        """The built-in icon of ``button`` in ``state`` (its default state's, if it has none
        of its own)."""
        name = _BUILTIN_ICONS.get((button.name, state))
        return images.icon_svg(name or ("play" if button.name == "toggle" else "microphone"))

    # --- layout --------------------------------------------------------------------------------

    def px(self, css: float) -> int:
        """CSS pixels to screen pixels."""
        return max(1, round(css * self.ui))

    def _layout(self) -> None:
        width, height = self.size
        avatar_h = (self.avatar_container.height or Length(60, "%")).resolve(height, self.ui)
        avatar_h = int(min(max(avatar_h, height * 0.2), height * 0.85))
        self.avatar_container_rect = pygame.Rect(0, 0, width, avatar_h)
        rest = height - avatar_h
        buttons_h = self.buttons_container.height
        row_h = int(min(rest, buttons_h.resolve(height, self.ui))) if buttons_h else rest
        self.buttons_rect = pygame.Rect(0, avatar_h, width, max(1, row_h))

        caption_h = self._font("caption").get_linesize() + self.px(14)
        self.caption_center = (width // 2, self.px(7) + self._font("caption").get_linesize() // 2)
        margin = self.px(6)
        self.avatar_area = pygame.Rect(
            margin, caption_h, width - 2 * margin, max(8, avatar_h - caption_h - margin)
        )

        row = self.buttons_rect
        label_h = self._font("label").get_linesize()
        cy = row.top + int((row.height - label_h) * 0.5)
        base = self.px(self.theme.button_size)
        touch = max(self.px(MIN_TOUCH), base + self.px(16))
        for button, fx in ((self.buttons["microphone"], 0.25), (self.buttons["toggle"], 0.75)):
            button.center = (int(width * fx), cy)
            size = max([touch, *(self._button_size(button, s)[0] for s in ButtonState)])
            hit = pygame.Rect(0, 0, size, size + label_h)
            hit.midtop = (button.center[0], cy - size // 2)
            button.hit = hit.clip(row)
        left = self.buttons["microphone"].center[0] + base // 2 + self.px(14)
        right = self.buttons["toggle"].center[0] - base // 2 - self.px(14)
        self.middle = pygame.Rect(left, row.top, max(40, right - left), row.height)
        self.row_center = (width // 2, cy)
        self._layout_captions(caption_h, min(b.hit.top for b in self.buttons.values()))

    def _layout_captions(self, top: int, bottom: int) -> None:
        """The captions' box: under the avatar, between the state caption (``top``) and the
        buttons' touch areas (``bottom``), over the avatar when it grows."""
        d = self.config.display
        lines = d.caption_lines if d.captions != "off" else 0
        margin, pad = self.px(6), self.px(CAPTION_PADDING)
        area = (margin, top, self.size[0] - 2 * margin, max(0, bottom - top - self.px(4)))
        line_h = self._font(d.caption_size).get_linesize()
        box, self.caption_fit = caption_box(area, line_h, lines, pad, self.px(CAPTION_MAX_WIDTH))
        self.caption_rect = pygame.Rect(box)

    def _button_size(self, button: _Button, state: ButtonState) -> tuple[int, int]:
        style = self._container_style(button, state, "default")
        base = self.theme.button_size
        w = style.width.resolve(base, 1) if style.width else base
        h = style.height.resolve(base, 1) if style.height else base
        return self.px(w), self.px(h)

    # --- fonts and text ------------------------------------------------------------------------

    def _font(self, role: str | float, bold: bool = False, mono: bool = False) -> pygame.font.Font:
        css = role if isinstance(role, int | float) else self.theme.font_sizes.get(role, 15)
        size = max(8, round(css * self.ui))
        key = (size, bold, mono)
        font = self._fonts.get(key)
        if font is None:
            path = _font_file(bold, mono)
            font = pygame.font.Font(path, size)
            if path is None and bold:
                font.set_bold(True)
            self._fonts[key] = font
        return font

    def _text(self, text: str, font: pygame.font.Font, color: RGBA) -> pygame.Surface:
        key = (text, id(font), color)
        surface = self._texts.get(key)
        if surface is None:
            surface = font.render(text, True, color[:3])
            if color[3] < 255:
                surface.set_alpha(color[3])
            self._texts[key] = surface
            if len(self._texts) > 256:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(key)
        return surface

    # --- avatar --------------------------------------------------------------------------------

    def _avatar_geometry(self) -> tuple[float, float, float, float]:
        """(width, height, padding, border) of the avatar at scale 1, in CSS px."""
        style = self.avatar_image
        t = self.theme
        h = style.height.resolve(self.avatar_area.height / self.ui, 1) if style.height else None
        w = style.width.resolve(self.avatar_area.width / self.ui, 1) if style.width else None
        h = h or w or t.avatar_height
        w = w or h
        pad = style.padding[0].resolve(h, 1) if style.padding else t.avatar_padding
        border = style.border_width.resolve(h, 1) if style.border_width is not None else 1.0
        return w, h, pad, border

    def avatar_base_size(self) -> tuple[int, int]:
        """The avatar's size on screen at rest (scale 1): its CSS size, whatever ``max_scale``
        (only an avatar larger than its whole area is made to fit)."""
        w, h, pad, border = self._avatar_geometry()
        total_w = (w + 2 * (pad + border)) * self.ui
        total_h = (h + 2 * (pad + border)) * self.ui
        area = self.avatar_area
        fit = min(1.0, area.width / total_w, area.height / total_h)
        return max(4, int(total_w * fit)), max(4, int(total_h * fit))

    @property
    def largest_scale(self) -> float:
        """The largest scale drawn: ``max_scale``, or less where the avatar's area has less
        room (it stops at the area's edge)."""
        base_w, base_h = self.avatar_base_size()
        area = self.avatar_area
        return max(1.0, min(self.max_scale, area.width / base_w, area.height / base_h))

    def _build_avatar(self) -> pygame.Surface:
        """The avatar drawn once at its largest size; frames scale it down."""
        _, h, pad, border = self._avatar_geometry()
        base_w, base_h = self.avatar_base_size()
        total_w = max(4, min(2048, int(base_w * self.largest_scale)))
        total_h = max(4, min(2048, int(base_h * self.largest_scale)))
        k = total_h / (h + 2 * (pad + border))  # screen px per CSS px at the largest scale
        style = self.avatar_image
        radius_len = style.border_radius or Length(50, "%")
        radius = radius_len.resolve(min(total_w, total_h), k)
        border_color = style.border_color or self.theme.avatar_border
        background = style.background or (0, 0, 0, 0)
        surface = images.rounded_box(total_w, total_h, radius, background, border * k, border_color)
        inset = (pad + border) * k
        iw, ih = max(1, round(total_w - 2 * inset)), max(1, round(total_h - 2 * inset))
        picture = images.cover(self._avatar_src, iw, ih)
        mask = images.rounded_mask(iw, ih, max(0.0, radius - inset))
        alpha = pygame.surfarray.pixels_alpha(picture)
        alpha[...] = np.round(alpha * mask).astype(np.uint8)
        del alpha
        surface.blit(picture, ((total_w - iw) // 2, (total_h - ih) // 2))
        images.filtered(
            surface, style.filters or (), 1.0 if style.opacity is None else style.opacity
        )
        return surface

    @property
    def avatar_source(self) -> pygame.Surface:
        """The avatar image shown (before its styles, mask and scaling)."""
        return self._avatar_src

    def set_avatar(self, image: pygame.Surface) -> None:
        """Show ``image`` as the avatar from the next frame on (drawn whole)."""
        self._avatar_src = image
        self._avatar_master = self._build_avatar()
        self._avatar_cache.clear()
        self._avatar_bytes = 0
        self.invalidate()

    def _avatar(self, scale: float) -> pygame.Surface:
        base_w, base_h = self.avatar_base_size()
        target_h = max(2, round(base_h * scale))
        surface = self._avatar_cache.get(target_h)
        if surface is None:
            target_w = max(2, round(base_w * scale))
            master = self._avatar_master
            if (target_w, target_h) == master.get_size():
                surface = master
            else:
                surface = pygame.transform.smoothscale(master, (target_w, target_h))
            if pygame.display.get_surface() is not None:
                surface = surface.convert_alpha()
            self._avatar_cache[target_h] = surface
            self._avatar_bytes += surface.get_width() * surface.get_height() * 4
            while self._avatar_bytes > AVATAR_CACHE_BYTES and len(self._avatar_cache) > 1:
                _, old = self._avatar_cache.popitem(last=False)
                self._avatar_bytes -= old.get_width() * old.get_height() * 4
        else:
            self._avatar_cache.move_to_end(target_h)
        return surface

    def avatar_rect(self, scale: float) -> pygame.Rect:
        """Where the avatar is drawn at ``scale`` (for tests and damage tracking)."""
        scale = min(self.largest_scale, max(1.0, float(scale)))
        base_w, base_h = self.avatar_base_size()
        rect = pygame.Rect(0, 0, max(2, round(base_w * scale)), max(2, round(base_h * scale)))
        rect.center = self.avatar_area.center
        return rect

    # --- buttons -------------------------------------------------------------------------------

    def _container_style(self, button: _Button, state: ButtonState, inter: Interaction) -> Style:
        t = self.theme
        if button.name == "microphone" and state is ButtonState.ACTIVE:
            colors = t.microphone_active
        else:
            colors = t.button
        base = Style(background=colors.get(inter, colors["default"]))
        return _interactive(button.looks[state].container, inter).over(base)

    def _button_surface(
        self, button: _Button, state: ButtonState, loading: bool, inter: Interaction
    ) -> pygame.Surface:
        key = (button.name, state, loading, inter)
        cached = self._button_cache.get(key)
        if cached is not None:
            return cached
        t = self.theme
        style = self._container_style(button, state, inter)
        bw, bh = self._button_size(button, state)
        radius = (style.border_radius or Length(50, "%")).resolve(min(bw, bh), self.ui)
        border = style.border_width.resolve(bh, self.ui) if style.border_width else 0.0
        surface = images.rounded_box(
            bw, bh, radius, style.background or (0, 0, 0, 0), border, style.border_color or t.text
        )
        svg, text = self._content(button, state)
        look = button.looks[state]
        parts: list[tuple[pygame.Surface, int]] = []
        if svg:
            svg_style = _interactive(look.svg_styles, inter)
            default_size = t.toggle_icon_size if button.name == "toggle" else t.microphone_icon_size
            size_css = (
                svg_style.height.resolve(default_size, 1)
                if svg_style.height
                else svg_style.width.resolve(default_size, 1)
                if svg_style.width
                else default_size
            )
            try:
                icon = images.svg_surface(svg, self.px(size_css))
            except ValueError as exc:  # refused (over the limits) or not drawable
                self.warnings.warn(
                    f"svg:{button.name}:{state}",
                    f"realtime.buttons.{button.name}.{state}.svg.content: {exc}; "
                    "the built-in icon is shown instead",
                )
                icon = images.svg_surface(self._builtin_icon(button, state), self.px(size_css))
            filters = svg_style.filters
            if filters is None:
                if button.name == "toggle":
                    filters = t.toggle_filter
                elif state is ButtonState.ACTIVE:
                    filters = t.microphone_active_filter
            images.filtered(
                icon, filters or (), 1.0 if svg_style.opacity is None else svg_style.opacity
            )
            shift = self.px(1.5) if button.name == "toggle" and not look.svg else 0
            parts.append((icon, shift))
        if text:
            text_style = _interactive(look.text_styles, inter)
            font_css = text_style.font_size.resolve(15, 1) if text_style.font_size else 15
            font = self._font(font_css, bool(text_style.bold))
            label = ellipsize(text, bw - self.px(8), lambda s: font.size(s)[0])
            rendered = self._text(label, font, text_style.color or t.text)
            parts.append((rendered, 0))
        gap = self.px(2)
        total = sum(p.get_height() for p, _ in parts) + gap * max(0, len(parts) - 1)
        y = (bh - total) // 2
        for part, shift in parts:
            surface.blit(part, ((bw - part.get_width()) // 2 + shift, y))
            y += part.get_height() + gap
        opacity = 1.0 if style.opacity is None else style.opacity
        if state is ButtonState.UNAVAILABLE:
            opacity *= 0.45
        elif loading:
            opacity *= 0.7
        images.filtered(surface, style.filters or (), opacity)
        if pygame.display.get_surface() is not None:
            surface = surface.convert_alpha()
        self._button_cache[key] = surface
        return surface

    def _interaction(self, button: _Button, state: ButtonState) -> Interaction:
        if state is ButtonState.UNAVAILABLE or self.pointer is None:
            return "default"
        if not button.hit.collidepoint(self.pointer):
            return "default"
        return "click" if self.pressed else "hover"

    # --- public --------------------------------------------------------------------------------

    @property
    def frame(self) -> pygame.Surface:
        """The off-screen frame ``render`` draws into when no target is given."""
        if self._frame is None:
            self._frame = pygame.Surface(self.size, pygame.SRCALPHA, 32)
        return self._frame

    def hit_test(self, pos: tuple[float, float]) -> Target | None:
        """The button a touch at ``pos`` operates in the last rendered state, or ``None``.

        The touch area is at least 96 CSS px square (plus the caption), larger than the drawn
        button; an unavailable button takes no touches (Deep Chat's ``pointer-events: none``).
        The toggle stays touchable while loading, so a stuck connection can be cancelled.
        """
        if self.setup_shown:
            return "toggle"  # the whole setup screen: try again
        x, y = int(pos[0]), int(pos[1])
        for name, button in self.buttons.items():
            if button.hit.collidepoint(x, y):
                state = _state(self.view, name)
                return None if state is ButtonState.UNAVAILABLE else name
        return None

    def status_text(self, view: View) -> str:
        """The state caption shown at the top, for people who cannot tell colours apart."""
        if view.state == "reconnecting" and view.reconnect_attempt:
            return self.words.text("reconnecting_attempt", attempt=view.reconnect_attempt)
        if view.wake and view.state == "idle":
            return self.words.text("wake_hint", phrase=self.config.wake.phrase)
        if view.state in self.words.table:
            return self.words[view.state]
        return view.state.title()

    def labels(self, view: View) -> dict[Target, str]:
        """The captions under the buttons."""
        toggle = {
            "idle": "button_start",
            "connecting": "button_cancel",
            "reconnecting": "button_cancel",
            "listening": "button_stop",
            "muted": "button_stop",
            "speaking": "button_interrupt",
            "error": "button_retry",
        }.get(view.state)
        mic = {
            ButtonState.DEFAULT: "button_mic_on",
            ButtonState.ACTIVE: "button_muted",
            ButtonState.UNAVAILABLE: "button_microphone",
        }[view.microphone]
        return {"toggle": self.words[toggle] if toggle else "", "microphone": self.words[mic]}

    def middle_lines(self, view: View) -> list[str]:
        """The texts between the buttons for ``view``, before wrapping: the error and its
        cause, the loading text, or the idle stop's countdown, then the notice."""
        out: list[str] = []
        if view.error_visible:
            out.append(self.error_title)
            if view.error_cause:
                out.append(self.cause_text(view.error_cause))
        elif view.loading_visible and self.config.realtime.loading.display:
            out += ["".join(text for text, _bold in line) for line in self.loading_lines[:4]]
        elif view.countdown_s is not None and view.phase is Phase.LIVE:
            out.append(self.words.text("countdown", seconds=view.countdown_s))
        if view.notice and view.phase.value != "idle":
            out.append(self.cause_text(view.notice))
        return out

    def cause_text(self, cause: str) -> str:
        """What the visitor is told of a failure or a notice: the label of its kind (the
        technical ``cause`` is in the log and in ``appliance status``)."""
        return self.words[cause_key(cause)]

    def render(
        self,
        view: View,
        scale: float = 1.0,
        *,
        now: float = 0.0,
        target: pygame.Surface | None = None,
        volume: int | None = None,
    ) -> pygame.Surface:
        """Draw ``view`` with the avatar at ``scale``; ``now`` (seconds) drives animations;
        ``volume`` (percent) shows the volume bar over the avatar."""
        frame = target if target is not None else self.frame
        self._paint(frame, view, scale, now, volume=volume)
        return frame

    def redraw(
        self,
        view: View,
        scale: float = 1.0,
        *,
        now: float = 0.0,
        target: pygame.Surface | None = None,
        volume: int | None = None,
    ) -> list[pygame.Rect] | None:
        """Bring the frame in ``target`` to what :meth:`render` would draw, repainting only
        what changed since the last frame drawn into it. Returns the rectangles repainted
        (``[]``: nothing changed), or ``None`` when the whole frame was drawn."""
        frame = target if target is not None else self.frame
        last = self._painted
        if (
            last is None
            or last.target is not frame
            or last.view != view
            or volume != self._painted_volume
            or self.setup_reason(view)
        ):
            self._paint(frame, view, scale, now, volume=volume)
            return None
        avatar = self._avatar(self._clamp(scale))
        interactions = {
            name: self._interaction(button, _state(view, name))
            for name, button in self.buttons.items()
        }
        damage = tracking.damage(
            last,
            avatar,
            avatar.get_rect(center=self.avatar_area.center),
            interactions,
            now,
            self.captions,
        )
        for rect in damage:
            self._paint(frame, view, scale, now, rect, volume=volume)
        return damage

    def invalidate(self) -> None:
        """Forget what was drawn: the next :meth:`redraw` draws the whole frame (for a surface
        whose content was lost, e.g. a window exposed again)."""
        self._painted = None

    def _clamp(self, scale: float) -> float:
        return min(self.largest_scale, max(1.0, float(scale)))

    def _paint(
        self,
        frame: pygame.Surface,
        view: View,
        scale: float,
        now: float,
        clip: pygame.Rect | None = None,
        *,
        volume: int | None = None,
    ) -> None:
        """Draw the frame, or with ``clip`` only what lies in it (the rest of ``frame`` must
        already show this view: see :meth:`redraw`); parts outside the clip are skipped."""
        self.view = view
        t = self.theme
        last = self._painted
        if clip is not None:
            assert last is not None and last.target is frame and last.view == view
            frame.set_clip(clip)
        try:
            frame.fill(t.background)
            if clip is None:
                self.setup_shown = self.setup_reason(view)
                if self.setup_shown:
                    self._painted = None
                    self.setup.draw(frame, self.setup_shown)
                    return

            def visible(rect: pygame.Rect) -> bool:
                return clip is None or rect.colliderect(clip)

            if self.avatar_container.background:
                fill(frame, self.avatar_container_rect, self.avatar_container.background)
            row = self.buttons_rect
            if self.buttons_container.background:
                fill(frame, row, self.buttons_container.background)
            if self.buttons_container.border_width and self.buttons_container.border_color:
                pygame.draw.rect(
                    frame,
                    self.buttons_container.border_color,
                    row,
                    max(1, round(self.buttons_container.border_width.resolve(row.height, self.ui))),
                )

            self._draw_status(frame, view, visible)
            avatar = self._avatar(self._clamp(scale))
            avatar_rect = avatar.get_rect(center=self.avatar_area.center)
            frame.blit(avatar, avatar_rect)
            if visible(self.caption_rect):
                self._draw_captions(frame)

            labels = self.labels(view)
            buttons: dict[Target, tuple[Interaction, pygame.Rect]] = {}
            animated: list[pygame.Rect] = []
            for name, button in self.buttons.items():
                state = _state(view, name)
                loading = name == "toggle" and view.toggle_loading
                interaction = self._interaction(button, state)
                surface = self._button_surface(button, state, loading, interaction)
                rect = surface.get_rect(center=button.center)
                buttons[name] = (interaction, rect)
                frame.blit(surface, rect)
                if loading:
                    spinner = self._spinner_rect(rect)
                    animated.append(spinner)
                    if visible(spinner):
                        self._draw_spinner(frame, rect, now)
                label_color = (
                    t.caption if state is not ButtonState.UNAVAILABLE else (*t.caption[:3], 140)
                )
                label = self._text(labels[name], self._font("label"), label_color)
                frame.blit(
                    label, label.get_rect(midtop=(button.center[0], rect.bottom + self.px(11)))
                )

            if clip is None:
                middle, ripple = self._draw_middle(frame, view, now)
                animated += ripple
            else:  # the same view: the same places as in the last full frame
                middle, animated = last.middle, last.animated
                if middle is not None and visible(middle):
                    self._draw_middle(frame, view, now)
            if volume is not None:  # over the avatar, also where a repaint clipped it
                volumebar.draw(
                    frame,
                    self.avatar_area,
                    volume,
                    self._font("label"),
                    self.px,
                    self.words["volume"],
                )
        finally:
            if clip is not None:
                frame.set_clip(None)
        self._painted = tracking.Painted(
            frame,
            view,
            now,
            avatar,
            avatar_rect,
            buttons,
            animated,
            middle,
            self.captions,
            self.caption_rect,
        )
        self._painted_volume = volume

    # --- the setup screen --------------------------------------------------------------------

    def setup_reason(self, view: View) -> str | None:
        """What is missing when ``view`` must be the setup screen, else None (see
        :meth:`SetupScreen.reason <appliance.display.setupscreen.SetupScreen.reason>`)."""
        return self.setup.reason(view)

    def setup_key(self, view: View) -> tuple | None:
        """What the setup screen shows for ``view`` (None: not shown); a frame is drawn again
        when it changes (an address came up, the key file was filled in)."""
        return self.setup.key(view)

    @property
    def setup_blocks(self) -> list[tuple[str, pygame.Rect]]:
        """The setup screen's lines of text and where they were drawn (for tests)."""
        return self.setup.blocks

    def setup_lines(self) -> list[str]:
        """The setup screen's text, line by line."""
        return self.setup.lines()

    # --- drawing helpers -----------------------------------------------------------------------

    def _draw_status(self, frame: pygame.Surface, view: View, visible=lambda rect: True) -> None:
        t = self.theme
        font = self._font("caption")
        text = self._text(self.status_text(view), font, t.caption)
        dot_r = max(3, round(font.get_height() * 0.22))
        gap = self.px(8)
        width = 2 * dot_r + gap + text.get_width()
        x = self.caption_center[0] - width // 2
        y = self.caption_center[1]
        dot = pygame.Rect(0, 0, 2 * dot_r, 2 * dot_r)
        dot.center = (x + dot_r, y)
        text_rect = text.get_rect(midleft=(x + 2 * dot_r + gap, y))
        if not visible(dot.union(text_rect)):
            return
        color = t.state_colors.get(STATUS_COLOR.get(view.state, "idle"), t.caption)
        _aa_circle(frame, (x + dot_r, y), dot_r, color)
        frame.blit(text, text_rect)

    def caption_lines(self) -> tuple[tuple[Role, str], ...]:
        """The captions' lines as shown: word-wrapped, the last ``display.caption_lines``
        that fit, each with its speaker's role."""
        cached, lines = self._caption_layout
        if cached != self.captions:
            font = self._font(self.config.display.caption_size)
            width = self.caption_rect.width - 2 * self.px(CAPTION_PADDING)
            lines = caption_lines(self.captions, width, measure(font), self.caption_fit)
            self._caption_layout = (self.captions, lines)
        return lines

    def _draw_captions(self, frame: pygame.Surface) -> None:
        """The captions' lines at the bottom of their box, centred, on a backdrop of the
        background colour (they may lie over the avatar): the visitor's words in the
        listening colour, the assistant's in the text colour."""
        lines = self.caption_lines()
        if not lines:
            return
        box = self.caption_rect
        key = (lines, box.size)
        if self._caption_block is None or self._caption_block[0] != key:
            self._caption_block = (key, self._caption_surface(lines, box.width))
        block = self._caption_block[1]
        frame.blit(block, block.get_rect(midbottom=box.midbottom))

    def _caption_surface(
        self, lines: tuple[tuple[Role, str], ...], max_width: int
    ) -> pygame.Surface:
        """The captions' lines drawn once on their translucent backdrop: while the avatar
        moves under them, each frame blits this one surface (drawing the backdrop and the
        lines again every frame cost a few % of a core while the model spoke)."""
        t = self.theme
        font = self._font(self.config.display.caption_size)
        line_h, pad = font.get_linesize(), self.px(CAPTION_PADDING)
        surfaces = [
            self._text(text, font, t.state_colors["listening"] if role == "user" else t.text)
            for role, text in lines
        ]
        height = len(surfaces) * line_h + 2 * pad
        widest = max(s.get_width() for s in surfaces) + 4 * pad
        block = pygame.Surface((min(max_width, widest), height), pygame.SRCALPHA, 32)
        backdrop = (*t.background[:3], CAPTION_BACKDROP_ALPHA)
        pygame.draw.rect(block, backdrop, block.get_rect(), border_radius=self.px(6))
        y = pad
        for surface in surfaces:
            block.blit(surface, surface.get_rect(midtop=(block.get_width() // 2, y)))
            y += line_h
        return block

    def _spinner_rect(self, rect: pygame.Rect) -> pygame.Rect:
        """Where :meth:`_draw_spinner` draws around a button drawn at ``rect``."""
        thick = max(2, self.px(3))
        radius = max(rect.width, rect.height) // 2 + self.px(5)
        side = 2 * (radius + thick)
        spinner = pygame.Rect(0, 0, side, side)
        spinner.center = rect.center
        return spinner

    def _draw_spinner(self, frame: pygame.Surface, rect: pygame.Rect, now: float) -> None:
        """A turning arc around the loading toggle."""
        ss = 3  # drawn 3x larger, then smoothly scaled down: anti-aliased
        thick = max(2, self.px(3))
        radius = max(rect.width, rect.height) // 2 + self.px(5)
        side = 2 * (radius + thick)
        layer = pygame.Surface((side * ss, side * ss), pygame.SRCALPHA, 32)
        color = self.theme.state_colors["connecting"]
        start = now * 2 * math.pi * 0.8
        steps = 48
        for i in range(steps + 1):
            angle = start + 1.7 * i / steps
            x = side / 2 + radius * math.cos(angle)
            y = side / 2 + radius * math.sin(angle)
            pygame.draw.circle(layer, color, (round(x * ss), round(y * ss)), thick * ss // 2)
        layer = pygame.transform.smoothscale(layer, (side, side))
        frame.blit(layer, layer.get_rect(center=rect.center))

    def _draw_ripple(
        self, frame: pygame.Surface, center: tuple[int, int], now: float
    ) -> pygame.Rect:
        """Deep Chat's ``lds-ripple``: two rings growing and fading, half a period apart.
        Returns where they are drawn."""
        color = self.loading_style.color or self.theme.text
        max_r = self.px(36)
        where = pygame.Rect(0, 0, 2 * max_r + 8, 2 * max_r + 8)
        where.center = center
        for offset in (0.0, 0.5):
            phase = (now + offset) % 1.0
            eased = 1 - (1 - phase) ** 3
            radius = max(1, round(self.px(4) + eased * (max_r - self.px(4))))
            alpha = round(255 * (1 - phase))
            layer = pygame.Surface((2 * max_r + 8, 2 * max_r + 8), pygame.SRCALPHA, 32)
            pygame.draw.circle(
                layer, (*color[:3], alpha), (max_r + 4, max_r + 4), radius, max(2, self.px(3))
            )
            frame.blit(layer, layer.get_rect(center=center))
        return where

    def _draw_middle(
        self, frame: pygame.Surface, view: View, now: float
    ) -> tuple[pygame.Rect | None, list[pygame.Rect]]:
        """Loading or error text, the cause, the idle stop's countdown and the notice, between
        the two buttons. Returns what it covered (None: nothing) and where the ripple is (it
        moves with ``now``)."""
        t = self.theme
        box = self.middle
        measure_width = box.width
        blocks: list[pygame.Surface] = []
        style: Style = EMPTY
        ripple = False
        rt = self.config.realtime
        if view.error_visible:
            style = self.error_style
            font = self._font(self._size(style, "error"), bool(style.bold))
            color = style.color or t.error
            for line in wrap(self.error_title, measure_width, measure(font), 2):
                blocks.append(self._text(line, font, color))
            if view.error_cause:
                small = self._font("detail")
                cause = " ".join(self.cause_text(view.error_cause).split())
                for line in wrap(cause, measure_width, measure(small), 4):
                    blocks.append(self._text(line, small, t.text))
        elif view.loading_visible and rt.loading.display:
            style = self.loading_style
            color = style.color or t.text
            size = self._size(style, "loading")
            if any(self.loading_lines):
                for line in self.loading_lines[:4]:
                    blocks.append(self._runs(line, size, bool(style.bold), color, measure_width))
            else:
                ripple = True
        elif view.countdown_s is not None and view.phase is Phase.LIVE:
            # in the notice colour: the words and the seconds left (the label's {seconds})
            font = self._font("loading")
            text = self.words.text("countdown", seconds=view.countdown_s)
            for line in wrap(text, measure_width, measure(font), 3):
                blocks.append(self._text(line, font, t.notice))
        if view.notice and (view.phase.value != "idle"):
            small = self._font("detail")
            notice = " ".join(self.cause_text(view.notice).split())
            for line in wrap(notice, measure_width, measure(small), 2):
                blocks.append(self._text(line, small, t.notice))

        if not blocks and not ripple:
            return None, []
        gap = self.px(3)
        ripple_h = 2 * self.px(36) if ripple else 0
        total = sum(b.get_height() for b in blocks) + gap * max(0, len(blocks) - 1) + ripple_h
        cx = box.centerx if style.left is None else style.left.resolve(box.width, self.ui)
        if style.top is not None:
            top = self.buttons_rect.top + style.top.resolve(self.buttons_rect.height, self.ui)
            top -= total // 2  # Deep Chat centres the element on its top/left point
        else:
            top = self.row_center[1] - total // 2
        top = int(max(self.buttons_rect.top, min(top, self.size[1] - total)))
        cx = int(cx)
        covered: list[pygame.Rect] = []
        ripples: list[pygame.Rect] = []
        if style.background:
            width = max([b.get_width() for b in blocks] + [ripple_h]) + self.px(16)
            pad = pygame.Rect(0, 0, width, total + self.px(8))
            pad.midtop = (cx, top - self.px(4))
            fill(frame, pad, style.background, radius=self.px(6))
            covered.append(pad)
        if ripple:
            ripples.append(self._draw_ripple(frame, (cx, top + ripple_h // 2), now))
            top += ripple_h + gap
        for block in blocks:
            covered.append(block.get_rect(midtop=(cx, top)))
            frame.blit(block, covered[-1])
            top += block.get_height() + gap
        covered += ripples
        return covered[0].unionall(covered[1:]), ripples

    def _size(self, style: Style, role: str) -> float:
        if style.font_size is not None:
            return style.font_size.resolve(self.theme.font_sizes[role], 1)
        return self.theme.font_sizes[role]

    def _runs(self, line: Line, size: float, bold: bool, color: RGBA, width: int) -> pygame.Surface:
        """One html line (runs of normal and bold text) as a surface, cut to ``width``."""
        parts = [self._text(text, self._font(size, bold or b), color) for text, b in line]
        if not parts:
            return pygame.Surface((1, self._font(size).get_linesize()), pygame.SRCALPHA, 32)
        w = sum(p.get_width() for p in parts)
        h = max(p.get_height() for p in parts)
        out = pygame.Surface((min(w, width), h), pygame.SRCALPHA, 32)
        x = max(0, (min(w, width) - w) // 2) if w <= width else 0
        for part in parts:
            out.blit(part, (x, h - part.get_height()))
            x += part.get_width()
        return out


def _aa_circle(frame: pygame.Surface, center: tuple[int, int], radius: int, color: RGBA) -> None:
    dot = images.rounded_box(2 * radius, 2 * radius, radius, color)
    frame.blit(dot, dot.get_rect(center=center))
