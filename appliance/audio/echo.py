"""Echo cancellation, noise suppression and automatic gain on the microphone, in the process.

A browser runs the microphone through WebRTC's audio processing (getUserMedia turns on echo
cancellation, noise suppression and automatic gain by default), so a user can talk over the
voice on a laptop's own speaker. This module does the same for the appliance:

* ``audio.echo = "cancel"``: each 10 ms frame of the microphone (24 kHz mono, the wire's
  format) goes through WebRTC's echo canceller (AEC3, from the ``livekit`` package's
  ``rtc.AudioProcessingModule``, with its high-pass filter) with the audio that was playing at
  that moment as the reference; what comes out is what is sent.
* ``audio.noise_suppression`` and ``audio.auto_gain``: WebRTC's noise suppressor and gain
  controller (the ``webrtc-noise-gain`` package, as wyoming-satellite's
  ``--mic-noise-suppression`` / ``--mic-auto-gain``), with or without echo cancelling.

Why these two libraries, and the figures, are in ``pyproject.toml`` and README ("Sound").

**Alignment.** The sound-card backend hands the processor each output block with the moment its
first frame reaches the DAC (PortAudio's ``outputBufferDacTime``) and each captured block with
the moment its first frame left the ADC (``inputBufferAdcTime``). The reference is kept on that
clock (:class:`ReferenceRing`); a capture frame taken at ADC time *t* gets the reference that
reached the DAC at *t* - :data:`LEAD_MS`, so the reference always comes a little before its
echo whatever the device buffers are, and AEC3's own delay estimator finds the rest (the
acoustic path, the converters, a clock that a host API reports roughly). Both library calls
happen on the capture thread, in order, so the reference of a frame is always in before it.

**Steady clocks.** The times a host API reports jitter by a millisecond or so from one callback
to the next (several under load), but the audio itself is a steady stream of samples. AEC3
models the echo path sample by sample: a reference that slips by a few samples between frames
looks to it like a moved speaker, and it lets the echo through while it relearns. So each
stream keeps its own clock (:class:`StreamClock`), which follows the reported times slowly and
jumps only when they disagree by more than :data:`JITTER_S` (a real discontinuity: an
underrun, a restart). A barge-in flush drops what the output device held: :meth:`Processor.flushed`
cuts that audio, which never played, from the reference.

:class:`Processor` is pure frame logic (framing, alignment, statistics) around two small
interfaces, :class:`Canceller` and :class:`Cleaner`; tests drive it with fakes. The libraries
are imported only by :func:`open_processor`, when a session opens the device with processing
on: an idle appliance never loads them (the canceller costs about 22 MiB PSS once loaded).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from appliance.audio.pcm import WIRE_RATE, Resampler, to_float, to_mono

if TYPE_CHECKING:
    from appliance.config import AudioConfig

log = logging.getLogger(__name__)

RATE = WIRE_RATE
FRAME = RATE // 100  # 10 ms: the unit both libraries work in
LEAD_MS = 20
"""How far ahead of its echo the reference is given to the canceller (its delay hint)."""
RING_S = 2.0
"""How much reference audio is kept (a capture frame older than this gets silence)."""
JITTER_S = 0.012
"""Reported device times within this of a stream's own clock are jitter (the stream goes on
sample by sample); further off, the stream really jumped (an underrun, a restart)."""
FOLLOW = 0.02
"""How much of each block's difference from the reported time a stream's clock takes in: it
follows a drifting device clock within a second or so and smooths jitter away."""

CANCEL_PACKAGE = "livekit"
CLEAN_PACKAGE = "webrtc_noise_gain"
NOISE_LEVELS = {"off": 0, "low": 1, "moderate": 2, "high": 3, "very-high": 4}


# --- the two library interfaces ------------------------------------------------------------------


class Canceller(Protocol):
    """An echo canceller working on 10 ms frames of 24 kHz mono int16."""

    def process(self, near: np.ndarray, far: np.ndarray, delay_ms: int) -> np.ndarray:
        """The microphone frame ``near`` without the echo of ``far`` (given ``delay_ms`` ahead
        of its echo)."""


class Cleaner(Protocol):
    """Noise suppression and/or automatic gain on 10 ms frames of 24 kHz mono int16."""

    def process(self, frame: np.ndarray) -> np.ndarray:
        """The same number of samples, cleaned (a fixed delay is allowed)."""

    delay_samples: int


class LiveKitCanceller:
    """WebRTC's AEC3 and high-pass filter through ``livekit.rtc.AudioProcessingModule``."""

    def __init__(self) -> None:
        from livekit import rtc  # the heavy import: only when a session opens with "cancel"

        self._frame = rtc.AudioFrame
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=False,
            high_pass_filter=True,
            auto_gain_control=False,
        )

    def process(self, near: np.ndarray, far: np.ndarray, delay_ms: int) -> np.ndarray:
        reverse = self._frame(bytearray(far.astype("<i2").tobytes()), RATE, 1, FRAME)
        self._apm.process_reverse_stream(reverse)
        self._apm.set_stream_delay_ms(int(delay_ms))
        frame = self._frame(bytearray(near.astype("<i2").tobytes()), RATE, 1, FRAME)
        self._apm.process_stream(frame)
        return np.frombuffer(frame.data, dtype=np.int16).copy()


class NoiseGainCleaner:
    """WebRTC's noise suppressor and gain controller through ``webrtc_noise_gain`` (16 kHz
    inside: the frames are resampled down and back up, which delays them by
    :attr:`delay_samples`)."""

    INNER = 16_000

    def __init__(self, noise_level: int, gain_dbfs: int) -> None:
        from webrtc_noise_gain import AudioProcessor

        self._processor = AudioProcessor(gain_dbfs, noise_level)
        self._down = Resampler(RATE, self.INNER, "LQ")
        self._up = Resampler(self.INNER, RATE, "LQ")
        self._inner = np.zeros(0, dtype=np.int16)
        # one frame of slack absorbs the resamplers' uneven output per call
        self.delay_samples = FRAME
        self._out = np.zeros(FRAME, dtype=np.float32)

    def process(self, frame: np.ndarray) -> np.ndarray:
        down = self._down.process(to_float(frame))
        self._inner = np.concatenate([self._inner, _int16(down)])
        step = self.INNER // 100
        done = []
        while len(self._inner) >= step:
            result = self._processor.Process10ms(self._inner[:step].tobytes())
            self._inner = self._inner[step:]
            done.append(np.frombuffer(result.audio, dtype=np.int16))
        if done:
            up = self._up.process(to_float(np.concatenate(done)))
            self._out = np.concatenate([self._out, up])
        if len(self._out) < len(frame):  # never starve: pad (only at the very start)
            self._out = np.concatenate(
                [np.zeros(len(frame) - len(self._out), np.float32), self._out]
            )
        out, self._out = self._out[: len(frame)], self._out[len(frame) :]
        return _int16(out)


def _int16(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.int16:
        return x
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


# --- a guard against what the canceller lets through ---------------------------------------------


GUARD_WINDOW_MS = 400
"""How far back in the reference the guard looks for what the output resembles."""
GUARD_NCC = 0.5
"""An output this correlated with the reference (normalised, 0 to 1) is echo, not a voice."""
GUARD_RESIDUE_NEAR_NCC = 0.95
"""A microphone frame this correlated with the reference (at 8 kHz, over 20 ms) is nearly pure
echo: a voice 6 dB under the echo already brings it down to 0.89."""
GUARD_RESIDUE_DB = 6.0
"""When the canceller took at least this much off such a frame, what it left is the echo's
residue, not a voice. AEC3 leaves such residue for a few frames when the echo path shifts (a
device clock adjusting, a sound server moving its buffer): 10 to 20 dB under the echo, loud
enough for a server's VAD, and too little a copy of the reference for :data:`GUARD_NCC`."""
GUARD_GAIN = 0.03
"""What the guard leaves of an echo frame (-30 dB)."""
GUARD_QUIET = (32768 * 10 ** (-55 / 20)) ** 2
"""Output frames quieter than -55 dBFS are left alone (well under any VAD's threshold)."""
_DECIMATE = 3  # the guard works at 8 kHz


class EchoGuard:
    """The canceller's safety net. AEC3 loses track of a strongly periodic voice now and then
    (the simulator's voice: one pitch and its harmonics) and lets the echo through for 100 to
    300 ms, which a server's VAD takes for the user. The guard looks at the last 20 ms of the
    canceller's output: if it is close to a copy of something played in the last
    :data:`GUARD_WINDOW_MS` (normalised cross-correlation at 8 kHz over :data:`GUARD_NCC`), it
    is echo and is attenuated. A voice is not a copy of the reference, so it passes, also
    while the model speaks; echo the canceller removed leaves too little to correlate. A
    residue that is not a copy (the canceller relearning a shifted echo path) is caught by
    the microphone itself: nearly a pure copy of the reference (:data:`GUARD_RESIDUE_NEAR_NCC`)
    and cut by :data:`GUARD_RESIDUE_DB` or more, it held nothing but echo."""

    def __init__(self) -> None:
        self._last = np.zeros(FRAME, dtype=np.float32)
        self._last_near = np.zeros(FRAME, dtype=np.float32)
        self.gated = 0  # frames attenuated
        self.ncc = 0.0  # of the last frame
        self.lag_s = 0.0  # where in the window the last best match was (before the frame)

    def process(
        self, out: np.ndarray, far_window: np.ndarray, near: np.ndarray | None = None
    ) -> np.ndarray:
        """``out``: the canceller's 10 ms frame; ``far_window``: the reference from
        :data:`GUARD_WINDOW_MS` before the frame's echo time up to that time plus a frame;
        ``near``: the microphone frame before cancelling."""
        now = out.astype(np.float32)
        recent = np.concatenate([self._last, now])
        self._last = now
        mic = near.astype(np.float32) if near is not None else None
        if mic is not None:
            mic_recent = np.concatenate([self._last_near, mic])
            self._last_near = mic
        power = float(np.mean(np.square(now)))
        if power < GUARD_QUIET:
            self.ncc = 0.0  # too quiet for any VAD: nothing to guard (and no cost)
            return out
        y = _decimate(far_window.astype(np.float32))
        self.ncc, best = _ncc(_decimate(recent), y)
        self.lag_s = (len(y) - len(recent) // _DECIMATE - best) * _DECIMATE / RATE
        echo = self.ncc >= GUARD_NCC
        if not echo and mic is not None:
            taken_db = 10 * np.log10(max(float(np.mean(np.square(mic))), 1e-9) / power)
            if taken_db >= GUARD_RESIDUE_DB:
                # the canceller took most of the frame away but left a residue: if the
                # microphone was nothing but a copy of the reference, the residue is echo
                echo = _ncc(_decimate(mic_recent), y)[0] >= GUARD_RESIDUE_NEAR_NCC
        if not echo:
            return out
        self.gated += 1
        return (out * GUARD_GAIN).astype(np.int16)


def _ncc(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """The largest normalised cross-correlation of ``x`` with any stretch of ``y`` and where."""
    n, m = len(x), len(y)
    if m < n:
        return 0.0, 0
    x = x - x.mean()
    ex = float(np.dot(x, x))
    if ex <= 1.0:  # digital silence
        return 0.0, 0
    size = 1 << (n + m - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(x, size)), size)[: m - n + 1]
    power = np.cumsum(np.concatenate([[0.0], y.astype(np.float64) ** 2]))
    ey = power[n:] - power[:-n]
    ncc = np.abs(corr) / np.sqrt(ex * np.maximum(ey, 1e-9))
    ncc[ey < 1e-6 * ex] = 0.0  # a silent stretch of reference matches nothing
    best = int(np.argmax(ncc))
    return float(ncc[best]), best


def _decimate(x: np.ndarray) -> np.ndarray:
    """Mean of each 3 samples: a crude 8 kHz copy, enough to correlate voices."""
    n = len(x) // _DECIMATE * _DECIMATE
    return x[:n].reshape(-1, _DECIMATE).mean(axis=1)


# --- the reference, on the DAC's clock -----------------------------------------------------------


class StreamClock:
    """The time of a sample stream's next sample (24 kHz), kept steady: :meth:`place` takes a
    block's reported time and returns the one to use, the stream's own continued by a small
    step towards the report (:data:`FOLLOW`), or the report itself when the two are more than
    :data:`JITTER_S` apart (the first block, a gap, a restart)."""

    def __init__(self) -> None:
        self.next: float | None = None
        self.jumps = 0  # times the stream was re-anchored to a report

    def reset(self) -> None:
        self.next = None

    def place(self, reported: float, samples: int) -> float:
        if self.next is None or abs(reported - self.next) > JITTER_S:
            start = reported
            self.jumps += self.next is not None
        else:
            start = self.next + FOLLOW * (reported - self.next)
        self.next = start + samples / RATE
        return start


class ReferenceRing:
    """The audio that was played, at 24 kHz mono, with the time (``perf_counter``) each sample
    reached the DAC. :meth:`push` from the output thread, :meth:`take` from the capture thread."""

    def __init__(self, seconds: float = RING_S) -> None:
        self._size = round(seconds * RATE)
        self._buf = np.zeros(self._size, dtype=np.int16)
        self._written = 0  # samples ever pushed (the ring's end)
        self._clock = StreamClock()  # its next: DAC time just after the last sample pushed
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._buf[:] = 0
            self._written = 0
            self._clock.reset()

    @property
    def end(self) -> float | None:
        return self._clock.next

    def push(self, samples: np.ndarray, start: float) -> None:
        """``samples`` (int16) whose first one reached the DAC at ``start`` (as reported:
        the ring's :class:`StreamClock` smooths jitter away and follows a real jump)."""
        if not len(samples):
            return
        with self._lock:
            end = self._clock.next
            if end is not None and start - end > JITTER_S:
                # silence between (an underrun, a restart): the samples before keep their times
                self._write(np.zeros(min(self._size, round((start - end) * RATE)), np.int16))
            self._clock.place(start, len(samples))
            self._write(samples[-self._size :])

    def cut(self, at: float) -> None:
        """Forget what was to reach the DAC at ``at`` or later: a flush dropped it unplayed."""
        with self._lock:
            end = self._clock.next
            if end is None or at >= end:
                return
            held = min(self._written, self._size)
            drop = min(held, round((end - at) * RATE))
            self._written -= drop
            self._clock.next = end - drop / RATE

    def _write(self, samples: np.ndarray) -> None:
        n = len(samples)
        at = self._written % self._size
        first = min(n, self._size - at)
        self._buf[at : at + first] = samples[:first]
        if first < n:
            self._buf[: n - first] = samples[first:]
        self._written += n

    def take(self, start: float, n: int) -> np.ndarray:
        """``n`` samples from the one that reached the DAC at ``start``; silence where there
        is nothing (before the ring's start, after its end)."""
        out = np.zeros(n, dtype=np.int16)
        with self._lock:
            end = self._clock.next
            if end is None:
                return out
            first = self._written - round((end - start) * RATE)  # absolute index
            lo = max(first, self._written - self._size, 0)
            hi = min(first + n, self._written)
            if hi <= lo:
                return out
            idx = np.arange(lo, hi) % self._size
            out[lo - first : hi - first] = self._buf[idx]
        return out


# --- the processor -------------------------------------------------------------------------------


@dataclass
class ProcessorStats:
    """What the processor did (bench, tests, ``appliance devices --test-echo``)."""

    frames: int = 0
    busy_s: float = 0.0  # wall time inside the libraries (the capture thread's cost)
    cpu_s: float = 0.0  # the capture thread's CPU time inside the libraries
    echo_in: float = 0.0  # energy of the microphone frames while the reference played
    echo_out: float = 0.0  # energy of the same frames after cancelling
    echo_frames: int = 0
    frame_s: list[float] = field(default_factory=list)  # per frame, when measured
    measure: bool = False

    @property
    def erle_db(self) -> float | None:
        """Echo return loss enhancement over the frames where only the reference was loud:
        how much quieter the echo is after cancelling (None before any)."""
        if not self.echo_frames or self.echo_in <= 0:
            return None
        return 10 * np.log10(self.echo_in / max(self.echo_out, 1e-3))


def far_span_loud(span: np.ndarray) -> bool:
    """True when the reference window holds anything above -60 dBFS."""
    return bool(len(span)) and int(np.max(np.abs(span))) > 33


class Processor:
    """Frames the microphone into 10 ms, aligns the reference by the devices' clocks, runs the
    canceller and the cleaner. ``canceller`` or ``cleaner`` may be None (not configured, or
    their library is missing)."""

    def __init__(
        self,
        canceller: Canceller | None,
        cleaner: Cleaner | None,
        *,
        lead_ms: int = LEAD_MS,
        guard: bool = True,
        clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.canceller = canceller
        self.cleaner = cleaner
        self.lead_ms = lead_ms
        self.guard = EchoGuard() if guard and canceller is not None else None
        self.stats = ProcessorStats()
        self.reference = ReferenceRing()
        self._clock = clock
        self._pending = np.zeros(0, dtype=np.int16)
        self._pending_t = 0.0  # ADC time of _pending[0]
        self._capture_clock = StreamClock()
        self._first = True  # the next capture is the first since start()
        self._render: Resampler | None = None
        self._render_rate = 0
        self._render_channels = 1
        self._rendered_in = 0  # output frames handed to render() since start()
        self._rendered_out = 0  # reference samples made of them
        self.settings: tuple[bool, int, int] | None = None  # what open_processor made it for
        self.tap: Callable[[np.ndarray, float], None] | None = None  # each raw mic frame

    @property
    def cancelling(self) -> bool:
        return self.canceller is not None

    @property
    def delay_samples(self) -> int:
        """How late the processed audio is, at most, besides the framing remainder."""
        return self.cleaner.delay_samples if self.cleaner is not None else 0

    def start(self, output_rate: int, output_channels: int) -> None:
        """A new pair of streams: forget their clocks and what was held (the libraries keep
        what they learned about the echo path)."""
        self.reference.clear()
        self._capture_clock.reset()
        self._pending = np.zeros(0, dtype=np.int16)
        self._first = True
        self._render_rate = output_rate
        self._render_channels = max(1, output_channels)
        self._render = Resampler(output_rate, RATE, "LQ") if output_rate != RATE else None
        self._rendered_in = self._rendered_out = 0

    # output thread
    def render(self, block: bytes, dac: float) -> None:
        """One output block (interleaved int16 at the output rate) whose first frame reaches
        the DAC at ``dac``."""
        if self.canceller is None or not block:
            return
        frames = np.frombuffer(block, dtype="<i2").reshape(-1, self._render_channels)
        mono = to_mono(to_float(frames))
        out = self._render.process(mono) if self._render is not None else mono
        # soxr's output is aligned with its input (output sample k is input time k / 24000
        # since the start), only held back a little: date it by the counts, from this
        # block's DAC time (which also follows a jump of the clock, after a flush)
        start = dac + (self._rendered_out - self._rendered_in * RATE / self._render_rate) / RATE
        self._rendered_in += len(mono)
        self._rendered_out += len(out)
        self.reference.push(_int16(out), start)

    def flushed(self, at: float) -> None:
        """The output device dropped what it held at ``at`` (``perf_counter``; a barge-in):
        that audio never played, so it is no reference for any echo."""
        self.reference.cut(at)

    # capture thread
    def capture(self, samples: np.ndarray, adc: float) -> tuple[np.ndarray, float]:
        """Microphone samples (24 kHz mono int16) whose first one left the ADC at ``adc``:
        returns the processed samples ready so far, and the ADC time of their first one."""
        samples = samples.astype(np.int16, copy=False)
        adc = self._capture_clock.place(adc, len(samples))
        if self._first:
            # start on a frame boundary: a little silence ahead of the first block makes it a
            # whole number of frames, so when blocks are (20 ms = 480 samples) nothing waits
            # for the next block to fill a frame
            self._first = False
            pad = -len(samples) % FRAME
            samples = np.concatenate([np.zeros(pad, np.int16), samples])
            adc -= pad / RATE
        if len(self._pending):
            out_t = self._pending_t
            self._pending = np.concatenate([self._pending, samples])
        else:
            out_t = self._pending_t = adc
            self._pending = samples
        whole = len(self._pending) // FRAME * FRAME
        if not whole:
            return np.zeros(0, dtype=np.int16), out_t
        ready, self._pending = self._pending[:whole], self._pending[whole:]
        self._pending_t = out_t + whole / RATE
        out = np.empty(whole, dtype=np.int16)
        for k in range(0, whole, FRAME):
            out[k : k + FRAME] = self._frame(ready[k : k + FRAME], out_t + k / RATE)
        return out, out_t - self.delay_samples / RATE

    def _frame(self, near: np.ndarray, adc: float) -> np.ndarray:
        stats = self.stats
        if self.tap is not None:
            self.tap(near, adc)
        began, cpu = time.perf_counter(), self._clock()
        out = near
        far = None
        if self.canceller is not None:
            window = GUARD_WINDOW_MS * RATE // 1000
            span = self.reference.take(adc - self.lead_ms / 1000 - window / RATE, window + FRAME)
            far = span[window:]
            out = self.canceller.process(near, far, self.lead_ms)
            if self.guard is not None and far_span_loud(span):
                out = self.guard.process(out, span, near)
        if self.cleaner is not None:
            out = self.cleaner.process(out)
        took = time.perf_counter() - began
        stats.frames += 1
        stats.busy_s += took
        stats.cpu_s += self._clock() - cpu
        if stats.measure:
            stats.frame_s.append(took)
            del stats.frame_s[:-20000]
        if far is not None:
            self._count_echo(near, out, far)
        return out

    def _count_echo(self, near: np.ndarray, out: np.ndarray, far: np.ndarray) -> None:
        """ERLE bookkeeping: frames where the reference is loud (-40 dBFS and up) and the
        microphone is not much louder than its echo could be."""
        far_e = float(np.mean(np.square(far, dtype=np.float64)))
        if far_e < (32768 * 0.01) ** 2:
            return
        stats = self.stats
        stats.echo_in += float(np.mean(np.square(near, dtype=np.float64)))
        stats.echo_out += float(np.mean(np.square(out, dtype=np.float64)))
        stats.echo_frames += 1


# --- loading -------------------------------------------------------------------------------------


def cancel_available() -> str | None:
    """None when echo cancelling can be loaded here, else why not (without importing it)."""
    if importlib.util.find_spec(CANCEL_PACKAGE) is None:
        return (
            "the livekit package is not installed (pip install 'livekit>=1.0'; it has wheels "
            "for 64-bit Linux on x86 and ARM, none for 32-bit ARM)"
        )
    return None


def clean_available() -> str | None:
    if importlib.util.find_spec(CLEAN_PACKAGE) is None:
        return "the webrtc-noise-gain package is not installed (pip install webrtc-noise-gain)"
    return None


def wanted(config: AudioConfig) -> bool:
    """True when ``config`` asks for any processing of the microphone."""
    return (
        config.echo == "cancel"
        or NOISE_LEVELS[config.noise_suppression] > 0
        or bool(config.auto_gain)
    )


_warned: set[str] = set()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        log.warning("%s", text)


def open_processor(
    config: AudioConfig,
    previous: Processor | None = None,
    *,
    make_canceller: Callable[[], Any] = LiveKitCanceller,
    make_cleaner: Callable[[int, int], Any] = NoiseGainCleaner,
) -> Processor | None:
    """The processor ``config`` asks for, or None. ``previous`` (from an earlier session) is
    kept when it does the same, so the canceller keeps what it learned about the room. A
    missing library is said once in the log; without a canceller the microphone falls back to
    half-duplex (see :func:`gated`)."""
    if not wanted(config):
        return None
    want_cancel = config.echo == "cancel"
    level = NOISE_LEVELS[config.noise_suppression]
    gain = -int(config.auto_gain_dbfs) if config.auto_gain else 0
    if previous is not None and previous.settings == (want_cancel, level, gain):
        return previous
    canceller = cleaner = None
    if want_cancel:
        why = cancel_available()
        if why is None:
            try:
                canceller = make_canceller()
            except Exception as exc:  # a broken install: say so, run half-duplex
                why = f"the livekit package failed to load: {type(exc).__name__}: {exc}"
        if why is not None:
            _warn_once(
                f"audio.echo = cancel, but echo cancelling is not available: {why}; running "
                "half-duplex (the microphone is off while the model speaks: interrupt it "
                "with the button)"
            )
    if level or gain:
        why = clean_available()
        if why is None:
            try:
                cleaner = make_cleaner(level, gain)
            except Exception as exc:
                why = f"webrtc-noise-gain failed to load: {type(exc).__name__}: {exc}"
        if why is not None:
            _warn_once(
                f"audio.noise_suppression / audio.auto_gain: not available: {why}; the "
                "microphone is sent as it is"
            )
    if canceller is None and cleaner is None:
        return None
    processor = Processor(canceller, cleaner)
    processor.settings = (want_cancel, level, gain)
    return processor


def gated(config: AudioConfig, backend: Any) -> bool:
    """True when the microphone must be muted while the model speaks (half-duplex): asked
    for, or ``echo = "cancel"`` without a canceller running in ``backend``."""
    if config.echo == "half-duplex":
        return True
    if config.echo == "full-duplex":
        return False
    return not getattr(backend, "cancelling", False)


def cancelling(config: AudioConfig, backend: Any) -> bool:
    """True when an echo canceller removes what the speaker plays from the microphone
    (``echo = "cancel"`` and one running in ``backend``): the model's voice and the sound cues
    need no muting then."""
    return config.echo == "cancel" and not gated(config, backend)


# --- checking a real device (appliance devices --test-echo) ---------------------------------------
