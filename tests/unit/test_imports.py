"""The package's modules import each other without cycles.

Read from the ``import`` statements themselves (all of them: top level, inside functions and
under ``TYPE_CHECKING``), so a cycle is found even when it happens not to break at run time.
A module that imports a package's submodule also depends on that package's ``__init__``.

A layer is a package whose modules are one unit: a walk of the imports that leaves it (to the
configuration, the audio device, the bus) does not come back into it, except to its leaves
(modules that import nothing of the package, such as the realtime model rules the
configuration validates with).
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "appliance"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (with the packages they live in)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            # the module itself and every package above it (their __init__ runs first)
            while target:
                if target != name and target in known:
                    found.add(target)
                target = target.rpartition(".")[0]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    # a package's __init__ importing its own submodules is how packages export; the edge back
    # from those submodules to the package is implied, not written, so it is left out
    return {
        name: {
            dep
            for dep in imports_of(name, path, set(known))
            if not (path.name != "__init__.py" and name.startswith(dep + "."))
        }
        for name, path in known.items()
    }


LAYERS = ("appliance.realtime",)
"""Packages whose modules are one unit (see the module's docstring)."""


def parsed_graph() -> dict[str, set[str]]:
    """:func:`import_graph`, parsed with the garbage collector paused."""
    # Python 3.11.2 (Bookworm's) fails ast.parse with "AST constructor recursion depth
    # mismatch" when the garbage collector runs a finalizer in the middle of it (left-over
    # asyncio futures of earlier tests log from theirs): parse with the collector paused
    gc.collect()
    gc.disable()
    try:
        return import_graph()
    finally:
        gc.enable()


def reachable(graph: dict[str, set[str]], start: set[str], through: set[str]) -> set[str]:
    """Modules reached from ``start`` by walks whose steps stay within ``through``."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                if nxt in through:
                    todo.append(nxt)
    return seen


def returns_into(graph: dict[str, set[str]], layer: str) -> set[tuple[str, str]]:
    """``(outside, inside)`` pairs: a module outside ``layer`` that a walk out of the layer
    reaches, and one of the layer's modules (not a leaf) it imports."""
    inside = {name for name in graph if name == layer or name.startswith(layer + ".")}
    outside = set(graph) - inside
    leaves = {name for name in inside if not graph[name]}
    found = set()
    for name in reachable(graph, inside, outside) & outside:
        found |= {(name, dep) for dep in graph[name] & inside - leaves - {layer}}
    return found


def test_no_module_imports_itself_through_others():
    assert cycles(parsed_graph()) == []


def test_no_import_walk_leaves_a_layer_and_comes_back():
    graph = parsed_graph()
    for layer in LAYERS:
        assert returns_into(graph, layer) == set(), layer


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_layer_check_finds_walks_back_into_a_layer():
    graph = {
        "p": set(),
        "p.link": {"p", "keys", "config"},
        "p.session": {"p", "p.rules", "config"},
        "p.rules": set(),
        "keys": {"p", "p.session", "config"},
        "config": {"p", "p.rules"},
    }
    assert returns_into(graph, "p") == {("keys", "p.session")}
    graph["keys"] = set()
    assert returns_into(graph, "p") == set()  # config's way back is to a leaf


PURE = (
    "appliance.state",
    "appliance.realtime.session",
    "appliance.realtime.protocol",
    "appliance.realtime.dialects",
    "appliance.realtime.rules",
    "appliance.labels",
    "appliance.metrics",
)
"""The modules whose docstrings say they touch no socket, clock or thread: the shell passes
the time in."""
NOT_PURE = frozenset(
    {"time", "datetime", "socket", "ssl", "select", "threading", "asyncio", "concurrent"}
)
"""Standard modules that read a clock or do I/O or threads."""


def stdlib_imports(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports (anywhere in it)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.partition(".")[0])
    return found


def test_the_pure_modules_touch_no_clock_socket_or_thread():
    known = modules()
    gc.collect()
    gc.disable()
    try:
        used = {name: stdlib_imports(known[name]) & NOT_PURE for name in PURE}
    finally:
        gc.enable()
    assert {name: found for name, found in used.items() if found} == {}


# --- the boundaries between the package, the tests and the scripts ---------------------------

CHECKED = ("appliance", "tests", "scripts")
"""The trees whose Python files :func:`boundary_breaches` reads."""


def python_files(root: Path) -> list[Path]:
    """The Python files under ``root``'s checked trees (``.py``, and scripts whose first line
    names python)."""
    found = []
    for tree in CHECKED:
        for path in sorted((root / tree).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix == ".py":
                found.append(path)
            elif not path.suffix:
                with path.open("rb") as file:
                    if b"python" in file.readline():
                        found.append(path)
    return found


def is_sys_path(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def breaches_in(tree: ast.AST, where: str, local: set[str]) -> list[str]:
    """What one file does against the boundaries: ``where`` is its path from the root;
    ``local``, the top-level modules of this repository (another library's private names are
    its own business)."""
    found = []
    in_package = where.startswith("appliance/")
    for node in ast.walk(tree):
        ours = isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").partition(".")[0] in local
        )
        if ours:
            private = [a.name for a in node.names if a.name.startswith("_")]
            private = [name for name in private if not name.startswith("__")]
            if private:
                found.append(f"{where}:{node.lineno}: from {node.module} import {private[0]}")
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
        for module in modules:
            if in_package and module.partition(".")[0] == "tests":
                found.append(f"{where}:{node.lineno}: the package imports {module}")
        # sys.path.insert(...), sys.path.append(...), sys.path[...] = ..., sys.path += ...
        changed = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and is_sys_path(node.func.value)
            and node.func.attr in ("insert", "append", "extend")
        )
        changed |= isinstance(node, ast.AugAssign) and is_sys_path(node.target)
        changed |= isinstance(node, ast.Assign) and any(
            is_sys_path(t) or (isinstance(t, ast.Subscript) and is_sys_path(t.value))
            for t in node.targets
        )
        if changed:
            found.append(f"{where}:{node.lineno}: changes sys.path")
    return sorted(found, key=lambda breach: int(breach.split(":")[1]))


def boundary_breaches(root: Path) -> list[str]:
    """Every place under ``root`` where the package imports the tests, where code changes
    ``sys.path`` (to import tests/ or scripts/ by file: they import support from
    :mod:`appliance.rig` instead), or where a private name (``_x``) is imported from another
    module (make it public, or keep it inside)."""
    files = python_files(root)
    local = {"appliance", "tests"} | {path.stem for path in files}
    found = []
    for path in files:
        where = path.relative_to(root).as_posix()
        found += breaches_in(ast.parse(path.read_text(), str(path)), where, local)
    return found


def test_the_package_the_tests_and_the_scripts_keep_their_boundaries():
    gc.collect()
    gc.disable()  # see test_no_module_imports_itself_through_others
    try:
        breaches = boundary_breaches(ROOT)
    finally:
        gc.enable()
    assert breaches == []


def test_the_boundary_check_finds_each_breach():
    source = (
        "import sys\n"
        "from tests.processes import wait_until\n"
        "from rig import _env\n"
        "from appliance.bench import __main__\n"
        "sys.path.insert(0, 'tests')\n"
        "sys.path += ['tests']\n"
        "sys.path[:0] = ['tests']\n"
    )
    local = {"appliance", "tests", "rig"}
    assert breaches_in(ast.parse(source), "appliance/bench/echo.py", local) == [
        "appliance/bench/echo.py:2: the package imports tests.processes",
        "appliance/bench/echo.py:3: from rig import _env",
        "appliance/bench/echo.py:5: changes sys.path",
        "appliance/bench/echo.py:6: changes sys.path",
        "appliance/bench/echo.py:7: changes sys.path",
    ]
    allowed = "from tests import x\nfrom pyaudio import _portaudio\n"
    assert breaches_in(ast.parse(allowed), "tests/unit/test_x.py", local) == []
