"""Trends in the console (issue 12, item 3): each full refresh is recorded into the app's
History (no query added), every check row shows a short sparkline that fits 80 columns, the
detail shows the change over a chosen window, and the per-profile file under
$XDG_STATE_HOME/opsconsole/ keeps them across a restart, while tests never write to it.

The clock is injected and moved by hand between refreshes (never a sleep): the seeded data stays
put, so the time-relative checks (the oldest pending job's wait) grow by exactly the time moved.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from opsconsole import catalog
from opsconsole.checks import Status
from opsconsole.checks.history import History, Sample, history_name, history_path
from opsconsole.connection import config
from opsconsole.render.cells import status_text
from opsconsole.render.trend import resample, sparkline
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.dialogs.check_detail import CheckDetail
from opsconsole.tui.settings import ConsoleSettings
from opsconsole.tui.widgets.checks import SPARK_NARROW, SPARK_WIDE
from tests.conftest import ANCHOR
from tests.test_tui_support import screen_text, settle

AGE_CHECK = "jobs.oldest_pending_age"


class Clock:
    """A console clock the test moves by hand (aware datetime)."""

    def __init__(self, at: datetime = ANCHOR) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def clocked_app(dsn: str, clock: Clock, **settings: Any) -> OpsConsoleApp:
    """The tests' quiet console (as tests.test_tui_support.make_app) on a clock of our own."""
    profile = config.Profile(name="test", environment="dev")
    resolved = config.Resolved(dsn, "test", profile, config.Defaults(), True)
    quiet = ConsoleSettings.quiet(clock, **settings)
    return OpsConsoleApp(resolved, catalog.load(), quiet)


async def refresh_after(pilot: Pilot[Any], clock: Clock, minutes: float) -> None:
    """Move the clock, then ``r`` (every check, slow-cadence ones too), and wait for it."""
    clock.move(minutes=minutes)
    await pilot.press("r")
    await settle(pilot)


def run(app: OpsConsoleApp, body: Callable[[Pilot[Any]], Awaitable[None]],
        size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await body(pilot)

    asyncio.run(main())


def row_of(app: OpsConsoleApp, title: str) -> str:
    """The terminal row showing the check titled ``title`` (its first 15 characters)."""
    return next(line for line in screen_text(app).splitlines() if title[:15] in line)


def test_each_full_refresh_is_recorded_once_and_the_sparkline_rises_with_the_backlog(
    seeded_dsn: str,
) -> None:
    clock = Clock()
    app = clocked_app(seeded_dsn, clock)

    async def body(pilot: Pilot[Any]) -> None:
        assert app.history.path is None  # tests keep the history in memory only
        assert sorted(app.history.ids()) == sorted(r.id for r in app.results)
        await pilot.press("r")  # same clock: the same results, not recorded again
        await settle(pilot)
        assert len(app.history.series(AGE_CHECK)) == 1
        await refresh_after(pilot, clock, 5)
        await refresh_after(pilot, clock, 5)
        series = app.history.series(AGE_CHECK)
        assert [s.at for s in series] == [ANCHOR + timedelta(minutes=m) for m in (0, 5, 10)]
        assert series[2].value == pytest.approx(series[0].value + 600)
        assert app.history.delta(AGE_CHECK, 900) == (pytest.approx(600), 600)
        title = app.catalog.checks()[0][1].title  # any check has a row with a sparkline
        assert title[:15] in screen_text(app)
        age_title = next(r.title for r in app.results if r.id == AGE_CHECK)
        row = row_of(app, age_title)
        assert "▁▅█" in row  # oldest first, rising: the wait grows with the clock
        assert len(row) <= 80

    run(app, body)


@pytest.mark.parametrize(("size", "cells"), [((80, 24), SPARK_NARROW), ((120, 40), SPARK_WIDE)],
                         ids=["80x24", "120x40"])
def test_at_80_columns_a_row_keeps_status_key_title_sparkline_and_summary_and_wider_from_100(
    seeded_dsn: str, size: tuple[int, int], cells: int,
) -> None:
    clock = Clock()
    app = clocked_app(seeded_dsn, clock)

    async def body(pilot: Pilot[Any]) -> None:
        for _ in range(cells + 2):
            await refresh_after(pilot, clock, 1)
        result = next(r for r in app.results if r.id == AGE_CHECK)
        row = row_of(app, result.title)
        assert row.startswith(status_text(result.status).plain)
        assert (" 3 " in row[:8]) if size[0] < 100 else ("Jobs" in row[:20])  # its screen
        spark = "".join(ch for ch in row if ch in "▁▂▃▄▅▆▇█")
        assert len(spark) == cells  # more samples than cells: a full sparkline
        assert result.summary[:12] in row
        assert len(row) <= size[0]

    run(app, body, size)


def test_the_detail_gives_the_change_over_the_window_t_cycles_it(seeded_dsn: str) -> None:
    clock = Clock()
    app = clocked_app(seeded_dsn, clock)

    async def body(pilot: Pilot[Any]) -> None:
        await refresh_after(pilot, clock, 5)
        await refresh_after(pilot, clock, 10)
        await pilot.press("slash", *AGE_CHECK, "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CheckDetail)
        text = screen_text(app)
        assert "+15m 0s in 15m 0s" in text and "last 15 min" in text
        await pilot.press("t")  # 1 h: the whole history so far
        assert "last 1 h" in screen_text(app)
        await pilot.press("t", "t")  # 24 h, then round to 5 min: the last step only
        text = screen_text(app)
        assert "last 5 min" in text
        assert "+10m 0s in 10m 0s" in text
        await refresh_after(pilot, clock, 5)  # r in the detail: it follows the refresh
        assert isinstance(app.screen, CheckDetail)
        assert "+5m 0s in 5m 0s" in screen_text(app)

    run(app, body)


def test_a_restart_keeps_the_trend_in_the_profiles_file_and_quiet_tests_write_nothing(
    seeded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    clock = Clock()
    quiet = clocked_app(seeded_dsn, clock)
    run(quiet, lambda pilot: refresh_after(pilot, clock, 5))
    assert not (tmp_path / "opsconsole").exists()  # the test settings: memory only

    clock = Clock()
    first = clocked_app(seeded_dsn, clock, history_file=True)
    path = history_path(history_name(first.resolved))
    assert first.history.path == path and path.parent == tmp_path / "opsconsole"
    run(first, lambda pilot: refresh_after(pilot, clock, 5))  # saved at quit
    saved = History.load(path).series(AGE_CHECK)
    assert [s.at for s in saved] == [ANCHOR, ANCHOR + timedelta(minutes=5)]

    clock.move(minutes=5)
    again = clocked_app(seeded_dsn, clock, history_file=True)

    async def body(pilot: Pilot[Any]) -> None:
        series = again.history.series(AGE_CHECK)
        assert len(series) == 3  # the two saved ones and this start's refresh
        result = next(r for r in again.results if r.id == AGE_CHECK)
        assert "▁▅█" in row_of(again, result.title)

    run(again, body)
    assert not list(path.parent.glob(".history-*"))  # atomic: no temp file left


def test_in_memory_the_last_hour_keeps_every_refresh_and_older_samples_are_thinned() -> None:
    history = History(step_s=60, dense_s=3600)
    start = ANCHOR
    for n in range(30 * 720):  # a refresh every 5 s for 30 h
        history.add("c", Sample(start + timedelta(seconds=5 * n), float(n), Status.OK))
    series = history.series("c")
    newest = series[-1].at
    assert newest - series[0].at <= timedelta(hours=24)
    dense = [s for s in series if s.at >= newest - timedelta(hours=1)]
    assert len(dense) == 721  # every 5 s of the last hour
    older = [s for s in series if s.at < newest - timedelta(hours=1)]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(older)]
    assert min(gaps) >= 60 and len(older) <= 23 * 60 + 1
    assert history.window("c", 300)[0].at == newest - timedelta(minutes=5)


def test_resample_spreads_samples_over_time_and_shows_a_closed_console_as_a_gap() -> None:
    def at(minute: float, value: float) -> Sample:
        return Sample(ANCHOR + timedelta(minutes=minute), value, Status.OK)

    few = [at(0, 1), at(1, 2)]
    assert resample(few, 6) == few  # a trend shows after a few refreshes
    samples = [at(m, m) for m in range(10)] + [at(50 + m, 50 + m) for m in range(10)]
    cells = resample(samples, 6)
    assert len(cells) == 6 and cells[-1].value == 59
    line = sparkline(cells, 6)
    assert " " in line[1:5] and line[-1] == "█"  # the hour the console was closed is a gap
    uneven = [at(m, m) for m in (0, 1, 3, 6, 10, 15, 21)]  # refreshes backing off: no gap
    assert " " not in sparkline(resample(uneven, 6), 6)


def test_a_change_is_not_measured_from_before_the_console_was_closed() -> None:
    history = History()
    for minute, value in ((0, 100), (60, 10), (65, 12), (70, 15)):  # closed for an hour
        history.add("c", Sample(ANCHOR + timedelta(minutes=minute), value, Status.OK))
    assert history.delta("c", 900) == (5, 600)  # from 60 min, not from the hour before
    assert [s.value for s in history.window("c", 900, since_start=True)] == [10, 12, 15]
    assert history.delta("c", 3600) == (-85, 4200)  # within twice the window: as before
    history.add("d", Sample(ANCHOR, 1, Status.OK))
    history.add("d", Sample(ANCHOR + timedelta(hours=2), 4, Status.OK))
    assert history.delta("d", 900) == (3, 7200)  # nothing else to measure from
    assert len(history.window("d", 900, since_start=True)) == 2


def test_the_demo_keeps_its_trends_in_memory_only(
    seeded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    profile = config.Profile(name="demo", environment="dev", writes=True)
    resolved = config.Resolved(seeded_dsn, "demo", profile, config.Defaults())
    app = OpsConsoleApp(resolved, catalog.load(),
                        ConsoleSettings.quiet(Clock(), history_file=True))
    assert app.history.path is None  # its database is built afresh: no past to keep


def test_saving_merges_what_a_check_state_run_wrote_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "history-x.json"
    console = History(path)
    console.add("c", Sample(ANCHOR, 1, Status.OK))
    cron = History.load(path)  # `opsconsole check --state` from cron, while the console runs
    cron.add("c", Sample(ANCHOR + timedelta(minutes=2), 2, Status.OK))
    cron.add("only.cron", Sample(ANCHOR, 7, Status.OK))
    cron.save()
    console.add("c", Sample(ANCHOR + timedelta(minutes=4), 3, Status.OK))
    console.save()
    saved = History.load(path)
    assert [s.value for s in saved.series("c")] == [1, 2, 3]
    assert [s.value for s in saved.series("only.cron")] == [7]
