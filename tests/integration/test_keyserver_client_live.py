"""The appliance's side of the key server, end to end: a real ``appliance run`` against a real
HTTP server on a loopback address that answers as the key server does.

- Its refusals are shown in the visitor's words (the daily limit, busy, a removed device) and
  cause no retry storm: a 429 is not asked again before its ``Retry-After``, a 401 not before
  the next press.
- The device token goes out as ``Authorization: Bearer`` and nowhere else (not the log, not
  ``config show``).
- Each session's usage is reported with the token; reports wait on disk while the server is
  down and go out after a restart; a refused report is dropped, a failed one kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from fault_matrix import row
from rig import SIM_API_KEY, cli, session_config

from appliance.config import validate
from appliance.labels import Labels
from appliance.realtime.refusals import state_dir
from appliance.realtime.reporter import UsageReporter
from appliance.realtime.usage import FOLDER_NAME, ReportQueue, Tally, make_report
from appliance.rig.httpserver import LocalHTTPServer
from appliance.rig.process import wait_until
from appliance.rig.sim import Sim
from appliance.state import Phase, View

TOKEN = "kst_device-7f3a9c2e41b8"
SIM_USAGE = {"input_tokens": 20, "output_tokens": 40}
"""What the simulator's every response.done says it used (appliance/sim/session.py USAGE)."""


class KeyServer:
    """A key server's double: answers ``POST /key`` and ``POST /usage`` with what a test set,
    and records every request (path, headers, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.key_reply: tuple[int, dict[str, str], bytes] = (500, {}, b"")
        self.usage_status = 200
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 65536))
                with double._lock:
                    double.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(body) if body else None,
                            "at": time.monotonic(),
                        }
                    )
                if self.path.startswith("/key"):
                    status, headers, reply = double.key_reply
                else:
                    status, headers, reply = double.usage_status, {}, b'{"ok": true}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LocalHTTPServer(Handler)
        self.url = self.server.url

    def refuse(self, status: int, code: str, message: str, retry_after: str | None = None):
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.key_reply = (status, headers, body)

    def seen(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"].startswith(path)]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def keyserver():
    double = KeyServer()
    yield double
    double.close()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "provisioning.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def refused_config(sim: Sim, keyserver: KeyServer, token_file: Path) -> dict[str, Any]:
    config = session_config(sim, "ga")
    config["realtime"]["provisioning"] = {
        "url": f"{keyserver.url}/key",
        "token_file": str(token_file),
        "timeout_s": 5,
    }
    return config


def told(cause: str, language: str = "en") -> list[str]:
    """What the screen shows between the buttons for a failure's ``cause``."""
    from appliance.display.screen import Screen

    config = validate({"display": {"language": language}})
    return Screen(config, (800, 480)).middle_lines(View(phase=Phase.ERROR, error_cause=cause))


def errors(app) -> int:
    return sum(1 for e in app.events if e.get("type") == "state" and e.get("state") == "error")


def press_to_error(app, timeout: float = 15) -> dict[str, Any]:
    """Press start, and wait until the appliance is in error again (a new error state)."""
    before = errors(app)
    assert app.ctl("start")["ok"]
    wait_until(lambda: errors(app) > before, timeout, "the error state again")
    status = app.ctl("status")
    assert status["state"] == "error"
    return status


@row("keyserver_limit")
def test_a_spent_budget_shows_the_daily_limit_and_asks_no_more_before_retry_after(
    fault, sim, start, keyserver, token_file
):
    keyserver.refuse(429, "daily_sessions", "50 sessions a day", retry_after="3600")
    app = start(refused_config(sim, keyserver, token_file))
    status = press_to_error(app)
    (request,) = keyserver.seen("/key")
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert told(status["last_error"]) == ["Error", Labels("en")["limit_reached"]]
    assert told(status["last_error"], "de")[1] == "Tageslimit erreicht; morgen geht es weiter"
    assert "daily_sessions" in status["last_error"] and "60 min" in status["last_error"]
    assert fault.shown in status["last_error"] and fault.log in app.log()
    assert not any(e.get("state") == "reconnecting" for e in app.events)  # not retried
    for _ in range(3):  # presses before the Retry-After: told again, nothing asked
        again = press_to_error(app)
        assert told(again["last_error"])[1] == Labels("en")["limit_reached"]
    assert len(keyserver.seen("/key")) == 1
    assert app.ctl("reload")["ok"]  # a reload (a raised budget, a new server) asks again
    press_to_error(app)
    assert len(keyserver.seen("/key")) == 2
    assert TOKEN not in app.log()


def test_the_token_comes_from_the_systemd_credential(sim, start, keyserver, tmp_path):
    credentials = tmp_path / "credentials"  # what systemd's LoadCredential= makes
    credentials.mkdir(mode=0o700)
    (credentials / "provisioning.token").write_text(TOKEN)
    config = session_config(sim, "ga")
    config["realtime"]["provisioning"] = {"url": f"{keyserver.url}/key", "timeout_s": 5}
    keyserver.refuse(429, "fleet_cap", "the fleet spent today's budget", retry_after="600")
    app = start(config, env={"CREDENTIALS_DIRECTORY": str(credentials)})
    status = press_to_error(app)
    (request,) = keyserver.seen("/key")
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert told(status["last_error"])[1] == Labels("en")["limit_reached"]
    assert TOKEN not in app.log()


@row("keyserver_busy")
def test_a_rate_limit_shows_busy_and_waits_for_its_retry_after(
    fault, sim, start, keyserver, token_file
):
    keyserver.refuse(429, "rate_limited", "too many keys", retry_after="2")
    app = start(refused_config(sim, keyserver, token_file))
    status = press_to_error(app)
    assert told(status["last_error"], "fr")[1] == Labels("fr")["busy"]
    assert fault.shown in status["last_error"] and fault.log in app.log()
    first = keyserver.seen("/key")[0]["at"]
    press_to_error(app)
    assert len(keyserver.seen("/key")) == 1  # within the Retry-After: no request

    def asked_again() -> bool:
        press_to_error(app)
        return len(keyserver.seen("/key")) == 2

    wait_until(asked_again, 20, "a key request after the Retry-After", poll=0.3)
    assert keyserver.seen("/key")[1]["at"] - first >= 1.9  # not before its Retry-After


@row("keyserver_revoked")
def test_a_removed_device_is_told_and_not_retried_and_its_token_stays_secret(
    fault, sim, start, keyserver, token_file
):
    keyserver.refuse(401, "revoked", f"the token {TOKEN} was revoked")
    app = start(refused_config(sim, keyserver, token_file))
    status = press_to_error(app)
    assert not any(e.get("state") == "reconnecting" for e in app.events)
    assert told(status["last_error"], "es")[1] == Labels("es")["device_removed"]
    assert told(status["last_error"])[1] == "This device was removed from the key server"
    assert fault.shown in status["last_error"] and fault.log in app.log()
    assert len(keyserver.seen("/key")) == 1  # not retried on its own
    press_to_error(app)  # a press asks once more
    assert len(keyserver.seen("/key")) == 2
    assert TOKEN not in status["last_error"] and TOKEN not in app.log()
    shown = cli("config", "show", "--config", str(app.config_path))
    assert shown.returncode == 0 and str(token_file) in shown.stdout
    assert TOKEN not in shown.stdout and TOKEN not in app.config_path.read_text()


# --- usage reports ------------------------------------------------------------------------------


@pytest.fixture
def guarded_sim():
    """The simulator whose /provision wants the device token as a bearer token."""
    server = Sim("--api-key", SIM_API_KEY, "--provision-token", TOKEN)
    yield server
    server.stop()


def reporting_config(sim: Sim, usage_url: str, token_file: Path) -> dict[str, Any]:
    config = session_config(sim, "ga")
    config["realtime"]["provisioning"] = {
        "url": f"{sim.url}/provision?shape=value",
        "token_file": str(token_file),
        "usage_url": usage_url,
        "timeout_s": 5,
    }
    return config


def queued() -> list[Path]:
    folder = state_dir()
    assert folder is not None
    return sorted((folder / FOLDER_NAME).glob("*.json"))


def one_session(app, press: bool = True) -> None:
    """A session with at least one answer, stopped by a press (or left live)."""
    app.ctl("start")
    app.wait_state("listening")
    answers = sum(1 for e in app.events if e.get("type") == "transcript")
    assert app.ctl("say", text="Hello there", role="user", respond=True)["ok"]
    wait_until(
        lambda: sum(1 for e in app.events if e.get("type") == "transcript") > answers,
        20,
        "an answer",
    )
    if press:
        app.ctl("stop")
        app.wait_state("idle")


def test_a_session_reports_its_usage_with_the_token(guarded_sim, start, keyserver, token_file):
    app = start(reporting_config(guarded_sim, f"{keyserver.url}/usage", token_file))
    one_session(app)
    wait_until(lambda: keyserver.seen("/usage"), 15, "the usage report")
    (request,) = keyserver.seen("/usage")
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    report = request["body"]
    n = report["responses"]
    assert n >= 1 and report["stop_reason"] == "press"
    usage = report["usage"]
    assert usage["input_tokens"] == 20 * n and usage["output_tokens"] == 40 * n
    assert usage["input_token_details"] == {
        "audio_tokens": 15 * n,
        "text_tokens": 5 * n,
        "cached_tokens": 3 * n,
    }
    assert usage["output_token_details"] == {"audio_tokens": 30 * n, "text_tokens": 10 * n}
    assert 0 < report["session_seconds"] < 60 and report["started_at"].endswith("Z")
    assert len(report["report_id"]) == 36
    wait_until(lambda: not queued(), 10, "the queue emptied")  # sent: no longer waiting
    assert TOKEN not in app.log()


@row("usage_down")
def test_reports_wait_on_disk_while_the_server_is_down_and_go_after_a_restart(
    fault, guarded_sim, start, keyserver, token_file
):
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}/usage"
    first = start(reporting_config(guarded_sim, down, token_file))
    one_session(first)
    wait_until(lambda: fault.log in first.log(), 15, "a failed send")
    (waiting,) = queued()
    assert os.stat(waiting).st_mode & 0o777 == 0o600
    one_session(first, press=False)
    assert first.stop() == 0  # stopped while live: its report is on disk before the exit
    kept = [json.loads(path.read_text()) for path in queued()]
    assert [r["stop_reason"] for r in kept] == ["press", "shutdown"]
    start(reporting_config(guarded_sim, f"{keyserver.url}/usage", token_file))
    wait_until(lambda: len(keyserver.seen("/usage")) == 2, 15, "the reports after the restart")
    delivered = keyserver.seen("/usage")
    assert [d["body"] for d in delivered] == kept  # oldest first
    assert all(d["headers"]["Authorization"] == f"Bearer {TOKEN}" for d in delivered)
    wait_until(lambda: not queued(), 10, "the queue emptied")


@pytest.mark.parametrize(
    "status, kept, said",
    [(200, False, "sent"), (400, False, "dropped"), (503, True, "not sent"), (429, True, "busy")],
)
def test_what_becomes_of_a_report_by_the_servers_answer(
    tmp_path, keyserver, token_file, caplog, status, kept, said
):
    """The sender against a real HTTP server, with a real queue on disk (in this process)."""
    keyserver.usage_status = status
    config = validate(
        {
            "realtime": {
                "provisioning": {
                    "url": f"{keyserver.url}/key",
                    "token_file": str(token_file),
                }
            }
        }
    )
    queue = ReportQueue(tmp_path / "usage")
    name = queue.put(make_report(Tally(), 3.0, "idle", time.time()))
    reporter = UsageReporter(config, Tally, queue, rand=lambda: 0.5)
    with caplog.at_level("INFO"):
        wait = asyncio.run(reporter.send_waiting())
    (request,) = keyserver.seen("/usage")  # derived from the key URL
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert (queue.names() == [name]) is kept
    assert (wait is not None) is kept
    assert said in caplog.text and TOKEN not in caplog.text
