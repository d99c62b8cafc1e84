"""The whole story of a check (issue 12, item 2): enter on a check, on the Overview or on its
screen, opens its detail: the full summary, every entry of its values map, thresholds and their
direction, runbook hint, source seed, the statement from queries/ (c copies it), the last
duration and data age, the error in full when UNKNOWN; g goes to its screen. Database text is
inert there."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from textual.pilot import Pilot

from opsconsole.checks import CheckResult, Status
from opsconsole.render.detail import statement_text, thresholds_text
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.dialogs.check_detail import CheckDetail
from opsconsole.tui.screens.overview import OverviewScreen
from opsconsole.tui.screens.spec import SpecScreen
from opsconsole.tui.widgets.checks import ChecksScroll, ChecksView
from tests.test_tui_support import drive, make_app, notices, screen_text, settle


def flat(app: OpsConsoleApp) -> str:
    """The screen's words in order, box borders and line breaks gone (wrapped text joins)."""
    lines = [re.sub(r"[▁▂▃▄▅▆▇█ ]*│?$", "", line) for line in screen_text(app).splitlines()]
    text = "\n".join(lines)  # the box's right border and the scrollbar beside it are gone
    for ch in "│╭╮╰╯─▌":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def words(text: str) -> str:
    return " ".join(text.split())


def result_of(app: OpsConsoleApp, check_id: str) -> CheckResult:
    return next(r for r in app.results if r.id == check_id)


async def open_on_overview(pilot: Pilot[Any], check_id: str) -> CheckDetail:
    """Highlight ``check_id`` on the Overview with the arrows and press enter."""
    view = pilot.app.screen.query_one(ChecksView)
    at = next(i for i, r in enumerate(view.results) if r.id == check_id)
    await pilot.press("down", *["down"] * at, "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CheckDetail)
    return screen


async def scroll_to_end(pilot: Pilot[Any]) -> None:
    await pilot.press("end")
    await settle(pilot)


def test_enter_on_the_overview_shows_every_day_of_v2_daily_thresholds_hint_seed_and_age(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        result = result_of(app, "conversations.v2_daily")
        assert len(result.values) == 7
        await open_on_overview(pilot, result.id)
        text = flat(app)
        assert words(result.summary) in text  # the whole summary
        for day, count in result.values.items():  # "per day below": every day is shown
            assert f"{day} {count}" in text
        assert "Thresholds none (informational)" in text
        assert words(result.runbook) in text
        assert f"Source {words(result.source)}" in text
        assert f"{result.duration_ms:.1f} ms · data 0s old" in text
        assert "refreshed every 5 min" in text  # its cadence_s = 300
        await scroll_to_end(pilot)
        text = flat(app)
        where = app.catalog.location(result.query)
        assert where.startswith("queries/conversations.sql:")
        assert f"conversations.v2_daily · {where}" in text
        assert words(statement_text(app.catalog.query(result.query))) in text
        assert ":now::timestamptz" in text and "%(now)s" not in text

    drive(make_app(seeded_dsn), body)


def test_thresholds_say_their_direction_and_the_column_they_apply_to(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        specs = {c.id: c for _, c in app.catalog.checks()}
        rate = specs["conversations.v2_success_rate"]
        assert thresholds_text(rate).startswith(
            "warning below 99 % · critical below 85 % (lower is worse)")
        assert "no value is OK (no V2 conversations yet)" in thresholds_text(rate)
        age = specs["jobs.oldest_pending_age"]
        assert thresholds_text(age) == (
            "warning above 900 s (15m 0s) · critical above 3600 s (1h 0m) (higher is worse)")
        await open_on_overview(pilot, "conversations.v2_success_rate")
        assert words(thresholds_text(rate)) in flat(app)

    drive(make_app(seeded_dsn), body)


def test_c_copies_the_statement_with_its_parameters_and_says_so(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        result = result_of(app, "jobs.oldest_pending_age")
        await open_on_overview(pilot, result.id)
        await pilot.press("c")
        copied = app.clipboard
        query = app.catalog.query(result.query)
        assert copied.startswith(
            f"-- {query.ref} ({app.catalog.location(query.ref)}), check {result.id}\n")
        assert f"-- :now = '{result.checked_at.isoformat()}'\n" in copied
        assert statement_text(query) in copied and copied.endswith(";\n")
        assert "%(" not in copied
        assert notices(app)[-1] == (
            f"copied the statement {query.ref} ({copied.count(chr(10))} lines) to the clipboard")

    drive(make_app(seeded_dsn), body)


def test_g_in_the_detail_opens_the_checks_screen_and_escape_there_returns_to_the_overview(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await open_on_overview(pilot, "moderation.pending_reports")
        await pilot.press("g")
        await settle(pilot)
        assert app.screen_id == "moderation" and isinstance(app.screen, SpecScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        await open_on_overview(pilot, "moderation.pending_reports")
        await pilot.press("escape")  # closes the detail only
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen) and app.screen_id == "overview"

    drive(make_app(seeded_dsn), body)


def test_on_a_screen_i_enters_its_checks_enter_opens_a_detail_and_the_table_keeps_enter(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SpecScreen)
        assert "i checks · enter detail" in screen_text(app)  # on the checks list's border
        mine = [r for r in app.results if r.screen == "jobs"]
        await pilot.press("i", "down", "down")
        scroll = screen.query_one(ChecksScroll)
        assert scroll.has_focus
        assert scroll.query_one(ChecksView).cursor == 2
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CheckDetail) and detail.result.id == mine[2].id
        assert "g open its screen" not in screen_text(app)  # already on it
        await pilot.press("g")  # inactive here: the detail stays
        assert app.screen is detail
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and scroll.has_focus
        await pilot.press("escape")  # out of the checks list, onto the table again
        panel = screen.active_panel()
        assert panel is not None and panel.table.has_focus and app.screen_id == "jobs"
        await pilot.press("enter")  # the table's own enter: its row (a drill-down or detail)
        await settle(pilot)
        assert not isinstance(app.screen, CheckDetail) and app.screen is not screen
        await pilot.press("escape", "i", "1", "3")  # left from the checks list, back later:
        await settle(pilot)
        assert app.screen is screen and panel.table.has_focus  # the table has the focus

    drive(make_app(seeded_dsn), body)


def test_an_unknown_check_shows_its_error_in_full(empty_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        unknown = max((r for r in app.results if r.status is Status.UNKNOWN and r.error),
                      key=lambda r: len(r.error or ""))
        assert unknown.error is not None
        await open_on_overview(pilot, unknown.id)
        text = flat(app)
        assert f"Error {words(unknown.error)}" in text
        assert "Summary" not in text  # the error is the story, not repeated

    drive(make_app(empty_dsn), body)


def test_database_text_in_the_detail_is_inert(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        real = result_of(app, "jobs.failed_errors")
        hostile = replace(
            real,
            summary="[bold]loud[/bold] \x1b[2J cleared?",
            values={"[/foo]\x1b]52;c;SGVsbG8=\x07 err": 3, "ok": "\x1b[31mred\x1b[0m"},
        )
        app.push_screen(CheckDetail(app.ctx, hostile, "overview"))
        await settle(pilot)
        text = screen_text(app)
        assert "[bold]loud[/bold] � cleared?" in text
        assert "[/foo]� err" in text and "�red�" in text
        assert "\x1b" not in app.export_screenshot()

    drive(make_app(seeded_dsn), body)
