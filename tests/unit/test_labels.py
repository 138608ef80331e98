"""The labels table: every shipped language complete, the same fields everywhere, overrides
validated (an unknown key or field is named, with the fix), failures told by their kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance import config as c
from appliance import labels
from appliance.config import validate
from appliance.display import setup as setup_facts
from appliance.labels import EN, KEYS, SHIPPED, Labels, cause_key, fields, setup_reason


def problems(data: dict) -> str:
    with pytest.raises(c.ConfigError) as error:
        validate(data)
    return str(error.value)


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_every_shipped_language_has_every_key(language: str) -> None:
    table = SHIPPED[language]
    assert sorted(set(KEYS) - set(table)) == [], f"{language} lacks these keys"
    assert sorted(set(table) - set(KEYS)) == [], f"{language} has keys English has not"
    assert all(text.strip() for text in table.values())


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_every_language_uses_the_fields_of_english(language: str) -> None:
    for key, text in SHIPPED[language].items():
        assert fields(text) == fields(EN[key]), f"{language}.{key}: {text!r}"


def test_the_languages_are_translations_not_copies() -> None:
    for language in ("de", "fr", "es"):
        same = [k for k in KEYS if SHIPPED[language][k] == EN[k]]
        assert len(same) < len(KEYS) // 5, f"{language}: {same}"


def test_the_texts_other_parts_show_are_there_with_their_fields() -> None:
    assert fields(EN["countdown"]) == {"seconds"}
    for key in ("volume", "limit_reached", "device_removed"):
        assert key in EN
    words = Labels("de")
    assert words.text("countdown", seconds=9) == "Noch da? Sprechen oder drücken (9)"
    assert Labels("es").text("countdown", seconds=3) == "¿Sigue ahí? Hable o pulse (3)"


def test_language_and_overrides() -> None:
    config = validate({"display": {"language": "fr", "labels": {"listening": "Parlez"}}})
    words = Labels.of(config.display)
    assert words["listening"] == "Parlez"  # the override
    assert words["speaking"] == "Parle"  # the language's set
    assert Labels.of(validate({}).display)["listening"] == "Listening"  # English by default
    # a field left without a value stays as written; named fields are filled in
    assert words.text("reconnecting_attempt") == "Reconnexion… (essai {attempt})"
    assert words.text("reconnecting_attempt", attempt=2) == "Reconnexion… (essai 2)"
    # an override may leave its fields out, and write braces doubled
    quiet = validate({"display": {"labels": {"countdown": "Still there? {{press}}"}}})
    assert Labels.of(quiet.display).text("countdown", seconds=5) == "Still there? {press}"


def test_an_unknown_label_key_is_named_with_close_matches() -> None:
    message = problems({"display": {"labels": {"listning": "Go ahead"}}})
    assert "display.labels" in message
    assert "unknown label 'listning'" in message and "did you mean 'listening'" in message
    message = problems({"display": {"labels": {"qwertyuiop": "x"}}})
    assert "'qwertyuiop'" in message and "Languages and labels" in message


def test_an_unknown_field_in_an_override_is_named_with_the_known_ones() -> None:
    message = problems({"display": {"labels": {"countdown": "Still there? ({secs})"}}})
    assert "display.labels" in message and "countdown" in message
    assert "{secs}" in message and "{seconds}" in message
    message = problems({"display": {"labels": {"volume": "Volume {level}"}}})
    assert "volume" in message and "{level}" in message and "none" in message
    message = problems({"display": {"labels": {"idle": "Press {"}}})
    assert "idle" in message
    message = problems({"display": {"labels": {"idle": "{0}"}}})
    assert "idle" in message and "{{" in message


def test_an_unknown_language_is_named_with_the_shipped_ones() -> None:
    message = problems({"display": {"language": "it"}})
    assert "display.language" in message and "'de'" in message and "'es'" in message


def test_a_label_must_be_text() -> None:
    assert "display.labels" in problems({"display": {"labels": {"idle": 3}}})


PROV = "provisioning URL https://keys.example.com/k"
MINT = "key endpoint https://api.openai.com/v1/realtime/client_secrets"
WSS = "wss://api.openai.com/v1/realtime"


@pytest.mark.parametrize(
    "cause, key",
    [
        ("no API key: set openai.key_file or realtime.provisioning.url", "error_no_key"),
        ("the API key file /etc/appliance/openai.key is empty", "error_no_key"),
        ("audio: no input device found (is a sound card present?)", "error_microphone"),
        ("audio: cannot open input device 3 ('USB') at 24000 Hz: busy", "error_microphone"),
        ("audio: no output device matching 'hdmi' (available: none)", "error_speaker"),
        ("audio: cannot start the audio streams: [Errno -9996]", "error_audio"),
        (f"{PROV} answered HTTP 403: denied", "error_provisioning"),
        (f"{PROV} did not answer within 10 s", "error_network"),
        (f"{PROV} unreachable: Cannot connect to host", "error_network"),
        (f"{MINT} answered HTTP 401: expired", "error_key_refused"),
        (f"cannot connect to {WSS}: timeout (gave up after 5 retries)", "error_network"),
        ("connection closed by the server (code 1006)", "error_network"),
        ("the server stopped answering (nothing for 15 s)", "error_network"),
        ("connection closed by the server (code 1000) after: server error (x): y", "error_server"),
        ("server error (rate_limit_exceeded): slow down", "error_server"),
        (f"{WSS} refused the connection: HTTP 500: oops", "error_server"),
        (
            f"{WSS} refused the connection: HTTP 401: ephemeral key already used",
            "error_key_refused",
        ),
        ("the server sent a 50.0 MB message (limit 16 MB)", "error_server"),
        ("server error (bad_frame): the server sent a frame that is not JSON", "error_server"),
        ("renewing the session", "renewing"),
        ("ValueError: something nobody foresaw", "error_other"),
    ],
)
def test_a_failure_is_told_by_its_kind(cause: str, key: str) -> None:
    assert cause_key(cause) == key


def test_the_setup_screens_reasons_have_labels(tmp_path: Path) -> None:
    """The reasons are the setup facts' own (missing_key), read from a real configuration."""
    assert setup_reason("no API key: set openai.key_file or realtime.provisioning.url") == (
        "setup_no_key_source",
        {},
    )
    assert setup_reason("cannot read the API key file /k: Permission denied") is None
    none = setup_facts.missing_key(validate({}), environ={})
    assert none is not None and setup_reason(none) == ("setup_no_key_source", {})
    missing = tmp_path / "openai.key"
    reason = setup_facts.missing_key(validate({"openai": {"key_file": str(missing)}}), {})
    assert reason is not None
    assert setup_reason(reason) == ("setup_key_file_missing", {"path": str(missing)})
    missing.write_text("")
    reason = setup_facts.missing_key(validate({"openai": {"key_file": str(missing)}}), {})
    assert reason is not None
    assert setup_reason(reason) == ("setup_key_file_empty", {"path": str(missing)})
    assert Labels("de").text("setup_key_file_empty", path="/k").endswith("/k ist leer")
    # what the setup screen lists has a text in every language
    for key, _command in setup_facts.commands(validate({})):
        assert all(key in table for table in labels.SHIPPED.values())


def test_the_readme_lists_every_key_with_its_english_text() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for key in KEYS:
        assert f"| `{key}` | {EN[key]} |" in readme, key
