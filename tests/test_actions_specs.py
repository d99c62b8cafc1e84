"""Actions are data: the [[actions]] specs load with errors naming file and key, the server
judges what the specs say against what the statements are, and the messages an engineer reads
name the fix in the words of the face they use (issue 10 item 3, issue 11 item 16)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from opsconsole import catalog, checks
from opsconsole.actions.model import Progress
from opsconsole.actions.params import ParamError
from opsconsole.catalog import introspect
from opsconsole.connection import db
from opsconsole.errors import BadInput, Refused
from opsconsole.tui.action_dialog import TUI_FACE
from tests.conftest import as_role
from tests.test_actions_support import make_ctx, preview_only, run_action, run_cli, scalar


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("file,old,new,message", [
    ("screens/jobs.toml", 'name = "replay-jobs"\n', 'name = "replay-jobs"\ncolour = "red"\n',
     r"jobs\.toml: actions\.0\.colour: Extra inputs are not permitted"),
    ("screens/jobs.toml", 'preview = "actions.replay_jobs_preview"',
     'preview = "actions.replay_jobs_previw"',
     r"jobs\.toml: action replay-jobs: steps\.0\.preview: query actions\.replay_jobs_previw "
     r"not found in queries/actions\.sql"),
    ("screens/jobs.toml", '[[actions.params]]\nname = "purpose"\n',
     '[[actions.params]]\nname = "spare"\noptional = true\n\n[[actions.params]]\nname = "purpose"\n',
     r"action replay-jobs: params\.spare: no statement of the action takes :spare"),
    ("screens/coordination.toml", '"actions.reenqueue_insert_intents.id"], keys',
     '"actions.reenqueue_link.id"], keys',
     r"steps\.2\.apply\.1\.bind\.coordination_ids: 'actions\.reenqueue_link\.id' is not"),
    ("screens/moderation.toml", 'kind = "lookup"', 'kind = "lokup"',
     r"moderation\.toml: actions\.0\.steps\.0: Input tag 'lokup' found using 'kind' does not"),
])
def test_a_bad_spec_fails_to_load_naming_file_and_key(
    copy_root: Path, file: str, old: str, new: str, message: str
) -> None:
    edit(copy_root / file, old, new)
    with pytest.raises(BadInput, match=message):
        catalog.load(copy_root)


PREVIEW_PURPOSE = ("  AND (:purpose::text IS NULL OR j.purpose = :purpose::text)\n"
                   "ORDER BY j.id\nLIMIT :max_rows::int;")
APPLY_PURPOSE = "    AND (:purpose::text IS NULL OR j.purpose = :purpose::text)\n  FOR UPDATE"
AS_DATE = ("::text IS NULL OR j.purpose = :purpose::text",
           "::date IS NULL OR j.created_at::date = :purpose::date")


@pytest.mark.parametrize("edits,message", [
    ([("screens/jobs.toml", 'columns = ["id", "purpose",', 'columns = ["id", "nope", "purpose",')],
     "screens/jobs.toml (action replay-jobs): columns names nope, which queries/actions.sql:"),
    ([("queries/actions.sql", PREVIEW_PURPOSE, PREVIEW_PURPOSE.replace(*AS_DATE))],
     "parameter purpose is date in an earlier statement but text in queries/actions.sql:"),
    ([("queries/actions.sql", PREVIEW_PURPOSE, PREVIEW_PURPOSE.replace(*AS_DATE)),
      ("queries/actions.sql", APPLY_PURPOSE, APPLY_PURPOSE.replace(*AS_DATE))],
     "params.purpose has type date, which the console cannot take as input"),
    ([("queries/actions.sql", "-- name: replay_jobs_preview(job_id, last_error, no_last_error,"
       " purpose, max_rows)", "-- name: replay_jobs_preview(job_id, last_error, no_last_error,"
       " purpose, max_rows, mystery)"),
      ("queries/actions.sql", PREVIEW_PURPOSE, PREVIEW_PURPOSE.replace(
          "LIMIT :max_rows::int;", "LIMIT :max_rows::int + 0 * :mystery::int;"))],
     "takes :mystery, which no parameter, choice, earlier lookup column or bind"),
])
def test_the_server_judges_the_spec_against_its_statements(
    copy_root: Path, seeded_dsn: str, audit_file: Path, capsys: pytest.CaptureFixture[str],
    edits: list[tuple[str, str, str]], message: str,
) -> None:
    for file, old, new in edits:
        edit(copy_root / file, old, new)
    code, out, err = run_cli(capsys, seeded_dsn, "replay-jobs", "--purpose", "x", "--dry-run",
                             "--catalog", str(copy_root))
    assert code == 4 and message in out["message"], err
    assert len(err.strip().splitlines()) == 1
    # the shipped catalog, unedited, runs
    code, out, err = run_cli(capsys, seeded_dsn, "replay-jobs", "--purpose", "x", "--dry-run")
    assert code == 0, err


def test_statement_uses_carry_the_status_values_and_identifier_slots() -> None:
    cat = catalog.load()
    uses = {(u.owner, u.ref, u.slots): u for u in cat.statement_uses() if u.kind == "action"}
    replay = uses[("replay-jobs", "actions.replay_jobs_apply", ())]
    assert replay.values == {"public.sms_outbound_jobs.status": ("failed", "pending")}
    report = uses[("resolve-report", "actions.report_apply", ())]
    assert report.values["public.reported_messages.report_status"] == (
        "pending", "dismissed", "upheld")
    assert ("set-trigger", "actions.trigger_disable",
            ("public.event_guests", "trigger_backfill_deliveries_on_guest_link")) in uses
    assert ("backfill-all", "actions.undo_delete", ("public.user_link_audit", "id")) in uses
    # every action's uses name only statements of queries/actions.sql
    assert all(u.ref.startswith("actions.") for u in uses.values())


def test_parameter_errors_are_worded_by_each_face(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, _ = planted
    with pytest.raises(ParamError) as caught:
        preview_only(make_ctx(dsn, audit_file), "resolve-report",
                     {"report_id": "abc", "decision": "dismiss"})
    tui = caught.value.worded(TUI_FACE.param)
    assert tui.startswith("resolve-report: report id 'abc' must be a whole number")
    assert "--" not in tui
    code, _, err = run_cli(capsys, dsn, "resolve-report", "--report-id", "abc", "--dismiss",
                           "--dry-run")
    assert code == 2 and "--report-id 'abc' must be a whole number" in err
    for args, needle in ((["set-trigger", "--name", "trigger_message_deliveries_auto_link_user"],
                          "--enable/--disable is required"),
                         (["set-flag", "--name", "opsconsole_test_flag"], "--on/--off is required")):
        code, out, err = run_cli(capsys, dsn, *args, "--dry-run")
        assert code == 2 and needle in err and out["status"] == "bad-input"


def test_a_stopped_batched_run_gives_its_run_id_and_an_audit_id_range(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    cancel = threading.Event()

    def stop_after_3(p: Progress) -> None:
        if p.batch_no == 3:
            cancel.set()

    _, result = run_action(make_ctx(dsn, audit_file), "backfill-all", {}, batch_size=1,
                           cancel=cancel, on_progress=stop_after_3)
    low, high = result.audit_ids[0], result.audit_ids[-1]
    assert result.status == "aborted" and result.batches == 3
    assert f"(run {result.run_id}, audit ids {low}-{high})" in result.message
    assert ", ".join(map(str, result.audit_ids)) not in result.message


def test_rerunning_an_applied_action_is_nothing_to_do(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, reports = planted
    args = ["resolve-report", "--report-id", str(reports["r2"]), "--dismiss"]
    assert run_cli(capsys, dsn, *args, "--yes", "--expect", "1", "--allow-writes")[0] == 0
    for mode in (["--dry-run"], ["--yes", "--expect", "0", "--allow-writes"]):
        code, out, _ = run_cli(capsys, dsn, *args, *mode)
        assert code == 0 and out["status"] == "nothing-to-do"
        assert f"report {reports['r2']} is dismissed already" in out["message"]
    code, out, _ = run_cli(capsys, dsn, "resolve-report", "--report-id", str(reports["r2"]),
                           "--uphold", "--dry-run")
    assert code == 4 and "only a pending report is resolved" in out["message"]


def test_the_undo_preview_shows_its_statement_filled_in(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, _ = planted
    _, applied = run_action(make_ctx(dsn, audit_file), "reset-quotas", {})
    from opsconsole.cli import main as cli_main

    assert cli_main(["--dsn", dsn, "action", "undo", str(applied.audit_ids[0]), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert 'UPDATE "public"."broadcast_quotas" cur' in out
    assert 'SET ("broadcasts_sent", "last_reset_at", "updated_at")' in out
    assert "{0}" not in out and "{1}" not in out and "{2}" not in out


def backfill_activity(dsn: str) -> float:
    cat = catalog.load()
    with db.connect(dsn) as conn:
        schema = introspect.inspect(conn, cat)
        (result,) = checks.run_all(conn, cat, schema, only=["deliveries.backfill_activity"])
    assert result.value is not None
    return float(result.value)


def test_undoing_a_backfill_removes_its_user_link_audit_rows(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    before = backfill_activity(dsn)
    _, applied = run_action(ctx, "backfill-all", {}, batch_size=50)
    assert backfill_activity(dsn) > before
    preview, undone = run_action(ctx, "undo", {"audit_id": applied.audit_ids[0],
                                               "whole_run": True})
    assert any("user_link_audit" in n for n in preview.notes)
    assert undone.affected == applied.affected and backfill_activity(dsn) == before
    assert scalar(dsn, "SELECT count(*) FROM public.user_link_audit WHERE metadata->>'run_id'"
                       " = %s", (applied.run_id,)) == 0


@pytest.fixture
def table_user(planted: tuple[str, dict[str, int]]) -> Iterator[tuple[str, str]]:
    """(admin dsn, dsn of a role that may write but owns no table)."""
    dsn, _ = planted
    role = f"opsconsole_notowner_{uuid.uuid4().hex[:8]}"
    ident = sql.Identifier(role)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {0} LOGIN BYPASSRLS; GRANT opsconsole_operator TO {0}")
                     .format(ident))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public, auth TO {0};"
                             " GRANT SELECT ON ALL TABLES IN SCHEMA public TO {0}").format(ident))
    try:
        yield dsn, as_role(dsn, role)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(ident))


def test_privilege_refusals_suggest_sql_that_runs(
    table_user: tuple[str, str], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, dsn = table_user
    name = "trigger_message_deliveries_auto_link_user"
    was = scalar(admin, "SELECT tgenabled::text FROM pg_trigger WHERE tgname = %s", (name,))
    args = ["set-trigger", "--name", name, "--enable" if was == "D" else "--disable"]
    trigger_args = args
    for expected in ("lacks UPDATE", "lacks ownership of public.message_deliveries"):
        args = trigger_args if expected.startswith("lacks own") else [
            "reset-quotas", "--batch-size", "100"]
        n = run_cli(capsys, dsn, *args, "--dry-run")[1]["previewed"]
        code, out, err = run_cli(capsys, dsn, *args, "--yes", "--expect", str(n),
                                 "--allow-writes")
        assert code == 4 and expected in out["message"], err
        fix = out["message"].rsplit(": ", 1)[1]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(fix)  # valid SQL, and the fix
        code, out, err = run_cli(capsys, dsn, *args, "--yes", "--expect", str(n),
                                 "--allow-writes")
        assert code == 0 and out["status"] == "applied", err


def test_engine_refusals_without_a_face_name_no_cli_flag(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file, writes=False)
    _, result = run_action(ctx, "reset-quotas", {})
    assert result.status == "refused" and "writes are off" in result.message
    assert "--" not in result.message
    from opsconsole.actions import guards

    preview = preview_only(make_ctx(dsn, audit_file), "reset-quotas", {})
    with pytest.raises(Refused) as unconfirmed:
        guards.check_confirmation(preview, ctx, expect=None, typed_env=None)
    assert "--" not in unconfirmed.value.message
