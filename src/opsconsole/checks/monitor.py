"""The console's one read-only monitoring session, shared by every worker (no Textual here).

psycopg connections are not thread-safe, so every use goes through :meth:`Monitor.call`, which
holds a lock, (re)connects and reads the server's identity once per connection, and turns a lost
connection into :class:`ConnectionLost` so the UI can show "reconnecting" and keep its last data.
What the database holds is judged by the catalog's verification
(:func:`opsconsole.catalog.verify.verified`, cached while the schema is unchanged), which the
check engine and the tables call themselves.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg

from opsconsole.catalog import Catalog, introspect
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.checks.pool import MAX_JOBS, CheckPool
from opsconsole.connection import db
from opsconsole.errors import ConnectionFailed

T = TypeVar("T")


class ConnectionLost(Exception):
    """The monitoring session is gone (or could not be opened); the message is one line."""

    @property
    def message(self) -> str:
        """The one-line reason (str)."""
        return str(self.args[0]) if self.args else "connection lost"


class Monitor:
    """A lazily opened, lock-protected read-only session.

    Args:
        dsn: the monitoring DSN (the replica's when the profile has one).
        catalog: the loaded catalog (for introspection queries).
        statement_timeout_ms: per-statement limit of the session, in ms.
    """

    def __init__(self, dsn: str, catalog: Catalog, statement_timeout_ms: int) -> None:
        self._dsn = dsn
        self._catalog = catalog
        self._timeout_ms = statement_timeout_ms
        self._lock = threading.Lock()
        self._conn: db.Connection | None = None
        self._pool: CheckPool | None = None  # the checks' extra sessions (call_checks)
        self._pool_lock = threading.Lock()
        self.schema: SchemaInfo | None = None  # no longer read: see the module docstring
        self.info: db.ServerInfo | None = None

    def call(self, fn: Callable[[db.Connection, SchemaInfo | None], T]) -> T:
        """Run ``fn(conn, schema)`` with the session, connecting first if needed (``schema`` is
        None: the engine verifies the catalog itself).

        Raises:
            ConnectionLost: the server is unreachable, or the connection broke during ``fn``.
        """
        with self._lock:
            conn, schema = self._ensure()
            try:
                out = fn(conn, schema)
            except psycopg.OperationalError as exc:
                self._drop()
                raise ConnectionLost(db.describe_error(exc)) from exc
            if conn.broken or conn.closed:
                self._drop()
                raise ConnectionLost("connection lost: the server closed the session")
            return out

    def call_checks(
        self, fn: Callable[[db.Connection, CheckPool | None, int], T], jobs: int
    ) -> T:
        """Run ``fn(conn, pool, jobs)`` with the session (as :meth:`call`) and, for ``jobs > 1``,
        the checks pool: up to ``jobs - 1`` more read-only sessions with the same settings,
        opened when first needed and kept open (so the checks use ``jobs`` sessions at most;
        ``jobs`` 1 or less: ``pool`` is None and everything runs on the session, as before).

        Raises:
            ConnectionLost: as :meth:`call` (a pool session that breaks only costs its checks,
                which come back UNKNOWN).
        """
        jobs = max(1, min(jobs, MAX_JOBS))
        pool = self._checks_pool() if jobs > 1 else None
        return self.call(lambda conn, _schema: fn(conn, pool, jobs))

    def _checks_pool(self) -> CheckPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = CheckPool(self._dsn, size=MAX_JOBS - 1,
                                       statement_timeout_ms=self._timeout_ms)
            return self._pool

    def close(self, timeout_s: float = 1.0) -> None:
        """Close the session and the checks pool (waits up to ``timeout_s`` for a running
        query)."""
        got = self._lock.acquire(timeout=timeout_s)
        try:
            self._drop()
        finally:
            if got:
                self._lock.release()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _ensure(self) -> tuple[db.Connection, SchemaInfo | None]:
        if self._conn is not None and not (self._conn.closed or self._conn.broken):
            return self._conn, self.schema
        self._drop()
        try:
            conn = db.connect(self._dsn, statement_timeout_ms=self._timeout_ms)
        except ConnectionFailed as exc:
            raise ConnectionLost(exc.message) from exc
        try:
            self.info = introspect.server_info(conn, self._catalog)
        except psycopg.Error as exc:
            conn.close()
            raise ConnectionLost(db.describe_error(exc)) from exc
        self._conn = conn
        return conn, self.schema

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken socket may fail to close
                conn.close()
