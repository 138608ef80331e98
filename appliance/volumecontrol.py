"""Changing the output volume while the appliance runs, and keeping it across restarts.

``appliance volume [N|+N|-N]`` (the control socket) and the volume buttons or encoder
(:mod:`appliance.gpio`, through :meth:`~appliance.hub.Hub.adjust_volume`) end up in
:meth:`VolumeControl.change`, on the worker's loop. The new value is heard at once (the gain of
:class:`~appliance.audio.volume.Volume`, ramped over one block), shown on the screen as a bar
for 2 s (:meth:`~appliance.hub.Hub.show_volume`), and saved as ``audio.volume`` in the
configuration file by the same atomic, comment-keeping edit as ``appliance config set``
(:func:`appliance.config.edit.set_value`), on a thread, :data:`SAVE_DELAY_S` after the last
change (an encoder turned through ten detents writes the file once). A write that fails is
logged with its cause; the live volume stays as it is.

When the configuration file's directory is not writable (the systemd unit: ``/etc/appliance``
is root's and the file system read-only for the service), the volume is kept in the state
directory instead (:mod:`appliance.volumestore`), and the last change wins: a configuration
whose ``audio.volume`` was changed since overrides it. The log says at start where it is kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from appliance.audio.volume import Volume, parse_change
from appliance.config import DEFAULT_CONFIG_PATH
from appliance.hub import Hub
from appliance.realtime.refusals import state_dir
from appliance.volumestore import FILE_NAME, Kept, VolumeFile, choose, config_writable

log = logging.getLogger("appliance.volume")

SAVE_DELAY_S = 1.0
"""How long after the last change the volume is written to the configuration file."""


def config_file(config_path: Path | None) -> Path | None:
    """The file the volume is saved to: the one the appliance was started with (``--config``,
    ``$APPLIANCE_CONFIG``), else the default one if it exists; None when there is none."""
    if config_path is not None:
        return Path(config_path)
    if os.environ.get("APPLIANCE_CONFIG"):
        return Path(os.environ["APPLIANCE_CONFIG"])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


class VolumeControl:
    """The live volume's commands (call them on the worker's loop).

    ``config_volume`` is the configuration's ``audio.volume``; the volume played from the start
    is that, or the one kept in the state directory if it still applies
    (:func:`~appliance.volumestore.choose`)."""

    def __init__(self, config_volume: int, hub: Hub, config_path: Path | None) -> None:
        self.hub = hub
        self.path = config_file(config_path)
        self.config_volume = config_volume
        """The configuration's ``audio.volume`` as last read (at start or reload)."""
        self.store: VolumeFile | None = None
        """The state directory's volume file, when the configuration cannot be written."""
        percent = config_volume
        if self.path is None:
            log.info("volume changes are not kept across restarts: no configuration file")
        elif config_writable(self.path):
            log.info("volume changes are kept in %s (audio.volume)", self.path)
        elif (folder := state_dir()) is None:
            log.warning(
                "volume changes are not kept across restarts: %s is not writable and there "
                "is no state directory (set STATE_DIRECTORY)",
                self.path.parent,
            )
            self.path = None
        else:
            self.store = VolumeFile(folder / FILE_NAME)
            percent = self._from_store(config_volume)
            log.info(
                "volume changes are kept in %s (%s is not writable); a change of audio.volume "
                "in the configuration overrides them",
                self.store.path,
                self.path.parent,
            )
        self.volume = Volume(percent)
        self.saved = percent
        """The value kept across restarts (as far as this process wrote or read it)."""
        self._saving: asyncio.Task[None] | None = None

    @property
    def percent(self) -> int:
        return self.volume.percent

    def change(self, text: str | int | None) -> dict[str, Any]:
        """``N`` sets the volume, ``+N``/``-N`` move it, None only tells it. The reply is the
        control socket's: ``{"ok": true, "volume": N}`` or ``{"ok": false, "error": ...}``."""
        if text is None:
            return {"ok": True, "volume": self.percent}
        try:
            new = parse_change(text, self.percent)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        self.set(new)
        return {"ok": True, "volume": new}

    def set(self, percent: int, *, save: bool = True) -> None:
        """Play at ``percent`` from now on, show it, and (``save``) write it to the file."""
        if percent != self.volume.percent:
            log.info("volume %d %%", percent)
        self.volume.percent = percent
        self.hub.show_volume(self.volume.percent)
        if save:
            self._save_soon()

    def reloaded(self, percent: int) -> None:
        """The configuration file was read again and says a new ``percent``: use it (not saved
        again: the file holds it already), unless the state directory's volume still applies."""
        self.config_volume = percent
        if self.store is not None:
            percent = self._from_store(percent)
        self.saved = percent
        if percent != self.volume.percent:
            self.set(percent, save=False)

    def _from_store(self, config_volume: int) -> int:
        """The volume the rule gives (:func:`choose`); a stale entry is dropped."""
        assert self.store is not None
        percent, holds = choose(config_volume, kept := self.store.read())
        if kept is not None and not holds:
            log.info(
                "volume %d %%: audio.volume in the configuration was changed since the volume "
                "was set on the device (%d %%)",
                config_volume,
                kept.volume,
            )
            self.store.drop()
        return percent

    def _save_soon(self) -> None:
        if self.path is None:
            return
        if self._saving is None or self._saving.done():
            self._saving = asyncio.get_running_loop().create_task(self._save_later())

    async def _save_later(self) -> None:
        await asyncio.sleep(SAVE_DELAY_S)
        await self.flush()

    async def flush(self) -> None:
        """Write the volume now if the file does not hold it yet (also at shutdown)."""
        while self.path is not None and self.saved != self.volume.percent:
            value = self.volume.percent
            if self.store is not None:
                kept = Kept(value, self.config_volume)
                if not await asyncio.to_thread(self.store.write, kept):
                    return
            elif not await asyncio.to_thread(self._write, self.path, value):
                return
            self.saved = value

    @staticmethod
    def _write(path: Path, value: int) -> bool:
        from appliance.config.edit import set_value

        try:
            set_value(path, "audio.volume", str(value))
        except Exception as exc:  # ConfigError, or a bug: neither loses the live volume
            log.error(
                "volume %d %% is not kept across restarts: %s; it plays as set until then "
                "(to keep it: sudo appliance config set audio.volume %d)",
                value,
                exc,
                value,
            )
            return False
        return True

    async def aclose(self) -> None:
        """Write what is pending (the appliance is stopping)."""
        if self._saving is not None and not self._saving.done():
            self._saving.cancel()
        await self.flush()
