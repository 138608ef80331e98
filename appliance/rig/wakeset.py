"""A test set for wake word detectors, spoken by espeak-ng, mixed with noise and cached.

    wake = wake_set(quick=True)      # made once, then loaded from the cache
    wake.positives, wake.clips       # the wake phrase in noise, one clip after another
    wake.negatives                   # other speech and noise: what must not wake the device

Positives: the wake phrase ("Okay Nabu", in espeak-ng spellings that sound like it) spoken by
several voices (:data:`VOICES`), speeds and pitches; each rendering mixed with one kind of
noise (white, pink or babble: other espeak-ng speech, four voices at once) at each SNR in
:data:`SNRS_DB`. A clip is :data:`LEAD_S` of noise, the phrase and :data:`TAIL_S` of noise.

Negatives: at least :data:`NEGATIVE_S` (30 minutes; ``quick``: :data:`QUICK_NEGATIVE_S`) of
other sentences (:data:`SENTENCES`, some of them close to the phrase: "okay", "nobody",
"a new book") in several voices and speeds, each mixed with noise like the positives, with
noise-only stretches between.

Everything is 16 kHz mono int16, the detectors' input. The speech's voiced parts are at
:data:`SPEECH_DBFS`; the SNR is that level over the noise's RMS. The set is deterministic
(fixed seeds, espeak-ng's output) and cached under :func:`appliance.rig.cache.cache_dir`,
keyed by everything that shapes it and espeak-ng's version.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from appliance.rig.cache import cache_dir
from appliance.rig.speech import espeak

RATE = 16_000
"""Samples per second: what microWakeWord and openWakeWord take."""

FORMAT_VERSION = 2
"""Bumped when the generator changes what it makes (the cache key includes it)."""

PHRASES = ("okay nabu", "oh kay nah boo", "okay naboo")
"""espeak-ng spellings of "Okay Nabu": the plain one, a slower split one, and one with a
shorter second word (all detected by microWakeWord in every voice here, in quiet)."""

VOICES = (
    "en-us",
    "en-gb",
    "en-gb-x-rp",
    "en-us+f3",
    "en-gb-scotland",
    "en-029",
    "en-us-nyc+m3",
)
"""espeak-ng voices (with variants: +f3 a female one, +m3 another male one). MBROLA voices
(:data:`MBROLA_VOICES`) are added when installed."""

MBROLA_VOICES = ("mb-us1", "mb-us2", "mb-en1")
MBROLA_DIR = Path("/usr/share/mbrola")

SPEEDS = (140, 175, 210)
"""Words per minute (espeak-ng's default is 175)."""
PITCHES = (35, 50, 70)
"""espeak-ng pitch, 0-99 (default 50)."""
SNRS_DB = (20, 10, 5)
NOISES = ("white", "pink", "babble")
SPEECH_DBFS = -20.0
"""The level of the voiced parts of all speech in the set (a voice a metre from the mic)."""
VOICED_LEVEL = 10 ** (-50 / 20)
"""A sample above this (-50 dBFS) is the voice, not espeak-ng's silence around it."""
LEAD_S = 0.6
TAIL_S = 1.0
NEGATIVE_S = 30 * 60.0
QUICK_NEGATIVE_S = 3 * 60.0
NOISE_STRETCH_S = 4.0
"""A noise-only stretch after every :data:`NOISE_EVERY` negative sentences."""
NOISE_EVERY = 5
BABBLE_VOICES = 4
BABBLE_S = 60.0

SENTENCES = (
    "Welcome to the museum, the exhibition starts on the first floor.",
    "Can you tell me where the bathroom is?",
    "Okay, now let's look at the next painting.",
    "Nobody knows who built the old bridge.",
    "I bought a new book about the history of the harbour.",
    "What time does the cafe close today?",
    "The weather in Paris will be sunny with a light breeze.",
    "Okay, no problem, I will wait here.",
    "Please keep your bags with you at all times.",
    "The navy blue boat left the port at noon.",
    "How long does it take to walk to the station?",
    "My grandmother used to make bread every Sunday morning.",
    "Turn the oven down to one hundred and eighty degrees.",
    "Is there a guided tour in the afternoon?",
    "The children are playing in the garden behind the house.",
    "Okay, I think we should go now.",
    "A new bus line opens next month.",
    "Could you say that again a bit more slowly?",
    "The library has more than two million books.",
    "We need two eggs, some flour and a cup of milk.",
    "The train to Berlin is delayed by ten minutes.",
    "He was named after his grandfather, Nabil.",
    "Look at the colours in this window, they change with the light.",
    "Thank you very much, that was really helpful.",
    "Where can I buy a ticket for the concert tonight?",
    "The sculpture was carved from a single block of marble.",
    "Okay everyone, please gather around.",
    "It is a bit noisy in here, isn't it?",
    "The kettle is boiling, shall I make some tea?",
    "Our flight leaves early tomorrow morning.",
    "Nah, I don't think that's right.",
    "The museum shop sells postcards and posters.",
    "Remember to switch off the lights when you leave.",
    "I'd like a table for four, please.",
    "The cat is sleeping on the sofa again.",
    "Can you recommend a good restaurant nearby?",
    "Okay, so what happens next?",
    "The boots are by the door, next to the umbrella.",
    "The painting was restored last year after the flood.",
    "Let's meet at the entrance at half past two.",
)
"""Other speech: everyday sentences, some with words close to the wake phrase."""


@dataclass(frozen=True)
class Clip:
    """One wake phrase in :attr:`WakeSet.positives`: sample offsets and how it was made."""

    start: int
    phrase_start: int
    phrase_end: int  # the end of espeak-ng's audio (0.2-0.4 s of its own silence end it)
    voice_end: int  # the last sample of the voice itself (above -50 dBFS)
    end: int
    snr_db: float
    noise: str
    voice: str
    speed: int
    pitch: int
    text: str


@dataclass
class WakeSet:
    positives: np.ndarray  # int16, the clips one after another
    clips: list[Clip]
    negatives: np.ndarray  # int16
    path: Path  # the cache file

    @property
    def positive_s(self) -> float:
        return len(self.positives) / RATE

    @property
    def negative_s(self) -> float:
        return len(self.negatives) / RATE


@dataclass(frozen=True)
class Recipe:
    """Everything that shapes the set (its hash is the cache key)."""

    voices: tuple[str, ...]
    speeds: tuple[int, ...]
    pitches: tuple[int, ...]
    negative_s: float

    @staticmethod
    def make(quick: bool) -> Recipe:
        voices = VOICES + tuple(v for v in MBROLA_VOICES if _mbrola_installed(v))
        if quick:
            return Recipe(voices[:3], (150, 200), (40, 65), QUICK_NEGATIVE_S)
        return Recipe(voices, SPEEDS, PITCHES, NEGATIVE_S)

    def key(self) -> str:
        fields = {
            **asdict(self),
            "format": FORMAT_VERSION,
            "espeak": _espeak_version(),
            "phrases": PHRASES,
            "sentences": SENTENCES,
            "snrs": SNRS_DB,
            "noises": NOISES,
            "level": SPEECH_DBFS,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def wake_set(quick: bool = False, folder: Path | None = None) -> WakeSet:
    """The test set (``quick``: 3 voices, 2 speeds, 2 pitches, 3 minutes of negatives), from
    the cache in ``folder`` (default :func:`cache_dir`) or made and cached there. Fails with
    the apt command when espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    recipe = Recipe.make(quick)
    path = (folder or cache_dir("wakeset")) / f"wakeset-{recipe.key()}.npz"
    if path.exists():
        return load(path)
    made = generate(recipe)
    save(made, path)
    return load(path)


def save(made: tuple[np.ndarray, list[Clip], np.ndarray], path: Path) -> None:
    """Write atomically (a run stopped half-way leaves no broken cache file)."""
    positives, clips, negatives = made
    table = np.frombuffer(json.dumps([asdict(c) for c in clips]).encode(), dtype=np.uint8)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, positives=positives, negatives=negatives, clips=table)
    partial.replace(path)


def load(path: Path) -> WakeSet:
    with np.load(path, allow_pickle=False) as data:
        clips = [Clip(**c) for c in json.loads(data["clips"].tobytes())]
        return WakeSet(data["positives"], clips, data["negatives"], path)


# --- making it ---------------------------------------------------------------------------------


def generate(
    recipe: Recipe, babble_s: float | None = None
) -> tuple[np.ndarray, list[Clip], np.ndarray]:
    """(positives, their clips, negatives) for ``recipe``; the babble noise is cut from
    ``babble_s`` (default :data:`BABBLE_S`) of four voices at once."""
    rng = np.random.default_rng(23)
    babble = babble_bank(BABBLE_S if babble_s is None else babble_s)
    noises = {"white": _white, "pink": _pink, "babble": lambda n, r: _slice(babble, n, r)}
    pieces: list[np.ndarray] = []
    clips: list[Clip] = []
    at = 0
    renders = itertools.product(recipe.voices, recipe.speeds, recipe.pitches)
    for index, (voice, speed, pitch) in enumerate(renders):
        text = PHRASES[index % len(PHRASES)]
        noise = NOISES[index % len(NOISES)]
        phrase = _say(text, voice, speed, pitch)
        voiced = np.nonzero(np.abs(phrase) > VOICED_LEVEL)[0]
        voiced_len = int(voiced[-1]) + 1 if len(voiced) else len(phrase)
        for snr in SNRS_DB:
            lead, tail = round(LEAD_S * RATE), round(TAIL_S * RATE)
            clean = np.concatenate([np.zeros(lead), phrase, np.zeros(tail)])
            mixed = clean + noises[noise](len(clean), rng) * _noise_gain(snr)
            pieces.append(mixed)
            end = at + len(mixed)
            clips.append(
                Clip(
                    at,
                    at + lead,
                    at + lead + len(phrase),
                    at + lead + voiced_len,
                    end,
                    snr,
                    noise,
                    voice,
                    speed,
                    pitch,
                    text,
                )
            )
            at = end
    positives = _to_int16(np.concatenate(pieces))
    return positives, clips, _to_int16(negatives(recipe, noises, rng))


def negatives(recipe: Recipe, noises: dict, rng: np.random.Generator) -> np.ndarray:
    """Other sentences in noise, with noise-only stretches, until ``recipe.negative_s``."""
    pieces: list[np.ndarray] = []
    total = 0
    target = round(recipe.negative_s * RATE)
    for index, (text, voice, speed) in enumerate(_sentences(recipe)):
        if total >= target:
            break
        noise = NOISES[index % len(NOISES)]
        snr = SNRS_DB[index % len(SNRS_DB)]
        gap = np.zeros(round(rng.uniform(0.3, 1.2) * RATE))
        clean = np.concatenate([_say(text, voice, speed, 50), gap])
        pieces.append(clean + noises[noise](len(clean), rng) * _noise_gain(snr))
        total += len(clean)
        if index % NOISE_EVERY == NOISE_EVERY - 1:
            stretch = round(NOISE_STRETCH_S * RATE)
            pieces.append(noises[noise](stretch, rng) * _noise_gain(SNRS_DB[-1]))
            total += stretch
    return np.concatenate(pieces)[:target] if pieces else np.zeros(0)


def _sentences(recipe: Recipe) -> Iterator[tuple[str, str, int]]:
    """Sentences, voices and speeds in turn, endlessly (a different pairing each round)."""
    for round_ in itertools.count():
        for i, text in enumerate(SENTENCES):
            voice = recipe.voices[(i + round_) % len(recipe.voices)]
            speed = recipe.speeds[(i + 2 * round_) % len(recipe.speeds)]
            yield text, voice, speed


def babble_bank(seconds: float) -> np.ndarray:
    """``seconds`` of babble: :data:`BABBLE_VOICES` streams of other sentences at once, unit
    RMS. Deterministic."""
    n = round(seconds * RATE)
    bank = np.zeros(n)
    voices = ("en-gb+f2", "en-us+m4", "en-gb-x-rp+f4", "en-029+m2")
    for stream in range(BABBLE_VOICES):
        parts, length = [], 0
        for i in itertools.count():
            text = SENTENCES[(7 * stream + 3 * i) % len(SENTENCES)]
            part = _say(text, voices[stream % len(voices)], 160 + 10 * stream, 50)
            parts.append(part)
            length += len(part)
            if length >= n:
                break
        bank += np.concatenate(parts)[:n]
    return bank / float(np.sqrt(np.mean(bank**2)))


def _say(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    x = espeak(text, voice=voice, rate=RATE, level_dbfs=SPEECH_DBFS, speed=speed, pitch=pitch)
    if x is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    return x.astype(np.float64)


def _noise_gain(snr_db: float) -> float:
    """The RMS of noise that sits ``snr_db`` under the speech's level."""
    return 10 ** ((SPEECH_DBFS - snr_db) / 20)


def _white(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise (white shaped in the frequency domain), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return x / float(np.sqrt(np.mean(x**2)) or 1.0)


def _slice(bank: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``bank`` from a random offset, wrapping around."""
    start = int(rng.integers(len(bank)))
    return np.take(bank, np.arange(start, start + n), mode="wrap")


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def _espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def _mbrola_installed(voice: str) -> bool:
    return shutil.which("mbrola") is not None and (MBROLA_DIR / voice.removeprefix("mb-")).exists()
