"""A small pool of read-only sessions, so independent checks run concurrently (no Textual).

A refresh is a list of independent statements; on a database where a few of them count whole
tables, running them side by side on 2-3 sessions cuts the wall time to about the longest one.
:class:`CheckPool` opens its sessions on demand with :func:`opsconsole.connection.db.connect`,
so each one carries exactly the settings of the console's single session (read-only,
``statement_timeout``, ``lock_timeout`` when given, ``jit=off``, the pinned render settings,
keepalives, a :class:`~opsconsole.connection.db.Deadline` when given). It keeps them open
between refreshes (the console) and closes them with :meth:`CheckPool.close`.

:meth:`CheckPool.map` runs a function over items on the caller's session (the one the catalog
was verified on, in the caller's thread) plus up to ``jobs - 1`` of the pool's sessions, one
thread each. A pool session that cannot be opened (the server is at ``max_connections``) or
that breaks only takes its thread out of the run: the other sessions do the rest, so the worst
case is today's single session. Results come back in the order of the items.

Why not ``psycopg_pool.ConnectionPool``: its background workers retry a failed connect for
minutes and report it as ``PoolTimeout``; the console wants the first failure at once, as the
one-line :class:`~opsconsole.errors.ConnectionFailed` every other session gives, and the
sessions watched by the run's deadline. The pool here is the few lines that need.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from opsconsole.connection import db
from opsconsole.errors import ConnectionFailed

DEFAULT_JOBS = 3
"""Sessions a refresh uses by default (``opsconsole check``, the console): int."""
MAX_JOBS = 8
"""The most ``--jobs`` allows: int."""

I = TypeVar("I")  # noqa: E741 - an item
R = TypeVar("R")


def valid_jobs(jobs: int) -> int:
    """``jobs`` when it is 1..:data:`MAX_JOBS` (int).

    Raises:
        ValueError: out of range (the message names the range).
    """
    if not 1 <= jobs <= MAX_JOBS:
        raise ValueError(f"must be 1 to {MAX_JOBS} sessions (got {jobs})")
    return jobs


class CheckPool:
    """Up to ``size`` extra read-only sessions, opened when first needed and kept open.

    Args:
        dsn: the monitoring DSN (libpq DSN or URI).
        size: how many sessions the pool may hold (int, 0..MAX_JOBS; 0 = none: every
            :meth:`map` runs on the caller's session alone).
        statement_timeout_ms: per-statement limit of each session (ms), as the single
            session's.
        lock_timeout_ms: lock wait limit of each session (ms, None = the server's default), as
            the single session's.
        deadline: the run's deadline (headless ``check``): every session is watched by it.

    Thread-safe: sessions are handed to one thread at a time.
    """

    def __init__(
        self,
        dsn: str,
        *,
        size: int,
        statement_timeout_ms: int = db.DEFAULT_STATEMENT_TIMEOUT_MS,
        lock_timeout_ms: int | None = None,
        deadline: db.Deadline | None = None,
    ) -> None:
        if not 0 <= size <= MAX_JOBS:
            raise ValueError(f"pool size must be 0 to {MAX_JOBS} (got {size})")
        self._dsn = dsn
        self.size = size
        self._timeout_ms = statement_timeout_ms
        self._lock_timeout_ms = lock_timeout_ms
        self._deadline = deadline
        self._lock = threading.Lock()
        self._idle: list[db.Connection] = []
        self._open = 0  # sessions opened and not dropped (idle or lent)
        self._closed = False

    # -- sessions ----------------------------------------------------------------------------

    def acquire(self) -> db.Connection | None:
        """An idle session, or a new one while fewer than ``size`` are open; None when the pool
        is full, closed, or the session could not be opened (the caller then goes on without).
        """
        with self._lock:
            if self._closed:
                return None
            while self._idle:
                conn = self._idle.pop()
                if not (conn.closed or conn.broken):
                    return conn
                self._open -= 1
            if self._open >= self.size:
                return None
            self._open += 1
        try:
            return db.connect(self._dsn, statement_timeout_ms=self._timeout_ms,
                              lock_timeout_ms=self._lock_timeout_ms, deadline=self._deadline)
        except (ConnectionFailed, OSError):
            with self._lock:
                self._open -= 1
            return None

    def release(self, conn: db.Connection) -> None:
        """Give a session back (a broken one, or any after :meth:`close`, is closed)."""
        with self._lock:
            if not (self._closed or conn.closed or conn.broken):
                self._idle.append(conn)
                return
            self._open -= 1
        with contextlib.suppress(Exception):  # a broken socket may fail to close
            conn.close()

    @property
    def open_sessions(self) -> int:
        """Sessions opened and not dropped (int): idle ones plus those lent out."""
        with self._lock:
            return self._open

    def close(self) -> None:
        """Close the idle sessions; those lent out close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()

    def __enter__(self) -> CheckPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running -----------------------------------------------------------------------------

    def map(
        self,
        fn: Callable[[db.Connection, I], R],
        items: Sequence[I],
        *,
        first: db.Connection,
        jobs: int,
        lost: Callable[[I], R],
    ) -> list[R]:
        """``[fn(conn, item) for item in items]``, on ``first`` and up to ``jobs - 1`` of the
        pool's sessions at once; items are taken in the order given (put the slow ones first).

        Args:
            fn: runs one item on a session; must not raise for an item's own failure (it
                returns a result saying so). A session that ``fn`` leaves broken takes no
                further item, and its item runs again on another session (an idle session the
                server closed is no fault of the item's); when no session is left, the item
                keeps ``fn``'s result.
            items: what to run.
            first: the caller's session, used in the caller's thread.
            jobs: sessions at most, ``first`` included (int ≥ 1).
            lost: the result of an item no session could run (every session broke).

        Returns:
            list[R], one result per item, in the order of ``items``.
        """
        results: list[R | None] = [None] * len(items)
        done = [False] * len(items)
        taken = iter(range(len(items)))
        again: list[int] = []  # items whose session broke under them: again elsewhere
        take_lock = threading.Lock()

        def next_index() -> int | None:
            with take_lock:
                return again.pop(0) if again else next(taken, None)

        def gone(conn: db.Connection) -> bool:
            return bool(conn.closed or conn.broken)

        def work(conn: db.Connection) -> None:
            while not gone(conn):
                index = next_index()
                if index is None:
                    return
                result = fn(conn, items[index])
                if gone(conn):
                    # e.g. an idle session the server closed: not the item's fault; another
                    # session runs it, if one is left (each session breaks once: this ends)
                    with take_lock:
                        again.append(index)
                        results[index] = result  # what stands if none is left
                    return
                results[index] = result
                done[index] = True

        def extra() -> None:
            conn = self.acquire()
            if conn is None:
                return
            try:
                work(conn)
            finally:
                self.release(conn)

        threads = [threading.Thread(target=extra, name=f"opsconsole-check-{n}", daemon=True)
                   for n in range(1, min(jobs, len(items)))]
        for thread in threads:
            thread.start()
        try:
            work(first)
        finally:
            for thread in threads:
                thread.join()
        return [r if ok or r is not None else lost(item)  # type: ignore[misc]
                for r, ok, item in zip(results, done, items, strict=True)]
