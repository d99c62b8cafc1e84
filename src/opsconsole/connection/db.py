"""Connections: the read-only monitoring session, the write session for actions, timeouts.

Every connection carries ``application_name=opsconsole``, a ``statement_timeout`` and
``jit=off`` (JIT compilation costs more than the console's short statements run). The
monitoring session is ``default_transaction_read_only = on`` so no check can ever write. All
connection failures become one-line :class:`~opsconsole.errors.ConnectionFailed` errors that
name the target and the fix, never echo a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from opsconsole.connection.dsn import mask_text, parse, target
from opsconsole.errors import ConnectionFailed

APPLICATION_NAME = "opsconsole"
DEFAULT_STATEMENT_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 5

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


def connect(
    dsn: str,
    *,
    read_only: bool = True,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int | None = None,
    autocommit: bool = True,
    application_name: str = APPLICATION_NAME,
) -> Connection:
    """Open a session with the console's settings.

    Args:
        dsn: libpq DSN or URI.
        read_only: set ``default_transaction_read_only`` (monitoring sessions: True).
        statement_timeout_ms: per-statement limit in ms (0 = none).
        lock_timeout_ms: lock wait limit in ms, for write sessions (None = server default).
        autocommit: psycopg autocommit mode (monitoring: True, one statement per query).
        application_name: shown in pg_stat_activity.

    Returns:
        A psycopg connection whose rows are dicts.

    Raises:
        BadInput: the DSN is malformed.
        ConnectionFailed: the server is unreachable or refused the login.
    """
    # JIT compiles any plan above jit_above_cost: 20-40 ms per statement on the large demo, more
    # than most checks take to run. The console's statements are short, so it is off for them.
    options = [f"-c statement_timeout={int(statement_timeout_ms)}", "-c jit=off"]
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if lock_timeout_ms is not None:
        options.append(f"-c lock_timeout={int(lock_timeout_ms)}")
    given = parse(dsn).get("options")  # BadInput before any network traffic
    if given:
        options.insert(0, given)  # the DSN's own options (e.g. read-only) are kept; ours follow
    try:
        return psycopg.connect(
            dsn,
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=application_name,
            connect_timeout=CONNECT_TIMEOUT_S,
            options=" ".join(options),
        )
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(describe_connect_error(exc, dsn)) from exc


def describe_connect_error(exc: BaseException, dsn: str) -> str:
    """Turn a libpq connection error into one line naming the target and the fix (str)."""
    where = target(dsn).label()
    text = mask_text(str(exc), dsn).strip()
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        reason, fix = "password authentication failed", "check the user and password of the DSN"
    elif "does not exist" in low and "database" in low:
        reason, fix = "database does not exist", "create it or fix dbname in the DSN"
    elif "role" in low and "does not exist" in low:
        reason, fix = "role does not exist", "fix the user in the DSN"
    elif "connection refused" in low or "no such file or directory" in low:
        reason, fix = "connection refused", "is the server running, and are host and port right?"
    elif "timeout" in low or "timed out" in low:
        reason, fix = "timed out", "check the host, port and network path"
    elif "could not translate host name" in low:
        reason, fix = "unknown host", "fix the host in the DSN"
    else:
        reason, fix = _last_line(text), "check the DSN and the server"
    return f"cannot connect to {where} ({reason}): {fix}"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "unknown error"
    tail = lines[-1]
    return tail.removeprefix("FATAL:").strip()
