"""Real processes for integration tests: the simulator and the appliance, driven like a user would.

Everything here starts real subprocesses (``python -m appliance.sim``, ``python -m appliance run``,
``appliance events --json``) and talks to them over real sockets. Waiting is done on conditions
with deadlines, never on fixed sleeps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from appliance.control import request
from appliance.rig.isolation import private_shm
from appliance.rig.process import (
    ApplianceFailedToStart,
    ApplianceProcess,
    StateNotReached,
    child_env,
)
from appliance.rig.sim import Sim

HANDLERS_DIR = Path(__file__).resolve().parent


def handlers_env(**extra: str) -> dict[str, str]:
    """A child's environment (:func:`child_env`) in which ``handlers`` (the function handlers
    of these tests) can be imported."""
    return child_env(HANDLERS_DIR, **extra)


def cli(
    *args: str, timeout: float = 60.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``appliance`` command line, run to its end, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or handlers_env(),
    )


class Appliance:
    """``appliance run`` in a subprocess, headless, with WAV audio and a private socket."""

    def __init__(
        self,
        tmp: Path,
        config: dict[str, Any],
        *,
        audio_in: Path | None = None,
        extra_args: tuple[str, ...] = (),
        wait_ready: bool = True,
        use_wav: bool = True,
        display: str | None = "none",
        env: dict[str, str] | None = None,
        prefix: tuple[str, ...] = (),
    ) -> None:
        """``prefix`` goes before ``python -m appliance run`` (inside the private ``/dev/shm``),
        e.g. a command that drops privileges; it must exec, keeping the pid."""
        self.tmp = tmp
        self.socket = tmp / "control.sock"
        self.audio_out = tmp / "out.wav"
        config = {**config, "control": {"socket": str(self.socket)}}
        config.setdefault("display", {"mode": "none"})
        config.setdefault("gpio", {"enabled": False})
        self.config_path = tmp / "config.toml"
        self.config_path.write_text(tomli_w.dumps(config))
        args: list[str] = []
        if use_wav:
            args += ["--audio-out", str(self.audio_out)]
        if display is not None:
            args += ["--display", display]
        if audio_in is not None:
            args += ["--audio-in", str(audio_in)]
        self.log_path = tmp / "appliance.log"
        self.process = ApplianceProcess(
            self.config_path,
            self.log_path,
            args=[*args, *extra_args],
            env=handlers_env(**(env or {})),
            # a private /dev/shm: no appliance can hang another through JACK (rig.isolation)
            prefix=(*private_shm(), *prefix),
            socket=self.socket,
            wait=False,
        )
        self.proc = self.process.proc
        self.events: list[dict[str, Any]] = []
        self._events_cv = threading.Condition()
        self._watcher: subprocess.Popen[str] | None = None
        if wait_ready:
            self.wait_ready()
            self._watch_events()

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Return once the control socket answers; fail with the log if it does not."""
        try:
            self.process.wait_ready(timeout, interval=0.02)
        except ApplianceFailedToStart as exc:
            raise AssertionError(str(exc)) from None

    def log(self) -> str:
        return self.process.log()

    def ctl(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return request(self.socket, {"cmd": cmd, **fields})

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real ``appliance`` command line against this appliance."""
        return cli(*args, "--socket", str(self.socket), timeout=30)

    def _watch_events(self) -> None:
        self._watcher = subprocess.Popen(
            [sys.executable, "-m", "appliance", "events", "--json", "--socket", str(self.socket)],
            stdout=subprocess.PIPE,
            text=True,
            env=handlers_env(),
        )
        first = self._watcher.stdout.readline()  # the subscription reply
        assert json.loads(first)["type"] == "subscribed"

        def read() -> None:
            for line in self._watcher.stdout:
                with self._events_cv:
                    self.events.append(json.loads(line))
                    self._events_cv.notify_all()

        threading.Thread(target=read, daemon=True).start()

    def wait_event(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str):
        """The first event (seen so far or arriving) that matches."""
        deadline = time.monotonic() + timeout
        with self._events_cv:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no event {what} within {timeout:g} s; got: "
                        + ", ".join(
                            e.get("type", "?") + ":" + str(e.get("state", "")) for e in self.events
                        )
                        + "\n"
                        + self.log()[-3000:]
                    )
                self._events_cv.wait(left)

    def wait_state(self, state: str, timeout: float = 15) -> dict[str, Any]:
        seen = len(self.events)
        try:
            status = self.process.wait_state(state, timeout=timeout)
        except StateNotReached as exc:
            raise AssertionError(f"{exc}\n{self.log()[-3000:]}") from None
        if self._watcher is not None:  # let the event stream catch up with the status
            with self._events_cv:
                caught_up = self._events_cv.wait_for(
                    lambda: (
                        self._last_state() in (state, None)
                        or any(e.get("state") == state for e in self.events[seen:])
                    ),
                    timeout,
                )
            assert caught_up, f"the event stream never reported {state!r}"
        return status

    def _last_state(self) -> str | None:
        states = [e["state"] for e in self.events if e.get("type") == "state"]
        return states[-1] if states else None

    def stop(self) -> int:
        if self._watcher is not None and self._watcher.poll() is None:
            self._watcher.kill()
            self._watcher.wait()
        return self.process.stop()


# --- configs -------------------------------------------------------------------------------

MODELS = {"ga": "gpt-realtime-2", "beta": "gpt-4o-realtime-preview-2025-06-03"}
SIM_API_KEY = "sk-sim-local"


def session_config(sim: Sim, dialect: str, source: str = "provisioning", **overrides: Any) -> dict:
    """A config that talks to ``sim`` in ``dialect``, with keys from ``source``."""
    realtime: dict[str, Any] = {
        "config": {
            "model": MODELS[dialect],
            "instructions": "You are a museum guide. Be brief.",
            "voice": "alloy",
            "input_audio_transcription": True,
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 400},
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ],
            "function_handler": "handlers:get_weather",
        }
    }
    openai: dict[str, Any] = {"api_base": sim.url, "dialect": dialect}
    if source == "provisioning":
        realtime["provisioning"] = {"url": f"{sim.url}/provision?shape=value", "timeout_s": 5}
    elif source == "mint":
        openai["key"] = SIM_API_KEY
    config: dict[str, Any] = {"openai": openai, "realtime": realtime}
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(config.get(section), dict):
            config[section] = {**config[section], **values}
        else:
            config[section] = values
    return config
