"""``to_appliance_toml``: an inventory's ``appliance_config`` mapping as a TOML document.

Runs on the controller, which need not have the appliance (nor a TOML writer) installed: the
standard library only. Tables nest (``{"realtime": {"config": {...}}}`` becomes
``[realtime.config]``); lists of tables become ``[[...]]``; ``None`` values are left out (TOML
has no null: the appliance's default applies). What the appliance accepts is decided on the
host, by ``appliance config validate``, before the file is written.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Mapping
from typing import Any

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_DEPTH = 32
"""Tables nested deeper than this are refused (the appliance's config has under ten levels)."""


class TomlError(ValueError):
    """A value TOML cannot hold; the message names its key."""


def _key(name: object, where: str) -> str:
    if not isinstance(name, str):
        raise TomlError(f"{where}: keys must be strings, got {name!r}")
    return name if BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _is_table(value: object) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_table(v) for v in value)


def _value(value: Any, where: str, depth: int = 0) -> str:
    if depth > MAX_DEPTH:
        raise TomlError(f"{where}: nested deeper than {MAX_DEPTH}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TomlError(f"{where}: {value} is not a number the appliance takes")
        return repr(value)
    if isinstance(value, str):
        # a JSON string is a TOML basic string (same escapes), unicode kept as it is
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        items = [_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        return "[" + ", ".join(items) + "]"
    if _is_table(value):
        items = [
            f"{_key(k, where)} = {_value(v, f'{where}.{k}', depth + 1)}"
            for k, v in value.items()
            if v is not None
        ]
        return "{" + ", ".join(items) + "}"
    raise TomlError(f"{where}: cannot write a {type(value).__name__} as TOML")


def _table(data: Mapping[str, Any], path: list[str], out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TomlError(f"{'.'.join(path)}: nested deeper than {MAX_DEPTH}")
    where = ".".join(path) or "appliance_config"
    plain = [(k, v) for k, v in data.items() if v is not None]
    scalars = [(k, v) for k, v in plain if not _is_table(v) and not _is_table_array(v)]
    tables = [(k, v) for k, v in plain if _is_table(v)]
    arrays = [(k, v) for k, v in plain if _is_table_array(v)]
    header = ".".join(path)
    if path and (scalars or not (tables or arrays)):
        out.append(f"\n[{header}]")
    for k, v in scalars:
        out.append(f"{_key(k, where)} = {_value(v, f'{where}.{k}')}")
    for k, v in tables:
        _table(v, [*path, _key(k, where)], out, depth + 1)
    for k, v in arrays:
        for item in v:
            out.append(f"\n[[{'.'.join([*path, _key(k, where)])}]]")
            for ik, iv in item.items():
                if iv is not None:
                    out.append(f"{_key(ik, where)} = {_value(iv, f'{where}.{k}.{ik}')}")


def to_appliance_toml(data: Mapping[str, Any] | None) -> str:
    """The TOML text of ``data`` (``None`` or empty: an empty document)."""
    if not data:
        return ""
    if not _is_table(data):
        raise TomlError(f"appliance_config must be a mapping, got {type(data).__name__}")
    out: list[str] = []
    _table(data, [], out, 0)
    return "\n".join(out).lstrip("\n") + "\n"


class FilterModule:
    """Ansible's entry point for the filter."""

    def filters(self) -> dict[str, Any]:
        return {"to_appliance_toml": to_appliance_toml}
