"""The screen's texts against real processes: ``appliance config validate`` names a wrong label
key or field with the fix; the causes a real ``appliance run`` reports on failures are told to
the visitor by their kind, in the configured language."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rig import session_config

from appliance.config import validate
from appliance.labels import Labels
from appliance.rig.process import child_env
from appliance.state import Phase, View

FAST = {"backoff_initial_s": 0.1, "backoff_max_s": 0.3, "max_attempts": 2}

VALIDATE = [sys.executable, "-m", "appliance", "config", "validate"]


def validate_file(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VALIDATE, str(path)], capture_output=True, text=True, timeout=30, env=child_env()
    )


def test_config_validate_names_a_wrong_label_key_and_field(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[display]\nlanguage = "de"\n\n[display.labels]\nlistning = "Ich höre"\n'
        'countdown = "Noch da? ({secs})"\n'
    )
    result = validate_file(config)
    assert result.returncode == 2, result.stderr
    assert "display.labels" in result.stderr
    assert "'listning'" in result.stderr and "did you mean 'listening'" in result.stderr
    assert "{secs}" in result.stderr and "{seconds}" in result.stderr


def test_config_validate_names_an_unknown_language(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[display]\nlanguage = "klingon"\n')
    result = validate_file(config)
    assert result.returncode == 2
    assert "display.language" in result.stderr and "'fr'" in result.stderr


def test_config_validate_passes_a_language_with_overrides(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[display]\nlanguage = "es"\n\n[display.labels]\nlistening = "Le escucho"\n'
        'countdown = "¿Sigue ahí? {seconds} s"\n'
    )
    result = validate_file(config)
    assert result.returncode == 0, result.stderr


def told(cause: str, language: str = "de") -> list[str]:
    """What the screen in ``language`` shows between the buttons for a failure's ``cause``."""
    from appliance.display.screen import Screen

    config = validate({"display": {"language": language}})
    return Screen(config, (800, 480)).middle_lines(View(phase=Phase.ERROR, error_cause=cause))


def failed_cause(app) -> str:
    app.ctl("start")
    cause = app.wait_state("error")["last_error"]
    assert cause
    return cause


def test_a_refusing_key_server_is_told_as_such(sim, start):
    app = start(session_config(sim, "ga", recovery=FAST))
    sim.script({"fault": "http", "path": "/provision", "status": 401, "count": 1})
    words = Labels("de")
    assert told(failed_cause(app)) == [words["error_title"], words["error_provisioning"]]


def test_an_unreachable_voice_service_is_told_as_no_connection(sim, start):
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = session_config(sim, "ga", recovery=FAST)
    config["openai"]["api_base"] = f"http://127.0.0.1:{port}"
    cause = failed_cause(start(config))
    assert told(cause, "fr")[1] == Labels("fr")["error_network"]
    assert "127.0.0.1" in cause and "127.0.0.1" not in " ".join(told(cause, "fr"))


def test_a_missing_microphone_is_told_as_such(sim, start):
    pytest.importorskip("pyaudio")
    config = session_config(sim, "ga", recovery=FAST)
    config["audio"] = {"backend": "pyaudio", "input_device": "no-such-microphone-xyz"}
    cause = failed_cause(start(config, use_wav=False))
    assert (
        told(cause, "es")[1]
        == Labels("es")["error_microphone"]
        == "No se encontró ningún micrófono"
    )
