"""The full view of one table row, and the modal base of the console's small dialogs."""

from __future__ import annotations

import json
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
from opsconsole.checks.export import json_value


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
    """Every column of one row, in full (sanitised): whole ids, JSON parameters indented.

    ``c`` copies the row's id and ``C`` the row as JSON, as on the table.
    """

    BINDINGS = [
        Binding("enter", "close", "close", show=False),
        Binding("c", "copy_id", "copy id"),
        Binding("C", "copy_row", "copy as JSON"),
    ]

    def __init__(self, spec: TableSpec, row: dict[str, Any]) -> None:
        super().__init__()
        self._spec, self._row = spec, row

    def compose(self) -> ComposeResult:
        """Column name and value per line."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(overflow="fold")
        grid.add_row(Text(self._spec.title),
                     Text("esc closes · c copies the id · C the row as JSON", style="dim"))
        for name, value in self._row.items():
            grid.add_row(Text(sanitize.clean(name, 40)), detail_value(value))
        with VerticalScroll(classes="modal-box"):
            yield Static(grid)

    def action_copy_id(self) -> None:
        """Copy the row's id (OSC 52)."""
        value = str(self._row.get("id"))
        self.app.copy_to_clipboard(value)
        self.notify(f"copied id: {sanitize.clean(value, 60)}", markup=False, timeout=4)

    def action_copy_row(self) -> None:
        """Copy the row as one JSON object."""
        text = json.dumps(self._row, default=json_value, ensure_ascii=False)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied the row as JSON ({len(self._row)} columns, {len(text)} "
                    "characters)", markup=False, timeout=4)


def detail_value(value: Any) -> Text:
    """One value in full: "-" for NULL, JSON text indented, anything else as it is (Text,
    sanitised, never cut)."""
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, dict | list):
        return Text(sanitize.clean_lines(json.dumps(value, indent=2, default=json_value)))
    text = str(value)
    if text[:1] in "{[":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict | list):
            return Text(sanitize.clean_lines(json.dumps(parsed, indent=2, ensure_ascii=False)))
    return Text(sanitize.clean(value, None))
