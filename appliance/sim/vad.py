"""Energy-based voice activity detection on the 24 kHz PCM16 stream the client appends.

The stream is cut in 20 ms frames. A frame is *voiced* when its RMS level, in dBFS, is at
least ``-70 + 60 * threshold``: the API's ``threshold`` (0.0 to 1.0, default 0.5) maps
linearly onto -70 dBFS (0.0, everything but digital silence) to -10 dBFS (1.0, only loud
speech); the default 0.5 is -40 dBFS. Speech *starts* after two voiced frames in a row
(40 ms, so a click does not count); ``audio_start_ms`` is the start of the first of them less
``prefix_padding_ms`` (not before 0). Speech *stops* when ``silence_duration_ms`` of
unvoiced frames follow the last voiced frame; ``audio_end_ms`` is the position then, so it
includes the silence, as in the real service.

``semantic_vad`` is played as server VAD with threshold 0.5, 300 ms of prefix padding and a
silence of 1000 / 500 / 250 ms for eagerness low / medium or auto / high.

All positions are milliseconds from the start of all audio appended in the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

RATE = 24_000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2
START_FRAMES = 2
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


def threshold_dbfs(threshold: float) -> float:
    """The frame level (dBFS) a ``threshold`` in [0, 1] stands for."""
    return -70.0 + 60.0 * threshold


def frame_dbfs(frame: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (full scale = 0 dBFS; silence = -inf)."""
    if frame.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(frame.astype(np.float64) / 32768.0))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began; ``audio_start_ms`` includes the prefix padding."""

    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """Speech ended; ``speech_ms`` is the voiced span (first to last voiced frame)."""

    audio_end_ms: int
    speech_ms: int


class EnergyVad:
    """Streaming energy VAD. Feed it PCM16 bytes; it returns start/stop events."""

    def __init__(self, turn_detection: dict[str, Any] | None = None) -> None:
        self.threshold = 0.5
        self.prefix_padding_ms = 300
        self.silence_duration_ms = 500
        self.position_ms = 0
        self._rest = b""
        self._run = 0
        self._run_start_ms = 0
        self.speaking = False
        self._first_voiced_ms = 0
        self._last_voiced_end_ms = 0
        if turn_detection is not None:
            self.configure(turn_detection)

    def configure(self, turn_detection: dict[str, Any]) -> None:
        """Take ``threshold``, ``prefix_padding_ms`` and ``silence_duration_ms`` (or eagerness)."""
        if turn_detection.get("type") == "semantic_vad":
            self.threshold = 0.5
            self.prefix_padding_ms = 300
            eagerness = turn_detection.get("eagerness", "auto")
            self.silence_duration_ms = SEMANTIC_SILENCE_MS.get(eagerness, 500)
        else:
            self.threshold = float(turn_detection.get("threshold", 0.5))
            self.prefix_padding_ms = int(turn_detection.get("prefix_padding_ms", 300))
            self.silence_duration_ms = int(turn_detection.get("silence_duration_ms", 500))

    def reset(self) -> None:
        """Forget any speech in progress (after a clear or a manual commit)."""
        self._run = 0
        self.speaking = False

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechStopped]:
        """Process appended audio; return the events it caused, in order."""
        data = self._rest + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._rest = data[whole:]
        events: list[SpeechStarted | SpeechStopped] = []
        if whole == 0:
            return events
        frames = np.frombuffer(data[:whole], dtype="<i2").reshape(-1, FRAME_SAMPLES)
        limit = threshold_dbfs(self.threshold)
        for frame in frames:
            start_ms = self.position_ms
            self.position_ms += FRAME_MS
            voiced = frame_dbfs(frame) >= limit
            if not self.speaking:
                if voiced:
                    if self._run == 0:
                        self._run_start_ms = start_ms
                    self._run += 1
                    if self._run >= START_FRAMES:
                        self.speaking = True
                        self._first_voiced_ms = self._run_start_ms
                        self._last_voiced_end_ms = self.position_ms
                        events.append(
                            SpeechStarted(max(0, self._run_start_ms - self.prefix_padding_ms))
                        )
                else:
                    self._run = 0
            elif voiced:
                self._last_voiced_end_ms = self.position_ms
            elif self.position_ms - self._last_voiced_end_ms >= self.silence_duration_ms:
                self.speaking = False
                self._run = 0
                events.append(
                    SpeechStopped(
                        self.position_ms, self._last_voiced_end_ms - self._first_voiced_ms
                    )
                )
        return events
