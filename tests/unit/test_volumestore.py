"""The volume kept in the state directory: the "last change wins" rule, and the file (real
files in a temporary directory: written whole with mode 0600; a corrupt file, a symbolic link
or a FIFO ignored with one warning)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appliance.volumestore import Kept, VolumeFile, choose, config_writable


def test_without_an_entry_the_configuration_is_used() -> None:
    assert choose(70, None) == (70, False)


def test_an_entry_applies_while_the_configuration_says_what_it_overrode() -> None:
    assert choose(100, Kept(volume=30, config_volume=100)) == (30, True)


def test_a_configuration_changed_since_wins_and_the_entry_is_stale() -> None:
    assert choose(50, Kept(volume=30, config_volume=100)) == (50, False)


def test_the_configuration_is_writable_only_where_a_file_can_be_created(tmp_path: Path) -> None:
    assert config_writable(tmp_path / "config.toml")
    assert not config_writable(tmp_path / "missing" / "config.toml")


def file(tmp_path: Path) -> tuple[VolumeFile, list[str]]:
    warnings: list[str] = []
    return VolumeFile(tmp_path / "state" / "volume.json", warnings.append), warnings


def test_an_entry_is_written_private_and_read_back(tmp_path: Path) -> None:
    store, warnings = file(tmp_path)
    assert store.read() is None  # nothing yet, nothing to say
    assert store.write(Kept(30, 100))
    assert store.read() == Kept(30, 100)
    assert json.loads(store.path.read_text()) == {"version": 1, "volume": 30, "config_volume": 100}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in store.path.parent.iterdir()] == ["volume.json"]  # no temporary left
    store.drop()
    assert not store.path.exists() and store.read() is None
    store.drop()  # already gone: nothing happens
    assert warnings == []


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[30, 100]",
        '{"volume": 30}',
        '{"volume": 130, "config_volume": 100}',
        '{"volume": true, "config_volume": 100}',
        '{"volume": "30", "config_volume": 100}',
    ],
)
def test_a_corrupt_file_is_ignored_with_one_warning(tmp_path: Path, text: str) -> None:
    store, warnings = file(tmp_path)
    store.path.parent.mkdir()
    store.path.write_text(text)
    assert store.read() is None
    assert store.read() is None
    assert len(warnings) == 1 and str(store.path) in warnings[0], warnings
    assert store.write(Kept(40, 100))  # the next change replaces it
    assert store.read() == Kept(40, 100)


def test_a_linked_file_is_not_followed(tmp_path: Path) -> None:
    store, warnings = file(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"volume": 5, "config_volume": 100}')
    store.path.parent.mkdir()
    store.path.symlink_to(elsewhere)
    assert store.read() is None
    assert len(warnings) == 1 and "symbolic link" in warnings[0], warnings
    assert store.write(Kept(40, 100))  # replaces the link, not its target
    assert not store.path.is_symlink() and store.read() == Kept(40, 100)
    assert elsewhere.read_text() == '{"volume": 5, "config_volume": 100}'


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    store, warnings = file(tmp_path)
    store.path.parent.mkdir()
    os.mkfifo(store.path)
    assert store.read() is None
    assert len(warnings) == 1 and "FIFO" in warnings[0], warnings


def test_a_write_that_fails_is_said_once(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    store, warnings = file(tmp_path)
    assert not store.write(Kept(30, 100))
    assert not store.write(Kept(20, 100))
    assert len(warnings) == 1 and "not kept across restarts" in warnings[0], warnings
