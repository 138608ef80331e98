"""One word for one thing: the code says what the README's vocabulary says ("How the parts fit").

Read from the source (the names a module defines and uses, not its prose), so a word that
comes back with a second meaning is found.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "appliance"


def parse(path: Path) -> ast.Module:
    # the collector paused, as in test_imports (Python 3.11.2's ast.parse and finalizers)
    gc.collect()
    gc.disable()
    try:
        return ast.parse(path.read_text(), str(path))
    finally:
        gc.enable()


def identifiers(path: Path) -> set[str]:
    """Every name ``path`` defines or uses: classes, functions, arguments, variables,
    attributes, keyword arguments and imported names."""
    found: set[str] = set()
    for node in ast.walk(parse(path)):
        match node:
            case ast.ClassDef(name=name) | ast.FunctionDef(name=name):
                found.add(name)
            case ast.AsyncFunctionDef(name=name):
                found.add(name)
            case ast.Name(id=name) | ast.arg(arg=name) | ast.Attribute(attr=name):
                found.add(name)
            case ast.keyword(arg=str(name)) | ast.alias(name=name):
                found.add(name.rpartition(".")[2])
    return found


def classes(path: Path) -> set[str]:
    return {node.name for node in parse(path).body if isinstance(node, ast.ClassDef)}


def saying(word: str, paths: list[Path]) -> dict[str, set[str]]:
    """The names in ``paths`` that contain ``word`` (any case), by file."""
    found = {}
    for path in paths:
        names = {name for name in identifiers(path) if word in name.lower()}
        if names:
            found[str(path.relative_to(PACKAGE.parent))] = names
    return found


def test_the_state_machine_and_the_session_policy_share_no_class_name():
    # the app carries out the machine's effects and the link the session's actions, side by
    # side: state.Interrupt (a press over the model) is not the session's StopPlayback
    shared = classes(PACKAGE / "state.py") & classes(PACKAGE / "realtime" / "session.py")
    assert shared == set()


def test_views_are_shown_and_events_emitted_nothing_is_published():
    assert saying("publish", sorted(PACKAGE.rglob("*.py"))) == {}


def test_the_realtime_protocol_speaks_of_frames_and_messages():
    # "event" is the bus's word; what the server and the client send each other are messages
    realtime = PACKAGE / "realtime"
    wire = [realtime / "protocol.py", realtime / "dialects.py"]
    assert saying("event", wire) == {}
    assert saying("happening", [*wire, realtime / "session.py", realtime / "link.py"]) == {}


def test_the_finder_reads_names_not_prose(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(
        '"""publish in prose"""\n'
        "class Publisher:\n    pass\n"
        "def f(event):\n    return event.happening(word='publish')\n"
    )
    assert identifiers(path) == {"Publisher", "f", "event", "happening", "word"}
