"""A private, real PostgreSQL server for the tests and the bench: its own cluster in a temporary
directory, on a free port of 127.0.0.1, run as an unprivileged user, stopped by its PID.

Debian's server binaries (``/usr/lib/postgresql/<version>/bin``) are used; when missing they
are installed with ``apt-get install postgresql`` if we are root (else :class:`Unavailable`
says the command). As root the cluster belongs to ``nobody`` (PostgreSQL refuses to run as
root); otherwise to the current user. Every wait is bounded in time.

::

    with Postgres() as pg:
        url = pg.create_database("test")   # postgresql://postgres@127.0.0.1:PORT/test
        pg.stop_server(); pg.start_server()  # the database gone for a moment
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_TIMEOUT = 900.0
"""Seconds ``apt-get`` may take to install the server."""
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
UNPRIVILEGED = "nobody"
SUPERUSER = "postgres"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be run here; the message says why and what to do."""


def server_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb`` and ``postgres``."""
    found = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin"):
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            version = candidate.parent.name
            found.append((int(version) if version.isdigit() else 0, candidate))
    return max(found)[1] if found else None


def install() -> Path:
    """The server's binaries, installed with apt-get when missing (root only)."""
    found = server_bin()
    if found:
        return found
    if os.geteuid() != 0:
        raise Unavailable("PostgreSQL is not installed: sudo apt-get install -y postgresql")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
    deadline = time.monotonic() + INSTALL_TIMEOUT
    for attempt in ("install", "update"):
        if attempt == "update":
            subprocess.run(
                ["apt-get", "update"],
                env=env,
                capture_output=True,
                timeout=max(1.0, deadline - time.monotonic()),
            )
        result = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        found = server_bin()
        if result.returncode == 0 and found:
            return found
    raise Unavailable(f"apt-get install postgresql failed: {result.stderr[-500:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """A running private cluster (see the module's docstring)."""

    def __init__(self) -> None:
        self.bin = install()
        self.root = Path(tempfile.mkdtemp(prefix="appliance-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0
        self.user = UNPRIVILEGED if self._as_root else pwd.getpwuid(os.geteuid()).pw_name
        if self._as_root:
            entry = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._ids: dict[str, object] = {
                "user": entry.pw_uid,
                "group": entry.pw_gid,
                "extra_groups": [],
            }
        else:
            self._ids = {}
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=START_TIMEOUT,
        )
        self.start_server()

    def _env(self) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": str(self.root)}

    def _run(self, args: list[str], timeout: float) -> None:
        result = subprocess.run(
            args,
            cwd=self.root,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            **self._ids,
        )  # type: ignore[call-overload]
        if result.returncode != 0:
            raise Unavailable(f"{Path(args[0]).name} failed: {result.stderr[-800:]}")

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start_server(self) -> None:
        """Start the server on :attr:`port` and wait until it accepts connections."""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "off",  # a test cluster: speed over durability across a power cut
            "max_connections": "200",
        }
        args = [str(self.bin / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                args,
                cwd=self.root,
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                **self._ids,
            )  # type: ignore[call-overload]
        deadline = time.monotonic() + START_TIMEOUT
        while not self._accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-800:]
                self.stop_server()
                raise Unavailable(f"PostgreSQL did not start: {tail}")
            time.sleep(0.05)

    def _accepting(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url(), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop_server(self) -> None:
        """Stop the server (fast shutdown: SIGINT to its PID), SIGKILL after a deadline."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop_server()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)

    def __enter__(self) -> Postgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
