"""The recovery policy's pure parts: backoff and which failures are retried."""

import pytest

from appliance.recovery import Backoff, retryable_http_status


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
