"""Fuzzing the configuration: arbitrary text and nested data through the real loaders.

``appliance.config.load`` (files on disk, TOML, JSON or Deep Chat JSON) and
``validate(from_deepchat(data))`` may only give a valid :class:`AppConfig` or a
:class:`ConfigError` whose message is non-empty and names the file or a field; never another
exception, and never a secret in the message. A few examples go through the real command line,
``appliance config validate FILE``: exit 0 or 2, no traceback.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from appliance.config import (
    AppConfig,
    ConfigError,
    from_deepchat,
    handler_problem,
    load,
    validate,
)

FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ROOT = Path(__file__).resolve().parents[2]

API_KEY = "sk-fuzz-SECRET-4f1c9a"
HEADER = "Bearer fuzz-HEADER-77e2"
EPHEMERAL = "ek_fuzz-EPHEMERAL-19bd"
SECRETS = (API_KEY, HEADER, EPHEMERAL)

VALID: dict[str, Any] = {
    "openai": {"api_base": "http://127.0.0.1:8765", "key": API_KEY, "dialect": "ga"},
    "realtime": {
        "ephemeral_key": EPHEMERAL,
        "auto_start": False,
        "provisioning": {
            "url": "http://127.0.0.1:8765/provision",
            "headers": {"Authorization": HEADER},
            "timeout_s": 5,
        },
        "config": {
            "model": "gpt-realtime-2",
            "instructions": "You are a museum guide.",
            "voice": "alloy",
            "speed": 1.0,
            "max_response_output_tokens": "inf",
            "input_audio_transcription": {"model": "whisper-1", "language": "en"},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 400},
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            ],
            "function_handler": "appliance.demo:get_weather",  # importable from anywhere
        },
        "avatar": {"max_scale": 2.0, "styles": {"image": {"width": "200px"}}},
        "buttons": {"toggle": {"default": {"text": {"content": "Talk"}}}},
    },
    "audio": {"backend": "wav", "echo": "half-duplex", "block_ms": 20},
    "display": {"mode": "none", "size": [800, 480], "fps": 30},
    "gpio": {"enabled": False, "button_pin": 17, "patterns": {"idle": "off", "listening": 0.5}},
    "control": {"socket": "/run/appliance/control.sock", "mode": 432},
    "hooks": {"started": [["/bin/true"]], "timeout_s": 5},
    "recovery": {"max_attempts": 3, "backoff_initial_s": 0.5},
    "logging": {"level": "INFO"},
}
DEEPCHAT: dict[str, Any] = {
    "directConnection": {
        "openAI": {
            "key": API_KEY,
            "realtime": {"autoStart": True, "config": {"voice": "verse"}, "methods": {}},
        }
    }
}


# --- strategies ------------------------------------------------------------------------------

# Moderate depth keeps examples fast; deep nesting has its own test.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text(max_size=24)
    | st.sampled_from(
        ["", "none", "inf", "ga", "beta", "toggle", "pyaudio", "\u00e9\u4e2d\U0001f600"]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = sorted(
    {"openai", "realtime", "config", "audio", "gpio", "voice", "key", "url", "headers", "socket"}
    | {"directConnection", "openAI", "autoStart", "turnDetection", "maxScale", "voise", "Ünïcode"}
)
names = st.sampled_from(NAMES) | st.text(max_size=12)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return out
    for key, inner in items:
        out.append((*prefix, key))
        out += _paths(inner, (*prefix, key))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid config with a few mutations: wrong types, unknown keys, deep nesting, huge
    numbers, unicode, deleted keys."""
    data = copy.deepcopy(base if base is not None else draw(st.sampled_from([VALID, DEEPCHAT])))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(
            st.sampled_from(["retype", "unknown", "nest", "huge", "unicode", "delete", "camel"])
        )
        if action == "retype":
            parent[key] = draw(values)
        elif action == "unknown" and isinstance(parent[key], dict):
            parent[key][draw(names)] = draw(values)
        elif action == "nest":
            node: Any = parent[key]
            for _ in range(draw(st.integers(1, 40))):
                node = {draw(names): node} if draw(st.booleans()) else [node]
            parent[key] = node
        elif action == "huge":
            parent[key] = draw(st.sampled_from([10**30, -(10**30), 1e308, -1e308, 2**63, 10**400]))
        elif action == "unicode":
            parent[key] = draw(st.text(min_size=1, max_size=30))
        elif action == "delete":
            del parent[key]
        elif action == "camel" and isinstance(key, str) and isinstance(parent, dict):
            camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), key)
            parent[camel] = parent.pop(key)
    return data


config_data = st.one_of(
    mutated(),
    st.dictionaries(names, values, max_size=6),
    st.just(copy.deepcopy(VALID)),
    st.just(copy.deepcopy(DEEPCHAT)),
)


def _toml_or_none(data: dict[str, Any]) -> str | None:
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):  # None or mixed arrays have no TOML form
        return None


def _mangle(text: str, cuts: list[tuple[int, str]]) -> str:
    """Insert/delete at a few places: TOML-ish text that is often almost valid."""
    for position, insert in cuts:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + len(insert) // 2 :]
    return text


@st.composite
def file_texts(draw: st.DrawFn) -> tuple[str, str]:
    """(suffix, text) for a config file on disk."""
    data = draw(config_data)
    kind = draw(st.sampled_from(["json", "toml", "mangled", "random"]))
    text: str | None
    if kind == "json":
        text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    elif kind == "toml":
        text = _toml_or_none(data) or json.dumps(data)
    elif kind == "mangled":
        base = _toml_or_none(data) or json.dumps(data)
        cuts = draw(
            st.lists(
                st.tuples(
                    st.integers(0, 5000),
                    st.sampled_from(
                        [
                            '"',
                            "[",
                            "]",
                            "=",
                            "\n",
                            "{",
                            "}",
                            "\\",
                            "'''",
                            ",",
                            "#",
                            "\x00",
                            "\ufeff",
                        ]
                    ),
                ),
                min_size=1,
                max_size=4,
            )
        )
        text = _mangle(base, cuts)
    else:
        text = draw(st.text(max_size=200))
    suffix = draw(st.sampled_from([".toml", ".json", ".conf", ""]))
    return suffix, text


# --- checks ----------------------------------------------------------------------------------

LOCATION = re.compile(r"^\s*(?:- )?\S.*?: \S", re.S)


def _check_error(exc: ConfigError, *, file: Path | None = None) -> None:
    message = str(exc)
    assert message.strip(), "a ConfigError has a message"
    assert "Traceback" not in message
    if file is not None:
        assert message.startswith(str(file)), f"the message names the file: {message!r}"
    else:
        assert LOCATION.match(message), f"the message names a field: {message!r}"
    assert exc.problems and all(p.strip() for p in exc.problems)
    for problem in exc.problems:
        assert LOCATION.match(problem), f"each problem names where: {problem!r}"
    for secret in SECRETS:
        assert secret not in message, f"a secret in the error: {message!r}"


def _secret_still_in_place(data: Any) -> bool:
    """Whether a mutation moved a secret somewhere it is not treated as one."""
    text = json.dumps(data, default=str)
    return any(s in text for s in SECRETS)


def _parsed(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
    except (ValueError, UnicodeDecodeError):
        try:
            return tomllib.loads(text)
        except (ValueError, UnboundLocalError):
            return None


def check_data(data: dict[str, Any]) -> AppConfig | None:
    try:
        return validate(from_deepchat(copy.deepcopy(data)))
    except ConfigError as exc:
        _check_error(exc)
        return None


def check_file(path: Path) -> AppConfig | None:
    try:
        return load(path, environ={})
    except ConfigError as exc:
        _check_error(exc, file=path)
        return None


# --- tests -----------------------------------------------------------------------------------


def test_the_seeds_are_valid() -> None:
    """The mutations start from configs that load: a failure below is the mutation's doing."""
    assert isinstance(check_data(VALID), AppConfig)
    config = check_data(DEEPCHAT)
    assert isinstance(config, AppConfig) and config.realtime.auto_start


@FUZZ
@given(data=config_data)
@example(data={"openai": {"key": [API_KEY]}})
@example(data={"realtime": {"provisioning": {"url": "x", "headers": {"A": {"b": HEADER}}}}})
@example(data={"directConnection": {"openAI": {"key": API_KEY, "realtime": 5}}})
@example(data={"directConnection": []})
@example(data={"openAI": "x"})
@example(data={"audio": {"block_ms": 10**400}})
def test_data_gives_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    result = check_data(data)
    assert result is None or isinstance(result, AppConfig)


@FUZZ
@given(case=file_texts())
def test_files_give_a_config_or_a_config_error_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str]
) -> None:
    suffix, text = case
    path = tmp_path_factory.mktemp("cfg") / f"config{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = check_file(path)
    assert result is None or isinstance(result, AppConfig)


@FUZZ
@given(raw=st.binary(max_size=120))
def test_any_bytes_on_disk(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_bytes(raw)
    check_file(path)


def _cli_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(case=file_texts())
def test_the_cli_validates_without_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str]
) -> None:
    suffix, text = case
    path = tmp_path_factory.mktemp("cli") / f"config{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = _cli_validate(path)
    assert result.returncode in (0, 2), result
    assert "Traceback" not in result.stderr, result.stderr
    config = check_file(path)
    # `config validate` also finds the function_handler's module (see config.handler_problem)
    valid = config is not None and handler_problem(config.realtime.config.function_handler) is None
    expected = 0 if valid else 2
    assert result.returncode == expected, result.stderr
    if expected == 2:
        assert str(path) in result.stderr
    for secret in SECRETS:
        assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 100_000),
        ("deep-object.json", '{"a":' * 20_000 + "1" + "}" * 20_000),
        ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000),
        ("deep-inline.toml", "a = " + "{b = " * 5_000 + "1" + "}" * 5_000),
    ],
)
def test_deeply_nested_files_are_a_config_error(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    check_file(path)
    result = _cli_validate(path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("field", ["control.socket", "openai.key_file"])
def test_paths_with_nul_are_refused(tmp_path: Path, field: str) -> None:
    section, name = field.split(".")
    path = tmp_path / "config.toml"
    path.write_text(f'[{section}]\n{name} = "/run/appliance/a\\u0000b"\n')
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    _check_error(caught.value, file=path)


@pytest.mark.parametrize("name", ["list", "str", "int", "[x]"])
def test_unknown_top_level_names_like_union_branches(tmp_path: Path, name: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'"{name}" = 1\n')
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    _check_error(caught.value, file=path)
    assert name in str(caught.value)


def test_unknown_nested_names_like_union_branches_are_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[audio]\nint = 1\n")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert "audio.int" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        f'[[openai]]\nkey = "{API_KEY}"\n',
        f'[[realtime]]\nephemeral_key = "{EPHEMERAL}"\n',
        f'[realtime]\nprovisioning = [{{headers = {{A = "{HEADER}"}}}}]\n',
    ],
)
def test_a_section_of_the_wrong_type_does_not_show_its_secrets(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    message = str(caught.value)
    assert not any(secret in message for secret in SECRETS), message
