"""One describer for every database failure (``db.describe_error``): the server's message and
hint, where the query is written, timeouts and a lost connection named; hostile text made inert
and passwords masked, on errors a real PostgreSQL raises."""

from __future__ import annotations

import psycopg
import pytest

from opsconsole.connection import db

ESC, BEL = "\x1b", "\x07"
HOSTILE = "DO $$ BEGIN RAISE EXCEPTION '%', E'\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07[red]evil[/red]\\nline two' " \
          "USING HINT = E'\\x1b[31mhint\\u202e text'; END $$"


def error_of(dsn: str, statement: str, **connect: object) -> psycopg.Error:
    with (psycopg.connect(dsn, autocommit=True, **connect) as conn,  # type: ignore[arg-type]
          pytest.raises(psycopg.Error) as info):
        conn.execute(statement.encode())
    return info.value


def inert(line: str) -> None:
    assert "\n" not in line and "\r" not in line
    assert ESC not in line and BEL not in line and "\u202e" not in line


def test_hostile_text_in_the_servers_message_and_hint_is_inert(seeded_dsn: str) -> None:
    line = db.describe_error(error_of(seeded_dsn, HOSTILE))
    inert(line)
    assert "[red]evil[/red]" in line and "line two" in line  # the text itself is kept
    assert "(hint: " in line and "hint" in line.split("(hint: ", 1)[1]


def test_a_password_the_error_quotes_is_masked(seeded_dsn: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(seeded_dsn)
    params["password"] = "hunter2-secret"
    with_password = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    exc = error_of(seeded_dsn, "SELECT 'hunter2-secret'::int")
    assert "hunter2-secret" in str(exc)  # the server does quote it
    line = db.describe_error(exc, dsn=with_password)
    assert "hunter2" not in line and "secret" not in line
    assert line.startswith("invalid input syntax for type integer")


def test_a_dsn_password_in_any_error_text_is_masked_without_knowing_the_dsn() -> None:
    for text in ("could not connect: host=db password=hunter2-secret user=ops",
                 "could not connect: password = 'hunter2 secret' user=ops",
                 "dblink: postgresql://ops:hunter2-secret@db.internal:5432/app failed"):
        line = db.describe_error(psycopg.OperationalError(text))
        assert "hunter2" not in line and "secret" not in line, line
        assert line.startswith("connection lost: ")


def test_a_connect_failure_names_the_target_never_the_password(tmp_path) -> None:
    dsn = f"postgresql://ops:hunter2-secret@/app?host={tmp_path}"
    with pytest.raises(Exception) as info:
        db.connect(dsn)
    assert str(info.value).startswith("cannot connect to ops@")
    assert "hunter2" not in str(info.value) and "(no server on that socket)" in str(info.value)


def test_the_servers_message_hint_and_where_to_adapt_the_query(seeded_dsn: str) -> None:
    exc = error_of(seeded_dsn, "SELECT last_eror FROM public.sms_outbound_jobs")
    line = db.describe_error(exc, location="queries/jobs.sql:6")
    assert line.startswith('column "last_eror" does not exist (hint: Perhaps you meant')
    assert "sms_outbound_jobs.last_error" in line and line.endswith(": adapt queries/jobs.sql:6")
    line = db.describe_error(error_of(seeded_dsn, "SELECT 1 / 0"), location="queries/x.sql:3")
    assert line == "division by zero (queries/x.sql:3)"  # not the query's text to adapt
    assert db.describe_error(error_of(seeded_dsn, "SELECT 1 / 0")) == "division by zero"


def test_statement_and_lock_timeouts_are_named(seeded_dsn: str) -> None:
    slow = error_of(seeded_dsn, "SELECT pg_sleep(5)", options="-c statement_timeout=50")
    assert db.describe_error(slow).startswith("timed out (statement_timeout): ")
    with psycopg.connect(seeded_dsn) as holder:
        holder.execute("LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE")
        locked = error_of(seeded_dsn, "SELECT * FROM public.feature_flags",
                          options="-c lock_timeout=50")
        holder.rollback()
    assert db.describe_error(locked).startswith("timed out waiting for a lock (lock_timeout): ")


def test_a_lost_connection_is_named(seeded_dsn: str) -> None:
    with (psycopg.connect(seeded_dsn, autocommit=True) as conn,
          pytest.raises(psycopg.OperationalError) as info):
        conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    line = db.describe_error(info.value)
    assert line.startswith("connection lost: ")
    inert(line)
