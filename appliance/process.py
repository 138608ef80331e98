"""``appliance run`` as a child process: the one helper the demo, the benchmarks, the tests and
the hardware rig use to start it, wait for its control socket and stop it.

    app = ApplianceProcess(config_path, log_path, args=("--audio-in", "q.wav"))
    app.request({"cmd": "start"})
    ...
    code = app.stop()    # SIGTERM, then SIGKILL after a grace period; the exit status

The simulator's counterpart is :class:`appliance.sim.process.SimProcess`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from appliance.config import load
from appliance.control import ControlClientError, request

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0


class ApplianceFailedToStart(RuntimeError):
    """The process exited, or its socket did not answer in time; the message has its log."""


class ApplianceProcess:
    """``python -m appliance run --config CONFIG ARGS``, its output in ``log_path``.

    The control socket is the config's ``control.socket`` (or ``socket``). ``prefix`` goes
    before the command (e.g. a namespace wrapper); the process's pid is the appliance's as long
    as the prefix execs. ``wait`` (default) returns once the socket answers ``status``.
    """

    def __init__(
        self,
        config_path: Path,
        log_path: Path,
        *,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
        socket: Path | None = None,
        wait: bool = True,
        ready_timeout: float = READY_TIMEOUT_S,
    ) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.socket = socket or load(config_path, environ={}).control.socket
        command = [*prefix, sys.executable, "-m", "appliance", "run", "--config", str(config_path)]
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*command, *args], stdout=log, stderr=subprocess.STDOUT, env=env
            )
        if wait:
            try:
                self.wait_ready(ready_timeout)
            except BaseException:
                self.stop()
                raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self, tail: int | None = None) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text if tail is None else text[-tail:]

    def answers(self) -> bool:
        """The control socket answers ``status`` (raises if the process has exited)."""
        if not self.alive():
            raise ApplianceFailedToStart(
                f"the appliance exited with status {self.proc.returncode}:\n{self.log(3000)}"
            )
        try:
            return bool(request(self.socket, {"cmd": "status"}, timeout=2).get("ok"))
        except (ControlClientError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self.answers():
            if time.monotonic() > deadline:
                raise ApplianceFailedToStart(
                    f"the control socket {self.socket} did not answer within {timeout:g} s:\n"
                    + self.log(3000)
                )
            threading.Event().wait(0.05)  # a poll interval while the socket appears

    def request(self, payload: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        return request(self.socket, payload, timeout=timeout)

    def stop(self, grace: float = STOP_GRACE_S) -> int:
        """SIGTERM, SIGKILL if it has not exited after ``grace`` s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
