"""The Textual app: screens, key bindings, the refresh loop and the connection header.

The database is touched only by thread workers (checks here, table pages in the panels), all
through one lock-protected :class:`~opsconsole.checks.monitor.Monitor`. Results come back as
messages; a result older than what is on screen is dropped. The refresh interval backs off when
queries are slow and while the connection is lost, and returns to normal on its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import get_current_worker

from opsconsole import checks
from opsconsole.catalog import Catalog
from opsconsole.checks import CheckResult
from opsconsole.checks.monitor import ConnectionLost, Monitor
from opsconsole.connection import dsn
from opsconsole.connection.config import Resolved
from opsconsole.connection.db import ServerInfo
from opsconsole.tui import palette
from opsconsole.tui.context import Clock, ConsoleContext
from opsconsole.tui.dialogs import HelpScreen
from opsconsole.tui.header import HeaderState
from opsconsole.tui.messages import ChecksRefreshed, DatabaseUnavailable
from opsconsole.tui.screens import BaseScreen, OverviewScreen, SpecScreen

MAX_INTERVAL_S = 60.0
LAG_CHECK = "connection.replica_lag"


class OpsConsoleApp(App[int]):
    """The operations console.

    Args:
        resolved: the connection and profile to use.
        catalog: the loaded catalog (screens, checks, tables, actions).
        clock: "now" (aware datetime); tests inject a fixed one.
        refresh_s: auto-refresh interval in seconds (default: the profile's).
        hostname_in_header: show ``user@host/db`` in the header (tests turn it off).
    """

    CSS_PATH = "app.tcss"
    TITLE = "opsconsole"
    DEFAULT_MODE = "overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        Binding("r", "refresh", "refresh", show=False),
        Binding("p", "pause", "pause", show=False),
        Binding("w", "write_mode", "write mode", show=False),
        Binding("1", "goto('overview')", "Overview", show=False),
    ]

    def __init__(
        self,
        resolved: Resolved,
        catalog: Catalog,
        *,
        clock: Clock = checks.utc_now,
        refresh_s: float | None = None,
        hostname_in_header: bool = True,
    ) -> None:
        super().__init__()
        self.resolved, self.catalog, self.clock = resolved, catalog, clock
        monitor_dsn = resolved.profile.replica_dsn or resolved.dsn
        self.monitor = Monitor(monitor_dsn, catalog, resolved.statement_timeout_ms)
        self.ctx = ConsoleContext(catalog, self.monitor, clock)
        self.base_interval_s = float(refresh_s or resolved.refresh_s)
        self.interval_s = self.base_interval_s
        self.hostname_in_header = hostname_in_header
        self.write_mode_until: datetime | None = None
        self.paused = False
        self.reconnecting: str | None = None
        self.results: list[CheckResult] = []
        self.results_at: datetime | None = None
        self.server: ServerInfo | None = None
        self._generation = 0
        self._applied = 0
        self._failures = 0
        self._timer: Timer | None = None
        self.screen_order = ["overview"] + [s.id for s in catalog.screens if s.key]
        self.add_mode("overview", self._overview)
        for spec in catalog.screens:
            if spec.key:
                self.add_mode(spec.id, partial(SpecScreen, self.ctx, spec))
                self._bindings.bind(spec.key, f"goto('{spec.id}')", spec.title, show=False)

    def _overview(self) -> OverviewScreen:
        return OverviewScreen(self.ctx, id="screen-overview")

    # -- lifecycle ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Start the first refresh and the once-a-second header tick."""
        self.set_interval(1.0, self._tick_second)
        self.action_refresh()
        if self.resolved.source == "demo":
            self.notify(f"psql '{self.resolved.dsn}'", title="demo database",
                        timeout=15, markup=False)

    def on_unmount(self) -> None:
        """Close the monitoring session."""
        self.monitor.close()

    # -- refresh loop ------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Refresh checks and the visible tables now."""
        self._stop_timer()
        self._generation += 1
        self._run_checks(self._generation, {r.id: r for r in self.results})
        screen = self.screen
        if isinstance(screen, BaseScreen):
            screen.refresh_data()

    @work(thread=True, exclusive=True, group="checks", exit_on_error=False)
    def _run_checks(self, generation: int, previous: dict[str, CheckResult]) -> None:
        worker = get_current_worker()
        if worker.is_cancelled:
            return

        started = time.monotonic()
        fast, slow = self._split_due(previous)

        def run(only: list[str]) -> Any:
            def call(conn: Any, schema: Any) -> list[CheckResult]:
                return checks.run_all(
                    conn, self.catalog, schema, only=only, clock=self.clock, previous=previous
                )

            return call

        try:
            first = self.monitor.call(run(fast)) if fast else []
            if slow and first and not worker.is_cancelled:
                early = self._in_order(first, [previous[i] for i in slow if i in previous])
                self.post_message(ChecksRefreshed(generation, early, self.monitor.info,
                                                  time.monotonic() - started, partial=True))
            rest = self.monitor.call(run(slow)) if slow else []
        except ConnectionLost as exc:
            self.post_message(DatabaseUnavailable(generation, exc.message))
            return
        if not worker.is_cancelled:
            results = self._in_order(first, rest)
            self.post_message(ChecksRefreshed(generation, results, self.monitor.info,
                                              time.monotonic() - started))

    def _split_due(self, previous: dict[str, CheckResult]) -> tuple[list[str], list[str]]:
        """Check ids to run first (cheap, or slow but still fresh) and the slow ones now due."""
        now = self.clock()
        fast: list[str] = []
        slow: list[str] = []
        for _, spec in self.catalog.checks():
            last = previous.get(spec.id)
            due = spec.cadence_s is not None and (
                last is None or last.status is checks.Status.UNKNOWN
                or (now - last.checked_at).total_seconds() >= spec.cadence_s)
            (slow if due else fast).append(spec.id)
        return fast, slow

    def _in_order(self, *groups: list[CheckResult]) -> list[CheckResult]:
        """Merge results into catalog order (list[CheckResult])."""
        by_id = {r.id: r for group in groups for r in group}
        return [by_id[c.id] for _, c in self.catalog.checks() if c.id in by_id]

    @on(ChecksRefreshed)
    def _checks_refreshed(self, message: ChecksRefreshed) -> None:
        if message.generation <= self._applied:
            return
        if message.partial:  # the slow-cadence checks of this refresh are still running
            self.results, self.server = message.results, message.info
            self._push_results()
            return
        self._applied = message.generation
        self.results, self.server = message.results, message.info
        stamps = [r.checked_at for r in message.results]
        self.results_at = max(stamps) if stamps else self.clock()
        self.reconnecting, self._failures = None, 0
        self._adapt_interval(message.duration_s)
        self._push_results()
        self._schedule(self.interval_s)

    @on(DatabaseUnavailable)
    def _database_unavailable(self, message: DatabaseUnavailable) -> None:
        self.reconnecting = message.error
        self._push_results()
        if message.generation == 0 or message.generation < self._generation:
            return  # a table's loss; the checks cycle schedules the retry
        self._failures += 1
        self._schedule(min(self.interval_s * 2 ** min(self._failures, 6), MAX_INTERVAL_S))

    def _adapt_interval(self, duration_s: float) -> None:
        if duration_s > 0.5 * self.interval_s:
            self.interval_s = min(self.interval_s * 2, MAX_INTERVAL_S)
        elif duration_s <= 0.5 * self.base_interval_s:
            self.interval_s = self.base_interval_s

    def _schedule(self, delay_s: float) -> None:
        self._stop_timer()
        if not self.paused:
            self._timer = self.set_timer(delay_s, self.action_refresh)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def action_pause(self) -> None:
        """Pause or resume auto-refresh (resuming refreshes at once)."""
        self.paused = not self.paused
        if self.paused:
            self._stop_timer()
            self.update_header()
        else:
            self.action_refresh()

    # -- what screens see --------------------------------------------------------------------

    def _note(self) -> Text | None:
        if not self.reconnecting:
            return None
        text = Text(" connection lost", style="bold red")
        if self.results_at is not None:
            age = (self.clock() - self.results_at).total_seconds()
            text.append(f" · showing checks from {checks.human_duration(age)} ago")
        return text

    def _push_results(self) -> None:
        screen = self.screen
        if isinstance(screen, BaseScreen):
            screen.show_results(self.results, self._note())
        self.update_header()

    def screen_shown(self, screen: Screen[Any]) -> None:
        """A console screen became active: header, results, and its tables if they are old."""
        if not isinstance(screen, BaseScreen):
            return
        self.update_header()
        screen.show_results(self.results, self._note())
        for panel in screen.panels():
            if panel.fetched_at is None or self._is_stale(panel.fetched_at):
                screen.refresh_data()
                break

    def _is_stale(self, fetched_at: datetime) -> bool:
        return (self.clock() - fetched_at).total_seconds() >= self.interval_s

    def header_state(self) -> HeaderState:
        """What the header shows now."""
        profile = self.resolved.profile
        now = self.clock()
        lag = next((r for r in self.results if r.id == LAG_CHECK), None)
        left = (self.write_mode_until - now).total_seconds() if self.write_mode_until else None
        age = (now - self.results_at).total_seconds() if self.results_at else None
        return HeaderState(
            profile=profile.name,
            environment=profile.environment,
            target=dsn.target(self.resolved.dsn).label() if self.hostname_in_header else None,
            version=self.server.version if self.server else None,
            write_left_s=left,
            lag=lag,
            data_age_s=age,
            paused=self.paused,
            reconnecting=self.reconnecting,
            interval_s=self.interval_s,
            slow=self.interval_s > self.base_interval_s and not self.reconnecting,
        )

    def update_header(self) -> None:
        """Repaint the active screen's header (a no-op when nothing changed)."""
        screen = self.screen
        header = screen.header if isinstance(screen, BaseScreen) else None
        if header is not None:
            header.show(self.header_state())

    def _tick_second(self) -> None:
        if self.write_mode_until is not None and self.clock() >= self.write_mode_until:
            self.write_mode_until = None
            self.notify("write mode is off again (time is up)", markup=False)
        self.update_header()

    # -- keys --------------------------------------------------------------------------------

    def action_goto(self, screen_id: str) -> None:
        """Switch to a screen by id."""
        self.goto(screen_id)

    def goto(self, screen_id: str) -> None:
        """Switch to the screen ``screen_id`` ("overview" or a spec id)."""
        if screen_id in self.screen_order:
            self.switch_mode(screen_id)

    def _step_screen(self, step: int) -> None:
        index = self.screen_order.index(self.current_mode)
        self.goto(self.screen_order[(index + step) % len(self.screen_order)])

    def action_next_screen(self) -> None:
        """Tab: the next screen."""
        self._step_screen(1)

    def action_prev_screen(self) -> None:
        """Shift+tab: the previous screen."""
        self._step_screen(-1)

    def action_help(self) -> None:
        """Show keys and the current screen's actions."""
        screen = self.screen
        if not isinstance(screen, BaseScreen):
            return
        self.push_screen(HelpScreen(screen.title_text, screen.actions))

    def action_write_mode(self) -> None:
        """Switch write mode on for the configured minutes (or off again)."""
        if self.write_mode_until is not None:
            self.write_mode_until = None
            self.notify("write mode off", markup=False)
        elif not self.resolved.profile.writes:
            self.notify(
                f"profile '{self.resolved.profile.name}' does not allow writes",
                severity="warning",
                markup=False,
            )
        else:
            minutes = self.resolved.defaults.write_mode_minutes
            self.write_mode_until = self.clock() + timedelta(minutes=minutes)
            self.notify(f"write mode on for {minutes} minutes", markup=False)
        self.update_header()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands plus every screen and every action, by name."""
        yield from super().get_system_commands(screen)
        yield from palette.commands(self)


def run(resolved: Resolved, catalog: Catalog) -> int:
    """Run the console until the user quits.

    Returns:
        The process exit code (0).
    """
    app = OpsConsoleApp(resolved, catalog)
    app.run()
    return app.return_code or 0


__all__ = ["OpsConsoleApp", "run"]
