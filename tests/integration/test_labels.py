"""``appliance config validate`` on the screen's texts, through the real command line: a wrong
label key or field is named with the fix; a good file passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from appliance.rig.process import child_env

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
