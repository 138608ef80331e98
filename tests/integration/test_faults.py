"""The fault matrix (fault_matrix.py), row by row, against real processes and scripted faults.

Each test asserts what a person sees (``appliance status`` / events), the log line, and the
recovery. Retries are made fast (short backoff) so the whole matrix runs in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import wave

import pytest
from fault_matrix import MATRIX, covered, render, row
from fault_matrix import README as README_PATH
from rig import cli, handlers_env, session_config
from splitserver import split_server, url

from appliance.rig.process import wait_until

FAST = {"backoff_initial_s": 0.1, "backoff_max_s": 0.3, "max_attempts": 2}


def assert_log(app, fault) -> None:
    if fault.log:
        wait_until(lambda: fault.log in app.log(), 5, f"log line {fault.log!r}")


def assert_shown_then_cleared(app, fault) -> None:
    """The cause was shown while it lasted (a non-fatal error event, the reconnecting
    screen's notice) and is no longer the state once the session recovered."""
    errors = [e["message"] for e in app.events if e["type"] == "error"]
    assert any(fault.shown in m for m in errors), errors
    notices = [e.get("notice") or "" for e in app.events if e.get("state") == "reconnecting"]
    assert any(fault.shown in notice for notice in notices), notices
    assert app.ctl("status")["last_error"] is None


def live(sim, start, **overrides):
    overrides.setdefault("recovery", FAST)
    app = start(session_config(sim, "ga", realtime={"auto_start": True}, **overrides))
    app.wait_state("listening")
    return app


# --- provisioning --------------------------------------------------------------------------


@row("provision_401")
def test_provision_401(sim, start, fault):
    app = start(session_config(sim, "ga", recovery=FAST))
    sim.script({"fault": "http", "path": "/provision", "status": 401, "count": 1})
    app.ctl("start")
    status = app.wait_state("error")
    assert fault.shown in status["last_error"]
    assert_log(app, fault)
    app.ctl("start")
    app.wait_state("listening")


@row("provision_500")
def test_provision_500(sim, start, fault):
    app = start(session_config(sim, "ga", recovery=FAST))
    sim.script({"fault": "http", "path": "/provision", "status": 500, "count": 1})
    app.ctl("start")
    app.wait_state("listening")
    assert "reconnecting" in [e.get("state") for e in app.events]
    assert_shown_then_cleared(app, fault)
    assert_log(app, fault)


@row("provision_timeout")
def test_provision_timeout(sim, start, fault):
    config = session_config(sim, "ga", recovery=FAST)
    config["realtime"]["provisioning"]["timeout_s"] = 0.5
    app = start(config)
    sim.script({"fault": "slow", "path": "/provision", "seconds": 3, "count": 1})
    app.ctl("start")
    app.wait_state("listening")
    assert_shown_then_cleared(app, fault)
    assert_log(app, fault)


@row("provision_garbage")
def test_provision_garbage(sim, start, fault):
    app = start(session_config(sim, "ga", recovery=FAST))
    sim.script({"fault": "garbage", "path": "/provision", "count": 1})
    app.ctl("start")
    app.wait_state("listening")
    assert_shown_then_cleared(app, fault)
    assert_log(app, fault)


@row("provision_slow")
def test_provision_slow(sim, start, fault):
    app = start(session_config(sim, "ga", recovery=FAST))
    sim.script({"fault": "slow", "path": "/provision", "seconds": 1.0, "count": 1})
    app.ctl("start")
    assert app.ctl("status")["state"] == "connecting"  # the loading look while it waits
    app.wait_state("listening")
    assert [e["state"] for e in app.events if e["type"] == "state"][:2] == [
        "connecting",
        "listening",
    ]
    assert_log(app, fault)


@row("provision_in_pieces")
@pytest.mark.parametrize("mode", ["split", "chunked"])
def test_provision_in_pieces(sim, start, fault, mode):
    def fresh_key() -> bytes:  # a real key from the simulator, sent on in two pieces
        with urllib.request.urlopen(sim.url + "/provision?shape=value", data=b"") as resp:
            return resp.read()

    with split_server(fresh_key, mode) as server:
        config = session_config(sim, "ga", recovery={**FAST, "max_attempts": 0})
        config["realtime"]["provisioning"]["url"] = url(server)
        app = start(config)
        app.ctl("start")
        app.wait_state("listening")
        assert server.served == 1
        assert_log(app, fault)


# --- keys ----------------------------------------------------------------------------------


@row("key_expired")
def test_key_expired(sim, start, fault):
    app = start(session_config(sim, "ga", recovery=FAST))
    sim.script({"fault": "expire_keys"})
    app.ctl("start")
    status = app.wait_state("error")
    assert fault.shown in status["last_error"] and "expired" in status["last_error"]
    assert "gave up" in status["last_error"]
    assert_log(app, fault)
    sim.script({"fault": "expire_keys", "enabled": False})
    app.ctl("start")  # the next press recovers at once
    app.wait_state("listening")


@row("key_reused")
def test_key_reused(sim, start, fault):
    import json
    import urllib.request

    with urllib.request.urlopen(sim.url + "/provision?shape=value", data=b"") as resp:
        key = json.loads(resp.read())["value"]
    config = session_config(sim, "ga", source="static")  # the default recovery settings
    config["realtime"]["ephemeral_key"] = key
    app = start(config)
    app.ctl("start")
    app.wait_state("listening")
    app.ctl("stop")
    app.wait_state("idle")
    seen = len(app.events)
    app.ctl("start")
    status = app.wait_state("error")
    assert fault.shown in status["last_error"]
    # known to be spent: no connection, no "reconnecting" with 5 retries first
    assert not any(e.get("state") == "reconnecting" for e in app.events[seen:])
    assert len([c for c in sim.log()["connections"] if c["accepted"]]) == 1
    assert_log(app, fault)
    assert key not in app.log()  # the key itself is never logged


# --- the socket ----------------------------------------------------------------------------


@row("socket_refused")
def test_socket_refused(sim, start, fault):
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = session_config(sim, "ga", recovery=FAST)
    config["openai"]["api_base"] = f"http://127.0.0.1:{port}"
    app = start(config)
    app.ctl("start")
    status = app.wait_state("error")
    assert fault.shown in status["last_error"]
    assert_log(app, fault)


@row("socket_dropped")
def test_socket_dropped(sim, start, fault):
    app = live(sim, start)
    sim.script({"fault": "drop", "after_deltas": 1})
    app.ctl("say", text="Tell me something", role="user")
    app.wait_event(lambda e: e["type"] == "state" and e["state"] == "reconnecting", 10, "drop")
    app.wait_state("listening")
    assert_shown_then_cleared(app, fault)
    assert_log(app, fault)


@row("server_error_nonfatal")
def test_server_error_nonfatal(sim, start, fault):
    app = live(sim, start)
    sim.script({"fault": "error", "fatal": False, "code": "rate_limited", "message": "slow down"})
    event = app.wait_event(lambda e: e["type"] == "error", 10, "server error")
    assert event["fatal"] is False and "slow down" in event["message"]
    status = app.ctl("status")
    assert status["state"] == "listening" and fault.shown in status["notice"]
    assert_log(app, fault)


@row("server_error_fatal")
def test_server_error_fatal(sim, start, fault):
    app = live(sim, start)
    sim.script({"fault": "error", "fatal": True, "code": "server_error", "message": "oops"})
    app.wait_event(lambda e: e["type"] == "state" and e["state"] == "reconnecting", 10, "retry")
    app.wait_state("listening")
    assert_shown_then_cleared(app, fault)
    assert_log(app, fault)


@row("server_error_auth")
def test_server_error_auth(sim, start, fault):
    app = live(sim, start)
    sim.script({"fault": "error", "fatal": True, "code": "invalid_api_key", "message": "bad key"})
    status = app.wait_state("error")
    assert fault.shown in status["last_error"]
    assert not any(e.get("state") == "reconnecting" for e in app.events)
    assert_log(app, fault)


@row("malformed_json")
def test_malformed_json(sim, start, fault):
    app = live(sim, start)
    sim.script({"fault": "malformed_json"})
    app.wait_event(lambda e: e["type"] == "error" and fault.shown in e["message"], 10, "notice")
    assert app.ctl("status")["state"] == "listening"
    app.ctl("say", text="still there?", role="user")  # the session still works
    app.wait_event(lambda e: e["type"] == "transcript" and "still there" in e["text"], 10, "echo")
    assert_log(app, fault)


@row("unknown_event")
def test_unknown_event(sim, start, fault):
    app = live(sim, start)
    sim.script({"fault": "unknown_event"})
    app.ctl("say", text="hello", role="user")
    app.wait_event(lambda e: e["type"] == "transcript" and "hello" in e["text"], 10, "answer")
    assert app.ctl("status")["state"] in ("listening", "speaking")
    assert not any(e["type"] == "error" for e in app.events)
    assert_log(app, fault)


# --- devices -------------------------------------------------------------------------------


@row("audio_missing")
def test_audio_missing(sim, start, tmp_path, fault):
    pytest.importorskip("pyaudio")
    config = session_config(sim, "ga", recovery=FAST)
    config["audio"] = {"backend": "pyaudio", "input_device": "no-such-microphone-xyz"}
    app = start(config, use_wav=False)
    app.ctl("start")
    status = app.wait_state("error")
    assert fault.shown in status["last_error"] and "no-such-microphone-xyz" in status["last_error"]
    assert_log(app, fault)
    # the session was live but the device was missing: the socket was closed again
    assert app.ctl("status")["session_id"] is None


@row("display_missing")
def test_display_missing(sim, start, fault, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    config = session_config(sim, "ga", realtime={"auto_start": True}, display={"mode": "window"})
    app = start(config, display=None)
    app.wait_state("listening")
    assert_log(app, fault)
    assert app.cli("press").returncode == 0
    app.wait_state("idle")


@row("gpio_missing")
def test_gpio_missing(sim, start, fault):
    config = session_config(sim, "ga", gpio={"enabled": True, "button_pin": 17})
    app = start(config)
    assert app.cli("press").returncode == 0
    app.wait_state("listening")
    assert app.cli("press", "--hold").returncode == 0
    assert app.ctl("status")["muted"] is True
    assert_log(app, fault)
    assert app.log().count("GPIO off") == 1  # said once


# --- configuration -------------------------------------------------------------------------


def run_appliance(*args: str) -> subprocess.CompletedProcess[str]:
    return cli("run", "--display", "none", *args, timeout=30)


@row("config_missing")
def test_config_missing(tmp_path, fault):
    result = run_appliance("--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 2 and fault.shown in result.stderr


@row("config_unreadable")
@pytest.mark.skipif(os.geteuid() == 0 and sys.platform != "linux", reason="root reads anything")
def test_config_unreadable(tmp_path, fault):
    path = tmp_path / "config.toml"
    path.write_text("")
    path.chmod(0)
    if os.access(path, os.R_OK):  # root: make it a directory instead, equally unreadable
        path.unlink()
        path.mkdir()
    result = run_appliance("--config", str(path))
    assert result.returncode == 2 and fault.shown in result.stderr


@row("config_invalid")
def test_config_invalid(tmp_path, fault):
    path = tmp_path / "config.toml"
    path.write_text("[realtime]\nauto_strat = true\n")
    result = run_appliance("--config", str(path))
    assert result.returncode == 2 and fault.shown in result.stderr
    assert "realtime.auto_strat" in result.stderr and "auto_start" in result.stderr


@row("config_invalid_reload")
def test_config_invalid_reload(sim, start, fault):
    app = live(sim, start)
    before = app.config_path.read_text()
    app.config_path.write_text(before + "\n[audio]\nbloc_ms = 5\n")
    reply = app.ctl("reload")
    assert reply["ok"] is False and fault.shown in reply["error"]
    assert app.ctl("status")["state"] == "listening"  # the running config is untouched
    assert_log(app, fault)
    app.config_path.write_text(before.replace("Be brief.", "Be very brief."))
    reply = app.ctl("reload")
    assert reply["ok"] and reply["session_update_sent"]
    updates = sim.client_events("session.update")
    assert updates[-1]["session"]["instructions"].endswith("Be very brief.")


# --- signals -------------------------------------------------------------------------------


@row("sigterm_speech")
def test_sigterm_mid_speech(sim, start, fault):
    sim.script({"answer_seconds": 8})
    app = live(sim, start)
    app.ctl("say", text="A long story please", role="user")
    app.wait_state("speaking")
    assert app.stop() == 0
    with wave.open(str(app.audio_out), "rb") as wav:
        assert wav.getnframes() > 0
    assert fault.log in app.log_path.read_text()


@row("sighup_speech")
def test_sighup_mid_speech(sim, start, fault):
    sim.script({"answer_seconds": 8})
    app = live(sim, start)
    app.ctl("say", text="A long story please", role="user")
    app.wait_state("speaking")
    app.proc.send_signal(signal.SIGHUP)
    assert_log(app, fault)
    assert app.ctl("status")["state"] == "speaking"  # the answer goes on
    assert app.proc.poll() is None


@row("disk_full")
def test_disk_full_when_writing_config(tmp_path, fault):
    """A file-size limit makes every write past a few bytes fail like a full disk."""
    path = tmp_path / "config.toml"
    path.write_text('[realtime.config]\nvoice = "alloy"\ninstructions = "short"\n')
    before = path.read_bytes()
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))\n"
        "from appliance.cli import main\n"
        f"sys.exit(main(['config', 'set', '--config', {str(path)!r}, "
        "'realtime.config.instructions', 'a much longer text that cannot be written']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env=handlers_env(),
    )
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert path.read_bytes() == before
    leftovers = {p.name for p in tmp_path.iterdir()} - {"config.toml", ".config.toml.lock"}
    assert not leftovers, f"temporary files left behind: {leftovers}"


@row("socket_flood")
def test_socket_flood(sim, start, fault):
    app = start(session_config(sim, "ga", realtime={"auto_start": True}))
    app.wait_state("listening")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(app.socket))
        sock.sendall(b"{" + b" " * (100 * 1024))
        reply = json.loads(sock.makefile().readline())
    assert reply["ok"] is False and fault.shown in reply["error"]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(app.socket))
        sock.sendall(b'{"cmd": "events"}\n')
        sock.makefile("rb").readline()
        for _ in range(16):
            sock.sendall(b"y" * (1 << 20))
        assert app.ctl("status")["state"] == "listening"  # unchanged, still serving


# --- the table itself ----------------------------------------------------------------------


def test_every_row_has_a_test_and_the_readme_table_is_current():
    assert {r.key for r in MATRIX} == covered()
    assert render() in README_PATH.read_text(), (
        "README.md's fault table is out of date: run python tests/integration/fault_matrix.py"
    )
