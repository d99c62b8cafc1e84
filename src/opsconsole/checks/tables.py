"""Keyset-paged lists behind the screens' tables and drill-downs.

A table's query takes ``after_id``, ``limit`` and, when its keyset column is not ``id``,
``after_sort``; it returns rows ordered by ``(keyset, id)``. :func:`fetch_page` runs one page and
returns the cursor of the next one, so a list is never loaded whole. A table with a finding of
the server's verification (:func:`opsconsole.catalog.verify.verified`) "cannot run": its page
carries the finding's line instead of rows. Nothing here imports Textual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from opsconsole.catalog import Catalog, TableSpec
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.catalog.verify import CatalogReport
from opsconsole.checks.engine import verify_or_reason
from opsconsole.connection.db import Connection, describe_error


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the last row's keyset value and id (None: first page)."""

    after_sort: Any = None
    after_id: Any = None


@dataclass
class Page:
    """One page of a table.

    Attributes:
        rows: list of dicts, raw values (sanitise before display).
        next: cursor of the next page, or None when this was the last.
        duration_ms: query wall time in ms.
        error: why the page could not be read (str), or None: "not installed: ...", or the
            finding that keeps the table from running ("cannot run: ..."), or the query's error.
        missing: the findings' lines, one per problem (list[str]).
        installed: False when the table's subsystem is absent (bool).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    next: Cursor | None = None
    duration_ms: float = 0.0
    error: str | None = None
    missing: list[str] = field(default_factory=list)
    installed: bool = True


def fetch_page(
    conn: Connection,
    catalog: Catalog,
    schema: SchemaInfo | None,
    spec: TableSpec,
    *,
    cursor: Cursor | None = None,
    params: dict[str, Any] | None = None,
    limit: int | None = None,
    report: CatalogReport | None = None,
) -> Page:
    """Read one keyset page of ``spec``, if the server's verification found nothing against it.

    Args:
        schema: unused (the verification report carries what the database holds).
        cursor: from the previous page's ``next`` (None: first page).
        params: drill-down parameters (e.g. ``{"linkup_id": ...}``).
        limit: rows per page (default: the spec's page_size).
        report: the catalog verified on this database (default:
            :func:`opsconsole.catalog.verify.verified`).

    Returns:
        Page; never raises for a finding or a failed query (``error`` instead).

    Raises:
        psycopg.OperationalError: the connection was lost while verifying.
    """
    got = report or verify_or_reason(conn, catalog)
    if isinstance(got, str):
        return Page(error=got)
    report = got
    problems = report.problems("table", spec.id)
    if problems:
        lines = [f.message for f in problems]
        installed = report.installed("table", spec.id)
        head = lines[0] if not installed else f"cannot run: {lines[0]}"
        extra = f" (and {len(lines) - 1} more: see `opsconsole doctor`)" if len(lines) > 1 else ""
        return Page(error=head + extra, missing=lines, installed=installed)
    query = catalog.query(spec.query)
    cursor = cursor or Cursor()
    size = limit or spec.page_size
    bound: dict[str, Any] = {
        **(params or {}),
        "after_sort": cursor.after_sort,
        "after_id": cursor.after_id,
        "limit": size + 1,
    }
    bound = {k: v for k, v in bound.items() if k in query.parameters}
    started = time.perf_counter()
    try:
        rows = conn.execute(query.sql.encode(), bound).fetchall()
    except psycopg.Error as exc:
        return Page(
            error=describe_error(exc, location=catalog.location(spec.query)),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
    elapsed = (time.perf_counter() - started) * 1000
    more = len(rows) > size
    rows = rows[:size]
    nxt = Cursor(rows[-1].get(spec.keyset), rows[-1].get("id")) if more and rows else None
    return Page(rows=rows, next=nxt, duration_ms=elapsed)


def fetch_row(
    conn: Connection,
    catalog: Catalog,
    spec: TableSpec,
    row_id: Any,
    *,
    report: CatalogReport | None = None,
) -> Page:
    """Read the one row of ``spec`` whose id is ``row_id``, through the table's ``find`` query.

    A search by id reaches any row of the table's query, not only the pages loaded so far.

    Args:
        spec: a table with a ``find`` query (taking ``id``).
        row_id: the id as the engineer typed it (the query casts it to the key's type).
        report: the catalog verified on this database (default: verified now).

    Returns:
        Page with zero or one row; ``error`` when the table cannot run, has no ``find`` query,
        or the query failed (e.g. the text is not of the key's type). Never raises for those.

    Raises:
        psycopg.OperationalError: the connection was lost while verifying.
    """
    if spec.find is None:
        return Page(error=f"{spec.id}: no find query (find = \"...\" in its spec)")
    got = report or verify_or_reason(conn, catalog)
    if isinstance(got, str):
        return Page(error=got)
    problems = got.problems("table", spec.id)
    if problems:
        return Page(error=f"cannot run: {problems[0].message}",
                    missing=[f.message for f in problems])
    query = catalog.query(spec.find)
    started = time.perf_counter()
    try:
        rows = conn.execute(query.sql.encode(), {"id": row_id}).fetchall()
    except psycopg.Error as exc:
        return Page(error=describe_error(exc, location=catalog.location(spec.find)),
                    duration_ms=(time.perf_counter() - started) * 1000)
    return Page(rows=rows[:1], duration_ms=(time.perf_counter() - started) * 1000)
