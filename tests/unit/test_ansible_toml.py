"""The Ansible role's ``to_appliance_toml`` filter: inventory mappings as config.toml."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

from appliance import config as cfg

PLUGIN = (
    Path(__file__).resolve().parents[2]
    / "deploy/ansible/roles/appliance/filter_plugins/appliance_toml.py"
)
spec = importlib.util.spec_from_file_location("appliance_toml", PLUGIN)
assert spec is not None and spec.loader is not None
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
to_toml = plugin.to_appliance_toml


def test_a_config_round_trips_and_the_appliance_takes_it(tmp_path: Path) -> None:
    data = {
        "realtime": {
            "auto_start": False,
            "provisioning": {"url": "https://keys.example.org/provision"},
            "config": {"voice": "verse", "instructions": 'Say "hi"\n\tthen — stop ✓'},
        },
        "audio": {"volume": 70, "input_device": "USB"},
        "hooks": {"started": [["/usr/bin/logger", "started"]]},
        "openai": {"api_base": None},  # left out: the default applies
    }
    text = to_toml(data)
    expected = {k: v for k, v in data.items() if k != "openai"} | {"openai": {}}
    assert tomllib.loads(text) == expected
    path = tmp_path / "config.toml"
    path.write_text(text)
    loaded = cfg.load(path, environ={})
    assert loaded.realtime.config.voice == "verse"
    assert loaded.audio.volume == 70


def test_keys_that_need_quotes_and_tables_in_lists() -> None:
    data = {"a b": {"x.y": 1, "z": [{"p": 1.5}, {"q": True}]}, "arr": [{"n": "1"}, {"n": "2"}]}
    assert tomllib.loads(to_toml(data)) == data


def test_empty_and_refusals() -> None:
    assert to_toml({}) == ""
    assert to_toml(None) == ""
    with pytest.raises(ValueError, match=r"audio\.gain"):
        to_toml({"audio": {"gain": float("nan")}})
    with pytest.raises(ValueError, match="keys must be strings"):
        to_toml({"audio": {1: 2}})
    with pytest.raises(ValueError, match="cannot write a set"):
        to_toml({"x": {1, 2}})
    with pytest.raises(ValueError, match="must be a mapping"):
        to_toml([1])


def test_nesting_is_bounded() -> None:
    deep: dict = {}
    node = deep
    for _ in range(plugin.MAX_DEPTH):
        node["t"] = {}
        node = node["t"]
    node["v"] = 1
    assert tomllib.loads(to_toml(deep)) == deep
    node["t"] = {"v": 1}
    with pytest.raises(ValueError, match="nested deeper"):
        to_toml(deep)
