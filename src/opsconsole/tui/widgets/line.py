"""A one-line text widget that repaints without a layout pass.

``Static.update`` asks for a layout refresh, which re-lays the whole screen and repaints its
scrollbars and tables; a fixed-height line never changes size, so a plain repaint is enough.
This keeps the once-a-second header tick down to one terminal line.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextLine(Widget):
    """One line of inert rich Text; :meth:`set_text` repaints only when the text changed.

    Args:
        text: the first text.
        fit: the line is as wide as its text (``width: auto``): a text of another width lays
            the line out again (rare: e.g. "read-only" becoming "WRITES ON 15:00 left").
    """

    def __init__(
        self, text: Text | None = None, *, id: str | None = None, classes: str = "",
        fit: bool = False,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._text = text or Text()
        self._fit = fit

    @property
    def text(self) -> Text:
        """The text on screen."""
        return self._text

    def set_text(self, text: Text) -> bool:
        """Show ``text``; returns True when it differed from what was shown."""
        if text == self._text:
            return False
        relayout = self._fit and text.cell_len != self._text.cell_len
        self._text = text
        self.refresh(layout=relayout)
        return True

    def render(self) -> Text:
        """The line (no markup: it is already Text)."""
        return self._text
