"""Pilot tests of the console on the seeded demo database (real PostgreSQL, fixed clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import Input

from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.dialogs import HelpScreen, RowDetail
from opsconsole.tui.screens import DrillScreen, OverviewScreen, SpecScreen
from opsconsole.tui.widgets import ChecksView, TablePanel
from tests.test_tui_support import make_app, screen_text, settle, wait_for

Body = Callable[[Pilot[Any], OpsConsoleApp], Awaitable[None]]


def drive(app: OpsConsoleApp, body: Body, size: tuple[int, int] = (80, 24)) -> None:
    """Run ``body`` against ``app`` under a pilot, after the first refresh settled."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await body(pilot, app)

    asyncio.run(main())


def panel(app: OpsConsoleApp) -> TablePanel:
    """The active table panel of the current screen."""
    screen = app.screen
    assert isinstance(screen, SpecScreen | DrillScreen)
    found = screen.active_panel()
    assert found is not None
    return found


def test_starts_on_overview_with_every_check(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        assert isinstance(app.screen, OverviewScreen)
        assert len(app.results) == len(app.catalog.checks())
        text = screen_text(app)
        assert "read-only" in text and "data 0s old" in text
        assert "CRITICAL" in text.splitlines()[2]

    drive(make_app(seeded_dsn), body)


def test_number_keys_and_tab_switch_screens(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        keyed = {s.key: s.id for s in app.catalog.screens if s.key}
        for key, screen_id in keyed.items():
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, SpecScreen)
            assert app.screen.spec.id == screen_id
        await pilot.press("1")
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("tab")
        assert app.current_mode == app.screen_order[1]
        await pilot.press("shift+tab", "shift+tab")
        assert app.current_mode == app.screen_order[-1]

    drive(make_app(seeded_dsn), body)


def test_overview_arrows_highlight_a_check_and_enter_opens_its_screen(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        view = app.screen.query_one(ChecksView)
        assert view.cursor is None  # nothing highlighted until an arrow is pressed
        worst = view.selected()
        assert worst is not None
        await pilot.press("enter")  # no highlight yet: the worst check's screen
        await settle(pilot)
        assert app.current_mode == worst.screen
        await pilot.press("1")
        await settle(pilot)
        view = app.screen.query_one(ChecksView)
        keyed = {s.id for s in app.catalog.screens if s.key}
        shown = view._results
        target = next(i for i, r in enumerate(shown) if r.screen in keyed and r.screen != worst.screen)
        await pilot.press("down", *["j"] * target)
        assert view.cursor == target
        assert "reverse" in str(view.render().rows[target].style)
        await pilot.press("up", "down")
        assert view.cursor == target
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == shown[target].screen
        await pilot.press("1")
        await settle(pilot)
        view = app.screen.query_one(ChecksView)
        assert view.cursor == target  # the highlight survives a round trip and refreshes
        await pilot.press(*["down"] * (len(shown) + 3))
        assert view.cursor == len(shown) - 1  # clamped at the last row, which is in view
        scroll = app.screen.query_one("#overview-scroll")
        assert scroll.scroll_offset.y > 0

    drive(make_app(seeded_dsn), body)


def test_palette_opens_screen_by_name(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Moderation")

        def top_hit() -> str:
            found = app.screen.query(CommandList)
            if not found or found.first().highlighted is None:
                return ""
            option = found.first().highlighted_option
            return str(option.prompt) if option else ""

        # the palette searches in a worker of its own: wait for its best hit, then take it
        await wait_for(pilot, lambda: top_hit().startswith("Moderation"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SpecScreen)
        assert app.screen.spec.id == "moderation"

    drive(make_app(seeded_dsn), body)


def test_palette_lists_every_screen_and_action(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for spec in app.catalog.screens:
            if spec.key:
                assert spec.title in titles
            for ref in spec.actions:
                assert f"Action: {ref.name}" in titles

    drive(make_app(seeded_dsn), body)


def test_action_key_without_action_module_notifies(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3")
        await settle(pilot)
        try:
            import opsconsole.tui.action_dialog  # noqa: F401
        except ModuleNotFoundError:
            await pilot.press("y")
            await pilot.pause()
            assert any("not available yet" in str(n.message) for n in app._notifications)

    drive(make_app(seeded_dsn), body)


def test_filter_narrows_rows_and_escape_clears(seeded_dsn: str) -> None:
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
        assert jobs.table.row_count == before
        assert jobs.filter == ""

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


def test_keyset_paging_loads_next_page_at_the_end(seeded_dsn: str) -> None:
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

    drive(make_app(seeded_dsn), body)


def test_switch_table_with_brackets(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3")
        await settle(pilot)
        assert panel(app).spec.id == "jobs.failed_by_error"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert panel(app).spec.id == "jobs.open"
        assert panel(app).table.row_count > 0

    drive(make_app(seeded_dsn), body)


def test_pause_resume_and_refresh(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        applied = app._applied
        await pilot.press("p")
        await pilot.pause()
        assert app.paused and "PAUSED" in screen_text(app)
        await pilot.press("r")  # a manual refresh works while paused
        await settle(pilot)
        assert app._applied == applied + 1 and app.paused
        await pilot.press("p")
        await settle(pilot)
        assert not app.paused and "PAUSED" not in screen_text(app)
        assert app._applied == applied + 2

    drive(make_app(seeded_dsn), body)


def test_help_lists_keys_and_screen_actions(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "refresh now" in text and "backfill-all" in text
        await pilot.press("escape")
        assert isinstance(app.screen, SpecScreen)

    drive(make_app(seeded_dsn), body)


def test_write_mode_refused_without_profile_permission(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert app.write_mode_until is None
        assert any("does not allow writes" in str(n.message) for n in app._notifications)

    drive(make_app(seeded_dsn), body)


def test_write_mode_shows_time_left_and_turns_off(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert "WRITES ON 15:00 left" in screen_text(app)
        await pilot.press("w")
        await pilot.pause()
        assert app.write_mode_until is None and "read-only" in screen_text(app)

    drive(make_app(seeded_dsn, writes=True), body)


def test_production_banner(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        header = app.screen.query_one("#header")
        assert header.has_class("-production")
        assert "PRODUCTION" in screen_text(app).splitlines()[0]

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


def test_refresh_reuses_checks_on_a_slow_cadence(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        slow = [c.id for _, c in app.catalog.checks() if c.cadence_s]
        before = {r.id: r for r in app.results}
        await pilot.press("r")
        await settle(pilot)
        after = {r.id: r for r in app.results}
        for check_id in slow:  # younger than its cadence: reused, not run again
            assert after[check_id] is before[check_id]
        assert after["jobs.failed_last_hour"] is not before["jobs.failed_last_hour"]

    drive(make_app(seeded_dsn), body)
