"""Function calling: run ``config.function_handler`` for each call the model makes.

The handler is ``"package.module:function"`` (sync or async), called like Deep Chat's
``function_handler({"name": ..., "arguments": "<json string>"})``, or ``{url = "..."}``: a
webhook that gets that object as a JSON POST and answers with JSON. A handler that fails (raises,
times out, returns something that is not JSON) gives the model an ``{"error": ...}`` object
instead of ending the session.
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
from appliance.config import WebhookHandler
from appliance.redaction import REDACTOR

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``; raises ``ValueError`` with a clear message."""
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"function_handler {spec!r}: cannot import {module_name}: {exc}") from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"function_handler {spec!r}: {module_name} has no {attr}") from None
    if not callable(target):
        raise ValueError(f"function_handler {spec!r} is not callable")
    return target


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
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._error(name, f"{type(exc).__name__}: {exc}")
        if not isinstance(result, dict):
            result = {"response": result}
        return result

    async def _invoke(self, request: dict[str, Any]) -> Any:
        if isinstance(self.spec, WebhookHandler):
            aiohttp = await httpclient.aiohttp()
            async with (
                aiohttp.ClientSession() as http,
                http.post(self.spec.url, json=request) as resp,
            ):
                body = await resp.text()
                if resp.status >= 300:
                    raise RuntimeError(f"webhook answered HTTP {resp.status}: {body[:120]}")
                return json.loads(body)
        if self._func is None:
            raise RuntimeError("no function_handler is configured (realtime.config)")
        if inspect.iscoroutinefunction(self._func):
            return await self._func(request)
        result = await asyncio.to_thread(self._func, request)
        if inspect.isawaitable(result):
            result = await result
        return result

    @staticmethod
    def _error(name: str, message: str) -> dict[str, str]:
        message = REDACTOR(message)
        log.warning("function %s failed: %s", name, message)
        return {"error": message}
