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

import functools
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg.adapt import PyFormat

from opsconsole.catalog import introspect, speccheck, suggest, vocabulary
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
from opsconsole.catalog.introspect import RowSecurity, SchemaInfo
from opsconsole.catalog.model import Catalog, CheckSpec, StatementUse, TableSpec
from opsconsole.catalog.vocabulary import Literal, Vocabulary
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


@dataclass(frozen=True)
class Finding:
    """Something that keeps a check, table or action from running as written.

    Attributes:
        kind: "check" | "table" | "action" | "console" (str).
        owner: the check id, table id or action name (str).
        ref: the named query concerned, or "" (str).
        message: one line: what is wrong, what the database has instead where known, and the
            file and line (or spec file and key) to edit (str, sanitised).
        code: "not-installed" | "requires" | "prepare" | "binding" | "vocabulary" | "column" |
            "rls" (str).
        location: where to edit: ``queries/jobs.sql:12`` or ``screens/jobs.toml:20`` (str).
    """

    kind: str
    owner: str
    ref: str
    message: str
    code: str = "prepare"
    location: str = ""


@dataclass
class CatalogReport:
    """Every statement the catalog uses, as the connected server judged it.

    Attributes:
        uses: the statement uses verified (list[StatementUse]).
        verification: the server's descriptions and failures by ref.
        findings: every problem found, in catalog order (list[Finding]).
        schema: what the database holds (SchemaInfo).
        subsystems: subsystem id -> the objects of its presence test that are absent (empty:
            installed) (dict[str, list[str]]).
        literals: ref -> the literal values it filters on or writes, derived from its SQL and
            declared by its uses (dict[str, list[Literal]]).
        vocabularies: ``schema.table.column`` -> what it can hold and its data holds.
        sources: ref -> result column name -> the ``schema.table.column`` it is read from, for
            result columns that are plain table columns (dict[str, dict[str, str]]).
        row_security: relation -> RowSecurity, for every relation the checks and tables read.
        binding: refs that prepare, but not with the parameter types the engine binds
            (set[str]; their failure is in ``verification.failed``).
        fingerprint: the schema fingerprint the report was made under ("" when not cached).
        elapsed_ms: how long the verification took, in ms (float).
    """

    uses: list[StatementUse]
    verification: Verification
    findings: list[Finding] = field(default_factory=list)
    schema: SchemaInfo = field(default_factory=lambda: SchemaInfo(frozenset(), frozenset(),
                                                                  frozenset()))
    subsystems: dict[str, list[str]] = field(default_factory=dict)
    literals: dict[str, list[Literal]] = field(default_factory=dict)
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    row_security: dict[str, RowSecurity] = field(default_factory=dict)
    binding: set[str] = field(default_factory=set)
    fingerprint: str = ""
    elapsed_ms: float = 0.0

    def problems(self, kind: str, owner: str) -> list[Finding]:
        """The findings of one check, table or action (list[Finding]; empty: runnable)."""
        return [f for f in self.findings if f.kind == kind and f.owner == owner]

    def runnable(self, kind: str, owner: str) -> bool:
        """Whether a check, table or action has no finding (bool)."""
        return not self.problems(kind, owner)

    def installed(self, kind: str, owner: str) -> bool:
        """False when the owner's subsystem is absent ("not installed") (bool)."""
        return not any(f.code == "not-installed" for f in self.problems(kind, owner))

    def description(self, ref: str) -> Description | None:
        """The server's description of ``ref``, or None when it did not prepare."""
        return self.verification.described.get(ref)

    def vocabulary(self, ref: str, result_column: str) -> Vocabulary | None:
        """What a result column of ``ref`` can hold, when it is a plain table column (e.g. the
        key column of a breakdown), else None."""
        source = self.sources.get(ref, {}).get(result_column)
        return self.vocabularies.get(source) if source else None


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
                        for r in _relations(catalog, u.ref, schema)})
    enum_labels = _enum_labels(conn, catalog, report.verification.failed.values())
    for use in uses:
        for found in _findings(catalog, report, use, enum_labels):
            if found not in report.findings:  # an owner's uses may share a problem
                report.findings.append(found)
    used = {(u.kind, u.owner) for u in uses}
    for screen in catalog.screens:  # actions that declare no statement: judged by subsystem
        for action in screen.actions:
            absent = _absent(catalog, report, "action", action.name)
            if ("action", action.name) not in used and absent is not None:
                report.findings.append(Finding("action", action.name, "", absent,
                                               "not-installed", "screens/subsystems.toml"))
    report.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


_CACHE: OrderedDict[tuple[str, str], CatalogReport] = OrderedDict()
_RECENT: dict[tuple[int, int, str], tuple[float, tuple[str, str]]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8
RECHECK_S = 1.0  # a session re-reads the fingerprint at most this often


def verified(conn: Connection, catalog: Catalog) -> CatalogReport:
    """The catalog verified on this database, from the cache while neither the catalog nor the
    schema changed (one fingerprint query, about 0.5 ms, at most once per :data:`RECHECK_S`
    per session), else by :func:`verify_catalog`.

    The cache is per process, keyed by (catalog fingerprint, schema fingerprint); the schema
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
    report = verify_catalog(conn, catalog)
    report.fingerprint = key[1]
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
    for use in uses:
        if use.slots and use.ref not in out.failed and use.ref not in out.described:
            try:
                out.described[use.ref] = describe(
                    conn, catalog, use.ref, idents=identifiers(use.slots))
            except StatementFailed as exc:
                out.failed[use.ref] = exc.failure
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


_ENUM_INPUT = re.compile(r'^invalid input value for enum ([\w$."]+): "(.*)"$')


def _enum_labels(conn: Connection, catalog: Catalog,
                 failures: Iterable[Failure]) -> dict[str, tuple[str, ...]]:
    names = sorted({m.group(1) for f in failures if (m := _ENUM_INPUT.match(f.message))})
    if not names:
        return {}
    rows = conn.execute(catalog.query("introspect.enum_labels").sql.encode(),
                        {"names": names}).fetchall()
    out: dict[str, tuple[str, ...]] = {}
    for r in rows:
        labels = tuple(str(v) for v in r["labels"])
        out[str(r["name"])] = out[str(r["short_name"])] = labels
    return out


def _relations(catalog: Catalog, ref: str, schema: SchemaInfo) -> list[str]:
    return [r for r in _mentioned(catalog.query(ref).sql) if r in schema.relations]


@functools.lru_cache(maxsize=512)
def _mentioned(sql_text: str) -> tuple[str, ...]:
    return tuple(introspect.relation_names(sql_text))


# -- findings ---------------------------------------------------------------------------------


def _findings(catalog: Catalog, report: CatalogReport, use: StatementUse,
              enum_labels: dict[str, tuple[str, ...]]) -> list[Finding]:
    def finding(message: str, code: str, location: str) -> Finding:
        return Finding(use.kind, use.owner, use.ref, message, code, location)

    absent = _absent(catalog, report, use.kind, use.owner)
    if absent is not None:
        return [finding(absent, "not-installed", "screens/subsystems.toml")]
    out: list[Finding] = []
    spec_file = catalog.spec_file(use.kind, use.owner)
    spec = _spec(catalog, use)
    missing = report.schema.missing(spec.requires) if spec is not None else []
    if missing:
        out.append(finding(f"missing {', '.join(missing)}: adapt requires in {spec_file}",
                           "requires", spec_file))
    held = _vocabulary_findings(catalog, report, use)
    out += [finding(m, "vocabulary", loc) for m, loc in held]
    failure = report.verification.failed.get(use.ref)
    if failure is not None:
        message = _failure_line(catalog, report, failure, enum_labels)
        enum = _ENUM_INPUT.match(failure.message)
        if not (enum and any(f"= '{enum.group(2)}'" in m for m, _ in held)):
            code = "binding" if use.ref in report.binding else "prepare"
            out.append(finding(message, code, failure.location))
    desc = report.description(use.ref)
    if desc is not None and spec is not None and use.role == "query":
        for problem in _spec_problems(catalog, report, spec, desc):
            out.append(finding(f"{spec_file}: {use.kind} {use.owner}: {problem.message}: adapt "
                               f"{problem.key} in {spec_file} or {catalog.location(use.ref)}",
                               "column", spec_file))
    if use.kind in ("check", "table"):
        out += [finding(f"{rls.reason()}: it would count only the rows its policies show; run "
                        f"the console as the table's owner or a role with BYPASSRLS", "rls",
                        catalog.location(use.ref))
                for r in _relations(catalog, use.ref, report.schema)
                if (rls := report.row_security.get(r)) is not None and rls.filters]
    return out


def _absent(catalog: Catalog, report: CatalogReport, kind: str, owner: str) -> str | None:
    """"not installed: relation x (subsystem s: title, source)" when the owner's subsystem is
    absent, else None."""
    subsystem = catalog.subsystem_of(kind, owner)
    missing = report.subsystems.get(subsystem, []) if subsystem else []
    if not missing:
        return None
    system = catalog.subsystems[subsystem or ""]
    where = f"subsystem {subsystem}: {system.title}" + (
        f", {system.source}" if system.source else "")
    return f"not installed: {', '.join(missing)} ({where})"


def _spec(catalog: Catalog, use: StatementUse) -> CheckSpec | TableSpec | None:
    if use.kind == "check":
        return next((c for _, c in catalog.checks() if c.id == use.owner), None)
    if use.kind == "table":
        return catalog.tables().get(use.owner)
    return None


def _spec_problems(catalog: Catalog, report: CatalogReport, spec: CheckSpec | TableSpec,
                   desc: Description) -> list[speccheck.SpecProblem]:
    if isinstance(spec, CheckSpec):
        key_vocabulary = report.vocabulary(spec.query, spec.key_column)
        return speccheck.check_problems(spec, desc, key_vocabulary)
    return speccheck.table_problems(catalog, spec, desc, report.description)


def _vocabulary_findings(catalog: Catalog, report: CatalogReport,
                         use: StatementUse) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for lit in report.literals.get(use.ref, []):
        vocab = report.vocabularies.get(lit.column)
        if vocab is None or vocab.holds(lit.value):
            continue
        near = suggest.closest(lit.value, vocab.allowed or ())
        hint = f"; closest: {', '.join(near)}" if near else ""
        location = catalog.location(use.ref, lit.sql_line)
        verb = "writes" if lit.writes else "filters"
        out.append((f"{verb} {lit.column} = '{lit.value}', which the column cannot hold "
                    f"({vocab.what()}{hint}): adapt {location}", location))
    return out


def _failure_line(catalog: Catalog, report: CatalogReport, failure: Failure,
                  enum_labels: dict[str, tuple[str, ...]]) -> str:
    text = failure.message
    if failure.hint:
        text += f" (hint: {failure.hint})"
    near = suggest.suggestion(failure, catalog.query(failure.ref).sql, report.schema)
    enum = _ENUM_INPUT.match(failure.message)
    labels = enum_labels.get(enum.group(1).strip('"')) if enum else None
    if enum and labels:
        near = f"enum {enum.group(1)} holds {', '.join(labels)}"
    if near:
        text += f"; {near}"
    return f"{text}: adapt {failure.location}"
