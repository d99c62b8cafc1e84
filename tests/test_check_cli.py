"""`opsconsole check` and `doctor` on real databases: values agree with the seeds' own SQL,
exit codes follow the monitoring-plugin convention, and no password is ever printed."""

from __future__ import annotations

import json

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opsconsole import cli
from opsconsole.checks import engine as check_engine
from tests.conftest import ANCHOR

# The seeds' literal verification queries (without the per-linkup filter of seed 000 §4.4).
SEED_002_DEBUGGING = """
SELECT d.id as delivery_id, g.guest_name, g.user_id as guest_user_id,
       d.user_id as delivery_user_id, g.event_id
FROM message_deliveries d
JOIN event_guests g ON g.id = d.guest_id
WHERE d.user_id IS NULL
  AND g.user_id IS NOT NULL
  AND g.removed_at IS NULL"""
SEED_000_BREAKDOWN = """
select status, coalesce(suppress_reason, '') as suppress_reason, count(*) as count
from public.linkup_coordination_messages
group by status, suppress_reason
order by status, suppress_reason"""
SEED_004_PENDING = "SELECT count(*) FROM reported_messages WHERE report_status='pending'"
SEED_003_SUCCESS = """
SELECT
  COUNT(*) AS total_conversations,
  COUNT(*) FILTER (WHERE initial_message IS NOT NULL) AS with_initial_message,
  ROUND(COUNT(*) FILTER (WHERE initial_message IS NOT NULL)::numeric / COUNT(*) * 100, 2) AS success_rate_pct
FROM conversations_v2"""


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_engine, "utc_now", lambda: ANCHOR)
    for name in ("OPSCONSOLE_DSN", "OPSCONSOLE_PROFILE", "DATABASE_URL", "STAGING_DB_DSN",
                 "STAGING_DB_URL"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], dsn: str, *args: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, "check", "--dsn", dsn, "--format", "json", *args)
    return code, json.loads(out)


def by_id(doc: dict) -> dict[str, dict]:
    return {c["id"]: c for c in doc["checks"]}


def test_json_values_equal_the_seeds_own_queries(seeded_dsn: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, seeded_dsn)
    found = by_id(doc)
    with psycopg.connect(seeded_dsn) as conn:
        inconsistent = len(conn.execute(SEED_002_DEBUGGING).fetchall())
        breakdown = conn.execute(SEED_000_BREAKDOWN).fetchall()
        pending = conn.execute(SEED_004_PENDING).fetchone()[0]
        total, with_msg, rate = conn.execute(SEED_003_SUCCESS).fetchone()

    rate_check = found["deliveries.inconsistency_rate"]
    assert rate_check["values"]["inconsistent"] == inconsistent > 0
    assert rate_check["values"]["total_is_estimate"] is False
    assert rate_check["status"] == "WARNING"  # seed 002: > 0 and <= 1.0 %

    per_status: dict[str, int] = {}
    for status, _reason, count in breakdown:
        per_status[status] = per_status.get(status, 0) + count
    assert found["coordination.status_breakdown"]["values"] == per_status

    reports = found["moderation.pending_reports"]
    assert reports["value"] == pending > 0
    assert reports["values"]["oldest_age_s"] > 0

    success = found["conversations.v2_success_rate"]
    assert success["values"]["total"] == total
    assert success["values"]["with_initial_message"] == with_msg
    assert success["value"] == pytest.approx(float(rate))

    migrations = found["schema.migrations"]
    assert (migrations["values"]["applied"], migrations["values"]["expected"]) == (9, 9)
    assert migrations["status"] == "OK"

    assert doc["exit_code"] == code == 2  # the SECURITY DEFINER lint finds seed 003's guard
    assert found["schema.security_definer"]["status"] == "CRITICAL"
    assert set(doc["target"]) == {"host", "port", "dbname", "user"}
    assert doc["checked_at"].endswith("Z")
    for check in doc["checks"]:
        assert set(check) >= {"id", "screen", "title", "status", "value", "unit", "values",
                              "summary", "runbook", "duration_ms", "error"}


def test_exit_code_for_each_status(seeded_dsn: str, empty_dsn: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "--dsn", seeded_dsn, "--only", "moderation.rls_enabled")[0] == 0
    assert run(capsys, "check", "--dsn", seeded_dsn, "--only",
               "deliveries.inconsistency_rate")[0] == 1
    assert run(capsys, "check", "--dsn", seeded_dsn, "--only",
               "schema.security_definer")[0] == 2
    code, out, _ = run(capsys, "check", "--dsn", empty_dsn, "--only", "jobs")
    assert code == 3
    assert "UNKNOWN  jobs.failed_last_hour            not installed: relation" in out


def test_unreachable_server_is_unknown_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--dsn",
                         "postgresql://ops:hunter2@127.0.0.1:1/app")
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and "cannot connect to ops@127.0.0.1:1/app" in err
    assert "hunter2" not in err


def test_malformed_dsn_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--dsn", "host=x password=hunter2 nonsense")
    assert code == 3 and "malformed DSN" in err and "hunter2" not in err


def test_unknown_only_name_is_reported(seeded_dsn: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--dsn", seeded_dsn, "--only", "jobs.nope")
    assert code == 3 and "no check or screen named jobs.nope" in err


def test_partial_database_counts_unknown_only_when_asked(empty_dsn: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.messages (id uuid PRIMARY KEY, is_deleted boolean,"
                     " deleted_at timestamptz, conversation_id uuid, content text)")
        conn.execute("CREATE TABLE public.reported_messages (id bigint PRIMARY KEY,"
                     " message_id uuid, reason text, report_status text,"
                     " created_at timestamptz)")
        conn.execute("ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY")
    code, doc = run_json(capsys, empty_dsn)
    found = by_id(doc)
    assert found["moderation.pending_reports"]["status"] == "OK"
    jobs = found["jobs.failed_last_hour"]
    assert jobs["status"] == "UNKNOWN" and jobs["installed"] is False
    assert "not installed: relation public.sms_outbound_jobs" in jobs["error"]
    quota = found["moderation.quota_exhausted"]  # subsystem present, one table missing: drift
    assert quota["status"] == "UNKNOWN"
    assert 'relation "public.broadcast_quotas" does not exist' in quota["error"]
    assert code == 3  # drift inside an installed subsystem counts
    code, _ = run_json(capsys, empty_dsn, "--only", "moderation.pending_reports",
                       "moderation.rls_enabled")
    assert code == 0
    code, _ = run_json(capsys, empty_dsn, "--only", "conversations")
    assert code == 3


def test_text_fits_80_columns_worst_first(seeded_dsn: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _ = run(capsys, "check", "--dsn", seeded_dsn)
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("opsconsole check CRITICAL")
    assert lines[1].startswith("CRITICAL")
    assert "\x1b" not in out


def test_prometheus_output_parses(seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _ = run(capsys, "check", "--dsn", seeded_dsn, "--format", "prometheus")
    families = {f.name: f for f in text_string_to_metric_families(out)}
    status = {s.labels["check"]: s.value for s in families["opsconsole_check_status"].samples}
    assert status["schema.security_definer"] == 2
    assert status["moderation.rls_enabled"] == 0
    assert len(status) >= 24
    values = families["opsconsole_check_value"].samples
    assert any(s.labels["check"] == "schema.migrations" and s.value == 9 for s in values)


def test_no_password_in_any_output(seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    params = psycopg.conninfo.conninfo_to_dict(seeded_dsn)
    params["password"] = "s3cr3t-Pa55"  # trust auth ignores it; it must still never be printed
    dsn = psycopg.conninfo.make_conninfo(**params)
    for fmt in ("text", "json", "prometheus"):
        _, out, err = run(capsys, "check", "--dsn", dsn, "--format", fmt)
        assert "s3cr3t-Pa55" not in out + err
    for fmt in ("text", "json"):
        _, out, err = run(capsys, "doctor", "--dsn", dsn, "--format", fmt)
        assert "s3cr3t-Pa55" not in out + err


def test_doctor_names_missing_objects_and_files(empty_dsn: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.sms_outbound_jobs (id uuid PRIMARY KEY, status text,"
                     " created_at timestamptz, updated_at timestamptz, last_error text)")
    code, out, _ = run(capsys, "doctor", "--dsn", empty_dsn, "--format", "json")
    assert code == 1  # jobs.stuck_running cannot run (issue 10: doctor exits 1)
    entries = {e["id"]: e for e in json.loads(out)["entries"]}
    assert entries["jobs.failed_last_hour"]["runnable"] is True
    stuck = entries["jobs.stuck_running"]
    assert stuck["state"] == "cannot run"
    assert 'column "locked_at" does not exist' in stuck["findings"][0]["message"]
    assert stuck["query_file"] == "queries/jobs.sql"
    assert entries["moderation.pending_reports"]["state"] == "not installed"
    assert entries["moderation.pending_reports"]["missing"] == [
        "relation public.reported_messages", "relation public.messages"]
    _, text, _ = run(capsys, "doctor", "--dsn", empty_dsn)
    assert "  check jobs.stuck_running  (screens/jobs.toml:" in text
    assert "adapt queries/jobs.sql:19" in text


def test_doctor_on_seeded_database_everything_runs(seeded_dsn: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "doctor", "--dsn", seeded_dsn, "--format", "json")
    entries = json.loads(out)["entries"]
    assert entries and all(e["runnable"] for e in entries), [e for e in entries
                                                             if not e["runnable"]]


def test_a_drifted_database_is_adapted_through_a_catalog_copy(
        fresh_seeded_dsn: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from opsconsole import catalog

    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.sms_outbound_jobs"
                     " RENAME COLUMN last_error TO error_message")
    code, doc = run_json(capsys, fresh_seeded_dsn, "--only", "jobs.failed_last_hour")
    assert code == 3
    assert 'column "last_error" does not exist' in by_id(doc)["jobs.failed_last_hour"]["error"]

    root = catalog.default_root()
    for folder in ("queries", "screens"):
        shutil.copytree(root / folder, tmp_path / folder)
    jobs_sql = tmp_path / "queries" / "jobs.sql"
    text = jobs_sql.read_text()
    head, rest = text.split("-- name: oldest_pending_age", 1)
    jobs_sql.write_text(head.replace("DISTINCT last_error", "DISTINCT error_message")
                        + "-- name: oldest_pending_age" + rest)
    code, doc = run_json(capsys, fresh_seeded_dsn, "--catalog", str(tmp_path),
                         "--only", "jobs.failed_last_hour")
    check = by_id(doc)["jobs.failed_last_hour"]
    assert check["error"] is None and check["values"]["distinct_errors"] == 5
    assert code == 1
