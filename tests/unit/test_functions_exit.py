"""Function handler code that exits (``sys.exit()``, ``KeyboardInterrupt``) at import or at a
call is a failure like any other: it never ends the process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from appliance.functions import FunctionRunner, load_callable


def _module(folder: Path, name: str, source: str) -> str:
    (folder / f"{name}.py").write_text(source)
    return name


@pytest.mark.parametrize(
    "statement,said",
    [
        ("import sys\nsys.exit(0)", "sys.exit(0)"),
        ("raise SystemExit('bye')", "sys.exit('bye')"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ],
)
def test_a_module_that_exits_while_imported_is_refused(tmp_path, monkeypatch, statement, said):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = _module(tmp_path, f"exits_{abs(hash(statement))}", statement + "\ndef f(c): return {}\n")
    with pytest.raises(ValueError) as caught:
        load_callable(f"{name}:f")
    message = str(caught.value)
    assert f"importing {name!r} failed" in message and said in message
    assert "must not end the process" in message
    assert name not in sys.modules


SYNC = "import sys\ndef handler(call):\n    sys.exit(0)\n"
ASYNC = "import sys\nasync def handler(call):\n    sys.exit(3)\n"
INTERRUPT = "def handler(call):\n    raise KeyboardInterrupt\n"


@pytest.mark.parametrize(
    "source,said",
    [(SYNC, "sys.exit(0)"), (ASYNC, "sys.exit(3)"), (INTERRUPT, "KeyboardInterrupt")],
)
def test_a_handler_that_exits_at_a_call_gives_the_model_an_error(
    tmp_path, monkeypatch, source, said
):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = _module(tmp_path, f"calls_{abs(hash(source))}", source)
    runner = FunctionRunner(f"{name}:handler")

    async def main() -> tuple[dict, dict]:
        first = await runner.call("weather", "{}")
        await asyncio.sleep(0)  # the loop goes on after it
        return first, await runner.call("weather", "{}")

    first, second = asyncio.run(main())
    assert set(first) == {"error"} and said in first["error"]
    assert first == second  # the next call is served the same way


def test_a_module_getattr_that_exits_is_refused(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = _module(tmp_path, "lazy_exits", "import sys\ndef __getattr__(name):\n    sys.exit(1)\n")
    with pytest.raises(ValueError, match=r"getting handle failed: it called sys.exit\(1\)"):
        load_callable(f"{name}:handle")
