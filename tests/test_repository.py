"""The checkout itself: nothing generated is tracked, and the code under test is this one.

A virtualenv committed by mistake once made every clone import ``appliance`` from another
checkout on the same machine, so the suite passed without testing the submitted code.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from pathlib import Path

import pytest

import appliance

ROOT = Path(__file__).resolve().parents[1]
GENERATED = (
    ".venv/*",
    "venv/*",
    "build/*",
    "dist/*",
    "*.egg-info/*",
    "*/__pycache__/*",
    "*.pyc",
    "bench-results.json",
    "demo-out.wav",
    "tests/artifacts/*",
)


def test_appliance_is_imported_from_this_checkout() -> None:
    where = Path(appliance.__file__).resolve()
    assert where.is_relative_to(ROOT / "appliance"), (
        f"appliance was imported from {where}, not from this checkout ({ROOT}): "
        "another checkout or an installed copy is on sys.path"
    )


def test_no_generated_file_is_tracked() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = (
        subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    generated = [
        path
        for path in tracked
        if path and any(fnmatch.fnmatch(path, pattern) for pattern in GENERATED)
    ]
    assert generated == [], f"generated files are tracked: {generated[:10]}"


def test_test_files_have_distinct_names() -> None:
    """pytest imports test modules by their base name (the folders are not packages): two
    files of one name stop the whole run at collection ("import file mismatch")."""
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name in seen:
            clashes.append(f"{seen[path.name].relative_to(ROOT)} and {path.relative_to(ROOT)}")
        seen.setdefault(path.name, path)
    assert not clashes, "rename one of: " + "; ".join(clashes)
