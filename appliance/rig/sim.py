"""The simulator as a subprocess (the demo, the benchmarks and the tests start it so), and its
admin endpoints (``/sim/script``, ``/sim/log``, ``/sim/state``)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections import deque
from typing import Any

from appliance.rig.process import child_env

READY_PREFIX = "appliance-sim listening on "
OUTPUT_LINES = 2000


class SimProcess:
    """``python -m appliance.sim --port 0 ARGS`` running, with its base :attr:`url`.

    Its latest output lines are kept in :attr:`output` (drained by a thread, so the pipe never
    fills; bounded, so a long run does not grow).
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.sim", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.output: deque[str] = deque(maxlen=OUTPUT_LINES)
        self.url = ""
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                break
        if not self.url:
            self.proc.wait()
            raise RuntimeError("the simulator did not start:\n" + "".join(self.output))
        threading.Thread(target=self._drain, daemon=True, name="sim-output").start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def script(self, action: dict[str, Any], timeout: float = 30.0) -> None:
        """Queue a scripted behaviour or fault (``POST /sim/script``, see :mod:`appliance.sim`)."""
        request = urllib.request.Request(
            f"{self.url}/sim/script",
            data=json.dumps(action).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=timeout).close()

    def _http(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        return json.loads(text) if text.strip() else None

    def log(self) -> dict[str, Any]:
        """What the simulator saw (``GET /sim/log``)."""
        return self._http("GET", "/sim/log")

    def state(self) -> dict[str, Any]:
        """Open sessions and keys issued (``GET /sim/state``)."""
        return self._http("GET", "/sim/state")

    def client_events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The client's events the simulator received, of type ``kind`` (all if None)."""
        events = self.log()["client_events"]
        return [e for e in events if kind is None or e.get("type") == kind]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Sim(SimProcess):
    """The simulator with a clean child environment (see
    :func:`appliance.rig.process.child_env`), as the tests and the hardware rig start it."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, env=child_env())
