"""Fixtures: a real simulator process per test and a factory for appliance processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rig import SIM_API_KEY, Appliance

from appliance.rig import xdisplay
from appliance.rig.sim import Sim
from appliance.rig.speech import write_speech_wav


@pytest.fixture
def sim() -> Iterator[Sim]:
    server = Sim("--api-key", SIM_API_KEY)
    yield server
    server.stop()


@pytest.fixture
def servers() -> Iterator[list]:
    """Key servers (:class:`appliance.rig.keyserver.KeyServerProcess`) a test starts; each
    must stop with exit status 0 (a graceful stop) at the end."""
    started: list = []
    yield started
    codes = [s.stop() for s in started]
    assert codes == [0] * len(codes), f"key server exit codes {codes}"


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    """0.5 s silence, 1.2 s of speech, 2.5 s silence; 48 kHz stereo (exercises resampling)."""
    return write_speech_wav(tmp_path / "speech.wav", [(0.5, 1.2)], total_s=4.2)


@pytest.fixture
def appliances(tmp_path: Path) -> Iterator[list[Appliance]]:
    """Appliances started by a test are stopped (SIGTERM) after it, and must exit 0."""
    started: list[Appliance] = []
    yield started
    codes = [app.stop() for app in started]
    assert all(code == 0 for code in codes), f"appliance exit codes {codes}"


@pytest.fixture
def start(tmp_path: Path, appliances: list[Appliance]):
    def _start(config: dict, **kwargs: Any) -> Appliance:
        folder = tmp_path / f"app{len(appliances)}"
        folder.mkdir()
        app = Appliance(folder, config, **kwargs)
        appliances.append(app)
        return app

    return _start


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private Xvfb display (1024x768) for the tests of a module; skips without Xvfb."""
    if not xdisplay.available():
        pytest.skip("Xvfb is not installed")
    with xdisplay.virtual_display(1024, 768) as name:
        yield name
