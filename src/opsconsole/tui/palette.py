"""Command-palette entries: every screen and every guarded action, found by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from opsconsole.catalog import ActionRef, ScreenSpec
from opsconsole.tui.action_dialog import open_action
from opsconsole.tui.screens import SpecScreen

if TYPE_CHECKING:
    from opsconsole.tui.app import OpsConsoleApp


def commands(app: OpsConsoleApp) -> Iterator[SystemCommand]:
    """Screens ("Moderation"), actions ("Action: replay-jobs") and the console's own keys."""
    yield SystemCommand("Overview", "Every check, worst first (key 1)", _goto(app, "overview"))
    for spec in app.catalog.screens:
        if spec.key:
            yield SystemCommand(
                spec.title, f"Open the {spec.title} screen (key {spec.key})", _goto(app, spec.id)
            )
    for spec in app.catalog.screens:
        for ref in spec.actions:
            key = f", key {ref.key}" if ref.key else ""
            yield SystemCommand(
                f"Action: {ref.name}",
                f"{ref.title} ({spec.title} screen{key})",
                _action(app, spec, ref),
            )
    yield SystemCommand(
        "Refresh now", "Run the checks and reload the table (r)", app.action_refresh
    )
    yield SystemCommand("Pause or resume refresh", "Toggle auto-refresh (p)", app.action_pause)
    yield SystemCommand("Write mode", "Switch write mode on or off (w)", app.action_write_mode)
    yield SystemCommand("Help", "Keys and the screen's actions (?)", app.action_help)


def _goto(app: OpsConsoleApp, screen_id: str) -> Callable[[], None]:
    return lambda: app.goto(screen_id)


def _action(app: OpsConsoleApp, spec: ScreenSpec, ref: ActionRef) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if spec.key:
            await app.switch_mode(spec.id)
        screen = app.screen
        if isinstance(screen, SpecScreen) and screen.spec.id == spec.id:
            screen.action_run_action(ref.name)
        else:
            open_action(app, spec, ref, None)

    return run
