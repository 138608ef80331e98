"""Sound devices as PortAudio (PyAudio) sees them: listing, choosing one, a printable table.

A device is chosen by the config's ``audio.input_device`` / ``audio.output_device``: an index,
a case-insensitive name substring (``"USB"``), or nothing for the system default. On a system
with PulseAudio or PipeWire the useful devices are usually ``default`` and ``pulse``; on a bare
Raspberry Pi they are the ALSA cards (``"USB Audio Device: - (hw:1,0)"``).

PortAudio's ALSA and JACK probing prints a lot of harmless chatter on stderr;
:func:`~appliance.audio.quiet.silence_audio_libraries` keeps it off the console (and the journal).

PortAudio takes its device list when it initialises. The running appliance keeps one
initialised PortAudio from session to session and initialises it again when a device fails or
is missing (:mod:`appliance.audio.pyaudio_backend`); ``appliance devices``
(:func:`format_devices`) runs in its own process with its own short-lived instance, so it
always lists what is plugged in now. (Within one process ``Pa_Initialize`` only counts: a new
instance sees a fresh list only when no other is still initialised.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from appliance.audio.backend import AudioError
from appliance.audio.quiet import silence_audio_libraries

if TYPE_CHECKING:
    import pyaudio

    from appliance.config import AudioConfig

Kind = Literal["input", "output"]


@dataclass(frozen=True)
class Device:
    """One PortAudio device."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_rate: int

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def open_portaudio() -> pyaudio.PyAudio:
    """Initialise PortAudio quietly (the caller terminates it). Raises :class:`AudioError` if
    PyAudio is missing or PortAudio cannot initialise."""
    try:
        import pyaudio
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise AudioError(
            "PyAudio is not installed (pip install pyaudio; it needs portaudio19-dev)"
        ) from exc
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    silence_audio_libraries()
    try:
        return pyaudio.PyAudio()
    except OSError as exc:
        raise AudioError(f"cannot initialise PortAudio: {exc}") from exc


def list_devices(pa: pyaudio.PyAudio) -> list[Device]:
    """All devices PortAudio knows, in index order."""
    devices = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        devices.append(_device(pa, info))
    return devices


def _device(pa: pyaudio.PyAudio, info: dict[str, Any]) -> Device:
    try:
        host_api = str(pa.get_host_api_info_by_index(int(info["hostApi"]))["name"])
    except (OSError, KeyError, ValueError):
        host_api = "?"
    return Device(
        index=int(info["index"]),
        name=str(info["name"]),
        host_api=host_api,
        max_input_channels=int(info["maxInputChannels"]),
        max_output_channels=int(info["maxOutputChannels"]),
        default_rate=round(float(info["defaultSampleRate"])),
    )


def default_index(pa: pyaudio.PyAudio, kind: Kind) -> int | None:
    """The system default device's index for ``kind``, or None if there is none."""
    try:
        info = (
            pa.get_default_input_device_info()
            if kind == "input"
            else pa.get_default_output_device_info()
        )
    except OSError:
        return None
    return int(info["index"])


def pick(
    devices: list[Device], wanted: str | int | None, kind: Kind, default: int | None = None
) -> Device:
    """Choose the ``kind`` device named by ``wanted`` (index, name substring or None).

    Raises :class:`AudioError` naming what was asked for and what is available.
    """
    usable = [d for d in devices if d.channels(kind) > 0]
    available = ", ".join(f"{d.index}: {d.name}" for d in usable) or "none"
    if isinstance(wanted, str) and wanted.strip().isdigit():
        wanted = int(wanted.strip())
    if wanted is None or wanted == "":
        for d in usable:
            if d.index == default:
                return d
        if usable:
            return usable[0]
        raise AudioError(f"no {kind} device found (is a sound card or sound server present?)")
    if isinstance(wanted, int):
        for d in devices:
            if d.index == wanted:
                if d.channels(kind) <= 0:
                    raise AudioError(
                        f"device {wanted} ({d.name!r}) has no {kind} channels "
                        f"(available {kind} devices: {available})"
                    )
                return d
        raise AudioError(f"no {kind} device with index {wanted} (available: {available})")
    needle = wanted.casefold()
    exact = [d for d in usable if d.name.casefold() == needle]
    matches = exact or [d for d in usable if needle in d.name.casefold()]
    if not matches:
        raise AudioError(f"no {kind} device matching {wanted!r} (available: {available})")
    return matches[0]


def choose(pa: pyaudio.PyAudio, wanted: str | int | None, kind: Kind) -> Device:
    """Pick the configured ``kind`` device on an open PortAudio instance."""
    return pick(list_devices(pa), wanted, kind, default_index(pa, kind))


def format_table(
    devices: list[Device], chosen_input: Device | None, chosen_output: Device | None
) -> str:
    """A fixed-width table of ``devices``; the chosen ones are marked in the last column."""
    header = ("index", "name", "api", "in", "out", "rate", "chosen")
    rows = []
    for d in devices:
        marks = []
        if chosen_input is not None and d.index == chosen_input.index:
            marks.append("input")
        if chosen_output is not None and d.index == chosen_output.index:
            marks.append("output")
        rows.append(
            (
                str(d.index),
                d.name,
                d.host_api,
                str(d.max_input_channels),
                str(d.max_output_channels),
                str(d.default_rate),
                ", ".join(marks),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def format_devices(config: AudioConfig) -> str:
    """Printable table of the sound devices with the configured input and output marked.

    A configured device that cannot be found is reported below the table instead of raising.
    """
    try:
        pa = open_portaudio()
    except AudioError as exc:
        return f"error: {exc}"
    try:
        devices = list_devices(pa)
        problems = []
        chosen: dict[Kind, Device | None] = {}
        for kind, wanted in (("input", config.input_device), ("output", config.output_device)):
            try:
                chosen[kind] = pick(devices, wanted, kind, default_index(pa, kind))
            except AudioError as exc:
                chosen[kind] = None
                problems.append(f"{kind}: {exc}")
    finally:
        pa.terminate()
    if not devices:
        return "no sound devices found"
    text = format_table(devices, chosen["input"], chosen["output"])
    if problems:
        text += "\n\n" + "\n".join(problems)
    return text
