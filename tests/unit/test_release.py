"""The release state file (appliance/release.py) and `appliance config diff`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance import cli
from appliance.release import FILE_NAME, MAX_FILE_BYTES, read_release, rollback_message


def write(folder: Path, data: object) -> dict[str, str]:
    (folder / FILE_NAME).write_text(json.dumps(data))
    return {"STATE_DIRECTORY": str(folder)}


def test_a_rollback_is_read_and_told(tmp_path: Path) -> None:
    env = write(
        tmp_path,
        {
            "release": "0.1.0-aaa",
            "previous": "0.1.0-bbb",
            "rolled_back_from": "0.1.0-bbb",
            "reason": "not idle within 30 s",
            "at": "2026-12-08T00:00:00Z",
            "extra": "ignored",
        },
    )
    info = read_release(env)
    assert info == {
        "release": "0.1.0-aaa",
        "previous": "0.1.0-bbb",
        "rolled_back_from": "0.1.0-bbb",
        "reason": "not idle within 30 s",
        "at": "2026-12-08T00:00:00Z",
    }
    assert rollback_message(info) == (
        "running release 0.1.0-aaa: rolled back from 0.1.0-bbb (not idle within 30 s)"
        " at 2026-12-08T00:00:00Z"
    )


def test_no_rollback_no_message(tmp_path: Path) -> None:
    env = write(tmp_path, {"release": "0.1.0-aaa", "rolled_back_from": None})
    assert read_release(env)["rolled_back_from"] is None
    assert rollback_message(read_release(env)) is None
    assert read_release({"STATE_DIRECTORY": str(tmp_path / "none")}) is None


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"release": "' + b"x" * MAX_FILE_BYTES + b'"}']
)
def test_a_damaged_file_is_ignored(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / FILE_NAME).write_bytes(raw)
    assert read_release({"STATE_DIRECTORY": str(tmp_path)}) is None


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    head = b'{"release": "r", "reason": "'
    raw = head + b"x" * (MAX_FILE_BYTES - len(head) - 2) + b'"}'
    assert len(raw) == MAX_FILE_BYTES
    (tmp_path / FILE_NAME).write_bytes(raw)
    info = read_release({"STATE_DIRECTORY": str(tmp_path)})
    assert info is not None and info["release"] == "r"
    assert len(info["reason"]) == 300  # cut to MAX_FIELD_CHARS


def test_non_string_fields_become_none(tmp_path: Path) -> None:
    env = write(tmp_path, {"release": 7, "rolled_back_from": ["x"]})
    assert read_release(env) == dict.fromkeys(
        ("release", "previous", "rolled_back_from", "reason", "at")
    )


# --- appliance config diff ---------------------------------------------------------------


def diff(tmp_path: Path, old: str | None, new: str, capsys) -> list[str]:
    old_path, new_path = tmp_path / "old.toml", tmp_path / "new.toml"
    if old is not None:
        old_path.write_text(old)
    new_path.write_text(new)
    assert cli.main(["config", "diff", str(old_path), str(new_path)]) == 0
    return capsys.readouterr().out.splitlines()


def test_diff_says_reload_for_the_session_only(tmp_path: Path, capsys) -> None:
    old = '[realtime.config]\nvoice = "alloy"\n'
    new = '[realtime.config]\nvoice = "verse"\n[audio]\nvolume = 40\n'
    assert diff(tmp_path, old, new, capsys) == [
        "reload",
        "audio.volume",
        "realtime.config.voice",
    ]


def test_diff_says_restart_and_names_the_field(tmp_path: Path, capsys) -> None:
    old = '[openai]\nkey = "sk-old-secret-0000"\n'
    new = '[openai]\nkey = "sk-new-secret-1111"\n[audio]\ninput_device = "USB"\n'
    out = diff(tmp_path, old, new, capsys)
    assert out == ["restart", "audio.input_device (restart)", "openai.key"]
    assert "secret" not in "\n".join(out)


def test_diff_none_and_missing(tmp_path: Path, capsys) -> None:
    same = '[realtime.config]\nvoice = "alloy"\n'
    assert diff(tmp_path, same, same, capsys) == ["none"]
    (tmp_path / "missing").mkdir()
    assert diff(tmp_path / "missing", None, same, capsys)[0] == "restart"


def test_diff_refuses_a_bad_new_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "new.toml").write_text("[audio]\nvolume = 400\n")
    code = cli.main(["config", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml")])
    assert code == 2
    assert "audio.volume" in capsys.readouterr().err
