"""Helpers for the console's tests: a deterministic app and a way to wait for its workers.

The app gets the fixed clock of the test data (conftest.ANCHOR), no hostname in the header, no
animations and an auto-refresh interval long enough never to fire during a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from opsconsole import catalog
from opsconsole.connection import config
from opsconsole.tui.app import OpsConsoleApp
from tests.conftest import ANCHOR

QUIET_REFRESH_S = 3600.0


def make_app(
    dsn: str,
    *,
    environment: config.Environment = "dev",
    writes: bool = False,
    refresh_s: float = QUIET_REFRESH_S,
) -> OpsConsoleApp:
    """An OpsConsoleApp on ``dsn`` with the tests' fixed clock and quiet settings."""
    profile = config.Profile(name="test", environment=environment, writes=writes)
    resolved = config.Resolved(dsn, "test", profile, config.Defaults())
    app = OpsConsoleApp(
        resolved,
        catalog.load(),
        clock=lambda: ANCHOR,
        refresh_s=refresh_s,
        hostname_in_header=False,
    )
    app.animation_level = "none"
    return app


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no worker runs and every message they posted has been handled."""
    for _ in range(50):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not len(pilot.app.workers):
            await pilot.pause()  # let layout and repaint catch up with the last messages
            await pilot.pause()
            return
    raise AssertionError("workers never settled")


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    """Let the app process messages until ``condition()`` holds (bounded, no sleeping)."""
    for _ in range(200):
        if condition():
            await pilot.pause()
            return
        await pilot.pause()
    raise AssertionError("condition never held")


def screen_text(app: OpsConsoleApp) -> str:
    """The text of every cell of the active screen, as the terminal would show it."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)
