"""The asyncio shell around :class:`~appliance.realtime.session.Session`.

:class:`Link` does the I/O the session decides on: it fetches keys
(:mod:`appliance.realtime.keys`), opens the WebSocket (``websockets.connect``), reads frames,
runs the timers, pumps the microphone, runs function calls, and opens and closes the audio
device. It is handed a way to
post state-machine inputs, the event bus and the audio parts, never the appliance itself.

One user session runs as one task (:meth:`Link.start` ... :meth:`Link.cancel`); a newer start
replaces it. What such a replaced or cancelled task raises on its way out is never reported as
an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import websockets
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    PayloadTooBig,
    ProtocolError,
)

from appliance import state
from appliance.audio import echo
from appliance.audio.backend import AudioError
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.pcm import samples_to_ms
from appliance.audio.playback import Playback
from appliance.bus import Bus
from appliance.captions import Captions
from appliance.config import AppConfig
from appliance.functions import FunctionRunner
from appliance.realtime.dialects import DialectError
from appliance.realtime.keys import KeyFetcher, KeySourceError, excerpt, safe_url
from appliance.realtime.refusals import BetaRefusals
from appliance.realtime.session import (
    HANDSHAKE_TIMEOUT_S,
    Action,
    Caption,
    Close,
    Decision,
    EmitEvent,
    Feed,
    GiveUp,
    Memory,
    OpenAudio,
    Play,
    RememberBetaRefusal,
    Retry,
    RunFunctions,
    Send,
    Session,
    SessionError,
    StopPlayback,
    UseKey,
)
from appliance.realtime.usage import Tally
from appliance.redaction import REDACTOR

log = logging.getLogger("appliance")

CAPTURE_QUEUE_BLOCKS = 50
"""Microphone blocks buffered while the network is slow (1 s at 20 ms); older ones are dropped."""
MAX_FRAME_BYTES = 16 * 1024 * 1024
"""A larger server frame closes the connection (1009) instead of filling memory."""
KEEPALIVE_MAX_S = 20.0
"""The longest ping interval, and the longest wait for its pong (``stall_timeout_s / 2`` when
shorter). A server that does not answer in time is dropped: the close handshake then gets as
long again, no more, since a server that stopped answering pings will not answer it either."""


def _current() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 10 * 2**20 else f"{size / 2**20:.1f} MB"


def why_we_closed(ws: Any) -> str | None:
    """Why this side ended the connection ``ws``, in plain words, when it was not the server:
    a frame over :data:`MAX_FRAME_BYTES`, pings left unanswered, a frame that breaks the
    protocol. ``None`` when the server closed it (or the session asked to, see
    :class:`~appliance.realtime.session.Close`)."""
    protocol = ws.protocol
    sent, failure = protocol.close_sent, protocol.parser_exc
    if sent is None or protocol.close_rcvd_then_sent:
        return None  # the server spoke first
    if isinstance(failure, PayloadTooBig):
        limit = _mb(MAX_FRAME_BYTES)
        size = getattr(failure, "size", None)  # the frame's declared size
        if size is None:  # compressed: refused while expanding it
            return f"the server sent a message over the {limit} limit"
        return f"the server sent a {_mb(size)} message (limit {limit})"
    if isinstance(failure, UnicodeDecodeError):
        return "the server sent a text message that is not UTF-8"
    if isinstance(failure, ProtocolError):
        return f"the server broke the WebSocket protocol ({failure})"
    if sent.reason == "keepalive ping timeout":
        return f"the server stopped answering pings (none answered within {ws.ping_timeout:g} s)"
    return None


def let_go(ws: Any) -> None:
    """Release what an ended connection's failure keeps. The exception that refused a frame
    holds, through its traceback, what was read of it (a compressed frame is expanded up to
    :data:`MAX_FRAME_BYTES` before it is refused), in a reference cycle that only a full
    garbage collection frees: 16 MB more per reconnect until then. After a refused frame the
    allocator is also asked to hand its free memory back (:func:`_trim_heap`)."""
    failure = ws.protocol.parser_exc
    if failure is not None:
        failure.__traceback__ = None
    if isinstance(failure, PayloadTooBig):
        _trim_heap()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def _trim_heap() -> None:
    """glibc's ``malloc_trim``: the refused frame's megabytes go back to the system instead
    of staying with the process (measured: 20 MB less resident after the first refusal, a few
    milliseconds). Nothing where the C library has no such call."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class Link:
    """Runs user sessions. ``post`` applies a state-machine input (on the loop's thread);
    ``view`` returns the machine's current view (for the microphone's mute and phase).
    ``captions`` gets the transcripts as they stream in and the barge-in cuts;
    ``show_captions`` is called whenever what it shows changed."""

    def __init__(
        self,
        config: AppConfig,
        *,
        post: Callable[[state.Input], None],
        view: Callable[[], state.View],
        bus: Bus,
        audio: AudioDevice,
        playback: Playback,
        refusals: BetaRefusals | None = None,
        captions: Captions | None = None,
        show_captions: Callable[[], None] = lambda: None,
    ) -> None:
        self.post = post
        self.captions = Captions("off") if captions is None else captions
        self.show_captions = show_captions
        self.view = view
        self.bus = bus
        self.audio = audio
        self.playback = playback
        self.refusals = BetaRefusals.default() if refusals is None else refusals
        """Beta refusals kept across reloads and restarts (the state directory's file)."""
        self.configure(config)
        self.session: Session | None = None
        self._last_error: str | None = None
        self.session_id: str | None = None
        self.capture_to_send_ms: deque[float] = deque(maxlen=2000)
        """Latest microphone blocks' capture -> ``append`` sent times (bench)."""
        self._task: asyncio.Task[None] | None = None
        self._ws: Any = None
        self._audio_generation = 0
        self._background: set[asyncio.Task[Any]] = set()
        self.on_key_fetch: Callable[[float, bool], None] | None = None
        """Told each key fetch's seconds and whether it gave a key (the metrics)."""

    def configure(self, config: AppConfig) -> None:
        """Use ``config`` from the next session on. All or nothing: what it needs is built
        first (the function handler imported), so a failure raises before anything changed.
        What was learned about the server is kept unless the server, the dialect or the key
        source changed; a beta refusal of the same server is kept even then (for a day, in
        the state file: :mod:`appliance.realtime.refusals`)."""
        keys = KeyFetcher(config)
        functions = FunctionRunner(config.realtime.config.function_handler)
        old = getattr(self, "config", None)
        if old is None or (old.openai, old.realtime.model_dump(exclude={"config"})) != (
            config.openai,
            config.realtime.model_dump(exclude={"config"}),
        ):
            refused = self.refusals.refused(config.openai.api_base, time.time())
            self.memory = Memory(beta_refused=refused)
        self.config, self.keys, self.functions = config, keys, functions

    @property
    def dialect(self) -> str:
        session = self.session
        if session is not None and session.connection_dialect:
            return session.connection_dialect
        return Session(self.config, self.memory).dialect()

    @property
    def last_error(self) -> str | None:
        """The cause of the current trouble, or ``None`` once the session is live again."""
        return self.session.last_error if self.session is not None else self._last_error

    def take_usage(self) -> Tally:
        """The current session's usage since the last call (empty without a session)."""
        return self.session.take_usage() if self.session is not None else Tally()

    @property
    def connected(self) -> bool:
        return self.session is not None and self.session.protocol is not None

    # --- the session task -------------------------------------------------------------------

    def start(self) -> None:
        previous = self._task
        self._task = asyncio.get_running_loop().create_task(self._run(previous))

    def cancel(self) -> asyncio.Task[None] | None:
        """End the session task; returns it (still running its teardown) or ``None``. A task
        that reports its own failure is not cancelled: it ends on its own."""
        task = self._task
        if task is None or task.done():
            return None
        if task is not _current():
            task.cancel()
        return task

    async def wait_closed(self, timeout: float) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), timeout)

    def _superseded(self) -> bool:
        """True in a session task that was cancelled or replaced by a newer one."""
        task = _current()
        return task is None or task is not self._task or task.cancelling() > 0

    async def _run(self, previous: asyncio.Task[None] | None) -> None:
        if previous is not None and not previous.done():
            previous.cancel()
            with contextlib.suppress(BaseException):
                await previous
        # let it go: kept for the whole session, it would keep its own predecessor, and so
        # on, every ended session with its connection (a leak of ~100 KiB per press)
        previous = None
        session = self.session = Session(self.config, self.memory)
        try:
            while True:
                decision = await self._connect_once(session)
                if isinstance(decision, GiveUp):
                    self._fail(decision.message)
                    return
                await self._carry_out(decision.actions, None)
                if isinstance(decision, Retry):
                    log.warning(
                        "%s; reconnecting in %.1f s (attempt %d)",
                        REDACTOR(decision.cause),
                        decision.delay_s,
                        decision.attempt,
                    )
                    await asyncio.sleep(decision.delay_s)
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
            self.playback.clear()
            self.session_id = None

    def _fail(self, message: str) -> None:
        message = self._last_error = REDACTOR(message)
        if self.session is not None:
            self.session.last_error = message
        log.error("error: %s", message)
        self.bus.emit({"type": "error", "message": message, "fatal": True})
        self.post(state.Failed(message))

    async def _connect_once(self, session: Session) -> Decision:
        """Get a key, connect, serve until the connection ends; the session's decision."""
        plan = session.key_plan(time.time())
        if isinstance(plan, GiveUp):
            return plan
        try:
            key = plan.key if isinstance(plan, UseKey) else await self._fetch_key(plan)
        except KeySourceError as exc:
            return session.failed(exc)
        try:
            url, headers = session.connecting(key, time.monotonic())
        except DialectError as exc:
            return GiveUp(str(exc))
        where = safe_url(url)
        keepalive_s = min(KEEPALIVE_MAX_S, self.config.recovery.stall_timeout_s / 2)
        try:
            ws = await websockets.connect(
                url,
                additional_headers=headers,
                open_timeout=HANDSHAKE_TIMEOUT_S,
                max_size=MAX_FRAME_BYTES,
                ping_interval=keepalive_s,
                ping_timeout=keepalive_s,
                close_timeout=keepalive_s,
            )
        except InvalidStatus as exc:
            body = exc.response.body or b""
            return session.refused(where, exc.response.status_code, excerpt(body))
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            return session.unreachable(where, excerpt(str(exc) or type(exc).__name__))
        return await self._serve(session, ws)

    async def _fetch_key(self, plan: Any) -> Any:
        """:meth:`KeyFetcher.fetch`, timed for :attr:`on_key_fetch`."""
        begun, ok = time.monotonic(), False
        try:
            key = await self.keys.fetch(plan)
            ok = True
            return key
        finally:
            if self.on_key_fetch is not None:
                self.on_key_fetch(time.monotonic() - begun, ok)

    async def _serve(self, session: Session, ws: Any) -> Decision:
        """One connection, from the open socket to its end."""
        self._ws = ws
        sender: asyncio.Task[None] | None = None
        timer = asyncio.get_running_loop().create_task(self._tick(session, ws))
        try:
            async for frame in ws:
                for action in session.on_frame(frame, time.monotonic()):
                    if isinstance(action, OpenAudio):
                        if sender is None:
                            sender = await self._open_audio(session, ws)
                            self.session_id = session.session_id
                            await self._carry_out(session.audio_opened(time.monotonic()), ws)
                    else:
                        await self._carry_out((action,), ws)
        except ConnectionClosed:
            pass
        finally:
            timer.cancel()
            if sender is not None:
                sender.cancel()
            self._ws = None
            await self.audio.close()  # the one place a session's audio is closed
            self.playback.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)
        ours = why_we_closed(ws)
        let_go(ws)
        return session.on_closed(ws.close_code, ws.close_reason or "", time.monotonic(), ours=ours)

    async def _tick(self, session: Session, ws: Any) -> None:
        interval = min(0.25, self.config.recovery.stall_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            audible = self.playback.audible_within(1.0)
            await self._carry_out(session.on_timer(time.monotonic(), audible), ws)

    async def _carry_out(self, actions: Iterable[Action], ws: Any) -> None:
        """Do what the session asked, in order."""
        for action in actions:
            match action:
                case Send(frame=frame):
                    if ws is not None:
                        await ws.send(frame)
                case Feed(input=given):
                    self.post(given)
                case EmitEvent(event=event):
                    self._emit(event)
                case Play(delta=delta):
                    self.playback.push(delta.item_id, delta.pcm, delta.content_index)
                case Caption():
                    self._caption(action)
                case StopPlayback(cancel_response=cancel):
                    if self.playback.playing or self.playback.queued_ms:
                        self.barge_in(cancel_response=cancel)
                case RunFunctions():
                    if action.warning:
                        log.warning("%s", action.warning)
                    self._spawn(self._run_functions(action, ws))
                case RememberBetaRefusal(api_base=api_base):
                    log.warning(
                        "%s refuses the beta Realtime API: GA from now on (kept for a day in %s)",
                        safe_url(api_base),
                        self.refusals.path or "memory only: no state directory",
                    )
                    await asyncio.to_thread(self.refusals.remember, api_base, time.time())
                case Close(code=code, reason=reason):
                    if reason == "renewing":
                        log.info("renewing the session before the service's time limit")
                    if ws is not None:
                        await ws.close(code, reason)

    def _caption(self, caption: Caption) -> None:
        captions, item, text = self.captions, caption.item_id, caption.text
        if caption.role == "assistant":
            changed = (captions.assistant_done if caption.final else captions.assistant_delta)(
                item, text
            )
        else:
            changed = (captions.user_transcript if caption.final else captions.user_delta)(
                item, text
            )
        if changed:
            self.show_captions()

    def _emit(self, event: dict[str, Any]) -> None:
        """Put ``event`` on the bus; transcripts and server errors are logged too."""
        kind = event.get("type")
        if kind == "transcript":
            log.info("%s: %s", event["role"], event["text"])
        elif kind == "error" and event.get("code") is not None:  # from a server error message
            log.warning("%s", event["message"])
        self.bus.emit(event)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _send_quietly(self, ws: Any, actions: list[Action]) -> None:
        """Carry out from outside the reader; a closed socket is the session's business."""
        with contextlib.suppress(ConnectionClosed):
            await self._carry_out(actions, ws)

    # --- what the user does -----------------------------------------------------------------

    def activity(self) -> None:
        """The visitor pressed something: the session's idle stop waits again."""
        if self.session is not None:
            self.session.activity(time.monotonic())

    def barge_in(self, *, cancel_response: bool) -> None:
        """Stop playback now, drop the queue and tell the server what was really played."""
        played = self.playback.clear()
        if played is not None and self.captions.cut_at(
            played.item_id, played.played_ms, samples_to_ms(played.queued)
        ):
            self.show_captions()  # the words not spoken leave the screen
        session, ws = self.session, self._ws
        if session is None or ws is None:
            return
        actions = session.barge_in(played, cancel_response, time.monotonic())
        if played is not None:
            log.info("barge-in: %s truncated at %d ms", played.item_id, played.played_ms)
        if actions:
            self._spawn(self._send_quietly(ws, actions))

    async def say(self, text: str, role: str, respond: bool | None) -> dict[str, Any]:
        session, ws = self.session, self._ws
        if session is None or ws is None or not self.connected:
            return {"ok": False, "error": "not connected: start a session first"}
        try:
            actions = session.say(text, role, respond, time.monotonic())
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        await self._carry_out(actions, ws)
        return {"ok": True}

    async def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Deep Chat's ``updateConfig``: validate, remember for next sessions, and send now."""
        session = self.session or Session(self.config, self.memory)
        try:
            _new, actions = session.update_config(changes, time.monotonic())
        except (ValueError, DialectError) as exc:
            text = str(exc)
            if hasattr(exc, "errors"):
                text = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors()  # type: ignore[attr-defined]
                )
            return {"ok": False, "error": f"invalid config: {REDACTOR(text)}"}
        sent = bool(actions) and self._ws is not None
        if sent:
            await self._carry_out(actions, self._ws)
        return {"ok": True, "sent": sent}

    async def resend_session(self) -> bool:
        """After a reload: send the whole new session config if connected."""
        session, ws = self.session, self._ws
        if session is None or ws is None:
            return False
        session.config = self.config
        actions = session.resend_session(self.config.realtime.config, time.monotonic())
        with contextlib.suppress(ConnectionClosed):
            await self._carry_out(actions, ws)
            return bool(actions)
        return False

    async def prefetch(self) -> None:
        """Fetch one key at boot for the next press (``auto_fetch_ephemeral_key``). It is not
        kept fresh: a press after it expired fetches a new one (an idle device must not ask
        the key server every minute, all day)."""
        session = Session(self.config, self.memory)
        plan = session.prefetch_plan()
        if plan is None:
            return
        try:
            key = await self._fetch_key(plan)
        except KeySourceError as exc:
            self._fail(str(exc))
            return
        session.keep_prefetched(key)
        log.info("key fetched ahead of the next press")

    # --- audio ------------------------------------------------------------------------------

    async def _open_audio(self, session: Session, ws: Any) -> asyncio.Task[None]:
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
        held = await self.audio.open(self.playback, on_capture, on_error)
        if held:
            heard_ms = samples_to_ms(sum(map(len, held)))
            log.info("sending the %d ms heard from just before the wake word", heard_ms)
        return loop.create_task(self._send_microphone(session, ws, queue, held))

    def _audio_failed(self, message: str, generation: int) -> None:
        current = generation == self._audio_generation and self.audio.is_open
        if current and self.view().phase is state.Phase.LIVE:
            self._fail(f"audio: {message}")

    async def _send_microphone(
        self,
        session: Session,
        ws: Any,
        queue: asyncio.Queue[tuple[np.ndarray, float]],
        held: list[np.ndarray] = (),  # type: ignore[assignment]
    ) -> None:
        """Send the microphone's blocks: first ``held`` (what was said since the wake word,
        whatever the phase: the session is coming up), then what is captured."""
        tail_s = self.config.audio.echo_tail_ms / 1000
        # echo = "cancel" without a canceller running (not installed) falls back to half-duplex
        half_duplex = echo.gated(self.config.audio, self.audio.backend)
        latencies = self.capture_to_send_ms
        for block in held:
            if self.view().muted:
                break
            if not await self._send_block(session, ws, block):
                return
        while True:
            block, captured = await queue.get()
            view = self.view()
            if view.phase is not state.Phase.LIVE or view.muted:
                continue  # muted: send nothing; server VAD sees a pause
            if half_duplex and self.playback.audible_within(tail_s):
                continue  # the model is talking: never let it hear itself
            if self.playback.cue_within(tail_s):
                # a sound cue plays (any echo mode: a canceller still converging at the
                # session's start would let some through): it is not the visitor's speech
                continue
            if not await self._send_block(session, ws, block):
                return
            latencies.append((time.perf_counter() - captured) * 1000)

    @staticmethod
    async def _send_block(session: Session, ws: Any, block: np.ndarray) -> bool:
        """Send one microphone block as an ``input_audio_buffer.append``; False when the
        session or the socket is gone (the pump ends)."""
        append = session.append(block.astype("<i2").tobytes())
        if append is None:
            return False
        try:
            await ws.send(append.frame)
        except ConnectionClosed:
            return False
        return True

    # --- functions --------------------------------------------------------------------------

    async def _run_functions(self, run: RunFunctions, ws: Any) -> None:
        calls = list(run.calls.calls)
        results = await asyncio.gather(*(self.functions.call(c.name, c.arguments) for c in calls))
        for call, result in zip(calls, results, strict=True):
            log.info("function %s(%s) -> %s", call.name, call.arguments, json.dumps(result)[:200])
            self.bus.emit(
                {
                    "type": "function_call",
                    "name": call.name,
                    "arguments": call.arguments,
                    "call_id": call.call_id,
                    "output": result,
                }
            )
        session = self.session
        if session is None:
            return
        pairs = [(c.call_id, r) for c, r in zip(calls, results, strict=True)]
        pairs += run.refused  # the calls over the limit: their error outputs, not run
        await self._send_quietly(ws, session.function_results(pairs, time.monotonic()))

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
