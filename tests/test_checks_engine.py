"""The check engine on a real database: thresholds, breakdowns, cadence, failures."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

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


HEALTHY_MODERATION = """
CREATE TABLE public.messages (id uuid PRIMARY KEY, is_deleted boolean NOT NULL DEFAULT false,
                              deleted_at timestamptz, conversation_id uuid, content text);
ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;
CREATE TABLE public.reported_messages (id bigint PRIMARY KEY, message_id uuid, reason text,
    report_status text NOT NULL CHECK (report_status IN ('pending', 'dismissed', 'upheld')),
    created_at timestamptz);
CREATE TABLE public.broadcast_quotas (id uuid PRIMARY KEY, broadcasts_sent int,
    broadcast_limit int, last_reset_at timestamptz);
INSERT INTO public.broadcast_quotas VALUES (gen_random_uuid(), 0, 2, '2026-11-20 02:00+00');
"""


def test_a_healthy_database_of_another_subsystem_is_ok(empty_dsn: str) -> None:
    """Issue 10: the Schema screen's seed-001 checks were UNKNOWN without the communication
    schema, so a healthy moderation-only database always exited 3."""
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute(HEALTHY_MODERATION)
    cat = catalog.load()
    with db.connect(empty_dsn) as conn:
        results = {r.id: r for r in checks.run_all(conn, cat, clock=lambda: ANCHOR)}
        asked = checks.run_all(conn, cat, only=["schema.migrations"], clock=lambda: ANCHOR)
    for ident in ("schema.migrations", "schema.structure", "jobs.delivery_backlog"):
        assert not results[ident].installed and results[ident].status is checks.Status.UNKNOWN
        assert results[ident].summary.startswith("not installed: schema communication")
    installed = {i: r.status for i, r in results.items() if r.installed}
    assert set(installed) == {"connection.replica_lag", "schema.security_definer",
                              "moderation.pending_reports", "moderation.soft_deleted",
                              "moderation.quota_exhausted", "moderation.quota_reset_age",
                              "moderation.rls_enabled", "moderation.report_status"}
    assert checks.worst(results.values()) is checks.Status.OK, installed
    # a check of an absent subsystem counts when asked for by name
    assert checks.worst(asked, count_not_installed=True) is checks.Status.UNKNOWN


def test_a_breakdown_count_that_is_not_a_number_is_a_catalog_error(
    seeded_dsn: str, tmp_path: Path
) -> None:
    """Issue 11 item 15b: a deployment's breakdown returning a text count crashed int()."""
    for folder in ("queries", "screens"):
        shutil.copytree(catalog.default_root() / folder, tmp_path / folder)
    path = tmp_path / "queries" / "coordination.sql"
    path.write_text(path.read_text().replace(
        "coalesce(suppress_reason, '') AS suppress_reason, count(*) AS count",
        "coalesce(suppress_reason, '') AS suppress_reason, count(*)::text AS count"))
    cat = catalog.load(tmp_path)
    with db.connect(seeded_dsn) as conn:
        (result,) = checks.run_all(conn, cat, only=["coordination.status_breakdown"],
                                   clock=lambda: ANCHOR)
    assert result.status is checks.Status.UNKNOWN
    assert "count_column 'count' is text, not a number" in result.summary
