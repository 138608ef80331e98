"""Hostile image sources for ``realtime.avatar.src``, end to end: the real ``appliance run``
process (headless), real files, a FIFO, real HTTP servers on localhost, real signals.

A decompression bomb (a PNG of a few hundred KB declaring 20000x20000 pixels) is refused from
its header, a FIFO is refused without blocking, a server that drips its image is abandoned at
the download's deadline, an SVG of 20,000 shapes is refused by the element limit: each time the
process stays small, its control socket and its screen come up at once with the default avatar,
one warning names the source and the limit, and SIGTERM at any moment ends it with status 0.
"""

from __future__ import annotations

import http.server
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pygame
import pytest
from fault_matrix import row

from appliance.config import validate
from appliance.display.screen import Screen
from appliance.imagesource import MAX_DOWNLOAD_S
from appliance.rig.httpserver import LocalHTTPServer
from appliance.rig.process import child_env, peak_rss_mib, wait_until
from appliance.state import View

pytestmark = pytest.mark.hostile

PEAK_RSS_MIB = 250
"""The appliance's peak resident memory with a hostile image (3.2 GB for the bomb before)."""
UP_S = 8.0
"""The control socket answers and a snapshot is served within this of the start (the screen
never waits for the image; without a first frame the worker starts after 10 s)."""
STOP_S = 5.0
"""SIGTERM ends the process within this, with status 0."""
BOMB_SIDE = 20_000
MAGENTA = (255, 0, 255)

# A key source, so that the idle screen shows the avatar (not the setup screen); never used.
BASE = {
    "realtime": {"provisioning": {"url": "http://127.0.0.1:9/key"}},
    "audio": {"backend": "none"},
}


def bomb_png(path: Path, side: int = BOMB_SIDE) -> Path:
    """A valid grey PNG of ``side`` x ``side`` pixels, all zero: a few hundred KB on disk, 1.6 GB
    once decoded to 32 bits. Written row by row (the rows never sit in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then the pixels
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)))
        out.write(chunk(b"IDAT", b"".join(parts)))
        out.write(chunk(b"IEND", b""))
    return path


def solid_png(path: Path, color: tuple[int, int, int], size: int = 64) -> Path:
    surface = pygame.Surface((size, size))
    surface.fill(color)
    pygame.image.save(surface, str(path))
    return path


def shapes_svg(count: int, stroke: str = "") -> bytes:
    """An SVG of ``count`` large circles over the whole canvas: slow to rasterise (3,900 of
    them with a thick ``stroke``: 15 s here)."""
    shapes = "".join(
        f'<circle cx="{i % 500}" cy="{i * 7 % 500}" r="400" fill="#{i % 255:02x}0000"{stroke}/>'
        for i in range(count)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" '
        f'viewBox="0 0 512 512">{shapes}</svg>'
    ).encode()


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = bomb_png(tmp_path_factory.mktemp("bomb") / "bomb.png")
    assert path.stat().st_size < 2**20  # small on disk: only its header tells
    return path


class ImageServer:
    """A real HTTP server on localhost: ``files`` by path, and ``/drip.png``, which sends its
    headers and then one byte every ``DRIP_S`` until the client goes away."""

    DRIP_S = 0.5

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drip_started = threading.Event()
        self.drip_ended = threading.Event()
        self.drip_seconds: float | None = None  # how long the client stayed
        self.closing = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/drip.png":
                    server._drip(self)
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = LocalHTTPServer(Handler)
        self.url = self.httpd.url

    def _drip(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        began = time.monotonic()
        self.drip_started.set()
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.flush()
        try:
            while not self.closing.wait(self.DRIP_S):
                handler.wfile.write(b"\x89")
                handler.wfile.flush()
        except OSError:  # the client went away
            self.drip_seconds = time.monotonic() - began
            self.drip_ended.set()

    def close(self) -> None:
        self.closing.set()
        self.httpd.close()


@pytest.fixture
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


def start_with(start, src: str):
    """An appliance whose avatar is ``src``; the seconds until its socket answered."""
    began = time.monotonic()
    app = start({**BASE, "realtime": {**BASE["realtime"], "avatar": {"src": src}}})
    return app, time.monotonic() - began


def snapshot(app, path: Path) -> np.ndarray:
    """The screen now (through ``appliance snapshot``), as an RGB array (x, y, 3)."""
    result = app.cli("snapshot", str(path))
    assert result.returncode == 0, result.stderr + app.log()[-2000:]
    return pygame.surfarray.array3d(pygame.image.load(str(path))).astype(np.int32)


def default_avatar_region() -> tuple[pygame.Rect, np.ndarray]:
    """Where the avatar is drawn at rest and what the default avatar looks like there."""
    screen = Screen(validate(BASE), (800, 480))
    rect = screen.avatar_rect(1.0)
    frame = pygame.surfarray.array3d(screen.render(View(), 1.0)).astype(np.int32)
    return rect, frame[rect.left : rect.right, rect.top : rect.bottom]


def assert_default_avatar(app, path: Path) -> None:
    rect, expected = default_avatar_region()
    shown = snapshot(app, path)[rect.left : rect.right, rect.top : rect.bottom]
    assert np.array_equal(shown, expected), "the screen does not show the default avatar"


def avatar_warnings(app) -> list[str]:
    return [line for line in app.log().splitlines() if "avatar.src" in line]


def wait_warning(app, words: str, timeout: float = 10) -> str:
    wait_until(lambda: any(words in w for w in avatar_warnings(app)), timeout, repr(words))
    (line,) = avatar_warnings(app)  # said once
    return line


def stop_fast(app) -> None:
    """SIGTERM: the process ends within :data:`STOP_S`, with status 0."""
    began = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    try:
        code = app.proc.wait(STOP_S)
    except subprocess.TimeoutExpired:
        log = app.log()[-2000:]
        raise AssertionError(f"still running {STOP_S:g} s after SIGTERM:\n{log}") from None
    assert code == 0, f"exit status {code}:\n{app.log()[-2000:]}"
    assert time.monotonic() - began < STOP_S


# --- a decompression bomb --------------------------------------------------------------------


def check_bomb_refused(app, up_s: float, tmp_path: Path) -> None:
    assert up_s < UP_S, f"the control socket took {up_s:.1f} s"
    line = wait_warning(app, "megapixels")
    assert f"{BOMB_SIDE}x{BOMB_SIDE}" in line and "limit of 16 megapixels" in line, line
    assert_default_avatar(app, tmp_path / "bomb.png")
    assert peak_rss_mib(app.proc.pid) < PEAK_RSS_MIB


@row("avatar_bomb")
def test_a_decompression_bomb_file_is_refused_by_its_header(fault, start, bomb, tmp_path):
    app, up_s = start_with(start, str(bomb))
    check_bomb_refused(app, up_s, tmp_path)
    assert fault.log in app.log()


def test_a_decompression_bomb_over_http_is_refused_by_its_header(start, bomb, images, tmp_path):
    images.files["/bomb.png"] = bomb.read_bytes()
    app, up_s = start_with(start, f"{images.url}/bomb.png")
    check_bomb_refused(app, up_s, tmp_path)


def test_config_validate_names_the_bomb_its_size_and_the_limit(bomb, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[realtime.avatar]\nsrc = "{bomb}"\n')
    run = [sys.executable, "-m", "appliance", "config", "validate"]
    result = subprocess.run(
        [*run, str(config)], capture_output=True, text=True, timeout=30, env=child_env()
    )
    assert result.returncode == 0, result.stderr
    assert "realtime.avatar.src" in result.stderr, result.stderr
    assert f"{BOMB_SIDE}x{BOMB_SIDE}" in result.stderr and "16 megapixels" in result.stderr
    strict = subprocess.run(
        [*run, str(config), "--strict"], capture_output=True, text=True, timeout=30, env=child_env()
    )
    assert strict.returncode == 2 and "realtime.avatar.src" in strict.stderr


# --- sources that block --------------------------------------------------------------------------


@row("avatar_fifo")
def test_a_fifo_is_refused_without_blocking(fault, start, tmp_path):
    fifo = tmp_path / "avatar.png"
    os.mkfifo(fifo)
    app, up_s = start_with(start, str(fifo))
    assert up_s < UP_S, f"the control socket took {up_s:.1f} s"
    line = wait_warning(app, "not a regular file")
    assert "FIFO" in line and str(fifo) in line
    assert_default_avatar(app, tmp_path / "fifo.png")
    stop_fast(app)
    assert fault.log in app.log()


@row("avatar_drip")
def test_a_dripping_server_is_abandoned_at_the_deadline(fault, start, images, tmp_path):
    app, up_s = start_with(start, f"{images.url}/drip.png")
    assert up_s < UP_S, f"the control socket took {up_s:.1f} s"
    assert images.drip_started.wait(10), "the image was never asked for"
    assert_default_avatar(app, tmp_path / "drip.png")  # the screen does not wait for it
    line = wait_warning(
        app, f"did not finish downloading within {MAX_DOWNLOAD_S:g} s", MAX_DOWNLOAD_S + 10
    )
    assert images.drip_ended.wait(5), "the download was not abandoned"
    assert images.drip_seconds is not None
    assert MAX_DOWNLOAD_S - 1 < images.drip_seconds < MAX_DOWNLOAD_S + 3, images.drip_seconds
    assert "drip.png" in line
    stop_fast(app)
    assert fault.log in line


def test_sigterm_during_a_dripping_download_exits_at_once(start, images):
    app, _ = start_with(start, f"{images.url}/drip.png")
    assert images.drip_started.wait(10), "the image was never asked for"
    stop_fast(app)


# --- SVG -----------------------------------------------------------------------------------------


def test_an_svg_of_20000_shapes_is_refused_by_the_element_limit(start, tmp_path):
    path = tmp_path / "shapes.svg"
    path.write_bytes(shapes_svg(20_000))
    app, up_s = start_with(start, str(path))
    assert up_s < UP_S, f"the control socket took {up_s:.1f} s"
    line = wait_warning(app, "elements")
    assert "20001 elements" in line and "limit of 4000" in line, line
    assert_default_avatar(app, tmp_path / "svg.png")
    stop_fast(app)


def test_sigterm_while_an_svg_is_rasterised_exits_at_once(start, images, tmp_path):
    """An SVG within the limits that takes seconds to draw (15 s here): the screen and the
    socket do not wait for it, and SIGTERM in the middle of it ends the process."""
    images.files["/shapes.svg"] = shapes_svg(3_900, ' stroke="#0000ff" stroke-width="120"')
    app, up_s = start_with(start, f"{images.url}/shapes.svg")
    assert up_s < UP_S, f"the control socket took {up_s:.1f} s"
    assert_default_avatar(app, tmp_path / "svg.png")
    stop_fast(app)
    assert avatar_warnings(app) == []


# --- and a good image still shows ----------------------------------------------------------------


def test_a_good_image_replaces_the_default_once_loaded(start, images, tmp_path):
    images.files["/face.png"] = solid_png(tmp_path / "face.png", MAGENTA).read_bytes()
    app, _ = start_with(start, f"{images.url}/face.png")
    rect, _ = default_avatar_region()

    def magenta_shown() -> bool:
        shown = snapshot(app, tmp_path / "good.png")[rect.left : rect.right, rect.top : rect.bottom]
        return bool((np.abs(shown - MAGENTA).max(axis=2) <= 2).sum() > rect.width * rect.height / 4)

    wait_until(magenta_shown, 10, "the loaded avatar on the screen", poll=0.2)
    assert avatar_warnings(app) == []
