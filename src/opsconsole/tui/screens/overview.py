"""The Overview: every check of every screen, worst first, each with a short sparkline; enter on
the highlighted check opens its detail, whose ``g`` opens the check's screen (escape there
comes back here); the digit keys open screens directly."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult

from opsconsole.checks import CheckResult, Status, worst_first
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.dialogs.check_detail import open_check_detail
from opsconsole.tui.keys import OVERVIEW_ID
from opsconsole.tui.screens.base import BaseScreen
from opsconsole.tui.widgets.checks import ChecksScroll, ChecksView
from opsconsole.tui.widgets.line import TextLine

__all__ = ["ChecksScroll", "OverviewScreen", "totals_text"]


class OverviewScreen(BaseScreen):
    """Every check of every screen, worst first (subsystems not installed last)."""

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx, OVERVIEW_ID, id="screen-overview")
        self._filter = ""

    def compose_body(self) -> ComposeResult:
        """Totals line and the scrollable list of checks."""
        yield TextLine(id="totals")
        with ChecksScroll(id="overview-scroll"):
            yield ChecksView(show_screen=True, history=self.ctx.history, id="overview-checks")

    @on(ChecksScroll.Open)
    def _open_check(self, event: ChecksScroll.Open) -> None:
        """Enter on a check: its detail (``g`` there opens its screen)."""
        open_check_detail(self, self.ctx, event.result, OVERVIEW_ID)

    def show_results(self) -> None:
        """Render every result, worst first, with the totals."""
        self._redraw()

    def ordered(self) -> list[CheckResult]:
        """The results worst first, those of absent subsystems last."""
        ordered = worst_first(self.results)
        return [r for r in ordered if r.installed] + [r for r in ordered if not r.installed]

    def apply_filter(self, text: str) -> None:
        """Keep checks whose screen, title or summary contain ``text``."""
        self._filter = text
        self._redraw()

    def focus_body(self) -> None:
        """Focus the scrollable list."""
        self.query_one("#overview-scroll").focus()

    def _redraw(self) -> None:
        low = self._filter.lower()
        results = self.ordered()
        shown = [
            r for r in results
            if not low or low in f"{r.screen} {r.title} {r.summary} {r.id}".lower()
        ]
        titles = {e.id: e.title for e in self.ctx.screens}
        keys = {e.id: e.key for e in self.ctx.screens if e.key}
        for view in self.query(ChecksView):  # none while composed or torn down
            view.show(shown, titles, self.note, keys)
        for line in self.query("#totals").results(TextLine):
            line.set_text(totals_text(results, self._filter))


def totals_text(results: Sequence[CheckResult], filter_text: str) -> Text:
    """``2 CRIT · 1 WARN · 3 UNKN · 20 OK`` for the Overview (Text)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" ")
    if not results:
        return text.append("waiting for the first refresh…", style="dim")
    for status in (Status.CRITICAL, Status.WARNING, Status.UNKNOWN, Status.OK):
        count = sum(1 for r in results if r.status is status and r.installed)
        text.append(f"{count} {status.name}", style="bold" if count and status else "")
        text.append(" · ")
    absent = sum(1 for r in results if not r.installed)
    if absent:
        text.append(f"{absent} not installed · ", style="dim")
    text.append("worst first", style="dim")
    if filter_text:
        text.append(f" · filter “{filter_text}”", style="bold")
    return text
