"""The two-line connection header shown on every screen.

Line 1: profile and environment (production as a red banner), target ``user@host/db`` (never a
password), server version; on the right, read-only or the write-mode time left. Line 2:
connection state (reconnecting, paused, a failed refresh), replica lag and the refresh
interval; on the right, the age of the data. Each part is its own one-line widget, so the
once-a-second tick repaints only the cells of the age (a widget of its own) and of the
write-mode countdown whose character changed (:class:`TickLine`), never a whole line; the
right-hand parts are as wide as their text, and only a change of that width lays the line out
again. The header watches the app's ``header_state``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region

from opsconsole.checks import CheckResult, Status
from opsconsole.render.cells import STATUS_STYLE, age_text
from opsconsole.tui.widgets.line import TextLine

SEP = " │ "


@dataclass(frozen=True)
class HeaderState:
    """Everything the header shows (the app computes it from its reactive state).

    Attributes:
        profile: profile name. environment: production | staging | dev.
        target: ``user@host:port/db`` or None when hidden (tests).
        version: server version, None before the first connection.
        write_left_s: seconds of write mode left, None when read-only.
        lag: the ``connection.replica_lag`` result, if any.
        data_age_s: age of the checks on screen in seconds, None before the first refresh.
        paused: auto-refresh paused. reconnecting: the connection error while retrying.
        interval_s: the current refresh interval (s). slow: backed off because queries are slow.
        failing: the refresh worker failed (the error is shown on the check lists).
    """

    profile: str
    environment: str
    target: str | None
    version: str | None
    write_left_s: float | None
    lag: CheckResult | None
    data_age_s: float | None
    paused: bool
    reconnecting: str | None
    interval_s: float
    slow: bool
    failing: bool = False


def _mmss(seconds: float) -> str:
    s = max(int(seconds), 0)
    return f"{s // 60:02d}:{s % 60:02d}"


def identity_text(state: HeaderState) -> Text:
    """Line 1, left: environment, target, version (Text, no markup)."""
    prod = state.environment == "production"
    text = Text(no_wrap=True, overflow="ellipsis")
    env = "PRODUCTION" if prod else state.environment
    text.append(f" {state.profile} · {env}", style="bold")
    if state.target:
        text.append(SEP + state.target)
    text.append(SEP + (f"PG {state.version}" if state.version else "connecting…"))
    return text


def write_text(state: HeaderState) -> Text:
    """Line 1, right: ``read-only`` or ``WRITES ON 14:59 left`` (Text)."""
    text = Text(no_wrap=True, overflow="ellipsis", justify="right")
    if state.write_left_s is None:
        text.append("read-only ")
    else:
        text.append(f"WRITES ON {_mmss(state.write_left_s)} left", style="bold reverse")
        text.append(" ")
    return text


def state_text(state: HeaderState) -> Text:
    """Line 2, left: reconnecting / paused / failing, replica lag, refresh interval (Text)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" ")
    if state.reconnecting:
        text.append("reconnecting…", style="bold white on red")
        text.append(SEP)
    elif state.failing:
        text.append("refresh failed", style="bold white on red")
        text.append(SEP)
    if state.paused:
        text.append("PAUSED", style="bold reverse")
        text.append(SEP)
    text.append_text(_lag(state.lag))
    every = f"every {state.interval_s:g}s" + (" (slow db)" if state.slow else "")
    text.append(SEP + every)
    if state.reconnecting:
        text.append(SEP + state.reconnecting, style="dim")
    return text


def data_age_text(state: HeaderState) -> Text:
    """Line 2, right: ``data 3s old`` (Text)."""
    return Text.assemble(*data_age_parts(state), no_wrap=True, justify="right")


def data_age_parts(state: HeaderState) -> tuple[Text, Text]:
    """Line 2, right, in its two widgets: ``data `` and the ticking age ``3s old `` (``no data
    yet `` and an empty text before the first refresh)."""
    if state.data_age_s is None:
        return Text("no data yet ", no_wrap=True), Text(no_wrap=True)
    return Text("data ", no_wrap=True), Text(age_text(state.data_age_s) + " ", no_wrap=True)


def line_one(state: HeaderState) -> Text:
    """Line 1 as one text (left part, then the right part), for tests and logs."""
    return Text.assemble(identity_text(state), SEP, write_text(state))


def line_two(state: HeaderState) -> Text:
    """Line 2 as one text (left part, then the right part), for tests and logs."""
    return Text.assemble(state_text(state), SEP, data_age_text(state))


def _lag(result: CheckResult | None) -> Text:
    if result is None:
        return Text("lag -")
    if result.status is Status.UNKNOWN or result.value is None:
        return Text("lag ?", style=STATUS_STYLE[Status.UNKNOWN])
    style = "" if result.status is Status.OK else STATUS_STYLE[result.status]
    return Text(f"lag {result.value:.1f}s", style=style)


def changed_cells(old: Text, new: Text) -> tuple[int, int] | None:
    """The cells ``[start, end)`` where ``new`` differs from ``old``, when only characters
    changed, one cell each (same length, same styles and spans: e.g. "data 8s old" becoming
    "data 9s old" gives (5, 6)); None when the whole line must be drawn again (another length,
    other styles, a wide character). ``(0, 0)``: nothing differs."""
    if (len(old.plain) != len(new.plain) or old.cell_len != len(old.plain)
            or new.cell_len != len(new.plain) or old.style != new.style
            or old.spans != new.spans or old.justify != new.justify):
        return None
    diff = [i for i, (a, b) in enumerate(zip(old.plain, new.plain, strict=True)) if a != b]
    return (diff[0], diff[-1] + 1) if diff else (0, 0)


class TickLine(TextLine):
    """The ticking part of the header (the data age, the write-mode countdown): a one-line
    widget that sends the terminal only the cells whose character changed ("data 8s old" to
    "data 9s old" is one cell, about 40 bytes), not its whole text; a text of another length
    or style is drawn whole (and, being ``fit``, lays the line out again)."""

    def set_text(self, text: Text) -> bool:
        """Show ``text``; returns True when it differed from what was shown."""
        span = changed_cells(self.text, text) if self.is_mounted else None
        if span is None or not self.size.width:
            return super().set_text(text)
        start, end = span
        if start == end:
            return False
        offset = max(0, self.size.width - text.cell_len) if text.justify == "right" else 0
        self._text = text
        self.refresh(Region(offset + start, 0, end - start, 1))
        return True


class HeaderBar(Vertical):
    """The header widget: watches the app's ``header_state`` and repaints only what changed."""

    def __init__(self) -> None:
        super().__init__(id="header")

    def compose(self) -> ComposeResult:
        """Two rows of two one-line widgets (the right ones of fixed width)."""
        with Horizontal(classes="header-row"):
            yield TextLine(id="header-identity")
            yield TickLine(id="header-write", fit=True)
        with Horizontal(classes="header-row"):
            yield TextLine(id="header-state")
            # the age's ticking part is a widget of its own: it starts a run of cells, so a
            # tick sends only the cells from its first changed one (Textual draws a widget's
            # dirty cells from the widget's left edge)
            yield _fitted(TextLine(id="header-age-label", fit=True))
            yield TickLine(id="header-age", fit=True)

    def on_mount(self) -> None:
        """Follow the app's header state (the app may not have one: a bare test app)."""
        self.watch(self.app, "header_state", self.show)

    def show(self, state: HeaderState | None) -> None:
        """Render ``state``, touching only the parts that differ from what is on screen."""
        if state is None:
            return
        self.set_class(state.environment == "production", "-production")
        self.query_one("#header-identity", TextLine).set_text(identity_text(state))
        self.query_one("#header-write", TextLine).set_text(write_text(state))
        self.query_one("#header-state", TextLine).set_text(state_text(state))
        label, age = data_age_parts(state)
        self.query_one("#header-age-label", TextLine).set_text(label)
        self.query_one("#header-age", TextLine).set_text(age)

    def render_text(self) -> str:
        """Both lines as plain text (for tests and logs)."""
        rows = []
        for row in self.query(".header-row"):
            left, *right = [line.text.plain for line in row.query(TextLine)]
            rows.append(left + SEP + "".join(right))
        return "\n".join(rows)


def _fitted(line: TextLine) -> TextLine:
    """``line`` as wide as its text (inline style: the console's CSS makes a TextLine 1fr)."""
    line.styles.width = "auto"
    return line
