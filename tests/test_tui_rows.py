"""Rows an engineer can tell apart, copy, sort and find: ids shortened until distinct, the
selected row's id and JSON copied with a notice, a column sort shown on the status line, a
filter that says what it filters and a search by id that reaches rows not loaded yet, and a
table error shown whole at 80 columns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from textual.pilot import Pilot
from textual.widgets import Input, Static

from opsconsole.catalog import ColumnSpec
from opsconsole.render import cells
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.widgets.table import TablePanel
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


def status(app: OpsConsoleApp) -> str:
    return panel(app).status_text().plain + " · " + panel(app).view_text().plain


def column_texts(table_panel: TablePanel, column: str) -> list[str]:
    table = table_panel.table
    return [table.get_cell(row.key, column).plain for row in table.ordered_rows]


def test_ids_that_share_their_last_characters_show_more_until_they_differ() -> None:
    column = ColumnSpec(name="id", kind="id")
    same_tail = [{"id": f"6c89cb8e-{n:04d}-4000-8000-000000000001"} for n in range(3)]
    tails = cells.id_tails([column], same_tail)
    shown = {cells.row_cells([column], r, ANCHOR, tails)[0].plain for r in same_tail}
    assert len(shown) == 3 and all(s.startswith(cells.sanitize.ELLIPSIS) or len(s) == 36
                                   for s in shown)
    distinct = [{"id": f"6c89cb8e-0000-4000-8000-{n:012d}"} for n in range(3)]
    assert cells.id_tails([column], distinct) == {"id": cells.ID_TAIL}


def test_the_job_ids_at_80_columns_are_distinct_and_whole_in_the_detail(seeded_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        jobs = panel(app)
        shown = column_texts(jobs, "id")
        assert len(shown) == len(jobs.rows) > 1 and len(set(shown)) == len(shown)
        assert all(len(s) < 36 for s in shown)  # shortened to fit 80 columns
        row = jobs.selected_row()
        assert row is not None
        await pilot.press("enter")
        await settle(pilot)
        assert str(row["id"]) in screen_text(app)  # the whole id in the row's detail

    drive(make_app(seeded_dsn), body)


def test_c_copies_the_id_and_shift_c_the_row_as_json_saying_what_was_copied(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        row = panel(app).selected_row()
        assert row is not None
        await pilot.press("c")
        assert app.clipboard == str(row["id"])
        assert f"copied job id: {row['id']}" in notices(app)
        await pilot.press("C")
        copied = json.loads(app.clipboard)
        assert copied["id"] == str(row["id"]) and copied["status"] == row["status"]
        assert set(copied) == set(row)  # every column of the query, not only those shown
        assert "copied the row as JSON" in notices(app)[-1]

    drive(make_app(seeded_dsn), body)


def test_s_cycles_the_sort_column_and_direction_shown_on_the_status_line(
    seeded_dsn: str,
) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        jobs = panel(app)
        query_order = column_texts(jobs, "id")
        await pilot.press("s")
        await pilot.pause()
        assert "sorted by job ↑" in status(app)
        ids = [str(r["id"]) for r in jobs.shown_rows()]
        assert ids == sorted(ids)
        await pilot.press("s")
        await pilot.pause()
        assert "sorted by job ↓" in status(app)
        await pilot.press("s")  # the next column: status, ascending
        await pilot.pause()
        assert "sorted by status ↑" in status(app)
        statuses = column_texts(jobs, "status")
        assert statuses == sorted(statuses)
        for _ in range(2 * len(jobs.spec.columns) - 2):  # through every column, back to none
            await pilot.press("s")
        await pilot.pause()
        assert "sorted" not in status(app)
        assert column_texts(jobs, "id") == query_order

    drive(make_app(seeded_dsn), body)


def test_the_filter_says_it_filters_the_loaded_rows_and_an_id_reaches_any_row(
    seeded_dsn: str,
) -> None:
    with psycopg.connect(seeded_dsn) as conn:  # the oldest open job: far below the first page
        oldest = conn.execute("SELECT id::text FROM public.sms_outbound_jobs WHERE status <> "
                              "'sent' ORDER BY created_at, id LIMIT 1").fetchone()
    assert oldest is not None
    job = oldest[0]

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        jobs = panel(app)
        assert job not in {str(r["id"]) for r in jobs.rows}
        await pilot.press("slash")
        bar = app.screen.query_one("#filter", Input)
        assert "filter the 50 loaded rows" in bar.placeholder
        assert "an id searches the whole table" in bar.placeholder
        bar.value = job
        await wait_for(pilot, lambda: jobs.found is not None)
        await settle(pilot)
        assert jobs.table.row_count == 1
        assert str(jobs.selected_row()["id"]) == job  # type: ignore[index]
        assert "found by id" in status(app)
        bar.value = job[:-1] + ("0" if job[-1] != "0" else "1")  # an id that is not there
        await settle(pilot)
        assert jobs.table.row_count == 0 and "no such id" in status(app)

    drive(make_app(seeded_dsn), body)


def test_a_table_error_is_shown_whole_at_80_columns(drift_dsn: str) -> None:
    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        jobs = panel(app)
        assert jobs.error and len(jobs.error) > 80
        shown = str(jobs.query_one(".panel-error", Static).render())
        assert shown == cells.sanitize.clean(jobs.error, None)
        squeezed = "".join(screen_text(app).split())
        assert "".join(jobs.error.split()) in squeezed  # every word on screen, wrapped

    drive(make_app(drift_dsn), body)


def test_sort_keys_put_null_last_and_order_numbers_times_and_text() -> None:
    values = [3, None, 1.5, 10]
    assert sorted(values, key=cells.sort_key) == [1.5, 3, 10, None]
    when = [datetime(2026, 1, 2, tzinfo=ANCHOR.tzinfo), datetime(2026, 1, 1, tzinfo=ANCHOR.tzinfo)]
    assert sorted(when, key=cells.sort_key) == when[::-1]
    assert sorted(["b", "A", None], key=cells.sort_key) == ["A", "b", None]
