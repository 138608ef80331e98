"""Echo cancelling (``audio.echo = "cancel"``), noise suppression and gain: what they remove,
what they cost, what they delay.

Synthetic rows (no sound card): the model's voice through a room, in software, at 24 kHz:

* the echo path: the voice ``delay`` ms late, 6 dB down, plus a short reverberant tail
  (RT60 about 150 ms, -15 dB), added to the microphone; optional room noise;
* two voices: the simulator's (one pitch and its harmonics: the hardest case for a canceller,
  and what the tests play) and a recorded-like one (espeak-ng, when it is installed);
* per candidate: ERLE (echo return loss enhancement: how much quieter the echo is after
  processing, after the first 3 s), the number of 20 ms frames of leaked echo that a server
  VAD at its default threshold (-40 dBFS, two frames in a row) takes for speech, how much of a
  user's phrase spoken over the voice is left (double talk), and CPU per 10 ms frame.

Candidates: the appliance's processor (livekit's AEC3 + its guard, the chosen one), AEC3
alone, and speexdsp's MDF canceller with its residual-echo suppressor (libspeexdsp through
ctypes, when the library is on the machine), with the reference aligned or not.

Rig rows (the virtual sound server, :mod:`appliance.rig.echo`): the whole path on real PyAudio
streams, the model's voice fed back from the output sink into the microphone 30, 60 and 120 ms
late and 6 dB down: ERLE measured on what the appliance would send, CPU per frame and for the
whole session, the capture -> append latency the processing adds, and the memory the library
costs once loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from appliance.audio import echo
from appliance.audio.echo import FRAME, RATE, Processor
from appliance.audio.pcm import WIRE_RATE, to_int16
from appliance.audio.playback import Playback
from appliance.audio.pyaudio_backend import PyAudioBackend
from appliance.bench import Row, row
from appliance.bench.audio import sound_path
from appliance.config import AudioConfig
from appliance.rig.echo import echo_path
from appliance.rig.speech import espeak
from appliance.sim.voice import synth_speech

AREA = "echo"
DELAYS_MS = (30, 60, 120)
VAD_DBFS = -40.0  # the simulator's (and a default server VAD's) threshold


# --- signals -------------------------------------------------------------------------------------


def sim_voice(answers: int = 5, seconds: float = 4.0, gap_s: float = 1.5) -> np.ndarray:
    """``answers`` answers of the simulator's voice with pauses between, float in [-1, 1]."""
    voice = np.frombuffer(synth_speech(seconds), dtype="<i2").astype(np.float32) / 32768
    gap = np.zeros(round(gap_s * RATE), np.float32)
    return np.concatenate([gap[: RATE // 2]] + [np.concatenate([voice, gap])] * answers)


GUIDE = (
    "Welcome to the museum. The painting on your left was made in sixteen forty two, and it "
    "shows the harbour at dawn, with the fishing boats coming home. Behind you is the "
    "sculpture garden, which opens at ten every morning. If you have any questions about the "
    "collection, just ask me, and I will do my best to answer them."
)


def room(x: np.ndarray, delay_ms: float, gain_db: float = -6.0, seed: int = 1) -> np.ndarray:
    """``x`` heard through a small room: late by ``delay_ms``, ``gain_db`` down, with a tail."""
    rng = np.random.default_rng(seed)
    d = round(delay_ms * RATE / 1000)
    h = np.zeros(d + round(0.15 * RATE), np.float32)
    h[d] = 1.0
    n = len(h) - d - 24
    tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / (0.15 * RATE))
    h[d + 24 :] += tail * 10 ** (-15 / 20) / np.sqrt(np.sum(tail**2))
    return (np.convolve(x, h)[: len(x)] * 10 ** (gain_db / 20)).astype(np.float32)


def i16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def frame_dbfs(x: np.ndarray, size: int = 480) -> np.ndarray:
    n = len(x) // size
    f = x[: n * size].astype(np.float64).reshape(n, size) / 32768
    return 20 * np.log10(np.sqrt(np.mean(f**2, axis=1)) + 1e-12)


def vad_hits(x: np.ndarray) -> int:
    """20 ms frames a VAD at -40 dBFS would count as speech (two loud frames in a row)."""
    loud = frame_dbfs(x) > VAD_DBFS
    return int(np.sum(loud[1:] & loud[:-1]))


# --- candidates: frame functions (near int16, far int16) -> out int16 ----------------------------


FrameFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def appliance_processor(guard: bool = True) -> tuple[Processor, FrameFn]:
    """The appliance's own processor, driven through its render/capture interface on a
    synthetic clock (the echo path's delay is the room's; the devices add none)."""
    processor = Processor(echo.LiveKitCanceller(), None, guard=guard)
    processor.start(RATE, 1)
    clock = [1000.0]

    def step(near: np.ndarray, far: np.ndarray) -> np.ndarray:
        t = clock[0]
        processor.render(far.tobytes(), t)
        out, _ = processor.capture(near, t)
        clock[0] += len(near) / RATE
        return out

    return processor, step


class Speex:
    """speexdsp's MDF echo canceller + its preprocessor's residual echo suppression (ctypes
    on libspeexdsp, as Debian ships it; no Python package needed)."""

    ECHO_SET_SAMPLING_RATE = 24
    PREPROCESS_SET_ECHO_STATE = 24
    PREPROCESS_SET_DENOISE = 0

    def __init__(self, tail_ms: int, align_ms: int = 0) -> None:
        name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
        lib = ctypes.CDLL(name)
        lib.speex_echo_state_init.restype = ctypes.c_void_p
        lib.speex_preprocess_state_init.restype = ctypes.c_void_p
        lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p] * 4
        lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
        lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.st = lib.speex_echo_state_init(FRAME, round(tail_ms * RATE / 1000))
        rate = ctypes.c_int(RATE)
        lib.speex_echo_ctl(self.st, self.ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))
        self.pp = lib.speex_preprocess_state_init(FRAME, RATE)
        lib.speex_preprocess_ctl(self.pp, self.PREPROCESS_SET_ECHO_STATE, ctypes.c_void_p(self.st))
        off = ctypes.c_int(0)
        lib.speex_preprocess_ctl(self.pp, self.PREPROCESS_SET_DENOISE, ctypes.byref(off))
        self.align = np.zeros(round(align_ms * RATE / 1000), np.int16)
        self.out = np.zeros(FRAME, np.int16)

    def __call__(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                self._frame(near[k : k + FRAME], far[k : k + FRAME])
                for k in range(0, len(near), FRAME)
            ]
        )

    def _frame(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        if len(self.align):
            joined = np.concatenate([self.align, far])
            far, self.align = joined[:FRAME].copy(), joined[FRAME:]
        near, far = np.ascontiguousarray(near), np.ascontiguousarray(far)
        self.lib.speex_echo_cancellation(
            self.st, near.ctypes.data, far.ctypes.data, self.out.ctypes.data
        )
        self.lib.speex_preprocess_run(self.pp, self.out.ctypes.data)
        return self.out.copy()

    def close(self) -> None:
        self.lib.speex_echo_state_destroy(self.st)
        self.lib.speex_preprocess_state_destroy(self.pp)

    @staticmethod
    def available() -> bool:
        try:
            ctypes.CDLL(ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1")
        except OSError:
            return False
        return True


def run_frames(step: FrameFn, mic: np.ndarray, far: np.ndarray) -> tuple[np.ndarray, float]:
    """Process in 20 ms blocks; returns the output and the CPU time per 10 ms frame (s)."""
    block = 2 * FRAME
    n = len(mic) // block * block
    out = []
    began = time.thread_time()
    for k in range(0, n, block):
        out.append(step(mic[k : k + block], far[k : k + block]))
    cpu = (time.thread_time() - began) / (n // FRAME)
    joined = np.concatenate(out) if out else np.zeros(0, np.int16)
    return joined, cpu


def erle_db(mic: np.ndarray, out: np.ndarray, settle_s: float = 3.0) -> float:
    s = round(settle_s * RATE)
    n = min(len(mic), len(out))
    e_in = float(np.sum(mic[s:n].astype(np.float64) ** 2))
    e_out = float(np.sum(out[s:n].astype(np.float64) ** 2))
    return 10 * np.log10(e_in / max(e_out, 1.0))


def evaluate(
    make: Callable[[], FrameFn], far: np.ndarray, delay_ms: int, near: np.ndarray | None = None
) -> dict[str, float]:
    """One candidate on one echo path: ERLE, VAD hits (echo only), CPU per frame, and with
    ``near`` (a phrase over the voice, at 45 % of the way) how much of it is left (dB)."""
    echo_only = room(far, delay_ms)
    out, cpu = run_frames(make(), i16(echo_only), i16(far))
    result = {
        "erle_db": erle_db(i16(echo_only), out),
        "vad_hits": float(vad_hits(out)),
        "cpu_ms": cpu * 1000,
    }
    if near is not None:
        at = round(len(far) * 0.45)
        user = np.zeros_like(far)
        user[at : at + len(near)] = near[: len(far) - at]
        both, _ = run_frames(make(), i16(echo_only + user), i16(far))
        seg = slice(at, min(at + len(near), len(both)))
        kept = np.sum(both[seg].astype(np.float64) ** 2) / np.sum(i16(user)[seg] ** 2.0)
        result["near_kept_db"] = 10 * np.log10(max(kept, 1e-12))
    return result


def candidates(delay_ms: int) -> dict[str, Callable[[], FrameFn]]:
    out: dict[str, Callable[[], FrameFn]] = {}
    if echo.cancel_available() is None:
        out["AEC3 + guard (chosen)"] = lambda: appliance_processor(True)[1]
        out["AEC3 alone"] = lambda: appliance_processor(False)[1]
    if Speex.available():
        out["speexdsp MDF 200 ms"] = lambda: Speex(200)
        out["speexdsp MDF 100 ms, aligned"] = lambda: Speex(100, align_ms=delay_ms)
    return out


def synthetic_rows(quick: bool) -> list[Row]:
    rows: list[Row] = []
    voices: dict[str, np.ndarray] = {"sim voice": sim_voice(3 if quick else 5)}
    guide = espeak(GUIDE)
    if guide is not None:
        voices["espeak voice"] = guide if not quick else guide[: 12 * RATE]
    near = espeak("Wait, stop. Where is the bathroom?", voice="en-gb", level_dbfs=-24.0)
    for label, far in voices.items():
        for delay in DELAYS_MS:
            for name, make in candidates(delay).items():
                r = evaluate(make, far, delay, near if label == "espeak voice" else None)
                note = (
                    f"synthetic room, {label}, {delay} ms, -6 dB + reverb tail; {name}; after "
                    f"3 s; leaked 20 ms frames over {VAD_DBFS:.0f} dBFS: {r['vad_hits']:.0f}; "
                    f"CPU {r['cpu_ms']:.3f} ms per 10 ms frame"
                )
                if "near_kept_db" in r:
                    note += f"; a phrase over the voice keeps {r['near_kept_db']:+.1f} dB"
                rows.append(
                    row(AREA, f"ERLE {delay} ms, {label}: {name}", r["erle_db"], "dB", note)
                )
    return rows


# --- memory --------------------------------------------------------------------------------------


def library_cost() -> list[Row]:
    """PSS and load time of the libraries, in a fresh interpreter (what a session pays the
    first time it opens the device with processing on)."""
    code = r"""
import os, sys, time
def pss():
    with open(f"/proc/{os.getpid()}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
import numpy as np
from appliance.audio import echo
base = pss()
t = time.perf_counter()
c = echo.LiveKitCanceller() if sys.argv[1] == "cancel" else echo.NoiseGainCleaner(2, 9)
for _ in range(100):
    z = np.zeros(echo.FRAME, np.int16)
    c.process(z, z, 20) if sys.argv[1] == "cancel" else c.process(z)
print(pss() - base, time.perf_counter() - t, len(os.listdir("/proc/self/task")))
"""
    rows: list[Row] = []
    for what, ok in (("cancel", echo.cancel_available()), ("clean", echo.clean_available())):
        if ok is not None:
            continue
        result = subprocess.run(
            [sys.executable, "-c", code, what], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            continue
        pss, load, threads = result.stdout.split()
        name = "livekit AEC3" if what == "cancel" else "webrtc-noise-gain NS/AGC"
        rows.append(
            row(
                AREA,
                f"PSS cost once loaded: {name}",
                float(pss),
                "MiB",
                f"fresh interpreter with numpy: PSS after import + 100 frames minus before; "
                f"load {float(load) * 1000:.0f} ms; {threads} threads in all; never loaded "
                "while idle (only when a session opens the device with processing on)",
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    rows = synthetic_rows(quick)
    rows += library_cost()
    if os.environ.get("APPLIANCE_BENCH_ECHO_RIG", "1") != "0":
        rows += rig_rows(quick)
    return rows


# --- the rig rows: the whole path on the virtual sound server ---------------------------------


def rig_rows(quick: bool) -> list[Row]:
    """ERLE on the rig at 30, 60 and 120 ms; CPU per frame and for the session; added latency."""

    if echo.cancel_available() is not None:
        return []
    rows: list[Row] = []
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

    sent = np.concatenate(got) if got else np.zeros(0, np.int16)
    processor = backend.processor
    return {
        "stats": processor.stats if processor is not None else None,
        "hits": vad_hits(sent),
        "guarded": processor.guard.gated if processor is not None and processor.guard else 0,
        "process_cpu": cpu,
        "latency_ms": latency[len(latency) // 4 :],
    }
