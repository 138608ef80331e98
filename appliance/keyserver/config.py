"""The key server's configuration: one TOML file, checked like the appliance's own.

::

    [keyserver]
    listen = "127.0.0.1:8787"
    cors_origins = ["https://kiosk.example.org"]

    [upstream]
    api_base = "https://api.openai.com"
    key_file = "/etc/appliance-keyserver/openai.key"   # or the systemd credential openai.key

    [database]
    url = "sqlite:///var/lib/appliance-keyserver/keys.db"   # or "postgresql://..."

    [limits]
    keys_per_minute = 6
    sessions_per_day = 100

    [groups.default.session]
    model = "gpt-realtime"
    instructions = "You are the museum's guide."
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from appliance.config.messages import ConfigError, describe_errors
from appliance.config.models import Model

DEFAULT_LISTEN = "127.0.0.1:8787"
DEFAULT_DB_NAME = "keys.db"
CREDENTIAL_NAME = "openai.key"
DEFAULT_GROUP = "default"
CONFIG_LIMIT = 256 * 1024
"""Bytes a configuration file may have."""
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""Device and group names: letters, digits, ``.``, ``_``, ``-``; 1-64 characters."""
DEFAULT_SESSION: dict[str, Any] = {"type": "realtime", "model": "gpt-realtime"}
"""What a GA group's session starts from (the group's table is merged over it)."""


class Server(Model):
    """``[keyserver]``: where and how it listens."""

    listen: str = Field(DEFAULT_LISTEN, description="HOST:PORT to listen on.")
    tls_cert: Path | None = Field(None, description="PEM certificate chain; with tls_key: HTTPS.")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    cors_origins: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Web origins (https://host[:port]) allowed to call the server from a page.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Addresses of reverse proxies whose X-Forwarded-For names the client.",
    )
    max_body_bytes: int = Field(16384, ge=256, le=1048576, description="Largest request body.")
    body_timeout: float = Field(10.0, gt=0, le=300, description="Seconds to receive a body.")
    shutdown_timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds a stop waits for requests in flight."
    )
    bad_token_limit: int = Field(
        10, ge=1, le=10000, description="Failed tokens from one address before it must wait."
    )
    bad_token_window: float = Field(
        60.0, gt=0, le=86400, description="Seconds over which failed tokens are counted."
    )
    access_log: bool = Field(True, description="One JSON line per request on stderr.")
    page: str | None = Field(
        None,
        max_length=4096,
        description='HTML file served at GET / ("builtin": the shipped Deep Chat page).',
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        split_listen(value)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin):
                raise ValueError(
                    f"{origin!r} is not an origin; write scheme://host[:port] without a path"
                )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Server:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together; set both or neither")
        return self


class Upstream(Model):
    """``[upstream]``: the OpenAI API (or the simulator) that mints the keys."""

    api_base: str = Field("https://api.openai.com", description="Base URL of the API.")
    api: Literal["ga", "beta"] = Field(
        "ga",
        description="ga: POST /v1/realtime/client_secrets; beta: POST /v1/realtime/sessions.",
    )
    key_file: Path | None = Field(
        None,
        description="File holding the API key; default: the systemd credential openai.key.",
    )
    expires_after: int = Field(
        60, ge=10, le=7200, description="Seconds a minted key lives (upstream allows 10-7200)."
    )
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds to wait for the upstream.")

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class Database(Model):
    """``[database]``: where devices, budgets and usage live."""

    url: str = Field(
        "",
        description='sqlite:///PATH (default: keys.db beside the config) or "postgresql://...".',
    )
    timeout: float = Field(5.0, gt=0, le=120, description="Seconds to wait for the database.")
    threads: int = Field(8, ge=1, le=64, description="Connections (one per database thread).")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError('use "sqlite:///PATH" or "postgresql://USER@HOST/DB"')
        return value


class Limits(Model):
    """``[limits]``: per device unless named fleet_; 0 means no limit."""

    keys_per_minute: float = Field(6.0, ge=0, le=6000, description="Keys per minute, sustained.")
    burst: int = Field(3, ge=1, le=1000, description="Keys a device may take at once.")
    sessions_per_day: int = Field(200, ge=0, description="Keys (sessions) per device per day.")
    minutes_per_day: float = Field(240.0, ge=0, description="Session minutes per device per day.")
    tokens_per_day: int = Field(
        0, ge=0, description="Input + output tokens per device per day (0: no limit)."
    )
    reports_per_day: int = Field(
        2000, ge=1, le=1000000, description="Usage reports per device per day (a bound on storage)."
    )
    fleet_sessions_per_day: int = Field(0, ge=0, description="Keys per day, all devices.")
    fleet_tokens_per_day: int = Field(0, ge=0, description="Tokens per day, all devices.")


class Prices(Model):
    """``[prices]``: per million tokens, for the estimated cost in ``keyserver usage``."""

    currency: str = Field("USD", max_length=8, description="Shown beside the cost.")
    audio_input: float = Field(32.0, ge=0, description="Per 1M uncached audio input tokens.")
    text_input: float = Field(4.0, ge=0, description="Per 1M text input tokens.")
    cached_input: float = Field(0.4, ge=0, description="Per 1M cached input tokens.")
    audio_output: float = Field(64.0, ge=0, description="Per 1M audio output tokens.")
    text_output: float = Field(16.0, ge=0, description="Per 1M text output tokens.")


class Group(Model):
    """``[groups.NAME]``: the session configuration every device of the group gets."""

    session: dict[str, Any] = Field(
        default_factory=dict,
        description="The session object sent upstream (model, instructions, voice, tools...).",
    )


class KeyServerConfig(Model):
    """The whole file."""

    keyserver: Server = Field(default_factory=Server)
    upstream: Upstream = Field(default_factory=Upstream)
    database: Database = Field(default_factory=Database)
    limits: Limits = Field(default_factory=Limits)
    prices: Prices = Field(default_factory=Prices)
    groups: dict[str, Group] = Field(
        default_factory=lambda: {DEFAULT_GROUP: Group()}, max_length=1000
    )

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: dict[str, Group]) -> dict[str, Group]:
        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"group name {name!r}: use letters, digits, . _ - (1-64)")
        if not value:
            raise ValueError("at least one group; add [groups.default.session]")
        return value

    def session_for(self, group: str) -> dict[str, Any]:
        """The session object sent upstream for a device of ``group``."""
        own = self.groups[group].session
        return {**DEFAULT_SESSION, **own} if self.upstream.api == "ga" else dict(own)


def split_listen(value: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``[v6]:PORT`` too) as host and port; ValueError saying what is wrong."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
    return host, int(port)


def parse(text: str, base: Path) -> KeyServerConfig:
    """The configuration in ``text`` (TOML); relative paths are taken from ``base``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    try:
        config = KeyServerConfig.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc.errors(), text, root=KeyServerConfig)
        raise ConfigError(_head(problems), problems) from None
    return _resolve(config, base)


def _head(problems: list[str]) -> str:
    return problems[0] if len(problems) == 1 else f"{len(problems)} problems"


def _resolve(config: KeyServerConfig, base: Path) -> KeyServerConfig:
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else (base / path.expanduser())

    server = config.keyserver
    server.tls_cert, server.tls_key = absolute(server.tls_cert), absolute(server.tls_key)
    config.upstream.key_file = absolute(config.upstream.key_file)
    if server.page is not None and server.page != "builtin":
        server.page = str(base / Path(server.page).expanduser())
    url = config.database.url
    if not url:
        config.database.url = f"sqlite:///{base / DEFAULT_DB_NAME}"
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        config.database.url = f"sqlite:///{base / url.removeprefix('sqlite:///')}"
    return config


def load(path: Path) -> KeyServerConfig:
    """Read and check ``path``; :class:`ConfigError` names the field and the fix."""
    try:
        if path.stat().st_size > CONFIG_LIMIT:
            raise ConfigError(f"{path}: larger than {CONFIG_LIMIT} bytes; is it the right file?")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return parse(text, path.resolve().parent)


def problems(config: KeyServerConfig) -> list[str]:
    """What would stop ``serve`` that the schema cannot see: files that are missing."""
    out = []
    for field, path in (
        ("keyserver.tls_cert", config.keyserver.tls_cert),
        ("keyserver.tls_key", config.keyserver.tls_key),
    ):
        if path is not None and not path.is_file():
            out.append(f"{field}: {path} does not exist; give the PEM file's path")
    if config.upstream.key_file is not None and not config.upstream.key_file.is_file():
        out.append(f"upstream.key_file: {config.upstream.key_file} does not exist")
    if config.keyserver.page is not None:
        from appliance.keyserver import page

        try:
            page.load(config.keyserver.page)
        except ConfigError as exc:
            out.append(str(exc))
    return out


def read_api_key(config: KeyServerConfig) -> str:
    """The upstream API key: ``upstream.key_file``, else the systemd credential ``openai.key``."""
    path = config.upstream.key_file
    if path is None:
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if not creds:
            raise ConfigError(
                "upstream.key_file: not set and no systemd credential "
                f"{CREDENTIAL_NAME}; set key_file or LoadCredential={CREDENTIAL_NAME}:..."
            )
        path = Path(creds) / CREDENTIAL_NAME
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"upstream.key_file: {path} cannot be read ({exc})") from None
    if not key or len(key) > 1024 or any(c.isspace() for c in key):
        raise ConfigError(f"upstream.key_file: {path} must hold the API key alone on one line")
    return key
