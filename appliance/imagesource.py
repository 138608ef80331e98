"""Image sources read safely, before any decoder sees them (no pygame here).

The avatar (``realtime.avatar.src``: a file or an http(s) URL) and the buttons' inline SVGs
(``realtime.buttons.*.*.svg.content``) come from outside. A decoder allocates what an image's
header declares, and a 389 KB PNG can declare 20000x20000 pixels (1.6 GB once decoded); an SVG
of a few hundred KB can keep nanosvg busy for minutes. So, before decoding:

* a file is opened only if it is a regular file (a FIFO or a device is refused at once,
  without blocking) and only up to :data:`MAX_IMAGE_BYTES`;
* a download has a deadline for the whole of it (:data:`MAX_DOWNLOAD_S`), not only per read,
  follows redirects only within the same origin (so never from https to http), and stops at
  :data:`MAX_IMAGE_BYTES`;
* the dimensions are read from the header (:func:`identify`: PNG, JPEG, GIF, BMP, WebP) and an
  image over :data:`MAX_IMAGE_PIXELS` is refused; another format is refused, so no decoder of
  SDL_image that these checks do not cover is ever reached;
* an SVG is refused over :data:`MAX_SVG_BYTES`, :data:`MAX_SVG_ELEMENTS` or the number limits
  (:func:`check_svg`), and must hold exactly one ``<svg>`` element (its size is set by the
  screen: see :func:`appliance.display.images.svg_surface`).

Each refusal is an :class:`ImageRefused` whose message says what was found and the limit.
:func:`config_problems` gives the same words to ``appliance config validate``.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from appliance import files

if TYPE_CHECKING:
    from appliance.config import AppConfig

MAX_IMAGE_BYTES = 16 * 2**20
"""The largest image file or download read (bytes); a larger one is refused unread."""

MAX_IMAGE_PIXELS = 16_000_000
"""The most pixels (width x height, as the header declares) an image may have to be decoded:
16 megapixels is 64 MB once decoded, for a moment, before it is scaled down."""

URL_TIMEOUT_S = 4.0
"""The longest wait to connect, and for any one read of a download."""

MAX_DOWNLOAD_S = 15.0
"""The whole download (connecting, every redirect, the headers and the body) must end within
this; a server that sends a byte now and then is abandoned then."""

MAX_REDIRECTS = 3
"""Redirects followed for an image, each only to the same origin (scheme, host and port)."""

MAX_SVG_BYTES = 2**20
"""The largest SVG document rasterised (bytes)."""

MAX_SVG_ELEMENTS = 4_000
"""The most elements (tags) an SVG may hold: each is a shape nanosvg draws over the canvas."""

MAX_SVG_ELEMENT_NUMBERS = 2_000
"""The most numbers one SVG element may hold (its path's coordinates): the cost of drawing one
stroked path grows faster than its length (2,000 points: 1.5 s, 4,000: 12 s)."""

MAX_SVG_NUMBERS = 40_000
"""The most numbers (coordinates) a whole SVG may hold."""

SVG_SCAN = 4096
"""SDL_image takes any data holding ``<svg`` in its first 4 KiB for an SVG."""

FORMATS = "PNG, JPEG, GIF, BMP, WebP or SVG"


class ImageRefused(ValueError):
    """An image not decoded: its message says what was found and the limit it broke."""


@dataclass(frozen=True)
class ImageInfo:
    """What a header declares: the format (``png``, ``jpeg``, ``gif``, ``bmp``, ``webp`` or
    ``svg``) and, but for an SVG (drawn at the size asked for), its size in pixels."""

    kind: str
    width: int = 0
    height: int = 0


# --- headers -----------------------------------------------------------------------------------


def identify(data: bytes) -> ImageInfo:
    """The format and size ``data`` declares, checked against the limits (raises
    :class:`ImageRefused`). Nothing is decoded: only the header is read."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(f"is {_mib(len(data))}, over the limit of {_mib(MAX_IMAGE_BYTES)}")
    info = _header(data)
    if info is None:
        if looks_like_svg(data):
            check_svg(_svg_text(data))
            return ImageInfo("svg")
        raise ImageRefused(f"is not a {FORMATS} image")
    if info.width <= 0 or info.height <= 0:
        raise ImageRefused(f"is a {info.kind.upper()} that declares no size")
    pixels = info.width * info.height
    if pixels > MAX_IMAGE_PIXELS:
        raise ImageRefused(
            f"is a {info.kind.upper()} of {info.width}x{info.height} pixels "
            f"({pixels / 1e6:.1f} megapixels), over the limit of "
            f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels"
        )
    if info.kind == "webp" and b"<svg" in data[:SVG_SCAN]:
        # SDL_image tries its SVG reader before its WebP one: it would draw that SVG instead
        raise ImageRefused("is a WebP holding SVG text in its first 4 KiB")
    return info


def _header(data: bytes) -> ImageInfo | None:
    """The format and size of a PNG, JPEG, GIF, BMP or WebP header, else ``None`` (raises
    :class:`ImageRefused` for a truncated header of a known format)."""
    readers = (
        (data.startswith(b"\x89PNG\r\n\x1a\n"), _png),
        (data.startswith(b"\xff\xd8"), _jpeg),
        (data[:6] in (b"GIF87a", b"GIF89a"), _gif),
        (data.startswith(b"BM"), _bmp),
        (data[:4] == b"RIFF" and data[8:12] == b"WEBP", _webp),
    )
    for matches, reader in readers:
        if matches:
            try:
                return reader(data)
            except (struct.error, IndexError):
                raise ImageRefused("has a truncated or damaged header") from None
    return None


def _png(data: bytes) -> ImageInfo:
    if data[12:16] != b"IHDR":
        raise ImageRefused("is a PNG without its IHDR header first")
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("png", width, height)


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> ImageInfo:
    """The size in the first frame header (SOFn), found by walking the marker segments."""
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ImageRefused("is a JPEG with a damaged marker before its frame header")
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            continue
        if marker in (0xD9, 0xDA):
            raise ImageRefused("is a JPEG without a frame header before its data")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return ImageInfo("jpeg", width, height)
        if length < 2:
            raise ImageRefused("is a JPEG with a damaged segment length")
        pos += length


def _gif(data: bytes) -> ImageInfo:
    """The larger of the logical screen and the first image's frame (what is decoded)."""
    screen_w, screen_h, flags = struct.unpack("<HHB", data[6:11])
    pos = 13
    if flags & 0x80:
        pos += 3 * 2 ** ((flags & 7) + 1)  # global colour table
    while True:
        block = data[pos]
        if block == 0x2C:  # image descriptor
            left, top, width, height = struct.unpack("<HHHH", data[pos + 1 : pos + 9])
            return ImageInfo("gif", max(screen_w, left + width), max(screen_h, top + height))
        if block != 0x21:  # not an extension either
            raise ImageRefused("is a GIF without an image")
        pos += 2
        while data[pos]:  # data sub-blocks
            pos += data[pos] + 1
        pos += 1


def _bmp(data: bytes) -> ImageInfo:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return ImageInfo("bmp", abs(width), abs(height))


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageRefused("is a WebP with a damaged VP8 header")
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise ImageRefused("is a WebP with a damaged VP8L header")
        (bits,) = struct.unpack("<I", data[21:25])
        return ImageInfo("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("webp", width, height)
    raise ImageRefused(f"is a WebP with an unknown first chunk {chunk!r}")


def _mib(size: int) -> str:
    """``size`` bytes in MiB: whole for a limit (16 MiB), else with one decimal."""
    return f"{size // 2**20} MiB" if size % 2**20 == 0 else f"{size / 2**20:.1f} MiB"


# --- SVG ---------------------------------------------------------------------------------------

_SVG_ROOT = re.compile(rb"<\s*svg\b", re.IGNORECASE)
_SVG_ROOT_TEXT = re.compile(r"<\s*svg\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>?")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")


def looks_like_svg(data: bytes) -> bool:
    """Whether ``data`` is markup with an ``<svg`` element (what SDL_image would draw)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and _SVG_ROOT.search(data) is not None


def _svg_text(data: bytes) -> str:
    if len(data) > MAX_SVG_BYTES:
        limit = _mib(MAX_SVG_BYTES)
        raise ImageRefused(f"is an SVG of {_mib(len(data))}, over the limit of {limit}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImageRefused("is an SVG that is not UTF-8 text") from None


def check_svg(text: str) -> None:
    """Refuse (:class:`ImageRefused`) an SVG too large or too complex to draw in a moment, or
    with other than one ``<svg>`` element. Cheap: it counts, it does not parse."""
    size = len(text.encode("utf-8"))
    if size > MAX_SVG_BYTES:
        raise ImageRefused(f"is an SVG of {_mib(size)}, over the limit of {_mib(MAX_SVG_BYTES)}")
    roots = len(_SVG_ROOT_TEXT.findall(text))
    if roots != 1:
        raise ImageRefused(f"is an SVG with {roots} <svg> elements (exactly one is drawn)")
    elements = text.count("<") - text.count("</")  # start tags (end tags draw nothing)
    if elements > MAX_SVG_ELEMENTS:
        raise ImageRefused(
            f"is an SVG of {elements} elements, over the limit of {MAX_SVG_ELEMENTS}"
        )
    total = 0
    for tag in _TAG.finditer(text):
        numbers = len(_NUMBER.findall(tag.group(0)))
        if numbers > MAX_SVG_ELEMENT_NUMBERS:
            raise ImageRefused(
                f"is an SVG with an element of {numbers} numbers (coordinates), over the "
                f"limit of {MAX_SVG_ELEMENT_NUMBERS}"
            )
        total += numbers
    if total > MAX_SVG_NUMBERS:
        raise ImageRefused(
            f"is an SVG of {total} numbers (coordinates), over the limit of {MAX_SVG_NUMBERS}"
        )


# --- files -------------------------------------------------------------------------------------


def read_file(path: Path) -> bytes:
    """The bytes of the regular file ``path``, at most :data:`MAX_IMAGE_BYTES` (raises
    :class:`ImageRefused` or :class:`OSError`). A FIFO, a socket or a device is refused at
    once: it is opened without blocking and looked at before anything is read."""
    try:
        return files.read_small(path, MAX_IMAGE_BYTES, "an image")
    except files.FileRefused as exc:
        raise ImageRefused(exc.reason) from None


# --- downloads ---------------------------------------------------------------------------------


def is_url(src: str) -> bool:
    """Whether an image source is an http(s) URL (else it is a file path)."""
    return re.match(r"^https?://", src, re.IGNORECASE) is not None


def download(url: str, *, deadline_s: float = MAX_DOWNLOAD_S) -> bytes:
    """The body of ``url`` (http or https), at most :data:`MAX_IMAGE_BYTES`, all of it within
    ``deadline_s`` (raises :class:`ImageRefused` or :class:`OSError`). Redirects are followed
    (at most :data:`MAX_REDIRECTS`) only to the same origin."""
    deadline = time.monotonic() + deadline_s
    origin = _origin(url)
    for _hop in range(MAX_REDIRECTS + 1):
        status, location, body = _get(url, deadline, deadline_s)
        if status in (301, 302, 303, 307, 308):
            if not location:
                raise ImageRefused(f"answered HTTP {status} without a Location")
            target = urllib.parse.urljoin(url, location)
            if _origin(target) != origin:
                raise ImageRefused(
                    f"redirects to another origin ({_origin_text(target)}); only redirects "
                    "within the same scheme, host and port are followed"
                )
            url = target
            continue
        if status != 200:
            raise ImageRefused(f"answered HTTP {status}")
        return body
    raise ImageRefused(f"redirects more than {MAX_REDIRECTS} times")


def _origin(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ImageRefused(f"is not an http(s) URL: {_origin_text(url)}")
    return scheme, parts.hostname.lower(), parts.port or (443 if scheme == "https" else 80)


def _origin_text(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "a malformed URL"


def _get(url: str, deadline: float, deadline_s: float) -> tuple[int, str | None, bytes]:
    """One GET: (status, Location, body). A watchdog cuts the connection at ``deadline``."""
    scheme, host, port = _origin(url)
    parts = urllib.parse.urlsplit(url)
    left = deadline - time.monotonic()
    if left <= 0:
        raise ImageRefused(f"did not finish downloading within {deadline_s:g} s")
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = kind(host, port, timeout=min(URL_TIMEOUT_S, left))
    cut = threading.Event()

    def expire() -> None:
        cut.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # wakes a read blocked in another thread
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(left, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        headers = {"User-Agent": "appliance-display", "Accept": "image/*"}
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            return response.status, response.getheader("Location"), b""
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > MAX_IMAGE_BYTES:
            raise ImageRefused(f"is {_mib(int(length))}, over the limit of {_mib(MAX_IMAGE_BYTES)}")
        body = bytearray()
        while len(body) <= MAX_IMAGE_BYTES:
            chunk = response.read1(min(65536, MAX_IMAGE_BYTES + 1 - len(body)))
            if not chunk or cut.is_set():
                break
            body += chunk
        if len(body) > MAX_IMAGE_BYTES:
            raise ImageRefused(f"is over the limit of {_mib(MAX_IMAGE_BYTES)}")
        if cut.is_set():
            raise ImageRefused(f"did not finish downloading within {deadline_s:g} s")
        return response.status, None, bytes(body)
    except (OSError, http.client.HTTPException):
        if cut.is_set():
            raise ImageRefused(f"did not finish downloading within {deadline_s:g} s") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()


def fetch(src: str) -> bytes:
    """The bytes of an image source: a download for an http(s) URL, else a file."""
    return download(src) if is_url(src) else read_file(Path(src).expanduser())


# --- configuration checks ----------------------------------------------------------------------


def source_problem(src: str | None) -> str | None:
    """What is wrong with a local ``avatar.src`` (``None``: fine, unset, or a URL, which is
    not fetched here). Reads the file's header, never blocks and never decodes."""
    if not src or is_url(src):
        return None
    try:
        identify(read_file(Path(src).expanduser()))
    except ImageRefused as exc:
        return f"realtime.avatar.src: {src} {exc}; the default avatar is shown instead"
    except OSError as exc:
        return (
            f"realtime.avatar.src: {src} cannot be read ({exc.strerror or exc}); "
            "the default avatar is shown instead"
        )
    return None


def config_problems(config: AppConfig) -> list[str]:
    """The image sources of ``config`` that the screen will refuse, in words: the avatar file
    and the buttons' inline SVGs (the screen shows its defaults instead)."""
    problems = []
    avatar = source_problem(config.realtime.avatar.src)
    if avatar:
        problems.append(avatar)
    buttons = config.realtime.buttons
    for name in ("microphone", "toggle"):
        for state in ("default", "active", "unavailable"):
            styles = getattr(getattr(buttons, name), state)
            content = styles.svg.content if styles and styles.svg else None
            if not content:
                continue
            try:
                check_svg(content)
            except ImageRefused as exc:
                problems.append(
                    f"realtime.buttons.{name}.{state}.svg.content {exc}; "
                    "the built-in icon is shown instead"
                )
    return problems
