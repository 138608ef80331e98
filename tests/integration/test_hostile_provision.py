"""Hostile inputs around provisioning and the configuration, end to end with real processes.

- A provisioning server that redirects elsewhere (another host; https to plain http): the
  device's secrets must not follow, and the refusal is said once and not retried.
- Files that are not files: a FIFO or ``/dev/zero`` as the configuration (or the API key
  file), a huge sparse file: a clear error at once, in bounded memory.
- A Deep Chat JSON with a million tools, or a megabyte of them, to import.
- A ``function_handler`` that calls ``sys.exit()``: at import at start, at import at reload,
  and at a call.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from fault_matrix import row
from rig import HANDLERS_DIR, session_config

from appliance.rig.httpserver import LocalHTTPServer
from appliance.rig.process import ROOT, child_env, run_measured, wait_until

pytestmark = pytest.mark.hostile

TOKEN = "device-token-hostile-8d2c"
PEAK_MIB = 100
"""A short-lived ``appliance`` command's peak memory: about 50 MiB; a read of ``/dev/zero`` or
of a million tools took gigabytes."""
QUICK_S = 10
"""A refusal is immediate (about 0.5 s, the interpreter's start); a hang hits this."""


# --- servers -------------------------------------------------------------------------------


class Recorder:
    """A real HTTP (or, with ``tls``, HTTPS) server on a loopback address, in a thread, that
    records each request (path and headers) and answers ``status`` with ``Location``."""

    def __init__(
        self, host: str, status: int = 404, location: str = "", tls: ssl.SSLContext | None = None
    ) -> None:
        self.seen: list[dict[str, Any]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                recorder.seen.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LocalHTTPServer(Handler, host, tls)
        self.url = self.server.url

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (made with the openssl tool)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl tool to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def _provisioned(sim: Any, url: str) -> dict[str, Any]:
    config = session_config(sim, "ga")
    config["realtime"]["provisioning"] = {
        "url": url,
        "headers": {"X-Device-Token": TOKEN},
        "timeout_s": 5,
    }
    return config


def _refused_at_once(app: Any) -> dict[str, Any]:
    """Press start; the appliance must give up (state error) without retrying: a retried
    failure shows ``reconnecting`` for many seconds of backoff first."""
    begun = time.monotonic()
    assert app.ctl("start")["ok"]
    status = app.wait_state("error", 15)
    assert time.monotonic() - begun < QUICK_S
    assert not any(e.get("state") == "reconnecting" for e in app.events)
    return status


@row("provision_redirect")
def test_a_provisioning_redirect_to_another_host_sends_it_nothing(fault, sim, start):
    with Recorder("127.0.0.2") as other:
        target = f"{other.url}/key?token=from-the-redirect"
        with Recorder("127.0.0.1", 307, target) as first:
            app = start(_provisioned(sim, f"{first.url}/key"))
            status = _refused_at_once(app)
            assert len(first.seen) == 1  # one request: not retried
            assert first.seen[0]["headers"]["X-Device-Token"] == TOKEN
    assert other.seen == []
    assert status["last_error"].startswith(
        f"provisioning URL {first.url}/key redirected to {other.url}/key?token=***; not followed"
    )
    log = app.log()
    assert "from-the-redirect" not in log and TOKEN not in log
    assert log.count("not followed") == 1, log[-2000:]  # said once
    assert status["state"] == fault.state and fault.shown in status["last_error"]
    assert fault.log in log


def test_an_https_provisioning_redirect_to_plain_http_sends_nothing_in_cleartext(
    sim, start, certificate
):
    cert, key = certificate
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with Recorder("127.0.0.1") as plain:
        secure = Recorder("127.0.0.1", 302, f"{plain.url}/key", tls=tls)
        with secure:
            # the appliance trusts the test certificate the way OpenSSL lets any program:
            # SSL_CERT_FILE
            app = start(_provisioned(sim, f"{secure.url}/key"), env={"SSL_CERT_FILE": str(cert)})
            status = _refused_at_once(app)
            assert len(secure.seen) == 1  # the TLS request got through, once
    assert plain.seen == []
    assert f"redirected to {plain.url}/key; not followed" in status["last_error"]
    assert "plain http" in status["last_error"]


# --- files that are not files --------------------------------------------------------------


def _appliance(*args: str, env: dict[str, str] | None = None) -> Any:
    return run_measured([sys.executable, "-m", "appliance", *args], QUICK_S, env=env or child_env())


def _refused(result: Any, *said: str) -> None:
    assert not result.timed_out, "the command hung"
    assert result.returncode == 2, result.stderr
    assert result.elapsed_s < QUICK_S and result.peak_rss_mib < PEAK_MIB, result
    for text in said:
        assert text in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, said once


@row("config_fifo")
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_fifo_as_the_config_is_an_error_at_once(fault, tmp_path, command):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    args = ["config", "validate", str(fifo)] if command == "validate" else ["run"]
    if command == "run":
        args += ["--config", str(fifo), "--display", "none"]
    result = _appliance(*args)
    _refused(result, f"error: {fifo}: cannot read a FIFO (named pipe); a config")
    assert fault.shown in result.stderr


@pytest.mark.parametrize("command", ["validate", "run", "import"])
def test_dev_zero_as_the_config_is_an_error_in_bounded_memory(tmp_path, command):
    args = {
        "validate": ["config", "validate", "/dev/zero"],
        "run": ["run", "--config", "/dev/zero", "--display", "none"],
        "import": ["config", "import", "/dev/zero", "--config", str(tmp_path / "c.toml")],
    }[command]
    _refused(_appliance(*args), "error: /dev/zero: cannot read a character device; a config")
    assert not (tmp_path / "c.toml").exists()


def test_a_huge_config_is_refused_naming_the_limit(tmp_path):
    huge = tmp_path / "config.toml"
    with huge.open("wb") as f:
        f.truncate(4 * 1024**3)  # 4 GiB of zeros, none of them on disk
    result = _appliance("config", "validate", str(huge))
    _refused(result, f"{huge}: larger than 1 MiB, the limit for a configuration file")


def test_a_fifo_api_key_file_is_an_error_and_the_appliance_stays_responsive(sim, start, tmp_path):
    fifo = tmp_path / "openai.key"
    os.mkfifo(fifo)
    config = session_config(sim, "ga", source="none")
    config["openai"]["key_file"] = str(fifo)
    app = start(config)
    status = _refused_at_once(app)
    assert status["last_error"] == (
        f"{fifo}: cannot read a FIFO (named pipe); the API key file must be a regular file"
    )
    assert app.ctl("status")["ok"]


# --- a Deep Chat JSON with too many tools ----------------------------------------------------


def _deepchat_with_tools(path: Path, count: int, tool: str) -> Path:
    with path.open("w") as f:
        f.write('{"directConnection": {"openAI": {"realtime": {"config": {"tools": [')
        f.write(",".join(tool.replace("N", str(i)) for i in range(count)))
        f.write("]}}}}}")
    return path


def test_importing_a_million_tools_fails_fast_in_bounded_memory(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text('[realtime.config]\nvoice = "alloy"\n')
    big = _deepchat_with_tools(tmp_path / "big.json", 1_000_000, '{"name": "fN"}')
    result = _appliance("config", "import", str(big), "--config", str(target))
    _refused(result, f"{big}: larger than 1 MiB, the limit for a configuration file")
    assert target.read_text() == '[realtime.config]\nvoice = "alloy"\n'


def test_importing_a_megabyte_of_tools_names_the_tools_limit(tmp_path):
    target = tmp_path / "config.toml"
    # as many tools as fit in the file size limit: 200,000 empty ones, about 800 KiB
    many = _deepchat_with_tools(tmp_path / "many.json", 200_000, "{}")
    result = _appliance("config", "import", str(many), "--config", str(target))
    assert not result.timed_out and result.returncode == 2, result.stderr
    assert result.elapsed_s < QUICK_S and result.peak_rss_mib < PEAK_MIB, result
    assert "realtime.config.tools: at most 128 items (got 200000); remove some" in result.stderr
    assert not target.exists()


# --- a function handler that exits -----------------------------------------------------------

EXITS_AT_IMPORT = "import sys\n\nsys.exit(0)\n\n\ndef handle(call):\n    return {}\n"


def _with_modules(tmp_path: Path, **modules: str) -> dict[str, str]:
    """An environment whose Python finds ``modules`` (name -> source) in ``tmp_path``."""
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source)
    return {"PYTHONPATH": os.pathsep.join(map(str, (tmp_path, HANDLERS_DIR, ROOT)))}


@row("handler_exit")
def test_a_handler_that_exits_at_import_stops_the_start_with_exit_2(fault, sim, tmp_path):
    env = _with_modules(tmp_path, exits_at_import=EXITS_AT_IMPORT)
    config = session_config(sim, "ga")
    config["realtime"]["config"]["function_handler"] = "exits_at_import:handle"
    config["control"] = {"socket": str(tmp_path / "control.sock")}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(config))
    result = _appliance("run", "--config", str(path), "--display", "none", env=child_env(**env))
    _refused(
        result,
        "realtime.config.function_handler 'exits_at_import:handle': importing "
        "'exits_at_import' failed: it called sys.exit(0); handler code must not end the process",
    )
    assert fault.shown in result.stderr


def test_a_handler_that_exits_at_import_is_refused_by_a_reload(sim, start, tmp_path):
    env = _with_modules(tmp_path, exits_at_import=EXITS_AT_IMPORT)
    app = start(session_config(sim, "ga", realtime={"auto_start": True}), env=env)
    app.wait_state("listening")
    good = app.config_path.read_text()
    app.config_path.write_text(good.replace("handlers:get_weather", "exits_at_import:handle"))
    result = app.cli("reload")
    assert result.returncode == 1 and "it called sys.exit(0)" in result.stderr, result.stderr
    app.proc.send_signal(signal.SIGHUP)  # the same by signal
    wait_until(lambda: app.log().count("reload refused") == 2, 10, "the second refusal")
    assert app.proc.poll() is None and app.ctl("status")["state"] == "listening"
    # the running config is whole: its handler still answers
    sim.script({"function_calls": [{"name": "get_weather", "arguments": '{"city": "Rome"}'}]})
    app.ctl("say", text="Weather?", role="user")
    event = app.wait_event(lambda e: e["type"] == "function_call", 15, "the function call")
    assert event["output"]["city"] == "Rome"


def test_a_handler_that_exits_at_a_call_answers_the_model_and_the_session_goes_on(sim, start):
    config = session_config(sim, "ga", realtime={"auto_start": True})
    config["realtime"]["config"]["function_handler"] = "handlers:exits"
    app = start(config)
    app.wait_state("listening")
    sim.script({"function_calls": [{"name": "get_weather", "arguments": '{"city": "Oslo"}'}]})
    app.ctl("say", text="Weather?", role="user")
    call = app.wait_event(lambda e: e["type"] == "function_call", 15, "the function call")
    assert "it called sys.exit(0)" in call["output"]["error"]
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "answer")
    outputs = [
        json.loads(e["item"]["output"])
        for e in sim.client_events("conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert outputs == [call["output"]]  # the model was told
    assert app.proc.poll() is None and app.ctl("status")["state"] in ("listening", "speaking")
