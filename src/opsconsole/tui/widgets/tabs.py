"""The tab bar: every screen by key and name, the current one highlighted, fitted to the width.

``1 Overview  2 Coor  3 Jobs  4 Deli …`` at 80 columns, whole names when they fit: the current
screen keeps its whole name, the others are cut to the longest length that fits, and below one
letter only their keys are left.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from opsconsole.tui.keys import ScreenEntry

GAP = " "


def _label(entry: ScreenEntry, size: int | None) -> str:
    name = entry.title if size is None else entry.title[:size]
    return f"{entry.key} {name}".strip() if entry.key else f"· {name}"


def _width(entries: Sequence[ScreenEntry], current: str, size: int | None) -> int:
    labels = [_label(e, None if e.id == current else size) for e in entries]
    return sum(len(label) for label in labels) + len(GAP) * len(labels) + 2  # + current's pad


def fit_size(entries: Sequence[ScreenEntry], current: str, width: int) -> int | None:
    """The longest name length that fits ``width`` (None: whole names; 0: keys only)."""
    if _width(entries, current, None) <= width:
        return None
    longest = max((len(e.title) for e in entries), default=0)
    for size in range(longest, 0, -1):
        if _width(entries, current, size) <= width:
            return size
    return 0


def tabs_text(entries: Sequence[ScreenEntry], current: str, width: int) -> Text:
    """The tab bar for ``current`` (a screen id) at ``width`` columns (Text, no markup)."""
    size = fit_size(entries, current, width)
    text = Text(no_wrap=True, overflow="ellipsis")
    for entry in entries:
        text.append(GAP)
        if entry.id == current:
            text.append(f" {_label(entry, None)} ", style="bold reverse")
        elif size == 0 and entry.key:
            text.append(entry.key, style="dim")
        else:
            text.append(entry.key, style="bold")
            text.append(_label(entry, size)[len(entry.key):], style="dim")
    return text


class ScreenTabs(Widget):
    """One line: the console's screens, ``current`` highlighted (repaints only on resize)."""

    def __init__(self, entries: Sequence[ScreenEntry], current: str) -> None:
        super().__init__(id="tabs")
        self.entries, self.current = list(entries), current

    def render(self) -> Text:
        """The tabs fitted to the widget's width."""
        return tabs_text(self.entries, self.current, max(self.size.width, 1))
