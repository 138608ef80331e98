"""The CSS subset the screen understands: Deep Chat's ``styles`` objects, resolved once.

Deep Chat styles its realtime view with plain CSS objects (``avatar.styles.image``,
``buttons.container``, a button state's ``container.default``, ``svg.styles.default``, the
loading and error ``style``). The screen honours this subset of them:

=================================== =============================================================
property                            values
=================================== =============================================================
``background``, ``backgroundColor`` a colour
``color``                           a colour (text)
``border``                          ``<width> <style> <colour>`` in any order, or ``none``
``borderColor``, ``borderWidth``    a colour, a length
``borderRadius``                    a length (``50%`` is round)
``padding``                         one to four lengths (CSS order: top right bottom left)
``width``, ``height``               a length: ``px``, ``%``, ``em``/``rem`` (16 px), or a number
``top``, ``left``                   a length: where the loading/error text sits in the buttons row
``fontSize``                        a length
``fontWeight``                      ``bold``, ``bolder``, ``normal`` or 100..900
``opacity``                         a number 0..1 or a percentage
``filter``                          ``brightness() contrast() saturate() grayscale() sepia()
                                    invert() hue-rotate() opacity()``, or ``none``
=================================== =============================================================

Colours are any CSS colour: the 148 names, ``transparent``, ``#rgb``, ``#rgba``, ``#rrggbb``,
``#rrggbbaa``, ``rgb()``/``rgba()`` and ``hsl()``/``hsla()`` (comma or space syntax, ``/ alpha``).
Keys may be camelCase (``backgroundColor``) or kebab-case (``background-color``).

Lengths are CSS pixels at the 800x480 reference size; the screen multiplies them by its UI scale
(``min(width / 800, height / 480)``), so a style looks the same on a 7-inch panel and on a TV.

Anything else is reported once per property name (a warning in the log) and ignored; a value
that cannot be parsed is reported and ignored. Nothing here raises on bad input.

This module is pure (numpy only, for :func:`apply_filters`).
"""

from __future__ import annotations

import colorsys
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from appliance.display.css_colors import CSS_COLORS

log = logging.getLogger(__name__)

RGBA = tuple[int, int, int, int]


class StyleError(ValueError):
    """A style value that cannot be used (the message says why)."""


# --- colours ---------------------------------------------------------------------------------

_HEX = re.compile(r"^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$")
_FUNC = re.compile(r"^(rgba?|hsla?)\((.*)\)$")


def parse_color(value: object) -> RGBA:
    """Parse any CSS colour into ``(r, g, b, a)`` with 0..255 channels.

    >>> parse_color("#f80")
    (255, 136, 0, 255)
    >>> parse_color("rgba(0, 0, 255, 0.5)")
    (0, 0, 255, 128)
    """
    if not isinstance(value, str):
        raise StyleError(f"expected a colour string, got {type(value).__name__}")
    text = value.strip().lower()
    if text == "transparent":
        return (0, 0, 0, 0)
    if text in CSS_COLORS:
        rgb = CSS_COLORS[text]
        return (rgb >> 16, (rgb >> 8) & 0xFF, rgb & 0xFF, 255)
    match = _HEX.match(text)
    if match:
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        if len(digits) == 6:
            digits += "ff"
        r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
        return (r, g, b, a)
    match = _FUNC.match(text)
    if match:
        kind, inner = match.groups()
        return _parse_function(kind, inner)
    raise StyleError(f"{value!r} is not a CSS colour")


def _split_args(inner: str) -> tuple[list[str], str | None]:
    alpha = None
    if "/" in inner:
        inner, alpha = inner.split("/", 1)
        alpha = alpha.strip()
    parts = [p for p in re.split(r"[,\s]+", inner.strip()) if p]
    if alpha is None and len(parts) == 4:
        alpha = parts.pop()
    return parts, alpha


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise StyleError(f"{text!r} is not a number") from None


def _channel(text: str) -> int:
    value = _number(text[:-1]) / 100 * 255 if text.endswith("%") else _number(text)
    return int(min(255.0, max(0.0, value)) + 0.5)


def _alpha(text: str | None) -> int:
    if text is None:
        return 255
    value = _number(text[:-1]) / 100 if text.endswith("%") else _number(text)
    return round(min(1.0, max(0.0, value)) * 255)


def _hue(text: str) -> float:
    for unit, factor in (("deg", 1.0), ("grad", 0.9), ("rad", 180 / math.pi), ("turn", 360.0)):
        if text.endswith(unit):
            return _number(text[: -len(unit)]) * factor
    return _number(text)


def _parse_function(kind: str, inner: str) -> RGBA:
    parts, alpha = _split_args(inner)
    if len(parts) != 3:
        raise StyleError(f"{kind}() needs three components, got {len(parts)}")
    if kind.startswith("rgb"):
        r, g, b = (_channel(p) for p in parts)
        return (r, g, b, _alpha(alpha))
    hue = (_hue(parts[0]) % 360) / 360
    sat, light = (min(1.0, max(0.0, _number(p.rstrip("%")) / 100)) for p in parts[1:])
    r, g, b = colorsys.hls_to_rgb(hue, light, sat)
    return (round(r * 255), round(g * 255), round(b * 255), _alpha(alpha))


# --- lengths ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Length:
    """A CSS length: ``unit`` is ``"px"`` or ``"%"``."""

    value: float
    unit: str = "px"

    def resolve(self, reference: float, ui: float = 1.0) -> float:
        """Pixels on screen: ``%`` of ``reference``, or CSS px times the UI scale."""
        if self.unit == "%":
            return self.value / 100 * reference
        return self.value * ui


_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|%|em|rem)?$")


def parse_length(value: object) -> Length:
    """Parse ``12``, ``"12px"``, ``"50%"``, ``"1.5em"`` (em/rem are 16 px)."""
    if isinstance(value, bool):
        raise StyleError("expected a length, got a boolean")
    if isinstance(value, int | float):
        return Length(float(value))
    if not isinstance(value, str):
        raise StyleError(f"expected a length, got {type(value).__name__}")
    match = _LENGTH.match(value.strip().lower())
    if not match:
        raise StyleError(f"{value!r} is not a length (use px, %, em or a number)")
    number, unit = float(match.group(1)), match.group(2) or "px"
    if unit in ("em", "rem"):
        return Length(number * 16)
    return Length(number, unit)


# --- filters ---------------------------------------------------------------------------------

Filter = tuple[str, float]

_FILTER_FN = re.compile(r"([a-z-]+)\(\s*([^)]*?)\s*\)")
_FILTERS = ("brightness", "contrast", "saturate", "grayscale", "sepia", "invert", "hue-rotate")


def parse_filter(value: object) -> tuple[Filter, ...]:
    """Parse a CSS ``filter`` chain, e.g. ``"brightness(0) invert(35%) hue-rotate(325deg)"``."""
    if not isinstance(value, str):
        raise StyleError("expected a filter string")
    text = value.strip().lower()
    if text in ("", "none"):
        return ()
    out: list[Filter] = []
    end = 0
    for match in _FILTER_FN.finditer(text):
        if text[end : match.start()].strip():
            raise StyleError(f"cannot read {text[end : match.start()].strip()!r} in the filter")
        end = match.end()
        name, arg = match.groups()
        if name not in (*_FILTERS, "opacity"):
            raise StyleError(f"{name}() is not supported (supported: {', '.join(_FILTERS)})")
        if name == "hue-rotate":
            amount = _hue(arg) if arg else 0.0
        elif not arg:
            amount = 0.0 if name in ("grayscale", "sepia", "invert") else 1.0
        else:
            amount = _number(arg[:-1]) / 100 if arg.endswith("%") else _number(arg)
        out.append((name, amount))
    if text[end:].strip():
        raise StyleError(f"cannot read {text[end:].strip()!r} in the filter")
    return tuple(out)


def _matrix(name: str, amount: float) -> np.ndarray:
    """The 3x3 colour matrix of the Filter Effects spec for the matrix filters."""
    if name == "hue-rotate":
        c, s = math.cos(math.radians(amount)), math.sin(math.radians(amount))
        base = np.array([[0.213, 0.715, 0.072]] * 3)
        cos = np.array([[0.787, -0.715, -0.072], [-0.213, 0.285, -0.072], [-0.213, -0.715, 0.928]])
        sin = np.array([[-0.213, -0.715, 0.928], [0.143, 0.140, -0.283], [-0.787, 0.715, 0.072]])
        return base + c * cos + s * sin
    if name == "saturate":
        s = max(0.0, amount)
        return np.array(
            [
                [0.213 + 0.787 * s, 0.715 - 0.715 * s, 0.072 - 0.072 * s],
                [0.213 - 0.213 * s, 0.715 + 0.285 * s, 0.072 - 0.072 * s],
                [0.213 - 0.213 * s, 0.715 - 0.715 * s, 0.072 + 0.928 * s],
            ]
        )
    s = 1.0 - min(1.0, max(0.0, amount))
    if name == "grayscale":
        return np.array(
            [
                [0.2126 + 0.7874 * s, 0.7152 - 0.7152 * s, 0.0722 - 0.0722 * s],
                [0.2126 - 0.2126 * s, 0.7152 + 0.2848 * s, 0.0722 - 0.0722 * s],
                [0.2126 - 0.2126 * s, 0.7152 - 0.7152 * s, 0.0722 + 0.9278 * s],
            ]
        )
    # sepia
    return np.array(
        [
            [0.393 + 0.607 * s, 0.769 - 0.769 * s, 0.189 - 0.189 * s],
            [0.349 - 0.349 * s, 0.686 + 0.314 * s, 0.168 - 0.168 * s],
            [0.272 - 0.272 * s, 0.534 - 0.534 * s, 0.131 + 0.869 * s],
        ]
    )


def apply_filters(rgb: np.ndarray, alpha: np.ndarray, filters: tuple[Filter, ...]) -> None:
    """Apply a filter chain in place: ``rgb`` is (..., 3) and ``alpha`` (...) floats in 0..1.

    Each step is clamped to 0..1, as the browser does between filter primitives.
    """
    for name, amount in filters:
        if name == "brightness":
            rgb *= max(0.0, amount)
        elif name == "contrast":
            rgb *= max(0.0, amount)
            rgb += 0.5 - 0.5 * max(0.0, amount)
        elif name == "invert":
            a = min(1.0, max(0.0, amount))
            rgb *= 1.0 - 2.0 * a
            rgb += a
        elif name == "opacity":
            alpha *= min(1.0, max(0.0, amount))
        else:
            rgb[...] = rgb @ _matrix(name, amount).T
        np.clip(rgb, 0.0, 1.0, out=rgb)


def filter_color(color: RGBA, filters: tuple[Filter, ...]) -> RGBA:
    """One colour through a filter chain (used for flat shapes and tests)."""
    rgb = np.array([color[:3]], dtype=np.float64) / 255
    alpha = np.array([color[3] / 255])
    apply_filters(rgb, alpha, filters)
    r, g, b = (round(float(v) * 255) for v in rgb[0])
    return (r, g, b, round(float(alpha[0]) * 255))


# --- resolved style --------------------------------------------------------------------------


@dataclass(frozen=True)
class Border:
    width: Length = Length(0)
    color: RGBA | None = None


@dataclass(frozen=True)
class Style:
    """A resolved style: every field is ``None`` when the style does not set it."""

    background: RGBA | None = None
    color: RGBA | None = None
    border_width: Length | None = None
    border_color: RGBA | None = None
    border_radius: Length | None = None
    padding: tuple[Length, Length, Length, Length] | None = None
    width: Length | None = None
    height: Length | None = None
    top: Length | None = None
    left: Length | None = None
    font_size: Length | None = None
    bold: bool | None = None
    opacity: float | None = None
    filters: tuple[Filter, ...] | None = None
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def over(self, base: Style) -> Style:
        """This style on top of ``base`` (fields set here win)."""
        changes = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "source" and getattr(self, f.name) is not None
        }
        return replace(base, **changes)


EMPTY = Style()


def camel(name: str) -> str:
    """``background-color`` -> ``backgroundColor`` (camelCase stays as it is)."""
    head, *rest = name.strip().split("-")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class Warnings:
    """Logs each unknown property name once, and each bad value once."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log
        self.seen: set[str] = set()
        self.messages: list[str] = []

    def warn(self, key: str, message: str) -> None:
        if key in self.seen:
            return
        self.seen.add(key)
        self.messages.append(message)
        self.log.warning("%s", message)


_BORDER_STYLES = {"solid", "dashed", "dotted", "double", "groove", "ridge", "inset", "outset"}


def _parse_border(value: object) -> tuple[Length, RGBA | None]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_length(value), None
    if not isinstance(value, str):
        raise StyleError("expected e.g. '1px solid #ccc'")
    width, color = Length(3), None  # CSS's "medium" border
    tokens = re.findall(r"\w+\([^)]*\)|\S+", value.strip().lower())
    if tokens in (["none"], ["hidden"], ["0"]):
        return Length(0), None
    seen_style = False
    for token in tokens:
        if token in _BORDER_STYLES:
            seen_style = True
        elif token in ("none", "hidden"):
            return Length(0), None
        elif token in ("thin", "medium", "thick"):
            width = Length({"thin": 1, "medium": 3, "thick": 5}[token])
        elif _LENGTH.match(token):
            width = parse_length(token)
        else:
            color = parse_color(token)
    if not seen_style:  # CSS draws no border without a style
        return Length(0), None
    return width, color


def _parse_padding(value: object) -> tuple[Length, Length, Length, Length]:
    items = value.split() if isinstance(value, str) else [value]
    lengths = [parse_length(v) for v in items]
    if not 1 <= len(lengths) <= 4:
        raise StyleError("padding takes one to four lengths")
    top = lengths[0]
    right = lengths[1] if len(lengths) > 1 else top
    bottom = lengths[2] if len(lengths) > 2 else top
    left = lengths[3] if len(lengths) > 3 else right
    return (top, right, bottom, left)


def _parse_weight(value: object) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value >= 600
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("bold", "bolder"):
            return True
        if text in ("normal", "lighter"):
            return False
        if text.isdigit():
            return int(text) >= 600
    raise StyleError(f"{value!r} is not a font weight")


def _parse_opacity(value: object) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        number = _number(value.strip()[:-1]) / 100
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        number = _number(str(value))
    else:
        raise StyleError("expected a number 0..1")
    return min(1.0, max(0.0, number))


def resolve(style: Mapping[str, Any] | None, where: str, warnings: Warnings) -> Style:
    """Resolve a CSS-like mapping into a :class:`Style`, warning about what is ignored.

    ``where`` names the option in messages (e.g. ``realtime.avatar.styles.image``).
    """
    if not style:
        return EMPTY
    if not isinstance(style, Mapping):
        warnings.warn(f"{where}:type", f"{where}: expected an object of CSS properties; ignored")
        return EMPTY
    out: dict[str, Any] = {}
    for raw_key, value in style.items():
        key = camel(str(raw_key))
        try:
            match key:
                case "background" | "backgroundColor":
                    out["background"] = parse_color(value)
                case "color":
                    out["color"] = parse_color(value)
                case "border":
                    out["border_width"], color = _parse_border(value)
                    if color is not None:
                        out["border_color"] = color
                case "borderColor":
                    out["border_color"] = parse_color(value)
                case "borderWidth":
                    out["border_width"] = parse_length(value)
                case "borderRadius":
                    out["border_radius"] = parse_length(
                        value.split()[0] if isinstance(value, str) and value.split() else value
                    )
                case "padding":
                    out["padding"] = _parse_padding(value)
                case "width" | "height" | "top" | "left":
                    out[key] = parse_length(value)
                case "fontSize":
                    out["font_size"] = parse_length(value)
                case "fontWeight":
                    out["bold"] = _parse_weight(value)
                case "opacity":
                    out["opacity"] = _parse_opacity(value)
                case "filter":
                    out["filters"] = parse_filter(value)
                case _:
                    warnings.warn(
                        f"unknown:{key}",
                        f"style property {key!r} is not supported on this screen; ignored "
                        f"(first seen in {where})",
                    )
        except StyleError as exc:
            warnings.warn(
                f"bad:{where}:{key}:{value!r}", f"{where}.{key}: {exc}; ignored this property"
            )
    return Style(**out, source=dict(style))
