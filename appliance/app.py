"""Wiring: the asyncio worker that owns the state machine, the session, the socket and hooks.

:class:`Appliance` runs on its own thread's event loop. Front ends post inputs through the
:class:`~appliance.hub.Hub`; :meth:`Appliance.handle` applies them to the
:class:`~appliance.state.Machine` and carries out the effects. One realtime session at a time
runs as a task (:meth:`Appliance._session_task`): fetch a fresh key, connect, stream the
microphone, play the answers, handle barge-in and function calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from appliance import state
from appliance.audio.backend import AudioBackend, AudioError
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.playback import Playback
from appliance.config import AppConfig, ConfigError, SessionConfig
from appliance.configfile import restart_needed
from appliance.control import ControlServer
from appliance.functions import FunctionRunner
from appliance.hooks import HookRunner
from appliance.hub import Hub
from appliance.keys import KeySource, KeySourceError, excerpt, safe_url
from appliance.notify import Notifier
from appliance.realtime.dialects import BETA_REFUSAL_CODE, DIALECTS, DialectError, guess
from appliance.realtime.protocol import (
    AudioDelta,
    FunctionCalls,
    Protocol,
    ServerError,
    SessionReady,
    SpeechStarted,
    Transcript,
)
from appliance.recovery import (
    FATAL_SERVER_CODES,
    Backoff,
    Liveness,
    SessionError,
    retryable_http_status,
)
from appliance.secrets import REDACTOR

log = logging.getLogger("appliance")

CAPTURE_QUEUE_BLOCKS = 50
"""Microphone blocks buffered while the network is slow (1 s at 20 ms); older ones are dropped."""
EVENT_QUEUE_SIZE = 256
"""Per-subscriber event backlog on the control socket; a slow reader loses the oldest events."""
CONNECT_TIMEOUT_S = 15.0
SCREEN_READY_TIMEOUT_S = 10.0


class _BetaRefused(Exception):
    pass


def _current() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class Appliance:
    """The worker. Create it, then ``await run()`` on the worker thread's loop."""

    def __init__(
        self,
        config: AppConfig,
        hub: Hub,
        audio: AudioBackend,
        *,
        config_path: Path | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.hub = hub
        self.audio = AudioDevice(audio)
        self._audio_generation = 0
        """Bumped at each open: errors reported by an earlier open's streams are ignored."""
        self.machine = state.Machine()
        self.published = self.machine.view
        """The view the outside world (screen, LED, socket, hooks) has been shown. It trails
        :attr:`machine`'s while a stopped session is still closing its audio device, so
        ``idle`` is only announced once no stream of that session exists."""
        self._closing: asyncio.Task[None] | None = None
        self.keys = KeySource(config)
        self.functions = FunctionRunner(config.realtime.config.function_handler)
        hub.analyser.max_scale = config.realtime.avatar.max_scale
        self.playback = Playback(
            max_seconds=config.audio.playback_buffer_s,
            analyser=hub.analyser,
            on_start=lambda: hub.post(state.AudioStarted()),
            on_stop=lambda: hub.post(state.AudioStopped()),
        )
        self.last_error: str | None = None
        self.dialect = self._configured_dialect()
        self.session_id: str | None = None
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.capture_to_send_ms: deque[float] = deque(maxlen=2000)
        """Latest microphone blocks' capture -> ``append`` sent times (bench)."""
        self._task: asyncio.Task[None] | None = None
        self._ws: Any = None
        self._proto: Protocol | None = None
        self._interrupted: set[str] = set()
        self._was_live = False
        self._liveness: Liveness | None = None
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.hooks = HookRunner(config.hooks)
        self.notifier = Notifier()
        self.control = ControlServer(self, config.control.socket, config.control.mode)
        self.started_at = time.monotonic()

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until :meth:`request_stop`; then stop the session and clean up."""
        self._loop = asyncio.get_running_loop()
        self.hub.attach(self._loop, self.handle)
        await self.control.start()
        if not self.keys.configured:
            log.warning(
                "no key source configured: set realtime.provisioning.url or openai.key_file"
            )
        rt = self.config.realtime
        if rt.auto_start:
            self.handle(state.Start())
        elif rt.auto_fetch_ephemeral_key and self.keys.configured:
            self._spawn(self._prefetch())
        self._spawn(self._announce_ready())
        watchdog = self._spawn(self._watchdog())
        log.info(
            "ready: %s, key from %s, dialect %s, model %s",
            safe_url(self.config.openai.api_base),
            self.keys.describe(),
            self.config.openai.dialect,
            self.config.realtime.config.model,
        )
        await self._stopping.wait()
        self._notify("stopping")
        self.handle(state.Stop())
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
        watchdog.cancel()
        await self.control.close()
        await self.hooks.aclose()
        for task in list(self._background):
            task.cancel()
        await self.audio.shutdown()
        log.info("stopped")

    def request_stop(self) -> None:
        """Thread-safe: ask :meth:`run` to finish."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)

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

    # --- state machine ----------------------------------------------------------------------

    def handle(self, event: state.Input) -> None:
        """Apply one input (on the loop thread) and carry out the effects."""
        effects = self.machine.handle(event)
        for effect in effects:
            match effect:
                case state.Connect():
                    self._start_session()
                case state.Disconnect():
                    self._cancel_session()
                case state.Interrupt():
                    self._barge_in(cancel_response=True)
                case state.Emit(name=name):
                    log.info("session %s", name)
                    self.emit({"type": name})
        self._publish()

    def _publish(self) -> None:
        """Show the machine's view to the front ends, unless a stopped session is still
        tearing down: then it is shown when that session's task has ended."""
        if self._closing is not None and not self._closing.done():
            return
        before, after = self.published, self.machine.view
        if after == before:
            return
        self.published = after
        self.hub.publish(after)
        if after.state != before.state:
            log.info("state %s", after.state)
            self._notify("status", after.state)
        self.emit({"type": "state", **after.as_dict()})

    def emit(self, event: dict[str, Any]) -> None:
        """Publish an event to socket subscribers and hooks (never blocks)."""
        event = {"time": round(time.time(), 3), **event}
        for queue in list(self.subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
        try:
            self.hooks.dispatch(event)
        except Exception as exc:
            log.warning("hook dispatch failed: %s", exc)

    def _fail(self, cause: str) -> None:
        cause = REDACTOR(cause)
        self.last_error = cause
        log.error("error: %s", cause)
        self.emit({"type": "error", "message": cause, "fatal": True})
        self.handle(state.Failed(cause))

    # --- session ----------------------------------------------------------------------------

    def _configured_dialect(self) -> str:
        wanted = self.config.openai.dialect
        return guess(self.config.realtime.config.model) if wanted == "auto" else wanted

    def _start_session(self) -> None:
        previous = self._task
        self._task = asyncio.get_running_loop().create_task(self._session_task(previous))

    def _cancel_session(self) -> None:
        """End the session task (a task reporting its own failure ends on its own). Until it
        has closed its audio device, the new state is held back (see :meth:`_publish`)."""
        task = self._task
        if task is None or task.done():
            return
        if task is not _current():
            task.cancel()
        if self._closing is not task:
            self._closing = task
            task.add_done_callback(lambda _task: self._publish())

    async def _prefetch(self) -> None:
        try:
            await self.keys.prefetch(self.dialect)
            log.info("key fetched ahead of the first press")
        except KeySourceError as exc:
            self._fail(str(exc))

    async def _session_task(self, previous: asyncio.Task[None] | None) -> None:
        """Connect, serve, and reconnect after recoverable failures (see appliance.recovery)."""
        if previous is not None and not previous.done():
            previous.cancel()
            with contextlib.suppress(BaseException):
                await previous
        rec = self.config.recovery
        backoff = Backoff(rec.backoff_initial_s, rec.backoff_max_s, rec.max_attempts)
        dialect = self._configured_dialect()
        failures = 0
        beta_fallback_done = False
        self._was_live = False
        try:
            while True:
                try:
                    key = await self.keys.fetch(dialect)
                    if self.config.openai.dialect == "auto" and key.dialect:
                        dialect = key.dialect
                    await self._serve(dialect, key.value)
                    failures = 0  # a planned reconnect (session time limit)
                    self.handle(state.Reconnecting("renewing the session", 1))
                    continue
                except _BetaRefused:
                    if self.config.openai.dialect != "auto" or beta_fallback_done:
                        raise SessionError(
                            "the server refuses the beta API (beta_api_shape_disabled): "
                            'set openai.dialect = "ga" or "auto"',
                            retryable=False,
                        ) from None
                    log.warning("the server refuses the beta API shape; switching to GA")
                    dialect, beta_fallback_done = "ga", True
                    continue
                except SessionError as exc:
                    if not exc.retryable:
                        raise
                    if self._was_live:
                        failures = 0  # the connection worked: count afresh
                        self._was_live = False
                    failures += 1
                    cause = REDACTOR(str(exc))
                    if backoff.gives_up(failures):
                        attempts = failures - 1
                        raise SessionError(
                            f"{cause} (gave up after {attempts} "
                            f"{'retry' if attempts == 1 else 'retries'}; press to try again)",
                            retryable=False,
                        ) from None
                    delay = backoff.delay(failures)
                    self.last_error = cause
                    log.warning("%s; reconnecting in %.1f s (attempt %d)", cause, delay, failures)
                    self.emit({"type": "error", "message": cause, "fatal": False})
                    self.handle(state.Reconnecting(cause, failures))
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self._superseded():
                # stopped or replaced: what it raised on the way out is nobody's error
                log.debug("a stopped session ended with %s: %s", type(exc).__name__, exc)
            elif isinstance(exc, SessionError | DialectError):
                self._fail(str(exc))
            elif isinstance(exc, AudioError):
                self._fail(f"audio: {exc}")
            else:  # keep the worker alive whatever happens
                log.exception("session failed")
                self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            await self._teardown()

    def _superseded(self) -> bool:
        """True in a session task that was cancelled or replaced by a newer one."""
        task = _current()
        return task is None or task is not self._task or task.cancelling() > 0

    async def _serve(self, dialect_name: str, key: str) -> None:
        """One connection. Returns for a planned reconnect; raises :class:`SessionError` when
        the connection fails or ends unexpectedly."""
        self.dialect = dialect_name
        self._was_live = False
        dialect = DIALECTS[dialect_name]
        cfg = self.config.realtime.config
        proto = Protocol(dialect, cfg)
        session_update = proto.session_update_event()  # raises DialectError before connecting
        url = dialect.ws_url(self.config.openai.api_base, cfg.model)
        where = safe_url(url)
        stall_s = self.config.recovery.stall_timeout_s
        try:
            ws = await websockets.connect(
                url,
                additional_headers=dialect.ws_headers(key),
                open_timeout=CONNECT_TIMEOUT_S,
                max_size=16 * 1024 * 1024,
                ping_interval=min(20.0, stall_s / 2),
                ping_timeout=min(20.0, stall_s / 2),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = exc.response.body or b""
            raise SessionError(
                f"{where} refused the connection: HTTP {status}: {excerpt(body)}",
                # 401: the key expired or was used; a fresh one may work
                retryable=status == 401 or retryable_http_status(status),
            ) from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise SessionError(
                f"cannot connect to {where}: {excerpt(str(exc) or type(exc).__name__)}",
                retryable=True,
            ) from None
        self._ws, self._proto = ws, proto
        self._interrupted.clear()
        last_error: ServerError | None = None
        sender: asyncio.Task[None] | None = None
        activity = self._liveness = Liveness(time.monotonic())
        watchdog = asyncio.get_running_loop().create_task(self._watch(ws, activity))
        try:
            async for frame in ws:
                activity.heard(time.monotonic())
                for happening in proto.receive(frame):
                    activity.track(happening, proto.response_active)
                    if isinstance(happening, SessionReady):
                        if sender is not None:
                            continue  # a repeated session.created: already set up
                        self.session_id = happening.session.get("id")
                        self._was_live = True
                        if self._needs_update(cfg):
                            await ws.send(json.dumps(session_update))
                            activity.expect(time.monotonic())
                        sender = await self._open_audio(ws, proto)
                        # live (screen, LED, "started") only once the device really is open
                        self.handle(state.Connected())
                    elif isinstance(happening, ServerError):
                        last_error = happening
                        if happening.code == BETA_REFUSAL_CODE:
                            raise _BetaRefused()
                        self._server_error(happening)
                    else:
                        await self._on(happening, ws, proto)
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            if sender is not None:
                sender.cancel()
            await self.audio.close()  # the one place a session's audio is closed
            self.playback.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)
        if activity.planned:
            return
        if last_error is not None and last_error.code == BETA_REFUSAL_CODE:
            raise _BetaRefused()
        if activity.stalled:
            cause = f"the server stopped answering (nothing for {stall_s:g} s)"
        else:
            code, reason = ws.close_code, ws.close_reason or ""
            cause = (
                f"connection closed by the server (code {code}{': ' + reason if reason else ''})"
            )
        if last_error is not None:
            cause += f" after: {last_error}"
        fatal = last_error is not None and last_error.code in FATAL_SERVER_CODES
        raise SessionError(cause, retryable=not fatal)

    async def _watch(self, ws: Any, activity: Liveness) -> None:
        """Close the socket when the server stalls, or renew the session at a quiet moment
        before the service's session time limit."""
        rec = self.config.recovery
        started = time.monotonic()
        while True:
            await asyncio.sleep(min(0.25, rec.stall_timeout_s / 4))
            now = time.monotonic()
            if activity.is_stalled(now, rec.stall_timeout_s):
                activity.stalled = True
                await ws.close(1000, "stalled")
                return
            quiet = activity.is_quiet(self.playback.audible_within(1.0))
            if now - started > rec.session_max_s and quiet:
                log.info("renewing the session before the service's time limit")
                activity.planned = True
                await ws.close(1000, "renewing")
                return

    @staticmethod
    def _needs_update(cfg: SessionConfig) -> bool:
        """Send ``session.update`` only when the user configured session fields; otherwise
        the key's minted session (e.g. from a provisioning server) stays as it is."""
        return bool(cfg.model_dump(exclude_unset=True, exclude={"model", "function_handler"}))

    def _server_error(self, error: ServerError) -> None:
        message = REDACTOR(str(error))
        self.last_error = message
        log.warning("%s", message)
        self.emit({"type": "error", "message": message, "fatal": False, "code": error.code})
        self.handle(state.Notice(message))

    async def _on(self, happening: Any, ws: Any, proto: Protocol) -> None:
        if isinstance(happening, AudioDelta):
            if happening.item_id not in self._interrupted:
                self.playback.push(happening.item_id, happening.pcm, happening.content_index)
        elif isinstance(happening, SpeechStarted):
            if self.playback.playing or self.playback.queued_ms:
                self._barge_in(cancel_response=False)
        elif isinstance(happening, Transcript):
            log.info("%s: %s", happening.role, happening.text)
            self.emit({"type": "transcript", "role": happening.role, "text": happening.text})
        elif isinstance(happening, FunctionCalls):
            self._spawn(self._run_functions(happening, ws, proto))

    async def _run_functions(self, calls: FunctionCalls, ws: Any, proto: Protocol) -> None:
        results = await asyncio.gather(
            *(self.functions.call(c.name, c.arguments) for c in calls.calls)
        )
        for call, result in zip(calls.calls, results, strict=True):
            log.info("function %s(%s) -> %s", call.name, call.arguments, json.dumps(result)[:200])
            self.emit(
                {
                    "type": "function_call",
                    "name": call.name,
                    "arguments": call.arguments,
                    "call_id": call.call_id,
                    "output": result,
                }
            )
        pairs = [(c.call_id, r) for c, r in zip(calls.calls, results, strict=True)]
        with contextlib.suppress(ConnectionClosed):
            for event in proto.function_output_events(pairs):
                await ws.send(json.dumps(event))
            self._expect_answer()

    def _barge_in(self, *, cancel_response: bool) -> None:
        """Stop playback now, drop the queue and tell the server what was really played."""
        item = self.playback.clear()
        ws, proto = self._ws, self._proto
        if ws is None or proto is None:
            return
        events = []
        if cancel_response and proto.response_active:
            events.append(proto.cancel_event())
        if item is not None:
            self._interrupted.add(item.item_id)
            events.append(proto.truncate_event(item.item_id, item.content_index, item.played_ms))
            log.info("barge-in: %s truncated at %d ms", item.item_id, item.played_ms)
            self.emit(
                {"type": "interrupted", "item_id": item.item_id, "audio_end_ms": item.played_ms}
            )
        if events:
            self._spawn(self._send_quietly(ws, events))

    @staticmethod
    async def _send_quietly(ws: Any, events: list[dict[str, Any]]) -> None:
        """Send in order; a closed socket is the session's business, not the sender's."""
        with contextlib.suppress(ConnectionClosed):
            for event in events:
                await ws.send(json.dumps(event))

    async def _open_audio(self, ws: Any, proto: Protocol) -> asyncio.Task[None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[np.ndarray, float]] = asyncio.Queue(CAPTURE_QUEUE_BLOCKS)

        def put(block: np.ndarray, captured: float) -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((block, captured))

        def on_capture(block: np.ndarray, captured: float) -> None:  # audio thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(put, block, captured)

        self._audio_generation += 1
        generation = self._audio_generation

        def on_error(message: str) -> None:  # any thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._audio_failed, message, generation)

        self.playback.clear()
        await self.audio.open(self.playback, on_capture, on_error)
        return loop.create_task(self._send_microphone(ws, proto, queue))

    def _audio_failed(self, message: str, generation: int) -> None:
        current = generation == self._audio_generation and self.audio.is_open
        if current and self.machine.view.phase is state.Phase.LIVE:
            self._fail(f"audio: {message}")

    async def _send_microphone(
        self, ws: Any, proto: Protocol, queue: asyncio.Queue[tuple[np.ndarray, float]]
    ) -> None:
        tail_s = self.config.audio.echo_tail_ms / 1000
        half_duplex = self.config.audio.echo == "half-duplex"
        latencies = self.capture_to_send_ms
        while True:
            block, captured = await queue.get()
            view = self.machine.view
            if view.phase is not state.Phase.LIVE or view.muted:
                continue  # muted: send nothing; server VAD sees a pause
            if half_duplex and self.playback.audible_within(tail_s):
                continue  # the model is talking: never let it hear itself
            try:
                await ws.send(json.dumps(proto.append_event(block.astype("<i2").tobytes())))
            except ConnectionClosed:
                return
            latencies.append((time.perf_counter() - captured) * 1000)

    def _expect_answer(self) -> None:
        if self._liveness is not None:
            self._liveness.expect(time.monotonic())

    async def _teardown(self) -> None:
        self.playback.clear()
        ws, self._ws, self._proto = self._ws, None, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)
        self.session_id = None

    # --- commands (control socket) ----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        view = self.published
        return {
            "state": view.state,
            "phase": view.phase.value,
            "muted": view.muted,
            "speaking": view.speaking,
            "dialect": self.dialect,
            "model": self.config.realtime.config.model,
            "api_base": safe_url(self.config.openai.api_base),
            "key_source": self.keys.describe(),
            "last_error": self.last_error,
            "notice": view.notice,
            "session_id": self.session_id,
            "audio": self.audio.name,
            "audio_open": self.audio.is_open,
            "playback": {
                "underruns": self.playback.stats.underruns,
                "queued_ms": self.playback.queued_ms,
            },
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "tasks": len(asyncio.all_tasks()),
        }

    async def say(self, text: str, role: str, respond: bool | None) -> dict[str, Any]:
        ws, proto = self._ws, self._proto
        if ws is None or proto is None or self.machine.view.phase is not state.Phase.LIVE:
            return {"ok": False, "error": "not connected: start a session first"}
        try:
            events = proto.message_events(text, role, respond)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        for event in events:
            await ws.send(json.dumps(event))
        if events[-1]["type"] == "response.create":
            self._expect_answer()
        return {"ok": True}

    async def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Deep Chat's ``updateConfig``: validate, remember for next sessions, and send now."""
        proto = self._proto or Protocol(DIALECTS[self.dialect], self.config.realtime.config)
        try:
            new_cfg, event = proto.update_config(changes)
        except (ValueError, DialectError) as exc:
            text = str(exc)
            if hasattr(exc, "errors"):
                text = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors()  # type: ignore[attr-defined]
                )
            return {"ok": False, "error": f"invalid config: {REDACTOR(text)}"}
        self.config.realtime.config = new_cfg
        self.functions = FunctionRunner(new_cfg.function_handler)
        sent = False
        if self._ws is not None and self.machine.view.phase is state.Phase.LIVE:
            await self._ws.send(json.dumps(event))
            self._expect_answer()
            sent = True
        return {"ok": True, "sent": sent}

    async def reload(self) -> dict[str, Any]:
        """Re-read the config file; apply what can be applied live, report the rest."""
        from appliance import config as config_module

        self._notify("reloading")
        try:
            new = config_module.load(self.config_path)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            self._notify("ready")
            return {"ok": False, "error": str(exc)}
        restart = restart_needed(self.config, new)
        old_session = self.config.realtime.config
        self.config = new
        self.keys = KeySource(new)
        self.functions = FunctionRunner(new.realtime.config.function_handler)
        self.hooks.update(new.hooks)
        sent = False
        if new.realtime.config != old_session and self._ws is not None and self._proto is not None:
            self._proto.config = new.realtime.config
            with contextlib.suppress(DialectError, ConnectionClosed):
                await self._ws.send(json.dumps(self._proto.session_update_event()))
                sent = True
        log.info(
            "config reloaded%s", f"; restart needed for {', '.join(restart)}" if restart else ""
        )
        self._notify("ready")
        return {"ok": True, "session_update_sent": sent, "restart_needed": restart}
