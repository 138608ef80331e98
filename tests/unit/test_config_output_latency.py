"""``audio.output_latency_ms``: the output device buffer, a strict int in range."""

from __future__ import annotations

import pytest

from appliance import config as c


def test_default_and_a_set_value() -> None:
    assert c.validate({}).audio.output_latency_ms == 24
    assert c.validate({"audio": {"output_latency_ms": 20}}).audio.output_latency_ms == 20


@pytest.mark.parametrize("value", [9, 501, -1, 0])
def test_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(c.ConfigError, match=r"audio\.output_latency_ms"):
        c.validate({"audio": {"output_latency_ms": value}})


@pytest.mark.parametrize("value", ["20", 20.0, True, None, [20]])
def test_only_ints_are_accepted(value: object) -> None:
    with pytest.raises(c.ConfigError, match=r"audio\.output_latency_ms"):
        c.validate({"audio": {"output_latency_ms": value}})


def test_environment_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[audio]\noutput_latency_ms = 30\n")
    assert c.load(path).audio.output_latency_ms == 30
    monkeypatch.setenv("APPLIANCE_AUDIO__OUTPUT_LATENCY_MS", "60")
    assert c.load(path).audio.output_latency_ms == 60


def test_the_sample_config_documents_it() -> None:
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "assets" / "config.sample.toml"
    assert "output_latency_ms" in sample.read_text()
