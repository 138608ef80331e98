"""appliance/functions.py: a webhook function handler against a real HTTP server on localhost
(the HTTP client is imported on first use, see appliance/httpclient.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from appliance.config import WebhookHandler
from appliance.functions import FunctionRunner


async def _serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/function", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/function"


def _call(handler, name: str = "weather", arguments: str = '{"city": "Oslo"}') -> Any:
    async def main() -> Any:
        runner, url = await _serve(handler)
        try:
            return await FunctionRunner(WebhookHandler(url=url, timeout_s=5)).call(name, arguments)
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_the_webhook_gets_the_call_and_its_json_is_the_result():
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.json_response({"temperature": 21})

    assert _call(handler) == {"temperature": 21}
    assert seen == [{"name": "weather", "arguments": '{"city": "Oslo"}'}]


def test_a_webhook_error_is_an_error_result_naming_the_status():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down for maintenance")

    result = _call(handler)
    assert set(result) == {"error"} and "HTTP 503" in result["error"]


def test_a_webhook_that_answers_no_json_is_an_error_result():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>")

    result = _call(handler)
    assert set(result) == {"error"}
    assert json.dumps(result)  # still something to send to the model


def test_a_webhook_reply_over_the_limit_is_an_error_result_not_read_whole():
    from appliance.functions import WEBHOOK_REPLY_MAX_BYTES

    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        chunk = b"[" + b"0," * 32_767
        try:
            for _ in range(1000):  # 64 MiB at most, chunked: no Content-Length to check
                await resp.write(chunk)
                sent.append(len(chunk))
        except (ConnectionError, RuntimeError):
            pass  # the client stopped reading
        return resp

    result = _call(endless)
    assert set(result) == {"error"} and "larger than 256 KiB" in result["error"]
    assert WEBHOOK_REPLY_MAX_BYTES == 256 * 1024
    assert sum(sent) < 64 * 2**20  # the client gave up before the end


def test_a_webhook_reply_at_the_limit_is_read_whole():
    from appliance.functions import WEBHOOK_REPLY_MAX_BYTES

    text = json.dumps({"text": "x" * (WEBHOOK_REPLY_MAX_BYTES - 20)})
    text += " " * (WEBHOOK_REPLY_MAX_BYTES - len(text))

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    assert _call(handler) == json.loads(text)
