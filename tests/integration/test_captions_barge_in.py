"""Captions end to end: ``appliance run`` against the simulator, the captions read back from
``appliance status``. The simulator sends the transcript in step with the audio (its words
spread evenly over the answer), so the words spoken by a moment of the audio are known."""

from __future__ import annotations

import math

import pytest
from rig import session_config

from appliance.rig.process import wait_until

DIALECTS = ["ga", "beta"]
ANSWER_S = 6
WORDS = [f"w{n:02d}" for n in range(30)]  # words of one length: characters spread like words
ANSWER = " ".join(WORDS)


def assistant_caption(app) -> str:
    shown = [c["text"] for c in app.ctl("status")["captions"] if c["role"] == "assistant"]
    return shown[-1] if shown else ""


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_barge_in_cuts_the_caption_to_the_words_played(sim, start, dialect):
    sim.script([{"answer_seconds": ANSWER_S}, {"transcript": ANSWER}])
    app = start(session_config(sim, dialect, realtime={"auto_start": True}))
    app.wait_state("listening")
    app.ctl("say", text="Tell me a long story", role="user")
    # the transcript streams in ahead of the audio (the simulator sends 4x faster than it
    # plays): press once the caption shows more than half the answer
    before = wait_until(
        lambda: len(assistant_caption(app).split()) > len(WORDS) // 2 and assistant_caption(app),
        15,
        "the caption streaming in",
    )
    assert ANSWER.startswith(before)
    assert app.cli("press").returncode == 0  # the button while the model speaks: interrupt
    truncate = wait_until(lambda: sim.client_events("conversation.item.truncate"), 10, "truncate")
    end_ms = truncate[0]["audio_end_ms"]
    shown = assistant_caption(app).split()
    # the words whose audio had begun by the truncate point (word i begins at i/30 of it)
    begun = len(WORDS) * end_ms / (ANSWER_S * 1000)
    assert shown == WORDS[: len(shown)], "the caption is the answer's beginning, whole words"
    assert len(shown) <= math.ceil(begun), f"words not spoken shown: {shown} at {end_ms} ms"
    assert len(shown) >= math.floor(begun) - 1, f"spoken words missing: {shown} at {end_ms} ms"
    assert len(shown) < len(before.split()), "the words not spoken left the screen"
    # what still arrives for the cut answer (its final transcript) does not bring them back
    app.wait_state("listening")
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 10, "done")
    assert assistant_caption(app).split() == shown
    # cleared at stop
    app.ctl("stop")
    app.wait_state("idle")
    assert app.ctl("status")["captions"] == []
    assert sim.log()["errors"] == []


@pytest.mark.parametrize(("mode", "roles"), [("both", ["user", "assistant"]), ("off", [])])
def test_the_visitor_is_captioned_in_mode_both(sim, start, speech_wav, mode, roles):
    config = session_config(sim, "ga", realtime={"auto_start": True}, display={"captions": mode})
    app = start(config, audio_in=speech_wav)
    app.wait_event(lambda e: e["type"] == "transcript" and e["role"] == "assistant", 20, "answer")
    app.wait_state("listening")
    captions = app.ctl("status")["captions"]
    assert [c["role"] for c in captions] == roles
    if mode == "both":
        assert "speech" in captions[0]["text"]  # the simulator's transcription of the speech
        assert captions[1]["text"] == "This is the simulator answering."
