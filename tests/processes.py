"""Real processes for tests: the simulator subprocess, a clean child environment, and waiting
on conditions with a deadline (never on fixed sleeps). Shared by the integration tests and the
hardware-in-the-loop rig.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child_env(*pythonpath: Path, **extra: str) -> dict[str, str]:
    """The environment for an appliance or simulator child: no stray ``APPLIANCE_*``
    overrides (but ``APPLIANCE_HIL``), the repository (and ``pythonpath``) importable."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("APPLIANCE_") or name == "APPLIANCE_HIL"
    }
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), str(ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_until(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        threading.Event().wait(poll)


class Sim:
    """``python -m appliance.sim --port 0`` in a subprocess, with its admin endpoints."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.sim", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        self.output: list[str] = []
        self.url = ""
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("appliance-sim listening on "):
                self.url = line.split()[-1].strip()
                break
        if not self.url:
            raise RuntimeError("the simulator did not start:\n" + "".join(self.output))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def _http(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        return json.loads(text) if text.strip() else None

    def script(self, action: dict[str, Any]) -> None:
        """Queue a scripted behaviour or fault (``POST /sim/script``)."""
        self._http("POST", "/sim/script", action)

    def log(self) -> dict[str, Any]:
        """What the simulator saw (``GET /sim/log``)."""
        return self._http("GET", "/sim/log")

    def state(self) -> dict[str, Any]:
        """Open sessions and keys issued (``GET /sim/state``)."""
        return self._http("GET", "/sim/state")

    def client_events(self, kind: str | None = None) -> list[dict[str, Any]]:
        events = self.log()["client_events"]
        return [e for e in events if kind is None or e.get("type") == kind]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
