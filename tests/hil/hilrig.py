"""The hardware-in-the-loop rig, real or virtual, behind one interface.

A rig is the simulator, a running appliance and the two wires the tests use:

- the **button**: the test presses it (Pi: drives an output pin jumpered to the button pin;
  virtual: drives the mock button pin);
- the **LED**: the test watches it (Pi: an input pin jumpered to the LED pin; virtual: the mock
  LED pin's recorded history).

:class:`PiRig` runs ``appliance run`` as a separate process on the real GPIO and sound card.
:class:`VirtualRig` runs the same appliance in this process
(:class:`appliance.rig.inprocess.InProcessAppliance`), because mock pins cannot be shared with
another process; it is what ``scripts/test`` runs, so the HIL
tests keep working between hardware runs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from appliance.control import request
from appliance.rig.inprocess import InProcessAppliance
from appliance.rig.process import (
    ApplianceProcess,
    StateNotReached,
    child_env,
    wait_state,
    wait_until,
)
from appliance.rig.sim import Sim

ROOT = Path(__file__).resolve().parents[2]
HOLD_MS = 600
BOUNCE_MS = 30
PRESS_S = 0.15


def env_pin(name: str, default: int) -> int:
    return int(os.environ.get(f"APPLIANCE_HIL_{name}", default))


@dataclass(frozen=True)
class Wiring:
    """BCM pin numbers of the rig (override with ``APPLIANCE_HIL_<NAME>`` variables)."""

    button: int = 17  # the appliance's button input
    press: int = 23  # test output, jumpered to ``button``
    led: int = 27  # the appliance's LED output
    sense: int = 24  # test input, jumpered to ``led``

    @classmethod
    def from_env(cls) -> Wiring:
        return cls(
            button=env_pin("BUTTON", cls.button),
            press=env_pin("PRESS", cls.press),
            led=env_pin("LED", cls.led),
            sense=env_pin("SENSE", cls.sense),
        )


def appliance_config(sim: Sim, tmp: Path, wiring: Wiring, audio: dict[str, Any]) -> dict:
    """The configuration both rigs run: the simulator, the rig's pins, a private socket."""
    return {
        "openai": {"api_base": sim.url, "dialect": "ga"},
        "realtime": {
            "provisioning": {"url": f"{sim.url}/provision?shape=value", "timeout_s": 10},
            "config": {"model": "gpt-realtime-2", "voice": "alloy"},
        },
        "audio": audio,
        "display": {"mode": "none"},
        "control": {"socket": str(tmp / "control.sock")},
        "recovery": {"max_attempts": 0},  # a failure shows the error at once (no retries)
        "gpio": {
            "button_pin": wiring.button,
            "led_pin": wiring.led,
            "bounce_ms": BOUNCE_MS,
            "hold_ms": HOLD_MS,
        },
    }


# --- the appliance under test ----------------------------------------------------------------


class Control:
    """Talks to a running appliance over its control socket."""

    def __init__(self, socket: Path, describe: Callable[[], str]) -> None:
        self.socket = socket
        self.describe = describe

    def ctl(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return request(self.socket, {"cmd": cmd, **fields}, timeout=5)

    def status(self) -> dict[str, Any]:
        return self.ctl("status")

    def state(self) -> str:
        return self.status()["state"]

    def answers(self) -> bool:
        try:
            return bool(self.ctl("status")["ok"])
        except Exception:
            return False

    def wait_state(self, state: str, timeout: float = 15) -> dict[str, Any]:
        try:
            return wait_state(self.socket, state, timeout, request_timeout=5)
        except StateNotReached as exc:
            raise AssertionError(f"{exc}\n{self.describe()}") from None

    def say(self, text: str) -> None:
        reply = self.ctl("say", text=text, role="user")
        assert reply["ok"], reply


# --- rigs --------------------------------------------------------------------------------------


class Rig:
    """Button, LED and appliance; see the module docstring."""

    sim: Sim
    app: Control

    # button
    def button(self, down: bool) -> None:
        raise NotImplementedError

    def press(self, seconds: float = PRESS_S) -> None:
        """A short press (stimulus timing: the button stays down ``seconds``)."""
        self.button(True)
        threading.Event().wait(seconds)
        self.button(False)
        threading.Event().wait(2 * BOUNCE_MS / 1000)

    def hold(self, until: Callable[[], bool], timeout: float = 5.0) -> float:
        """Hold the button down until ``until()``; release; how long it was down (s)."""
        start = time.monotonic()
        self.button(True)
        try:
            wait_until(until, timeout, "the hold to act")
        finally:
            held = time.monotonic() - start
            self.button(False)
        threading.Event().wait(2 * BOUNCE_MS / 1000)
        return held

    # LED
    def led_lit(self) -> bool:
        raise NotImplementedError

    def led_mark(self) -> None:
        """Start recording LED changes afresh (see :meth:`led_changes`)."""
        raise NotImplementedError

    def led_changes(self) -> list[tuple[float, bool]]:
        """``(monotonic time, lit)`` for each LED change since :meth:`led_mark`."""
        raise NotImplementedError

    def wait_led_changes(self, count: int, timeout: float = 5.0) -> list[tuple[float, bool]]:
        """The first ``count`` changes since :meth:`led_mark`, waiting for them."""

        def enough() -> list[tuple[float, bool]] | None:
            changes = self.led_changes()
            return changes[:count] if len(changes) >= count else None

        try:
            return wait_until(enough, timeout, f"{count} LED changes")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; got {self.led_changes()}") from None

    def observe(self, seconds: float) -> list[tuple[float, bool]]:
        """LED changes during the next ``seconds`` (an observation window)."""
        self.led_mark()
        threading.Event().wait(seconds)
        return self.led_changes()

    def close(self) -> None:
        raise NotImplementedError


class VirtualRig(Rig):
    """Mock pins, the appliance in-process, the simulator in a subprocess, WAV audio."""

    def __init__(self, tmp: Path) -> None:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        self.wiring = Wiring()
        self.factory = MockFactory(pin_class=MockPWMPin)
        self.sim = Sim()
        self._inproc: InProcessAppliance | None = None
        try:
            config = appliance_config(self.sim, tmp, self.wiring, {"backend": "wav"})
            path = tmp / "config.toml"
            path.write_text(tomli_w.dumps(config))
            self._inproc = InProcessAppliance(path, self.factory, tmp / "out.wav")
            self.app = Control(tmp / "control.sock", lambda: "(in-process appliance)")
            wait_until(self.app.answers, 20, "the control socket")
        except BaseException:
            self.close()
            raise
        self._button = self.factory.pin(self.wiring.button)
        self._led = self.factory.pin(self.wiring.led)
        self._mark = time.monotonic()

    def button(self, down: bool) -> None:
        if down:
            self._button.drive_low()  # pull-up wiring: pressed pulls the pin to ground
        else:
            self._button.drive_high()

    def led_lit(self) -> bool:
        return self._led.state > 0

    def led_mark(self) -> None:
        self._mark = time.monotonic()
        self._led.clear_states()  # the history now starts (0, current) at about _mark

    def led_changes(self) -> list[tuple[float, bool]]:
        out, t = [], self._mark
        for record in list(self._led.states)[1:]:
            t += record.timestamp
            out.append((t, record.state > 0))
        return out

    def close(self) -> None:
        if self._inproc is not None:
            self._inproc.stop()
            self._inproc = None
        self.sim.stop()


class PiRig(Rig):
    """Real pins, ``appliance run`` in a subprocess, the sound card (with a loopback)."""

    def __init__(self, tmp: Path) -> None:
        from gpiozero import DigitalInputDevice, DigitalOutputDevice

        self.wiring = Wiring.from_env()
        self._changes: list[tuple[float, bool]] = []
        self._lock = threading.Lock()
        self.process: ApplianceProcess | None = None
        # Pressed = the press pin pulls the (pulled-up) button pin to ground.
        self._press = DigitalOutputDevice(self.wiring.press, active_high=False, initial_value=False)
        self._sense = DigitalInputDevice(self.wiring.sense, pull_up=False)
        self._sense.when_activated = lambda: self._record(True)
        self._sense.when_deactivated = lambda: self._record(False)
        self.sim = Sim()
        try:
            audio = json.loads(os.environ.get("APPLIANCE_HIL_AUDIO", '{"backend": "pyaudio"}'))
            config = appliance_config(self.sim, tmp, self.wiring, audio)
            path = tmp / "config.toml"
            path.write_text(tomli_w.dumps(config))
            self.log_path = tmp / "appliance.log"
            self.process = ApplianceProcess(path, self.log_path, env=child_env())
            self.app = Control(self.process.socket, self._log_tail)
        except BaseException:
            self.close()
            raise

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def _record(self, lit: bool) -> None:
        with self._lock:
            self._changes.append((time.monotonic(), lit))

    def button(self, down: bool) -> None:
        self._press.value = down

    def led_lit(self) -> bool:
        return bool(self._sense.value)

    def led_mark(self) -> None:
        with self._lock:
            self._changes = []

    def led_changes(self) -> list[tuple[float, bool]]:
        with self._lock:
            return list(self._changes)

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()
        self._press.close()
        self._sense.close()
        self.sim.stop()
