"""The state machine: every transition of the table in appliance/state.py."""

import pytest

from appliance.state import (
    AudioStarted,
    AudioStopped,
    ButtonState,
    Closed,
    Connect,
    Connected,
    Countdown,
    Disconnect,
    Emit,
    Failed,
    Interrupt,
    Machine,
    Mute,
    Notice,
    Phase,
    Reconnecting,
    Start,
    Stop,
    StopReason,
    Toggle,
)


def live_machine(**kw) -> Machine:
    m = Machine(**kw)
    assert m.handle(Toggle()) == [Connect()]
    assert m.handle(Connected()) == [Emit("started")]
    return m


def test_idle_view_matches_deep_chat_buttons():
    v = Machine().view
    assert (v.state, v.toggle, v.microphone) == ("idle", ButtonState.DEFAULT, ButtonState.DEFAULT)
    assert not v.loading_visible and not v.error_visible


def test_toggle_connects_with_loading_and_mic_unavailable():
    m = Machine()
    assert m.handle(Toggle()) == [Connect()]
    v = m.view
    assert v.state == "connecting" and v.toggle is ButtonState.ACTIVE and v.toggle_loading
    assert v.microphone is ButtonState.UNAVAILABLE and v.loading_visible


def test_connected_goes_live_and_emits_started():
    m = live_machine()
    v = m.view
    assert v.phase is Phase.LIVE and v.state == "listening"
    assert v.toggle is ButtonState.ACTIVE and not v.toggle_loading
    assert v.microphone is ButtonState.DEFAULT


def test_toggle_while_connecting_cancels():
    m = Machine()
    m.handle(Toggle())
    assert m.handle(Toggle()) == [Disconnect()]
    assert m.view.phase is Phase.IDLE


def test_late_connected_after_cancel_is_disconnected():
    m = Machine()
    m.handle(Toggle())
    m.handle(Toggle())
    assert m.handle(Connected()) == [Disconnect()]
    assert m.view.phase is Phase.IDLE


def test_toggle_during_speech_interrupts_first_then_stops():
    m = live_machine()
    m.handle(AudioStarted())
    assert m.view.state == "speaking"
    assert m.handle(Toggle()) == [Interrupt()]
    assert m.view.state == "listening"
    assert m.handle(Toggle()) == [Disconnect(), Emit("stopped", StopReason.PRESS)]
    assert m.view.phase is Phase.IDLE


def test_mute_works_before_a_session_and_persists_across_stop_start():
    m = Machine()
    m.handle(Mute())
    assert m.view.muted and m.view.microphone is ButtonState.ACTIVE
    m = live_machine(muted=True)
    assert m.view.state == "muted"
    m.handle(Stop())
    m.handle(Start())
    m.handle(Connected())
    assert m.view.muted and m.view.state == "muted"
    m.handle(Mute(False))
    assert m.view.state == "listening"


def test_speaking_outranks_muted():
    m = live_machine(muted=True)
    m.handle(AudioStarted())
    assert m.view.state == "speaking"
    m.handle(AudioStopped())
    assert m.view.state == "muted"


@pytest.mark.parametrize("failure", [Failed("boom"), Closed("boom")])
def test_failure_while_live_shows_error_and_press_recovers(failure):
    m = live_machine()
    assert m.handle(failure) == [Disconnect(), Emit("stopped", StopReason.ERROR)]
    v = m.view
    assert v.state == "error" and v.error_cause == "boom" and v.error_visible
    assert v.toggle is ButtonState.DEFAULT  # pressable: unlike Deep Chat, not a dead end
    assert v.microphone is ButtonState.UNAVAILABLE
    assert m.handle(Toggle()) == [Connect()]
    assert m.view.error_cause is None and m.view.state == "connecting"


def test_failure_while_connecting_has_no_stopped_event():
    m = Machine()
    m.handle(Toggle())
    assert m.handle(Failed("no key")) == [Disconnect()]
    assert m.view.state == "error"


def test_closed_when_idle_is_ignored():
    m = Machine()
    assert m.handle(Closed()) == []
    assert m.view.phase is Phase.IDLE


def test_notice_is_shown_without_ending_the_session():
    m = live_machine()
    assert m.handle(Notice("rate limited")) == []
    assert m.view.phase is Phase.LIVE and m.view.notice == "rate limited"


def test_reconnecting_state():
    m = live_machine()
    assert m.handle(Reconnecting("dropped", 1)) == [Emit("stopped", StopReason.RECONNECT)]
    assert m.view.state == "reconnecting" and m.view.toggle_loading
    assert m.handle(Connected()) == [Emit("started")]
    assert m.view.state == "listening" and m.view.reconnect_attempt == 0


def test_start_is_ignored_while_live_and_stop_when_idle():
    m = live_machine()
    assert m.handle(Start()) == []
    m.handle(Stop())
    assert m.handle(Stop()) == []


def test_audio_started_when_not_live_does_not_mark_speaking():
    m = Machine()
    m.handle(AudioStarted())
    assert not m.view.speaking


def test_a_repeated_connected_while_live_changes_nothing():
    m = live_machine()
    assert m.handle(Connected()) == []
    assert m.view.phase is Phase.LIVE


def test_late_connected_after_a_failure_is_disconnected():
    m = Machine()
    m.handle(Toggle())
    m.handle(Failed("boom"))
    assert m.handle(Connected()) == [Disconnect()]
    assert m.view.phase is Phase.ERROR


@pytest.mark.parametrize("reason", list(StopReason))
def test_a_stop_says_why_and_leaves_the_idle_view_a_press_leaves(reason):
    pressed = live_machine()
    pressed.handle(Stop())
    m = live_machine()
    m.handle(Countdown(3))
    assert m.handle(Stop(reason)) == [Disconnect(), Emit("stopped", reason)]
    assert m.view == pressed.view  # the same screen and LED as after a press
    assert m.view.state == "idle" and m.view.countdown_s is None


def test_the_countdown_is_shown_while_live_and_a_press_or_a_phase_change_clears_it():
    m = Machine()
    m.handle(Countdown(5))
    assert m.view.countdown_s is None  # not live: nothing to count down
    m = live_machine()
    m.handle(Countdown(9))
    assert m.view.countdown_s == 9 and m.view.as_dict()["countdown_s"] == 9
    assert m.view.state == "listening"
    m.handle(Mute())
    assert m.view.countdown_s is None
    m.handle(Countdown(4))
    m.handle(AudioStarted())
    m.handle(Toggle())  # interrupts the model: the session is kept
    assert m.view.countdown_s is None and m.view.phase is Phase.LIVE
    m.handle(Countdown(2))
    m.handle(Reconnecting("dropped", 1))
    assert m.view.countdown_s is None
    m.handle(Connected())
    m.handle(Countdown(1))
    m.handle(Failed("boom"))
    assert m.view.countdown_s is None
