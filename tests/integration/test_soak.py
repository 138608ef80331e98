"""Soak: one ``appliance run`` process through many start/stop cycles and a long live session,
against the real simulator, watching for leaks of file descriptors, threads, memory and
asyncio tasks.

By default (the fast subset) it runs 300 cycles and a 20 s live session; with
``APPLIANCE_FULL=1`` 1,000 cycles and 60 s. Resources are sampled after a warm-up (executor
threads and caches fill up on the first sessions) and compared with generous bounds: a leak of
one descriptor, thread or task per cycle exceeds them many times over. The longer run with a
curve is ``scripts/bench --soak`` (:mod:`appliance.bench.soak`).
"""

from __future__ import annotations

import os
import time

from rig import session_config, wait_until

from appliance.bench.soak import Sample, sample, speech_wav, start_stop_cycles, wait_state
from appliance.control import request

FULL = os.environ.get("APPLIANCE_FULL") == "1"
CYCLES = 1000 if FULL else 300
LIVE_S = 60.0 if FULL else 20.0
WARM_UP_CYCLES = 20

BOUNDS = {"fds": 5, "threads": 3, "rss_mib": 20.0, "tasks": 3}


def _assert_no_growth(before: Sample, after: Sample, what: str) -> None:
    growth = before.growth(after)
    over = {name: value for name, value in growth.items() if value > BOUNDS[name]}
    assert not over, (
        f"{what}: resources grew beyond {BOUNDS}: {over} (before {before}, after {after})"
    )


def _open_sessions(sim) -> int:
    return sim.state()["sessions_open"]


def test_start_stop_cycles_leak_nothing(sim, start):
    app = start(session_config(sim, "ga"))
    pid, sock = app.proc.pid, app.socket
    start_stop_cycles(sock, WARM_UP_CYCLES)
    before = sample(pid, sock)
    start_stop_cycles(sock, CYCLES)
    after = sample(pid, sock)
    _assert_no_growth(before, after, f"{CYCLES} start/stop cycles")
    # every cycle really connected, and every connection was closed again
    accepted = [c for c in sim.log()["connections"] if c["accepted"]]
    assert len(accepted) == WARM_UP_CYCLES + CYCLES
    wait_until(lambda: _open_sessions(sim) == 0, 10, "the simulator to see every session closed")
    assert sim.log()["errors"] == []
    status = request(sock, {"cmd": "status"})
    assert status["state"] == "idle" and status["last_error"] is None


def test_long_live_session_leaks_nothing(sim, start, tmp_path):
    speech = speech_wav(tmp_path / "speech.wav", LIVE_S + 10, every_s=5.0)
    app = start(session_config(sim, "ga"), audio_in=speech)
    pid, sock = app.proc.pid, app.socket
    sim.script({"answer_seconds": 2})
    assert request(sock, {"cmd": "start"})["ok"]
    app.wait_event(lambda e: e["type"] == "started", 15, "started")

    def answers() -> int:
        return sum(1 for e in app.events if e["type"] == "transcript" and e["role"] == "assistant")

    # warm-up: the first spoken turn and its answer
    wait_until(lambda: answers() >= 1, 20, "the first answer")
    wait_state(sock, {"listening"}, 15)
    before = sample(pid, sock)
    first = answers()
    deadline = time.monotonic() + LIVE_S

    def live_until_the_end() -> bool:
        status = request(sock, {"cmd": "status"})
        assert status["phase"] == "live", f"the session ended: {status}"
        return time.monotonic() >= deadline

    # a phrase every 5 s in the microphone, an answer to each: the session keeps working
    wait_until(live_until_the_end, LIVE_S + 10, f"{LIVE_S:g} s of live session", poll=0.25)
    wait_state(sock, {"listening"}, 15)
    request(sock, {"cmd": "stop"})
    wait_state(sock, "idle")
    after = sample(pid, sock)
    _assert_no_growth(before, after, f"a {LIVE_S:g} s live session")
    spoken = [e for e in app.events if e["type"] == "transcript" and e["role"] == "user"]
    assert answers() - first >= LIVE_S // 5 - 1 and spoken, "the session was really busy"
    assert sim.log()["errors"] == []
