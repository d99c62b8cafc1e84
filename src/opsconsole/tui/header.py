"""The two-line connection header shown on every screen.

Line 1: profile and environment (production as a red banner), target ``user@host/db`` (never a
password), server version, read-only or the write-mode time left. Line 2: connection state
(reconnecting, paused), replica lag, data age and the refresh interval. The widget only
re-renders when the text changes, so an idle console writes almost nothing to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from opsconsole.checks import CheckResult, Status
from opsconsole.render.cells import STATUS_STYLE, age_text
from opsconsole.tui.line import TextLine

SEP = " │ "


@dataclass(frozen=True)
class HeaderState:
    """Everything the header shows (built by the app once a second or on change).

    Attributes:
        profile: profile name. environment: production | staging | dev.
        target: ``user@host:port/db`` or None when hidden (tests).
        version: server version, None before the first connection.
        write_left_s: seconds of write mode left, None when read-only.
        lag: the ``connection.replica_lag`` result, if any.
        data_age_s: age of the checks on screen in seconds, None before the first refresh.
        paused: auto-refresh paused. reconnecting: the connection error while retrying.
        interval_s: the current refresh interval (s). slow: backed off because queries are slow.
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


def _mmss(seconds: float) -> str:
    s = max(int(seconds), 0)
    return f"{s // 60:02d}:{s % 60:02d}"


def line_one(state: HeaderState) -> Text:
    """Identity line: environment, target, version, write state (Text, no markup)."""
    prod = state.environment == "production"
    text = Text(no_wrap=True, overflow="ellipsis")
    env = "PRODUCTION" if prod else state.environment
    text.append(f" {state.profile} · {env}", style="bold")
    if state.target:
        text.append(SEP + state.target)
    text.append(SEP + (f"PG {state.version}" if state.version else "connecting…"))
    text.append(SEP)
    if state.write_left_s is None:
        text.append("read-only")
    else:
        text.append(f"WRITES ON {_mmss(state.write_left_s)} left", style="bold reverse")
    return text


def line_two(state: HeaderState) -> Text:
    """State line: reconnecting / paused, replica lag, data age, refresh interval (Text)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" ")
    if state.reconnecting:
        text.append("reconnecting…", style="bold white on red")
        text.append(SEP)
    if state.paused:
        text.append("PAUSED", style="bold reverse")
        text.append(SEP)
    text.append_text(_lag(state.lag))
    text.append(SEP + "data " + age_text(state.data_age_s))
    every = f"every {state.interval_s:g}s" + (" (slow db)" if state.slow else "")
    text.append(SEP + every)
    if state.reconnecting:
        text.append(SEP + state.reconnecting, style="dim")
    return text


def _lag(result: CheckResult | None) -> Text:
    if result is None:
        return Text("lag -")
    if result.status is Status.UNKNOWN or result.value is None:
        return Text("lag ?", style=STATUS_STYLE[Status.UNKNOWN])
    style = "" if result.status is Status.OK else STATUS_STYLE[result.status]
    return Text(f"lag {result.value:.1f}s", style=style)


class HeaderBar(Vertical):
    """The header widget; call :meth:`show` with a new state, it repaints only changed lines."""

    DEFAULT_CSS = """
    HeaderBar { height: 2; width: 1fr; background: $panel; }
    HeaderBar.-production { background: darkred; color: white; }
    """

    def __init__(self) -> None:
        super().__init__(id="header")
        self._pending: HeaderState | None = None

    def compose(self) -> ComposeResult:
        """One line widget each, so the ticking data age repaints only line two."""
        yield TextLine(id="header-identity")
        yield TextLine(id="header-state")

    def show(self, state: HeaderState) -> None:
        """Render ``state``, touching only the lines that differ from what is on screen."""
        self.set_class(state.environment == "production", "-production")
        lines = list(self.query(TextLine))
        if len(lines) < 2:  # not composed yet: shown on mount
            self._pending = state
            return
        lines[0].set_text(line_one(state))
        lines[1].set_text(line_two(state))

    def on_mount(self) -> None:
        """Show a state that arrived before the lines existed."""
        if self._pending is not None:
            self.show(self._pending)
            self._pending = None

    def render_text(self) -> str:
        """Both lines as plain text (for tests and logs)."""
        return "\n".join(line.text.plain for line in self.query(TextLine))
