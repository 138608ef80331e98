"""The volume kept across restarts when the configuration cannot be written, as under the
systemd unit: the real ``appliance run`` process in a mount namespace of its own in which the
configuration's directory is a read-only bind mount (what ``ProtectSystem=strict`` does to
``/etc``), with ``$STATE_DIRECTORY`` (``StateDirectory=``) a writable directory. The owner
changes the configuration from outside that namespace, as root does with ``sudo appliance
config set``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
from rig import cli, handlers_env, session_config

from appliance.rig.isolation import private_shm, read_only
from appliance.rig.process import ApplianceProcess, wait_until
from appliance.rig.sim import Sim


class Kiosk:
    """The appliance started the way the unit starts it: a read-only configuration folder."""

    def __init__(self, tmp: Path, sim: Sim) -> None:
        self.tmp = tmp
        self.etc = tmp / "etc"
        self.etc.mkdir()
        self.state = tmp / "state"
        self.state.mkdir(mode=0o700)
        self.socket = tmp / "control.sock"
        config = session_config(sim, "ga")
        config.update(control={"socket": str(self.socket)}, display={"mode": "none"})
        config["gpio"] = {"enabled": False}
        self.config_path = self.etc / "config.toml"
        self.config_path.write_text(tomli_w.dumps(config))
        self.prefix = read_only(self.etc)
        self.runs = 0

    @property
    def volume_file(self) -> Path:
        return self.state / "volume.json"

    def start(self) -> ApplianceProcess:
        self.runs += 1
        return ApplianceProcess(
            self.config_path,
            self.tmp / f"run{self.runs}.log",
            args=("--display", "none", "--audio-out", str(self.tmp / f"out{self.runs}.wav")),
            env=handlers_env(STATE_DIRECTORY=str(self.state)),
            prefix=(*private_shm(), *self.prefix),
            socket=self.socket,
        )

    def volume(self, *change: str) -> str:
        result = cli("volume", *change, "--socket", str(self.socket), timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def config_set(self, value: int) -> None:
        """``sudo appliance config set audio.volume VALUE``: from outside the namespace."""
        result = cli("config", "set", "audio.volume", str(value), "--config", str(self.config_path))
        assert result.returncode == 0, result.stderr


@pytest.fixture
def kiosk(tmp_path: Path, sim: Sim) -> Kiosk:
    kiosk = Kiosk(tmp_path, sim)
    if not kiosk.prefix:
        pytest.skip("no mount namespaces here: cannot make the configuration read-only")
    return kiosk


def stopped(app: ApplianceProcess) -> str:
    """Stop ``app`` (it must exit 0) and return its log."""
    assert app.stop() == 0, app.log()
    return app.log()


def test_a_volume_set_on_the_device_is_back_after_a_restart(kiosk: Kiosk) -> None:
    before = kiosk.config_path.read_bytes()
    app = kiosk.start()
    try:
        assert kiosk.volume("30") == "30"
        wait_until(lambda: kiosk.volume_file.exists(), 10, "the volume kept")
        assert app.request({"cmd": "status"})["volume"] == 30
    finally:
        log = stopped(app)
    assert f"volume changes are kept in {kiosk.volume_file}" in log
    assert "not kept" not in log and "ERROR" not in log, log
    assert json.loads(kiosk.volume_file.read_text())["volume"] == 30
    assert kiosk.config_path.read_bytes() == before  # the configuration untouched
    assert [p.name for p in kiosk.etc.iterdir()] == ["config.toml"]

    app = kiosk.start()
    try:
        assert kiosk.volume() == "30"
    finally:
        stopped(app)
    assert kiosk.config_path.read_bytes() == before


def test_the_configuration_changed_since_wins_at_a_reload_and_at_a_start(kiosk: Kiosk) -> None:
    app = kiosk.start()
    try:
        assert kiosk.volume("30") == "30"
        wait_until(lambda: kiosk.volume_file.exists(), 10, "the volume kept")
        kiosk.config_set(50)
        assert app.request({"cmd": "reload"})["ok"]
        assert kiosk.volume() == "50"  # the configuration's change is the last one
        assert not kiosk.volume_file.exists()  # the stale entry dropped
        assert kiosk.volume("20") == "20"  # a change on the device is the last one again
    finally:
        stopped(app)
    assert json.loads(kiosk.volume_file.read_text())["volume"] == 20

    app = kiosk.start()
    try:
        assert kiosk.volume() == "20"  # the configuration still says 50: the 20 overrides it
    finally:
        stopped(app)

    kiosk.config_set(60)  # while the appliance is stopped
    app = kiosk.start()
    try:
        assert kiosk.volume() == "60"
    finally:
        log = stopped(app)
    assert not kiosk.volume_file.exists()
    assert "audio.volume in the configuration was changed since" in log
