"""Unit tests of the console's pieces that need no database: cells, header, row patching,
stale-result dropping and the refresh back-off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from opsconsole import catalog
from opsconsole.catalog import ColumnSpec
from opsconsole.checks import CheckResult, Status
from opsconsole.checks.tables import Page
from opsconsole.connection import config
from opsconsole.render import cells
from opsconsole.tui import keys, palette, refresh
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.messages import ChecksRefreshed, PageLoaded
from opsconsole.tui.settings import ConsoleSettings
from opsconsole.tui.widgets.checks import ChecksView
from opsconsole.tui.widgets.header import HeaderBar, HeaderState, line_one, line_two
from opsconsole.tui.widgets.line import TextLine
from opsconsole.tui.widgets.tablesync import cursor_key, sync_rows
from opsconsole.tui.widgets.tabs import tabs_text
from tests.conftest import ANCHOR

HOSTILE = "[/bold]\x1b]52;c;SGVsbG8=\x07 \x1b[2J[red]x[/red]\x1b[31m"


def result(status: Status = Status.OK, value: float | None = 1.0, unit: str = "s") -> CheckResult:
    return CheckResult(
        id="connection.replica_lag",
        screen="connection",
        title="Replica lag",
        status=status,
        value=value,
        unit=unit,
        values={},
        summary="s",
        runbook="",
        source="",
        query="q",
        duration_ms=1.0,
        error=None,
        checked_at=ANCHOR,
    )


def test_cells_render_each_kind() -> None:
    now = ANCHOR
    assert cells.cell(ColumnSpec(name="a", kind="age"), now - timedelta(minutes=5), now).plain == (
        "5m 0s"
    )
    assert cells.cell(ColumnSpec(name="b", kind="bool"), True, now).plain == "yes"
    assert cells.cell(ColumnSpec(name="b", kind="bool"), False, now).plain == "no"
    assert cells.cell(ColumnSpec(name="n", kind="text"), None, now).plain == "-"
    uuid = "d4611e7a-0000-02d1-2d85-f4bfc21ee5cf"
    assert cells.cell(ColumnSpec(name="id", kind="id"), uuid, now).plain == "…f4bfc21ee5cf"
    stamp = datetime(2026, 1, 15, 9, 1, tzinfo=UTC)
    assert cells.cell(ColumnSpec(name="t", kind="time"), stamp, now).plain == "2026-01-15 09:01"
    long = cells.cell(ColumnSpec(name="x", width=10), "y" * 50, now).plain
    assert len(long) == 10 and long.endswith("…")


def test_cells_make_hostile_text_inert() -> None:
    text = cells.cell(ColumnSpec(name="x", width=200), HOSTILE, ANCHOR)
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "[/bold]" in text.plain and "[red]x[/red]" in text.plain
    assert not text.spans  # no markup was applied


def test_check_value_units() -> None:
    assert cells.check_value(result(value=125, unit="s")) == "2m 5s"
    assert cells.check_value(result(value=2.3456, unit="%")) == "2.35 %"
    assert cells.check_value(result(value=4, unit="jobs")) == "4 jobs"
    assert cells.check_value(result(value=None)) == "-"


def state(**changes: Any) -> HeaderState:
    base: dict[str, Any] = {
        "profile": "ops",
        "environment": "dev",
        "target": "ops@db:5432/app",
        "version": "15.4",
        "write_left_s": None,
        "lag": result(value=0.4),
        "data_age_s": 3.0,
        "paused": False,
        "reconnecting": None,
        "interval_s": 5.0,
        "slow": False,
    }
    base.update(changes)
    return HeaderState(**base)


def test_header_lines() -> None:
    one, two = line_one(state()).plain, line_two(state()).plain
    assert one.rstrip() == " ops · dev │ ops@db:5432/app │ PG 15.4 │ read-only"
    assert two.rstrip() == " lag 0.4s │ every 5s │ data 3s old"
    assert "PRODUCTION" in line_one(state(environment="production")).plain
    assert "WRITES ON 14:59 left" in line_one(state(write_left_s=899.5)).plain
    busy = line_two(state(paused=True, reconnecting="cannot connect", interval_s=10, slow=False))
    assert busy.plain.startswith(" reconnecting… │ PAUSED │ lag 0.4s")
    assert "every 20s (slow db)" in line_two(state(interval_s=20, slow=True)).plain
    assert "lag ?" in line_two(state(lag=result(Status.UNKNOWN, value=None))).plain
    assert line_two(state(failing=True)).plain.startswith(" refresh failed │ lag")


def test_header_never_shows_a_password() -> None:
    app = make_offline_app("postgresql://ops:s3cret@db.internal:5432/app", show_target=True)
    assert app.header_state is not None
    shown = line_one(app.header_state).plain
    assert "s3cret" not in shown and "ops@db.internal:5432/app" in shown
    line = app.connection_line()
    assert line is not None and "s3cret" not in line and "ops@db.internal:5432/app" in line


def test_the_demo_dsn_is_a_psql_command_in_help() -> None:
    demo = "postgresql://postgres:@/opsconsole_demo?host=/tmp/x"
    app = make_offline_app(demo, show_target=True)
    assert app.connection_line() == f"psql '{demo}'"
    assert make_offline_app(demo).connection_line() is None  # quiet: no host on screen


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(cursor_type="row")
        table.add_column("id", key="id")
        table.add_column("v", key="v")
        yield table


def rows(*pairs: tuple[str, str]) -> list[tuple[str, list[Text]]]:
    return [(key, [Text(key), Text(value)]) for key, value in pairs]


def test_sync_rows_patches_in_place_and_keeps_the_cursor() -> None:
    async def main() -> None:
        app = TableApp()
        async with app.run_test() as pilot:
            table = app.query_one(DataTable)
            sync_rows(table, rows(("a", "1"), ("b", "2"), ("c", "3")), ["id", "v"])
            table.move_cursor(row=1)
            await pilot.pause()
            updates: list[tuple[Any, ...]] = []
            original = table.update_cell
            table.update_cell = lambda *a, **k: (updates.append(a), original(*a, **k))  # type: ignore[method-assign]
            assert not sync_rows(table, rows(("a", "1"), ("b", "2"), ("c", "3")), ["id", "v"])
            assert updates == []  # unchanged data: nothing touched
            assert sync_rows(
                table, rows(("a", "1"), ("b", "9"), ("c", "3"), ("d", "4")), ["id", "v"]
            )
            assert [u[:2] for u in updates] == [("b", "v")]
            assert table.row_count == 4 and cursor_key(table) == "b"
            sync_rows(table, rows(("z", "0"), ("b", "9"), ("a", "1")), ["id", "v"])  # reordered
            assert cursor_key(table) == "b"
            assert [str(r.key.value) for r in table.ordered_rows] == ["z", "b", "a"]

    asyncio.run(main())


def make_offline_app(
    dsn: str = "postgresql://nobody@127.0.0.1:1/none", **settings: Any
) -> OpsConsoleApp:
    profile = config.Profile(name="t")
    resolved = config.Resolved(dsn, "test", profile, config.Defaults())
    quiet = ConsoleSettings.quiet(lambda: ANCHOR, refresh_s=5, **settings)
    return OpsConsoleApp(resolved, catalog.load(), quiet)


def test_refresh_backs_off_when_slow_and_recovers() -> None:
    interval = refresh.next_interval(3.0, 5, 5)  # > 50 % of 5 s
    assert interval == 10
    interval = refresh.next_interval(6.0, interval, 5)
    assert interval == 20
    for _ in range(5):
        interval = refresh.next_interval(59.0, interval, 5)
    assert interval == 60  # capped
    assert refresh.next_interval(3.0, 10, 5) == 10  # not slow for 10 s, not fast for 5 s
    assert refresh.next_interval(0.1, interval, 5) == 5
    assert [refresh.retry_delay(5, n) for n in (1, 2, 3, 9)] == [10, 20, 40, 60]
    app = make_offline_app()
    assert app.header_state is not None and app.header_state.slow is False


def test_stale_results_are_dropped() -> None:
    async def main() -> None:
        app = make_offline_app()
        async with app.run_test() as pilot:
            await pilot.pause()
            newer = [result(value=2.0)]
            app.post_message(ChecksRefreshed(1000, newer, None, 0.01))
            await pilot.pause()
            app.post_message(ChecksRefreshed(999, [result(value=9.0)], None, 0.01))
            await pilot.pause()
            assert list(app.results) == newer and app.reconnecting is None
            panel_messages = [
                PageLoaded(5, Page(rows=[{"id": 1}]), append=False, fetched_at=ANCHOR),
                PageLoaded(4, Page(rows=[{"id": 2}]), append=False, fetched_at=ANCHOR),
            ]
            await pilot.press("9")
            await pilot.pause()
            panel = app.screen.query("TablePanel").first()
            for message in panel_messages:
                panel.post_message(message)
                await pilot.pause()
            assert [r["id"] for r in panel.rows] == [1]  # type: ignore[attr-defined]
            app.exit()

    asyncio.run(main())


def test_unreachable_database_shows_reconnecting() -> None:
    async def main() -> None:
        app = make_offline_app()
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(100):
                await pilot.pause()
                await app.workers.wait_for_complete()
                if app.reconnecting:
                    break
            assert app.reconnecting and "cannot connect" in app.reconnecting
            await pilot.pause()
            header = app.screen.query_one(HeaderBar)
            assert "reconnecting…" in header.render_text()

    asyncio.run(main())


def test_slow_cadence_checks_run_after_the_cheap_ones_and_only_when_due() -> None:
    from dataclasses import replace

    cat = catalog.load()
    slow_ids = {c.id for _, c in cat.checks() if c.cadence_s}
    assert "deliveries.inconsistency_rate" in slow_ids
    fast, slow = refresh.split_due(cat, {}, ANCHOR)
    assert set(slow) == slow_ids and not set(fast) & slow_ids
    fresh = {i: replace(result(), id=i, checked_at=ANCHOR - timedelta(seconds=30))
             for i in slow_ids}
    fast, slow = refresh.split_due(cat, fresh, ANCHOR)
    assert slow == [] and slow_ids <= set(fast)
    fast, slow = refresh.split_due(cat, fresh, ANCHOR, force=True)  # r: every slow one again
    assert set(slow) == slow_ids and not set(fast) & slow_ids
    stale = {i: replace(r, checked_at=ANCHOR - timedelta(hours=1)) for i, r in fresh.items()}
    assert set(refresh.split_due(cat, stale, ANCHOR)[1]) == slow_ids
    unknown = {i: replace(r, status=Status.UNKNOWN) for i, r in fresh.items()}
    assert set(refresh.split_due(cat, unknown, ANCHOR)[1]) == slow_ids


def test_header_follows_the_app_state_and_survives_its_own_removal() -> None:
    """The header watches the app's header_state: the tick repaints it, a header removed while
    its screen is torn down is simply dropped from the watchers, a new one shows the state."""

    async def main() -> None:
        app = make_offline_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            header = app.screen.query_one(HeaderBar)
            app.paused = True
            await pilot.pause()
            assert "PAUSED" in header.render_text()
            await header.remove()
            app.now = ANCHOR + timedelta(seconds=1)  # the tick, with no header on screen
            await app.screen.mount(HeaderBar(), before=0)
            await pilot.pause()
            assert "PAUSED" in app.screen.query_one(HeaderBar).render_text()

    asyncio.run(main())


def test_overview_highlight_follows_its_check_when_the_list_reorders() -> None:
    """A refresh reorders the Overview (worst first); the highlight must stay on the check the
    engineer chose, not on the row number, and move to the same row if that check left."""
    from dataclasses import replace

    a, b, c = (replace(result(), id=f"x.{n}", title=n) for n in "abc")
    view = ChecksView()
    view.show([a, b, c], {})
    assert view.cursor is None and view.selected() == a  # enter without a highlight: the worst
    view.move_cursor(1)  # first press lands on the first row
    view.move_cursor(1)
    assert view.cursor == 1 and view.selected() == b
    view.show([b, c, a], {})  # b turned worse: it moved to the top
    assert view.cursor == 0 and view.selected() == b
    view.show([c, a], {})  # b is filtered out: the highlight keeps its row position
    assert view.selected() == c
    view.move_cursor(5)
    assert view.cursor == 1  # clamped at the last row


def entries() -> tuple[keys.ScreenEntry, ...]:
    return keys.screen_entries(catalog.load())


def test_screens_are_ordered_by_the_digit_row_and_every_one_has_a_key() -> None:
    order = [(e.key, e.id) for e in entries()]
    assert order[0] == ("1", "overview")
    assert [k for k, _ in order] == list("1234567890")
    assert order[-1] == ("0", "connection")


def test_tab_bar_fits_80_columns_and_shows_whole_names_when_it_can() -> None:
    tabs = entries()
    narrow = tabs_text(tabs, "jobs", 80)
    assert narrow.cell_len <= 80
    assert " 3 Jobs " in narrow.plain and "2 Coor" in narrow.plain and "0 Conn" in narrow.plain
    current = next(s for s in narrow.spans if "reverse" in str(s.style))
    assert narrow.plain[current.start:current.end] == " 3 Jobs "
    wide = tabs_text(tabs, "conversations", 160).plain
    assert "2 Coordination" in wide and " 6 Conversations " in wide
    keys_only = tabs_text(tabs, "overview", 40)
    assert keys_only.cell_len <= 40 and " 1 Overview  2 3 4 5" in keys_only.plain


def test_palette_commands_are_data_for_every_screen_and_action() -> None:
    commands = palette.commands(entries())
    by_title = {c.title: c for c in commands}
    assert by_title["Connection"].action == "goto('connection')"
    assert by_title["Action: replay-jobs"].action == "open_action('jobs', 'replay-jobs')"
    assert "key y" in by_title["Action: replay-jobs"].help
    assert by_title["Refresh now"].action == "refresh"
    screens = palette.screen_commands(entries())
    assert [c.title for c in screens][:2] == ["Overview", "Coordination"]


def test_action_keys_become_bindings_of_their_screen() -> None:
    jobs = next(e.spec for e in entries() if e.id == "jobs")
    assert jobs is not None
    (binding,) = keys.action_bindings(jobs)
    assert (binding.key, binding.action, binding.description) == (
        "y", "open_action('replay-jobs')", "replay-jobs")


def test_a_newer_message_of_its_kind_replaces_a_pending_one() -> None:
    """Textual drops a pending message when ``pending.can_replace(newer)`` holds."""
    early = ChecksRefreshed(3, [], None, 0.1, partial=True)
    final = ChecksRefreshed(3, [], None, 0.2)
    assert early.can_replace(final) and final.can_replace(ChecksRefreshed(4, [], None, 0.1))
    assert not final.can_replace(ChecksRefreshed(2, [], None, 0.1))  # an older one never wins
    append = PageLoaded(5, Page(rows=[]), append=True, fetched_at=ANCHOR)
    reload = PageLoaded(6, Page(rows=[]), append=False, fetched_at=ANCHOR)
    assert append.can_replace(reload)  # a reload re-reads every page loaded so far
    assert not reload.can_replace(PageLoaded(7, Page(rows=[]), append=True, fetched_at=ANCHOR))


def test_the_ticking_clock_repaints_only_the_age_not_the_screen() -> None:
    """The app's state is ``var``s: a ``reactive`` on the App repaints the whole screen on
    every change (once a second for the clock: 6.5 KB/s of output when idle)."""

    async def main() -> None:
        app = make_offline_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.results_at = ANCHOR
            await pilot.pause()
            repaints: list[Any] = []
            original = app.refresh
            app.refresh = lambda *a, **k: (repaints.append(a), original(*a, **k))[1]  # type: ignore[method-assign]
            lines = {line.id: line.text.plain for line in app.screen.query(TextLine)}
            app.now = ANCHOR + timedelta(seconds=7)
            await pilot.pause()
            changed = {line.id for line in app.screen.query(TextLine)
                       if line.text.plain != lines[line.id]}
            assert changed == {"header-age"} and repaints == []
            assert "data 7s old" in app.screen.query_one(HeaderBar).render_text()

    asyncio.run(main())
