"""No secret in any output of a full run: logs, events, status replies, error texts, CLI output.

The run uses every kind of secret (a real API key, a provisioning token, a static ephemeral key
and the ephemeral keys minted during the run) and provokes errors whose bodies and messages
contain them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from rig import MODELS, handlers_env

from appliance.rig.process import wait_until
from appliance.rig.sim import Sim

API_KEY = "sk-proj-SECRETapikey0123456789"
TOKEN = "device-token-SECRET-4242"
EPHEMERAL = re.compile(r"ek_(?!\*\*\*)[A-Za-z0-9_\-]{4,}")


@pytest.fixture
def secret_sim():
    server = Sim("--api-key", API_KEY, "--provision-token", TOKEN)
    yield server
    server.stop()


def mint_static_key(sim: Sim) -> str:
    req = urllib.request.Request(
        sim.url + "/provision?shape=value",
        data=b"",
        headers={"Authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["value"]


def leaks(text: str, static_key: str) -> list[str]:
    found = [s for s in (API_KEY, TOKEN, static_key) if s in text]
    found += EPHEMERAL.findall(text)
    return found


@pytest.mark.parametrize("source", ["provisioning", "mint"])
def test_no_secret_in_any_output(secret_sim, start, source):
    sim = secret_sim
    static_key = mint_static_key(sim)
    realtime = {
        "ephemeral_key": static_key,
        "config": {"model": MODELS["ga"], "instructions": "Be brief."},
    }
    openai = {"api_base": sim.url, "dialect": "ga", "key": API_KEY}
    if source == "provisioning":
        realtime["provisioning"] = {
            "url": f"{sim.url}/provision?shape=client_secret",
            "headers": {"Authorization": f"Bearer {TOKEN}"},
        }
    config = {
        "openai": openai,
        "realtime": realtime,
        "recovery": {"backoff_initial_s": 0.1, "backoff_max_s": 0.2, "max_attempts": 1},
        "logging": {"level": "DEBUG"},
    }
    app = start(config)
    outputs: list[str] = []

    # 1st session: the static key; 2nd and later: fetched or minted keys
    for _ in range(2):
        outputs.append(json.dumps(app.ctl("start")))
        outputs.append(json.dumps(app.wait_state("listening")))
        app.ctl("say", text="hello", role="user")
        app.wait_event(lambda e: e["type"] == "transcript" and "hello" in e["text"], 10, "answer")
        outputs.append(json.dumps(app.ctl("stop")))
        app.wait_state("idle")

    # errors whose texts carry secrets
    path = "/provision" if source == "provisioning" else "/v1/realtime/client_secrets"
    body = f"upstream said: Authorization: Bearer {TOKEN}; key {API_KEY}; issued ek_leak12345"
    sim.script({"fault": "http", "path": path, "status": 500, "count": 5, "body": body})
    app.ctl("start")
    status = app.wait_state("error")
    assert "HTTP 500" in status["last_error"]
    outputs.append(json.dumps(status))
    sim.script({"fault": "clear"})
    app.ctl("start")
    app.wait_state("listening")
    sim.script({"fault": "error", "fatal": False, "code": "x", "message": f"your key {API_KEY}"})
    app.wait_event(lambda e: e["type"] == "error" and "your key" in e["message"], 10, "error")
    outputs.append(json.dumps(app.ctl("status")))

    config_path = str(app.config_path)
    for args in (["config", "show"], ["config", "get", "openai.key"], ["status"]):
        cli = subprocess.run(
            [sys.executable, "-m", "appliance", *args, "--config", config_path]
            + (["--socket", str(app.socket)] if args == ["status"] else []),
            capture_output=True,
            text=True,
            timeout=30,
            env=handlers_env(),
        )
        outputs.append(cli.stdout + cli.stderr)

    outputs.append(json.dumps(app.events))
    assert app.stop() == 0
    outputs.append(app.log_path.read_text())
    everything = "\n".join(outputs)
    assert "your key" in everything and "upstream said" in everything  # the texts are there...
    assert leaks(everything, static_key) == []  # ...without the secrets


# --- the environment: a key given as APPLIANCE_OPENAI__KEY ----------------------------------


def without_privileges() -> tuple[str, ...]:
    """The argv prefix that runs a command as an ordinary process of this user. As root, that
    is root without capabilities (``setpriv``): CAP_SYS_PTRACE would read any process's
    ``/proc/PID/environ``, which is no test of what another process of the same user sees."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's capabilities")
    prefix = (setpriv, "--bounding-set=-all", "--inh-caps=-all", "--")
    probe = subprocess.run(
        [*prefix, "grep", "^CapEff:", "/proc/self/status"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.split()[1:] != ["0000000000000000"]:
        pytest.skip(f"cannot drop root's capabilities here: {probe.stderr.strip()}")
    return prefix


def env_key_config(sim: Sim) -> dict:
    """A config whose only key source is ``APPLIANCE_OPENAI__KEY`` (given by the test)."""
    return {
        "openai": {"api_base": sim.url, "dialect": "ga"},
        "realtime": {"config": {"model": MODELS["ga"], "instructions": "Be brief."}},
    }


def test_a_hook_cannot_read_the_key_from_the_appliance_environment(secret_sim, start, tmp_path):
    """A hook (the same user, the appliance's child) reads ``/proc/$PPID/environ``: refused,
    and the key is not in the environment the appliance still has."""
    prefix = without_privileges()
    seen = tmp_path / "seen"
    reader = 'cat "/proc/$PPID/environ" > "$0.environ" 2> "$0.err"; echo $? > "$0.rc"'
    config = {**env_key_config(secret_sim), "hooks": {"started": [["sh", "-c", reader, str(seen)]]}}
    app = start(config, env={"APPLIANCE_OPENAI__KEY": API_KEY}, prefix=prefix)
    app.ctl("start")
    app.wait_state("listening")  # the key from the environment works
    rc = Path(f"{seen}.rc")
    wait_until(lambda: rc.exists() and rc.read_text().strip(), 10, "the hook's reading")
    got = Path(f"{seen}.environ").read_bytes() + Path(f"{seen}.err").read_bytes()
    assert API_KEY.encode() not in got
    assert rc.read_text().strip() != "0" and b"Permission denied" in got
    # what the tests and benchmarks read of a running appliance stays readable
    status = subprocess.run(
        [*prefix, "grep", "^VmHWM:", f"/proc/{app.proc.pid}/status"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert status.returncode == 0 and status.stdout.split()[-1] == "kB"


def test_the_key_leaves_the_environment_but_survives_a_reload(secret_sim, start):
    """Even a reader allowed to see ``/proc/PID/environ`` (root) finds no key there; a reload,
    which reads the configuration again, still has it."""
    app = start(env_key_config(secret_sim), env={"APPLIANCE_OPENAI__KEY": API_KEY})
    environ = Path(f"/proc/{app.proc.pid}/environ").read_bytes()
    assert API_KEY.encode() not in environ and b"APPLIANCE_OPENAI__KEY" not in environ
    assert b"PATH=" in environ  # the rest of the environment is as it was
    assert app.ctl("reload")["ok"] is True
    app.ctl("start")
    app.wait_state("listening")
    assert app.stop() == 0
    assert API_KEY not in app.log()
