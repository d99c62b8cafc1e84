"""Snapshots of the check detail at 80x24 and 120x40, and of the Overview's trend sparklines
after a few recorded refreshes (issue 12, items 2 and 3).

Deterministic: the seeded data, a clock moved by hand between refreshes (tests.test_tui_trends),
the quiet settings, workers awaited, and each query's duration (wall time, which varies from run
to run) set to 1 ms before the picture is taken. Embedded server only, as tests.test_tui_snapshots.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.test_tui_support import settle
from tests.test_tui_trends import Clock, clocked_app, refresh_after

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("OPSCONSOLE_TEST_DSN")),
    reason="snapshots show the embedded server's version; skipped on OPSCONSOLE_TEST_DSN",
)


def recorded(clock: Clock, *steps_min: float, then: tuple[str, ...] = ()) -> Any:
    """A run_before: refresh after each step of the clock, fix the durations, press ``then``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for minutes in steps_min:
            await refresh_after(pilot, clock, minutes)
        app: Any = pilot.app
        app.results = tuple(replace(r, duration_ms=1.0) for r in app.results)
        await settle(pilot)
        for key in then:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def open_keys(check_id: str) -> tuple[str, ...]:
    """Filter the Overview down to ``check_id`` and open its detail."""
    return ("slash", *check_id, "enter", "enter")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_check_detail_with_its_trend(snap_compare: Any, seeded_dsn: str, size: Any) -> None:
    clock = Clock()
    app = clocked_app(seeded_dsn, clock)
    steps = recorded(clock, 5, 5, 5, then=open_keys("jobs.oldest_pending_age"))
    assert snap_compare(app, terminal_size=size, run_before=steps)


def test_check_detail_of_a_breakdown_per_day(snap_compare: Any, seeded_dsn: str) -> None:
    clock = Clock()
    app = clocked_app(seeded_dsn, clock)
    steps = recorded(clock, then=open_keys("conversations.v2_daily"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps)


def test_overview_trend_sparklines(snap_compare: Any, seeded_dsn: str) -> None:
    clock = Clock()
    app = clocked_app(seeded_dsn, clock)
    steps = recorded(clock, 1, 2, 3, 4, 5, 6)
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps)
