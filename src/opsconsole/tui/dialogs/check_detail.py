"""The whole story of one check (issue 12, item 2): ``enter`` on a check, on the Overview or on
its screen, opens this dialog.

It shows the status and title, the full summary (or, when UNKNOWN, the error in full), the trend
(a sparkline of the chosen window and the change over it; ``t`` cycles 5 min / 15 min / 1 h /
24 h), the value, the thresholds and their direction, the last run's duration and the data's
age, the runbook hint, the source seed, every entry of the values map, and the statement from
``queries/`` (``c`` copies it, OSC 52). ``g`` (or ``o``) goes to the check's screen. It follows
the app's ``results`` and clock, so it stays current while open; it scrolls inside at 80x24.
Every value from the database is sanitised and rendered as Text (no markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from opsconsole import sanitize
from opsconsole.catalog import CheckSpec
from opsconsole.checks import CheckResult
from opsconsole.checks.history import History
from opsconsole.render import cells
from opsconsole.render.detail import (
    run_params,
    statement_copy,
    statement_text,
    thresholds_text,
    values_rows,
)
from opsconsole.render.trend import WINDOWS_S, change_text, resample, sparkline, window_label
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.widgets.footer import ConsoleFooter

LABEL_WIDTH = 11
SPARK_CELLS = 36
DEFAULT_WINDOW = 1  # 15 min
OPEN_SCREEN = "open-screen"


class CheckDetail(ModalScreen[str | None]):
    """One check in full; dismisses with :data:`OPEN_SCREEN` when ``g`` asks for its screen.

    Args:
        ctx: the console context (catalog for the spec and statement, history for the trend).
        result: the check's latest result (the dialog then follows the app's ``results``).
        origin: the screen id it was opened from ("overview" or the check's own screen).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "close"),
        Binding("q", "close", "close", show=False),
        Binding("c", "copy_statement", "copy statement"),
        Binding("t", "cycle_window", "trend window"),
        Binding("g,o", "open_screen", "open its screen"),
        Binding("r", "app.refresh", "refresh"),  # a modal hides the app's keys: watch it move
    ]

    def __init__(self, ctx: ConsoleContext, result: CheckResult, origin: str) -> None:
        super().__init__()
        self.ctx, self.result, self.origin = ctx, result, origin
        self.spec = _spec(ctx, result.id)
        self.window_at = DEFAULT_WINDOW
        self.now: datetime = result.checked_at

    @property
    def window_s(self) -> float:
        """The trend window on show, in seconds."""
        return WINDOWS_S[self.window_at]

    def compose(self) -> ComposeResult:
        """Head, the facts, the ticking age line, the values and the statement; the Footer."""
        with VerticalScroll(id="detail-box"):
            yield Static(id="detail-top")
            yield Static(id="detail-ran")
            yield Static(id="detail-rest")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        """Draw, then follow the app's results and clock."""
        self.now = getattr(self.app, "now", None) or self.ctx.clock()
        self._draw()
        self.watch(self.app, "results", self._results_changed, init=False)
        self.watch(self.app, "now", self._now_changed, init=False)
        self.query_one("#detail-box").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``g`` only where the check's screen is not the one below; ``c`` with a statement."""
        if action == "open_screen":
            return self.result.screen != self.origin
        if action == "copy_statement":
            return self.result.query in self.ctx.catalog.queries
        return True

    def _results_changed(self, results: Sequence[CheckResult] | None) -> None:
        latest = next((r for r in results or () if r.id == self.result.id), None)
        if latest is not None:
            self.result = latest
            self._draw()

    def _now_changed(self, now: datetime | None) -> None:
        if now is not None:
            self.now = now
            self.query_one("#detail-ran", Static).update(self._ran())

    def _draw(self) -> None:
        self.query_one("#detail-top", Static).update(self._top())
        self.query_one("#detail-ran", Static).update(self._ran())
        self.query_one("#detail-rest", Static).update(self._rest())

    # -- the parts ---------------------------------------------------------------------------

    def _top(self) -> RenderableType:
        r = self.result
        head = Table.grid(expand=True)
        head.add_column(no_wrap=True, overflow="ellipsis")
        head.add_column(no_wrap=True, justify="right", overflow="ellipsis")
        title = cells.status_text(r.status) + Text("  ") + Text(sanitize.clean(r.title, None),
                                                              style="bold")
        head.add_row(title, Text(r.id, style="dim"))
        grid = _grid()
        if r.error:
            grid.add_row(_label("Error"), Text(sanitize.clean(r.error, None), style="red"))
        else:
            grid.add_row(_label("Summary"), Text(sanitize.clean(r.summary, None)))
        if not r.installed:
            grid.add_row(_label(""), Text("its subsystem is not installed here", style="dim"))
        grid.add_row(_label("Trend"), self._trend())
        grid.add_row(_label("Value"), Text(cells.check_value(r)))
        if self.spec is not None:
            grid.add_row(_label("Thresholds"), Text(thresholds_text(self.spec)))
        return _stack(head, grid)

    def _trend(self) -> Text:
        history: History = self.ctx.history
        label = window_label(self.window_s)
        samples = history.window(self.result.id, self.window_s, since_start=True)
        text = Text()
        if len(samples) < 2:
            text.append("no history yet: the trend shows after a few refreshes", style="dim")
        else:
            text.append(sparkline(resample(samples, SPARK_CELLS), SPARK_CELLS), style="cyan")
            change = change_text(history.delta(self.result.id, self.window_s), self.result.unit)
            text.append(f"  {change or 'no values'}")
        text.append(f"\nlast {label} · t: ", style="dim")
        text.append(" / ".join(window_label(w) for w in WINDOWS_S), style="dim")
        return text

    def _ran(self) -> RenderableType:
        r = self.result
        age_s = (self.now - r.checked_at).total_seconds()
        text = Text(f"{r.duration_ms:.1f} ms · data {cells.age_text(max(age_s, 0.0))}")
        text.append(f" (at {r.checked_at:%H:%M:%S} UTC)", style="dim")
        cadence = self.spec.cadence_s if self.spec else None
        if cadence:
            text.append(f" · refreshed every {window_label(cadence)}", style="dim")
        grid = _grid()
        grid.add_row(_label("Last run"), text)
        return grid

    def _rest(self) -> RenderableType:
        r = self.result
        grid = _grid()
        grid.add_row(_label("Runbook"), Text(sanitize.clean(r.runbook, None)))
        grid.add_row(_label("Source"), Text(sanitize.clean(r.source, None)))
        rows = values_rows(r)
        grid.add_row(_label("Values"), _values(rows) if rows else Text("none", style="dim"))
        grid.add_row(_label("Statement"), self._statement())
        return grid

    def _statement(self) -> RenderableType:
        query = self.ctx.catalog.queries.get(self.result.query)
        where = Text(self.result.query)
        if query is None:
            return where.append("  (not in this catalog)", style="dim")
        where.append(f" · {self.ctx.catalog.location(query.ref)}", style="dim")
        return _stack(where, Text(statement_text(query)))

    # -- keys --------------------------------------------------------------------------------

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)

    def action_open_screen(self) -> None:
        """Close and go to the check's screen (escape there returns to the Overview)."""
        self.dismiss(OPEN_SCREEN)

    def action_cycle_window(self) -> None:
        """The next trend window: 5 min, 15 min, 1 h, 24 h."""
        self.window_at = (self.window_at + 1) % len(WINDOWS_S)
        self.query_one("#detail-top", Static).update(self._top())

    def action_copy_statement(self) -> None:
        """Copy the statement (with its parameters as comments) to the clipboard and say so."""
        query = self.ctx.catalog.queries.get(self.result.query)
        if query is None:
            return
        params: dict[str, Any] = (
            run_params(self.spec, self.result.checked_at) if self.spec else {})
        text = statement_copy(self.result, query, self.ctx.catalog.location(query.ref), params)
        self.app.copy_to_clipboard(text)
        lines = text.count("\n")
        self.notify(f"copied the statement {query.ref} ({lines} lines) to the clipboard",
                    markup=False)


def open_check_detail(
    screen: Screen[Any], ctx: ConsoleContext, result: CheckResult, origin: str
) -> None:
    """Push the detail of ``result`` over ``screen``; ``g`` there switches to the check's
    screen, with escape there going back to ``origin``."""

    def done(answer: str | None) -> None:
        if answer == OPEN_SCREEN:
            screen.app.call_later(screen.app.run_action,
                                  f"goto('{result.screen}', '{origin}')")

    screen.app.push_screen(CheckDetail(ctx, result, origin), done)


def _spec(ctx: ConsoleContext, check_id: str) -> CheckSpec | None:
    return next((c for _, c in ctx.catalog.checks() if c.id == check_id), None)


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=LABEL_WIDTH, no_wrap=True, style="bold")
    grid.add_column(ratio=1, overflow="fold")
    return grid


def _label(text: str) -> Text:
    return Text(text, style="bold")


def _stack(*parts: RenderableType) -> Table:
    grid = Table.grid(expand=True)
    grid.add_column(overflow="fold")
    for part in parts:
        grid.add_row(part)
    return grid


def _values(rows: list[tuple[str, str]]) -> Table:
    """Key and value per line, the whole key and value (folded, never cut)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(overflow="fold")
    grid.add_column(overflow="fold", justify="right")
    for key, value in rows:
        grid.add_row(Text(key), Text(value))
    return grid


__all__ = ["OPEN_SCREEN", "CheckDetail", "open_check_detail"]
