"""What every console screen has (header, tab bar, body, filter bar, Footer), and drill-downs.

A screen gets its data by watching the app's reactive state (``results``, ``checks_note``,
``interval_s``, ``screen_id``) and by handling :class:`ReloadTables`; it never calls into the
app object. Navigation goes through app actions (``app.goto``, ``app.go_back``).
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input

from opsconsole import sanitize
from opsconsole.catalog import ActionRef, TableSpec
from opsconsole.checks import CheckResult
from opsconsole.checks.export import json_value
from opsconsole.tui.action_dialog import open_action
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.dialogs.export import ExportDialog
from opsconsole.tui.dialogs.row import RowDetail
from opsconsole.tui.keys import action_bindings
from opsconsole.tui.messages import ReloadTables
from opsconsole.tui.widgets.footer import ConsoleFooter
from opsconsole.tui.widgets.header import HeaderBar
from opsconsole.tui.widgets.inputs import ConsoleInput
from opsconsole.tui.widgets.line import TextLine
from opsconsole.tui.widgets.table import TablePanel
from opsconsole.tui.widgets.tabs import ScreenTabs

TABLE_ACTIONS = ("sort", "copy_id", "copy_row", "export")


def _id_title(spec: TableSpec) -> str:
    """What a row's id is called in ``spec`` ("job id", "audit entry id")."""
    column = next((c for c in spec.columns if c.name == "id"), None)
    title = column.title if column and column.title else "id"
    keyed = column is not None and column.kind in ("id", "number") and title != "id"
    return f"{title} id" if keyed else title


class BaseScreen(Screen[None]):
    """Header, tab bar, body, filter bar and Footer; subclasses provide the body.

    Args:
        ctx: the console context.
        mode: the screen id this screen belongs to ("overview", a spec id; a drill-down
            belongs to the screen it was opened from).
    """

    BINDINGS = [
        Binding("slash", "start_filter", "filter"),
        Binding("s", "sort", "sort the loaded rows by the next column", show=False),
        Binding("c", "copy_id", "copy id", show=False),
        Binding("C", "copy_row", "copy the row as JSON", show=False),
        Binding("e", "export", "export the table to CSV or JSON", show=False),
        Binding("escape", "back", "back / clear the filter", show=False),
        Binding("tab", "app.next_screen", "next screen", show=False),
        Binding("shift+tab", "app.prev_screen", "previous screen", show=False),
    ]

    def __init__(self, ctx: ConsoleContext, mode: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.ctx, self.mode = ctx, mode
        self.results: list[CheckResult] = []
        self.note: Text | None = None
        self.interval_s = 5.0

    @property
    def title_text(self) -> str:
        """The screen's name, for help and the palette."""
        entry = self.ctx.entry(self.mode)
        return entry.title if entry else self.mode

    @property
    def actions(self) -> list[ActionRef]:
        """Guarded actions offered on this screen (none by default)."""
        return []

    def compose(self) -> ComposeResult:
        """Header, tab bar, body, filter bar, Footer."""
        yield HeaderBar()
        yield ScreenTabs(self.ctx.screens, self.mode)
        yield from self.compose_body()
        yield ConsoleInput(placeholder="filter rows (enter: keep, esc: clear)", id="filter",
                           compact=True)
        yield ConsoleFooter()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        """Hide the filter bar; follow the app's results, note, interval and current screen."""
        self._show_filter_bar(False)
        self.watch(self.app, "results", self._results_changed)
        self.watch(self.app, "checks_note", self._note_changed)
        self.watch(self.app, "interval_s", self._interval_changed)
        self.watch(self.app, "screen_id", self._screen_changed, init=False)
        self.focus_body()

    def _results_changed(self, results: Sequence[CheckResult] | None) -> None:
        self.results = list(results or ())
        self.show_results()

    def _note_changed(self, note: Text | None) -> None:
        self.note = note
        self.show_results()

    def _interval_changed(self, interval_s: float | None) -> None:
        self.interval_s = interval_s or self.interval_s

    def _screen_changed(self, screen_id: str | None) -> None:
        if screen_id != self.mode:
            self.clear_filter()  # a filter does not outlive its screen

    def show_results(self) -> None:
        """Show ``self.results`` and ``self.note`` (a screen shows the checks it cares about)."""

    def on_screen_resume(self) -> None:
        """Shown again: reload the tables whose data is older than the refresh interval."""
        now = self.ctx.clock()
        panel = self.active_panel()
        if panel is not None and (
            panel.fetched_at is None or self._older_than_interval(panel.fetched_at, now)
        ):
            panel.reload()

    def _older_than_interval(self, fetched_at: datetime, now: datetime) -> bool:
        return (now - fetched_at).total_seconds() >= self.interval_s

    @on(ReloadTables)
    def _reload_tables(self, message: ReloadTables) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        """Reload the table this screen shows."""
        panel = self.active_panel()
        if panel is not None:
            panel.reload()

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

    def _show_filter_bar(self, shown: bool) -> Input:
        """Show or hide the filter bar; hidden, it is also disabled so it never takes the focus
        (an invisible input would swallow the keys typed on the screen)."""
        bar = self.query_one("#filter", Input)
        bar.display = shown
        bar.disabled = not shown
        return bar

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The table keys (sort, copy, export) exist only where a table is shown."""
        if action in TABLE_ACTIONS:
            return self.active_panel() is not None
        return True

    def action_sort(self) -> None:
        """Sort the loaded rows by the next column (each column up, then down, then none)."""
        panel = self.active_panel()
        if panel is not None:
            panel.cycle_sort()
            label = panel.sort_label()
            self.notify(f"sorted by {label} (the loaded rows)" if label
                        else "in the query's order again", markup=False, timeout=3)

    def action_copy_id(self) -> None:
        """Copy the highlighted row's id to the clipboard (OSC 52) and say what was copied."""
        panel, row = self._selected()
        if panel is None or row is None:
            return
        value = str(row.get("id"))
        self.app.copy_to_clipboard(value)
        self.notify(f"copied {_id_title(panel.spec)}: {sanitize.clean(value, 60)}",
                    markup=False, timeout=4)

    def action_copy_row(self) -> None:
        """Copy the highlighted row as one JSON object (every column of the query)."""
        panel, row = self._selected()
        if panel is None or row is None:
            return
        text = json.dumps(row, default=json_value, ensure_ascii=False)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied the row as JSON ({len(row)} columns, {len(text)} characters) of "
                    f"{_id_title(panel.spec)} {sanitize.clean(row.get('id'), 40)}",
                    markup=False, timeout=4)

    def action_export(self) -> None:
        """Export every row of the table's query (keyset pages, capped) to CSV or JSON."""
        panel = self.active_panel()
        if panel is not None:
            self.app.push_screen(ExportDialog(self.ctx, panel.spec, panel.params))

    def _selected(self) -> tuple[TablePanel | None, dict[str, Any] | None]:
        panel = self.active_panel()
        row = panel.selected_row() if panel is not None else None
        if panel is not None and row is None:
            self.notify("no row selected: the table is empty", severity="warning",
                        markup=False)
        return panel, row

    def action_start_filter(self) -> None:
        """Show the filter bar and focus it; its placeholder says what it filters."""
        bar = self._show_filter_bar(True)
        panel = self.active_panel()
        if panel is not None:
            bar.placeholder = panel.filter_hint()
        self.set_focus(bar)  # now, not after queued keys: typing right after "/" must land here

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        self._show_filter_bar(False)
        self.focus_body()

    def focus_body(self) -> None:
        """Focus the main widget (the active table)."""
        panel = self.active_panel()
        if panel is not None:
            panel.table.focus()

    def clear_filter(self) -> bool:
        """Clear and hide the filter bar; returns True when there was something to clear."""
        bars = self.query("#filter").results(Input)
        bar = next(bars, None)
        if bar is None or not (bar.display or bar.value):
            return False
        bar.value = ""
        self._show_filter_bar(False)
        self.apply_filter("")
        self.focus_body()
        return True

    async def action_back(self) -> None:
        """Escape: clear the filter, else leave a drill-down, else back where we came from."""
        if self.clear_filter():
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            await self.run_action("app.go_back")

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
        self.app.push_screen(
            drill_screen(self.ctx, target, params, parent=self.title_text, mode=self.mode)
        )


class DrillScreen(BaseScreen):
    """A hidden table opened from a row (e.g. a linkup's members); escape goes back.

    Args:
        ctx: the console context.
        spec: the drilled table.
        params: its query's parameters, from the row.
        parent: the title of the screen it was opened from.
        mode: the screen id it belongs to (its parent's).
    """

    def __init__(
        self, ctx: ConsoleContext, spec: TableSpec, params: dict[str, Any], *, parent: str,
        mode: str,
    ) -> None:
        super().__init__(ctx, mode)
        self.spec, self.params, self.parent_title = spec, params, parent
        self.pending_action: str | None = None

    @property
    def title_text(self) -> str:
        """``Parent > table title``."""
        return f"{self.parent_title} > {self.spec.title}"

    @property
    def actions(self) -> list[ActionRef]:
        """The actions declared on this drill-down's table (e.g. replay one job)."""
        try:
            owner = self.ctx.owner(self.spec.id)
        except KeyError:
            return []
        return [a for a in owner.actions if a.table == self.spec.id]

    def action_open_action(self, name: str) -> None:
        """Open the action ``name`` on the highlighted row (waits for the first page)."""
        ref = next((a for a in self.actions if a.name == name), None)
        panel = self.active_panel()
        if ref is None or panel is None:
            return
        if not panel.loaded:
            self.pending_action = name
            return
        open_action(self.app, self.ctx.owner(self.spec.id), ref, panel.selected_row())

    @on(TablePanel.Loaded)
    def _table_loaded(self, event: TablePanel.Loaded) -> None:
        name, self.pending_action = self.pending_action, None
        if name is not None:
            self.action_open_action(name)

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


def drill_screen(
    ctx: ConsoleContext, spec: TableSpec, params: dict[str, Any], *, parent: str, mode: str,
) -> DrillScreen:
    """A DrillScreen whose class binds the keys of the actions declared on ``spec``'s table
    (Textual merges ``BINDINGS`` per class, as :func:`~opsconsole.tui.screens.spec.spec_screen`
    does for a screen's actions)."""
    try:
        bindings = action_bindings(ctx.owner(spec.id), table=spec.id)
    except KeyError:
        bindings = []
    if not bindings:
        return DrillScreen(ctx, spec, params, parent=parent, mode=mode)
    namespace = {"BINDINGS": bindings, "__module__": __name__}
    cls = types.new_class(f"DrillScreen_{spec.id.replace('.', '_')}", (DrillScreen,), {},
                          lambda ns: ns.update(namespace))
    screen: DrillScreen = cls(ctx, spec, params, parent=parent, mode=mode)
    return screen
