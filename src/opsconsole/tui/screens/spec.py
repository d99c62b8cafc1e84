"""The generic screen that renders one ScreenSpec: its checks above its tables.

With several tables one is shown at a time (``[`` / ``]`` switch). The checks sit in a
scrolling list that ``i`` focuses (and ``i`` or escape leaves for the table again): there the
arrows move a highlight and enter opens the check's detail, while enter on the table still opens
its row. Each spec gets its own
screen class whose ``BINDINGS`` are its actions' keys (:func:`spec_screen`), so the Footer and
help show them through Textual's public binding machinery. An action opened before its table
has loaded (from the palette, on first use) waits for the table, then takes its highlighted row.
"""

from __future__ import annotations

import types

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Static

from opsconsole import sanitize
from opsconsole.catalog import ActionRef, ScreenSpec, TableSpec
from opsconsole.tui.action_dialog import open_action
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.dialogs.check_detail import open_check_detail
from opsconsole.tui.keys import action_bindings
from opsconsole.tui.screens.base import BaseScreen
from opsconsole.tui.widgets.checks import ChecksScroll, ChecksView
from opsconsole.tui.widgets.line import TextLine
from opsconsole.tui.widgets.table import TablePanel

STRIP_HINT = "   [ ] switch"
CHECKS_HINT = "i checks · enter detail"


class SpecScreen(BaseScreen):
    """The generic screen rendering one ScreenSpec: its checks and its non-hidden tables.

    Use :func:`spec_screen` to build one: it adds the spec's action keys to the class.
    """

    BINDINGS = [
        Binding("left_square_bracket", "switch_table(-1)", "previous table", show=False),
        Binding("right_square_bracket", "switch_table(1)", "next table", show=False),
        # not in the Footer (the actions' keys are, and help): the list's border says it
        Binding("i", "focus_checks", "checks list (enter: detail)", show=False),
    ]

    def __init__(self, ctx: ConsoleContext, spec: ScreenSpec) -> None:
        super().__init__(ctx, spec.id, id=f"screen-{spec.id}")
        self.spec = spec
        self.visible_tables: list[TableSpec] = [t for t in spec.tables if not t.hidden]
        self.pending_action: str | None = None

    @property
    def actions(self) -> list[ActionRef]:
        """The spec's actions."""
        return list(self.spec.actions)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``[`` / ``]`` exist only on screens with several tables."""
        if action == "switch_table":
            return len(self.visible_tables) > 1
        if action == "focus_checks":
            return bool(self.spec.checks)
        return super().check_action(action, parameters)

    def compose_body(self) -> ComposeResult:
        """Checks, the table strip (several tables) and the tables."""
        if self.spec.checks:
            with ChecksScroll(id="checks-scroll") as scroll:
                scroll.border_subtitle = CHECKS_HINT
                yield ChecksView(history=self.ctx.history, id="checks")
        if len(self.visible_tables) > 1:
            yield TextLine(id="table-strip")
        if not self.visible_tables:
            yield Static(Text(" no tables on this screen", style="dim"), id="no-tables")
            return
        with ContentSwitcher(initial="table-0", id="tables"):
            for i, spec in enumerate(self.visible_tables):
                yield TablePanel(self.ctx, spec, id=f"table-{i}")

    def on_mount(self) -> None:
        """Draw the table strip; leave the checks list when the screen is left."""
        self._show_strip()
        self.watch(self.app, "screen_id", self._leaving_checks, init=False)

    def _leaving_checks(self, screen_id: str | None) -> None:
        """Back on this screen later, the table has the focus again (and escape goes back)."""
        scrolls = self.query(ChecksScroll)
        if screen_id != self.spec.id and scrolls and scrolls.first(ChecksScroll).has_focus:
            self._focus_table()

    def show_results(self) -> None:
        """Show this screen's checks, in spec order."""
        mine = [r for r in self.results if r.screen == self.spec.id]
        for view in self.query(ChecksView):  # none while composed or torn down
            view.show(mine, {}, self.note)

    def action_focus_checks(self) -> None:
        """``i``: into the checks list (highlighting the first check), or back to the table."""
        scrolls = self.query(ChecksScroll)
        if not scrolls:
            return
        scroll = scrolls.first(ChecksScroll)
        if scroll.has_focus:
            self._focus_table()
            return
        if scroll.query_one(ChecksView).cursor is None:
            scroll.action_move(0)
        self.set_focus(scroll)  # now, not after queued keys: an enter typed next lands here

    def _focus_table(self) -> None:
        panel = self.active_panel()
        if panel is not None:
            self.set_focus(panel.table)

    async def action_back(self) -> None:
        """Escape in the checks list goes back to the table; elsewhere as on every screen."""
        scrolls = self.query(ChecksScroll)
        if scrolls and scrolls.first(ChecksScroll).has_focus and self.active_panel():
            self._focus_table()
            return
        await super().action_back()

    @on(ChecksScroll.Open)
    def _open_check(self, event: ChecksScroll.Open) -> None:
        """Enter on a check: its detail."""
        open_check_detail(self, self.ctx, event.result, self.spec.id)

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
        index = int((self.query_one(ContentSwitcher).current or "table-0").split("-")[1])
        self.show_table((index + step) % len(self.visible_tables))

    def show_table(self, index: int) -> TablePanel | None:
        """Bring table ``index`` (of the visible tables) into view, reload and focus it."""
        switcher = self.query_one(ContentSwitcher)
        if switcher.current == f"table-{index}":
            return self.active_panel()
        self.clear_filter()
        switcher.current = f"table-{index}"
        self._show_strip()
        panel = self.active_panel()
        if panel is not None:
            panel.reload()
            panel.table.focus()
        return panel

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

    def action_open_action(self, name: str) -> None:
        """Open the guarded action ``name`` on the highlighted row of its table.

        The action's table is brought into view first; while it has not loaded yet (the
        screen was just opened from the palette), the action waits for it.
        """
        ref = next((a for a in self.spec.actions if a.name == name), None)
        if ref is None:
            self.notify(f"{name}: not an action of the {self.spec.title} screen",
                        severity="error", markup=False)
            return
        hidden = next((t for t in self.spec.tables if t.hidden and t.id == ref.table), None)
        if hidden is not None:
            self.notify(f"{name}: offered on the drill-down “{hidden.title}”: open a row of "
                        "the table above it (enter), then its key there", severity="warning",
                        markup=False)
            return
        panel = self._panel_for(ref)
        if ref.params and panel is not None and not panel.loaded:
            self.pending_action = name
            return
        open_action(self.app, self.spec, ref, panel.selected_row() if panel else None)

    def _panel_for(self, ref: ActionRef) -> TablePanel | None:
        if ref.table is None:
            return self.active_panel()
        index = next((i for i, t in enumerate(self.visible_tables) if t.id == ref.table), None)
        return None if index is None else self.show_table(index)

    @on(TablePanel.Loaded)
    def _table_loaded(self, event: TablePanel.Loaded) -> None:
        name, self.pending_action = self.pending_action, None
        if name is not None:
            self.action_open_action(name)


def spec_screen(ctx: ConsoleContext, spec: ScreenSpec) -> SpecScreen:
    """A screen for ``spec`` whose class binds the spec's action keys.

    Textual merges a class's ``BINDINGS`` when the class is created, so the keys a spec
    declares get a class of their own (named after the spec) rather than a patched instance.
    """
    namespace = {"BINDINGS": action_bindings(spec), "__module__": __name__}
    cls = types.new_class(f"SpecScreen_{spec.id}", (SpecScreen,), {},
                          lambda ns: ns.update(namespace))
    screen: SpecScreen = cls(ctx, spec)
    return screen
