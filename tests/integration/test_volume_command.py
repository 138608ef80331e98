"""``appliance volume`` as an operator uses it: against the real ``appliance run`` process, it
changes the volume, prints it, saves it in the configuration file (comments kept) so that it is
there after a restart, and keeps playing at it when the file cannot be written."""

from __future__ import annotations

import tomllib

from fault_matrix import row
from rig import cli, session_config

from appliance.rig.process import wait_until

COMMENT = "# the museum's kiosk: keep this comment\n"


def test_volume_is_changed_printed_saved_and_kept_across_a_restart(sim, start):
    app = start(session_config(sim, "ga"))
    app.config_path.write_text(COMMENT + app.config_path.read_text())
    assert app.cli("volume").stdout.strip() == "100"
    assert app.cli("volume", "30").stdout.strip() == "30"
    assert app.cli("volume", "-10").stdout.strip() == "20"
    assert app.cli("volume", "+5").stdout.strip() == "25"
    assert app.ctl("status")["volume"] == 25
    wait_until(lambda: "volume = 25" in app.config_path.read_text(), 10, "the volume saved")
    text = app.config_path.read_text()
    assert text.startswith(COMMENT)
    assert tomllib.loads(text)["audio"]["volume"] == 25
    # a restart reads it back
    again = start(tomllib.loads(text))
    assert again.cli("volume").stdout.strip() == "25"


def test_bad_volumes_are_refused_with_the_form_to_use(sim, start):
    app = start(session_config(sim, "ga"))
    for bad in ("loud", "150"):
        result = app.cli("volume", bad)
        assert result.returncode == 2 and "volume" in result.stderr, result.stderr
        assert "30" in result.stderr  # an example of what to give
    assert app.ctl("volume", change=[1])["ok"] is False
    assert app.ctl("volume", change="x")["error"].startswith("volume:")
    assert app.ctl("status")["volume"] == 100


@row("volume_save_failed")
def test_a_failing_write_is_logged_and_the_volume_stays(fault, sim, start):
    app = start(session_config(sim, "ga"))
    app.config_path.write_text("this is [not valid toml\n")  # set_value refuses to touch it
    assert app.cli("volume", "60").stdout.strip() == "60"
    wait_until(lambda: fault.log in app.log(), 10, "the failed write logged")
    assert app.ctl("status")["volume"] == 60
    assert app.config_path.read_text() == "this is [not valid toml\n"


def test_a_reload_applies_a_volume_set_in_the_file(sim, start):
    app = start(session_config(sim, "ga"))
    result = cli("config", "set", "audio.volume", "40", "--config", str(app.config_path))
    assert result.returncode == 0, result.stderr
    assert "reload" in result.stdout  # no restart needed for the volume
    reply = app.ctl("reload")
    assert reply["ok"] and reply["restart_needed"] == []
    assert app.ctl("status")["volume"] == 40


def test_a_change_just_before_a_stop_is_saved(sim, start):
    app = start(session_config(sim, "ga"))
    assert app.cli("volume", "70").stdout.strip() == "70"
    assert app.stop() == 0  # well within the second the save waits for more changes
    assert tomllib.loads(app.config_path.read_text())["audio"]["volume"] == 70
