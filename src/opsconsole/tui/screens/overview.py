"""The Overview: every check of every screen, worst first, with a highlight that opens the
check's screen (escape there comes back here)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region

from opsconsole.checks import CheckResult, Status, worst_first
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.keys import OVERVIEW_ID
from opsconsole.tui.screens.base import BaseScreen
from opsconsole.tui.widgets.checks import ChecksView
from opsconsole.tui.widgets.line import TextLine


class ChecksScroll(VerticalScroll):
    """The Overview's scrolling list: arrows move a highlight, enter opens the check's screen."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "highlight the previous check", show=False),
        Binding("down,j", "move(1)", "highlight the next check", show=False),
        Binding("enter", "open_check", "open the check's screen", show=False),
    ]

    def action_move(self, step: int) -> None:
        """Move the highlight and keep it in view."""
        line = self.query_one(ChecksView).move_cursor(step)
        if line is not None:
            self.scroll_to_region(Region(0, line, 1, 1), animate=False, immediate=True)

    async def action_open_check(self) -> None:
        """Open the highlighted (else the worst) check's screen; escape there returns here."""
        result = self.query_one(ChecksView).selected()
        if result is not None:
            await self.run_action(f"app.goto('{result.screen}', '{OVERVIEW_ID}')")


class OverviewScreen(BaseScreen):
    """Every check of every screen, worst first (subsystems not installed last)."""

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx, OVERVIEW_ID, id="screen-overview")
        self._filter = ""

    def compose_body(self) -> ComposeResult:
        """Totals line and the scrollable list of checks."""
        yield TextLine(id="totals")
        with ChecksScroll(id="overview-scroll"):
            yield ChecksView(show_screen=True, id="overview-checks")

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
