"""The server is the judge (DESIGN.md): every statement the catalog uses, verified on the
connected database before anything runs, as one :class:`CatalogReport`.

:func:`verify_catalog` prepares and describes every :class:`~opsconsole.catalog.StatementUse`
(checks, tables, and the actions' uses) without running it (:mod:`opsconsole.catalog.describe`)
and turns what it learns into :class:`Finding` lines, each naming what to edit:

- ``not-installed``: the owner's subsystem (``screens/subsystems.toml``) is absent;
- ``requires``: an object the spec requires (a trigger, a constraint by name) is absent;
- ``prepare``: the server refused the statement (its message and hint, what the database has
  that is closest, the query's file and line);
- ``binding``: the statement prepares, but not with the values the engine binds;
- ``vocabulary``: a literal it filters on or writes is a value the column cannot hold (enum
  labels, CHECK list; beside what the data holds);
- ``column``: the spec names a column the statement does not return;
- ``rls``: row-level security filters what the session's role sees of a table a check or table
  reads (actions judge RLS in their own guards).

:func:`verified` is the once-per-session entry point: it caches the report by catalog
fingerprint and schema fingerprint (``introspect.fingerprint``, about 0.5 ms), so a session
re-verifies only when the catalog, the schema, the grants or the role changed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from psycopg.adapt import PyFormat

from opsconsole.catalog import cache, introspect, vocabulary
from opsconsole.catalog.describe import (
    Column,
    Description,
    Failure,
    StatementFailed,
    Verification,
    check_input,
    describe,
    describe_all,
    identifiers,
    statement_text,
    to_positional,
)
from opsconsole.catalog.findings import ENUM_INPUT, absent, findings_of, relations
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.catalog.model import Catalog, CheckSpec, StatementUse
from opsconsole.catalog.report import CatalogReport, Finding
from opsconsole.catalog.vocabulary import Literal
from opsconsole.connection.db import Connection

__all__ = [
    "CatalogReport",
    "Column",
    "Description",
    "Failure",
    "Finding",
    "StatementFailed",
    "Verification",
    "describe",
    "describe_all",
    "identifiers",
    "statement_text",
    "to_positional",
    "verified",
    "verify_catalog",
]

def verify_catalog(conn: Connection, catalog: Catalog) -> CatalogReport:
    """Have the server prepare and describe every statement the catalog uses, and judge the
    specs, the literal values and row-level security against what it says.

    Args:
        conn: an open session (autocommit; no transaction in progress).
        catalog: the loaded catalog.

    Returns:
        CatalogReport: one Finding per problem of each use (none: runnable).

    Raises:
        psycopg.OperationalError: the connection was lost.
    """
    started = time.perf_counter()
    schema = introspect.inspect(conn, catalog)
    uses = catalog.statement_uses()
    report = CatalogReport(uses=uses, verification=Verification(), schema=schema)
    report.subsystems = {sid: schema.missing(spec.requires)
                         for sid, spec in catalog.subsystems.items()}
    report.verification, report.binding = _describe_uses(conn, catalog, uses)
    report.sources = _sources(conn, catalog, report.verification.described)
    report.literals = _literals(catalog, uses, schema)
    report.vocabularies = vocabulary.lookup(conn, catalog, _vocabulary_columns(catalog, report))
    report.row_security = introspect.row_security(
        conn, catalog, {r for u in uses if u.kind in ("check", "table")
                        for r in relations(catalog, u.ref, schema)})
    enum_labels = _enum_labels(conn, catalog, report.verification.failed.values())
    for use in uses:
        for found in findings_of(catalog, report, use, enum_labels):
            if found not in report.findings:  # an owner's uses may share a problem
                report.findings.append(found)
    used = {(u.kind, u.owner) for u in uses}
    for screen in catalog.screens:  # actions that declare no statement: judged by subsystem
        for action in screen.actions:
            missing = absent(catalog, report, "action", action.name)
            if ("action", action.name) not in used and missing is not None:
                report.findings.append(Finding("action", action.name, "", missing,
                                               "not-installed", "screens/subsystems.toml"))
    report.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


_CACHE: OrderedDict[tuple[str, str], CatalogReport] = OrderedDict()
_RECENT: dict[tuple[int, int, str], tuple[float, tuple[str, str]]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8
RECHECK_S = 1.0  # a session re-reads the fingerprint at most this often
KEPT_S = 300.0
"""How long a verification kept on disk (catalog/cache.py) serves other processes on the same
catalog and schema fingerprint (s): ``check`` from cron then verifies with one query (~1 ms)
instead of describing every statement (~60-120 ms). Bounded because what the data holds
(``pg_stats``, beside the vocabularies) is read with the report and no fingerprint follows it."""


def _entry(catalog: Catalog, schema_fingerprint: str) -> str:
    """The cache entry's name for this catalog (folder and bytes) on this schema."""
    both = f"{catalog.fingerprint}:{schema_fingerprint}"
    return f"verified-{cache.key(catalog.root, both)}.pickle"


def _kept(catalog: Catalog, schema_fingerprint: str) -> CatalogReport | None:
    """A verification another process made of this catalog on this schema fingerprint less than
    :data:`KEPT_S` ago, or None."""
    if not catalog.fingerprint:
        return None
    kept = cache.read(_entry(catalog, schema_fingerprint), max_age_s=KEPT_S)
    if not isinstance(kept, CatalogReport) or kept.fingerprint != schema_fingerprint:
        return None
    return kept


def verified(conn: Connection, catalog: Catalog) -> CatalogReport:
    """The catalog verified on this database, from the cache while neither the catalog nor the
    schema changed (one fingerprint query, about 0.5 ms, at most once per :data:`RECHECK_S`
    per session), else by :func:`verify_catalog`.

    The cache is per process, keyed by (catalog fingerprint, schema fingerprint), and kept on
    disk for :data:`KEPT_S` for the next process (``check`` from cron); the schema
    fingerprint covers the database, the role and its attributes, relations, columns, types,
    enum labels, constraints, triggers, policies, functions and grants. What the data holds
    (``pg_stats``) is read with the report and not refreshed by ANALYZE alone.

    Args:
        conn: an open session (autocommit; no transaction in progress).
        catalog: the loaded catalog.

    Returns:
        CatalogReport (shared: do not modify it).

    Raises:
        psycopg.OperationalError: the connection was lost.
    """
    ident = catalog.fingerprint or f"id:{id(catalog)}"
    session = (id(conn), conn.pgconn.backend_pid, ident)
    now = time.monotonic()
    with _CACHE_LOCK:
        recent = _RECENT.get(session)
        if recent is not None and now - recent[0] < RECHECK_S and recent[1] in _CACHE:
            return _CACHE[recent[1]]
    key = (ident, introspect.fingerprint(conn, catalog))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            _RECENT[session] = (now, key)
            return hit
    report = _kept(catalog, key[1])
    if report is None:
        report = verify_catalog(conn, catalog)
        report.fingerprint = key[1]
        if catalog.fingerprint:
            cache.write(_entry(catalog, key[1]), report)
    with _CACHE_LOCK:
        _CACHE[key] = report
        _RECENT[session] = (now, key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        for stale in [s for s, (at, _) in _RECENT.items() if now - at > 60 * RECHECK_S]:
            del _RECENT[stale]
    return report


# -- the server's descriptions ---------------------------------------------------------------


def _describe_uses(
    conn: Connection, catalog: Catalog, uses: list[StatementUse]
) -> tuple[Verification, set[str]]:
    """Describe every use's statement: checks with the parameter types the engine binds, slotted
    statements with their identifiers filled.

    Returns:
        (verification, the refs whose failure is only the binding's)."""
    checks = {c.id: c for _, c in catalog.checks()}
    bound = {u.ref: _bound_types(conn, checks[u.owner]) for u in uses
             if u.kind == "check" and u.owner in checks}
    plain = [u.ref for u in uses if not u.slots]
    out = describe_all(conn, catalog, plain, param_types=bound)
    retry = [ref for ref in out.failed if ref in bound]
    binding: set[str] = set()
    if retry:  # prepares untyped: the binding is what fails
        untyped = describe_all(conn, catalog, retry)
        for ref in untyped.described:
            out.failed[ref] = _binding_failure(out.failed[ref], checks, uses)
            binding.add(ref)
    for use in uses:  # text values are sent untyped: the server must accept them as input
        desc = out.described.get(use.ref)
        spec = checks.get(use.owner) if use.kind == "check" else None
        for name, value in (spec.params.items() if spec and desc else ()):
            assert desc is not None
            if isinstance(value, str) and name in desc.param_oids:
                refused = check_input(conn, value, desc.param_oids[name])
                if refused is not None:
                    out.failed[use.ref] = Failure(
                        use.ref, f"params.{name} = {value!r} cannot be bound as "
                        f"{desc.params[name]} ({refused})", None, None, None,
                        catalog.spec_file("check", use.owner))
                    del out.described[use.ref]
                    binding.add(use.ref)
                    break
    for use in uses:  # a slotted statement is judged once per set of identifiers
        key = use.key
        if use.slots and key not in out.failed and key not in out.described:
            try:
                out.described[key] = desc = describe(
                    conn, catalog, use.ref, idents=identifiers(use.slots))
                out.described.setdefault(use.ref, desc)
            except StatementFailed as exc:
                out.failed[key] = exc.failure
    return out, binding



def _bound_types(conn: Connection, spec: CheckSpec) -> dict[str, int]:
    """Parameter name -> the type oid psycopg sends for the value the engine binds."""
    from datetime import UTC, datetime

    values: dict[str, Any] = {"now": datetime.now(UTC), **spec.params}
    out = {}
    for name, value in values.items():
        dumper = conn.adapters.get_dumper(type(value), PyFormat.AUTO)
        out[name] = dumper(type(value), conn).upgrade(value, PyFormat.AUTO).oid
    return out


def _binding_failure(failure: Failure, checks: dict[str, CheckSpec],
                     uses: list[StatementUse]) -> Failure:
    owners = [checks[u.owner] for u in uses if u.ref == failure.ref and u.owner in checks]
    bound = ", ".join(f"{k} = {v!r}" for spec in owners[:1] for k, v in spec.params.items())
    message = (f"{failure.message}, with the values the engine binds "
               f"(now as timestamptz{', ' + bound if bound else ''})")
    return Failure(failure.ref, message, failure.hint, failure.detail, failure.sqlstate,
                   failure.location, failure.sql_line)


def _sources(
    conn: Connection, catalog: Catalog, described: dict[str, Description]
) -> dict[str, dict[str, str]]:
    pairs = sorted({(c.table_oid, c.column_no) for d in described.values() for c in d.columns
                    if c.table_oid and c.column_no > 0})
    if not pairs:
        return {}
    rows = conn.execute(
        catalog.query("introspect.column_names").sql.encode(),
        {"oids": [p[0] for p in pairs], "attnums": [p[1] for p in pairs]},
    ).fetchall()
    names = {(int(r["table_oid"]), int(r["column_no"])): str(r["name"]) for r in rows}
    return {ref: {c.name: names[(c.table_oid, c.column_no)] for c in d.columns
                  if (c.table_oid, c.column_no) in names}
            for ref, d in described.items()}


# -- literal values and what their columns can hold -------------------------------------------


def _literals(catalog: Catalog, uses: list[StatementUse],
              schema: SchemaInfo) -> dict[str, list[Literal]]:
    out: dict[str, list[Literal]] = {}
    for use in uses:
        if use.ref not in out:
            out[use.ref] = vocabulary.literals(catalog.query(use.ref).sql, schema)
        lines = catalog.query(use.ref).sql.splitlines()
        for column, values in use.values.items():
            for value in values:
                line = next((i for i, t in enumerate(lines) if f"'{value}'" in t), 0)
                lit = Literal(column, value, use.role in ("apply", "undo"), line)
                if not any((x.column, x.value) == (column, value) for x in out[use.ref]):
                    out[use.ref].append(lit)
    return out


def _vocabulary_columns(catalog: Catalog, report: CatalogReport) -> set[str]:
    columns = {lit.column for lits in report.literals.values() for lit in lits}
    for _, spec in catalog.checks():
        if spec.shape == "breakdown":
            source = report.sources.get(spec.query, {}).get(spec.key_column)
            columns |= {source} if source else set()
    return columns


def _enum_labels(conn: Connection, catalog: Catalog,
                 failures: Iterable[Failure]) -> dict[str, tuple[str, ...]]:
    names = sorted({m.group(1) for f in failures if (m := ENUM_INPUT.match(f.message))})
    if not names:
        return {}
    rows = conn.execute(catalog.query("introspect.enum_labels").sql.encode(),
                        {"names": names}).fetchall()
    out: dict[str, tuple[str, ...]] = {}
    for r in rows:
        labels = tuple(str(v) for v in r["labels"])
        out[str(r["name"])] = out[str(r["short_name"])] = labels
    return out
