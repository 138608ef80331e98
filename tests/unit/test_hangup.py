"""Hanging up by itself: the idle stop with its countdown and the cap on a session's length,
as pure logic (:mod:`appliance.realtime.hangup`) and in the session policy."""

from __future__ import annotations

import json
from typing import Any

from appliance import state
from appliance.cli import format_event
from appliance.config import AppConfig, validate
from appliance.realtime.hangup import COUNTDOWN_S, HangUp
from appliance.realtime.session import Close, EphemeralKey, Feed, Memory, OpenAudio, Session
from appliance.state import StopReason


def provisioned(**realtime: Any) -> AppConfig:
    provisioning = {"provisioning": {"url": "http://127.0.0.1:9/provision"}}
    return validate(
        {"openai": {"api_base": "http://127.0.0.1:9"}, "realtime": {**provisioning, **realtime}}
    )


def session_for(config: AppConfig) -> Session:
    return Session(config, Memory(), rand=lambda: 0.5, has_api_key=lambda _c: False)


def key() -> EphemeralKey:
    return EphemeralKey("ek_test", "provisioning")


def frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def created(session_id: str = "sess_1") -> str:
    return frame("session.created", session={"id": session_id})


def go_live(session: Session, now: float) -> None:
    session.connecting(key(), now)
    assert any(isinstance(a, OpenAudio) for a in session.on_frame(created(), now))
    session.audio_opened(now)


def test_nothing_is_due_before_the_session_went_live():
    timer = HangUp(idle_stop_s=3, max_session_s=5)
    assert timer.due(1000.0) is None and timer.countdown(1000.0) is None


def test_the_idle_stop_comes_after_idle_stop_s_without_activity_and_activity_delays_it():
    timer = HangUp(idle_stop_s=45, max_session_s=0)
    timer.begin(100.0)
    assert timer.due(144.9) is None
    timer.activity(140.0)
    assert timer.due(184.9) is None
    assert timer.due(185.0) is StopReason.IDLE


def test_the_countdown_covers_the_last_ten_seconds_rounded_up():
    timer = HangUp(idle_stop_s=45, max_session_s=0)
    timer.begin(0.0)
    assert timer.countdown(34.9) is None
    assert timer.countdown(35.0) == COUNTDOWN_S == 10
    assert timer.countdown(35.1) == 10
    assert timer.countdown(44.2) == 1
    timer.activity(44.5)  # a word: the countdown is gone
    assert timer.countdown(44.6) is None


def test_a_short_idle_stop_counts_down_from_its_length():
    timer = HangUp(idle_stop_s=3, max_session_s=0)
    timer.begin(0.0)
    assert [timer.countdown(t) for t in (0.1, 1.1, 2.1)] == [3, 2, 1]


def test_zero_turns_the_idle_stop_off():
    timer = HangUp(idle_stop_s=0, max_session_s=0)
    timer.begin(0.0)
    assert timer.due(86_400.0) is None and timer.countdown(86_400.0) is None


def test_the_cap_counts_from_the_first_time_live_and_activity_does_not_extend_it():
    timer = HangUp(idle_stop_s=45, max_session_s=60)
    timer.begin(0.0)
    timer.activity(30.0)
    timer.begin(40.0)  # a reconnect: live again
    timer.activity(59.0)
    assert timer.due(59.9) is None
    assert timer.due(60.0) is StopReason.MAX


# --- in the session policy ------------------------------------------------------------------


def feeds(actions: list[Any]) -> list[state.Input]:
    return [a.input for a in actions if isinstance(a, Feed)]


def ticks(session, start: float, end: float, step: float = 0.25, audible: bool = False):
    """``on_timer`` from ``start`` to ``end``: the inputs it fed the state machine."""
    fed: list[state.Input] = []
    t = start
    while t <= end:
        fed += feeds(session.on_timer(t, audible))
        t += step
    return fed


def test_nobody_speaking_after_an_answer_counts_down_then_stops_for_idle():
    session = session_for(provisioned(idle_stop_s=3))
    go_live(session, 0.0)
    session.say("Hello?", "user", None, 0.5)  # an answer is owed: activity until it is done
    assert ticks(session, 0.5, 5.0) == []
    session.on_frame(frame("response.done", response={"status": "completed"}), 5.0)
    fed = ticks(session, 5.25, 9.0, audible=False)
    assert fed == [
        state.Countdown(3),
        state.Countdown(2),
        state.Countdown(1),
        state.Stop(StopReason.IDLE),
    ]
    assert ticks(session, 9.25, 20.0) == []  # once


def test_the_visitor_speaking_or_the_model_playing_keeps_the_session():
    session = session_for(provisioned(idle_stop_s=3))
    go_live(session, 0.0)
    assert ticks(session, 0.25, 0.75) == [state.Countdown(3)]
    assert feeds(session.on_timer(1.25, audible=True)) == [state.Countdown(None)]
    assert ticks(session, 1.5, 2.5, audible=True) == []
    session.on_frame(frame("input_audio_buffer.speech_started"), 3.0)
    session.on_frame(frame("input_audio_buffer.speech_stopped"), 3.5)
    session.on_frame(frame("response.done", response={"status": "completed"}), 3.6)
    assert ticks(session, 3.75, 4.5) == [state.Countdown(3)]
    transcript = frame(
        "conversation.item.input_audio_transcription.completed", item_id="i1", transcript="hi"
    )
    session.on_frame(transcript, 5.0)
    session.activity(5.5)  # a press
    assert state.Stop(StopReason.IDLE) not in ticks(session, 5.0, 8.4)
    assert ticks(session, 8.5, 9.0)[-1] == state.Stop(StopReason.IDLE)


def test_the_cap_is_not_reset_by_a_reconnect():
    session = session_for(provisioned(idle_stop_s=0, max_session_s=10))
    go_live(session, 0.0)
    assert ticks(session, 0.25, 5.0, audible=True) == []
    assert not isinstance(session.on_closed(1006, "", 5.0), Close)  # dropped: a retry
    session.connecting(key(), 6.0)
    assert ticks(session, 6.0, 7.0) == []
    session.on_frame(created("sess_2"), 7.0)
    session.audio_opened(7.0)
    assert ticks(session, 7.25, 9.75, audible=True) == []
    assert feeds(session.on_timer(10.0, audible=True)) == [state.Stop(StopReason.MAX)]


def test_idle_is_not_counted_while_reconnecting_but_the_cap_is():
    session = session_for(provisioned(idle_stop_s=3, max_session_s=20))
    go_live(session, 0.0)
    session.on_closed(1006, "", 2.0)
    session.connecting(key(), 2.5)  # a slow handshake: nobody can speak meanwhile
    assert state.Stop(StopReason.IDLE) not in ticks(session, 2.5, 12.0)
    session.on_frame(created("sess_2"), 12.0)
    session.audio_opened(12.0)  # live again: a full idle period
    assert ticks(session, 12.25, 14.75)[-1] == state.Countdown(1)
    assert ticks(session, 15.0, 15.0) == [state.Stop(StopReason.IDLE)]


def test_appliance_events_says_why_a_session_stopped():
    assert format_event({"type": "stopped", "reason": "idle", "time": 0}).endswith("stopped (idle)")
    assert format_event({"type": "started", "time": 0}).endswith(" started")


def test_the_countdown_is_fed_again_after_a_reconnect_cleared_it():
    session = session_for(provisioned(idle_stop_s=3))
    go_live(session, 0.0)
    assert ticks(session, 0.25, 0.25) == [state.Countdown(3)]
    session.on_closed(1006, "", 0.5)  # the state machine clears the countdown (Reconnecting)
    session.connecting(key(), 0.6)
    session.on_frame(created("sess_2"), 0.7)
    session.audio_opened(0.7)
    assert ticks(session, 0.75, 0.75) == [state.Countdown(3)]
