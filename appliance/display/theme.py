"""The screen's default look, read from ``assets/theme.json`` (built-in values if it is missing).

Deep Chat's own CSS gives the defaults: light buttons (``rgb(227,227,227)``), a pink muted
microphone with a red icon, 70 px round buttons, a 110 px round avatar with a light border and
8 px padding. Text sizes are a little larger than Deep Chat's (15/17 px) for a 7-inch panel read
at arm's length. Every colour is dark on light with a contrast ratio of at least 7:1 for text.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.display.style import RGBA, Filter, StyleError, parse_color, parse_filter

log = logging.getLogger(__name__)

ASSETS_ENV = "APPLIANCE_ASSETS"

_BUILTIN: dict[str, Any] = {
    "background": "#ffffff",
    "text": "#1a1a1a",
    "caption": "#3d3d3d",
    "notice": "#8a4b00",
    "error": "#d50000",
    "listening": "#1b7f3b",
    "speaking": "#1f5fbf",
    "connecting": "#b26a00",
    "muted": "#d50000",
    "idle": "#6b6b6b",
    "avatarBorder": "rgb(215, 215, 215)",
    "avatarHeight": 110,
    "avatarPadding": 8,
    "button": {
        "default": "rgb(227, 227, 227)",
        "hover": "rgb(212, 212, 212)",
        "click": "rgb(197, 197, 197)",
    },
    "microphoneActive": {
        "default": "rgb(255, 231, 231)",
        "hover": "rgb(255, 222, 222)",
        "click": "rgb(255, 210, 210)",
    },
    "buttonSize": 70,
    "microphoneIconSize": 30,
    "toggleIconSize": 32,
    "toggleFilter": "brightness(0) saturate(100%) invert(22%) sepia(0%) saturate(4537%) "
    "hue-rotate(208deg) brightness(105%) contrast(91%)",
    "microphoneActiveFilter": "brightness(0) saturate(100%) invert(35%) sepia(60%) "
    "saturate(1360%) hue-rotate(325deg) brightness(95%) contrast(92%)",
    "fontSizes": {"caption": 17, "label": 14, "loading": 17, "error": 19, "detail": 14},
}


def assets_dir() -> Path | None:
    """Where the bundled assets live: ``$APPLIANCE_ASSETS``, else ``assets/`` next to the
    package (a source checkout), else ``<prefix>/share/appliance/assets``."""
    import sys

    candidates = []
    if os.environ.get(ASSETS_ENV):
        candidates.append(Path(os.environ[ASSETS_ENV]))
    candidates.append(Path(__file__).resolve().parents[2] / "assets")
    candidates.append(Path(sys.prefix) / "share" / "appliance" / "assets")
    for path in candidates:
        if (path / "theme.json").is_file() or (path / "icons").is_dir():
            return path
    return None


@dataclass(frozen=True)
class Theme:
    background: RGBA
    text: RGBA
    caption: RGBA
    notice: RGBA
    error: RGBA
    state_colors: dict[str, RGBA]
    avatar_border: RGBA
    avatar_height: float
    avatar_padding: float
    button: dict[str, RGBA]
    microphone_active: dict[str, RGBA]
    button_size: float
    microphone_icon_size: float
    toggle_icon_size: float
    toggle_filter: tuple[Filter, ...]
    microphone_active_filter: tuple[Filter, ...]
    font_sizes: dict[str, float] = field(default_factory=dict)


def _build(data: dict[str, Any]) -> Theme:
    def c(key: str) -> RGBA:
        return parse_color(data[key])

    def states(key: str) -> dict[str, RGBA]:
        return {name: parse_color(value) for name, value in data[key].items()}

    return Theme(
        background=c("background"),
        text=c("text"),
        caption=c("caption"),
        notice=c("notice"),
        error=c("error"),
        state_colors={
            k: c(k) for k in ("listening", "speaking", "connecting", "muted", "idle", "error")
        },
        avatar_border=c("avatarBorder"),
        avatar_height=float(data["avatarHeight"]),
        avatar_padding=float(data["avatarPadding"]),
        button=states("button"),
        microphone_active=states("microphoneActive"),
        button_size=float(data["buttonSize"]),
        microphone_icon_size=float(data["microphoneIconSize"]),
        toggle_icon_size=float(data["toggleIconSize"]),
        toggle_filter=parse_filter(data["toggleFilter"]),
        microphone_active_filter=parse_filter(data["microphoneActiveFilter"]),
        font_sizes={k: float(v) for k, v in data["fontSizes"].items()},
    )


def load_theme(path: Path | None = None) -> Theme:
    """The theme from ``path`` (default: ``assets/theme.json``) over the built-in values.

    A missing or broken file logs a warning and gives the built-in theme.
    """
    data = dict(_BUILTIN)
    if path is None:
        base = assets_dir()
        path = base / "theme.json" if base else None
    if path is not None:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError("expected an object")
            data.update({k: v for k, v in loaded.items() if k in _BUILTIN})
            return _build(data)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, StyleError) as exc:
            log.warning("theme %s unusable (%s); using the built-in theme", path, exc)
    return _build(dict(_BUILTIN))
