"""appliance/bench/_goals.py: the goals table printed after the bench's rows."""

from __future__ import annotations

from appliance.bench import row
from appliance.bench._goals import NOT_RUN, PEER_FIRST_FRAME, PEER_PSS, compare, format_goals


def test_only_measured_goals_are_compared_and_each_is_judged():
    rows = [
        row("memory", "800x480 idle: PSS", 59.0, "MiB", "idle"),
        row("start", "spawn -> first frame on screen", 620.0, "ms", "cold"),
        row("gpio", "something else", 1.0, "ms", "not a goal"),
    ]
    compared = compare(rows)
    assert [c["figure"] for c in compared] == ["PSS idle", "spawn -> first frame"]
    assert [c["met"] for c in compared] == [True, False]
    assert compared[0]["ours"] == "59 MiB"
    table = format_goals(compared)
    assert "NOT MET" in table.splitlines()[-1] and table.splitlines()[-2].endswith("met")


def test_the_browser_figures_come_from_the_same_run_never_from_a_record():
    alone = compare([row("memory", "800x480 idle: PSS", 59.0, "MiB", "idle")])
    assert alone[0]["peer"] == NOT_RUN
    compared = compare(
        [
            row("memory", "800x480 idle: PSS", 59.0, "MiB", "idle"),
            row("start", "spawn -> first frame on screen", 420.0, "ms", ""),
            row("peer", PEER_PSS, 377.4, "MiB", "Chromium"),
            row("peer", PEER_FIRST_FRAME, 1234.0, "ms", "Chromium"),
            row("peer", "appliance 800x480 idle: PSS (all processes)", 60.0, "MiB", ""),
        ]
    )
    peers = {c["figure"]: c["peer"] for c in compared}
    assert peers == {
        "PSS idle": "377 MiB",
        "spawn -> first frame": "1234 ms",
        "PSS idle, side by side": "377 MiB",
    }


def test_a_goal_without_a_browser_figure_says_so():
    compared = compare([row("memory", "800x480 speaking: PSS", 80.0, "MiB", "")])
    assert compared[0]["peer"] == "-"


def test_nothing_measured_prints_nothing():
    assert compare([row("gpio", "press -> start", 1.0, "ms", "")]) == []
    assert format_goals([]) == ""


def test_the_peer_areas_rows_are_the_ones_the_goals_read():
    from appliance.bench._goals import GOALS, PEER_AREA, PEER_CPU
    from appliance.bench.peer import APPLIANCE, BROWSER, Run, side_rows

    runs = [Run(300.0, 60.0, 52.0, 1, 0.5), Run(320.0, 61.0, 52.0, 1, 0.3)]
    browser = side_rows(BROWSER, [Run(600.0, 360.0, 190.0, 8, 0.9)], "Chromium", 1, 3.0)
    appliance = side_rows(APPLIANCE, runs, "appliance run", 2, 3.0)
    assert {r["name"] for r in browser} == {PEER_FIRST_FRAME, PEER_PSS, PEER_CPU}
    compared = compare(browser + appliance)
    side_by_side = [g for g in GOALS if g.area == PEER_AREA]
    assert len(compared) == len(side_by_side) == 3
    assert [c["peer"] for c in compared] == ["600 ms", "360 MiB", "0.9 %"]
    assert [c["ours"] for c in compared] == ["310 ms", "60.5 MiB", "0.4 %"]
