"""The control socket as an operator meets it: permissions, snapshots, bad requests."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pygame
import pytest
from rig import cli, handlers_env, session_config


def test_socket_is_0660_and_refuses_other_users(sim, start):
    app = start(session_config(sim, "ga"))
    mode = stat.S_IMODE(os.stat(app.socket).st_mode)
    assert mode == 0o660
    if os.geteuid() != 0:
        pytest.skip("needs root to try the socket as another user")
    os.chmod(app.tmp, 0o755)  # let the other user reach the directory, not the socket
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            sys.executable,
            "-m",
            "appliance",
            "status",
            "--socket",
            str(app.socket),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=handlers_env(),
    )
    assert result.returncode == 1
    assert "permission denied" in result.stderr and "'appliance' group" in result.stderr


def test_snapshot_through_the_socket_headless(sim, start, tmp_path):
    app = start(session_config(sim, "ga"))
    app.ctl("mute")
    shot = tmp_path / "shots" / "now.png"
    result = app.cli("snapshot", str(shot))
    assert result.returncode == 0, result.stderr
    image = pygame.image.load(str(shot))
    assert image.get_size() == (800, 480)


def test_bad_requests_get_clear_answers_and_hurt_nothing(sim, start):
    app = start(session_config(sim, "ga"))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(app.socket))
        sock.sendall(b"this is not json\n")
        reply = json.loads(sock.makefile().readline())
    assert reply["ok"] is False and "JSON" in reply["error"]
    assert app.ctl("launch-rockets")["error"] == "unknown command 'launch-rockets'"
    assert app.ctl("say", text="")["ok"] is False
    assert app.ctl("update-config", config="nope")["ok"] is False
    assert app.ctl("status")["state"] == "idle"


def test_commands_without_a_running_appliance_say_so(tmp_path):
    result = cli("status", "--socket", str(tmp_path / "none.sock"), timeout=30)
    assert result.returncode == 1 and "no appliance is running" in result.stderr
