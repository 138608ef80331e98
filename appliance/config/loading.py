"""Loading the configuration: the file (TOML, JSON, Deep Chat JSON), then the environment.

The file is TOML or JSON. A Deep Chat ``directConnection`` JSON is accepted as it is::

    {"directConnection": {"openAI": {"key": "...", "realtime": {...}}}}

or just the ``openAI`` object. Environment variables ``APPLIANCE_<SECTION>__<FIELD>[__<FIELD>...]``
override the file (values are parsed as JSON when they parse, else taken as strings), e.g.
``APPLIANCE_REALTIME__CONFIG__VOICE=verse``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from appliance.config.messages import ConfigError, describe_errors, line_of
from appliance.config.models import AppConfig, name_key
from appliance.files import CONFIG_LIMIT, FileRefused, read_small
from appliance.realtime.rules import guess
from appliance.realtime.rules import problems as dialect_rules

DEFAULT_CONFIG_PATH = Path("/etc/appliance/config.toml")
ENV_PREFIX = "APPLIANCE_"


def parse_text(text: str, *, fmt: str) -> dict[str, Any]:
    """Parse TOML or JSON text into a plain dict (``fmt`` is ``"toml"`` or ``"json"``)."""
    try:
        data = json.loads(text) if fmt == "json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"not valid {fmt.upper()}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError("the file must hold an object/table at the top level")
    return data


def guess_format(path: Path, text: str) -> str:
    if path.suffix.lower() == ".json":
        return "json"
    if path.suffix.lower() == ".toml":
        return "toml"
    return "json" if text.lstrip().startswith("{") else "toml"


def from_deepchat(data: dict[str, Any], ignored: list[str] | None = None) -> dict[str, Any]:
    """Turn a Deep Chat ``directConnection`` JSON (or its ``openAI`` object) into our shape.

    Data already in our shape is returned unchanged. What a Deep Chat JSON holds that the
    appliance does not use (keys beside ``directConnection`` or ``openAI``, ``openAI`` options
    other than ``key`` and ``realtime``, the ``methods`` and ``events`` functions) is left
    out; each such key is added to ``ignored`` as ``"<path>: ignored: <why>"``.
    """
    notes: list[str] = []
    prefix = ""
    if "directConnection" in data:
        inner = data["directConnection"]
        if not isinstance(inner, dict) or "openAI" not in inner:
            raise ConfigError("directConnection: expected an object with an openAI key")
        notes += [
            f"{k}: ignored: only directConnection is read" for k in data if k != "directConnection"
        ]
        notes += [
            f"directConnection.{k}: ignored: only directConnection.openAI is read"
            for k in inner
            if k != "openAI"
        ]
        data, prefix = inner["openAI"], "directConnection.openAI."
    elif "openAI" in data:
        notes += [f"{k}: ignored: only openAI is read" for k in data if k != "openAI"]
        data, prefix = data["openAI"], "openAI."
    else:
        ours = set(AppConfig.model_fields)
        if "key" not in data or set(data) & (ours - {"realtime"}):
            return data
    if not isinstance(data, dict):
        raise ConfigError("openAI: expected an object")
    data = dict(data)
    out: dict[str, Any] = {}
    if "key" in data:
        out["openai"] = {"key": data.pop("key")}
    realtime = data.pop("realtime", True)
    if realtime is True:
        realtime = {}
    if not isinstance(realtime, dict):
        raise ConfigError("openAI.realtime: expected true or an object")
    realtime = dict(realtime)
    # Functions cannot travel in JSON; these Deep Chat keys have other homes here.
    for dropped, home in (
        ("methods", "`appliance update-config` and `appliance say` do what they do"),
        ("events", "[hooks] and `appliance events` give them"),
    ):
        if dropped in realtime:
            realtime.pop(dropped)
            notes.append(f"{prefix}realtime.{dropped}: ignored: functions; {home}")
    out["realtime"] = realtime
    # other openAI-level options (chat, assistant, ...) do not apply to a realtime kiosk
    notes += [f"{prefix}{name}: ignored: not a realtime option" for name in data]
    if ignored is not None:
        ignored += notes
    return out


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Nested dict from ``APPLIANCE_SECTION__FIELD=value`` variables."""
    tree: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if len(parts) < 2:
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge ``over`` into a copy of ``base`` (names compared case-/style-insensitively)."""
    out = dict(base)
    norm = {name_key(k): k for k in out}
    for key, value in over.items():
        target = norm.get(name_key(key), key)
        if isinstance(value, Mapping) and isinstance(out.get(target), dict):
            out[target] = merge(out[target], value)
        else:
            out[target] = value
    return out


def validate(data: dict[str, Any], *, source: str = "config", text: str | None = None) -> AppConfig:
    """Validate a dict into an :class:`AppConfig`, or raise :class:`ConfigError`."""
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc.errors(), text)
    else:
        problems = _dialect_problems(config, text)
        if not problems:
            config._ignored = ignored_in(text, source) if text else []
            return config
    head = f"{source}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"
    raise ConfigError(head + "\n" + "\n".join(f"  - {p}" for p in problems), problems)


def ignored_in(text: str, source: str) -> list[str]:
    """The keys of the file ``source`` (its ``text``) that :func:`from_deepchat` leaves out."""
    notes: list[str] = []
    try:
        from_deepchat(parse_text(text, fmt=guess_format(Path(source), text)), ignored=notes)
    except ConfigError:
        return []
    return notes


def dialect_of(config: AppConfig) -> str:
    """The dialect sessions start in: ``openai.dialect``, or for ``auto`` the one its model
    implies (beta for the ``*-realtime-preview`` models, else GA)."""
    wanted = config.openai.dialect
    return guess(config.realtime.config.model) if wanted == "auto" else wanted


def _dialect_problems(config: AppConfig, text: str | None) -> list[str]:
    """What the dialect the sessions will use cannot express: the rules the dialect mappings
    apply (:mod:`appliance.realtime.rules`), so that what validates here is what the first
    press sends."""
    name = dialect_of(config)
    out = []
    for field, message in dialect_rules(name, config.realtime.config, model=True):
        if config.openai.dialect == "auto":
            chosen = "GA" if name == "ga" else name
            message += (
                f' (openai.dialect "auto" chose {chosen} for {config.realtime.config.model!r})'
            )

        line = line_of(tuple(field.split(".")), text)
        out.append(f"{message} [line {line}]" if line else message)
    return out


def read_text(path: Path) -> str:
    """The text of the configuration file (or Deep Chat JSON) at ``path``: a regular file of
    at most :data:`~appliance.files.CONFIG_LIMIT` (1 MiB), UTF-8. A FIFO, a device or a
    larger file is refused at once, never waited on or read to the end. Raises
    ``FileNotFoundError``, or :class:`ConfigError` naming the path and the problem."""
    try:
        data = read_small(path, CONFIG_LIMIT, "a configuration file")
    except FileRefused as exc:
        raise ConfigError(str(exc)) from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); check its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def load(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    required: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Load the configuration in layers: the file (TOML/JSON/Deep Chat JSON), then the
    ``APPLIANCE_*`` environment variables, then ``overrides`` (the command line's ``--socket``,
    ``--display``, ``--auto-start``...), so a reload that reads the file again keeps them.

    ``path=None`` uses ``$APPLIANCE_CONFIG`` or ``/etc/appliance/config.toml``; a missing default
    file gives the defaults, a missing explicit file is an error.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None or "APPLIANCE_CONFIG" in environ
    path = Path(path or environ.get("APPLIANCE_CONFIG") or DEFAULT_CONFIG_PATH)
    data: dict[str, Any] = {}
    text: str | None = None
    try:
        text = read_text(path)
    except FileNotFoundError:
        if explicit or required:
            raise ConfigError(f"{path}: no such file (create it, or pass --config)") from None
    if text is not None:
        try:
            data = from_deepchat(parse_text(text, fmt=guess_format(path, text)))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    data = merge(merge(data, env_overrides(environ)), overrides or {})
    return validate(data, source=str(path), text=text)
