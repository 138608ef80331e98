"""A private ``/dev/shm`` for each process the tests start, so no crash can hang another.

PortAudio initialises its JACK host API at every start, and JACK's client library opens a
lock database in ``/dev/shm/jack_db-<uid>``. A process that crashes inside libjack leaves that
database locked, and every later PortAudio start on the machine then hangs. Run in a mount
namespace with its own empty ``/dev/shm`` (a tmpfs), a process can neither be hung by what
another left behind nor leave anything behind itself. The sound server is reached through its
socket and memfd, so audio works the same inside.

``python -m appliance.rig.isolation CMD...`` runs CMD that way (``scripts/test`` runs pytest so);
:func:`private_shm` gives the prefix for a subprocess's argv. Where namespaces are not
allowed (no root and no unprivileged user namespaces), the prefix is empty and the command
runs as it is.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

_MOUNT = 'mount -t tmpfs -o mode=1777,size=64m appliance-shm /dev/shm && exec "$@"'


def _prefixes() -> list[list[str]]:
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    shell = ["sh", "-c", _MOUNT, "sh"]
    if os.geteuid() == 0:
        return [[unshare, "--mount", "--", *shell]]
    return [[unshare, "--user", "--map-root-user", "--mount", "--", *shell]]


@functools.cache
def private_shm() -> tuple[str, ...]:
    """The argv prefix that runs a command with a private ``/dev/shm`` (the same process: its
    pid is the command's), or ``()`` where this is not possible here."""
    for prefix in _prefixes():
        probe = subprocess.run(
            [*prefix, "sh", "-c", "test ! -e /dev/shm/jack_db-$(id -u)"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
        if probe.returncode == 0:
            return tuple(prefix)
    return ()


_READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'


def read_only(folder: Path) -> tuple[str, ...]:
    """The argv prefix that runs a command in a mount namespace of its own in which ``folder``
    is a read-only bind mount of itself, as systemd's ``ProtectSystem=strict`` makes ``/etc``
    for a service (the same process: its pid is the command's); ``()`` where this is not
    possible here (no root and no unprivileged user namespaces)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    users = () if os.geteuid() == 0 else ("--user", "--map-root-user")
    prefix = (unshare, *users, "--mount", "--propagation", "private", "--")
    prefix += ("sh", "-c", _READ_ONLY, "sh", str(folder))
    probe = subprocess.run(
        [*prefix, "sh", "-c", 'test -d "$1" && ! test -w "$1"', "sh", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=10,
        check=False,
    )
    return prefix if probe.returncode == 0 else ()


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m appliance.rig.isolation COMMAND [ARGS...]", file=sys.stderr)
        return 2
    prefix = private_shm()
    if not prefix:
        print(
            "warning: cannot give the tests a private /dev/shm (no mount namespaces here); "
            "a process that crashes inside libjack can hang later PortAudio starts",
            file=sys.stderr,
        )
    os.execvp((prefix or argv)[0], [*prefix, *argv])
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
