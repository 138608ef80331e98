"""`appliance run` as systemd runs it: a real process under a fake service manager.

The test binds the ``$NOTIFY_SOCKET`` datagram socket that systemd would, sets
``WATCHDOG_USEC`` and checks what the process tells it (READY, STATUS, WATCHDOG, STOPPING),
that hooks fire on events, that SIGHUP reloads and that SIGTERM stops cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.rig.process import ApplianceProcess, wait_until

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 20.0
"""How long each step of the service's life may take."""


class FakeSystemd:
    """Receives sd_notify datagrams on a real AF_UNIX socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.extend(data.decode().splitlines())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify.sock")
    yield fake
    fake.close()


def test_run_under_a_fake_systemd(tmp_path: Path, systemd: FakeSystemd) -> None:
    hooks_log = tmp_path / "hooks.log"
    hook = tmp_path / "hook"
    hook.write_text(
        f'#!/bin/sh\necho "$APPLIANCE_EVENT|${{APPLIANCE_STATE:-}}|${{APPLIANCE_TEXT:-}}"'
        f' >> "{hooks_log}"\n'
    )
    hook.chmod(0o755)
    control = tmp_path / "control.sock"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[display]
mode = "none"
[audio]
backend = "none"
[gpio]
enabled = false
[control]
socket = "{control}"
[hooks]
state = [["{hook}"]]
error = [["{hook}"]]
"""
    )
    log_file = tmp_path / "run.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APPLIANCE_", "CREDENTIALS_", "WATCHDOG_"))
    }
    env |= {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "200000"}
    app = ApplianceProcess(config, log_file, env=env, cwd=ROOT, socket=control, wait=False)
    proc = app.proc
    try:
        wait_until(lambda: "READY=1" in systemd.messages, WAIT_S, "READY=1")
        wait_until(lambda: systemd.messages.count("WATCHDOG=1") >= 3, WAIT_S, "watchdog pings")

        # A press with no key source configured: connecting, then an error with its cause.
        start = subprocess.run(
            [sys.executable, "-m", "appliance", "start", "--socket", str(control)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert start.returncode == 0, start.stderr
        wait_until(lambda: "STATUS=error" in systemd.messages, WAIT_S, "STATUS=error")
        wait_until(
            lambda: hooks_log.exists() and "error||no key source" in hooks_log.read_text(),
            WAIT_S,
            "the error hook",
        )
        assert "state|connecting|" in hooks_log.read_text()

        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in log_file.read_text(), WAIT_S, "the reload")
        assert proc.poll() is None

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_until(lambda: "STOPPING=1" in systemd.messages, 5, "STOPPING=1")
    ready = systemd.messages.index("READY=1")
    # The state is in `systemctl status` from the start, not only after a first change.
    assert systemd.messages.index("STATUS=idle") < ready
    assert systemd.messages.index("STATUS=connecting") > ready
    assert systemd.messages.index("STOPPING=1") > systemd.messages.index("STATUS=error")
    assert "Traceback" not in log_file.read_text()
