"""The configuration given in the environment leaves it, and a reload still sees it."""

from __future__ import annotations

from pathlib import Path

from appliance import config as c
from appliance.service import withdraw_environment_overrides


def test_withdrawn_overrides_keep_their_layer_for_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[openai]\nkey = "from-the-file"\n[display]\nmode = "window"\n')
    environ = {
        "APPLIANCE_OPENAI__KEY": "sk-from-the-environment",
        "APPLIANCE_DISPLAY__MODE": "fullscreen",
        "APPLIANCE_CONFIG": str(path),
        "PATH": "/usr/bin",
    }
    command_line = {"display": {"mode": "none"}}  # `appliance run --display none`
    at_start = c.load(path, environ=dict(environ), overrides=command_line)

    layers = withdraw_environment_overrides(command_line, environ)

    assert environ == {"APPLIANCE_CONFIG": str(path), "PATH": "/usr/bin"}
    reloaded = c.load(path, environ=environ, overrides=layers)  # what a reload reads
    assert reloaded == at_start
    assert reloaded.openai.key.get_secret_value() == "sk-from-the-environment"
    assert reloaded.display.mode == "none"  # the command line still wins over the environment


def test_without_overrides_in_the_environment_nothing_changes() -> None:
    environ = {"APPLIANCE_CONFIG": "/etc/appliance/config.toml", "HOME": "/var/lib/appliance"}
    assert withdraw_environment_overrides({"logging": {"level": "DEBUG"}}, environ) == {
        "logging": {"level": "DEBUG"}
    }
    assert environ == {
        "APPLIANCE_CONFIG": "/etc/appliance/config.toml",
        "HOME": "/var/lib/appliance",
    }
