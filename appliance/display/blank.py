"""How the screen is dimmed and turned dark: a backlight, X's DPMS, or by drawing.

:func:`choose` picks, for ``display.backlight`` and the SDL video driver:

* :class:`Backlight`: a sysfs backlight (``/sys/class/backlight/*/brightness``, the official
  Raspberry Pi touch displays and most panels with a backlight driver). Dim writes a fifth of
  the brightness it found, dark writes 0; waking, and the appliance's exit, write back what was
  there before (or ``max_brightness`` if that was 0). ``display.backlight = "auto"`` takes the
  first directory of ``/sys/class/backlight``, a path takes that directory, ``"off"`` none.
* :class:`Dpms`: on X (SDL's ``x11`` driver), the X server's DPMS extension forces the monitor
  off, and on again at wake and at exit (libXext through ctypes: no X tools needed). DPMS
  cannot dim: the dim step is drawn.
* Neither: :attr:`Blanker.dims` and :attr:`Blanker.darkens` are False and the display loop
  draws the dim frame (the screen under a dark veil) and the dark one (black), once.

A backend that fails (a read-only ``/sys``, an X server that refuses) logs one warning and is
dropped: the loop draws instead, so the screen still goes dark.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

from appliance.display.sleep import Power

log = logging.getLogger(__name__)

BACKLIGHT_ROOT = Path("/sys/class/backlight")
DIM_FRACTION = 0.2
"""The dim step's brightness: this fraction of the brightness the screen had."""


class Blanker:
    """Drawing only: the display loop dims and darkens the frame itself."""

    name = "drawing"
    dims = False
    """Whether :meth:`set` dims the screen itself (else the loop draws the dim frame)."""
    darkens = False
    """Whether :meth:`set` turns the screen dark itself (else the loop draws black)."""

    def set(self, power: Power) -> None:
        """Show ``power``: on, dim or dark."""

    def close(self) -> None:
        """Leave the screen on, as it was found."""


class Backlight(Blanker):
    """A sysfs backlight directory: ``brightness`` (written) and ``max_brightness``."""

    dims = True
    darkens = True

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.name = f"backlight {self.directory}"
        self.maximum = int((self.directory / "max_brightness").read_text().strip())
        found = int((self.directory / "brightness").read_text().strip())
        self.on_level = found if found > 0 else self.maximum
        """What waking writes back: the brightness found at start (max if it was 0)."""
        self._level: int | None = None
        self._write(self.on_level)  # fails now, at start, if it is not writable

    def level(self, power: Power) -> int:
        if power is Power.DARK:
            return 0
        if power is Power.DIM:
            return max(1, round(self.on_level * DIM_FRACTION))
        return self.on_level

    def set(self, power: Power) -> None:
        self._write(self.level(power))

    def close(self) -> None:
        self._write(self.on_level)

    def _write(self, level: int) -> None:
        if level != self._level:
            (self.directory / "brightness").write_text(f"{level}\n")
            self._level = level


def find_backlight(setting: str, root: Path = BACKLIGHT_ROOT) -> Path | None:
    """The backlight directory ``display.backlight`` names: ``"auto"``, the first one under
    ``root`` (sorted by name); ``"off"``, none; else the path given."""
    if setting == "off":
        return None
    if setting != "auto":
        return Path(setting)
    with contextlib.suppress(OSError):
        for entry in sorted(root.iterdir()):
            if (entry / "brightness").exists() and (entry / "max_brightness").exists():
                return entry
    return None


# --- X DPMS -----------------------------------------------------------------------------------

DPMS_ON = 0
DPMS_OFF = 3


class Dpms(Blanker):
    """The X server's DPMS extension on ``display`` (``$DISPLAY`` by default), via libXext.

    DPMS is enabled for the time the appliance runs if it was not (forcing a level needs it),
    and left as it was at exit."""

    darkens = True

    def __init__(self, display: str | None = None) -> None:
        x11 = _library("X11")
        xext = _library("Xext")
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x11.XFlush.argtypes = [ctypes.c_void_p]
        for name in ("DPMSCapable", "DPMSEnable", "DPMSDisable"):
            getattr(xext, name).argtypes = [ctypes.c_void_p]
        xext.DPMSForceLevel.argtypes = [ctypes.c_void_p, ctypes.c_ushort]
        xext.DPMSInfo.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_ushort),
            ctypes.POINTER(ctypes.c_ubyte),
        ]
        self._x11, self._xext = x11, xext
        where = display or os.environ.get("DISPLAY", "")
        self._display = x11.XOpenDisplay(where.encode() if where else None)
        if not self._display:
            raise OSError(f"cannot open the X display {where!r}")
        x11.XQueryExtension.argtypes = [ctypes.c_void_p, ctypes.c_char_p, *[ctypes.c_void_p] * 3]
        codes = [ctypes.c_int() for _ in range(3)]
        present = x11.XQueryExtension(self._display, b"DPMS", *map(ctypes.byref, codes))
        if not present or not xext.DPMSCapable(self._display):
            x11.XCloseDisplay(self._display)
            self._display = None
            raise OSError(f"the X server on {where!r} has no DPMS")
        self.name = f"DPMS on X {where}"
        self._was_enabled = self.info()[1]
        self._forced = False

    def info(self) -> tuple[int, bool]:
        """(power level, DPMS enabled): level 0 is on, 3 off."""
        level = ctypes.c_ushort()
        state = ctypes.c_ubyte()
        self._xext.DPMSInfo(self._display, ctypes.byref(level), ctypes.byref(state))
        return level.value, bool(state.value)

    def set(self, power: Power) -> None:
        if power is Power.DARK:
            if not self.info()[1]:
                self._xext.DPMSEnable(self._display)
            self._xext.DPMSForceLevel(self._display, DPMS_OFF)
            self._forced = True
        elif self._forced:
            self._xext.DPMSForceLevel(self._display, DPMS_ON)
            self._forced = False
        self._x11.XFlush(self._display)

    def close(self) -> None:
        if self._display is None:
            return
        with contextlib.suppress(Exception):
            self.set(Power.ON)
            if not self._was_enabled and self.info()[1]:
                self._xext.DPMSDisable(self._display)
            self._x11.XFlush(self._display)
        self._x11.XCloseDisplay(self._display)
        self._display = None


def _library(name: str) -> ctypes.CDLL:
    path = ctypes.util.find_library(name) or f"lib{name}.so.6"
    return ctypes.CDLL(path)


# --- choosing -------------------------------------------------------------------------------


def choose(setting: str, driver: str | None, root: Path = BACKLIGHT_ROOT) -> Blanker:
    """The backend for ``display.backlight`` (``setting``) and SDL's video ``driver``: a
    backlight if there is one, else DPMS on X, else drawing. Never raises: a backend that
    cannot be used is logged (a warning when it was named in the config) and skipped."""
    directory = find_backlight(setting, root)
    if directory is not None:
        try:
            return Backlight(directory)
        except (OSError, ValueError) as exc:
            log.warning(
                "display: cannot use the backlight %s (%s); the screen sleeps another way "
                "(display.backlight)",
                directory,
                exc,
            )
    if driver == "x11":
        try:
            return Dpms()
        except OSError as exc:
            log.info("display: no DPMS (%s); the screen sleeps by drawing black", exc)
    return Blanker()
