"""Reading the small files the appliance is given by path: its configuration, a Deep Chat JSON
to import, the API key file.

Such a path may name anything. A FIFO makes a plain read wait for a writer forever (``config
validate`` and ``run`` hung, saying nothing), a device such as ``/dev/zero`` never ends (the
read grew to gigabytes), a file may be huge. :func:`read_small` reads a regular file only,
opened without blocking, and at most ``limit`` bytes; anything else is a :class:`FileRefused`
whose message names the path, what it is, and the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
    """A path that is not a regular file, or is over the limit. The message names it."""


def read_small(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``what`` names the file in messages ("a configuration file"). Raises :class:`FileRefused`
    for anything but a regular file (found without blocking: the file is opened with
    ``O_NONBLOCK``, then ``fstat``) and for a file over ``limit``; ``OSError`` when it cannot
    be opened (``FileNotFoundError``, ``PermissionError``...).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "what is not a file")
            raise FileRefused(f"{path}: cannot read {kind}; {what} must be a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # read to the end, not to st_size: the file may grow meanwhile
            chunk = os.read(fd, min(limit + 1 - size, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileRefused(
                f"{path}: larger than {_size(limit)}, the limit for {what}; is it the right file?"
            )
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"
