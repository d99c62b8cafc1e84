"""Acting from where the engineer stands: replay one job from its drill-down, previews and the
undo dialog show the values they bind, the Audit screen marks undone entries and follows the
newest row, ``r`` shows a change made in the database, the header ticks under a dialog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from textual.pilot import Pilot
from textual.widgets import Input, Static

from opsconsole import catalog
from opsconsole.connection import config
from opsconsole.tui.action_dialog import ActionDialog
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.dialogs.row import RowDetail
from opsconsole.tui.screens.base import DrillScreen
from opsconsole.tui.settings import ConsoleSettings
from opsconsole.tui.widgets.header import HeaderBar
from tests.conftest import ANCHOR
from tests.test_tui_support import drive, make_app, panel, screen_text, settle

WIDE = (120, 40)  # these tests read the whole dialog





def dialog_text(dialog: ActionDialog, selector: str) -> str:
    return str(dialog.query_one(selector, Static).render())


async def apply_shown(pilot: Pilot[Any], dialog: ActionDialog) -> None:
    """Type the previewed count and apply."""
    assert dialog.preview is not None, dialog_text(dialog, "#action-status")
    box = dialog.query_one("#action-confirm", Input)
    box.value = str(dialog.preview.count)
    box.focus()
    await pilot.press("enter")
    await settle(pilot)


def test_replay_one_job_from_its_error_groups_drill_down(
    planted: tuple[str, dict[str, int]], audit_file: Any
) -> None:
    dsn, _ = planted

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w", "3")
        await settle(pilot)
        await pilot.press("enter")  # the biggest error group: its failed jobs
        await settle(pilot)
        assert isinstance(app.screen, DrillScreen)
        job = panel(app).selected_row()
        assert job is not None
        assert "y replay-job" in screen_text(app).splitlines()[-1]
        await pilot.press("y")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        assert dialog.action.name == "replay-job"
        assert dialog.preview is not None, dialog_text(dialog, "#action-status")
        assert dialog.preview.count == 1
        assert str(job["id"]) in dialog_text(dialog, "#action-target")
        await apply_shown(pilot, dialog)
        assert dialog.result is not None and dialog.result.affected == 1
        with psycopg.connect(dsn) as conn:
            status = conn.execute("SELECT status FROM public.sms_outbound_jobs WHERE id = %s",
                                  (job["id"],)).fetchone()
        assert status == ("pending",)

    drive(make_app(dsn, writes=True), body, WIDE)


def test_replay_a_group_then_undo_it_from_audit_which_marks_the_original_undone(
    planted: tuple[str, dict[str, int]], audit_file: Any
) -> None:
    dsn, _ = planted

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w", "3", "y")  # the biggest error group
        await settle(pilot)
        replay = app.screen
        assert isinstance(replay, ActionDialog) and replay.preview is not None
        statement = dialog_text(replay, "#action-statement")
        group = str(replay.raw["last_error"])
        assert ":last_error" not in statement and ":ids" not in statement  # filled in
        assert f"'{group[:30]}" in statement
        await apply_shown(pilot, replay)
        replayed = replay.preview.count
        await pilot.press("escape", "9")
        await settle(pilot)
        audit = panel(app)
        newest = audit.selected_row()
        assert newest is not None and newest["action"] == "replay-jobs"
        assert newest["undone_by"] is None
        await pilot.press("u")
        await settle(pilot)
        undo = app.screen
        assert isinstance(undo, ActionDialog) and undo.preview is not None
        entry = newest["id"]
        assert f"Undo audit entry {entry}" in str(undo.query_one("#action-box").border_title)
        count = dialog_text(undo, "#action-count")
        assert f"undoes audit {entry}: replay-jobs applied" in count
        assert f"{replayed} rows" in count and "last_error" in count
        statement = dialog_text(undo, "#action-statement")
        assert ":images" not in statement and '"table": "public.sms_outbound_jobs"' in statement
        await apply_shown(pilot, undo)
        assert undo.result is not None and undo.result.affected == replayed
        await pilot.press("escape")
        await settle(pilot)
        rows = {r["id"]: r for r in audit.rows}
        undone_by = rows[entry]["undone_by"]
        assert undone_by is not None and rows[undone_by]["undo_of"] == entry
        # the newest row (the undo) arrived at the top: the cursor stays on the newest
        assert audit.selected_row() is not None
        assert audit.selected_row()["id"] == undone_by  # type: ignore[index]
        line = next(ln for ln in screen_text(app).splitlines()
                    if ln.lstrip().startswith(f"{entry} "))
        assert f" {undone_by} " in line  # the "undone by" column

    drive(make_app(dsn, writes=True), body, WIDE)


def test_audit_row_detail_shows_the_parameters_whole(
    planted: tuple[str, dict[str, int]], audit_file: Any
) -> None:
    dsn, _ = planted
    long_error = "x" * 30 + " a long error that the table cuts " + "y" * 60
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE public.sms_outbound_jobs SET last_error = %s WHERE id = "
                     "(SELECT id FROM public.sms_outbound_jobs WHERE status = 'failed' "
                     "ORDER BY id LIMIT 1)", (long_error,))

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w")
        await app.run_action("open_action('jobs', 'replay-jobs')")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        if dialog.raw.get("last_error") != long_error:  # choose the group of the long error
            await pilot.press("escape")
            await settle(pilot)
            app.screen.apply_filter("a long error")  # type: ignore[attr-defined]
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, ActionDialog)
        assert dialog.raw.get("last_error") == long_error
        await apply_shown(pilot, dialog)
        assert dialog.result is not None and dialog.result.affected == 1
        await pilot.press("escape", "9")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RowDetail), app.screen
        squeezed = "".join(screen_text(app).replace("│", "").split())  # wrapped in its box
        assert "".join(long_error.split()) in squeezed  # whole, not cut

    drive(make_app(dsn, writes=True), body, WIDE)


def test_r_shows_a_change_made_in_the_database_in_slow_checks_and_the_table(
    fresh_seeded_dsn: str,
) -> None:
    dsn = fresh_seeded_dsn

    def failed() -> float | None:
        result = next(r for r in app.results if r.id == "jobs.status_breakdown")
        return result.value

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3")
        await settle(pilot)
        before = failed()
        group = panel(app).rows[0]
        assert before is not None
        with psycopg.connect(dsn, autocommit=True) as conn:  # another session fixes one job
            conn.execute("UPDATE public.sms_outbound_jobs SET status = 'sent' WHERE id = "
                         "(SELECT id FROM public.sms_outbound_jobs WHERE status = 'failed' "
                         "AND coalesce(last_error, '') = %s LIMIT 1)", (group["id"],))
        await pilot.press("r")
        await settle(pilot)
        assert failed() == before - 1  # a 300 s cadence check, refreshed by r
        after = next(r for r in panel(app).rows if r["id"] == group["id"])
        assert after["jobs"] == group["jobs"] - 1  # and the table reloaded

    app = make_app(dsn)
    drive(app, body, WIDE)


def test_the_header_keeps_ticking_while_a_dialog_is_open(seeded_dsn: str) -> None:
    now = [ANCHOR]

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("9")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert app.screen.is_modal
        header = app.screen_stack[0].query_one(HeaderBar)
        before = header.render_text()
        now[0] = ANCHOR + timedelta(minutes=7)
        app._tick()  # what the once-a-second timer runs
        await pilot.pause()
        after = header.render_text()
        assert after != before and "7m" in after
        assert "7m" in screen_text(app).splitlines()[1]  # on screen, above the dialog

    profile = config.Profile(name="test", environment="dev")
    resolved = config.Resolved(seeded_dsn, "test", profile, config.Defaults())
    app = OpsConsoleApp(resolved, catalog.load(), ConsoleSettings.quiet(lambda: now[0]))
    drive(app, body, WIDE)
