"""Damage tracking: a frame repainted only where it changed is the frame a full redraw makes.

Real pygame on SDL's dummy driver, no mocks: :meth:`Screen.redraw` into one surface is compared
byte for byte with :meth:`Screen.render` of the same state by another screen into another
surface, step by step; the loop's window with a full render of what it last drew.
"""

from __future__ import annotations

import json
import os
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import AppConfig, from_deepchat, validate
from appliance.display.loop import DisplayLoop
from appliance.display.screen import Screen
from appliance.hub import Hub
from appliance.state import Phase, View

SIZE = (1280, 720)
IDLE = View()
CONNECTING = View(phase=Phase.CONNECTING)
RECONNECTING = View(phase=Phase.CONNECTING, reconnect_attempt=2, notice="connection lost")
LISTENING = View(phase=Phase.LIVE)
SPEAKING = View(phase=Phase.LIVE, speaking=True)
ERROR = View(phase=Phase.ERROR, error_cause="Could not reach the voice service.")

PROVISIONED = {"provisioning": {"url": "https://keys.example.com/realtime"}}  # no setup screen


def plain() -> AppConfig:
    return validate({"realtime": PROVISIONED})


def ripple() -> AppConfig:
    """Empty loading html: Deep Chat's ripple instead of a loading text."""
    return validate({"realtime": {**PROVISIONED, "loading": {"html": ""}}})


def styled(container: str, loading_html: str | None = None) -> AppConfig:
    """Deep Chat styles around the avatar: its container's background, a framed image with
    a background of its own, a bordered buttons row, a translucent loading panel (around
    the ripple when ``loading_html`` is empty)."""
    loading = {"style": {"backgroundColor": "rgba(0, 0, 0, 0.2)", "color": "#c00"}}
    if loading_html is not None:
        loading["html"] = loading_html
    realtime = {
        "avatar": {
            "maxScale": 3.0,
            "styles": {
                "container": {"backgroundColor": container, "height": "65%"},
                "image": {
                    "padding": "12px",
                    "borderRadius": "20%",
                    "border": "3px solid #aa3300",
                    "backgroundColor": "rgba(0, 120, 0, 0.5)",
                },
            },
        },
        "buttons": {
            "container": {"backgroundColor": "rgba(255, 255, 0, 0.3)", "border": "2px solid blue"}
        },
        "loading": loading,
    }
    data = {"directConnection": {"openAI": {"key": "placeholder key", "realtime": realtime}}}
    return validate(from_deepchat(json.loads(json.dumps(data))))


CONFIGS = {
    "default": plain,
    "opaque container": lambda: styled("#203040"),
    "translucent container, ripple": lambda: styled("rgba(255, 0, 255, 0.35)", ""),
    "ripple": ripple,
}


def blank() -> pygame.Surface:
    return pygame.Surface(SIZE, pygame.SRCALPHA, 32)


def same(a: pygame.Surface, b: pygame.Surface) -> bool:
    return pygame.image.tobytes(a, "RGBA") == pygame.image.tobytes(b, "RGBA")


class Pair:
    """One screen redrawing into its surface, another rendering each state whole."""

    def __init__(self, config: AppConfig, size: tuple[int, int] = SIZE) -> None:
        self.partial, self.full = Screen(config, size), Screen(config, size)
        self.a, self.b = blank(), blank()

    def step(self, view: View, scale: float = 1.0, now: float = 0.0):
        before = pygame.image.tobytes(self.a, "RGBA")
        damaged = self.partial.redraw(view, scale, now=now, target=self.a)
        self.full.pointer, self.full.pressed = self.partial.pointer, self.partial.pressed
        self.full.render(view, scale, now=now, target=self.b)
        assert same(self.a, self.b), f"{view.state} at scale {scale}, now {now}: {damaged}"
        return damaged, before != pygame.image.tobytes(self.a, "RGBA")


def area(rects: list[pygame.Rect]) -> int:
    return sum(r.width * r.height for r in rects)


@pytest.fixture(params=list(CONFIGS))
def config(request: pytest.FixtureRequest) -> AppConfig:
    return CONFIGS[request.param]()


def test_avatar_scale_repaints_only_the_avatar_and_matches_a_full_frame(config) -> None:
    pair = Pair(config)
    assert pair.step(SPEAKING, 1.0)[0] is None  # the first frame in a surface: whole
    screen = pair.partial
    assert pair.a.get_at(screen.avatar_rect(1.0).center) != pygame.Color(screen.theme.background)
    # up, the largest (and beyond it: clamped), down to rest: the larger avatar is erased
    last = 1.0
    for scale in (1.3, 1.8, 2.4, 3.0, 9.0, 2.0, 1.2, 1.0, 1.001, 2.7, 1.0):
        damaged, changed = pair.step(SPEAKING, scale)
        assert damaged is not None
        if changed:
            assert damaged and area(damaged) < 0.25 * SIZE[0] * SIZE[1]
            # the old and the new avatar, nothing else (a pixel of rounding either way)
            union = screen.avatar_rect(scale).union(screen.avatar_rect(last)).inflate(2, 2)
            assert all(union.contains(r) for r in damaged)
        else:
            assert damaged == []  # the same size in pixels: nothing repainted
        last = scale


def test_scale_down_erases_the_larger_avatar() -> None:
    pair = Pair(plain())
    pair.step(SPEAKING, 1.0)
    pair.step(SPEAKING, 2.0)
    big, small = pair.partial.avatar_rect(2.0), pair.partial.avatar_rect(1.0)
    background = pair.partial.theme.background[:3]

    def ring() -> np.ndarray:
        """The pixels of the large avatar's square that the small one does not cover."""
        rgb = pygame.surfarray.array3d(pair.a)[big.left : big.right, big.top : big.bottom]
        inner = np.zeros(rgb.shape[:2], bool)
        inner[small.left - big.left : small.right - big.left, small.top - big.top :][
            :, : small.height
        ] = True
        return rgb[~inner]

    assert (np.abs(ring() - background).max(axis=1) > 30).sum() > 1000  # the large avatar
    damaged, _ = pair.step(SPEAKING, 1.0)
    assert damaged == [big]
    assert (ring() == background).all()  # erased


def test_a_scale_change_damages_a_small_rectangle() -> None:
    pair = Pair(plain())
    pair.step(SPEAKING, 1.3)
    damaged, changed = pair.step(SPEAKING, 1.4)
    assert changed and len(damaged) == 1
    screen = pair.partial
    assert damaged[0] == screen.avatar_rect(1.4)
    assert area(damaged) < 0.1 * SIZE[0] * SIZE[1]
    # even the whole range, rest to the largest, is well under a quarter of the screen
    damaged, _ = pair.step(SPEAKING, screen.largest_scale)
    assert area(damaged) < 0.2 * SIZE[0] * SIZE[1]


def test_an_unchanged_frame_draws_nothing(config) -> None:
    pair = Pair(config)
    for view, scale in ((SPEAKING, 1.6), (CONNECTING, 1.0), (ERROR, 1.0)):
        pair.step(view, scale, now=0.5)
        before = pygame.image.tobytes(pair.a, "RGBA")
        assert pair.partial.redraw(view, scale, now=0.5, target=pair.a) == []
        assert pygame.image.tobytes(pair.a, "RGBA") == before


def test_view_changes_are_drawn_whole(config) -> None:
    pair = Pair(config)
    for view in (IDLE, CONNECTING, LISTENING, SPEAKING, RECONNECTING, ERROR, IDLE):
        damaged, changed = pair.step(view, 1.0, now=0.25)
        assert damaged is None and changed


@pytest.mark.parametrize("view", [CONNECTING, RECONNECTING], ids=["connecting", "reconnecting"])
def test_spinner_and_ripple_repaint_their_rectangles(config, view: View) -> None:
    pair = Pair(config)
    pair.step(view, 1.0, now=0.0)
    screen = pair.partial
    toggle = screen.buttons["toggle"].center
    moved = 0
    for i in range(1, 12):
        damaged, changed = pair.step(view, 1.0, now=i * 0.07)
        assert damaged is not None and damaged
        assert any(r.collidepoint(toggle) for r in damaged)  # the spinner
        assert not any(r.colliderect(screen.avatar_rect(1.0)) for r in damaged)
        assert area(damaged) < 0.15 * SIZE[0] * SIZE[1]
        moved += changed
    assert moved >= 10


def test_the_ripple_is_repainted_when_there_is_no_loading_text() -> None:
    pair = Pair(ripple())
    pair.step(CONNECTING, now=0.0)
    middle = pair.partial.middle
    damaged, changed = pair.step(CONNECTING, now=0.3)
    assert changed and any(r.colliderect(middle) for r in damaged)


def test_hover_and_press_repaint_the_button(config) -> None:
    pair = Pair(config)
    screen = pair.partial
    pair.step(LISTENING)
    toggle = screen.buttons["toggle"]
    for pointer, pressed in (
        (toggle.center, False),  # hover
        (toggle.center, True),  # click
        ((5, 5), False),  # away: the default look again
        (screen.buttons["microphone"].center, False),
        (None, False),  # the pointer left the window
    ):
        screen.pointer, screen.pressed = pointer, pressed
        damaged, changed = pair.step(LISTENING)
        assert damaged is not None and changed
        assert len(damaged) == 1 and area(damaged) < 0.05 * SIZE[0] * SIZE[1]
    # a pointer moving where it changes no look repaints nothing
    screen.pointer = (7, 9)
    assert pair.step(LISTENING)[0] == []
    screen.pointer = (8, 9)
    assert pair.step(LISTENING)[0] == []


def test_hover_while_the_spinner_turns() -> None:
    pair = Pair(styled("#203040"))
    screen = pair.partial
    pair.step(CONNECTING, now=0.0)
    screen.pointer = screen.buttons["toggle"].center
    damaged, changed = pair.step(CONNECTING, now=0.1)
    assert damaged and changed


def test_the_setup_screen_is_drawn_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    pair = Pair(validate({}))  # no key source: the idle screen is the setup screen
    assert pair.step(IDLE)[0] is None
    assert pair.partial.setup_shown
    assert pair.step(IDLE)[0] is None  # every frame of it, whole


# --- the loop: window, presenting, frames, snapshots --------------------------------------------


@pytest.fixture
def loop():
    hub = Hub()
    display = {"mode": "window", "size": list(SIZE), "fps": 60}
    config = validate({"realtime": PROVISIONED, "display": display})
    hub.show(SPEAKING)
    loop = DisplayLoop(hub, config)
    assert loop.window is not None
    yield loop
    loop.close()


def full_frame(loop: DisplayLoop, view: View) -> pygame.Surface:
    """What a full redraw of the state the loop last drew gives, in a surface like the
    window."""
    reference = Screen(loop.config, loop.screen.size)
    reference.pointer, reference.pressed = loop.screen.pointer, loop.screen.pressed
    surface = loop.window.copy()
    scale = loop.smoother.value if view.phase is Phase.LIVE else 1.0
    reference.render(view, scale, target=surface)
    return surface


def test_the_loop_presents_partial_frames_that_match_full_ones(loop: DisplayLoop) -> None:
    hub = loop.hub
    now = time.monotonic()
    assert loop.draw(SPEAKING, now) and loop.damaged is None  # first frame: whole
    assert loop.frames == 1
    drawn = 1
    for level in (1.5, 2.2, 2.2, 2.2, 1.1, *[1.0] * 40):
        hub.analyser.scale = level
        now += 1 / 60
        if loop.draw(SPEAKING, now):
            drawn += 1
            assert loop.damaged  # partial, presented with display.update
            assert area(loop.damaged) < 0.25 * SIZE[0] * SIZE[1]
        assert same(loop.window, full_frame(loop, SPEAKING))
    assert loop.frames == drawn >= 5
    # nothing changes any more: no frame drawn
    assert not loop.draw(SPEAKING, now + 1 / 60)
    assert not loop.draw(SPEAKING, now + 2 / 60)
    assert loop.frames == drawn
    # another view: drawn whole
    hub.show(LISTENING)
    assert loop.draw(LISTENING, now + 3 / 60) and loop.damaged is None
    assert same(loop.window, full_frame(loop, LISTENING))


def test_a_pointer_moving_over_nothing_draws_no_frame(loop: DisplayLoop) -> None:
    now = time.monotonic()
    loop.draw(LISTENING, now)
    frames = loop.frames
    loop.screen.pointer = (3, 3)
    assert not loop.draw(LISTENING, now + 0.1)
    loop.screen.pointer = loop.screen.buttons["toggle"].center
    assert loop.draw(LISTENING, now + 0.2) and loop.damaged
    assert loop.frames == frames + 1
    assert same(loop.window, full_frame(loop, LISTENING))


def test_a_snapshot_after_partial_frames_is_the_full_frame(loop: DisplayLoop, tmp_path) -> None:
    hub = loop.hub
    now = time.monotonic()
    for i, level in enumerate((1.0, 2.0, 2.5, 1.4)):
        hub.analyser.scale = level
        loop.draw(SPEAKING, now + i / 60)
    assert loop.damaged
    future = hub.request_snapshot(tmp_path / "shot.png")
    loop.serve_snapshots(SPEAKING, now + 4 / 60)
    saved = pygame.image.load(str(future.result(timeout=5)))
    expected = full_frame(loop, SPEAKING)
    assert pygame.image.tobytes(saved, "RGB") == pygame.image.tobytes(expected, "RGB")


def test_an_exposed_window_is_drawn_whole(loop: DisplayLoop) -> None:
    now = time.monotonic()
    loop.draw(LISTENING, now)
    loop.window.fill((255, 0, 0))  # what an X server may hand back after an exposure
    pygame.event.post(pygame.event.Event(pygame.WINDOWEXPOSED))
    loop.handle_events()
    assert loop.draw(LISTENING, now + 0.1) and loop.damaged is None
    assert same(loop.window, full_frame(loop, LISTENING))
