"""An echo rig on the virtual sound server (``scripts/lib/soundserver.sh``): a speaker next to
a microphone, made on purpose.

The model's voice that the appliance plays into ``appliance_out`` is fed back into the
microphone (``appliance_mic``, whose monitor is the appliance's input) by a PulseAudio loopback
``delay_ms`` late and ``gain_db`` down; optional room noise is played into the microphone all
along, and a user's phrase (espeak-ng) can be spoken into it at any moment. What the appliance
captures is then echo + noise + user, as in a room::

    appliance --plays--> [appliance_out] --monitor--> loopback (delay, -6 dB) --+
                                                                                 v
    room noise (paplay, looped) ---------------------------------------> [appliance_mic]
    user phrase (espeak-ng -> paplay) ---------------------------------->      |
                                                                 monitor: the appliance's mic

Used by ``tests/integration/test_echo_barge_in.py`` and by the bench (``appliance/bench/echo.py``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from appliance.rig.sound import Recorder, SoundServer, pactl
from appliance.rig.speech import espeak_wav, write_float_wav

RIG_RATE = 48_000


def _module_sink_input(address: str, module: str) -> str | None:
    current = None
    for line in pactl(address, "list", "sink-inputs", check=True).stdout.splitlines():
        line = line.strip()
        if line.startswith("Sink Input #"):
            current = line.split("#", 1)[1]
        elif line.startswith("Owner Module:") and line.split(":", 1)[1].strip() == module:
            return current
    return None


@dataclass
class EchoPath:
    """A loaded echo path; :meth:`say` speaks into the microphone over it."""

    address: str
    delay_ms: int
    gain_db: float
    directory: Path
    modules: list[str] = field(default_factory=list)
    players: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def say(self, text: str, level_dbfs: float = -20.0, wait: bool = False) -> float:
        """Speak ``text`` into the microphone now (in the background unless ``wait``); returns
        the ``time.monotonic()`` at which paplay started."""
        path = espeak_wav(
            self.directory / f"say{len(self.players)}.wav", text, level_dbfs=level_dbfs
        )
        began = time.monotonic()
        player = subprocess.Popen(
            ["paplay", "--device=appliance_mic", "--latency-msec=20", str(path)],
            env=SoundServer(self.address).env(),
        )
        self.players.append(player)
        if wait:
            player.wait(timeout=30)
        return began

    def measure_delay(self) -> tuple[float, float]:
        """Play a chirp into the speaker and find it in the microphone: (delay ms, gain dB) of
        the path itself (the sound server's own buffering included)."""
        server = SoundServer(address=self.address)
        t = np.arange(int(0.5 * RIG_RATE)) / RIG_RATE
        chirp = 0.5 * np.sin(2 * np.pi * (200 * t + (4000 - 200) / (2 * 0.5) * t**2))
        signal = np.concatenate([np.zeros(RIG_RATE // 5), chirp, np.zeros(RIG_RATE // 2)])
        path = write_float_wav(self.directory / "chirp.wav", signal, RIG_RATE)
        with (
            Recorder(server, "appliance_out.monitor", RIG_RATE) as out,
            Recorder(server, "appliance_mic.monitor", RIG_RATE) as mic,
        ):
            time.sleep(0.2)
            server.play(path, device="appliance_out")
            time.sleep(0.4)
            a, b = out.samples(), mic.samples()
        n = min(len(a), len(b))
        a, b = a[-n:], b[-n:]  # both end now: align their ends
        size = 1 << (2 * n).bit_length()
        corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
        lag = int(np.argmax(np.abs(corr[: n // 2])))
        gain = np.sqrt(np.sum(b**2) / max(np.sum(a**2), 1e-12))
        return lag * 1000 / RIG_RATE, 20 * np.log10(max(gain, 1e-9))


@contextmanager
def echo_path(
    address: str, delay_ms: int = 60, gain_db: float = -6.0, noise_dbfs: float | None = None
) -> Iterator[EchoPath]:
    """Feed the speaker back into the microphone (and room noise, if ``noise_dbfs``)."""
    env = SoundServer(address).env()
    with tempfile.TemporaryDirectory(prefix="echo-rig-") as tmp:
        path = EchoPath(address, delay_ms, gain_db, Path(tmp))
        try:
            module = pactl(
                address,
                "load-module",
                "module-loopback",
                "source=appliance_out.monitor",
                "sink=appliance_mic",
                f"latency_msec={delay_ms}",
                "source_dont_move=true",
                "sink_dont_move=true",
                check=True,
            ).stdout.strip()
            path.modules.append(module)
            index = _module_sink_input(address, module)
            if index is not None and gain_db:
                # a plain number is a linear factor (pactl reads "-6dB" as a relative step)
                volume = f"{10 ** (gain_db / 20):.4f}"
                pactl(address, "set-sink-input-volume", index, volume, check=True)
            if noise_dbfs is not None:
                rng = np.random.default_rng(5)
                white = rng.standard_normal(RIG_RATE * 30)
                noise = np.convolve(white, np.ones(6) / 6, "same")  # a fan: more low than high
                noise *= 10 ** (noise_dbfs / 20) / np.sqrt(np.mean(noise**2))
                wav = write_float_wav(path.directory / "noise.wav", noise, RIG_RATE)
                loop = subprocess.Popen(
                    ["bash", "-c", f'while :; do paplay --device=appliance_mic "{wav}"; done'],
                    env=env,
                    start_new_session=True,
                )
                path.players.append(loop)
            yield path
        finally:
            for player in path.players:
                if player.poll() is None:
                    try:
                        os.killpg(player.pid, 15)
                    except (ProcessLookupError, PermissionError):
                        player.terminate()
                    try:
                        player.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        player.kill()
            for module in path.modules:
                pactl(address, "unload-module", module)
