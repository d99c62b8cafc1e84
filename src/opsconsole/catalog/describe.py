"""The server prepares and describes a named statement without running it (DESIGN.md "The server
is the judge").

Each statement is sent as a protocol-level Parse + Describe (no Bind, no Execute) inside a
read-only transaction that is always rolled back, so PostgreSQL resolves every relation, column,
function, operator and type without running anything, for UPDATE and INSERT too. A statement that
prepares gives a :class:`Description`: its parameter types and its result columns (name, type,
and the table column each comes from). One that does not gives a :class:`Failure` carrying the
server's message, its HINT ("Perhaps you meant to reference the column ...") and the file and
line of the catalog where it is written.

Parameters may be given the types the engine will bind (``param_types``: e.g. ``now`` as
timestamptz, a spec's ``timeout_s = 900`` as psycopg sends it), so the server judges the binding
exactly as it will meet it.

Utility statements (``ALTER TABLE ... ENABLE TRIGGER``, ``LOCK TABLE``) are parsed but not
analysed by PostgreSQL before they run: their objects must be judged another way (``requires``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import pq, sql

from opsconsole import sanitize
from opsconsole.catalog.model import Catalog, NamedQuery
from opsconsole.connection.db import Connection

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_UTILITY = re.compile(r"^\s*(ALTER|LOCK|CREATE|DROP|GRANT|REVOKE|COMMENT|TRUNCATE)\b", re.I)


@dataclass(frozen=True)
class Column:
    """A result column of a described statement.

    Attributes:
        name: the column's name as the statement returns it (str).
        type: the server's type name, e.g. ``bigint``, ``uuid``, ``timestamp with time zone``.
        type_oid: the type's oid (int).
        table_oid: the table it comes from when it is a plain column reference, else 0 (int).
        column_no: its attribute number in that table, else 0 (int).
        category: the type's ``pg_type.typcategory`` (N numeric, S string, D date/time, B
            boolean, U user-defined such as uuid, E enum, ...; "" when unknown) (str).
    """

    name: str
    type: str
    type_oid: int
    table_oid: int = 0
    column_no: int = 0
    category: str = ""


@dataclass(frozen=True)
class Description:
    """What the server says a statement takes and returns.

    Attributes:
        ref: the named query, ``file.name`` (str).
        params: each declared parameter -> the server's type name for it, in declaration
            order (dict[str, str]); a parameter the statement never uses is absent.
        columns: the result columns in order (tuple[Column, ...]; empty for a statement that
            returns no rows).
        utility: True for a utility statement (ALTER, LOCK, ...), which the server parses but
            does not analyse until it runs (bool).
        param_categories: each parameter -> its type's ``typcategory`` (dict[str, str]).
        param_oids: each parameter -> its type's oid (dict[str, int]).
    """

    ref: str
    params: dict[str, str]
    columns: tuple[Column, ...] = ()
    utility: bool = False
    param_categories: dict[str, str] = field(default_factory=dict)
    param_oids: dict[str, int] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        """The result columns' names, in order (list[str])."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        """The result column ``name``, or None."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Failure:
    """Why a statement does not prepare on this database.

    Attributes:
        ref: the named query (str).
        message: the server's primary message, sanitised (str), e.g.
            ``column "last_error" does not exist``.
        hint: the server's HINT, sanitised, or None (e.g. ``Perhaps you meant to reference the
            column "sms_outbound_jobs.error_message".``).
        detail: the server's DETAIL, or None.
        sqlstate: the SQLSTATE, e.g. ``42703`` (undefined column), or None.
        location: where to edit, ``queries/jobs.sql:12`` (the line the server pointed at when it
            gave a position, else the statement's first line) (str).
        sql_line: the 0-based line of the statement the server pointed at, or None.
    """

    ref: str
    message: str
    hint: str | None
    detail: str | None
    sqlstate: str | None
    location: str
    sql_line: int | None = None

    def line(self) -> str:
        """One line: message, hint and where to edit (str)."""
        text = self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return f"{text}: adapt {self.location}"


@dataclass
class Verification:
    """The outcome of verifying a set of statements on one database.

    Attributes:
        described: ref -> Description of every statement that prepared.
        failed: ref -> Failure of every statement that did not.
    """

    described: dict[str, Description] = field(default_factory=dict)
    failed: dict[str, Failure] = field(default_factory=dict)

    def ok(self, ref: str) -> bool:
        """Whether ``ref`` prepared (bool)."""
        return ref in self.described


def identifiers(slots: tuple[str, ...]) -> list[sql.Composable]:
    """Dotted names as psycopg.sql.Identifier values (``public.t`` -> ``"public"."t"``)."""
    return [sql.Identifier(*name.split(".")) for name in slots]


class StatementFailed(Exception):
    """A statement did not prepare; ``failure`` says why and where (:class:`Failure`)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.line())
        self.failure = failure


def to_positional(text: str) -> tuple[str, list[str]]:
    """psycopg's ``%(name)s`` placeholders as ``$1, $2 ...`` (by first use), ``%%`` as ``%``.

    Returns:
        (statement text for the server, parameter names in ``$n`` order).

    >>> to_positional("SELECT %(a)s, %(b)s, %(a)s, '100%%'")
    ("SELECT $1, $2, $1, '100%'", ['a', 'b'])
    """
    names: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(sub, text), names


def statement_text(
    conn: Connection, query: NamedQuery, idents: list[sql.Composable] | None = None
) -> str:
    """The query's SQL with its ``{0}``, ``{1}`` identifier slots filled (str, still psycopg
    format). ``idents`` must be :class:`psycopg.sql.Identifier` values (or joins of them)."""
    if not idents:
        return query.sql
    return sql.SQL(query.sql).format(*idents).as_string(conn)


def describe(
    conn: Connection,
    catalog: Catalog,
    ref: str,
    *,
    idents: list[sql.Composable] | None = None,
    param_types: Mapping[str, int] | None = None,
) -> Description:
    """Prepare and describe one named query without running it.

    Args:
        conn: an open session (autocommit; no transaction in progress).
        catalog: the loaded catalog.
        ref: ``file.name`` of the query.
        idents: identifiers for the query's ``{n}`` slots, if it has any.
        param_types: parameter name -> type oid to declare (others: the server infers them).

    Returns:
        Description.

    Raises:
        StatementFailed: the server refused it (message, hint, file and line).
        psycopg.OperationalError: the connection was lost.
    """
    result = describe_all(conn, catalog, [ref], idents={ref: idents} if idents else None,
                          param_types={ref: param_types} if param_types else None)
    if ref in result.failed:
        raise StatementFailed(result.failed[ref])
    return result.described[ref]


def describe_all(
    conn: Connection,
    catalog: Catalog,
    refs: Iterable[str],
    *,
    idents: Mapping[str, list[sql.Composable] | None] | None = None,
    param_types: Mapping[str, Mapping[str, int]] | None = None,
) -> Verification:
    """Prepare and describe many named queries, in one read-only transaction while they
    succeed (a failure aborts it: it is rolled back and the next statement starts another).

    Args:
        conn: an open session (autocommit; no transaction in progress).
        catalog: the loaded catalog.
        refs: the queries, ``file.name`` each (duplicates are verified once).
        idents: per ref, identifiers for its ``{n}`` slots.
        param_types: per ref, parameter name -> type oid to declare (e.g. how the engine binds
            its values); parameters not named are left to the server to infer.

    Returns:
        Verification (every ref is either described or failed).

    Raises:
        psycopg.OperationalError: the connection was lost.
        KeyError: a ref is not in the catalog.
    """
    pending = list(dict.fromkeys(refs))
    raw: dict[str, _Parsed] = {}
    out = Verification()
    while pending:
        with _read_only(conn):
            while pending:
                ref = pending.pop(0)
                query = catalog.query(ref)
                text, names = to_positional(
                    statement_text(conn, query, (idents or {}).get(ref))
                )
                stmt = text.encode()
                declared = (param_types or {}).get(ref) or {}
                oids = [declared.get(n, 0) for n in names] if declared else None
                prepared = _exchange(
                    conn, lambda pg: pg.prepare(b"", stmt, oids)  # noqa: B023
                )
                if prepared.status != pq.ExecStatus.COMMAND_OK:
                    out.failed[ref] = _failure(catalog, query, prepared, conn)
                    break  # the transaction is aborted: roll back, go on in a new one
                described = _exchange(conn, lambda pg: pg.describe_prepared(b""))
                if described.status != pq.ExecStatus.COMMAND_OK:
                    out.failed[ref] = _failure(catalog, query, described, conn)
                    break
                raw[ref] = _Parsed(query, names, described, bool(_UTILITY.match(text)))
    names_by_oid = _type_names(conn, catalog, raw.values())
    for ref, parsed in raw.items():
        out.described[ref] = parsed.description(names_by_oid)
    return out


@dataclass(frozen=True)
class _Parsed:
    """A statement the server parsed: its ``$n`` names and the Describe result."""

    query: NamedQuery
    positional: list[str]
    result: pq.abc.PGresult
    utility: bool

    def description(self, types: dict[int, tuple[str, str]]) -> Description:
        res, names = self.result, self.positional
        declared = [n for n in self.query.parameters if n in names]
        order = [n for n in declared + [n for n in names if n not in declared]
                 if names.index(n) < res.nparams]
        oid_of = {name: res.param_type(names.index(name)) for name in order}
        params = {name: types.get(oid, ("unknown", ""))[0] for name, oid in oid_of.items()}
        categories = {name: types.get(oid, ("", ""))[1] for name, oid in oid_of.items()}
        columns = tuple(
            Column(
                name=(res.fname(i) or b"").decode("utf-8", "replace"),
                type=types.get(res.ftype(i), (str(res.ftype(i)), ""))[0],
                type_oid=res.ftype(i),
                table_oid=res.ftable(i),
                column_no=res.ftablecol(i),
                category=types.get(res.ftype(i), ("", ""))[1],
            )
            for i in range(res.nfields)
        )
        return Description(self.query.ref, params, columns, self.utility, categories, oid_of)


@contextmanager
def _read_only(conn: Connection) -> Iterator[None]:
    """A read-only transaction that is always rolled back."""
    before = conn.read_only
    conn.read_only = True
    try:
        with conn.transaction(force_rollback=True):
            yield
    finally:
        conn.read_only = before


def _exchange(
    conn: Connection, call: Callable[[pq.abc.PGconn], pq.abc.PGresult]
) -> pq.abc.PGresult:
    """Run one blocking libpq call under the connection's lock (psycopg's own calls take it).

    Raises:
        psycopg.OperationalError: the connection was lost.
        psycopg.errors.QueryCanceled: the statement timeout (or a cancel) stopped it: that says
            nothing about the statement, so it is not a Failure.
    """
    with conn.lock:
        result = call(conn.pgconn)
    if result.status == pq.ExecStatus.FATAL_ERROR and conn.pgconn.status != pq.ConnStatus.OK:
        raise psycopg.OperationalError(_text(result.error_message, conn) or "connection lost")
    if result.error_field(pq.DiagnosticField.SQLSTATE) == b"57014":
        raise psycopg.errors.QueryCanceled(_text(result.error_message, conn))
    return result


def check_input(conn: Connection, value: str, type_oid: int) -> str | None:
    """Whether the server accepts ``value`` as input of the type ``type_oid`` (``SELECT $1`` with
    the parameter declared of that type, in a read-only transaction rolled back).

    Returns:
        None when it does, else the server's message (sanitised).

    Raises:
        psycopg.OperationalError: the connection was lost.
    """
    with _read_only(conn):
        res = _exchange(conn, lambda pg: pg.exec_params(
            b"SELECT $1", [value.encode(conn.info.encoding, "replace")], [type_oid]))
        if res.status == pq.ExecStatus.TUPLES_OK:
            return None
        primary = _text(res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY), conn)
        return sanitize.clean(primary or "rejected", 300)


def _text(raw: bytes | None, conn: Connection) -> str:
    return raw.decode(conn.info.encoding, "replace").strip() if raw else ""


def _failure(
    catalog: Catalog, query: NamedQuery, res: pq.abc.PGresult, conn: Connection
) -> Failure:
    def field_(code: pq.DiagnosticField) -> str | None:
        value = _text(res.error_field(code), conn)
        return sanitize.clean(value, 300) if value else None

    message = field_(pq.DiagnosticField.MESSAGE_PRIMARY) or sanitize.clean(
        _text(res.error_message, conn) or "the server refused the statement", 300
    )
    position = field_(pq.DiagnosticField.STATEMENT_POSITION)
    sql_line = None
    if position and position.isdigit():
        text, _ = to_positional(query.sql)
        sql_line = text[: int(position) - 1].count("\n")
    return Failure(
        ref=query.ref,
        message=message,
        hint=field_(pq.DiagnosticField.MESSAGE_HINT),
        detail=field_(pq.DiagnosticField.MESSAGE_DETAIL),
        sqlstate=field_(pq.DiagnosticField.SQLSTATE),
        location=catalog.location(query.ref, sql_line),
        sql_line=sql_line,
    )


def _type_names(
    conn: Connection,
    catalog: Catalog,
    described: Iterable[_Parsed],
) -> dict[int, tuple[str, str]]:
    oids: set[int] = set()
    for parsed in described:
        res = parsed.result
        oids |= {res.param_type(i) for i in range(res.nparams)}
        oids |= {res.ftype(i) for i in range(res.nfields)}
    if not oids:
        return {}
    rows = conn.execute(
        catalog.query("introspect.type_names").sql.encode(), {"oids": sorted(oids)}
    ).fetchall()
    return {int(r["oid"]): (str(r["name"]), str(r["category"])) for r in rows}
