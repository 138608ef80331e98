"""The systemd unit lets the metrics out: the textfile directory is writable when it exists,
and the endpoint's address families are allowed."""

from __future__ import annotations

from pathlib import Path

from appliance.config import validate

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "appliance.service"
SAMPLE = ROOT / "assets" / "config.sample.toml"


def settings(key: str) -> list[str]:
    values = []
    for line in UNIT.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key and not line.lstrip().startswith("#"):
            values += value.split()
    return values


def test_the_documented_textfile_directory_is_writable_if_it_exists():
    # the sample's textfile path (commented out there) is valid, and its directory is in
    # ReadWritePaths with "-": ignored where node_exporter is not installed (systemd.exec(5))
    line = next(ln for ln in SAMPLE.read_text().splitlines() if "textfile = " in ln)
    path = line.split("=", 1)[1].split("#")[0].strip().strip('"')
    textfile = validate({"metrics": {"textfile": path}}).metrics.textfile
    assert textfile is not None
    assert f"-{textfile.parent}" in settings("ReadWritePaths")
    assert "ProtectSystem=strict" in UNIT.read_text(), "else ReadWritePaths would not matter"


def test_the_endpoint_can_listen():
    assert {"AF_INET", "AF_INET6"} <= set(settings("RestrictAddressFamilies"))
    assert "@network-io" not in " ".join(settings("SystemCallFilter"))
