"""The captions' model and its cut rule (pure), and their word-wrapped layout."""

from __future__ import annotations

import pytest

from appliance.captions import MAX_CHARS, MAX_ENTRIES, Caption, Captions, cut_point
from appliance.display.captionlayout import caption_box, caption_lines


def by_chars(text: str) -> int:
    return len(text)  # a monospace font of 1 px per character


# --- the cut rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "played", "audio", "kept"),
    [
        ("one two three four", 0, 1000, ""),
        ("one two three four", 1000, 1000, "one two three four"),
        ("one two three four", 1500, 1000, "one two three four"),  # more played than counted
        ("one two three four", 500, 0, ""),  # no audio yet
        # 18 chars * 500/1000 = 9: "one two t|hree": inside "three", which is dropped
        ("one two three four", 500, 1000, "one two"),
        # 18 * 445/1000 = 8: the cut falls on the first letter of "three": dropped too
        ("one two three four", 445, 1000, "one two"),
        # 18 * 400/1000 = 7: just after "two"
        ("one two three four", 400, 1000, "one two"),
        # 18 * 100/1000 = 1: inside the first word
        ("one two three four", 100, 1000, ""),
    ],
)
def test_cut_point_is_proportional_and_cut_back_to_a_word(text, played, audio, kept):
    assert text[: cut_point(text, played, audio)] == kept


def test_cut_point_never_passes_the_played_share():
    text = "the quick brown fox jumps over the lazy dog and keeps running far away"
    for played in range(0, 3001, 37):
        shown = cut_point(text, played, 3000)
        assert shown <= len(text) * played / 3000
        assert shown == len(text) or shown == 0 or text[shown] == " "  # a whole word


# --- the model ---------------------------------------------------------------------------------


def test_assistant_deltas_stream_in_and_the_final_transcript_replaces_them():
    captions = Captions()
    assert captions.assistant_delta("a1", "Hello")
    assert captions.assistant_delta("a1", " there")
    assert captions.shown() == (Caption("assistant", "Hello there"),)
    assert captions.assistant_done("a1", "Hello there, visitor.")
    assert captions.shown() == (Caption("assistant", "Hello there, visitor."),)
    assert not captions.assistant_done("a1", "Hello there, visitor.")  # nothing changed


def test_a_barge_in_cuts_the_caption_where_the_audio_was_cut_and_keeps_it_cut():
    captions = Captions()
    captions.assistant_delta("a1", "one two three four")  # 18 characters for 1000 ms
    assert captions.cut_at("a1", 500, 1000)
    assert captions.shown() == (Caption("assistant", "one two"),)
    # what still arrives for the cut item is never shown
    assert not captions.assistant_delta("a1", " five six")
    assert not captions.assistant_done("a1", "one two three four five six")
    assert captions.shown() == (Caption("assistant", "one two"),)
    # the next answer is shown
    captions.assistant_delta("a2", "Yes?")
    assert captions.shown()[-1] == Caption("assistant", "Yes?")


def test_a_cut_before_any_word_arrived_shows_none_of_them():
    captions = Captions()
    assert not captions.cut_at("a1", 200, 1000)
    captions.assistant_delta("a1", "late words")
    assert captions.shown() == ()


def test_the_visitor_is_shown_only_in_mode_both():
    for mode, shown in (("assistant", False), ("both", True), ("off", False)):
        captions = Captions(mode)
        captions.user_delta("u1", "where is")
        captions.user_transcript("u1", "Where is the exit?")
        captions.assistant_delta("a1", "Left.")
        expected = [Caption("user", "Where is the exit?")] if shown else []
        if mode != "off":
            expected.append(Caption("assistant", "Left."))
        assert list(captions.shown()) == expected, mode


def test_clear_forgets_everything():
    captions = Captions("both")
    captions.user_transcript("u1", "Hi")
    captions.assistant_delta("a1", "Hello")
    assert captions.clear()
    assert captions.shown() == ()
    assert not captions.clear()  # nothing left to clear


def test_memory_is_bounded():
    captions = Captions()
    for n in range(MAX_ENTRIES + 3):
        captions.assistant_delta(f"a{n}", f"answer {n}")
    assert [c.text for c in captions.shown()] == [f"answer {n}" for n in range(3, MAX_ENTRIES + 3)]
    for _ in range(500):
        captions.assistant_delta("long", " word")
    text = captions.shown()[-1].text
    assert len(text) <= MAX_CHARS and text.startswith("word")


# --- layout ------------------------------------------------------------------------------------


def test_lines_are_word_wrapped_and_the_last_ones_kept():
    captions = (
        Caption("user", "Where is the museum shop please"),
        Caption("assistant", "The shop is on the ground floor next to the exit"),
    )
    lines = caption_lines(captions, 20, by_chars, 3)
    assert lines == (
        ("assistant", "The shop is on the"),
        ("assistant", "ground floor next to"),
        ("assistant", "the exit"),
    )
    assert all(len(text) <= 20 for _, text in lines)
    more = caption_lines(captions, 20, by_chars, 5)
    assert more[:2] == (("user", "Where is the museum"), ("user", "shop please"))
    assert caption_lines(captions, 20, by_chars, 0) == ()
    assert caption_lines((), 20, by_chars, 3) == ()


def test_the_box_sits_at_the_bottom_of_its_area_and_holds_only_whole_lines():
    area = (10, 30, 780, 250)  # left, top, width, height
    box, fit = caption_box(area, 20, 3, 4)
    assert fit == 3
    assert box == (10, 30 + 250 - 68, 780, 68)
    # too little room: fewer lines, never beyond the area
    box, fit = caption_box((0, 30, 800, 50), 20, 3, 4)
    assert fit == 2 and box[1] >= 30 and box[1] + box[3] == 80
    box, fit = caption_box((0, 30, 800, 10), 20, 3, 4)
    assert fit == 0 and box[3] == 0
    box, _ = caption_box(area, 20, 3, 4, max_width=600)
    assert box[0] == 10 + 90 and box[2] == 600
