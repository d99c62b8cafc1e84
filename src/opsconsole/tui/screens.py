"""The console's screens: Overview, one generic screen per ScreenSpec, and drill-downs.

Every screen has the connection header, a filter bar (``/``) and the footer. A spec screen shows
its checks above its tables; with several tables one is shown at a time (``[`` / ``]`` switch).
Enter on a row drills down (``spec.drill``) or shows the row in full; escape goes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Static

from opsconsole import sanitize
from opsconsole.catalog import ActionRef, ScreenSpec, TableSpec
from opsconsole.checks import CheckResult, Status, worst_first
from opsconsole.tui.action_dialog import open_action
from opsconsole.tui.context import ConsoleContext, Host
from opsconsole.tui.dialogs import RowDetail
from opsconsole.tui.header import HeaderBar
from opsconsole.tui.line import TextLine
from opsconsole.tui.widgets import ChecksView, TablePanel

STRIP_HINT = "   [ ] switch"


class BaseScreen(Screen[None]):
    """Header, body, filter bar and footer; subclasses provide the body."""

    BINDINGS = [
        Binding("slash", "start_filter", "filter"),
        Binding("escape", "back", "back", show=False),
        Binding("tab", "app.next_screen", "next screen", show=False),
        Binding("shift+tab", "app.prev_screen", "previous screen", show=False),
    ]

    def __init__(self, ctx: ConsoleContext, **kw: Any) -> None:
        super().__init__(**kw)
        self.ctx = ctx

    @property
    def title_text(self) -> str:
        """The screen's name, for help and the palette."""
        return "Overview"

    @property
    def actions(self) -> list[ActionRef]:
        """Guarded actions offered on this screen (none by default)."""
        return []

    def compose(self) -> ComposeResult:
        """Header, body, filter bar, footer."""
        yield HeaderBar()
        yield from self.compose_body()
        yield Input(placeholder="filter rows (enter: keep, esc: clear)", id="filter")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    @property
    def header(self) -> HeaderBar | None:
        """The header widget, or None while the screen is being composed or torn down (the
        once-a-second header tick can land in between)."""
        found = self.query(HeaderBar)
        return found.first() if found else None

    def on_screen_resume(self) -> None:
        """Ask the app for the current header, results and fresh data."""
        cast(Host, self.app).screen_shown(self)

    def show_results(self, results: Sequence[CheckResult], note: Text | None) -> None:
        """New check results (all of them); a screen shows those it cares about."""

    def refresh_data(self) -> None:
        """Reload this screen's tables (called on every refresh tick while visible)."""

    def panels(self) -> list[TablePanel]:
        """The table panels of this screen."""
        return list(self.query(TablePanel))

    def active_panel(self) -> TablePanel | None:
        """The table the filter and actions apply to."""
        panels = self.panels()
        return panels[0] if panels else None

    def apply_filter(self, text: str) -> None:
        """Filter the visible rows by substring."""
        panel = self.active_panel()
        if panel is not None:
            panel.set_filter(text)

    def action_start_filter(self) -> None:
        """Show the filter bar and focus it."""
        bar = self.query_one("#filter", Input)
        bar.display = True
        self.set_focus(bar)  # now, not after queued keys: typing right after "/" must land here

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.focus_body()

    def focus_body(self) -> None:
        """Focus the main widget (the active table)."""
        panel = self.active_panel()
        if panel is not None:
            panel.table.focus()

    def action_back(self) -> None:
        """Escape: clear the filter, else leave a drill-down."""
        bar = self.query_one("#filter", Input)
        if bar.display or bar.value:
            bar.value = ""
            bar.display = False
            self.apply_filter("")
            self.focus_body()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        panel = next((p for p in self.panels() if p.table is event.data_table), None)
        row = panel.selected_row() if panel else None
        if panel is None or row is None:
            return
        drill = panel.spec.drill
        if drill is None:
            self.app.push_screen(RowDetail(panel.spec, row))
            return
        target = self.ctx.catalog.tables()[drill.table]
        params = {name: row.get(column) for name, column in drill.params.items()}
        self.app.push_screen(DrillScreen(self.ctx, target, params, parent=self.title_text))


class ChecksScroll(VerticalScroll):
    """The Overview's scrolling list: arrows move a highlight, enter opens the check's screen."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "previous check", show=False),
        Binding("down,j", "move(1)", "next check", show=False),
        Binding("enter", "open_check", "open", show=False),
    ]

    def action_move(self, step: int) -> None:
        """Move the highlight and keep it in view."""
        line = self.query_one(ChecksView).move_cursor(step)
        if line is not None:
            self.scroll_to_region(Region(0, line, 1, 1), animate=False, immediate=True)

    def action_open_check(self) -> None:
        """Open the highlighted (else the worst) check's screen."""
        result = self.query_one(ChecksView).selected()
        if result is None:
            return
        screen = cast(BaseScreen, self.screen)
        if any(s.id == result.screen and s.key for s in screen.ctx.catalog.screens):
            cast(Host, self.app).goto(result.screen)
        else:
            self.notify(f"{result.title}: shown on the Overview only", timeout=3)


class OverviewScreen(BaseScreen):
    """Every check of every screen, worst first."""

    def compose_body(self) -> ComposeResult:
        """Totals line and the scrollable list of checks."""
        yield TextLine(id="totals")
        with ChecksScroll(id="overview-scroll"):
            yield ChecksView(show_screen=True, id="overview-checks")

    def on_mount(self) -> None:
        """The filter bar starts hidden."""
        self.query_one("#filter", Input).display = False
        self._results: list[CheckResult] = []
        self._note: Text | None = None
        self._filter = ""

    def show_results(self, results: Sequence[CheckResult], note: Text | None) -> None:
        """Render every result, worst first (absent subsystems last), with the totals."""
        ordered = worst_first(results)
        self._results = [r for r in ordered if r.installed] + [
            r for r in ordered if not r.installed
        ]
        self._note = note
        self._redraw()

    def apply_filter(self, text: str) -> None:
        """Keep checks whose screen, title or summary contain ``text``."""
        self._filter = text
        self._redraw()

    def focus_body(self) -> None:
        """Focus the scrollable list."""
        self.query_one("#overview-scroll").focus()

    def _redraw(self) -> None:
        low = self._filter.lower()
        shown = [
            r
            for r in self._results
            if not low or low in f"{r.screen} {r.title} {r.summary} {r.id}".lower()
        ]
        titles = {s.id: s.title for s in self.ctx.catalog.screens}
        keys = {s.id: s.key for s in self.ctx.catalog.screens if s.key}
        for view in self.query(ChecksView):  # none while composed or torn down
            view.show(shown, titles, self._note, keys)
        for line in self.query("#totals").results(TextLine):
            line.set_text(totals_text(self._results, self._filter))


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


class SpecScreen(BaseScreen):
    """The generic screen rendering one ScreenSpec: its checks and its non-hidden tables."""

    BINDINGS = [
        Binding("right_square_bracket", "switch_table(1)", "next table", show=False),
        Binding("left_square_bracket", "switch_table(-1)", "previous table", show=False),
    ]

    def __init__(self, ctx: ConsoleContext, spec: ScreenSpec) -> None:
        super().__init__(ctx, id=f"screen-{spec.id}")
        self.spec = spec
        self.visible_tables: list[TableSpec] = [t for t in spec.tables if not t.hidden]
        for ref in spec.actions:
            if ref.key:
                self._bindings.bind(ref.key, f"run_action('{ref.name}')", ref.name)

    @property
    def title_text(self) -> str:
        """The spec's title."""
        return self.spec.title

    @property
    def actions(self) -> list[ActionRef]:
        """The spec's actions."""
        return list(self.spec.actions)

    def compose_body(self) -> ComposeResult:
        """Checks, the table strip (several tables) and the tables."""
        if self.spec.checks:
            yield ChecksView(id="checks")
        if len(self.visible_tables) > 1:
            yield TextLine(id="table-strip")
        if not self.visible_tables:
            yield Static(Text(" no tables on this screen", style="dim"), id="no-tables")
            return
        with ContentSwitcher(initial="table-0", id="tables"):
            for i, spec in enumerate(self.visible_tables):
                yield TablePanel(self.ctx, spec, id=f"table-{i}")

    def on_mount(self) -> None:
        """Hide the filter bar, draw the table strip, focus the first table."""
        self.query_one("#filter", Input).display = False
        self._show_strip()
        self.focus_body()

    def show_results(self, results: Sequence[CheckResult], note: Text | None) -> None:
        """Show this screen's checks, in spec order."""
        if not self.spec.checks:
            return
        mine = [r for r in results if r.screen == self.spec.id]
        for view in self.query(ChecksView):  # none while composed or torn down
            view.show(mine, {}, note)

    def refresh_data(self) -> None:
        """Reload the visible table (the others reload when shown)."""
        panel = self.active_panel()
        if panel is not None:
            panel.reload()

    def active_panel(self) -> TablePanel | None:
        """The table shown in the switcher."""
        switchers = self.query(ContentSwitcher)
        current = switchers.first().current if switchers else None
        if not current:
            return None
        found = self.query(f"TablePanel#{current}")
        return found.first(TablePanel) if found else None

    def action_switch_table(self, step: int) -> None:
        """Show the next (1) or previous (-1) table of the screen."""
        if len(self.visible_tables) < 2:
            return
        if self.query_one("#filter", Input).value:
            self.action_back()
        switcher = self.query_one(ContentSwitcher)
        index = int((switcher.current or "table-0").split("-")[1])
        switcher.current = f"table-{(index + step) % len(self.visible_tables)}"
        self._show_strip()
        panel = self.active_panel()
        if panel is not None:
            panel.reload()
            panel.table.focus()

    def on_resize(self) -> None:
        """Fit the table strip to the new width."""
        self._show_strip()

    def _show_strip(self) -> None:
        strips = self.query("TextLine#table-strip")
        if len(self.visible_tables) < 2 or not strips:
            return
        active = self.active_panel()
        count = len(self.visible_tables)
        label_max = max(8, (self.app.size.width - len(STRIP_HINT) - 1) // count - 3)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, spec in enumerate(self.visible_tables):
            on_top = active is not None and active.spec.id == spec.id
            text.append(" " if i == 0 else " │ ")
            label = sanitize.clean(spec.title, label_max)
            text.append(label, style="bold reverse" if on_top else "dim")
        text.append(STRIP_HINT, style="dim")
        strips.first(TextLine).set_text(text)

    def action_run_action(self, name: str) -> None:
        """Open the guarded action ``name`` with the selected row of its table."""
        ref = next(a for a in self.spec.actions if a.name == name)
        row = None
        panel = self.active_panel()
        if ref.table is not None:
            match = [p for p in self.panels() if p.spec.id == ref.table]
            row = match[0].selected_row() if match else None
        elif panel is not None:
            row = panel.selected_row()
        open_action(self.app, self.spec, ref, row)


class DrillScreen(BaseScreen):
    """A hidden table opened from a row (e.g. a linkup's members); escape goes back."""

    def __init__(
        self, ctx: ConsoleContext, spec: TableSpec, params: dict[str, Any], *, parent: str
    ) -> None:
        super().__init__(ctx)
        self.spec, self.params, self.parent_title = spec, params, parent

    @property
    def title_text(self) -> str:
        """``Parent > table title``."""
        return f"{self.parent_title} > {self.spec.title}"

    def compose_body(self) -> ComposeResult:
        """Breadcrumb line and the table."""
        crumb = Text(no_wrap=True, overflow="ellipsis")
        crumb.append(f" {self.parent_title} › ", style="dim")
        crumb.append(self.spec.title, style="bold")
        for name, value in self.params.items():
            crumb.append(f" · {name}=", style="dim")
            crumb.append(sanitize.clean(value, 60))
        crumb.append("   esc back", style="dim")
        yield TextLine(crumb, id="crumb")
        yield TablePanel(self.ctx, self.spec, self.params, id="drill")

    def on_mount(self) -> None:
        """Hide the filter bar, load the first page, focus the table."""
        self.query_one("#filter", Input).display = False
        self.focus_body()

    def refresh_data(self) -> None:
        """Reload the drilled table."""
        self.query_one(TablePanel).reload()
