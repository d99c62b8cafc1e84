"""`opsconsole db init|seed` and `demo`: bad input is one line that says what to do, never a
traceback, and never echoes a password."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from opsconsole import cli
from tests.conftest import PgServer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The failure's one line (a password given with --dsn is warned about on its own line)."""
    err = "".join(ln for ln in err.splitlines(keepends=True)
                  if not ln.startswith("opsconsole: warning: the password in --dsn"))
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_init_twice_changes_nothing_the_second_time(empty_dsn: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "init", "--dsn", empty_dsn)
    assert code == 0 and "schema created" in out
    code, out, _ = run(capsys, "db", "init", "--dsn", empty_dsn)
    assert code == 0 and "already initialised" in out and "nothing changed" in out


def test_seed_before_init_says_what_to_run(empty_dsn: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "db", "seed", "--dsn", empty_dsn)
    assert code == 4 and "run `opsconsole db init" in one_line(err)


@pytest.mark.parametrize("scale", ["0", "-3"])
def test_bad_scale_is_refused(empty_dsn: str, scale: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "db", "seed", "--dsn", empty_dsn, "--scale", scale)
    assert code == 2 and "--scale must be between 1 and" in one_line(err)


def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "db", "init", "--dsn", "postgresql://ops:hunter2@127.0.0.1:1/x")
    assert code == 3
    assert "cannot connect to ops@127.0.0.1:1/x (connection refused)" in one_line(err)
    assert "hunter2" not in err


def test_malformed_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "db", "init", "--dsn", "postgresql://ops:hunter2@[bad")
    assert code == 2 and "malformed DSN" in one_line(err) and "hunter2" not in err


def test_role_without_privileges(pg_server: PgServer, empty_dsn: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    role = f"ops_ro_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    dbname = psycopg.conninfo.conninfo_to_dict(empty_dsn)["dbname"]
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM PUBLIC").format(
            sql.Identifier(str(dbname))))
    params = psycopg.conninfo.conninfo_to_dict(empty_dsn)
    params["user"] = role
    code, _, err = run(capsys, "db", "init", "--dsn", psycopg.conninfo.make_conninfo(**params))
    assert code == 5
    assert "cannot create the schema: permission denied" in one_line(err)
    assert "connect as the database owner" in err


def test_wrong_password_is_not_echoed(own_server: PgServer,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    pg_server = own_server  # its pg_hba.conf is this process's to change
    emb = pg_server.embedded
    if emb is None:
        pytest.skip("needs the embedded server (its pg_hba.conf is ours to change)")
    role = f"ops_pw_{uuid.uuid4().hex[:6]}"
    hba = Path(emb.data_dir) / "pg_hba.conf"
    original = hba.read_text()
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'right-one'").format(
            sql.Identifier(role)))
        hba.write_text(f"local all {role} scram-sha-256\n" + original)
        conn.execute("SELECT pg_reload_conf()")
    try:
        params = psycopg.conninfo.conninfo_to_dict(pg_server.admin_dsn)
        params.update(user=role, password="Wr0ng-Secret")
        code, _, err = run(capsys, "db", "init", "--dsn",
                           psycopg.conninfo.make_conninfo(**params))
        assert code == 3
        assert "(password authentication failed)" in one_line(err)
        assert "Wr0ng-Secret" not in err
    finally:
        hba.write_text(original)
        with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")


def test_version_does_not_import_textual() -> None:
    code = ("import sys; from opsconsole import cli\n"
            "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
            "assert 'textual' not in sys.modules, 'textual imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_demo_rejects_bad_scale_before_starting_a_server(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--scale", "-1")
    assert code == 2 and "--scale must be between 1 and" in one_line(err)


def test_console_sessions_run_without_jit(seeded_dsn: str) -> None:
    """JIT compilation costs 20-40 ms per statement on a large database, more than the checks
    take; every console session turns it off, whatever the server's default."""
    from opsconsole.connection import db

    for read_only in (True, False):
        with db.connect(seeded_dsn, read_only=read_only) as conn:
            row = conn.execute("SHOW jit").fetchone()
            assert row is not None and row["jit"] == "off"
