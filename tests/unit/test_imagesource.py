"""Image sources checked before decoding: header readers, limits, files that are not regular
files, downloads with a deadline and same-origin redirects, and what ``config validate`` says.

Images are made by pygame (PNG, JPEG, BMP, TGA) or written byte by byte (GIF, WebP, crafted
headers); servers are real HTTP servers on localhost.
"""

from __future__ import annotations

import base64
import http.server
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import io

import pygame
import pytest

from appliance import imagesource
from appliance.config import validate
from appliance.imagesource import (
    MAX_IMAGE_BYTES,
    MAX_SVG_ELEMENT_NUMBERS,
    MAX_SVG_ELEMENTS,
    ImageInfo,
    ImageRefused,
    check_svg,
    config_problems,
    download,
    identify,
    read_file,
)
from appliance.rig.httpserver import LocalHTTPServer

# A 1x1 lossless WebP (VP8L), as libwebp writes it.
WEBP_1X1 = bytes.fromhex("524946461a000000574542505650384c0d0000002f00000010071011118888fe0700")
# A 3x2 GIF89a: global colour table of 2, one image descriptor, LZW data.
GIF_3X2 = (
    b"GIF89a\x03\x00\x02\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x00\x00\x00\x00\x00"  # a graphic control extension first
    b",\x00\x00\x00\x00\x03\x00\x02\x00\x00\x02\x03\x84\x8f\x05\x00;"
)


def saved(kind: str, size: tuple[int, int], tmp_path: Path) -> bytes:
    """An image of ``size`` as pygame writes it in format ``kind`` (png, jpg, bmp, tga)."""
    surface = pygame.Surface(size)
    surface.fill((10, 120, 200))
    path = tmp_path / f"image.{kind}"
    pygame.image.save(surface, str(path))
    return path.read_bytes()


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG declaring ``width`` x ``height`` (enough for its header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = zlib.crc32(b"IHDR" + ihdr)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", crc)


# --- header readers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "name"), [("png", "png"), ("jpg", "jpeg"), ("bmp", "bmp")])
def test_headers_give_the_size_pygame_decodes(kind: str, name: str, tmp_path: Path) -> None:
    data = saved(kind, (37, 21), tmp_path)
    assert identify(data) == ImageInfo(name, 37, 21)
    assert pygame.image.load(io.BytesIO(data), f"x.{kind}").get_size() == (37, 21)


def test_gif_and_webp_headers_give_the_size_pygame_decodes() -> None:
    assert identify(GIF_3X2) == ImageInfo("gif", 3, 2)
    assert pygame.image.load(io.BytesIO(GIF_3X2), "x.gif").get_size() == (3, 2)
    assert identify(WEBP_1X1) == ImageInfo("webp", 1, 1)
    assert pygame.image.load(io.BytesIO(WEBP_1X1), "x.webp").get_size() == (1, 1)


def test_a_jpeg_frame_header_is_found_after_large_segments(tmp_path: Path) -> None:
    data = saved("jpg", (40, 30), tmp_path)
    app1 = b"\xff\xe1" + struct.pack(">H", 60002) + bytes(60000)  # e.g. EXIF
    assert identify(data[:2] + app1 + app1 + data[2:]) == ImageInfo("jpeg", 40, 30)


def test_a_gif_frame_larger_than_its_screen_counts() -> None:
    data = bytearray(GIF_3X2)
    frame = data.index(b",")
    data[frame + 5 : frame + 9] = struct.pack("<HH", 9000, 9000)
    with pytest.raises(ImageRefused, match="9000x9000"):
        identify(bytes(data))


def test_crafted_headers_of_each_format_are_read() -> None:
    bmp = b"BM" + bytes(12) + struct.pack("<Iii", 40, 4000, -3000)
    assert identify(bmp + bytes(30)) == ImageInfo("bmp", 4000, 3000)
    os2 = b"BM" + bytes(12) + struct.pack("<IHH", 12, 300, 200)
    assert identify(os2 + bytes(10)) == ImageInfo("bmp", 300, 200)
    vp8x = b"RIFF\x00\x00\x00\x00WEBPVP8X" + bytes(8) + (1999).to_bytes(3, "little") * 2
    assert identify(vp8x) == ImageInfo("webp", 2000, 2000)
    vp8 = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(7) + b"\x9d\x01\x2a" + struct.pack("<HH", 64, 48)
    assert identify(vp8) == ImageInfo("webp", 64, 48)
    assert identify(png_header(4000, 4000)) == ImageInfo("png", 4000, 4000)  # 16 MP: allowed


def test_a_decompression_bomb_is_refused_by_its_header() -> None:
    with pytest.raises(ImageRefused) as refused:
        identify(png_header(20000, 20000))
    message = str(refused.value)
    assert "20000x20000" in message and "limit of 16 megapixels" in message
    with pytest.raises(ImageRefused, match="4001x4000"):
        identify(png_header(4001, 4000))


def test_unknown_truncated_and_sizeless_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageRefused, match="not a PNG, JPEG, GIF, BMP, WebP or SVG"):
        identify(saved("tga", (8, 8), tmp_path))  # SDL_image reads it, nothing checks it
    with pytest.raises(ImageRefused, match="truncated"):
        identify(png_header(10, 10)[:20])
    with pytest.raises(ImageRefused, match="truncated"):
        identify(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(ImageRefused, match="no size"):
        identify(png_header(0, 10))
    with pytest.raises(ImageRefused, match="without an image"):
        identify(GIF_3X2[:19] + b";")


def test_a_webp_with_svg_text_early_is_refused() -> None:
    """SDL_image tries its SVG reader first: such a file would be drawn as that SVG."""
    sneaky = WEBP_1X1 + b'<svg width="20000" height="20000"></svg>'
    with pytest.raises(ImageRefused, match="SVG text"):
        identify(sneaky)


def test_too_many_bytes_are_refused() -> None:
    with pytest.raises(ImageRefused, match="over the limit of 16 MiB"):
        identify(png_header(10, 10) + bytes(MAX_IMAGE_BYTES))


# --- SVG ---------------------------------------------------------------------------------------


def svg(body: str, root: str = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'):
    return f"{root}{body}</svg>"


def test_an_ordinary_icon_passes() -> None:
    check_svg(svg('<rect x="5" y="5" width="14" height="14" rx="2.4" fill="#383838"/>'))
    assert identify(svg("<rect/>").encode()) == ImageInfo("svg")


def test_svgs_over_the_limits_are_refused() -> None:
    with pytest.raises(ImageRefused, match=f"{MAX_SVG_ELEMENTS + 2} elements"):
        check_svg(svg("<rect/>" * (MAX_SVG_ELEMENTS + 1)))
    check_svg(svg("<rect/>" * (MAX_SVG_ELEMENTS - 1)))
    points = " ".join(f"L{i % 24} {i % 7}" for i in range(MAX_SVG_ELEMENT_NUMBERS // 2 + 1))
    with pytest.raises(ImageRefused, match="an element of 2004 numbers"):
        check_svg(svg(f'<path d="M0 0 {points}"/>'))
    many = "".join(f'<path d="M0 0 {" ".join(["L1 2"] * 900)}"/>' for _ in range(25))
    with pytest.raises(ImageRefused, match=r"numbers \(coordinates\), over the limit of 40000"):
        check_svg(svg(many))
    with pytest.raises(ImageRefused, match="over the limit of 1 MiB"):
        check_svg(svg("<!--" + "x" * 2**20 + "-->"))


def test_an_svg_must_hold_exactly_one_svg_element() -> None:
    """nanosvg takes its canvas size from any ``<svg>``, even one in a comment."""
    with pytest.raises(ImageRefused, match="2 <svg> elements"):
        check_svg('<!-- <svg width="1" height="1"> --><svg width="30000" height="30000"></svg>')
    with pytest.raises(ImageRefused, match="2 <svg> elements"):
        check_svg(svg('<svg width="30000" height="30000"/>'))


# --- files -------------------------------------------------------------------------------------


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_header(3, 3))
    assert read_file(path) == png_header(3, 3)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "avatar.png"
    os.mkfifo(fifo)
    began = time.monotonic()
    with pytest.raises(ImageRefused, match=r"not a regular file \(a FIFO"):
        read_file(fifo)
    assert time.monotonic() - began < 1


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "character device"), ("/", "directory")])
def test_devices_and_directories_are_refused(path: str, kind: str) -> None:
    with pytest.raises(ImageRefused, match=kind):
        read_file(Path(path))


def test_a_file_over_the_byte_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as out:
        out.truncate(MAX_IMAGE_BYTES + 1)  # sparse: nothing to read
    with pytest.raises(ImageRefused, match=r"is larger than 16 MiB"):
        read_file(path)


# --- downloads ---------------------------------------------------------------------------------


class Server:
    """A real HTTP server on localhost answering ``routes[path]`` = (status, headers, body);
    ``/drip`` sends one byte every 0.2 s for ever."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.auth: list[str | None] = []
        self.closing = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.auth.append(self.headers.get("Authorization"))
                if self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    try:
                        while not server.closing.wait(0.2):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                    except OSError:
                        pass
                    return
                status, headers, body = server.routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = LocalHTTPServer(Handler)
        self.port, self.url = self.httpd.port, self.httpd.url

    def close(self) -> None:
        self.closing.set()
        self.httpd.close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def test_a_download_has_a_deadline_for_the_whole_of_it(server: Server) -> None:
    """Each byte comes well within the per-read timeout: only the total deadline stops it."""
    began = time.monotonic()
    with pytest.raises(ImageRefused, match="did not finish downloading within 1 s"):
        download(f"{server.url}/drip", deadline_s=1.0)
    assert 0.9 < time.monotonic() - began < 2.0


def test_same_origin_redirects_are_followed(server: Server) -> None:
    server.routes["/old"] = (302, {"Location": "/new"}, b"")
    server.routes["/new"] = (301, {"Location": f"{server.url}/face.png"}, b"")
    server.routes["/face.png"] = (200, {}, b"pixels")
    assert download(f"{server.url}/old") == b"pixels"


def test_redirects_to_another_origin_or_scheme_are_refused(server: Server) -> None:
    other = Server()
    try:
        other.routes["/face.png"] = (200, {}, b"pixels")
        server.routes["/away"] = (302, {"Location": f"{other.url}/face.png"}, b"")
        with pytest.raises(ImageRefused, match="another origin"):
            download(f"{server.url}/away")
        assert other.auth == []  # never asked
    finally:
        other.close()
    server.routes["/tls"] = (302, {"Location": f"https://127.0.0.1:{server.port}/x"}, b"")
    with pytest.raises(ImageRefused, match=r"another origin \(https://127.0.0.1"):
        download(f"{server.url}/tls")


def test_a_redirect_loop_and_errors_are_refused(server: Server) -> None:
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(ImageRefused, match="redirects more than 3 times"):
        download(f"{server.url}/loop")
    with pytest.raises(ImageRefused, match="answered HTTP 404"):
        download(f"{server.url}/missing.png")


def test_a_declared_length_over_the_limit_is_refused_unread(server: Server) -> None:
    server.routes["/big.png"] = (200, {"Content-Length": str(MAX_IMAGE_BYTES + 1)}, b"")
    with pytest.raises(ImageRefused, match="over the limit"):
        download(f"{server.url}/big.png")


def test_credentials_in_the_url_are_sent_as_basic_auth(server: Server) -> None:
    server.routes["/face.png?sig=abc"] = (200, {}, b"pixels")
    assert download(f"http://alice:s3cret@127.0.0.1:{server.port}/face.png?sig=abc") == b"pixels"
    assert server.auth == ["Basic " + base64.b64encode(b"alice:s3cret").decode()]


# --- config validate ---------------------------------------------------------------------------


def test_config_problems_name_the_source_the_size_and_the_limit(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(20000, 20000))
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    icon = svg("<rect/>" * 5000)
    config = validate(
        {
            "realtime": {
                "avatar": {"src": str(bomb)},
                "buttons": {"toggle": {"active": {"svg": {"content": icon}}}},
            }
        }
    )
    avatar, button = config_problems(config)
    assert avatar.startswith(f"realtime.avatar.src: {bomb} is a PNG of 20000x20000 pixels")
    assert "limit of 16 megapixels" in avatar and "default avatar" in avatar
    assert button.startswith("realtime.buttons.toggle.active.svg.content is an SVG of 5001")
    assert "limit of 4000" in button
    fifo_config = validate({"realtime": {"avatar": {"src": str(fifo)}}})
    assert "not a regular file (a FIFO" in config_problems(fifo_config)[0]
    missing = validate({"realtime": {"avatar": {"src": str(tmp_path / "nope.png")}}})
    assert "cannot be read (No such file or directory)" in config_problems(missing)[0]
    url = validate({"realtime": {"avatar": {"src": "https://example.com/face.png"}}})
    assert config_problems(url) == []  # not fetched here
    assert imagesource.source_problem(None) is None
