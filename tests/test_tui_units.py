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
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.header import HeaderBar, HeaderState, line_one, line_two
from opsconsole.tui.messages import ChecksRefreshed, PageLoaded
from opsconsole.tui.tablesync import cursor_key, sync_rows
from opsconsole.tui.widgets import ChecksView
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
    assert one == " ops · dev │ ops@db:5432/app │ PG 15.4 │ read-only"
    assert two == " lag 0.4s │ data 3s old │ every 5s"
    assert "PRODUCTION" in line_one(state(environment="production")).plain
    assert "WRITES ON 14:59 left" in line_one(state(write_left_s=899.5)).plain
    busy = line_two(state(paused=True, reconnecting="cannot connect", interval_s=10, slow=False))
    assert busy.plain.startswith(" reconnecting… │ PAUSED │ lag 0.4s")
    assert "every 20s (slow db)" in line_two(state(interval_s=20, slow=True)).plain
    assert "lag ?" in line_two(state(lag=result(Status.UNKNOWN, value=None))).plain


def test_header_never_shows_a_password() -> None:
    app = make_offline_app("postgresql://ops:s3cret@db.internal:5432/app")
    shown = line_one(app.header_state()).plain
    assert "s3cret" not in shown and "ops@db.internal:5432/app" in shown


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


def make_offline_app(dsn: str = "postgresql://nobody@127.0.0.1:1/none") -> OpsConsoleApp:
    profile = config.Profile(name="t")
    resolved = config.Resolved(dsn, "test", profile, config.Defaults())
    return OpsConsoleApp(resolved, catalog.load(), clock=lambda: ANCHOR, refresh_s=5)


def test_refresh_backs_off_when_slow_and_recovers() -> None:
    app = make_offline_app()
    app._adapt_interval(3.0)  # > 50 % of 5 s
    assert app.interval_s == 10
    app._adapt_interval(6.0)
    assert app.interval_s == 20
    for _ in range(5):
        app._adapt_interval(59.0)
    assert app.interval_s == 60  # capped
    app._adapt_interval(0.1)
    assert app.interval_s == 5
    assert app.header_state().slow is False


def test_stale_results_are_dropped() -> None:
    async def main() -> None:
        app = make_offline_app()
        async with app.run_test() as pilot:
            await pilot.pause()
            app._stop_timer()
            newer = [result(value=2.0)]
            app.post_message(ChecksRefreshed(1000, newer, None, 0.01))
            await pilot.pause()
            app.post_message(ChecksRefreshed(999, [result(value=9.0)], None, 0.01))
            await pilot.pause()
            assert app.results == newer and app.reconnecting is None
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

    from tests.test_tui_support import make_app

    app = make_app("host=unused")
    slow_ids = {c.id for _, c in app.catalog.checks() if c.cadence_s}
    assert "deliveries.inconsistency_rate" in slow_ids
    fast, slow = app._split_due({})
    assert set(slow) == slow_ids and not set(fast) & slow_ids
    fresh = {i: replace(result(), id=i, checked_at=ANCHOR - timedelta(seconds=30))
             for i in slow_ids}
    fast, slow = app._split_due(fresh)
    assert slow == [] and slow_ids <= set(fast)
    stale = {i: replace(r, checked_at=ANCHOR - timedelta(hours=1)) for i, r in fresh.items()}
    assert set(app._split_due(stale)[1]) == slow_ids
    unknown = {i: replace(r, status=Status.UNKNOWN) for i, r in fresh.items()}
    assert set(app._split_due(unknown)[1]) == slow_ids


def test_header_tick_skips_a_screen_without_its_header() -> None:
    """The once-a-second header tick can land while a screen is composed or torn down (its
    HeaderBar not there); that must not crash the console, and the header repaints after."""

    async def main() -> None:
        app = make_offline_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app._stop_timer()
            header = app.screen.query_one(HeaderBar)
            await header.remove()
            app.update_header()  # raised NoMatches before
            app._tick_second()
            for view in app.screen.query(ChecksView):
                await view.remove()
            app._push_results()  # results arriving then are skipped too
            await app.screen.mount(HeaderBar(), before=0)
            await pilot.pause()
            app.update_header()
            await pilot.pause()
            assert "read-only" in app.screen.query_one(HeaderBar).render_text()

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
