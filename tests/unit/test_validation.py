"""Caught up front: what used to pass ``config validate`` and fail later (at the first press, or
silently), now refused or reported at validation, through the real loaders and command line.

Each test was written to fail on the code before its fix.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from appliance import config as c
from appliance.cli import main
from appliance.config import SessionConfig, from_deepchat, validate
from appliance.realtime.dialects import DIALECTS

PREVIEW = "gpt-4o-realtime-preview-2025-06-03"


def problems(data: dict[str, Any], text: str | None = None) -> str:
    """The validation error's text (fails the test if ``data`` is valid)."""
    with pytest.raises(c.ConfigError) as error:
        validate(data, text=text)
    return str(error.value)


def session(**config: Any) -> dict[str, Any]:
    return {"realtime": {"config": config}}


# --- 3: dialect rules at validation, against the dialect `auto` would choose --------------------


def test_temperature_with_ga_is_refused_at_validation() -> None:
    text = '[realtime.config]\nmodel = "gpt-realtime-2"\ntemperature = 0.8\n'
    message = problems(c.parse_text(text, fmt="toml"), text)
    assert "realtime.config.temperature" in message and "GA" in message
    assert "[line 3]" in message
    assert "realtime.config.temperature" in problems(
        {"openai": {"dialect": "ga"}, **session(temperature=0.8)}
    )


def test_beta_temperature_outside_its_range_is_refused() -> None:
    for value in (0.3, 1.5):
        message = problems(
            {"openai": {"dialect": "beta"}, **session(model=PREVIEW, temperature=value)}
        )
        assert "realtime.config.temperature" in message and "0.6" in message and "1.2" in message
    # auto picks beta for a preview model: the same rule
    assert "realtime.config.temperature" in problems(session(model=PREVIEW, temperature=0.3))
    assert validate(session(model=PREVIEW, temperature=0.8)).realtime.config.temperature == 0.8


def test_beta_with_a_ga_model_is_refused_naming_the_model_to_use() -> None:
    message = problems({"openai": {"dialect": "beta"}})  # the default model, gpt-realtime-2
    assert "realtime.config.model" in message and "gpt-realtime-2" in message
    assert PREVIEW in message  # which model to use
    assert "realtime.config.model" in problems(
        {"openai": {"dialect": "beta"}, **session(model="gpt-realtime-mini")}
    )
    validate({"openai": {"dialect": "beta"}, **session(model=PREVIEW)})


def test_dialect_rules_are_the_dialects_own() -> None:
    """Validation asks the dialect mapping, so the first press can never disagree."""
    cfg = SessionConfig(model=PREVIEW, temperature=0.3)
    with pytest.raises(ValueError, match=r"0\.6 to 1\.2"):
        DIALECTS["beta"].session(cfg)


def test_config_validate_cli_reports_dialect_problems(tmp_path: Path, capsys) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[openai]\ndialect = "beta"\n')
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "realtime.config.model" in err and PREVIEW in err


# --- 4: types and ranges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, field",
    [
        ({"control": {"mode": -1}}, "control.mode"),
        ({"control": {"mode": 99999}}, "control.mode"),
        ({"control": {"mode": 0o1777}}, "control.mode"),
        ({"control": {"mode": True}}, "control.mode"),
        ({"display": {"fps": True}}, "display.fps"),
        ({"display": {"fps": 30.5}}, "display.fps"),
        ({"display": {"size": [0, 480]}}, "display.size"),
        ({"display": {"size": [True, 480]}}, "display.size"),
        ({"realtime": {"auto_start": "yes"}}, "realtime.auto_start"),
        ({"realtime": {"auto_start": 1}}, "realtime.auto_start"),
        ({"realtime": {"loading": {"display": "false"}}}, "realtime.loading.display"),
        ({"gpio": {"enabled": 0}}, "gpio.enabled"),
        ({"gpio": {"button_pin": True}}, "gpio.button_pin"),
        ({"gpio": {"led_pin": -3}}, "gpio.led_pin"),
        ({"gpio": {"hold_ms": "800"}}, "gpio.hold_ms"),
        ({"audio": {"block_ms": True}}, "audio.block_ms"),
        ({"audio": {"input_device": -1}}, "audio.input_device"),
        ({"openai": {"api_base": "http://127.0.0.1:99999"}}, "openai.api_base"),
        ({"openai": {"api_base": "http://127.0.0.1:0"}}, "openai.api_base"),
        ({"realtime": {"provisioning": {"url": "https://k.example:70000/x"}}}, "url"),
        ({"realtime": {"provisioning": {"url": "https://k/x", "timeout_s": True}}}, "timeout_s"),
        ({"hooks": {"timeout_s": math.inf}}, "hooks.timeout_s"),
        ({"hooks": {"timeout_s": 10**9}}, "hooks.timeout_s"),
        ({"recovery": {"backoff_max_s": math.nan}}, "recovery.backoff_max_s"),
        ({"recovery": {"stall_timeout_s": math.inf}}, "recovery.stall_timeout_s"),
        ({"recovery": {"session_max_s": 10**9}}, "recovery.session_max_s"),
        ({"recovery": {"max_attempts": False}}, "recovery.max_attempts"),
        ({"realtime": {"avatar": {"max_scale": True}}}, "realtime.avatar.max_scale"),
        ({"realtime": {"avatar": {"max_scale": math.inf}}}, "realtime.avatar.max_scale"),
        (session(speed=True), "realtime.config.speed"),
        (session(input_audio_transcription="yes"), "realtime.config.input_audio_transcription"),
        (session(max_response_output_tokens=True), "max_response_output_tokens"),
        (session(turn_detection={"create_response": "no"}), "create_response"),
        (session(turn_detection={"silence_duration_ms": 10**7}), "silence_duration_ms"),
        (session(function_handler={"url": "https://h/f", "timeout_s": 10**6}), "timeout_s"),
        (session(function_handler={"url": "ftp://h/f"}), "function_handler"),
    ],
)
def test_types_and_ranges_are_checked(data: dict[str, Any], field: str) -> None:
    assert field in problems(data)


def test_valid_values_still_pass() -> None:
    cfg = validate(
        {
            "control": {"mode": 0o660},
            "display": {"fps": 60, "size": [800, 480]},
            "gpio": {"button_pin": "GPIO17", "led_pin": 27, "hold_ms": 800},
            "openai": {"api_base": "http://127.0.0.1:8765"},
            "realtime": {
                "auto_start": True,
                "avatar": {"max_scale": 3},
                "provisioning": {"url": "https://k.example:8443/x", "timeout_s": 5},
                "config": {"speed": 1, "max_response_output_tokens": 100},
            },
            "recovery": {"backoff_initial_s": 0.1, "stall_timeout_s": 1.5},
        }
    )
    assert cfg.control.mode == 0o660 and cfg.realtime.config.speed == 1.0
    assert validate({"control": {"mode": 0o777}}).control.mode == 0o777


def test_bad_type_message_says_what_is_expected() -> None:
    message = problems({"display": {"fps": True}})
    assert "display.fps" in message and "whole number" in message
    assert "true or false" in problems({"realtime": {"auto_start": "yes"}})


# --- 6: the GA session fields Deep Chat passes through -------------------------------------------

GA_FIELDS: dict[str, Any] = {
    "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
    "prompt": {"id": "pmpt_123", "version": "2", "variables": {"city": "Paris"}},
    "tracing": {"workflow_name": "kiosk", "group_id": "kitchen"},
    "include": ["item.input_audio_transcription.logprobs"],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "audio": {"output": {"speed": 1.1}},
}


def test_ga_fields_are_accepted_and_sent_in_the_ga_shape() -> None:
    deepchat = {"directConnection": {"openAI": {"realtime": {"config": GA_FIELDS}}}}
    cfg = validate(from_deepchat(json.loads(json.dumps(deepchat)))).realtime.config
    sent = DIALECTS["ga"].session(cfg)
    for name in ("truncation", "prompt", "tracing", "include", "tool_choice"):
        assert sent[name] == GA_FIELDS[name], name
    assert sent["audio"]["output"]["speed"] == 1.1
    assert DIALECTS["ga"].mint_body(cfg)["session"]["truncation"] == GA_FIELDS["truncation"]
    for choice in ("auto", "none", "required", {"type": "mcp", "server_label": "docs"}):
        assert DIALECTS["ga"].session(SessionConfig(tool_choice=choice))["tool_choice"] == choice
    simple = SessionConfig.model_validate({"truncation": "disabled", "tracing": "auto"})
    assert DIALECTS["ga"].session(simple)["truncation"] == "disabled"
    assert DIALECTS["ga"].session(simple)["tracing"] == "auto"
    # a live update carries just what changed, in the same shape
    update = DIALECTS["ga"].session(cfg, {"truncation", "audio"})
    assert update == {
        "type": "realtime",
        "truncation": GA_FIELDS["truncation"],
        "audio": {"output": {"speed": 1.1}},
    }


@pytest.mark.parametrize(
    "fields, where",
    [
        ({"truncation": "sometimes"}, "realtime.config.truncation"),
        ({"truncation": {"type": "retention_ratio", "retention_ratio": 1.5}}, "retention_ratio"),
        ({"prompt": {"version": "2"}}, "realtime.config.prompt.id"),
        ({"include": ["everything"]}, "realtime.config.include"),
        ({"tool_choice": "always"}, "realtime.config.tool_choice"),
        ({"tool_choice": {"type": "function"}}, "realtime.config.tool_choice.name"),
        ({"tool_choice": {"type": "mcp"}}, "realtime.config.tool_choice.server_label"),
        ({"audio": {"output": {"speed": 3}}}, "realtime.config.audio.output.speed"),
        ({"audio": {"output": {"speed": 1.1}}, "speed": 1.0}, "realtime.config.audio"),
    ],
)
def test_ga_fields_are_validated(fields: dict[str, Any], where: str) -> None:
    assert where in problems(session(**fields))


def test_beta_maps_what_it_has_and_refuses_the_rest() -> None:
    beta = {"openai": {"dialect": "beta"}}
    cfg = validate(
        {
            **beta,
            **session(
                model=PREVIEW,
                tracing="auto",
                include=GA_FIELDS["include"],
                tool_choice="required",
                audio={"output": {"speed": 1.2}},
            ),
        }
    ).realtime.config
    sent = DIALECTS["beta"].session(cfg)
    assert sent["speed"] == 1.2 and "audio" not in sent  # beta's speed is flat
    assert sent["tracing"] == "auto" and sent["include"] == GA_FIELDS["include"]
    assert sent["tool_choice"] == "required"
    for name in ("truncation", "prompt", "tool_choice"):
        message = problems({**beta, **session(model=PREVIEW, **{name: GA_FIELDS[name]})})
        assert f"realtime.config.{name}" in message and "beta" in message and "GA" in message


# --- 5: what a Deep Chat JSON holds that the appliance does not use is reported -----------------

DEEPCHAT_EXTRA: dict[str, Any] = {
    "directConnection": {
        "openAI": {
            "key": "sk-test-abcdef123456",
            "realtime": {"autoStart": True, "methods": {}, "events": {}},
            "chat": {"max_tokens": 100},
            "display": {"mode": "bogus"},
        },
        "azure": {"key": "x"},
    },
    "display": {"mode": "bogus"},
    "style": {"borderRadius": "8px"},
}
IGNORED = {
    "display",
    "style",
    "directConnection.azure",
    "directConnection.openAI.chat",
    "directConnection.openAI.display",
    "directConnection.openAI.realtime.methods",
    "directConnection.openAI.realtime.events",
}


def ignored_paths(notes: list[str]) -> set[str]:
    return {note.split(":", 1)[0] for note in notes}


def test_from_deepchat_reports_every_ignored_key_by_path() -> None:
    notes: list[str] = []
    data = from_deepchat(json.loads(json.dumps(DEEPCHAT_EXTRA)), ignored=notes)
    assert ignored_paths(notes) == IGNORED
    assert validate(data).realtime.auto_start is True  # still valid: they are warnings
    bare: list[str] = []
    from_deepchat({"key": "sk-test-abcdef123456", "realtime": True, "chat": {}}, ignored=bare)
    assert ignored_paths(bare) == {"chat"}
    ours: list[str] = []
    from_deepchat({"realtime": {"auto_start": True}}, ignored=ours)
    assert ours == []


def test_config_validate_warns_about_ignored_keys_and_strict_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deepchat.json"
    path.write_text(json.dumps(DEEPCHAT_EXTRA, indent=2))
    assert main(["config", "validate", str(path)]) == 0
    out = capsys.readouterr()
    warned = {line for line in out.err.splitlines() if line.startswith("warning:")}
    assert ignored_paths([w.split(": ", 2)[2] for w in warned]) == IGNORED, out.err
    assert "valid" in out.out
    assert main(["config", "validate", "--strict", str(path)]) == 2
    err = capsys.readouterr().err
    assert "7 problems" in err and "directConnection.openAI.display" in err
    assert "sk-test-abcdef123456" not in err


def test_load_keeps_the_ignored_keys_for_the_log(tmp_path: Path) -> None:
    path = tmp_path / "deepchat.json"
    path.write_text(json.dumps(DEEPCHAT_EXTRA))
    assert ignored_paths(c.load(path, environ={}).ignored_keys) == IGNORED
    toml = tmp_path / "config.toml"
    toml.write_text("[realtime]\nauto_start = true\n")
    assert c.load(toml, environ={}).ignored_keys == []


def test_config_import_reports_ignored_keys(tmp_path: Path, capsys) -> None:
    source = tmp_path / "deepchat.json"
    source.write_text(json.dumps(DEEPCHAT_EXTRA))
    target = tmp_path / "config.toml"
    assert main(["config", "import", "--config", str(target), str(source)]) == 0
    err = capsys.readouterr().err
    assert ignored_paths([line.split(": ", 2)[2] for line in err.splitlines()]) == IGNORED


# --- a reasoning model's GA fields: reasoning.effort and parallel_tool_calls --------------------


def test_reasoning_and_parallel_tool_calls_pass_through_from_deep_chat() -> None:
    fields = {"reasoning": {"effort": "high"}, "parallelToolCalls": False}
    deepchat = {"directConnection": {"openAI": {"realtime": {"config": fields}}}}
    cfg = validate(from_deepchat(json.loads(json.dumps(deepchat)))).realtime.config
    sent = DIALECTS["ga"].session(cfg)
    assert sent["reasoning"] == {"effort": "high"} and sent["parallel_tool_calls"] is False


def test_config_import_of_a_deep_chat_json_keeps_reasoning_and_parallel_tool_calls(
    tmp_path: Path,
) -> None:
    from appliance.config import edit as configfile

    fields = {"reasoning": {"effort": "xhigh"}, "parallelToolCalls": True}
    source = tmp_path / "deepchat.json"
    source.write_text(
        json.dumps({"directConnection": {"openAI": {"realtime": {"config": fields}}}})
    )
    conf = tmp_path / "config.toml"
    imported = configfile.import_deepchat(conf, source).realtime.config
    assert imported.reasoning.effort == "xhigh" and imported.parallel_tool_calls is True
    again = c.load(conf, environ={}).realtime.config  # as written to the file
    sent = DIALECTS["ga"].session(again)
    assert sent["reasoning"] == {"effort": "xhigh"} and sent["parallel_tool_calls"] is True


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high", "xhigh"])
def test_every_reasoning_effort_validates(effort: str) -> None:
    assert (
        validate(session(reasoning={"effort": effort})).realtime.config.reasoning.effort == effort
    )


def test_a_bad_reasoning_effort_names_the_field_and_the_allowed_values() -> None:
    message = problems(session(reasoning={"effort": "max"}))
    assert "realtime.config.reasoning.effort" in message
    for allowed in ("'minimal'", "'low'", "'medium'", "'high'", "'xhigh'"):
        assert allowed in message
    assert "realtime.config.parallel_tool_calls" in problems(session(parallel_tool_calls="yes"))
    assert "realtime.config.reasoning.effrot" in problems(session(reasoning={"effrot": "low"}))


def test_reasoning_on_beta_is_refused_by_validation_naming_the_field() -> None:
    for name, value in (("reasoning", {"effort": "low"}), ("parallel_tool_calls", True)):
        message = problems(
            {"openai": {"dialect": "beta"}, **session(model=PREVIEW, **{name: value})}
        )
        assert f"realtime.config.{name}" in message and "beta" in message and "GA" in message
