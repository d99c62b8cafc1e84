"""A text input that follows the console's settings (tests turn the cursor blink off)."""

from __future__ import annotations

from textual.widgets import Input

from opsconsole.tui.settings import ConsoleSettings


class ConsoleInput(Input):
    """A compact one-line Input whose cursor blinks only when the console's settings allow."""

    def on_mount(self) -> None:
        """Take the blink from the app's settings (a bare app keeps Textual's default)."""
        settings = getattr(self.app, "settings", None)
        if isinstance(settings, ConsoleSettings):
            self.cursor_blink = settings.cursor_blink
