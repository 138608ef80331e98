"""The X side of the real window: a private virtual display (Xvfb) and an X client that
watches it.

    with virtual_display(1920, 1080) as display:   # ":5"
        env = x11_env(display)                     # DISPLAY, SDL_VIDEODRIVER=x11

Xvfb picks a free display number itself and reports it on a pipe once it accepts clients
(``-displayfd``), so there is no polling and no clash with other displays on the machine.

* :func:`server_pid`: the pid of the X server, for its CPU time;
* :class:`XWatcher`: an X client (python-xlib) that finds the appliance's window, counts the
  frames presented into it with the DAMAGE extension (one ``DamageNotify`` per drawing
  request that reaches the window, i.e. per presented frame: ``pygame.display.flip()`` for a
  whole one, ``pygame.display.update(rect)`` for a partial one), and reads its pixels.

The frames are counted by the X server, not by the appliance's own loop: a frame that the
loop drew but never presented does not count.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

SETTLE_S = 1.5
"""A window whose view is built in steps counts as settled after this long without a frame."""
SETTLED_TOLERANCE = 8
"""How far (per colour byte) a pixel may be from the settled view and still count as it."""
SETTLED_DIFFERENT = 0.01
"""The share of pixels that may differ from the settled view (a caret, an antialiased edge)."""


class NoVirtualDisplay(Exception):
    """Xvfb is not installed or did not start."""


def available() -> bool:
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def virtual_display(width: int = 1920, height: int = 1080) -> Iterator[str]:
    """Run Xvfb for the duration; yields the ``DISPLAY`` value (e.g. ``":5"``)."""
    server = shutil.which("Xvfb")
    if server is None:
        raise NoVirtualDisplay("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [
            server,
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as ready:
            number = ready.readline().strip()  # EOF (empty) if Xvfb exits instead
        if not number.isdigit():
            raise NoVirtualDisplay(f"Xvfb did not start (exit status {proc.poll()})")
        yield f":{number}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def x11_env(display: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with SDL drawing on ``display``."""
    env = dict(os.environ if base is None else base)
    env["DISPLAY"] = display
    env["SDL_VIDEODRIVER"] = "x11"
    return env


def server_pid(display: str) -> int:
    """The pid of the X server that listens for ``display`` (":N"): the process holding the
    socket ``/tmp/.X11-unix/XN`` (``Xvfb -displayfd`` writes no lock file to read it from)."""
    suffix = f"/.X11-unix/X{display.lstrip(':').partition('.')[0]}"
    inodes = set()
    with open("/proc/net/unix", encoding="ascii", errors="replace") as table:
        for line in table:
            parts = line.split()
            if len(parts) >= 8 and parts[7].endswith(suffix):
                inodes.add(f"socket:[{parts[6]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return int(pid)
    raise RuntimeError(f"no process serves the X display {display}")


# --- X ---------------------------------------------------------------------------------------


def _xlib() -> Any:
    try:
        import Xlib.display
        import Xlib.error
        import Xlib.ext.damage
    except ImportError:
        raise RuntimeError(
            "python-xlib is missing: it comes with the dev extras (pip install -e '.[dev]')"
        ) from None
    return Xlib


class WindowGone(RuntimeError):
    """The window being watched was destroyed (SDL may replace its first window at once)."""


class XWatcher:
    """An X client on ``display`` that finds a top-level window of a given size and watches it.

    :meth:`find_window` waits for the window to be mapped; :meth:`watch` starts counting the
    frames presented into it (a thread reads the DamageNotify events and keeps their arrival
    times and the server's timestamps); :meth:`frames` returns them; :meth:`coverage` reads
    the window's pixels; :meth:`wait_drawn` waits for the first frame that fills the window.
    """

    def __init__(self, display: str) -> None:
        self._xlib = _xlib()
        from Xlib.display import Display

        self.display_name = display
        self.conn = Display(display)
        if not self.conn.has_extension("DAMAGE"):
            self.conn.close()
            raise RuntimeError(f"the X server on {display} has no DAMAGE extension")
        self.conn.damage_query_version()
        self.root = self.conn.screen().root
        self.window: Any = None
        self._frames: list[tuple[float, int]] = []  # (perf_counter on arrival, server ms)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._events: Any = None
        self._thread: threading.Thread | None = None

    # --- finding the window --------------------------------------------------------------------

    def viewable_windows(self, size: tuple[int, int] | None = None) -> list[Any]:
        """The mapped top-level windows (of ``size`` if given)."""
        from Xlib import X

        found = []
        for window in self.root.query_tree().children:
            try:
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                geometry = window.get_geometry()
            except self._xlib.error.XError:
                continue  # gone meanwhile
            if size is None or (geometry.width, geometry.height) == tuple(size):
                found.append(window)
        return found

    def find_window(
        self,
        size: tuple[int, int],
        timeout: float,
        alive: Callable[[], bool] | None = None,
        poll: float = 0.005,
    ) -> Any:
        """Wait until a window of ``size`` is viewable; gives up early when ``alive()`` is
        false (the process that should make it has exited)."""
        deadline = time.monotonic() + timeout
        while True:
            windows = self.viewable_windows(size)
            if windows:
                self.window = windows[0]
                return self.window
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise RuntimeError(f"no {size[0]}x{size[1]} window appeared on the X display")
            time.sleep(poll)  # polling the X server, not synchronisation

    def follow(
        self, size: tuple[int, int], timeout: float, alive: Callable[[], bool] | None = None
    ) -> tuple[float, float]:
        """Find the window of ``size``, watch it and wait for its first drawn frame; returns
        the ``time.perf_counter`` times it was mapped and drawn. pygame/SDL may map a first
        window and replace it within milliseconds: a window destroyed on the way is dropped
        and the next one followed, so the one that stays is the one that counts."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            try:
                self.find_window(size, left, alive=alive)
                mapped = time.perf_counter()
                self.watch()
                return mapped, self.wait_drawn(timeout=left, alive=alive)
            except WindowGone:
                if time.monotonic() > deadline:
                    raise
                self.unwatch()

    def pixels(self) -> Any:
        """A sparse grid of the window's pixels (every 97th, 3 bytes each, a numpy array);
        raises :class:`WindowGone` if the window no longer exists."""
        import numpy as np
        from Xlib import X

        try:
            geometry = self.window.get_geometry()
            image = self.window.get_image(
                0, 0, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF
            )
        except (self._xlib.error.BadDrawable, self._xlib.error.BadWindow) as exc:
            raise WindowGone(f"window {self.window.id:#x}: {exc}") from None
        data = np.frombuffer(image.data, dtype=np.uint8)
        return data[: geometry.width * geometry.height * 4].reshape(-1, 4)[::97, :3]

    def coverage(self) -> float:
        """Fraction (0..1) of the window's pixels that are not black (a sparse grid of them);
        raises :class:`WindowGone` if the window no longer exists."""
        pixels = self.pixels()
        return float((pixels.max(axis=1) > 16).mean()) if len(pixels) else 0.0

    def follow_settled(
        self,
        size: tuple[int, int],
        timeout: float,
        alive: Callable[[], bool] | None = None,
        settle_s: float = SETTLE_S,
    ) -> tuple[float, float]:
        """Like :meth:`follow`, for a window that paints its view in several steps (a blank
        page first, then the view): its pixels are read on each frame presented until no frame
        has come for ``settle_s``; returns the ``time.perf_counter`` times it was mapped and
        of the first frame that showed what then stayed on screen (all but
        :data:`SETTLED_DIFFERENT` of the pixels within :data:`SETTLED_TOLERANCE` of it)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            try:
                self.find_window(size, left, alive=alive)
                mapped = time.perf_counter()
                self.watch()
                shots = self._until_settled(settle_s, deadline, alive)
                break
            except WindowGone:
                if time.monotonic() > deadline:
                    raise
                self.unwatch()
        final = shots[-1][1].astype(int)
        for arrived, pixels in shots:
            off = (abs(pixels.astype(int) - final).max(axis=1) > SETTLED_TOLERANCE).mean()
            if off <= SETTLED_DIFFERENT:
                return mapped, arrived
        raise AssertionError("unreachable: the last frame matches itself")

    def _until_settled(
        self,
        settle_s: float,
        deadline: float,
        alive: Callable[[], bool] | None,
    ) -> list[tuple[float, Any]]:
        """(arrival of the latest frame, pixels read after it) on each new frame, until the
        window shows something (not all black) and no frame has come for ``settle_s``; before
        the first frame, the time of reading."""
        shots: list[tuple[float, Any]] = []
        read = -1
        quiet_since = time.perf_counter()
        while True:
            with self._changed:
                count = len(self._frames)
                last = self._frames[-1][0] if count else None
            if count != read:
                pixels = self.pixels()
                # drawn before the watch began: seen now (as in wait_drawn)
                shots.append((last if last is not None else time.perf_counter(), pixels))
                read = count
                quiet_since = time.perf_counter()
            elif time.perf_counter() - quiet_since >= settle_s and shots[-1][1].max() > 16:
                return shots
            with self._changed:
                if len(self._frames) == read:
                    self._changed.wait(0.05)
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise RuntimeError("the window never settled on a drawn view")

    def save_png(self, path: str) -> None:
        """The window's pixels as a PNG (for looking at what was measured)."""
        import numpy as np

        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame
        from Xlib import X

        geometry = self.window.get_geometry()
        w, h = geometry.width, geometry.height
        image = self.window.get_image(0, 0, w, h, X.ZPixmap, 0xFFFFFFFF)
        bgrx = np.frombuffer(image.data, dtype=np.uint8)[: w * h * 4].reshape(h, w, 4)
        rgb = np.ascontiguousarray(bgrx[..., 2::-1].swapaxes(0, 1))
        pygame.image.save(pygame.surfarray.make_surface(rgb), path)

    # --- counting frames -----------------------------------------------------------------------

    def watch(self) -> None:
        """Start counting the frames presented into :attr:`window`; raises
        :class:`WindowGone` if it no longer exists."""
        from Xlib.display import Display
        from Xlib.ext import damage

        assert self.window is not None
        self.unwatch()
        # a connection of its own: the events go to the client that made the damage object,
        # and this one is read by the thread alone
        self._events = events = Display(self.display_name)
        errors: list[object] = []
        events.set_error_handler(lambda error, request: errors.append(error))
        events.damage_query_version()
        window = events.create_resource_object("window", self.window.id)
        window.damage_create(damage.DamageReportRawRectangles)
        events.sync()
        if errors:
            self.unwatch()
            raise WindowGone(f"window {self.window.id:#x}: {errors[0]}")
        # the server reports the whole window as damaged when the damage object is made: that
        # is not a frame
        while events.pending_events():
            events.next_event()
        code = events.extension_event.DamageNotify
        self._thread = threading.Thread(
            target=self._read, args=(events, code), name="x-damage", daemon=True
        )
        self._thread.start()

    def unwatch(self) -> None:
        """Stop counting frames and forget those counted."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        self._thread = self._events = None
        self._stop = threading.Event()
        with self._changed:
            self._frames = []

    def _read(self, events: Any, code: int) -> None:
        fd = events.fileno()
        while not self._stop.is_set():
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            try:
                for _ in range(events.pending_events()):
                    event = events.next_event()
                    # one request can damage several rectangles: 0x80 in level means "more
                    # rectangles of this request follow"; count the last one only
                    if event.type == code and not event.level & 0x80:
                        with self._changed:
                            self._frames.append((time.perf_counter(), event.timestamp))
                            self._changed.notify_all()
            except Exception:
                if self._stop.is_set():
                    return
                raise

    def frames(self, start: float, end: float) -> list[tuple[float, int]]:
        """The frames presented in ``[start, end)`` (``time.perf_counter`` on arrival): their
        arrival times and the X server's timestamps (ms)."""
        with self._changed:
            return [f for f in self._frames if start <= f[0] < end]

    def wait_drawn(
        self,
        threshold: float = 0.5,
        timeout: float = 30.0,
        alive: Callable[[], bool] | None = None,
    ) -> float:
        """Wait until more than ``threshold`` of the window is not black; returns the arrival
        time of the frame that made it so (or the time it was seen, if it came before
        :meth:`watch`). The pixels are read on each frame presented, never polled."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = len(self._frames)
                last = self._frames[-1][0] if seen else None
            if self.coverage() > threshold:
                return last if last is not None else time.perf_counter()
            with self._changed:
                if len(self._frames) == seen:
                    self._changed.wait(0.05)
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise RuntimeError("the window was never drawn (still black)")

    def click(self, x: int, y: int) -> None:
        """A real left click at (``x``, ``y``) in :attr:`window`, through the XTEST extension
        (the X server delivers it as a mouse click would be)."""
        from Xlib import X
        from Xlib.ext import xtest

        self.window.warp_pointer(x, y)
        self.conn.sync()
        xtest.fake_input(self.conn, X.ButtonPress, 1)
        xtest.fake_input(self.conn, X.ButtonRelease, 1)
        self.conn.sync()

    def close(self) -> None:
        self.unwatch()
        with contextlib.suppress(Exception):
            self.conn.close()
