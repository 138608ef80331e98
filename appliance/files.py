"""Files from outside, read safely, and files written whole or not at all.

Reading: a path the appliance is given (its configuration, a Deep Chat JSON to import, the API
key file, its state file) may name anything. A FIFO makes a plain read wait for a writer
forever (``config validate`` and ``run`` hung, saying nothing), a device such as ``/dev/zero``
never ends (the read grew to gigabytes), a file may be huge. :func:`read_small` reads a regular
file only, opened without blocking, and at most ``limit`` bytes; anything else is a
:class:`FileRefused` whose message names the path, what it is, and the limit.

Writing: a temporary file beside the target, renamed over it. A reader never sees a
half-written file, and a write that fails (a full disk, a lost device) leaves no file behind,
or the old one untouched. The temporary file is hidden (``.NAME.XXXXXXXX.tmp``) in the
target's directory, so the rename never crosses a file system.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

# --- reading --------------------------------------------------------------------------------

CONFIG_LIMIT = 1024 * 1024
"""The largest configuration file, or Deep Chat JSON to import: 1 MiB. A real one is a few KiB;
the largest session config the limits allow (128 tools, 32 KiB of instructions) fits."""

KEY_FILE_LIMIT = 64 * 1024
"""The largest API key file (or credential): 64 KiB. A key is under 200 bytes."""

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRefused(Exception):
    """A path that is not a regular file, or is over the limit. The message names it;
    :attr:`reason` says what is wrong without the path ("is not a regular file (a FIFO (named
    pipe))", "is larger than 16 MiB"), for a caller that names the file itself."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_small(path: Path | str, limit: int, what: str, *, follow_links: bool = True) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``what`` names the file in messages ("a configuration file"). Raises :class:`FileRefused`
    for anything but a regular file (found without blocking: the file is opened with
    ``O_NONBLOCK``, then ``fstat``), for a file over ``limit`` and, with ``follow_links=False``,
    for a symbolic link; ``OSError`` when it cannot be opened (``FileNotFoundError``,
    ``PermissionError``...).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags if follow_links else flags | os.O_NOFOLLOW)
    except OSError:
        if not follow_links and Path(path).is_symlink():
            raise FileRefused(
                f"{path}: a symbolic link; {what} must be a regular file", "is a symbolic link"
            ) from None
        raise
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "what is not a file")
            raise FileRefused(
                f"{path}: cannot read {kind}; {what} must be a regular file",
                f"is not a regular file ({kind})",
            )
        too_big = FileRefused(
            f"{path}: larger than {_size(limit)}, the limit for {what}; is it the right file?",
            f"is larger than {_size(limit)}, the limit for {what}",
        )
        if info.st_size > limit:
            raise too_big  # refused unread
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # read to the end, not to st_size: the file may grow meanwhile
            chunk = os.read(fd, min(limit + 1 - size, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise too_big
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


# --- writing --------------------------------------------------------------------------------

TEMP_ATTEMPTS = 100
"""Random names tried for a temporary file before giving up (each clash is one in 2**32)."""


def create_beside(path: Path, mode: int = 0o666) -> tuple[BinaryIO, Path]:
    """A new, empty temporary file in ``path``'s directory, open for writing, and its path.
    Its mode is ``mode`` less the umask (by default what ``open(path, "wb")`` would give).
    Raises :class:`OSError` (e.g. the directory is not writable)."""
    for _ in range(TEMP_ATTEMPTS):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
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


def write_atomic(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write ``data`` as ``path`` (``mode`` as in :func:`create_beside`), whole or not at all.
    Raises :class:`OSError`."""
    file, temp = create_beside(path, mode)
    try:
        file.write(data)
    except BaseException:
        discard(file, temp)
        raise
    commit(file, temp, path)
