"""Help: the screens by key, this screen's keys, the console's keys (all generated from the
active bindings, see :func:`opsconsole.tui.keys.help_sections`), a legend of the statuses, and
the connection (the demo's ``psql`` command stays here after its toast is gone; ``c`` copies it).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from opsconsole.checks import Status
from opsconsole.render.cells import status_text
from opsconsole.tui.dialogs.row import Modal
from opsconsole.tui.keys import HelpLine, HelpSections

LEGEND = [
    (Status.CRITICAL, "beyond its critical threshold"),
    (Status.WARNING, "beyond its warning threshold"),
    (Status.UNKNOWN, "not judged: see its summary"),
    (Status.OK, "within its thresholds"),
]
WIDE_HELP = 76  # below this many columns the two columns are stacked


@dataclass(frozen=True)
class HelpContent:
    """What help shows.

    Attributes:
        screen_title: the screen help was opened from.
        sections: the active key bindings, grouped.
        palette_only: actions of this screen without a key: (name, title) pairs.
        connection: a line to reach the database (``psql '…'``, no password), or None.
    """

    screen_title: str
    sections: HelpSections
    palette_only: list[tuple[str, str]]
    connection: str | None


def _keys(lines: list[HelpLine]) -> Table:
    """Key and what it does, one per line (Table)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold", min_width=3)
    grid.add_column(overflow="fold")
    for line in lines:
        grid.add_row(Text(line.keys), Text(line.what))
    return grid


def _pairs(lines: list[HelpLine]) -> Table:
    """Screen keys two by two: ``1 Overview   6 Conversations`` (Table)."""
    grid = Table.grid(padding=(0, 1))
    for _ in range(2):
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(no_wrap=True)
    half = (len(lines) + 1) // 2
    for left, right in zip(lines[:half], [*lines[half:], None], strict=False):
        cells = [Text(left.keys), Text(left.what)]
        cells += [Text(right.keys), Text(right.what)] if right else [Text(""), Text("")]
        grid.add_row(*cells)
    return grid


def _column(*parts: tuple[str, RenderableType]) -> Table:
    """Headed parts one below the other, a blank line between them (Table)."""
    grid = Table.grid()
    grid.add_column()
    for i, (title, part) in enumerate(parts):
        if title:
            if i:
                grid.add_row(Text(""))
            grid.add_row(Text(title, style="bold underline"))
        grid.add_row(part)
    return grid


def legend() -> Table:
    """The statuses, and the key digit on Overview rows (Table)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for status, what in LEGEND:
        grid.add_row(status_text(status), Text(what))
    grid.add_row(Text("3", style="bold"), Text("on an Overview row: the key of its screen"))
    return grid


def left_column(content: HelpContent) -> Table:
    """Screens by key, moving between them, and the legend (Table, no markup)."""
    return _column(
        ("Screens", _pairs(content.sections.screens)),
        ("", _keys(content.sections.navigation)),
        ("Legend", legend()),
    )


def right_column(content: HelpContent) -> Table:
    """This screen's keys and the console's keys (Table, no markup)."""
    here = [*content.sections.here,
            *(HelpLine("^p", f"{name}: {title} (palette)") for name, title in
              content.palette_only)]
    console = _keys(content.sections.console)
    return _column((content.screen_title, _keys(here)), ("Console", console))


def help_body(content: HelpContent, width: int) -> RenderableType:
    """The whole help, two columns when ``width`` allows (Table)."""
    body = Table.grid(padding=(0, 2), expand=True)
    if width >= WIDE_HELP:
        body.add_column(ratio=1)
        body.add_column(ratio=1)
        body.add_row(left_column(content), right_column(content))
    else:
        body.add_column()
        body.add_row(left_column(content))
        body.add_row(right_column(content))
    if not content.connection:
        return body
    line = Text(overflow="fold")  # whole, wrapped: it is there to be read and copied
    line.append("Connection  ", style="bold")
    line.append(content.connection)
    line.append("   c copies it", style="dim")
    return Group(body, line)


class HelpScreen(Modal):
    """Keys, screens, legend and connection; ``c`` copies the connection line."""

    BINDINGS = [
        Binding("question_mark", "close", "close", show=False),
        Binding("c", "copy_connection", "copy the connection line", show=False),
    ]

    def __init__(self, content: HelpContent) -> None:
        super().__init__()
        self.content = content

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        with VerticalScroll(classes="modal-box", id="help-box"):
            yield Static(id="help-body")

    def on_resize(self) -> None:
        """Lay the help out for the new width."""
        self.query_one("#help-body", Static).update(help_body(self.content, self.size.width))

    def on_mount(self) -> None:
        """First layout."""
        self.on_resize()

    def action_copy_connection(self) -> None:
        """Copy the connection line to the clipboard (OSC 52) and say so."""
        if not self.content.connection:
            return
        self.app.copy_to_clipboard(self.content.connection)
        self.notify("copied the connection line to the clipboard", markup=False)
