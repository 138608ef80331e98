"""The key server's pure parts and its SQL on a real SQLite file: configuration messages,
tokens, limits, usage reports, costs, migrations, the failed-token backoff."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from pathlib import Path

import pytest

from appliance.config.messages import ConfigError
from appliance.keyserver import config as cfg
from appliance.keyserver import devices, limits, page, tokens, usage
from appliance.keyserver.mint import UpstreamError, parse_reply, request_body
from appliance.keyserver.store import LATEST, SchemaMismatch, Store
from appliance.keyserver.web import SourceFailures

NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC).timestamp()


def parse(text: str, base: Path = Path("/srv/ks")) -> cfg.KeyServerConfig:
    return cfg.parse(text, base)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.problems


# ---- configuration ---------------------------------------------------------------------------


def test_defaults_put_the_database_beside_the_config() -> None:
    config = parse("")
    assert config.database.url == "sqlite:////srv/ks/keys.db"
    assert config.keyserver.listen == "127.0.0.1:8787"
    assert config.upstream.expires_after == 60
    assert parse('[database]\nurl = "sqlite:///data/k.db"').database.url == (
        "sqlite:////srv/ks/data/k.db"
    )


def test_the_sample_config_is_valid_and_lists_every_field() -> None:
    sample = Path(__file__).resolve().parents[2] / "assets" / "keyserver.sample.toml"
    text = sample.read_text()
    config = cfg.parse(text, sample.parent)
    assert config.session_for("default")["model"] == "gpt-realtime"
    for section in ("keyserver", "upstream", "database", "limits", "prices"):
        model = type(getattr(config, section))
        for name in model.model_fields:
            assert f"{name} =" in text, f"{section}.{name} is not in the sample"


def test_unknown_field_is_named_with_a_suggestion_and_its_line() -> None:
    found = problems_of("[limits]\nkeys_per_minute = 5\nsesions_per_day = 3\n")
    assert found == [
        "limits.sesions_per_day: unknown field; did you mean 'sessions_per_day'? [line 3]"
    ]


def test_bad_values_are_named() -> None:
    found = problems_of(
        '[keyserver]\nlisten = "8787"\ncors_origins = ["https://a.example/path"]\n'
        'tls_cert = "c.pem"\n[upstream]\napi = "v2"\nexpires_after = 5\n'
    )
    text = "\n".join(found)
    assert "keyserver.listen: '8787' is not HOST:PORT (e.g. 127.0.0.1:8787) (got '8787')" in text
    assert "keyserver.cors_origins" in text and "without a path" in text
    assert problems_of('[keyserver]\ntls_cert = "c.pem"\n') == [
        "keyserver: tls_cert and tls_key go together; set both or neither [line 1]"
    ]
    assert "upstream.api: 'v2' is not allowed; use one of 'ga' or 'beta'" in text
    assert "upstream.expires_after" in text and "greater than or equal to 10" in text


def test_group_session_goes_over_the_ga_defaults() -> None:
    config = parse('[groups.lobby.session]\ninstructions = "Hi"\nmodel = "m2"\n')
    assert config.session_for("lobby") == {"type": "realtime", "model": "m2", "instructions": "Hi"}
    beta = parse('[upstream]\napi = "beta"\n[groups.lobby.session]\nmodel = "m"\n')
    assert beta.session_for("lobby") == {"model": "m"}


def test_missing_files_and_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse('[upstream]\nkey_file = "nope.key"\n', tmp_path)
    assert cfg.problems(config) == [f"upstream.key_file: {tmp_path / 'nope.key'} does not exist"]
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError, match=r"LoadCredential=openai\.key"):
        cfg.read_api_key(parse("", tmp_path))
    (tmp_path / "openai.key").write_text("sk-x\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert cfg.read_api_key(parse("", tmp_path)) == "sk-x"


def test_page_missing_oversized_or_not_a_file_is_named(tmp_path: Path) -> None:
    assert parse("", tmp_path).keyserver.page is None  # off by default
    config = parse('[keyserver]\npage = "index.html"\n', tmp_path)
    assert cfg.problems(config) == [
        f'keyserver.page: {tmp_path / "index.html"} does not exist; give an HTML file or "builtin"'
    ]
    (tmp_path / "index.html").write_bytes(b"x" * (page.PAGE_LIMIT + 1))
    assert cfg.problems(config) == [
        f"keyserver.page: {tmp_path / 'index.html'} is larger than 1 MiB,"
        " the limit for the key server's page"
    ]
    (tmp_path / "index.html").write_bytes(b"x" * page.PAGE_LIMIT)  # at the limit: taken
    assert cfg.problems(config) == []
    config = parse(f'[keyserver]\npage = "{tmp_path}"\n', tmp_path)
    assert cfg.problems(config) == [
        f"keyserver.page: {tmp_path} is not a regular file (a directory)"
    ]
    assert cfg.problems(parse('[keyserver]\npage = "builtin"\n', tmp_path)) == []


def test_page_csp_allows_its_own_inline_scripts_and_deep_chat_only() -> None:
    import base64
    import hashlib

    html = '<script src="https://x.test/a.js"></script><script>go()</script>'
    csp = page.content_security_policy(html)
    digest = base64.b64encode(hashlib.sha256(b"go()").digest()).decode()
    rules = dict(rule.split(" ", 1) for rule in csp.split("; "))
    assert rules["script-src"] == f"'sha256-{digest}' {page.DEEP_CHAT_URL}"
    assert rules["default-src"] == "'none'" and rules["frame-ancestors"] == "'none'"
    assert "x.test" not in csp and "unsafe-inline" not in rules["script-src"]


def test_shipped_page_fetches_a_client_secret_with_the_stored_token() -> None:
    loaded = page.load(page.BUILTIN)
    html = loaded.body.decode()
    assert 'fetch("/key?shape=client_secret"' in html
    assert '"Bearer " + localStorage.getItem(STORE)' in html
    assert f'src="{page.DEEP_CHAT_URL}"' in html  # the pinned version the CSP allows
    assert "realtime: {fetchEphemeralKey}" in html
    assert not re.search(r"aks_[0-9a-f]{16}_|sk-[A-Za-z0-9]|ek_[A-Za-z0-9]", html)  # no secret
    assert loaded.headers["X-Content-Type-Options"] == "nosniff"
    assert "'sha256-" in loaded.headers["Content-Security-Policy"]


# ---- tokens ----------------------------------------------------------------------------------


def test_token_is_checked_against_its_hash_only() -> None:
    new = tokens.new_token()
    key_id, secret = tokens.split(new.token) or ("", "")
    assert key_id == new.key_id and secret not in new.token_hash
    assert tokens.matches(secret, new.token_hash)
    assert not tokens.matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), new.token_hash)
    assert tokens.split("aks_zz_" + "a" * 40) is None
    assert tokens.split(new.token + "x" * 200) is None
    assert tokens.bearer(f"Bearer {new.token}") == new.token
    assert tokens.bearer(f"Basic {new.token}") is None
    assert tokens.bearer("Bearer " + "x" * 400) is None


# ---- limits: pure ------------------------------------------------------------------------------


def test_days_are_utc_and_midnight_is_counted_down() -> None:
    assert limits.day_of(NOON) == "2026-03-01"
    assert limits.seconds_to_midnight(NOON) == 12 * 3600
    assert limits.seconds_to_midnight(NOON + 12 * 3600 - 0.5) == 1


def test_rate_wait() -> None:
    assert limits.rate_wait(1.0, 6) == 0
    assert limits.rate_wait(0.0, 6) == 10
    assert limits.rate_wait(0.5, 60) == 1
    assert limits.rate_wait(0.0, 0) == 60


def test_source_failures_make_an_address_wait_then_forget() -> None:
    failures = SourceFailures(limit=3, window=60.0, max_sources=2)
    for _ in range(3):
        assert failures.wait("a", 100.0) == 0
        failures.failed("a", 100.0)
    assert failures.wait("a", 100.0) == 60
    assert failures.wait("a", 159.5) == 1
    assert failures.wait("a", 160.0) == 0
    assert failures.wait("b", 100.0) == 0
    failures.failed("b", 100.0)
    failures.failed("c", 100.0)  # the oldest address ("a") is forgotten: bounded memory
    assert failures.wait("a", 100.0) == 0


# ---- store, limits and usage on a real SQLite file ---------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'keys.db'}", timeout=2.0)
    s.migrate()
    yield s
    s.close()


def test_migrations_are_versioned_and_checked(tmp_path: Path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'k.db'}")
    with pytest.raises(SchemaMismatch, match="run `appliance keyserver migrate"):
        s.check_schema()
    assert [m.version for m in s.migrate()] == list(range(1, LATEST + 1))
    assert s.migrate() == []
    s.check_schema()
    s.transact(lambda tx: tx.run("INSERT INTO schema_migrations VALUES (?, 'future', 0)", (99,)))
    with pytest.raises(SchemaMismatch, match="newer than this server"):
        s.check_schema()


def device_id(store: Store, name: str = "kiosk") -> int:
    devices.add(store, name, "default", burst=100)
    return next(d.id for d in devices.listing(store) if d.name == name)


def test_bucket_gives_the_burst_then_refills(store: Store) -> None:
    rules = cfg.Limits(keys_per_minute=6, burst=2, sessions_per_day=0, minutes_per_day=0)
    dev = device_id(store)
    start = time.time() + 1  # after the device's bucket was filled
    assert limits.take(store, dev, rules, start) is None
    assert limits.take(store, dev, rules, start) is None
    refused = limits.take(store, dev, rules, start)
    assert refused == limits.Refusal(limits.RATE_LIMITED, 10)
    assert limits.take(store, dev, rules, start + 5) == limits.Refusal(limits.RATE_LIMITED, 5)
    assert limits.take(store, dev, rules, start + 10) is None


def test_daily_sessions_and_a_refusal_takes_nothing(store: Store) -> None:
    rules = cfg.Limits(keys_per_minute=60, burst=5, sessions_per_day=2)
    dev = device_id(store)
    assert limits.take(store, dev, rules, NOON) is None
    assert limits.take(store, dev, rules, NOON) is None
    refused = limits.take(store, dev, rules, NOON)
    assert refused is not None and refused.code == limits.DAILY_SESSIONS
    assert refused.retry_after == 12 * 3600
    # the refused request took no key from the bucket (rolled back): 3 of 5 are left
    bucket = store.transact(lambda tx: tx.one("SELECT bucket FROM devices WHERE id = ?", (dev,)))
    assert bucket is not None and bucket[0] == pytest.approx(3.0)
    assert limits.take(store, dev, rules, NOON + 86400) is None  # a new day


def report(seconds: float = 30.0, tokens_in: int = 100, tokens_out: int = 50, **kw) -> bytes:
    import json

    body = {
        "report_id": str(uuid.uuid4()),
        "session_seconds": seconds,
        "stop_reason": "idle",
        "started_at": "2026-03-01T11:00:00Z",
        "usage": {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "input_token_details": {"audio_tokens": 80, "text_tokens": 20, "cached_tokens": 10},
            "output_token_details": {"audio_tokens": 40, "text_tokens": 10},
        },
        "responses": 2,
    }
    body.update(kw)
    return json.dumps(body).encode()


def test_minutes_tokens_and_fleet_budgets(store: Store) -> None:
    dev, other = device_id(store, "a"), device_id(store, "b")
    rules = cfg.Limits(keys_per_minute=0, minutes_per_day=1, sessions_per_day=0)
    usage.record(store, dev, usage.parse_report(report(seconds=59.0), NOON), NOON)
    assert limits.take(store, dev, rules, NOON) is None
    usage.record(store, dev, usage.parse_report(report(seconds=1.0), NOON), NOON)
    assert limits.take(store, dev, rules, NOON).code == limits.DAILY_MINUTES
    rules = cfg.Limits(keys_per_minute=0, minutes_per_day=0, tokens_per_day=150)
    assert limits.take(store, other, rules, NOON) is None
    usage.record(store, other, usage.parse_report(report(), NOON), NOON)
    assert limits.take(store, other, rules, NOON).code == limits.DAILY_TOKENS
    tokens_cap = cfg.Limits(keys_per_minute=0, minutes_per_day=0, fleet_tokens_per_day=600)
    assert limits.take(store, other, tokens_cap, NOON) is None  # the fleet used 3 x 150
    usage.record(store, dev, usage.parse_report(report(), NOON), NOON)
    assert limits.take(store, other, tokens_cap, NOON).code == limits.FLEET_CAP
    fleet = cfg.Limits(keys_per_minute=0, minutes_per_day=0, fleet_sessions_per_day=4)
    third = device_id(store, "c")
    codes = [limits.take(store, third, fleet, NOON) for _ in range(4)]
    # the fleet's day counts only keys taken with a fleet cap on: 1 above, 3 here
    assert [c.code if c else None for c in codes] == [None, None, None, limits.FLEET_CAP]


def test_giving_back_returns_the_session(store: Store) -> None:
    rules = cfg.Limits(keys_per_minute=0, sessions_per_day=1, fleet_sessions_per_day=5)
    dev = device_id(store)
    assert limits.take(store, dev, rules, NOON) is None
    store.transact(lambda tx: limits.give_back(tx, dev, rules, NOON))
    assert limits.take(store, dev, rules, NOON) is None


def test_reports_per_day_are_bounded(store: Store) -> None:
    dev = device_id(store)
    for _ in range(3):
        assert usage.record(store, dev, usage.parse_report(report(), NOON), NOON, per_day=3)
    with pytest.raises(usage.TooManyReports):
        usage.record(store, dev, usage.parse_report(report(), NOON), NOON, per_day=3)
    (line,) = usage.summary(store, cfg.Prices())
    assert line.reports == 3  # the refused report was not kept
    later = report(started_at="2026-03-02T01:00:00Z")  # another day has its own count
    assert usage.record(store, dev, usage.parse_report(later, NOON + 86400), NOON, per_day=3)


def test_a_report_is_stored_once(store: Store) -> None:
    dev = device_id(store)
    body = report()
    assert usage.record(store, dev, usage.parse_report(body, NOON), NOON) is True
    assert usage.record(store, dev, usage.parse_report(body, NOON), NOON) is False
    (line,) = usage.summary(store, cfg.Prices())
    assert (line.reports, line.seconds, line.input_audio) == (1, 30.0, 80)
    assert line.stops == {"idle": 1}


def test_reports_at_the_limits_are_taken() -> None:
    body = report(
        session_seconds=usage.MAX_SESSION_SECONDS,
        tokens_in=usage.MAX_TOKENS,
        responses=usage.MAX_RESPONSES,
        started_at="2026-01-30T12:00:00Z",
    )
    parsed = usage.parse_report(body, NOON)
    assert (parsed.session_seconds, parsed.usage.input_tokens) == (86400.0, 10**9)
    assert usage.parse_report(report(started_at="2026-03-02T12:00:00Z"), NOON)  # a day ahead


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{", "not JSON"),
        (b"[]", "JSON object"),
        (report(report_id="nope"), "report_id: must be a UUID"),
        (report(stop_reason="bored"), "stop_reason"),
        (report(started_at="2026-03-01T11:00:00"), "time zone"),
        (report(started_at="2026-03-05T11:00:00Z"), "in the future"),
        (report(started_at="2025-03-01T11:00:00Z"), "older than 30 days"),
        (report(session_seconds=-1), "session_seconds"),
        (report(session_seconds=86401), "session_seconds"),
        (report(responses=True), "responses"),
        (report(tokens_in=10**9 + 1), "usage.input_tokens"),
        (report(tokens_in="5"), "usage.input_tokens"),
    ],
)
def test_bad_reports_are_named(body: bytes, says: str) -> None:
    with pytest.raises(usage.BadReport, match=says):
        usage.parse_report(body, NOON)


def test_cost_uses_the_price_table() -> None:
    line = usage.Line(
        "d",
        "k",
        1,
        1,
        60.0,
        input_audio=1_000_000,
        input_text=1_000_000,
        input_cached=500_000,
        output_audio=1_000_000,
        output_text=0,
    )
    prices = cfg.Prices(audio_input=32, text_input=4, cached_input=0.4, audio_output=64)
    assert usage.cost(line, prices) == pytest.approx(0.5 * 32 + 1 * 4 + 0.5 * 0.4 + 64)
    table = usage.format_table([line], "EUR")
    assert "cost EUR" in table and "total" in table


# ---- devices ---------------------------------------------------------------------------------


def test_revoke_and_rotate(store: Store) -> None:
    token = devices.add(store, "kiosk", "default", burst=3)
    assert devices.authenticate(store, token)[0].name == "kiosk"
    with pytest.raises(devices.DeviceError, match="device rotate kiosk"):
        devices.add(store, "kiosk", "default", burst=3)
    with pytest.raises(devices.DeviceError, match="letters, digits"):
        devices.add(store, "a b", "default", burst=3)
    devices.revoke(store, "kiosk")
    assert devices.authenticate(store, token) == (None, devices.REVOKED)
    fresh = devices.rotate(store, "kiosk")
    assert devices.authenticate(store, token) == (None, devices.UNKNOWN)
    assert devices.authenticate(store, fresh)[0].name == "kiosk"
    assert devices.authenticate(store, "aks_0123456789abcdef_" + "x" * 43) == (
        None,
        "unknown_token",
    )


# ---- minting ---------------------------------------------------------------------------------


def test_mint_request_and_reply_shapes() -> None:
    up = cfg.Upstream(expires_after=90)
    path, body = request_body(up, {"type": "realtime", "model": "m"})
    assert path == "/v1/realtime/client_secrets"
    assert body == {
        "expires_after": {"anchor": "created_at", "seconds": 90},
        "session": {"type": "realtime", "model": "m"},
    }
    path, body = request_body(cfg.Upstream(api="beta"), {"model": "m"})
    assert (
        path == "/v1/realtime/sessions" and body["client_secret"]["expires_after"]["seconds"] == 60
    )
    assert parse_reply({"value": "ek_1", "expires_at": 5}).value == "ek_1"
    assert parse_reply({"client_secret": {"value": "ek_2", "expires_at": 6}}).expires_at == 6
    with pytest.raises(UpstreamError, match="holds no key"):
        parse_reply({"status": "ok"})


# ---- the extra -------------------------------------------------------------------------------


def test_the_kiosk_imports_nothing_of_the_key_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, appliance.cli, appliance.app; "
        "print([m for m in sys.modules if m.split('.')[0] == 'psycopg'"
        " or m.startswith('appliance.keyserver')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_serve_without_the_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from appliance.keyserver import cli

    (tmp_path / "k.toml").write_text("")
    for name in [m for m in sys.modules if m.startswith("appliance.keyserver.")]:
        if name.split(".")[-1] in ("serve", "web", "metrics"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    assert cli.main(["serve", "--config", str(tmp_path / "k.toml")]) == 1
    assert "pip install 'appliance[server]'" in capsys.readouterr().err
