"""The console on a partial schema, across a server restart, and when a worker raises (real
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from textual.pilot import Pilot

from opsconsole import checks
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.screens.spec import SpecScreen
from tests.conftest import PgServer
from tests.test_tui_pilot import drive, panel
from tests.test_tui_support import make_app, notices, screen_text, settle

MODERATION_ONLY = """
CREATE TABLE public.messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sender_id uuid NOT NULL DEFAULT gen_random_uuid(),
    content text NOT NULL,
    is_deleted boolean NOT NULL DEFAULT false,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.reported_messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id uuid NOT NULL REFERENCES public.messages(id),
    reason text NOT NULL,
    report_status text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL
);
WITH m AS (INSERT INTO public.messages (content) VALUES ('hello [b]there[/b]') RETURNING id)
INSERT INTO public.reported_messages (message_id, reason, created_at)
SELECT id, 'spam', '2026-11-20 10:00+00' FROM m;
"""


@pytest.fixture
def moderation_only_dsn(empty_dsn: str) -> str:
    """A database holding only the moderation tables (messages, reported_messages)."""
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute(MODERATION_ONLY.encode())
    return empty_dsn


def test_one_subsystem_other_screens_say_not_installed(moderation_only_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        assert "not installed: relation public.sms_outbound_jobs" in screen_text(app) or any(
            "not installed: relation" in r.summary for r in app.results
        )
        for spec in app.catalog.screens:
            if not spec.key:
                continue
            await pilot.press(spec.key)
            await settle(pilot)
            assert isinstance(app.screen, SpecScreen)
            text = screen_text(app)
            if spec.id == "moderation":
                table = panel(app)
                assert table.error is None and len(table.rows) == 1
                assert "hello [b]there[/b]" in text
                assert "pending" in text
            elif spec.id not in ("schema", "connection"):  # these need no subsystem
                assert "not installed: relation" in text, spec.id

    drive(make_app(moderation_only_dsn), body, size=(120, 40))


def test_overview_puts_not_installed_checks_last(moderation_only_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        lines = screen_text(app).splitlines()
        assert "RLS on messages" in lines[4]  # CRITICAL: no RLS in this database

        def first(needle: str) -> int:
            return next(i for i, line in enumerate(lines) if needle in line)

        # a WARNING of the installed subsystem comes before any check of an absent one
        assert first("Pending reports") < first("relation public.sms_outbound_jobs")
        absent = [c.id for s, c in app.catalog.checks()  # schema.migrations, structure too
                  if (c.subsystem or s.subsystem) not in ("moderation", "server")]
        assert "schema.migrations" in absent and len(absent) > 19
        assert f"{len(absent)} not installed" in lines[3]

    drive(make_app(moderation_only_dsn), body, size=(120, 40))


@pytest.fixture
def restartable(own_server: PgServer) -> Iterator[tuple[PgServer, str]]:
    """A dedicated database on a server of this process's own (conftest.own_server), which is
    running again afterwards."""
    pg_server = own_server
    if pg_server.embedded is None:
        pytest.skip("stops the server: only on the embedded server (OPSCONSOLE_TEST_DSN is set)")
    name = pg_server.create_database("opsconsole_rc")
    dsn = pg_server.dsn_for(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(MODERATION_ONLY.encode())
    try:
        yield pg_server, dsn
    finally:
        _ensure_running(pg_server)


def _ensure_running(pg_server: PgServer) -> None:
    assert pg_server.embedded is not None
    # Starts postgres again with the same options (socket dir, log) it was first started with.
    pg_server.embedded.handle.ensure_postgres_running()


@pytest.mark.slow
def test_server_restart_shows_reconnecting_then_resumes(
    restartable: tuple[PgServer, str],
) -> None:
    pg_server, dsn = restartable
    assert pg_server.embedded is not None

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("5")
        await settle(pilot)
        before = list(app.results)
        reports = panel(app)
        assert len(reports.rows) == 1
        pg_server.embedded.pg_ctl("stop", "-m", "fast")
        await pilot.press("r")
        await settle(pilot)
        assert app.reconnecting is not None
        text = screen_text(app)
        assert "reconnecting…" in text
        assert list(app.results) == before  # the last data stays on screen
        assert "hello [b]there[/b]" in text and "connection lost" in text
        await pilot.press("r")  # still down: retry fails, nothing crashes
        await settle(pilot)
        assert app.reconnecting is not None
        _ensure_running(pg_server)
        await pilot.press("r")
        await settle(pilot)
        assert app.reconnecting is None
        assert "reconnecting" not in screen_text(app)
        assert reports.error is None and len(reports.rows) == 1

    drive(make_app(dsn), body)


def test_a_worker_that_raises_shows_its_error_and_the_refresh_goes_on(
    seeded_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a lost connection: an exception in the engine (as a deployment's breakdown query
    returning a text count makes ``int()`` raise) or in a table load. Each is shown where its
    result would go, the rest keeps working and the next refresh is armed."""
    broken = {"checks": False, "tables": False}
    real_run_all, real_fetch = checks.run_all, ConsoleContext.fetch_page

    def run_all(*args: Any, **kw: Any) -> Any:
        if broken["checks"]:
            raise ValueError("invalid literal for int() with base 10: 'many'")
        return real_run_all(*args, **kw)

    def fetch_page(self: ConsoleContext, *args: Any, **kw: Any) -> Any:
        if broken["tables"] and args[0].id == "jobs.open":
            raise RuntimeError("boom in a table")
        return real_fetch(self, *args, **kw)

    monkeypatch.setattr(checks, "run_all", run_all)
    monkeypatch.setattr(ConsoleContext, "fetch_page", fetch_page)

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        before = list(app.results)
        broken["checks"] = True
        await pilot.press("r")
        await settle(pilot)
        assert app.refresh_error is not None and "ValueError: invalid literal" in app.refresh_error
        text = screen_text(app)
        assert "refresh failed" in text.splitlines()[1]  # the header
        assert "refresh failed: ValueError: invalid literal" in text  # the check list
        assert list(app.results) == before  # the last results stay
        assert app.auto_refresh_pending  # and the next refresh is armed
        assert any("refresh failed" in n for n in notices(app))
        broken["tables"] = True
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        jobs = panel(app)
        assert jobs.error == "RuntimeError: boom in a table"
        assert "RuntimeError: boom in a table" in screen_text(app)
        await pilot.press("left_square_bracket")  # the other table of the screen still loads
        await settle(pilot)
        assert panel(app).error is None and panel(app).rows
        broken["checks"] = broken["tables"] = False
        await pilot.press("r")
        await settle(pilot)
        assert app.refresh_error is None and "refresh failed" not in screen_text(app)

    drive(make_app(seeded_dsn, auto_refresh=True, refresh_s=3600), body)
