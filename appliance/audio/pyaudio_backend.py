"""The sound-card backend: PyAudio (PortAudio) callback streams on the configured devices.

Each device runs at its own default rate and channel count; audio is converted to and from the
wire's 24 kHz mono int16 with :class:`~appliance.audio.pcm.Resampler` (soxr):

* capture: device frames -> mono (channels averaged) -> 24 kHz -> ``on_capture(samples, t)``;
* playback: ``Playback.read(n)`` at 24 kHz -> device rate -> every channel, keeping the few
  resampled samples left over so each callback gets exactly the frames the device asks for.

The conversion is in :class:`CaptureConverter` and :class:`PlaybackConverter`, plain objects
without I/O. Callbacks run on PortAudio's threads and never block or raise: the first failure
(a callback error, a stream that stopped, a device unplugged) is reported once through
``on_error``; :meth:`PyAudioBackend.close` is always safe.

The output device buffer is ``audio.output_latency_ms``: PortAudio's ALSA host API keeps two
periods in the device, so the output stream runs in periods of half of it. Barge-in silences
the speaker, not just the queue: :meth:`Playback.clear` asks the backend (its
:class:`~appliance.audio.playback.OutputDevice`) to flush, which aborts the output stream
(``Pa_AbortStream``: the device drops what it holds) and starts it again on a helper thread;
and what the device held is not counted as played, from PortAudio's ``outputBufferDacTime`` of
each block, so the truncate reports what reached the DAC.

With the wake word (:meth:`PyAudioBackend.open_microphone`) the input stream runs alone at idle;
:meth:`PyAudioBackend.open` then adds the output stream and the processing to it, and
:meth:`PyAudioBackend.close_speaker` takes them away, the input going on throughout.

Underruns and overruns are counted from PortAudio's status flags (``paOutputUnderflow``,
``paInputOverflow``; ``StreamStats``) and logged when the streams close.

PortAudio is initialised once, by the first :meth:`PyAudioBackend.open`, and kept: each
``Pa_Initialize``/``Pa_Terminate`` pair (with its ALSA and JACK host APIs) leaks a little native
memory, about 12-16 KiB, which over thousands of sessions adds up. :meth:`PyAudioBackend.close`
closes the streams only; :meth:`PyAudioBackend.finish` (at exit) terminates PortAudio. Its
device list is a snapshot taken when it initialises, so it is initialised again (terminated,
then ``PyAudio()``) at the next open after a device error (a stream that stopped or stalled,
a device unplugged: anything :meth:`PyAudioBackend.report` saw), and once within an open that
cannot find a configured device or open a stream, which is then tried again on the fresh
device list (a USB sound card plugged in while the appliance was idle is found at the next
press). ``StreamStats.portaudio_inits`` counts the initialisations.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.audio.backend import AudioError, CaptureCallback, ErrorCallback
from appliance.audio.devices import Device, Kind, choose, open_portaudio
from appliance.audio.echo import Processor, open_processor
from appliance.audio.pcm import (
    WIRE_RATE,
    Resampler,
    resample,
    to_channels,
    to_float,
    to_int16,
    to_mono,
)
from appliance.audio.playback import Playback

if TYPE_CHECKING:
    import pyaudio

    from appliance.config import AudioConfig

log = logging.getLogger(__name__)

# soxr's "LQ" quality holds back at most ~6 ms of audio (its filter delay) where "HQ" holds up
# to ~32 ms, each way; for 16-bit voice it is transparent (flat to 0.1 dB, no audible aliasing)
# and it keeps barge-in within one block.
DEVICE_QUALITY = "LQ"

# How often the watchdog looks at the streams, and how long without a callback is a stall.
_WATCH_INTERVAL_S = 0.25
_STALL_S = 5.0

# The output device buffer when the config has none (audio.output_latency_ms' own default):
# the smallest at which the output ran without underruns in the live bench here (20 ms
# underran); see README, Sound.
DEFAULT_OUTPUT_LATENCY_MS = 24

# How much longer than its length a sound cue played alone may take before the device counts
# as stalled (the stream's start and its buffer included).
CUE_GRACE_S = 2.0


class CaptureConverter:
    """Device input (interleaved int16 bytes) to wire audio (24 kHz mono int16)."""

    def __init__(self, rate: int, channels: int, quality: str = DEVICE_QUALITY) -> None:
        self.rate = rate
        self.channels = channels
        self._resampler = Resampler(rate, WIRE_RATE, quality)

    def convert(self, data: bytes) -> np.ndarray:
        frames = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels)
        mono = to_mono(to_float(frames))
        return to_int16(self._resampler.process(mono))


class PlaybackConverter:
    """Wire audio pulled from a :class:`Playback` to device output (interleaved int16 bytes).

    When the playback is cleared (barge-in) the few resampled samples kept between callbacks
    and the resampler's filter state are dropped too, so the next block is silent.

    After each :meth:`fill`, :attr:`position` is where in the playback's read stream
    (:attr:`Playback.position`, wire samples) the block's first frame of audio is, and
    :attr:`pad` how many frames of start-up silence come before that frame: soxr's output is
    aligned with its input (output frame ``k`` is wire sample ``k * 24000 / rate``), so a
    device frame maps back to the wire sample it plays.
    """

    def __init__(
        self, playback: Playback, rate: int, channels: int, quality: str = DEVICE_QUALITY
    ) -> None:
        self.playback = playback
        self.rate = rate
        self.channels = channels
        self.quality = quality
        self._resampler = Resampler(WIRE_RATE, rate, quality)
        self._pending = np.zeros(0, dtype=np.float32)
        self._generation = playback.generation
        self._primed = False
        self._start = playback.position  # the read stream's position at the resampler's start
        self._emitted = 0  # frames of audio (not start-up silence) handed out since then
        self.position = float(self._start)
        self.pad = 0

    def fill(self, frames: int) -> bytes:
        """Exactly ``frames`` device frames: buffered audio, then silence."""
        if self.playback.generation != self._generation:
            # the playback was cleared (barge-in): drop what we hold from before
            self._generation = self.playback.generation
            self._resampler = Resampler(WIRE_RATE, self.rate, self.quality)
            self._pending = np.zeros(0, dtype=np.float32)
            self._primed = False
            self._start = self.playback.position
            self._emitted = 0
        self.position = self._start + self._emitted * WIRE_RATE / self.rate
        self.pad = 0
        parts = [self._pending]
        have = len(self._pending)
        for _ in range(64):  # bounded, though a few rounds always suffice
            if have >= frames:
                break
            # a few extra wire samples cover the rounding between the two rates
            need = max(math.ceil((frames - have) * WIRE_RATE / self.rate) + 16, 16)
            out = self._resampler.process(to_float(self.playback.read(need)))
            if len(out):
                self._primed = True
            elif not self._primed:
                # soxr holds back its filter delay at the start: play silence meanwhile,
                # ahead of its first output, so the audio that follows stays continuous
                parts.append(np.zeros(frames - have, dtype=np.float32))
                self.pad = frames - have
                have = frames
            parts.append(out)
            have += len(out)
        else:
            parts.append(np.zeros(max(0, frames - have), dtype=np.float32))
        joined = np.concatenate(parts)
        self._pending = joined[frames:]
        self._emitted += frames - self.pad
        return to_int16(to_channels(joined[:frames], self.channels)).tobytes()


def dac_delay(timing: Any) -> float:
    """Seconds from an output callback until its first frame reaches the DAC, from the
    callback's PortAudio time info (0 when the host API does not report it)."""
    if not timing:
        return 0.0
    delay = timing.get("output_buffer_dac_time", 0.0) - timing.get("current_time", 0.0)
    return delay if 0.0 <= delay < 2.0 else 0.0


@dataclass
class StreamStats:
    """Counters of the streams since the backend was made (read by the bench and tests).

    Underflows and overflows come from PortAudio's status flags; the first callback after the
    output stream (re)starts is not counted (PortAudio may flag the start itself)."""

    input_callbacks: int = 0
    output_callbacks: int = 0
    input_overflows: int = 0
    output_underflows: int = 0
    output_underflows_playing: int = 0  # of those, while an answer was playing (audible)
    flushes: int = 0  # output streams aborted and restarted by a clear (barge-in)
    flushed_at: list[float] = field(default_factory=list)  # perf_counter once the abort returned
    flush_s: list[float] = field(default_factory=list)  # how long each abort took
    restart_s: list[float] = field(default_factory=list)  # how long each restart took
    portaudio_inits: int = 0  # PortAudio initialisations (Pa_Initialize) by this backend
    convert_s: list[float] = field(default_factory=list)  # per capture callback, when measured
    measure: bool = False


@dataclass(frozen=True)
class _Block:
    """One output block, for mapping the time to the read stream position at the DAC."""

    dac: float  # perf_counter when its first frame reaches the DAC
    position: float  # the read stream position of its first frame of audio
    pad: int  # frames of start-up silence before that frame
    frames: int


class PyAudioBackend:
    """Capture and playback on sound-card devices through PyAudio (``audio.backend = "pyaudio"``).

    After :meth:`open`, ``input_device``/``output_device`` and ``input_rate``/``output_rate``
    describe what was opened. ``output_tap``, if set, is called from the output callback with
    each block handed to the device, the callback's ``time.perf_counter()`` and the moment (same
    clock) the block's first frame will reach the DAC, from PortAudio's
    ``outputBufferDacTime`` (tests, bench: latency "at the DAC", device buffer included).
    """

    name = "pyaudio"

    def __init__(self, config: AudioConfig) -> None:
        self.config = config
        self.stats = StreamStats()
        self.input_device: Device | None = None
        self.output_device: Device | None = None
        self.input_rate = 0
        self.output_rate = 0
        self.block_frames = 0
        self.output_period_frames = 0
        self.output_latency_s = 0.0  # the output stream's latency as PortAudio reports it
        self._pa: pyaudio.PyAudio | None = None  # kept from open to open (see the module doc)
        self._pa_stale = False  # a device failed: initialise PortAudio again at the next open
        self._in: Any = None
        self._out: Any = None
        self._on_error: ErrorCallback | None = None
        self._reported = False
        self._report_lock = threading.Lock()
        self._closing = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._last_in = 0.0
        self._last_out = 0.0
        self.output_tap: Callable[[bytes, float, float], None] | None = None
        # open() and close() never overlap, whichever threads call them (PortAudio and ALSA
        # crash when streams are opened and closed concurrently).
        self._lifecycle = threading.RLock()
        # Held from a flush's abort to its restart (a plain Lock: taken on the clearing thread,
        # released on the restart thread); close and the watchdog wait for it or skip.
        self._output_busy = threading.Lock()
        self._restart = threading.Event()
        self._restart_pending = False  # a flush's abort waits for its restart
        self._restarter: threading.Thread | None = None
        self._playback: Playback | None = None
        self._blocks: deque[_Block] = deque(maxlen=64)
        self._render: PlaybackConverter | None = None
        self._out_fresh = True  # the next output callback is the first since a (re)start
        self._abort: Callable[[Any], None] | None = None
        self._opened_stats = (0, 0, 0, 0)
        # echo cancelling / noise suppression / gain (appliance/audio/echo.py): handed each
        # captured block with its ADC time and each output block with its DAC time
        self.processor: Processor | None = None
        # the microphone alone (open_microphone: the wake word at idle); open() then adds the
        # speaker and the processing to the running input, close_speaker() takes them away
        self.microphone_only = False
        self._mic_sink: CaptureCallback | None = None
        self._mic_processor: Processor | None = None
        self._speaker_closing = False

    @property
    def cancelling(self) -> bool:
        """True while an echo canceller processes the microphone (else half-duplex applies)."""
        return self.processor is not None and self.processor.cancelling

    @property
    def output_latency_ms(self) -> int:
        """The output buffer asked for: ``audio.output_latency_ms`` or the default."""
        wanted = getattr(self.config, "output_latency_ms", None)
        return int(wanted) if wanted else DEFAULT_OUTPUT_LATENCY_MS

    # --- lifecycle --------------------------------------------------------------------------

    def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        """Open both devices and start streaming. Raises :class:`AudioError` naming the device.
        With the microphone already running alone (:meth:`open_microphone`), the speaker and
        the processing are added to it: the input stream goes on, not a sample lost."""
        with self._lifecycle:
            if self.microphone_only and self._in is not None and not self._pa_stale:
                self._add_speaker(playback, on_capture, on_error)
                return
            self._open(playback, on_capture, on_error)

    def open_microphone(self, on_capture: CaptureCallback, on_error: ErrorCallback) -> None:
        """Start the input stream alone (the wake word at idle: no speaker stream, no echo
        cancelling while nothing plays). Raises :class:`AudioError` naming the device."""
        with self._lifecycle:
            self._close()
            if self._pa is None or self._pa_stale:
                self._initialise("a device failed" if self._pa_stale else "first open")
            try:
                self._start_microphone(on_capture, on_error)
            except AudioError as exc:
                log.info("audio: %s; initialising PortAudio again to look for the devices", exc)
                self._initialise("a device was missing or did not open")
                self._start_microphone(on_capture, on_error)

    def close_speaker(self) -> None:
        """Close the speaker's stream and the processing that :meth:`open` added to the
        microphone running alone; the microphone goes on."""
        with self._lifecycle:
            if not self.microphone_only or self._out is None:
                return
            self._mic_processor = None
            playback, self._playback = self._playback, None
            if playback is not None:
                playback.detach(self)
            busy = self._output_busy.acquire(timeout=2)
            self._speaker_closing = True
            restarter, self._restarter = self._restarter, None
            self._restart.set()
            if restarter is not None and restarter is not threading.current_thread():
                restarter.join(timeout=2)
            stream, self._out = self._out, None
            try:
                stream.stop_stream()
                stream.close()
            except Exception:
                self._pa_stale = True
                log.debug("closing the output stream failed", exc_info=True)
            if busy:
                self._output_busy.release()
            self._log_closed()

    def _start_microphone(self, on_capture: CaptureCallback, on_error: ErrorCallback) -> None:
        self._closing.clear()
        self._reported = False
        self._on_error = on_error
        self._mic_sink = on_capture
        self._mic_processor = None
        assert self._pa is not None
        try:
            self.input_device = choose(self._pa, self.config.input_device, "input")
            in_ch = self._channels(self.input_device, "input")
            self.input_rate = self.input_device.default_rate
            capture = CaptureConverter(self.input_rate, in_ch)
            in_block = max(1, round(self.config.block_ms * self.input_rate / 1000))
            self._in = self._open_stream(
                self.input_device,
                "input",
                rate=self.input_rate,
                channels=in_ch,
                frames_per_buffer=in_block,
                stream_callback=self._input_callback(capture, self._microphone, None),
            )
            self._last_in = time.monotonic()
            self._in.start_stream()
        except AudioError:
            self._close()
            raise
        except (OSError, ValueError) as exc:
            self._close()
            raise AudioError(f"cannot start the audio input stream: {exc}") from exc
        self.microphone_only = True
        self._watchdog = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
        self._watchdog.start()
        log.info(
            "audio: input %r at %d Hz x%d in blocks of %d ms, alone (listening for the wake word)",
            self.input_device.name,
            self.input_rate,
            in_ch,
            self.config.block_ms,
        )

    def _microphone(self, samples: np.ndarray, captured: float) -> None:
        """The input callback's sink while the microphone runs alone (the capture thread):
        the processing :meth:`open` added, if any, then the sink."""
        processor = self._mic_processor
        if processor is not None:
            samples, captured = processor.capture(samples, captured)
        sink = self._mic_sink
        if sink is not None and len(samples):
            sink(samples, captured)

    def _add_speaker(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        """Open the output stream (and the processing) beside the running microphone."""
        self._on_error = on_error
        self._mic_sink = on_capture
        self._speaker_closing = False
        assert self._pa is not None
        self._abort = _abort_function()
        try:
            processor, out_ch = self._open_output(self._pa, playback)
            self._last_out = time.monotonic()
            self._out_fresh = True
            self._out.start_stream()
            try:
                self.output_latency_s = float(self._out.get_output_latency())
            except Exception:
                self.output_latency_s = 0.0
        except (AudioError, OSError, ValueError) as exc:
            out, self._out = self._out, None
            if out is not None:
                with contextlib.suppress(Exception):
                    out.close()
            if isinstance(exc, AudioError):
                raise
            raise AudioError(f"cannot start the audio output stream: {exc}") from exc
        self._output_started(playback)
        self._mic_processor = processor
        log.info(
            "audio: output %r at %d Hz x%d added to the input, output buffer %.0f ms",
            self.output_device.name,
            self.output_rate,
            out_ch,
            self.output_latency_s * 1000,
        )

    def _open_output(self, pa: Any, playback: Playback) -> tuple[Any, int]:
        """Choose the output device and open its stream (not started) for ``playback``, with
        the echo processing if configured; returns the processor (or None) and the channels.
        :meth:`open` and the speaker added to a running microphone share it."""
        self.output_device = choose(pa, self.config.output_device, "output")
        out_ch = self._channels(self.output_device, "output")
        self.output_rate = self.output_device.default_rate
        self._render = render = PlaybackConverter(playback, self.output_rate, out_ch)
        self.processor = processor = open_processor(self.config, self.processor)
        if processor is not None:
            processor.start(self.output_rate, out_ch)
        self._blocks.clear()
        self.block_frames = max(1, round(self.config.block_ms * self.output_rate / 1000))
        # PortAudio (ALSA) keeps two periods in the device: half the latency per period
        period = max(16, round(self.output_latency_ms / 2 * self.output_rate / 1000))
        self.output_period_frames = period
        self._out = self._open_stream(
            self.output_device,
            "output",
            rate=self.output_rate,
            channels=out_ch,
            frames_per_buffer=period,
            stream_callback=self._output_callback(render, processor),
        )
        return processor, out_ch

    def _output_started(self, playback: Playback) -> None:
        """The output stream runs for ``playback``: count its device figures from here, start
        the thread that restarts it after a flush, and let ``playback`` flush it."""
        stats = self.stats
        self._opened_stats = (
            stats.output_underflows,
            stats.output_underflows_playing,
            stats.input_overflows,
            stats.flushes,
        )
        self._restart.clear()
        self._restarter = threading.Thread(
            target=self._restart_output, name="audio-restart", daemon=True
        )
        self._restarter.start()
        self._playback = playback
        playback.attach(self)

    def _open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        self._close()
        if self._pa is None or self._pa_stale:
            self._initialise("a device failed" if self._pa_stale else "first open")
        try:
            self._start(playback, on_capture, on_error)
        except AudioError as exc:
            # PortAudio's device list dates from its initialisation: look again, once
            log.info("audio: %s; initialising PortAudio again to look for the devices", exc)
            self._initialise("a device was missing or did not open")
            self._start(playback, on_capture, on_error)

    def _initialise(self, why: str) -> None:
        """Terminate PortAudio (if initialised) and initialise it again: a fresh device list."""
        self._terminate()
        self._pa = open_portaudio()
        self._pa_stale = False
        self.stats.portaudio_inits += 1
        log.info("audio: PortAudio initialised (%s; %d so far)", why, self.stats.portaudio_inits)

    def _terminate(self) -> None:
        pa, self._pa = self._pa, None
        if pa is not None:
            try:
                pa.terminate()
            except Exception:
                log.debug("PortAudio terminate failed", exc_info=True)

    def _start(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        """Choose the devices and start both streams on the current PortAudio instance."""
        self._closing.clear()
        self._reported = False
        self._on_error = on_error
        assert self._pa is not None
        pa = self._pa
        self._abort = _abort_function()
        try:
            self.input_device = choose(pa, self.config.input_device, "input")
            in_ch = self._channels(self.input_device, "input")
            self.input_rate = self.input_device.default_rate
            capture = CaptureConverter(self.input_rate, in_ch)
            in_block = max(1, round(self.config.block_ms * self.input_rate / 1000))
            processor, out_ch = self._open_output(pa, playback)
            self._in = self._open_stream(
                self.input_device,
                "input",
                rate=self.input_rate,
                channels=in_ch,
                frames_per_buffer=in_block,
                stream_callback=self._input_callback(capture, on_capture, processor),
            )
            now = time.monotonic()
            self._last_in = self._last_out = now
            self._out_fresh = True
            self._out.start_stream()
            self._in.start_stream()
            try:
                self.output_latency_s = float(self._out.get_output_latency())
            except Exception:
                self.output_latency_s = 0.0
        except AudioError:
            self.close()
            raise
        except (OSError, ValueError) as exc:  # PortAudio's errors surface as OSError
            self.close()
            raise AudioError(f"cannot start the audio streams: {exc}") from exc
        self._output_started(playback)
        self._watchdog = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
        self._watchdog.start()
        log.info(
            "audio: input %r at %d Hz x%d in blocks of %d ms, output %r at %d Hz x%d, "
            "output buffer %.0f ms (audio.output_latency_ms %d: periods of %d frames)",
            self.input_device.name,
            self.input_rate,
            in_ch,
            self.config.block_ms,
            self.output_device.name,
            self.output_rate,
            out_ch,
            self.output_latency_s * 1000,
            self.output_latency_ms,
            self.output_period_frames,
        )

    def play(self, samples: np.ndarray) -> None:
        """Play ``samples`` (24 kHz mono int16: a sound cue) on the output device alone, to
        the end, while no session has the devices open (else :meth:`open`'s streams play it,
        see :meth:`Playback.cue <appliance.audio.playback.Playback.cue>`). Raises
        :class:`AudioError` naming the device."""
        with self._lifecycle:
            if self._out is not None:
                return
            if self._pa is None or self._pa_stale:
                self._initialise("a device failed" if self._pa_stale else "a sound cue")
            assert self._pa is not None
            try:
                device = choose(self._pa, self.config.output_device, "output")
                channels = self._channels(device, "output")
                rate = device.default_rate
                data = resample(to_float(samples), WIRE_RATE, rate)
                sound = to_int16(to_channels(data, channels)).tobytes()
                period = max(16, round(self.output_latency_ms / 2 * rate / 1000))
                done = threading.Event()
                stream = self._open_stream(
                    device,
                    "output",
                    rate=rate,
                    channels=channels,
                    frames_per_buffer=period,
                    stream_callback=_feeder(sound, 2 * channels, done),
                )
            except AudioError:
                self._pa_stale = True
                raise
            try:
                stream.start_stream()
                # a device that stalls (unplugged) must not hold the device thread: bounded
                if not done.wait(len(data) / rate + CUE_GRACE_S):
                    self._pa_stale = True
                    raise AudioError(f"output device {device.name!r} stalled playing a cue")
                stream.stop_stream()  # returns once the device has played out what it holds
            except (OSError, ValueError) as exc:
                self._pa_stale = True
                raise AudioError(f"cannot play on {device.name!r}: {exc}") from exc
            finally:
                with contextlib.suppress(Exception):
                    stream.close()

    def close(self) -> None:
        """Stop and close both streams; PortAudio stays initialised for the next open. Safe to
        call at any time, repeatedly."""
        with self._lifecycle:
            self._close()

    def finish(self) -> None:
        """Close, and terminate PortAudio (the app's final teardown,
        :meth:`~appliance.audio.lifecycle.AudioDevice.shutdown`). A later :meth:`open`
        initialises it again."""
        with self._lifecycle:
            self._close()
            self._terminate()

    def _close(self) -> None:
        self._closing.set()
        playback, self._playback = self._playback, None
        if playback is not None:
            playback.detach(self)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout=2)
        # a flush in flight finishes its restart first (the restart thread sees _closing)
        busy = self._output_busy.acquire(timeout=2)
        restarter, self._restarter = self._restarter, None
        self._restart.set()
        if restarter is not None and restarter is not threading.current_thread():
            restarter.join(timeout=2)
        had_streams = self._out is not None or self._in is not None
        for attr in ("_in", "_out"):
            stream = getattr(self, attr)
            setattr(self, attr, None)
            if stream is None:
                continue
            try:
                stream.stop_stream()
            except Exception:  # the device may be gone already
                self._pa_stale = True
                log.debug("stop_stream failed", exc_info=True)
            try:
                stream.close()
            except Exception:
                self._pa_stale = True
                log.debug("stream close failed", exc_info=True)
        if busy:
            self._output_busy.release()
        self.microphone_only = False
        self._mic_sink = self._mic_processor = None
        if had_streams:
            self._log_closed()

    def _log_closed(self) -> None:
        under, playing, over, flushes = self._opened_stats
        log.info(
            "audio: closed; %d output underruns (%d while playing), %d input overruns, "
            "%d barge-in flushes",
            self.stats.output_underflows - under,
            self.stats.output_underflows_playing - playing,
            self.stats.input_overflows - over,
            self.stats.flushes - flushes,
        )

    # --- the playback's output device (barge-in) ---------------------------------------------

    def heard(self) -> float | None:
        """How far into the playback's read stream the audio has reached the DAC by now
        (:class:`~appliance.audio.playback.OutputDevice`); called under the playback's lock.
        None when :meth:`flush` cannot drop what the device holds: then it all plays, and
        counts as played."""
        if self._abort is None or self._out is None or self._closing.is_set():
            return None
        blocks = tuple(self._blocks)  # one C call: safe against the callback appending
        if not blocks:
            return None
        now = time.perf_counter()
        rate = self.output_rate or WIRE_RATE
        for block in reversed(blocks):
            if block.dac <= now:
                elapsed = min(block.frames, (now - block.dac) * rate)
                return block.position + max(0.0, elapsed - block.pad) * WIRE_RATE / rate
        return blocks[0].position  # nothing of the blocks still known has been played yet

    def flush(self) -> None:
        """Drop what the output device holds (barge-in): abort the output stream now, start it
        again on the restart thread. Called by :meth:`Playback.clear` on the clearing thread;
        skipped while the streams are being opened or closed, or a flush is under way."""
        stream = self._out
        abort = self._abort
        if stream is None or self._closing.is_set() or abort is None:
            return
        if not self._output_busy.acquire(blocking=False):
            return
        handed_over = False
        try:
            if stream is not self._out or self._closing.is_set():
                return
            begun = time.perf_counter()
            try:
                abort(stream)
            except Exception as exc:
                log.debug("audio: aborting the output stream failed: %s", exc)
            done = time.perf_counter()
            self._out_fresh = True
            self._blocks.clear()
            processor = self.processor
            if processor is not None:  # what was dropped never played: no echo to expect
                processor.flushed(done)
            stats = self.stats
            stats.flushes += 1
            stats.flushed_at.append(done)
            stats.flush_s.append(done - begun)
            del stats.flushed_at[:-1000], stats.flush_s[:-1000]
            self._restart_pending = handed_over = True
            self._restart.set()
        finally:
            if not handed_over:
                self._output_busy.release()

    def _restart_output(self) -> None:
        """The restart thread: start the output stream again after each flush's abort."""
        while True:
            self._restart.wait()
            self._restart.clear()
            if self._restart_pending:
                try:
                    stream = self._out
                    if stream is not None and not self._closing.is_set():
                        begun = time.perf_counter()
                        stream.start_stream()
                        self._last_out = time.monotonic()
                        self.stats.restart_s.append(time.perf_counter() - begun)
                        del self.stats.restart_s[:-1000]
                except Exception as exc:
                    name = self._device_name()
                    self.report(f"audio output device {name} did not start again: {exc}")
                finally:
                    self._restart_pending = False
                    self._output_busy.release()  # taken by flush()
            if self._closing.is_set() or self._speaker_closing:
                return

    def _device_name(self) -> str:
        return repr(self.output_device.name) if self.output_device is not None else "?"

    # --- helpers ----------------------------------------------------------------------------

    def _channels(self, device: Device, kind: Kind) -> int:
        """Mono when the device takes it, else stereo (or whatever it has)."""
        import pyaudio

        assert self._pa is not None
        for channels in (1, 2):
            if channels > device.channels(kind):
                break
            args: dict[str, Any] = {
                "rate": device.default_rate,
                f"{kind}_device": device.index,
                f"{kind}_channels": channels,
                f"{kind}_format": pyaudio.paInt16,
            }
            try:
                if self._pa.is_format_supported(**args):
                    return channels
            except ValueError:
                continue
        return min(2, device.channels(kind))

    def _open_stream(self, device: Device, kind: Kind, **kwargs: Any) -> Any:
        import pyaudio

        assert self._pa is not None
        try:
            return self._pa.open(
                format=pyaudio.paInt16,
                input=kind == "input",
                output=kind == "output",
                input_device_index=device.index if kind == "input" else None,
                output_device_index=device.index if kind == "output" else None,
                start=False,
                **kwargs,
            )
        except (OSError, ValueError) as exc:
            raise AudioError(
                f"cannot open {kind} device {device.index} ({device.name!r}) at "
                f"{kwargs['rate']} Hz, {kwargs['channels']} channel(s): {exc}"
            ) from exc

    def report(self, text: str) -> None:
        """Tell ``on_error`` about the first failure; later ones go to the debug log only.
        Either way the next :meth:`open` initialises PortAudio again (a fresh device list)."""
        self._pa_stale = True
        with self._report_lock:
            if self._reported or self._closing.is_set():
                log.debug("audio error (not reported again): %s", text)
                return
            self._reported = True
        log.error("audio: %s", text)
        if self._on_error is not None:
            try:
                self._on_error(text)
            except Exception:
                log.exception("audio error handler failed")

    def _input_callback(
        self, capture: CaptureConverter, on_capture: CaptureCallback, processor: Processor | None
    ) -> Any:
        import pyaudio

        stats = self.stats

        def callback(data: bytes | None, frames: int, timing: Any, status: int) -> tuple:
            now = time.perf_counter()
            self._last_in = time.monotonic()
            stats.input_callbacks += 1
            try:
                if status & pyaudio.paInputOverflow:
                    stats.input_overflows += 1
                if data:
                    # Back-date to when the first frame of the block reached the converter.
                    lag = 0.0
                    if timing:
                        lag = timing.get("current_time", 0.0) - timing.get(
                            "input_buffer_adc_time", 0.0
                        )
                        lag = lag if 0.0 <= lag < 1.0 else 0.0
                    samples = capture.convert(data)
                    if stats.measure:
                        stats.convert_s.append(time.perf_counter() - now)
                    captured = now - lag
                    if processor is not None:
                        samples, captured = processor.capture(samples, captured)
                    if len(samples):
                        on_capture(samples, captured)
            except Exception as exc:
                self.report(f"audio capture failed: {type(exc).__name__}: {exc}")
            return (None, pyaudio.paContinue)

        return callback

    def _output_callback(self, render: PlaybackConverter, processor: Processor | None) -> Any:
        import pyaudio

        stats = self.stats
        blocks = self._blocks
        silence: dict[int, bytes] = {}
        was_playing = [False]

        def callback(data: bytes | None, frames: int, timing: Any, status: int) -> tuple:
            self._last_out = time.monotonic()
            stats.output_callbacks += 1
            try:
                if self._out_fresh:
                    self._out_fresh = False
                elif status & pyaudio.paOutputUnderflow:
                    stats.output_underflows += 1
                    # a gap in an answer is heard; one in silence (a stream starting while
                    # the process is busy opening the devices) is not
                    if was_playing[0] or render.playback.playing:
                        stats.output_underflows_playing += 1
                was_playing[0] = render.playback.playing
                block = render.fill(frames)
                now = time.perf_counter()
                dac = now + dac_delay(timing)
                blocks.append(_Block(dac, render.position, render.pad, frames))
                if processor is not None:
                    processor.render(block, dac)
                tap = self.output_tap
                if tap is not None:
                    tap(block, now, dac)
                return (block, pyaudio.paContinue)
            except Exception as exc:
                self.report(f"audio playback failed: {type(exc).__name__}: {exc}")
                if frames not in silence:
                    silence[frames] = bytes(frames * render.channels * 2)
                return (silence[frames], pyaudio.paContinue)

        return callback

    def _watch(self) -> None:
        """Notice a stream that stopped on its own or stalled (device unplugged, server gone)."""
        while not self._closing.wait(_WATCH_INTERVAL_S):
            flushes = self.stats.flushes
            if self._output_busy.locked():
                continue  # a flush is restarting the output stream: look next time
            failure = self._failure()
            if self._closing.is_set():
                return
            if failure is None or self._output_busy.locked() or self.stats.flushes != flushes:
                continue  # fine, or a flush stopped the output stream meanwhile
            self.report(failure)
            return

    def _failure(self) -> str | None:
        """What is wrong with the streams, if anything."""
        now = time.monotonic()
        for kind, stream, last, device in (
            ("input", self._in, self._last_in, self.input_device),
            ("output", self._out, self._last_out, self.output_device),
        ):
            if stream is None or device is None:
                continue
            try:
                active = stream.is_active()
            except Exception:
                active = False
            if not active:
                return f"audio {kind} device {device.name!r} stopped (unplugged?)"
            if now - last > _STALL_S:
                return (
                    f"audio {kind} device {device.name!r} stalled: no audio for "
                    f"{now - last:.1f} s (unplugged?)"
                )
        return None


def _feeder(sound: bytes, frame_bytes: int, done: threading.Event) -> Any:
    """An output callback that plays ``sound`` (device frames of ``frame_bytes``), then
    silence, and sets ``done`` once it has handed all of it out."""
    import pyaudio

    offset = [0]

    def callback(data: bytes | None, frames: int, timing: Any, status: int) -> tuple:
        start = offset[0]
        piece = sound[start : start + frames * frame_bytes]
        offset[0] = start + len(piece)
        if offset[0] >= len(sound):
            done.set()
        return (piece.ljust(frames * frame_bytes, b"\0"), pyaudio.paContinue)

    return callback


def _abort_function() -> Callable[[Any], None] | None:
    """``Pa_AbortStream`` on a PyAudio stream: the device drops what it holds, where
    ``stop_stream`` (``Pa_StopStream``) would play it out first. PyAudio's extension module has
    it, its Stream class does not; None if this PyAudio lacks it (then barge-in only clears
    the queue, and the device plays out its buffer)."""
    try:
        from pyaudio import _portaudio as pa_module
    except ImportError:  # pragma: no cover - depends on the installation
        return None
    abort_stream = getattr(pa_module, "abort_stream", None)
    if abort_stream is None:  # pragma: no cover
        return None

    def abort(stream: Any) -> None:
        if getattr(stream, "_is_running", True):
            abort_stream(stream._stream)
            stream._is_running = False  # start_stream() starts it again

    return abort
