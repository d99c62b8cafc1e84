"""Snapshots of every screen at 80x24 and 120x40, and of every state of the action dialog at
80x24, on the seeded demo data.

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
from textual.widgets import Input

from opsconsole.actions.model import Progress
from opsconsole.tui.action_dialog import ActionDialog
from opsconsole.tui.settings import numbered_run_ids
from tests.test_tui_support import make_app, settle, wait_for

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


def dialog(pilot: Pilot[Any]) -> ActionDialog:
    """The open action dialog."""
    screen = pilot.app.screen
    assert isinstance(screen, ActionDialog)
    return screen


async def type_count(pilot: Pilot[Any], typed: str) -> None:
    """Type ``typed`` into the confirmation box and press enter."""
    box = dialog(pilot).query_one("#action-confirm", Input)
    box.value = typed
    box.focus()
    await pilot.press("enter")
    await settle(pilot)


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


# -- the action dialog at 80x24: every state shows count, target, box and buttons ------------


def test_dialog_choose(snap_compare: Any, seeded_dsn: str) -> None:
    app = make_app(seeded_dsn, writes=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=keys("w", "5", "v"))


def test_dialog_confirm(snap_compare: Any, seeded_dsn: str) -> None:
    app = make_app(seeded_dsn, writes=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=keys("w", "3", "y"))


def test_dialog_confirm_on_production_with_a_wrong_count(
    snap_compare: Any, seeded_dsn: str
) -> None:
    app = make_app(seeded_dsn, environment="production", writes=True)

    async def wrong(pilot: Pilot[Any]) -> None:
        await type_count(pilot, "125")

    assert snap_compare(app, terminal_size=SMALL, run_before=keys("w", "3", "y", then=wrong))


def test_dialog_refused_shows_the_reason_and_no_way_to_apply(
    snap_compare: Any, seeded_dsn: str
) -> None:
    app = make_app(seeded_dsn, writes=True)  # write mode not switched on
    assert snap_compare(app, terminal_size=SMALL, run_before=keys("3", "y"))


def test_dialog_applying_with_progress(snap_compare: Any, seeded_dsn: str) -> None:
    """The applying state drawn from a fixed progress (a real apply would race the frame)."""
    app = make_app(seeded_dsn, writes=True)

    async def applying(pilot: Pilot[Any]) -> None:
        shown = dialog(pilot)
        assert shown.preview is not None
        shown.show_applying(shown.preview, Progress(2, 5, 400, 1000, 2))

    assert snap_compare(app, terminal_size=SMALL, run_before=keys("w", "3", "y", then=applying))


def test_dialog_result(snap_compare: Any, fresh_seeded_dsn: str) -> None:
    app = make_app(fresh_seeded_dsn, writes=True, run_ids=numbered_run_ids())  # no uuid4 drawn

    async def apply(pilot: Pilot[Any]) -> None:
        await type_count(pilot, "126")
        await wait_for(pilot, lambda: dialog(pilot).result is not None)

    assert snap_compare(app, terminal_size=SMALL, run_before=keys("w", "3", "y", then=apply))


def test_dialog_undo(snap_compare: Any, fresh_seeded_dsn: str) -> None:
    app = make_app(fresh_seeded_dsn, writes=True)

    async def apply_then_undo(pilot: Pilot[Any]) -> None:
        await type_count(pilot, "126")
        await wait_for(pilot, lambda: dialog(pilot).result is not None)
        for key in ("escape", "9", "u"):
            await pilot.press(key)
            await settle(pilot)
        assert dialog(pilot).action.name == "undo"

    assert snap_compare(
        app, terminal_size=SMALL, run_before=keys("w", "3", "y", then=apply_then_undo)
    )
