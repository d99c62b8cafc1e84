"""The action dialog at 80x24 in the console: every state shows the count, the target, the
confirmation box (when there is one) and the buttons without scrolling; a refused action shows
its reason and no box and no Apply (snapshots of each state: test_tui_snapshots)."""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from opsconsole.actions.model import Progress
from opsconsole.tui.action_dialog import ActionDialog
from opsconsole.tui.app import OpsConsoleApp
from tests.test_tui_pilot import drive
from tests.test_tui_support import make_app, screen_text, settle, wait_for

ALWAYS = ("#action-target", "#action-count", "#action-status", "#action-cancel")


def dialog(app: OpsConsoleApp) -> ActionDialog:
    screen = app.screen
    assert isinstance(screen, ActionDialog)
    return screen


def shown(app: OpsConsoleApp, selector: str) -> bool:
    """True when the widget is displayed and lies wholly on the 80x24 screen."""
    widget = dialog(app).query_one(selector, Widget)
    screen = Region(0, 0, *app.size)
    return bool(widget.display and widget.region and screen.contains_region(widget.region))


def assert_state(app: OpsConsoleApp, state: str, *, box: bool) -> None:
    assert dialog(app).state == state
    for selector in ALWAYS:
        assert shown(app, selector), (state, selector)
    for selector in ("#action-confirm", "#action-apply"):
        assert shown(app, selector) is box, (state, selector)


async def open_replay(pilot: Pilot[Any], *keys: str) -> None:
    for key in (*keys, "3", "y"):
        await pilot.press(key)
        await settle(pilot)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ActionDialog))
    await settle(pilot)


def test_confirm_applying_and_done_show_what_the_engineer_must_see(fresh_seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await open_replay(pilot, "w")
        assert_state(app, "confirm", box=True)
        text = screen_text(app)
        assert "126 rows would change" in text and "acts on" in text and "Twilio 30003" in text
        preview = dialog(app).preview
        assert preview is not None
        dialog(app).show_applying(preview, Progress(1, 3, 50, 126, 1))
        await pilot.pause()
        assert_state(app, "applying", box=False)
        assert shown(app, "#action-progress")
        assert "batch 1/3 committed: 50 of 126 rows" in screen_text(app)
        dialog(app).state = "confirm"  # back to the real flow
        confirm = dialog(app).query_one("#action-confirm", Input)
        confirm.value = "126"
        confirm.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog(app).result is not None)
        await settle(pilot)
        assert_state(app, "done", box=False)
        assert "applied 126 of 126" in screen_text(app)

    drive(make_app(fresh_seeded_dsn, writes=True), body)


def test_refused_shows_its_reason_and_no_box_and_no_apply(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await open_replay(pilot)  # write mode is off
        assert_state(app, "refused", box=False)
        text = screen_text(app)
        assert "refused: replay-jobs: writes are off" in text
        assert "Apply" not in text and "to confirm" not in text
        await pilot.press("enter")  # the focused Close
        await settle(pilot)
        assert not isinstance(app.screen, ActionDialog)

    drive(make_app(seeded_dsn, writes=True), body)


def test_choose_shows_the_choices_the_target_and_cancel(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        for key in ("w", "5", "v"):
            await pilot.press(key)
            await settle(pilot)
        assert_state(app, "choose", box=False)
        assert shown(app, "#choice-0") and shown(app, "#choice-1")
        assert "acts on  report_id 4952" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ActionDialog)

    drive(make_app(seeded_dsn, writes=True), body)
