"""The write session an action runs on, and the context it runs in.

Actions never share the monitoring connection: each run opens its own write session
(``default_transaction_read_only`` off, a statement timeout, application_name ``opsconsole``).
Every statement comes from ``queries/actions.sql``; the few with identifier slots are composed
here with :class:`psycopg.sql.Identifier` only.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.rows import tuple_row

from opsconsole.actions.model import Face
from opsconsole.catalog import Catalog, ParamSpec
from opsconsole.connection import db
from opsconsole.connection.config import Profile, Resolved

QUERY_FILE = "queries/actions.sql"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
PREVIEW_TIMEOUT_MS = 30_000
APPLY_STATEMENT_TIMEOUT_MS = 60_000
APPLY_LOCK_TIMEOUT_MS = 3_000


def _label(param: ParamSpec) -> str:
    return param.shown


NEUTRAL_FACE = Face(
    writes_hint="switch writes on for this profile",
    confirm="confirm the count: {count}",
    confirm_env="confirm the count and the environment's name: {count} {env}",
    param=_label,
)


def default_audit_file(resolved: Resolved | None = None) -> Path:
    """The local audit file: ``$OPSCONSOLE_AUDIT_FILE``, the config's ``audit_file``, or
    ``$XDG_STATE_HOME/opsconsole/audit.jsonl`` (Path)."""
    env = os.environ.get("OPSCONSOLE_AUDIT_FILE")
    if env:
        return Path(env).expanduser()
    if resolved is not None and resolved.defaults.audit_file:
        return Path(resolved.defaults.audit_file).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "opsconsole" / "audit.jsonl"


def os_user() -> str:
    """The OS user running the console (str; "unknown" when it cannot be told)."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry and no LOGNAME/USER
        return "unknown"


@dataclass
class ActionContext:
    """Who runs an action, where, and whether writes are switched on.

    Attributes:
        dsn: the DSN (never printed; may hold a password).
        profile: the effective profile (name, environment, writes).
        catalog: the loaded catalog (queries/actions.sql).
        writes_enabled: the profile allows writes, or the CLI got --allow-writes, or the TUI is
            in write mode (bool).
        audit_file: the local JSON-lines audit file (Path).
        os_user: getpass.getuser() (str).
        hostname: this machine's name (str).
        lock_timeout_ms: SET LOCAL lock_timeout of every apply transaction (int).
        statement_timeout_ms: SET LOCAL statement_timeout of every apply transaction (int).
        face: how the face that started the action words what the engineer types (Face).
        new_run_id: makes the id of a run, a UUID as text (default uuid4; a deterministic
            console, e.g. for screenshots, passes its own).
    """

    dsn: str
    profile: Profile
    catalog: Catalog
    writes_enabled: bool
    audit_file: Path
    os_user: str = field(default_factory=os_user)
    hostname: str = field(default_factory=socket.gethostname)
    lock_timeout_ms: int = APPLY_LOCK_TIMEOUT_MS
    statement_timeout_ms: int = APPLY_STATEMENT_TIMEOUT_MS
    face: Face = NEUTRAL_FACE
    new_run_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    @property
    def production(self) -> bool:
        """True on a production profile (the confirmation also needs the environment's name)."""
        return self.profile.environment == "production"


class Session:
    """A write session plus the named queries of the catalog (``queries/actions.sql``).

    Statements are named by their ref (``actions.flag_lookup``); a bare name means
    ``actions.NAME``. Parameters are bound by name: a statement gets those it declares.

    Args:
        conn: an autocommit psycopg connection with dict rows.
        catalog: the catalog holding the queries.
    """

    def __init__(self, conn: db.Connection, catalog: Catalog) -> None:
        self.conn = conn
        self.catalog = catalog

    def statement(self, name: str, idents: list[sql.Composable] | None = None) -> str:
        """The SQL of a statement as written in the file (``:param``), its ``{n}`` slots filled
        with ``idents``, for the engineer to read (str)."""
        text = self.catalog.query(_ref(name)).sql
        if idents:
            text = sql.SQL(text).format(*idents).as_string(self.conn)
        return _PLACEHOLDER.sub(r":\1", text).replace("%%", "%")

    def rows(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Run a statement with bound parameters and return its rows."""
        cur = self.conn.execute(*self._bound(name, params))
        return cur.fetchall() if cur.description else []

    def tuples(self, name: str, /, **params: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a statement; (column names, rows as tuples): no dict per row, for the bulk
        previews that return up to a million keys."""
        with self.conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(*self._bound(name, params))
            if not cur.description:
                return [], []
            return [c.name for c in cur.description], cur.fetchall()

    def one(self, name: str, /, **params: Any) -> dict[str, Any] | None:
        """The first row of a statement (or None)."""
        rows = self.rows(name, **params)
        return rows[0] if rows else None

    def composed(
        self, name: str, idents: list[sql.Composable], /, **params: Any
    ) -> list[dict[str, Any]]:
        """Run a statement whose ``{0}``, ``{1}``... slots take the given identifiers.

        Args:
            name: the statement's ref.
            idents: sql.Identifier values (or sql.Composed joins of them) only.
            params: bound parameters.
        """
        query = self.catalog.query(_ref(name))
        stmt = sql.SQL(query.sql).format(*idents)
        bound = {p: params.get(p) for p in query.parameters}
        cur = self.conn.execute(stmt, bound)
        return cur.fetchall() if cur.description else []

    def _bound(self, name: str, params: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        query = self.catalog.query(_ref(name))
        return query.sql.encode(), {p: params.get(p) for p in query.parameters}


def _ref(name: str) -> str:
    return name if "." in name else f"actions.{name}"


@contextmanager
def open_session(ctx: ActionContext) -> Iterator[Session]:
    """Open the action's own write session.

    Raises:
        BadInput: malformed DSN.
        ConnectionFailed: the server cannot be reached.
    """
    conn = db.connect(
        ctx.dsn,
        read_only=False,
        statement_timeout_ms=PREVIEW_TIMEOUT_MS,
        autocommit=True,
        application_name="opsconsole action",
    )
    try:
        session = Session(conn, ctx.catalog)
        session.one("pin_settings")
        yield session
    finally:
        conn.close()
