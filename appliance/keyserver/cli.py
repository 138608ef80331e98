"""``appliance keyserver ...``: serve, check the configuration, manage devices, show usage.

::

    appliance keyserver serve --config FILE [--listen HOST:PORT]
    appliance keyserver config validate FILE
    appliance keyserver migrate --config FILE
    appliance keyserver device add NAME --config FILE [--group G]      # prints the token last
    appliance keyserver device list --config FILE [--json]
    appliance keyserver device revoke NAME --config FILE
    appliance keyserver device rotate NAME --config FILE [--group G]   # prints the token last
    appliance keyserver usage --config FILE [--day YYYY-MM-DD] [--device NAME] [--json]

Exit codes: 0 success, 1 the command failed (database unavailable, no such device), 2 bad
usage or an invalid configuration. The default config file is
``$APPLIANCE_KEYSERVER_CONFIG`` or ``/etc/appliance-keyserver/keyserver.toml``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from appliance.config.messages import ConfigError
from appliance.keyserver import config as cfgmod

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_CONFIG = Path("/etc/appliance-keyserver/keyserver.toml")
MISSING_EXTRA = (
    "the key server needs its extra dependencies: pip install 'appliance[server]' ({name} is "
    "missing)"
)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from appliance.keyserver.devices import DeviceError
    from appliance.keyserver.store import SchemaMismatch, StoreUnavailable

    try:
        return args.func(args)
    except ConfigError as exc:
        problems = exc.problems
        if len(problems) > 1:
            print(f"error: {exc}" + "".join(f"\n  - {p}" for p in problems), file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DeviceError, SchemaMismatch) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except StoreUnavailable as exc:
        print(f"error: the database is unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ModuleNotFoundError as exc:
        if exc.name in ("prometheus_client", "psycopg"):
            print(f"error: {MISSING_EXTRA.format(name=exc.name)}", file=sys.stderr)
            return EXIT_FAILED
        raise
    except KeyboardInterrupt:
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appliance keyserver",
        description="The key server: the real API key on one server, ephemeral keys for devices.",
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    def config_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            type=Path,
            help=f"config file (default: $APPLIANCE_KEYSERVER_CONFIG or {DEFAULT_CONFIG})",
        )

    serve = sub.add_parser("serve", help="run the HTTP server")
    config_opt(serve)
    serve.add_argument("--listen", help="HOST:PORT, overrides keyserver.listen (port 0: any)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    serve.set_defaults(func=cmd_serve)

    config = sub.add_parser("config", help="check the configuration")
    csub = config.add_subparsers(metavar="ACTION")
    validate = csub.add_parser("validate", help="check a config file (exit 0 or 2)")
    validate.add_argument("file", type=Path)
    validate.set_defaults(func=cmd_validate)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    config_opt(migrate)
    migrate.set_defaults(func=cmd_migrate)

    device = sub.add_parser("device", help="enrol, list, revoke devices; rotate their tokens")
    dsub = device.add_subparsers(metavar="ACTION")
    add = dsub.add_parser("add", help="enrol a device; prints its token (once) on the last line")
    add.add_argument("name")
    config_opt(add)
    add.add_argument("--group", default=cfgmod.DEFAULT_GROUP, help="its group (default: default)")
    add.set_defaults(func=cmd_device_add)
    listing = dsub.add_parser("list", help="the enrolled devices")
    config_opt(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_device_list)
    revoke = dsub.add_parser("revoke", help="refuse a device's token from now on")
    revoke.add_argument("name")
    config_opt(revoke)
    revoke.set_defaults(func=cmd_device_revoke)
    rotate = dsub.add_parser("rotate", help="a new token for a device; prints it on the last line")
    rotate.add_argument("name")
    config_opt(rotate)
    rotate.add_argument("--group", help="also move it to this group")
    rotate.set_defaults(func=cmd_device_rotate)

    usage = sub.add_parser("usage", help="sessions, minutes, tokens and estimated cost per day")
    config_opt(usage)
    usage.add_argument("--day", type=_day, help="YYYY-MM-DD (UTC; default: every day)")
    usage.add_argument("--device", help="one device")
    usage.add_argument("--json", action="store_true")
    usage.set_defaults(func=cmd_usage)
    return parser


def _day(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _config(args: argparse.Namespace) -> cfgmod.KeyServerConfig:
    path = args.config or Path(os.environ.get("APPLIANCE_KEYSERVER_CONFIG") or DEFAULT_CONFIG)
    return cfgmod.load(path)


def _store(config: cfgmod.KeyServerConfig, *, check: bool = True):  # type: ignore[no-untyped-def]
    from appliance.keyserver.store import Store

    store = Store(config.database.url, timeout=config.database.timeout)
    if check:
        store.check_schema()
    return store


def _group(config: cfgmod.KeyServerConfig, group: str) -> str:
    if group not in config.groups:
        known = ", ".join(sorted(config.groups))
        raise ConfigError(f"--group {group!r}: no [groups.{group}] in the config (known: {known})")
    return group


def setup_logging(level: str) -> None:
    """Plain lines for the server's own log, the access log's JSON lines as they are."""
    from appliance.logguard import GuardedStreamHandler

    plain = GuardedStreamHandler(sys.stderr)
    plain.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [plain]
    root.setLevel(level)
    access = logging.getLogger("appliance.keyserver.access")
    json_lines = logging.StreamHandler(sys.stderr)
    json_lines.setFormatter(logging.Formatter("%(message)s"))
    access.handlers[:] = [json_lines]
    access.propagate = False
    access.setLevel(logging.INFO)
    for noisy in ("aiohttp", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    problems = cfgmod.problems(config)
    if problems:
        raise ConfigError(problems[0] if len(problems) == 1 else "problems", problems)
    from appliance.keyserver.serve import serve  # the server extra's imports, first

    setup_logging(args.log_level)
    return asyncio.run(serve(config, args.listen))


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        config = cfgmod.load(args.file)
    except ConfigError as exc:
        raise ConfigError(f"{args.file}: {exc}", exc.problems) from None
    problems = cfgmod.problems(config)
    if problems:
        many = f"{len(problems)} problems" if len(problems) > 1 else problems[0]
        raise ConfigError(f"{args.file}: {many}", problems)
    print(f"{args.file}: valid")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    store = _store(_config(args), check=False)
    try:
        applied = store.migrate()
        for migration in applied:
            print(f"applied {migration.version}: {migration.what}")
        print(f"{store.where}: schema version {store.version()}")
    finally:
        store.close()
    return EXIT_OK


def cmd_device_add(args: argparse.Namespace) -> int:
    from appliance.keyserver import devices

    config = _config(args)
    store = _store(config)
    token = devices.add(store, args.name, _group(config, args.group), config.limits.burst)
    print(f"enrolled {args.name} (group {args.group}); its token, shown this once:")
    print(token)
    return EXIT_OK


def cmd_device_list(args: argparse.Namespace) -> int:
    from appliance.keyserver import devices

    found = devices.listing(_store(_config(args)))
    if args.json:
        print(json.dumps([asdict(d) for d in found], indent=2))
        return EXIT_OK

    def when(stamp: float | None) -> str:
        if stamp is None:
            return "-"
        return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M")

    rows = [("name", "group", "state", "enrolled", "rotated")] + [
        (
            d.name,
            d.group,
            "revoked" if d.revoked else "active",
            when(d.created_at),
            when(d.rotated_at),
        )
        for d in found
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def cmd_device_revoke(args: argparse.Namespace) -> int:
    from appliance.keyserver import devices

    devices.revoke(_store(_config(args)), args.name)
    print(f"revoked {args.name}: its token is refused from now on")
    return EXIT_OK


def cmd_device_rotate(args: argparse.Namespace) -> int:
    from appliance.keyserver import devices

    config = _config(args)
    group = None if args.group is None else _group(config, args.group)
    token = devices.rotate(_store(config), args.name, group)
    print(f"new token for {args.name} (the old one no longer works), shown this once:")
    print(token)
    return EXIT_OK


def cmd_usage(args: argparse.Namespace) -> int:
    from appliance.keyserver import usage

    config = _config(args)
    lines = usage.summary(_store(config), config.prices, day=args.day, device=args.device)
    if args.json:
        print(json.dumps({"currency": config.prices.currency, "days": [asdict(x) for x in lines]}))
    else:
        print(usage.format_table(lines, config.prices.currency))
    return EXIT_OK
