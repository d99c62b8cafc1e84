"""Keyset-paged lists behind the screens' tables and drill-downs.

A table's query takes ``after_id``, ``limit`` and, when its keyset column is not ``id``,
``after_sort``; it returns rows ordered by ``(keyset, id)``. :func:`fetch_page` runs one page and
returns the cursor of the next one, so a list is never loaded whole. Nothing here imports
Textual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from opsconsole.catalog import Catalog, TableSpec
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.checks import describe_query_error
from opsconsole.connection.db import Connection


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
        error: why the page could not be read (str), or None.
        missing: objects the table needs that the database lacks (list[str]).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    next: Cursor | None = None
    duration_ms: float = 0.0
    error: str | None = None
    missing: list[str] = field(default_factory=list)


def fetch_page(
    conn: Connection,
    catalog: Catalog,
    schema: SchemaInfo,
    spec: TableSpec,
    *,
    cursor: Cursor | None = None,
    params: dict[str, Any] | None = None,
    limit: int | None = None,
    screen_requires: list[str] | None = None,
) -> Page:
    """Read one keyset page of ``spec``.

    Args:
        cursor: from the previous page's ``next`` (None: first page).
        params: drill-down parameters (e.g. ``{"linkup_id": ...}``).
        limit: rows per page (default: the spec's page_size).
        screen_requires: the owning screen's required relations.

    Returns:
        Page; never raises for a missing object or a failed query (``error`` instead).
    """
    missing = schema.missing((screen_requires or []) + spec.requires)
    if missing:
        return Page(error="not installed: " + ", ".join(missing), missing=missing)
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
            error=describe_query_error(exc), duration_ms=(time.perf_counter() - started) * 1000
        )
    elapsed = (time.perf_counter() - started) * 1000
    more = len(rows) > size
    rows = rows[:size]
    nxt = Cursor(rows[-1].get(spec.keyset), rows[-1].get("id")) if more and rows else None
    return Page(rows=rows, next=nxt, duration_ms=elapsed)
