"""``appliance``: run the kiosk, configure it, and drive it over its control socket.

Exit codes: 0 success, 1 the command failed (e.g. not connected, no appliance running),
2 bad usage or an invalid configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from appliance import config as cfgmod
from appliance.logguard import GuardedStreamHandler

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sim":  # the simulator parses its own options
        from appliance.sim import main as sim_main

        return sim_main(argv[1:])
    if argv and argv[0] == "keyserver":  # the key server (appliance[server]) has its own CLI
        from appliance.keyserver.cli import main as keyserver_main

        return keyserver_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except cfgmod.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appliance",
        description="Realtime voice kiosk: press a button, talk to an AI voice.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(metavar="COMMAND")

    def config_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            type=Path,
            help="config file (default: $APPLIANCE_CONFIG or /etc/appliance/config.toml)",
        )

    def socket_opts(p: argparse.ArgumentParser) -> None:
        config_opt(p)
        p.add_argument("--socket", type=Path, help="control socket (default: from the config)")

    run = sub.add_parser("run", help="run the appliance (what systemd starts)")
    config_opt(run)
    run.add_argument("--audio-in", type=Path, help="WAV file used as the microphone")
    run.add_argument("--audio-out", type=Path, help="WAV file that receives everything played")
    run.add_argument("--display", choices=["fullscreen", "window", "none"], help="screen mode")
    run.add_argument("--socket", type=Path, help="control socket path (overrides the config)")
    run.add_argument("--auto-start", action="store_true", help="connect at once (autoStart)")
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(func=cmd_run)

    config = sub.add_parser("config", help="validate, show and edit the configuration")
    csub = config.add_subparsers(metavar="ACTION")
    validate = csub.add_parser("validate", help="check a config file (exit 0 or 2)")
    validate.add_argument("file", type=Path)
    validate.add_argument(
        "--strict",
        action="store_true",
        help="keys the appliance ignores and images it refuses are errors, not warnings",
    )
    validate.set_defaults(func=cmd_config_validate)
    show = csub.add_parser("show", help="print the effective config, secrets redacted")
    config_opt(show)
    show.set_defaults(func=cmd_config_show)
    schema = csub.add_parser("schema", help="print the JSON schema")
    schema.set_defaults(func=cmd_config_schema)
    get = csub.add_parser("get", help="print one value (dotted key)")
    config_opt(get)
    get.add_argument("key")
    get.add_argument("--reveal", action="store_true", help="print secrets instead of ***")
    get.set_defaults(func=cmd_config_get)
    set_ = csub.add_parser("set", help="set one value (validated, atomic)")
    config_opt(set_)
    set_.add_argument("key")
    set_.add_argument("value")
    set_.set_defaults(func=cmd_config_set)
    edit = csub.add_parser("edit", help="edit in $EDITOR; saved only if valid")
    config_opt(edit)
    edit.set_defaults(func=cmd_config_edit)
    diff = csub.add_parser(
        "diff", help="how a new config file applies: prints none, reload or restart"
    )
    diff.add_argument("old", type=Path, help="the running config (missing: restart)")
    diff.add_argument("new", type=Path)
    diff.set_defaults(func=cmd_config_diff)

    imp = csub.add_parser("import", help="merge a Deep Chat directConnection JSON")
    config_opt(imp)
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_config_import)
    config.set_defaults(func=lambda a: _help(config))

    for name, help_text in [
        ("status", "print the state as JSON"),
        ("start", "start a session"),
        ("stop", "stop the session"),
        ("toggle", "what the toggle button does"),
        ("mute", "mute the microphone"),
        ("unmute", "unmute the microphone"),
        ("reload", "re-read the config file (like SIGHUP)"),
    ]:
        p = sub.add_parser(name, help=help_text)
        socket_opts(p)
        p.set_defaults(func=cmd_simple, cmd=name)

    press = sub.add_parser("press", help="what the physical button does (no GPIO needed)")
    socket_opts(press)
    press.add_argument("--hold", action="store_true", help="a long press (default: mute)")
    press.set_defaults(func=cmd_press)

    say = sub.add_parser("say", help="send a message into the session (sendMessage)")
    socket_opts(say)
    say.add_argument("text")
    say.add_argument("--role", choices=["system", "user", "assistant"], default="system")
    say.add_argument(
        "--respond",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ask for a spoken response (default: only for --role user)",
    )
    say.set_defaults(func=cmd_say)

    volume = sub.add_parser("volume", help="print or change the output volume (0-100 %%)")
    socket_opts(volume)
    volume.add_argument(
        "change", nargs="?", help="N sets it, +N or -N moves it; none prints it (e.g. 30, -10)"
    )
    volume.set_defaults(func=cmd_volume)

    update = sub.add_parser("update-config", help="update the session config (updateConfig)")
    socket_opts(update)
    update.add_argument("json", help='e.g. \'{"instructions": "Answer in French"}\'')
    update.set_defaults(func=cmd_update_config)

    events = sub.add_parser("events", help="stream state changes, transcripts, errors")
    socket_opts(events)
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(func=cmd_events)

    snap = sub.add_parser("snapshot", help="save the current screen as PNG")
    socket_opts(snap)
    snap.add_argument("file", type=Path)
    snap.set_defaults(func=cmd_snapshot)

    devices = sub.add_parser("devices", help="list audio devices, marking the chosen ones")
    config_opt(devices)
    devices.add_argument(
        "--test-echo",
        action="store_true",
        help="play a chirp and a voice, report the echo's delay and what cancelling leaves",
    )
    devices.set_defaults(func=cmd_devices)

    sub.add_parser("sim", help="run the local realtime simulator (see `appliance sim --help`)")
    sub.add_parser("keyserver", help="the key server (see `appliance keyserver --help`)")
    return parser


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("appliance")
    except Exception:
        return "unknown"


# --- logging -----------------------------------------------------------------------------------


class _JournalFormatter(logging.Formatter):
    """``<N>message`` lines: journald reads the syslog priority prefix."""

    PRIORITY: ClassVar[dict[str, int]] = {
        "DEBUG": 7,
        "INFO": 6,
        "WARNING": 4,
        "ERROR": 3,
        "CRITICAL": 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITY.get(record.levelname, 6)}>{super().format(record)}"


def setup_logging(level: str) -> None:
    """The appliance's log: one line per record on stderr (the journal under systemd), each
    value capped, repeats summed up and secrets scrubbed (:mod:`appliance.logguard`)."""
    handler = GuardedStreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("websockets", "aiohttp", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


# --- run ---------------------------------------------------------------------------------------


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``appliance run``'s options as a config layer (kept by reloads, see config.load)."""
    overrides: dict[str, Any] = {}
    if args.display:
        overrides["display"] = {"mode": args.display}
    if args.socket:
        overrides["control"] = {"socket": str(args.socket)}
    if args.auto_start:
        overrides["realtime"] = {"auto_start": True}
    if args.log_level:
        overrides["logging"] = {"level": args.log_level}
    return overrides


def cmd_run(args: argparse.Namespace) -> int:
    overrides = run_overrides(args)
    config = cfgmod.load(args.config, overrides=overrides)
    _import_function_handler(config.realtime.config.function_handler)
    setup_logging(config.logging.level)
    for note in config.ignored_keys:  # a Deep Chat JSON's keys that do nothing here
        logging.getLogger("appliance").warning("config %s: %s", _config_path(args), note)
    from appliance.audio.backend import AudioError
    from appliance.service import run

    try:
        return run(
            config,
            config_path=args.config,
            overrides=overrides,
            audio_in=args.audio_in,
            audio_out=args.audio_out,
        )
    except AudioError as exc:
        print(f"error: audio: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _import_function_handler(spec: object) -> None:
    """Import ``function_handler`` now, before anything starts (the appliance would a moment
    later): one that cannot be imported, or whose module fails or exits while it is imported,
    is exit 2 naming the field, not a traceback, a silent exit 0 or a restart loop under
    systemd. Its module's own code runs here, as it would anyway."""
    if not isinstance(spec, str):
        return
    from appliance.functions import load_callable

    try:
        load_callable(spec)
    except ValueError as exc:
        raise cfgmod.ConfigError(str(exc)) from None


# --- config ------------------------------------------------------------------------------------


def cmd_config_validate(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.file, environ={})
    problems = []
    problem = cfgmod.handler_problem(config.realtime.config.function_handler)
    if problem:
        problems.append(problem)
    from appliance.audio.cues import cue_problems

    problems += cue_problems(config.audio.cues)  # a cue file that is missing or no WAV
    from appliance.imagesource import config_problems

    # what the appliance ignores or refuses (an image over the limits: the default is shown)
    ignored = config.ignored_keys + config_problems(config)
    if args.strict:
        problems += ignored
    if problems:
        head = f"{args.file}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise cfgmod.ConfigError(head + "".join(f"\n  - {p}" for p in problems), problems)
    _warn_ignored(args.file, ignored)
    print(f"{args.file}: valid")
    return EXIT_OK


def _warn_ignored(path: Path, ignored: list[str]) -> None:
    for note in ignored:
        print(f"warning: {path}: {note}", file=sys.stderr)


def cmd_config_show(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config)
    print(json.dumps(cfgmod.redacted(config), indent=2))
    return EXIT_OK


def cmd_config_schema(args: argparse.Namespace) -> int:
    print(json.dumps(cfgmod.schema(), indent=2))
    return EXIT_OK


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("APPLIANCE_CONFIG") or cfgmod.DEFAULT_CONFIG_PATH)


def cmd_config_get(args: argparse.Namespace) -> int:
    from appliance.config.edit import get_value

    value = get_value(_config_path(args), args.key, reveal=args.reveal)
    print(value if isinstance(value, str) else json.dumps(value, default=str))
    return EXIT_OK


def _previous(path: Path) -> cfgmod.AppConfig | None:
    try:
        return cfgmod.load(path, environ={})
    except cfgmod.ConfigError:
        return None


def _how_to_apply(old: cfgmod.AppConfig | None, new: cfgmod.AppConfig) -> str:
    """Say whether a change applies live (reload) or needs a restart."""

    restart = cfgmod.restart_needed(old, new) if old is not None else []
    if restart:
        return f"needs a restart for {', '.join(restart)}: `sudo systemctl restart appliance`"
    return "apply it with `appliance reload` (or `sudo systemctl reload appliance`)"


def cmd_config_set(args: argparse.Namespace) -> int:
    from appliance.config.edit import set_value

    path = _config_path(args)
    old = _previous(path)
    new = set_value(path, args.key, args.value)
    print(f"{args.key} set; {_how_to_apply(old, new)}")
    return EXIT_OK


def cmd_config_edit(args: argparse.Namespace) -> int:
    from appliance.config.edit import edit

    path = _config_path(args)
    old = _previous(path)
    if not edit(path):
        print("no changes")
        return EXIT_OK
    print(f"saved; {_how_to_apply(old, cfgmod.load(path, environ={}))}")
    return EXIT_OK


def cmd_config_diff(args: argparse.Namespace) -> int:
    """First line ``none``, ``reload`` or ``restart``; then the changed fields, one a line
    (names only: secrets are compared, never shown). Deployment tools (the Ansible role)
    pick their handler from the first line."""
    new = cfgmod.load(args.new, environ={})
    old = _previous(args.old) if args.old.exists() else None
    if old is None:
        print("restart")
        print(f"{args.old}: missing or not valid, so everything is new")
        return EXIT_OK
    changed = cfgmod.changed_fields(old, new)
    restart = cfgmod.restart_needed(old, new)
    print("restart" if restart else "reload" if changed else "none")
    for name in changed:
        print(f"{name}{' (restart)' if name in restart else ''}")
    return EXIT_OK


def cmd_config_import(args: argparse.Namespace) -> int:
    from appliance.config.edit import import_deepchat

    path = _config_path(args)
    old = _previous(path)
    new = import_deepchat(path, args.file)
    _warn_ignored(args.file, cfgmod.ignored_in(cfgmod.read_text(args.file), "x.json"))
    print(f"imported {args.file}; {_how_to_apply(old, new)}")
    return EXIT_OK


# --- control socket ----------------------------------------------------------------------------


def socket_path(args: argparse.Namespace) -> Path:
    if getattr(args, "socket", None):
        return args.socket
    if os.environ.get("APPLIANCE_SOCKET"):
        return Path(os.environ["APPLIANCE_SOCKET"])
    try:
        return cfgmod.load(getattr(args, "config", None)).control.socket
    except cfgmod.ConfigError:
        return cfgmod.ControlConfig().socket


def _send(args: argparse.Namespace, payload: dict[str, Any], shown: Any = None) -> int:
    from appliance.control import ControlClientError, request

    try:
        reply = request(socket_path(args), payload)
    except ControlClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not reply.pop("ok", False):
        print(f"error: {reply.get('error', 'failed')}", file=sys.stderr)
        return EXIT_FAILED
    if shown is not None:
        print(shown(reply))
        return EXIT_OK
    print(json.dumps(reply, indent=2 if payload["cmd"] == "status" else None))
    return EXIT_OK


def cmd_simple(args: argparse.Namespace) -> int:
    return _send(args, {"cmd": args.cmd})


def cmd_press(args: argparse.Namespace) -> int:
    return _send(args, {"cmd": "press", "hold": args.hold})


def cmd_say(args: argparse.Namespace) -> int:
    payload = {"cmd": "say", "text": args.text, "role": args.role, "respond": args.respond}
    return _send(args, payload)


def cmd_volume(args: argparse.Namespace) -> int:
    """Print the volume after the change (the number alone, for scripts)."""
    from appliance.audio.volume import parse_change

    if args.change is not None:
        try:
            parse_change(args.change, 0)  # the form only; the appliance applies it
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return _send(args, {"cmd": "volume", "change": args.change}, lambda reply: reply["volume"])


def cmd_update_config(args: argparse.Namespace) -> int:
    try:
        changes = json.loads(args.json)
    except ValueError as exc:
        print(f"error: not JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _send(args, {"cmd": "update-config", "config": changes})


def cmd_snapshot(args: argparse.Namespace) -> int:
    """The appliance sends the PNG; this command writes it, as the user who runs it, whole or
    not at all (a full disk leaves no file, or the old one untouched)."""
    import base64

    from appliance.control import ControlClientError, request
    from appliance.files import write_atomic

    try:
        reply = request(socket_path(args), {"cmd": "snapshot"})
    except ControlClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not reply.get("ok"):
        print(f"error: {reply.get('error', 'failed')}", file=sys.stderr)
        return EXIT_FAILED
    path = args.file.expanduser().absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, base64.b64decode(reply["png"]))
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"path": str(path)}))
    return EXIT_OK


def cmd_events(args: argparse.Namespace) -> int:
    from appliance.control import ControlClientError, stream

    try:
        for event in stream(socket_path(args), {"cmd": "events"}):
            if args.json:
                print(json.dumps(event), flush=True)
            else:
                print(format_event(event), flush=True)
    except ControlClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def format_event(event: dict[str, Any]) -> str:
    """One human-readable line for an event."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", time.time())))
    kind = event.get("type", "?")
    if kind == "subscribed":
        return f"{stamp} connected to the appliance: state {event.get('state')}"
    if kind == "state":
        extra = f" ({event['error']})" if event.get("error") else ""
        return (
            f"{stamp} state {event.get('state')}{' [muted]' if event.get('muted') else ''}{extra}"
        )
    if kind == "transcript":
        return f"{stamp} {event.get('role')}: {event.get('text')}"
    if kind == "function_call":
        return (
            f"{stamp} function {event.get('name')}({event.get('arguments')})"
            f" -> {json.dumps(event.get('output'))}"
        )
    if kind == "error":
        return f"{stamp} {'error' if event.get('fatal') else 'warning'}: {event.get('message')}"
    if kind == "interrupted":
        return f"{stamp} interrupted at {event.get('audio_end_ms')} ms"
    if kind == "stopped" and event.get("reason"):
        return f"{stamp} stopped ({event['reason']})"
    if kind == "wake":
        return f"{stamp} wake word heard: {event.get('word')}"
    return f"{stamp} {kind}"


def cmd_devices(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config)
    try:
        from appliance.audio.devices import format_devices
    except ImportError as exc:
        print(f"error: PyAudio is not available: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(format_devices(config.audio))
    if getattr(args, "test_echo", False):
        from appliance.audio.backend import AudioError
        from appliance.audio.echotest import test_echo

        print()
        try:
            print(test_echo(config.audio).report())
        except (AudioError, RuntimeError) as exc:
            print(f"error: echo test: {exc}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
