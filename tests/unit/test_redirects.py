"""Redirects of the requests that carry the device's secrets (provisioning, minting, webhook
functions), against real HTTP servers on localhost: followed only within the same origin.

127.0.0.1 and 127.0.0.2 are two hosts (the whole of 127.0.0.0/8 is the loopback), so a redirect
between them is one to another origin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from appliance.config import WebhookHandler, validate
from appliance.functions import FunctionRunner
from appliance.httpclient import MAX_REDIRECTS, redirect_refusal
from appliance.realtime.keys import KeyFetcher, KeySourceError
from appliance.realtime.session import Mint, Provision

TOKEN = "device-token-5f1e9c"


class Server:
    """A real aiohttp server that records every request and answers as ``answer`` says."""

    def __init__(self, host: str, answer) -> None:
        self.host = host
        self.answer = answer
        self.seen: list[dict[str, Any]] = []
        self.url = ""

    async def __aenter__(self) -> Server:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.seen.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "headers": dict(request.headers),
                    "body": await request.read(),
                }
            )
            return self.answer(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


def _redirect(status: int, location: str):
    def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    return answer


def _key(request: web.Request) -> web.Response:
    return web.json_response({"value": "ek_provisioned_123"})


def _provisioning(url: str) -> Any:
    return validate(
        {"realtime": {"provisioning": {"url": url, "headers": {"X-Device-Token": TOKEN}}}}
    )


def test_the_redirect_decision():
    same = "https://keys.example.com/a"
    assert redirect_refusal(same, "https://keys.example.com:443/b?x=1") is None
    assert redirect_refusal("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b") is None
    assert "plain http" in redirect_refusal(same, "http://keys.example.com/a")
    assert "another host" in redirect_refusal(same, "https://evil.example.com/a")
    assert "another host" in redirect_refusal(same, "https://keys.example.com:8443/a")
    assert "another host" in redirect_refusal("http://h/a", "https://h/a")  # another port
    assert redirect_refusal(same, "file:///etc/appliance/openai.key") is not None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_provisioning_redirect_to_another_host_sends_nothing_there(status):
    async def main() -> None:
        async with Server("127.0.0.2", _key) as other:
            target = f"{other.url}/key?token=stolen-on-the-way"
            async with Server("127.0.0.1", _redirect(status, target)) as first:
                fetcher = KeyFetcher(_provisioning(f"{first.url}/key"))
                with pytest.raises(KeySourceError) as caught:
                    await fetcher.fetch(Provision())
        message = str(caught.value)
        assert other.seen == [] and len(first.seen) == 1
        assert caught.value.retryable is False
        assert f"provisioning URL {first.url}/key redirected to {other.url}/key" in message
        assert "token=***" in message and "not followed" in message
        assert "stolen" not in message and TOKEN not in message

    asyncio.run(main())


def test_a_same_origin_redirect_is_followed_and_the_error_names_where_it_led():
    async def main() -> None:
        def answer(request: web.Request) -> web.Response:
            if request.path == "/old":
                return web.Response(status=308, headers={"Location": "/new"})
            return web.Response(status=503, text="down")

        async with Server("127.0.0.1", answer) as server:
            fetcher = KeyFetcher(_provisioning(f"{server.url}/old"))
            with pytest.raises(KeySourceError) as caught:
                await fetcher.fetch(Provision())
        assert [s["path"] for s in server.seen] == ["/old", "/new"]
        assert server.seen[1]["method"] == "POST"  # 308 keeps the method
        assert server.seen[1]["headers"]["X-Device-Token"] == TOKEN
        assert f"{server.url}/old (redirected to {server.url}/new) answered HTTP 503" in str(
            caught.value
        )

    asyncio.run(main())


def test_a_same_origin_redirect_gives_the_key():
    async def main() -> None:
        def answer(request: web.Request) -> web.Response:
            if request.path == "/key":
                return web.Response(status=302, headers={"Location": "/key/"})
            return _key(request)

        async with Server("127.0.0.1", answer) as server:
            key = await KeyFetcher(_provisioning(f"{server.url}/key")).fetch(Provision())
        assert key.value == "ek_provisioned_123"
        assert [(s["method"], s["path"]) for s in server.seen] == [
            ("POST", "/key"),
            ("GET", "/key/"),
        ]

    asyncio.run(main())


def test_a_redirect_loop_ends_after_the_limit():
    async def main() -> None:
        async with Server("127.0.0.1", _redirect(307, "/key")) as server:
            with pytest.raises(KeySourceError, match="redirected more than") as caught:
                await KeyFetcher(_provisioning(f"{server.url}/key")).fetch(Provision())
        assert len(server.seen) == MAX_REDIRECTS + 1
        assert caught.value.retryable is False

    asyncio.run(main())


def test_a_key_endpoint_redirect_to_another_host_gets_no_api_key():
    async def main() -> None:
        async with Server("127.0.0.2", _key) as other:
            location = f"{other.url}/v1/realtime/client_secrets"
            async with Server("127.0.0.1", _redirect(307, location)) as first:
                config = validate({"openai": {"api_base": first.url, "key": "sk-real-key-0001"}})
                with pytest.raises(KeySourceError) as caught:
                    await KeyFetcher(config).fetch(Mint("ga", config.realtime.config))
        assert other.seen == [] and len(first.seen) == 1
        assert "key endpoint" in str(caught.value) and "not followed" in str(caught.value)
        assert caught.value.retryable is False

    asyncio.run(main())


def test_a_webhook_redirect_to_another_host_is_an_error_for_the_model():
    async def main() -> dict[str, Any]:
        async with Server("127.0.0.2", lambda r: web.json_response({"ok": 1})) as other:
            first = Server("127.0.0.1", _redirect(307, f"{other.url}/f"))
            async with first:
                runner = FunctionRunner(WebhookHandler(url=f"{first.url}/f", timeout_s=5))
                result = await runner.call("weather", '{"city": "Oslo"}')
        assert other.seen == [] and len(first.seen) == 1
        return result

    result = asyncio.run(main())
    assert set(result) == {"error"} and "not followed" in result["error"]


def test_a_webhook_same_origin_redirect_is_followed():
    async def main() -> dict[str, Any]:
        def answer(request: web.Request) -> web.Response:
            if request.path == "/f":
                return web.Response(status=307, headers={"Location": "/g"})
            return web.json_response({"temperature": 21})

        async with Server("127.0.0.1", answer) as server:
            runner = FunctionRunner(WebhookHandler(url=f"{server.url}/f", timeout_s=5))
            result = await runner.call("weather", '{"city": "Oslo"}')
        assert server.seen[1]["body"] == server.seen[0]["body"]  # 307 keeps the body
        return result

    assert asyncio.run(main()) == {"temperature": 21}
