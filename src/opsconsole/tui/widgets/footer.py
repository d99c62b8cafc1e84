"""Textual's Footer, rebuilt once per burst of binding changes.

Textual's Footer recomposes (unmounts and mounts every key again, each key restyled twice)
after every "bindings changed" signal, and a screen switch sends several in a row: the stack
changes, the focus moves to the table, then to the cell the cursor is on. This Footer lets the
first signal of a burst schedule one rebuild after the next refresh and ignores the rest of the
burst; the rebuild reads the bindings as they are then, so it shows the last state, not the
first. Measured against the demo data: the console's start rebuilt its Footers 3 times, now 2;
a switch to the Jobs screen 7 times, now 5 (each rebuild mounts and restyles every key).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class ConsoleFooter(Footer):
    """The console's Footer: Textual's, with its rebuilds coalesced (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rebuild_due = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """The bindings of ``screen`` changed: rebuild after the next refresh, once however
        many signals come before it."""
        if self._rebuild_due:
            return
        self._rebuild_due = True
        self.call_after_refresh(self._rebuild, screen)

    def _rebuild(self, screen: Screen[Any]) -> None:
        self._rebuild_due = False
        super().bindings_changed(screen)
