"""The screen's sleep in the real ``appliance run`` on Xvfb: dim, dark at no CPU, woken by a
real click that presses nothing, and DPMS, which Xvfb does not have."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from appliance.config import AppConfig
from appliance.display import blank
from appliance.display.screen import Screen
from appliance.rig import xdisplay
from appliance.rig.process import CpuMeter, wait_until

SIZE = (800, 480)
DARK_CPU_PERCENT = 1.0  # the dark screen's process, all threads: input polling only
MEASURE_S = 3.0


def sleepy_config() -> dict:
    return {
        "realtime": {"provisioning": {"url": "http://127.0.0.1:9/provision"}},
        "audio": {"backend": "none"},
        "display": {"mode": "window", "size": list(SIZE), "sleep_after_s": 1, "dim_s": 1},
    }


def power(app) -> str:
    return app.ctl("status")["display"]["power"]


def test_dark_screen_costs_no_cpu_and_the_first_click_only_wakes_it(
    display: str, start, tmp_path: Path
) -> None:
    env = {"DISPLAY": display, "SDL_VIDEODRIVER": "x11"}
    app = start(sleepy_config(), display="window", env=env, use_wav=False)
    watcher = xdisplay.XWatcher(display)
    try:
        watcher.follow(SIZE, 20, alive=lambda: app.proc.poll() is None)
        wait_until(lambda: power(app) == "dark", 10, "the screen went dark")
        assert watcher.coverage() == 0.0  # drawn black: Xvfb has no DPMS and no backlight
        begun = time.perf_counter()
        meter = CpuMeter(app=app.proc.pid)
        time.sleep(MEASURE_S)  # the measuring window, not a synchronisation
        cpu, wall = meter.percent()
        drawn = watcher.frames(begun, time.perf_counter())
        assert drawn == []  # nothing presented while dark
        assert cpu["app"] < DARK_CPU_PERCENT, f"{cpu['app']:.2f} % of a core over {wall:.1f} s"

        toggle = Screen(AppConfig.model_validate(sleepy_config()), SIZE).buttons["toggle"]
        watcher.click(*toggle.center)
        wait_until(lambda: power(app) == "on", 5, "the click woke the screen")
        watcher.wait_drawn(timeout=5)
        assert app.ctl("status")["state"] == "idle"  # the first click pressed nothing
        watcher.click(*toggle.center)
        wait_until(lambda: app.ctl("status")["state"] != "idle", 5, "the second click pressed")
    finally:
        watcher.close()
    assert "sleeps after 1 s of idle through drawing" in app.log()
    print(f"dark screen: {cpu['app']:.3f} % of a core over {wall:.1f} s")


def test_xvfb_has_no_dpms_so_the_screen_is_drawn_black(display: str) -> None:
    with pytest.raises(OSError, match="no DPMS"):
        blank.Dpms(display)
    saved = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        chosen = blank.choose("off", "x11")
    finally:
        if saved is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = saved
    assert type(chosen) is blank.Blanker


def test_fullscreen_sleeps_through_the_backlight_and_restores_it_at_exit(
    display: str, start, tmp_path: Path
) -> None:
    """A fake sysfs backlight directory named by display.backlight, written by the real
    appliance in full screen: dim, dark, woken by a click, and lit again when it exits."""
    light = tmp_path / "backlight" / "10-0045"
    light.mkdir(parents=True)
    (light / "max_brightness").write_text("255\n")
    (light / "brightness").write_text("200\n")

    def brightness() -> int:
        return int((light / "brightness").read_text())

    config = sleepy_config()
    config["display"] = {"mode": "fullscreen", "sleep_after_s": 1, "dim_s": 1}
    config["display"]["backlight"] = str(light)
    env = {"DISPLAY": display, "SDL_VIDEODRIVER": "x11"}
    app = start(config, display=None, env=env, use_wav=False)
    watcher = xdisplay.XWatcher(display)
    try:
        watcher.follow((1024, 768), 20, alive=lambda: app.proc.poll() is None)
        wait_until(lambda: brightness() == 40, 10, "dimmed to a fifth")
        wait_until(lambda: brightness() == 0, 10, "dark")
        assert power(app) == "dark"
        assert watcher.coverage() > 0.5  # the backlight is off: nothing was drawn black
        watcher.click(10, 10)
        wait_until(lambda: brightness() == 200, 5, "lit again by the click")
        wait_until(lambda: brightness() == 0, 10, "dark again")
    finally:
        watcher.close()
    assert app.stop() == 0
    assert brightness() == 200  # the exit leaves the screen lit
    assert f"through backlight {light}" in app.log()
