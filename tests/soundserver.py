"""Helpers for tests on the virtual sound server (``scripts/lib/soundserver.sh``).

The server has a null sink ``appliance_out`` (default sink; record ``appliance_out.monitor`` to
hear what was played) and a null sink ``appliance_mic`` whose monitor is the default source
(play into ``appliance_mic`` to speak into the appliance's microphone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "lib" / "soundserver.sh"


class Unavailable(Exception):
    """No sound server can be reached or started; the message says why."""


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _pactl(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PULSE_SERVER": address}
    return subprocess.run(
        ["pactl", *args], env=env, capture_output=True, text=True, timeout=10, check=False
    )


def has_appliance_sinks(address: str) -> bool:
    """True if a server answers at ``address`` and has the appliance's sinks."""
    if shutil.which("pactl") is None:
        return False
    result = _pactl(address, "list", "short", "sinks")
    return result.returncode == 0 and all(
        name in result.stdout for name in ("appliance_out", "appliance_mic")
    )


@dataclass
class SoundServer:
    """A running virtual sound server. ``owned`` servers are stopped by :meth:`stop`."""

    address: str
    directory: Path | None = None

    @property
    def owned(self) -> bool:
        return self.directory is not None

    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_SERVER": self.address}

    def stop(self) -> None:
        if self.directory is not None:
            subprocess.run(
                ["bash", str(SCRIPT), "stop", str(self.directory)], timeout=10, check=False
            )

    def record(self, source: str = "appliance_out.monitor", rate: int = 48_000) -> Recorder:
        """Start recording ``source`` (mono float at ``rate``) in the background."""
        return Recorder(self, source, rate)

    def play(self, path: Path, device: str = "appliance_mic") -> None:
        """Play a WAV file into ``device`` and wait until it has been played."""
        subprocess.run(
            ["paplay", f"--device={device}", str(path)],
            env=self.env(),
            timeout=30,
            check=True,
        )


def start(directory: Path) -> SoundServer:
    """Start a private server with its runtime files in ``directory``."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        raise Unavailable("pulseaudio/pactl not installed (apt-get install pulseaudio-utils)")
    result = subprocess.run(
        ["bash", str(SCRIPT), "start", str(directory)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise Unavailable(f"the sound server did not start: {result.stderr.strip()}")
    address = result.stdout.strip().rpartition("PULSE_SERVER=")[2]
    return SoundServer(address=address, directory=directory)


class Recorder:
    """``parec`` on a source, read by a thread into a growing buffer of int16 samples."""

    def __init__(self, server: SoundServer, source: str, rate: int) -> None:
        self.rate = rate
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={source}",
                "--format=s16le",
                f"--rate={rate}",
                "--channels=1",
                "--raw",
                "--latency-msec=10",
            ],
            stdout=subprocess.PIPE,
            env=server.env(),
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while data := self._proc.stdout.read1(4096):
            with self._lock:
                self._chunks.append(data)

    def samples(self) -> np.ndarray:
        """Everything recorded so far, as float in [-1, 1]."""
        with self._lock:
            data = b"".join(self._chunks)
        data = data[: len(data) // 2 * 2]
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    def stop(self) -> np.ndarray:
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._thread.join(timeout=5)
        return self.samples()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            self.stop()


# --- signal measurements ------------------------------------------------------------------


def tone(freq: float, seconds: float, rate: int, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window, parabolic interpolation)."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / len(x)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def db(ratio: float) -> float:
    return 20 * np.log10(max(ratio, 1e-12))


def loud_span(x: np.ndarray, rate: int, threshold: float) -> tuple[int, int] | None:
    """First and last+1 sample of the region whose 5 ms envelope exceeds ``threshold``."""
    win = max(1, rate // 200)
    if len(x) < win:
        return None
    envelope = np.sqrt(np.convolve(np.square(x), np.ones(win) / win, mode="same"))
    loud = np.flatnonzero(envelope > threshold)
    if not len(loud):
        return None
    return int(loud[0]), int(loud[-1]) + 1
