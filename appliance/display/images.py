"""Images for the screen: SVG icons at any size, the avatar source, masks and CSS filters.

SVGs are rasterised by SDL_image (nanosvg) through ``pygame.image.load``. It draws an SVG at the
size given by its ``width``/``height`` attributes, so :func:`svg_surface` rewrites them to the
wanted pixel size (keeping the ``viewBox``) and the icon stays crisp at every screen size.
"""

from __future__ import annotations

import io
import logging
import re
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pygame

from appliance.display import art
from appliance.display.style import RGBA, Filter, apply_filters
from appliance.display.theme import assets_dir
from appliance.redaction import mask_url

log = logging.getLogger(__name__)

URL_TIMEOUT_S = 4.0
MAX_IMAGE_BYTES = 16 * 1024 * 1024

_url_cache: dict[str, bytes] = {}

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
_ATTR = r"""\s{name}\s*=\s*(["'])[^"']*\1"""


def _sized_svg(svg: str, width: int, height: int) -> str:
    """``svg`` with its root ``width``/``height`` set (a ``viewBox`` is added if missing)."""
    match = _SVG_TAG.search(svg)
    if match is None:
        raise ValueError("not an SVG document (no <svg> element)")
    tag = match.group(0)
    if not re.search(r"\sviewBox\s*=", tag):
        w = _number_attr(tag, "width")
        h = _number_attr(tag, "height")
        if w and h:
            tag = tag[:4] + f' viewBox="0 0 {w:g} {h:g}"' + tag[4:]
    for name, value in (("width", width), ("height", height)):
        pattern = re.compile(_ATTR.format(name=name))
        if pattern.search(tag):
            tag = pattern.sub(f' {name}="{value}"', tag, count=1)
        else:
            tag = tag[:4] + f' {name}="{value}"' + tag[4:]
    return svg[: match.start()] + tag + svg[match.end() :]


def _number_attr(tag: str, name: str) -> float | None:
    match = re.search(rf"""\s{name}\s*=\s*["']\s*([\d.]+)""", tag)
    return float(match.group(1)) if match else None


def svg_surface(svg: str, size: int) -> pygame.Surface:
    """Rasterise ``svg`` into a ``size`` x ``size`` surface (raises ``ValueError``)."""
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


def _fetch(url: str) -> bytes:
    if url in _url_cache:
        return _url_cache[url]
    request = urllib.request.Request(url, headers={"User-Agent": "appliance-display"})
    with urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response:
        data = response.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"image larger than {MAX_IMAGE_BYTES // 2**20} MiB")
    _url_cache[url] = data
    return data


def load_avatar(src: str | None) -> pygame.Surface:
    """The avatar image: ``src`` (file path or http(s) URL, fetched once and cached) or the
    default. A failing ``src`` logs one warning with the cause and gives the default."""
    if not src:
        return default_avatar()
    try:
        if re.match(r"^https?://", src, re.IGNORECASE):
            data = _fetch(src)
            hint = Path(urllib.parse.urlparse(src).path).name or "avatar.png"
            if data.lstrip()[:5].lower() in (b"<svg ", b"<?xml"):
                hint = "avatar.svg"
            return _rgba(pygame.image.load(io.BytesIO(data), hint))
        path = Path(src).expanduser()
        if path.suffix.lower() == ".svg":
            return svg_surface(path.read_text(encoding="utf-8"), 512)
        return _rgba(pygame.image.load(str(path)))
    except Exception as exc:  # any failure: network, file, decoder
        log.warning(
            "avatar.src %r unusable (%s); using the default avatar", mask_url(src), _cause(exc)
        )
        return default_avatar()


def _cause(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    reason = getattr(exc, "reason", None)
    if reason is not None and str(reason) not in text:
        text = f"{text}: {reason}"
    return text[:200]
