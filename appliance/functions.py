"""Function calling: run ``config.function_handler`` for each call the model makes.

The handler is ``"package.module:function"`` (sync or async), called like Deep Chat's
``function_handler({"name": ..., "arguments": "<json string>"})``, or ``{url = "..."}``: a
webhook that gets that object as a JSON POST and answers with JSON. A handler that fails (raises,
times out, returns something that is not JSON) gives the model an ``{"error": ...}`` object
instead of ending the session.

Handler code is trusted to be the owner's, not to be well behaved: one that exits
(``sys.exit()``, ``SystemExit``, ``KeyboardInterrupt``) while being imported or called is
caught like any other failure, so it can neither stop the appliance (with status 0, which
systemd does not restart) nor end the session. A webhook follows redirects only within its own
origin (see :func:`appliance.httpclient.request`).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from appliance import httpclient
from appliance.config import HANDLER_FIELD, WebhookHandler
from appliance.redaction import REDACTOR, mask_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
WEBHOOK_REPLY_MAX_BYTES = 256 * 1024
"""Largest webhook reply read: a function's output goes to the model as text, and a larger
reply is an error output instead of filling memory."""


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``; raises ``ValueError`` with a clear message, also
    when the module's own code fails or exits while it is imported (``sys.exit()`` included:
    the import is refused, the appliance goes on)."""
    module_name, _, attr = spec.partition(":")
    field = f"{HANDLER_FIELD} {spec!r}"
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{field}: cannot import {module_name}: {exc}") from None
    except (Exception, SystemExit, KeyboardInterrupt, GeneratorExit) as exc:
        raise ValueError(f"{field}: importing {module_name!r} failed: {_failure(exc)}") from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"{field}: {module_name} has no {attr}") from None
        except (Exception, SystemExit, KeyboardInterrupt, GeneratorExit) as exc:  # __getattr__
            raise ValueError(f"{field}: getting {attr} failed: {_failure(exc)}") from None
    if not callable(target):
        raise ValueError(f"{field} is not callable")
    return target


def _failure(exc: BaseException) -> str:
    """What handler code did, in words: ``RuntimeError: ...``, or for an exit, that it
    exited (a handler must return or raise, not end the process)."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}); handler code must not end the process"
    if isinstance(exc, KeyboardInterrupt | GeneratorExit):
        return f"it raised {type(exc).__name__}; handler code must not end the process"
    return f"{type(exc).__name__}: {exc}"


class HandlerExited(Exception):
    """Handler code raised ``SystemExit`` (or another exception that is not an ``Exception``)
    while it ran; carried as an ordinary failure of the call."""


class FunctionRunner:
    """Calls the configured handler; never raises."""

    def __init__(
        self, spec: str | WebhookHandler | None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.spec = spec
        self.timeout_s = spec.timeout_s if isinstance(spec, WebhookHandler) else timeout_s
        self._func: Callable[..., Any] | None = None
        if isinstance(spec, str):
            self._func = load_callable(spec)

    async def call(self, name: str, arguments: str) -> Any:
        """The JSON-ready result of one call, or ``{"error": "..."}``."""
        request = {"name": name, "arguments": arguments}
        try:
            result = await asyncio.wait_for(self._invoke(request), self.timeout_s)
            json.dumps(result)
        except TimeoutError:
            return self._error(name, f"the function handler timed out after {self.timeout_s:g} s")
        except (TypeError, ValueError) as exc:
            return self._error(name, f"the function handler returned no JSON object: {exc}")
        except (httpclient.RedirectRefused, HandlerExited) as exc:
            return self._error(name, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._error(name, f"{type(exc).__name__}: {exc}")
        if not isinstance(result, dict):
            result = {"response": result}
        return result

    async def _invoke(self, request: dict[str, Any]) -> Any:
        if isinstance(self.spec, WebhookHandler):
            return await self._post(self.spec.url, request)
        if self._func is None:
            raise RuntimeError("no function_handler is configured (realtime.config)")
        # caught here, inside this coroutine: on Python 3.11 a SystemExit leaving the task that
        # asyncio.wait_for wraps it in would be re-raised by the event loop and end the process
        try:
            if inspect.iscoroutinefunction(self._func):
                return await self._func(request)
            result = await asyncio.to_thread(self._func, request)
            if inspect.isawaitable(result):
                result = await result
            return result
        except (SystemExit, KeyboardInterrupt, GeneratorExit) as exc:
            raise HandlerExited(f"the function handler failed: {_failure(exc)}") from None

    async def _post(self, url: str, request: dict[str, Any]) -> Any:
        """The webhook's JSON answer to ``request``."""
        aiohttp = await httpclient.aiohttp()
        async with aiohttp.ClientSession() as http:
            where = f"webhook {mask_url(url)}"
            async with await httpclient.request(
                http, "POST", url, what=where, json=request
            ) as resp:
                data, more = await httpclient.read_body(resp, WEBHOOK_REPLY_MAX_BYTES)
                body = data.decode("utf-8", errors="replace")
                if resp.status >= 300:
                    raise RuntimeError(f"webhook answered HTTP {resp.status}: {body[:120]}")
                if more:
                    raise RuntimeError(
                        f"webhook reply larger than {WEBHOOK_REPLY_MAX_BYTES // 1024} KiB"
                    )
                return json.loads(body)

    @staticmethod
    def _error(name: str, message: str) -> dict[str, str]:
        message = REDACTOR(message)
        log.warning("function %s failed: %s", name, message)
        return {"error": message}
