"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# tests/soundserver.py, importable whatever the import mode
import soundserver


@pytest.fixture(scope="session")
def sound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[soundserver.SoundServer]:
    """The virtual sound server (see scripts/lib/soundserver.sh), with ``PULSE_SERVER`` set.

    Uses the one ``scripts/test`` started when ``PULSE_SERVER`` points at it, else starts a
    private one for this test session. Skips the test if neither is possible.
    """
    address = os.environ.get("PULSE_SERVER")
    if address and soundserver.has_appliance_sinks(address):
        yield soundserver.SoundServer(address=address)
        return
    try:
        server = soundserver.start(tmp_path_factory.mktemp("sound"))
    except soundserver.Unavailable as exc:
        pytest.skip(f"no virtual sound server: {exc}")
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = server.address
    try:
        yield server
    finally:
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        server.stop()


@pytest.fixture(autouse=True)
def _private_state_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's appliances (in this process or started by it) keep their state, the beta
    refusals file, in a directory of the test's own: never in the user's home, never shared
    with another test."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path_factory.mktemp("state")))
