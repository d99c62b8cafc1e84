"""The keyset-paged table panel: a status line over a DataTable of one TableSpec.

Pages load in an exclusive thread worker (one per panel) that posts :class:`PageLoaded`; a page
older than what is on screen is dropped, and rows are patched in place (tablesync). A worker
that fails shows its error on the status line, like a failed query, and the next reload tries
again; the error is also shown whole, wrapped, under the status line.

The loaded rows can be sorted by a column (:meth:`TablePanel.cycle_sort`) and filtered by text;
a filter that looks like an id of the table's key type also asks the server for that row
(the table's ``find`` query), so a search by id reaches every row, not only the loaded ones.
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
from textual.widgets import DataTable, Static
from textual.worker import Worker, get_current_worker

from opsconsole import sanitize
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


@dataclass
class RowFound(Message, bubble=False):
    """A search by id came back (posted to its panel): the row, or None, or an error."""

    row_id: Any
    row: dict[str, Any] | None
    error: str | None = None


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

    DEFAULT_CSS = """
    TablePanel > .panel-error {
        height: auto;
        max-height: 6;
        color: $text-error;
        display: none;
    }
    TablePanel > .panel-error.-shown {
        display: block;
    }
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
        self.sort_by: str | None = None
        self.sort_desc = False
        self.found: dict[str, Any] | None = None  # the row a search by id found on the server
        self.finding: Any = None  # the id being searched (None: no search)
        self.find_error: str | None = None
        self.searched: Any = None  # the id whose search came back

    def compose(self) -> ComposeResult:
        """Status line above the table; the columns exist before any page can arrive (a page
        that came before the columns would be drawn at the width of their labels)."""
        yield TextLine(classes="panel-status")
        yield TextLine(classes="panel-view")
        yield Static("", classes="panel-error", markup=False)
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

    def shown_rows(self) -> list[dict[str, Any]]:
        """The rows to show: the loaded ones sorted, then the row found by id (list[dict])."""
        rows = list(self.rows)
        if self.sort_by is not None:
            name = self.sort_by
            rows.sort(key=lambda r: cells.sort_key(r.get(name)), reverse=self.sort_desc)
            if self.sort_desc:  # None stays last either way
                rows.sort(key=lambda r: r.get(name) is None)
        if self.found is not None and cells.row_key(self.found) not in {
            cells.row_key(r) for r in rows
        }:
            rows.insert(0, self.found)
        return rows

    def show_rows(self) -> None:
        """Render the loaded rows (sorted, filtered) into the table, patching in place."""
        now = self.ctx.clock()
        rows = self.shown_rows()
        tails = cells.id_tails(self.spec.columns, rows)
        wanted = []
        for row in rows:
            row_cells = cells.row_cells(self.spec.columns, row, now, tails)
            if (not self.filter or row is self.found or cells.matches(row_cells, self.filter)
                    or str(row.get("id")) == self.filter.strip()):
                wanted.append((cells.row_key(row), row_cells))
        sync_rows(self.table, wanted, self._columns)
        self._show_status()

    def set_filter(self, text: str) -> None:
        """Show only rows containing ``text`` (case-insensitive; "" shows all).

        Text that looks like an id of the table's key type (and a table with a ``find``
        query) also asks the server for that row: it is shown even when not loaded.
        """
        if text == self.filter:
            return
        self.filter = text
        row_id = cells.as_id(self.spec.columns, text) if self.spec.find else None
        if row_id != self.finding:
            self.finding, self.found, self.find_error = row_id, None, None
            if row_id is not None:
                self._find(row_id)
        self.show_rows()

    @property
    def searches_by_id(self) -> bool:
        """Whether an id typed in the filter is looked up in the whole table (bool)."""
        return self.spec.find is not None

    def filter_hint(self) -> str:
        """What ``/`` does here, for the filter bar's placeholder (str)."""
        more = " (more on the server)" if self.next else ""
        hint = f"filter the {len(self.rows)} loaded rows{more}"
        if self.searches_by_id:
            hint += "; an id searches the whole table"
        return hint + " · enter keeps, esc clears"

    @work(thread=True, exclusive=True, group="find", exit_on_error=False)
    def _find(self, row_id: Any) -> None:
        try:
            page = self.ctx.find_row(self.spec, row_id)
        except ConnectionLost as exc:
            self.post_message(RowFound(row_id, None, exc.message))
            return
        self.post_message(RowFound(row_id, page.rows[0] if page.rows else None, page.error))

    @on(RowFound)
    def _row_found(self, message: RowFound) -> None:
        if message.row_id != self.finding:
            return  # the filter changed since
        self.found, self.searched = message.row, message.row_id
        self.find_error = message.error
        self.show_rows()

    def cycle_sort(self) -> None:
        """Sort the loaded rows by the next column: each column ascending, then descending,
        then the query's own order again."""
        names = self._columns
        if self.sort_by is None:
            self.sort_by, self.sort_desc = names[0], False
        elif not self.sort_desc:
            self.sort_desc = True
        else:
            index = names.index(self.sort_by) + 1
            self.sort_by, self.sort_desc = (names[index], False) if index < len(names) else (
                None, False)
        self.show_rows()

    def sort_label(self) -> str | None:
        """``age ↓``: the sort column's title and direction, or None (the query's order)."""
        if self.sort_by is None:
            return None
        column = next(c for c in self.spec.columns if c.name == self.sort_by)
        return f"{column.title or column.name} {'↓' if self.sort_desc else '↑'}"

    def selected_row(self) -> dict[str, Any] | None:
        """The raw row under the cursor (dict), or None."""
        key = cursor_key(self.table)
        rows = self.rows if self.found is None else [self.found, *self.rows]
        return next((r for r in rows if cells.row_key(r) == key), None)

    @on(DataTable.RowHighlighted)
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if not self.filter and event.cursor_row >= self.table.row_count - 1:
            self.load_more()

    def status_text(self) -> Text:
        """The status line: row count and more, or the error and the age of the last data."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.spec.title, style="bold")
        if not self.loaded:
            text.append(" · loading…")
            return text
        more = ", more below" if self.next else ""
        text.append(f" · {len(self.rows)} rows{more}")
        if self.duration_ms >= SLOW_QUERY_MS:
            text.append(f" · slow query {self.duration_ms / 1000:.1f} s", style="bold yellow")
        if self.error:
            text.append(" · ")
            text.append(self.error, style="bold red")
            if self.fetched_at is not None:
                age = (self.ctx.clock() - self.fetched_at).total_seconds()
                text.append(" · showing data " + cells.age_text(age))
        return text

    def view_text(self) -> Text:
        """The line under the status while the rows are sorted or filtered ("" otherwise):
        ``sorted by age ↓ · filter “x”: 3 shown of 50 loaded · found by id``."""
        text = Text(no_wrap=True, overflow="ellipsis", style="bold")
        parts = []
        sort = self.sort_label()
        if sort:
            parts.append(f"sorted by {sort}")
        if self.filter:
            shown = self.table.row_count if self.is_mounted else len(self.rows)
            needle = sanitize.clean(self.filter, 12 if self.finding is not None else 40)
            parts.append(f"filter “{needle}”: {shown} shown of {len(self.rows)} loaded")
            if self.finding is not None:
                parts.append(self._search_state())
        text.append(" · ".join(parts))
        return text

    def _search_state(self) -> str:
        if self.searched != self.finding:
            return "searching by id…"
        if self.found is not None:
            return "found by id"
        return "id search failed" if self.find_error else "no such id"

    def _show_status(self) -> None:
        self.query_one(".panel-status", TextLine).set_text(self.status_text())
        view = self.query_one(".panel-view", TextLine)
        view.set_text(self.view_text())
        view.display = bool(view.text.plain)
        error = self.query_one(".panel-error", Static)
        if self.error:
            error.update(Text(sanitize.clean(self.error, None)))
        error.set_class(bool(self.error), "-shown")
