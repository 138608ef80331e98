"""The realtime layer's key fetcher: ephemeral keys over HTTP, from a provisioning URL or
minted with a real key.

A fresh key is fetched for every session: ephemeral keys are single use and expire (Deep Chat
caches one forever, so its restarts fail once the key is stale). Which source serves which
session (the static ``realtime.ephemeral_key`` once, then ``realtime.provisioning`` (Deep Chat's
``fetchEphemeralKey``, as a URL), then minting with the real API key: ``openai.key``,
``openai.key_file`` or the systemd credential ``openai.key``) is the session's policy, in
:meth:`appliance.realtime.session.Session.key_plan`; this module only does the requests.

A key server (``appliance keyserver``) knows each device by a token: ``realtime.provisioning.
token_file`` or the systemd credential ``provisioning.token`` (:func:`read_token`), sent as
``Authorization: Bearer`` with each key request and usage report, read at each request (a new
token needs no reload), never in the configuration. Its refusals are not retried on their own
(:func:`key_server_refusal`): a 429 waits for its ``Retry-After`` (at most a day; a press before
then is told the refusal again without a request), a 401 for a revoked or unknown token until
the next press.

Errors are :class:`KeySourceError` (a :class:`~appliance.realtime.session.SessionError`, so
the session's recovery policy decides whether to retry) with a message that names the source,
the HTTP status and a short, redacted excerpt of the body; never the key or the provisioning
headers.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appliance import httpclient
from appliance.config import AppConfig, SessionConfig
from appliance.files import KEY_FILE_LIMIT, FileRefused, read_small
from appliance.realtime.dialects import DIALECTS
from appliance.realtime.session import (
    EphemeralKey,
    Mint,
    Provision,
    SessionError,
    has_api_key,
    retryable_http_status,
)
from appliance.redaction import REDACTOR

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "openai.key"
TOKEN_CREDENTIAL = "provisioning.token"
"""The systemd credential holding the device's key-server token (when no ``token_file``)."""
LIMIT_CODES = frozenset({"daily_sessions", "daily_minutes", "daily_tokens", "fleet_cap"})
"""A key server's 429 codes for a spent budget: shown as "Daily limit reached"."""
REMOVED_CODES = frozenset({"unknown_token", "revoked"})
"""A key server's 401 codes: the device was removed (or never enrolled)."""
MAX_RETRY_AFTER_S = 86_400.0
"""The longest ``Retry-After`` obeyed: a day (a larger or far-future one counts as this)."""
DEFAULT_RETRY_AFTER_S = 60.0
"""The wait after a 429 that gives no usable ``Retry-After``."""


class KeySourceError(SessionError):
    """A key could not be had. The message is safe to show and log."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)


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
        value = read_small(path, KEY_FILE_LIMIT, "the API key file").decode("utf-8").strip()
    except FileRefused as exc:
        raise KeySourceError(str(exc)) from None
    except UnicodeDecodeError:
        raise KeySourceError(f"the API key file {path} is not UTF-8 text") from None
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


_DEVICE_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")
"""A device token: one word of printable ASCII (it goes into an HTTP header)."""
_loose_tokens_said: set[Path] = set()


def read_token(config: AppConfig, environ: dict[str, str] | None = None) -> str | None:
    """The device's key-server token: ``realtime.provisioning.token_file``, else the systemd
    credential ``provisioning.token`` (an empty credential, the unit's default when
    ``/etc/appliance/provisioning.token`` is missing, is no token); ``None`` without either.
    Raises :class:`KeySourceError` (not retried) for a token file that is missing, unreadable,
    empty or not one token."""
    prov = config.realtime.provisioning
    if prov is None:
        return None
    environ = dict(os.environ) if environ is None else environ
    path, from_credential = prov.token_file, False
    if path is None:
        folder = environ.get("CREDENTIALS_DIRECTORY")
        if not folder:
            return None
        path, from_credential = Path(folder) / TOKEN_CREDENTIAL, True
        if not path.exists():
            return None
    what = "the provisioning token credential" if from_credential else "the provisioning token file"
    try:
        raw = read_small(path, KEY_FILE_LIMIT, what)
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeySourceError(
            f"{what} {path} does not exist: put the device's token from the key server "
            "(appliance keyserver device add) in it, mode 0600"
        ) from None
    except FileRefused as exc:
        raise KeySourceError(f"{what} {path} {exc.reason}") from None
    except OSError as exc:
        raise KeySourceError(f"cannot read {what} {path}: {exc.strerror}") from None
    value = raw.decode("ascii", "replace").strip()
    if not value and from_credential:
        return None
    if not value:
        raise KeySourceError(f"{what} {path} is empty")
    if not _DEVICE_TOKEN.fullmatch(value):
        raise KeySourceError(f"{what} {path} does not hold one token (printable ASCII, no spaces)")
    REDACTOR.add(value)
    loose = not from_credential and mode & (stat.S_IRWXG | stat.S_IRWXO)
    if loose and path not in _loose_tokens_said:
        _loose_tokens_said.add(path)
        log.warning("%s %s is readable by others; run: chmod 600 %s", what, path, path)
    return value


def has_token(config: AppConfig, environ: dict[str, str] | None = None) -> bool:
    """A token is configured: a ``token_file`` (usable or not: its errors are said when it is
    used), or a credential that holds one (not only the unit's default, a lone newline)."""
    prov = config.realtime.provisioning
    if prov is None:
        return False
    if prov.token_file is not None:
        return True
    try:
        return read_token(config, environ) is not None
    except KeySourceError:
        return True  # a credential that is there but wrong: said at the next request


def with_token(headers: dict[str, str], token: str | None) -> dict[str, str]:
    """``headers`` with ``Authorization: Bearer token`` (replacing a configured one)."""
    if token is None:
        return headers
    kept = {name: value for name, value in headers.items() if name.lower() != "authorization"}
    return {**kept, "Authorization": f"Bearer {token}"}


# --- a key server's refusals --------------------------------------------------------------------


def retry_after_s(header: str | None, now: float) -> float:
    """The seconds a ``Retry-After`` header asks to wait (a number of seconds, or an HTTP
    date; ``now`` is the wall clock), within 0 and :data:`MAX_RETRY_AFTER_S`; missing or
    unreadable: :data:`DEFAULT_RETRY_AFTER_S`."""
    text = (header or "").strip()
    if re.fullmatch(r"\d{1,12}", text):
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return DEFAULT_RETRY_AFTER_S
        if when is None or when.tzinfo is None:
            return DEFAULT_RETRY_AFTER_S
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER_S
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def refusal_reason(body: bytes) -> tuple[str | None, str]:
    """The ``code`` and ``message`` of a key server's ``{"error": {"code", "message"}}``
    reply (a code is a short word; anything else is no code), the message redacted and short."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None, excerpt(body, 80)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, excerpt(body, 80)
    code = error.get("code")
    if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", code):
        code = None
    message = error.get("message")
    return code, excerpt(message if isinstance(message, str) else "", 80)


@dataclass(frozen=True)
class Refusal:
    """A key server's refusal: ``cause`` (safe to show) and, for a 429, the seconds to wait
    before asking again (``wait_s``). The causes start the way :data:`appliance.labels.
    _CAUSES` knows them: "refused a key: limit reached" (a spent budget), "refused a key: too
    many requests", "refused the device token"."""

    cause: str
    wait_s: float | None = None

    def error(self) -> KeySourceError:
        """The failure to report now (not retried: see the module's docstring)."""
        if self.wait_s is None:
            return KeySourceError(self.cause)
        return KeySourceError(f"{self.cause}; asking again in {duration(self.wait_s)}")


def key_server_refusal(
    where: str, status: int, body: bytes, retry_after: str | None, sent_token: bool
) -> Refusal | None:
    """The key server's refusal in a reply: a 429, or a 401 with a device code (``None`` for
    any other reply)."""
    code, message = refusal_reason(body)
    detail = f"{code}: {message}" if code and message else code or message or f"HTTP {status}"
    if status == 429:
        what = "limit reached" if code in LIMIT_CODES else "too many requests"
        wait = retry_after_s(retry_after, time.time())
        return Refusal(f"{where} refused a key: {what} ({detail})", wait)
    if status == 401 and code in REMOVED_CODES:
        fix = (
            "this device was removed from the key server (revoked, or its token is unknown); "
            "enrol it again and put its new token in realtime.provisioning.token_file"
            if sent_token
            else "no device token was sent; put the device's token in "
            "realtime.provisioning.token_file or the credential provisioning.token"
        )
        return Refusal(f"{where} refused the device token ({detail}): {fix}")
    return None


@dataclass(frozen=True)
class Hold:
    """No key is asked for before ``until`` (monotonic seconds): the key server said 429.
    ``cause`` says why, to the press that comes before then."""

    until: float
    cause: str


def duration(seconds: float) -> str:
    """``seconds`` for people: "45 s", "12 min", "3.5 h"."""
    if seconds < 120:
        return f"{math.ceil(seconds)} s"
    if seconds < 7200:
        return f"{math.ceil(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def key_source_configured(config: AppConfig, environ: dict[str, str] | None = None) -> bool:
    """Some key source is configured (static key, provisioning URL or API key)."""
    rt = config.realtime
    return bool(rt.ephemeral_key or rt.provisioning or has_api_key(config, environ))


def key_source_description(config: AppConfig, environ: dict[str, str] | None = None) -> str:
    """Where keys come from, for the log and ``status`` (never a secret)."""
    rt = config.realtime
    if rt.provisioning:
        return f"provisioning URL {safe_url(rt.provisioning.url)}"
    if rt.ephemeral_key:
        return "static ephemeral key"
    if has_api_key(config, environ):
        return "minted with the API key"
    return "none configured"


class KeyFetcher:
    """The HTTP side of keys: provisioning and minting. Which source to use when is decided by
    :meth:`appliance.realtime.session.Session.key_plan`."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.hold: Hold | None = None
        """A key server's 429: no request before its ``Retry-After`` (a new fetcher, made
        at a reload, asks again at once)."""
        rt = config.realtime
        if rt.ephemeral_key:
            REDACTOR.add(rt.ephemeral_key.get_secret_value())
        if rt.provisioning:
            REDACTOR.add(*(v.get_secret_value() for v in rt.provisioning.headers.values()))
        if config.openai.key:
            REDACTOR.add(config.openai.key.get_secret_value())

    async def fetch(self, plan: Provision | Mint) -> EphemeralKey:
        """A fresh key as ``plan`` says. Raises :class:`KeySourceError`."""
        if isinstance(plan, Provision):
            return await self.provision()
        api_key = read_api_key(self.config)
        if not api_key:
            raise KeySourceError("no API key: set openai.key_file or realtime.provisioning.url")
        return await self.mint(api_key, plan.dialect, plan.config)

    async def provision(self) -> EphemeralKey:
        prov = self.config.realtime.provisioning
        assert prov is not None
        where = f"provisioning URL {safe_url(prov.url)}"
        hold = self.hold
        if hold is not None and hold.until > time.monotonic():
            left = duration(hold.until - time.monotonic())
            raise KeySourceError(f"{hold.cause}; not asked again before its Retry-After ({left})")
        self.hold = None
        token = read_token(self.config)
        headers = {name: value.get_secret_value() for name, value in prov.headers.items()}
        kwargs: dict[str, Any] = {"headers": with_token(headers, token)}
        if isinstance(prov.body, dict):
            kwargs["json"] = prov.body
        elif isinstance(prov.body, str):
            kwargs["data"] = prov.body
        status, body, where, retry_after = await request(
            prov.method, prov.url, prov.timeout_s, where, **kwargs
        )
        refused = key_server_refusal(where, status, body, retry_after, token is not None)
        if refused is not None:
            if refused.wait_s is not None:
                self.hold = Hold(time.monotonic() + refused.wait_s, refused.cause)
            raise refused.error()
        if not 200 <= status < 300:
            raise KeySourceError(
                f"{where} answered HTTP {status}: {excerpt(body)}",
                retryable=retryable_http_status(status),
            )
        try:
            value, dialect = parse_provisioned(body)
        except ValueError as exc:
            raise KeySourceError(f"{where}: {exc}: {excerpt(body, 60)}", retryable=True) from None
        REDACTOR.add_ephemeral(value)
        return EphemeralKey(value, "provisioning", dialect, provisioned_expiry(body), _now())

    async def mint(
        self, api_key: str, dialect_name: str, session: SessionConfig | None = None
    ) -> EphemeralKey:
        """A key from the key endpoint of ``dialect_name``, minted for ``session`` (default:
        the configuration's session config)."""
        dialect = DIALECTS[dialect_name]
        url = self.config.openai.api_base + dialect.key_path
        where = f"key endpoint {safe_url(url)}"
        try:
            body_json = dialect.mint_body(session or self.config.realtime.config)
        except ValueError as exc:
            raise KeySourceError(str(exc)) from None
        headers = {"Authorization": f"Bearer {api_key}"}
        status, body, where, _retry = await request(
            "POST", url, 15.0, where, headers=headers, json=body_json
        )
        if not 200 <= status < 300:
            raise KeySourceError(
                f"{where} answered HTTP {status}: {excerpt(body)}",
                retryable=retryable_http_status(status),
            )
        try:
            value, expires_at = dialect.minted_key(json.loads(body))
        except ValueError as exc:
            raise KeySourceError(f"{where}: {exc}", retryable=True) from None
        REDACTOR.add_ephemeral(value)
        return EphemeralKey(value, "minted", dialect_name, expires_at, _now())


def provisioned_expiry(body: bytes) -> float | None:
    """``expires_at`` (epoch seconds) of a JSON provisioning reply, where it says one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    secret = data.get("client_secret")
    holder = secret if isinstance(secret, dict) and "value" not in data else data
    value = holder.get("expires_at")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value < 1e11 else None


def _now() -> float:
    return time.time()


async def request(
    method: str, url: str, timeout_s: float, where: str, **kwargs: Any
) -> tuple[int, bytes, str, str | None]:
    """(status, body, where, Retry-After) of one request; ``where`` names the final URL too when a
    same-origin redirect was followed. Any other redirect is refused (see
    :func:`appliance.httpclient.request`): a fatal error, not retried, since asking again gets
    the same answer. The whole body is read, however it arrives (in several TCP segments,
    chunked), up to 64 KiB (a key reply is well under 1 KiB): a larger successful reply is an
    error; a larger error reply is cut there (only an excerpt of it is shown anyway)."""
    limit = 64 * 1024
    aiohttp = await httpclient.aiohttp()
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            resp = await httpclient.request(http, method, url, what=where, **kwargs)
            async with resp:
                final = safe_url(str(resp.url))
                if final != safe_url(url):
                    where += f" (redirected to {final})"
                body, more = await httpclient.read_body(resp, limit)
                if more and 200 <= resp.status < 300:
                    raise KeySourceError(
                        f"{where}: the reply is larger than {limit // 1024} KiB; is the URL right?",
                        retryable=True,
                    )
                return resp.status, body, where, resp.headers.get("Retry-After")
    except httpclient.RedirectRefused as exc:
        raise KeySourceError(str(exc), retryable=False) from None
    except TimeoutError:
        raise KeySourceError(
            f"{where} did not answer within {timeout_s:g} s", retryable=True
        ) from None
    except aiohttp.ClientError as exc:
        raise KeySourceError(
            f"{where} unreachable: {excerpt(str(exc) or type(exc).__name__)}", retryable=True
        ) from None
