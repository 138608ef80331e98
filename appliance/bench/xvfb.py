"""A private virtual X display (Xvfb) for benchmarks and tests of the real window.

    with virtual_display(1920, 1080) as display:   # ":5"
        env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11"}

Xvfb picks a free display number itself and reports it on a pipe once it accepts clients
(``-displayfd``), so there is no polling and no clash with other displays on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator


class NoVirtualDisplay(Exception):
    """Xvfb is not installed or did not start."""


def available() -> bool:
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def virtual_display(width: int = 1920, height: int = 1080) -> Iterator[str]:
    """Run Xvfb for the duration; yields the ``DISPLAY`` value (e.g. ``":5"``)."""
    server = shutil.which("Xvfb")
    if server is None:
        raise NoVirtualDisplay("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [
            server,
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as ready:
            number = ready.readline().strip()  # EOF (empty) if Xvfb exits instead
        if not number.isdigit():
            raise NoVirtualDisplay(f"Xvfb did not start (exit status {proc.poll()})")
        yield f":{number}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def x11_env(display: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with SDL drawing on ``display``."""
    env = dict(os.environ if base is None else base)
    env["DISPLAY"] = display
    env["SDL_VIDEODRIVER"] = "x11"
    return env
