"""The optional web page at ``GET /``: one HTML file, read once at start, never anything else.

``[keyserver] page`` names the file (``"builtin"``: ``assets/keyserver-page.html``, a Deep Chat
OpenAI Realtime page whose ``fetchEphemeralKey`` posts to ``/key?shape=client_secret`` on the
same origin). The file is read with :func:`appliance.files.read_small` (a regular file, at most
:data:`PAGE_LIMIT` bytes) and served with a strict Content-Security-Policy: the page's own inline
scripts (by their SHA-256), Deep Chat from :data:`DEEP_CHAT_URL` only, requests to the server
itself and to the OpenAI API (Deep Chat's WebRTC offer), inline styles (Deep Chat's shadow DOM).
No directory is served.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from appliance.config.messages import ConfigError
from appliance.files import FileRefused, read_small

BUILTIN = "builtin"
"""``page = "builtin"``: the shipped page."""
BUILTIN_FILE = "keyserver-page.html"
PAGE_LIMIT = 1024 * 1024
"""The largest page: 1 MiB (the shipped one is a few KiB)."""
DEEP_CHAT_VERSION = "2.5.0"
"""Deep Chat's version the page loads: the first with the GA Realtime flow."""
DEEP_CHAT_URL = (
    f"https://cdn.jsdelivr.net/npm/deep-chat@{DEEP_CHAT_VERSION}/dist/deepChat.bundle.js"
)
"""The only script source besides the page's own inline scripts."""
OPENAI_API = "https://api.openai.com"
"""Where Deep Chat sends the WebRTC offer (``/v1/realtime/calls``) with the ephemeral key."""

_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class Page:
    """The page's bytes and the headers it is served with."""

    body: bytes
    headers: dict[str, str]


def content_security_policy(html: str) -> str:
    """The page's CSP: its inline scripts by hash, Deep Chat's pinned file, nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {hashes} {DEEP_CHAT_URL}".replace("  ", " "),
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "media-src blob:",
            f"connect-src 'self' {OPENAI_API}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def page_path(setting: str) -> Path:
    """The file ``keyserver.page`` names (``"builtin"``: the shipped page)."""
    if setting != BUILTIN:
        return Path(setting)
    from appliance.display.theme import assets_dir  # only when the builtin page is asked for

    return (assets_dir() or Path("assets")) / BUILTIN_FILE


def load(setting: str) -> Page:
    """Read the page once; :class:`ConfigError` naming ``keyserver.page`` and the fix."""
    path = page_path(setting)
    try:
        body = read_small(path, PAGE_LIMIT, "the key server's page")
        html = body.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f'keyserver.page: {path} does not exist; give an HTML file or "{BUILTIN}"'
        ) from None
    except FileRefused as exc:
        raise ConfigError(f"keyserver.page: {path} {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"keyserver.page: {path} cannot be read ({exc})") from None
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(html),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return Page(body, headers)
