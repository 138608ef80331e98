"""The log guard: every value capped, secrets scrubbed before a cut, repeats summed up."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from appliance.logguard import (
    LINE_MAX_CHARS,
    REPEAT_BURST,
    REPEAT_WINDOW_S,
    TRACEBACK_MAX_CHARS,
    VALUE_MAX_CHARS,
    GuardedStreamHandler,
    RepeatLimiter,
    cut,
)
from appliance.redaction import REDACTOR


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logged(clock: Clock) -> Iterator[tuple[logging.Logger, io.StringIO, GuardedStreamHandler]]:
    """A logger writing through a guarded handler into a string, with a clock of our own."""
    stream = io.StringIO()
    handler = GuardedStreamHandler(stream, RepeatLimiter(clock=clock))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("test.logguard")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream, handler
    logger.handlers[:] = []
    handler.close()


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_cut_keeps_short_text_and_says_how_much_it_left_out():
    assert cut("short", 10) == "short"
    assert cut("x" * 25, 10) == "x" * 10 + "... (15 more characters)"


def test_each_argument_is_capped_and_numbers_stay_numbers(logged):
    logger, stream, _ = logged
    transcript = "word " * 3_000_000  # 15 MB
    logger.info("%s: %s (%d turns, %.1f s)", "assistant", transcript, 3, 2.25)
    [line] = lines(stream)
    more = len(transcript) - VALUE_MAX_CHARS
    assert line.startswith("INFO test.logguard: assistant: word word")
    assert line.endswith(f"... ({more} more characters) (3 turns, 2.2 s)")
    assert len(line) < VALUE_MAX_CHARS + 100


def test_an_object_argument_is_capped_too(logged):
    logger, stream, _ = logged
    logger.info("arguments %s", ["p" * 100_000])
    logger.info("arguments %s", {"padding": "p" * 100_000})  # logging's mapping form
    for line in lines(stream):
        assert "more characters)" in line and len(line) < VALUE_MAX_CHARS + 100


def test_a_message_without_arguments_is_capped_at_the_line_limit(logged):
    logger, stream, _ = logged
    logger.warning("x" * 100_000)
    [line] = lines(stream)
    assert line == "WARNING test.logguard: " + "x" * LINE_MAX_CHARS + (
        f"... ({100_000 - LINE_MAX_CHARS} more characters)"
    )


def test_a_secret_across_the_cut_is_hidden_whole_not_shown_in_part(logged):
    logger, stream, _ = logged
    secret = "provisioning-token-" + "Q" * 60
    REDACTOR.add(secret)
    logger.info("header %s", "a" * (VALUE_MAX_CHARS - 10) + secret + "b" * 5000)
    [line] = lines(stream)
    assert "provisioning-tok" not in line and "QQQQ" not in line
    assert "a" * (VALUE_MAX_CHARS - 10) + "***" in line


def test_an_argument_stays_on_one_line(logged):
    logger, stream, _ = logged
    logger.info("server said %s", "fine\nERROR forged line")
    assert lines(stream) == ["INFO test.logguard: server said fine ERROR forged line"]


def test_a_huge_exception_is_capped(logged):
    logger, stream, _ = logged
    try:
        raise ValueError("v" * 1_000_000)
    except ValueError:
        logger.exception("handler failed")
    text = stream.getvalue()
    assert text.startswith("ERROR test.logguard: handler failed\nTraceback")
    assert "more characters)" in text
    assert len(text) < TRACEBACK_MAX_CHARS + 200


def test_repeats_pass_a_burst_then_are_summed_up_when_the_window_ends(logged, clock):
    logger, stream, _ = logged
    for i in range(REPEAT_BURST + 7):
        logger.warning("server error: %s", f"rate limited ({i})")
        clock.now += 0.01
    assert len(lines(stream)) == REPEAT_BURST
    clock.now += REPEAT_WINDOW_S
    logger.warning("server error: %s", "again")
    *_, summary, again = lines(stream)
    assert summary == (
        f"WARNING test.logguard: 7 more like this in the last {REPEAT_WINDOW_S:.0f} s, "
        f'not logged (the first: "server error: rate limited ({REPEAT_BURST})")'
    )
    assert again == "WARNING test.logguard: server error: again"


def test_the_template_level_and_logger_tell_repeats_apart(logged):
    logger, stream, _ = logged
    other = logging.getLogger("test.logguard.other")
    other.handlers[:] = logger.handlers
    other.propagate = False
    for _ in range(REPEAT_BURST + 3):
        logger.warning("a %s", "x")
        logger.error("a %s", "x")
        logger.warning("b %s", "x")
        other.warning("a %s", "x")
    assert len(lines(stream)) == 4 * REPEAT_BURST
    other.handlers[:] = []


def test_summaries_still_pending_are_written_when_the_handler_closes(logged):
    logger, stream, handler = logged
    for _ in range(REPEAT_BURST + 2):
        logger.info("state %s", "listening")
    handler.close()
    assert lines(stream)[-1].startswith("INFO test.logguard: 2 more like this in the last 1 s")


def test_a_summary_is_written_at_the_next_line_of_any_kind(logged, clock):
    logger, stream, _ = logged
    for _ in range(REPEAT_BURST + 1):
        logger.info("state %s", "listening")
    clock.now += REPEAT_WINDOW_S + 1
    logger.info("something else")
    assert lines(stream)[-2:] == [
        f"INFO test.logguard: 1 more like this in the last {REPEAT_WINDOW_S + 1:.0f} s, "
        'not logged (the first: "state listening")',
        "INFO test.logguard: something else",
    ]


def test_the_templates_tracked_are_bounded(clock):
    limiter = RepeatLimiter(burst=1, max_keys=3, clock=clock)
    assert limiter.admit(("a", 20, "one"), lambda: "one")[0]
    assert not limiter.admit(("a", 20, "one"), lambda: "one")[0]
    for template in ("two", "three"):
        clock.now += 1
        assert limiter.admit(("a", 20, template), str) == (True, [])
    clock.now += 1
    admitted, due = limiter.admit(("a", 20, "four"), lambda: "four")
    assert admitted and [(s.key, s.left_out) for s in due] == [(("a", 20, "one"), 1)]
    assert len(limiter._windows) == 3
