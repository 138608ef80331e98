"""The real kiosk for the benchmarks: ``appliance run`` with its window on Xvfb, talking to the
simulator, audio on the virtual sound server.

    with Rig(answer_seconds=12) as rig:
        with Kiosk(rig, (800, 480)) as kiosk:     # spawned now
            kiosk.watcher.find_window(...)        # the X side (frames, pixels)
            kiosk.wait_ready()                    # the control socket answers
            kiosk.speak("Tell me about this room.")

:class:`Rig` holds what the runs share: the sound server (PyAudio on the virtual PulseAudio
server when there is one, else WAV files), the simulator and one 1920x1080 Xvfb display.
:class:`Kiosk` is one ``appliance run --config CONFIG`` in window mode at a given size, with
no auto start, in its own process group (killed on close). SDL draws on the X display
(``SDL_VIDEODRIVER=x11``; a ``dummy`` driver inherited from ``scripts/bench`` is replaced).

Not a benchmark area itself (the leading underscore keeps ``scripts/bench`` from running it).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from appliance.bench.audio import sound_path
from appliance.control import request
from appliance.rig.process import ApplianceFailedToStart, ApplianceProcess, StateNotReached
from appliance.rig.sim import SimProcess
from appliance.rig.xdisplay import XWatcher, server_pid, virtual_display, x11_env

SCREEN = (1920, 1080)


class Rig:
    """The sound server, the simulator and the X display, for the duration of a ``with``."""

    def __init__(self, answer_seconds: float = 4.0, sound: bool = True) -> None:
        self.answer_seconds = answer_seconds
        self.sound = sound
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Rig:
        stack = self._stack.__enter__()
        try:
            self.work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            self.audio = "wav"
            self.where = "WAV files (no sound server)"
            if self.sound:
                try:
                    self.where = "PyAudio on " + stack.enter_context(sound_path())
                    self.audio = "pyaudio"
                except RuntimeError as exc:
                    print(f"   no sound server ({exc}): WAV audio", file=sys.stderr)
            self.env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
            self.env["PYTHONUNBUFFERED"] = "1"
            self.env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
            sim = SimProcess("--answer-seconds", f"{self.answer_seconds:g}", env=self.env)
            stack.callback(sim.stop)
            self.sim_url = sim.url
            self.display = stack.enter_context(virtual_display(*SCREEN))
            self.xvfb_pid = server_pid(self.display)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)


class Kiosk:
    """One ``appliance run`` in window mode on the rig's display; spawned on construction.

    ``audio`` adds settings to the ``[audio]`` section (e.g. ``{"echo": "full-duplex"}``),
    ``display`` to ``[display]`` (e.g. ``{"captions": "off"}``); ``cues=False`` turns the sound
    cues off;
    ``prefix`` goes before the command and must exec it (the pid stays the appliance's), e.g. a
    wrapper that moves itself into a cgroup first; ``wake`` turns the wake word on."""

    def __init__(
        self,
        rig: Rig,
        size: tuple[int, int],
        *,
        fps: int = 30,
        audio: Mapping[str, str | int] | None = None,
        display: Mapping[str, str | int] | None = None,
        cues: bool = True,
        prefix: Sequence[str] = (),
        wake: bool = False,
    ) -> None:
        self.rig = rig
        self.wake = wake
        self.size = size
        self.work = Path(tempfile.mkdtemp(prefix=f"kiosk-{size[0]}x{size[1]}-", dir=rig.work))
        self.socket = self.work / "control.sock"
        config = self.work / "config.toml"
        config.write_text(self._config(fps, audio or {}, display or {}, cues))
        args = ["--audio-out", str(self.work / "out.wav")] if rig.audio == "wav" else []
        env = x11_env(rig.display, rig.env)  # SDL_VIDEODRIVER=x11 replaces an inherited dummy
        self.log_path = self.work / "appliance.log"
        self.watcher = XWatcher(rig.display)
        try:
            self.process = ApplianceProcess(
                config,
                self.log_path,
                args=args,
                env=env,
                prefix=prefix,
                socket=self.socket,
                wait=False,
                new_session=True,
            )
        except BaseException:
            self.watcher.close()
            raise
        self.proc = self.process.proc
        self.spawned = self.process.spawned
        self.pid = self.process.pid

    def _config(
        self,
        fps: int,
        audio: Mapping[str, str | int],
        display: Mapping[str, str | int],
        cues: bool = True,
    ) -> str:
        url = self.rig.sim_url
        extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in audio.items())
        shown = "".join(f"{key} = {json.dumps(value)}\n" for key, value in display.items())
        if not cues:
            extra += 'cues = { start = "off", stop = "off", error = "off" }\n'
        return (
            "[openai]\n"
            f'api_base = "{url}"\n'
            'dialect = "ga"\n'
            "[realtime]\n"
            "auto_start = false\n"
            "[realtime.provisioning]\n"
            f'url = "{url}/provision"\n'
            "[realtime.config]\n"
            'turn_detection = { type = "server_vad", silence_duration_ms = 400 }\n'
            "[audio]\n"
            f'backend = "{self.rig.audio}"\n'
            f"{extra}"
            "[control]\n"
            f'socket = "{self.socket}"\n'
            "[display]\n"
            'mode = "window"\n'
            f"size = [{self.size[0]}, {self.size[1]}]\n"
            f"fps = {fps}\n"
            f"{shown}"
            "[gpio]\n"
            "enabled = false\n" + ("[wake]\nenabled = true\n" if self.wake else "")
        )

    # --- the process -----------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.process.alive()

    def log(self) -> str:
        return self.process.log()

    def failed(self, what: str) -> RuntimeError:
        return RuntimeError(f"{what}; appliance log:\n{self.log()[-2000:]}")

    def first_frame(self, timeout: float = 30.0) -> tuple[float, float]:
        """Wait for the window and its first drawn frame; returns the seconds from the spawn
        to the window being mapped and to the idle screen being presented."""
        try:
            mapped, drawn = self.watcher.follow(self.size, timeout, alive=self.alive)
        except RuntimeError as exc:
            raise self.failed(str(exc)) from None
        return mapped - self.spawned, drawn - self.spawned

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the control socket answers."""
        try:
            self.process.wait_ready(timeout, interval=0.02)
        except ApplianceFailedToStart:
            raise self.failed("the appliance's control socket never answered") from None

    def ctl(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return request(self.socket, {"cmd": cmd, **fields}, timeout=10)

    def wait_state(self, *names: str, timeout: float = 20.0) -> dict[str, Any]:
        try:
            return self.process.wait_state(*names, timeout=timeout)
        except StateNotReached as exc:
            raise self.failed(str(exc)) from None

    def speak(self, text: str = "Tell me about this room.") -> None:
        """Start a session and have the model answer ``text`` out loud; returns once the
        appliance is speaking (the avatar follows the answer's audio)."""
        reply = self.ctl("start")
        if not reply.get("ok"):
            raise self.failed(f"start refused: {reply}")
        self.wait_state("listening")
        reply = self.ctl("say", text=text, role="user")
        if not reply.get("ok"):
            raise self.failed(f"say refused: {reply}")
        self.wait_state("speaking")

    def check_x11(self) -> None:
        """Fail unless the appliance's log says it opened its window on SDL's x11 driver."""
        if "on SDL driver x11" not in self.log():
            raise self.failed("the appliance did not open its window on SDL's x11 driver")

    def close(self) -> None:
        """SIGTERM the appliance's process group (SIGKILL after 10 s); stop watching."""
        try:
            self.process.stop(grace=10.0)
        finally:
            self.watcher.close()

    def __enter__(self) -> Kiosk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
