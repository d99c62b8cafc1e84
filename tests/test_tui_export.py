"""Export of a table: every row of its query through keyset pages (not only the loaded ones),
capped, to CSV or JSON in the working folder, atomically; the console's `e` dialog shows the
progress and says the path."""

from __future__ import annotations

import asyncio
import csv
import json
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.pilot import Pilot
from textual.widgets import ProgressBar

from opsconsole import catalog
from opsconsole.checks import export, tables
from opsconsole.checks.tables import Cursor, Page
from opsconsole.connection import db
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.dialogs.export import ExportDialog
from tests.test_tui_support import make_app, notices, settle, wait_for


def open_jobs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM public.sms_outbound_jobs WHERE status <> 'sent'"
                           ).fetchone()
    assert row is not None
    return int(row[0])


def fetcher(dsn: str) -> Any:
    cat = catalog.load()
    spec = cat.tables()["jobs.open"]
    conn = db.connect(dsn)

    def fetch(cursor: Cursor | None, limit: int) -> Page:
        return tables.fetch_page(conn, cat, None, spec, cursor=cursor, limit=limit)

    return fetch, conn


def test_export_reads_every_row_through_keyset_pages_as_csv_and_json(
    seeded_dsn: str, tmp_path: Path
) -> None:
    fetch, conn = fetcher(seeded_dsn)
    total = open_jobs(seeded_dsn)
    seen: list[int] = []
    with conn:
        done = export.export(fetch, tmp_path / "jobs.csv", "csv", page=97, on_page=seen.append)
        as_json = export.export(fetch, tmp_path / "jobs.json", "json", page=500)
    assert done.rows == total > 97 and not done.capped
    assert len(seen) > 1 and seen[-1] == total  # many pages, the progress counted them
    with (tmp_path / "jobs.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == total and len({r["id"] for r in rows}) == total  # no row twice
    assert {"id", "status", "purpose", "last_error", "created_at"} <= set(rows[0])
    loaded = json.loads((tmp_path / "jobs.json").read_text(encoding="utf-8"))
    assert as_json.rows == total and [r["id"] for r in loaded] == [r["id"] for r in rows]
    # no temp file left beside them (the folders are the test's XDG dirs: the catalog cache)
    left = sorted(p for p in tmp_path.iterdir() if not p.is_dir())
    assert left == [tmp_path / "jobs.csv", tmp_path / "jobs.json"]


def test_export_stops_at_the_cap_and_says_so(seeded_dsn: str, tmp_path: Path) -> None:
    fetch, conn = fetcher(seeded_dsn)
    with conn:
        done = export.export(fetch, tmp_path / "jobs.json", "json", cap=120, page=50)
    assert done.rows == 120 and done.capped
    assert len(json.loads((tmp_path / "jobs.json").read_text(encoding="utf-8"))) == 120


def test_a_failed_or_cancelled_export_leaves_nothing_half_written(
    seeded_dsn: str, tmp_path: Path
) -> None:
    fetch, conn = fetcher(seeded_dsn)
    calls = [0]

    def failing(cursor: Cursor | None, limit: int) -> Page:
        calls[0] += 1
        return fetch(cursor, limit) if calls[0] < 3 else Page(error="connection lost")

    target = tmp_path / "jobs.csv"
    with conn:
        with pytest.raises(export.ExportFailed, match="connection lost"):
            export.export(failing, target, "csv", page=50)
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(export.ExportFailed, match="cancelled"):
            export.export(fetch, target, "json", cancel=cancel)
        assert list(tmp_path.iterdir()) == []  # no file, no temporary file
        target.write_text("the previous export\n", encoding="utf-8")
        calls[0] = 0
        with pytest.raises(export.ExportFailed):
            export.export(failing, target, "csv", page=50)
    assert target.read_text(encoding="utf-8") == "the previous export\n"  # left as it was
    assert list(tmp_path.iterdir()) == [target]


def test_e_exports_the_current_table_to_the_working_folder_with_progress(
    seeded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    total = open_jobs(seeded_dsn)

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        await settle(pilot)
        await pilot.press("3", "right_square_bracket")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        await pilot.press("j")
        await wait_for(pilot, lambda: dialog.done is not None or dialog.error is not None)
        await settle(pilot)
        assert dialog.error is None and dialog.done is not None
        assert dialog.done.rows == total and dialog.done.path.parent == tmp_path
        bar = dialog.query_one(ProgressBar)
        assert bar.progress == bar.total == total
        assert any(str(dialog.done.path) in n and f"{total:,} rows" in n for n in notices(app))
        rows = json.loads(dialog.done.path.read_text(encoding="utf-8"))
        assert len(rows) == total  # every row of the query, not the 50 loaded

    async def main() -> None:
        app = make_app(seeded_dsn)
        async with app.run_test(size=(80, 24)) as pilot:
            await body(pilot, app)

    asyncio.run(main())
