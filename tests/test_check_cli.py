"""`opsconsole check` and `doctor` on real databases: values agree with the seeds' own SQL,
exit codes follow the monitoring-plugin convention, and no password is ever printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opsconsole import cli
from opsconsole.checks import engine as check_engine
from tests.conftest import ANCHOR, REPO

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
    warning, failure = err.splitlines()  # the password on the command line is warned about
    assert "warning: the password in --dsn is visible" in warning
    assert "cannot connect to ops@127.0.0.1:1/app" in failure
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
    _code, out, _ = run(capsys, "check", "--dsn", seeded_dsn, "--width", "80")
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
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
    assert any(s.labels["check"] == "schema.migrations" and s.value == 0 for s in values)
    maps = {(s.labels["check"], s.labels["key"]): s.value
            for s in families["opsconsole_check_values"].samples}
    assert maps[("schema.migrations", "applied")] == 9  # the values map, a row check's numbers


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


# --- issue 11, item 14: --output writes atomically whatever the status; the README's cron ---

def test_output_is_written_atomically_even_when_critical(
        seeded_dsn: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "opsconsole.prom"
    target.write_text("stale all-OK file\n")
    target.chmod(0o644)
    code, out, err = run(capsys, "check", "--dsn", seeded_dsn, "--format", "prometheus",
                         "--output", str(target))
    assert code == 2 and out == "" and err == ""  # CRITICAL, and the file is written anyway
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    assert families["opsconsole_check_run_status"].samples[0].value == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opsconsole.prom"]  # no temp left
    assert target.stat().st_mode & 0o777 == 0o644
    code, _, err = run(capsys, "check", "--dsn", "postgresql://ops@127.0.0.1:1/x",
                       "--format", "prometheus", "--output", str(target))
    assert code == 3 and err.count("\n") == 1
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    assert families["opsconsole_check_run_status"].samples[0].value == 3
    assert "opsconsole_check_status" not in families  # no stale values kept


def test_output_into_a_missing_folder_is_one_line(seeded_dsn: str, tmp_path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--dsn", seeded_dsn, "--only", "schema.migrations",
                       "--output", str(tmp_path / "nope" / "f.json"), "--format", "json")
    assert code == 3 and err.count("\n") == 1 and "cannot write" in err and "nope" in err


def readme_cron_lines() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```cron\n", 1)[1].split("```", 1)[0]
    return [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]


def test_the_readmes_cron_lines_work_as_written(seeded_dsn: str, tmp_path) -> None:
    """Each line of README's cron block, run by sh as cron would (paths moved into tmp_path),
    against a CRITICAL database: the textfile is written, the JSON parses, the mail goes."""
    lines = readme_cron_lines()
    assert len(lines) == 3 and all("%" not in ln for ln in lines)  # % is special in crontab
    bin_dir, textfile, log = tmp_path / "bin", tmp_path / "textfile", tmp_path / "log"
    for folder in (bin_dir, textfile, log):
        folder.mkdir()
    mail = bin_dir / "mail"
    mail.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/mail.args\ncat > {tmp_path}/mail.body\n')
    mail.chmod(0o755)
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[profiles.production]\ndsn = "{seeded_dsn}"\n'
                           'environment = "production"\n')
    venv_bin = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:{venv_bin}:/usr/bin:/bin", "OPSCONSOLE_CONFIG": str(config_file),
           "HOME": str(tmp_path), "LANG": "C"}
    for line in lines:
        command = line.split(None, 5)[5]
        command = command.replace("/var/lib/node_exporter/textfile", str(textfile))
        command = command.replace("/var/log/opsconsole", str(log))
        proc = subprocess.run(["/bin/sh", "-c", command], check=False, env=env, capture_output=True,
                              text=True, timeout=120)
        assert "Traceback" not in proc.stderr, proc.stderr
    assert "moderation" in (tmp_path / "mail.args").read_text()
    assert "moderation.pending_reports" in (tmp_path / "mail.body").read_text()
    deliveries = json.loads((log / "deliveries.json").read_text())
    assert {c["screen"] for c in deliveries["checks"]} == {"deliveries"}
    prom = (textfile / "opsconsole.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(prom)}
    assert families["opsconsole_check_run_status"].samples[0].value == 2  # written while CRITICAL
    assert sorted(p.name for p in textfile.iterdir()) == ["opsconsole.prom"]


# --- issue 11, items 15 and 16: bad input is UNKNOWN (3) in one line, and JSON stays JSON ---

@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-1", "0", "-inf", "soon", ""])
def test_a_bad_timeout_is_unknown_with_one_line(value: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--dsn", "host=x", "--timeout", value)
    assert code == 3 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert "--timeout" in err
    code, out, err = run(capsys, "check", "--timeout", value, "--format", "json")
    doc = json.loads(out)
    assert (doc["status"], doc["exit_code"]) == ("UNKNOWN", 3) and "--timeout" in doc["error"]


def test_json_is_printed_on_bad_input_and_on_a_lost_connection(
        capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["check", "--format", "json", "--only"],
                 ["check", "--format=json", "--bogus"],
                 ["check", "--format", "json", "--dsn", "postgresql://ops:pw@127.0.0.1:1/x"],
                 ["--dsn", "host=x password=p bogus", "check", "--format", "json"]):
        code, out, err = run(capsys, *argv)
        doc = json.loads(out)
        assert code == 3 and doc["status"] == "UNKNOWN" and doc["exit_code"] == 3, argv
        assert doc["error"] and err.strip().endswith(doc["error"])


def test_only_accepts_screen_titles_and_ids_in_any_case(
        seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = []
    for name in ("Moderation", "moderation", "MODERATION", " moderation "):
        _, doc = run_json(capsys, seeded_dsn, "--only", name)
        ids.append(sorted(c["id"] for c in doc["checks"]))
    assert ids[0] and all(i == ids[0] for i in ids)
    assert all(i.startswith("moderation.") for i in ids[0])
    _, doc = run_json(capsys, seeded_dsn, "--only", "Moderation.Pending_Reports")
    assert [c["id"] for c in doc["checks"]] == ["moderation.pending_reports"]


def test_only_never_echoes_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--dsn", "postgresql://ops@127.0.0.1:1/x",
                       "--only", "x\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9d")
    assert code == 3 and "no check or screen named x" in err
    assert "\x1b" not in err and "\x9d" not in err and "\x07" not in err
    assert "screens: Overview" in err or "screens:" in err


@pytest.mark.parametrize("command", [["check"], ["doctor"]])
def test_a_closed_stdout_ends_quietly(seeded_dsn: str, command: list[str]) -> None:
    """`check | true`, `doctor | head`: the reader is gone before the first byte."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([str(Path(sys.executable).parent / "opsconsole"), *command,
                               "--dsn", seeded_dsn], stdout=write_end, stderr=subprocess.PIPE, check=False,
                              text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == (2 if command == ["check"] else 0)


def test_two_failures_at_once_are_still_one_line(tmp_path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    """Found by the fuzz test: the server unreachable and --output unwritable; a NUL byte."""
    code, _, err = run(capsys, "check", "--dsn", "postgresql://ops@127.0.0.1:1/x",
                       "--output", str(tmp_path / "nope" / "f.prom"), "--format", "prometheus")
    assert code == 3 and err.count("\n") == 1
    assert "cannot connect" in err and "also cannot write" in err
    code, _, err = run(capsys, "check", "--output", "\x00")
    assert code == 3 and err.count("\n") == 1 and "internal error" not in err
