"""The screen's side of image sources: SVGs drawn at the size asked for whatever they declare,
avatars decoded and scaled down, the avatar loaded on a thread of its own while the screen
shows the default one, and button SVGs over the limits replaced by the built-in icons.

Real pygame on SDL's dummy driver, real files; frames are checked pixel by pixel.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import validate
from appliance.display import DisplayLoop, Screen, images
from appliance.hub import Hub
from appliance.imagesource import ImageRefused
from appliance.state import View

KEYED = {"provisioning": {"url": "https://keys.example.com/realtime"}}  # no setup screen


def solid(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> Path:
    surface = pygame.Surface(size)
    surface.fill(color)
    pygame.image.save(surface, str(path))
    return path


def bomb(path: Path) -> Path:
    """A PNG header declaring 20000x20000 pixels (never decoded)."""
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + crc)
    return path


def avatar_pixels(screen: Screen) -> np.ndarray:
    rect = screen.avatar_rect(1.0)
    frame = pygame.surfarray.array3d(screen.render(View(), 1.0)).astype(np.int32)
    return frame[rect.left : rect.right, rect.top : rect.bottom]


# --- SVG ---------------------------------------------------------------------------------------


def test_an_svg_is_drawn_at_the_size_asked_whatever_it_declares() -> None:
    """nanosvg draws at the last ``width`` it reads: every one of them is replaced."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" width="30000" '
        'height=\'30000\' viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'
    )
    assert images.svg_surface(svg, 48).get_size() == (48, 48)


def test_an_svg_hiding_a_second_svg_element_is_refused() -> None:
    svg = '<!-- <svg width="1" height="1"> --><svg width="30000" height="30000"></svg>'
    with pytest.raises(ImageRefused, match="2 <svg> elements"):
        images.svg_surface(svg, 48)


# --- decoding ----------------------------------------------------------------------------------


def test_a_large_image_is_scaled_down_once_decoded(tmp_path: Path) -> None:
    data = solid(tmp_path / "wide.png", (0, 200, 0), (3000, 1500)).read_bytes()
    surface = images.decode(data)
    assert surface.get_size() == (images.AVATAR_SIDE, images.AVATAR_SIDE // 2)
    red, green, blue = surface.get_at((10, 10))[:3]
    assert red <= 3 and abs(green - 200) <= 3 and blue <= 3


def test_a_refused_avatar_warns_once_and_gives_the_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        surface = images.load_avatar(str(bomb(tmp_path / "bomb.png")))
    (record,) = [r for r in caplog.records if "avatar.src" in r.getMessage()]
    assert "20000x20000" in record.getMessage() and "default avatar" in record.getMessage()
    default = images.default_avatar()
    assert surface.get_size() == default.get_size()
    assert pygame.image.tobytes(surface, "RGBA") == pygame.image.tobytes(default, "RGBA")


# --- the loader --------------------------------------------------------------------------------


def test_the_loader_hands_over_the_image_once(tmp_path: Path) -> None:
    woken: list[bool] = []
    face = solid(tmp_path / "face.png", (250, 0, 250))
    loader = images.AvatarLoader(str(face), lambda: woken.append(True))
    assert loader.done.wait(10)
    assert woken == [True]
    image = loader.take()
    assert image is not None and image.get_at((5, 5))[:3] == (250, 0, 250)
    assert loader.take() is None


def test_the_loader_gives_nothing_for_a_refused_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        loader = images.AvatarLoader(str(bomb(tmp_path / "bomb.png")))
        assert loader.done.wait(10)
    assert loader.take() is None
    assert sum("avatar.src" in r.getMessage() for r in caplog.records) == 1


def test_the_screen_shows_the_default_avatar_until_the_image_is_loaded(tmp_path: Path) -> None:
    face = solid(tmp_path / "face.png", (250, 0, 250))
    default = avatar_pixels(Screen(validate({"realtime": KEYED}), (800, 480)))
    hub = Hub()
    config = validate(
        {"realtime": {**KEYED, "avatar": {"src": str(face)}}, "display": {"mode": "none"}}
    )
    loop = DisplayLoop(hub, config)
    try:
        assert loop.avatar_loader is not None  # loading on its own thread
        first = avatar_pixels(loop.screen)
        assert loop.avatar_loader.done.wait(10)
        loop.step()  # takes the image over
        shown = avatar_pixels(loop.screen)
    finally:
        hub.stopping.set()
        loop.close()
    assert np.array_equal(first, default)
    assert (np.abs(shown - (250, 0, 250)).max(axis=2) <= 2).sum() > shown.size / 3 / 4


def test_a_resized_screen_keeps_the_loaded_avatar(tmp_path: Path) -> None:
    face = images.decode(solid(tmp_path / "face.png", (250, 0, 250)).read_bytes())
    screen = Screen(validate({"realtime": KEYED}), (800, 480), avatar=images.default_avatar())
    screen.set_avatar(face)
    again = Screen(screen.config, (1024, 600), avatar=screen.avatar_source)
    assert again.avatar_source is face


# --- button icons ------------------------------------------------------------------------------


def test_a_button_svg_over_the_limits_shows_the_built_in_icon(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heavy = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
        + '<rect width="24" height="24" fill="#ff0000"/>' * 5000
        + "</svg>"
    )
    buttons = {"microphone": {"default": {"svg": {"content": heavy}}}}
    with caplog.at_level(logging.WARNING):
        screen = Screen(validate({"realtime": {**KEYED, "buttons": buttons}}), (800, 480))
        frame = screen.render(View(), 1.0)
        screen.render(View(), 1.0)
    plain = Screen(validate({"realtime": KEYED}), (800, 480)).render(View(), 1.0)
    warnings = [r.getMessage() for r in caplog.records if "svg.content" in r.getMessage()]
    assert len(warnings) == 1
    assert "realtime.buttons.microphone.default.svg.content" in warnings[0]
    assert "5001 elements, over the limit of 4000" in warnings[0]
    assert pygame.image.tobytes(frame, "RGB") == pygame.image.tobytes(plain, "RGB")
