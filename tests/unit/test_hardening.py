"""Hardening: what leaves the appliance (hook environments, printed configs, error texts) and
what it reads from the network. Each test was written to fail on the code before its fix.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pytest

from appliance.cli import main
from appliance.display.images import load_avatar
from appliance.hooks import hook_env
from appliance.realtime.keys import excerpt
from appliance.redaction import REDACTOR, RedactingFilter, mask_url, printable

# --- 12: hooks get a clean environment ----------------------------------------------------------


def test_hook_env_passes_only_path_lang_home_and_the_event() -> None:
    base = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/var/lib/appliance",
        "APPLIANCE_OPENAI__KEY": "sk-proj-secret0123456789",
        "APPLIANCE_REALTIME__PROVISIONING__HEADERS": '{"Authorization": "Bearer tok"}',
        "CREDENTIALS_DIRECTORY": "/run/credentials/appliance.service",
        "NOTIFY_SOCKET": "/run/systemd/notify",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "PYTHONPATH": "/opt/appliance",
    }
    env = hook_env({"type": "state", "state": "listening", "muted": False}, base)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/var/lib/appliance",
        "APPLIANCE_EVENT": "state",
        "APPLIANCE_TYPE": "state",
        "APPLIANCE_STATE": "listening",
        "APPLIANCE_MUTED": "false",
    }
    assert hook_env({"type": "started"}, {})["PATH"]  # a hook can always find its programs


# --- 13: credentials inside URLs, control characters from outside ------------------------------

URL_SECRETS = ("alice", "s3cr3t-pass", "tok-0123456789", "sig-abcdef")


def test_mask_url_hides_userinfo_and_query_values() -> None:
    url = "https://alice:s3cr3t-pass@keys.example.com:8443/realtime?token=tok-0123456789&sig=sig-abcdef#frag"
    masked = mask_url(url)
    assert not any(s in masked for s in URL_SECRETS), masked
    assert masked.startswith("https://***@keys.example.com:8443/realtime?")
    assert "token=***" in masked and "sig=***" in masked
    assert mask_url("https://api.openai.com") == "https://api.openai.com"
    assert mask_url("/etc/appliance/avatar.png") == "/etc/appliance/avatar.png"


def test_config_show_and_get_mask_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[openai]\n"
        'api_base = "https://alice:s3cr3t-pass@proxy.example.com"\n'
        "[realtime.provisioning]\n"
        'url = "https://keys.example.com/realtime?token=tok-0123456789"\n'
        "[realtime.avatar]\n"
        'src = "https://cdn.example.com/face.png?sig=sig-abcdef"\n'
        "[realtime.config]\n"
        'function_handler = { url = "https://alice:s3cr3t-pass@hooks.example.com/f" }\n'
    )
    assert main(["config", "show", "--config", str(path)]) == 0
    shown = capsys.readouterr().out
    assert not any(s in shown for s in URL_SECRETS), shown
    assert "proxy.example.com" in shown and "keys.example.com/realtime?token=***" in shown
    for key in (
        "openai.api_base",
        "realtime.provisioning.url",
        "realtime.provisioning",
        "realtime.avatar.src",
        "realtime.config.function_handler",
        "realtime",
    ):
        assert main(["config", "get", "--config", str(path), key]) == 0
        out = capsys.readouterr().out
        assert not any(s in out for s in URL_SECRETS), (key, out)
    assert (
        main(["config", "get", "--config", str(path), "--reveal", "realtime.provisioning.url"]) == 0
    )
    assert "tok-0123456789" in capsys.readouterr().out  # --reveal is for the administrator


def test_avatar_url_is_logged_masked(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with caplog.at_level(logging.WARNING):
        load_avatar(f"http://alice:s3cr3t-pass@127.0.0.1:{port}/face.png?sig=sig-abcdef")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "avatar.src" in logged and f"127.0.0.1:{port}/face.png" in logged
    assert not any(s in logged for s in URL_SECRETS), logged


HOSTILE = "bad\x1b[2J\x1b]0;owned\x07 key\r\nFAKE ERROR line\x00\x08\x7f\x9b\u202eevil"


def test_printable_strips_controls_and_escapes() -> None:
    clean = printable(HOSTILE)
    assert clean == "bad key FAKE ERROR line evil"
    assert printable("two\nlines\tok", keep_lines=True) == "two\nlines\tok"


def test_remote_text_reaches_errors_and_logs_without_controls() -> None:
    message = f"provisioning URL http://x/p answered HTTP 500: {excerpt(HOSTILE.encode())}"
    assert not CONTROL.search(message), repr(message)
    assert not CONTROL.search(REDACTOR(f"server error: {HOSTILE}").replace("\n", "")), "escapes"
    record = logging.LogRecord("appliance", logging.WARNING, __file__, 1, "%s", (HOSTILE,), None)
    RedactingFilter().filter(record)
    assert not CONTROL.search(record.getMessage()) and "\n" not in record.getMessage()


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
