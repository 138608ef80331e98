"""The session policy's recovery helpers (:mod:`appliance.realtime.session`): the backoff
between attempts, which HTTP statuses are worth retrying, and liveness (a stall is silence
while an answer is owed; quiet moments are safe for renewal). The session's decisions that use
them are tested in test_session_policy.py."""

import pytest

from appliance.realtime.protocol import (
    ResponseDone,
    ResponseStarted,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
)
from appliance.realtime.session import Backoff, Liveness, retryable_http_status


def test_backoff_doubles_and_caps():
    b = Backoff(initial_s=1, max_s=8, max_attempts=5, jitter=0)
    assert [b.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


def test_backoff_jitter_stays_within_bounds():
    b = Backoff(initial_s=2, max_s=30, jitter=0.2)
    assert b.delay(1, rand=0.0) == pytest.approx(1.6)
    assert b.delay(1, rand=1.0) == pytest.approx(2.4)
    delays = {round(b.delay(3), 6) for _ in range(50)}
    assert len(delays) > 1 and all(6.4 <= d <= 9.6 for d in delays)


def test_gives_up_after_max_attempts():
    b = Backoff(max_attempts=2)
    assert not b.gives_up(1) and not b.gives_up(2) and b.gives_up(3)
    assert Backoff(max_attempts=0).gives_up(1)


@pytest.mark.parametrize(
    "status,retry",
    [
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
    ],
)
def test_retryable_statuses(status, retry):
    assert retryable_http_status(status) is retry


def test_liveness_a_quiet_room_is_not_a_stall():
    live = Liveness(now=0.0)
    assert not live.is_stalled(now=600.0, timeout_s=15)  # nobody talked, nothing owed
    assert live.is_quiet(audible=False)


def test_liveness_silence_while_an_answer_is_owed_is_a_stall():
    live = Liveness(now=0.0)
    live.expect(now=10.0)  # e.g. response.create sent
    assert not live.is_stalled(now=24.0, timeout_s=15)
    assert live.is_stalled(now=26.0, timeout_s=15)
    live.heard(now=25.0)
    assert not live.is_stalled(now=26.0, timeout_s=15)


def test_liveness_follows_the_turns():
    live = Liveness(now=0.0)
    live.track(SpeechStarted("u1", 0), response_active=False)
    assert live.user_speaking and not live.is_quiet(audible=False)
    live.track(SpeechStopped("u1"), response_active=False)
    assert live.expecting  # the committed turn is owed an answer
    live.track(ResponseStarted("r1"), response_active=True)
    live.track(ResponseDone("r1", "completed"), response_active=False)
    assert not live.expecting and live.is_quiet(audible=False)
    assert not live.is_quiet(audible=True)  # the answer is still playing


def test_liveness_session_updated_clears_what_it_owed():
    live = Liveness(now=0.0)
    live.expect(now=1.0)  # session.update sent
    live.track(SessionUpdated({}), response_active=False)
    assert not live.expecting
    live.expect(now=2.0)
    live.track(SessionUpdated({}), response_active=True)  # a response is still running
    assert live.expecting
