"""The screen's main-thread loop: window, touch and mouse, snapshots, frame pacing.

:func:`run_display` owns the main thread (SDL wants it) until ``hub.stopping`` is set.

* ``display.mode = "fullscreen"`` (default): SDL picks the video driver (KMSDRM on a Pi without
  a desktop, X11 or Wayland where they run); ``SDL_VIDEODRIVER`` overrides the choice. The
  mouse cursor is hidden.
* ``"window"``: a resizable window of ``display.size`` (default 800x480). Escape or ``q``
  quits (sets ``hub.stopping``), as does closing the window; space presses the toggle and
  ``m`` the microphone.
* ``"none"``: no window. A frame is drawn off-screen only when a snapshot is asked for.

When the display cannot be opened (no screen, no permission on ``/dev/dri``), one warning with
the cause is logged and the loop goes on as ``"none"``: the appliance keeps running headless.

The first frame shows the default avatar: ``avatar.src`` is read, checked and decoded by
:class:`~appliance.display.images.AvatarLoader` on a thread of its own, which wakes the loop
when it is done; the loop then shows the image (the next frame is drawn whole). A source that
is slow, blocks, or is refused never delays the screen, the control socket or a stop.

A click or a touch on the toggle posts :class:`~appliance.state.Toggle`, on the microphone
:class:`~appliance.state.Mute`. Presses act on touch-down (mouse events that SDL synthesises
from touches are ignored, so one touch is one press).

The loop sleeps in :meth:`~appliance.hub.Hub.wait_for_change` while nothing moves (it wakes
every 50 ms to read input events when there is a window, once a second otherwise) and draws
at ``display.fps`` while the avatar moves or the connection spinner turns.

Sleeping (:mod:`appliance.display.sleep`, :mod:`appliance.display.blank`): after
``display.sleep_after_s`` of idle the screen dims, ``display.dim_s`` later it goes dark
(a backlight, X DPMS, or a black frame drawn once). While dark nothing is drawn and the loop
wakes only every :data:`DARK_POLL_S` to read input events. A change of state, an input posted
to the hub (:meth:`~appliance.hub.Hub.activity`) or a touch wakes it; the touch that wakes it
presses nothing.

Drawing: a frame is drawn only when something visible changed (the view, the captions, the
avatar's size, the pointer's hover/press, the spinner's step, the window's size), so an idle
screen draws nothing. Only what changed is repainted
(:meth:`~appliance.display.screen.Screen.redraw`): while the avatar follows the voice, the union
of its old and new rectangles; a button whose hover or press look changed; the spinner and the
ripple while connecting; the captions' box when their words changed. Those frames are presented with
``pygame.display.update(rect)`` (one rectangle, the union of what was repainted: SDL sends one
image per rectangle to an X server, and a single one keeps the bench's frame count right);
another view, a resize, the setup screen or a window exposed again are drawn whole and presented
with ``flip()``. With the avatar moving, a frame repaints and presents 4 to 15 % of the window
(its size at rest to its largest; about 6 % on average while speaking), and a frame in which
only the meter's value changed but not the avatar's size in pixels is not drawn at all. The
scaled avatar images are kept per height (``Screen._avatar``, an LRU), so a size seen before
costs a blit. Measured by ``scripts/bench --only display`` at 1280x720 (Xvfb, two runs): the
appliance's CPU while speaking went from 8.3-8.5 to 7.1-7.5 % of a core at 30 fps and from
9.8-10.6 to 6.6-7.4 % at 60 fps, Xvfb's from 1.3 to 0.1-0.4 % at 60 fps; most of what remains is
audio and the session. ``frames`` counts the frames drawn and presented; a snapshot is the
window's content, which is always what a full frame of that state would be.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import time
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# Leave SIGINT/SIGTERM to the application (SDL would turn them into a QUIT event).
os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")

import pygame

from appliance.config import AppConfig
from appliance.display import blank, images, volumebar
from appliance.display.screen import Screen, Target
from appliance.display.sleep import Power, SleepTimer
from appliance.hub import Hub
from appliance.labels import Labels
from appliance.state import Mute, Phase, Toggle, View

log = logging.getLogger(__name__)

DEFAULT_WINDOW = (800, 480)
INPUT_POLL_S = 0.05  # how often an idle window reads its input events
HEADLESS_POLL_S = 1.0
DARK_POLL_S = 0.25  # how often a dark screen reads its input events (a touch wakes it)
DIM_SHADE = 170  # the drawn dim step: black at this opacity (0-255) over the frame
STALE_METER_S = 0.5  # a meter unchanged this long while nothing speaks counts as silent
SMOOTHING_S = 0.045  # time constant of the display's light smoothing of the avatar scale


class ScaleSmoother:
    """Light exponential smoothing of the avatar scale for display (pure)."""

    def __init__(self, tau: float = SMOOTHING_S) -> None:
        self.tau = tau
        self.value = 1.0

    def step(self, target: float, dt: float) -> float:
        if self.tau <= 0 or dt <= 0:
            self.value = target
        else:
            self.value += (target - self.value) * (1.0 - math.exp(-dt / self.tau))
        if abs(self.value - target) < 0.004:
            self.value = target
        return self.value


def open_display(config: AppConfig) -> pygame.Surface | None:
    """Open the window or full screen for ``config.display``; ``None`` to run headless."""
    mode = config.display.mode
    if mode == "none":
        return None
    try:
        pygame.display.init()
        driver = pygame.display.get_driver()
        if driver in ("offscreen", "dummy") and not os.environ.get("SDL_VIDEODRIVER"):
            # SDL found no real display and fell back to drawing into memory.
            raise pygame.error(f"no display found (SDL fell back to its {driver} driver)")
        # no software OpenGL where SDL can present another way (see display/renderer.py)
        from appliance.display import renderer

        why = renderer.choose(driver)
        if mode == "fullscreen":
            size = tuple(config.display.size) if config.display.size else (0, 0)
            surface = pygame.display.set_mode(size, pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            size = tuple(config.display.size) if config.display.size else DEFAULT_WINDOW
            surface = pygame.display.set_mode(size, pygame.RESIZABLE)
            pygame.display.set_caption(Labels.of(config.display)["window_title"])
    except pygame.error as exc:
        driver = os.environ.get("SDL_VIDEODRIVER") or "auto"
        log.warning(
            "display: cannot open the %s display (SDL video driver %s): %s; running without a "
            'screen (set display.mode = "none" to silence this)',
            mode,
            driver,
            exc,
        )
        pygame.display.quit()
        return None
    presenter, software_gl = renderer.describe()
    log.info(
        "display: %s %dx%d on SDL driver %s; renderer: %s (%s)",
        mode,
        *surface.get_size(),
        pygame.display.get_driver(),
        presenter,
        why,
    )
    if software_gl:
        log.warning(
            "display: OpenGL is software here (%s): it costs CPU and memory; with X11, "
            "SDL_FRAMEBUFFER_ACCELERATION=0 avoids it",
            presenter,
        )
    return surface


class DisplayLoop:
    """The loop behind :func:`run_display`, in steps that tests and the bench can drive."""

    def __init__(self, hub: Hub, config: AppConfig) -> None:
        self.hub = hub
        self.config = config
        self.window = open_display(config)
        if self.window is not None:
            size = self.window.get_size()
        else:
            size = tuple(config.display.size) if config.display.size else DEFAULT_WINDOW
        # the default avatar first: avatar.src is read and decoded on a thread of its own
        self.screen = Screen(config, size, avatar=images.default_avatar())
        src = config.realtime.avatar.src
        self.avatar_loader = images.AvatarLoader(src, hub.wake) if src else None
        self.smoother = ScaleSmoother()
        self.damaged: list[pygame.Rect] | None = None
        """What the last frame drawn repainted: None for the whole screen."""
        self.version = -1
        self._drawn: tuple | None = None
        self._last = time.monotonic()
        self._start = self._last
        self._frame_ready = False
        self._meter_value = 1.0
        self._meter_changed = self._last
        self._due_at: float | None = None  # when the next frame is due, while animating
        self.sleep = SleepTimer(
            config.display.sleep_after_s, self._last, dark_after_dim_s=config.display.dim_s
        )
        self.power = Power.ON
        self.blanker: blank.Blanker | None = None
        if self.window is not None:
            # a window on a desktop leaves the monitor and its backlight alone: it draws
            fullscreen = config.display.mode == "fullscreen"
            driver = pygame.display.get_driver()
            backlight = str(config.display.backlight)
            self.blanker = blank.choose(backlight, driver) if fullscreen else blank.Blanker()
            log.info(
                "display: sleeps after %s s of idle through %s",
                config.display.sleep_after_s or "never",
                self.blanker.name,
            )
        self._seen: tuple[View, int] | None = None  # the view and activity count last seen

    @property
    def frames(self) -> int:
        """Frames drawn (and presented, with a window): the hub's count, which ``status``
        reports."""
        return self.hub.display_stats.frames

    @property
    def headless(self) -> bool:
        return self.window is None

    # --- input ---------------------------------------------------------------------------------

    def press(self, target: Target | None) -> None:
        if target == "toggle":
            self.hub.post(Toggle())
        elif target == "microphone":
            self.hub.post(Mute())

    def handle_events(self) -> None:
        """Read pygame's event queue: touches, clicks, keys, resizes, quit. The first touch,
        click or key on a sleeping screen only wakes it (see :mod:`appliance.display.sleep`)."""
        if self.window is None:
            return
        window_mode = self.config.display.mode == "window"
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                if window_mode:
                    self.hub.stopping.set()
            elif event.type == pygame.MOUSEBUTTONDOWN:
                if getattr(event, "touch", False) or event.button != 1:
                    continue
                if self.sleep.touch(time.monotonic()):
                    self.screen.pointer, self.screen.pressed = event.pos, True
                    self.press(self.screen.hit_test(event.pos))
            elif event.type == pygame.MOUSEBUTTONUP:
                if not getattr(event, "touch", False):
                    self.screen.pressed = False
            elif event.type == pygame.MOUSEMOTION:
                if not getattr(event, "touch", False):
                    if self.power is Power.ON:  # keeps it awake; only a click wakes it
                        self.sleep.activity(time.monotonic())
                    self.screen.pointer = event.pos
            elif event.type == pygame.FINGERDOWN:
                w, h = self.screen.size
                pos = (event.x * w, event.y * h)
                if self.sleep.touch(time.monotonic()):
                    self.press(self.screen.hit_test(pos))
            elif event.type == pygame.KEYDOWN:
                if window_mode and event.key in (pygame.K_ESCAPE, pygame.K_q):
                    self.hub.stopping.set()
                elif not self.sleep.touch(time.monotonic()):
                    continue  # the key only woke the screen
                elif event.key == pygame.K_SPACE:
                    self.press("toggle")
                elif event.key == pygame.K_m:
                    self.press("microphone")
            elif event.type == pygame.WINDOWSIZECHANGED and window_mode:
                self._resize((event.x, event.y))
            elif event.type == pygame.WINDOWLEAVE:
                self.screen.pointer, self.screen.pressed = None, False
            elif event.type == pygame.WINDOWEXPOSED:
                # the window's content may be lost: the next frame is drawn whole
                self.screen.invalidate()
                self._drawn = None

    def _resize(self, size: tuple[int, int]) -> None:
        if size == self.screen.size or min(size) < 64:
            return
        self.window = pygame.display.get_surface()
        self.screen = Screen(
            self.config, size, warnings=self.screen.warnings, avatar=self.screen.avatar_source
        )
        self._drawn = None

    def take_avatar(self) -> bool:
        """Show ``avatar.src`` once its loader has it (the next frame is drawn whole);
        whether it changed the avatar."""
        loader = self.avatar_loader
        if loader is None or not loader.done.is_set():
            return False
        self.avatar_loader = None
        image = loader.take()
        if image is None:  # refused or failed: the loader said why; the default stays
            return False
        self.screen.set_avatar(image)
        self._drawn = None
        return True

    # --- sleeping ------------------------------------------------------------------------------

    def follow_sleep(self, view: View, now: float) -> None:
        """Wake on a change of state or reported activity, keep awake during a session, and
        dim or darken the screen once it has been idle long enough."""
        seen = (view, self.hub.activities)
        if seen != self._seen:
            self._seen = seen
            self.sleep.activity(now)
        self.sleep.busy(view.phase in (Phase.CONNECTING, Phase.LIVE), now)
        power = self.sleep.power(now)
        if power is not self.power and self.window is not None:
            self._set_power(power)

    def _set_power(self, power: Power) -> None:
        blanker = self.blanker or blank.Blanker()
        try:
            blanker.set(power)
        except OSError as exc:
            log.warning("display: %s failed (%s); the screen sleeps by drawing", blanker.name, exc)
            with contextlib.suppress(Exception):
                blanker.close()
            self.blanker = blanker = blank.Blanker()
        log.info("display: screen %s", power.value)
        self.power = power
        self.hub.display_stats.power = power.value
        self.screen.invalidate()  # the next frame is drawn whole (under the veil, if dim)
        self._drawn = None
        if power is Power.DARK and not blanker.darkens:
            assert self.window is not None
            self.window.fill((0, 0, 0))  # black, once: nothing is drawn while dark
            pygame.display.flip()

    @property
    def shade(self) -> int:
        """The opacity of the black veil over the frame (the drawn dim step), or 0."""
        drawn_dim = self.power is Power.DIM and not (self.blanker and self.blanker.dims)
        return DIM_SHADE if drawn_dim else 0

    # --- drawing -------------------------------------------------------------------------------

    def target_scale(self, view: View, now: float) -> float:
        """The meter's scale, or 1 once it has stopped changing while nothing is speaking
        (a meter that is no longer fed keeps its last value), and always 1 outside a session:
        no voice plays then (Deep Chat's analyser hears silence), whatever the meter last
        said."""
        if view.phase is not Phase.LIVE:
            return 1.0
        scale = float(self.hub.analyser.scale)
        if scale != self._meter_value:
            self._meter_value, self._meter_changed = scale, now
        if not view.speaking and now - self._meter_changed > STALE_METER_S:
            return 1.0
        return scale

    def animating(self, view: View) -> bool:
        """Whether frames must keep coming: the avatar moves or the spinner turns."""
        return (
            self.target_scale(view, time.monotonic()) != 1.0
            or self.smoother.value != 1.0
            or view.loading_visible
        )

    def draw(self, view: View, now: float, *, force: bool = False) -> bool:
        """Draw a frame if anything visible changed (or ``force``: the whole frame); returns
        whether it did. Only what changed is repainted and presented (see the module's
        docstring); :attr:`damaged` says what."""
        # Headless, frames are drawn only for snapshots, far apart: each shows the scale of
        # its moment, not a smoothing from one long gone.
        dt = now - self._last if self.window is not None else 0.0
        self._last = now
        scale = self.smoother.step(self.target_scale(view, now), dt)
        self.screen.captions = self.hub.captions
        volume = volumebar.shown(self.hub.volume_shown, now)
        key = (
            view,
            self.screen.captions,
            volume,
            round(scale, 3),
            self.screen.pointer,
            self.screen.pressed,
            self.screen.size,
            int((now - self._start) * self.config.display.fps) if view.loading_visible else 0,
            self.screen.setup_key(view),
        )
        if self.power is Power.DARK and self.window is not None:
            return False  # the screen is off, or black: nothing to draw until it wakes
        if not force and key == self._drawn:
            return False
        shade = self.shade
        if force or shade:
            self.screen.render(
                view, scale, now=now - self._start, target=self.window, volume=volume
            )
            damaged = None
            if shade:
                veil = pygame.Surface(self.screen.size)
                veil.set_alpha(shade)
                (self.window or self.screen.frame).blit(veil, (0, 0))
                self.screen.invalidate()  # what is drawn is no longer a plain frame
        else:
            damaged = self.screen.redraw(
                view, scale, now=now - self._start, target=self.window, volume=volume
            )
        self._drawn = key
        if damaged == []:  # nothing visible changed (the avatar kept its size in pixels)
            return False
        if self.window is not None:
            if damaged is None:
                pygame.display.flip()
            else:
                pygame.display.update(damaged[0].unionall(damaged[1:]))
        self.damaged = damaged
        self._frame_ready = True
        self.hub.display_stats.frames += 1
        return True

    def serve_snapshots(self, view: View, now: float) -> None:
        """Save the current frame for every pending snapshot request."""
        while True:
            try:
                path, future = self.hub.snapshots.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                # the view may have changed since this turn began (the request can come from
                # a thread that already saw the newer state): draw that first
                latest = self.hub.view
                if self.window is None or (not self._frame_ready and self.power is Power.ON):
                    self.draw(latest, now, force=True)
                elif latest != view:
                    self.draw(latest, now)
                frame = self.window if self.window is not None else self.screen.frame
                path = Path(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                pygame.image.save(frame, str(path))
                future.set_result(path)
            except Exception as exc:  # report to the requester, keep the screen running
                log.warning("display: snapshot to %s failed: %s", path, exc)
                future.set_exception(exc)

    def step(self) -> None:
        """One turn of the loop: input, drawing, snapshots, then sleep until needed."""
        version = self.hub.version
        self.handle_events()
        self.take_avatar()
        view = self.hub.view
        now = time.monotonic()
        if self._due_at is not None:  # this turn was due for a frame: on time?
            stats = self.hub.display_stats
            stats.due += 1
            stats.late += now - self._due_at >= 1.0 / self.config.display.fps
            self._due_at = None
        self.follow_sleep(view, now)
        if self.window is not None:
            self.draw(view, now)
        self.serve_snapshots(view, now)
        if self.hub.stopping.is_set():
            return
        if self.window is None:
            timeout = HEADLESS_POLL_S
        elif self.power is Power.DARK:
            timeout = DARK_POLL_S  # only input polling: nothing is drawn
        elif self.animating(view):
            self._due_at = now + 1.0 / self.config.display.fps
            timeout = max(0.0, self._due_at - time.monotonic())
        else:
            timeout = INPUT_POLL_S
            change = self.sleep.next_change(now)
            if change is not None:
                timeout = min(timeout, change)
        self.version = self.hub.wait_for_change(version, timeout)

    def close(self) -> None:
        blanker, self.blanker = self.blanker, None
        if blanker is not None:  # the screen is left on, as it was found
            try:
                blanker.close()
            except Exception as exc:
                log.warning("display: %s: could not turn the screen back on: %s", blanker.name, exc)
        if self.window is not None:
            pygame.display.quit()
            self.window = None


def run_display(hub: Hub, config: AppConfig) -> None:
    """Run the screen on the calling (main) thread until ``hub.stopping`` is set.

    Never raises: a display that cannot be opened means headless operation (snapshots still
    work), and a failure while drawing is logged and the loop goes on headless (and, should
    that fail too, waits for ``hub.stopping`` with the screen off).
    """
    try:
        loop = DisplayLoop(hub, config)
    finally:
        hub.screen_ready.set()  # up, or headless: either way systemd may hear READY=1
    try:
        while not hub.stopping.is_set():
            try:
                loop.step()
            except Exception as exc:  # never take the appliance down with the screen
                if loop.window is None:
                    log.exception("display: headless loop failed; the screen is off")
                    hub.stopping.wait()
                    break
                log.exception("display: drawing failed (%s); continuing without a screen", exc)
                loop.close()
    finally:
        loop.close()
