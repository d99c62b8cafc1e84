"""The check engine on a real database: thresholds, breakdowns, cadence, failures."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from opsconsole import catalog, checks
from opsconsole.catalog import introspect
from opsconsole.connection import db
from tests.conftest import ANCHOR


def test_slow_cadence_reuses_a_fresh_result_and_reruns_a_stale_one(seeded_dsn: str) -> None:
    cat = catalog.load()
    spec = next(c for _, c in cat.checks() if c.id == "deliveries.inconsistency_rate")
    assert spec.cadence_s == 300
    with db.connect(seeded_dsn) as conn:
        schema = introspect.inspect(conn, cat)
        first = checks.run_all(conn, cat, schema, only=[spec.id], clock=lambda: ANCHOR)[0]
        soon = ANCHOR + timedelta(seconds=60)
        again = checks.run_all(conn, cat, schema, only=[spec.id], clock=lambda: soon,
                               previous={first.id: first})[0]
        assert again is first
        later = ANCHOR + timedelta(seconds=301)
        fresh = checks.run_all(conn, cat, schema, only=[spec.id], clock=lambda: later,
                               previous={first.id: first})[0]
        assert fresh is not first and fresh.checked_at == later


def test_timeout_is_unknown_with_the_reason(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        schema = introspect.inspect(conn, cat)
    with db.connect(seeded_dsn, statement_timeout_ms=1) as slow:
        slow.execute("SET statement_timeout = 1")
        results = checks.run_all(slow, cat, schema, only=["deliveries"], clock=lambda: ANCHOR)
    timed_out = [r for r in results if r.error and "timed out" in r.error]
    assert timed_out and all(r.status is checks.Status.UNKNOWN for r in timed_out)


def test_missing_column_is_unknown_naming_it(fresh_seeded_dsn: str) -> None:
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.sms_outbound_jobs RENAME COLUMN last_error TO error_message")
    cat = catalog.load()
    with db.connect(fresh_seeded_dsn) as conn:
        schema = introspect.inspect(conn, cat)
        results = {r.id: r for r in checks.run_all(conn, cat, schema, only=["jobs"],
                                                    clock=lambda: ANCHOR)}
    failed = results["jobs.failed_last_hour"]
    assert failed.status is checks.Status.UNKNOWN and failed.installed
    assert failed.error == ('column "last_error" does not exist; public.sms_outbound_jobs has '
                            "error_message: adapt queries/jobs.sql:6")
    assert results["jobs.oldest_pending_age"].status is not checks.Status.UNKNOWN
