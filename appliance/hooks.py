"""Event hooks: commands run when something happens (Deep Chat's ``events``, as programs).

Configured in the ``[hooks]`` section, one list of commands per event type; each command is an
argv list, run without a shell::

    [hooks]
    started = [["/usr/local/bin/lamp", "on"]]
    state = [["/usr/local/bin/show-state"]]
    timeout_s = 10

Each run gets the event as one line of JSON on stdin, and in its environment
``APPLIANCE_EVENT=<type>`` plus the event's plain fields flattened as ``APPLIANCE_<FIELD>``
(``APPLIANCE_STATE=listening``, ``APPLIANCE_ROLE=user``, ``APPLIANCE_TEXT=...``; an error's
``message`` is also given as ``APPLIANCE_TEXT``). Event types: ``started``, ``stopped``,
``state``, ``transcript``, ``error``, ``function_call``.

Of the service's own environment a hook gets only ``PATH``, ``LANG`` and ``HOME``: the rest may
hold secrets (``APPLIANCE_OPENAI__KEY``, provisioning headers given as ``APPLIANCE_*``
overrides, systemd's credentials directory and notify socket) that are no business of a hook.

Hooks never hold up the appliance: :meth:`HookRunner.dispatch` only queues the event and
returns. Each command has its own small queue, so its runs happen one at a time and in order;
at most :data:`MAX_RUNNING` hook processes run at once. When a command's queue is full (the
command is slower than the events) the oldest waiting event is dropped, with a log line. A
run that takes longer than ``timeout_s`` is killed (with its children); a failure is logged
with the exit status and the end of its stderr. Standard output is discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
from collections.abc import Mapping
from typing import Any

from appliance.config import HooksConfig
from appliance.redaction import REDACTOR

log = logging.getLogger(__name__)

EVENT_TYPES = ("started", "stopped", "state", "transcript", "error", "function_call")
MAX_RUNNING = 4
"""Hook processes running at once, over all commands."""
QUEUE_SIZE = 8
"""Events waiting per command; beyond it the oldest waiting one is dropped."""
STDERR_EXCERPT = 400
"""Characters of a failing hook's stderr shown in the log (its end, where the error usually is)."""
STDERR_KEEP = 8192
"""Bytes of stderr kept while a hook runs; the rest is read and thrown away."""
ENV_VALUE_MAX = 8192
"""Longest value put in an ``APPLIANCE_*`` environment variable (the JSON has everything)."""
KILL_GRACE_S = 1.0
"""Between SIGTERM and SIGKILL for a hook that ran out of time."""

PASSED_ENV = ("PATH", "LANG", "HOME")
"""The only variables of the service's environment a hook gets (an allow list: anything else,
``APPLIANCE_*`` overrides included, may hold a secret)."""
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_RESERVED = {"CONFIG", "EVENT"}


def hook_env(event: Mapping[str, Any], base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a hook run for ``event``: ``PATH``, ``LANG`` and ``HOME`` from
    ``base`` and the event's ``APPLIANCE_*`` variables; nothing else."""
    env = {k: base[k] for k in PASSED_ENV if k in base}
    env.setdefault("PATH", DEFAULT_PATH)
    for key, value in event.items():
        name = re.sub(r"[^A-Za-z0-9]+", "_", str(key)).strip("_").upper()
        if not name or name in _RESERVED:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            text = ""
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            continue  # nested values are in the JSON on stdin
        env[f"APPLIANCE_{name}"] = text[:ENV_VALUE_MAX].replace("\0", "")
    env["APPLIANCE_EVENT"] = str(event.get("type", ""))
    if "APPLIANCE_TEXT" not in env and isinstance(event.get("message"), str):
        env["APPLIANCE_TEXT"] = event["message"][:ENV_VALUE_MAX].replace("\0", "")
    return env


def describe(argv: list[str]) -> str:
    """A short name of a hook command for log lines."""
    text = " ".join(argv)
    return text if len(text) <= 80 else text[:77] + "..."


class _Worker:
    """Runs one configured command for its events, one at a time, in order."""

    def __init__(self, runner: HookRunner, event_type: str, argv: list[str]) -> None:
        self.runner = runner
        self.event_type = event_type
        self.argv = argv
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def put(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "hook %s is busy: dropping its oldest waiting %s event",
                    describe(self.argv),
                    self.event_type,
                )
        self.queue.put_nowait(event)

    def finish(self) -> None:
        """Run what is queued, then stop (call once)."""
        if self.queue.full():  # make room for the end marker
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def _serve(self) -> None:
        while True:
            event = await self.queue.get()
            if event is None:
                return
            if self.dropped:
                log.warning(
                    "hook %s: %d %s event(s) dropped while it was busy",
                    describe(self.argv),
                    self.dropped,
                    self.event_type,
                )
                self.dropped = 0
            async with self.runner._slots:
                await self.runner._run(self.argv, event)


class HookRunner:
    """Runs the configured hook commands on events. Lives on the appliance's asyncio loop.

    ``environ`` is where the hooks' ``PATH``, ``LANG`` and ``HOME`` come from (default: this
    process's environment); nothing else of it is passed on.
    """

    def __init__(
        self,
        config: HooksConfig,
        *,
        max_running: int = MAX_RUNNING,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self._environ = environ
        self._slots = asyncio.Semaphore(max_running)
        self._workers: dict[tuple[str, tuple[str, ...]], _Worker] = {}
        self._procs: set[asyncio.subprocess.Process] = set()
        self._closed = False

    @property
    def running(self) -> int:
        """Hook processes running now."""
        return len(self._procs)

    def dispatch(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for the commands configured for its ``type``; returns at once.

        Must be called on the event loop's thread. Types without hooks are ignored.
        """
        kind = event.get("type")
        if self._closed or kind not in EVENT_TYPES:
            return
        commands: list[list[str]] = getattr(self.config, kind)
        for argv in commands:
            if not argv:
                continue
            key = (kind, tuple(argv))
            worker = self._workers.get(key)
            if worker is None or worker.task.done():
                worker = self._workers[key] = _Worker(self, kind, list(argv))
            worker.put(event)

    def update(self, config: HooksConfig) -> None:
        """Use a new ``[hooks]`` section (live reload). Commands no longer configured finish
        what they have queued and stop; a new ``timeout_s`` applies to the next runs."""
        self.config = config
        wanted = {(kind, tuple(argv)) for kind in EVENT_TYPES for argv in getattr(config, kind)}
        for key in list(self._workers):
            if key not in wanted:
                self._workers.pop(key).finish()

    async def aclose(self, grace_s: float | None = None) -> None:
        """Stop taking events, let the queued runs finish for up to ``grace_s`` seconds
        (default: ``timeout_s``), then kill what still runs."""
        self._closed = True
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            worker.finish()
        tasks = [w.task for w in workers]
        if not tasks:
            return
        grace = self.config.timeout_s if grace_s is None else grace_s
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("hooks still running at shutdown were stopped")
            await asyncio.wait(pending)

    # --- one run ----------------------------------------------------------------------------

    async def _run(self, argv: list[str], event: dict[str, Any]) -> None:
        name = describe(argv)
        payload = (json.dumps(event, default=str, ensure_ascii=False) + "\n").encode()
        env = hook_env(event, os.environ if self._environ is None else self._environ)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group: a timeout kills its children too
            )
        except OSError as exc:
            log.error("hook %s could not start: %s", name, exc.strerror or exc)
            return
        self._procs.add(proc)
        stderr = bytearray()
        try:
            await asyncio.wait_for(
                self._communicate(proc, payload, stderr), timeout=self.config.timeout_s
            )
        except TimeoutError:
            await _kill(proc)
            log.error(
                "hook %s (%s event) timed out after %g s and was killed%s",
                name,
                event.get("type"),
                self.config.timeout_s,
                _excerpt(stderr),
            )
            return
        except asyncio.CancelledError:
            await _kill(proc)
            raise
        finally:
            self._procs.discard(proc)
        if proc.returncode:
            status = (
                f"killed by signal {-proc.returncode}"
                if proc.returncode < 0
                else f"exit status {proc.returncode}"
            )
            log.error(
                "hook %s (%s event) failed: %s%s", name, event.get("type"), status, _excerpt(stderr)
            )
        else:
            log.debug("hook %s (%s event) done", name, event.get("type"))

    @staticmethod
    async def _communicate(
        proc: asyncio.subprocess.Process, payload: bytes, stderr: bytearray
    ) -> None:
        async def feed() -> None:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(payload)
                await proc.stdin.drain()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.close()

        async def drain() -> None:
            assert proc.stderr is not None
            while chunk := await proc.stderr.read(4096):
                stderr.extend(chunk)
                del stderr[:-STDERR_KEEP]

        await asyncio.gather(feed(), drain())
        await proc.wait()


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the hook's process group, SIGKILL it if it lingers, and reap it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(proc.wait()), KILL_GRACE_S)
    if proc.returncode is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), KILL_GRACE_S)
    # Children that escaped the group may still hold the pipes; close our ends.
    for stream in (proc.stdin,):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()


def _excerpt(stderr: bytearray) -> str:
    text = bytes(stderr).decode("utf-8", "replace").strip()
    if not text:
        return ""
    text = REDACTOR(" | ".join(line.strip() for line in text.splitlines() if line.strip()))
    if len(text) > STDERR_EXCERPT:
        text = "..." + text[-STDERR_EXCERPT:]
    return f"; stderr: {text}"
