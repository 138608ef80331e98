"""deploy/grafana/appliance-fleet.json is an importable dashboard whose queries name only
metrics that exist (the running check of every query is in
tests/integration/test_metrics_prometheus.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from appliance.metrics import Metrics, Readings

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "appliance-fleet.json"
KEYSERVER_METRICS = {
    "appliance_keyserver_keys_minted_total",
    "appliance_keyserver_refusals_total",
    "appliance_keyserver_usage_tokens_total",
}
"""The key server's metrics the dashboard queries (its ``/metrics``)."""
OTHER_METRICS = {"up", "node_textfile_mtime_seconds"}
"""Prometheus' own ``up`` and node_exporter's textfile collector's."""


def panels() -> list[dict]:
    found = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        found += [panel, *panel.get("panels", [])]
    return found


def test_the_dashboard_is_importable_with_a_prometheus_to_pick():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "appliance-fleet" and dashboard["title"]
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels():
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]


def test_every_query_names_only_metrics_that_exist_and_no_grafana_variable():
    text = Metrics("1", 0.0).render(Readings(now=1.0, device_underruns=0, erle_db=1.0))
    ours = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    known = ours | KEYSERVER_METRICS | OTHER_METRICS
    for panel in panels():
        for target in panel.get("targets", []):
            expr = target["expr"]
            assert "$" not in expr, f"{panel['title']}: a Grafana variable cannot run in Prometheus"
            names = set(re.findall(r"\b((?:appliance|node)_[a-z_]+|up)\b", expr))
            names = {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}
            assert names and names <= known, f"{panel['title']}: {names - known}"


def test_the_dashboard_covers_what_a_fleet_needs():
    exprs = " ".join(t["expr"] for p in panels() for t in p.get("targets", []))
    for name in (
        'up{job="appliance"}',
        "appliance_sessions_started_total",
        "appliance_sessions_stopped_total",
        "appliance_errors_total",
        "appliance_output_underruns_total",
        *sorted(KEYSERVER_METRICS),
    ):
        assert name in exprs
