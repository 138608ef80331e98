"""What the file refers to: the ``function_handler``'s module, found without running it."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.config.models import WebhookHandler

HANDLER_FIELD = "realtime.config.function_handler"


def handler_problem(spec: str | WebhookHandler | None) -> str | None:
    """Why ``function_handler = spec`` cannot be used, or ``None``, found without running any
    code of the handler's modules.

    Importing a module runs it, and so does ``importlib.util.find_spec("pkg.mod")``, which
    imports ``pkg``. Validation is run by administrators, often as root, on a file that may
    name any module, and must not have effects; so the module is only *located*, one dotted
    part at a time with :class:`importlib.machinery.PathFinder` (which reads directories, never
    executes), and when it is Python source, its text is parsed (``ast``, not run) for a
    top-level definition of the function. ``appliance run``, which imports the handler anyway,
    imports it before anything starts (see ``cli.cmd_run``), so that a module failing there is
    a clear exit 2 naming the field rather than a traceback and a restart loop.
    """
    if not isinstance(spec, str):
        return None
    module_name, _, attr = spec.partition(":")
    origin = _locate_module(module_name)
    if isinstance(origin, str) and origin.startswith("!"):
        return (
            f"{HANDLER_FIELD}: cannot import {module_name!r}: {origin[1:]}; check the name, or "
            "install the module where the service's Python finds it"
        )
    first = attr.split(".")[0]
    if origin and origin.endswith(".py") and not _defines(Path(origin), first):
        return f"{HANDLER_FIELD}: {module_name!r} defines no {first!r} ({origin})"
    return None


def _locate_module(name: str) -> str | None:
    """Where module ``name`` would be loaded from (its file, or None when it has none), or
    ``"!<why>"`` when it cannot be found. Runs no module code (see :func:`handler_problem`)."""
    import importlib.machinery
    import importlib.util
    import sys

    parts = name.split(".")
    found = None
    for i in range(len(parts)):
        fullname = ".".join(parts[: i + 1])
        if fullname in sys.modules:
            found = getattr(sys.modules[fullname], "__spec__", None)
        elif i == 0:
            try:
                found = importlib.util.find_spec(fullname)  # top level: imports nothing
            except (ImportError, ValueError) as exc:
                return f"!{exc}"
        else:
            locations = getattr(found, "submodule_search_locations", None)
            if locations is None:
                return f"!{'.'.join(parts[:i])} is not a package"
            found = importlib.machinery.PathFinder.find_spec(fullname, list(locations))
        if found is None:
            return f"!no module named {fullname!r}"
    origin = getattr(found, "origin", None)
    return origin if isinstance(origin, str) and os.path.isfile(origin) else None


def _defines(path: Path, name: str) -> bool:
    """Whether the Python source at ``path`` defines ``name`` at its top level (or may: a
    module ``__getattr__``, a star import, source that cannot be read or parsed)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, SystemError):
        # SystemError: Python 3.11.2 (Bookworm's) can fail a parse with "AST constructor
        # recursion depth mismatch" when a finalizer runs during it
        return True  # the import at start says what is wrong
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return True
                names.add(alias.asname or alias.name.split(".")[0])
    return name in names or "__getattr__" in names
