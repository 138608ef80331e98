"""The device's metrics as a real Prometheus sees them.

A real ``appliance run`` (headless, against the simulator) with both ways out on: the HTTP
endpoint and the textfile, which a real node_exporter (textfile collector only) serves, and
its keys from a real key server (``appliance keyserver serve``, SQLite, minting from the
simulator) with its device token, to which it reports its usage. A real Prometheus (Debian's
package) on a loopback port scrapes the three, the key server's ``/metrics`` included. The
appliance runs one session; PromQL through the HTTP API then returns the expected series, and
every panel query of ``deploy/grafana/appliance-fleet.json`` returns data from these processes.

Grafana itself is not in Debian's archive, so the dashboard is checked through its queries.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rig import session_config

from appliance.exporter import package_version
from appliance.metrics import Metrics, Readings
from appliance.rig.keyserver import KeyServerProcess, cli, enrol, request, write_config
from appliance.rig.process import wait_until
from appliance.rig.prometheus import (
    NODE_EXPORTER,
    PROMETHEUS,
    PROMTOOL,
    NodeExporter,
    Prometheus,
    check_metrics,
    free_port,
    http_get,
    missing,
)

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(
        missing(PROMETHEUS, NODE_EXPORTER, PROMTOOL) is not None,
        reason=str(missing(PROMETHEUS, NODE_EXPORTER, PROMTOOL)),
    ),
]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "appliance-fleet.json"
SCRAPE_EXAMPLE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
WAIT_S = 30.0


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """``(panel title, PromQL)`` of every target of every panel, rows' panels included."""
    found = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found += [(inner["title"], t["expr"]) for t in inner.get("targets", [])]
    return found


def test_the_scrape_example_is_a_valid_config_with_the_dashboards_jobs():
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(SCRAPE_EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = SCRAPE_EXAMPLE.read_text()
    queries = " ".join(expr for _, expr in panel_queries(json.loads(DASHBOARD.read_text())))
    for job in ("appliance", "appliance-keyserver"):
        assert f"job_name: {job}\n" in text
        assert f'job="{job}"' in queries


def test_every_metric_the_appliance_can_write_passes_promtool():
    m = Metrics("1.0", 0.0)
    m.key_fetched(0.2, ok=True)
    m.on_event({"type": "state", "state": "sleeping"})
    text = m.render(Readings(now=5.0, output_underruns=1, device_underruns=2, erle_db=40.5))
    checked = check_metrics(text)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout
    broken = check_metrics(text.replace("appliance_reconnects_total", "appliance_reconnects"))
    assert 'appliance_reconnects counter metrics should have "_total" suffix' in (
        broken.stdout + broken.stderr
    ), "promtool's lint would tell"


def assistant_lines(app: Any) -> int:
    """The appliance's answers so far (transcript events of the assistant)."""
    return sum(1 for e in app.events if e.get("type") == "transcript" and e["role"] == "assistant")


def empty_panels(prom: Prometheus) -> list[str]:
    """The dashboard's panel queries that return no data (or NaN) now."""
    empty = []
    for title, expr in panel_queries(json.loads(DASHBOARD.read_text())):
        result = prom.query(expr)
        values = [float(s["value"][1]) for s in result]
        if not result or any(math.isnan(v) for v in values):
            empty.append(f"{title}: {expr} -> {result}")
    return empty


def test_prometheus_scrapes_a_device_that_ran_a_session(sim, start, tmp_path):
    ks_config = write_config(tmp_path / "ks", sim.url)
    assert cli(ks_config, "migrate").returncode == 0
    token_file = tmp_path / "provisioning.token"
    token_file.write_text(enrol(ks_config, "lobby-1") + "\n")
    token_file.chmod(0o600)
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    port = free_port()
    config = session_config(
        sim,
        "ga",
        metrics={
            "listen": f"127.0.0.1:{port}",
            "textfile": str(textdir / "appliance.prom"),
            "textfile_interval_s": 1,
        },
    )
    endpoint = f"127.0.0.1:{port}"
    with (
        KeyServerProcess(ks_config) as keyserver,
        NodeExporter(textdir, tmp_path / "node-exporter.log") as node,
        Prometheus(
            tmp_path / "prometheus",
            {
                "appliance": [endpoint],
                "node": [node.address],
                "appliance-keyserver": [keyserver.url.removeprefix("http://")],
            },
        ) as prom,
    ):
        config["realtime"]["provisioning"] = {
            "url": f"{keyserver.url}/key",
            "token_file": str(token_file),
            "timeout_s": 5,
        }
        app = start(config)
        assert request(f"{keyserver.url}/key", token="aks_0000000000000000_wrong").status == 401
        # every target up, and the device's counters seen at 0 before the session
        prom.wait_for("count(up == 1) == 3", "the three targets up")
        prom.wait_for(
            "appliance_sessions_started_total == 0",
            "the counters at 0 by both ways",
            check=lambda result: len(result) == 2,
        )

        # a session: a dropped connection (a reconnect), a server's error, then a press
        assert app.cli("start").returncode == 0
        app.wait_state("listening")
        sim.script({"fault": "drop", "after_deltas": 1})
        app.ctl("say", text="Tell me something", role="user")
        app.wait_event(lambda e: e.get("state") == "reconnecting", 15, "the drop")
        app.wait_state("listening")
        sim.script({"fault": "error", "fatal": False, "code": "rate_limited", "message": "slow"})
        app.wait_event(lambda e: e["type"] == "error" and e.get("code"), 15, "the server error")
        answers = assistant_lines(app)
        assert app.ctl("say", text="And the weather?", role="user", respond=True)["ok"]
        wait_until(lambda: assistant_lines(app) > answers, 20, "an answer (a usage to report)")
        assert app.cli("stop").returncode == 0
        app.wait_state("idle")

        stopped = 'appliance_sessions_stopped_total{reason="press"} == 1'
        by_job = prom.wait_for(
            stopped, "the stop by both ways", check=lambda result: len(result) == 2
        )
        assert {s["metric"]["job"] for s in by_job} == {"appliance", "node"}
        prom.wait_for('appliance_state{state="idle"} == 1', "idle", check=lambda r: len(r) == 2)

        # the expected series, by PromQL through the HTTP API
        assert prom.values("appliance_sessions_started_total", by="job") == {
            "appliance": 2,
            "node": 2,
        }
        reasons = prom.values('appliance_sessions_stopped_total{job="appliance"}', by="reason")
        assert reasons == {
            "press": 1,
            "idle": 0,
            "max": 0,
            "error": 0,
            "reconnect": 1,
            "shutdown": 0,
        }
        assert prom.values('appliance_reconnects_total{job="appliance"}') == {"": 1}
        states = prom.values('appliance_state{job="appliance"}', by="state")
        assert states["idle"] == 1 and sum(states.values()) == 1
        versions = prom.values('appliance_info{job="appliance"}', by="version")
        assert versions == {package_version(): 1}
        assert prom.values('appliance_key_fetch_seconds_count{job="appliance"}') == {"": 2}
        assert prom.values('appliance_uptime_seconds{job="appliance"} > 0')
        errors = prom.values('appliance_errors_total{job="appliance"}', by="kind")
        assert errors["server"] == 1 and errors["network"] == 1, errors
        assert sum(errors.values()) == 2, errors

        # the key server's own counters: the two keys, the wrong token, the two usage reports
        ks = 'job="appliance-keyserver"'
        prom.wait_for(
            f'sum(appliance_keyserver_usage_reports_total{{{ks},result="stored"}}) == 2',
            "both sessions' usage reports on the key server",
        )
        assert prom.values(f"appliance_keyserver_keys_minted_total{{{ks}}}", by="group") == {
            "default": 2
        }
        assert prom.values(f"appliance_keyserver_refusals_total{{{ks}}}", by="reason") == {
            "unknown_token": 1
        }
        assert prom.values(f"sum(appliance_keyserver_usage_tokens_total{{{ks}}})")[""] > 0

        # every panel of the dashboard has data, from these processes
        last: list[str] = []

        def all_panels() -> bool:
            last[:] = empty_panels(prom)
            return not last

        try:
            wait_until(all_panels, WAIT_S, "every panel with data")
        except AssertionError:
            raise AssertionError("panels without data:\n" + "\n".join(last)) from None
        up = prom.values('sum(up{job="appliance"})')
        textfile_up = prom.values(
            'count(time() - node_textfile_mtime_seconds{file=~".*appliance.prom"} < 120)'
        )
        assert up == {"": 1} and textfile_up == {"": 1}
        stop_reasons = "sum by (reason) (increase(appliance_sessions_stopped_total[24h]))"
        assert prom.values(stop_reasons, by="reason")["press"] > 0
        p90 = "histogram_quantile(0.9, sum by (le) (rate(appliance_key_fetch_seconds_bucket[1h])))"
        assert prom.values(p90)[""] > 0

        # both expositions pass promtool's checks
        status, body = http_get(f"http://{endpoint}/metrics")
        assert status == 200
        for text in (body.decode(), (textdir / "appliance.prom").read_text()):
            checked = check_metrics(text)
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert checked.stdout + checked.stderr == "", "promtool's lint has nothing to say"

    assert app.stop() == 0
    assert not (textdir / "appliance.prom").exists(), "removed at a clean stop"
