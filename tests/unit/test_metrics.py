"""The metrics' bookkeeping from bus events, and the text exposition format (pure)."""

from __future__ import annotations

import re

import pytest

from appliance.metrics import (
    ERROR_KINDS,
    KEY_FETCH_BUCKETS_S,
    STATES,
    STOP_REASONS,
    Metrics,
    Readings,
    error_kind,
    escape,
    number,
)
from appliance.state import Machine, StopReason, Toggle

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value, from a rendered exposition (every line must parse)."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ ", line), line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        found[f"{match.group(1)}{match.group(2) or ''}"] = float(match.group(3))
    return found


def rendered(metrics: Metrics, **readings) -> dict[str, float]:
    return samples(metrics.render(Readings(now=1000.0, **readings)))


def test_a_fresh_device_has_every_labelled_series_at_zero():
    got = rendered(Metrics("1.2.3", started_at=900.0))
    assert got['appliance_info{version="1.2.3"}'] == 1
    assert got["appliance_uptime_seconds"] == 100
    assert got["appliance_start_time_seconds"] == 900
    assert got['appliance_state{state="idle"}'] == 1
    assert sum(got[f'appliance_state{{state="{s}"}}'] for s in STATES) == 1
    for reason in STOP_REASONS:
        assert got[f'appliance_sessions_stopped_total{{reason="{reason}"}}'] == 0
    for kind in ERROR_KINDS:
        assert got[f'appliance_errors_total{{kind="{kind}"}}'] == 0
    assert got["appliance_sessions_started_total"] == 0
    assert got["appliance_reconnects_total"] == 0
    assert got['appliance_key_fetch_seconds_bucket{le="+Inf"}'] == 0
    assert got["appliance_output_underruns_total"] == 0
    # not measured: left out, not shown as 0
    assert "appliance_echo_erle_db" not in got
    assert "appliance_output_device_underruns_total" not in got


def test_the_stop_reasons_are_the_state_machines():
    assert set(STOP_REASONS) == {r.value for r in StopReason}


def test_sessions_and_stop_reasons_follow_the_events():
    m = Metrics("1", 0.0)
    for event in (
        {"type": "started"},
        {"type": "stopped", "reason": "reconnect"},
        {"type": "started"},
        {"type": "stopped", "reason": "idle"},
        {"type": "started"},
        {"type": "stopped", "reason": StopReason.PRESS},  # the enum, as app.py emits it
        {"type": "transcript", "role": "user", "text": "hi"},  # not counted
    ):
        m.on_event(event)
    got = rendered(m)
    assert got["appliance_sessions_started_total"] == 3
    assert got['appliance_sessions_stopped_total{reason="reconnect"}'] == 1
    assert got['appliance_sessions_stopped_total{reason="idle"}'] == 1
    assert got['appliance_sessions_stopped_total{reason="press"}'] == 1
    assert got['appliance_sessions_stopped_total{reason="max"}'] == 0


def test_the_state_gauge_shows_the_last_state_one_at_a_time():
    m = Metrics("1", 0.0)
    m.on_event({"type": "state", "state": "listening", "reconnect_attempt": 0})
    got = rendered(m)
    assert got['appliance_state{state="listening"}'] == 1
    assert got['appliance_state{state="idle"}'] == 0
    m.on_event({"type": "state", "state": "sleeping"})  # a state added later is shown too
    got = rendered(m)
    assert got['appliance_state{state="sleeping"}'] == 1
    assert got['appliance_state{state="listening"}'] == 0


def test_the_machines_state_events_are_counted_as_they_come():
    machine, m = Machine(), Metrics("1", 0.0)
    machine.handle(Toggle())
    m.on_event({"type": "state", **machine.view.as_dict()})
    assert m.state == "connecting"


def test_each_reconnect_attempt_counts_once_even_when_shown_together():
    m = Metrics("1", 0.0)
    shown = [("reconnecting", 1), ("reconnecting", 1), ("reconnecting", 3), ("listening", 0)]
    shown += [("reconnecting", 1), ("listening", 0)]
    for state, attempt in shown:
        m.on_event({"type": "state", "state": state, "reconnect_attempt": attempt})
    assert rendered(m)["appliance_reconnects_total"] == 4


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ({"message": "no key source configured: set realtime.provisioning.url"}, "no_key"),
        ({"message": "provisioning URL http://x/key answered HTTP 500: oops"}, "provisioning"),
        ({"message": "cannot connect to ws://x: refused"}, "network"),
        ({"message": "audio: no input device"}, "microphone"),
        ({"message": "rate limited", "code": "rate_limit_exceeded", "fatal": False}, "server"),
        ({"message": "something nobody expected"}, "other"),
        ({"message": "renewing the session"}, None),
    ],
)
def test_error_kinds(event, kind):
    assert error_kind({"type": "error", **event}) == kind


def test_errors_are_counted_by_kind():
    m = Metrics("1", 0.0)
    m.on_event({"type": "error", "message": "cannot connect to ws://x", "fatal": False})
    m.on_event({"type": "error", "message": "cannot connect to ws://x", "fatal": True})
    m.on_event({"type": "error", "message": "renewing the session", "fatal": False})
    got = rendered(m)
    assert got['appliance_errors_total{kind="network"}'] == 2
    assert sum(v for k, v in got.items() if k.startswith("appliance_errors_total")) == 2


def test_key_fetch_times_fill_the_cumulative_buckets():
    m = Metrics("1", 0.0)
    m.key_fetched(0.03, ok=True)
    m.key_fetched(0.3, ok=True)
    m.key_fetched(45.0, ok=True)  # beyond the last bound: only +Inf
    m.key_fetched(2.0, ok=False)  # a failure is counted apart, not timed
    got = rendered(m)
    buckets = [
        got[f'appliance_key_fetch_seconds_bucket{{le="{number(b)}"}}'] for b in KEY_FETCH_BUCKETS_S
    ]
    assert buckets == sorted(buckets), "buckets are cumulative"
    assert got['appliance_key_fetch_seconds_bucket{le="0.05"}'] == 1
    assert got['appliance_key_fetch_seconds_bucket{le="0.5"}'] == 2
    assert got['appliance_key_fetch_seconds_bucket{le="30"}'] == 2
    assert got['appliance_key_fetch_seconds_bucket{le="+Inf"}'] == 3
    assert got["appliance_key_fetch_seconds_count"] == 3
    assert got["appliance_key_fetch_seconds_sum"] == pytest.approx(45.33)
    assert got["appliance_key_fetch_failures_total"] == 1


def test_readings_are_shown_when_measured():
    got = rendered(Metrics("1", 0.0), output_underruns=7, device_underruns=2, erle_db=41.5)
    assert got["appliance_output_underruns_total"] == 7
    assert got["appliance_output_device_underruns_total"] == 2
    assert got["appliance_echo_erle_db"] == 41.5


def test_label_values_and_numbers_are_written_as_the_format_says():
    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    text = Metrics('1.0"+dirty\n', 0.0).render(Readings(now=0.0))
    assert 'appliance_info{version="1.0\\"+dirty\\n"} 1\n' in text
    assert [number(x) for x in (3, 2.0, 0.25, float("inf"), float("nan"))] == [
        "3",
        "2",
        "0.25",
        "+Inf",
        "NaN",
    ]


def test_every_family_has_help_and_type_once_before_its_samples():
    text = Metrics("1", 0.0).render(Readings(now=1.0, device_underruns=0, erle_db=1.0))
    families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE)
    names = [name for name, _ in families]
    assert len(names) == len(set(names))
    assert all(re.search(rf"^# HELP {n} \S", text, re.MULTILINE) for n in names)
    for line in text.splitlines():
        if not line.startswith("#"):
            name = SAMPLE.match(line).group(1)
            assert any(name == n or name.startswith(n + "_") for n in names), line
    assert text.endswith("\n")


# --- [metrics] in the configuration ------------------------------------------------------------


def metrics_config(**fields):
    from appliance.config import validate

    return validate({"metrics": fields}).metrics


def config_error(**fields) -> str:
    from appliance.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        metrics_config(**fields)
    return str(caught.value)


def test_metrics_are_off_unless_a_way_out_is_set():
    assert not metrics_config().enabled
    assert not metrics_config(listen="", textfile="").enabled
    assert metrics_config(listen="0.0.0.0:9101").enabled
    assert metrics_config(listen="[::]:9101").listen == "[::]:9101"
    assert metrics_config(textfile="/var/lib/prometheus/node-exporter/appliance.prom").enabled


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"listen": "9101"}, 'metrics.listen: must be "host:port"'),
        ({"listen": "0.0.0.0:0"}, "metrics.listen: the port must be a number from 1 to 65535"),
        ({"listen": "0.0.0.0:65536"}, "metrics.listen: the port must be a number"),
        ({"listen": "[:::9101"}, "metrics.listen: an IPv6 address goes in brackets"),
        ({"textfile": "/tmp/appliance.txt"}, "metrics.textfile: node_exporter reads only"),
        ({"textfile": "appliance.prom"}, "metrics.textfile: must be an absolute path"),
        ({"textfile_interval_s": 0.5}, "metrics.textfile_interval_s"),
        ({"textfile_interval_s": 3601}, "metrics.textfile_interval_s"),
    ],
)
def test_bad_metrics_settings_name_the_field_and_the_fix(fields, message):
    assert message in config_error(**fields)


def test_the_limits_of_the_textfile_interval_are_accepted():
    assert metrics_config(textfile_interval_s=1).textfile_interval_s == 1
    assert metrics_config(textfile_interval_s=3600).textfile_interval_s == 3600


def test_changing_the_metrics_needs_a_restart():
    from appliance.config import restart_needed, validate

    old, new = validate({}), validate({"metrics": {"listen": "127.0.0.1:9101"}})
    assert restart_needed(old, new) == ["metrics.listen"]
