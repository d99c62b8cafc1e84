"""The export dialog: choose CSV or JSON, then every row of the table's query is written to the
working folder through keyset pages (capped), with a progress bar; it says the path at the end.

The pages are read in a thread worker, one monitoring call per page (the refresh can run in
between); the file is written by :func:`opsconsole.checks.export.export`, atomically.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static

from opsconsole import sanitize
from opsconsole.catalog import TableSpec
from opsconsole.checks import export
from opsconsole.checks.monitor import ConnectionLost
from opsconsole.checks.tables import Cursor, Page
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.dialogs.row import Modal


@dataclass
class ExportProgress(Message):
    """Rows read so far (a later one replaces a pending one)."""

    rows: int

    def can_replace(self, message: Message) -> bool:
        """Only the latest count is worth drawing."""
        return isinstance(message, ExportProgress)


@dataclass
class ExportDone(Message):
    """The export finished (``done``) or failed (``error``)."""

    done: export.Exported | None
    error: str | None = None


class ExportDialog(Modal):
    """Export the table ``spec`` (with its drill-down ``params``) to ``folder``.

    Args:
        ctx: the console context (its monitoring session reads the pages).
        spec: the table.
        params: the drill-down parameters of its query (None: none).
        folder: where the file goes (default: the working folder).
        cap: the most rows written.
    """

    BINDINGS = [
        Binding("c", "start('csv')", "CSV"),
        Binding("j", "start('json')", "JSON"),
    ]

    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > #export-box {
        width: 76; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    ExportDialog #export-buttons { height: auto; }
    ExportDialog #export-buttons Button { margin-right: 2; }
    """

    def __init__(
        self, ctx: ConsoleContext, spec: TableSpec, params: dict[str, Any] | None = None,
        *, folder: Path | None = None, cap: int = export.DEFAULT_CAP,
    ) -> None:
        super().__init__()
        self.ctx, self.spec, self.params = ctx, spec, params
        self.folder = folder or Path.cwd()
        self.cap = cap
        self.cancel = threading.Event()
        self.running = False
        self.done: export.Exported | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        """Title, where it goes, the two formats, the progress bar and the status line."""
        with Vertical(id="export-box") as box:
            box.border_title = Text(f"Export · {sanitize.clean(self.spec.title, 50)}")
            yield Static(Text(f"every row of its query (at most {self.cap:,}), read by keyset "
                              f"pages, into {sanitize.clean(self.folder, None)}"),
                         id="export-what")
            with Horizontal(id="export-buttons"):
                yield Button("CSV (c)", id="export-csv", compact=True)
                yield Button("JSON (j)", id="export-json", compact=True)
                yield Button("Cancel", id="export-cancel", compact=True)
            yield ProgressBar(total=self.cap, id="export-progress", show_eta=False)
            yield Static(Text("choose a format; esc closes", style="dim"), id="export-status")

    def on_mount(self) -> None:
        """Focus CSV."""
        self.query_one("#export-csv", Button).focus()

    @on(Button.Pressed, "#export-csv")
    def _csv(self) -> None:
        self.action_start("csv")

    @on(Button.Pressed, "#export-json")
    def _json(self) -> None:
        self.action_start("json")

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.action_close()

    def action_start(self, fmt: export.Format) -> None:
        """Start the export as ``fmt`` ("csv" or "json"); once only."""
        if self.running or self.done is not None:
            return
        self.running = True
        for button in self.query("#export-buttons Button").results(Button):
            button.disabled = button.id != "export-cancel"
        path = export.export_path(self.folder, self.spec.id, fmt, self.ctx.clock())
        self._status(f"reading {self.spec.title}…")
        self.run_worker(lambda: self._work(path, fmt), thread=True, exclusive=True,
                        group="export")

    def _fetch(self, cursor: Cursor | None, limit: int) -> Page:
        return self.ctx.fetch_page(self.spec, cursor=cursor, limit=limit, params=self.params)

    def _read(self, rows: int) -> None:
        self.post_message(ExportProgress(rows))

    def _work(self, path: Path, fmt: export.Format) -> None:
        try:
            done = export.export(self._fetch, path, fmt, cap=self.cap, cancel=self.cancel,
                                 on_page=self._read)
        except OSError as exc:
            reason = sanitize.clean(exc.strerror or str(exc), 80)
            self.post_message(ExportDone(None, (
                f"export failed, nothing written: cannot write in {path.parent} ({reason}): "
                "start the console in a folder you can write to")))
            return
        except (export.ExportFailed, ConnectionLost) as exc:
            self.post_message(ExportDone(None, f"export failed, nothing written: {exc}"))
            return
        self.post_message(ExportDone(done))

    @on(ExportProgress)
    def _progress(self, message: ExportProgress) -> None:
        self.query_one(ProgressBar).update(progress=min(message.rows, self.cap))
        self._status(f"{message.rows:,} rows read…")

    @on(ExportDone)
    def _finished(self, message: ExportDone) -> None:
        self.running = False
        self.done, self.error = message.done, message.error
        self.query_one("#export-cancel", Button).label = "Close"
        if message.done is None:
            self._status(str(message.error), style="bold red")
            self.app.notify(str(message.error), severity="error", markup=False)
            return
        bar = self.query_one(ProgressBar)
        bar.update(total=max(message.done.rows, 1), progress=max(message.done.rows, 1))
        capped = f" (capped at {self.cap:,}: the table has more)" if message.done.capped else ""
        line = f"wrote {message.done.rows:,} rows to {message.done.path}{capped}"
        self._status(line, style="bold")
        self.app.notify(line, markup=False, timeout=10)

    def action_close(self) -> None:
        """Close; a running export stops after the page in flight (nothing is written)."""
        self.cancel.set()
        self.dismiss(None)

    def _status(self, line: str, style: str = "") -> None:
        self.query_one("#export-status", Static).update(Text(sanitize.clean(line, None),
                                                             style=style))
