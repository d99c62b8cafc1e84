"""Helpers for the console's tests: a deterministic app, waiting for its workers, and the text
of the screen as the terminal shows it (read through Textual's public screenshot export).

The app gets the quiet settings (``ConsoleSettings.quiet``): the fixed clock of the test data
(conftest.ANCHOR), no auto-refresh timer, no host name, no toasts (notifications are in
``app.notices``), no cursor blink, no animation.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from opsconsole import catalog
from opsconsole.catalog import Catalog
from opsconsole.connection import config
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.settings import ConsoleSettings
from opsconsole.tui.widgets.table import TablePanel
from tests.conftest import ANCHOR


def make_app(
    dsn: str,
    *,
    environment: config.Environment = "dev",
    writes: bool = False,
    source: str = "test",
    cat: Catalog | None = None,
    **settings: Any,
) -> OpsConsoleApp:
    """An OpsConsoleApp on ``dsn`` with the tests' fixed clock and quiet settings.

    Args:
        settings: overrides of :meth:`ConsoleSettings.quiet` (e.g. ``auto_refresh=True``;
            ``clock``: a clock the test moves, instead of the fixed ANCHOR).
    """
    profile = config.Profile(name="test", environment=environment, writes=writes)
    resolved = config.Resolved(dsn, source, profile, config.Defaults())
    clock = settings.pop("clock", lambda: ANCHOR)
    quiet = ConsoleSettings.quiet(clock, **settings)
    return OpsConsoleApp(resolved, cat or catalog.load(), quiet)


Body = Callable[[Pilot[Any], OpsConsoleApp], Awaitable[None]]
"""A test's body: what it does with the pilot and the app."""


def drive(app: OpsConsoleApp, body: Body, size: tuple[int, int] = (80, 24)) -> None:
    """Run ``body`` against ``app`` under a pilot of ``size`` (columns, lines), after the first
    refresh settled."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await body(pilot, app)

    asyncio.run(main())


def panel(app: OpsConsoleApp) -> TablePanel:
    """The active table panel of the current screen (a screen or a drill-down)."""
    found = getattr(app.screen, "active_panel", lambda: None)()
    assert isinstance(found, TablePanel)
    return found


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no worker runs and every message they posted has been handled.

    ``pilot.pause(0)`` handles every message already queued on the app and the screen and
    runs the screen's pending layout and repaint, without the idle wait of ``pilot.pause()``
    (20 ms sleeps until the process is idle); twice at the end, so that what the last round's
    messages posted is handled too. The idle wait that used to end it cost ~15 % of the
    suite's CPU and wall time (measured: 95 s -> 80 s wall, 160 s -> 140 s CPU).
    """
    for _ in range(50):
        await pilot.pause(0)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0)
        if not len(pilot.app.workers):
            await pilot.pause(0)
            await pilot.pause(0)
            return
    raise AssertionError("workers never settled")


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    """Let the app process messages until ``condition()`` holds (bounded, no sleeping).

    Tries a few rounds of handling the queued messages first (``pause(0)``), then the idle
    pauses of ``pilot.pause()``, up to 200 of them.
    """
    for _ in range(5):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0)
    for _ in range(200):
        if condition():
            await pilot.pause()
            return
        await pilot.pause()
    raise AssertionError("condition never held")


_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    r'clip-path="url\(#[\w-]+-line-(\d+)\)">(.*?)</text>'
)


def screen_text(app: OpsConsoleApp) -> str:
    """The text of every cell of the screen, one line per terminal row (str).

    Read from ``App.export_screenshot()`` (SVG): each run of text sits at its column, so
    gaps the SVG leaves out come back as spaces.
    """
    rows: dict[int, dict[int, str]] = {}
    for x, length, line, raw in _TEXT.findall(app.export_screenshot()):
        text = html.unescape(raw).replace("\xa0", " ")
        if not text:
            continue
        cell = float(length) / len(text)
        rows.setdefault(int(line), {})[round(float(x) / cell)] = text
    lines = []
    for line in range(max(rows, default=-1) + 1):
        out = ""
        for column, text in sorted(rows.get(line, {}).items()):
            out = out.ljust(column) + text
        lines.append(out.rstrip())
    return "\n".join(lines)


def notices(app: OpsConsoleApp) -> list[str]:
    """The messages of every notification the app gave (shown as toasts or not)."""
    return [n.message for n in app.notices]
