"""The CSS subset of the screen: colours, lengths, filters, warnings."""

from __future__ import annotations

import logging

import pytest

from appliance.display.style import (
    Length,
    Style,
    StyleError,
    Warnings,
    camel,
    filter_color,
    parse_color,
    parse_filter,
    parse_length,
    resolve,
)


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("red", (255, 0, 0, 255)),
        ("Green", (0, 128, 0, 255)),  # CSS green, not X11's
        ("grey", (128, 128, 128, 255)),
        ("rebeccapurple", (102, 51, 153, 255)),
        ("transparent", (0, 0, 0, 0)),
        ("#ccc", (204, 204, 204, 255)),
        ("#f80c", (255, 136, 0, 204)),
        ("#1a2b3c", (26, 43, 60, 255)),
        ("#1a2b3c80", (26, 43, 60, 128)),
        ("rgb(255, 231, 231)", (255, 231, 231, 255)),
        ("rgb(255 231 231)", (255, 231, 231, 255)),
        ("rgba(0,0,255,0.5)", (0, 0, 255, 128)),
        ("rgb(0 0 255 / 50%)", (0, 0, 255, 128)),
        ("rgb(100%, 0%, 50%)", (255, 0, 128, 255)),
        ("hsl(0, 100%, 50%)", (255, 0, 0, 255)),
        ("hsl(120deg 100% 25%)", (0, 128, 0, 255)),
        ("hsla(240, 100%, 50%, 0.25)", (0, 0, 255, 64)),
        ("hsl(0.5turn, 100%, 50%)", (0, 255, 255, 255)),
    ],
)
def test_colours(text: str, rgba: tuple[int, int, int, int]) -> None:
    assert parse_color(text) == rgba


@pytest.mark.parametrize("text", ["nope", "#12", "#12345", "rgb(1,2)", "hsl(a,b,c)", "url(x.png)"])
def test_bad_colours_raise(text: str) -> None:
    with pytest.raises(StyleError):
        parse_color(text)


def test_lengths() -> None:
    assert parse_length("12px") == Length(12)
    assert parse_length(7) == Length(7)
    assert parse_length("60%") == Length(60, "%")
    assert parse_length("1.5em") == Length(24)
    assert parse_length("60%").resolve(480) == 288
    assert parse_length("10px").resolve(480, ui=2.25) == 22.5
    with pytest.raises(StyleError):
        parse_length("12vw")


def test_camel_case_keys() -> None:
    assert camel("background-color") == "backgroundColor"
    assert camel("borderRadius") == "borderRadius"


def test_resolve_kebab_and_camel_and_border() -> None:
    w = Warnings()
    style = resolve(
        {
            "background-color": "#f7f7f7",
            "color": "orange",
            "border": "2px solid #ccc",
            "borderRadius": "8px",
            "padding": "1px 2px 3px",
            "width": "50%",
            "fontSize": "20px",
            "font-weight": "bold",
            "opacity": "50%",
            "filter": "brightness(0.5)",
            "top": "20px",
        },
        "test",
        w,
    )
    assert style.background == (247, 247, 247, 255)
    assert style.color == (255, 165, 0, 255)
    assert style.border_width == Length(2)
    assert style.border_color == (204, 204, 204, 255)
    assert style.border_radius == Length(8)
    assert style.padding == (Length(1), Length(2), Length(3), Length(2))
    assert style.width == Length(50, "%")
    assert style.font_size == Length(20)
    assert style.bold is True
    assert style.opacity == 0.5
    assert style.filters == (("brightness", 0.5),)
    assert style.top == Length(20)
    assert w.messages == []


def test_border_without_style_draws_nothing() -> None:
    style = resolve({"border": "3px red"}, "t", Warnings())
    assert style.border_width == Length(0)
    assert resolve({"border": "none"}, "t", Warnings()).border_width == Length(0)


def test_unknown_property_warns_once_per_name(caplog: pytest.LogCaptureFixture) -> None:
    w = Warnings()
    with caplog.at_level(logging.WARNING):
        resolve({"boxShadow": "0 0 4px red", "margin": "3px"}, "a", w)
        resolve({"box-shadow": "1px 1px red"}, "b", w)
    shadow = [r for r in caplog.records if "boxShadow" in r.getMessage()]
    assert len(shadow) == 1
    assert any("margin" in r.getMessage() for r in caplog.records)


def test_bad_values_warn_and_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    w = Warnings()
    with caplog.at_level(logging.WARNING):
        style = resolve(
            {"color": "not-a-colour", "width": "wide", "opacity": [1], "filter": "blur(2px)"},
            "realtime.error.style",
            w,
        )
    assert style == Style()
    text = caplog.text
    assert "realtime.error.style.color" in text
    assert "blur() is not supported" in text
    assert len(w.messages) == 4


def test_non_mapping_style_is_ignored() -> None:
    w = Warnings()
    assert resolve("color: red", "x", w) == Style()  # type: ignore[arg-type]
    assert w.messages


def test_over_merges_fields() -> None:
    base = Style(background=(1, 2, 3, 255), color=(0, 0, 0, 255))
    top = Style(background=(9, 9, 9, 255))
    merged = top.over(base)
    assert merged.background == (9, 9, 9, 255)
    assert merged.color == (0, 0, 0, 255)


def test_filter_parsing() -> None:
    chain = parse_filter("brightness(0) saturate(100%) invert(58%) hue-rotate(172deg)")
    assert chain == (
        ("brightness", 0.0),
        ("saturate", 1.0),
        ("invert", 0.58),
        ("hue-rotate", 172.0),
    )
    assert parse_filter("none") == ()
    with pytest.raises(StyleError):
        parse_filter("brightness(2) garbage")


def test_brightness_and_invert() -> None:
    assert filter_color((200, 100, 50, 255), (("brightness", 0.5),)) == (100, 50, 25, 255)
    assert filter_color((0, 0, 0, 255), (("invert", 1.0),)) == (255, 255, 255, 255)
    assert filter_color((10, 10, 10, 200), (("opacity", 0.5),))[3] == 100


def test_deep_chat_muted_filter_is_red() -> None:
    """Deep Chat's CSS turns the muted microphone icon red with this chain."""
    chain = parse_filter(
        "brightness(0) saturate(100%) invert(35%) sepia(60%) saturate(1360%) "
        "hue-rotate(325deg) brightness(95%) contrast(92%)"
    )
    r, g, b, _ = filter_color((56, 56, 56, 255), chain)
    assert r > 150 and r > 2 * g and r > 2 * b


def test_deep_chat_toggle_filter_is_dark_grey() -> None:
    chain = parse_filter(
        "brightness(0) saturate(100%) invert(22%) sepia(0%) saturate(4537%) "
        "hue-rotate(208deg) brightness(105%) contrast(91%)"
    )
    r, g, b, _ = filter_color((255, 0, 0, 255), chain)
    assert max(r, g, b) - min(r, g, b) <= 3
    assert 40 <= r <= 80
