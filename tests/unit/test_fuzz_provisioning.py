"""Fuzzing provisioning replies: arbitrary bytes through
:func:`appliance.realtime.keys.parse_provisioned`.

The only allowed outcomes are a usable key (a non-empty string without whitespace or control
characters: it goes into an ``Authorization`` header) or a :class:`ValueError`, whose message
the worker shows; never any other exception.
"""

from __future__ import annotations

import json
import string
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from appliance.realtime.keys import NO_KEY, parse_provisioned

FUZZ = settings(max_examples=300, deadline=None)

# Real ephemeral keys look like ``ek_...``; a bare number is JSON, not a plain-text key.
TOKEN = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.~+/=", min_size=1, max_size=80
).map(lambda t: "ek_" + t)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=14), inner, max_size=3)
    ),
    max_leaves=10,
)


def _shaped(value: object) -> st.SearchStrategy[bytes]:
    """``value`` in each reply shape a provisioning server may use."""
    return st.sampled_from(
        [
            json.dumps({"value": value}),
            json.dumps({"client_secret": {"value": value}}),
            json.dumps({"client_secret": value}),
            json.dumps(value),
            str(value),
        ]
    ).map(lambda text: text.encode("utf-8", "surrogatepass"))


replies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.flatmap(_shaped),
    st.dictionaries(
        st.sampled_from(["value", "client_secret", "expires_at", "session"]), json_values
    ).map(lambda d: json.dumps(d).encode()),
)


def _outcome(body: bytes) -> tuple[str, str | None] | ValueError:
    try:
        return parse_provisioned(body)
    except ValueError as exc:
        return exc
    # any other exception propagates and fails the test


def _usable(key: str) -> bool:
    return bool(key) and not any(
        ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")
        for ch in key
    )


@FUZZ
@given(body=replies)
def test_only_a_key_or_value_error(body: bytes) -> None:
    outcome = _outcome(body)
    if isinstance(outcome, ValueError):
        assert str(outcome), "the error has a message to show"
        return
    key, dialect = outcome
    # (that the key is also usable is test_a_returned_key_is_usable_in_a_header)
    assert isinstance(key, str)
    assert dialect in (None, "ga", "beta")


@FUZZ
@given(key=TOKEN, shape=st.sampled_from(["text", "json_string", "value", "client_secret"]))
def test_well_formed_replies_give_the_key_and_the_dialect(key: str, shape: str) -> None:
    body, dialect = {
        "text": (key, None),
        "json_string": (json.dumps(key), None),
        "value": (json.dumps({"value": key, "expires_at": 1}), "ga"),
        "client_secret": (json.dumps({"client_secret": {"value": key}, "id": "s"}), "beta"),
    }[shape]
    padded = f"\n  {body}\r\n".encode()
    assert parse_provisioned(padded) == (key, dialect)


@FUZZ
@given(
    body=st.one_of(
        st.just(b""),
        st.text(alphabet=" \t\r\n", max_size=5).map(str.encode),
        st.sampled_from([b"<html>Bad gateway</html>", b"{}", b"[]", b"{"]),
        # null: see test_a_null_reply_is_not_the_key_null
        json_values.filter(lambda v: not isinstance(v, str) and v is not None).map(
            lambda v: json.dumps(v).encode()
        ),
    )
)
def test_replies_without_a_key_are_a_value_error_naming_the_shapes(body: bytes) -> None:
    outcome = _outcome(body)
    if isinstance(outcome, tuple):  # a bare JSON number is not a key, nor is a dict
        pytest.fail(f"{body!r} gave a key {outcome!r}")
    assert str(outcome) == NO_KEY


@FUZZ
@given(body=replies)
@example(body=b'{"client_secret": {"value": ""}}')
@example(body=b'{"client_secret": {"value": "   "}}')
@example(body=b'{"value": "ek_1 ek_2"}')
@example(body=b'{"value": "ek_1\\r\\nX-Injected: 1"}')
@example(body=b"ek_1\rX")
@example(body=b"ek_1\x00")
@example(body="ek_1\u00a0x".encode())
def test_a_returned_key_is_usable_in_a_header(body: bytes) -> None:
    outcome = _outcome(body)
    if isinstance(outcome, tuple):
        assert _usable(outcome[0]), f"unusable key {outcome[0]!r} from {body!r}"


@pytest.mark.parametrize("body", [b"null", b" null\n"])
def test_a_null_reply_is_not_the_key_null(body: bytes) -> None:
    assert isinstance(_outcome(body), ValueError)


@settings(max_examples=3, deadline=None)
@given(depth=st.integers(min_value=50_000, max_value=150_000))
@example(depth=100_000)
def test_deeply_nested_replies_are_a_value_error(depth: int) -> None:
    assert isinstance(_outcome(b"[" * depth), ValueError)
