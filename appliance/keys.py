"""Where ephemeral keys come from: a static key, a provisioning URL, or minting with a real key.

A fresh key is fetched for every session: ephemeral keys are single use and expire (Deep Chat
caches one forever, so its restarts fail once the key is stale). Order of the sources:

1. ``realtime.ephemeral_key`` (a pre-minted key) for the first session;
2. ``realtime.provisioning`` (Deep Chat's ``fetchEphemeralKey``, as a URL);
3. minting with the real API key (``openai.key``, ``openai.key_file`` or the systemd credential
   ``openai.key``) at the dialect's endpoint.

Errors are :class:`KeySourceError` with a message that names the source, the HTTP status and a
short, redacted excerpt of the body; never the key or the provisioning headers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from appliance.config import AppConfig
from appliance.realtime.dialects import DIALECTS
from appliance.recovery import SessionError, retryable_http_status
from appliance.secrets import REDACTOR

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "openai.key"
PREFETCH_MAX_AGE_S = 45.0
"""A key fetched ahead of time (``auto_fetch_ephemeral_key``) is used only while younger."""


class KeySourceError(SessionError):
    """A key could not be had. The message is safe to show and log."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)


@dataclass(frozen=True)
class EphemeralKey:
    value: str
    source: str
    dialect: str | None = None  # the dialect the reply's shape reveals, if any
    expires_at: float | None = None
    fetched_at: float = 0.0

    def __repr__(self) -> str:  # never print the value
        return f"EphemeralKey(source={self.source!r}, dialect={self.dialect!r})"


def safe_url(url: str) -> str:
    """The URL without query string or credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def excerpt(body: bytes | bytearray | str, limit: int = 120) -> str:
    """A short, single-line, redacted excerpt of a reply body for error messages."""
    text = body if isinstance(body, str) else bytes(body).decode("utf-8", "replace")
    text = " ".join(text.split())
    text = REDACTOR(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


NO_KEY = "no key in the reply (expected plain text, {value} or {client_secret: {value}})"


def parse_provisioned(body: bytes) -> tuple[str, str | None]:
    """The key in a provisioning reply, and the dialect its shape suggests.

    Accepts plain text, ``{"value": ...}`` (GA client_secrets shape) and
    ``{"client_secret": {"value": ...}}`` (beta sessions shape). The key must be one token of
    printable ASCII (it goes into an HTTP header); anything else is a ``ValueError``.
    """
    text = body.decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        key, dialect = text, None  # not JSON: the reply is the key itself
    else:
        if isinstance(data, dict):
            secret = data.get("client_secret")
            if "value" in data:
                key, dialect = data["value"], "ga"
            elif isinstance(secret, dict):
                key, dialect = secret.get("value"), "beta"
            else:
                raise ValueError(NO_KEY)
        elif isinstance(data, str):
            key, dialect = data, None
        else:  # null, a number, a list: JSON, but no key
            raise ValueError(NO_KEY)
    if not isinstance(key, str) or not _TOKEN.fullmatch(key.strip()):
        raise ValueError(NO_KEY)
    return key.strip(), dialect


_TOKEN = re.compile(r"[A-Za-z0-9._~+/=:-]{1,4096}")
"""One token (URL-safe, base64 or JWT characters): nothing that could break an HTTP header,
and no HTML or JSON taken for a key."""


def read_api_key(config: AppConfig, environ: dict[str, str] | None = None) -> str | None:
    """The real API key: ``openai.key``, ``openai.key_file`` or the systemd credential."""
    environ = dict(os.environ) if environ is None else environ
    if config.openai.key is not None:
        return config.openai.key.get_secret_value()
    path = config.openai.key_file
    from_credential = False
    if path is None and environ.get("CREDENTIALS_DIRECTORY"):
        candidate = Path(environ["CREDENTIALS_DIRECTORY"]) / CREDENTIAL_NAME
        path, from_credential = (candidate, True) if candidate.exists() else (None, False)
    if path is None:
        return None
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KeySourceError(f"cannot read the API key file {path}: {exc.strerror}") from None
    # systemd hands credentials over privately: only a plain key file can be too open
    if not from_credential and mode & (stat.S_IRWXG | stat.S_IRWXO):
        message = f"the API key file {path} is readable by others; run: chmod 600 {path}"
        if config.openai.loose_key_file == "refuse":
            raise KeySourceError(message)
        log.warning(message)
    if not value and from_credential:
        raise KeySourceError(
            "the API key credential is empty: put the key in /etc/appliance/openai.key "
            "(mode 0600), or configure realtime.provisioning"
        )
    if not value:
        raise KeySourceError(f"the API key file {path} is empty")
    REDACTOR.add(value)
    return value


class KeySource:
    """Fetches a fresh ephemeral key per session from the configured source."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._static_used = False
        self._prefetched: EphemeralKey | None = None
        rt = config.realtime
        if rt.ephemeral_key:
            REDACTOR.add(rt.ephemeral_key.get_secret_value())
        if rt.provisioning:
            REDACTOR.add(*(v.get_secret_value() for v in rt.provisioning.headers.values()))
        if config.openai.key:
            REDACTOR.add(config.openai.key.get_secret_value())

    @property
    def configured(self) -> bool:
        rt = self.config.realtime
        o = self.config.openai
        return bool(
            rt.ephemeral_key
            or rt.provisioning
            or o.key
            or o.key_file
            or os.environ.get("CREDENTIALS_DIRECTORY")
        )

    def describe(self) -> str:
        rt = self.config.realtime
        if rt.provisioning:
            return f"provisioning URL {safe_url(rt.provisioning.url)}"
        if rt.ephemeral_key:
            return "static ephemeral key"
        return "minted with the API key"

    async def prefetch(self, dialect: str) -> None:
        """Fetch a key ahead of the first press (Deep Chat's ``autoFetchEphemeralKey``)."""
        self._prefetched = await self.fetch(dialect)

    async def fetch(self, dialect: str) -> EphemeralKey:
        """A key for a new session in ``dialect`` ("ga" or "beta")."""
        pre, self._prefetched = self._prefetched, None
        if pre is not None and time.monotonic() - pre.fetched_at < PREFETCH_MAX_AGE_S:
            return pre
        rt = self.config.realtime
        if rt.ephemeral_key and not self._static_used:
            self._static_used = True
            return EphemeralKey(rt.ephemeral_key.get_secret_value(), "static", None, None, _now())
        if rt.provisioning:
            return await self._provision()
        api_key = read_api_key(self.config)
        if api_key:
            return await self._mint(api_key, dialect)
        if rt.ephemeral_key:
            log.warning("the static ephemeral key is single use; configure realtime.provisioning")
            return EphemeralKey(rt.ephemeral_key.get_secret_value(), "static", None, None, _now())
        raise KeySourceError(
            "no key source: set realtime.provisioning.url, openai.key_file or "
            "realtime.ephemeral_key"
        )

    async def _provision(self) -> EphemeralKey:
        prov = self.config.realtime.provisioning
        assert prov is not None
        where = f"provisioning URL {safe_url(prov.url)}"
        headers = {name: value.get_secret_value() for name, value in prov.headers.items()}
        kwargs: dict[str, Any] = {"headers": headers}
        if isinstance(prov.body, dict):
            kwargs["json"] = prov.body
        elif isinstance(prov.body, str):
            kwargs["data"] = prov.body
        status, body = await _request(prov.method, prov.url, prov.timeout_s, where, **kwargs)
        if not 200 <= status < 300:
            raise KeySourceError(
                f"{where} answered HTTP {status}: {excerpt(body)}",
                retryable=retryable_http_status(status),
            )
        try:
            value, dialect = parse_provisioned(body)
        except ValueError as exc:
            raise KeySourceError(f"{where}: {exc}: {excerpt(body, 60)}", retryable=True) from None
        REDACTOR.add(value)
        return EphemeralKey(value, "provisioning", dialect, None, _now())

    async def _mint(self, api_key: str, dialect_name: str) -> EphemeralKey:
        dialect = DIALECTS[dialect_name]
        url = self.config.openai.api_base + dialect.key_path
        where = f"key endpoint {safe_url(url)}"
        try:
            body_json = dialect.mint_body(self.config.realtime.config)
        except ValueError as exc:
            raise KeySourceError(str(exc)) from None
        headers = {"Authorization": f"Bearer {api_key}"}
        status, body = await _request("POST", url, 15.0, where, headers=headers, json=body_json)
        if not 200 <= status < 300:
            raise KeySourceError(
                f"{where} answered HTTP {status}: {excerpt(body)}",
                retryable=retryable_http_status(status),
            )
        try:
            value, expires_at = dialect.minted_key(json.loads(body))
        except ValueError as exc:
            raise KeySourceError(f"{where}: {exc}", retryable=True) from None
        REDACTOR.add(value)
        return EphemeralKey(value, "minted", dialect_name, expires_at, _now())


def _now() -> float:
    return time.monotonic()


async def _request(
    method: str, url: str, timeout_s: float, where: str, **kwargs: Any
) -> tuple[int, bytes]:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.request(method, url, **kwargs) as resp,
        ):
            return resp.status, await resp.content.read(64 * 1024)
    except TimeoutError:
        raise KeySourceError(
            f"{where} did not answer within {timeout_s:g} s", retryable=True
        ) from None
    except aiohttp.ClientError as exc:
        raise KeySourceError(
            f"{where} unreachable: {excerpt(str(exc) or type(exc).__name__)}", retryable=True
        ) from None
