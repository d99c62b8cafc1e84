"""Pilot tests of the console on the seeded demo database (real PostgreSQL, fixed clock).

Each test boots one app (a Textual boot costs); tests that only read the seeded data share the
module's database clone, tests that write get their own.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from opsconsole.tui.action_dialog import ActionDialog
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.dialogs.help import HelpScreen
from opsconsole.tui.dialogs.row import RowDetail
from opsconsole.tui.screens.base import DrillScreen
from opsconsole.tui.screens.overview import OverviewScreen
from opsconsole.tui.screens.spec import SpecScreen
from opsconsole.tui.widgets.checks import ChecksView
from tests.conftest import ANCHOR
from tests.test_tui_support import (
    drive,
    make_app,
    notices,
    panel,
    screen_text,
    settle,
    wait_for,
)


def lines(app: OpsConsoleApp) -> list[str]:
    """The screen's text, one string per terminal row."""
    return screen_text(app).splitlines()


def palette_hit(app: OpsConsoleApp) -> str:
    """The palette's highlighted command ("" while it is still searching)."""
    found = app.screen.query(CommandList)
    if not found or found.first().highlighted is None:
        return ""
    option = found.first().highlighted_option
    return str(option.prompt) if option else ""


async def choose_in_palette(pilot: Pilot[Any], opener: str, typed: str) -> None:
    """Open the palette with ``opener``, type ``typed`` and take the best hit."""
    await pilot.press(opener)
    await wait_for(pilot, lambda: CommandPalette.is_open(pilot.app))
    await pilot.press(*typed)
    # the palette searches in a worker of its own: wait for its best hit, then take it
    await wait_for(pilot, lambda: palette_hit(pilot.app).lower().startswith(typed.lower()))
    await pilot.press("enter")
    await settle(pilot)


def test_starts_on_overview_with_every_check(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        assert isinstance(app.screen, OverviewScreen)
        assert len(app.results) == len(app.catalog.checks())
        text = lines(app)
        assert "read-only" in text[0] and "data 0s old" in text[1]
        assert "CRITICAL" in text[3]

    drive(make_app(seeded_dsn), body)


def test_every_screen_by_key_shows_its_name_on_the_tab_bar_and_its_keys_in_the_footer(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        for entry in app.ctx.screens:
            await pilot.press(entry.key)
            await settle(pilot)
            assert app.screen_id == entry.id
            text = lines(app)
            assert f" {entry.key} {entry.title} " in text[2] + " ", text[2]  # current: whole
            footer = text[-1]
            for ref in entry.spec.actions if entry.spec else []:
                if ref.key:
                    assert f"{ref.key} {ref.name}" in footer, (entry.id, footer)
            assert "? help" in footer
        assert isinstance(app.screen, SpecScreen) and app.screen.spec.id == "connection"
        await pilot.press("1", "tab")
        assert app.screen_id == app.screen_order[1]
        await pilot.press("shift+tab", "shift+tab")
        assert app.screen_id == app.screen_order[-1] == "connection"

    drive(make_app(seeded_dsn), body)


def test_overview_arrows_highlight_a_check_enter_g_opens_its_screen_and_escape_returns(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        view = app.screen.query_one(ChecksView)
        assert view.cursor is None  # nothing highlighted until an arrow is pressed
        worst = view.selected()
        assert worst is not None
        await pilot.press("enter", "g")  # no highlight yet: the worst check's detail, its screen
        await settle(pilot)
        assert app.screen_id == worst.screen
        await pilot.press("escape")  # opened from the Overview: escape goes back to it
        await settle(pilot)
        assert app.screen_id == "overview"
        view = app.screen.query_one(ChecksView)
        shown = view.results
        target = next(i for i, r in enumerate(shown) if r.screen != worst.screen)
        await pilot.press("down", *["j"] * target)
        assert view.cursor == target
        assert "reverse" in str(view.render().rows[target].style)  # type: ignore[attr-defined]
        await pilot.press("up", "down")
        assert view.cursor == target
        await pilot.press("enter", "o")
        await settle(pilot)
        assert app.screen_id == shown[target].screen
        await pilot.press("1")
        await settle(pilot)
        assert view.cursor == target  # the highlight survives a round trip and refreshes
        await pilot.press(*["down"] * (len(shown) + 3))
        assert view.cursor == len(shown) - 1  # clamped at the last row, which is in view
        assert app.screen.query_one("#overview-scroll").scroll_offset.y > 0
        await pilot.press("3", "escape")  # opened by its key: escape stays
        await settle(pilot)
        assert app.screen_id == "jobs"

    drive(make_app(seeded_dsn), body)


def test_palette_and_colon_open_screens_by_name_the_connection_screen_too(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await choose_in_palette(pilot, "ctrl+p", "Moderation")
        assert app.screen_id == "moderation" and isinstance(app.screen, SpecScreen)
        await choose_in_palette(pilot, "colon", "Connection")
        assert app.screen_id == "connection"
        assert lines(app)[2].endswith(" 0 Connection")
        await pilot.press("colon")
        await wait_for(pilot, lambda: CommandPalette.is_open(app))
        assert "screen name" in screen_text(app)
        await pilot.press("escape")

    drive(make_app(seeded_dsn), body)


def test_palette_lists_every_screen_and_action(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for entry in app.ctx.screens:
            assert entry.title in titles
            for ref in entry.spec.actions if entry.spec else []:
                assert f"Action: {ref.name}" in titles

    drive(make_app(seeded_dsn), body)


def test_palette_action_on_first_use_takes_the_highlighted_row(seeded_dsn: str) -> None:
    """From the Overview, before the Jobs screen ever loaded its table: the dialog opens on the
    table's highlighted error group, not "select a row of the table first"."""

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await choose_in_palette(pilot, "ctrl+p", "Action: replay-jobs")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDialog))
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        assert dialog.raw["last_error"] == "Twilio 30003: Unreachable destination handset"
        assert not any("select a row" in n for n in notices(app))
        await settle(pilot)
        assert "126 rows would change" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen_id == "jobs"

    drive(make_app(seeded_dsn), body)


def test_filter_narrows_rows_escape_clears_and_leaving_the_screen_clears_it(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3")
        await settle(pilot)
        jobs = panel(app)
        before = jobs.table.row_count
        assert before > 1
        await pilot.press("slash", *"20429")
        await pilot.pause()
        assert app.screen.query_one("#filter", Input).value == "20429"
        assert jobs.table.row_count == 1
        assert "filter “20429”: 1 shown" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert jobs.table.row_count == before and jobs.filter == ""
        await pilot.press("slash", *"20429", "enter")  # kept: the bar hides, the filter stays
        await pilot.pause()
        assert jobs.table.row_count == 1 and "filter “20429”" in screen_text(app)
        await pilot.press("r")  # typed keys reach the screen again, not the hidden bar
        await settle(pilot)
        assert jobs.filter == "20429"
        await pilot.press("2", "3")
        await settle(pilot)
        assert jobs.filter == "" and jobs.table.row_count == before

    drive(make_app(seeded_dsn), body)


def test_drill_down_and_escape_back(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("2")
        await settle(pilot)
        linkups = panel(app)
        linkup = linkups.selected_row()
        assert linkup is not None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DrillScreen)
        assert app.screen.params == {"linkup_id": linkup["id"]}
        assert " 2 Coordination " in lines(app)[2]  # the drill-down belongs to its screen
        members = panel(app)
        assert members.error is None and members.rows
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SpecScreen) and app.screen.spec.id == "coordination"
        assert linkups.selected_row() == linkup  # the cursor stayed on the row

    drive(make_app(seeded_dsn), body)


def test_enter_without_drill_shows_row_in_full(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RowDetail))
        await pilot.press("escape")
        assert isinstance(app.screen, SpecScreen)

    drive(make_app(seeded_dsn), body)


def test_keyset_paging_and_switching_tables(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("6")
        await settle(pilot)
        recent = panel(app)
        first = recent.table.row_count
        assert first == recent.spec.page_size and recent.next is not None
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert recent.table.row_count == 2 * first
        assert len({id(r) for r in recent.rows}) == len(recent.rows)
        await pilot.press("3")
        await settle(pilot)
        assert panel(app).spec.id == "jobs.failed_by_error"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert panel(app).spec.id == "jobs.open" and panel(app).table.row_count > 0

    drive(make_app(seeded_dsn), body)


def test_pause_resume_and_refresh(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        applied = app.refreshes
        await pilot.press("p")
        await pilot.pause()
        assert app.paused and "PAUSED" in screen_text(app)
        await pilot.press("r")  # a manual refresh works while paused
        await settle(pilot)
        assert app.refreshes == applied + 1 and app.paused
        await pilot.press("p")
        await settle(pilot)
        assert not app.paused and "PAUSED" not in screen_text(app)
        assert app.refreshes == applied + 2

    drive(make_app(seeded_dsn), body)


def test_help_is_generated_from_the_bindings_with_screens_legend_and_actions(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        await pilot.press("end")  # at 80x24 help scrolls: its end holds the console's keys
        await pilot.pause()
        text += screen_text(app)
        for entry in app.ctx.screens:
            assert f"{entry.key} {entry.title}" in text
        for word in ("CRIT", "WARN", "UNKN", "OK", "Legend", "refresh", "filter"):
            assert word in text
        for key, name in (("b", "backfill-guest"), ("B", "backfill-all"), ("t", "set-trigger")):
            assert re.search(rf" {key} +{name}: ", text), name
        await pilot.press("escape")
        assert isinstance(app.screen, SpecScreen)

    drive(make_app(seeded_dsn), body)


def test_write_mode_refused_without_profile_permission(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert app.write_mode_until is None
        assert any("does not allow writes" in n for n in notices(app))

    drive(make_app(seeded_dsn), body)


def test_write_mode_shows_time_left_keeps_ticking_under_a_dialog_and_turns_off(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert "WRITES ON 15:00 left" in lines(app)[0]
        await pilot.press("3", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDialog))
        await settle(pilot)
        assert app.write_mode_until is not None
        # Half the time passes: the clock moves, and the tick (set here rather than waited
        # for) reads the same clock, so a real tick landing in between changes nothing.
        now[0] = app.write_mode_until - (app.write_mode_until - app.clock()) / 2
        app.now = app.clock()
        await pilot.pause()
        assert "WRITES ON 07:30 left" in lines(app)[0]  # the header above the dialog
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert app.write_mode_until is None and "read-only" in lines(app)[0]

    now = [ANCHOR]
    drive(make_app(seeded_dsn, writes=True, clock=lambda: now[0]), body)


def test_production_banner(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        header = app.screen.query_one("#header")
        assert header.has_class("-production")
        assert "PRODUCTION" in lines(app)[0]

    drive(make_app(seeded_dsn, environment="production"), body)


def test_hostile_report_text_is_inert(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("5")
        await settle(pilot)
        text = screen_text(app)
        assert "\x1b" not in text and "\x07" not in text
        assert "[bold red]SCAM" in text  # markup shown literally, not applied
        assert "[/bold] [red]alert" in text
        assert "the screen is mine now" in text
        await pilot.press("enter")  # the first (oldest) report, in full
        await wait_for(pilot, lambda: isinstance(app.screen, RowDetail))
        full = screen_text(app)
        assert "\x1b" not in full
        assert "[link=https://evil.example]claim[/link]" in full

    drive(make_app(seeded_dsn), body, size=(120, 40))


def test_timed_refresh_reuses_slow_checks_and_r_runs_them_all(fresh_seeded_dsn: str) -> None:
    """A soft-delete made meanwhile shows after ``r`` although its check is on a 300 s
    cadence; a timed refresh keeps the slow checks it ran less than a cadence ago."""

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        slow = [c.id for _, c in app.catalog.checks() if c.cadence_s]
        before = {r.id: r for r in app.results}
        await app.run_action("refresh(False)")  # what the timer runs
        await settle(pilot)
        after = {r.id: r for r in app.results}
        for check_id in slow:  # younger than its cadence: reused, not run again
            assert after[check_id] is before[check_id]
        assert after["jobs.failed_last_hour"] is not before["jobs.failed_last_hour"]
        with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
            conn.execute("UPDATE public.messages SET is_deleted = true, deleted_at = now()"
                         " WHERE id = (SELECT id FROM public.messages WHERE NOT is_deleted"
                         " ORDER BY id LIMIT 1)")
        await pilot.press("r")
        await settle(pilot)
        forced = {r.id: r for r in app.results}
        for check_id in slow:
            assert forced[check_id] is not after[check_id]
        deleted = forced["moderation.soft_deleted"].value
        assert deleted == (before["moderation.soft_deleted"].value or 0) + 1

    drive(make_app(fresh_seeded_dsn), body)


def test_the_demo_dsn_stays_in_help_and_c_copies_it(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        assert any("? shows its psql command" in n for n in notices(app))  # the first toast
        line = app.connection_line()
        assert line is not None and line.startswith("psql '")
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Connection  psql '" in screen_text(app)
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == line
        assert any("copied the connection line" in n for n in notices(app))

    drive(make_app(seeded_dsn, source="demo", show_target=True), body)
