"""``appliance run`` shows its idle screen before it loads what a session needs.

The real ``appliance run`` opens its window on a private Xvfb (SDL's x11 driver) with
``python -X importtime``, which writes a line to stderr as each module finishes importing, in
the same stream as the log. The order of that one stream is the order things happened in: the
window's log line (the display is open), the worker's "front end up" (the first frame was drawn
and the screen went idle), and only then the session's modules (the HTTP client, the WebSocket
client, the realtime protocol and policy, the key fetching, the control socket). The HTTP
client (aiohttp) is not loaded at all until a key is fetched.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from appliance.rig import xdisplay
from appliance.rig.process import ApplianceProcess, child_env, wait_until

SESSION_MODULES = (
    "appliance.app",
    "appliance.realtime.link",
    "appliance.realtime.session",
    "appliance.realtime.protocol",
    "appliance.realtime.keys",
    "appliance.control",
    "websockets",
)
NEVER_WHILE_IDLE = ("aiohttp",)  # the HTTP client: loaded when a key is first fetched


def write_config(tmp_path: Path, mode: str = "window") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[openai]\n"
        'api_base = "http://127.0.0.1:9"\n'
        "[realtime.provisioning]\n"
        'url = "http://127.0.0.1:9/provision"\n'
        "[audio]\n"
        'backend = "none"\n'
        "[control]\n"
        f'socket = "{tmp_path / "control.sock"}"\n'
        "[display]\n"
        f'mode = "{mode}"\n'
        "size = [800, 480]\n"
        "[gpio]\n"
        "enabled = false\n"
    )
    return path


def env_for(display: str) -> dict[str, str]:
    env = xdisplay.x11_env(display, child_env())
    env["PYTHONPROFILEIMPORTTIME"] = "1"  # -X importtime for the child
    return env


def imported_at(lines: list[str], module: str) -> int:
    """The line at which ``module`` finished importing (``-X importtime``)."""
    return next(
        i
        for i, line in enumerate(lines)
        if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == module
    )


def test_the_first_frame_comes_before_the_session_modules(display: str, tmp_path: Path) -> None:
    app = ApplianceProcess(
        write_config(tmp_path),
        tmp_path / "run.log",
        args=("--log-level", "DEBUG"),
        env=env_for(display),
    )
    try:
        assert app.request({"cmd": "status"})["state"] == "idle"
    finally:
        assert app.stop() == 0
    lines = app.log().splitlines()
    window = next(i for i, line in enumerate(lines) if "display: window 800x480" in line)
    front_end_up = next(i for i, line in enumerate(lines) if "front end up" in line)
    assert window < front_end_up
    for module in SESSION_MODULES:
        assert imported_at(lines, module) > front_end_up, f"{module} came before the screen"
    assert imported_at(lines, "pygame") < window
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")
    }
    for module in NEVER_WHILE_IDLE:
        assert module not in imported, f"{module} was imported by an idle appliance"
    # pygame came without pkg_resources (importing it scans every installed distribution):
    # its attempt is refused at once
    for line in lines[:window]:
        if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == "pkg_resources":
            assert int(line.split("|")[1]) < 1000, line  # cumulative microseconds


def test_a_stop_during_start_up_is_not_lost(display: str, tmp_path: Path) -> None:
    app = ApplianceProcess(
        write_config(tmp_path),
        tmp_path / "run.log",
        args=("--log-level", "DEBUG"),
        env=env_for(display),
        wait=False,
    )
    try:
        # SIGTERM once the screen is up, while the worker is loading the session side
        wait_until(lambda: "front end up" in app.log(), 30, "the first frame")
        app.proc.send_signal(signal.SIGTERM)
        assert app.proc.wait(15) == 0
    except subprocess.TimeoutExpired:
        pytest.fail(f"the appliance did not stop:\n{app.log(3000)}")
    finally:
        app.stop()
    assert "signal SIGTERM: stopping" in app.log()


def test_headless_starts_the_session_side_too(tmp_path: Path) -> None:
    app = ApplianceProcess(
        write_config(tmp_path, mode="none"),
        tmp_path / "run.log",
        args=("--log-level", "DEBUG"),
        env=child_env(),
    )
    try:
        assert app.request({"cmd": "status"})["ok"] is True
    finally:
        assert app.stop() == 0
    assert "front end up" in app.log()
