"""The fault matrix: every failure the appliance must survive, what a person sees, the log line,
and how it recovers. A test marked ``@row(KEY)`` asserts each row against real processes
(``test_faults.py``, and the hostile-input tests ``test_hostile_*.py``); the README's
troubleshooting table is generated from this list (``python tests/integration/fault_matrix.py``
rewrites it; a test fails when the README is out of date or a row has no test).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- fault-matrix:start (generated from tests/integration/fault_matrix.py) -->"
END = "<!-- fault-matrix:end -->"


@dataclass(frozen=True)
class Fault:
    key: str
    fault: str
    state: str  # the state a person sees (screen, LED, `appliance status`)
    shown: str  # the text shown / reported (the real cause), as a substring
    log: str  # a substring of the log line (journal)
    recovery: str


MATRIX = [
    Fault(
        "provision_401",
        "provisioning URL answers 401",
        "error",
        "answered HTTP 401",
        "ERROR appliance: error: provisioning URL",
        "not retried (fix the device token); the next press tries again",
    ),
    Fault(
        "provision_500",
        "provisioning URL answers 500",
        "reconnecting, then listening",
        "answered HTTP 500",
        "answered HTTP 500",
        "retried with backoff and a fresh key; error after `recovery.max_attempts`",
    ),
    Fault(
        "provision_timeout",
        "provisioning URL does not answer in time",
        "reconnecting, then listening",
        "did not answer within",
        "did not answer within",
        "retried with backoff",
    ),
    Fault(
        "provision_garbage",
        "provisioning reply holds no key",
        "reconnecting, then listening",
        "no key in the reply",
        "no key in the reply",
        "retried with backoff",
    ),
    Fault(
        "provision_slow",
        "provisioning URL is slow (within the timeout)",
        "connecting (loading), then listening",
        "",
        "state listening",
        "nothing to do",
    ),
    Fault(
        "provision_in_pieces",
        "the provisioning reply arrives in pieces (two TCP segments, or chunked)",
        "connecting, then listening",
        "",
        "state listening",
        "nothing to do: the whole body is read (up to 64 KiB; a larger reply is an error)",
    ),
    Fault(
        "key_expired",
        "every key is already expired",
        "reconnecting, then error",
        "HTTP 401",
        "refused the connection: HTTP 401",
        "retried with fresh keys; the next press after the clock/server is fixed",
    ),
    Fault(
        "key_reused",
        "a static `ephemeral_key` used a second time",
        "error",
        "already used",
        "static ephemeral key was already used",
        "fails at once, not retried (keys are single use): configure `realtime.provisioning` "
        "or a key file",
    ),
    Fault(
        "socket_refused",
        "nothing listens at `api_base`",
        "reconnecting, then error",
        "cannot connect to",
        "cannot connect to",
        "retried; the next press tries again",
    ),
    Fault(
        "socket_dropped",
        "socket dropped mid-answer",
        "reconnecting, then listening",
        "connection closed by the server",
        "connection closed by the server (code 1006)",
        "reconnects by itself with a fresh key",
    ),
    Fault(
        "server_error_nonfatal",
        "server `error` event, non-fatal",
        "listening (notice shown)",
        "server error",
        "WARNING appliance: server error",
        "none needed: the session goes on",
    ),
    Fault(
        "server_error_fatal",
        "server `error` event, then the socket closes",
        "reconnecting, then listening",
        "after: server error",
        "connection closed by the server",
        "reconnects by itself",
    ),
    Fault(
        "server_error_auth",
        "server `error` `invalid_api_key`, then close",
        "error",
        "invalid_api_key",
        "ERROR appliance: error: connection closed",
        "not retried (fix the key); the next press tries again",
    ),
    Fault(
        "malformed_json",
        "a server frame that is not JSON",
        "listening (notice shown)",
        "not JSON",
        "frame that is not JSON",
        "none needed: the frame is skipped",
    ),
    Fault(
        "unknown_event",
        "an unknown server event type",
        "listening",
        "",
        "state listening",
        "none needed: ignored",
    ),
    Fault(
        "audio_missing",
        "the configured microphone does not exist",
        "error",
        "audio: no input device",
        "ERROR appliance: error: audio:",
        "plug it in (or fix `audio.input_device`), then press",
    ),
    Fault(
        "display_missing",
        "no screen can be opened",
        "runs headless",
        "",
        "display",
        "button, LED and socket keep working",
    ),
    Fault(
        "gpio_missing",
        "no GPIO (laptop, container, permissions)",
        "runs",
        "",
        "GPIO off",
        "`appliance press [--hold]` stands in for the button",
    ),
    Fault(
        "config_missing",
        "config file missing at start",
        "exit 2",
        "no such file",
        "",
        "create it; systemd restarts the service",
    ),
    Fault(
        "config_unreadable",
        "config file unreadable at start",
        "exit 2",
        "cannot read",
        "",
        "fix its permissions",
    ),
    Fault(
        "config_invalid",
        "config file invalid at start",
        "exit 2",
        "unknown field",
        "",
        "the message names the field, the fix and the line",
    ),
    Fault(
        "config_invalid_reload",
        "config file invalid at reload (SIGHUP / `appliance reload`)",
        "unchanged: the running config is kept",
        "unknown field",
        "reload refused, keeping the running config",
        "fix the file and reload again",
    ),
    Fault(
        "sigterm_speech",
        "SIGTERM while the model speaks",
        "exit 0, output WAV finalised",
        "",
        "signal SIGTERM: stopping",
        "systemd starts it again when asked",
    ),
    Fault(
        "sighup_speech",
        "SIGHUP while the model speaks",
        "speaking goes on",
        "",
        "config reloaded",
        "session settings are sent with `session.update`",
    ),
    Fault(
        "socket_flood",
        "a control-socket client sends without end (an endless line, or data to `events`)",
        "unchanged",
        "request too long (over 64 KiB)",
        "",
        "nothing to do: input is bounded; the client gets an error reply or is ignored",
    ),
    Fault(
        "disk_full",
        "disk full while writing the config",
        "`config set` fails",
        "",
        "",
        "the file is byte-identical: free some space and retry",
    ),
    Fault(
        "avatar_bomb",
        "`avatar.src` is a decompression bomb (a PNG declaring 20000x20000 pixels)",
        "the default avatar; screen and sessions as usual",
        "",
        "over the limit of 16 megapixels",
        "replace the image; `appliance config validate` names it",
    ),
    Fault(
        "avatar_fifo",
        "`avatar.src` is a FIFO or a device",
        "the default avatar at once",
        "",
        "not a regular file",
        "point `src` at a regular file",
    ),
    Fault(
        "avatar_drip",
        "the avatar's server sends its image a byte at a time",
        "the default avatar at once",
        "",
        "did not finish downloading within 15 s",
        "fetched again at the next start",
    ),
    Fault(
        "provision_redirect",
        "provisioning URL redirects to another host, or from https to http",
        "error",
        "not followed",
        "not followed",
        "not retried; nothing is sent to the other host; configure the final URL if it is trusted",
    ),
    Fault(
        "config_fifo",
        "config file is a FIFO, a device or over 1 MiB",
        "exit 2",
        "cannot read a FIFO (named pipe)",
        "",
        "give the path of a regular config file",
    ),
    Fault(
        "handler_exit",
        "`function_handler` module calls `sys.exit()` at import",
        "exit 2 at start; a reload is refused and the running config kept",
        "sys.exit",
        "",
        "fix the module; a call that exits gives the model an error output",
    ),
    Fault(
        "frame_too_big",
        "a server message over 16 MB",
        "reconnecting, then error after `recovery.max_attempts`",
        "the server sent a",
        "limit 16 MB",
        "refused (close 1009); reconnects with a fresh key; memory stays flat",
    ),
    Fault(
        "pings_unanswered",
        "the server stops answering pings",
        "reconnecting",
        "stopped answering pings",
        "stopped answering pings",
        "reconnects by itself",
    ),
    Fault(
        "error_flood",
        "a flood of server `error` events",
        "listening (notice shown)",
        "",
        "more like this in the last",
        "none needed: 20 lines a minute, then a count",
    ),
    Fault(
        "function_flood",
        "the model asks for thousands of function calls in one response",
        "listening; the answer goes on",
        "",
        "max_function_calls",
        "`realtime.max_function_calls` run (default 32); each other call gets a “not run” "
        "output; one log line per response",
    ),
    Fault(
        "beta_refused_temperature",
        "the server refuses beta; a preview model's config has `temperature`",
        "listening (GA) at every press",
        "",
        "left out",
        "GA from then on, remembered for a day in `$STATE_DIRECTORY/dialect.json`; "
        "`temperature` left out with one warning (remove it to silence it)",
    ),
    Fault(
        "disk_full_audio_out",
        "disk full under `--audio-out` at shutdown",
        "exit 0",
        "",
        "No space left on device",
        "the recording is lost, not the run: free some space",
    ),
    Fault(
        "volume_save_failed",
        "the configuration cannot be written when the volume changes (a broken file)",
        "plays at the new volume",
        "",
        "is not kept across restarts",
        "the volume plays as set; the next restart uses the file's value (the log names "
        "`sudo appliance config set audio.volume N`)",
    ),
    Fault(
        "keyserver_limit",
        "the key server refuses: a daily budget or the fleet's cap spent (HTTP 429)",
        "error (the screen: “Daily limit reached; back tomorrow”)",
        "refused a key: limit reached",
        "refused a key: limit reached",
        "not retried; no request before its `Retry-After` (at most a day; a press is told "
        "again); a reload asks at once",
    ),
    Fault(
        "keyserver_busy",
        "the key server refuses: too many keys a minute (HTTP 429 `rate_limited`)",
        "error (the screen: “Busy; try again in a moment”)",
        "too many requests",
        "too many requests",
        "the next press after its `Retry-After` asks again",
    ),
    Fault(
        "keyserver_revoked",
        "the device's token is revoked or unknown (HTTP 401)",
        "error (the screen: “This device was removed from the key server”)",
        "refused the device token",
        "refused the device token",
        "not retried; each press asks once (enrol the device again: `device rotate`)",
    ),
    Fault(
        "usage_down",
        "the key server's usage URL does not answer",
        "nothing on screen",
        "",
        "not sent",
        "the report waits on disk (state directory, `usage/`), retried with backoff, "
        "delivered after a restart too",
    ),
]

BY_KEY = {row.key: row for row in MATRIX}

_ROW_MARK = re.compile(r"^@row\(\"(\w+)\"\)", re.MULTILINE)


def row(key: str):
    """Mark a test as the check of one matrix row: it gets the row as its ``fault`` argument."""
    import pytest

    return pytest.mark.parametrize("fault", [BY_KEY[key]], ids=[key])


def covered() -> set[str]:
    """The rows some test in this folder is marked with (read from the sources, so that the
    check holds whichever test files a run collects)."""
    keys: set[str] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        keys.update(_ROW_MARK.findall(path.read_text()))
    return keys


def render() -> str:
    """The README table."""
    lines = [
        START,
        "| fault | what you see | log line contains | recovery |",
        "|---|---|---|---|",
    ]
    for row in MATRIX:
        seen = row.state + (f": “{row.shown}”" if row.shown else "")
        log = f"`{row.log}`" if row.log else "(stderr)"
        lines.append(f"| {row.fault} | {seen} | {log} | {row.recovery} |")
    lines.append(END)
    return "\n".join(lines)


def update_readme() -> bool:
    """Rewrite the table in README.md; returns True if it changed."""
    text = README.read_text()
    start, end = text.index(START), text.index(END) + len(END)
    new = text[:start] + render() + text[end:]
    if new != text:
        README.write_text(new)
    return new != text


if __name__ == "__main__":
    print("README.md updated" if update_readme() else "README.md already up to date")
    sys.exit(0)
