"""Keys from one place: the screens' navigation order, the bindings built from the specs, and
the help text built from the bindings that are active (so help cannot drift from the keys).

Screen keys (``1``-``9``, ``0``) come from each spec's ``key`` and are bound on the app; action
keys come from each spec's ``[[actions]]`` and become the ``BINDINGS`` of that spec's screen
class. Help and the Footer both read Textual's ``Screen.active_bindings``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from textual.binding import ActiveBinding, Binding
from textual.dom import DOMNode

from opsconsole.catalog import Catalog, ScreenSpec

OVERVIEW_ID = "overview"
OVERVIEW_KEY = "1"
KEY_ROW = "1234567890"  # the order of screens on the tab bar: the keyboard's digit row
NAVIGATION_ACTIONS = ("next_screen", "prev_screen", "screens")


@dataclass(frozen=True)
class ScreenEntry:
    """One screen of the console, for navigation, the tab bar, the palette and help.

    Attributes:
        id: the mode name: "overview" or the spec's id.
        title: the name shown ("Jobs").
        key: the key that opens it ("3"; "" when it has none).
        spec: the screen's spec (None for the Overview).
    """

    id: str
    title: str
    key: str
    spec: ScreenSpec | None = None


def screen_entries(catalog: Catalog) -> tuple[ScreenEntry, ...]:
    """Every screen in navigation order: the Overview, then keyed screens in digit-row order
    (``1``..``9``, ``0``), then other keys, then screens without a key (palette only)."""

    def rank(spec: ScreenSpec) -> tuple[int, int]:
        if spec.key and spec.key in KEY_ROW:
            return (0, KEY_ROW.index(spec.key))
        return (1 if spec.key else 2, 0)

    specs = sorted(catalog.screens, key=rank)  # stable: catalog order within a rank
    overview = ScreenEntry(OVERVIEW_ID, "Overview", OVERVIEW_KEY)
    return (overview, *(ScreenEntry(s.id, s.title, s.key, s) for s in specs))


def goto_action(screen_id: str) -> str:
    """The app action string that opens ``screen_id``."""
    return f"goto('{screen_id}')"


def screen_bindings(entries: Iterable[ScreenEntry]) -> list[Binding]:
    """One binding per keyed screen (shown in help, not in the Footer)."""
    return [
        Binding(e.key, goto_action(e.id), e.title, show=False) for e in entries if e.key
    ]


def action_bindings(spec: ScreenSpec, table: str | None = None) -> list[Binding]:
    """The spec's keyed actions as bindings (shown in the Footer by name).

    Args:
        spec: the screen declaring the actions.
        table: None: the screen's own (actions on a hidden table are left out); a hidden
            table's id: the actions of the drill-down showing it.
    """
    hidden = {t.id for t in spec.tables if t.hidden}

    def offered(ref_table: str | None) -> bool:
        return ref_table == table if table is not None else ref_table not in hidden

    return [
        Binding(ref.key, f"open_action('{ref.name}')", ref.name, tooltip=ref.title)
        for ref in spec.actions
        if ref.key and offered(ref.table)
    ]


@dataclass(frozen=True)
class HelpLine:
    """One line of help: the keys (as displayed) and what they do."""

    keys: str
    what: str


@dataclass(frozen=True)
class HelpSections:
    """The help, grouped: the screens' keys, moving between screens, the current screen's
    keys, the console's keys (each list in binding order)."""

    screens: list[HelpLine]
    navigation: list[HelpLine]
    here: list[HelpLine]
    console: list[HelpLine]


def help_sections(
    active: Mapping[str, ActiveBinding],
    app: DOMNode,
    key_display: Callable[[Binding], str],
) -> HelpSections:
    """Group the active bindings for help.

    Args:
        active: ``screen.active_bindings`` of the screen help is opened from.
        app: the app node (its bindings are the console's own keys).
        key_display: how a key is shown (``App.get_key_display``).

    Returns:
        HelpSections; a binding appears when it has a description, is not a system binding,
        and is not one of Textual's own widget defaults.
    """
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for item in active.values():
        binding = item.binding
        if not binding.description or binding.system or _textual_default(item):
            continue
        section = _section(binding.action, item.node is app)
        shown = key_display(binding)
        what = binding.description
        if binding.tooltip and section == "here":  # an action's key: its name and its title
            what = f"{what}: {binding.tooltip}"
        keys = grouped.setdefault((section, binding.action, what), [])
        if shown not in keys:
            keys.append(shown)
    lines: dict[str, list[HelpLine]] = {s: [] for s in ("screens", "navigation", "here",
                                                        "console")}
    for (section, _, what), keys in grouped.items():
        lines[section].append(HelpLine(" ".join(keys), what))
    return HelpSections(**lines)


def _section(action: str, on_app: bool) -> str:
    name = action.split("(", 1)[0].rsplit(".", 1)[-1]  # app.goto('jobs') -> goto
    if name == "goto":
        return "screens"
    if name in NAVIGATION_ACTIONS:
        return "navigation"
    return "console" if on_app else "here"


def _textual_default(item: ActiveBinding) -> bool:
    """True for a binding declared by one of Textual's own classes (DataTable's cursor keys,
    Screen's copy), which help leaves to Textual's documentation."""
    binding = item.binding
    for cls in type(item.node).__mro__:
        if not cls.__module__.startswith("textual."):
            continue
        for declared in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            same = (declared.key, declared.action, declared.description)
            if same == (binding.key, binding.action, binding.description):
                return True
    return False
