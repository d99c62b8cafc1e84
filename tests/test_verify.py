"""The server verifies a statement without running it (catalog/verify.py, DESIGN.md "The server
is the judge"): names and types are resolved by PostgreSQL, failures carry its message and the
file and line to edit, and nothing is executed or changed."""

from __future__ import annotations

import re
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
    (finding,) = [f for f in report.problems("table", "jobs.open")
                  if f.code == "prepare" and f.ref == "jobs.jobs_page"]  # not its find query
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



def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_a_spec_naming_a_column_the_statement_lacks_names_the_file_and_key(
    seeded_dsn: str, copy_root: Path
) -> None:
    jobs = copy_root / "screens" / "jobs.toml"
    _edit(jobs, 'query = "jobs.failed_last_hour"\nvalue = "failed"',
          'query = "jobs.failed_last_hour"\nvalue = "failures"')
    _edit(jobs, 'the oldest waiting {age} since due', 'the oldest waiting {oldest} since due')
    _edit(jobs, '{ name = "purpose", title = "purpose" },\n  { name = "attempts", title = '
                '"tries", kind = "number" },\n  { name = "updated_at"',
          '{ name = "purpose", title = "purpose" },\n  { name = "tries", title = '
          '"tries", kind = "number" },\n  { name = "updated_at"')
    _edit(jobs, 'drill = { table = "jobs.failed_jobs", params = { last_error = "id" } }',
          'drill = { table = "jobs.failed_jobs", params = { last_error = "error" } }')
    cat = catalog.load(copy_root)
    with db.connect(seeded_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    (value,) = report.problems("check", "jobs.failed_last_hour")
    assert value.code == "column"
    assert re.match(r"screens/jobs\.toml:\d+: check jobs\.failed_last_hour: value = 'failures' "
                    r"is not a column the statement returns \(it returns failed, "
                    r"distinct_errors; closest: failed\): adapt value in screens/jobs\.toml:\d+ "
                    r"or queries/jobs\.sql:\d+$", value.message), value.message
    (summary,) = report.problems("check", "jobs.oldest_pending_age")
    assert "summary names {oldest}, which is not a column" in summary.message
    (column,) = report.problems("table", "jobs.failed_jobs")
    assert "columns[2].name = 'tries' is not a column the statement returns" in column.message
    (drill,) = report.problems("table", "jobs.failed_by_error")
    assert "drill.params.last_error = 'error' is not a column" in drill.message


def test_a_statement_that_does_not_parse_is_one_line_with_its_line(
    seeded_dsn: str, copy_root: Path
) -> None:
    _edit(copy_root / "queries" / "moderation.sql", "FROM public.broadcast_quotas;\n\n-- name: "
          "quota_reset_age", "FROM public.broadcast_quotas WHERE;\n\n-- name: quota_reset_age")
    cat = catalog.load(copy_root)
    with db.connect(seeded_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    (finding,) = report.problems("check", "moderation.quota_exhausted")
    assert finding.message == 'syntax error at or near ";": adapt queries/moderation.sql:22'
    assert report.runnable("check", "moderation.quota_reset_age")


def test_a_parameter_the_engine_cannot_bind_is_named_with_its_key(
    seeded_dsn: str, copy_root: Path
) -> None:
    jobs = copy_root / "screens" / "jobs.toml"
    _edit(jobs, "params = { timeout_s = 900 }", 'params = { timeout_s = "15 minutes" }')
    schema = copy_root / "screens" / "schema.toml"  # a list of names given as a number
    _edit(schema, 'expected_migrations = """', 'expected_migrations = 9.5\nnot_a_param = """')
    migrations = copy_root / "queries" / "schema.sql"  # ... and split as text, untyped
    _edit(migrations, "regexp_split_to_table(:expected_migrations::text,",
          "regexp_split_to_table(:expected_migrations,")
    cat = catalog.load(copy_root)
    with db.connect(seeded_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    (text,) = report.problems("check", "jobs.stuck_running")
    assert text.code == "binding"
    assert text.message.startswith("params.timeout_s = '15 minutes' cannot be bound as integer "
                                   '(invalid input syntax for type integer: "15 minutes")')
    assert re.search(r"adapt screens/jobs\.toml:\d+$", text.message)
    (number,) = report.problems("check", "schema.migrations")
    assert number.code == "binding"
    assert "with the values the engine binds (now as timestamptz, expected_migrations = 9.5" \
        in number.message


def test_a_missing_subsystem_is_not_installed_and_drift_inside_one_is_a_finding(
    empty_dsn: str,
) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.sms_outbound_jobs (id uuid PRIMARY KEY, status text,"
                     " created_at timestamptz, updated_at timestamptz)")
    cat = catalog.load()
    with db.connect(empty_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    assert report.subsystems["jobs"] == [] and report.subsystems["communication"] == [
        "schema communication"]
    assert not report.installed("check", "jobs.delivery_backlog")  # its own: communication
    (absent,) = report.problems("check", "schema.migrations")
    assert absent.message.startswith("not installed: schema communication (subsystem "
                                     "communication: ")
    (drift,) = report.problems("check", "jobs.failed_last_hour")
    assert report.installed("check", "jobs.failed_last_hour") and drift.code == "prepare"
    assert drift.message.startswith('column "last_error" does not exist; '
                                    "public.sms_outbound_jobs has ")
    assert report.runnable("check", "schema.security_definer")  # subsystem server: always


def test_requires_judges_what_a_statement_cannot_show(seeded_dsn: str, copy_root: Path) -> None:
    _edit(copy_root / "screens" / "deliveries.toml", 'id = "deliveries.triggers_enabled"',
          'id = "deliveries.triggers_enabled"\nrequires = ["trigger public.event_guests.'
          'trigger_backfill_deliveries_on_guest_link", "constraint public.event_guests.nope"]')
    cat = catalog.load(copy_root)
    with db.connect(seeded_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    (finding,) = report.problems("check", "deliveries.triggers_enabled")
    assert finding.code == "requires"
    assert re.match(r"missing constraint public\.event_guests\.nope: adapt requires in "
                    r"screens/deliveries\.toml:\d+$", finding.message)


def test_verified_is_cached_until_the_schema_changes(fresh_seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(fresh_seeded_dsn) as conn:
        first = verify.verified(conn, cat)
        assert verify.verified(conn, cat) is first and first.fingerprint
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.sms_outbound_jobs RENAME COLUMN last_error TO err")
    with db.connect(fresh_seeded_dsn) as conn:
        again = verify.verified(conn, cat)
    assert again is not first and not again.runnable("check", "jobs.failed_last_hour")
    with db.connect(fresh_seeded_dsn) as conn:
        assert verify.verified(conn, cat) is again


def test_a_missing_function_or_relation_is_named_with_what_the_database_has(
    drift_dsn: str, copy_root: Path
) -> None:
    deliveries = copy_root / "queries" / "deliveries.sql"
    _edit(deliveries, "SELECT public.get_feature_flag('LINK_USER_BY_PHONE') AS main_linking,",
          "SELECT public.get_feature_flags('LINK_USER_BY_PHONE') AS main_linking,")
    _edit(copy_root / "queries" / "moderation.sql", "FROM public.broadcast_quotas;\n\n-- name: "
          "quota_reset_age", "FROM public.broadcast_quota;\n\n-- name: quota_reset_age")
    cat = catalog.load(copy_root)
    with db.connect(drift_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    (function,) = report.problems("check", "deliveries.feature_flags")
    assert function.message.startswith("function public.get_feature_flags(unknown) does not "
                                       "exist (hint: No function matches")
    assert "; the database has public.get_feature_flag(): adapt queries/deliveries.sql:" in \
        function.message
    (relation,) = report.problems("check", "moderation.quota_exhausted")
    assert relation.message.startswith('relation "public.broadcast_quota" does not exist; the '
                                       "database has public.broadcast_quotas: adapt")
