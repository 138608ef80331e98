"""The pair: the real ``appliance run`` fetches its keys from the real key server (SQLite),
which mints them from the simulator; a revoked device gets no more."""

from __future__ import annotations

from pathlib import Path

from rig import session_config

from appliance.rig.keyserver import KeyServerProcess, cli, enrol, write_config
from appliance.rig.process import wait_until


def test_appliance_takes_its_keys_from_the_key_server(tmp_path: Path, sim, start) -> None:
    config = write_config(tmp_path / "ks", sim.url)
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, "lobby-1")
    server = KeyServerProcess(config)
    try:
        app_config = session_config(sim, "ga")
        app_config["realtime"]["provisioning"] = {
            "url": f"{server.url}/key",
            "headers": {"Authorization": f"Bearer {token}"},
            "timeout_s": 5,
        }
        app = start(app_config)
        app.ctl("start")
        app.wait_state("listening")
        assert [c["accepted"] for c in sim.log()["connections"]] == [True]
        served = wait_until(
            lambda: [e for e in server.access_log() if e["path"] == "/key"], 10, "a key request"
        )
        assert served[0]["device"] == "lobby-1" and served[0]["status"] == 200

        app.ctl("stop")
        app.wait_state("idle")
        assert cli(config, "device", "revoke", "lobby-1").returncode == 0
        app.ctl("start")
        status = app.wait_state("error")
        assert "401" in status["last_error"]
        assert len(sim.log()["connections"]) == 1  # no key, no new session
    finally:
        assert server.stop() == 0
