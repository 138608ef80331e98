"""Configuration: file formats, Deep Chat JSON, env overrides, messages, redaction."""

import json
import subprocess
import sys

import pytest

from appliance import config as c
from appliance.config import loading

SAMPLE_TOML = """
[openai]
api_base = "https://api.openai.com"
key_file = "/etc/appliance/openai.key"
dialect = "auto"
[realtime]
ephemeral_key = "ek_static_secret_123"
auto_fetch_ephemeral_key = false
auto_start = false
[realtime.provisioning]
url = "https://example.org/realtime-key"
method = "POST"
headers = { Authorization = "Bearer device-token-xyz" }
timeout_s = 10
[realtime.config]
model = "gpt-realtime-2"
instructions = "Be brief."
voice = "alloy"
input_audio_transcription = true
turn_detection = { type = "server_vad", threshold = 0.5, prefix_padding_ms = 300, \
  silence_duration_ms = 500 }
[control]
socket = "/run/appliance/control.sock"
"""


def test_issue_sample_toml_loads(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE_TOML)
    cfg = c.load(path, environ={})
    assert cfg.realtime.config.voice == "alloy"
    assert cfg.realtime.config.turn_detection.silence_duration_ms == 500
    assert cfg.realtime.provisioning.headers["Authorization"].get_secret_value().endswith("xyz")
    assert str(cfg.control.socket) == "/run/appliance/control.sock"


def test_secrets_never_in_repr_or_show(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE_TOML)
    cfg = c.load(path, environ={})
    shown = json.dumps(c.redacted(cfg)) + repr(cfg) + str(cfg)
    assert "ek_static_secret_123" not in shown
    assert "device-token-xyz" not in shown
    assert c.redacted(cfg)["realtime"]["provisioning"]["headers"] == {"Authorization": "***"}


@pytest.mark.parametrize(
    "doc",
    [
        {
            "directConnection": {
                "openAI": {"key": "sk-test-abcdef", "realtime": {"autoStart": True}}
            }
        },
        {"key": "sk-test-abcdef", "realtime": {"autoStart": True}},
        {"openAI": {"key": "sk-test-abcdef", "realtime": {"auto_start": True}}},
    ],
)
def test_deep_chat_json_accepted_as_is(tmp_path, doc):
    path = tmp_path / "deepchat.json"
    path.write_text(json.dumps(doc))
    cfg = c.load(path, environ={})
    assert cfg.realtime.auto_start is True
    assert cfg.openai.key.get_secret_value() == "sk-test-abcdef"


def test_deep_chat_realtime_true_and_visual_options():
    doc = {
        "directConnection": {
            "openAI": {
                "realtime": {
                    "avatar": {
                        "src": "a.png",
                        "maxScale": 3.5,
                        "styles": {"image": {"padding": "5px"}},
                    },
                    "buttons": {"container": {"backgroundColor": "#f7f7f7"}},
                    "loading": {"html": "<b>Wait</b>", "style": {"top": "20px"}},
                    "error": {"text": "Custom Error!", "style": {"color": "orange"}},
                    "config": {"instructions": "yes or no", "voice": "alloy"},
                    "methods": {},
                    "events": {},
                }
            }
        }
    }
    cfg = c.validate(c.from_deepchat(doc))
    assert cfg.realtime.avatar.max_scale == 3.5
    assert cfg.realtime.avatar.styles.image == {"padding": "5px"}
    assert cfg.realtime.error.text == "Custom Error!"
    assert cfg.realtime.loading.html == "<b>Wait</b>"
    assert c.validate(c.from_deepchat({"openAI": {"realtime": True}})).realtime.auto_start is False


@pytest.mark.parametrize("value,expected", [(0.5, 2.5), (0, 2.5), (1, 1.0), (4, 4.0)])
def test_max_scale_below_one_falls_back(value, expected):
    cfg = c.validate({"realtime": {"avatar": {"maxScale": value}}})
    assert cfg.realtime.avatar.max_scale == expected


def test_env_overrides_nested_and_typed(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(SAMPLE_TOML)
    env = {
        "APPLIANCE_REALTIME__CONFIG__VOICE": "verse",
        "APPLIANCE_REALTIME__AUTO_START": "true",
        "APPLIANCE_AUDIO__BLOCK_MS": "40",
        "APPLIANCE_CONFIG_IGNORED": "x",
    }
    cfg = c.load(path, environ=env)
    assert cfg.realtime.config.voice == "verse"
    assert cfg.realtime.auto_start is True
    assert cfg.audio.block_ms == 40


def test_bad_config_names_field_fix_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[realtime.config]\nvoise = "alloy"\n\n[openai]\ndialect = "v2"\n')
    with pytest.raises(c.ConfigError) as err:
        c.load(path, environ={})
    text = str(err.value)
    assert "realtime.config.voise: unknown field; did you mean 'voice'? [line 2]" in text
    assert "openai.dialect" in text and "'auto', 'ga' or 'beta'" in text and "[line 5]" in text


def test_caption_settings_default_and_bad_values_name_the_field():
    display = c.validate({}).display
    assert (display.captions, display.caption_lines, display.caption_size) == ("assistant", 3, 17)
    for bad, says in (
        ({"captions": "yes"}, "display.captions: 'yes' is not allowed; use one of 'off', "),
        ({"caption_lines": 0}, "display.caption_lines"),
        ({"caption_size": 200}, "display.caption_size"),
    ):
        with pytest.raises(c.ConfigError) as err:
            c.validate({"display": bad})
        assert says in str(err.value)


def test_bad_value_of_secret_field_is_not_echoed():
    with pytest.raises(c.ConfigError) as err:
        c.validate({"realtime": {"provisioning": {"url": "https://x", "headers": {"A": 12345678}}}})
    assert "12345678" not in str(err.value)


def test_missing_explicit_file_and_syntax_errors(tmp_path):
    with pytest.raises(c.ConfigError, match="no such file"):
        c.load(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[openai\n")
    with pytest.raises(c.ConfigError, match="not valid TOML"):
        c.load(broken, environ={})
    broken_json = tmp_path / "broken.json"
    broken_json.write_text("{")
    with pytest.raises(c.ConfigError, match="not valid JSON"):
        c.load(broken_json, environ={})


def test_missing_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    cfg = c.load(environ={})
    assert cfg.realtime.config.model == "gpt-realtime-2"


def test_schema_has_sections():
    schema = c.schema()
    assert {"openai", "realtime", "control", "audio"} <= set(schema["properties"])


def test_gpio_pins_can_be_switched_off_from_toml():
    cfg = c.validate(c.parse_text('[gpio]\nled_pin = "none"\nbutton_pin = ""\n', fmt="toml"))
    assert cfg.gpio.led_pin is None and cfg.gpio.button_pin is None
    assert c.validate({}).gpio.button_pin == 17


def test_the_config_package_leaves_its_editor_out() -> None:
    """Every process loads ``appliance.config``; its file editor (``appliance.config.edit``)
    and what that needs (``tomli_w``, ``subprocess``) load only where a command edits."""
    code = (
        "import importlib.util, sys\n"
        "import appliance.config\n"
        "print(sorted({'appliance.config.edit', 'tomli_w', 'subprocess'} & set(sys.modules)))\n"
        "from appliance.config.edit import set_value\n"
        "print('tomli_w' in sys.modules, importlib.util.find_spec('appliance.configfile'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["[]", "True None"]
