"""``python -m appliance.sim`` / ``appliance sim``: run the simulator until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from appliance.sim.server import Simulator


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="appliance sim",
        description="A local stand-in for the OpenAI Realtime API (GA and beta), with key "
        "endpoints, a provisioning URL and scriptable faults.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--api-key", default="sk-sim-local", help="the API key that mints ephemeral keys"
    )
    parser.add_argument(
        "--provision-token", default=None, help="bearer token /provision requires (default none)"
    )
    parser.add_argument(
        "--key-ttl", type=float, default=60.0, help="seconds an ephemeral key lives"
    )
    parser.add_argument(
        "--answer-seconds", type=float, default=1.5, help="length of a spoken answer"
    )
    parser.add_argument(
        "--refuse-beta",
        action="store_true",
        help="refuse beta connections (error beta_api_shape_disabled, close code 4000)",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator with parsed ``args`` until a stop signal."""
    sim = Simulator(
        api_key=args.api_key,
        provision_token=args.provision_token,
        key_ttl=args.key_ttl,
        answer_seconds=args.answer_seconds,
        refuse_beta=args.refuse_beta,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await sim.start(args.host, args.port)
    print(f"appliance-sim listening on {sim.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    level = getattr(logging, str(args.log_level).upper(), None)
    if not isinstance(level, int):
        print(f"appliance sim: unknown log level {args.log_level!r}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"appliance sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
