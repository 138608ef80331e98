"""Strict validation of JSON shapes, with OpenAI-style error codes and parameter paths.

A tiny schema language: :class:`Obj`, :class:`Tagged`, :class:`ListOf`, :class:`Str`,
:class:`Int`, :class:`Num`, :class:`Bool`, :class:`Enum`, :class:`Nullable`,
:class:`AnyOf` and :class:`Anything`. :func:`check` walks a value against a spec and raises
:class:`Invalid` at the first problem, naming the parameter (``session.audio.input.format``)
the way the real service does (``unknown_parameter``, ``invalid_type``, ``invalid_value``,
``missing_required_parameter``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Invalid(Exception):
    """A value does not match its spec.

    :param code: OpenAI-style error code, e.g. ``unknown_parameter``.
    :param message: the human message.
    :param param: the dotted path of the offending parameter, or ``None``.
    """

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong_type(path: str, expected: str, value: Any) -> Invalid:
    return Invalid(
        "invalid_type",
        f"Invalid type for '{path}': expected {expected}, but got {_type_name(value)} instead.",
        path,
    )


def _quote_list(values: list[Any]) -> str:
    quoted = [json.dumps(v) if not isinstance(v, str) else f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}"


class Spec:
    """Base class of all specs."""

    def check(self, value: Any, path: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Anything(Spec):
    """Any JSON value (used for fields the simulator only echoes)."""

    def check(self, value: Any, path: str) -> None:
        return None


@dataclass
class Str(Spec):
    """A string, optionally with a maximum length."""

    max_len: int | None = None

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        if self.max_len is not None and len(value) > self.max_len:
            raise Invalid(
                "string_above_max_length",
                f"Invalid '{path}': string too long. Expected a string with maximum length "
                f"{self.max_len}, but got a string with length {len(value)} instead.",
                path,
            )


@dataclass
class Bool(Spec):
    """A JSON boolean."""

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise _wrong_type(path, "a boolean", value)


@dataclass
class Int(Spec):
    """An integer in ``[lo, hi]`` (either bound optional)."""

    lo: int | None = None
    hi: int | None = None

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, "an integer", value)
        _check_range(value, self.lo, self.hi, path)


@dataclass
class Num(Spec):
    """A number (integer or decimal) in ``[lo, hi]``."""

    lo: float | None = None
    hi: float | None = None

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(path, "a decimal", value)
        _check_range(value, self.lo, self.hi, path)


def _check_range(value: float, lo: float | None, hi: float | None, path: str) -> None:
    if lo is not None and value < lo:
        raise Invalid(
            "decimal_below_min_value" if isinstance(value, float) else "integer_below_min_value",
            f"Invalid '{path}': expected a value >= {lo}, but got {value} instead.",
            path,
        )
    if hi is not None and value > hi:
        raise Invalid(
            "decimal_above_max_value" if isinstance(value, float) else "integer_above_max_value",
            f"Invalid '{path}': expected a value <= {hi}, but got {value} instead.",
            path,
        )


@dataclass
class Enum(Spec):
    """One of a fixed set of JSON values."""

    values: list[Any]

    def check(self, value: Any, path: str) -> None:
        matched = any(
            v == value and isinstance(v, bool) == isinstance(value, bool)
            for v in self.values
            if not isinstance(value, dict | list)
        )
        if not matched:
            if isinstance(value, dict | list):
                raise _wrong_type(path, "a string", value)
            shown = f"'{value}'" if isinstance(value, str) else json.dumps(value)
            raise Invalid(
                "invalid_value",
                f"Invalid value: {shown}. Supported values are: {_quote_list(self.values)}.",
                path,
            )


@dataclass
class Nullable(Spec):
    """``null`` or a value of the inner spec."""

    inner: Spec

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)


@dataclass
class AnyOf(Spec):
    """The first matching alternative wins; the error of the last alternative is raised."""

    options: list[Spec]

    def check(self, value: Any, path: str) -> None:
        error: Invalid | None = None
        for option in self.options:
            try:
                option.check(value, path)
                return
            except Invalid as exc:
                error = exc
        assert error is not None
        raise error


@dataclass
class ListOf(Spec):
    """A JSON array whose items all match ``item``."""

    item: Spec
    max_items: int | None = None

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _wrong_type(path, "an array", value)
        if self.max_items is not None and len(value) > self.max_items:
            raise Invalid(
                "array_above_max_length",
                f"Invalid '{path}': array too long. Expected an array with maximum length "
                f"{self.max_items}, but got an array with length {len(value)} instead.",
                path,
            )
        for i, item in enumerate(value):
            self.item.check(item, _join(path, i))


@dataclass
class Obj(Spec):
    """A JSON object with known fields; unknown fields are refused.

    :param fields: field name to spec.
    :param required: the names that must be present.
    """

    fields: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(path or "body", "an object", value)
        for key in value:
            if key not in self.fields:
                raise Invalid(
                    "unknown_parameter",
                    f"Unknown parameter: '{_join(path, key)}'.",
                    _join(path, key),
                )
        for key in sorted(self.required):
            if key not in value:
                raise Invalid(
                    "missing_required_parameter",
                    f"Missing required parameter: '{_join(path, key)}'.",
                    _join(path, key),
                )
        for key, item in value.items():
            self.fields[key].check(item, _join(path, key))


@dataclass
class Tagged(Spec):
    """A JSON object whose ``tag`` field (usually ``type``) selects the object spec."""

    variants: Mapping[str, Obj]
    tag: str = "type"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        if self.tag not in value:
            raise Invalid(
                "missing_required_parameter",
                f"Missing required parameter: '{_join(path, self.tag)}'.",
                _join(path, self.tag),
            )
        Enum(list(self.variants)).check(value[self.tag], _join(path, self.tag))
        self.variants[value[self.tag]].check(value, path)


def obj(required: tuple[str, ...] = (), **fields: Spec) -> Obj:
    """Shorthand: ``obj(("a",), a=Str(), b=Int())``."""
    return Obj(fields, frozenset(required))


def check(value: Any, spec: Spec, path: str = "") -> None:
    """Validate ``value`` against ``spec``; raise :class:`Invalid` on the first problem."""
    spec.check(value, path)
