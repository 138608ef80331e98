"""Screens of the hardening issue, rendered with pygame on SDL's dummy driver and checked pixel
by pixel: the avatar's resting size (Deep Chat's, whatever ``maxScale``), a headless snapshot
after an error, and the setup screen shown when no key source is configured.

Each test writes its frames to tests/artifacts/screens/ for people to look at, and was written
to fail on the code before its fix.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import AppConfig, validate
from appliance.display import DisplayLoop, Screen
from appliance.hub import Hub
from appliance.state import Phase, View

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
SIZES = [(800, 480), (1920, 1080)]
DEEP_CHAT_AVATAR_CSS = 110 + 2 * 8 + 2 * 1  # height, padding, border: Deep Chat's default CSS


def save(frame: pygame.Surface, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    pygame.image.save(frame, str(path))
    return path


def avatar_width(frame: pygame.Surface, screen: Screen) -> int:
    """The avatar's drawn width, measured across its centre row (the background is white)."""
    row = pygame.surfarray.array3d(frame).astype(np.int32)[:, screen.avatar_area.centery]
    drawn = np.nonzero(np.abs(row - 255).max(axis=1) > 8)[0]
    drawn = drawn[(drawn > 0) & (drawn < frame.get_width() - 1)]
    return int(drawn.max() - drawn.min() + 1)


def config(**realtime: Any) -> AppConfig:
    """A configuration with a key source (else the idle screen is the setup screen)."""
    realtime.setdefault("provisioning", {"url": "https://keys.example.com/realtime"})
    return validate({"realtime": realtime, "display": {"mode": "none"}})


# --- 8: the resting avatar keeps Deep Chat's size; maxScale only bounds the growth -------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_resting_avatar_keeps_its_size_whatever_max_scale(size: tuple[int, int]) -> None:
    ui = min(size[0] / 800, size[1] / 480)
    widths = {}
    for max_scale in (1.0, 2.5, 3.5, 10.0):
        screen = Screen(config(avatar={"maxScale": max_scale}), size)
        frame = screen.render(View(), 1.0)
        if max_scale == 3.5:
            save(frame, f"avatar_rest_maxscale3.5_{size[0]}x{size[1]}")
        widths[max_scale] = avatar_width(frame, screen)
    assert len(set(widths.values())) == 1, widths
    assert abs(widths[2.5] - DEEP_CHAT_AVATAR_CSS * ui) <= 2, widths


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_max_scale_bounds_the_growth(size: tuple[int, int]) -> None:
    small = Screen(config(avatar={"maxScale": 1.5}), size)
    rest = avatar_width(small.render(View(phase=Phase.LIVE, speaking=True), 1.0), small)
    loud = small.render(View(phase=Phase.LIVE, speaking=True), 9.0)
    save(loud, f"avatar_maxscale1.5_loud_{size[0]}x{size[1]}")
    assert avatar_width(loud, small) == pytest.approx(1.5 * rest, abs=3)
    big = Screen(config(avatar={"maxScale": 3.5}), size)
    grown = big.render(View(phase=Phase.LIVE, speaking=True), 1.4)
    assert avatar_width(grown, big) == pytest.approx(1.4 * rest, abs=3)
    # never past its area, however loud: it stops growing at the area's edge
    assert big.avatar_area.contains(big.avatar_rect(3.5))


def test_headless_snapshot_after_an_error_shows_the_avatar_at_rest(tmp_path: Path) -> None:
    """A voice was playing (the meter says 2.3) when the session failed: the snapshot of the
    error screen, the first frame drawn, shows the avatar at rest, as Deep Chat's does once its
    analyser hears nothing."""
    hub = Hub()
    loop = DisplayLoop(hub, config())
    assert loop.headless
    rest = avatar_width(loop.screen.render(View(), 1.0), loop.screen)
    hub.analyser.scale = 2.3  # where the meter stopped: nothing feeds it any more
    hub.show(View(phase=Phase.ERROR, error_cause="connection closed by the server"))
    future = hub.request_snapshot(tmp_path / "error.png")
    loop.step()
    shot = pygame.image.load(str(future.result(5)))
    save(shot, "snapshot_error_after_speech_800x480")
    assert avatar_width(shot, loop.screen) == rest
    loop.close()


# --- 7: no key source: a setup screen says what is missing and what to run over SSH -----------


def unkeyed(**openai: Any) -> AppConfig:
    return validate({"openai": openai, "display": {"mode": "none"}})


def this_machines_ipv4() -> set[str]:
    """Non-loopback IPv4 addresses, as ``ip`` sees them (an independent look)."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    found = {line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3}
    return {a for a in found if not a.startswith("127.")}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_setup_screen_without_a_key_source(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    screen = Screen(unkeyed(), size)
    frame = screen.render(View(), 1.0)
    save(frame, f"setup_{size[0]}x{size[1]}")
    text = "\n".join(screen.setup_lines())
    assert "no key source" in text.lower()
    assert "sudo appliance config set realtime.provisioning.url https://" in text
    assert "sudo sh -c 'umask 077; cat > /etc/appliance/openai.key'" in text
    assert "sudo systemctl restart appliance" in text
    assert socket.gethostname() in text
    addresses = this_machines_ipv4()
    if addresses:
        assert any(address in text for address in addresses), text
    # it reads: every line inside the frame, none over another, the commands in full
    rects = [rect for _text, rect in screen.setup_blocks]
    bounds = frame.get_rect()
    assert all(bounds.contains(rect) for rect in rects)
    assert all(not a.colliderect(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    assert min(rect.height for rect in rects) >= 12 * min(size[0] / 800, size[1] / 480)
    # the whole screen retries: a touch anywhere is the toggle
    assert screen.hit_test((5, 5)) == "toggle"


def test_setup_screen_follows_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    key = tmp_path / "openai.key"
    key.write_text("")
    screen = Screen(unkeyed(key_file=str(key)), (800, 480))
    screen.render(View(), 1.0)
    assert screen.setup_shown and "is empty" in screen.setup_shown
    assert f"cat > {key}" in "\n".join(screen.setup_lines())
    # systemd's credential: empty (the installed key file, left empty) or holding a key
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "openai.key").write_text("")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    fresh = Screen(unkeyed(), (800, 480))
    fresh.render(View(), 1.0)
    assert fresh.setup_shown == "the API key file /etc/appliance/openai.key is empty"
    (creds / "openai.key").write_text("sk-test-0123456789")
    keyed = Screen(unkeyed(), (800, 480))
    keyed.render(View(), 1.0)
    assert keyed.setup_shown is None and keyed.hit_test((5, 5)) is None
    # a session that fails for want of a key shows it too, whatever the start-time config
    failed = View(phase=Phase.ERROR, error_cause="no key source: set realtime.provisioning.url")
    configured = Screen(config(), (800, 480))
    configured.render(failed, 1.0)
    assert configured.setup_shown
    configured.render(View(phase=Phase.ERROR, error_cause="connection closed"), 1.0)
    assert configured.setup_shown is None


def test_setup_screen_gives_way_once_a_session_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key source given by a reload: the first press works, and the screen follows."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    screen = Screen(unkeyed(), (800, 480))
    screen.render(View(), 1.0)
    assert screen.setup_shown
    screen.render(View(phase=Phase.CONNECTING), 1.0)
    assert screen.setup_shown is None
    screen.render(View(), 1.0)
    assert screen.setup_shown is None  # the normal idle screen from now on
