"""Storage: SQLite (one file, WAL) or PostgreSQL (several replicas), one SQL dialect for both.

Every operation is one short transaction on a connection owned by the calling thread (the
server runs them on a small pool of database threads). SQL is written once with ``?``
placeholders; PostgreSQL gets ``%s``. Connections are autocommit and transactions explicit
(``BEGIN IMMEDIATE`` on SQLite takes the write lock at the start, so two writers never
deadlock on an upgrade). A connection that fails is dropped and the next call opens a new one,
so the server recovers from a database that was gone for a moment without a restart.

The schema is versioned (:data:`MIGRATIONS`): ``appliance keyserver migrate`` applies what is
missing, and ``serve`` refuses to start on a schema that is older or newer than its own.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The database cannot be reached or is busy beyond the timeout (a 503, never data loss)."""


class SchemaMismatch(Exception):
    """The database's schema is not the one this version needs; the message says what to run."""


@dataclass(frozen=True)
class Migration:
    """One schema step. ``{id}``, ``{real}`` and ``{big}`` are filled in per dialect."""

    version: int
    what: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "devices, daily counters, usage reports",
        (
            """CREATE TABLE devices (
                id {id},
                name TEXT NOT NULL UNIQUE,
                grp TEXT NOT NULL,
                key_id TEXT NOT NULL UNIQUE,
                token_hash TEXT NOT NULL,
                created_at {real} NOT NULL,
                rotated_at {real},
                revoked_at {real},
                bucket {real} NOT NULL,
                bucket_at {real} NOT NULL
            )""",
            """CREATE TABLE device_days (
                device_id BIGINT NOT NULL REFERENCES devices(id),
                day TEXT NOT NULL,
                sessions BIGINT NOT NULL DEFAULT 0,
                seconds {real} NOT NULL DEFAULT 0,
                tokens BIGINT NOT NULL DEFAULT 0,
                reports BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (device_id, day)
            )""",
            """CREATE TABLE fleet_days (
                day TEXT PRIMARY KEY,
                sessions BIGINT NOT NULL DEFAULT 0,
                tokens BIGINT NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE usage_reports (
                device_id BIGINT NOT NULL REFERENCES devices(id),
                report_id TEXT NOT NULL,
                day TEXT NOT NULL,
                received_at {real} NOT NULL,
                started_at TEXT NOT NULL,
                session_seconds {real} NOT NULL,
                stop_reason TEXT NOT NULL,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                input_audio BIGINT NOT NULL,
                input_text BIGINT NOT NULL,
                input_cached BIGINT NOT NULL,
                output_audio BIGINT NOT NULL,
                output_text BIGINT NOT NULL,
                responses BIGINT NOT NULL,
                PRIMARY KEY (device_id, report_id)
            )""",
            "CREATE INDEX usage_reports_day ON usage_reports (day)",
        ),
    ),
)
LATEST = MIGRATIONS[-1].version

_TYPES = {
    "sqlite": {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "big": "INTEGER"},
    "postgresql": {
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "real": "DOUBLE PRECISION",
        "big": "BIGINT",
    },
}
MIGRATION_LOCK = 7_337_001
"""PostgreSQL advisory lock held while migrating, so two replicas never migrate at once."""


class Tx:
    """One open transaction: :meth:`one` / :meth:`all` / :meth:`run` with ``?`` placeholders."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute; the number of rows changed."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return self._cursor.rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Execute; the first row or None."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return self._cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Execute; every row."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return list(self._cursor.fetchall())

    def least(self, *exprs: str) -> str:
        """The SQL for the smallest of ``exprs`` (SQLite's scalar ``min``, PG's ``LEAST``)."""
        return f"{'LEAST' if self.dialect == 'postgresql' else 'min'}({', '.join(exprs)})"

    def greatest(self, *exprs: str) -> str:
        """The SQL for the largest of ``exprs``."""
        return f"{'GREATEST' if self.dialect == 'postgresql' else 'max'}({', '.join(exprs)})"


class Store:
    """The database at ``url`` (``sqlite:///PATH`` or ``postgresql://...``).

    :param timeout: seconds to wait for a lock or a connection before :class:`StoreUnavailable`.
    """

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self.dialect = "sqlite" if url.startswith("sqlite:///") else "postgresql"
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        if self.dialect == "postgresql":
            import psycopg  # the server extra; imported only for a PostgreSQL url

            self._errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
            self._driver: Any = psycopg
        else:
            self._errors = (sqlite3.OperationalError,)
            self._driver = sqlite3

    @property
    def where(self) -> str:
        """The database for messages: the SQLite path, or PostgreSQL's host and name."""
        if self.dialect == "sqlite":
            return self.url.removeprefix("sqlite:///")
        tail = self.url.split("@", 1)[-1]  # never the password
        return "postgresql://" + tail.split("?", 1)[0]

    # ---- connections ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            path = Path(self.url.removeprefix("sqlite:///"))
            if not path.parent.is_dir():
                raise StoreUnavailable(f"{path.parent} does not exist")
            conn = sqlite3.connect(
                str(path), timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint
            conn.execute("PRAGMA foreign_keys = ON")
        else:
            conn = self._driver.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self.timeout))
            )
            ms = int(self.timeout * 1000)
            conn.execute(f"SET statement_timeout = {ms}")
            conn.execute(f"SET lock_timeout = {ms}")
        with self._lock:
            self._all.append(conn)
        return conn

    def _drop(self, conn: Any) -> None:
        self._local.conn = None
        with self._lock, contextlib.suppress(ValueError):
            self._all.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def _lost(self, conn: Any) -> bool:
        """Whether ``conn`` can no longer be used (PostgreSQL went away)."""
        return self.dialect == "postgresql" and bool(conn.broken or conn.closed)

    def close(self) -> None:
        """Close every connection (of every thread)."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()

    @contextlib.contextmanager
    def _transaction(self, conn: Any) -> Iterator[Tx]:
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        try:
            yield Tx(cursor, self.dialect)
        except BaseException:
            with contextlib.suppress(Exception):
                cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def transact(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one transaction on this thread's connection and commit.

        A connection that failed (the database restarted, the network dropped) is replaced
        and the work tried once more on a fresh one; if that fails too, or the database is
        busy beyond the timeout, :class:`StoreUnavailable`.
        """
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            fresh = conn is None
            try:
                if conn is None:
                    conn = self._local.conn = self._connect()
                with self._transaction(conn) as tx:
                    return work(tx)
            except self._errors as exc:
                # a lock or statement timeout leaves the connection usable: no retry, which
                # would only wait as long again; a lost connection is replaced
                lost = conn is not None and self._lost(conn)
                if lost:
                    self._drop(conn)
                if fresh or not lost or attempt == 2:
                    raise StoreUnavailable(_plain(exc)) from None
        raise AssertionError("unreachable")

    # ---- schema --------------------------------------------------------------------------------

    def version(self) -> int:
        """The schema version in the database (0: empty)."""

        def read(tx: Tx) -> int:
            if self.dialect == "sqlite":
                found = tx.one(
                    "SELECT 1 FROM sqlite_master"
                    " WHERE type = 'table' AND name = 'schema_migrations'"
                )
            else:
                found = tx.one("SELECT to_regclass('schema_migrations')")
                found = found if found and found[0] else None
            if not found:
                return 0
            row = tx.one("SELECT max(version) FROM schema_migrations")
            return int(row[0] or 0) if row else 0

        return self.transact(read)

    def migrate(self) -> list[Migration]:
        """Apply the migrations the database lacks, each in its own transaction."""
        applied: list[Migration] = []
        types = _TYPES[self.dialect]

        def step(tx: Tx) -> Migration | None:
            if self.dialect == "postgresql":
                tx.run(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            tx.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                f"version INTEGER PRIMARY KEY, what TEXT NOT NULL, applied_at {types['real']})"
            )
            row = tx.one("SELECT max(version) FROM schema_migrations")
            current = int(row[0] or 0) if row else 0
            if current > LATEST:
                raise SchemaMismatch(_newer(current))
            todo = [m for m in MIGRATIONS if m.version > current]
            if not todo:
                return None
            migration = todo[0]
            for statement in migration.statements:
                tx.run(statement.format(**types))
            tx.run(
                "INSERT INTO schema_migrations (version, what, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.what, time.time()),
            )
            return migration

        while (done := self.transact(step)) is not None:
            applied.append(done)
        return applied

    def check_schema(self) -> None:
        """:class:`SchemaMismatch` unless the database is at :data:`LATEST`."""
        current = self.version()
        if current > LATEST:
            raise SchemaMismatch(_newer(current))
        if current < LATEST:
            raise SchemaMismatch(
                f"the database {self.where} has schema version {current}, this server needs "
                f"{LATEST}: run `appliance keyserver migrate --config FILE`"
            )


def _newer(current: int) -> str:
    return (
        f"the database has schema version {current}, newer than this server's {LATEST}: "
        "upgrade the server (a downgrade is not supported)"
    )


def _plain(exc: BaseException) -> str:
    """A database error in one line, without a connection string's password."""
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
