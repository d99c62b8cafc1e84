"""Cost follows the problem: at a scale where the big tables exceed 100 k rows, no monitoring
query (every check, every table's first page) runs a sequential scan of such a table.

The suite seeds scale ``OPSCONSOLE_EXPLAIN_SCALE`` (default 3: 300 k deliveries); the benchmark
runs the same inspection on the 10 M-delivery database (bench/RESULTS.md).
"""

from __future__ import annotations

import os
import uuid

import pytest

from opsconsole import catalog
from opsconsole.connection import db
from opsconsole.demo import setup
from tests import plans
from tests.conftest import ANCHOR, PgServer

SCALE = int(os.environ.get("OPSCONSOLE_EXPLAIN_SCALE", "3"))


@pytest.fixture(scope="module")
def scaled_dsn(pg_server: PgServer) -> str:
    dsn = pg_server.dsn_for(pg_server.create_database("opsconsole_scale"))
    setup.init_schema(dsn)
    setup.seed(dsn, scale=SCALE, seed_value=7, anchor=ANCHOR)
    return dsn


def statements(cat: catalog.Catalog) -> list[tuple[str, str, dict[str, object]]]:
    out: list[tuple[str, str, dict[str, object]]] = []
    for _, check in cat.checks():
        q = cat.query(check.query)
        out.append((check.id, q.sql, {"now": ANCHOR, **check.params}))
    for table in cat.tables().values():
        q = cat.query(table.query)
        params: dict[str, object] = {"after_sort": None, "after_id": None, "limit": 51}
        for name in q.parameters:
            params.setdefault(name, str(uuid.UUID(int=1)) if name.endswith("_id") else "x")
        out.append((table.id, q.sql, {k: v for k, v in params.items() if k in q.parameters}))
    return out


@pytest.mark.slow
def test_no_monitoring_query_seq_scans_a_big_table(scaled_dsn: str) -> None:
    cat = catalog.load()
    offenders = []
    with db.connect(scaled_dsn, statement_timeout_ms=60_000) as conn:
        big = conn.execute(
            "SELECT count(*) AS n FROM pg_class WHERE relkind = 'r' AND reltuples > 100000"
        ).fetchone()
        assert big is not None and big["n"] >= 1, "the scaled database has no table > 100k rows"
        for ident, query_sql, params in statements(cat):
            plan = plans.explain(conn, query_sql, params)
            offenders += [
                (ident, s.relation, int(s.reltuples)) for s in plans.seq_scans(conn, cat, plan)
            ]
    assert offenders == []
