"""Guards and faults: two sessions, the server stopped mid-run, a SELECT-only role, a read-only
session, no audit table, writes off, a production profile. Nothing may be written that the
result does not report exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from opsconsole.actions.model import Progress, Result
from opsconsole.cli import main as cli_main
from tests.conftest import PgServer
from tests.test_actions_engine import inconsistency, user_ids
from tests.test_actions_support import (
    ERR_A,
    G_LINKED,
    LINKUP_LOCKED,
    U1,
    audit_rows,
    make_ctx,
    run_action,
    run_cli,
    scalar,
)

LOCK_SQL = "SELECT pg_advisory_lock(hashtext('opsconsole:' || %s))"


def fingerprint(dsn: str) -> tuple[Any, ...]:
    """A digest of every table an action can write, and the audit log."""
    tables = ["public.message_deliveries", "public.sms_outbound_jobs", "public.feature_flags",
              "public.linkup_coordination_messages", "public.reported_messages",
              "public.messages", "public.broadcast_quotas", "opsconsole.audit_log"]
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for t in tables:
            q = sql.SQL("SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), ''))"
                        " FROM {} x").format(sql.Identifier(*t.split(".")))
            row = conn.execute(q).fetchone()
            out.append(row[0] if row else None)
        row = conn.execute("SELECT string_agg(tgname::text || tgenabled::text, ',' ORDER BY tgname)"
                           " FROM pg_trigger WHERE NOT tgisinternal").fetchone()
        out.append(row[0] if row else None)
    return tuple(out)


def all_actions(reports: dict[str, int], audit_id: int) -> list[list[str]]:
    return [
        ["backfill-guest", "--guest-id", G_LINKED, "--user-id", U1],
        ["backfill-all"],
        ["replay-jobs", "--last-error", ERR_A],
        ["reenqueue-coordination", "--linkup-id", LINKUP_LOCKED],
        ["set-flag", "--name", "opsconsole_test_flag", "--on"],
        ["set-trigger", "--name", "trigger_message_deliveries_auto_link_user", "--disable"],
        ["resolve-report", "--report-id", str(reports["r1"]), "--uphold"],
        ["reset-quotas"],
        ["undo", str(audit_id)],
    ]


def expected_count(capsys: pytest.CaptureFixture[str], dsn: str, args: list[str]) -> int:
    code, out, _ = run_cli(capsys, dsn, *args, "--dry-run")
    assert code == 0, out
    return int(out["previewed"])


def test_held_advisory_lock_refuses_already_running(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, _ = planted
    before = fingerprint(dsn)
    with psycopg.connect(dsn, autocommit=True) as other:
        other.execute(LOCK_SQL, ("replay-jobs",))
        code, out, err = run_cli(capsys, dsn, "replay-jobs", "--last-error", ERR_A,
                                 "--yes", "--expect", "3", "--allow-writes")
        assert code == 4 and out["status"] == "refused"
        assert "already running in another session" in err
        assert fingerprint(dsn) == before
    code, out, _ = run_cli(capsys, dsn, "replay-jobs", "--last-error", ERR_A,
                           "--yes", "--expect", "3", "--allow-writes")
    assert code == 0 and out["affected"] == 3


def test_two_consoles_start_the_same_action_one_applies_one_is_refused(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    second: list[Result] = []

    def start_second_console(progress: Progress) -> None:
        if progress.batch_no == 1:  # the first console is mid-run, between batches
            second.append(run_action(make_ctx(dsn, audit_file), "backfill-all", {},
                                     batch_size=3)[1])

    preview, first = run_action(ctx, "backfill-all", {}, batch_size=3,
                                on_progress=start_second_console)
    assert first.status == "applied" and first.affected == preview.count
    assert second[0].status == "refused" and second[0].exit_code == 4
    assert "already running in another session" in second[0].message
    assert second[0].audit_ids == [] and audit_rows(dsn, run_id=second[0].run_id) == []


@pytest.fixture
def restart(own_server: PgServer) -> Iterator[PgServer]:
    """The server of this process's own (conftest.own_server), running again afterwards."""
    pg_server = own_server
    if pg_server.embedded is None:
        pytest.skip("stops the server: only on the embedded server (OPSCONSOLE_TEST_DSN is set)")
    try:
        yield pg_server
    finally:
        pg_server.embedded.handle.ensure_postgres_running()


@pytest.mark.slow
def test_server_stopped_mid_backfill_reports_exactly_what_committed(
    restart: PgServer, own_planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = own_planted
    assert restart.embedded is not None
    ctx = make_ctx(dsn, audit_file)
    before = user_ids(dsn)

    def stop_after_batch_2(progress: Progress) -> None:
        if progress.batch_no == 2:
            assert restart.embedded is not None
            restart.embedded.pg_ctl("stop", "-m", "fast")

    try:
        preview, result = run_action(ctx, "backfill-all", {}, batch_size=4,
                                     on_progress=stop_after_batch_2)
    finally:
        restart.embedded.handle.ensure_postgres_running()
    assert len(preview.batches) > 2
    assert result.status == "aborted" and result.exit_code == 5
    assert result.batches == 2 and result.affected == 8 and len(result.audit_ids) == 2
    assert "database failure" in result.message and "committed: 2 batches, 8 rows" in result.message

    audit = audit_rows(dsn, run_id=result.run_id)
    assert [a["id"] for a in audit] == result.audit_ids
    assert [a["affected"] for a in audit] == [4, 4]
    changed = {k for k, v in user_ids(dsn).items() if v != before[k]}
    assert changed == {i["key"]["id"] for a in audit for i in a["before_images"]
                       if i["table"] == "public.message_deliveries"}
    assert changed == set(preview.keys[:8])

    rest, rerun = run_action(ctx, "backfill-all", {}, batch_size=4)
    assert rest.count == preview.count - 8 and rerun.affected == rest.count
    assert inconsistency(dsn).value == 0


@pytest.fixture
def select_only(planted: tuple[str, dict[str, int]]) -> Iterator[tuple[str, str]]:
    """(admin dsn, dsn of a LOGIN role that may only SELECT)."""
    dsn, _ = planted
    role = f"opsconsole_ro_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        # BYPASSRLS: this role tests the privilege guard alone (test_actions_rls.py: RLS).
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS").format(sql.Identifier(role)))
        for schema in ("public", "auth", "opsconsole", "core", "communication"):
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1};"
                                 " GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}").format(
                sql.Identifier(schema), sql.Identifier(role)))
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["user"] = role
    try:
        yield dsn, psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(role)))


def test_select_only_role_is_refused_every_action_and_nothing_is_written(
    planted: tuple[str, dict[str, int]], audit_file: Path, select_only: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin, readonly = select_only
    _, reports = planted
    _, done = run_cli(capsys, admin, "set-flag", "--name", "opsconsole_test_flag", "--on",
                      "--yes", "--expect", "1", "--allow-writes")[:2]
    before = fingerprint(admin)
    for args in all_actions(reports, done["audit_ids"][0]):
        n = expected_count(capsys, readonly, args)
        code, out, err = run_cli(capsys, readonly, *args, "--yes", "--expect", str(n),
                                 "--allow-writes")
        if n == 0:  # e.g. a flag already as asked: nothing to refuse, nothing written
            assert code == 0 and out["status"] == "nothing-to-do", args
            continue
        assert code == 4 and out["status"] == "refused", (args, err)
        assert "lacks" in err and "opsconsole_ro_" in err, err
    assert fingerprint(admin) == before


def test_read_only_session_is_refused(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, _ = planted
    dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
            sql.Identifier(str(dbname))))
    before = fingerprint(dsn)
    code, _, err = run_cli(capsys, dsn, "reset-quotas", "--yes", "--expect", "1",
                           "--allow-writes")
    assert code == 4 and "read-only" in err
    assert fingerprint(dsn) == before


def test_writes_off_and_missing_audit_table_are_refused(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, _ = planted
    n = expected_count(capsys, dsn, ["reset-quotas"])
    code, _, err = run_cli(capsys, dsn, "reset-quotas", "--yes", "--expect", str(n))
    assert code == 4 and "writes are off" in err
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE opsconsole.audit_log CASCADE")
    before = fingerprint_without_audit(dsn)
    code, _, err = run_cli(capsys, dsn, "reset-quotas", "--yes", "--expect", str(n),
                           "--allow-writes")
    assert code == 4 and "opsconsole.audit_log does not exist" in err
    assert fingerprint_without_audit(dsn) == before


def fingerprint_without_audit(dsn: str) -> Any:
    return scalar(dsn, "SELECT md5(string_agg(q::text, ',' ORDER BY q.id))"
                       " FROM public.broadcast_quotas q")


def test_production_profile_needs_the_environment_name(
    planted: tuple[str, dict[str, int]], audit_file: Path, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn, _ = planted
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.prod]\ndsn = "{dsn}"\nenvironment = "production"\nwrites = true\n'
    )
    monkeypatch.setenv("OPSCONSOLE_CONFIG", str(config))
    args = ["reset-quotas", "--yes"]
    n = expected_count(capsys, dsn, ["reset-quotas"])
    before = fingerprint(dsn)
    code = cli_main(["--profile", "prod", "action", *args, "--expect", str(n)])
    err = capsys.readouterr().err
    assert code == 4 and "--confirm-env production" in err
    code = cli_main(["--profile", "prod", "action", *args, "--expect", str(n),
                     "--confirm-env", "staging"])
    assert code == 4
    assert fingerprint(dsn) == before
    code = cli_main(["--profile", "prod", "action", *args, "--expect", str(n),
                     "--confirm-env", "production", "--format", "json"])
    assert code == 0
    assert audit_rows(dsn)[-1]["profile"] == "prod"
