"""The key server's systemd unit, checked by systemd's own tools: it verifies, its sandbox's
exposure is at most 2.5, and its credential is the one the server reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_systemd import needs_analyze, security_score, unit_settings

from appliance.keyserver.config import CREDENTIAL_NAME

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "appliance-keyserver.service"
EXEC = "/opt/appliance/venv/bin/appliance"
MAX_EXPOSURE = 2.5
"""systemd calls an exposure up to 2.5 "OK"."""


def unit_copy(tmp_path: Path, text: str | None = None) -> Path:
    stub = tmp_path / "bin" / "appliance"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    copy = tmp_path / "appliance-keyserver.service"
    copy.write_text((text or UNIT.read_text()).replace(EXEC, str(stub)))
    return copy


@needs_analyze
def test_unit_verifies(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "appliance-keyserver.service" in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []


@needs_analyze
def test_exposure_is_at_most_2_5(tmp_path: Path) -> None:
    assert security_score(unit_copy(tmp_path)) <= MAX_EXPOSURE


@needs_analyze
def test_exposure_check_notices_a_weaker_unit(tmp_path: Path) -> None:
    weaker = UNIT.read_text()
    for line in (
        "ProtectSystem=strict",
        "PrivateUsers=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "DynamicUser=yes",
    ):
        weaker = weaker.replace(f"\n{line}\n", "\n")
    assert security_score(unit_copy(tmp_path, weaker)) > MAX_EXPOSURE


def test_unit_serves_with_the_api_key_as_a_credential() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["Service.ExecStart"] == [
        f"{EXEC} keyserver serve --config /etc/appliance-keyserver/keyserver.toml"
    ]
    (credential,) = s["Service.LoadCredential"]
    assert credential.split(":")[0] == CREDENTIAL_NAME
    assert s["Service.KillSignal"] == ["SIGTERM"]
    assert s["Service.StateDirectory"] == ["appliance-keyserver"]
