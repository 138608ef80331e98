"""Fixtures: a real simulator process per test and a factory for appliance processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rig import Appliance, Sim, write_speech_wav

MODELS = {"ga": "gpt-realtime-2", "beta": "gpt-4o-realtime-preview-2025-06-03"}
SIM_API_KEY = "sk-sim-local"


@pytest.fixture
def sim() -> Iterator[Sim]:
    server = Sim("--api-key", SIM_API_KEY)
    yield server
    server.stop()


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    """0.5 s silence, 1.2 s of speech, 2.5 s silence; 48 kHz stereo (exercises resampling)."""
    return write_speech_wav(tmp_path / "speech.wav", [(0.5, 1.2)], total_s=4.2)


def session_config(sim: Sim, dialect: str, source: str = "provisioning", **overrides: Any) -> dict:
    """A config that talks to ``sim`` in ``dialect``, with keys from ``source``."""
    realtime: dict[str, Any] = {
        "config": {
            "model": MODELS[dialect],
            "instructions": "You are a museum guide. Be brief.",
            "voice": "alloy",
            "input_audio_transcription": True,
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 400},
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ],
            "function_handler": "handlers:get_weather",
        }
    }
    openai: dict[str, Any] = {"api_base": sim.url, "dialect": dialect}
    if source == "provisioning":
        realtime["provisioning"] = {"url": f"{sim.url}/provision?shape=value", "timeout_s": 5}
    elif source == "mint":
        openai["key"] = SIM_API_KEY
    config: dict[str, Any] = {"openai": openai, "realtime": realtime}
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(config.get(section), dict):
            config[section] = {**config[section], **values}
        else:
            config[section] = values
    return config


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
