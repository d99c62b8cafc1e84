"""Modal dialogs: the key help and the full view of one row."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from opsconsole import sanitize
from opsconsole.catalog import ActionRef, TableSpec

KEYS = [
    ("1-9", "switch screen (1 = Overview)"),
    ("tab / shift+tab", "next / previous screen"),
    ("ctrl+p", "command palette: screens and actions by name"),
    ("r", "refresh now"),
    ("p", "pause / resume auto-refresh"),
    ("/", "filter the visible rows (enter keeps, esc clears)"),
    ("[ ]", "previous / next table of the screen"),
    ("enter", "drill down into the row (or show it in full)"),
    ("up/down, j/k", "Overview: highlight a check, enter opens it"),
    ("escape", "back / clear the filter"),
    ("w", "write mode on / off (when the profile allows writes)"),
    ("?", "this help"),
    ("q", "quit"),
]


class _Modal(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("q", "close", "close", show=False),
    ]

    DEFAULT_CSS = """
    _Modal { align: center middle; }
    _Modal > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)


def help_text(screen_title: str, actions: list[ActionRef]) -> Table:
    """The help body: keys and the screen's actions (no markup)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column()
    grid.add_row(Text("Keys"), Text(""))
    for key, what in KEYS:
        grid.add_row(Text(key), Text(what))
    grid.add_row(Text(""), Text(""))
    grid.add_row(Text(f"{screen_title}"), Text("actions" if actions else "no actions"))
    for ref in actions:
        grid.add_row(Text(ref.key or "palette"), Text(f"{ref.title} ({ref.name})"))
    return grid


class HelpScreen(_Modal):
    """Keys and the current screen's actions."""

    BINDINGS = [Binding("question_mark", "close", "close", show=False)]

    def __init__(self, screen_title: str, actions: list[ActionRef]) -> None:
        super().__init__()
        self._body = help_text(screen_title, actions)

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        with VerticalScroll():
            yield Static(self._body)


class RowDetail(_Modal):
    """Every column of one row, in full (sanitised; values cut at 500 characters)."""

    BINDINGS = [Binding("enter", "close", "close", show=False)]

    def __init__(self, spec: TableSpec, row: dict[str, Any]) -> None:
        super().__init__()
        self._spec, self._row = spec, row

    def compose(self) -> ComposeResult:
        """Column name and value per line."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(overflow="fold")
        grid.add_row(Text(self._spec.title), Text("esc closes", style="dim"))
        for name, value in self._row.items():
            shown = Text("-", style="dim") if value is None else Text(sanitize.clean(value, 500))
            grid.add_row(Text(sanitize.clean(name, 40)), shown)
        with VerticalScroll():
            yield Static(grid)
