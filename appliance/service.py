"""The ``appliance run`` process: threads, signals and shutdown.

The main thread runs the screen (pygame wants it) or, without a screen, just waits and serves
snapshot requests off-screen. The asyncio worker (:class:`~appliance.app.Appliance`) runs on its
own thread. SIGTERM/SIGINT stop both cleanly (exit 0, output WAV finalised); SIGHUP reloads the
configuration.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.app import Appliance
from appliance.audio.backend import AudioBackend, AudioError, NullBackend
from appliance.config import AppConfig
from appliance.gpio import start_gpio
from appliance.hub import Hub

log = logging.getLogger("appliance")


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
    audio = make_audio(config, audio_in, audio_out)
    hub = Hub()
    appliance = Appliance(config, hub, audio, config_path=config_path, overrides=overrides)
    crashed: list[BaseException] = []

    def worker() -> None:
        try:
            asyncio.run(appliance.run())
        except BaseException as exc:  # reported below; the main thread decides the exit code
            crashed.append(exc)
            log.exception("worker crashed")
        finally:
            hub.stopping.set()
            hub.wake()

    def on_stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        hub.stopping.set()
        hub.wake()
        appliance.request_stop()

    def on_reload(_signum: int, _frame: object) -> None:
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
        appliance.request_stop()
        while thread.is_alive():
            thread.join(0.2)  # short joins keep signals deliverable
    return 1 if crashed else 0


def _run_front_ends(hub: Hub, config: AppConfig) -> None:
    """Screen (main thread) and GPIO; each optional, neither allowed to stop the appliance."""
    gpio = start_gpio(hub, config.gpio)  # None, with one log line saying why, without GPIO
    try:
        try:
            from appliance.display import run_display
        except ImportError as exc:
            log.info("display not available (%s); running headless", exc)
            hub.screen_ready.set()
            _wait_headless(hub)
            return
        run_display(hub, config)
        _wait_headless(hub)  # the display may return early (e.g. no screen): keep serving
    finally:
        if gpio is not None:
            gpio.close()


def _wait_headless(hub: Hub) -> None:
    version = hub.version
    while not hub.stopping.is_set():
        version = hub.wait_for_change(version, 0.5)
        while not hub.snapshots.empty():
            _path, future = hub.snapshots.get_nowait()
            future.set_exception(RuntimeError("no screen renderer in this process"))
