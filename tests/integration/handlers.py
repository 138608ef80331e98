"""Function handlers the integration tests configure (``handlers:get_weather``)."""

import asyncio
import json
import sys


def get_weather(call: dict) -> dict:
    """A sync handler, called like Deep Chat's function_handler({name, arguments})."""
    args = json.loads(call["arguments"])
    if call["name"] == "explode":
        raise RuntimeError("the weather station is on fire")
    return {"city": args.get("city"), "temperature": 21, "unit": "celsius", "name": call["name"]}


async def get_weather_async(call: dict) -> dict:
    await asyncio.sleep(0)
    return get_weather(call)


def exits(call: dict) -> dict:
    """A handler that ends the process instead of answering (it must not: see functions.py)."""
    sys.exit(0)
