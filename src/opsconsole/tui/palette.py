"""The command palette's commands, as data: a title to search, a help line, an action string.

The app turns each into a Textual ``SystemCommand`` that runs the action string with
``App.run_action``; this module knows the screens and actions of the catalog, not the app.
``ctrl+p`` searches all of them, ``:`` only the screens (as in k9s).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from opsconsole.tui.keys import ScreenEntry, goto_action


@dataclass(frozen=True)
class PaletteCommand:
    """One palette entry.

    Attributes:
        title: what the engineer types ("Moderation", "Action: replay-jobs").
        help: one line under the title.
        action: the app action string run when chosen, e.g. ``goto('jobs')``.
    """

    title: str
    help: str
    action: str


def screen_commands(entries: Iterable[ScreenEntry]) -> list[PaletteCommand]:
    """One command per screen, keyed or not."""
    out = []
    for entry in entries:
        key = f" (key {entry.key})" if entry.key else " (palette only)"
        out.append(PaletteCommand(entry.title, f"Open the {entry.title} screen{key}",
                                  goto_action(entry.id)))
    return out


def action_commands(entries: Iterable[ScreenEntry]) -> list[PaletteCommand]:
    """One command per guarded action of every screen ("Action: replay-jobs")."""
    out = []
    for entry in entries:
        for ref in entry.spec.actions if entry.spec else []:
            key = f", key {ref.key}" if ref.key else ""
            out.append(PaletteCommand(
                f"Action: {ref.name}",
                f"{ref.title} ({entry.title} screen{key})",
                f"open_action('{entry.id}', '{ref.name}')",
            ))
    return out


CONSOLE_COMMANDS = [
    PaletteCommand("Refresh now", "Run every check and reload the table (r)", "refresh"),
    PaletteCommand("Pause or resume refresh", "Toggle auto-refresh (p)", "pause"),
    PaletteCommand("Write mode", "Switch write mode on or off (w)", "write_mode"),
    PaletteCommand("Help", "Keys, screens, legend and the connection (?)", "help"),
]


def commands(entries: Iterable[ScreenEntry]) -> list[PaletteCommand]:
    """Every palette command: screens, actions, then the console's own."""
    entries = list(entries)
    return [*screen_commands(entries), *action_commands(entries), *CONSOLE_COMMANDS]
