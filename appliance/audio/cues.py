"""Sound cues: short sounds at session start, stop and error, like a smart speaker's.

A blind visitor hears what happened: ``start`` (a rising two-tone) when the session is live and
listens, ``stop`` (falling) when it ended, ``error`` (a low double tone) when it failed. Each is
``"default"`` (the WAV shipped in ``assets/cues/``, made by ``scripts/make-cues``), ``"off"``,
or the path of a WAV file (PCM, any rate, mono or stereo; at most :data:`CUE_MAX_S` seconds
and :data:`CUE_FILE_LIMIT` bytes), set in ``[audio.cues]``.

When they play (:func:`cue_for`, pure): on the change of the state shown, so the stop cue comes
once the session's audio device is closed, and a reconnection is not a new start.

How they play (:meth:`~appliance.audio.lifecycle.AudioDevice.cue`): while a session has the
sound card open, mixed into the output by :class:`~appliance.audio.playback.Playback` (so the
echo canceller has it as its reference), never counted as the model's audio (not "speaking",
not in a truncate) and never sent: the microphone is not sent while a cue plays and for
``audio.echo_tail_ms`` after, in every echo mode. Otherwise on the output device alone.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from appliance.audio.backend import AudioError
from appliance.audio.pcm import WIRE_RATE, resample, to_int16
from appliance.files import FileRefused, read_small
from appliance.state import Phase, View

log = logging.getLogger(__name__)

CUE_NAMES = ("start", "stop", "error")
CUE_FILE_LIMIT = 2 * 1024 * 1024
"""The largest cue WAV file: 2 MiB (5 s of 48 kHz stereo 16-bit fits; a cue is under 1 s)."""
CUE_MAX_S = 5.0
"""The longest cue: a cue is a signal, not a message."""


class CueError(Exception):
    """A cue file that cannot be used; the message names the setting, the file and why."""


def default_path(name: str) -> Path | None:
    """The shipped WAV of cue ``name`` (None if the assets are not installed)."""
    from appliance.display.theme import assets_dir

    folder = assets_dir()
    return None if folder is None else folder / "cues" / f"{name}.wav"


def read_cue(path: Path) -> np.ndarray:
    """The cue at ``path`` as 24 kHz mono int16; raises :class:`CueError` saying why not."""
    from appliance.audio.wav import read_wav

    try:
        data = read_small(path, CUE_FILE_LIMIT, "a sound cue")
    except FileRefused as exc:
        raise CueError(str(exc)) from None
    except OSError as exc:
        raise CueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        samples, rate = read_wav(path, io.BytesIO(data))
    except AudioError as exc:
        raise CueError(f"{exc} (a PCM WAV file is needed)") from None
    if rate <= 0 or not len(samples):
        raise CueError(f"{path}: holds no sound")
    seconds = len(samples) / rate
    if seconds > CUE_MAX_S:
        raise CueError(f"{path}: {seconds:.1f} s long; a cue is at most {CUE_MAX_S:g} s")
    return to_int16(resample(samples, rate, WIRE_RATE))


def load_cue(name: str, setting: str | Path) -> np.ndarray | None:
    """Cue ``name`` for its setting: None when ``"off"``; raises :class:`CueError` naming
    ``audio.cues.NAME`` when its file cannot be used."""
    if setting == "off":
        return None
    path = default_path(name) if setting == "default" else Path(setting)
    if path is None:
        raise CueError(f"audio.cues.{name}: the built-in cue is not installed (assets/cues)")
    try:
        return read_cue(path)
    except CueError as exc:
        raise CueError(f"audio.cues.{name}: {exc}") from None


def load_cues(cues: object) -> dict[str, np.ndarray | None]:
    """Every cue of an ``[audio.cues]`` section. Never raises: a file that cannot be used is
    logged as a warning and the built-in cue plays instead (the appliance still starts)."""
    loaded: dict[str, np.ndarray | None] = {}
    for name in CUE_NAMES:
        setting = getattr(cues, name)
        try:
            loaded[name] = load_cue(name, setting)
        except CueError as exc:
            log.warning("%s; the built-in cue plays instead", exc)
            try:
                loaded[name] = load_cue(name, "default")
            except CueError:
                loaded[name] = None
    return loaded


def cue_problems(cues: object) -> list[str]:
    """What ``appliance config validate`` says of the cue settings (one line per bad file)."""
    problems = []
    for name in CUE_NAMES:
        setting = getattr(cues, name)
        if setting in ("off", "default"):
            continue
        try:
            load_cue(name, setting)
        except CueError as exc:
            problems.append(str(exc))
    return problems


def cue_for(before: View, after: View) -> str | None:
    """The cue for the change of the state shown from ``before`` to ``after``, if any:
    ``start`` when a session goes live (not when it comes back after a reconnection),
    ``stop`` when a session or an attempt ends on request, ``error`` when it fails."""
    if after.phase is Phase.LIVE:
        starting = before.phase is Phase.CONNECTING and not before.reconnect_attempt
        return "start" if starting else None
    if after.phase is Phase.IDLE and before.phase in (Phase.CONNECTING, Phase.LIVE):
        return "stop"
    if after.phase is Phase.ERROR and before.phase is not Phase.ERROR:
        return "error"
    return None
