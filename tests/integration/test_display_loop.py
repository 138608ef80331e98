"""The real display loop on SDL's dummy driver, driving a real state machine through a Hub.

``run_display`` runs on the test's main thread, as in the appliance; a worker thread runs an
asyncio loop that applies inputs to :class:`appliance.state.Machine` and shows views; a
driver thread posts real pygame events and checks what happens.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import AppConfig, DisplayConfig
from appliance.display import Screen, run_display
from appliance.hub import Hub
from appliance.rig.process import wait_until
from appliance.state import Input, Machine, Phase, Start

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"


class Worker:
    """An asyncio loop in a thread owning a Machine, attached to a Hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.machine = Machine()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        hub.attach(self.loop, self.inbox)

    def inbox(self, event: Input) -> None:
        self.machine.handle(event)
        self.hub.show(self.machine.view)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    hub = Hub()
    worker = Worker(hub)
    yield hub
    hub.stopping.set()
    worker.close()


def drive(hub: Hub, config: AppConfig, script: Callable[[], None]) -> None:
    """Run ``script`` in a thread while ``run_display`` owns this (main) thread."""
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            script()
        except BaseException as exc:
            errors.append(exc)
        finally:
            hub.stopping.set()
            hub.wake()

    thread = threading.Thread(target=runner)
    thread.start()
    started = time.monotonic()
    run_display(hub, config)
    assert time.monotonic() - started < 30
    thread.join(10)
    if errors:
        raise errors[0]


# A key source is configured: without one the idle screen is the setup screen.
KEYED = {"realtime": {"provisioning": {"url": "https://keys.example.com/realtime"}}}


def window_config(**display: object) -> AppConfig:
    return AppConfig.model_validate(
        {**KEYED, "display": {"mode": "window", "size": (800, 480), **display}}
    )


def test_click_and_touch_drive_the_state_machine(hub: Hub, tmp_path: Path) -> None:
    config = window_config()
    layout = Screen(config, (800, 480))
    toggle = layout.buttons["toggle"].center
    mic = layout.buttons["microphone"].center
    shot = tmp_path / "muted.png"
    stopped_by_key = threading.Event()

    def script() -> None:
        hub.request_snapshot(tmp_path / "first.png").result(10)  # the loop is running
        pygame.event.post(
            pygame.event.Event(
                pygame.FINGERDOWN, x=mic[0] / 800, y=mic[1] / 480, touch_id=1, finger_id=0
            )
        )
        wait_until(lambda: hub.view.muted, 5, "muted")
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=toggle, button=1))
        wait_until(lambda: hub.view.phase is Phase.CONNECTING, 5, "connecting")
        hub.request_snapshot(shot).result(10)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0))
        wait_until(hub.stopping.is_set, 5, "stopping")
        stopped_by_key.set()

    drive(hub, config, script)
    assert stopped_by_key.is_set()
    assert hub.view.phase is Phase.CONNECTING and hub.view.muted
    frame = pygame.image.load(str(shot))
    SCREENS.mkdir(parents=True, exist_ok=True)
    pygame.image.save(frame, str(SCREENS / "loop_connecting_muted_800x480.png"))
    expected = layout.render(hub.view, 1.0, now=0.0)
    size = layout.px(layout.theme.button_size)
    rect = pygame.Rect(0, 0, size, size)
    rect.center = mic
    got = pygame.surfarray.array3d(frame)[rect.left : rect.right, rect.top : rect.bottom]
    want = pygame.surfarray.array3d(expected)[rect.left : rect.right, rect.top : rect.bottom]
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 2  # unavailable mic, as rendered


def test_unavailable_microphone_ignores_touches(hub: Hub, tmp_path: Path) -> None:
    config = window_config()
    layout = Screen(config, (800, 480))
    mic = layout.buttons["microphone"].center
    toggle = layout.buttons["toggle"].center

    def script() -> None:
        hub.post(Start())
        wait_until(lambda: hub.view.phase is Phase.CONNECTING, 5, "connecting")
        hub.request_snapshot(tmp_path / "drawn.png").result(10)  # the loop has drawn it
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=mic, button=1))
        # a toggle press after it proves the mic press was processed (events are in order)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=toggle, button=1))
        wait_until(lambda: hub.view.phase is Phase.IDLE, 5, "idle")
        assert not hub.view.muted

    drive(hub, config, script)


def test_snapshot_headless(hub: Hub, tmp_path: Path) -> None:
    config = AppConfig(display=DisplayConfig(mode="none"))
    path = tmp_path / "deep" / "snap.png"

    def script() -> None:
        assert hub.request_snapshot(path).result(10) == path

    drive(hub, config, script)
    frame = pygame.image.load(str(path))
    assert frame.get_size() == (800, 480)
    expected = Screen(config, (800, 480)).render(hub.view, 1.0)
    diff = np.abs(pygame.surfarray.array3d(frame).astype(int) - pygame.surfarray.array3d(expected))
    assert diff.max() <= 2


def test_snapshot_failure_is_reported(hub: Hub, tmp_path: Path) -> None:
    config = AppConfig(display=DisplayConfig(mode="none"))
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    def script() -> None:
        future = hub.request_snapshot(blocker / "snap.png")
        assert future.exception(10) is not None

    drive(hub, config, script)


def test_no_display_falls_back_to_headless(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-driver")
    config = AppConfig(display=DisplayConfig(mode="fullscreen"))
    path = tmp_path / "snap.png"

    def script() -> None:
        hub.request_snapshot(path).result(10)

    with caplog.at_level(logging.WARNING):
        drive(hub, config, script)
    warnings = [r.getMessage() for r in caplog.records if "cannot open" in r.getMessage()]
    assert len(warnings) == 1 and "no-such-driver" in warnings[0]
    assert pygame.image.load(str(path)).get_size() == (800, 480)


def test_idle_loop_sleeps(hub: Hub, tmp_path: Path) -> None:
    config = window_config()
    used: list[float] = []

    def script() -> None:
        hub.request_snapshot(tmp_path / "drawn.png").result(10)
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(1.0)  # the measuring window, not a synchronisation
        used.append((time.process_time() - cpu) / (time.monotonic() - wall))

    drive(hub, config, script)
    assert used[0] < 0.15  # the whole process, idle screen included


def _mean_level(path: Path) -> float:
    return float(pygame.surfarray.array3d(pygame.image.load(str(path))).mean())


def test_idle_screen_dims_goes_dark_and_the_first_touch_only_wakes_it(
    hub: Hub, tmp_path: Path
) -> None:
    config = window_config(sleep_after_s=1, dim_s=1)
    toggle = Screen(config, (800, 480)).buttons["toggle"].center
    levels: dict[str, float] = {}

    def touch() -> None:
        x, y = toggle[0] / 800, toggle[1] / 480
        pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=x, y=y, touch_id=1, finger_id=0))

    def shot(name: str) -> None:
        hub.request_snapshot(tmp_path / f"{name}.png").result(10)
        levels[name] = _mean_level(tmp_path / f"{name}.png")

    def script() -> None:
        shot("on")
        wait_until(lambda: _power(hub) == "dim", 5, "dim")
        shot("dim")
        wait_until(lambda: _power(hub) == "dark", 5, "dark")
        shot("dark")
        touch()  # wakes the screen, presses nothing
        wait_until(lambda: _power(hub) == "on", 5, "awake")
        shot("woken")
        assert hub.view.phase is Phase.IDLE
        touch()  # now it presses
        wait_until(lambda: hub.view.phase is Phase.CONNECTING, 5, "connecting")

    drive(hub, config, script)
    assert levels["dark"] == 0.0
    assert 0 < levels["dim"] < levels["on"] * 0.5
    assert levels["woken"] == pytest.approx(levels["on"], abs=0.5)


def _power(hub: Hub) -> str:
    """The screen's power, as the display loop last set it."""
    return hub.display_stats.power


def test_a_wake_word_or_a_press_wakes_a_dark_screen_and_the_press_acts(
    hub: Hub, tmp_path: Path
) -> None:
    config = window_config(sleep_after_s=1, dim_s=0)

    def script() -> None:
        hub.request_snapshot(tmp_path / "on.png").result(10)
        wait_until(lambda: _power(hub) == "dark", 5, "dark")
        hub.activity()  # what a wake-word detector calls
        wait_until(lambda: _power(hub) == "on", 5, "woken by the wake-word hook")
        wait_until(lambda: _power(hub) == "dark", 5, "dark again")
        hub.post(Start())  # the push-button, the control socket: not a touch
        wait_until(lambda: hub.view.phase is Phase.CONNECTING, 5, "the press started a session")
        wait_until(lambda: _power(hub) == "on", 5, "woken by the press")

    drive(hub, config, script)
    assert hub.display_stats.power == "on"
