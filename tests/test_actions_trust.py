"""Trust under faults and mistakes (issue 11, the actions' part): row-level security refused
before the preview, an append-only audit trail that only operators may write and that undo
trusts only for complete console runs, undo from sessions with other settings, a second ctrl+c
that still reports what committed, a local audit file on a full disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from opsconsole.actions import engine
from opsconsole.actions.session import open_session
from opsconsole.cli import main as cli_main
from opsconsole.errors import ConnectionFailed, Refused
from tests.conftest import REPO, as_role
from tests.test_actions_engine import user_ids
from tests.test_actions_support import (
    G_OTHER,
    audit_rows,
    make_ctx,
    preview_only,
    run_action,
    run_cli,
    scalar,
)


@pytest.fixture
def plain_role(planted: tuple[str, dict[str, int]]) -> Iterator[tuple[str, str]]:
    """(admin dsn, dsn of a LOGIN role: not the owner, no BYPASSRLS, SELECT on everything)."""
    dsn, _ = planted
    role = f"opsconsole_plain_{uuid.uuid4().hex[:8]}"
    ident = sql.Identifier(role)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        for schema in ("public", "auth", "opsconsole", "core", "communication"):
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1};"
                                 " GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}").format(
                sql.Identifier(schema), ident))
    try:
        yield dsn, as_role(dsn, role)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(ident))


def role_of(dsn: str) -> sql.Identifier:
    return sql.Identifier(str(psycopg.conninfo.conninfo_to_dict(dsn)["user"]))


def test_rls_on_messages_refuses_the_uphold_before_the_preview(
    plain_role: tuple[str, str], planted: tuple[str, dict[str, int]], audit_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin, dsn = plain_role
    _, reports = planted
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT UPDATE ON public.reported_messages, public.messages TO {0};"
                             " GRANT opsconsole_operator TO {0}").format(role_of(dsn)))
    code, out, err = run_cli(capsys, dsn, "resolve-report", "--report-id", str(reports["r1"]),
                             "--uphold", "--yes", "--expect", "2", "--allow-writes")
    assert code == 4 and out["status"] == "refused"
    assert "row-level security on public.messages filters what role opsconsole_plain_" in err
    assert len(err.strip().splitlines()) == 1
    assert scalar(admin, "SELECT report_status FROM public.reported_messages WHERE id = %s",
                  (reports["r1"],)) == "pending"


def test_nobody_updates_deletes_or_truncates_the_audit_trail(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    _, result = run_action(make_ctx(dsn, audit_file), "reset-quotas", {})
    for statement in ("UPDATE opsconsole.audit_log SET outcome = 'undone'",
                      "DELETE FROM opsconsole.audit_log", "TRUNCATE opsconsole.audit_log"):
        with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.RaiseException,
                                                         match="append-only"):
            conn.execute(statement)  # as the owner (a superuser here) too
    assert [r["id"] for r in audit_rows(dsn)] == result.audit_ids


def test_only_operators_may_insert_and_the_refusal_says_how(
    plain_role: tuple[str, str], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, dsn = plain_role
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT UPDATE ON public.broadcast_quotas TO {}").format(
            role_of(dsn)))
    n = run_cli(capsys, dsn, "reset-quotas", "--dry-run")[1]["previewed"]
    code, _, err = run_cli(capsys, dsn, "reset-quotas", "--yes", "--expect", str(n),
                           "--allow-writes")
    assert code == 4 and "lacks INSERT privilege on opsconsole.audit_log" in err
    fix = err.split("have it granted: ", 1)[1].strip()
    assert fix.startswith("GRANT opsconsole_operator TO ")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(fix)  # the suggested SQL is valid, and is the fix
    code, out, _ = run_cli(capsys, dsn, "reset-quotas", "--yes", "--expect", str(n),
                           "--allow-writes")
    assert code == 0 and out["affected"] == n
    with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE opsconsole.audit_log SET os_user = 'x'")


def craft(dsn: str, before: dict[str, Any], after: dict[str, Any], key: str, *,
          run_id: str | None = None, batch_no: int = 1) -> int:
    """An audit row inserted by someone who may INSERT, not by the transaction that made
    the change it claims."""
    image = {"table": "public.message_deliveries", "op": "update", "key": {"id": key},
             "before": before, "after": after}
    return int(scalar(
        dsn, "INSERT INTO opsconsole.audit_log (run_id, batch_no, os_user, action, previewed,"
             " affected, outcome, before_images) VALUES (coalesce(%s::uuid, gen_random_uuid()),"
             " %s, 'x', 'backfill-all', 1, 1, 'applied', %s::jsonb) RETURNING id",
        (run_id, batch_no, json.dumps([image], default=str))))


def test_undo_refuses_a_crafted_entry_that_is_not_part_of_a_complete_run(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    row = scalar(dsn, "SELECT to_jsonb(d.*) FROM public.message_deliveries d"
                      " WHERE guest_id = %s LIMIT 1", (G_OTHER,))
    someone = scalar(dsn, "SELECT id::text FROM public.users LIMIT 1")
    # Allow-listed table, key and columns, an after-image equal to the row now: all the crafter
    # needs is INSERT on the trail; the database never vouched for it.
    audit_id = craft(dsn, {"user_id": someone, "updated_at": row["updated_at"]},
                     {"user_id": None, "updated_at": row["updated_at"]}, row["id"])
    assert scalar(dsn, "SELECT vouched FROM opsconsole.audit_log WHERE id = %s", (audit_id,)) \
        is False
    with pytest.raises(Refused, match="not part of a complete console run"):
        preview_only(make_ctx(dsn, audit_file), "undo", {"audit_id": audit_id})
    assert scalar(dsn, "SELECT user_id FROM public.message_deliveries WHERE id = %s",
                  (row["id"],)) is None


def test_undo_refuses_a_real_run_that_a_crafted_row_joined(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    _, applied = run_action(ctx, "backfill-all", {}, batch_size=5)
    image = audit_rows(dsn, run_id=applied.run_id)[0]["before_images"][0]
    craft(dsn, image["before"], image["after"], image["key"]["id"], run_id=applied.run_id,
          batch_no=1)
    before = user_ids(dsn)
    for params in ({"audit_id": applied.audit_ids[0]},
                   {"audit_id": applied.audit_ids[1], "whole_run": True}):
        with pytest.raises(Refused, match="not part of a complete console run"):
            preview_only(ctx, "undo", params)
    assert user_ids(dsn) == before


SETTINGS = {
    "TimeZone": "Pacific/Chatham",
    "DateStyle": "SQL, DMY",
    "IntervalStyle": "sql_standard",
    "bytea_output": "escape",
    "extra_float_digits": "-5",
}


def with_setting(dsn: str, name: str, value: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["options"] = f"-c {name}={value.replace(' ', '')}"
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_undo_restores_from_a_session_with_other_settings(
    planted: tuple[str, dict[str, int]], audit_file: Path, name: str
) -> None:
    """Whole-row images with a timestamptz, a bytea, an interval and a float: compared as
    typed values, they are unchanged whatever the undoing session renders."""
    dsn, _ = planted
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.broadcast_quotas"
                     " ADD COLUMN blob bytea NOT NULL DEFAULT '\\x01ff00'::bytea,"
                     " ADD COLUMN span interval NOT NULL DEFAULT '-1 day -02:03:04.5',"
                     " ADD COLUMN ratio float8 NOT NULL DEFAULT 0.1::float8 * 3")
    table = "SELECT md5(string_agg(q::text, ',' ORDER BY q.id)) FROM public.broadcast_quotas q"
    original = scalar(dsn, table)
    _, applied = run_action(make_ctx(dsn, audit_file), "reset-quotas", {})
    assert applied.affected >= 2 and scalar(dsn, table) != original
    other = make_ctx(with_setting(dsn, name, SETTINGS[name]), audit_file)
    with psycopg.connect(other.dsn, row_factory=dict_row) as raw:
        # The comparison itself, in a session that keeps the odd setting (no console pins).
        shown = raw.execute("SELECT current_setting(%s) AS v", (name,)).fetchone()
        assert shown is not None
        assert shown["v"].replace(" ", "") == SETTINGS[name].replace(" ", "")
        images = audit_rows(dsn, run_id=applied.run_id)[0]["before_images"]
        current = sql.SQL(other.catalog.query("actions.undo_current").sql).format(
            sql.Identifier("public", "broadcast_quotas"), sql.Identifier("id"))
        found = raw.execute(current, {"images": json.dumps(images)}).fetchall()
        assert found and all(r["unchanged"] for r in found)
    _, undone = run_action(other, "undo", {"audit_id": applied.audit_ids[0], "whole_run": True})
    assert undone.affected == applied.affected and undone.skipped == 0
    assert scalar(dsn, table) == original


@pytest.fixture
def slow_second_batch(planted: tuple[str, dict[str, int]]) -> tuple[str, int]:
    """(dsn, linkable count): the 5th linkable delivery makes its UPDATE sleep 30 s."""
    dsn, _ = planted
    fifth = scalar(dsn, """SELECT d.id FROM public.message_deliveries d JOIN public.event_guests g
        ON g.id = d.guest_id WHERE d.user_id IS NULL AND g.user_id IS NOT NULL
        AND g.removed_at IS NULL ORDER BY d.id OFFSET 4 LIMIT 1""")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"""CREATE FUNCTION public.opsconsole_test_slow() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN
              IF NEW.id = '{fifth}' THEN PERFORM pg_sleep(30); END IF; RETURN NEW; END $$;
            CREATE TRIGGER opsconsole_test_slow BEFORE UPDATE ON public.message_deliveries
              FOR EACH ROW EXECUTE FUNCTION public.opsconsole_test_slow()""")
    count = scalar(dsn, """SELECT count(*) FROM public.message_deliveries d
        JOIN public.event_guests g ON g.id = d.guest_id WHERE d.user_id IS NULL
        AND g.user_id IS NOT NULL AND g.removed_at IS NULL""")
    return dsn, int(count)


def wait_for_sleep(dsn: str) -> None:
    """Until the action's backend sleeps in the trigger (bounded; each probe is a query)."""
    probe = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsconsole action'"
             " AND wait_event = 'PgSleep'")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(20_000):
            row = conn.execute(probe).fetchone()
            if row and row[0]:
                return
    raise AssertionError("the second batch never started")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_second_ctrl_c_interrupts_the_batch_and_still_reports_what_committed(
    slow_second_batch: tuple[str, int], audit_file: Path, fmt: str
) -> None:
    dsn, count = slow_second_batch
    env = {**os.environ, "OPSCONSOLE_AUDIT_FILE": str(audit_file)}
    exe = Path(sys.executable).parent / "opsconsole"
    proc = subprocess.Popen(
        [str(exe), "--dsn", dsn, "action", "backfill-all", "--batch-size", "4", "--yes",
         "--expect", str(count), "--allow-writes", "--format", fmt],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        assert proc.stderr is not None
        assert "batch 1/" in proc.stderr.readline()
        wait_for_sleep(dsn)
        proc.send_signal(signal.SIGINT)
        assert "stopping after the current batch" in proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 5, err
    assert "Traceback" not in err
    report = json.loads(out.strip().splitlines()[-1]) if fmt == "json" else None
    text = report["message"] if report else out
    run_id = (report or {}).get("run_id") or text.split("(run ", 1)[1].split(",")[0]
    audit = audit_rows(dsn, run_id=run_id)
    assert [a["batch_no"] for a in audit] == [1]
    assert "interrupted" in text and "committed: 1 batches, 4 rows" in text
    assert f"audit id {audit[0]['id']}" in text
    if report:
        assert report["status"] == "aborted" and report["batches"] == 1
        assert report["audit_ids"] == [audit[0]["id"]] and report["affected"] == 4
    left = scalar(dsn, """SELECT count(*) FROM public.message_deliveries d
        JOIN public.event_guests g ON g.id = d.guest_id WHERE d.user_id IS NULL
        AND g.user_id IS NOT NULL AND g.removed_at IS NULL""")
    assert left == count - 4  # batch 1 committed; batch 2 was rolled back


def test_a_full_disk_warns_once_and_the_trail_holds_the_truth(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn, _ = planted
    monkeypatch.setenv("OPSCONSOLE_AUDIT_FILE", "/dev/full")
    n = run_cli(capsys, dsn, "reset-quotas", "--dry-run")[1]["previewed"]
    code, out, err = run_cli(capsys, dsn, "reset-quotas", "--batch-size", "1", "--yes",
                             "--expect", str(n), "--allow-writes")
    assert code == 0 and out["batches"] == n > 1
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "/dev/full cannot be written" in warnings[0]
    assert "opsconsole.audit_log holds the record of truth" in warnings[0]
    assert out["values"]["audit_file_warning"] in warnings[0]
    assert len(audit_rows(dsn, run_id=out["run_id"])) == n


def test_an_unwritable_audit_file_is_found_before_the_first_batch(
    planted: tuple[str, dict[str, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, audit_file: Path,
) -> None:
    dsn, _ = planted
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("OPSCONSOLE_AUDIT_FILE", str(tmp_path / "not-a-dir" / "audit.jsonl"))
    n = run_cli(capsys, dsn, "reset-quotas", "--dry-run")[1]["previewed"]
    code, out, err = run_cli(capsys, dsn, "reset-quotas", "--yes", "--expect", str(n),
                             "--allow-writes")
    assert code == 0 and "cannot be written" in out["values"]["audit_file_warning"]
    assert err.count("warning") == 1


def test_a_line_cut_short_is_never_glued_to_the_next(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    audit_file.write_text('{"cut": "by a full disk')
    _, result = run_action(make_ctx(dsn, audit_file), "reset-quotas", {}, batch_size=1)
    lines = audit_file.read_text().splitlines()
    assert lines[0] == '{"cut": "by a full disk'
    assert [json.loads(ln)["audit_id"] for ln in lines[1:]] == result.audit_ids


def test_a_lost_connection_during_the_preview_is_one_line(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    with open_session(ctx) as session:
        action = engine.define(session, ctx, "reset-quotas")
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (session.conn.info.backend_pid,))
        with pytest.raises(ConnectionFailed, match="lost the connection") as caught:
            engine.prepare(session, ctx, action, action.parse({}), batch_size=10)
    assert "\n" not in caught.value.message and "nothing written" in caught.value.message


def test_json_is_printed_on_bad_input_and_an_unreachable_server(
    capsys: pytest.CaptureFixture[str], audit_file: Path
) -> None:
    code = cli_main(["--dsn", "postgresql://nobody@127.0.0.1:1/x", "action", "reset-quotas",
                     "--dry-run", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 3 and json.loads(out)["status"] == "cannot-connect"
    assert len(err.strip().splitlines()) == 1
    code = cli_main(["action", "no-such-action", "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 2 and json.loads(out)["status"] == "bad-input"
