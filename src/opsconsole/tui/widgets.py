"""Widgets: the list of check results and the keyset-paged table panel.

Both compare what they would show with what is on screen and do nothing when it is the same.
The table panel loads pages in an exclusive thread worker (one per panel) and drops any page
older than what it already shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable
from textual.worker import get_current_worker

from opsconsole.catalog import TableSpec
from opsconsole.checks import CheckResult, Status
from opsconsole.checks.monitor import ConnectionLost
from opsconsole.checks.tables import Cursor, Page
from opsconsole.render import cells
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.line import TextLine
from opsconsole.tui.messages import DatabaseUnavailable, PageLoaded
from opsconsole.tui.tablesync import cursor_key, sync_rows

WIDE = 100  # at this width and above, extra columns (screen, value) are shown
SLOW_QUERY_MS = 1000.0  # a table query slower than this shows its cost in the status line


class ChecksView(Widget):
    """Check results as compact rows: status, title, summary (and screen, value when wide)."""

    DEFAULT_CSS = """
    ChecksView { height: auto; width: 1fr; }
    """

    def __init__(self, *, show_screen: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self._show_screen = show_screen
        self._results: list[CheckResult] = []
        self._titles: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._note: Text | None = None
        self._key: tuple[Any, ...] | None = None
        # The highlight follows a check, not a row: a refresh that reorders the list (worst
        # first) must not move it onto another check under the engineer's eyes.
        self._cursor_id: str | None = None
        self._cursor_at = 0

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
        note = self._note
        key = (self.size.width >= WIDE, tuple(self._rows()), note.plain if note else None,
               self._cursor_id)
        if key == self._key:
            return
        self._key = key
        self.refresh(layout=True)

    def _rows(self) -> list[tuple[Status, str, str, str, str]]:
        wide = self.size.width >= WIDE
        return [
            (
                r.status,
                self._screen_label(r.screen, wide),
                r.title,
                cells.check_value(r) if wide else "",
                r.summary,
            )
            for r in self._results
        ]

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
        table.add_column(ratio=3, no_wrap=True, overflow="ellipsis")
        for result, (status, screen, title, value, summary) in zip(
            self._results, self._rows(), strict=True
        ):
            row: list[Text] = [cells.status_text(status)]
            if self._show_screen:
                row.append(Text(screen, style="dim"))
            row.append(Text(title))
            if wide:
                row.append(Text(value))
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


class TablePanel(Vertical):
    """A status line and a DataTable over one keyset-paged TableSpec.

    Args:
        ctx: the console context (catalog, monitoring session, clock).
        spec: the table.
        params: drill-down parameters for the table's query.
    """

    DEFAULT_CSS = """
    TablePanel { height: 1fr; }
    TablePanel > .panel-status { color: $text-muted; }
    TablePanel > DataTable { height: 1fr; }
    """

    def __init__(
        self, ctx: ConsoleContext, spec: TableSpec, params: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.ctx, self.spec, self.params = ctx, spec, params
        self.rows: list[dict[str, Any]] = []
        self.next: Cursor | None = None
        self.fetched_at: datetime | None = None
        self.error: str | None = None
        self.filter = ""
        self.duration_ms = 0.0
        self._generation = 0
        self._applied = 0
        self._loading_more = False
        self._columns = [c.name for c in spec.columns]

    def compose(self) -> ComposeResult:
        """Status line above the table."""
        yield TextLine(classes="panel-status")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        yield table

    @property
    def table(self) -> DataTable[Text]:
        """The panel's DataTable."""
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        """Add the columns (labels are Text: no markup)."""
        for column in self.spec.columns:
            label = Text(column.title or column.name)
            if column.kind in ("number", "age"):
                label.justify = "right"
            self.table.add_column(label, key=column.name)
        self._show_status()

    def reload(self) -> None:
        """Re-read the rows loaded so far from the top (a refresh; supersedes a page load)."""
        self._loading_more = False
        self._generation += 1
        limit = max(self.spec.page_size, len(self.rows))
        self._fetch(self._generation, None, limit, append=False)

    def load_more(self) -> None:
        """Load the next keyset page, if there is one and none is loading."""
        if self.next is None or self._loading_more:
            return
        self._loading_more = True
        self._generation += 1
        self._fetch(self._generation, self.next, self.spec.page_size, append=True)

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _fetch(self, generation: int, cursor: Cursor | None, limit: int, *, append: bool) -> None:
        worker = get_current_worker()
        if worker.is_cancelled:
            return
        now = self.ctx.clock()
        try:
            page: Page = self.ctx.fetch_page(
                self.spec, cursor=cursor, limit=limit, params=self.params
            )
        except ConnectionLost as exc:
            self.post_message(
                PageLoaded(generation, None, append=append, fetched_at=now, error=exc.message)
            )
            self.app.post_message(DatabaseUnavailable(0, exc.message))
            return
        if not worker.is_cancelled:
            self.post_message(PageLoaded(generation, page, append=append, fetched_at=now))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        if message.append:
            self._loading_more = False
        if message.generation <= self._applied:
            return  # stale: a newer result is already on screen
        self._applied = message.generation
        page = message.page
        if page is None or page.error:
            self.error = message.error or (page.error if page else None)
            self._show_status()
            return
        self.error = None
        self.rows = self.rows + page.rows if message.append else list(page.rows)
        self.next = page.next
        self.fetched_at = message.fetched_at
        self.duration_ms = page.duration_ms
        self.show_rows()

    def show_rows(self) -> None:
        """Render the loaded rows (filtered) into the table, patching in place."""
        now = self.ctx.clock()
        wanted = []
        for row in self.rows:
            row_cells = cells.row_cells(self.spec.columns, row, now)
            if not self.filter or cells.matches(row_cells, self.filter):
                wanted.append((cells.row_key(row), row_cells))
        sync_rows(self.table, wanted, self._columns)
        self._show_status()

    def set_filter(self, text: str) -> None:
        """Show only rows containing ``text`` (case-insensitive; "" shows all)."""
        if text != self.filter:
            self.filter = text
            self.show_rows()

    def selected_row(self) -> dict[str, Any] | None:
        """The raw row under the cursor (dict), or None."""
        key = cursor_key(self.table)
        return next((r for r in self.rows if cells.row_key(r) == key), None)

    @on(DataTable.RowHighlighted)
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if not self.filter and event.cursor_row >= self.table.row_count - 1:
            self.load_more()

    def status_text(self) -> Text:
        """The status line: row count, more/filter, or the error and the age of the last data."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.spec.title, style="bold")
        if self.fetched_at is None and self.error is None:
            text.append(" · loading…")
            return text
        shown = self.table.row_count if self.is_mounted else len(self.rows)
        more = ", more below" if self.next else ""
        text.append(f" · {len(self.rows)} rows{more}")
        if self.filter:
            text.append(f" · filter “{self.filter}”: {shown} shown", style="bold")
        if self.duration_ms >= SLOW_QUERY_MS:
            text.append(f" · slow query {self.duration_ms / 1000:.1f} s", style="bold yellow")
        if self.error:
            text.append(" · ")
            text.append(self.error, style="bold red")
            if self.fetched_at is not None:
                age = (self.ctx.clock() - self.fetched_at).total_seconds()
                text.append(" · showing data " + cells.age_text(age))
        return text

    def _show_status(self) -> None:
        self.query_one(".panel-status", TextLine).set_text(self.status_text())
