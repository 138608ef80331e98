"""Lifecycle and wiring: the asyncio worker that owns the state machine.

:class:`Appliance` runs on its own thread's event loop. Front ends post inputs through the
:class:`~appliance.hub.Hub`; :meth:`Appliance.handle` applies them to the
:class:`~appliance.state.Machine` and carries out its effects. The realtime session is the
:class:`~appliance.realtime.link.Link`'s (its policy is the sans-I/O
:class:`~appliance.realtime.session.Session`); events go out on the
:class:`~appliance.bus.Bus`, to the control socket's subscribers and the hooks. The control
socket calls the commands below (``status``, ``say``, ``reload``...).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import importlib
import logging
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance import config as config_module
from appliance import state
from appliance.audio import cues
from appliance.audio.backend import AudioBackend, AudioError
from appliance.audio.echo import cancelling as echo_cancelling
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.playback import Playback
from appliance.bus import Bus
from appliance.buttonlogic import action_input
from appliance.captions import Captions
from appliance.config import AppConfig, ConfigError
from appliance.control import ControlServer
from appliance.hooks import HookRunner
from appliance.hub import Hub
from appliance.notify import Notifier
from appliance.realtime.keys import key_source_configured, key_source_description, safe_url
from appliance.realtime.link import Link
from appliance.realtime.reporter import UsageReporter
from appliance.release import read_release, rollback_message
from appliance.volumecontrol import VolumeControl

log = logging.getLogger("appliance")

SCREEN_READY_TIMEOUT_S = 10.0
SNAPSHOT_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

WAKE_RETRY_S = 5.0
"""After the microphone failed or did not open for the wake word, the next try is this late."""

PRESSES = (state.Toggle, state.Mute)
"""Inputs that are the visitor's doing: activity that keeps a session from its idle stop."""

SIMPLE_COMMANDS: dict[str, state.Input] = {
    "start": state.Start(),
    "stop": state.Stop(),
    "toggle": state.Toggle(),
    "mute": state.Mute(True),
    "unmute": state.Mute(False),
}


class Appliance:
    """The worker. Create it, then ``await run()`` on the worker thread's loop.

    ``overrides`` are the command line's settings (a layer above the file, see
    :func:`appliance.config.load`), kept when the file is reloaded.
    """

    def __init__(
        self,
        config: AppConfig,
        hub: Hub,
        audio: AudioBackend,
        *,
        config_path: Path | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.overrides = dict(overrides or {})
        self.hub = hub
        self.machine = state.Machine()
        self.shown = self.machine.view
        """The view the outside world (screen, LED, socket, hooks) has been shown. It trails
        :attr:`machine`'s while a stopped session is still closing its audio device, so
        ``idle`` is only announced once no stream of that session exists."""
        self._closing: asyncio.Task[None] | None = None
        self.bus = Bus()
        self.audio = AudioDevice(audio)
        hub.analyser.max_scale = config.realtime.avatar.max_scale
        self.volume = VolumeControl(config.audio.volume, hub, config_path)
        hub.volume_handler = self.volume.change
        self.playback = Playback(
            max_seconds=config.audio.playback_buffer_s,
            analyser=hub.analyser,
            on_start=lambda: hub.post(state.AudioStarted()),
            on_stop=lambda: hub.post(state.AudioStopped()),
            volume=self.volume.volume,
        )
        self.captions = Captions(config.display.captions)
        self.link = Link(
            config,
            post=self.handle,
            view=lambda: self.machine.view,
            bus=self.bus,
            audio=self.audio,
            playback=self.playback,
            captions=self.captions,
            show_captions=self._show_captions,
        )
        self.cues = cues.load_cues(config.audio.cues)
        self.usage = UsageReporter(config, self.link.take_usage)
        """Usage reports to the key server, one per session (``realtime.provisioning``)."""
        self.bus.listen(self.usage.on_event)
        self.hooks = HookRunner(config.hooks)
        self.bus.listen(self.hooks.dispatch)
        self.notifier = Notifier()
        self.control = ControlServer(self, config.control.socket, config.control.mode)
        self.exporter: Any = None
        """The metrics (:class:`appliance.exporter.Exporter`), when ``[metrics]`` sets a way
        out; the module is not even imported otherwise."""
        if config.metrics.enabled:
            from appliance.exporter import Exporter

            self.exporter = Exporter(
                config.metrics, self.bus, playback=self.playback, audio=self.audio
            )
            self.link.on_key_fetch = self.exporter.metrics.key_fetched
        self.started_at = time.monotonic()
        self.release = read_release()
        """The release state (appliance/release.py): which release, rolled back from which."""
        self.stop_reason: state.StopReason | None = None
        """Why the last session stopped (``status``)."""
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.running = threading.Event()
        """Set once the worker's loop serves inputs (in-process harnesses wait for it)."""
        self.wake: Any = None
        """The wake word's listener (:class:`appliance.wake.WakeListener`) once loaded."""
        self._wake_wanted: bool | None = None
        self._wake_barge_in = False
        self._woken = False
        """The session being started was started by the wake word (for its start cue)."""

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until :meth:`request_stop`; then stop the session and clean up."""
        self._loop = asyncio.get_running_loop()
        self.hub.attach(self._loop, self.handle)
        self.running.set()
        await self.control.start()
        if self.exporter is not None:
            await self.exporter.start()
        if not key_source_configured(self.config):
            log.warning(
                "no key source configured: set realtime.provisioning.url or openai.key_file"
            )
        rt = self.config.realtime
        if rt.auto_start:
            self.handle(state.Start())
        elif rt.auto_fetch_ephemeral_key:
            self._spawn(self.link.prefetch())
        if self.config.wake.enabled:
            await self._load_wake()
        self._spawn(self._announce_ready())
        self._spawn(self.usage.run())
        if rolled_back := rollback_message(self.release):
            log.warning("%s", rolled_back)
        watchdog = self._spawn(self._watchdog())
        log.info(
            "ready: %s, key source: %s, dialect %s, model %s",
            safe_url(self.config.openai.api_base),
            key_source_description(self.config),
            self.config.openai.dialect,
            self.config.realtime.config.model,
        )
        await self._stopping.wait()
        self._notify("stopping")
        self.handle(state.Stop(state.StopReason.SHUTDOWN))
        await self.link.wait_closed(STOP_TIMEOUT_S)
        await self.usage.aclose()  # the last session's report is on disk before the exit
        watchdog.cancel()
        await self.control.close()
        if self.exporter is not None:
            await self.exporter.aclose()
        await self.hooks.aclose()
        await self.link.aclose()
        await self.volume.aclose()
        for task in list(self._background):
            task.cancel()
        if self.wake is not None:
            await self.audio.unlisten()
        await self.audio.shutdown()
        log.info("stopped")

    def request_stop(self) -> None:
        """Thread-safe: ask :meth:`run` to finish."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)

    def request_reload(self) -> None:
        """Thread-safe (SIGHUP): re-read the configuration."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self.reload(), self._loop)

    def _notify(self, what: str, text: str | None = None) -> None:
        try:
            if what == "status":
                self.notifier.status(text)
            else:
                getattr(self.notifier, what)()
        except Exception as exc:  # notification is best effort
            log.debug("sd_notify %s failed: %s", what, exc)

    async def _announce_ready(self) -> None:
        """READY=1 once the config is loaded, the socket listens and the screen is up (or
        known to be absent); a screen that takes over 10 s does not hold the boot."""
        deadline = time.monotonic() + SCREEN_READY_TIMEOUT_S
        while not self.hub.screen_ready.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # a thread-side Event: polled, so shutdown never waits
        self._notify("status", self.shown.state)  # `systemctl status` shows idle from the start
        self._notify("ready")

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval()
        if not interval:
            return
        while True:
            self._notify("watchdog")
            await asyncio.sleep(interval)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # --- the wake word ------------------------------------------------------------------------

    async def _load_wake(self) -> None:
        """Load the wake word's model (imported only now, on a worker thread) and listen."""
        from appliance.audio.wake import Detector, WakeModelError
        from appliance.wake import WakeListener

        wake = self.config.wake
        try:
            detector = await asyncio.to_thread(Detector, wake.model, wake.sensitivity)
        except (WakeModelError, ImportError, OSError) as exc:
            log.error("the wake word is off: %s", exc)
            self.handle(state.Failed(f"wake word: {exc}"))
            return
        loop = asyncio.get_running_loop()

        def on_wake() -> None:  # the audio thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_heard)

        def on_error(message: str) -> None:  # any thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_failed, message)

        self.wake = WakeListener(
            detector,
            wake.refractory_s,
            on_wake=on_wake,
            on_error=on_error,
            barge_in=lambda: self._wake_barge_in,
        )
        self.audio.listener = self.wake
        log.info(
            "wake word %r (cutoff %.2f, model %s)", detector.wake_word, detector.cutoff, wake.model
        )
        self._update_wake()
        self._spawn(self._preload())

    async def _preload(self) -> None:
        """With the wake word on, the libraries a session loads at its start (the HTTP client;
        with echo cancelling, the canceller) are loaded now, at idle, one after the other on a
        worker thread: the first session starts without that burst (frames and audio late
        under a Pi's CPU). Part of what the wake word adds to the idle memory."""
        from appliance import httpclient
        from appliance.audio.echo import CANCEL_PACKAGE, cancel_available

        try:
            await httpclient.aiohttp()
            if self.config.audio.echo == "cancel" and cancel_available() is None:
                await asyncio.to_thread(importlib.import_module, f"{CANCEL_PACKAGE}.rtc")
            log.info("the session's libraries are loaded (the wake word's first session)")
        except Exception as exc:  # the session loads them itself, and says what failed
            log.debug("preloading failed: %s", exc)

    def _wake_heard(self) -> None:
        """The word was heard: start as a press does; while the model speaks (an echo
        canceller running), interrupt it."""
        view = self.machine.view
        self.bus.emit({"type": "wake", "word": self.wake.detector.wake_word})
        if view.muted:
            self.wake.release()
        elif view.phase in (state.Phase.IDLE, state.Phase.ERROR):
            self._woken = True
            self.handle(state.Start())
        elif view.phase is state.Phase.LIVE and view.speaking:
            self.handle(state.Toggle())
        else:
            self.wake.release()

    def _wake_failed(self, message: str) -> None:
        log.error("wake word: the microphone failed: %s", message)
        self._spawn(self._listen(False, retry=True))

    def _update_wake(self) -> None:
        """Listen for the word whenever not muted (a session's streams are kept open after it
        for the listener); drop held audio that no session came to take."""
        wake = self.wake
        if wake is None:
            return
        view = self.machine.view
        if view.phase is not state.Phase.CONNECTING and wake.holding:
            wake.release()
        self._wake_barge_in = (
            view.phase is state.Phase.LIVE
            and view.speaking
            and echo_cancelling(self.config.audio, self.audio.backend)
        )
        want = not view.muted
        if want != self._wake_wanted:
            self._wake_wanted = want
            self._spawn(self._listen(want))

    async def _listen(self, want: bool, retry: bool = False) -> None:
        """Open (or close) the streams for the word; a failure is tried again after
        :data:`WAKE_RETRY_S` (a device unplugged at idle comes back without a press)."""
        try:
            if want:
                await self.audio.listen(self.playback)
            else:
                await self.audio.unlisten()
        except AudioError as exc:
            log.error("wake word: the microphone did not open: %s", exc)
            retry = True
        self.handle(state.WakeListening(self.audio.listening and self.audio.is_open))
        if retry:
            self._wake_wanted = True  # no new attempt before the retry
            await asyncio.sleep(WAKE_RETRY_S)
            self._wake_wanted = None
            self._update_wake()

    # --- state machine ----------------------------------------------------------------------

    def handle(self, given: state.Input) -> None:
        """Apply one input (on the loop thread) and carry out the effects."""
        if isinstance(given, PRESSES):
            self.link.activity()  # a press keeps the session: the idle stop waits again
        for effect in self.machine.handle(given):
            match effect:
                case state.Connect():
                    self._clear_captions()
                    self.link.start()
                case state.Disconnect():
                    self._clear_captions()  # cleared at stop
                    self._hold_until_closed(self.link.cancel())
                case state.Interrupt():
                    self.link.barge_in(cancel_response=True)
                case state.Emit(name=name, reason=None):
                    log.info("session %s", name)
                    self.bus.emit({"type": name})
                case state.Emit(name=name, reason=reason):
                    log.info("session %s (%s)", name, reason)
                    self.stop_reason = reason
                    self.bus.emit({"type": name, "reason": reason})
        self._update_wake()
        self._show()

    def _show_captions(self) -> None:
        self.hub.show_captions(self.captions.shown())

    def _clear_captions(self) -> None:
        if self.captions.clear():
            self._show_captions()

    def _hold_until_closed(self, task: asyncio.Task[None] | None) -> None:
        """Until ``task`` (a session tearing down) has closed its audio device, the new
        state is held back (see :meth:`_show`)."""
        if task is not None and self._closing is not task:
            self._closing = task
            task.add_done_callback(lambda _task: self._show())

    def _show(self) -> None:
        """Show the machine's view to the front ends, unless a stopped session is still
        tearing down: then it is shown when that session's task has ended."""
        if self._closing is not None and not self._closing.done():
            return
        before, after = self.shown, self.machine.view
        if after == before:
            return
        self.shown = after
        self.hub.show(after)
        self._cue(before, after)
        if after.state != before.state:
            log.info("state %s", after.state)
            self._notify("status", after.state)
        self.bus.emit({"type": "state", **after.as_dict()})

    def _cue(self, before: state.View, after: state.View) -> None:
        """Play the sound cue of this change of state, if any (not while shutting down)."""
        name = cues.cue_for(before, after)
        if after.phase is not state.Phase.CONNECTING:
            woken, self._woken = self._woken, False
            if name == "start" and woken:
                # the visitor goes on speaking after the word, and the microphone is not sent
                # while a cue plays: the first words would be lost under it
                log.debug("no start cue: the session was started by the wake word")
                name = None
        samples = self.cues.get(name) if name else None
        if samples is not None and not self._stopping.is_set():
            self._spawn(self.audio.cue(self.playback, samples))

    # --- commands (the control socket's interface) -------------------------------------------

    def status(self) -> dict[str, Any]:
        view = self.shown
        return {
            "state": view.state,
            "phase": view.phase.value,
            "muted": view.muted,
            "speaking": view.speaking,
            "dialect": self.link.dialect,
            "model": self.config.realtime.config.model,
            "api_base": safe_url(self.config.openai.api_base),
            "key_source": key_source_description(self.config),
            "last_error": self.link.last_error,
            "notice": view.notice,
            "countdown_s": view.countdown_s,
            "wake": view.wake,
            "stop_reason": self.stop_reason,
            "session_id": self.link.session_id,
            "audio": self.audio.name,
            "audio_open": self.audio.is_open,
            "volume": self.volume.percent,
            "playback": {
                "underruns": self.playback.stats.underruns,
                "queued_ms": self.playback.queued_ms,
            },
            "display": dataclasses.asdict(self.hub.display_stats),
            "captions": [dataclasses.asdict(c) for c in self.hub.captions],
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "release": self.release,
            "tasks": len(asyncio.all_tasks()),
        }

    def command(self, name: str) -> dict[str, Any]:
        """``start``, ``stop``, ``toggle``, ``mute``, ``unmute``."""
        if name not in SIMPLE_COMMANDS:
            return {"ok": False, "error": f"unknown command {name!r}"}
        self.handle(SIMPLE_COMMANDS[name])
        return self._outcome()

    def press(self, hold: bool) -> dict[str, Any]:
        """What the physical button does (a short press, or a hold), same mapping."""
        gpio = self.config.gpio
        wanted = action_input(gpio.hold if hold else gpio.press)
        if wanted is not None:
            self.handle(wanted)
        return self._outcome()

    def _outcome(self) -> dict[str, Any]:
        """The reply to a command: the state it leads to (the machine's, which the front
        ends show once any teardown is over)."""
        return {"ok": True, "state": self.machine.view.state, "muted": self.machine.view.muted}

    async def say(self, text: str, role: str, respond: bool | None) -> dict[str, Any]:
        if self.machine.view.phase is not state.Phase.LIVE:
            return {"ok": False, "error": "not connected: start a session first"}
        return await self.link.say(text, role, respond)

    def set_volume(self, change: str | int | None) -> dict[str, Any]:
        """``appliance volume``: ``N``, ``+N``, ``-N`` or None (only tell it)."""
        return self.volume.change(change)

    async def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Deep Chat's ``updateConfig``: validate, remember for next sessions, and send now."""
        return await self.link.update_config(changes)

    async def snapshot(self) -> dict[str, Any]:
        """The screen as PNG (base64) in the reply. The renderer writes it into a private
        directory of this process, never to a path a client names."""
        with tempfile.TemporaryDirectory(prefix="appliance-snapshot-") as folder:
            future = self.hub.request_snapshot(Path(folder) / "screen.png")
            try:
                saved = await asyncio.wait_for(asyncio.wrap_future(future), SNAPSHOT_TIMEOUT_S)
                png = await asyncio.to_thread(saved.read_bytes)
            except TimeoutError:
                return {"ok": False, "error": "no screen renderer answered (is the display up?)"}
            except Exception as exc:
                return {"ok": False, "error": f"snapshot failed: {exc}"}
        return {"ok": True, "png": base64.b64encode(png).decode("ascii")}

    async def reload(self) -> dict[str, Any]:
        """Re-read the config file (command-line overrides kept); apply what can be applied
        live, report the rest."""
        self._notify("reloading")
        try:
            new = config_module.load(self.config_path, overrides=self.overrides)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            self._notify("ready")
            return {"ok": False, "error": str(exc)}
        try:
            self.link.configure(new)  # all or nothing: raises before anything changed
        except Exception as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            self._notify("ready")
            return {"ok": False, "error": str(exc)}
        for note in new.ignored_keys:  # a Deep Chat JSON's keys that do nothing here
            log.warning("config %s: %s", self.config_path or "(default)", note)
        restart = config_module.restart_needed(self.config, new)
        old_session = self.config.realtime.config
        old_volume = self.config.audio.volume
        self.config = new
        self.hooks.update(new.hooks)
        self.usage.configure(new)
        if new.audio.volume != old_volume:
            self.volume.reloaded(new.audio.volume)
        sent = False
        if new.realtime.config != old_session:
            sent = await self.link.resend_session()
        log.info(
            "config reloaded%s", f"; restart needed for {', '.join(restart)}" if restart else ""
        )
        self._notify("ready")
        return {"ok": True, "session_update_sent": sent, "restart_needed": restart}
