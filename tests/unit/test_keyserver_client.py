"""The appliance's side of the key server, pure parts and files: the device token, the
refusals (Retry-After, the label each is told with), the usage tally and report, the queue."""

from __future__ import annotations

import email.utils
import json
import logging
import os
from pathlib import Path

import pytest

from appliance.config import validate
from appliance.labels import cause_key
from appliance.realtime import usage as usage_module
from appliance.realtime.dialects import DIALECTS
from appliance.realtime.keys import (
    DEFAULT_RETRY_AFTER_S,
    MAX_RETRY_AFTER_S,
    KeySourceError,
    has_token,
    key_server_refusal,
    read_token,
    retry_after_s,
    with_token,
)
from appliance.realtime.protocol import Protocol, ResponseDone
from appliance.realtime.reporter import derived_usage_url, usage_url
from appliance.realtime.usage import (
    MAX_REPORTS,
    MAX_RESPONSE_TOKENS,
    ReportQueue,
    Tally,
    TokenUsage,
    make_report,
)
from appliance.redaction import REDACTOR

WHERE = "provisioning URL http://127.0.0.1:8787/key"
TOKEN = "kst_device-token-7f3a9c"


def provisioned(tmp_path: Path, **extra: object) -> object:
    return validate({"realtime": {"provisioning": {"url": "http://127.0.0.1:8787/key", **extra}}})


def error_body(code: str, message: str = "nope") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


# --- the token -------------------------------------------------------------------------------


def test_the_token_comes_from_its_file_and_is_redacted(tmp_path: Path) -> None:
    token_file = tmp_path / "provisioning.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    config = provisioned(tmp_path, token_file=str(token_file))
    assert read_token(config, environ={}) == TOKEN
    assert TOKEN not in REDACTOR(f"refused {TOKEN}")
    assert has_token(config, environ={})


def test_the_token_comes_from_the_credential_and_an_empty_one_is_none(tmp_path: Path) -> None:
    config = provisioned(tmp_path)
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert read_token(config, environ) is None and not has_token(config, environ)
    for default in ("", "\n"):  # the unit's SetCredential= default is a lone newline
        (tmp_path / "provisioning.token").write_text(default)
        assert read_token(config, environ) is None and not has_token(config, environ)
    (tmp_path / "provisioning.token").write_text(TOKEN)
    assert read_token(config, environ) == TOKEN and has_token(config, environ)
    assert read_token(validate({}), environ) is None  # no provisioning: no token


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("two words", "does not hold one token"),
        ("x" * (64 * 1024 + 1), "larger than 64 KiB"),
    ],
)
def test_a_bad_token_file_is_a_clear_error(tmp_path: Path, content, problem: str) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    config = provisioned(tmp_path, token_file=str(token_file))
    with pytest.raises(KeySourceError, match=problem) as error:
        read_token(config, environ={})
    assert not error.value.retryable
    assert cause_key(str(error.value)) == "error_provisioning"


def test_a_token_file_readable_by_others_is_warned_about(tmp_path: Path, caplog) -> None:
    token_file = tmp_path / "loose.token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert read_token(provisioned(tmp_path, token_file=str(token_file)), {}) == TOKEN
    assert "chmod 600" in caplog.text and TOKEN not in caplog.text


def test_the_token_replaces_a_configured_authorization_header() -> None:
    headers = {"authorization": "Bearer old", "X-Device": "kitchen"}
    assert with_token(headers, TOKEN) == {"X-Device": "kitchen", "Authorization": f"Bearer {TOKEN}"}
    assert with_token(headers, None) is headers


# --- refusals ---------------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date_within_a_day() -> None:
    now = 1_800_000_000.0
    assert retry_after_s("30", now) == 30
    assert retry_after_s("86400", now) == MAX_RETRY_AFTER_S  # at the limit
    assert retry_after_s("86401", now) == MAX_RETRY_AFTER_S  # over it: a day
    assert retry_after_s("999999999999", now) == MAX_RETRY_AFTER_S
    assert retry_after_s(email.utils.formatdate(now + 120, usegmt=True), now) == 120
    assert retry_after_s(email.utils.formatdate(now - 50, usegmt=True), now) == 0
    for garbage in (None, "", "soon", "-5", "1e9", "3.5"):
        assert retry_after_s(garbage, now) == DEFAULT_RETRY_AFTER_S


@pytest.mark.parametrize("code", ["daily_sessions", "daily_minutes", "daily_tokens", "fleet_cap"])
def test_a_spent_budget_is_told_as_the_daily_limit(code: str) -> None:
    refusal = key_server_refusal(WHERE, 429, error_body(code), "3600", True)
    assert refusal is not None and refusal.wait_s == 3600
    error = refusal.error()
    assert not error.retryable
    assert cause_key(str(error)) == "limit_reached"
    assert code in str(error) and "asking again in 60 min" in str(error)


def test_a_rate_limit_is_told_as_busy_even_when_the_server_says_odd_words() -> None:
    body = error_body("rate_limited", "unreachable after: connection closed, no API key")
    refusal = key_server_refusal(WHERE, 429, body, "2", True)
    assert refusal is not None and refusal.wait_s == 2
    assert cause_key(str(refusal.error())) == "busy"
    # a 429 without the key server's body (another provisioning server): busy too
    plain = key_server_refusal(WHERE, 429, b"<html>slow down</html>", None, False)
    assert plain is not None and plain.wait_s == DEFAULT_RETRY_AFTER_S
    assert cause_key(str(plain.error())) == "busy"


@pytest.mark.parametrize("code", ["revoked", "unknown_token"])
def test_a_removed_device_is_told_as_such_and_not_retried(code: str) -> None:
    refusal = key_server_refusal(WHERE, 401, error_body(code), None, True)
    assert refusal is not None and refusal.wait_s is None
    error = refusal.error()
    assert cause_key(str(error)) == "device_removed" and not error.retryable
    unsent = key_server_refusal(WHERE, 401, error_body(code), None, False)
    assert unsent is not None and "no device token was sent" in unsent.cause


def test_other_replies_are_not_key_server_refusals() -> None:
    assert key_server_refusal(WHERE, 401, b"denied", None, True) is None
    assert key_server_refusal(WHERE, 401, error_body("weird_code"), None, True) is None
    assert key_server_refusal(WHERE, 500, error_body("revoked"), None, True) is None
    assert key_server_refusal(WHERE, 200, b'{"value": "ek_1"}', None, True) is None


def test_a_refusal_does_not_show_a_token_the_server_echoes() -> None:
    REDACTOR.add(TOKEN)
    refusal = key_server_refusal(WHERE, 401, error_body("revoked", f"token {TOKEN}"), None, True)
    assert refusal is not None and TOKEN not in refusal.cause


# --- the usage URL ----------------------------------------------------------------------------


def test_the_usage_url_needs_a_token_and_follows_the_key_url(tmp_path: Path) -> None:
    assert derived_usage_url("https://keys.example.com/v1/key?shape=client_secret") == (
        "https://keys.example.com/v1/usage"
    )
    assert derived_usage_url("https://keys.example.com/realtime") is None
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    config = provisioned(tmp_path)
    assert usage_url(config, environ) is None  # no token: no reports to a third party
    (tmp_path / "provisioning.token").write_text(TOKEN)
    assert usage_url(config, environ) == "http://127.0.0.1:8787/usage"
    explicit = provisioned(tmp_path, usage_url="https://stats.example.com/u")
    assert usage_url(explicit, environ) == "https://stats.example.com/u"
    assert usage_url(provisioned(tmp_path, usage_url="off"), environ) is None


def test_a_wrong_usage_url_names_the_field(tmp_path: Path) -> None:
    from appliance.config import ConfigError

    with pytest.raises((ConfigError, ValueError), match="usage_url"):
        provisioned(tmp_path, usage_url="ftp://x")


# --- the tally and the report -----------------------------------------------------------------


SIM_USAGE = {
    "total_tokens": 60,
    "input_tokens": 20,
    "output_tokens": 40,
    "input_token_details": {"audio_tokens": 15, "text_tokens": 5, "cached_tokens": 3},
    "output_token_details": {"audio_tokens": 30, "text_tokens": 10},
}


def test_response_done_carries_its_usage() -> None:
    protocol = Protocol(DIALECTS["ga"], validate({}).realtime.config)
    frame = {"type": "response.done", "response": {"id": "r1", "status": "completed"}}
    frame["response"]["usage"] = SIM_USAGE
    (done,) = protocol.receive(json.dumps(frame))
    assert isinstance(done, ResponseDone)
    assert done.usage == TokenUsage(20, 40, 15, 5, 3, 30, 10)


@pytest.mark.parametrize(
    "usage",
    [None, "lots", [], {"input_tokens": True}, {"input_tokens": -1}, {"input_tokens": 2.5}],
)
def test_a_hostile_usage_counts_nothing(usage) -> None:
    parsed = TokenUsage.parse(usage)
    assert parsed is None or parsed == TokenUsage()


def test_a_count_over_the_limit_is_not_believed() -> None:
    assert TokenUsage.parse({"input_tokens": MAX_RESPONSE_TOKENS}).input_tokens == (
        MAX_RESPONSE_TOKENS
    )
    assert TokenUsage.parse({"input_tokens": MAX_RESPONSE_TOKENS + 1}).input_tokens == 0


def test_the_report_sums_every_response() -> None:
    tally = Tally()
    for _ in range(3):
        tally = tally.add(TokenUsage.parse(SIM_USAGE))
    tally = tally.add(None)  # a response.done without usage still counts as a response
    report = make_report(tally, 12.34567, "idle", 1_800_000_000.5, "id-1")
    assert report == {
        "report_id": "id-1",
        "session_seconds": 12.346,
        "stop_reason": "idle",
        "started_at": "2027-01-15T08:00:00.500Z",
        "usage": {
            "input_tokens": 60,
            "output_tokens": 120,
            "input_token_details": {"audio_tokens": 45, "text_tokens": 15, "cached_tokens": 9},
            "output_token_details": {"audio_tokens": 90, "text_tokens": 30},
        },
        "responses": 4,
    }
    assert len(make_report(Tally(), 1, "press", 0)["report_id"]) == 36  # a uuid4


# --- the queue --------------------------------------------------------------------------------


def report(n: int) -> dict:
    return make_report(Tally(), n, "press", 1_800_000_000, f"00000000-0000-4000-8000-{n:012d}")


def test_reports_are_kept_private_in_order_and_across_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "usage"
    queue = ReportQueue(folder)
    first, second = queue.put(report(1)), queue.put(report(2))
    assert queue.names() == [first, second]
    assert (os.stat(folder / first).st_mode & 0o777) == 0o600
    assert (os.stat(folder).st_mode & 0o777) == 0o700
    again = ReportQueue(folder)  # a restart
    assert again.names() == [first, second]
    assert again.read(first)["report_id"] == report(1)["report_id"]
    third = again.put(report(3))
    assert again.names() == [first, second, third]  # after the old ones, whatever the clock
    again.remove(first)
    assert ReportQueue(folder).names() == [second, third]


def test_the_queue_is_bounded_at_its_limit_dropping_the_oldest(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "usage"
    folder.mkdir()
    for n in range(1, MAX_REPORTS + 1):  # a full queue, as a long time offline leaves it
        name = f"{n:010d}-{report(n)['report_id']}.json"
        (folder / name).write_text(json.dumps(report(n)))
    queue = ReportQueue(folder)
    assert len(queue.names()) == MAX_REPORTS
    with caplog.at_level(logging.WARNING):
        newest = queue.put(report(MAX_REPORTS + 1))
    names = queue.names()
    assert len(names) == MAX_REPORTS and names[-1] == newest
    assert names[0].startswith("0000000002-")  # the oldest went
    assert "0000000001-" in caplog.text and "dropped" in caplog.text


def test_a_file_that_is_not_a_report_is_dropped(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "usage"
    queue = ReportQueue(folder)
    good = queue.put(report(1))
    bad = f"0000000009-{report(9)['report_id']}.json"
    (folder / bad).write_text("not json")
    huge = f"0000000010-{report(10)['report_id']}.json"
    (folder / huge).write_bytes(b" " * (usage_module.MAX_REPORT_BYTES + 1))
    (folder / "notes.txt").write_text("someone else's")
    assert queue.names() == [good, bad, huge]
    with caplog.at_level(logging.WARNING):
        assert queue.read(bad) is None and queue.read(huge) is None
    assert queue.names() == [good] and (folder / "notes.txt").exists()
    assert "not a usage report" in caplog.text


def test_without_a_writable_state_directory_reports_wait_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    said: list[str] = []
    queue = ReportQueue(blocker / "usage", warn=said.append)  # a folder under a file
    names = [queue.put(report(n)) for n in (1, 2)]
    assert queue.names() == names and queue.read(names[0])["report_id"] == report(1)["report_id"]
    assert len(said) == 1 and "in memory only" in said[0]
    queue.remove(names[0])
    assert queue.names() == names[1:]


def test_a_report_at_the_size_limit_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "usage"
    folder.mkdir()
    name = f"0000000001-{report(1)['report_id']}.json"
    text = json.dumps(report(1))
    (folder / name).write_text(text + " " * (usage_module.MAX_REPORT_BYTES - len(text)))
    assert (folder / name).stat().st_size == usage_module.MAX_REPORT_BYTES
    assert ReportQueue(folder).read(name) == report(1)


def test_failed_sends_back_off_up_to_a_bound() -> None:
    from appliance.realtime.reporter import INITIAL_BACKOFF_S, MAX_BACKOFF_S, UsageReporter

    reporter = UsageReporter(validate({}), Tally, ReportQueue(None), rand=lambda: 0.5)
    waits = [reporter._failed("r", "down") for _ in range(12)]
    assert waits[:3] == [INITIAL_BACKOFF_S, 2 * INITIAL_BACKOFF_S, 4 * INITIAL_BACKOFF_S]
    assert waits[-1] == MAX_BACKOFF_S and max(waits) == MAX_BACKOFF_S
    ceiling = UsageReporter(validate({}), Tally, ReportQueue(None), rand=lambda: 1.0)
    ceiling.failures = 10**6  # however long the server has been down
    assert ceiling._failed("r", "down") == MAX_BACKOFF_S
