"""What tests and demos ask the simulator to do next: scripted answers and faults.

:func:`parse_command` validates one ``POST /sim/script`` object. :class:`Script` keeps what
is waiting, in order: function calls and drops for the next responses, answer length,
server-wide faults (expired keys, HTTP faults, refusing beta), and the faults that act at
once on an open session (``stall``, ``error``, ``malformed_json``, ``unknown_event``,
``drop`` with ``after_deltas: 0``), which wait for the next session when none is open.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from appliance.sim.schema import (
    Bool,
    Int,
    Invalid,
    ListOf,
    Num,
    Obj,
    Str,
    check,
    obj,
)

_FAULTS: dict[str, Obj] = {
    "drop": obj(("fault",), fault=Str(), after_deltas=Int(0)),
    "stall": obj(("fault",), fault=Str()),
    "error": obj(
        ("fault",),
        fault=Str(),
        fatal=Bool(),
        code=Str(),
        message=Str(),
        type=Str(),
        close_code=Int(1000, 4999),
    ),
    "expire_keys": obj(("fault",), fault=Str(), enabled=Bool()),
    "http": obj(
        ("fault", "path", "status"),
        fault=Str(),
        path=Str(),
        status=Int(100, 599),
        count=Int(1),
        body=Str(),
    ),
    "slow": obj(
        ("fault", "path", "seconds"), fault=Str(), path=Str(), seconds=Num(0, 600), count=Int(1)
    ),
    "garbage": obj(("fault", "path"), fault=Str(), path=Str(), count=Int(1)),
    "refuse_beta": obj(("fault",), fault=Str(), enabled=Bool()),
    "malformed_json": obj(("fault",), fault=Str()),
    "unknown_event": obj(("fault",), fault=Str()),
    "clear": obj(("fault",), fault=Str()),
}

_FUNCTION_CALLS = obj(
    ("function_calls",),
    function_calls=ListOf(obj(("name",), name=Str(), arguments=Str(), call_id=Str())),
)
_ANSWER = obj(("answer_seconds",), answer_seconds=Num(0.1, 600))
_TEXT = obj(("transcript",), transcript=Str())

IMMEDIATE = frozenset({"stall", "error", "malformed_json", "unknown_event"})
"""Faults that act on the open session at once (or on the next session to open)."""


def parse_command(command: Any) -> dict[str, Any]:
    """Validate one script command; raise :class:`~appliance.sim.schema.Invalid` if wrong."""
    if not isinstance(command, dict):
        raise Invalid("invalid_type", "A script command must be a JSON object.", None)
    if "fault" in command:
        kind = command["fault"]
        if kind not in _FAULTS:
            raise Invalid(
                "invalid_value",
                f"Unknown fault {kind!r}; known: {', '.join(sorted(_FAULTS))}.",
                "fault",
            )
        check(command, _FAULTS[kind])
    elif "function_calls" in command:
        check(command, _FUNCTION_CALLS)
        if not command["function_calls"]:
            raise Invalid("invalid_value", "function_calls must not be empty.", "function_calls")
    elif "answer_seconds" in command:
        check(command, _ANSWER)
    elif "transcript" in command:
        check(command, _TEXT)
    else:
        raise Invalid(
            "invalid_value",
            "A script command needs one of 'fault', 'function_calls', 'answer_seconds', "
            "'transcript'.",
            None,
        )
    return command


@dataclass
class HttpFault:
    """A fault for the next ``count`` requests to ``path``."""

    kind: str  # "http" | "slow" | "garbage"
    path: str
    count: int
    status: int = 200
    body: str = ""
    seconds: float = 0.0


@dataclass
class ResponsePlan:
    """What the next response does differently (taken by the session that answers)."""

    function_calls: list[dict[str, Any]] | None = None
    drop_after_deltas: int | None = None
    transcript: str | None = None


@dataclass
class Script:
    """The simulator-wide queue of scripted behaviour. Pure state; no I/O."""

    answer_seconds: float = 1.5
    refuse_beta: bool = False
    expire_keys: bool = False
    function_calls: deque[list[dict[str, Any]]] = field(default_factory=deque)
    drops: deque[int] = field(default_factory=deque)
    transcripts: deque[str] = field(default_factory=deque)
    immediate: deque[dict[str, Any]] = field(default_factory=deque)
    http_faults: list[HttpFault] = field(default_factory=list)

    def add(self, command: dict[str, Any], *, session_open: bool) -> dict[str, Any] | None:
        """Queue a validated command.

        :returns: the command when it must act on the open session now (the caller hands it
            to that session), else ``None``.
        """
        if "function_calls" in command:
            self.function_calls.append(command["function_calls"])
            return None
        if "answer_seconds" in command:
            self.answer_seconds = float(command["answer_seconds"])
            return None
        if "transcript" in command:
            self.transcripts.append(command["transcript"])
            return None
        kind = command["fault"]
        if kind == "clear":
            self.clear()
        elif kind == "expire_keys":
            self.expire_keys = command.get("enabled", True)
        elif kind == "refuse_beta":
            self.refuse_beta = command.get("enabled", True)
        elif kind in ("http", "slow", "garbage"):
            self.http_faults.append(
                HttpFault(
                    kind=kind,
                    path=command["path"],
                    count=command.get("count", 1),
                    status=command.get("status", 200),
                    body=command.get("body", ""),
                    seconds=float(command.get("seconds", 0.0)),
                )
            )
        elif kind == "drop":
            after = command.get("after_deltas", 0)
            if after == 0 and session_open:
                return command
            self.drops.append(after)
        elif kind in IMMEDIATE:
            if session_open:
                return command
            self.immediate.append(command)
        return None

    def clear(self) -> None:
        """Forget every queued command and fault (keeps the answer length)."""
        self.refuse_beta = False
        self.expire_keys = False
        self.function_calls.clear()
        self.drops.clear()
        self.transcripts.clear()
        self.immediate.clear()
        self.http_faults.clear()

    def take_http_fault(self, path: str) -> HttpFault | None:
        """The fault for a request to ``path``, counting it down; ``None`` if none waits."""
        for fault in self.http_faults:
            if fault.path == path and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.http_faults.remove(fault)
                return fault
        return None

    def take_immediate(self) -> list[dict[str, Any]]:
        """The faults waiting for the next session."""
        waiting = list(self.immediate)
        self.immediate.clear()
        return waiting

    def take_plan(self, *, audio: bool) -> ResponsePlan:
        """What the next response does: scripted calls first, else a drop for an audio answer."""
        if self.function_calls:
            return ResponsePlan(function_calls=self.function_calls.popleft())
        plan = ResponsePlan()
        if self.transcripts:
            plan.transcript = self.transcripts.popleft()
        if audio and self.drops:
            plan.drop_after_deltas = self.drops.popleft()
        return plan
