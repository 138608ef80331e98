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
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.audio.backend import AudioError, CaptureCallback, ErrorCallback
from appliance.audio.devices import Device, Kind, choose, open_portaudio
from appliance.audio.pcm import WIRE_RATE, Resampler, to_channels, to_float, to_int16, to_mono
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

    def fill(self, frames: int) -> bytes:
        """Exactly ``frames`` device frames: buffered audio, then silence."""
        if self.playback.generation != self._generation:
            # the playback was cleared (barge-in): drop what we hold from before
            self._generation = self.playback.generation
            self._resampler = Resampler(WIRE_RATE, self.rate, self.quality)
            self._pending = np.zeros(0, dtype=np.float32)
            self._primed = False
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
                have = frames
            parts.append(out)
            have += len(out)
        else:
            parts.append(np.zeros(max(0, frames - have), dtype=np.float32))
        joined = np.concatenate(parts)
        self._pending = joined[frames:]
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
    """Counters of the open streams (read by the bench and ``appliance status``)."""

    input_callbacks: int = 0
    output_callbacks: int = 0
    input_overflows: int = 0
    output_underflows: int = 0
    convert_s: list[float] = field(default_factory=list)  # per capture callback, when measured
    measure: bool = False


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
        self._pa: pyaudio.PyAudio | None = None
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

    # --- lifecycle --------------------------------------------------------------------------

    def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        """Open both devices and start streaming. Raises :class:`AudioError` naming the device."""
        with self._lifecycle:
            self._open(playback, on_capture, on_error)

    def _open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        self.close()
        self._closing.clear()
        self._reported = False
        self._on_error = on_error
        self._pa = pa = open_portaudio()
        try:
            self.input_device = choose(pa, self.config.input_device, "input")
            self.output_device = choose(pa, self.config.output_device, "output")
            in_ch = self._channels(self.input_device, "input")
            out_ch = self._channels(self.output_device, "output")
            self.input_rate = self.input_device.default_rate
            self.output_rate = self.output_device.default_rate
            capture = CaptureConverter(self.input_rate, in_ch)
            render = PlaybackConverter(playback, self.output_rate, out_ch)
            in_block = max(1, round(self.config.block_ms * self.input_rate / 1000))
            out_block = max(1, round(self.config.block_ms * self.output_rate / 1000))
            self.block_frames = out_block
            self._out = self._open_stream(
                self.output_device,
                "output",
                rate=self.output_rate,
                channels=out_ch,
                frames_per_buffer=out_block,
                stream_callback=self._output_callback(render),
            )
            self._in = self._open_stream(
                self.input_device,
                "input",
                rate=self.input_rate,
                channels=in_ch,
                frames_per_buffer=in_block,
                stream_callback=self._input_callback(capture, on_capture),
            )
            now = time.monotonic()
            self._last_in = self._last_out = now
            self._out.start_stream()
            self._in.start_stream()
        except AudioError:
            self.close()
            raise
        except (OSError, ValueError) as exc:  # PortAudio's errors surface as OSError
            self.close()
            raise AudioError(f"cannot start the audio streams: {exc}") from exc
        self._watchdog = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
        self._watchdog.start()
        log.info(
            "audio: input %r at %d Hz x%d, output %r at %d Hz x%d, blocks of %d ms",
            self.input_device.name,
            self.input_rate,
            in_ch,
            self.output_device.name,
            self.output_rate,
            out_ch,
            self.config.block_ms,
        )

    def close(self) -> None:
        """Stop and close both streams and PortAudio. Safe to call at any time, repeatedly."""
        with self._lifecycle:
            self._close()

    def _close(self) -> None:
        self._closing.set()
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout=2)
        for attr in ("_in", "_out"):
            stream = getattr(self, attr)
            setattr(self, attr, None)
            if stream is None:
                continue
            try:
                stream.stop_stream()
            except Exception:  # the device may be gone already
                log.debug("stop_stream failed", exc_info=True)
            try:
                stream.close()
            except Exception:
                log.debug("stream close failed", exc_info=True)
        pa, self._pa = self._pa, None
        if pa is not None:
            try:
                pa.terminate()
            except Exception:
                log.debug("PortAudio terminate failed", exc_info=True)

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
        """Tell ``on_error`` about the first failure; later ones go to the debug log only."""
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

    def _input_callback(self, capture: CaptureConverter, on_capture: CaptureCallback) -> Any:
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
                    if len(samples):
                        on_capture(samples, now - lag)
            except Exception as exc:
                self.report(f"audio capture failed: {type(exc).__name__}: {exc}")
            return (None, pyaudio.paContinue)

        return callback

    def _output_callback(self, render: PlaybackConverter) -> Any:
        import pyaudio

        stats = self.stats
        silence: dict[int, bytes] = {}

        def callback(data: bytes | None, frames: int, timing: Any, status: int) -> tuple:
            self._last_out = time.monotonic()
            stats.output_callbacks += 1
            try:
                if status & pyaudio.paOutputUnderflow:
                    stats.output_underflows += 1
                block = render.fill(frames)
                tap = self.output_tap
                if tap is not None:
                    now = time.perf_counter()
                    tap(block, now, now + dac_delay(timing))
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
                if self._closing.is_set():
                    return
                if not active:
                    self.report(f"audio {kind} device {device.name!r} stopped (unplugged?)")
                    return
                if now - last > _STALL_S:
                    self.report(
                        f"audio {kind} device {device.name!r} stalled: no audio for "
                        f"{now - last:.1f} s (unplugged?)"
                    )
                    return
