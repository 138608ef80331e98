"""The bench's rows and table: raw samples kept with their median and p95, notes wrapped."""

from __future__ import annotations

import os

from appliance.bench import row
from appliance.bench.__main__ import format_table
from appliance.rig.process import cpu_seconds, memory


def test_row_keeps_samples_with_median_and_p95() -> None:
    r = row("live", "delta->DAC p50", 51.23456, "ms", "what it includes", [50, 52, 51, 70])
    assert r["value"] == 51.235
    assert r["samples"] == [50.0, 52.0, 51.0, 70.0]
    assert r["median"] == 51.5
    assert 52 < r["p95"] <= 70


def test_row_without_samples_is_the_old_shape() -> None:
    assert row("gpio", "x", 1.0, "ms", "n") == {
        "area": "gpio",
        "name": "x",
        "value": 1.0,
        "unit": "ms",
        "note": "n",
    }


def test_table_wraps_long_notes_counts_samples_and_says_as_above() -> None:
    note = "a long explanation of what the figure includes " * 4
    rows = [
        row("live", "p50", 1.0, "ms", note, [1, 2, 3]),
        row("live", "p95", 2.0, "ms", note),
        {"area": "gpio", "name": "old row", "value": 3.0, "unit": "%"},
    ]
    lines = format_table(rows, note_width=40).splitlines()
    assert all(len(line) <= 40 + 30 for line in lines)
    assert lines[2].split()[:5] == ["live", "p50", "1", "ms", "3"]
    p95 = next(line for line in lines if line.startswith("live  p95"))
    assert p95.endswith("as above")
    assert lines[-1].split() == ["gpio", "old", "row", "3", "%"]


def test_proc_readers_on_this_process() -> None:
    spent = cpu_seconds(os.getpid())
    sum(i * i for i in range(200_000))  # burn a little CPU
    assert cpu_seconds(os.getpid()) >= spent
    mem = memory(os.getpid())
    assert 0 < mem.uss <= mem.pss <= mem.rss


def testlabels_row_reads_a_child_before_and_after_loading_the_labels() -> None:
    from appliance.bench.memory import labels_row

    r = labels_row()
    assert (r["area"], r["unit"]) == ("memory", "KiB")
    assert -1024 < r["value"] < 4096  # a few tables of text: well under 4 MiB
    assert "PSS" in r["note"] and "->" in r["note"]


def test_a_process_tree_is_summed_whole() -> None:
    """A shell with a grandchild in a session of its own (as Chromium's zygote): the tree has
    all three, and its PSS is the sum of theirs."""
    import subprocess

    from appliance.rig.process import process_tree, tree_cpu_seconds, tree_memory, wait_until

    shell = subprocess.Popen(
        ["sh", "-c", "setsid sleep 30 & sleep 30 & wait"], stdin=subprocess.DEVNULL
    )

    def whole() -> list[int] | None:
        tree = process_tree(shell.pid)
        return tree if len(tree) == 3 else None

    try:
        tree = wait_until(whole, 10, "the shell and its two sleeps")
        assert tree[0] == shell.pid
        total, count = tree_memory(shell.pid)
        assert count == 3
        parts = [memory(pid).pss for pid in tree]
        assert abs(total.pss - sum(parts)) < 0.5
        assert total.pss > max(parts)
        assert set(tree_cpu_seconds(shell.pid)) == set(tree)
    finally:
        for pid in process_tree(shell.pid)[::-1]:
            os.kill(pid, 15)
        shell.wait()
