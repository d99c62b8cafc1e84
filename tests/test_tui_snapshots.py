"""Snapshots of every screen at 80x24 and 120x40 on the seeded demo data.

Deterministic: fixed seed, the clock frozen at conftest.ANCHOR, the quiet settings (no host
name, no toasts, no cursor blink, no animation), workers awaited (never a sleep). They run on
the embedded server only: the header shows the server version, which differs on the server
named by OPSCONSOLE_TEST_DSN.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.test_tui_support import make_app, settle

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("OPSCONSOLE_TEST_DSN")),
    reason="snapshots show the embedded server's version; skipped on OPSCONSOLE_TEST_DSN",
)

SCREENS = [
    ("1", "overview"),
    ("2", "coordination"),
    ("3", "jobs"),
    ("4", "deliveries"),
    ("5", "moderation"),
    ("6", "conversations"),
    ("7", "schema"),
    ("8", "flags"),
    ("9", "audit"),
    ("0", "connection"),
]
SIZES = [(80, 24), (120, 40)]
SMALL = (80, 24)
Step = Callable[[Pilot[Any]], Awaitable[None]]


def keys(*pressed: str, then: Step | None = None) -> Any:
    """A run_before that presses keys, waiting for every worker they start, then ``then``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)
        if then is not None:
            await then(pilot)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("key", "name"), SCREENS, ids=[name for _, name in SCREENS])
def test_screen(snap_compare: Any, seeded_dsn: str, key: str, name: str, size: Any) -> None:
    app = make_app(seeded_dsn)
    assert snap_compare(app, terminal_size=size, run_before=keys(key))


def test_second_table_of_jobs(snap_compare: Any, seeded_dsn: str) -> None:
    app = make_app(seeded_dsn)
    assert snap_compare(app, run_before=keys("3", "right_square_bracket"))


def test_drill_down_into_linkup(snap_compare: Any, seeded_dsn: str) -> None:
    app = make_app(seeded_dsn)
    assert snap_compare(app, terminal_size=(120, 40), run_before=keys("2", "enter"))


def test_help(snap_compare: Any, seeded_dsn: str) -> None:
    app = make_app(seeded_dsn)
    assert snap_compare(app, terminal_size=SMALL, run_before=keys("5", "question_mark"))


def test_production_write_mode_header(snap_compare: Any, seeded_dsn: str) -> None:
    app = make_app(seeded_dsn, environment="production", writes=True)
    assert snap_compare(app, run_before=keys("w"))
