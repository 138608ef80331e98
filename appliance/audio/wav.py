"""Headless audio: a WAV file as the microphone, a WAV file as the speaker.

``appliance run --audio-in IN.wav --audio-out OUT.wav`` runs the whole appliance without a sound
card. The input (any rate, mono or stereo, 16/24/32-bit PCM) is resampled to 24 kHz and fed in
real time from the start of each session, then silence. Everything played while a session is
live is written to the output WAV (24 kHz mono PCM16), silence included, so timings are real.

The output WAV is written to a temporary file beside it and renamed into place when the run ends
(:class:`WavRecorder`), so a reader never sees a half-written file. A write that fails (a full
disk) loses the recording, not the session: one error line names the file and the cause, the
temporary file is removed, the audio keeps running, and the process still exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from appliance.audio.backend import AudioError, CaptureCallback, ErrorCallback
from appliance.audio.pcm import WIRE_RATE, ms_to_samples, resample, to_int16, to_mono
from appliance.audio.playback import Playback
from appliance.files import commit, create_beside, discard

log = logging.getLogger(__name__)


def read_wav(path: Path, data: BinaryIO | None = None) -> tuple[np.ndarray, int]:
    """Float mono samples and the rate of a PCM WAV file (read from ``data`` if given, e.g.
    bytes read with a size limit; ``path`` then only names it)."""
    try:
        with wave.open(data if data is not None else str(path), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioError(f"cannot read {path}: {exc}") from None
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        ints = (b[:, 0].astype(np.int32) | b[:, 1] << 8 | b[:, 2].astype(np.int32) << 16) << 8
        data = (ints >> 8).astype(np.float32) / 8388608.0
    elif width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        raise AudioError(f"{path}: unsupported sample width {width}")
    return to_mono(data.reshape(-1, channels)), rate


def write_wav(path: Path, samples: np.ndarray, rate: int = WIRE_RATE) -> None:
    """Write int16 mono samples as a WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())


class WavRecorder:
    """The output WAV (24 kHz mono PCM16), written beside ``path`` and renamed to it by
    :meth:`finish`. Never raises after it is made: the first failed write or close is logged
    (one error line: the file and the cause), the temporary file removed, later writes
    dropped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file, self._temp = create_beside(path)
        except OSError as exc:
            raise AudioError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._wav: wave.Wave_write | None = wave.open(self._file, "wb")  # noqa: SIM115
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(WIRE_RATE)

    def write(self, samples: np.ndarray) -> None:
        """Append int16 samples (the audio thread)."""
        wav = self._wav
        if wav is None:
            return
        try:
            wav.writeframes(samples.astype("<i2").tobytes())
        except OSError as exc:
            self._fail(wav, exc)

    def finish(self) -> None:
        """Write the header's lengths, flush to the disk, rename into place."""
        wav, self._wav = self._wav, None
        if wav is None:
            return
        try:
            wav.close()  # the header's lengths; the file itself stays open
            commit(self._file, self._temp, self.path)
        except OSError as exc:
            self._fail(wav, exc)

    def _fail(self, wav: wave.Wave_write, exc: OSError) -> None:
        self._wav = None
        with contextlib.suppress(OSError):
            wav.close()  # lets go of the file (or its __del__ would flush it again, noisily)
        discard(self._file, self._temp)
        log.error(
            "cannot write the output WAV %s: %s; nothing of it is kept (free some space, or "
            "give --audio-out another place)",
            self.path,
            exc.strerror or exc,
        )


class WavBackend:
    """Audio backend on WAV files, paced in real time by its own thread."""

    name = "wav"

    def __init__(self, audio_in: Path | None, audio_out: Path | None, block_ms: int = 20) -> None:
        self.block = ms_to_samples(block_ms)
        self.block_s = self.block / WIRE_RATE
        self._input = np.zeros(0, dtype=np.int16)
        if audio_in is not None:
            samples, rate = read_wav(audio_in)
            self._input = to_int16(resample(samples, rate, WIRE_RATE))
        self._out = WavRecorder(audio_out) if audio_out is not None else None
        self._out_lock = threading.Lock()
        self._lifecycle = threading.RLock()  # open() and close() never overlap
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def open(
        self, playback: Playback, on_capture: CaptureCallback, on_error: ErrorCallback
    ) -> None:
        with self._lifecycle:
            self.close()
            stop = self._stop = threading.Event()
            thread = threading.Thread(
                target=self._run,
                args=(playback, on_capture, on_error, stop),
                daemon=True,
                name="wav-audio",
            )
            thread.start()
            self._thread = thread  # only a started thread is ever joined

    def _run(
        self,
        playback: Playback,
        on_capture: CaptureCallback,
        on_error: ErrorCallback,
        stop: threading.Event,
    ) -> None:
        position = 0
        silence = np.zeros(self.block, dtype=np.int16)
        deadline = time.monotonic()
        try:
            while not stop.is_set():
                block = self._input[position : position + self.block]
                position += self.block
                if len(block) < self.block:
                    block = np.concatenate([block, silence[: self.block - len(block)]])
                on_capture(block, time.perf_counter())
                played = playback.read(self.block)
                with self._out_lock:
                    if self._out is not None:
                        self._out.write(played)
                deadline += self.block_s
                delay = deadline - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                else:
                    deadline = time.monotonic()  # fell behind: do not burst to catch up
        except Exception as exc:  # report, never kill the process from the audio thread
            on_error(f"WAV audio failed: {exc}")

    def close(self) -> None:
        with self._lifecycle:
            self._stop.set()
            thread, self._thread = self._thread, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=2)

    def finish(self) -> None:
        """Close the streams and finalise the output WAV (header with the right length, then
        renamed into place). Never raises: a failure is one error line."""
        self.close()
        with self._out_lock:
            if self._out is not None:
                self._out.finish()
                self._out = None
