"""The keyset-paged table panel: a status line over a DataTable of one TableSpec.

Pages load in an exclusive thread worker (one per panel) that posts :class:`PageLoaded`; a page
older than what is on screen is dropped, and rows are patched in place (tablesync). A worker
that fails shows its error on the status line, like a failed query, and the next reload tries
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.worker import Worker, get_current_worker

from opsconsole.catalog import TableSpec
from opsconsole.checks.monitor import ConnectionLost
from opsconsole.checks.tables import Cursor, Page
from opsconsole.render import cells
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.messages import DatabaseUnavailable, PageLoaded
from opsconsole.tui.widgets.line import TextLine
from opsconsole.tui.widgets.tablesync import cursor_key, sync_rows
from opsconsole.tui.workers import WorkerFailures

SLOW_QUERY_MS = 1000.0  # a table query slower than this shows its cost in the status line


class RowsTable(DataTable[Text]):
    """A DataTable whose enter says what it does here (the screen opens the row).

    DataTable measures its columns when idle, after the rows were added; a row drawn in
    between is cached at the old widths (under load, the cursor row came out cut to the
    column labels). When the measured widths change, the rows drawn before are dropped.
    """

    BINDINGS = [Binding("enter", "select_cursor", "open the row", show=False)]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._measured: tuple[int, ...] = ()

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw, first dropping the rows drawn before a column's width last changed."""
        widths = tuple(column.content_width for column in self.ordered_columns)
        if widths != self._measured:
            self._measured = widths
            self.notify_style_update()  # DataTable clears its cached row renders here
        return super().render_lines(crop)


class TablePanel(WorkerFailures, Vertical):
    """A status line and a DataTable over one keyset-paged TableSpec.

    Args:
        ctx: the console context (catalog, monitoring session, settings).
        spec: the table.
        params: drill-down parameters for the table's query.
    """

    @dataclass
    class Loaded(Message):
        """A page was applied to the panel, or its load failed (bubbles to the screen)."""

        panel: TablePanel

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
        """Status line above the table; the columns exist before any page can arrive (a page
        that came before the columns would be drawn at the width of their labels)."""
        yield TextLine(classes="panel-status")
        table = RowsTable(cursor_type="row", zebra_stripes=True)
        for column in self.spec.columns:
            label = Text(column.title or column.name)
            if column.kind in ("number", "age"):
                label.justify = "right"
            table.add_column(label, key=column.name)
        yield table

    @property
    def table(self) -> DataTable[Text]:
        """The panel's DataTable."""
        return self.query_one(RowsTable)

    @property
    def loaded(self) -> bool:
        """False until the first page (or its error) arrived."""
        return self.fetched_at is not None or self.error is not None

    def on_mount(self) -> None:
        """The first status line."""
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
            self.post_message(PageLoaded(generation, None, append, now, exc.message))
            self.app.post_message(DatabaseUnavailable(0, exc.message))
            return
        if not worker.is_cancelled:
            self.post_message(PageLoaded(generation, page, append, now))

    def worker_failed(self, worker: Worker[object], error: str) -> None:
        """A page load raised: show it like a failed query (the last rows stay)."""
        self._loading_more = False
        self.error = error
        self._show_status()
        self.post_message(self.Loaded(self))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.append:
            self._loading_more = False
        if message.generation <= self._applied:
            return  # stale: a newer result is already on screen
        self._applied = message.generation
        page = message.page
        if page is None or page.error:
            self.error = message.error or (page.error if page else None)
            self._show_status()
        else:
            self.error = None
            self.rows = self.rows + page.rows if message.append else list(page.rows)
            self.next = page.next
            self.fetched_at = message.fetched_at
            self.duration_ms = page.duration_ms
            self.show_rows()
        self.post_message(self.Loaded(self))

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
        if not self.loaded:
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
