"""appliance/bench/_goals.py: the goals table printed after the bench's rows."""

from __future__ import annotations

from appliance.bench import row
from appliance.bench._goals import compare, format_goals


def test_only_measured_goals_are_compared_and_each_is_judged():
    rows = [
        row("memory", "800x480 idle: PSS", 59.0, "MiB", "idle"),
        row("start", "spawn -> first frame on screen", 620.0, "ms", "cold"),
        row("gpio", "something else", 1.0, "ms", "not a goal"),
    ]
    compared = compare(rows)
    assert [c["figure"] for c in compared] == ["PSS idle", "spawn -> first frame"]
    assert [c["met"] for c in compared] == [True, False]
    assert compared[0]["peer"] == "385 MiB" and compared[0]["ours"] == "59 MiB"
    table = format_goals(compared)
    assert "NOT MET" in table.splitlines()[-1] and table.splitlines()[-2].endswith("met")


def test_nothing_measured_prints_nothing():
    assert compare([row("gpio", "press -> start", 1.0, "ms", "")]) == []
    assert format_goals([]) == ""
