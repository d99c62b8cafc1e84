"""Drift named with its fix, proven on the drift fixture (tests/drift/drift.sql, D1-D11): issue 10
items 1, 2, 4 and 6 for checks and tables, issue 11 item 3.

- doctor names every statement that cannot run, with the server's reason, what the database has
  instead and the file and line to edit;
- every statement doctor calls runnable runs;
- no check is OK unless its statement ran (the protocol trace shows it executed);
- a catalog exported and adapted by editing only queries/ and screens/ (tests/drift/
  edits_checks.toml) makes every check and table runnable, with the values this test computes
  with its own SQL;
- row-level security that filters the session's role makes a check UNKNOWN, never OK.
"""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opsconsole import catalog, checks, cli
from opsconsole.catalog import verify
from opsconsole.catalog.describe import to_positional
from opsconsole.checks import engine as check_engine
from opsconsole.checks import tables
from opsconsole.cli import catalog_export
from opsconsole.connection import db
from tests.conftest import ANCHOR, DRIFT_READER, as_role

EDITS = Path(__file__).resolve().parent / "drift" / "edits_checks.toml"

CANNOT_RUN = {
    ("check", "jobs.failed_last_hour"),     # D1 last_error
    ("check", "jobs.oldest_pending_age"),   # D3 'pending'
    ("check", "jobs.delivery_backlog"),     # D2 'scheduled'
    ("check", "jobs.status_breakdown"),     # D3: its summary names 'pending' and 'sent'
    ("check", "jobs.failed_errors"),        # D1 last_error
    ("check", "jobs.delivery_attempts_status"),  # D2: its summary names the runbook's statuses
    ("check", "jobs.failed_attempts"),      # D2 'failed' is 'dead'
    ("table", "coordination.members"),      # D1
    ("table", "jobs.failed_by_error"),      # D1
    ("table", "jobs.failed_jobs"),          # D1, D5
    ("table", "jobs.open"),                 # D1, D3 'sent', D5
    ("table", "moderation.pending"),        # D4 uuid id
}
NOT_INSTALLED = {("check", "conversations.v2_daily"), ("check", "conversations.v2_success_rate"),
                 ("check", "conversations.v2_status"), ("check", "conversations.v2_unsendable"),
                 ("check", "conversations.help_request_status"),
                 ("table", "conversations.recent_v2"), ("table", "flags.all")}  # D8, D7


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_engine, "utc_now", lambda: ANCHOR)


@pytest.fixture(scope="module")
def adapted_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`opsconsole catalog export DIR`, then the textual edits of edits_checks.toml."""
    root = tmp_path_factory.mktemp("adapted")
    catalog_export.export(root)
    for edit in tomllib.loads(EDITS.read_text(encoding="utf-8"))["edits"]:
        path = root / edit["file"]
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["old"]) == 1, f"{edit['file']} ({edit['why']}): must match once"
        path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def owners(entries: list[dict[str, Any]], state: str) -> set[tuple[str, str]]:
    return {(e["kind"], e["id"]) for e in entries
            if e["state"] == state and e["kind"] in ("check", "table")}


def test_doctor_names_every_statement_that_cannot_run_with_the_reason_and_the_fix(
    drift_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "doctor", "--dsn", drift_dsn, "--format", "json")
    doc = json.loads(out)
    assert code == doc["exit_code"] == 1
    entries = doc["entries"]
    assert owners(entries, "cannot run") == CANNOT_RUN
    assert owners(entries, "not installed") == NOT_INSTALLED
    root = catalog.default_root()
    for entry in entries:
        if entry["state"] != "cannot run" or entry["kind"] not in ("check", "table"):
            continue
        for finding in entry["findings"]:
            # the file and line to edit holds what the finding names
            path, line = finding["location"].split(":")
            text = (root / path).read_text().splitlines()[int(line) - 1]
            if finding["code"] == "column":  # a spec key: the line is the check's entry
                assert f'id = "{entry["id"]}"' in text, (finding, text)
                key = re.search(r": adapt (\w+) in " + re.escape(finding["location"])
                                + r" or queries/", finding["message"])
                assert key is not None and key.group(1) in ("summary", "value"), finding
                continue
            quoted = re.findall(r"""'([^']+)', which|column "?(?:\w+\.)?(\w+)"? does not""",
                                finding["message"])
            named = [a or b for a, b in quoted] or ["after_id"]  # the operator's line
            assert any(n in text for n in named), (finding, text)
            assert finding["message"].endswith(f"adapt {finding['location']}")
    messages = {(f["kind"], f["owner"]): f["message"] for f in doc["findings"]
                if f["code"] in ("prepare", "vocabulary")}
    assert "public.sms_outbound_jobs has error_message" in messages[("check",
                                                                     "jobs.failed_last_hour")]
    assert ("filters communication.delivery_attempts.status = 'scheduled', which the column "
            "cannot hold (CHECK delivery_attempts_status_check allows pending, in_flight, done, "
            "dead; the data holds ") in messages[("check", "jobs.delivery_backlog")]
    assert "enum sms_job_status holds queued, running, delivered, failed" in messages[
        ("check", "jobs.oldest_pending_age")]
    assert "closest: queued" not in messages[("check", "jobs.oldest_pending_age")]
    assert "public.reported_messages.id is uuid" in messages[("table", "moderation.pending")]
    assert len(doc["findings"]) >= len(CANNOT_RUN) + len(NOT_INSTALLED)


def test_doctor_text_is_grouped_and_fits_80_columns(
    drift_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "doctor", "--dsn", drift_dsn)
    assert code == 1
    lines = out.splitlines()
    assert re.fullmatch(r"opsconsole doctor NOT RUNNABLE: \d+ cannot run, \d+ runnable, \d+ not "
                        r"installed", lines[0])
    assert lines[1].startswith("on ")
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    heads = [line.split(" (")[0] for line in lines if line and not line.startswith(" ")]
    assert heads[-3:] == ["CANNOT RUN", "NOT INSTALLED", "RUNNABLE"]
    assert "  subsystem conversations: missing relation public.conversations_v2" in lines
    assert "\x1b" not in out


def _bound(cat: catalog.Catalog, query: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k in cat.query(query).parameters}


def _table_params(cat: catalog.Catalog, conn: db.Connection, table_id: str) -> dict[str, Any]:
    """Drill-down parameters for a hidden table: taken from its parent's first row."""
    parent = next((t for t in cat.tables().values()
                   if t.drill and t.drill.table == table_id), None)
    if parent is None:
        return {}
    row = conn.execute(cat.query(parent.query).sql.encode(), _bound(
        cat, parent.query, {"after_sort": None, "after_id": None, "limit": 1})).fetchone()
    assert parent.drill is not None
    return {p: (row or {}).get(col) for p, col in parent.drill.params.items()}


def test_every_statement_doctor_calls_runnable_runs(drift_dsn: str) -> None:
    cat = catalog.load()
    ran = 0
    with db.connect(drift_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
        runnable = [u for u in report.uses if u.kind in ("check", "table")
                    and report.runnable(u.kind, u.owner)]
        assert len(runnable) >= 28
        checks_by_id = {c.id: c for _, c in cat.checks()}
        for use in runnable:
            with conn.transaction(force_rollback=True):
                if use.kind == "check":
                    spec = checks_by_id[use.owner]
                    conn.execute(cat.query(use.ref).sql.encode(),
                                 {"now": ANCHOR, **spec.params}).fetchall()
                elif use.ref == cat.tables()[use.owner].find:  # a search by id
                    conn.execute(cat.query(use.ref).sql.encode(), {"id": None}).fetchall()
                else:
                    table = cat.tables()[use.owner]
                    first = {**_table_params(cat, conn, use.owner), "after_sort": None,
                             "after_id": None, "limit": 3}
                    rows = conn.execute(cat.query(use.ref).sql.encode(),
                                        _bound(cat, use.ref, first)).fetchall()
                    if rows:  # the second page binds the keyset values the first returned
                        second = {**first, "after_sort": rows[-1].get(table.keyset),
                                  "after_id": rows[-1].get("id")}
                        conn.execute(cat.query(use.ref).sql.encode(),
                                     _bound(cat, use.ref, second)).fetchall()
            ran += 1
    assert ran == len(runnable)


@pytest.fixture
def trace() -> Iterator[tempfile._TemporaryFileWrapper[bytes]]:
    with tempfile.TemporaryFile() as f:
        yield f


@pytest.mark.parametrize("role", ["owner", DRIFT_READER])
def test_no_check_is_ok_unless_its_statement_ran(
    drift_dsn: str, role: str, trace: Any
) -> None:
    cat = catalog.load()
    dsn = drift_dsn if role == "owner" else as_role(drift_dsn, role)
    with db.connect(dsn) as conn:
        report = verify.verified(conn, cat)
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        results = checks.run_all(conn, cat, clock=lambda: ANCHOR)
        conn.pgconn.untrace()
    trace.seek(0)
    sent = trace.read().decode("utf-8", "replace")
    evaluated = 0
    for result in results:
        problems = report.problems("check", result.id)
        if problems:
            assert result.status is checks.Status.UNKNOWN, result.id
            assert result.summary.startswith(problems[0].message)
            assert to_positional(cat.query(result.query).sql)[0] not in sent, result.id
        elif result.status is not checks.Status.UNKNOWN:
            assert to_positional(cat.query(result.query).sql)[0] in sent, result.id
            evaluated += 1
    assert evaluated >= 15


def test_row_level_security_that_filters_the_role_is_unknown_never_ok(drift_dsn: str) -> None:
    cat = catalog.load()
    wanted = ["moderation.soft_deleted", "moderation.pending_reports"]
    with db.connect(as_role(drift_dsn, DRIFT_READER)) as conn:
        reader = {r.id: r for r in checks.run_all(conn, cat, only=wanted, clock=lambda: ANCHOR)}
    with db.connect(drift_dsn) as conn:
        owner = {r.id: r for r in checks.run_all(conn, cat, only=wanted, clock=lambda: ANCHOR)}
        deleted = conn.execute("SELECT count(*) AS n FROM public.messages WHERE is_deleted"
                               ).fetchone()
        pending = conn.execute("SELECT count(*) AS n FROM public.reported_messages"
                               " WHERE report_status = 'pending'").fetchone()
    soft = reader["moderation.soft_deleted"]
    assert soft.status is checks.Status.UNKNOWN and soft.value is None
    assert soft.summary.startswith(f"row-level security on public.messages filters what role "
                                   f"{DRIFT_READER} sees")
    reports = reader["moderation.pending_reports"]
    assert reports.status is checks.Status.UNKNOWN
    assert "row-level security on public.reported_messages" in reports.summary
    assert deleted is not None and pending is not None
    assert owner["moderation.soft_deleted"].value == deleted["n"] > 0
    assert owner["moderation.pending_reports"].value == pending["n"] > 0


def test_a_vocabulary_that_differs_is_unknown_not_a_silent_zero(drift_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(drift_dsn) as conn:
        (backlog,) = checks.run_all(conn, cat, only=["jobs.delivery_backlog"],
                                    clock=lambda: ANCHOR)
        due = conn.execute("SELECT count(*) AS n FROM communication.delivery_attempts"
                           " WHERE status = 'pending' AND scheduled_at <= %s", (ANCHOR,)
                           ).fetchone()
    assert due is not None and due["n"] > 0  # the attempts the runbook's 'scheduled' misses
    assert backlog.status is checks.Status.UNKNOWN and backlog.value is None
    assert "'scheduled', which the column cannot hold" in backlog.summary
    assert backlog.summary.endswith("adapt queries/jobs.sql:32")


# What each check's value is on the drifted database, computed with this test's own SQL.
VALUES: dict[str, str] = {
    "connection.replica_lag":
        "SELECT coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication",
    "coordination.status_breakdown":
        "SELECT count(*) FROM public.linkup_coordination_messages WHERE status = 'failed'",
    "coordination.missing_intents": """
        SELECT count(*) FROM public.linkups l
        WHERE l.state = 'locked' AND l.locked_at >= %(now)s - interval '48 hours'
          AND (SELECT count(*) FROM public.linkup_members m
                WHERE m.linkup_id = l.id AND m.status = 'confirmed')
            > (SELECT count(*) FROM public.linkup_coordination_messages c
                WHERE c.linkup_id = l.id AND c.lock_version = l.lock_version)""",
    "coordination.jobs_missing": """
        SELECT count(*) FROM public.linkup_coordination_messages
        WHERE sms_outbound_job_id IS NULL AND status IN ('pending', 'enqueued')""",
    "coordination.duplicate_jobs": """
        SELECT count(*) FROM (SELECT idempotency_key FROM public.sms_outbound_jobs
                              GROUP BY 1 HAVING count(*) > 1) d""",
    "coordination.constraints": """
        SELECT 2 - count(*) FROM pg_constraint
        WHERE conrelid = 'public.linkup_coordination_messages'::regclass
          AND conname IN ('linkup_coordination_messages_once_per_lock',
                          'linkup_coordination_messages_idempotency_uniq')""",
    "jobs.failed_last_hour": """
        SELECT count(*) FROM public.sms_outbound_jobs
        WHERE status = 'failed' AND updated_at >= %(now)s - interval '1 hour'""",
    "jobs.oldest_pending_age": """
        SELECT coalesce(extract(epoch FROM %(now)s - min(run_after)), 0)
        FROM public.sms_outbound_jobs WHERE status = 'queued' AND run_after <= %(now)s""",
    "jobs.status_breakdown":
        "SELECT count(*) FROM public.sms_outbound_jobs WHERE status = 'failed'",
    "jobs.purpose_breakdown": "SELECT count(*) FROM public.sms_outbound_jobs",
    "jobs.failed_errors": """
        SELECT count(DISTINCT coalesce(error_message, '')) FROM public.sms_outbound_jobs
        WHERE status = 'failed'""",
    "jobs.delivery_attempts_status":
        "SELECT count(*) FROM communication.delivery_attempts WHERE status = 'dead'",
    "jobs.failed_attempts":
        "SELECT count(*) FROM communication.delivery_attempts WHERE status = 'dead'",
    "coordination.suppress_reasons":
        "SELECT count(*) FROM public.linkup_coordination_messages WHERE status = 'suppressed'",
    "deliveries.null_user_causes": """
        SELECT count(*) FROM public.message_deliveries d
        JOIN public.event_guests g ON g.id = d.guest_id
        WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL""",
    "deliveries.link_outcomes": """
        SELECT count(*) FROM public.user_link_audit
        WHERE table_name = 'message_deliveries' AND outcome = 'error'
          AND created_at BETWEEN %(now)s - interval '24 hours' AND %(now)s""",
    "moderation.report_status":
        "SELECT count(*) FROM public.reported_messages WHERE report_status = 'pending'",
    "communication.unread_inbox": """
        SELECT count(DISTINCT user_id) FROM communication.message_recipients
        WHERE read_at IS NULL""",
    "jobs.stuck_running": """
        SELECT count(*) FROM public.sms_outbound_jobs
        WHERE status = 'running' AND locked_at < %(now)s - interval '900 seconds'""",
    "jobs.delivery_backlog": """
        SELECT coalesce(extract(epoch FROM %(now)s - min(scheduled_at)), 0)
        FROM communication.delivery_attempts
        WHERE status = 'pending' AND scheduled_at <= %(now)s""",
    "deliveries.inconsistency_rate": """
        SELECT round(100.0 * (SELECT count(*) FROM public.message_deliveries d
                               JOIN public.event_guests g ON g.id = d.guest_id
                              WHERE d.user_id IS NULL AND g.user_id IS NOT NULL
                                AND g.removed_at IS NULL)
                     / (SELECT count(*) FROM public.message_deliveries), 4)""",
    "deliveries.trigger_success_rate": """
        SELECT round(100.0 * count(*) FILTER (WHERE outcome = 'linked') / nullif(count(*), 0), 2)
        FROM public.user_link_audit
        WHERE table_name = 'message_deliveries'
          AND created_at BETWEEN %(now)s - interval '24 hours' AND %(now)s""",
    "deliveries.backfill_activity": """
        SELECT count(*) FROM public.user_link_audit
        WHERE table_name = 'message_deliveries_backfill'
          AND created_at BETWEEN %(now)s - interval '24 hours' AND %(now)s""",
    "deliveries.triggers_enabled": """
        SELECT 2 - count(*) FROM pg_trigger
        WHERE tgname IN ('trigger_message_deliveries_auto_link_user',
                         'trigger_backfill_deliveries_on_guest_link') AND tgenabled <> 'D'""",
    "deliveries.feature_flags":
        "SELECT (NOT public.get_feature_flag('LINK_USER_BY_PHONE'))::int",
    "moderation.pending_reports":
        "SELECT count(*) FROM public.reported_messages WHERE report_status = 'pending'",
    "moderation.soft_deleted": "SELECT count(*) FROM public.messages WHERE is_deleted",
    "moderation.quota_exhausted":
        "SELECT count(*) FROM public.broadcast_quotas WHERE broadcasts_sent >= broadcast_limit",
    "moderation.quota_reset_age": """
        SELECT extract(epoch FROM %(now)s - max(last_reset_at)) / 3600
        FROM public.broadcast_quotas""",
    "moderation.rls_enabled":
        "SELECT (NOT relrowsecurity)::int FROM pg_class WHERE oid = 'public.messages'::regclass",
    "conversations.v1_orphans": """
        SELECT count(*) FROM public.conversations c
        WHERE NOT EXISTS (SELECT 1 FROM public.conversation_participants p
                           WHERE p.conversation_id = c.id)
           OR NOT EXISTS (SELECT 1 FROM public.messages m WHERE m.conversation_id = c.id)""",
    # the expected list of the adapted spec (seed 001's nine and D11's tenth) minus the recorded
    "schema.migrations": """
        SELECT count(*) FROM unnest(ARRAY[
          '0001_create_schema', '0002_channels', '0003_templates', '0004_policies',
          '0005_messages', '0006_message_recipients', '0007_delivery_attempts',
          '0008_delivery_indexes', '0009_participants',
          '20260301000000_local_hotfix_delivery_vocabulary']) AS e (name)
        WHERE e.name NOT IN (SELECT version || '_' || name
                             FROM communication.schema_migrations)""",
    "schema.structure": """
        SELECT (to_regclass('communication.messages') IS NULL)::int
             + (to_regclass('communication.delivery_attempts') IS NULL)::int
             + (to_regclass('communication.message_recipients') IS NULL)::int
             + (to_regclass('communication.idx_recipients_user') IS NULL)::int
             + (to_regclass('communication.idx_delivery_status_scheduled') IS NULL)::int""",
    "schema.security_definer": """
        SELECT count(*) FROM pg_proc
        WHERE prosecdef AND prosrc ~ '!= auth\\.uid\\(\\)'""",
}

# How many rows each table lists in all, with this test's own SQL (%(param)s: a drill-down's).
ROWS: dict[str, str] = {
    "coordination.linkups": """
        SELECT count(DISTINCT linkup_id) FROM public.linkup_coordination_messages
        WHERE status IN ('failed', 'pending', 'enqueued')""",
    "coordination.members":
        "SELECT count(*) FROM public.linkup_members WHERE linkup_id = %(linkup_id)s",
    "jobs.failed_by_error": """
        SELECT count(DISTINCT coalesce(error_message, '')) FROM public.sms_outbound_jobs
        WHERE status = 'failed'""",
    "jobs.failed_jobs": """
        SELECT count(*) FROM public.sms_outbound_jobs
        WHERE status = 'failed' AND coalesce(error_message, '') = %(last_error)s""",
    "jobs.open": "SELECT count(*) FROM public.sms_outbound_jobs WHERE status <> 'delivered'",
    "deliveries.unlinked": """
        SELECT count(*) FROM public.message_deliveries d
        JOIN public.event_guests g ON g.id = d.guest_id
        WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL""",
    "deliveries.link_audit": "SELECT count(*) FROM public.user_link_audit",
    "moderation.pending": """
        SELECT count(*) FROM public.reported_messages r
        JOIN public.messages m ON m.id = r.message_id WHERE r.report_status = 'pending'""",
    "moderation.quotas": "SELECT count(*) FROM public.broadcast_quotas",
    "schema.migration_list": "SELECT count(*) FROM communication.schema_migrations",
    "schema.definer_lint": """
        SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth')""",
    "schema.rls": """
        SELECT count(*) FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')""",
    "flags.all": "SELECT 3",
    "audit.log": "SELECT count(*) FROM opsconsole.audit_log",
}


def _one(conn: db.Connection, query: str, params: dict[str, Any]) -> float | None:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    value = next(iter(row.values()))
    return None if value is None else float(value)


def test_an_adapted_catalog_copy_runs_every_check_and_table_with_independent_values(
    drift_dsn: str, adapted_root: Path
) -> None:
    cat = catalog.load(adapted_root)
    with db.connect(drift_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
        assert {(f.kind, f.owner, f.code) for f in report.findings
                if f.kind in ("check", "table")} == {(*o, "not-installed") for o in NOT_INSTALLED
                                                     if o[1] != "flags.all"}
        results = checks.run_all(conn, cat, clock=lambda: ANCHOR, report=report)
        installed = {r.id for r in results if r.installed}
        assert installed == set(VALUES)
        for result in results:
            if not result.installed:
                continue
            assert result.error is None, (result.id, result.error)
            assert result.value == pytest.approx(_one(conn, VALUES[result.id], {"now": ANCHOR}),
                                                 abs=1e-3), result.id
        breakdown = next(r for r in results if r.id == "coordination.status_breakdown")
        per_status = {s: 0 for s in ("pending", "enqueued", "sent", "failed", "suppressed")}
        for row in conn.execute("SELECT status, count(*) AS n FROM "
                                "public.linkup_coordination_messages GROUP BY 1").fetchall():
            per_status[row["status"]] = row["n"]
        assert breakdown.values == per_status
        listed = {t for t in cat.tables() if report.installed("table", t)}
        assert listed == set(ROWS)
        for table_id in sorted(listed):
            params = _table_params(cat, conn, table_id)
            assert _page_through(conn, cat, table_id, params) == _one(
                conn, ROWS[table_id], params), table_id


def _page_through(conn: db.Connection, cat: catalog.Catalog, table_id: str,
                  params: dict[str, Any]) -> int:
    spec = cat.tables()[table_id]
    seen = 0
    cursor = None
    while True:
        page = tables.fetch_page(conn, cat, None, spec, cursor=cursor, params=params, limit=400)
        assert page.error is None, (table_id, page.error)
        seen += len(page.rows)
        if page.next is None:
            return seen
        cursor = page.next


def test_export_edit_doctor_with_the_catalog_copy_from_the_cli(
    drift_dsn: str, adapted_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = tmp_path / "copy"
    assert run(capsys, "catalog", "export", str(fresh))[0] == 0
    assert run(capsys, "doctor", "--catalog", str(fresh), "--dsn", drift_dsn)[0] == 1
    code, out = run(capsys, "doctor", "--catalog", str(adapted_root), "--dsn", drift_dsn,
                    "--format", "json")
    doc = json.loads(out)
    assert owners(doc["entries"], "cannot run") == set()
    checks_and_tables = [e for e in doc["entries"] if e["kind"] != "action"]
    assert all(e["state"] in ("runnable", "not installed") for e in checks_and_tables)
    code, out = run(capsys, "check", "--catalog", str(adapted_root), "--dsn", drift_dsn,
                    "--only", "jobs", "--format", "json")
    assert code in (0, 1, 2)  # evaluated: no UNKNOWN among the jobs checks
    assert all(c["error"] is None for c in json.loads(out)["checks"])
