"""The playback (jitter) buffer between the network and the output stream.

The asyncio side :meth:`~Playback.push` es audio deltas; the output stream's thread
:meth:`~Playback.read` s fixed blocks at the device's pace. The buffer knows, per item, how many
samples were really **played**, which is what barge-in reports in
``conversation.item.truncate.audio_end_ms``. Underruns while an item is playing are filled with
silence and counted.

"Played" is read out to the device, minus what the device had not yet played when the playback
was cleared: a sound-card backend :meth:`~Playback.attach` es an :class:`OutputDevice` that
says how far the audio has reached the DAC and drops what it still holds (barge-in silences the
speaker, not just this queue). Without one (WAV files) everything read counts as played.

A sound cue (:meth:`~Playback.cue`, see :mod:`appliance.audio.cues`) is mixed into what
:meth:`~Playback.read` returns, beside the model's audio and apart from it: it is not an item,
does not make the playback ``playing`` (the model speaking), is not dropped by a
:meth:`~Playback.clear` (barge-in) and does not move the avatar's meter.
:meth:`~Playback.cue_within` says when one was last read out (the microphone is not sent then).

A single lock guards the small amount of shared state; both sides hold it only for a memcpy.

The output volume (:class:`~appliance.audio.volume.Volume`) is applied in :meth:`Playback.read`,
the one place every backend takes its output from: the sound card, the echo canceller's
reference and a WAV output all get the same gained samples. The meter (the avatar, the LED) is
fed before the gain: it shows the voice, whatever the volume.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from appliance.audio.meter import Analyser
from appliance.audio.pcm import WIRE_RATE, samples_to_ms, to_float
from appliance.audio.volume import Volume


@dataclass
class ItemProgress:
    """How much of one model audio item (``item_id``/``content_index``) was queued and played."""

    item_id: str
    content_index: int = 0
    queued: int = 0
    played: int = 0

    @property
    def played_ms(self) -> int:
        return samples_to_ms(self.played)


@dataclass
class _Chunk:
    item: ItemProgress
    samples: np.ndarray  # int16
    offset: int = 0
    arrived: float = field(default_factory=time.perf_counter)
    into_empty: bool = False  # nothing was queued ahead of it (no queueing delay)


@dataclass
class _Read:
    """One piece of an item handed to the device: where it sits in the read stream."""

    start: int  # position in the read stream (every sample :meth:`Playback.read` returned)
    count: int
    item: ItemProgress


class OutputDevice(Protocol):
    """What a device backend tells a :class:`Playback` it reads from (see :meth:`attach`)."""

    def heard(self) -> float | None:
        """How far into the read stream (:attr:`Playback.position`) the audio has reached the
        DAC by now, or None if unknown. Called under the playback's lock: no locking inside."""

    def flush(self) -> None:
        """Drop the audio the device holds and has not played yet (called after a clear)."""


@dataclass
class PlaybackStats:
    underruns: int = 0
    dropped_samples: int = 0
    played_samples: int = 0
    flushed_samples: int = 0  # read out to the device but dropped by a clear before the DAC
    # push -> first sample read, for chunks that arrived into an empty buffer (pipeline latency)
    first_sample_latency_s: list[float] = field(default_factory=list)
    # the same for chunks that waited behind earlier audio (includes the queueing delay)
    queued_latency_s: list[float] = field(default_factory=list)


class Playback:
    """Bounded buffer of model audio, read by the output stream in blocks of int16 samples."""

    def __init__(
        self,
        *,
        max_seconds: float = 120.0,
        analyser: Analyser | None = None,
        on_start: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        volume: Volume | None = None,
    ) -> None:
        self.max_samples = int(max_seconds * WIRE_RATE)
        self.analyser = analyser or Analyser()
        self.on_start = on_start
        self.on_stop = on_stop
        self.volume = volume or Volume()
        self.stats = PlaybackStats()
        self._lock = threading.Lock()
        self._chunks: deque[_Chunk] = deque()
        self._queued = 0
        self._items: dict[tuple[str, int], ItemProgress] = {}
        self._current: ItemProgress | None = None
        self._playing = False
        self._last_audible = 0.0
        self._measure_latency = False
        self._device: OutputDevice | None = None
        self._reads: deque[_Read] = deque(maxlen=256)
        self._cue = np.zeros(0, dtype=np.int16)  # what is left of the cue being played
        self._cue_read = float("-inf")  # monotonic time a cue sample was last read out
        self.position = 0
        """Samples :meth:`read` has returned so far (silence included): the read stream."""
        self.generation = 0
        """Incremented by every :meth:`clear`, so a device converter can drop what it holds."""

    def attach(self, device: OutputDevice | None) -> None:
        """Let ``device`` (the open output stream) correct what counts as played at a
        :meth:`clear` and drop what it holds; None detaches it."""
        with self._lock:
            self._device = device

    def detach(self, device: OutputDevice) -> None:
        """Detach ``device`` if it is the attached one."""
        with self._lock:
            if self._device is device:
                self._device = None

    # --- network side ---------------------------------------------------------------------

    def push(self, item_id: str, pcm: bytes, content_index: int = 0) -> None:
        """Queue a delta of PCM16 audio for ``item_id``. Drops the oldest audio when full."""
        samples = np.frombuffer(pcm, dtype="<i2").copy()
        if not len(samples):
            return
        with self._lock:
            key = (item_id, content_index)
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = ItemProgress(item_id, content_index)
                # keep the table small: forget items that are fully played and old
                if len(self._items) > 64:
                    for old in list(self._items)[:-32]:
                        del self._items[old]
            item.queued += len(samples)
            self._chunks.append(_Chunk(item, samples, into_empty=not self._chunks))
            self._queued += len(samples)
            while self._queued > self.max_samples and self._chunks:
                dropped = self._chunks.popleft()
                left = len(dropped.samples) - dropped.offset
                self._queued -= left
                self.stats.dropped_samples += left

    def clear(self) -> ItemProgress | None:
        """Drop everything queued (barge-in). Returns the item that was playing (or, if none
        had started, the first queued one), as a copy.

        With a device attached, what it holds and has not played yet is dropped too, and no
        longer counts as played: the item's ``played`` is what reached the DAC."""
        with self._lock:
            current = self._current or (self._chunks[0].item if self._chunks else None)
            had_audio = self._playing or bool(self._chunks)
            device = self._device
            if device is not None:
                unheard = self._forget_unheard(device)
                had_audio = had_audio or unheard > 0
            current = None if current is None else ItemProgress(**current.__dict__)
            self._chunks.clear()
            self._queued = 0
            self.generation += 1
            was_playing = self._playing
            self._playing = False
            self._current = None
        if device is not None and had_audio:
            device.flush()
        if was_playing and self.on_stop:
            self.on_stop()
        return current

    def _forget_unheard(self, device: OutputDevice) -> int:
        """Take what was read but has not reached the DAC off the items' ``played`` (under
        the lock); returns how many samples that was."""
        heard = device.heard()
        if heard is None:
            return 0
        unheard = 0
        while self._reads:
            read = self._reads[-1]
            if read.start + read.count <= heard:
                break
            late = min(read.count, read.start + read.count - max(0, int(heard)))
            read.item.played = max(0, read.item.played - late)
            unheard += late
            self._reads.pop()
        self.stats.played_samples -= unheard
        self.stats.flushed_samples += unheard
        return unheard

    def progress(self, item_id: str, content_index: int = 0) -> ItemProgress | None:
        with self._lock:
            item = self._items.get((item_id, content_index))
            return None if item is None else ItemProgress(**item.__dict__)

    @property
    def current(self) -> ItemProgress | None:
        """The item being played now (a copy), or None."""
        with self._lock:
            item = self._current
            return None if item is None else ItemProgress(**item.__dict__)

    @property
    def queued_ms(self) -> int:
        return samples_to_ms(self._queued)

    @property
    def playing(self) -> bool:
        return self._playing

    def cue(self, samples: np.ndarray) -> None:
        """Play ``samples`` (24 kHz mono int16), mixed over whatever else plays; replaces a
        cue still playing."""
        with self._lock:
            self._cue = np.asarray(samples, dtype=np.int16).copy()

    def cue_within(self, seconds: float) -> bool:
        """True while a cue is left to play or was read out within ``seconds``."""
        return len(self._cue) > 0 or (time.monotonic() - self._cue_read) < seconds

    def audible_within(self, seconds: float) -> bool:
        """True while playing or within ``seconds`` after playback ended (half-duplex tail)."""
        return self._playing or (time.monotonic() - self._last_audible) < seconds

    # --- device side ------------------------------------------------------------------------

    def read(self, n: int) -> np.ndarray:
        """Return exactly ``n`` int16 samples for the device: queued audio, then silence, at
        the current volume."""
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        started = stopped = False
        with self._lock:
            while filled < n and self._chunks:
                chunk = self._chunks[0]
                if chunk.offset == 0 and self._measure_latency:
                    waited = time.perf_counter() - chunk.arrived
                    if chunk.into_empty:
                        self.stats.first_sample_latency_s.append(waited)
                    else:
                        self.stats.queued_latency_s.append(waited)
                take = min(n - filled, len(chunk.samples) - chunk.offset)
                out[filled : filled + take] = chunk.samples[chunk.offset : chunk.offset + take]
                chunk.offset += take
                chunk.item.played += take
                self._reads.append(_Read(self.position + filled, take, chunk.item))
                self._current = chunk.item
                filled += take
                self._queued -= take
                if chunk.offset >= len(chunk.samples):
                    self._chunks.popleft()
            if filled:
                self._last_audible = time.monotonic()
                if not self._playing:
                    self._playing = started = True
                if filled < n and not self._chunks:
                    # the item ran dry: either it finished or the network is late
                    self.stats.underruns += 1
            elif self._playing:
                self._playing = False
                self._current = None
                stopped = True
            self.stats.played_samples += filled
            self.position += n
            cue = self._cue[:n]
            if len(cue):
                self._cue = self._cue[n:]
                self._cue_read = time.monotonic()
        self.analyser.feed(to_float(out))  # the model's voice alone moves the avatar
        if len(cue):
            mixed = out.astype(np.int32)
            mixed[: len(cue)] += cue
            out = np.clip(mixed, -32768, 32767).astype(np.int16)
        out = self.volume.apply(out)  # the voice and the cues, as the DAC gets them
        if started and self.on_start:
            self.on_start()
        if stopped and self.on_stop:
            self.on_stop()
        return out

    def measure_latency(self, enabled: bool = True) -> None:
        """Record, per chunk, the time from push to its first sample being read (bench)."""
        self._measure_latency = enabled
