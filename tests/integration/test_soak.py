"""Soak on the real path: one ``appliance run`` with PyAudio on the virtual sound server and
(where Xvfb is installed) its window on a virtual X display, through 100 start/stop cycles
that stop while connecting, while listening and while the model speaks; then a long live
session on WAV audio.

Fails on any crash, any error state, any capture or playback stream left open in the sound
server once the state is idle, on resources that keep growing after a warm-up (a leak of
one descriptor, thread or task per cycle exceeds the bounds many times over), and on PortAudio
initialised more than once: every session reuses the one the first opened (each
initialise/terminate leaks a little native memory; see appliance/audio/pyaudio_backend.py).
The longer run, 1,000 cycles and 30 minutes live, is ``scripts/bench --soak``
(:mod:`appliance.bench.soak`).
"""

from __future__ import annotations

import os
import time

import pytest
from rig import session_config

from appliance.bench.soak import Sample, real_appliance, run_cycles, sample, speech_wav, wait_state
from appliance.control import request
from appliance.rig import xdisplay
from appliance.rig.isolation import private_shm
from appliance.rig.process import wait_until

FULL = os.environ.get("APPLIANCE_FULL") == "1"
CYCLES = 1000 if FULL else 100
LIVE_S = 60.0 if FULL else 20.0
WARM_UP_CYCLES = 10

BOUNDS = {"fds": 5, "threads": 3, "rss_mib": 20.0, "pss_mib": 20.0, "tasks": 3}


def _assert_no_growth(before: Sample, after: Sample, what: str) -> None:
    growth = before.growth(after)
    over = {name: value for name, value in growth.items() if value > BOUNDS[name]}
    assert not over, (
        f"{what}: resources grew beyond {BOUNDS}: {over} (before {before}, after {after})"
    )


@pytest.mark.parametrize("window", [True, False], ids=["window", "headless"])
def test_real_path_start_stop_cycles(sound_server, tmp_path, window):
    if window and not xdisplay.available():
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    cycles = CYCLES if window else CYCLES // 2
    with real_appliance(tmp_path, window=window, prefix=private_shm()) as (app, sock, log):

        def tail() -> str:
            return log.read_text()[-3000:]

        warm = run_cycles(app, sock, WARM_UP_CYCLES, seed=1, max_wait_s=0.3, sample_at=())
        assert warm.clean, f"warm-up: {warm}\n{tail()}"
        report = run_cycles(
            app, sock, cycles, seed=2, max_wait_s=1.0, sample_at=(0, cycles), log_tail=tail
        )
        assert report.crashed is None, f"the appliance died: {report.crashed}"
        assert report.error_states == [], f"error states: {report.error_states}\n{tail()}"
        assert report.idle_streams == [], f"streams open while idle: {report.idle_streams}"
        assert report.cycles == cycles
        assert all(report.kinds[kind] >= cycles // 6 for kind in report.kinds), report.kinds
        _assert_no_growth(report.samples[0], report.samples[cycles], f"{cycles} cycles")
        # no device failed, so every session ran on the PortAudio the first one initialised
        inits = [line for line in log.read_text().splitlines() if "PortAudio initialised" in line]
        assert len(inits) == 1, f"PortAudio initialised {len(inits)} times: {inits[:5]}"
        if window:
            status = request(sock, {"cmd": "status"})
            assert status["state"] == "idle" and status["last_error"] is None
            # the window was really up on the X display all along
            assert "display: window 800x480 on SDL driver x11" in log.read_text(), tail()
        assert app.poll() is None
    assert app.returncode == 0, f"exit status {app.returncode}"


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
