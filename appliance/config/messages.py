"""The messages of a configuration that cannot be used: one line per problem, naming the field
(as the file spells it), the fix and the line, never a secret."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from appliance.config.models import AppConfig, Model, name_key
from appliance.config.output import REDACTED
from appliance.redaction import REDACTOR


class ConfigError(Exception):
    """A configuration that cannot be used. ``str()`` names the field and the fix."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


def _loc_name(loc: tuple[Any, ...]) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before", "lax-or-strict"):
            continue
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts)


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] = AppConfig) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc`` (in ``root``'s tree)."""
    model: Any = root
    for item in loc[:-1]:
        if isinstance(item, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = _field(model, str(item))
        if field is None:
            return None
        model = _model_of(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field(model: type[BaseModel], name: str) -> Any:
    for field_name, field in model.model_fields.items():
        if name_key(field_name) == name_key(name) or (
            field.alias and name_key(field.alias) == name_key(name)
        ):
            return field
    return None


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


_MISMATCHES = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "float_type": "a number",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "a list",
    "tuple_type": "a list",
    "literal_error": "",
}
"""Errors that only say a value is not of one branch's type. A field of several possible types
(a union) gets one of them per branch: they are left out when the field has a more telling
problem, and said once ("must be text or a whole number") when it has not."""


def describe_errors(
    errors: list[Any], text: str | None, root: type[BaseModel] = AppConfig
) -> list[str]:
    """One line per problem, with union branches' type mismatches folded (``root``: the
    model that was validated, for the names an unknown field is matched against)."""
    located = []
    for err in errors:
        loc = _field_path(tuple(err["loc"]), keep_last=err["type"] == "extra_forbidden")
        located.append((_loc_name(loc) or "(top level)", err))
    telling = [where for where, err in located if err["type"] not in _MISMATCHES]

    def explained(where: str) -> bool:
        return any(t == where or t.startswith((where + ".", where + "[")) for t in telling)

    out: list[str] = []
    mismatches: dict[str, list[Any]] = {}
    for where, err in located:
        if err["type"] not in _MISMATCHES:
            out.append(_describe(err, text, root))
        elif not explained(where):
            mismatches.setdefault(where, []).append(err)
    for where, group in mismatches.items():
        if len(group) == 1:
            out.append(_describe(group[0], text, root))
            continue
        nouns = []
        for err in group:
            if err["type"] == "literal_error":
                nouns.append(f"one of {err.get('ctx', {}).get('expected', '')}")
            elif _MISMATCHES[err["type"]] not in nouns:
                nouns.append(_MISMATCHES[err["type"]])
        msg = f"{where}: must be {', or '.join(nouns)} (got {_show(where, group[0].get('input'))})"
        line = line_of(_field_path(tuple(group[0]["loc"]), keep_last=False), text)
        out.append(f"{msg} [line {line}]" if line else msg)
    return out


def _describe(err: Any, text: str | None, root: type[BaseModel] = AppConfig) -> str:
    kind = err["type"]
    loc = _field_path(tuple(err["loc"]), keep_last=kind == "extra_forbidden")
    if kind == "missing" and loc and isinstance(loc[-1], str):  # pydantic names its alias
        loc = (*loc[:-1], re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", loc[-1]).lower())
    where = _loc_name(loc) or "(top level)"
    value = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc, root)
        names = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        fix = f"did you mean {close[0]!r}?" if close else "remove it"
        if names and not close:
            fix += f" (known: {', '.join(names)})"
        msg = f"{where}: unknown field; {fix}"
    elif kind == "missing":
        msg = f"{where}: required; add it"
    elif kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        msg = f"{where}: {_show(where, value)} is not allowed; use one of {expected}"
    elif kind in ("too_long", "string_too_long"):
        limit = err.get("ctx", {}).get("max_length")
        size = len(value) if isinstance(value, str | list | dict | tuple) else "more"
        unit, fix = (
            ("characters", "shorten it") if kind == "string_too_long" else ("items", "remove some")
        )
        msg = f"{where}: at most {limit} {unit} (got {size}); {fix}"
    elif kind == "value_error" and isinstance(value, dict | list):
        msg = f"{where}: {err['msg'].removeprefix('Value error, ')}"  # the value says it
    else:
        detail = _TYPE_MESSAGES.get(kind) or err["msg"].removeprefix("Value error, ")
        msg = f"{where}: {detail} (got {_show(where, value)})"
    line = line_of(loc, text)
    return f"{msg} [line {line}]" if line else msg


_TYPE_MESSAGES = {
    "bool_type": "must be true or false (no quotes)",
    "int_type": "must be a whole number (no quotes)",
    "float_type": "must be a number (no quotes)",
    "finite_number": "must be a finite number",
}
_BRANCHES = {"str", "int", "bool", "float", "dict", "list", "tuple", "literal", "none"}
_SECRET_WORDS = ("key", "header", "token", "secret", "authorization", "body")


def _model_names(cls: type[BaseModel] = Model) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _model_names(sub)
    return names


def _field_path(loc: tuple[Any, ...], *, keep_last: bool) -> tuple[Any, ...]:
    """``loc`` without the union-branch tags pydantic inserts (``str``, ``function-after[...]``,
    model class names). The first element is always a field (or the user's unknown name), and
    so is the last of an unknown-field error."""
    models = _model_names()

    def is_tag(item: Any) -> bool:
        if not isinstance(item, str):
            return False
        return (
            "[" in item
            or item.lower() in _BRANCHES
            or item in models
            or item.startswith("constrained-")
        )

    last = len(loc) - 1
    return tuple(
        item
        for i, item in enumerate(loc)
        if i == 0 or (keep_last and i == last) or not is_tag(item)
    )


def _show(where: str, value: Any) -> str:
    """The offending value for a message: never a secret, never a whole section."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    # the key server's section is named [keyserver]: its name alone is not a secret's
    if any(word in where.lower().removeprefix("keyserver.") for word in _SECRET_WORDS):
        return REDACTED
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    text = REDACTOR(text)
    return text if len(text) <= 60 else text[:57] + "..."


def line_of(loc: tuple[Any, ...], text: str | None) -> int | None:
    """Best-effort line number of the field in the source text."""
    if not text:
        return None
    names = [x for x in loc if isinstance(x, str)]
    if not names:
        return None
    last = names[-1]
    variants = {last, to_camel(last)}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip().lstrip("\"'")
        if any(re.match(rf"{re.escape(v)}[\"']?\s*[=:]", stripped) for v in variants):
            return number
        if stripped.startswith(f"[{'.'.join(names)}"):
            return number
    return None
