"""The key server as a real process on 127.0.0.1, SQLite, with the simulator as the upstream:
the CLI, minting, limits, usage reports, and every fault of bad input and broken neighbours."""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from appliance.rig.keyserver import (
    SIM_API_KEY,
    KeyServerProcess,
    burst,
    cli,
    enrol,
    request,
    write_config,
)
from appliance.rig.process import wait_until
from appliance.rig.sim import Sim

CLIENT_SECRETS = "/v1/realtime/client_secrets"


def setup(tmp_path: Path, sim: Sim, servers: list, **sections: dict[str, Any]):
    """A migrated config, one enrolled device, a running server: (server, token, config)."""
    config = write_config(tmp_path, sim.url, sections=sections)
    assert cli(config, "migrate").returncode == 0
    token = enrol(config, "kiosk1")
    server = KeyServerProcess(config)
    servers.append(server)
    return server, token, config


def report_body(**over: Any) -> dict[str, Any]:
    body = {
        "report_id": str(uuid.uuid4()),
        "session_seconds": 42.5,
        "stop_reason": "idle",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "usage": {
            "input_tokens": 1200,
            "output_tokens": 800,
            "input_token_details": {"audio_tokens": 1000, "text_tokens": 200, "cached_tokens": 100},
            "output_token_details": {"audio_tokens": 700, "text_tokens": 100},
        },
        "responses": 3,
    }
    body.update(over)
    return body


# ---- the CLI -----------------------------------------------------------------------------------


def test_cli_enrols_lists_rotates_and_revokes(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, config = setup(tmp_path, sim, servers)
    add = cli(config, "device", "add", "kiosk2", "--group", "default")
    assert add.returncode == 0
    token2 = add.stdout.strip().splitlines()[-1]
    assert token2.startswith("aks_") and token2 != token
    db = sqlite3.connect(tmp_path / "keys.db")
    stored = [r[0] for r in db.execute("SELECT token_hash FROM devices")]
    assert token2 not in json.dumps(stored) and token2.split("_")[-1] not in json.dumps(stored)
    listing = cli(config, "device", "list", "--json")
    assert [d["name"] for d in json.loads(listing.stdout)] == ["kiosk1", "kiosk2"]
    assert token2 not in listing.stdout

    assert cli(config, "device", "add", "kiosk2").returncode == 1  # exists
    unknown_group = cli(config, "device", "add", "kiosk3", "--group", "lobby")
    assert unknown_group.returncode == 2 and "[groups.lobby]" in unknown_group.stderr

    assert server.key(token2).status == 200
    assert cli(config, "device", "revoke", "kiosk2").returncode == 0
    revoked = server.key(token2)
    assert (revoked.status, revoked.code) == (401, "revoked")
    assert "removed from the key server" in revoked.json["error"]["message"]

    rotated = cli(config, "device", "rotate", "kiosk2")
    new = rotated.stdout.strip().splitlines()[-1]
    assert server.key(token2).code == "unknown_token"
    assert server.key(new).status == 200
    assert cli(config, "device", "revoke", "nobody").returncode == 1


def test_config_validate_names_the_field(tmp_path: Path) -> None:
    good = write_config(tmp_path, "http://127.0.0.1:9")
    result = cli(good, "config", "validate")  # --config is ignored: validate takes the file
    assert result.returncode == 2  # no FILE given
    ok = subprocess.run(
        [*_appliance(), "keyserver", "config", "validate", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and ok.stdout.strip() == f"{good}: valid"
    bad = tmp_path / "bad.toml"
    bad.write_text('[limits]\nburst = "many"\n[upstream]\nexpires = 60\n')
    result = subprocess.run(
        [*_appliance(), "keyserver", "config", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}: 2 problems\n")
    assert "limits.burst: Input should be a valid integer" in result.stderr
    assert "(got 'many') [line 2]" in result.stderr
    assert (
        "upstream.expires: unknown field; did you mean 'expires_after'? [line 4]" in result.stderr
    )


def _appliance() -> list[str]:
    import sys

    return [sys.executable, "-m", "appliance"]


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(RuntimeError, match="did not start") as caught:
        KeyServerProcess(config)
    assert "run `appliance keyserver migrate --config FILE`" in str(caught.value)
    assert cli(config, "device", "list").returncode == 1


# ---- minting -------------------------------------------------------------------------------------


def test_key_carries_the_groups_session_and_both_shapes(
    tmp_path: Path, sim: Sim, servers: list
) -> None:
    server, token, _ = setup(
        tmp_path, sim, servers, groups={"default": {"session": {"instructions": "Museum guide."}}}
    )
    flat = server.key(token)
    assert flat.status == 200 and set(flat.json) == {"value", "expires_at"}
    assert flat.json["expires_at"] - time.time() == pytest.approx(60, abs=5)
    assert flat.headers["Cache-Control"] == "no-store"
    nested = server.key(token, shape="client_secret")
    assert set(nested.json["client_secret"]) == {"value", "expires_at"}
    assert server.key(token, shape="text").status == 400
    # the minted key opens a session with the group's pinned instructions
    with connect(
        sim.url.replace("http", "ws") + "/v1/realtime?model=gpt-realtime",
        additional_headers={"Authorization": f"Bearer {flat.json['value']}"},
        open_timeout=10,
    ) as ws:
        created = json.loads(ws.recv(timeout=10))
    assert created["type"] == "session.created"
    assert created["session"]["instructions"] == "Museum guide."


def test_beta_upstream(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(
        tmp_path,
        sim,
        servers,
        upstream={"api": "beta"},
        groups={"default": {"session": {"model": "gpt-4o-realtime-preview", "voice": "verse"}}},
    )
    reply = server.key(token)
    assert reply.status == 200 and reply.json["value"].startswith("ek_")
    assert {"method": "POST", "path": "/v1/realtime/sessions", "status": 200} in sim.log()["http"]


# ---- limits --------------------------------------------------------------------------------------


def test_rate_limit_and_daily_budget_refusals(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, config = setup(
        tmp_path, sim, servers, limits={"keys_per_minute": 1, "burst": 2, "sessions_per_day": 100}
    )
    assert [server.key(token).status for _ in range(2)] == [200, 200]
    refused = server.key(token)
    assert (refused.status, refused.code) == (429, "rate_limited")
    assert int(refused.headers["Retry-After"]) == 60
    assert refused.json["error"]["message"]

    # minutes: a usage report uses up the day's minutes; the next key is refused till midnight
    token2 = enrol(config, "kiosk2")
    (tmp_path / "keyserver.toml").write_text(
        (tmp_path / "keyserver.toml")
        .read_text()
        .replace("sessions_per_day = 100", "sessions_per_day = 100\nminutes_per_day = 1")
    )
    server2 = KeyServerProcess(config)
    servers.append(server2)
    assert server2.key(token2).status == 200
    stored = request(f"{server2.url}/usage", token=token2, body=report_body(session_seconds=60.0))
    assert stored.json == {"ok": True, "duplicate": False}
    daily = server2.key(token2)
    assert (daily.status, daily.code) == (429, "daily_minutes")
    assert 0 < int(daily.headers["Retry-After"]) <= 86400
    assert "back tomorrow" in daily.json["error"]["message"]


def test_daily_sessions_hold_under_a_burst(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, config = setup(
        tmp_path,
        sim,
        servers,
        limits={"keys_per_minute": 0, "sessions_per_day": 7, "fleet_sessions_per_day": 10},
    )
    other = enrol(config, "kiosk2")
    results = burst([(f"{server.url}/key", token)] * 30)
    assert sorted(r[0] for r in results).count(200) == 7
    assert {r[1] for r in results if r[0] != 200} == {"daily_sessions"}
    fleet = burst([(f"{server.url}/key", other)] * 10)
    assert [r[0] for r in fleet].count(200) == 3  # 10 for the fleet, 7 already taken
    assert {r[1] for r in fleet if r[0] != 200} == {"fleet_cap"}
    assert sim.state()["keys_issued"] == 10


# ---- usage ---------------------------------------------------------------------------------------


def test_usage_reports_are_idempotent_and_costed(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, config = setup(tmp_path, sim, servers)
    assert server.key(token).status == 200
    body = report_body()
    first = request(f"{server.url}/usage", token=token, body=body)
    again = request(f"{server.url}/v1/usage", token=token, body=body)
    assert first.json == {"ok": True, "duplicate": False}
    assert again.json == {"ok": True, "duplicate": True}
    table = cli(config, "usage", "--device", "kiosk1", "--json")
    (day,) = json.loads(table.stdout)["days"]
    assert (day["sessions"], day["reports"], day["seconds"]) == (1, 1, 42.5)
    # 900 uncached audio in at 32/M, 200 text in at 4/M, 100 cached at 0.4/M, 700 + 100 out
    expected = (900 * 32 + 200 * 4 + 100 * 0.4 + 700 * 64 + 100 * 16) / 1e6
    assert day["cost"] == pytest.approx(expected)
    text = cli(config, "usage", "--day", day["day"]).stdout
    assert "kiosk1" in text and f"{expected:.4f}" in text
    bad_day = cli(config, "usage", "--day", "yesterday")
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr


# ---- faults --------------------------------------------------------------------------------------


def test_bad_bodies(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(
        tmp_path, sim, servers, keyserver={"max_body_bytes": 4096, "body_timeout": 1.0}
    )
    url = f"{server.url}/usage"
    malformed = request(url, token=token, body=b"{not json")
    assert (malformed.status, malformed.code) == (400, "bad_report")
    missing = request(url, token=token, body={"report_id": str(uuid.uuid4())})
    assert missing.status == 400 and "session_seconds" in missing.json["error"]["message"]
    at_limit = report_body(pad="x" * 10)
    raw = json.dumps(at_limit).encode()
    at_limit["pad"] = "x" * (10 + 4096 - len(raw))
    assert len(json.dumps(at_limit)) == 4096
    assert request(url, token=token, body=at_limit).status == 200
    at_limit["pad"] += "x"
    huge = request(url, token=token, body=at_limit)
    assert (huge.status, huge.code) == (413, "body_too_large")

    # a body that trickles: 408 after body_timeout, and the server goes on serving
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        started = time.monotonic()
        reply = sock.recv(4096).decode()
        assert time.monotonic() - started < 5
    assert reply.startswith("HTTP/1.1 408") and "body_timeout" in reply
    assert server.key(token).status == 200


def test_wrong_tokens_back_off_per_source(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(tmp_path, sim, servers, keyserver={"bad_token_limit": 3})
    codes = [server.key(t).code for t in ("nonsense", None, "aks_0123456789abcdef_" + "x" * 43)]
    assert codes == ["unknown_token"] * 3
    blocked = server.key(token)  # even a good token waits: the address is backing off
    assert (blocked.status, blocked.code) == (429, "rate_limited")
    assert 50 <= int(blocked.headers["Retry-After"]) <= 60
    forwarded = server.key(token, headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status == 429  # the header counts only from a trusted proxy


def test_upstream_down_slow_or_failing(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(
        tmp_path,
        sim,
        servers,
        upstream={"timeout": 1.0},
        limits={"keys_per_minute": 0, "sessions_per_day": 1},
    )
    sim.script({"fault": "http", "path": CLIENT_SECRETS, "status": 500, "count": 1})
    failed = server.key(token)
    assert (failed.status, failed.code) == (502, "upstream_error")
    sim.script({"fault": "slow", "path": CLIENT_SECRETS, "seconds": 3, "count": 1})
    started = time.monotonic()
    slow = server.key(token)
    assert (slow.status, slow.code) == (504, "upstream_timeout")
    assert time.monotonic() - started < 2.5
    sim.script({"fault": "garbage", "path": CLIENT_SECRETS, "count": 1})
    assert server.key(token).status == 502
    # none of the failures spent the day's only session
    assert server.key(token).status == 200
    sim.stop()
    down = server.key(token)
    assert (down.status, down.code) in {(502, "upstream_error"), (429, "daily_sessions")}
    assert "sk-sim-local" not in "".join(server.output)


def test_database_gone_for_a_moment(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(tmp_path, sim, servers, database={"timeout": 0.5})
    assert server.key(token).status == 200
    holder = sqlite3.connect(tmp_path / "keys.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        busy = server.key(token)
        assert (busy.status, busy.code) == (503, "database_unavailable")
        assert busy.headers["Retry-After"] == "5"
        assert request(f"{server.url}/healthz", method="GET").status == 503
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert server.key(token).status == 200  # no restart
    assert request(f"{server.url}/healthz", method="GET").json == {"ok": True, "database": "ok"}


def test_graceful_stop_finishes_requests_in_flight(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(tmp_path, sim, servers)
    sim.script({"fault": "slow", "path": CLIENT_SECRETS, "seconds": 2, "count": 1})
    replies: list[Any] = []
    thread = threading.Thread(target=lambda: replies.append(server.key(token)))
    thread.start()

    def in_flight() -> bool:
        metrics = request(f"{server.url}/metrics", method="GET").raw.decode()
        line = next(
            ln for ln in metrics.splitlines() if ln.startswith("appliance_keyserver_requests_in")
        )
        return float(line.split()[-1]) >= 2  # the key request and this one

    wait_until(in_flight, 10, "the key request to be in flight")
    server.proc.terminate()
    thread.join(15)
    assert replies and replies[0].status == 200
    assert server.proc.wait(15) == 0


# ---- operating it --------------------------------------------------------------------------------


def test_metrics_access_log_and_no_secrets(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(tmp_path, sim, servers)
    key = server.key(token).json["value"]
    server.key("aks_0123456789abcdef_" + "y" * 43)
    request(f"{server.url}/usage", token=token, body=report_body())
    metrics = request(f"{server.url}/metrics", method="GET").raw.decode()
    for line in (
        'appliance_keyserver_keys_minted_total{group="default"} 1.0',
        'appliance_keyserver_refusals_total{reason="unknown_token"} 1.0',
        'appliance_keyserver_usage_reports_total{result="stored"} 1.0',
        'appliance_keyserver_usage_tokens_total{kind="output_audio"} 700.0',
        "appliance_keyserver_upstream_seconds_count 1.0",
    ):
        assert line in metrics
    names = {ln.split("{")[0].split()[0] for ln in metrics.splitlines() if ln[:1] not in "#"}
    assert names and all(n.startswith("appliance_keyserver_") for n in names), names
    wait_until(lambda: len(server.access_log()) >= 4, 10, "the access log")
    entries = server.access_log()
    assert {"method": "POST", "path": "/key", "status": 200, "device": "kiosk1"}.items() <= (
        entries[0].items()
    )
    assert entries[1]["code"] == "unknown_token"
    everything = "".join(server.output)
    for secret in (token, token.split("_")[-1], key, SIM_API_KEY):
        assert secret not in everything


def test_cors_allow_list(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(
        tmp_path, sim, servers, keyserver={"cors_origins": ["https://kiosk.example.org"]}
    )
    allowed = request(
        f"{server.url}/key",
        method="OPTIONS",
        headers={"Origin": "https://kiosk.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://kiosk.example.org"
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = request(f"{server.url}/key", method="OPTIONS", headers={"Origin": "https://evil.test"})
    assert other.status == 403
    reply = server.key(token, headers={"Origin": "https://kiosk.example.org"})
    assert reply.headers["Access-Control-Allow-Origin"] == "https://kiosk.example.org"
    assert (
        "Access-Control-Allow-Origin"
        not in server.key(token, headers={"Origin": "https://evil.test"}).headers
    )


def test_page_is_served_alone_with_its_headers(tmp_path: Path, sim: Sim, servers: list) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hello</p><script>go()</script>")
    (tmp_path / "site" / "secret.txt").write_text("not served")
    server, token, _ = setup(tmp_path, sim, servers, keyserver={"page": "site/index.html"})
    reply = request(f"{server.url}/", method="GET")
    assert reply.status == 200 and reply.raw == b"<p>hello</p><script>go()</script>"
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    csp = reply.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; script-src 'sha256-")
    for path in ("/secret.txt", "/site/secret.txt", "/index.html", "/..%2fopenai.key"):
        assert request(f"{server.url}{path}", method="GET").status == 404, path
    (tmp_path / "site" / "index.html").write_text("changed")  # read once, at start
    assert request(f"{server.url}/", method="GET").raw.startswith(b"<p>hello</p>")
    assert server.key(token).status == 200


def test_no_page_unless_configured(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, _, _ = setup(tmp_path, sim, servers)
    assert request(f"{server.url}/", method="GET").status == 404


def test_config_validate_names_a_missing_page(tmp_path: Path) -> None:
    page = {"keyserver": {"page": "no.html"}}
    config = write_config(tmp_path, "http://127.0.0.1:9", sections=page)
    result = subprocess.run(
        [*_appliance(), "keyserver", "config", "validate", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"keyserver.page: {tmp_path / 'no.html'} does not exist" in result.stderr


def test_tls_from_certificate_files(tmp_path: Path, sim: Sim, servers: list) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    server, token, _ = setup(
        tmp_path, sim, servers, keyserver={"tls_cert": "cert.pem", "tls_key": "key.pem"}
    )
    assert server.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(cert))
    import urllib.request

    req = urllib.request.Request(
        f"{server.url}/key", method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, context=context, timeout=10) as resp:
        assert json.loads(resp.read())["value"].startswith("ek_")


def test_upstream_reply_size_limit(tmp_path: Path, sim: Sim, servers: list) -> None:
    from appliance.keyserver.mint import MAX_REPLY_BYTES

    server, token, _ = setup(tmp_path, sim, servers, limits={"keys_per_minute": 0})
    head = '{"value": "ek_big", "expires_at": 1, "pad": "'
    at_limit = head + "x" * (MAX_REPLY_BYTES - len(head) - 2) + '"}'
    assert len(at_limit) == MAX_REPLY_BYTES
    sim.script({"fault": "http", "path": CLIENT_SECRETS, "status": 200, "body": at_limit})
    assert server.key(token).json == {"value": "ek_big", "expires_at": 1}
    over = at_limit[:-2] + 'x"}'
    sim.script({"fault": "http", "path": CLIENT_SECRETS, "status": 200, "body": over})
    refused = server.key(token)
    assert (refused.status, refused.code) == (502, "upstream_error")
    assert "too large" in refused.json["error"]["message"]


def test_backoff_counts_per_client_behind_a_trusted_proxy(
    tmp_path: Path, sim: Sim, servers: list
) -> None:
    server, token, _ = setup(
        tmp_path, sim, servers, keyserver={"bad_token_limit": 2, "trusted_proxies": ["127.0.0.1"]}
    )
    attacker = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}  # the proxy adds the last one
    assert [server.key("wrong", headers=attacker).code for _ in range(2)] == ["unknown_token"] * 2
    assert server.key(token, headers=attacker).status == 429
    assert server.key(token, headers={"X-Forwarded-For": "203.0.113.10"}).status == 200
    assert server.key(token).status == 200  # the proxy itself is not blocked


def test_usage_reports_per_day_are_bounded(tmp_path: Path, sim: Sim, servers: list) -> None:
    server, token, _ = setup(tmp_path, sim, servers, limits={"reports_per_day": 1})
    first = report_body()
    assert request(f"{server.url}/usage", token=token, body=first).json["duplicate"] is False
    refused = request(f"{server.url}/usage", token=token, body=report_body())
    assert (refused.status, refused.code) == (429, "rate_limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 86400
    replay = request(f"{server.url}/usage", token=token, body=first)
    assert replay.json == {"ok": True, "duplicate": True}
