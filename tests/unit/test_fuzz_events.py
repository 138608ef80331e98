"""Fuzzing the server side: random and mutated realtime events through ``Protocol.receive``,
and a stateful test that drives a real :class:`~appliance.state.Machine` the way the worker does.

The real event shapes come from the simulator's sans-I/O session (:class:`SimSession`) in both
dialects: a full spoken turn (VAD, transcription, an audio answer), a text message, parallel
function calls, scripted errors and unknown events. Hypothesis then deletes keys, changes types,
breaks base64, makes audio odd-length and ids huge.

Invariants:

* ``Protocol.receive`` never raises, whatever the frame;
* the state machine's view is always self-consistent (speaking only when live, the microphone
  unavailable exactly when connecting or in error, the toggle loading exactly when connecting,
  an error cause exactly in the error phase...), and its effects never desynchronise from it:
  a session runs exactly while the phase is connecting or live, and ``started``/``stopped``
  alternate, one open ``started`` exactly while live.
"""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from appliance import state
from appliance.config import SessionConfig
from appliance.realtime.dialects import BETA_REFUSAL_CODE, DIALECTS
from appliance.realtime.protocol import (
    AudioDelta,
    AudioDone,
    FunctionCall,
    FunctionCalls,
    Ignored,
    Protocol,
    ResponseDone,
    ResponseStarted,
    ServerError,
    SessionReady,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    Transcript,
)
from appliance.sim.config import ServedSession as SimConfig
from appliance.sim.script import Script
from appliance.sim.session import SimSession
from appliance.sim.voice import synth_speech

FUZZ = settings(max_examples=150, deadline=None)
STATEFUL = settings(max_examples=40, stateful_step_count=60, deadline=None)


# --- real events, captured from the simulator's session ------------------------------------------


def _dicts(outs: list[Any]) -> list[dict[str, Any]]:
    return [o for o in outs if isinstance(o, dict)]


def _drain(session: SimSession) -> list[Any]:
    outs: list[Any] = []
    for _ in range(1000):
        if not session.response_active:
            break
        outs += session.pump().events
    return outs


def _capture(dialect: str) -> list[dict[str, Any]]:
    """Every server event of a spoken turn, a text turn, function calls and faults."""
    script = Script(answer_seconds=0.3)
    config = SimConfig(transcription={"model": "whisper-1"})
    session = SimSession(dialect, config, script)
    out = _dicts(session.start())
    update = DIALECTS[dialect].session_update(SessionConfig(instructions="Be brief."))
    out += _dicts(session.receive(update))
    speech = bytes(9600) + synth_speech(0.8) + bytes(48_000)
    for i in range(0, len(speech), 4800):
        chunk = base64.b64encode(speech[i : i + 4800]).decode()
        out += _dicts(session.receive({"type": "input_audio_buffer.append", "audio": chunk}))
    out += _dicts(_drain(session))
    message = DIALECTS[dialect].message("Hello", "user")
    out += _dicts(session.receive(message))
    out += _dicts(session.receive({"type": "response.create"}))
    out += _dicts(_drain(session))
    script.function_calls.append(
        [
            {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
            {"name": "get_weather", "arguments": json.dumps({"city": "Tokyo"})},
        ]
    )
    out += _dicts(session.receive({"type": "response.create"}))
    out += _dicts(session.inject({"fault": "error", "code": "rate_limited", "message": "slow"}))
    out += _dicts(session.inject({"fault": "unknown_event"}))
    out += _dicts(session.receive({"type": "no.such.event"}))  # the server's error reply
    return out


@cache
def real_events() -> dict[str, tuple[str, ...]]:
    """Real server events per dialect, as JSON text (so each example gets a fresh copy)."""
    return {d: tuple(json.dumps(e) for e in _capture(d)) for d in ("ga", "beta")}


def test_the_captured_corpus_covers_what_the_appliance_reacts_to() -> None:
    """The fuzzers start from real shapes: every kind of typed message must be in the corpus."""
    for dialect, frames in real_events().items():
        proto = Protocol(DIALECTS[dialect], SessionConfig())
        kinds = {type(h) for frame in frames for h in proto.receive(frame)}
        wanted = {
            SessionReady,
            SessionUpdated,
            AudioDelta,
            AudioDone,
            Transcript,
            SpeechStarted,
            SpeechStopped,
            FunctionCalls,
            ResponseStarted,
            ResponseDone,
            ServerError,
            Ignored,
        }
        assert wanted <= kinds, f"{dialect}: missing {wanted - kinds}"
        errors = [h for frame in frames for h in proto.receive(frame) if isinstance(h, ServerError)]
        assert all(e.code not in ("bad_frame", "bad_event") for e in errors), errors


# --- strategies ------------------------------------------------------------------------------

# Any JSON number, non-finite ones included (json.loads accepts Infinity and NaN).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

GARBAGE_B64 = ["", "A", "AAA", "!!!!", "AAAA====", "QUJD\n", "ÿÿÿÿ", "AA==AA==", "A" * 4097]
HUGE_IDS = ["x" * 100_000, str(10**300), "\u0000", "\ud7ff" * 50, "item_\U0001f600"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a JSON value."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            out.append((*prefix, key))
            out += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            out.append((*prefix, index))
            out += _paths(inner, (*prefix, index))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_event(draw: st.DrawFn, dialect: str) -> str:
    """A real event with a few mutations: keys deleted, values of another type, garbage base64,
    odd-length audio, huge ids."""
    event = json.loads(draw(st.sampled_from(real_events()[dialect])))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(event)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(event, path)
        action = draw(
            st.sampled_from(["delete", "retype", "b64", "odd_audio", "huge", "type_swap", "nest"])
        )
        key = path[-1]
        if action == "delete":
            del parent[key]
        elif action == "retype":
            parent[key] = draw(json_values)
        elif action == "b64":
            parent[key] = draw(st.sampled_from(GARBAGE_B64))
        elif action == "odd_audio":
            parent[key] = base64.b64encode(bytes(draw(st.integers(0, 50)) * 2 + 1)).decode()
        elif action == "huge":
            parent[key] = draw(st.sampled_from([*HUGE_IDS, 10**30, -(10**30), 1e308]))
        elif action == "type_swap":
            event["type"] = draw(
                st.sampled_from(sorted({json.loads(f)["type"] for f in real_events()[dialect]}))
            )
        else:
            parent[key] = {"a": [parent[key], {"b": parent[key]}]}
    return json.dumps(event)


def frames(dialect: str) -> st.SearchStrategy[str | bytes]:
    """Anything a server could send: real events, mutated events, random JSON, random bytes."""
    return st.one_of(
        st.sampled_from(real_events()[dialect]),
        mutated_event(dialect),
        json_values.map(json.dumps),
        st.dictionaries(st.text(max_size=8), json_values, max_size=5).map(
            lambda d: json.dumps({"type": DIALECTS[dialect].message_types.audio_delta, **d})
        ),
        st.binary(max_size=64),
        st.text(max_size=64),
    )


# --- Protocol.receive never raises ---------------------------------------------------------------


def _check_receive(proto: Protocol, frame: str | bytes) -> list[Any]:
    messages = proto.receive(frame)  # must not raise
    assert isinstance(messages, list) and messages, "every frame gives at least one message"
    for h in messages:
        if isinstance(h, AudioDelta):
            assert isinstance(h.pcm, bytes) and len(h.pcm) % 2 == 0
            assert isinstance(h.item_id, str) and isinstance(h.content_index, int)
        if isinstance(h, ServerError):
            assert isinstance(h.message, str) and h.message
    return messages


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@FUZZ
@given(data=st.data())
def test_receive_never_raises(dialect: str, data: st.DataObject) -> None:
    proto = Protocol(DIALECTS[dialect], SessionConfig())
    for frame in data.draw(st.lists(frames(dialect), min_size=1, max_size=8)):
        _check_receive(proto, frame)


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_the_real_frames_still_parse_after_garbage(dialect: str) -> None:
    """Garbage does not poison the protocol state: a real answer after it is understood."""
    proto = Protocol(DIALECTS[dialect], SessionConfig())
    for junk in (b"\xff\xfe", "[]", '{"type": 5}', '{"type": "error", "error": "x"}', "{"):
        assert isinstance(proto.receive(junk)[0], ServerError)
    kinds = {type(h) for f in real_events()[dialect] for h in proto.receive(f)}
    assert AudioDelta in kinds and ResponseDone in kinds


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@settings(max_examples=10, deadline=None)
@given(number=st.sampled_from(["Infinity", "-Infinity", "1e400", "-1e999"]))
@example(number="Infinity")
def test_receive_survives_non_finite_numbers(dialect: str, number: str) -> None:
    proto = Protocol(DIALECTS[dialect], SessionConfig())
    name = DIALECTS[dialect].message_types.audio_delta
    frame = f'{{"type": "{name}", "item_id": "i", "delta": "AAA=", "content_index": {number}}}'
    _check_receive(proto, frame)


@settings(max_examples=5, deadline=None)
@given(depth=st.integers(min_value=50_000, max_value=200_000), opener=st.sampled_from("[{"))
@example(depth=100_000, opener="[")
def test_receive_survives_deeply_nested_frames(depth: int, opener: str) -> None:
    proto = Protocol(DIALECTS["ga"], SessionConfig())
    frame = "[" * depth if opener == "[" else '{"a":' * depth
    _check_receive(proto, frame)


def _well_typed(h: Any) -> None:
    """The declared field types the worker relies on (``session.get``, ``code in frozenset``,
    call ids sent back to the server)."""
    if isinstance(h, SessionReady | SessionUpdated):
        assert isinstance(h.session, dict), h
    elif isinstance(h, ServerError):
        for value in (h.code, h.kind, h.param):
            assert value is None or isinstance(value, str), h
    elif isinstance(h, FunctionCalls):
        for call in h.calls:
            assert isinstance(call, FunctionCall)
            assert all(isinstance(v, str) for v in (call.name, call.arguments, call.call_id)), h


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "session.created", "session": [1]}',
        '{"type": "error", "error": {"code": ["x"], "message": "m"}}',
        '{"type": "response.done", "response": {"output": '
        '[{"type": "function_call", "name": "f", "call_id": {"a": 1}}]}}',
    ],
)
def test_typed_messages_carry_their_declared_types(frame: str) -> None:
    proto = Protocol(DIALECTS["ga"], SessionConfig())
    for h in _check_receive(proto, frame):
        _well_typed(h)


# --- the state machine, driven like the worker drives it -------------------------------------


def _check_view(v: state.View) -> None:
    """A view is self-consistent: every front end derives the same thing from it."""
    P = state.Phase
    if v.speaking:
        assert v.phase is P.LIVE, v
    assert (v.microphone is state.ButtonState.UNAVAILABLE) == (v.phase in (P.CONNECTING, P.ERROR))
    assert v.toggle_loading == (v.phase is P.CONNECTING) == v.loading_visible
    assert (v.toggle is state.ButtonState.ACTIVE) == (v.phase in (P.CONNECTING, P.LIVE))
    assert v.error_visible == (v.phase is P.ERROR) == (v.error_cause is not None)
    if v.reconnect_attempt:
        assert v.phase is P.CONNECTING, v
    if v.countdown_s is not None:
        assert v.phase is P.LIVE, v  # an idle stop is counted down only in a live session
    if v.phase is P.LIVE or v.phase is P.IDLE:
        mic = state.ButtonState.ACTIVE if v.muted else state.ButtonState.DEFAULT
        assert v.microphone is mic
    expected_word = {
        P.IDLE: "idle",
        P.ERROR: "error",
        P.CONNECTING: "reconnecting" if v.reconnect_attempt else "connecting",
        P.LIVE: "speaking" if v.speaking else ("muted" if v.muted else "listening"),
    }[v.phase]
    assert v.state == expected_word
    d = v.as_dict()
    assert d["state"] == v.state and d["phase"] == v.phase.value
    assert d["toggle_loading"] == v.toggle_loading and d["microphone"] == v.microphone.value


class WorkerModel(RuleBasedStateMachine):
    """The worker's use of the machine: user inputs at any time; while a session runs, server
    frames through a real :class:`Protocol` mapped to inputs the way ``app.py`` maps them; the
    playback's start/stop callbacks arriving late (they hop threads through the hub)."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = state.Machine()
        self.running = False  # a session task exists (Connect without Disconnect yet)
        self.open_started = 0  # "started" emitted minus "stopped" emitted
        self.muted = False
        self.proto: Protocol | None = None
        self.dialect = "ga"
        self.queued_audio = 0  # AudioDelta pushed into the playback and not yet played
        self.attempts = 0

    def apply(self, step: state.Input) -> None:
        effects = self.machine.handle(step)
        for effect in effects:
            match effect:
                case state.Connect():
                    assert not self.running, "Connect while a session runs"
                    self.running = True
                    self.proto = Protocol(DIALECTS[self.dialect], SessionConfig())
                    self.attempts = 0
                case state.Disconnect():
                    self.running = False
                    self.proto = None
                    self.queued_audio = 0
                case state.Emit(name="started"):
                    self.open_started += 1
                case state.Emit(name="stopped", reason=reason):
                    assert reason is not None, "a stopped event without its reason"
                    self.open_started -= 1
                case state.Interrupt():
                    self.queued_audio = 0
        _check_view(self.machine.view)

    # user and front ends ---------------------------------------------------------------------

    @rule(kind=st.sampled_from([state.Toggle, state.Start, state.Stop]))
    def user(self, kind: type) -> None:
        self.apply(kind())

    @rule(seconds=st.one_of(st.none(), st.integers(1, 10)))
    def countdown(self, seconds: int | None) -> None:
        self.apply(state.Countdown(seconds))

    @rule(reason=st.sampled_from([state.StopReason.IDLE, state.StopReason.MAX]))
    def hang_up(self, reason: state.StopReason) -> None:
        self.apply(state.Stop(reason))

    @rule(muted=st.sampled_from([True, False, None]))
    def mute(self, muted: bool | None) -> None:
        self.muted = (not self.muted) if muted is None else muted
        self.apply(state.Mute(muted))

    @rule(dialect=st.sampled_from(["ga", "beta"]))
    def dialect_for_next_session(self, dialect: str) -> None:
        self.dialect = dialect

    # the session task --------------------------------------------------------------------------

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def server_frame(self, data: st.DataObject) -> None:
        assert self.proto is not None
        frame = data.draw(frames(self.dialect))
        for h in self.proto.receive(frame):
            if not self.running:
                break  # the worker stops reading once the session is cancelled
            if isinstance(h, SessionReady):
                self.apply(state.Connected())
            elif isinstance(h, ServerError):
                if h.code == BETA_REFUSAL_CODE:
                    self.connection_lost(retry=True)
                else:
                    self.apply(state.Notice(str(h)))
            elif isinstance(h, AudioDelta):
                self.queued_audio += 1
            elif isinstance(h, SpeechStarted) and self.queued_audio:
                self.queued_audio = 0  # barge-in clears the playback: its on_stop follows
                self.apply(state.AudioStopped())

    @precondition(lambda self: self.running)
    @rule(retry=st.booleans())
    def connection_lost(self, retry: bool) -> None:
        self.queued_audio = 0
        self.apply(state.AudioStopped())
        if retry:
            self.attempts += 1
            self.apply(state.Reconnecting("connection closed by the server", self.attempts))
        else:
            self.apply(state.Failed("gave up after 5 retries"))

    @precondition(lambda self: self.running)
    @rule()
    def closed(self) -> None:
        self.apply(state.Closed())

    @rule(cause=st.text(max_size=10))
    def failed_anywhere(self, cause: str) -> None:
        """A failure may arrive at any time (a prefetch, an audio device), even when idle."""
        self.apply(state.Failed(cause))

    @precondition(lambda self: self.machine.view.phase is not state.Phase.LIVE)
    @rule()
    def late_connected(self) -> None:
        """A late success for an attempt already cancelled."""
        self.apply(state.Connected())

    # the playback's callbacks (posted through the hub, so possibly late) --------------------

    @rule()
    def audio_started(self) -> None:
        self.apply(state.AudioStarted())

    @precondition(lambda self: self.queued_audio > 0)
    @rule()
    def audio_played_out(self) -> None:
        self.apply(state.AudioStarted())
        self.queued_audio = 0
        self.apply(state.AudioStopped())

    @rule()
    def audio_stopped(self) -> None:
        self.apply(state.AudioStopped())

    # invariants --------------------------------------------------------------------------------

    @invariant()
    def view_is_consistent(self) -> None:
        _check_view(self.machine.view)

    @invariant()
    def effects_match_the_view(self) -> None:
        phase = self.machine.view.phase
        assert self.running == (phase in (state.Phase.CONNECTING, state.Phase.LIVE)), (
            f"session running={self.running} but phase {phase}"
        )
        assert self.open_started == (1 if phase is state.Phase.LIVE else 0), (
            f"started-stopped={self.open_started} in phase {phase}"
        )

    @invariant()
    def mute_is_the_users(self) -> None:
        assert self.machine.view.muted == self.muted


WorkerModel.TestCase.settings = STATEFUL


def test_a_second_session_created_while_live_changes_nothing() -> None:
    machine = state.Machine()
    machine.handle(state.Start())
    machine.handle(state.Connected())
    before = machine.view
    effects = machine.handle(state.Connected())
    assert machine.view.phase is state.Phase.LIVE
    assert effects == [] or machine.view.phase is not state.Phase.LIVE, (
        f"effects {effects} but the view stays {machine.view.state}"
    )
    assert machine.view == before


test_machine_never_desynchronises = WorkerModel.TestCase


@FUZZ
@given(
    inputs=st.lists(
        st.one_of(
            st.builds(state.Toggle),
            st.builds(state.Start),
            st.builds(state.Stop, st.sampled_from(list(state.StopReason))),
            st.builds(state.Countdown, st.one_of(st.none(), st.integers(1, 10))),
            st.builds(state.Mute, st.sampled_from([True, False, None])),
            st.builds(state.Connected),
            st.builds(state.Reconnecting, st.text(max_size=5), st.integers(1, 10)),
            st.builds(state.Closed, st.text(max_size=5)),
            st.builds(state.Failed, st.text(max_size=5)),
            st.builds(state.Notice, st.text(max_size=5)),
            st.builds(state.AudioStarted),
            st.builds(state.AudioStopped),
        ),
        max_size=40,
    )
)
def test_any_input_sequence_keeps_the_view_consistent(inputs: list[state.Input]) -> None:
    """Not only the worker's order: any sequence of inputs leaves a consistent view, and
    Stop always ends in idle with nothing left running."""
    machine = state.Machine()
    for step in inputs:
        before = copy.copy(machine.view)
        effects = machine.handle(step)
        _check_view(machine.view)
        if any(isinstance(e, state.Connect) for e in effects):
            assert before.phase in (state.Phase.IDLE, state.Phase.ERROR)
    machine.handle(state.Stop())
    assert machine.view.phase is state.Phase.IDLE and not machine.view.speaking
