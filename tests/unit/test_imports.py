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
