"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from appliance.rig.sound import SoundServer, Unavailable, pactl, sound_server


@pytest.fixture(scope="session", name="sound_server")
def sound_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    """The virtual sound server (see scripts/lib/soundserver.sh), with ``PULSE_SERVER`` set.

    Uses the one ``scripts/test`` started when ``PULSE_SERVER`` points at it, else starts a
    private one for this test session. Skips the test if neither is possible.
    """
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(sound_server(tmp_path_factory.mktemp("sound")))
        except Unavailable as exc:
            pytest.skip(f"no virtual sound server: {exc}")
        yield server


@pytest.fixture
def echo(sound_server: SoundServer) -> Iterator[None]:
    """The speaker looped back into the microphone (20 ms), like a speaker next to a
    microphone; unloaded after the test."""
    result = pactl(
        sound_server.address,
        "load-module",
        "module-loopback",
        "source=appliance_out.monitor",
        "sink=appliance_mic",
        "latency_msec=20",
        check=True,
    )
    yield
    pactl(sound_server.address, "unload-module", result.stdout.strip())


@pytest.fixture(autouse=True)
def _private_state_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's appliances (in this process or started by it) keep their state, the beta
    refusals file, in a directory of the test's own: never in the user's home, never shared
    with another test."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path_factory.mktemp("state")))
