"""Key sources: reply parsing, redaction of errors, key files."""

import os

import pytest

from appliance.config import validate
from appliance.realtime.keys import (
    KeySourceError,
    excerpt,
    parse_provisioned,
    read_api_key,
    safe_url,
)
from appliance.realtime.session import Memory, Session, SessionError
from appliance.redaction import Redactor


def test_a_key_that_cannot_be_had_is_a_session_failure_the_policy_retries_or_not():
    assert issubclass(KeySourceError, SessionError)
    session = Session(validate({}), Memory())
    assert session.failed(KeySourceError("provisioning URL: HTTP 503", retryable=True)).delay_s
    refused = session.failed(KeySourceError("provisioning URL: HTTP 403"))
    assert refused.message == "provisioning URL: HTTP 403"  # given up at once, said as is


@pytest.mark.parametrize(
    "body,expected",
    [
        (b"ek_plain_123\n", ("ek_plain_123", None)),
        (b'{"value": "ek_v"}', ("ek_v", "ga")),
        (b'{"client_secret": {"value": "ek_c", "expires_at": 1}}', ("ek_c", "beta")),
        (b'"ek_json_string"', ("ek_json_string", None)),
    ],
)
def test_provisioning_reply_shapes(body, expected):
    assert parse_provisioned(body) == expected


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>502 Bad Gateway</body></html>", b'{"key": "x"}', b"two words"]
)
def test_provisioning_garbage_is_an_error(body):
    with pytest.raises(ValueError):
        parse_provisioned(body)


def test_safe_url_drops_query_and_credentials():
    assert safe_url("https://user:pw@host:8443/p/k?token=abc") == "https://host:8443/p/k"


def test_redactor_scrubs_known_and_key_shaped_secrets():
    r = Redactor()
    r.add("device-token-xyz")
    text = "auth device-token-xyz key sk-abcdefghijk ek_123456 Authorization: Bearer abc.def"
    clean = r(text)
    for secret in ("device-token-xyz", "sk-abcdefghijk", "ek_123456", "abc.def"):
        assert secret not in clean
    assert "sk-***" in clean and "ek_***" in clean


def test_excerpt_is_short_and_redacted():
    text = excerpt(b'{"error": "bad key sk-verysecretvalue"}' + b"x" * 500)
    assert len(text) <= 120 and "verysecret" not in text


def test_key_file_permissions(tmp_path, caplog):
    key = tmp_path / "openai.key"
    key.write_text("sk-from-file-123456\n")
    os.chmod(key, 0o644)
    cfg = validate({"openai": {"key_file": str(key)}})
    assert read_api_key(cfg, environ={}) == "sk-from-file-123456"
    assert "chmod 600" in caplog.text
    strict = validate({"openai": {"key_file": str(key), "loose_key_file": "refuse"}})
    with pytest.raises(KeySourceError, match="readable by others"):
        read_api_key(strict, environ={})
    os.chmod(key, 0o600)
    assert read_api_key(strict, environ={}) == "sk-from-file-123456"


def test_systemd_credential(tmp_path):
    (tmp_path / "openai.key").write_text("sk-credential-7890")
    os.chmod(tmp_path / "openai.key", 0o400)
    cfg = validate({})
    assert (
        read_api_key(cfg, environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}) == "sk-credential-7890"
    )
    assert read_api_key(cfg, environ={}) is None


def test_excerpt_accepts_bytearray_bodies():
    # websockets hands handshake bodies over as bytearray
    assert excerpt(bytearray(b"ephemeral key expired")) == "ephemeral key expired"


def test_empty_systemd_credential_names_the_file_to_fill(tmp_path):
    (tmp_path / "openai.key").write_text("")
    with pytest.raises(KeySourceError, match=r"/etc/appliance/openai\.key"):
        read_api_key(validate({}), environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})


@pytest.mark.parametrize(
    "body",
    [
        b'{"client_secret": {"value": ""}}',
        b'{"value": "ek\\r\\nX-Injected: 1"}',
        b"null",
        b"<html></html>",
        b"[" * 100_000,
    ],
)
def test_unusable_keys_are_refused(body):
    with pytest.raises(ValueError):
        parse_provisioned(body)


def test_the_redactor_keeps_configured_secrets_and_only_the_recent_ephemeral_keys():
    from appliance.redaction import Redactor

    redactor = Redactor(ephemeral_kept=3)
    redactor.add("sk-configured-secret")
    for n in range(10):
        redactor.add_ephemeral(f"zz-session-key-{n:02d}")
    text = " ".join(f"zz-session-key-{n:02d}" for n in range(10)) + " sk-configured-secret"
    scrubbed = redactor(text)
    assert "sk-configured-secret" not in scrubbed
    assert all(f"zz-session-key-{n:02d}" not in scrubbed for n in (7, 8, 9))
    assert "zz-session-key-00" in scrubbed  # long expired: no longer scrubbed for
    assert len(redactor._ephemeral) == 3


def test_the_key_source_says_none_configured_when_there_is_none():
    from appliance.realtime.keys import key_source_description

    nothing = validate({})
    assert key_source_description(nothing, environ={}) == "none configured"
    minted = validate({"openai": {"key": "sk-test-abcdef123456"}})
    assert key_source_description(minted, environ={}) == "minted with the API key"
    # the systemd credential is an API key too
    assert key_source_description(nothing, environ={"CREDENTIALS_DIRECTORY": "/x"}) == (
        "minted with the API key"
    )
    static = validate({"realtime": {"ephemeral_key": "ek_static_123"}})
    assert key_source_description(static, environ={}) == "static ephemeral key"
