"""The package's modules import each other without cycles.

Read from the ``import`` statements themselves (all of them: top level, inside functions and
under ``TYPE_CHECKING``), so a cycle is found even when it happens not to break at run time.
A module that imports a package's submodule also depends on that package's ``__init__``.
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


def test_no_module_imports_itself_through_others():
    # Python 3.11.2 (Bookworm's) fails ast.parse with "AST constructor recursion depth
    # mismatch" when the garbage collector runs a finalizer in the middle of it (left-over
    # asyncio futures of earlier tests log from theirs): parse with the collector paused
    gc.collect()
    gc.disable()
    try:
        graph = import_graph()
    finally:
        gc.enable()
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


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
