"""The default avatar: a neutral person silhouette, drawn with numpy (no image files needed).

``assets/avatar.png`` is this drawing saved at 512 px (``python -m appliance.display.art``); the
screen draws it directly when the asset is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

TOP = (232, 238, 245)  # background gradient, top
BOTTOM = (196, 208, 222)  # background gradient, bottom
FIGURE = (122, 138, 158)  # the silhouette
SHADE = (108, 124, 145)  # lower part of the shoulders


def _coverage(distance: np.ndarray, pixel: float) -> np.ndarray:
    """Anti-aliased coverage (0..1) from a signed distance (negative inside)."""
    return np.clip(0.5 - distance / pixel, 0.0, 1.0)


def _smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Union of two distance fields with a rounded join of radius ``k``."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def avatar_rgba(size: int = 512) -> np.ndarray:
    """The default avatar as a ``(size, size, 4)`` uint8 RGBA array (opaque, square)."""
    coords = (np.arange(size, dtype=np.float64) + 0.5) / size
    y, x = np.meshgrid(coords, coords, indexing="ij")
    pixel = 1.0 / size

    t = y[..., None]
    img = np.array(TOP, dtype=np.float64) * (1 - t) + np.array(BOTTOM, dtype=np.float64) * t

    head = np.hypot(x - 0.5, y - 0.39) - 0.165
    # Shoulders: the top of an ellipse, cut off by the bottom edge.
    ex, ey = (x - 0.5) / 0.39, (y - 1.04) / 0.42
    shoulders = (np.hypot(ex, ey) - 1.0) * 0.4
    neck = np.maximum(np.abs(x - 0.5) - 0.085, np.abs(y - 0.6) - 0.06)
    figure = _smooth_union(_smooth_union(head, neck, 0.03), shoulders, 0.06)
    cover = _coverage(figure, pixel)[..., None]

    shade = np.clip((y - 0.7) / 0.3, 0.0, 1.0)[..., None]
    color = np.array(FIGURE, dtype=np.float64) * (1 - shade) + np.array(SHADE) * shade
    img = img * (1 - cover) + color * cover

    out = np.empty((size, size, 4), dtype=np.uint8)
    out[..., :3] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    out[..., 3] = 255
    return out


def main(argv: list[str]) -> int:
    """Write the default avatar PNG: ``python -m appliance.display.art assets/avatar.png``."""
    import os

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    path = Path(argv[0] if argv else "assets/avatar.png")
    rgba = avatar_rgba(512)
    surface = pygame.image.frombuffer(rgba.tobytes(), (512, 512), "RGBA")
    pygame.image.save(surface, str(path))
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
