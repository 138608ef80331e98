"""The ``appliance run`` process: threads, signals and shutdown.

The main thread runs the screen (pygame wants it) or, without a screen, just waits and serves
snapshot requests off-screen. The asyncio worker (:class:`~appliance.app.Appliance`) runs on its
own thread. SIGTERM/SIGINT stop both cleanly (exit 0, output WAV finalised); SIGHUP reloads the
configuration.

First frame first: the screen is opened and its first frame drawn before the worker imports
what the session needs (the HTTP client, the WebSocket, the realtime protocol and policy, the
control socket, the sound card backend) and starts GPIO. Until the front end has drawn and gone
idle the worker waits, so the two do not compete for the interpreter; what the worker imports
then happens while the idle screen is up. A press meanwhile is queued by the hub.

Secrets given in the environment (``APPLIANCE_OPENAI__KEY=...``) are kept from other processes
(:func:`withdraw_environment_overrides`): once read, the ``APPLIANCE_*`` overrides leave the
environment, their text is blanked in ``/proc/PID/environ`` too, and the process is made
non-dumpable. systemd credentials (``LoadCredential=``) are the better way to give a key.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.audio.backend import AudioBackend, AudioError, NullBackend
from appliance.config import ENV_PREFIX, AppConfig, env_overrides, merge
from appliance.hub import Hub

if TYPE_CHECKING:
    from appliance.app import Appliance

log = logging.getLogger("appliance")

FIRST_FRAME_TIMEOUT_S = 10.0
"""The worker starts anyway when the screen has not drawn its first frame by then."""
PR_SET_DUMPABLE = 4
"""``prctl(2)``'s option (``<linux/prctl.h>``): 0 makes ``/proc/PID/environ``, ``mem``, ``fd``,
``maps`` and ``smaps`` unreadable to other processes of the user (``status`` stays readable),
and turns off core dumps."""
STAT_ENV_START = 50
"""``/proc/PID/stat``'s field (counted from 1) with the start of the process's initial
environment block; the next one is its end (see proc(5))."""


class StartupHub(Hub):
    """The hub, plus :attr:`front_end_idle`: set when the front end first waits for a change,
    i.e. the screen has drawn its first frame (or runs headless) and has nothing to do."""

    def __init__(self) -> None:
        super().__init__()
        self.front_end_idle = threading.Event()

    def wait_for_change(self, version: int, timeout: float) -> int:
        self.front_end_idle.set()
        return super().wait_for_change(version, timeout)


def make_audio(config: AppConfig, audio_in: Path | None, audio_out: Path | None) -> AudioBackend:
    """The audio backend for this run: WAV files when given, else the configured one."""
    if audio_in is not None or audio_out is not None or config.audio.backend == "wav":
        from appliance.audio.wav import WavBackend

        return WavBackend(audio_in, audio_out, config.audio.block_ms)
    if config.audio.backend == "none":
        return NullBackend()
    try:
        from appliance.audio.pyaudio_backend import PyAudioBackend
    except ImportError as exc:
        raise AudioError(f"PyAudio is not available ({exc}); install it or use --audio-in") from exc
    return PyAudioBackend(config.audio)


def run(
    config: AppConfig,
    *,
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    audio_in: Path | None = None,
    audio_out: Path | None = None,
) -> int:
    """Run the appliance until SIGTERM/SIGINT. Returns the process exit code."""
    overrides = withdraw_environment_overrides(overrides)  # before any thread starts
    hub = StartupHub()
    started: list[Appliance] = []  # the worker's, once it exists
    crashed: list[BaseException] = []
    refused: list[AudioError] = []

    def worker() -> None:
        gpio = None
        try:
            # the first frame first: the screen draws while this thread waits
            hub.front_end_idle.wait(FIRST_FRAME_TIMEOUT_S)
            if hub.stopping.is_set():
                return
            log.debug("front end up: loading the session side")
            try:
                audio = make_audio(config, audio_in, audio_out)
            except AudioError as exc:
                refused.append(exc)
                return
            from appliance.gpio import start_gpio

            gpio = start_gpio(hub, config.gpio)  # None, with one log line saying why
            import asyncio

            from appliance.app import Appliance

            appliance = Appliance(config, hub, audio, config_path=config_path, overrides=overrides)
            started.append(appliance)
            _settle_garbage()
            asyncio.run(_serve(appliance, hub))
        except BaseException as exc:  # reported below; the main thread decides the exit code
            crashed.append(exc)
            log.exception("worker crashed")
        finally:
            if gpio is not None:
                gpio.close()
            hub.stopping.set()
            hub.wake()

    def on_stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        hub.stopping.set()
        hub.wake()
        for appliance in started:
            appliance.request_stop()

    def on_reload(_signum: int, _frame: object) -> None:
        for appliance in started:
            appliance.request_reload()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_reload)

    thread = threading.Thread(target=worker, name="appliance-worker")
    thread.start()
    try:
        _run_front_ends(hub, config)
    finally:
        hub.stopping.set()
        hub.front_end_idle.set()
        for appliance in started:
            appliance.request_stop()
        while thread.is_alive():
            thread.join(0.2)  # short joins keep signals deliverable
    if refused:
        raise refused[0]
    return 1 if crashed else 0


def withdraw_environment_overrides(
    overrides: Mapping[str, Any] | None, environ: MutableMapping[str, str] = os.environ
) -> dict[str, Any]:
    """Keep the configuration given in the environment from other processes; return the
    layers a reload needs (``overrides`` under the withdrawn variables, which
    :func:`appliance.config.load` would otherwise read from the environment).

    The ``APPLIANCE_<SECTION>__<FIELD>`` variables, all read by now, may hold a secret (the
    API key, provisioning headers). They are removed from ``environ`` (so no child inherits
    them) and, when there were any, blanked in the process's initial environment block, which
    ``/proc/PID/environ`` shows and which removing a variable does not change. The process is
    then made non-dumpable, so other processes of the same user (a hook) can read neither
    that block nor the memory that still holds the secret, and no core dump carries it
    (``/proc/PID/status``, where tests read the memory use, stays readable). Only a process
    given such variables is made so: one without them (under systemd with
    ``LoadCredential=``, or in the benchmarks, which read ``/proc/PID/smaps_rollup``) stays
    inspectable by its user.
    """
    names = [name for name in environ if name.startswith(ENV_PREFIX) and "__" in name]
    if not names:
        return dict(overrides or {})
    withdrawn = {name: environ.pop(name) for name in names}
    if environ is os.environ:
        _blank_initial_environment(set(names))
        _forbid_inspection()
    log.info(
        "%s read and removed from the environment; other processes cannot inspect this one",
        ", ".join(sorted(names)),
    )
    return merge(env_overrides(withdrawn), overrides or {})


def _blank_initial_environment(names: set[str]) -> None:
    """Overwrite with zeros the ``NAME=value`` strings of ``names`` in the environment block
    the kernel set up at exec (``/proc/PID/environ``). The C library's ``environ`` no longer
    points at them (they were unset), so nothing reads them any more."""
    import ctypes

    try:
        stat = Path("/proc/self/stat").read_bytes().rsplit(b")", 1)[1].split()
        start, end = int(stat[STAT_ENV_START - 3]), int(stat[STAT_ENV_START - 2])
    except (OSError, IndexError, ValueError) as exc:
        log.warning("cannot find the initial environment to blank it: %s", exc)
        return
    if not 0 < start < end:
        return
    wanted = {os.fsencode(name) for name in names}
    offset = 0
    for entry in ctypes.string_at(start, end - start).split(b"\0"):
        if entry.partition(b"=")[0] in wanted:
            ctypes.memset(start + offset, 0, len(entry))
        offset += len(entry) + 1


def _forbid_inspection() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)``: see :data:`PR_SET_DUMPABLE`."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("cannot make the process non-dumpable: %s", os.strerror(ctypes.get_errno()))


def _settle_garbage() -> None:
    """Collect once, then keep what start-up made out of later collections (``gc.freeze``):
    a full collection otherwise walks every object the imports made (100-180 ms on a quarter
    of a core), and one during a session stalls the audio threads (the GIL) long enough for
    the output to underrun. What a session allocates is still collected as usual."""
    import gc

    gc.collect()
    gc.freeze()


async def _serve(appliance: Appliance, hub: Hub) -> None:
    """Run the appliance; a stop asked for while it was being made (a signal during start-up,
    the window closed) is not lost."""
    import asyncio

    runner = asyncio.ensure_future(appliance.run())
    await asyncio.sleep(0)  # run() has attached to this loop: request_stop() works from now
    if hub.stopping.is_set():
        appliance.request_stop()
    await runner


def _run_front_ends(hub: StartupHub, config: AppConfig) -> None:
    """The screen on the main thread (optional: never allowed to stop the appliance)."""
    try:
        try:
            _import_pygame()
            from appliance.display import run_display
        except ImportError as exc:
            log.info("display not available (%s); running headless", exc)
            hub.screen_ready.set()
            _wait_headless(hub)
            return
        run_display(hub, config)
        _wait_headless(hub)  # the display may return early (e.g. no screen): keep serving
    finally:
        hub.front_end_idle.set()


def _import_pygame() -> None:
    """Import pygame without ``pkg_resources``: pygame's ``pkgdata`` imports it only to look up
    its own data files (it falls back to their paths), and importing it scans every installed
    distribution (40 ms here, several times that on a Pi). Later imports of it still work."""
    if "pygame" in sys.modules or "pkg_resources" in sys.modules:
        return
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # ImportError inside
    try:
        import pygame  # noqa: F401
    finally:
        if sys.modules.get("pkg_resources", False) is None:
            del sys.modules["pkg_resources"]


def _wait_headless(hub: Hub) -> None:
    version = hub.version
    while not hub.stopping.is_set():
        version = hub.wait_for_change(version, 0.5)
        while not hub.snapshots.empty():
            _path, future = hub.snapshots.get_nowait()
            future.set_exception(RuntimeError("no screen renderer in this process"))
