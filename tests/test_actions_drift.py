"""Actions on a drifted schema (tests/drift/drift.sql): refused with the server's reason and the
file and line to edit; a catalog copy adapted by editing only queries/ and screens/
(tests/drift/edits_actions.toml) makes every action whose subsystem exists preview, apply and
undo, checked by this test's own SQL; actions whose objects are absent are "not installed"."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from opsconsole import catalog
from opsconsole.catalog import verify
from opsconsole.connection import db
from tests.conftest import DRIFT_READER, as_role
from tests.test_actions_support import run_cli, scalar

EDITS = Path(__file__).resolve().parent / "drift" / "edits_actions.toml"


def adapted(root: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """A copy of the shipped catalog under ``root`` with the drift edits applied (each edit
    must match exactly once), leaving out the edits whose ``why`` contains a ``skip`` word."""
    shipped = catalog.default_root()
    for folder in ("queries", "screens"):
        shutil.copytree(shipped / folder, root / folder)
    for edit in tomllib.loads(EDITS.read_text(encoding="utf-8"))["edits"]:
        if any(word in edit["why"] for word in skip):
            continue
        path = root / edit["file"]
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["old"]) == 1, edit["why"]
        path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def adapted_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return adapted(tmp_path_factory.mktemp("adapted"))


def one_row(dsn: str, query: str) -> tuple[Any, ...]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return tuple(row)


def line_at(root: Path, message: str) -> str:
    """The catalog line a refusal points at (``queries/actions.sql:NNN``)."""
    where = message.split("adapt ", 1)[1].split(maxsplit=1)[0].rstrip(")")
    path, line = where.split(":")
    return (root / path).read_text(encoding="utf-8").splitlines()[int(line) - 1]


@pytest.mark.parametrize("args,reason,edited", [
    (["replay-jobs", "--job-id", "1"], 'column j.last_error does not exist', "last_error"),
    (["reenqueue-coordination", "--linkup-id", "a0c70000-0000-4000-8000-000000000020"],
     "writes public.sms_outbound_jobs.status = 'pending', which the column cannot hold",
     "'pending'"),
    (["resolve-report", "--report-id", "1", "--dismiss"], "operator does not exist: uuid = bigint",
     ":report_id::bigint"),
])
def test_before_adaptation_each_action_is_refused_with_the_servers_reason_and_line(
    drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    reason: str, edited: str,
) -> None:
    code, out, err = run_cli(capsys, drift_dsn, *args, "--dry-run")
    assert code == 4 and out["status"] == "refused", err
    assert reason in out["message"] and "cannot run on this database" in out["message"]
    assert edited in line_at(catalog.default_root(), out["message"])
    # The engine's refusal is the catalog report's finding for that action.
    with db.connect(drift_dsn) as conn:
        report = verify.verify_catalog(conn, catalog.load())
    assert any(reason in f.message for f in report.problems("action", args[0]))


def test_absent_objects_are_not_installed_naming_what_is_missing(
    drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str], adapted_root: Path
) -> None:
    for root in (catalog.default_root(), adapted_root):
        code, out, _ = run_cli(capsys, drift_dsn, "set-flag", "--name", "LINK_USER_BY_PHONE",
                               "--on", "--dry-run", "--catalog", str(root))
        assert code == 4 and "not installed" in out["message"]
        assert "public.feature_flags" in out["message"]
        code, out, _ = run_cli(capsys, drift_dsn, "set-trigger", "--name",
                               "trigger_backfill_deliveries_on_guest_link", "--enable",
                               "--dry-run", "--catalog", str(root))
        assert code == 4 and "not installed" in out["message"]
        assert ("trigger trigger_backfill_deliveries_on_guest_link on public.event_guests"
                in out["message"])


def test_each_edit_lifts_its_refusal_and_names_the_next_one(
    drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Renamed column and id type adapted, the status vocabulary not yet: the refusal moves on
    to the enum value, pointing at the line still to edit."""
    root = adapted(tmp_path, skip=("D3",))
    code, out, _ = run_cli(capsys, drift_dsn, "replay-jobs", "--job-id", "1", "--dry-run",
                           "--catalog", str(root))
    assert code == 4, out
    assert ("writes public.sms_outbound_jobs.status = 'pending', which the column cannot hold"
            in out["message"])
    assert "status = 'pending'" in line_at(root, out["message"])


def test_parameter_types_follow_the_described_statements(
    drift_dsn: str, seeded_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    uuid = "3f2c1a9e-0b7d-4c51-9a43-6f0e2d8b1c77"
    code, _, err = run_cli(capsys, drift_dsn, "replay-jobs", "--job-id", uuid, "--dry-run",
                           "--catalog", str(adapted_root))
    assert code == 2 and "--job-id" in err and "whole number" in err
    code, _, err = run_cli(capsys, seeded_dsn, "replay-jobs", "--job-id", "42", "--dry-run")
    assert code == 2 and "--job-id '42' is not a UUID" in err
    code, _, err = run_cli(capsys, drift_dsn, "resolve-report", "--report-id", "42", "--dismiss",
                           "--dry-run", "--catalog", str(adapted_root))
    assert code == 2 and "--report-id '42' is not a UUID" in err


def cli(capsys: pytest.CaptureFixture[str], dsn: str, root: Path, *args: str) -> dict[str, Any]:
    """Preview, then apply exactly the previewed count; returns the apply's JSON result."""
    code, out, err = run_cli(capsys, dsn, *args, "--dry-run", "--catalog", str(root))
    assert code == 0 and out["status"] == "dry-run", err
    code, done, err = run_cli(capsys, dsn, *args, "--yes", "--expect", str(out["previewed"]),
                              "--allow-writes", "--catalog", str(root))
    assert code == 0 and done["status"] == "applied", err
    assert done["affected"] == out["previewed"]
    return done


def undo_run(capsys: pytest.CaptureFixture[str], dsn: str, root: Path,
             result: dict[str, Any]) -> dict[str, Any]:
    return cli(capsys, dsn, root, "undo", str(result["audit_ids"][0]), "--run")


def test_replay_jobs_with_a_bigint_job_id(
    fresh_drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    dsn = fresh_drift_dsn
    job = scalar(dsn, "SELECT min(id) FROM public.sms_outbound_jobs WHERE status = 'failed'")
    status = "SELECT status::text FROM public.sms_outbound_jobs WHERE id = %s"
    done = cli(capsys, dsn, adapted_root, "replay-jobs", "--job-id", str(job))
    assert done["affected"] == 1 and scalar(dsn, status, (job,)) == "queued"
    undone = undo_run(capsys, dsn, adapted_root, done)
    assert undone["affected"] == 1 and scalar(dsn, status, (job,)) == "failed"


def test_replay_jobs_of_an_error_group(
    fresh_drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    dsn = fresh_drift_dsn
    error, count = one_row(
        dsn, "SELECT error_message, count(*) FROM public.sms_outbound_jobs WHERE status = 'failed'"
             " AND error_message IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    done = cli(capsys, dsn, adapted_root, "replay-jobs", "--last-error", error, "--batch-size",
               "7")
    assert done["affected"] == count and done["batches"] == -(-count // 7)
    assert scalar(dsn, "SELECT count(*) FROM public.sms_outbound_jobs WHERE status = 'failed'"
                       " AND error_message = %s", (error,)) == 0
    undo_run(capsys, dsn, adapted_root, done)
    assert scalar(dsn, "SELECT count(*) FROM public.sms_outbound_jobs WHERE status = 'failed'"
                       " AND error_message = %s", (error,)) == count


def test_resolve_report_with_a_uuid_report_id(
    fresh_drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    dsn = fresh_drift_dsn
    report, message = one_row(
        dsn, "SELECT r.id::text, r.message_id FROM public.reported_messages r"
             " JOIN public.messages m ON m.id = r.message_id AND NOT m.is_deleted"
             " WHERE r.report_status = 'pending' ORDER BY r.created_at LIMIT 1")
    done = cli(capsys, dsn, adapted_root, "resolve-report", "--report-id", report, "--uphold")
    assert done["affected"] == 2
    assert scalar(dsn, "SELECT report_status FROM public.reported_messages WHERE id = %s",
                  (report,)) == "upheld"
    assert scalar(dsn, "SELECT is_deleted FROM public.messages WHERE id = %s", (message,))
    undo_run(capsys, dsn, adapted_root, done)
    assert scalar(dsn, "SELECT report_status FROM public.reported_messages WHERE id = %s",
                  (report,)) == "pending"
    assert scalar(dsn, "SELECT is_deleted FROM public.messages WHERE id = %s", (message,)) is False


def test_set_trigger_on_the_trigger_that_exists(
    fresh_drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    dsn = fresh_drift_dsn
    state = ("SELECT tgenabled::text FROM pg_trigger WHERE tgname ="
             " 'trigger_message_deliveries_auto_link_user'")
    was = scalar(dsn, state)
    flag = "--enable" if was == "D" else "--disable"
    done = cli(capsys, dsn, adapted_root, "set-trigger", "--name",
               "trigger_message_deliveries_auto_link_user", flag)
    assert scalar(dsn, state) == ("O" if was == "D" else "D")
    undo_run(capsys, dsn, adapted_root, done)
    assert scalar(dsn, state) == was


LINKABLE = """SELECT count(*) FROM public.message_deliveries d JOIN public.event_guests g
              ON g.id = d.guest_id WHERE d.user_id IS NULL AND g.user_id IS NOT NULL
              AND g.removed_at IS NULL"""


def test_backfill_all_and_its_undo_with_the_link_audit_rows(
    fresh_drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    dsn = fresh_drift_dsn
    linkable = scalar(dsn, LINKABLE)
    link_rows = scalar(dsn, "SELECT count(*) FROM public.user_link_audit")
    done = cli(capsys, dsn, adapted_root, "backfill-all", "--batch-size", "100")
    assert done["affected"] == linkable > 0 and scalar(dsn, LINKABLE) == 0
    assert scalar(dsn, "SELECT count(*) FROM public.user_link_audit") > link_rows
    undone = undo_run(capsys, dsn, adapted_root, done)
    assert undone["affected"] == linkable and scalar(dsn, LINKABLE) == linkable
    assert scalar(dsn, "SELECT count(*) FROM public.user_link_audit") == link_rows


def test_reset_quotas_and_reenqueue(
    fresh_drift_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    adapted_root: Path,
) -> None:
    dsn = fresh_drift_dsn
    due = ("SELECT count(*) FROM public.broadcast_quotas WHERE broadcasts_sent > 0"
           " OR last_reset_at < now() - interval '1 day'")
    count = scalar(dsn, due)
    done = cli(capsys, dsn, adapted_root, "reset-quotas")
    assert done["affected"] == count > 0 and scalar(dsn, due) == 0
    undo_run(capsys, dsn, adapted_root, done)
    assert scalar(dsn, due) == count

    linkup = scalar(dsn, """SELECT l.id::text FROM public.linkups l WHERE l.state = 'locked'
        AND EXISTS (SELECT 1 FROM public.linkup_members m WHERE m.linkup_id = l.id
          AND m.status = 'confirmed' AND NOT EXISTS (
            SELECT 1 FROM public.linkup_coordination_messages cm WHERE cm.linkup_id = l.id
            AND cm.user_id = m.user_id AND cm.lock_version = l.lock_version))
        ORDER BY l.id LIMIT 1""")
    rows = ("SELECT (SELECT count(*) FROM public.sms_outbound_jobs WHERE status = 'queued'),"
            " (SELECT count(*) FROM public.linkup_coordination_messages)")
    before = one_row(dsn, rows)
    done = cli(capsys, dsn, adapted_root, "reenqueue-coordination", "--linkup-id", linkup)
    assert done["values"]["jobs_inserted"] > 0 and done["values"]["idempotent_replay"] is False
    after = one_row(dsn, rows)
    assert after[0] == before[0] + done["values"]["jobs_inserted"]
    code, again, _ = run_cli(capsys, dsn, "reenqueue-coordination", "--linkup-id", linkup,
                             "--dry-run", "--catalog", str(adapted_root))
    assert code == 0 and again["status"] == "nothing-to-do"
    undo_run(capsys, dsn, adapted_root, done)
    assert one_row(dsn, rows) == before


@pytest.fixture
def drift_writer(fresh_drift_dsn: str) -> Iterator[str]:
    """DRIFT_READER on a fresh drift clone, granted what resolve-report writes."""
    with psycopg.connect(fresh_drift_dsn, autocommit=True) as conn:
        role = sql.Identifier(DRIFT_READER)
        conn.execute(sql.SQL("GRANT UPDATE ON public.reported_messages, public.messages TO {};"
                             " GRANT INSERT ON opsconsole.audit_log TO {}").format(role, role))
    yield as_role(fresh_drift_dsn, DRIFT_READER)


def test_row_level_security_refuses_before_the_preview_naming_table_and_role(
    drift_writer: str, fresh_drift_dsn: str, audit_file: Path,
    capsys: pytest.CaptureFixture[str], adapted_root: Path,
) -> None:
    report = scalar(fresh_drift_dsn, "SELECT id::text FROM public.reported_messages"
                                     " WHERE report_status = 'pending' LIMIT 1")
    before = scalar(fresh_drift_dsn, "SELECT count(*) FROM opsconsole.audit_log")
    for mode in (["--dry-run"], ["--yes", "--expect", "1", "--allow-writes"]):
        code, out, err = run_cli(capsys, drift_writer, "resolve-report", "--report-id", report,
                                 "--dismiss", *mode, "--catalog", str(adapted_root))
        assert code == 4 and out["status"] == "refused", err
        assert "row-level security on public.reported_messages" in out["message"]
        assert DRIFT_READER in out["message"] and len(err.strip().splitlines()) == 1
    assert scalar(fresh_drift_dsn, "SELECT report_status FROM public.reported_messages"
                                   " WHERE id = %s", (report,)) == "pending"
    assert scalar(fresh_drift_dsn, "SELECT count(*) FROM opsconsole.audit_log") == before
