"""Files written whole or not at all: a temporary file beside the target, renamed over it.

A reader never sees a half-written file, and a write that fails (a full disk, a lost device)
leaves no file behind, or the old one untouched. The temporary file is hidden
(``.NAME.XXXXXXXX.tmp``) in the target's directory, so the rename never crosses a file system.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

TEMP_ATTEMPTS = 100
"""Random names tried for a temporary file before giving up (each clash is one in 2**32)."""


def create_beside(path: Path) -> tuple[BinaryIO, Path]:
    """A new, empty temporary file in ``path``'s directory, open for writing, and its path.
    Its mode is what ``open(path, "wb")`` would give (0666 less the umask). Raises
    :class:`OSError` (e.g. the directory is not writable)."""
    for _ in range(TEMP_ATTEMPTS):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        return os.fdopen(fd, "wb"), temp
    raise FileExistsError(f"no free temporary name beside {path}")


def commit(file: BinaryIO, temp: Path, path: Path) -> None:
    """Flush ``file`` (made by :func:`create_beside`) to the disk and rename it to ``path``.
    On failure (raised as :class:`OSError`) the temporary file is removed and ``path`` is as
    it was."""
    try:
        file.flush()
        os.fsync(file.fileno())  # a full disk may only say so now (delayed allocation)
        file.close()
        os.replace(temp, path)
    except BaseException:
        discard(file, temp)
        raise


def discard(file: BinaryIO, temp: Path) -> None:
    """Close ``file`` without caring what it still holds, and remove it. Never raises."""
    with contextlib.suppress(OSError):
        file.close()  # the buffer's flush may fail again; the descriptor is closed anyway
    with contextlib.suppress(OSError):
        temp.unlink()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path``, whole or not at all. Raises :class:`OSError`."""
    file, temp = create_beside(path)
    try:
        file.write(data)
    except BaseException:
        discard(file, temp)
        raise
    commit(file, temp, path)
