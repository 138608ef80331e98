"""Safe configuration editing: validation first, atomic writes, locking, secrets, $EDITOR."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import sys
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import BaseModel

from appliance import config as cfg
from appliance.config import AppConfig, ConfigError
from appliance.config import edit as configfile

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "config.sample.toml"
SECRET = "sk-testsecretvalue0123456789"

CONFIG = """\
# The kitchen appliance
[openai]
api_base = "http://127.0.0.1:8765"

[realtime.config]
# The voice of the assistant
voice = "alloy"  # warm
# speed = 1.0

# --- the button
[gpio]
button_pin = 17
"""


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    path.chmod(0o640)
    return path


def fake_editor(tmp_path: Path, *scripts: str) -> str:
    """An executable $EDITOR; its n-th run executes the n-th script (with $1 = the file)."""
    counter = tmp_path / "editor-runs"
    body = ["#!/bin/sh", f'n=$(cat "{counter}" 2>/dev/null || echo 0)', "n=$((n + 1))"]
    body.append(f'echo "$n" > "{counter}"')
    for i, script in enumerate(scripts, 1):
        body.append(f'if [ "$n" = {i} ]; then {script}; fi')
    path = tmp_path / "editor"
    path.write_text("\n".join(body) + "\n")
    path.chmod(0o755)
    return str(path)


# --- set / get ---------------------------------------------------------------------------------


def test_set_changes_only_that_line_and_keeps_comments(conf: Path) -> None:
    new = configfile.set_value(conf, "realtime.config.voice", "verse")
    assert isinstance(new, AppConfig)
    assert new.realtime.config.voice == "verse"
    text = conf.read_text()
    assert text == CONFIG.replace('voice = "alloy"  # warm', 'voice = "verse"  # warm')
    assert cfg.load(conf, environ={}).realtime.config.voice == "verse"


def test_set_fills_in_a_commented_sample_line(conf: Path) -> None:
    configfile.set_value(conf, "realtime.config.speed", "1.2")
    assert "\nspeed = 1.2\n" in conf.read_text()
    assert "# speed" not in conf.read_text()
    assert "# The kitchen appliance" in conf.read_text()


def test_set_types_and_new_sections(conf: Path) -> None:
    configfile.set_value(conf, "gpio.led_pin", "22")
    configfile.set_value(conf, "realtime.autoStart", "true")
    configfile.set_value(conf, "display.size", "[800, 480]")
    configfile.set_value(conf, "realtime.config.turn_detection", '{"type": "semantic_vad"}')
    configfile.set_value(conf, "realtime.config.instructions", "Be brief, and kind")
    loaded = cfg.load(conf, environ={})
    assert loaded.gpio.led_pin == 22
    assert loaded.realtime.auto_start is True
    assert loaded.display.size == (800, 480)
    assert loaded.realtime.config.turn_detection is not None
    assert loaded.realtime.config.turn_detection.type == "semantic_vad"
    assert loaded.realtime.config.instructions == "Be brief, and kind"
    assert "# --- the button" in conf.read_text()  # still comment-preserving edits


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("audio.block_ms", "2", "audio.block_ms"),
        ("realtime.config.voic", "verse", "did you mean 'voice'"),
        ("display.mode", "big", "use one of"),
        ("gpio.button_pin.number", "3", "gpio.button_pin is a single value"),
        ("openai.api_base", "ftp://x", "openai.api_base"),
        ("realtime.config.max_response_output_tokens", "99999", "between 1 and 4096"),
    ],
)
def test_invalid_change_leaves_the_file_byte_identical(
    conf: Path, key: str, value: str, expected: str
) -> None:
    before = conf.read_bytes()
    stat_before = conf.stat()
    with pytest.raises(ConfigError) as info:
        configfile.set_value(conf, key, value)
    assert expected in str(info.value)
    assert conf.read_bytes() == before
    assert conf.stat().st_ino == stat_before.st_ino  # not even rewritten
    assert not [p for p in conf.parent.iterdir() if p.name.endswith(".tmp")]


def test_null_unsets_a_key(conf: Path) -> None:
    configfile.set_value(conf, "gpio.button_pin", "22")
    configfile.set_value(conf, "gpio.button_pin", "null")
    assert "button_pin" not in conf.read_text()
    assert cfg.load(conf, environ={}).gpio.button_pin == 17  # the default again
    with pytest.raises(ConfigError, match="not set"):
        configfile.unset_value(conf, "gpio.led_pin")


def test_get_returns_values_and_defaults(conf: Path) -> None:
    assert configfile.get_value(conf, "realtime.config.voice") == "alloy"
    assert configfile.get_value(conf, "realtime.config.model") == "gpt-realtime-2"
    assert configfile.get_value(conf, "audio.block_ms") == 20
    assert configfile.get_value(conf, "gpio")["button_pin"] == 17
    with pytest.raises(ConfigError, match="did you mean 'voice'"):
        configfile.get_value(conf, "realtime.config.voise")


def test_get_never_shows_secrets_unless_asked(conf: Path) -> None:
    configfile.set_value(conf, "openai.key", SECRET)
    configfile.set_value(
        conf,
        "realtime.provisioning",
        f'{{url = "https://keys.example.com/k", headers = {{Authorization = "Bearer {SECRET}"}}}}',
    )
    shown = [
        configfile.get_value(conf, "openai.key"),
        configfile.get_value(conf, "openai"),
        configfile.get_value(conf, "realtime.provisioning"),
        configfile.get_value(conf, "realtime.provisioning.headers.Authorization"),
        configfile.get_value(conf, "realtime"),
    ]
    assert SECRET not in json.dumps(shown)
    assert shown[0] == cfg.REDACTED
    assert shown[2]["headers"] == {"Authorization": cfg.REDACTED}
    assert configfile.get_value(conf, "openai.key", reveal=True) == SECRET


def test_errors_never_echo_a_secret(conf: Path) -> None:
    with pytest.raises(ConfigError) as info:
        configfile.set_value(conf, "openai.key", f'["{SECRET}"]')
    assert SECRET not in str(info.value)


def test_missing_file_is_created_with_tight_permissions(tmp_path: Path) -> None:
    plain = tmp_path / "plain.toml"
    configfile.set_value(plain, "realtime.config.voice", "verse")
    assert tomllib.loads(plain.read_text()) == {"realtime": {"config": {"voice": "verse"}}}
    keyed = tmp_path / "keyed.toml"
    configfile.set_value(keyed, "openai.key", SECRET)
    plain_mode = stat.S_IMODE(plain.stat().st_mode)
    keyed_mode = stat.S_IMODE(keyed.stat().st_mode)
    assert plain_mode & 0o007 == 0 and keyed_mode & 0o007 == 0
    if plain.stat().st_gid == os.getegid():  # not given to the service's group
        assert plain_mode == 0o640
        assert keyed_mode == 0o600


def test_mode_and_owner_are_kept(conf: Path) -> None:
    conf.chmod(0o604)
    if os.geteuid() == 0:
        os.chown(conf, 4242, 4343)
    configfile.set_value(conf, "gpio.led_pin", "5")
    st = conf.stat()
    assert stat.S_IMODE(st.st_mode) == 0o604
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4242, 4343)
    configfile.set_value(conf, "openai.key", SECRET)  # a secret: others lose access
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


def test_symlinked_config_is_edited_in_place(tmp_path: Path, conf: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(conf)
    configfile.set_value(link, "gpio.led_pin", "5")
    assert link.is_symlink()
    assert "led_pin = 5" in conf.read_text()


def test_json_stays_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"realtime": {"autoStart": false}}')
    configfile.set_value(path, "realtime.auto_start", "true")
    configfile.set_value(path, "audio.input_device", "USB")
    assert json.loads(path.read_text()) == {
        "realtime": {"autoStart": True},
        "audio": {"input_device": "USB"},
    }


def test_deep_chat_json_file_is_converted_on_first_change(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    deepchat = {"directConnection": {"openAI": {"realtime": {"config": {"voice": "ash"}}}}}
    path.write_text(json.dumps(deepchat))
    configfile.set_value(path, "display.mode", "none")
    data = json.loads(path.read_text())
    assert data == {"realtime": {"config": {"voice": "ash"}}, "display": {"mode": "none"}}


# --- concurrency -------------------------------------------------------------------------------


def _writer(path: str, worker: int, count: int) -> None:
    for i in range(count):
        configfile.set_value(Path(path), f"realtime.avatar.styles.image.w{worker}k{i}", str(i))


def _check_all_written(path: Path, workers: int, count: int) -> None:
    image = cfg.load(path, environ={}).realtime.avatar.styles.image
    assert {k: v for k, v in image.items() if k.startswith("w")} == {
        f"w{w}k{i}": i for w in range(workers) for i in range(count)
    }


def test_concurrent_processes_never_corrupt_or_lose_changes(conf: Path) -> None:
    workers, count = 4, 6
    seen_broken: list[str] = []
    stop = threading.Event()

    def reader() -> None:  # every read in between sees a complete, valid file
        while not stop.is_set():
            try:
                cfg.load(conf, environ={})
            except ConfigError as exc:
                seen_broken.append(str(exc))

    watcher = threading.Thread(target=reader)
    watcher.start()
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    procs = [context.Process(target=_writer, args=(str(conf), w, count)) for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    stop.set()
    watcher.join()
    assert [p.exitcode for p in procs] == [0] * workers
    assert seen_broken == []
    _check_all_written(conf, workers, count)
    assert "# The kitchen appliance" in conf.read_text()


def test_concurrent_threads_never_lose_changes(conf: Path) -> None:
    workers, count = 4, 5
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(_writer, str(conf), w, count) for w in range(workers)]:
            future.result()
    _check_all_written(conf, workers, count)


# --- edit --------------------------------------------------------------------------------------


def test_edit_with_editor_saves_a_valid_edit(tmp_path: Path, conf: Path) -> None:
    editor = fake_editor(tmp_path, "sed -i 's/alloy/verse/' \"$1\"")
    assert configfile.edit(conf, editor, interactive=False) is True
    assert conf.read_text() == CONFIG.replace("alloy", "verse")  # exactly as edited
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640


def test_edit_rejects_an_invalid_edit(tmp_path: Path, conf: Path) -> None:
    before = conf.read_bytes()
    editor = fake_editor(tmp_path, "sed -i 's/button_pin = 17/buton_pin = 17/' \"$1\"")
    with pytest.raises(ConfigError, match="did you mean 'button_pin'") as info:
        configfile.edit(conf, editor, interactive=False)
    assert "unchanged" in str(info.value)
    assert conf.read_bytes() == before


def test_edit_rejects_broken_toml(tmp_path: Path, conf: Path) -> None:
    before = conf.read_bytes()
    editor = fake_editor(tmp_path, "echo '[gpio' >> \"$1\"")
    with pytest.raises(ConfigError, match="not valid TOML"):
        configfile.edit(conf, editor, interactive=False)
    assert conf.read_bytes() == before


def test_edit_interactive_offers_to_edit_again(
    tmp_path: Path, conf: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    editor = fake_editor(
        tmp_path,
        "sed -i 's/alloy/verse/; s/button_pin = 17/button_pin = -x/' \"$1\"",
        "sed -i 's/button_pin = -x/button_pin = 5/' \"$1\"",  # sees the first attempt's text
    )
    answers = iter(["y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert configfile.edit(conf, editor, interactive=True) is True
    assert "not valid TOML" in capsys.readouterr().err
    loaded = cfg.load(conf, environ={})
    assert (loaded.realtime.config.voice, loaded.gpio.button_pin) == ("verse", 5)


def test_edit_interactive_can_give_up(
    tmp_path: Path, conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = conf.read_bytes()
    editor = fake_editor(tmp_path, "echo 'oops = 1' >> \"$1\"")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert configfile.edit(conf, editor, interactive=True) is False
    assert conf.read_bytes() == before


def test_edit_without_changes_writes_nothing(tmp_path: Path, conf: Path) -> None:
    inode = conf.stat().st_ino
    assert configfile.edit(conf, fake_editor(tmp_path, "true"), interactive=False) is False
    assert conf.stat().st_ino == inode


def test_edit_refuses_when_the_file_changed_meanwhile(tmp_path: Path, conf: Path) -> None:
    editor = fake_editor(tmp_path, f"sed -i 's/17/18/' \"{conf}\"; sed -i 's/alloy/verse/' \"$1\"")
    with pytest.raises(ConfigError, match="changed by someone else"):
        configfile.edit(conf, editor, interactive=False)
    assert "button_pin = 18" in conf.read_text()  # the other change survives
    assert "alloy" in conf.read_text()


def test_edit_with_a_missing_editor(conf: Path) -> None:
    with pytest.raises(ConfigError, match="cannot run the editor"):
        configfile.edit(conf, "/nonexistent/editor", interactive=False)


def test_editor_copy_is_private(tmp_path: Path, conf: Path) -> None:
    modes = tmp_path / "modes"
    editor = fake_editor(
        tmp_path, f'stat -c \'%a\' "$1" > "{modes}"; stat -c \'%a\' "$(dirname "$1")" >> "{modes}"'
    )
    configfile.edit(conf, editor, interactive=False)
    assert modes.read_text().split() == ["600", "700"]


# --- Deep Chat import --------------------------------------------------------------------------


def test_import_deepchat_merges_into_the_file(tmp_path: Path, conf: Path) -> None:
    source = tmp_path / "deepchat.json"
    source.write_text(
        json.dumps(
            {
                "directConnection": {
                    "openAI": {
                        "key": SECRET,
                        "realtime": {
                            "autoStart": True,
                            "avatar": {"maxScale": 3},
                            "config": {"voice": "sage", "turn_detection": {"type": "server_vad"}},
                            "loading": {"text": "Connecting"},
                        },
                    }
                }
            }
        )
    )
    new = configfile.import_deepchat(conf, source)
    assert new.realtime.config.voice == "sage"
    loaded = cfg.load(conf, environ={})
    assert loaded.realtime.auto_start is True
    assert loaded.realtime.avatar.max_scale == 3
    assert loaded.realtime.loading.text == "Connecting"
    assert loaded.gpio.button_pin == 17  # the rest is kept
    assert loaded.openai.api_base == "http://127.0.0.1:8765"
    assert loaded.openai.key is not None and loaded.openai.key.get_secret_value() == SECRET
    assert stat.S_IMODE(conf.stat().st_mode) & 0o007 == 0


def test_import_rejects_an_invalid_deepchat_json(tmp_path: Path, conf: Path) -> None:
    before = conf.read_bytes()
    source = tmp_path / "deepchat.json"
    source.write_text('{"openAI": {"realtime": {"config": {"temperature": 9}}}}')
    with pytest.raises(ConfigError, match="temperature"):
        configfile.import_deepchat(conf, source)
    assert conf.read_bytes() == before


# --- restart or reload -------------------------------------------------------------------------


def test_restart_needed() -> None:
    old = AppConfig()
    live = old.model_copy(deep=True)
    live.realtime.config.voice = "verse"
    live.hooks.started = [["/bin/true"]]
    live.realtime.loading.text = "Hold on"
    assert cfg.restart_needed(old, live) == []
    assert "realtime.config.voice" in cfg.changed_fields(old, live)
    restart = live.model_copy(deep=True)
    restart.audio.input_device = "USB"
    restart.display.mode = "window"
    restart.gpio.button_pin = 5
    restart.control.socket = Path("/tmp/x.sock")
    assert cfg.restart_needed(old, restart) == [
        "audio.input_device",
        "control.socket",
        "display.mode",
        "gpio.button_pin",
    ]


def test_parse_value() -> None:
    assert configfile.parse_value("17") == 17
    assert configfile.parse_value("true") is True
    assert configfile.parse_value("0.5") == 0.5
    assert configfile.parse_value('"17"') == "17"
    assert configfile.parse_value("[1, 2]") == [1, 2]
    assert configfile.parse_value('{url = "https://x"}') == {"url": "https://x"}
    assert configfile.parse_value('{"url": "https://x"}') == {"url": "https://x"}
    assert configfile.parse_value("null") is None
    assert configfile.parse_value("https://example.com/a b") == "https://example.com/a b"
    assert configfile.parse_value("verse") == "verse"


# --- the sample configuration ------------------------------------------------------------------


def _uncommented_sample() -> str:
    out = []
    for line in SAMPLE.read_text().splitlines():
        m = re.match(r"^# (\[.*|[a-z_]+ = .*)$", line)
        out.append(m.group(1) if m else line)
    return "\n".join(out) + "\n"


def test_sample_config_is_valid_as_shipped_and_with_every_example() -> None:
    shipped = cfg.load(SAMPLE, environ={})
    assert shipped == AppConfig()  # everything commented out: the defaults
    # every example is well-formed; they cannot all hold at once for one dialect (temperature
    # is beta's, truncation and prompt are GA's), so the dialect rules are left out here
    examples = AppConfig.model_validate(cfg.from_deepchat(tomllib.loads(_uncommented_sample())))
    assert examples.realtime.config.turn_detection is not None
    assert examples.realtime.provisioning is not None


def test_sample_config_mentions_every_setting() -> None:
    data = tomllib.loads(_uncommented_sample())
    missing: list[str] = []

    def walk(model: type[BaseModel], node: dict[str, object], where: str) -> None:
        for name, field in model.model_fields.items():
            keys = {name, field.alias or name}
            found = next((node[k] for k in keys if k in node), None)
            if found is None:
                missing.append(f"{where}{name}")
                continue
            sub = configfile._submodel(field.annotation)
            if sub is cfg.ButtonConfig:  # one example per button; the states share a shape
                continue
            if sub is not None and isinstance(found, dict) and sub.model_fields:
                walk(sub, found, f"{where}{name}.")

    walk(AppConfig, data, "")
    assert missing == [], missing


def test_set_on_the_sample_fills_in_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE.read_text())
    configfile.set_value(path, "realtime.config.voice", "verse")
    text = path.read_text()
    assert '\nvoice = "verse"\n' in text
    assert text.count("\n") == SAMPLE.read_text().count("\n")  # one line replaced, no more
    assert cfg.load(path, environ={}).realtime.config.voice == "verse"
