"""The list of check results (the Overview's and each screen's), drawn as one rich Table, and
the scrolling list that holds it (arrows move the highlight, enter opens the check's detail).

It compares what it would show with what is on screen and does nothing when it is the same;
its highlight follows a check, not a row number, so a refresh that reorders the list does not
move it. Once a check has two samples in the console's
:class:`~opsconsole.checks.history.History`, rows get a short sparkline of each check's last
hour: 6 cells at 80 columns, 12 from 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from opsconsole.checks import CheckResult, Status
from opsconsole.checks.history import History
from opsconsole.render import cells
from opsconsole.render.trend import resample, sparkline

WIDE = 100  # at this width and above, extra columns (screen, value) are shown
SPARK_NARROW, SPARK_WIDE = 6, 12  # sparkline cells below / from WIDE columns
SPARK_WINDOW_S = 3600.0  # a row's sparkline covers the check's last hour


class ChecksView(Widget):
    """Check results as compact rows: status, title, summary (and screen, value when wide)."""

    def __init__(
        self, *, show_screen: bool = False, history: History | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._show_screen = show_screen
        self._history = history
        self._results: list[CheckResult] = []
        self._titles: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._note: Text | None = None
        self._key: tuple[Any, ...] | None = None
        self._drawn: list[list[tuple[str, Style | None]]] | None = None  # as last painted
        # The highlight follows a check, not a row: a refresh that reorders the list (worst
        # first) must not move it onto another check under the engineer's eyes.
        self._cursor_id: str | None = None
        self._cursor_at = 0

    @property
    def results(self) -> list[CheckResult]:
        """The checks shown, in order."""
        return list(self._results)

    @property
    def cursor(self) -> int | None:
        """The highlighted row (int), or None before the first arrow key."""
        if self._cursor_id is None:
            return None
        return next((i for i, r in enumerate(self._results) if r.id == self._cursor_id), None)

    def move_cursor(self, step: int) -> int | None:
        """Move the highlight by ``step`` rows (the first press lands on the first row).

        Returns:
            The highlighted row's line within the widget (int, for scrolling), or None when
            there are no rows.
        """
        at = self.cursor
        self._highlight(0 if at is None else at + step)
        self._repaint()
        at = self.cursor
        if at is None:
            return None
        return at + (1 if self._note is not None else 0)

    def selected(self) -> CheckResult | None:
        """The highlighted check, else the first one shown (worst first), else None."""
        if not self._results:
            return None
        return self._results[self.cursor or 0]

    def _highlight(self, at: int) -> None:
        if not self._results:
            self._cursor_id = None
            return
        self._cursor_at = max(0, min(len(self._results) - 1, at))
        self._cursor_id = self._results[self._cursor_at].id

    def show(
        self,
        results: Sequence[CheckResult],
        titles: dict[str, str],
        note: Text | None = None,
        keys: dict[str, str] | None = None,
    ) -> None:
        """Show ``results`` (in the given order); repaint only when what is shown differs.

        Args:
            results: the checks to show.
            titles: screen id -> screen title (shown when wide and ``show_screen``).
            note: a line above the list (e.g. "connection lost"), or None.
            keys: screen id -> the key that opens it (shown instead of the title when narrow).
        """
        self._results, self._titles, self._note = list(results), titles, note
        self._keys = keys or {}
        if self._cursor_id is not None:
            at = self.cursor
            # Where its check is now, or, when it left the list, the row where it last was.
            self._highlight(self._cursor_at if at is None else at)
        self._repaint()

    def _repaint(self) -> None:
        """Repaint what changed on screen: only the lines whose cells (character or style)
        differ from what was last drawn, the whole widget when its height or its columns change
        (wide / narrow, the note, the sparkline column).

        Comparing what is drawn, not the data, leaves alone a row whose change is out of sight
        (an age at the end of a summary the ellipsis cuts at 80 columns). A changed line is
        sent whole (~300 B): Textual writes a line from the widget's left edge."""
        note = self._note
        rows = tuple(self._rows())
        wide = self.size.width >= WIDE
        sparks = any(row[4] for row in rows)
        key = (wide, rows, note.plain if note else None, self._cursor_id, sparks)
        if key == self._key:
            return
        old, self._key = self._key, key
        drawn, self._drawn = self._drawn, self._cells()
        if (old is None or old[0] != wide or old[2] != key[2] or old[4] != sparks
                or len(old[1]) != len(rows) or not rows or drawn is None
                or self._drawn is None or len(drawn) != len(self._drawn)):
            self.refresh(layout=True)
            return
        width = self.size.width
        lines = [y for y, (a, b) in enumerate(zip(drawn, self._drawn, strict=True)) if a != b]
        if lines:
            self.refresh(*(Region(0, y, width, 1) for y in lines))

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's lines with neighbouring cells of one style joined: a row goes out with one
        style sequence per run of a style instead of one per cell and gap (~1/3 fewer bytes per
        repainted row over SSH; the same cells)."""
        return [strip.simplify() for strip in super().render_lines(crop)]

    def on_resize(self, event: events.Resize) -> None:
        """A new size: Textual repaints it all; the next change is compared with nothing."""
        self._drawn = None

    def _cells(self) -> list[list[tuple[str, Style | None]]] | None:
        """What :meth:`render` draws at the current width, cell by cell: (character, style) per
        cell of each line, rendered the way Textual renders it (its console and options); None
        before the widget has a size."""
        width = self.size.width
        if width <= 0 or not self.is_attached:
            return None
        options = self.app.console_options.update(highlight=False, width=width, height=None)
        segments = self.app.console.render(self.render(), options)
        out: list[list[tuple[str, Style | None]]] = []
        for line in Segment.split_and_crop_lines(segments, width, include_new_lines=False,
                                                 pad=True):
            row: list[tuple[str, Style | None]] = []
            for segment in line:
                if segment.control:
                    continue
                for char in segment.text:
                    row.append((char, segment.style))
                    row.extend(("", segment.style) for _ in range(cell_len(char) - 1))
            out.append(row)
        return out

    def _rows(self) -> list[tuple[Status, str, str, str, str, str]]:
        wide = self.size.width >= WIDE
        return [
            (
                r.status,
                self._screen_label(r.screen, wide),
                r.title,
                cells.check_value(r) if wide else "",
                self._spark(r.id, SPARK_WIDE if wide else SPARK_NARROW),
                r.summary,
            )
            for r in self._results
        ]

    def _spark(self, check_id: str, width: int) -> str:
        """The check's last hour as ``width`` cells at most (str; "" before two samples: one
        block says nothing about a trend)."""
        samples = self._history.window(check_id, SPARK_WINDOW_S) if self._history else []
        if len(samples) < 2:
            return ""
        return sparkline(resample(samples, width), width)

    def _screen_label(self, screen_id: str, wide: bool) -> str:
        if not self._show_screen:
            return ""
        if wide:
            return self._titles.get(screen_id, screen_id)
        return self._keys.get(screen_id, " ")

    def render(self) -> RenderableType:
        """A rich Table sized to the widget (every cell is Text: no markup)."""
        wide = self.size.width >= WIDE
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=4, no_wrap=True)
        if self._show_screen:
            table.add_column(width=13 if wide else 1, no_wrap=True, overflow="ellipsis")
        table.add_column(ratio=2, no_wrap=True, overflow="ellipsis", max_width=44)
        if wide:
            table.add_column(width=13, no_wrap=True, justify="right", overflow="ellipsis")
        rows = self._rows()
        sparks = any(row[4] for row in rows)  # the column appears with the first trend
        if sparks:
            spark = SPARK_WIDE if wide else SPARK_NARROW
            table.add_column(width=spark, no_wrap=True, justify="right", overflow="crop")
        table.add_column(ratio=3, no_wrap=True, overflow="ellipsis")
        for result, (status, screen, title, value, spark_text, summary) in zip(
            self._results, rows, strict=True
        ):
            row: list[Text] = [cells.status_text(status)]
            if self._show_screen:
                row.append(Text(screen, style="dim"))
            row.append(Text(title))
            if wide:
                row.append(Text(value))
            if sparks:
                row.append(Text(spark_text, style="cyan"))
            row.append(Text(summary, style="dim" if result.error else ""))
            table.add_row(*row, style="reverse" if result.id == self._cursor_id else None)
        if not self._results:
            empty = [Text("") for _ in table.columns]
            empty[2 if self._show_screen else 1] = Text("no checks to show", style="dim")
            table.add_row(*empty)
        if self._note is None:
            return table
        grid = Table.grid(expand=True)
        grid.add_row(self._note)
        grid.add_row(table)
        return grid


class ChecksScroll(VerticalScroll):
    """A scrolling :class:`ChecksView`: arrows (and j/k) move its highlight, enter asks for the
    highlighted (else the worst) check's detail by posting :class:`ChecksScroll.Open`."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "highlight the previous check", show=False),
        Binding("down,j", "move(1)", "highlight the next check", show=False),
        Binding("enter", "open_check", "check detail"),
    ]

    class Open(Message):
        """Enter on a check: show its detail.

        Attributes:
            result: the check's latest result.
        """

        def __init__(self, result: CheckResult) -> None:
            super().__init__()
            self.result = result

    def action_move(self, step: int) -> None:
        """Move the highlight and keep it in view."""
        line = self.query_one(ChecksView).move_cursor(step)
        if line is not None:
            self.scroll_to_region(Region(0, line, 1, 1), animate=False, immediate=True)

    def action_open_check(self) -> None:
        """Ask for the highlighted (else the worst) check's detail."""
        result = self.query_one(ChecksView).selected()
        if result is not None:
            self.post_message(self.Open(result))
