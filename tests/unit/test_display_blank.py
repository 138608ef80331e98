"""The screen's sleep backends (appliance/display/blank.py) on a fake sysfs backlight."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from appliance.display import blank
from appliance.display.sleep import Power


def fake_backlight(root: Path, name: str = "10-0045", level: int = 200, top: int = 255) -> Path:
    """A directory shaped like /sys/class/backlight/NAME."""
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "max_brightness").write_text(f"{top}\n")
    (directory / "brightness").write_text(f"{level}\n")
    return directory


def brightness(directory: Path) -> int:
    return int((directory / "brightness").read_text())


def test_backlight_dims_darkens_and_restores_what_it_found(tmp_path: Path) -> None:
    directory = fake_backlight(tmp_path, level=200)
    light = blank.choose("auto", "kmsdrm", root=tmp_path)
    assert isinstance(light, blank.Backlight) and light.dims and light.darkens
    light.set(Power.DIM)
    assert brightness(directory) == 40  # a fifth
    light.set(Power.DARK)
    assert brightness(directory) == 0
    light.set(Power.ON)
    assert brightness(directory) == 200
    light.set(Power.DARK)
    light.close()  # the appliance's exit leaves the screen lit
    assert brightness(directory) == 200


def test_backlight_found_off_wakes_at_its_maximum(tmp_path: Path) -> None:
    directory = fake_backlight(tmp_path, level=0, top=31)
    light = blank.Backlight(directory)
    light.set(Power.DARK)
    light.set(Power.ON)
    assert brightness(directory) == 31


def test_choice_of_backend(tmp_path: Path) -> None:
    assert type(blank.choose("auto", "kmsdrm", root=tmp_path)) is blank.Blanker  # none found
    named = fake_backlight(tmp_path / "elsewhere", "panel")
    fake_backlight(tmp_path / "sys", "a-first")
    light = blank.choose(str(named), "kmsdrm", root=tmp_path / "sys")
    assert isinstance(light, blank.Backlight) and light.directory == named
    auto = blank.choose("auto", "kmsdrm", root=tmp_path / "sys")
    assert isinstance(auto, blank.Backlight) and auto.directory.name == "a-first"
    assert type(blank.choose("off", "kmsdrm", root=tmp_path / "sys")) is blank.Blanker


def test_unusable_backlight_falls_back_to_drawing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    broken = fake_backlight(tmp_path, "broken")
    (broken / "brightness").unlink()
    (broken / "brightness").mkdir()  # cannot be read or written, as on a read-only /sys
    chosen = blank.choose(str(broken), "kmsdrm")
    assert type(chosen) is blank.Blanker
    assert f"cannot use the backlight {broken}" in caplog.text
    assert type(blank.choose(str(tmp_path / "nothing"), "kmsdrm")) is blank.Blanker
