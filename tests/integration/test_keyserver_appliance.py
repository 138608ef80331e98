"""The pair, end to end: the real ``appliance run`` with its device token in a file
(``realtime.provisioning.token_file``) against the real key server (``appliance keyserver
serve``, SQLite), which mints its keys from the simulator.

A session works and its usage report reaches the server (``appliance keyserver usage --json``
shows the session's tokens and stop reason); a spent daily budget shows ``limit_reached`` on
the appliance, a revoked device ``device_removed``, and the server counts both refusals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rig import session_config

from appliance.config import validate
from appliance.labels import Labels
from appliance.rig.keyserver import KeyServerProcess, cli, enrol, request, write_config
from appliance.rig.process import wait_until
from appliance.state import Phase, View

DEVICE = "lobby-1"
SIM_PER_RESPONSE = {
    "input_audio": 15,
    "input_text": 5,
    "input_cached": 3,
    "output_audio": 30,
    "output_text": 10,
}
"""What each of the simulator's ``response.done`` says it used (appliance/sim/session.py)."""


def told(cause: str) -> str:
    """What the screen shows between the buttons for a failure's ``cause``."""
    from appliance.display.screen import Screen

    view = View(phase=Phase.ERROR, error_cause=cause)
    return Screen(validate({}), (800, 480)).middle_lines(view)[1]


def usage_days(config: Path) -> list[dict[str, Any]]:
    result = cli(config, "usage", "--device", DEVICE, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["days"]


def refusals(server: KeyServerProcess) -> dict[str, float]:
    """The server's ``appliance_keyserver_refusals_total`` by reason."""
    text = request(f"{server.url}/metrics", method="GET").raw.decode()
    prefix = 'appliance_keyserver_refusals_total{reason="'
    return {
        line[len(prefix) :].split('"')[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def press_to_error(app) -> dict[str, Any]:
    errors = sum(1 for e in app.events if e.get("state") == "error")
    assert app.ctl("start")["ok"]
    wait_until(
        lambda: sum(1 for e in app.events if e.get("state") == "error") > errors,
        15,
        "the error state",
    )
    return app.ctl("status")


def test_the_pair_a_session_its_usage_a_spent_budget_and_a_removed_device(
    tmp_path: Path, sim, start
) -> None:
    config = write_config(tmp_path / "ks", sim.url, sections={"limits": {"sessions_per_day": 1}})
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, DEVICE)
    token_file = tmp_path / "provisioning.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    with KeyServerProcess(config) as server:
        app_config = session_config(sim, "ga")
        app_config["realtime"]["provisioning"] = {
            "url": f"{server.url}/key",
            "token_file": str(token_file),
            "timeout_s": 5,
        }
        app = start(app_config)

        # a session: a key from the key server, an answer, a press to stop
        assert app.ctl("start")["ok"]
        app.wait_state("listening")
        assert [c["accepted"] for c in sim.log()["connections"]] == [True]
        assert app.ctl("say", text="Hello there", role="user", respond=True)["ok"]
        wait_until(lambda: any(e.get("type") == "transcript" for e in app.events), 20, "an answer")
        assert app.ctl("stop")["ok"]
        app.wait_state("idle")

        # its usage report reaches the server, which counts it for the device
        (day,) = wait_until(
            lambda: [d for d in usage_days(config) if d["reports"]], 20, "the usage report"
        )
        n = day["output_audio"] // SIM_PER_RESPONSE["output_audio"]
        assert n >= 1
        assert {k: day[k] for k in SIM_PER_RESPONSE} == {
            k: v * n for k, v in SIM_PER_RESPONSE.items()
        }
        assert (day["device"], day["sessions"], day["reports"]) == (DEVICE, 1, 1)
        assert day["stops"] == {"press": 1} and 0 < day["seconds"] < 60
        posted = [e for e in server.access_log() if e["path"] == "/usage"]
        assert [(e["status"], e["device"]) for e in posted] == [(200, DEVICE)]

        # the day's one session is spent: the appliance says so, the server counts it
        status = press_to_error(app)
        assert told(status["last_error"]) == Labels("en")["limit_reached"]
        assert "daily_sessions" in status["last_error"]
        assert refusals(server) == {"daily_sessions": 1.0}

        # the device is removed: the appliance says so (a reload asks at once)
        assert cli(config, "device", "revoke", DEVICE).returncode == 0
        assert app.ctl("reload")["ok"]
        status = press_to_error(app)
        assert told(status["last_error"]) == Labels("en")["device_removed"]
        assert refusals(server) == {"daily_sessions": 1.0, "revoked": 1.0}
        assert len(sim.log()["connections"]) == 1  # no key, no new session
        assert token not in app.log() and token not in status["last_error"]
        assert server.stop() == 0
