"""appliance/realtime/refusals.py: a beta refusal kept across restarts in a small state file,
against real files (corrupt, hostile, unwritable ones too)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appliance.realtime.refusals import (
    FILE_NAME,
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    REFUSAL_TTL_S,
    BetaRefusals,
    state_dir,
)

BASE = "https://api.example.com"
NOW = 1_800_000_000.0


def store(path: Path) -> tuple[BetaRefusals, list[str]]:
    warnings: list[str] = []
    return BetaRefusals(path, warn=warnings.append), warnings


def test_a_refusal_is_remembered_by_the_next_process_for_a_day(tmp_path: Path) -> None:
    path = tmp_path / "state" / FILE_NAME
    first, warnings = store(path)
    assert not first.refused(BASE, NOW)
    first.remember(BASE, NOW)
    again, _ = store(path)  # a restart: a new process reads the file
    assert again.refused(BASE, NOW + 60)
    assert again.refused(BASE, NOW + REFUSAL_TTL_S - 1)
    assert not again.refused(BASE, NOW + REFUSAL_TTL_S + 1)  # expired: beta is tried again
    assert not again.refused("http://127.0.0.1:8765", NOW)  # per api_base
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == [FILE_NAME]  # no temporary file left behind
    assert warnings == []


def test_the_file_stays_small_however_many_servers_refuse(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    refusals, _ = store(path)
    for i in range(200):
        refusals.remember(f"https://host{i}.example.com/" + "x" * 900, NOW + i)
    entries = json.loads(path.read_text())["beta_refused"]
    assert len(entries) == MAX_ENTRIES and path.stat().st_size < MAX_FILE_BYTES
    assert refusals.refused("https://host199.example.com/" + "x" * 900, NOW + 200)  # newest kept
    refusals.remember("https://long.example.com/" + "y" * 5000, NOW)  # not written down
    assert len(json.loads(path.read_text())["beta_refused"]) == MAX_ENTRIES


@pytest.mark.parametrize(
    "content, why",
    [
        (b"\x00\xff garbage", "not JSON"),
        (b"[" * 10_000 + b"]" * 10_000, "not JSON"),
        (b'{"beta_refused": [1, 2]}', "beta_refused"),
        (b'"just a string"', "beta_refused"),
        (b"{" + b" " * (MAX_FILE_BYTES + 10) + b"}", "larger than"),
    ],
)
def test_a_corrupt_file_is_ignored_with_one_warning_and_replaced(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(content)
    refusals, warnings = store(path)
    assert not refusals.refused(BASE, NOW)
    assert not refusals.refused(BASE, NOW)
    assert len(warnings) == 1 and str(path) in warnings[0] and why in warnings[0]
    refusals.remember(BASE, NOW)  # the next refusal writes a good file over it
    assert store(path)[0].refused(BASE, NOW)


def test_entries_of_the_wrong_type_are_dropped_and_the_good_ones_kept(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    entries = {BASE: NOW, "b": "yesterday", "c": True, "d": None, "e": [1]}
    path.write_text(json.dumps({"version": 1, "beta_refused": entries}))
    refusals, warnings = store(path)
    assert refusals.refused(BASE, NOW) and not refusals.refused("b", NOW)
    assert len(warnings) == 1 and "ignored" in warnings[0]


def test_a_time_far_in_the_future_does_not_count_forever(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(json.dumps({"beta_refused": {BASE: 1e300}}))
    assert not store(path)[0].refused(BASE, NOW)


def test_a_link_a_fifo_or_a_directory_in_its_place_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(json.dumps({"beta_refused": {BASE: NOW}}))
    link = tmp_path / "link" / FILE_NAME
    link.parent.mkdir()
    link.symlink_to(secret)
    refusals, warnings = store(link)
    assert not refusals.refused(BASE, NOW) and "symbolic link" in warnings[0]
    refusals.remember(BASE, NOW)  # replaces the link itself, never writes through it
    assert not link.is_symlink() and json.loads(secret.read_text())["beta_refused"] == {BASE: NOW}
    fifo = tmp_path / "fifo" / FILE_NAME
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    refusals, warnings = store(fifo)
    assert not refusals.refused(BASE, NOW)  # returns at once: no writer is waited for
    assert "must be a regular file" in warnings[0]
    folder = tmp_path / "dir" / FILE_NAME
    folder.mkdir(parents=True)
    refusals, warnings = store(folder)
    assert not refusals.refused(BASE, NOW) and len(warnings) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_state_directory_is_said_once_and_nothing_raises(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    refusals, warnings = store(folder / FILE_NAME)
    refusals.remember(BASE, NOW)
    refusals.remember(BASE, NOW)
    assert len(warnings) == 1 and "cannot keep" in warnings[0]


def test_a_state_path_that_cannot_be_created_is_said_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    refusals, warnings = store(blocker / "sub" / FILE_NAME)  # a directory under a file
    refusals.remember(BASE, NOW)
    refusals.remember(BASE, NOW)
    assert len(warnings) == 1 and "cannot keep" in warnings[0]
    assert not refusals.refused(BASE, NOW)


def test_where_the_state_directory_is() -> None:
    assert state_dir({"STATE_DIRECTORY": "/var/lib/appliance"}) == Path("/var/lib/appliance")
    assert state_dir({"STATE_DIRECTORY": "/a:/b"}) == Path("/a")
    assert state_dir({"XDG_STATE_HOME": "/home/pi/.state"}) == Path("/home/pi/.state/appliance")
    assert state_dir({"XDG_STATE_HOME": "relative"}) == Path.home() / ".local/state/appliance"
    assert state_dir({}) == Path.home() / ".local/state/appliance"
    assert BetaRefusals.default({"STATE_DIRECTORY": "/s"}).path == Path("/s") / FILE_NAME
