"""One PortAudio for the process's life, initialised again only when the device list may be stale.

Real PyAudio on the virtual sound server (no mocks): sessions reuse the backend's PortAudio
instance; a device error or a device that cannot be found makes the next open initialise it
again; the app's final teardown terminates it. ``StreamStats.portaudio_inits`` counts the
initialisations and ``_pa`` is the instance itself.

Within one process ``Pa_Initialize`` only counts up while any instance is still initialised (an
earlier test's backend may hold one), so the one test that needs a really fresh device list, a
device appearing while the appliance is idle, runs in a process of its own.
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.backend import AudioError
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.playback import Playback
from appliance.config import AudioConfig
from appliance.rig import sound
from appliance.rig.process import wait_for
from appliance.rig.sound import SoundServer

pyaudio_backend = pytest.importorskip(
    "appliance.audio.pyaudio_backend", reason="PyAudio is not installed"
)
pytest.importorskip("pyaudio", reason="PyAudio is not installed")
PyAudioBackend = pyaudio_backend.PyAudioBackend

ROOT = Path(__file__).resolve().parents[2]


class Calls:
    """What one session's callbacks delivered."""

    def __init__(self) -> None:
        self.captured = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def on_capture(self, samples: np.ndarray, t: float) -> None:
        with self._lock:
            self.captured += len(samples)

    def on_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)


def flowing(backend: PyAudioBackend, since: tuple[int, int], calls: Calls) -> bool:
    """Both streams called back a few times since ``since`` and audio was captured."""
    stats = backend.stats
    return (
        stats.input_callbacks >= since[0] + 5
        and stats.output_callbacks >= since[1] + 5
        and calls.captured > 0
    )


def open_session(backend: PyAudioBackend) -> Calls:
    """Open ``backend`` and wait until audio flows both ways."""
    calls = Calls()
    since = (backend.stats.input_callbacks, backend.stats.output_callbacks)
    backend.open(Playback(), calls.on_capture, calls.on_error)
    assert wait_for(lambda: flowing(backend, since, calls), 5), (
        f"the streams did not start: {backend.stats}"
    )
    return calls


@pytest.fixture
def backend(sound_server: SoundServer) -> Iterator[PyAudioBackend]:
    made = PyAudioBackend(AudioConfig(echo="full-duplex"))
    try:
        yield made
    finally:
        made.finish()


def test_sessions_reuse_one_portaudio(backend: PyAudioBackend) -> None:
    first = None
    for n in range(6):
        calls = open_session(backend)
        if first is None:
            first = backend._pa
        assert backend._pa is first, f"session {n + 1} initialised PortAudio again"
        backend.close()
        assert calls.errors == []
        # closing a session leaves PortAudio initialised for the next one
        assert backend._pa is first
    assert first is not None
    assert backend.stats.portaudio_inits == 1
    backend.finish()  # the app's final teardown terminates it
    assert backend._pa is None
    open_session(backend)  # a backend finished and opened again starts afresh
    assert backend.stats.portaudio_inits == 2
    assert backend._pa is not first


def test_a_device_error_reinitialises_at_the_next_open(
    backend: PyAudioBackend,
    sound_server: SoundServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = sound.start(tmp_path / "sound")
    try:
        monkeypatch.setenv("PULSE_SERVER", own.address)
        calls = open_session(backend)
        before = backend._pa
        own.stop()  # like unplugging the sound card mid-session
        assert wait_for(lambda: calls.errors, 10), "the failure was not reported"
        backend.close()
        assert backend.stats.portaudio_inits == 1  # closing does not initialise
    finally:
        own.stop()
    monkeypatch.setenv("PULSE_SERVER", sound_server.address)  # "plugged in" again
    calls = open_session(backend)
    assert backend.stats.portaudio_inits == 2, "the open after a device error did not re-init"
    assert backend._pa is not before
    assert calls.errors == []
    again = backend._pa
    backend.close()
    open_session(backend)  # that session ended cleanly: the next one reuses PortAudio
    assert backend.stats.portaudio_inits == 2
    assert backend._pa is again


def test_a_missing_device_reinitialises_once_then_is_named(sound_server: SoundServer) -> None:
    backend = PyAudioBackend(AudioConfig(input_device="NoSuchMic", echo="full-duplex"))
    try:
        with pytest.raises(AudioError, match=r"no input device matching 'NoSuchMic' \(available: "):
            backend.open(Playback(), Calls().on_capture, Calls().on_error)
        # the first initialisation, and exactly one more to look for the device again
        assert backend.stats.portaudio_inits == 2
        assert backend._in is None and backend._out is None
        with pytest.raises(AudioError, match=r"no input device matching 'NoSuchMic'"):
            backend.open(Playback(), Calls().on_capture, Calls().on_error)
        assert backend.stats.portaudio_inits == 3  # one per failed open, no more
    finally:
        backend.finish()
    assert backend._pa is None


def test_the_apps_final_teardown_terminates_portaudio(sound_server: SoundServer) -> None:
    """``AudioDevice.shutdown`` (the app's exit, app.py) finishes the backend on its thread."""
    backend = PyAudioBackend(AudioConfig(echo="full-duplex"))
    device = AudioDevice(backend)

    async def sessions() -> None:
        for _ in range(3):
            calls = Calls()
            since = (backend.stats.input_callbacks, backend.stats.output_callbacks)
            await device.open(Playback(), calls.on_capture, calls.on_error)
            started = functools.partial(flowing, backend, since, calls)
            ok = await asyncio.to_thread(wait_for, started, 5)
            assert ok, f"the streams did not start: {backend.stats}"
            await device.close()
            assert backend._pa is not None  # kept between sessions
        await device.shutdown()

    try:
        asyncio.run(sessions())
    finally:
        backend.finish()
    assert backend.stats.portaudio_inits == 1
    assert device.opens == 3
    assert backend._pa is None, "shutdown left PortAudio initialised"


# An ALSA device that appears once this file exists: like a USB sound card plugged in. ALSA
# reads its configuration when PortAudio initialises, so only a re-initialise lists it.
ASOUNDRC = """pcm.appliance_usb {
    type pulse
    hint { show on
           description "Appliance USB (plugged in later)" }
}
"""

PLUGGED_IN_LATER = """
import json, pathlib, sys, time
from appliance.audio.backend import AudioError
from appliance.audio.playback import Playback
from appliance.audio.pyaudio_backend import PyAudioBackend
from appliance.config import AudioConfig

errors = []
backend = PyAudioBackend(AudioConfig(input_device="appliance_usb", echo="full-duplex"))
out = {}
try:
    backend.open(Playback(), lambda samples, t: None, errors.append)
except AudioError as exc:
    out["missing"] = str(exc)
out["inits_after_missing"] = backend.stats.portaudio_inits
pathlib.Path(sys.argv[1]).write_text(sys.argv[2])  # plugged in while idle
backend.open(Playback(), lambda samples, t: None, errors.append)
out["input"] = backend.input_device.name
out["inits_after_found"] = backend.stats.portaudio_inits
deadline = time.monotonic() + 5
while backend.stats.input_callbacks < 5 and time.monotonic() < deadline:
    time.sleep(0.01)  # polling the callback counter
out["input_callbacks"] = backend.stats.input_callbacks
out["errors"] = errors
backend.finish()
print(json.dumps(out))
"""


def test_a_device_plugged_in_while_idle_is_found_at_the_next_open(
    sound_server: SoundServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**sound_server.env(), "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", PLUGGED_IN_LATER, str(home / ".asoundrc"), ASOUNDRC],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["missing"].startswith("no input device matching 'appliance_usb' (available: ")
    assert out["inits_after_missing"] == 2
    # the next open: the kept instance does not know the device; initialised again, it does
    assert out["input"] == "appliance_usb"
    assert out["inits_after_found"] == 3
    assert out["input_callbacks"] >= 5, out
    assert out["errors"] == []
