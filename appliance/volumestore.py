"""Where a volume changed on the device is kept when the configuration file cannot be written.

Under the shipped systemd unit the service cannot write ``/etc/appliance`` (``ProtectSystem=
strict``; the directory is root's). The volume set with ``appliance volume`` or the volume
buttons is then kept in :data:`FILE_NAME` in the state directory
(:func:`appliance.realtime.refusals.state_dir`: ``/var/lib/appliance`` under the unit), with
the configuration's ``audio.volume`` it overrides:

    {"version": 1, "volume": 30, "config_volume": 100}

The last change wins (:func:`choose`): at a start or a reload, while the configuration still
says ``config_volume`` the saved volume is used; once the owner has changed ``audio.volume``
(``sudo appliance config set audio.volume 50``) the configuration wins and the entry is
dropped. The file is written atomically, mode 0600, and read bounded; one that is missing,
corrupt, too big, a symbolic link or not a regular file is ignored (with one warning naming it).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance import files
from appliance.audio.volume import MAX_VOLUME, MIN_VOLUME

log = logging.getLogger("appliance.volume")

FILE_NAME = "volume.json"
"""The file's name in the state directory."""
MAX_FILE_BYTES = 4096
"""A larger file is not read: it is not one this module wrote."""
VERSION = 1


@dataclass(frozen=True)
class Kept:
    """A saved volume and the configuration's ``audio.volume`` it overrides."""

    volume: int
    config_volume: int


def choose(config_volume: int, kept: Kept | None) -> tuple[int, bool]:
    """The volume to play, given the configuration's ``config_volume`` and what was ``kept``,
    and whether the kept entry still holds (False: it is stale, or there is none).

    The last change wins: a kept volume applies while the configuration still says the value it
    overrode; a configuration changed since then wins."""
    if kept is not None and kept.config_volume == config_volume:
        return kept.volume, True
    return config_volume, False


def config_writable(config_path: Path) -> bool:
    """Whether a new configuration file can be put in ``config_path``'s directory (an atomic
    edit renames a file there). A read-only mount counts as not writable."""
    return os.access(config_path.parent, os.W_OK)


class VolumeFile:
    """The volume file at :attr:`path`. ``warn`` gets each problem with it, once per process."""

    def __init__(self, path: Path, warn: Callable[[str], None] = log.warning) -> None:
        self.path = path
        self._warn = warn
        self._warned: set[str] = set()

    def read(self) -> Kept | None:
        """The entry in the file; None when it is missing or unusable (said once)."""
        try:
            raw = files.read_small(self.path, MAX_FILE_BYTES, "the volume file", follow_links=False)
        except (FileNotFoundError, NotADirectoryError):
            return None  # nothing changed on the device yet
        except files.FileRefused as exc:
            self._say("refused", f"{exc}; it is ignored (the configuration's volume is used)")
            return None
        except OSError as exc:
            return self._ignore(exc.strerror or str(exc))
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return self._ignore("not JSON")
        if not isinstance(data, dict):
            return self._ignore("not a JSON object")
        volume, config_volume = data.get("volume"), data.get("config_volume")
        if not (_percent(volume) and _percent(config_volume)):
            return self._ignore('no "volume" and "config_volume" from 0 to 100')
        return Kept(int(volume), int(config_volume))  # type: ignore[arg-type]

    def write(self, kept: Kept) -> bool:
        """Save ``kept``, whole or not at all; False (said once) when it cannot be written."""
        text = json.dumps(
            {"version": VERSION, "volume": kept.volume, "config_volume": kept.config_volume}
        )
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            files.write_atomic(self.path, (text + "\n").encode("utf-8"), mode=0o600)
        except OSError as exc:
            self._say(
                "write",
                f"volume {kept.volume} % is not kept across restarts: cannot write {self.path} "
                f"({exc.strerror or exc}); it plays as set until then (make the state "
                "directory writable)",
            )
            return False
        return True

    def drop(self) -> None:
        """Remove the entry (the configuration has been changed since). Never raises."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._say("drop", f"cannot remove {self.path} ({exc.strerror or exc})")

    def _ignore(self, why: str) -> None:
        self._say(
            f"read:{why}",
            f"{self.path}: {why}; it is ignored (the configuration's volume is used, and the "
            "next change on the device rewrites it)",
        )

    def _say(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warn(message)


def _percent(value: object) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and MIN_VOLUME <= value <= MAX_VOLUME
    )
