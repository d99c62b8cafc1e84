"""The full view of one table row, and the modal base of the console's small dialogs."""

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
from opsconsole.catalog import TableSpec


class Modal(ModalScreen[None]):
    """A centred box that escape (or q) closes."""

    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("q", "close", "close", show=False),
    ]

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)


class RowDetail(Modal):
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
        with VerticalScroll(classes="modal-box"):
            yield Static(grid)
