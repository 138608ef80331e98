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

Used by ``tests/integration/test_echo.py`` and by the bench (``appliance/bench/echo.py``:
:func:`bench_rows`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RIG_RATE = 48_000


def _pactl(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["pactl", *args], env=env, capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def _env(address: str) -> dict[str, str]:
    return {**os.environ, "PULSE_SERVER": address}


def write_wav(path: Path, samples: np.ndarray, rate: int = RIG_RATE) -> Path:
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def espeak_wav(path: Path, text: str, level_dbfs: float = -20.0) -> Path:
    """``text`` spoken by espeak-ng (a British voice, unlike any model voice), at 48 kHz,
    voiced parts at ``level_dbfs``."""
    import soxr

    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(raw), text], check=True, timeout=30)
    with wave.open(str(raw)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        rate = w.getframerate()
    x = soxr.resample(x, rate, RIG_RATE)
    loud = np.abs(x) > 0.01
    x *= 10 ** (level_dbfs / 20) / float(np.sqrt(np.mean(x[loud] ** 2)))
    return write_wav(path, x)


def _module_sink_input(env: dict[str, str], module: str) -> str | None:
    current = None
    for line in _pactl(env, "list", "sink-inputs").splitlines():
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
        path = espeak_wav(self.directory / f"say{len(self.players)}.wav", text, level_dbfs)
        began = time.monotonic()
        player = subprocess.Popen(
            ["paplay", "--device=appliance_mic", "--latency-msec=20", str(path)],
            env=_env(self.address),
        )
        self.players.append(player)
        if wait:
            player.wait(timeout=30)
        return began

    def measure_delay(self) -> tuple[float, float]:
        """Play a chirp into the speaker and find it in the microphone: (delay ms, gain dB) of
        the path itself (the sound server's own buffering included)."""
        from appliance.rig.sound import Recorder, SoundServer

        server = SoundServer(address=self.address)
        t = np.arange(int(0.5 * RIG_RATE)) / RIG_RATE
        chirp = 0.5 * np.sin(2 * np.pi * (200 * t + (4000 - 200) / (2 * 0.5) * t**2))
        signal = np.concatenate([np.zeros(RIG_RATE // 5), chirp, np.zeros(RIG_RATE // 2)])
        path = write_wav(self.directory / "chirp.wav", signal)
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
    env = _env(address)
    with tempfile.TemporaryDirectory(prefix="echo-rig-") as tmp:
        path = EchoPath(address, delay_ms, gain_db, Path(tmp))
        try:
            module = _pactl(
                env,
                "load-module",
                "module-loopback",
                "source=appliance_out.monitor",
                "sink=appliance_mic",
                f"latency_msec={delay_ms}",
                "source_dont_move=true",
                "sink_dont_move=true",
            )
            path.modules.append(module)
            index = _module_sink_input(env, module)
            if index is not None and gain_db:
                # a plain number is a linear factor (pactl reads "-6dB" as a relative step)
                _pactl(env, "set-sink-input-volume", index, f"{10 ** (gain_db / 20):.4f}")
            if noise_dbfs is not None:
                rng = np.random.default_rng(5)
                white = rng.standard_normal(RIG_RATE * 30)
                noise = np.convolve(white, np.ones(6) / 6, "same")  # a fan: more low than high
                noise *= 10 ** (noise_dbfs / 20) / np.sqrt(np.mean(noise**2))
                wav = write_wav(path.directory / "noise.wav", noise)
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
                subprocess.run(["pactl", "unload-module", module], env=env, timeout=10, check=False)


# --- the bench's rig rows ---------------------------------------------------------------------


def bench_rows(quick: bool) -> list:
    """ERLE on the rig at 30, 60 and 120 ms; CPU per frame and for the session; added latency."""
    from appliance.audio import echo
    from appliance.audio.playback import Playback
    from appliance.audio.pyaudio_backend import PyAudioBackend
    from appliance.bench import row
    from appliance.bench.audio import sound_path
    from appliance.bench.echo import AREA, sim_voice
    from appliance.config import AudioConfig

    if echo.cancel_available() is not None:
        return []
    rows = []
    answers = 2 if quick else 4
    voice = sim_voice(answers, seconds=3.0, gap_s=1.0)
    with sound_path() as where:
        address = os.environ.get("PULSE_SERVER", "")
        latency: dict[str, list[float]] = {}
        for delay in (30, 60, 120):
            with echo_path(address, delay_ms=delay, gain_db=-6.0) as rig:
                measured, gain = rig.measure_delay()
                result = _run_backend(
                    PyAudioBackend, Playback, AudioConfig(echo="cancel"), voice, settle_s=4.0
                )
            stats = result["stats"]
            rows.append(
                row(
                    AREA,
                    f"rig ERLE {delay} ms",
                    stats.erle_db or 0.0,
                    "dB",
                    f"{where}: the sim voice played, fed back into the mic by a loopback of "
                    f"{delay} ms ({measured:.0f} ms and {gain:+.1f} dB measured by a chirp, the "
                    f"sound server's buffering included), {answers} answers, after the first "
                    f"4 s; leaked 20 ms frames over -40 dBFS: {result['hits']}; the guard "
                    f"attenuated {result['guarded']} frames",
                )
            )
            per_frame = stats.cpu_s / max(stats.frames, 1) * 1000
            rows.append(
                row(
                    AREA,
                    f"rig CPU per 10 ms frame {delay} ms",
                    per_frame,
                    "ms",
                    "the capture thread's CPU time inside AEC3 + guard per 10 ms frame "
                    f"({per_frame / 10 * 100:.1f} % of a core)",
                    [s * 1000 for s in stats.frame_s],
                )
            )
            rows.append(
                row(
                    AREA,
                    f"rig session CPU with cancelling {delay} ms",
                    result["process_cpu"] * 100,
                    "%",
                    "CPU of the whole bench process (all threads: PortAudio callbacks, "
                    "conversion, AEC3) over the run / wall time",
                )
            )
            latency.setdefault("cancel", []).extend(result["latency_ms"])
        with echo_path(address, delay_ms=60, gain_db=-6.0):
            plain = _run_backend(
                PyAudioBackend, Playback, AudioConfig(echo="full-duplex"), voice, settle_s=0.0
            )
        latency["none"] = plain["latency_ms"]
        rows.append(
            row(
                AREA,
                "rig session CPU without processing",
                plain["process_cpu"] * 100,
                "%",
                "the same run with echo = full-duplex (no processing): the baseline",
            )
        )
        for name, values in latency.items():
            rows.append(
                row(
                    AREA,
                    f"capture -> on_capture, {'AEC3 + guard' if name == 'cancel' else 'none'}",
                    float(np.median(values)),
                    "ms",
                    "from the block's ADC time (PortAudio's inputBufferAdcTime) to the "
                    "processed audio handed to the link (what is then appended): conversion, "
                    "10 ms framing, processing",
                    values,
                )
            )
        if latency.get("cancel") and latency.get("none"):
            added = float(np.median(latency["cancel"]) - np.median(latency["none"]))
            rows.append(
                row(
                    AREA,
                    "added capture latency (cancel - none), median",
                    added,
                    "ms",
                    "what echo cancelling adds between capture and append",
                )
            )
    return rows


def _run_backend(backend_type, playback_type, config, voice, settle_s: float) -> dict:
    """Open a backend on the current sound server, play ``voice`` (24 kHz float), collect what
    it would send; the processor's statistics from ``settle_s`` on."""
    from appliance.audio.pcm import WIRE_RATE, to_int16

    backend = backend_type(config)
    playback = playback_type()
    got: list[np.ndarray] = []
    latency: list[float] = []

    def on_capture(samples: np.ndarray, captured: float) -> None:
        latency.append((time.perf_counter() - captured) * 1000)
        got.append(samples)

    errors: list[str] = []
    backend.open(playback, on_capture, errors.append)
    try:
        time.sleep(0.5)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        playback.push("bench", to_int16(voice))
        settled = False
        deadline = time.perf_counter() + len(voice) / WIRE_RATE + 2.0
        while time.perf_counter() < deadline:
            time.sleep(0.05)
            elapsed = time.perf_counter() - wall0
            processor = backend.processor
            if not settled and elapsed >= settle_s and processor is not None:
                processor.stats.echo_in = processor.stats.echo_out = 0.0
                processor.stats.echo_frames = 0
                processor.stats.frames = 0
                processor.stats.cpu_s = processor.stats.busy_s = 0.0
                processor.stats.frame_s.clear()
                processor.stats.measure = True
                if processor.guard is not None:
                    processor.guard.gated = 0
                got.clear()
                settled = True
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    finally:
        backend.close()
    if errors:
        raise RuntimeError(f"audio errors: {errors}")
    from appliance.bench.echo import vad_hits

    sent = np.concatenate(got) if got else np.zeros(0, np.int16)
    processor = backend.processor
    return {
        "stats": processor.stats if processor is not None else None,
        "hits": vad_hits(sent),
        "guarded": processor.guard.gated if processor is not None and processor.guard else 0,
        "process_cpu": cpu,
        "latency_ms": latency[len(latency) // 4 :],
    }
