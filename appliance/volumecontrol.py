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
    """The live volume's commands (call them on the worker's loop)."""

    def __init__(self, volume: Volume, hub: Hub, config_path: Path | None) -> None:
        self.volume = volume
        self.hub = hub
        self.path = config_file(config_path)
        self.saved = volume.percent
        """The value the configuration file holds (as far as this process wrote or read it)."""
        self._saving: asyncio.Task[None] | None = None
        self._said_unsaved = False

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
        """The configuration file was read again and says ``percent``: use it (not saved
        again: the file holds it already)."""
        self.saved = percent
        if percent != self.volume.percent:
            self.set(percent, save=False)

    def _save_soon(self) -> None:
        if self.path is None:
            if not self._said_unsaved:
                self._said_unsaved = True
                log.info("volume not kept across restarts: the appliance runs without a file")
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
            if not await asyncio.to_thread(self._write, self.path, value):
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
