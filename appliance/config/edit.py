"""Safe editing of the configuration file: ``appliance config get/set/unset/edit/import``.

Every change is validated with :mod:`appliance.config` before it touches the file, and
written atomically: a temporary file in the same directory, ``fsync``, ``rename`` over the old
file, ``fsync`` of the directory. The file keeps its owner, group and mode. A typo therefore
never leaves a broken or half-written configuration behind, and a power cut leaves either the
old file or the new one. Writers are serialised by an ``fcntl`` lock on a lock file next to
the configuration (``.config.toml.lock``), so concurrent ``appliance config set`` runs never
lose each other's changes.

TOML files stay TOML and JSON files stay JSON. For a TOML file, ``set`` and ``unset`` change
only the line of the key (a commented-out ``# key = ...`` line of the sample config is
replaced in place), so comments are kept; when a change cannot be made that way (a whole
table, a value spread over several lines), the file is rewritten and its comments are lost.
``edit`` keeps the text exactly as written in the editor. A Deep Chat ``directConnection``
JSON file is rewritten in the appliance's own shape on the first change.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import logging
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, SecretStr

from appliance import config as cfg
from appliance.config import AppConfig, ConfigError
from appliance.config.models import name_key
from appliance.files import CONFIG_LIMIT, FileRefused, read_small
from appliance.redaction import mask_url

log = logging.getLogger(__name__)

SERVICE_GROUP = "appliance"
"""Group given to a configuration file created by root, so that the service can read it."""

# --- reading -----------------------------------------------------------------------------------


def get_value(path: Path, key: str, *, reveal: bool = False) -> Any:
    """The value of a dotted ``key`` (``realtime.config.voice``) in the file at ``path``.

    Unset fields give their default. Sections come back as dicts. Secrets (API key, ephemeral
    key, provisioning headers and body) come back as ``***`` unless ``reveal=True``.
    Environment overrides are not applied: this is what the file says.
    """
    config = cfg.load(path, environ={})
    node: Any = config
    done: list[str] = []
    secret = False
    for part in _split(key):
        node, secret = _child(node, part, done, secret)
        done.append(part)
    return _plain(node, reveal=reveal, secret=secret)


def _child(node: Any, part: str, done: list[str], secret: bool) -> tuple[Any, bool]:
    where = ".".join(done) or "(top level)"
    if isinstance(node, BaseModel):
        name = _field_name(type(node), part)
        if name is None:
            raise ConfigError(_unknown(type(node), part, done))
        is_secret = secret or (
            isinstance(node, cfg.ProvisioningConfig) and name in ("headers", "body")
        )
        return getattr(node, name), is_secret
    if isinstance(node, dict):
        for k, v in node.items():
            if k == part or name_key(k) == name_key(part):
                return v, secret
        raise ConfigError(f"{_join(done, part)}: not set in {where}")
    if isinstance(node, list | tuple) and part.lstrip("-").isdigit():
        try:
            return node[int(part)], secret
        except IndexError:
            raise ConfigError(f"{_join(done, part)}: {where} has {len(node)} items") from None
    raise ConfigError(f"{_join(done, part)}: {where} is a single value, not a section")


def _plain(value: Any, *, reveal: bool, secret: bool = False) -> Any:
    """Plain JSON-like data from config objects, with secrets redacted unless ``reveal``."""
    if isinstance(value, SecretStr):
        return value.get_secret_value() if reveal else cfg.REDACTED
    if secret and not reveal and value is not None:
        if isinstance(value, dict):
            return {k: cfg.REDACTED for k in value}
        return cfg.REDACTED
    if isinstance(value, BaseModel):
        out = {}
        for name in type(value).model_fields:
            child_secret = secret or (
                isinstance(value, cfg.ProvisioningConfig) and name in ("headers", "body")
            )
            out[name] = _plain(getattr(value, name), reveal=reveal, secret=child_secret)
        for name, extra in (value.model_extra or {}).items():
            out[name] = _plain(extra, reveal=reveal)
        return out
    if isinstance(value, dict):
        return {k: _plain(v, reveal=reveal) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, reveal=reveal) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and not reveal:
        return mask_url(value)  # credentials inside a URL: user:pass@, ?token=
    return value


# --- changing ----------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A command-line value: a TOML value (``17``, ``true``, ``[1, 2]``, ``{url = "..."}``),
    else JSON, else the text itself as a string."""
    with contextlib.suppress(tomllib.TOMLDecodeError):
        return tomllib.loads(f"v = {text}")["v"]
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return text


def set_value(path: Path, key: str, value: str) -> AppConfig:
    """Set the dotted ``key`` to ``value`` (parsed by :func:`parse_value`) and save the file.

    The whole resulting configuration is validated first; on error :class:`ConfigError` names
    the field and the fix and the file is left byte-for-byte as it was. The value ``null``
    removes the key (the default applies again). Creates the file when it is missing.
    Returns the new configuration.
    """
    parsed = parse_value(value) if isinstance(value, str) else value
    if parsed is None:
        return unset_value(path, key)
    parts = _split(key)
    return _update(path, lambda data: _set_in(data, parts, parsed), key=parts)


def unset_value(path: Path, key: str) -> AppConfig:
    """Remove the dotted ``key`` from the file, so that its default applies again."""
    parts = _split(key)

    def change(data: dict[str, Any]) -> None:
        parent, leaf = _walk(data, parts, create=False)
        if parent is None or leaf is None:
            raise ConfigError(f"{'.'.join(parts)}: not set in the file; nothing to remove")
        if isinstance(parent, list):
            del parent[int(leaf)]
        else:
            del parent[leaf]

    return _update(path, change, key=parts, unset=True)


def import_deepchat(path: Path, json_path: Path) -> AppConfig:
    """Merge a Deep Chat ``directConnection`` JSON (or its ``openAI`` object) into the file.

    Its ``key`` becomes ``openai.key`` and its ``realtime`` object ``[realtime]``; the rest of
    the file is kept. Validated like every change; the file is rewritten (comments are lost).
    """
    try:
        text = cfg.read_text(Path(json_path))
    except FileNotFoundError:
        raise ConfigError(f"{json_path}: no such file") from None
    try:
        incoming = cfg.from_deepchat(cfg.parse_text(text, fmt="json"))
    except ConfigError as exc:
        raise ConfigError(f"{json_path}: {exc}") from None

    def change(data: dict[str, Any]) -> None:
        merged = cfg.merge(data, incoming)
        data.clear()
        data.update(merged)

    return _update(path, change, key=None)


def edit(path: Path, editor: str | None = None, *, interactive: bool | None = None) -> bool:
    """Edit the file with ``editor`` (default ``$VISUAL``/``$EDITOR``/``nano``/``vi``) safely.

    The editor works on a private copy; the file is replaced only when the copy is valid.
    When it is not, the problems are shown and, if ``interactive`` (default: stdin is a
    terminal), you are asked whether to edit again; otherwise :class:`ConfigError` is raised
    and the file is left as it was. Returns True if the file was changed, False if the copy
    was saved unchanged (or editing was abandoned).
    """
    path = _target(path)
    if interactive is None:
        interactive = sys.stdin.isatty()
    command = shlex.split(editor or _default_editor())
    original = _read(path) or b""
    workdir = Path(tempfile.mkdtemp(prefix="appliance-edit-"))  # mode 0700: the copy may hold keys
    copy = workdir / path.name
    try:
        copy.write_bytes(original)
        copy.chmod(0o600)
        while True:
            try:
                result = subprocess.run([*command, str(copy)], check=False)
            except OSError as exc:
                raise ConfigError(
                    f"cannot run the editor {command[0]!r} ({exc.strerror}); "
                    "set $EDITOR or pass one"
                ) from None
            if result.returncode != 0:
                raise ConfigError(
                    f"the editor exited with status {result.returncode}; {path} is unchanged"
                )
            text = copy.read_bytes()
            if text == original:
                return False
            try:
                _validate_text(path, text.decode("utf-8"))
            except (ConfigError, UnicodeDecodeError) as exc:
                message = str(exc) if isinstance(exc, ConfigError) else "not UTF-8 text"
                if not interactive:
                    raise ConfigError(f"{message}\n{path} is unchanged") from None
                print(message, file=sys.stderr)
                if not _ask("Edit again? [Y/n] "):
                    print(f"{path} is unchanged", file=sys.stderr)
                    return False
                continue
            with _locked(path):
                now = _read(path) or b""
                if now != original:
                    raise ConfigError(
                        f"{path} was changed by someone else while you were editing; "
                        "your edit was not saved (run edit again)"
                    )
                _write_atomic(path, text.decode("utf-8"))
            return True
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- the read-validate-write cycle -------------------------------------------------------------


def _update(
    path: Path,
    change: Callable[[dict[str, Any]], None],
    *,
    key: list[str] | None,
    unset: bool = False,
) -> AppConfig:
    path = _target(path)
    with _locked(path):
        raw_bytes = _read(path)
        try:
            text = None if raw_bytes is None else raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                f"{path}: not UTF-8 text; fix it with `appliance config edit`"
            ) from None
        fmt = cfg.guess_format(path, text or "")
        raw = cfg.parse_text(text, fmt=fmt) if text and text.strip() else {}
        dropped: list[str] = []
        data = cfg.from_deepchat(raw, ignored=dropped)
        converted = data is not raw
        if converted:
            log.info("%s: Deep Chat JSON rewritten in the appliance's own shape", path)
            for note in dropped:  # they did nothing; the rewritten file no longer holds them
                log.warning("%s: left out of the rewritten file: %s", path, note)
        data = json.loads(json.dumps(data))  # a private deep copy
        change(data)
        config = cfg.validate(data, source=str(path))  # first: a refused change costs little
        new_text = _render(data, fmt)
        if fmt == "toml" and text and key and not converted:
            new_text = _edit_toml_lines(text, data, key, unset=unset) or new_text
        _write_atomic(path, new_text, secret=_holds_secret(config))
        return config


def _validate_text(path: Path, text: str) -> AppConfig:
    data = cfg.from_deepchat(cfg.parse_text(text, fmt=cfg.guess_format(path, text)))
    return cfg.validate(data, source=str(path), text=text)


def _render(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        return tomli_w.dumps(_drop_none(data))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot be written as TOML: {exc}") from None


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if any(v is None for v in value):
            raise ConfigError("a list cannot hold null in a TOML file")
        return [_drop_none(v) for v in value]
    return value


def _holds_secret(config: AppConfig) -> bool:
    prov = config.realtime.provisioning
    return bool(
        config.openai.key
        or config.realtime.ephemeral_key
        or (prov is not None and (prov.headers or prov.body))
    )


# --- key paths ---------------------------------------------------------------------------------


def _split(key: str) -> list[str]:
    parts = [p.strip() for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise ConfigError(f"{key!r}: not a key; use dotted names like realtime.config.voice")
    return parts


def _join(done: list[str], part: str) -> str:
    return ".".join([*done, part])


def _field_name(model: type[BaseModel], part: str) -> str | None:
    for name, field in model.model_fields.items():
        if name_key(name) == name_key(part) or (
            field.alias and name_key(field.alias) == name_key(part)
        ):
            return name
    return None


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _unknown(model: type[BaseModel], part: str, done: list[str]) -> str:
    import difflib

    names = sorted(model.model_fields)
    close = difflib.get_close_matches(name_key(part), names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(names)}"
    return f"{_join(done, part)}: unknown field; {hint}"


def _walk(
    data: dict[str, Any], parts: list[str], *, create: bool
) -> tuple[dict[str, Any] | list[Any] | None, str | None]:
    """The container holding the last part of ``parts`` and the key to use in it.

    Existing keys are matched whatever their spelling (camelCase, snake_case, the Deep Chat
    alias); new keys get the field's snake_case name.
    """
    node: Any = data
    model: type[BaseModel] | None = AppConfig
    done: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{_join(done, part)}: {'.'.join(done)} has {len(node)} items")
            key: Any = int(part)
        elif isinstance(node, dict):
            key = _existing_key(node, part, model)
            if key is None:
                name = _field_name(model, part) if model is not None else None
                key = name or part
                if not create:
                    return None, None
                if not last:
                    node[key] = {}
        else:
            raise ConfigError(
                f"{_join(done, part)}: {'.'.join(done)} is a single value, not a section"
            )
        if model is not None and not isinstance(node, list):
            name = _field_name(model, str(key))
            model = _submodel(model.model_fields[name].annotation) if name else None
        if last:
            return node, str(key)
        if create and not isinstance(node[key], dict | list):
            raise ConfigError(
                f"{_join(done, part)} is a single value, not a section; "
                f"unset it first to use {'.'.join(parts)}"
            )
        node = node[key]
        done.append(part)
    return None, None


def _existing_key(node: dict[str, Any], part: str, model: type[BaseModel] | None) -> str | None:
    wanted = {name_key(part)}
    if model is not None and (name := _field_name(model, part)):
        field = model.model_fields[name]
        wanted |= {name_key(name), name_key(field.alias or name)}
    for existing in node:
        if name_key(existing) in wanted:
            return existing
    return None


def _set_in(data: dict[str, Any], parts: list[str], value: Any) -> None:
    parent, leaf = _walk(data, parts, create=True)
    assert parent is not None and leaf is not None
    if isinstance(parent, list):
        parent[int(leaf)] = value
    else:
        parent[leaf] = value


# --- comment-keeping TOML edits ----------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _edit_toml_lines(
    text: str, data: dict[str, Any], parts: list[str], *, unset: bool
) -> str | None:
    """``text`` with only the changed key's lines edited, or None when that cannot be done.

    A candidate is used only if it parses to exactly ``data``; otherwise the caller rewrites
    the whole file.
    """
    node: Any = data
    names: list[str] = []
    for part in parts:  # the keys as spelled in the data
        if not isinstance(node, dict):
            return None
        key = next((k for k in node if name_key(k) == name_key(part)), part if unset else None)
        if key is None:
            return None
        names.append(key)
        node = node.get(key)
    if not all(_BARE.match(n) for n in names):
        return None
    for candidate in _candidates(text.splitlines(), names, node, unset=unset):
        new_text = "\n".join(candidate).rstrip("\n") + "\n"
        try:
            if tomllib.loads(new_text) == data:
                return new_text
        except tomllib.TOMLDecodeError:
            continue
    return None


def _candidates(
    lines: list[str], names: list[str], value: Any, *, unset: bool
) -> Iterator[list[str]]:
    """Possible edited versions of ``lines``, best first."""
    table, leaf = names[:-1], names[-1]
    start, end = _table_region(lines, table)
    active = re.compile(rf"^\s*{re.escape(leaf)}\s*=")
    hit = (
        None
        if start is None
        else next((i for i in range(start, end) if active.match(lines[i])), None)
    )
    if unset:
        if hit is not None:
            yield [*lines[:hit], *lines[hit + 1 :]]
        return
    if value is None:
        return
    nested: Any = value
    for name in reversed(names):
        nested = {name: nested}
    appended = [*lines, "", *tomli_w.dumps(nested).splitlines()]
    if start is None or (isinstance(value, dict) and hit is None):
        yield appended  # a new table at the end
        return
    if isinstance(value, dict):
        return
    value_lines = tomli_w.dumps({leaf: value}).splitlines()
    if hit is not None:
        comment = re.search(r"\s+#[^\"']*$", lines[hit])
        if comment and len(value_lines) == 1:
            yield [*lines[:hit], value_lines[0] + comment.group(0), *lines[hit + 1 :]]
        yield [*lines[:hit], *value_lines, *lines[hit + 1 :]]
        return
    commented = re.compile(rf"^\s*#\s*{re.escape(leaf)}\s*=")
    sample = next((i for i in range(start, end) if commented.match(lines[i])), None)
    if sample is not None:  # a commented-out sample line: fill it in
        yield [*lines[:sample], *value_lines, *lines[sample + 1 :]]
    body = [
        i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")
    ]
    at = body[-1] + 1 if body else start
    yield [*lines[:at], *value_lines, *lines[at:]]


def _table_region(lines: list[str], table: list[str]) -> tuple[int | None, int]:
    """Line range ``[start, end)`` of the body of ``[table]`` (the top of the file for the
    root table); ``start`` is None when the file has no such header."""
    header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    any_header = re.compile(r"^\s*\[")
    start: int | None = None
    if not table:
        start = 0
    else:
        for i, line in enumerate(lines):
            m = header.match(line)
            if m and [p.strip() for p in m.group(1).split(".")] == table:
                start = i + 1
                break
        if start is None:
            return None, 0
    end = next((i for i in range(start, len(lines)) if any_header.match(lines[i])), len(lines))
    return start, end


# --- files -------------------------------------------------------------------------------------


def _target(path: Path) -> Path:
    """The real file behind ``path`` (a symlinked config is edited where it lives)."""
    return Path(os.path.realpath(path))


def _read(path: Path) -> bytes | None:
    """The configuration file's bytes, or None when there is none. Only a regular file of at
    most :data:`~appliance.files.CONFIG_LIMIT` is read (see
    :func:`appliance.config.read_text`)."""
    try:
        return read_small(path, CONFIG_LIMIT, "a configuration file")
    except FileNotFoundError:
        return None
    except FileRefused as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); try with sudo") from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the configuration's lock file (``.<name>.lock`` next to it)."""
    lock = path.parent / f".{path.name}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        raise ConfigError(f"{path.parent}: no such directory; create it first") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror}); try with sudo") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the ``.<name>.XXXXXXXX.tmp`` files a writer killed before its rename left beside
    ``path`` (they may hold secrets, and nothing else would ever remove them).

    Called with the lock held: every writer holds it from its temporary file's creation to the
    rename, so any such file that exists now belongs to a writer that died.
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]+\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            stale = path.parent / name
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(stale).st_mode):
                    stale.unlink()
                    log.info("removed %s, left by an interrupted write", stale)


def _write_atomic(path: Path, text: str, *, secret: bool | None = None) -> None:
    """Replace ``path`` with ``text`` atomically, keeping its owner, group and mode.

    A new file gets mode 0600 when it holds a secret, else 0640; created by root, it gets the
    service's group (0640) so that the service can read it. An existing file that now holds a
    secret loses its permissions for others.
    """
    if secret is None:
        try:
            secret = _holds_secret(_validate_text(path, text))
        except ConfigError:
            secret = True
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
        uid, gid = st.st_uid, st.st_gid
        if secret and mode & 0o007:
            log.warning("%s holds a secret: removing its permissions for others", path)
            mode &= ~0o007
    else:
        mode = 0o600 if secret else 0o640
        uid, gid = os.geteuid(), os.getegid()
        if uid == 0:
            with contextlib.suppress(KeyError):
                gid = grp.getgrnam(SERVICE_GROUP).gr_gid
                mode = 0o640
    _remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror}); try with sudo") from None
    try:
        os.fchmod(fd, mode)
        if (uid, gid) != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, uid, gid)
            except PermissionError:
                raise ConfigError(
                    f"{path}: cannot keep its owner/group; run as its owner or with sudo"
                ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            fd = -1
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = ""
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _default_editor() -> str:
    for name in ("VISUAL", "EDITOR"):
        if os.environ.get(name):
            return os.environ[name]
    for candidate in ("sensible-editor", "nano", "vi"):
        if shutil.which(candidate):
            return candidate
    raise ConfigError("no editor found; set $EDITOR (e.g. EDITOR=nano)")


def _ask(prompt: str) -> bool:
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("", "y", "yes")
