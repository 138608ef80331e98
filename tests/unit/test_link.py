"""The realtime link in-process, against the real simulator on 127.0.0.1 (no mocks).

:class:`~appliance.realtime.link.Link` fetches a key from the simulator's provisioning URL,
opens the WebSocket, sends the session's configuration and serves it; a stop closes the socket,
a server that closes it is called again with a fresh key. Audio is the null backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from appliance import state
from appliance.audio.backend import NullBackend
from appliance.audio.lifecycle import AudioDevice
from appliance.audio.playback import Playback
from appliance.bus import Bus
from appliance.captions import Caption, Captions
from appliance.config import AppConfig, validate
from appliance.realtime.link import Link
from appliance.rig.process import until
from appliance.sim.server import Simulator

DEADLINE_S = 5.0
"""Each wait's limit, for a loaded machine: everything here normally takes milliseconds."""


def sim_config(sim: Simulator) -> AppConfig:
    """Keys from the simulator's provisioning URL, the GA dialect, retries at once."""
    return validate(
        {
            "openai": {"api_base": sim.url, "dialect": "ga"},
            "realtime": {
                "provisioning": {"url": f"{sim.url}/provision?shape=value", "timeout_s": 5},
                "config": {"model": "gpt-realtime-2", "instructions": "Be brief."},
            },
            "recovery": {"backoff_initial_s": 0.01, "backoff_max_s": 0.01},
        }
    )


class Harness:
    """A :class:`Link` wired as the appliance wires it: its inputs go to a real state machine
    (whose effects are left to the test), its events to a bus the test listens to."""

    def __init__(self, sim: Simulator) -> None:
        self.machine = state.Machine()
        self.inputs: list[state.Input] = []
        self.events: list[dict[str, Any]] = []
        bus = Bus()
        bus.listen(self.events.append)
        self.captions = Captions()
        self.shown: list[tuple[Caption, ...]] = []  # what the screen was given, in order
        self.link = Link(
            sim_config(sim),
            post=self.post,
            view=lambda: self.machine.view,
            bus=bus,
            audio=AudioDevice(NullBackend()),
            playback=Playback(max_seconds=4),
            captions=self.captions,
            show_captions=lambda: self.shown.append(self.captions.shown()),
        )

    def post(self, given: state.Input) -> None:
        self.inputs.append(given)
        self.machine.handle(given)

    def start(self) -> None:
        """What a press does: the machine goes to connecting, the link starts a session."""
        self.machine.handle(state.Start())
        self.link.start()


def run(scenario: Callable[[Simulator, Harness], Awaitable[None]]) -> None:
    """Run ``scenario`` with a fresh simulator and link; stop both whatever happens."""

    async def main() -> None:
        async with Simulator(pace=50.0) as sim:
            harness = Harness(sim)
            try:
                await scenario(sim, harness)
            finally:
                harness.link.cancel()
                await harness.link.wait_closed(DEADLINE_S)
                await harness.link.aclose()

    asyncio.run(main())


def sent(sim: Simulator, kind: str) -> list[dict[str, Any]]:
    """The client events of type ``kind`` the simulator received, in order."""
    return [e for e in sim.log.client_events if isinstance(e, dict) and e.get("type") == kind]


def accepted(sim: Simulator) -> int:
    return sum(1 for c in sim.log.connections if c["accepted"])


def test_a_start_fetches_a_key_sends_the_session_and_a_stop_closes_the_socket() -> None:
    async def scenario(sim: Simulator, h: Harness) -> None:
        h.start()
        await until(
            lambda: h.link.connected and sent(sim, "session.update"), DEADLINE_S, "a session"
        )
        assert sim.keys.issued == 1  # the key came from the provisioning URL
        assert accepted(sim) == 1 and sim.state()["sessions_open"] == 1
        assert sim.log.connections[0]["model"] == "gpt-realtime-2"
        assert sent(sim, "session.update")[0]["session"]["instructions"] == "Be brief."
        await until(lambda: h.machine.view.phase is state.Phase.LIVE, DEADLINE_S, "live")
        assert any(isinstance(i, state.Connected) for i in h.inputs)
        assert h.link.session_id

        task = h.link.cancel()
        assert task is not None
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), DEADLINE_S)
        await until(lambda: sim.state()["sessions_open"] == 0, DEADLINE_S, "the socket closed")
        assert h.link.session_id is None
        assert not any(isinstance(i, state.Failed) for i in h.inputs)  # a stop is no error
        assert not any(e["type"] == "error" for e in h.events)

    run(scenario)


def test_a_server_close_is_answered_by_a_retry_with_a_fresh_key() -> None:
    async def scenario(sim: Simulator, h: Harness) -> None:
        h.start()
        first = await until(lambda: h.link.session_id, DEADLINE_S, "the first session")
        close = {"fault": "error", "fatal": True, "code": "server_error", "close_code": 1011}
        await sim.apply_script(close)
        await until(
            lambda: (
                h.link.session_id not in (None, first) and len(sent(sim, "session.update")) == 2
            ),
            DEADLINE_S,
            "a reconnect, the session configured again",
        )
        assert accepted(sim) == 2
        assert sim.keys.issued == 2  # a fresh key: the simulator's keys are good for one use
        reconnecting = [i for i in h.inputs if isinstance(i, state.Reconnecting)]
        assert reconnecting and "code 1011" in reconnecting[0].cause
        assert not any(isinstance(i, state.Failed) for i in h.inputs)

    run(scenario)


def test_captions_stream_in_and_a_barge_in_cuts_them_to_the_audio_played() -> None:
    words = [f"w{n:02d}" for n in range(20)]  # of one length: characters spread like words

    async def scenario(sim: Simulator, h: Harness) -> None:
        sim.script.add({"answer_seconds": 2}, session_open=False)
        sim.script.add({"transcript": " ".join(words)}, session_open=False)
        h.start()
        await until(lambda: h.machine.view.phase is state.Phase.LIVE, DEADLINE_S, "live")
        assert (await h.link.say("Tell me", "user", None))["ok"]
        playback = h.link.playback
        await until(lambda: playback.queued_ms == 2000, DEADLINE_S, "the whole answer queued")
        assert h.shown[-1] == (Caption("assistant", " ".join(words)),)
        assert len(h.shown) == len(words)  # shown as it streamed in, a word at a time
        playback.read(24_000)  # 1000 ms of the 2000 play
        h.link.barge_in(cancel_response=True)
        # half the audio: the first half of the words (w10 begins at 1000 ms)
        assert h.captions.shown() == (Caption("assistant", " ".join(words[:10])),)
        assert h.shown[-1] == h.captions.shown()
        await until(lambda: sent(sim, "conversation.item.truncate"), DEADLINE_S, "truncate")
        # the cancelled answer's final transcript does not bring the rest back
        await until(
            lambda: any(e["type"] == "transcript" for e in h.events), DEADLINE_S, "transcript"
        )
        assert h.captions.shown() == (Caption("assistant", " ".join(words[:10])),)

    run(scenario)
