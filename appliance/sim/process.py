"""Start the simulator as a subprocess (the demo, the benchmarks and the tests do)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import deque

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

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
