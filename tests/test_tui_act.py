"""Acting from where the engineer stands: replay one job from its drill-down, previews and the
undo dialog show the values they bind, the Audit screen marks undone entries and follows the
newest row, ``r`` shows a change made in the database, the header ticks under a dialog."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import psycopg
from textual.pilot import Pilot
from textual.widgets import Input, Static

from opsconsole.tui.action_dialog import ActionDialog
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.screens.base import DrillScreen
from opsconsole.tui.widgets.table import TablePanel
from tests.test_actions_support import audit_file, planted
from tests.test_tui_support import make_app, screen_text, settle, wait_for

__all__ = ["audit_file", "planted"]  # fixtures

Body = Callable[[Pilot[Any], OpsConsoleApp], Awaitable[None]]


def drive(app: OpsConsoleApp, body: Body, size: tuple[int, int] = (120, 40)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await body(pilot, app)

    asyncio.run(main())


def panel(app: OpsConsoleApp) -> TablePanel:
    found = app.screen.active_panel()  # type: ignore[attr-defined]
    assert found is not None
    return found


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

    drive(make_app(dsn, writes=True), body)
