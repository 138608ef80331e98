"""Hanging up by itself and sparing the key server, end to end: ``appliance run`` against
``appliance sim``.

A session nobody speaks in stops at ``realtime.idle_stop_s`` after a countdown; one that
reaches ``realtime.max_session_s`` stops however it went (a reconnect does not reset it); the
``stopped`` event, the hooks, the log and ``appliance status`` say why. An idle device with
``auto_fetch_ephemeral_key`` fetches one key at boot, not one a minute forever.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rig import SIM_API_KEY, session_config

from appliance.rig.process import poll_until, wait_until
from appliance.rig.sim import Sim

IDLE_STOP_S = 3.0
MAX_SESSION_S = 6.0


def stopped_hook(path: Path) -> dict:
    """A ``stopped`` hook appending each event's JSON line to ``path``."""
    return {"stopped": [["sh", "-c", 'cat >> "$0"', str(path)]]}


def provisions(sim: Sim) -> int:
    """Requests the simulator's provisioning URL has answered."""
    return sum(1 for h in sim.log()["http"] if h["path"] == "/provision")


def test_nobody_speaking_after_an_answer_stops_the_session_for_idle(
    sim, start, speech_wav, tmp_path
):
    hooked = tmp_path / "stopped.jsonl"
    config = session_config(
        sim, "ga", realtime={"idle_stop_s": IDLE_STOP_S}, hooks=stopped_hook(hooked)
    )
    app = start(config, audio_in=speech_wav)
    assert app.cli("start").returncode == 0
    app.wait_event(lambda e: e["type"] == "started", 15, "started")
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "user", 15, "question")
    answer = app.wait_event(
        lambda e: e["type"] == "transcript" and e["role"] == "assistant", 15, "answer"
    )
    stopped = app.wait_event(lambda e: e["type"] == "stopped", 30, "an idle stop")
    assert stopped["reason"] == "idle"
    # the answer kept the session until it had been played: then idle_stop_s of silence
    assert stopped["time"] - answer["time"] >= IDLE_STOP_S
    counted = [
        e["countdown_s"] for e in app.events if e["type"] == "state" and e.get("countdown_s")
    ]
    assert counted and counted[-1] == 1 and max(counted) <= IDLE_STOP_S, counted
    app.wait_state("idle")
    status = app.ctl("status")
    assert status["stop_reason"] == "idle" and status["countdown_s"] is None
    assert status["last_error"] is None
    cli_status = json.loads(app.cli("status").stdout)
    assert cli_status["state"] == "idle" and cli_status["stop_reason"] == "idle"
    wait_until(lambda: hooked.exists() and hooked.read_text().strip(), 10, "the stopped hook")
    assert json.loads(hooked.read_text().splitlines()[0])["reason"] == "idle"
    assert "session stopped (idle)" in app.log()
    # ready for the next visitor: a press starts again, and a press stops with its reason
    app.ctl("start")
    app.wait_state("listening")
    app.ctl("stop")
    app.wait_state("idle")
    assert app.ctl("status")["stop_reason"] == "press"
    wait_until(lambda: len(hooked.read_text().splitlines()) == 2, 10, "the second stopped hook")
    assert json.loads(hooked.read_text().splitlines()[1])["reason"] == "press"


def test_a_press_during_the_countdown_keeps_the_session(sim, start):
    app = start(session_config(sim, "ga", realtime={"idle_stop_s": IDLE_STOP_S}))
    app.ctl("start")
    app.wait_state("listening")
    app.wait_event(
        lambda e: e["type"] == "state" and e.get("countdown_s") == 2, 10, "the countdown"
    )
    app.ctl("mute")  # a press: the countdown goes, the session stays
    muted = app.wait_event(
        lambda e: e["type"] == "state" and e["state"] == "muted", 5, "muted, countdown gone"
    )
    assert muted["countdown_s"] is None
    stopped = app.wait_event(lambda e: e["type"] == "stopped", 15, "the idle stop after it")
    assert stopped["reason"] == "idle" and stopped["time"] - muted["time"] >= IDLE_STOP_S - 0.1


def test_the_session_cap_holds_across_a_reconnect(sim, start):
    recovery = {"backoff_initial_s": 1.5, "backoff_max_s": 1.5}  # live again 1.2 s or more later
    realtime = {"idle_stop_s": 0, "max_session_s": MAX_SESSION_S}
    app = start(session_config(sim, "ga", realtime=realtime, recovery=recovery))
    app.ctl("start")
    first = app.wait_event(lambda e: e["type"] == "started", 15, "started")
    sim.script({"fault": "drop"})  # the connection is lost at once
    dropped = app.wait_event(lambda e: e["type"] == "stopped", 10, "the drop")
    assert dropped["reason"] == "reconnect"
    second = app.wait_event(
        lambda e: e["type"] == "started" and e["time"] > first["time"], 15, "live again"
    )
    capped = app.wait_event(
        lambda e: e["type"] == "stopped" and e["time"] > second["time"], 15, "the cap"
    )
    assert capped["reason"] == "max"
    assert MAX_SESSION_S <= capped["time"] - first["time"] < MAX_SESSION_S + 2
    assert capped["time"] - second["time"] < MAX_SESSION_S - 0.5  # not counted afresh
    app.wait_state("idle")
    assert app.ctl("status")["stop_reason"] == "max"
    accepted = [c for c in sim.log()["connections"] if c["accepted"]]
    assert len(accepted) == 2


def test_an_idle_device_fetches_one_key_at_boot_not_one_a_minute(start):
    """Keys live 12 s here: a key kept fresh would be fetched again every 2 s."""
    sim = Sim("--api-key", SIM_API_KEY, "--key-ttl", "12")
    try:
        app = start(session_config(sim, "ga", realtime={"auto_fetch_ephemeral_key": True}))
        wait_until(lambda: provisions(sim) == 1, 10, "the key fetched at boot")
        refreshed = poll_until(lambda: provisions(sim) > 1, 8.0, interval=0.2)
        assert not refreshed, f"{provisions(sim)} provisioning requests while idle"
        assert "key fetched ahead of the next press" in app.log()
    finally:
        sim.stop()


def test_a_press_uses_the_fresh_key_fetched_at_boot(sim, start):
    app = start(session_config(sim, "ga", realtime={"auto_fetch_ephemeral_key": True}))
    wait_until(lambda: provisions(sim) == 1, 10, "the key fetched at boot")
    app.ctl("start")
    app.wait_state("listening")
    assert provisions(sim) == 1


def test_a_press_with_a_stale_key_from_boot_fetches_a_fresh_one(sim, start):
    sim.script({"fault": "expire_keys", "enabled": True})  # the boot's key: already expired
    app = start(session_config(sim, "ga", realtime={"auto_fetch_ephemeral_key": True}))
    wait_until(lambda: provisions(sim) == 1, 10, "the key fetched at boot")
    sim.script({"fault": "expire_keys", "enabled": False})
    began = time.monotonic()
    app.ctl("start")
    app.wait_state("listening")
    assert provisions(sim) == 2
    connections = sim.log()["connections"]
    assert [c["accepted"] for c in connections] == [True], connections  # no expired key tried
    assert time.monotonic() - began < 10
