"""Plan inspection for the scale rule: no monitoring query may run a sequential scan of a table
over 100 k rows (DESIGN.md "Refresh and scale"). Used by the test suite and the benchmark.

Nodes the executor never ran (``Actual Loops = 0``, e.g. the fallback subquery of
``coordination.duplicate_jobs`` when a unique index makes it unnecessary) are not counted: what
matters is what a refresh costs the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from opsconsole.catalog import Catalog
from opsconsole.connection.db import Connection


@dataclass(frozen=True)
class SeqScan:
    """A sequential scan that ran: relation (schema.name), its estimated rows, loops."""

    relation: str
    reltuples: float
    loops: int


def explain(conn: Connection, query_sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) one statement in a rolled-back transaction.

    Returns:
        the top plan dict (``{"Plan": ..., "Execution Time": ms, ...}``).
    """
    stmt = sql.SQL("EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ") + sql.SQL(query_sql)
    with conn.transaction(force_rollback=True):
        row = conn.execute(stmt, params).fetchone()
    assert row is not None
    doc = next(iter(row.values()))
    plan = json.loads(doc) if isinstance(doc, str) else doc
    return dict(plan[0])


def seq_scans(
    conn: Connection, catalog: Catalog, plan: dict[str, Any], min_rows: float = 100_000
) -> list[SeqScan]:
    """Sequential scans that executed over relations with more than ``min_rows`` (estimated)."""
    found = []
    for node in _nodes(plan["Plan"]):
        if node.get("Node Type") != "Seq Scan" or not node.get("Actual Loops"):
            continue
        rel = f"{node.get('Schema', 'public')}.{node['Relation Name']}"
        reltuples = catalog.query("introspect.reltuples").sql.encode()
        row = conn.execute(reltuples, {"relation": rel}).fetchone()
        rows = float(row["n"]) if row else 0.0
        if rows > min_rows:
            found.append(SeqScan(rel, rows, int(node["Actual Loops"])))
    return found


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
