"""The wake word engine: microWakeWord models (``pymicro-wakeword``) on the microphone's blocks.

The microphone's wire audio (24 kHz mono int16) is resampled to 16 kHz (soxr) and fed to
microWakeWord's feature front end in 10 ms chunks; the model runs every few chunks and its
averaged probability is compared with the cutoff (``wake.sensitivity``, or the model's own),
as Home Assistant's Linux Voice Assistant and ESPHome do. ``pymicro-wakeword`` is imported only
by :class:`Detector` (``[wake] enabled = true``), so an appliance without the feature pays
nothing for it.

The pure parts are here too: :class:`Refractory` (a detection is ignored for ``refractory_s``
after the last one) and :class:`PreRoll` (the last moments of audio, kept so that the words
said right after the wake word are whole; the detector fires some 100-250 ms into them).
"""

from __future__ import annotations

import importlib.util
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from appliance.audio.pcm import WIRE_RATE, Resampler
from appliance.config.models import WAKE_MODELS

WAKE_RATE = 16_000
"""microWakeWord's sample rate."""

PRE_ROLL_MS = 500
"""Audio kept from before a detection and sent with what follows: the detector fires up to a
quarter of a second after the word ends, into the question said after it in one breath."""

HOLD_MAX_S = 15.0
"""Audio held from a detection until the session is up (a connect takes a second or two); a
session that is not up by then gets the latest :data:`HOLD_MAX_S`."""

MAX_MANIFEST_BYTES = 64 * 1024
"""A custom model's JSON manifest is a few hundred bytes; a larger one is refused."""

MAX_MODEL_BYTES = 16 * 1024 * 1024
"""A microWakeWord model is some 50-150 KB; a model file over 16 MiB is refused."""

BUNDLED = WAKE_MODELS
"""The models ``pymicro-wakeword`` carries."""


class WakeModelError(Exception):
    """A wake word model cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Manifest:
    """What a microWakeWord model's JSON manifest says."""

    wake_word: str
    tflite: Path
    probability_cutoff: float
    sliding_window_size: int


def _package_dir() -> Path:
    """pymicro-wakeword's directory, found without importing it."""
    spec = importlib.util.find_spec("pymicro_wakeword")
    if spec is None or spec.origin is None:
        raise WakeModelError("the wake word needs pymicro-wakeword: pip install 'appliance[wake]'")
    return Path(spec.origin).parent


def manifest_path(model: str) -> Path:
    """The JSON manifest of ``model``: a bundled name, a ``.json`` or a ``.tflite`` path."""
    if model in BUNDLED:
        return _package_dir() / "models" / f"{model}.json"
    return Path(model).with_suffix(".json")


def read_manifest(path: Path) -> Manifest:
    """Read and check a manifest (``{"wake_word", "model", "micro": {"probability_cutoff",
    "sliding_window_size"}}``, microWakeWord's format)."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise WakeModelError(f"wake.model: cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_MANIFEST_BYTES:
        raise WakeModelError(
            f"wake.model: {path} is over {MAX_MANIFEST_BYTES // 1024} KiB: not a manifest"
        )
    try:
        data = json.loads(raw)
        micro = data["micro"]
        tflite = path.parent / str(data["model"])
        cutoff = float(micro["probability_cutoff"])
        window = int(micro["sliding_window_size"])
        wake_word = str(data["wake_word"])
    except (ValueError, KeyError, TypeError) as exc:
        raise WakeModelError(
            f"wake.model: {path} is not a microWakeWord manifest ({type(exc).__name__}: {exc}); "
            'it needs "wake_word", "model" and "micro": {"probability_cutoff", '
            '"sliding_window_size"}'
        ) from exc
    if not 0 < cutoff < 1 or not 1 <= window <= 100:
        raise WakeModelError(
            f"wake.model: {path}: probability_cutoff must be in (0, 1) and "
            "sliding_window_size from 1 to 100"
        )
    if not tflite.is_file():
        raise WakeModelError(f"wake.model: {path} names {tflite}, which does not exist")
    return Manifest(wake_word, tflite, cutoff, window)


def check_model(tflite: Path, library: Path) -> None:
    """Refuse a model file that is too large or that TensorFlow Lite cannot read: loading
    such a file through ``pymicro-wakeword`` would crash the process (a NULL model)."""
    import ctypes

    size = tflite.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise WakeModelError(
            f"wake.model: {tflite} is {size // 2**20} MiB, over the {MAX_MODEL_BYTES // 2**20} "
            "MiB limit: not a microWakeWord model"
        )
    lib = ctypes.CDLL(str(library))
    lib.TfLiteModelCreateFromFile.argtypes = [ctypes.c_char_p]
    lib.TfLiteModelCreateFromFile.restype = ctypes.c_void_p
    lib.TfLiteModelDelete.argtypes = [ctypes.c_void_p]
    model = lib.TfLiteModelCreateFromFile(str(tflite.resolve()).encode())
    if not model:
        raise WakeModelError(f"wake.model: {tflite} is not a TensorFlow Lite model")
    lib.TfLiteModelDelete(model)


class Refractory:
    """Lets a detection through at most once per ``seconds`` (pure: the time is passed in)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        """True (and the time noted) if ``now`` is at least ``seconds`` after the last one."""
        if self._last is not None and now - self._last < self.seconds:
            return False
        self._last = now
        return True


class PreRoll:
    """The latest blocks of audio, at most ``max_samples`` in all (the oldest dropped)."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self._blocks: deque[np.ndarray] = deque()
        self._samples = 0

    @property
    def samples(self) -> int:
        return self._samples

    def push(self, block: np.ndarray) -> None:
        self._blocks.append(block)
        self._samples += len(block)
        while self._blocks and self._samples - len(self._blocks[0]) >= self.max_samples:
            self._samples -= len(self._blocks.popleft())

    def take(self) -> list[np.ndarray]:
        """Everything kept, oldest first; the buffer is empty afterwards."""
        blocks = list(self._blocks)
        self._blocks.clear()
        self._samples = 0
        return blocks

    def clear(self) -> None:
        self._blocks.clear()
        self._samples = 0


class Detector:
    """One microWakeWord model on a stream of wire audio. :meth:`feed` is called with each
    block, in order, from one thread; it says whether the word was heard in it."""

    def __init__(self, model: str, cutoff: float | None = None) -> None:
        manifest = read_manifest(manifest_path(model))
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

        libraries = sorted((_package_dir() / "lib").glob("*tensorflowlite_c*"))
        if not libraries:
            raise WakeModelError(
                "pymicro-wakeword has no TensorFlow Lite library for this machine "
                "(wheels exist for x86_64 and aarch64 Linux)"
            )
        check_model(manifest.tflite, libraries[0])
        self.wake_word = manifest.wake_word
        self.cutoff = manifest.probability_cutoff if cutoff is None else cutoff
        self._model: Any = MicroWakeWord(
            Path(manifest.tflite).stem,
            wake_word=manifest.wake_word,
            tflite_model=manifest.tflite,
            probability_cutoff=self.cutoff,
            sliding_window_size=manifest.sliding_window_size,
            trained_languages=[],
            libtensorflowlite_c_path=libraries[0],
        )
        self._features: Any = MicroWakeWordFeatures()
        self._resampler = Resampler(WIRE_RATE, WAKE_RATE, "LQ")
        self.last_probability = 0.0
        """The probability of the last detection."""

    def feed(self, block: np.ndarray) -> bool:
        """Feed one block of wire audio (24 kHz int16); True if the word ended in it."""
        x = self._resampler.process(block.astype(np.float32) / 32768.0)
        pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2").tobytes()
        heard = False
        for features in self._features.process_streaming(pcm):
            probability = self._model.process_streaming_prob(features)
            if probability is not None and probability > self.cutoff:
                self.last_probability = probability
                heard = True
        return heard

    def close(self) -> None:
        self._model.close()
