"""Connections: the read-only monitoring session, the write session for actions, timeouts.

Every connection carries ``application_name=opsconsole``, a ``statement_timeout``, ``jit=off``
(JIT compilation costs more than the console's short statements run), TCP keepalives, and the
settings that change how values render as text, pinned (:data:`PINNED_SETTINGS`: TimeZone,
DateStyle, IntervalStyle, bytea_output, extra_float_digits), so a before-image written by one
console session reads the same in any other. The monitoring session is
``default_transaction_read_only = on`` so no check can ever write. All connection failures
become one-line :class:`~opsconsole.errors.ConnectionFailed` errors that name the target and
the fix, never echo a password. :func:`describe_error` is the one way every face describes a
database failure: sanitised, secrets masked, the server's message and hint, and where the
query is written. :func:`run_with_deadline` bounds a whole headless run on the
client side, whatever the server or the network does.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo
from psycopg.rows import dict_row

from opsconsole import sanitize
from opsconsole.connection.dsn import MASK, mask_text, parse, target
from opsconsole.errors import ConnectionFailed

APPLICATION_NAME = "opsconsole"
DEFAULT_STATEMENT_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 5
MIN_CONNECT_TIMEOUT_S = 2  # libpq's own floor for connect_timeout
# Console sessions render values the same way whatever the server, database or role default:
# undo compares before-images written as text by one session with rows read by another.
PINNED_SETTINGS = (
    ("TimeZone", "UTC"),
    ("DateStyle", "ISO,MDY"),
    ("IntervalStyle", "postgres"),
    ("bytea_output", "hex"),
    ("extra_float_digits", "1"),
)
# A dead peer is noticed in about 25 s (idle 10 s, then 3 probes 5 s apart) instead of hours.
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5",
              "keepalives_count": "3"}
CANCEL_TIMEOUT_S = 0.5
DEADLINE_GRACE_S = 0.3

T = TypeVar("T")

Connection = psycopg.Connection[dict[str, Any]]


@dataclass(frozen=True)
class ServerInfo:
    """What the header shows about the server.

    Attributes:
        version: server version string, e.g. "15.20".
        version_num: server_version_num, e.g. 150020.
        role: current_user (str).
        dbname: current_database() (str).
        in_recovery: True on a replica (bool).
        read_only: True when the session cannot write (bool).
    """

    version: str
    version_num: int
    role: str
    dbname: str
    in_recovery: bool
    read_only: bool


@dataclass
class Deadline:
    """A client-side deadline for a whole run (connect and every query), see
    :func:`run_with_deadline`.

    Attributes:
        seconds: the budget (float, s). started: ``time.monotonic()`` at the start.
        expired: set once the deadline passed and the watched connections were cut.
    """

    seconds: float
    started: float = field(default_factory=time.monotonic)
    expired: threading.Event = field(default_factory=threading.Event)
    _conns: list[Connection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remaining(self) -> float:
        """Seconds left (float, never below 0)."""
        return max(0.0, self.started + self.seconds - time.monotonic())

    def watch(self, conn: Connection) -> None:
        """Cut ``conn`` when the deadline passes (at once if it already has)."""
        with self._lock:
            self._conns.append(conn)
            late = self.expired.is_set()
        if late:
            _cut(conn)

    def expire(self) -> bool:
        """Cancel the running query of every watched connection, then shut its socket, so a
        worker blocked on a stalled server or network wakes up. Returns whether any
        connection was open (bool: the deadline hit after connecting)."""
        with self._lock:
            self.expired.set()
            conns = list(self._conns)
        for conn in conns:
            _cut(conn)
        return bool(conns)


def _cut(conn: Connection) -> None:
    # The server stops the query, if it hears the cancel (a stalled peer may not answer).
    with contextlib.suppress(Exception):
        conn.cancel_safe(timeout=CANCEL_TIMEOUT_S)
    # Then the blocked read returns ("connection lost"); nothing to do if already closed.
    with contextlib.suppress(Exception), socket.socket(fileno=os.dup(conn.fileno())) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def run_with_deadline(
    fn: Callable[[Deadline], T], seconds: float, what: str, *, started: float | None = None
) -> T:
    """Run ``fn(deadline)`` in a worker thread and give up at the deadline, whatever happens.

    ``fn`` passes the deadline to :func:`connect` so its connections are watched; at the
    deadline their queries are cancelled and their sockets shut down, which wakes the worker.
    A worker stuck where nothing can wake it (a DNS lookup) is abandoned (a daemon thread).

    Args:
        fn: the run; gets the :class:`Deadline`.
        seconds: the budget for the whole run (float, s, > 0).
        what: the target, for the message (e.g. ``ops@db:5432/app``).
        started: ``time.monotonic()`` when the run began (default: now), so work done
            before the call counts against the budget.

    Returns:
        What ``fn`` returned.

    Raises:
        ConnectionFailed: the deadline passed (one line saying where it stalled); or whatever
            ``fn`` raised.
    """
    deadline = Deadline(seconds, started if started is not None else time.monotonic())
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn(deadline)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="opsconsole-run", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if worker.is_alive() or deadline.expired.is_set():
        connected = deadline.expire()
        worker.join(DEADLINE_GRACE_S)
        stage = "stopped answering" if connected else "did not accept a connection"
        raise ConnectionFailed(
            f"{what} {stage} within {seconds:g} s (--timeout): the server or the network "
            "stalled; check the server's load and locks and the network path, or raise --timeout"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def session_options(
    dsn_options: str | None,
    *,
    read_only: bool,
    statement_timeout_ms: int,
    lock_timeout_ms: int | None,
) -> str:
    """The libpq ``options`` of a console session (str of ``-c name=value``).

    The DSN's own options come first and are kept; ours follow, so the console's timeouts and
    :data:`PINNED_SETTINGS` win over the DSN, the role and the database defaults.
    """
    # JIT compiles any plan above jit_above_cost: 20-40 ms per statement on the large demo, more
    # than most checks take to run. The console's statements are short, so it is off for them.
    options = [f"-c statement_timeout={int(statement_timeout_ms)}", "-c jit=off"]
    options += [f"-c {name}={value}" for name, value in PINNED_SETTINGS]
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if lock_timeout_ms is not None:
        options.append(f"-c lock_timeout={int(lock_timeout_ms)}")
    if dsn_options:
        options.insert(0, dsn_options)
    return " ".join(options)


def connect(
    dsn: str,
    *,
    read_only: bool = True,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int | None = None,
    autocommit: bool = True,
    application_name: str = APPLICATION_NAME,
    deadline: Deadline | None = None,
) -> Connection:
    """Open a session with the console's settings.

    Args:
        dsn: libpq DSN or URI.
        read_only: set ``default_transaction_read_only`` (monitoring sessions: True).
        statement_timeout_ms: per-statement limit in ms (0 = none).
        lock_timeout_ms: lock wait limit in ms, for write sessions (None = server default).
        autocommit: psycopg autocommit mode (monitoring: True, one statement per query).
        application_name: shown in pg_stat_activity.
        deadline: bound the connect by what is left of it and cut the session when it
            passes (see :func:`run_with_deadline`); None = only ``connect_timeout`` (5 s).

    Returns:
        A psycopg connection whose rows are dicts.

    Raises:
        BadInput: the DSN is malformed.
        ConnectionFailed: the server is unreachable or refused the login.
    """
    params = parse(dsn)  # BadInput before any network traffic
    timeout_s = float(CONNECT_TIMEOUT_S)
    if deadline is not None:
        timeout_s = min(timeout_s, deadline.remaining())
    extra = {k: v for k, v in KEEPALIVES.items() if k not in params}
    if "connect_timeout" not in params or deadline is not None:
        extra["connect_timeout"] = str(max(MIN_CONNECT_TIMEOUT_S, math.ceil(timeout_s)))
    options = session_options(
        params.get("options"), read_only=read_only, statement_timeout_ms=statement_timeout_ms,
        lock_timeout_ms=lock_timeout_ms,
    )
    try:
        conn = psycopg.connect(
            conninfo.make_conninfo(dsn, **extra),
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=application_name,
            options=options,
        )
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(describe_error(exc, dsn=dsn, connecting=True)) from None
    if deadline is not None:
        deadline.watch(conn)
    return conn


# (phrases of libpq, psycopg and the server, lowercased; quoted names are removed first, so a
# host, role or database whose name holds "timeout" or "refused" cannot mislead), reason, fix
_CAUSES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("password authentication failed", "no password supplied", "password is required"),
     "password authentication failed", "check the user and password (~/.pgpass or the DSN)"),
    (("no pg_hba.conf entry",), "no pg_hba.conf rule for this host, user and database",
     "ask the server's DBA to allow it, or connect as another user"),
    (("too many connections", "remaining connection slots"), "too many connections",
     "the server is full: retry later, or ask its DBA"),
    (("the database system is starting up", "the database system is shutting down",
      "the database system is in recovery mode", "not yet accepting connections"),
     "server starting up or shutting down", "wait a moment and retry"),
    (("connection refused",), "connection refused",
     "is the server running, and are host and port right?"),
    (("no such file or directory",), "no server on that socket",
     "is the server running, and is the socket directory (host) right?"),
    (("failed to resolve host", "could not translate host name", "name or service not known",
      "temporary failure in name resolution", "nodename nor servname"),
     "unknown host", "fix the host in the DSN"),
    (("timeout expired", "timed out"), "timed out",
     "check the host, port and network path (a firewall dropping packets?)"),
    (("network is unreachable", "no route to host"), "network unreachable",
     "check the host and the network path"),
    (("ssl negotiation", "server does not support ssl", "ssl error", "ssl syscall"),
     "SSL negotiation failed", "check sslmode, and that host:port is a PostgreSQL server"),
    (("invalid integer value", "invalid value for parameter", "invalid sslmode value"),
     "invalid connection parameter", "fix the DSN"),
)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


# Secrets a server or driver message may quote whatever DSN it is about (dblink, FDW options).
_SECRET_IN_TEXT = re.compile(
    r"(?i)(\b(?:password|sslpassword)\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)|(://[^:/@\s]*:)[^@\s]*@")
# SQLSTATE classes a query's text can fix (syntax, undefined objects, wrong types), so the
# message says where to adapt it; insufficient_privilege (42501) is the role's, not the text's.
_ADAPTABLE = ("42", "0A")


def describe_error(
    exc: BaseException,
    *,
    dsn: str | None = None,
    location: str | None = None,
    connecting: bool = False,
) -> str:
    """The console's one line for a database failure (str, sanitised, secrets masked).

    Every face (checks, tables, actions, doctor, the CLI) shows database errors through this
    function, so they read the same and none shows a password or a terminal escape.

    - While connecting (``connecting=True``): ``cannot connect to user@host:port/db (reason):
      fix``, the cause told from libpq's phrases with every quoted name removed.
    - A statement timeout: ``timed out (statement_timeout): ...``; a lock timeout:
      ``timed out waiting for a lock (lock_timeout): ...``.
    - A lost connection (libpq's own failures without SQLSTATE, class 08, and 57P0x: the
      server shut the session): ``connection lost: <the message>``.
    - Any other server error: its message, ``(hint: ...)`` when the server gives one, and
      where the query is written when ``location`` is known: ``: adapt queries/jobs.sql:12``
      when the query's text can fix it (SQLSTATE class 42 or 0A), else ``(queries/...)``.

    Args:
        exc: the psycopg (or any) exception.
        dsn: the DSN the error is about; its password and any 4+ character fragment of it are
            masked (``password=...`` and ``://user:...@`` are masked in any case).
        location: ``queries/file.sql:LINE`` of the failing query, when the caller knows it.
        connecting: the error was raised while connecting (names the target and the fix).

    Returns:
        One line of inert text (at most about 400 characters).
    """
    if connecting:
        return _describe_connect(exc, dsn or "")
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return ("timed out waiting for a lock (lock_timeout): another session holds the rows "
                "or the table; retry later")
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return ("timed out (statement_timeout): the statement is too slow for this database; "
                "retry later, in smaller batches, or with a longer timeout")
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    sqlstate = str(getattr(exc, "sqlstate", None) or "")
    if isinstance(exc, psycopg.OperationalError) and (
            sqlstate == "" or sqlstate[:2] == "08" or sqlstate[:3] == "57P"):
        return "connection lost: " + _shown(
            primary or _first_line(exc) or "the server closed the session", dsn, 300)
    text = _shown(primary or _first_line(exc) or type(exc).__name__, dsn, 300)
    hint = getattr(diag, "message_hint", None) if diag is not None else None
    if hint:
        text += f" (hint: {_shown(hint, dsn, 200)})"
    if location:
        adaptable = sqlstate[:2] in _ADAPTABLE and sqlstate != "42501"
        text += f": adapt {location}" if adaptable else f" ({location})"
    return text


def _shown(text: str, dsn: str | None, limit: int) -> str:
    """``text`` with secrets masked, then sanitised to one inert line of ``limit`` chars."""
    masked = _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1) or m.group(3)}{MASK}"
                                 + ("@" if m.group(3) else ""), mask_text(text, dsn))
    return sanitize.clean(masked.strip(), limit)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _describe_connect(exc: BaseException, dsn: str) -> str:
    """Turn a libpq connection error into one line naming the target and the fix (str).

    The cause is told from the error's own phrases with every quoted name removed; the
    password (and fragments of it) never appear.
    """
    where = target(dsn).label()
    raw = str(exc)
    reason, fix = _cause(_QUOTED.sub(" ", raw).lower()) or (
        _shown(_last_line(mask_text(raw, dsn).strip()), dsn, 300),
        "check the DSN and the server")
    return f"cannot connect to {where} ({reason}): {fix}"


def _cause(low: str) -> tuple[str, str] | None:
    """(reason, fix) for an error text without its quoted names (lowercase), or None."""
    for phrases, reason, fix in _CAUSES:
        if any(p in low for p in phrases):
            return reason, fix
    if "does not exist" in low and "role" in low:
        return "role does not exist", "fix the user in the DSN"
    if "does not exist" in low and "database" in low:
        return "database does not exist", "create it or fix dbname in the DSN"
    return None
def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "unknown error"
    tail = lines[-1]
    return tail.removeprefix("FATAL:").strip()
