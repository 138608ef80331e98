"""The virtual sound server (``scripts/lib/soundserver.sh``): starting it, ``pactl``, recording
its sinks, and the measurements made on what was recorded.

The server has a null sink ``appliance_out`` (default sink; record ``appliance_out.monitor`` to
hear what was played) and a null sink ``appliance_mic`` whose monitor is the default source
(play into ``appliance_mic`` to speak into the appliance's microphone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.rig.process import ROOT

SCRIPT = ROOT / "scripts" / "lib" / "soundserver.sh"


class Unavailable(RuntimeError):
    """No sound server can be reached or started; the message says why."""


def pactl(address: str, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``pactl ARGS`` on the server at ``address`` (raises on failure if ``check``)."""
    env = {**os.environ, "PULSE_SERVER": address}
    return subprocess.run(
        ["pactl", *args], env=env, capture_output=True, text=True, timeout=10, check=check
    )


def reachable(address: str) -> bool:
    """True if any sound server answers at ``address``."""
    return shutil.which("pactl") is not None and pactl(address, "info").returncode == 0


def has_appliance_sinks(address: str) -> bool:
    """True if a server answers at ``address`` and has the appliance's sinks."""
    if shutil.which("pactl") is None:
        return False
    result = pactl(address, "list", "short", "sinks")
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


@contextmanager
def sound_server(
    directory: Path | None = None, *, any_server: bool = False
) -> Iterator[SoundServer]:
    """The server ``PULSE_SERVER`` points at if it answers with the appliance's sinks (with
    ``any_server``: if it answers at all), else a private one started for the duration (its
    runtime files in ``directory``, or a temporary one) with ``PULSE_SERVER`` set to it.
    Raises :class:`Unavailable` if neither is possible."""
    address = os.environ.get("PULSE_SERVER")
    if address and (reachable(address) if any_server else has_appliance_sinks(address)):
        yield SoundServer(address=address)
        return
    with tempfile.TemporaryDirectory(prefix="appliance-sound-") as scratch:
        server = start(directory or Path(scratch))
        previous = os.environ.get("PULSE_SERVER")
        os.environ["PULSE_SERVER"] = server.address
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("PULSE_SERVER", None)
            else:
                os.environ["PULSE_SERVER"] = previous
            server.stop()


class Recorder:
    """``parec`` on a source, read by a thread into a growing buffer of int16 samples; each
    chunk's arrival is noted (:meth:`origin`). ``server`` None: the one this process's
    environment names."""

    def __init__(self, server: SoundServer | None, source: str, rate: int) -> None:
        self.rate = rate
        self._chunks: list[bytes] = []
        self._arrivals: list[tuple[float, int]] = []  # (perf_counter, samples so far)
        self._bytes = 0
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
            env=None if server is None else server.env(),
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while data := self._proc.stdout.read1(4096):
            now = time.perf_counter()
            with self._lock:
                self._chunks.append(data)
                self._bytes += len(data)
                self._arrivals.append((now, self._bytes // 2))

    def samples(self) -> np.ndarray:
        """Everything recorded so far, as float in [-1, 1]."""
        with self._lock:
            data = b"".join(self._chunks)
            self._chunks = [data]
        data = data[: len(data) // 2 * 2]
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    def origin(self) -> float:
        """The ``time.perf_counter`` moment of sample 0, roughly (within some 15 ms): each
        chunk's samples were there by its arrival, but a sink renders ahead in bursts, so a low
        percentile of ``arrival - count / rate`` rather than its minimum."""
        with self._lock:
            arrivals = list(self._arrivals)
        if not arrivals:
            raise RuntimeError("nothing was recorded")
        return float(np.percentile([at - count / self.rate for at, count in arrivals], 5))

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
