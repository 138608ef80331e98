"""appliance/httpclient.py: aiohttp on first use, whole even after a cancelled import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap


def test_a_cancelled_first_import_leaves_the_next_call_a_whole_module():
    # in a fresh interpreter: aiohttp must not be imported yet
    script = textwrap.dedent(
        """
        import asyncio, sys
        from appliance import httpclient

        async def main():
            first = asyncio.ensure_future(httpclient.aiohttp())
            while "aiohttp" not in sys.modules:  # the worker thread has begun the import
                await asyncio.sleep(0)
            first.cancel()
            module = await httpclient.aiohttp()
            assert hasattr(module, "ClientTimeout") and hasattr(module, "ClientSession")
            print("whole")

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "whole"


def test_later_calls_return_the_same_module():
    from appliance import httpclient

    async def twice():
        return await httpclient.aiohttp(), await httpclient.aiohttp()

    first, second = asyncio.run(twice())
    assert first is second and first.__name__ == "aiohttp"
