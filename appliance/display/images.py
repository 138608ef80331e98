"""Images for the screen: SVG icons at any size, the avatar source, masks and CSS filters.

SVGs are rasterised by SDL_image (nanosvg) through ``pygame.image.load``. It draws an SVG at the
size given by its ``width``/``height`` attributes, so :func:`svg_surface` rewrites them to the
wanted pixel size (keeping the ``viewBox``) and the icon stays crisp at every screen size.

Every image from outside is checked by :mod:`appliance.imagesource` before it is decoded (its
header's size, its bytes, an SVG's complexity). The avatar is read and decoded by
:class:`AvatarLoader` on a thread of its own: the screen shows the default avatar at once and
switches to ``avatar.src`` when it is ready; a refused or failing source leaves the default,
with one warning.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Callable

import numpy as np
import pygame

from appliance import imagesource
from appliance.display import art
from appliance.display.style import RGBA, Filter, apply_filters
from appliance.display.theme import assets_dir
from appliance.redaction import mask_url

log = logging.getLogger(__name__)

AVATAR_SIDE = 1024
"""An avatar image is scaled down, once decoded, to fit this many pixels on its longer side
(the avatar at its largest on a 1920x1080 screen is about 600 px): the decoded original is
freed at once."""

SVG_AVATAR_SIZE = 512
"""The size an SVG avatar is rasterised at (px)."""

# Used only when the assets directory is missing (e.g. an install without data files).
_FALLBACK_ICONS = {
    "microphone": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<rect x="8.6" y="2" width="6.8" height="12.6" rx="3.4" fill="#383838"/>'
    '<path d="M5.2 11.2a6.8 6.8 0 0 0 13.6 0M12 18.2v3.1M8.4 21.3h7.2" fill="none" '
    'stroke="#383838" stroke-width="1.9" stroke-linecap="round"/></svg>',
    "play": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M7 4.6v14.8'
    'a1.2 1.2 0 0 0 1.83 1.02l11.9-7.4a1.2 1.2 0 0 0 0-2.04L8.83 3.58A1.2 1.2 0 0 0 7 4.6z" '
    'fill="#383838"/></svg>',
    "stop": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<rect x="5" y="5" width="14" height="14" rx="2.4" fill="#383838"/></svg>',
}


def icon_svg(name: str) -> str:
    """The SVG text of a bundled icon: ``microphone``, ``play`` or ``stop``."""
    base = assets_dir()
    if base is not None:
        try:
            return (base / "icons" / f"{name}.svg").read_text(encoding="utf-8")
        except OSError as exc:
            log.warning("icon %s not readable (%s); using the built-in copy", name, exc)
    return _FALLBACK_ICONS[name]


# --- SVG ---------------------------------------------------------------------------------------

_SVG_TAG = re.compile(r"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SIZE_ATTR = re.compile(r"""\s(?:width|height)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*)""", re.IGNORECASE)


def _sized_svg(svg: str, width: int, height: int) -> str:
    """``svg`` with its root ``width``/``height`` set (a ``viewBox`` is added if missing).

    Every ``width``/``height`` of the root is replaced (nanosvg takes the last of repeated
    ones, and draws at that size), and the document must hold exactly one ``<svg>``
    element (nanosvg takes its size from any, even one hidden in a comment): see
    :func:`appliance.imagesource.check_svg`."""
    match = _SVG_TAG.search(svg)
    if match is None:
        raise ValueError("not an SVG document (no <svg> element)")
    tag = match.group(0)
    if not re.search(r"\sviewBox\s*=", tag):
        w = _number_attr(tag, "width")
        h = _number_attr(tag, "height")
        if w and h:
            tag = tag[:4] + f' viewBox="0 0 {w:g} {h:g}"' + tag[4:]
    tag = _SIZE_ATTR.sub("", tag)
    tag = tag[:4] + f' width="{width}" height="{height}"' + tag[4:]
    return svg[: match.start()] + tag + svg[match.end() :]


def _number_attr(tag: str, name: str) -> float | None:
    match = re.search(rf"""\s{name}\s*=\s*["']\s*([\d.]+)""", tag)
    try:
        return float(match.group(1)) if match else None
    except ValueError:
        return None


def svg_surface(svg: str, size: int) -> pygame.Surface:
    """Rasterise ``svg`` into a ``size`` x ``size`` surface (raises ``ValueError``, e.g.
    :class:`~appliance.imagesource.ImageRefused` for an SVG over the limits)."""
    imagesource.check_svg(svg)
    size = max(1, int(size))
    text = _sized_svg(svg, size, size)
    try:
        surface = pygame.image.load(io.BytesIO(text.encode("utf-8")), "icon.svg")
    except pygame.error as exc:
        raise ValueError(f"SVG could not be drawn: {exc}") from None
    if surface.get_size() != (size, size):
        surface = pygame.transform.smoothscale(_rgba(surface), (size, size))
    return _rgba(surface)


def _rgba(surface: pygame.Surface) -> pygame.Surface:
    """A 32-bit per-pixel-alpha copy (works without a display)."""
    out = pygame.Surface(surface.get_size(), pygame.SRCALPHA, 32)
    out.blit(surface, (0, 0))
    return out


# --- filters and opacity -----------------------------------------------------------------------


def filtered(surface: pygame.Surface, filters: tuple[Filter, ...], opacity: float = 1.0) -> None:
    """Apply a CSS filter chain and an opacity to a per-pixel-alpha surface, in place."""
    if not filters and opacity >= 1.0:
        return
    rgb = pygame.surfarray.pixels3d(surface)
    alpha = pygame.surfarray.pixels_alpha(surface)
    frgb = rgb.astype(np.float64) / 255
    falpha = alpha.astype(np.float64) / 255
    apply_filters(frgb, falpha, filters)
    falpha *= max(0.0, min(1.0, opacity))
    rgb[...] = np.round(frgb * 255).astype(np.uint8)
    alpha[...] = np.round(falpha * 255).astype(np.uint8)
    del rgb, alpha  # unlock the surface


# --- shapes ------------------------------------------------------------------------------------


def rounded_mask(width: int, height: int, radius: float, inset: float = 0.0) -> np.ndarray:
    """Anti-aliased coverage (0..1, shape ``(width, height)``) of a rounded rectangle, shrunk
    by ``inset`` pixels on every side (sub-pixel insets give soft edges, as a browser)."""
    half_w, half_h = width / 2 - inset, height / 2 - inset
    if half_w <= 0 or half_h <= 0:
        return np.zeros((width, height))
    radius = max(0.0, min(radius - inset, half_w, half_h))
    xs = np.arange(width, dtype=np.float64) + 0.5 - width / 2
    ys = np.arange(height, dtype=np.float64) + 0.5 - height / 2
    x, y = np.meshgrid(xs, ys, indexing="ij")
    qx = np.abs(x) - (half_w - radius)
    qy = np.abs(y) - (half_h - radius)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    inside = np.minimum(np.maximum(qx, qy), 0)
    distance = outside + inside - radius
    return np.clip(0.5 - distance, 0.0, 1.0)


def rounded_box(
    width: int, height: int, radius: float, color: RGBA, border: float = 0.0, border_color=None
) -> pygame.Surface:
    """An anti-aliased rounded rectangle (a circle when ``radius`` is half the size)."""
    width, height = max(1, int(width)), max(1, int(height))
    surface = pygame.Surface((width, height), pygame.SRCALPHA, 32)
    outer = rounded_mask(width, height, radius)
    rgb = np.empty((width, height, 3), dtype=np.float64)
    rgb[...] = color[:3]
    alpha = outer * (color[3] / 255)
    if border > 0 and border_color is not None:
        inner = rounded_mask(width, height, radius, inset=border)
        ring = np.clip(outer - inner, 0.0, 1.0)
        ba = border_color[3] / 255
        fill_a = inner * (color[3] / 255)
        ring_a = ring * ba
        alpha = ring_a + fill_a * (1 - ring_a)
        with np.errstate(invalid="ignore", divide="ignore"):
            mix = np.where(alpha > 0, ring_a / np.maximum(alpha, 1e-9), 0.0)[..., None]
        rgb = np.array(border_color[:3], dtype=np.float64) * mix + rgb * (1 - mix)
    pygame.surfarray.pixels3d(surface)[...] = np.round(rgb).astype(np.uint8)
    pygame.surfarray.pixels_alpha(surface)[...] = np.round(alpha * 255).astype(np.uint8)
    return surface


def cover(image: pygame.Surface, width: int, height: int) -> pygame.Surface:
    """``image`` scaled to fill ``width`` x ``height`` and centre-cropped (CSS object-fit)."""
    iw, ih = image.get_size()
    factor = max(width / iw, height / ih)
    scaled = pygame.transform.smoothscale(
        _rgba(image), (max(1, round(iw * factor)), max(1, round(ih * factor)))
    )
    out = pygame.Surface((width, height), pygame.SRCALPHA, 32)
    out.blit(scaled, ((width - scaled.get_width()) // 2, (height - scaled.get_height()) // 2))
    return out


# --- avatar source -----------------------------------------------------------------------------


def default_avatar() -> pygame.Surface:
    """``assets/avatar.png``, or the same drawing made on the spot."""
    base = assets_dir()
    if base is not None and (base / "avatar.png").is_file():
        try:
            return _rgba(pygame.image.load(str(base / "avatar.png")))
        except pygame.error as exc:
            log.warning("default avatar unreadable (%s); drawing it", exc)
    rgba = art.avatar_rgba(512)
    return _rgba(pygame.image.frombuffer(rgba.tobytes(), (512, 512), "RGBA"))


def decode(data: bytes) -> pygame.Surface:
    """An image's bytes, checked (:func:`appliance.imagesource.identify`) and decoded into a
    32-bit surface at most :data:`AVATAR_SIDE` on its longer side (raises ``ValueError``).
    Makes no display surface: it may run on any thread."""
    info = imagesource.identify(data)
    if info.kind == "svg":
        return svg_surface(data.decode("utf-8-sig"), SVG_AVATAR_SIZE)
    try:
        # the type hint names the format found, so no other SDL_image reader is tried
        surface = pygame.image.load(io.BytesIO(data), f"avatar.{info.kind}")
    except pygame.error as exc:
        raise ValueError(f"{info.kind.upper()} could not be decoded: {exc}") from None
    width, height = surface.get_size()
    factor = AVATAR_SIDE / max(width, height)
    if factor < 1:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        if surface.get_bitsize() not in (24, 32):
            surface = _rgba(surface)
        surface = pygame.transform.smoothscale(surface, size)
    return _rgba(surface)


def load_avatar(src: str | None) -> pygame.Surface:
    """The avatar image, now, on the calling thread: ``src`` (a file path or an http(s) URL)
    or the default. A refused or failing ``src`` logs one warning with the cause and gives
    the default. The screen uses :class:`AvatarLoader`, which does this on its own thread."""
    if not src:
        return default_avatar()
    try:
        return decode(imagesource.fetch(src))
    except Exception as exc:  # any failure: network, file, limits, decoder
        _warn(src, exc)
        return default_avatar()


class AvatarLoader:
    """Reads, checks and decodes ``avatar.src`` on a daemon thread (the first frame and the
    control socket never wait for it, and a stop never waits for it either).

    The thread hands over the decoded pixels (bytes, not a surface); :meth:`take`, on the
    screen's thread, makes the surface. ``on_done`` is called from the thread when it ends
    (e.g. to wake the screen's loop).
    """

    def __init__(self, src: str, on_done: Callable[[], None] = lambda: None) -> None:
        self.src = src
        self._on_done = on_done
        self._pixels: tuple[bytes, tuple[int, int]] | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="avatar-loader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            surface = decode(imagesource.fetch(self.src))
            self._pixels = (pygame.image.tobytes(surface, "RGBA"), surface.get_size())
        except Exception as exc:  # any failure: network, file, limits, decoder
            _warn(self.src, exc)
        finally:
            self.done.set()
            self._on_done()

    def take(self) -> pygame.Surface | None:
        """The loaded avatar, once (then ``None``); ``None`` while loading or after a
        failure."""
        if self._pixels is None:
            return None
        data, size = self._pixels
        self._pixels = None
        return _rgba(pygame.image.frombuffer(data, size, "RGBA"))


def _warn(src: str, exc: BaseException) -> None:
    if isinstance(exc, imagesource.ImageRefused):  # it says what was found and the limit
        log.warning("avatar.src %r %s; using the default avatar", mask_url(src), exc)
    else:
        log.warning(
            "avatar.src %r unusable (%s); using the default avatar", mask_url(src), _cause(exc)
        )


def _cause(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    reason = getattr(exc, "reason", None)
    if reason is not None and str(reason) not in text:
        text = f"{text}: {reason}"
    return text[:200]
