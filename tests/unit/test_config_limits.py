"""Limits of the session config (``realtime.config``): tools, their names, instructions and
other texts, refused with a message naming the field and the limit; by validation and by
``config import`` alike."""

from __future__ import annotations

import json

import pytest

from appliance.config import (
    MAX_INSTRUCTIONS,
    MAX_TEXT,
    MAX_TOOL_NAME,
    MAX_TOOLS,
    ConfigError,
    validate,
)
from appliance.config import edit as configfile


def _session(**fields) -> dict:
    return {"realtime": {"config": fields}}


def _tools(n: int) -> list[dict]:
    return [{"type": "function", "name": f"tool_{i}"} for i in range(n)]


def test_up_to_the_limits_is_valid():
    config = validate(
        _session(
            tools=_tools(MAX_TOOLS),
            instructions="x" * MAX_INSTRUCTIONS,
            voice="v" * MAX_TEXT,
        )
    )
    assert len(config.realtime.config.tools) == MAX_TOOLS == 128


@pytest.mark.parametrize(
    "fields,said",
    [
        ({"tools": _tools(MAX_TOOLS + 1)}, "realtime.config.tools: at most 128 items (got 129)"),
        (
            {"instructions": "x" * (MAX_INSTRUCTIONS + 1)},
            "realtime.config.instructions: at most 32768 characters (got 32769); shorten it",
        ),
        (
            {"tools": [{"name": "n" * (MAX_TOOL_NAME + 1)}]},
            "realtime.config.tools[0].name: at most 64 characters (got 65)",
        ),
        (
            {"tools": [{"name": "a", "description": "d" * (MAX_TEXT + 1)}]},
            "realtime.config.tools[0].description: at most 4096 characters",
        ),
        (
            {"input_audio_transcription": {"prompt": "p" * (MAX_TEXT + 1)}},
            "realtime.config.input_audio_transcription.prompt: at most 4096 characters",
        ),
    ],
)
def test_over_a_limit_is_refused_naming_the_field_and_the_limit(fields, said):
    with pytest.raises(ConfigError) as caught:
        validate(_session(**fields))
    assert len(caught.value.problems) == 1
    assert said in caught.value.problems[0]


def test_two_tools_of_one_name_are_refused():
    tools = [*_tools(3), {"type": "function", "name": "tool_1"}]
    with pytest.raises(ConfigError) as caught:
        validate(_session(tools=tools))
    assert caught.value.problems == [
        "realtime.config.tools: the name 'tool_1' is used by tools [1] and [3]; each tool needs "
        "its own name (the model calls a function by its name)"
    ]


def test_an_import_over_a_limit_changes_nothing(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text('[realtime.config]\nvoice = "alloy"\n')
    deepchat = tmp_path / "deepchat.json"
    config = {"tools": _tools(MAX_TOOLS + 1), "instructions": "be brief"}
    deepchat.write_text(
        json.dumps({"directConnection": {"openAI": {"realtime": {"config": config}}}})
    )
    with pytest.raises(ConfigError, match=r"realtime\.config\.tools: at most 128 items"):
        configfile.import_deepchat(target, deepchat)
    assert target.read_text() == '[realtime.config]\nvoice = "alloy"\n'
