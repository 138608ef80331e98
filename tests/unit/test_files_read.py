"""Files read by path (the configuration, a Deep Chat JSON to import, the API key file): regular
files only, never waited on, bounded. A FIFO made a read wait forever and ``/dev/zero`` grew it
to gigabytes; the timeouts below are what a hang would hit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.config import ConfigError, load, validate
from appliance.config import edit as configfile
from appliance.files import CONFIG_LIMIT, FileRefused, read_small
from appliance.realtime.keys import KeySourceError, read_api_key

pytestmark = pytest.mark.timeout(20)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def test_a_regular_file_up_to_the_limit_is_read_whole(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    assert read_small(path, 1000, "a test file") == b"x" * 1000
    with pytest.raises(FileRefused, match="larger than 999 bytes, the limit for a test file"):
        read_small(path, 999, "a test file")


@pytest.mark.parametrize(
    "make,kind",
    [
        (lambda tmp: _fifo(tmp / "fifo"), "a FIFO (named pipe)"),
        (lambda tmp: Path("/dev/zero"), "a character device"),
        (lambda tmp: tmp, "a directory"),
    ],
)
def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path, make, kind):
    path = make(tmp_path)
    with pytest.raises(FileRefused) as caught:
        read_small(path, CONFIG_LIMIT, "a configuration file")
    assert str(caught.value) == (
        f"{path}: cannot read {kind}; a configuration file must be a regular file"
    )


def test_a_fifo_config_is_a_config_error(tmp_path):
    path = _fifo(tmp_path / "config.toml")
    with pytest.raises(ConfigError, match="FIFO"):
        load(path, environ={})
    with pytest.raises(ConfigError, match="FIFO"):
        configfile.set_value(path, "realtime.config.voice", "verse")
    with pytest.raises(ConfigError, match="FIFO"):
        configfile.import_deepchat(tmp_path / "other.toml", path)


def test_a_huge_config_is_refused_naming_the_limit(tmp_path):
    path = _sparse(tmp_path / "config.toml", 2 * 1024**3)  # 2 GiB, none of it on disk
    with pytest.raises(ConfigError, match=r"larger than 1 MiB, the limit for a configuration"):
        load(path, environ={})


def test_a_fifo_key_file_is_a_key_error(tmp_path):
    path = _fifo(tmp_path / "openai.key")
    config = validate({"openai": {"key_file": str(path)}})
    with pytest.raises(KeySourceError, match="FIFO") as caught:
        read_api_key(config, environ={})
    assert caught.value.retryable is False
    huge = _sparse(tmp_path / "big.key", 10 * 1024**2)
    config = validate({"openai": {"key_file": str(huge)}})
    with pytest.raises(KeySourceError, match="larger than 64 KiB"):
        read_api_key(config, environ={})
