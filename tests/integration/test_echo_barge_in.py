"""Talking over the model: ``appliance run`` on real PyAudio streams, with the echo rig
(:mod:`appliance.rig.echo`) feeding the speaker back into the microphone 60 ms late and 6 dB down,
against the simulator (whose server VAD hears anything above -40 dBFS).

* with the defaults (``audio.echo = "cancel"``) N answers played into the echo path cause no
  barge-in, no user turn, no truncate (20 answers with ``APPLIANCE_FULL=1``);
* a user's phrase spoken into the microphone during an answer interrupts it, every time, and
  the truncate reports what was played;
* the control experiment: the same rig with ``full-duplex`` makes the model interrupt itself
  (the rig does make echo).
"""

from __future__ import annotations

import os
import time

import pytest
from rig import session_config

from appliance.rig.echo import echo_path
from appliance.rig.process import wait_until
from appliance.rig.sound import SoundServer

pytest.importorskip("pyaudio", reason="PyAudio is not installed")
pytest.importorskip("livekit.rtc", reason="livekit is not installed: no echo cancelling")

ANSWER_S = 3.0
# one breath, no pause inside: the server's VAD makes it one user turn (a comma or a full stop
# lets espeak pause long enough for two turns, the second interrupting the answer to the first)
PHRASE = "Excuse me where is the bathroom"


def config(sim, **audio) -> dict:
    cfg = session_config(sim, "ga", realtime={"auto_start": True})
    cfg["audio"] = {"backend": "pyaudio", **audio}  # echo: the default unless given
    return cfg


def ask(app) -> None:
    """Ask for an answer and wait until it plays (a ``speaking`` state after this call)."""
    seen = len(app.events)
    app.ctl("say", text="Tell me about the museum", role="user", respond=True)
    app.wait_event(
        lambda e: (
            e["type"] == "state"
            and e["state"] == "speaking"
            and any(e is later for later in app.events[seen:])
        ),
        10,
        "speaking",
    )


def wait_quiet(app, sim, rig) -> None:
    """Until the conversation is still: the phrase played out, no user turn open at the
    server, no answer being produced, and the appliance listening."""
    for player in rig.players:
        player.wait(timeout=30)

    def still() -> bool:
        state = sim.state()
        return (
            not state["user_speaking"]
            and not state["responding"]
            and app.ctl("status")["state"] == "listening"
        )

    wait_until(still, 30, "the conversation to go quiet")


def answers_heard(app) -> int:
    return sum(1 for e in app.events if e["type"] == "transcript" and e["role"] == "assistant")


def test_answers_into_the_echo_path_cause_no_barge_in(sim, start, sound_server: SoundServer):
    answers = 20 if os.environ.get("APPLIANCE_FULL") == "1" else 5
    sim.script({"answer_seconds": ANSWER_S})
    with echo_path(sound_server.address, delay_ms=60, gain_db=-6.0):
        app = start(config(sim), use_wav=False, env={"PULSE_SERVER": sound_server.address})
        app.wait_state("listening", 20)
        for n in range(answers):
            sim.script({"answer_seconds": ANSWER_S})
            ask(app)
            wait_until(lambda: answers_heard(app) > n, 15, "the answer's transcript")  # noqa: B023
            wait_until(lambda: app.ctl("status")["state"] == "listening", 15, "the answer to end")
    interrupted = [e for e in app.events if e["type"] == "interrupted"]
    users = [e for e in app.events if e["type"] == "transcript" and e["role"] == "user"]
    assert interrupted == [] and users == [], (interrupted, users)
    assert sim.client_events("conversation.item.truncate") == []
    # and the microphone was streaming all along (not half-duplex)
    assert len(sim.client_events("input_audio_buffer.append")) > answers * ANSWER_S * 1000 / 40


test_answers_into_the_echo_path_cause_no_barge_in = pytest.mark.timeout(400)(
    test_answers_into_the_echo_path_cause_no_barge_in
)


def test_a_user_speaking_over_the_answer_interrupts_it_every_time(
    sim, start, sound_server: SoundServer
):
    with echo_path(sound_server.address, delay_ms=60, gain_db=-6.0) as rig:
        app = start(config(sim), use_wav=False, env={"PULSE_SERVER": sound_server.address})
        app.wait_state("listening", 20)
        for n in range(3):
            interrupts = len(sim.client_events("conversation.item.truncate"))
            sim.script({"answer_seconds": 6.0})
            ask(app)
            speaking = time.monotonic()
            time.sleep(1.0 + 0.4 * n)  # into the answer, the echo loud in the microphone
            spoken = rig.say(PHRASE, level_dbfs=-20.0)
            truncates = wait_until(
                lambda k=interrupts: sim.client_events("conversation.item.truncate")[k:],
                10,
                f"barge-in {n + 1} by voice (a truncate)",
            )
            took = time.monotonic() - spoken
            # detected, and soon (how fast is the bench's figure, not a test's: on 2 shared
            # cores this took 0.6 to 1.8 s)
            assert took < 5.0, f"barge-in {n + 1} took {took:.2f} s after the phrase began"
            # the answer was cut where the phrase came, not earlier by its own echo
            end_ms = truncates[0]["audio_end_ms"]
            assert (spoken - speaking) * 1000 - 100 < end_ms < 6000, (n, end_ms, app.log()[-2000:])
            app.wait_event(
                lambda e, k=n: (
                    e["type"] == "interrupted"
                    and sum(1 for x in app.events if x["type"] == "interrupted") > k
                ),
                5,
                f"interrupted event {n + 1}",
            )
            # the phrase is a user turn: the model answers it; let that answer end too
            wait_quiet(app, sim, rig)
        # one barge-in per phrase: its echo or its answer interrupted nothing else
        assert len(sim.client_events("conversation.item.truncate")) == 3, app.log()[-3000:]


def test_full_duplex_on_the_same_rig_interrupts_itself(sim, start, sound_server: SoundServer):
    """The control experiment: without cancelling, the rig's echo barges in."""
    sim.script({"answer_seconds": ANSWER_S})
    with echo_path(sound_server.address, delay_ms=60, gain_db=-6.0):
        app = start(
            config(sim, echo="full-duplex"),
            use_wav=False,
            env={"PULSE_SERVER": sound_server.address},
        )
        app.wait_state("listening", 20)
        ask(app)
        app.wait_event(lambda e: e["type"] == "interrupted", 15, "the echo to interrupt")
