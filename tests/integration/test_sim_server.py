"""The simulator's real server on localhost, driven with aiohttp and websockets clients."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from appliance.rig.sim import SimProcess
from appliance.sim import Simulator
from appliance.sim.voice import synth_speech

API_KEY = "sk-sim-local"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def run(
    test: Callable[[Simulator, aiohttp.ClientSession], Awaitable[None]], **options: Any
) -> None:
    async def main() -> None:
        async with Simulator(pace=20.0, **options) as sim, aiohttp.ClientSession() as http:
            await test(sim, http)

    asyncio.run(asyncio.wait_for(main(), 30))


async def mint_ga(sim: Simulator, http: aiohttp.ClientSession, **session: Any) -> str:
    body = {"session": {"type": "realtime", **session}}
    async with http.post(f"{sim.url}/v1/realtime/client_secrets", json=body, headers=AUTH) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["value"]


def connect(sim: Simulator, key: str, *, beta: bool = False) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    if beta:
        headers["OpenAI-Beta"] = "realtime=v1"
    return websockets.connect(f"{sim.ws_url}?model=gpt-realtime", additional_headers=headers)


async def recv_until(ws: Any, type_: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        event = json.loads(await ws.recv())
        got.append(event)
        if event["type"] == type_:
            return got


async def script(sim: Simulator, http: aiohttp.ClientSession, command: Any) -> None:
    async with http.post(f"{sim.url}/sim/script", json=command) as r:
        assert r.status == 200, await r.text()


# ---- key minting -----------------------------------------------------------------------------


def test_ga_key_minting_sets_the_session_config_and_keys_are_single_use() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        key = await mint_ga(sim, http, instructions="Be brief.")
        assert key.startswith("ek_")
        async with connect(sim, key) as ws:
            created = json.loads(await ws.recv())
            assert created["type"] == "session.created"
            assert created["session"]["type"] == "realtime"
            assert created["session"]["instructions"] == "Be brief."
        with pytest.raises(InvalidStatus) as info:
            async with connect(sim, key):
                pass
        assert info.value.response.status_code == 401
        assert b"ephemeral key already used" in info.value.response.body

    run(test)


def test_beta_key_minting_and_beta_session() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        body = {
            "model": "gpt-4o-realtime-preview-2025-06-03",
            "voice": "verse",
            "input_audio_transcription": {"model": "whisper-1"},
        }
        async with http.post(f"{sim.url}/v1/realtime/sessions", json=body, headers=AUTH) as r:
            assert r.status == 200
            minted = await r.json()
        assert minted["object"] == "realtime.session"
        assert minted["voice"] == "verse"
        key = minted["client_secret"]["value"]
        async with connect(sim, key, beta=True) as ws:
            session = json.loads(await ws.recv())["session"]
            assert session["voice"] == "verse"
            assert session["input_audio_format"] == "pcm16"
            assert "type" not in session
        log = sim.log.as_json()["connections"]
        assert log[-1] == {
            "dialect": "beta",
            "model": "gpt-realtime",
            "accepted": True,
            "reason": None,
        }

    run(test)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "realtime", "voice": "x"}},
            "session.voice",
        ),
        ("/v1/realtime/client_secrets", {"type": "realtime"}, "type"),
        ("/v1/realtime/sessions", {"session": {"voice": "alloy"}}, "session"),
        ("/v1/realtime/sessions", {"modalities": "audio"}, "modalities"),
    ],
)
def test_minting_is_strict(path: str, body: Any, param: str) -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        async with http.post(sim.url + path, json=body, headers=AUTH) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == param
        async with http.post(sim.url + path, json={}, headers={"Authorization": "Bearer no"}) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "invalid_api_key"

    run(test)


# ---- handshake refusals --------------------------------------------------------------------------


def test_unknown_and_expired_keys_are_refused_at_the_handshake() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        with pytest.raises(InvalidStatus) as info:
            async with connect(sim, "ek_made_up"):
                pass
        assert info.value.response.status_code == 401
        assert b"unknown ephemeral key" in info.value.response.body
        await script(sim, http, {"fault": "expire_keys"})
        key = await mint_ga(sim, http)
        with pytest.raises(InvalidStatus) as info:
            async with connect(sim, key):
                pass
        assert json.loads(info.value.response.body)["error"]["message"] == "ephemeral key expired"
        reasons = [c["reason"] for c in sim.log.connections]
        assert reasons == ["unknown ephemeral key", "ephemeral key expired"]
        assert b"ek_made_up" not in json.dumps(sim.log.as_json()).encode()

    run(test)


def test_refused_beta_gets_an_error_then_close_4000() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        async with connect(sim, API_KEY, beta=True) as ws:
            event = json.loads(await ws.recv())
            assert event["error"]["code"] == "beta_api_shape_disabled"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert ws.close_code == 4000
        async with connect(sim, API_KEY) as ws:  # GA still works
            assert json.loads(await ws.recv())["type"] == "session.created"

    run(test, refuse_beta=True)


# ---- provisioning ------------------------------------------------------------------------------


def test_provisioning_in_three_shapes_with_a_token() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        auth = {"Authorization": "Bearer prov-token"}
        async with http.get(f"{sim.url}/provision") as r:
            assert r.status == 401
        keys = []
        async with http.get(f"{sim.url}/provision?shape=text", headers=auth) as r:
            keys.append(await r.text())
        async with http.post(f"{sim.url}/provision?shape=value", headers=auth) as r:
            keys.append((await r.json())["value"])
        async with http.get(f"{sim.url}/provision?shape=client_secret", headers=auth) as r:
            keys.append((await r.json())["client_secret"]["value"])
        assert all(k.startswith("ek_") for k in keys) and len(set(keys)) == 3
        for key in keys:
            async with connect(sim, key) as ws:
                assert json.loads(await ws.recv())["type"] == "session.created"
        async with http.get(f"{sim.url}/sim/state") as r:
            assert (await r.json()) == {
                "sessions_open": 0,
                "keys_issued": 3,
                "user_speaking": False,
                "responding": False,
            }

    run(test, provision_token="prov-token")


def test_scripted_http_faults_on_provisioning() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        await script(
            sim,
            http,
            [
                {"fault": "http", "path": "/provision", "status": 500, "count": 1, "body": "down"},
                {"fault": "garbage", "path": "/provision"},
            ],
        )
        async with http.get(f"{sim.url}/provision") as r:
            assert (r.status, await r.text()) == (500, "down")
        async with http.get(f"{sim.url}/provision") as r:
            assert r.status == 200 and "ek_" not in await r.text()
        async with http.get(f"{sim.url}/provision") as r:
            assert (await r.json())["value"].startswith("ek_")
        async with http.get(f"{sim.url}/sim/log") as r:
            statuses = [h["status"] for h in (await r.json())["http"]]
        assert statuses == [500, 200, 200]
        async with http.post(f"{sim.url}/sim/script", json={"fault": "nope"}) as r:
            assert r.status == 400

    run(test)


# ---- a spoken turn and faults on the socket --------------------------------------------------


def test_a_spoken_turn_is_answered_and_logged() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        key = await mint_ga(sim, http)
        speech = bytes(4800) + synth_speech(0.8) + bytes(36000)
        async with connect(sim, key) as ws:
            await ws.recv()
            for i in range(0, len(speech), 9600):
                chunk = base64.b64encode(speech[i : i + 9600]).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
            got = await recv_until(ws, "response.done")
        names = [e["type"] for e in got]
        assert names.index("input_audio_buffer.speech_started") < names.index("response.created")
        audio = b"".join(
            base64.b64decode(e["delta"]) for e in got if e["type"] == "response.output_audio.delta"
        )
        assert len(audio) == 72000  # 1.5 s at 24 kHz
        logged = sim.log.client_events
        assert logged[0] == {"type": "input_audio_buffer.append", "audio": {"audio_bytes": 9600}}

    run(test)


def test_scripted_drop_closes_without_a_close_frame_after_n_deltas() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        await script(sim, http, {"fault": "drop", "after_deltas": 2})
        async with connect(sim, API_KEY) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "response.create"}))
            deltas = 0
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    event = json.loads(await ws.recv())
                    deltas += event["type"] == "response.output_audio.delta"
        assert deltas == 2
        assert info.value.rcvd is None  # no close frame

    run(test)


def test_scripted_errors_and_bad_frames_on_an_open_session() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        async with connect(sim, API_KEY) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "session.update", "session": {}}))
            error = json.loads(await ws.recv())
            assert error["error"]["param"] == "session.type"
            await script(sim, http, {"fault": "unknown_event"})
            assert json.loads(await ws.recv())["type"] == "sim.unknown_thing"
            await script(sim, http, {"fault": "malformed_json"})
            with pytest.raises(ValueError):
                json.loads(await ws.recv())
            await script(
                sim, http, {"fault": "error", "fatal": True, "code": "boom", "message": "scripted"}
            )
            assert json.loads(await ws.recv())["error"]["code"] == "boom"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert ws.close_code == 1011
        assert [e["error"]["code"] for e in sim.log.errors] == [
            "missing_required_parameter",
            "boom",
        ]

    run(test)


# ---- the command line ------------------------------------------------------------------------


def test_subprocess_prints_its_url_and_stops_cleanly_on_sigterm() -> None:
    sim = SimProcess("--log-level", "WARNING", env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert sim.url.startswith("http://127.0.0.1:")
        assert sim.state() == {
            "sessions_open": 0,
            "keys_issued": 0,
            "user_speaking": False,
            "responding": False,
        }
        sim.proc.send_signal(signal.SIGTERM)
        assert sim.proc.wait(timeout=10) == 0
    finally:
        sim.stop()


def test_scripted_stall_sends_nothing_more_but_keeps_reading() -> None:
    async def test(sim: Simulator, http: aiohttp.ClientSession) -> None:
        async with connect(sim, API_KEY) as ws:
            await ws.recv()
            await script(sim, http, {"fault": "stall"})
            await ws.send(json.dumps({"type": "response.create", "event_id": "after-stall"}))
            deadline = asyncio.get_running_loop().time() + 5
            while not any(e.get("event_id") == "after-stall" for e in sim.log.client_events):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
            assert sim.state()["sessions_open"] == 1

    run(test)
