"""The screen in each shipped language: its texts come from the labels, and every letter is
drawn by the screen's fonts (no boxes). Frames go to tests/artifacts/screens/ to look at."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from appliance.config import validate
from appliance.display.screen import Screen, font_files, missing_glyphs
from appliance.display.style import Warnings
from appliance.labels import SHIPPED, Labels
from appliance.state import Phase, View

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
KEY_URL = {"provisioning": {"url": "https://keys.example.com/realtime"}}
ACCENTED = "äöüßÄÖÜéèêëàâçîïôûùÿœÉÀÇñÑáíóúü¿¡«»’…—–·"
NOT_IN_ANY_FONT = "\U000f0001"  # private use: every font draws its missing-glyph box


def keyed(**display) -> Screen:
    return Screen(validate({"realtime": KEY_URL, "display": display}), (800, 480))


def save(frame: pygame.Surface, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    pygame.image.save(frame, str(SCREENS / f"{name}.png"))


def ink(surface: pygame.Surface) -> np.ndarray:
    """Where a text surface has ink (its alpha or its dark pixels)."""
    if surface.get_flags() & pygame.SRCALPHA:
        return pygame.surfarray.array_alpha(surface) > 64
    return pygame.surfarray.array3d(surface).max(axis=2) < 128


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_the_fonts_draw_every_letter_of_every_language(language: str) -> None:
    text = "".join(SHIPPED[language].values()) + ACCENTED
    assert missing_glyphs(text) == {}
    # and the check can fail: a character no font has is reported for each font
    lacking = missing_glyphs(NOT_IN_ANY_FONT)
    assert len(lacking) >= 2 and set(lacking.values()) == {NOT_IN_ANY_FONT}


@pytest.mark.parametrize("path", sorted({*font_files(), None}, key=str))
def test_accented_letters_are_drawn_not_boxes(path: str | None) -> None:
    """Each letter drawn differs from the box drawn for a letter the font lacks."""
    if not pygame.font.get_init():
        pygame.font.init()
    font = pygame.font.Font(path, 24)
    box = ink(font.render(NOT_IN_ANY_FONT, True, (0, 0, 0), (255, 255, 255)))
    for letter in ACCENTED:
        drawn = ink(font.render(letter, True, (0, 0, 0), (255, 255, 255)))
        assert drawn.any(), letter
        assert drawn.shape != box.shape or (drawn != box).any(), f"{letter!r} is a box"


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_the_screen_speaks_the_language(language: str) -> None:
    words = Labels(language)
    screen = keyed(language=language)
    idle = screen.render(View(), 1.0)
    save(idle, f"labels_{language}_idle_800x480")
    assert screen.status_text(View()) == words["idle"]
    assert screen.labels(View()) == {
        "toggle": words["button_start"],
        "microphone": words["button_mic_on"],
    }
    live = View(phase=Phase.LIVE, muted=True)
    save(screen.render(live, 1.0), f"labels_{language}_muted_800x480")
    assert screen.status_text(live) == words["muted"]
    reconnecting = View(phase=Phase.CONNECTING, reconnect_attempt=2, notice="connection lost")
    save(screen.render(reconnecting, 1.0), f"labels_{language}_reconnecting_800x480")
    assert screen.status_text(reconnecting) == words.text("reconnecting_attempt", attempt=2)
    assert screen.middle_lines(reconnecting) == [words["loading"], words["error_network"]]
    cause = "audio: no input device found (is a sound card or sound server present?)"
    failed = View(phase=Phase.ERROR, error_cause=cause)
    save(screen.render(failed, 1.0), f"labels_{language}_error_800x480")
    assert screen.middle_lines(failed) == [words["error_title"], words["error_microphone"]]
    assert screen.status_text(failed) == words["error"]


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_the_setup_screen_speaks_the_language(language: str, tmp_path: Path) -> None:
    words = Labels(language)
    key_file = tmp_path / "openai.key"
    screen = Screen(
        validate({"openai": {"key_file": str(key_file)}, "display": {"language": language}}),
        (800, 480),
    )
    frame = screen.render(View(), 1.0)
    save(frame, f"labels_{language}_setup_800x480")
    lines = screen.setup_lines()
    shown = " ".join(lines)
    assert shown.startswith(words["setup_title"])
    reason = words.text("setup_key_file_missing", path=key_file)
    assert reason.split()[0] in shown and key_file.name in shown
    assert words["setup_restart"] in lines
    assert words.text("setup_ssh", host="").split("(")[0].strip() in shown


def test_the_technical_cause_is_not_shown() -> None:
    cause = "cannot connect to wss://api.example.com/v1/realtime: [Errno -2] Name or service"
    screen = keyed(language="de")
    lines = screen.middle_lines(View(phase=Phase.ERROR, error_cause=cause))
    assert lines == ["Fehler", "Keine Verbindung zum Sprachdienst"]
    assert not any("wss://" in line or "Errno" in line for line in lines)


def test_deep_chats_loading_and_error_text_win_when_set() -> None:
    connecting = View(phase=Phase.CONNECTING)
    failed = View(phase=Phase.ERROR, error_cause="ValueError: x")
    plain = keyed(language="es")
    assert plain.middle_lines(connecting) == ["Cargando"]
    assert plain.middle_lines(failed) == ["Error", "Algo salió mal"]
    config = validate(
        {
            "realtime": {**KEY_URL, "loading": {"text": "Un momento"}, "error": {"text": "Ay"}},
            "display": {"language": "fr"},
        }
    )
    screen = Screen(config, (800, 480))
    assert screen.middle_lines(connecting) == ["Un momento"]
    assert screen.middle_lines(failed) == ["Ay", "Un problème est survenu"]


def test_an_override_is_shown_and_a_glyph_the_font_lacks_is_warned_about() -> None:
    warnings = Warnings()
    config = validate(
        {"realtime": KEY_URL, "display": {"labels": {"listening": f"Go {NOT_IN_ANY_FONT}"}}}
    )
    screen = Screen(config, (800, 480), warnings=warnings)
    assert screen.status_text(View(phase=Phase.LIVE)) == f"Go {NOT_IN_ANY_FONT}"
    assert any("display.labels" in m and "no glyph" in m for m in warnings.messages)
    assert (
        Screen(validate({"realtime": KEY_URL}), (800, 480), warnings=Warnings()).warnings.messages
        == []
    )


def test_the_window_title_speaks_the_language() -> None:
    from appliance.display.loop import open_display

    config = validate({"display": {"mode": "window", "size": [320, 200], "language": "fr"}})
    try:
        assert open_display(config) is not None
        assert pygame.display.get_caption()[0] == "Assistant vocal"
    finally:
        pygame.display.quit()
