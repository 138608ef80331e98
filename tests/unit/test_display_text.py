"""The loading html subset and text wrapping."""

from __future__ import annotations

from appliance.display.text import ellipsize, html_lines, wrap


def measure(text: str) -> float:
    return 10.0 * len(text)


def test_plain_text() -> None:
    assert html_lines("Loading") == [[("Loading", False)]]


def test_br_and_bold() -> None:
    lines = html_lines("Please <b>wait</b><br>connecting&hellip;")
    assert lines == [[("Please ", False), ("wait", True)], [("connecting…", False)]]


def test_blocks_entities_and_dropped_tags() -> None:
    html = '<div class="x"><span>One &amp; two</span></div><p><strong>Three</strong></p>'
    assert html_lines(html) == [[("One & two", False)], [("Three", True)]]


def test_script_and_style_are_dropped() -> None:
    assert html_lines("<style>.a{color:red}</style>Hi<script>alert(1)</script>") == [
        [("Hi", False)]
    ]


def test_empty_markup_gives_no_text() -> None:
    assert html_lines('<div class="lds-ripple"><div></div><div></div></div>') == []


def test_wrap_and_truncate() -> None:
    text = "one two three four five six seven eight"
    lines = wrap(text, 100, measure, 2)
    assert lines[0] == "one two"
    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert all(measure(line) <= 100 for line in lines)


def test_wrap_cuts_long_words() -> None:
    lines = wrap("https://example.invalid/a/very/long/path", 100, measure, 10)
    assert all(measure(line) <= 100 for line in lines)
    assert "".join(lines) == "https://example.invalid/a/very/long/path"


def test_ellipsize() -> None:
    assert ellipsize("short", 100, measure) == "short"
    cut = ellipsize("a much longer sentence", 100, measure)
    assert cut.endswith("…") and measure(cut) <= 100
