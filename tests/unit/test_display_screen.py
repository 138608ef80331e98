"""What the screen shows, state by state: real pygame rendering, checked pixel by pixel.

Each test writes its frames to tests/artifacts/screens/ for people to look at.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import AppConfig, from_deepchat, validate
from appliance.display.screen import Screen
from appliance.rig.httpserver import LocalHTTPServer
from appliance.state import Phase, View

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"

IDLE = View()
CONNECTING = View(phase=Phase.CONNECTING)
RECONNECTING = View(phase=Phase.CONNECTING, reconnect_attempt=2, notice="connection lost")
LISTENING = View(phase=Phase.LIVE)
MUTED = View(phase=Phase.LIVE, muted=True)
SPEAKING = View(phase=Phase.LIVE, speaking=True)
CAUSE = (
    "Could not reach api.openai.com: name resolution failed. Check the network cable or the "
    "Wi-Fi settings, then press the button to try again."
)
ERROR = View(phase=Phase.ERROR, error_cause=CAUSE)


def save(frame: pygame.Surface, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    pygame.image.save(frame, str(path))
    return path


def pixels(frame: pygame.Surface, rect: pygame.Rect | None = None) -> np.ndarray:
    """RGB array (x, y, 3) of ``rect`` of ``frame``."""
    array = pygame.surfarray.array3d(frame).astype(np.int32)
    if rect is not None:
        array = array[rect.left : rect.right, rect.top : rect.bottom]
    return array


def button_rect(screen: Screen, name: str) -> pygame.Rect:
    size = screen.px(screen.theme.button_size)
    rect = pygame.Rect(0, 0, size, size)
    rect.center = screen.buttons[name].center  # type: ignore[index]
    return rect


def dark_mask(area: np.ndarray, limit: int = 110) -> np.ndarray:
    return area.max(axis=2) < limit


def fill_ratio(mask: np.ndarray) -> float:
    """How much of its bounding box a shape fills: ~1 for a square, ~0.5 for a triangle."""
    xs, ys = np.nonzero(mask)
    assert len(xs) > 20, "no icon drawn"
    box = (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)
    return len(xs) / box


# A key source is configured: without one the idle screen is the setup screen (see
# test_display_hardening.py).
KEYED = validate({"realtime": {"provisioning": {"url": "https://keys.example.com/realtime"}}})


@pytest.fixture(scope="module")
def screen() -> Screen:
    return Screen(KEYED, (800, 480))


def test_idle(screen: Screen) -> None:
    frame = screen.render(IDLE, 1.0)
    save(frame, "idle_800x480")
    toggle = pixels(frame, button_rect(screen, "toggle"))
    assert fill_ratio(dark_mask(toggle)) < 0.7  # play triangle
    mic = pixels(frame, button_rect(screen, "microphone"))
    assert dark_mask(mic).sum() > 50  # microphone icon
    # Deep Chat's default button grey around the icon
    assert (np.abs(mic - np.array([227, 227, 227])).max(axis=2) <= 2).sum() > 500
    assert screen.status_text(IDLE).startswith("Ready")


def test_live_shows_stop(screen: Screen) -> None:
    frame = screen.render(LISTENING, 1.0)
    save(frame, "listening_800x480")
    toggle = pixels(frame, button_rect(screen, "toggle"))
    assert fill_ratio(dark_mask(toggle)) > 0.85  # stop square
    assert screen.status_text(LISTENING) == "Listening"


def test_play_and_stop_differ_where_expected(screen: Screen) -> None:
    rect = button_rect(screen, "toggle")
    play = pixels(screen.render(IDLE, 1.0), rect)
    stop = pixels(screen.render(LISTENING, 1.0), rect)
    assert np.abs(play - stop).max() > 100
    # the square's top-left corner is dark only in the stop icon
    corner = (rect.width // 2 + screen.px(7), rect.height // 2 - screen.px(7))
    assert stop[corner].max() < 110 and play[corner].min() > 150


def test_muted_is_pink_with_red_icon(screen: Screen) -> None:
    frame = screen.render(MUTED, 1.0)
    save(frame, "muted_800x480")
    mic = pixels(frame, button_rect(screen, "microphone"))
    pink = (np.abs(mic - np.array([255, 231, 231])).max(axis=2) <= 2).sum()
    red = ((mic[..., 0] > 150) & (mic[..., 1] < 110) & (mic[..., 2] < 110)).sum()
    assert pink > 500
    assert red > 30
    listening = pixels(screen.render(LISTENING, 1.0), button_rect(screen, "microphone"))
    assert ((listening[..., 0] > 150) & (listening[..., 1] < 110)).sum() == 0


def test_loading(screen: Screen) -> None:
    frame = screen.render(CONNECTING, 1.0, now=0.25)
    save(frame, "connecting_800x480")
    middle = pixels(frame, screen.middle)
    assert dark_mask(middle).sum() > 40  # "Loading"
    mic = pixels(frame, button_rect(screen, "microphone"))
    # unavailable: opacity 0.45 over white lightens Deep Chat's grey from 227 to ~245
    assert (np.abs(mic - 245).max(axis=2) <= 3).sum() > 500
    toggle = pixels(frame, button_rect(screen, "toggle"))
    # loading: opacity 0.7 -> 227 becomes ~235
    assert (np.abs(toggle - 235).max(axis=2) <= 3).sum() > 500
    assert screen.hit_test(screen.buttons["microphone"].center) is None
    assert screen.hit_test(screen.buttons["toggle"].center) == "toggle"  # cancel


def test_loading_spinner_moves(screen: Screen) -> None:
    a = pixels(screen.render(CONNECTING, 1.0, now=0.0)).copy()
    b = pixels(screen.render(CONNECTING, 1.0, now=0.3))
    assert np.abs(a - b).max() > 50


def test_reconnecting_shows_attempt_and_notice(screen: Screen) -> None:
    frame = screen.render(RECONNECTING, 1.0)
    save(frame, "reconnecting_800x480")
    assert "attempt 2" in screen.status_text(RECONNECTING)
    middle = pixels(frame, screen.middle)
    notice = np.array(screen.theme.notice[:3])
    assert (np.abs(middle - notice).max(axis=2) <= 40).sum() > 10


def test_the_idle_stop_countdown_is_shown_between_the_buttons(screen: Screen) -> None:
    quiet = pixels(screen.render(LISTENING, 1.0), screen.middle).copy()
    assert not dark_mask(quiet).any()  # listening: nothing between the buttons
    frame = screen.render(replace(LISTENING, countdown_s=7), 1.0)
    save(frame, "countdown_800x480")
    seven = pixels(frame, screen.middle).copy()
    notice = np.array(screen.theme.notice[:3])
    assert (np.abs(seven - notice).max(axis=2) <= 40).sum() > 200  # the words and seconds
    assert screen.middle_lines(replace(LISTENING, countdown_s=7)) == [
        "Still there? Speak or press (7)"
    ]
    three = pixels(screen.render(replace(LISTENING, countdown_s=3), 1.0), screen.middle)
    assert np.abs(seven - three).max() > 100  # the number counts down
    assert screen.status_text(replace(LISTENING, countdown_s=7)) == "Listening"


def test_speaking_avatar_grows_with_scale(screen: Screen) -> None:
    def diameter(scale: float) -> int:
        frame = screen.render(SPEAKING, scale)
        save(frame, f"speaking_scale{scale:g}_800x480")
        row = pixels(frame)[:, screen.avatar_area.centery]
        drawn = np.nonzero(np.abs(row - 255).max(axis=1) > 8)[0]
        drawn = drawn[(drawn > 0) & (drawn < screen.size[0] - 1)]
        return int(drawn.max() - drawn.min() + 1)

    d1, d15, dmax = diameter(1.0), diameter(1.5), diameter(2.5)
    assert d1 == 128  # Deep Chat's resting size (110 px, 8 px padding, 1 px border)
    assert d15 / d1 == pytest.approx(1.5, abs=0.03)
    # 2.5 x 128 px does not fit 480 lines: it grows to its area's edge and stops there
    assert diameter(2.0) == dmax == diameter(9.0)  # clamped (maxScale, then the area)
    assert dmax == pytest.approx(screen.avatar_area.height, abs=2)
    rect = screen.avatar_rect(2.5)
    assert screen.avatar_area.contains(rect)  # never clipped


def test_error_with_cause(screen: Screen) -> None:
    frame = screen.render(ERROR, 1.0)
    save(frame, "error_800x480")
    middle = pixels(frame, screen.middle)
    red = ((middle[..., 0] > 180) & (middle[..., 1] < 80) & (middle[..., 2] < 80)).sum()
    assert red > 40
    without = pixels(screen.render(View(phase=Phase.ERROR), 1.0), screen.middle)
    cause_pixels = dark_mask(middle) & ~dark_mask(without)
    assert cause_pixels.sum() > 300  # the cause's lines
    assert screen.status_text(ERROR) == "Error — press to retry"
    assert screen.hit_test(screen.buttons["toggle"].center) == "toggle"


def test_long_cause_is_wrapped_inside_the_middle(screen: Screen) -> None:
    view = View(phase=Phase.ERROR, error_cause="word " * 200)
    frame = screen.render(view, 1.0)
    save(frame, "error_long_cause_800x480")
    full = pixels(frame)
    outside = np.ones(screen.size, dtype=bool)
    outside[screen.middle.left : screen.middle.right, :] = False
    # no cause text leaks into the button columns (only the buttons and captions are there)
    blank = pixels(screen.render(View(phase=Phase.ERROR), 1.0))
    assert (np.abs(full - blank).max(axis=2)[outside] > 0).sum() == 0


def test_hit_test(screen: Screen) -> None:
    screen.render(LISTENING, 1.0)
    mic, toggle = screen.buttons["microphone"].center, screen.buttons["toggle"].center
    assert screen.hit_test(mic) == "microphone"
    assert screen.hit_test(toggle) == "toggle"
    assert screen.hit_test((toggle[0] + screen.px(44), toggle[1])) == "toggle"  # >= 64 px area
    assert screen.hit_test((400, 100)) is None
    assert screen.buttons["toggle"].hit.width >= 64 and screen.buttons["toggle"].hit.height >= 64


def test_tv_size() -> None:
    screen = Screen(KEYED, (1920, 1080))
    frame = screen.render(SPEAKING, 1.8)
    save(frame, "speaking_1920x1080")
    assert frame.get_size() == (1920, 1080)
    assert screen.buttons_rect.top == int(1080 * 0.6)
    assert button_rect(screen, "toggle").width >= 150
    toggle = pixels(frame, button_rect(screen, "toggle"))
    assert fill_ratio(dark_mask(toggle)) > 0.85
    assert screen.avatar_area.contains(screen.avatar_rect(screen.max_scale))
    for view, name in ((IDLE, "idle"), (MUTED, "muted"), (ERROR, "error")):
        save(screen.render(view, 1.0, now=0.2), f"{name}_1920x1080")


# --- custom styles from a Deep Chat JSON -----------------------------------------------------

GREEN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="800px" height="800px" viewBox="0 0 24 24">'
    '<circle cx="12" cy="12" r="10" fill="#00aa00"/></svg>'
)


def _png(path: Path, color: tuple[int, int, int]) -> Path:
    surface = pygame.Surface((64, 64))
    surface.fill(color)
    pygame.image.save(surface, str(path))
    return path


def _deepchat(src: str, **extra: object) -> AppConfig:
    realtime = {
        "avatar": {
            "src": src,
            "maxScale": 3.5,
            "styles": {"image": {"padding": "5px"}, "container": {"height": "55%"}},
        },
        "buttons": {
            "container": {"backgroundColor": "#f7f7f7"},
            "microphone": {"default": {"svg": {"content": GREEN_SVG}}},
            "toggle": {
                "default": {
                    "text": {"content": "GO", "styles": {"default": {"color": "#0000ff"}}},
                    "container": {"default": {"backgroundColor": "rgb(255, 255, 160)"}},
                },
                "active": {"text": {"content": "END"}},
            },
        },
        "loading": {"text": "Please wait", "style": {"color": "orange", "fontSize": "22px"}},
        "error": {"text": "Custom Error!", "style": {"color": "rgb(0, 128, 255)"}},
        **extra,
    }
    data = {"directConnection": {"openAI": {"key": "placeholder key", "realtime": realtime}}}
    return validate(from_deepchat(json.loads(json.dumps(data))))


def count(area: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> int:
    return int((np.abs(area - np.array(rgb)).max(axis=2) <= tol).sum())


def test_custom_styles_are_visible(tmp_path: Path) -> None:
    config = _deepchat(str(_png(tmp_path / "face.png", (200, 0, 200))))
    screen = Screen(config, (800, 480))
    assert screen.max_scale == 3.5
    assert screen.buttons_rect.top == int(480 * 0.55)

    idle = screen.render(IDLE, 3.5)
    save(idle, "custom_idle_800x480")
    assert count(pixels(idle, screen.avatar_rect(3.5)), (200, 0, 200)) > 2000  # avatar src
    assert screen.avatar_area.contains(screen.avatar_rect(3.5))
    assert count(pixels(idle, button_rect(screen, "microphone")), (0, 170, 0)) > 200  # svg
    toggle = pixels(idle, button_rect(screen, "toggle"))
    assert count(toggle, (255, 255, 160), 4) > 500  # container background
    assert count(toggle, (0, 0, 255), 60) > 20  # text colour
    row = pixels(idle, screen.buttons_rect)
    assert count(row, (247, 247, 247), 1) > 10000  # buttons.container background

    loading = screen.render(CONNECTING, 1.0)
    save(loading, "custom_connecting_800x480")
    assert count(pixels(loading, screen.middle), (255, 165, 0), 40) > 30

    error = screen.render(ERROR, 1.0)
    save(error, "custom_error_800x480")
    assert count(pixels(error, screen.middle), (0, 128, 255), 40) > 30

    live = screen.render(LISTENING, 1.0)
    save(live, "custom_live_800x480")
    # "END" instead of the stop icon: no filled square
    assert fill_ratio(dark_mask(pixels(live, button_rect(screen, "toggle")), 140)) < 0.7


def test_loading_html_and_hidden_loading(tmp_path: Path) -> None:
    config = _deepchat(
        "", loading={"html": "Hold <b>on</b><br>connecting&hellip;", "style": {"color": "red"}}
    )
    screen = Screen(config, (800, 480))
    frame = screen.render(CONNECTING, 1.0)
    save(frame, "loading_html_800x480")
    middle = pixels(frame, screen.middle)
    red_rows = np.nonzero(count_rows(middle, (255, 0, 0)))[0]
    assert red_rows.max() - red_rows.min() > screen.px(30)  # two lines

    hidden = Screen(_deepchat("", loading={"display": False}), (800, 480))
    blank = pixels(hidden.render(CONNECTING, 1.0), hidden.middle)
    assert dark_mask(blank).sum() == 0


def count_rows(area: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    return (np.abs(area - np.array(rgb)).max(axis=2) <= 60).sum(axis=0)


def test_ripple_when_loading_html_has_no_text() -> None:
    html = '<div class="lds-ripple"><div></div><div></div></div>'
    screen = Screen(_deepchat("", loading={"html": html}), (800, 480))
    a = pixels(screen.render(CONNECTING, 1.0, now=0.1), screen.middle).copy()
    b = pixels(screen.render(CONNECTING, 1.0, now=0.35), screen.middle)
    save(screen.frame, "loading_ripple_800x480")
    assert dark_mask(a, 200).sum() > 30
    assert np.abs(a - b).max() > 50


def test_unknown_style_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    config = _deepchat(
        "",
        error={"style": {"boxShadow": "0 0 2px red", "color": "nonsense"}},
        loading={"style": {"boxShadow": "1px 1px red"}},
    )
    with caplog.at_level(logging.WARNING):
        screen = Screen(config, (800, 480))
        screen.render(ERROR, 1.0)
    assert sum("boxShadow" in r.getMessage() for r in caplog.records) == 1
    assert any("realtime.error.style.color" in r.getMessage() for r in caplog.records)


# --- avatar sources ----------------------------------------------------------------------------


def _default_avatar_pixels() -> np.ndarray:
    screen = Screen(_deepchat(""), (800, 480))
    return pixels(screen.render(IDLE, 1.0), screen.avatar_rect(1.0)).copy()


def test_missing_avatar_file_falls_back(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    config = _deepchat(str(tmp_path / "nope.png"))
    with caplog.at_level(logging.WARNING):
        screen = Screen(config, (800, 480))
    assert any("avatar.src" in r.getMessage() for r in caplog.records)
    frame = screen.render(IDLE, 1.0)
    assert np.array_equal(pixels(frame, screen.avatar_rect(1.0)), _default_avatar_pixels())


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    _png(tmp_path / "face.png", (0, 200, 200))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args) -> None:
            pass

    with LocalHTTPServer(Handler) as server:
        yield server.url


def test_avatar_from_url(image_server: str) -> None:
    screen = Screen(_deepchat(f"{image_server}/face.png"), (800, 480))
    frame = screen.render(IDLE, 1.0)
    save(frame, "avatar_url_800x480")
    assert count(pixels(frame, screen.avatar_rect(1.0)), (0, 200, 200)) > 1000


def test_avatar_url_failure_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with caplog.at_level(logging.WARNING):
        screen = Screen(_deepchat(f"http://127.0.0.1:{port}/face.png"), (800, 480))
    assert any("avatar.src" in r.getMessage() for r in caplog.records)
    frame = screen.render(IDLE, 1.0)
    assert np.array_equal(pixels(frame, screen.avatar_rect(1.0)), _default_avatar_pixels())


def test_hover_and_click_styles() -> None:
    config = _deepchat(
        "",
        buttons={
            "toggle": {
                "default": {
                    "container": {
                        "default": {"backgroundColor": "#dddddd"},
                        "hover": {"backgroundColor": "#00ff00"},
                        "click": {"background-color": "#ff0000"},
                    },
                    "svg": {"styles": {"default": {"filter": "brightness(0) invert(1)"}}},
                }
            }
        },
    )
    screen = Screen(config, (800, 480))
    rect = button_rect(screen, "toggle")
    assert count(pixels(screen.render(IDLE), rect), (221, 221, 221), 1) > 500
    assert count(pixels(screen.render(IDLE), rect), (255, 255, 255), 1) > 50  # white icon
    screen.pointer = rect.center
    assert count(pixels(screen.render(IDLE), rect), (0, 255, 0), 1) > 500
    screen.pressed = True
    frame = screen.render(IDLE)
    save(frame, "custom_click_800x480")
    assert count(pixels(frame, rect), (255, 0, 0), 1) > 500
