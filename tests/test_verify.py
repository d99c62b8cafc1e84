"""The server verifies a statement without running it (catalog/verify.py, DESIGN.md "The server
is the judge"): names and types are resolved by PostgreSQL, failures carry its message and the
file and line to edit, and nothing is executed or changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from opsconsole import catalog
from opsconsole.catalog import introspect, verify
from opsconsole.connection import db
from tests.conftest import DRIFT_READER, as_role

SLOTTED = {"actions.trigger_lock_table", "actions.trigger_enable", "actions.trigger_disable",
           "actions.trigger_enable_replica", "actions.trigger_enable_always",
           "actions.undo_current", "actions.undo_restore", "actions.undo_delete"}


def test_every_shipped_statement_prepares_on_the_demo_database(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        result = verify.describe_all(conn, cat, [r for r in cat.queries if r not in SLOTTED])
    assert result.failed == {}
    jobs = result.described["jobs.jobs_page"]
    assert jobs.params == {"after_sort": "timestamp with time zone", "after_id": "uuid",
                           "limit": "bigint"}
    assert jobs.column_names[:3] == ["id", "status", "purpose"]
    assert result.described["actions.replay_jobs_preview"].params["job_id"] == "uuid"


def test_identifier_slots_are_filled_before_the_server_sees_them(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        found = verify.describe(
            conn, cat, "actions.undo_current",
            idents=[sql.Identifier("public", "sms_outbound_jobs"), sql.Identifier("id")])
    assert found.column_names == ["ord", "present", "unchanged"]
    assert found.params == {"images": "jsonb"}


def test_a_renamed_column_fails_with_the_servers_message_and_the_line_to_edit(
    drift_dsn: str,
) -> None:
    cat = catalog.load()
    with db.connect(drift_dsn) as conn, pytest.raises(verify.StatementFailed) as caught:
        verify.describe(conn, cat, "jobs.failed_last_hour")
    failure = caught.value.failure
    assert failure.sqlstate == "42703"
    assert 'column "last_error" does not exist' in failure.message
    path, line = failure.location.split(":")
    assert path == "queries/jobs.sql"
    assert "last_error" in (cat.root / path).read_text().splitlines()[int(line) - 1]


def test_verifying_runs_nothing_and_leaves_the_session_usable(
    fresh_seeded_dsn: str, tmp_path: Path
) -> None:
    shutil.copytree(catalog.default_root() / "queries", tmp_path / "queries")
    shutil.copytree(catalog.default_root() / "screens", tmp_path / "screens")
    (tmp_path / "queries" / "harm.sql").write_text(
        "-- name: fail_every_job()\nUPDATE public.sms_outbound_jobs SET status = 'failed'\n"
        "RETURNING id;\n")
    cat = catalog.load(tmp_path)
    count = "SELECT count(*) FROM public.sms_outbound_jobs WHERE status = 'failed'"
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as check:
        before = check.execute(count).fetchone()
    # a write session: the UPDATE is described, not run; a failing statement in between does
    # not poison the ones after it
    with db.connect(fresh_seeded_dsn, read_only=False) as conn:
        result = verify.describe_all(
            conn, cat, ["harm.fail_every_job", "actions.trigger_enable",
                        "actions.reset_quotas_apply"])
        assert set(result.described) == {"harm.fail_every_job", "actions.reset_quotas_apply"}
        assert result.described["harm.fail_every_job"].column_names == ["id"]
        assert set(result.failed) == {"actions.trigger_enable"}
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as check:
        assert check.execute(count).fetchone() == before


def test_the_catalog_report_names_each_owner_whose_statement_does_not_prepare(
    seeded_dsn: str, drift_dsn: str
) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        assert verify.verify_catalog(conn, cat).findings == []
    with db.connect(drift_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    assert not report.runnable("check", "jobs.failed_last_hour")
    assert report.runnable("check", "moderation.pending_reports")
    (finding,) = [f for f in report.problems("table", "jobs.open") if f.code == "prepare"]
    assert 'column "last_error" does not exist' in finding.message
    assert "queries/jobs.sql:" in finding.message


def test_row_security_names_the_relations_that_filter_the_role(drift_dsn: str) -> None:
    cat = catalog.load()
    relations = ["public.reported_messages", "public.messages", "public.linkups", "j.status"]
    with db.connect(drift_dsn) as conn:
        owner = introspect.row_security(conn, cat, relations)
    with db.connect(as_role(drift_dsn, DRIFT_READER)) as conn:
        reader = introspect.row_security(conn, cat, relations)
    assert set(owner) == set(reader) == {"public.reported_messages", "public.messages",
                                         "public.linkups"}
    assert not any(r.filters for r in owner.values())  # the owner bypasses RLS
    assert {r for r, s in reader.items() if s.filters} == {"public.reported_messages",
                                                          "public.messages"}
    assert reader["public.reported_messages"].policies == 0
    assert "opsconsole_drift_reader" in reader["public.messages"].reason()
