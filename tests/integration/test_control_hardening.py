"""What a client on the same host can and cannot do to the appliance through its socket:
configuration changes are all-or-nothing, input is bounded, and nothing is written where the
client chose. Each test failed before its fix."""

from __future__ import annotations

import json
import os
import socket
import time

import pygame
from rig import session_config

from appliance.bench.soak import sample
from appliance.rig.process import wait_until


def test_update_config_cannot_name_a_function_handler_and_a_refusal_changes_nothing(sim, start):
    app = start(session_config(sim, "ga", realtime={"auto_start": True}))
    app.wait_state("listening")
    for handler in ("nope:x", "this:s"):  # "this" prints the Zen of Python when imported
        reply = app.ctl("update-config", config={"function_handler": handler})
        assert reply["ok"] is False and "configuration file" in reply["error"], reply
    assert "Beautiful is better than ugly" not in app.log()  # nothing was imported
    # nothing was kept: a valid change still goes through, the functions still work
    assert app.ctl("update-config", config={"instructions": "Answer in French."})["ok"]
    sim.script({"function_calls": [{"name": "get_weather", "arguments": '{"city": "Oslo"}'}]})
    app.ctl("say", text="Weather?", role="user")
    event = app.wait_event(lambda e: e["type"] == "function_call", 15, "the function call")
    assert event["output"]["city"] == "Oslo"


def test_an_invalid_update_is_refused_whole(sim, start):
    app = start(session_config(sim, "ga", realtime={"auto_start": True}))
    app.wait_state("listening")
    reply = app.ctl("update-config", config={"voice": "verse", "temperature": "hot"})
    assert reply["ok"] is False
    update = app.ctl("update-config", config={"instructions": "Be brief."})
    assert update["ok"] and update["sent"]
    wait_until(lambda: sim.client_events("session.update"), 10, "the session.update")
    sent = sim.client_events("session.update")[-1]["session"]
    assert "voice" not in json.dumps(sent)  # the refused change left no trace


def test_a_client_that_keeps_sending_cannot_grow_the_appliance(sim, start):
    app = start(session_config(sim, "ga"))
    before = sample(app.proc.pid).rss_bytes
    chunk = b"x" * (1 << 20)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(app.socket))
        sock.sendall(b'{"cmd": "events"}\n')
        sock.makefile("rb").readline()  # subscribed
        for _ in range(96):  # 96 MiB the appliance never asked for
            sock.sendall(chunk)
        assert app.ctl("status")["ok"]
        grown = sample(app.proc.pid).rss_bytes - before
    assert grown < 32 * (1 << 20), f"the appliance grew by {grown / (1 << 20):.0f} MiB"


def test_a_request_line_over_the_limit_gets_an_error_reply(sim, start):
    app = start(session_config(sim, "ga"))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(app.socket))
        sock.sendall(b'{"cmd": "status", "pad": "' + b"x" * (200 * 1024) + b'"}\n')
        reply = json.loads(sock.makefile().readline())
    assert reply["ok"] is False and "too long" in reply["error"]
    assert app.ctl("status")["ok"]


def test_a_snapshot_is_written_by_the_client_not_by_the_service(sim, start, tmp_path):
    app = start(session_config(sim, "ga"))
    victim = tmp_path / "important.txt"
    victim.write_text("keep me")
    reply = app.ctl("snapshot", path=str(victim))  # an old-style request naming a path
    assert victim.read_text() == "keep me"  # the service wrote nothing there
    assert reply["ok"] and "png" in reply and "path" not in reply
    shot = tmp_path / "mine" / "screen.png"
    result = app.cli("snapshot", str(shot))
    assert result.returncode == 0, result.stderr
    assert pygame.image.load(str(shot)).get_size() == (800, 480)
    assert shot.stat().st_uid == os.geteuid()
    assert time.time() - shot.stat().st_mtime < 60


def test_a_reload_that_fails_changes_nothing(sim, start):
    app = start(session_config(sim, "ga", realtime={"auto_start": True}))
    app.wait_state("listening")
    good = app.config_path.read_text()
    app.config_path.write_text(good.replace("handlers:get_weather", "nosuchmodule:f"))
    reply = app.ctl("reload")
    assert reply["ok"] is False and "nosuchmodule" in reply["error"]
    # the running config is whole: functions work, and a valid reload later goes through
    sim.script({"function_calls": [{"name": "get_weather", "arguments": '{"city": "Rome"}'}]})
    app.ctl("say", text="Weather?", role="user")
    event = app.wait_event(lambda e: e["type"] == "function_call", 15, "the function call")
    assert event["output"]["city"] == "Rome"
    app.config_path.write_text(good)
    assert app.ctl("reload")["ok"]


def test_stopping_with_a_subscriber_attached_logs_no_error(sim, start):
    app = start(session_config(sim, "ga"))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(app.socket))
        sock.sendall(b'{"cmd": "events"}\n')
        sock.makefile("rb").readline()  # subscribed, and stays so while the appliance stops
        assert app.stop() == 0
    assert "Traceback" not in app.log() and "ERROR" not in app.log(), app.log()[-2000:]
