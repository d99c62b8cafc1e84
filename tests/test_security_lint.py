"""The SECURITY DEFINER lint says what an attacker can reach (issue 10 item 5, seed 003): graded
by who can call each function, with per function what is wrong and how to fix it."""

from __future__ import annotations

import psycopg
import pytest

from opsconsole import catalog, checks
from opsconsole.checks import tables
from opsconsole.connection import db

AUTH = """
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
"""


def _definer(name: str, body: str, *, path: bool = True, returns: str = "integer") -> str:
    fixed = "SET search_path = public, pg_temp" if path else ""
    return (f"CREATE FUNCTION public.{name}(p_user_id uuid) RETURNS {returns} LANGUAGE plpgsql "
            f"SECURITY DEFINER {fixed} AS $$ BEGIN {body} RETURN 1; END $$;")


def _trigger(name: str) -> str:
    return (f"CREATE FUNCTION public.{name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
            "SET search_path = public, pg_temp AS $$ BEGIN RETURN NEW; END $$;")


def _only(name: str, role: str, args: str = "uuid") -> str:
    return (f"REVOKE EXECUTE ON FUNCTION public.{name}({args}) FROM PUBLIC; "
            f"GRANT EXECUTE ON FUNCTION public.{name}({args}) TO {role};")


SAFE = "IF auth.uid() IS NULL OR p_user_id IS DISTINCT FROM auth.uid() THEN RETURN 0; END IF;"
UNSAFE = "IF p_user_id != auth.uid() THEN RETURN 0; END IF;"  # seed 003's guard

# 32 SECURITY DEFINER functions: 19 only service_role can execute (3 with a mutable
# search_path), 5 triggers (EXECUTE left to PUBLIC, no guard), 6 guarded NULL-safely for
# authenticated, and two an attacker reaches: seed 003's NULL-unsafe guard granted to
# authenticated, and one without any guard that PUBLIC may execute.
FUNCTIONS = [
    *[_definer(f"svc_{i:02}", "PERFORM 1;", path=i >= 3) + _only(f"svc_{i:02}", "service_role")
      for i in range(19)],
    *[_trigger(f"trg_{i}") for i in range(5)],
    *[_definer(f"safe_{i}", SAFE) + _only(f"safe_{i}", "authenticated") for i in range(6)],
    _definer("unsafe_guard", UNSAFE) + _only("unsafe_guard", "authenticated"),
    _definer("no_guard", "PERFORM 1;"),
]


@pytest.fixture
def lint_dsn(empty_dsn: str, template_db: str) -> str:
    """A database holding only the 32 functions (template_db: the API roles exist)."""
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute(AUTH)
        for statement in FUNCTIONS:
            conn.execute(statement.encode())
    return empty_dsn


def test_findings_are_graded_by_who_can_call_the_function(lint_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(lint_dsn) as conn:
        (result,) = checks.run_all(conn, cat, only=["schema.security_definer"])
        page = tables.fetch_page(conn, cat, None, cat.tables()["schema.definer_lint"], limit=40)
    assert result.status is checks.Status.CRITICAL
    assert result.summary.startswith("2 critical, 3 warning of 32 SECURITY DEFINER functions")
    assert page.error is None and len(page.rows) == 32
    rows = {r["id"]: r for r in page.rows}
    assert [r["grade"] for r in page.rows[:5]] == ["CRITICAL"] * 2 + ["WARNING"] * 3
    unsafe = rows["unsafe_guard(uuid)"]
    assert unsafe["callable_by"] == "authenticated"
    assert "NULL-unsafe guard" in unsafe["problem"]
    assert "IS DISTINCT FROM auth.uid()" in unsafe["fix"]
    no_guard = rows["no_guard(uuid)"]
    assert no_guard["callable_by"] == "PUBLIC (everyone)"
    assert no_guard["problem"].startswith("no auth.uid() guard")
    assert "REVOKE EXECUTE ON FUNCTION no_guard(uuid) FROM PUBLIC, anon, authenticated" in \
        no_guard["fix"]
    # service_role only: no guard needed; a mutable search_path is a warning with its fix
    assert rows["svc_10(uuid)"] == {**rows["svc_10(uuid)"], "grade": "OK",
                                    "callable_by": "service_role", "problem": "", "fix": ""}
    assert rows["svc_00(uuid)"]["grade"] == "WARNING"
    assert rows["svc_00(uuid)"]["fix"] == ("ALTER FUNCTION svc_00(uuid) SET search_path = "
                                           "public, pg_temp")
    # triggers are not callable: no guard finding, though PUBLIC holds EXECUTE
    assert rows["trg_0()"]["grade"] == "OK"
    assert rows["trg_0()"]["callable_by"] == "trigger (not callable)"
    assert rows["safe_0(uuid)"]["grade"] == "OK"


def test_the_demo_keeps_seed_003s_null_unsafe_guard_as_a_real_finding(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        (result,) = checks.run_all(conn, cat, only=["schema.security_definer"])
        page = tables.fetch_page(conn, cat, None, cat.tables()["schema.definer_lint"])
    assert result.status is checks.Status.CRITICAL
    assert result.values["null_unsafe_guards"] == 3
    critical = {r["id"] for r in page.rows if r["grade"] == "CRITICAL"}
    assert critical == {"create_conversation_atomic(uuid,uuid,text)",
                        "send_message_v2(uuid,uuid,text)", "get_conversation_v2(uuid,uuid)"}


def test_keyset_pages_of_the_lint_cover_every_function_once(lint_dsn: str) -> None:
    cat = catalog.load()
    spec = cat.tables()["schema.definer_lint"]
    seen: list[str] = []
    cursor = None
    with db.connect(lint_dsn) as conn:
        while True:
            page = tables.fetch_page(conn, cat, None, spec, cursor=cursor, limit=7)
            assert page.error is None
            seen += [r["id"] for r in page.rows]
            if page.next is None:
                break
            cursor = page.next
    assert len(seen) == len(set(seen)) == 32
