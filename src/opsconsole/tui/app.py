"""The Textual app: the console's state, the refresh loop, navigation and the palette.

State lives in reactive attributes of the app (``results``, ``results_at``, ``paused``,
``write_mode_until``, ``reconnecting``, ``refresh_error``, ``interval_s``, ``now``,
``screen_id``) and in two computed from them (``header_state``, ``checks_note``), all ``var``:
a change repaints nothing by itself (a ``reactive`` on the app repaints the whole screen).
Screens and the header ``watch`` them; the app never pushes into a screen. The database is
touched only by thread workers (checks here, table pages in the panels), all through one
lock-protected :class:`~opsconsole.checks.monitor.Monitor`; results come back as messages, a
result older than what is on screen is dropped, and a failed worker becomes a visible error
while the refresh carries on. The interval backs off when queries are slow and while the
connection is lost.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from opsconsole.catalog import Catalog
from opsconsole.checks import CheckResult
from opsconsole.checks.history import History, history_name, history_path
from opsconsole.checks.monitor import ConnectionLost, Monitor
from opsconsole.connection import dsn
from opsconsole.connection.config import Resolved
from opsconsole.connection.db import ServerInfo
from opsconsole.tui import keys, palette, refresh
from opsconsole.tui.context import ConsoleContext
from opsconsole.tui.dialogs.help import HelpContent, HelpScreen
from opsconsole.tui.early import ChecksCall, monitor_for, runner
from opsconsole.tui.messages import ChecksRefreshed, DatabaseUnavailable, ReloadTables
from opsconsole.tui.screens.overview import OverviewScreen
from opsconsole.tui.screens.spec import spec_screen
from opsconsole.tui.settings import Clock, ConsoleSettings
from opsconsole.tui.widgets.header import HeaderState
from opsconsole.tui.workers import WorkerFailures

LAG_CHECK = "connection.replica_lag"
NOTICES_KEPT = 100
HISTORY_SAVE_S = 60.0  # the check history is written at most this often (and at quit)


@dataclass(frozen=True)
class Notice:
    """A notification the console gave (kept in ``app.notices``, shown or not as a toast)."""

    message: str
    severity: str
    title: str = ""


class OpsConsoleApp(WorkerFailures, App[int]):
    """The operations console.

    Args:
        resolved: the connection and profile to use.
        catalog: the loaded catalog (screens, checks, tables, actions).
        settings: clock, refresh and drawing (default: the product's; tests use
            :meth:`ConsoleSettings.quiet`).
    """

    CSS_PATH = "app.tcss"
    TITLE = "opsconsole"
    DEFAULT_MODE = keys.OVERVIEW_ID
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "help"),
        Binding("r", "refresh", "refresh"),
        Binding("q", "quit", "quit"),
        Binding("p", "pause", "pause / resume auto-refresh", show=False),
        Binding("w", "write_mode", "write mode on / off", show=False),
        Binding("colon", "screens", "screens by name (as k9s)", show=False),
    ]

    results: var[tuple[CheckResult, ...]] = var(())
    """The latest result of every check, in catalog order."""
    results_at: var[datetime | None] = var(None)
    """When the results on screen were taken (the newest ``checked_at``)."""
    server: var[ServerInfo | None] = var(None)
    paused: var[bool] = var(False)
    write_mode_until: var[datetime | None] = var(None)
    """Write mode's deadline; None: read-only."""
    reconnecting: var[str | None] = var(None)
    """The connection error while the session is lost; None when connected."""
    refresh_error: var[str | None] = var(None)
    """Why the last refresh failed (a worker exception), until one succeeds."""
    interval_s: var[float] = var(5.0)
    """The current auto-refresh interval (backs off when slow or disconnected)."""
    now: var[datetime | None] = var(None)
    """The console clock, ticked once a second (the header's ages follow it)."""
    screen_id: var[str] = var(keys.OVERVIEW_ID)
    """The screen on show ("overview" or a spec id)."""
    header_state: var[HeaderState | None] = var(None)
    """Computed (:meth:`compute_header_state`): what every screen's header shows."""
    checks_note: var[Text | None] = var(None)
    """Computed (:meth:`compute_checks_note`): the line above every check list, if any."""

    def __init__(
        self,
        resolved: Resolved,
        catalog: Catalog,
        settings: ConsoleSettings | None = None,
        *,
        monitor: Monitor | None = None,
        first_pass: Future[list[CheckResult]] | None = None,
    ) -> None:
        # Plain state first: the computed reactives read it as soon as any reactive is set.
        self.resolved, self.catalog = resolved, catalog
        self.settings = settings or ConsoleSettings()
        self.base_interval_s = float(self.settings.refresh_s or resolved.refresh_s)
        show = self.settings.show_target
        self.target_label = dsn.target(resolved.dsn).label() if show else None
        self.notices: deque[Notice] = deque(maxlen=NOTICES_KEPT)
        self._generation = 0
        self._applied = 0
        self._failures = 0
        self._timer: Timer | None = None
        self._return_to: dict[str, str] = {}
        super().__init__()
        self.animation_level = self.settings.animation_level
        self.set_reactive(OpsConsoleApp.interval_s, self.base_interval_s)
        self.set_reactive(OpsConsoleApp.now, self.clock())
        self.monitor = monitor or monitor_for(resolved, catalog)
        self._first_pass = first_pass  # started before Textual loaded (tui/early.py), or None
        entries = keys.screen_entries(catalog)
        self.history = self._open_history()
        self._history_saved = time.monotonic()
        self.ctx = ConsoleContext(catalog, self.monitor, self.settings, entries, self.history)
        self.add_mode(keys.OVERVIEW_ID, partial(OverviewScreen, self.ctx))
        for entry in entries:
            if entry.spec is not None:
                self.add_mode(entry.id, partial(spec_screen, self.ctx, entry.spec))
        for binding in keys.screen_bindings(entries):
            self.bind(binding.key, binding.action, description=binding.description, show=False)

    @property
    def clock(self) -> Clock:
        """The console clock (returns an aware datetime)."""
        return self.settings.clock

    @property
    def screen_order(self) -> list[str]:
        """Screen ids in navigation order (tab, the tab bar)."""
        return [e.id for e in self.ctx.screens]

    @property
    def refreshes(self) -> int:
        """How many refreshes have been applied so far (their final results on screen)."""
        return self._applied

    @property
    def auto_refresh_pending(self) -> bool:
        """True while the next automatic refresh is armed."""
        return self._timer is not None

    # -- lifecycle ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Start the first refresh and the header's clock."""
        self.set_interval(self.settings.tick_s, self._tick)
        self._refresh(force=True)
        if self.history.path is not None:
            self._load_history()
        if self.resolved.source == "demo":
            self.notify("demo database: ? shows its psql command", title="demo", timeout=15,
                        markup=False)

    def on_unmount(self) -> None:
        """Close the monitoring session and save the check history."""
        self.monitor.close()
        self.history.save()

    # -- check history (trends) --------------------------------------------------------------

    def _open_history(self) -> History:
        """The profile's history, saved under $XDG_STATE_HOME/opsconsole/ and loaded from there
        by :meth:`_load_history` in the background (a day of samples takes ~250 ms to parse:
        the first data must not wait for it). Memory only when the settings say so, and for
        the demo, whose database is built afresh each run (yesterday's values are not its
        past)."""
        if not self.settings.history_file or self.resolved.source == "demo":
            return History()
        return History(history_path(history_name(self.resolved)))

    @work(thread=True, group="history-load", exit_on_error=False)
    def _load_history(self) -> None:
        """Read the profile's history file (a missing or damaged file is an empty history)
        and merge it into the live history on the UI thread."""
        path = self.history.path
        if path is not None:
            loaded = History.load(path, keep_s=self.history.keep_s, step_s=self.history.step_s)
            self.call_from_thread(self.history.merge, loaded)

    def _record_history(self, results: Iterable[CheckResult]) -> None:
        """Record a full refresh (no query: list appends) and, at most once a minute, save a
        copy of the history from a thread (atomic write; the UI never waits on the disk)."""
        self.history.record(results)
        if self.history.path is None or time.monotonic() - self._history_saved < HISTORY_SAVE_S:
            return
        self._history_saved = time.monotonic()
        self.run_worker(self.history.copy().save, thread=True, group="history",
                        exclusive=True, exit_on_error=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Record the notification in ``notices``; show it as a toast unless settings say not."""
        self.notices.append(Notice(str(message), severity, title))
        if self.settings.toasts:
            super().notify(message, title=title, severity=severity, timeout=timeout,
                           markup=markup)

    # -- computed state ----------------------------------------------------------------------

    def compute_header_state(self) -> HeaderState:
        """What the header shows (recomputed when any reactive changes)."""
        profile = self.resolved.profile
        now = self.now or self.clock()
        lag = next((r for r in self.results if r.id == LAG_CHECK), None)
        until = self.write_mode_until
        return HeaderState(
            profile=profile.name,
            environment=profile.environment,
            target=self.target_label,
            version=self.server.version if self.server else None,
            write_left_s=(until - now).total_seconds() if until else None,
            lag=lag,
            data_age_s=(now - self.results_at).total_seconds() if self.results_at else None,
            paused=self.paused,
            reconnecting=self.reconnecting,
            interval_s=self.interval_s,
            slow=self.interval_s > self.base_interval_s and not self.reconnecting,
            failing=self.refresh_error is not None,
        )

    def compute_checks_note(self) -> Text | None:
        """The line above every check list while the checks are not current (Text or None)."""
        if self.reconnecting:
            text = Text(" connection lost", style="bold red")
        elif self.refresh_error:
            text = Text(f" refresh failed: {self.refresh_error}", style="bold red")
        else:
            return None
        if self.results_at is not None:
            text.append(f" · checks as of {self.results_at:%H:%M:%S} UTC")
        return text

    # -- refresh loop ------------------------------------------------------------------------

    def action_refresh(self, force: bool = True) -> None:
        """Refresh every check (slow-cadence ones too) and the visible table, now."""
        self._refresh(force=force)

    def _refresh(self, *, force: bool) -> None:
        self._stop_timer()
        self._generation += 1
        self._run_checks(self._generation, {r.id: r for r in self.results}, force)
        base = next((s for s in reversed(self.screen_stack) if not s.is_modal), None)
        if base is not None:  # the screen under a dialog reloads too: it is on show
            base.post_message(ReloadTables(force))

    @work(thread=True, exclusive=True, group="checks", exit_on_error=False)
    def _run_checks(self, generation: int, previous: dict[str, CheckResult], force: bool) -> None:
        worker = get_current_worker()
        if worker.is_cancelled:
            return
        started = time.monotonic()
        fast, slow = refresh.split_due(self.catalog, previous, self.clock(), force=force)
        # up to 3 sessions; one while backed off (slow queries) or failing
        jobs = refresh.concurrency(self.interval_s, self.base_interval_s,
                                   failures=self._failures)
        launched, self._first_pass = self._first_pass, None
        try:
            if launched is not None and not previous:  # the same pass, started at launch
                first = launched.result()
            else:
                first = self.monitor.call_checks(self._runner(fast, previous), jobs) if fast else []
            if slow and first and not worker.is_cancelled:
                stand_in = [previous[i] for i in slow if i in previous]
                early = refresh.in_order(self.catalog, first, stand_in)
                self.post_message(ChecksRefreshed(generation, early, self.monitor.info,
                                                  time.monotonic() - started, partial=True))
            # forced: no previous result stands in, so run_all runs them all
            again = {} if force else previous
            rest = self.monitor.call_checks(self._runner(slow, again), jobs) if slow else []
        except ConnectionLost as exc:
            self.post_message(DatabaseUnavailable(generation, exc.message))
            return
        if not worker.is_cancelled:
            results = refresh.in_order(self.catalog, first, rest)
            self.post_message(ChecksRefreshed(generation, results, self.monitor.info,
                                              time.monotonic() - started))

    def _runner(self, only: list[str], previous: dict[str, CheckResult]) -> ChecksCall:
        return runner(self.catalog, self.clock, only, previous)

    @on(ChecksRefreshed)
    def _checks_refreshed(self, message: ChecksRefreshed) -> None:
        if message.generation <= self._applied:
            return
        self.server = message.info
        if not message.partial:  # recorded first: the screens redraw trends on ``results``
            self._record_history(message.results)
        self.results = tuple(message.results)
        stamps = [r.checked_at for r in message.results]
        if message.partial:  # the slow-cadence checks of this refresh are still running
            if self.results_at is None and stamps:  # the first data: its age, not "no data"
                self.results_at = max(stamps)
            return
        self._applied = message.generation
        self.results_at = max(stamps) if stamps else self.clock()
        self.reconnecting = self.refresh_error = None
        self._failures = 0
        if self.settings.back_off:
            self.interval_s = refresh.next_interval(message.duration_s, self.interval_s,
                                                    self.base_interval_s)
        self._schedule(self.interval_s)

    @on(DatabaseUnavailable)
    def _database_unavailable(self, message: DatabaseUnavailable) -> None:
        self.reconnecting = message.error
        if message.generation == 0 or message.generation < self._generation:
            return  # a table's loss; the checks cycle schedules the retry
        self._retry_later()

    def worker_failed(self, worker: Worker[object], error: str) -> None:
        """A checks worker raised: say so on every check list and keep refreshing."""
        if worker.group != "checks":
            return
        if error != self.refresh_error:
            self.notify(f"refresh failed: {error}", severity="error", markup=False)
        self.refresh_error = error
        self._retry_later()

    def _retry_later(self) -> None:
        self._failures += 1
        self._schedule(refresh.retry_delay(self.interval_s, self._failures))

    def _schedule(self, delay_s: float) -> None:
        self._stop_timer()
        if self.settings.auto_refresh and not self.paused:
            self._timer = self.set_timer(delay_s, partial(self._refresh, force=False))

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def action_pause(self) -> None:
        """Pause or resume auto-refresh (resuming refreshes at once)."""
        self.paused = not self.paused
        if self.paused:
            self._stop_timer()
        else:
            self._refresh(force=False)

    def _tick(self) -> None:
        now = self.clock()
        if self.write_mode_until is not None and now >= self.write_mode_until:
            self.write_mode_until = None
            self.notify("write mode is off again (time is up)", markup=False)
        self.now = now

    # -- navigation --------------------------------------------------------------------------

    async def action_goto(self, screen_id: str, origin: str = "") -> None:
        """Switch to a screen by id; ``origin``: where escape there goes back to."""
        if self.ctx.entry(screen_id) is None:
            return
        if origin:
            self._return_to[screen_id] = origin
        else:
            self._return_to.pop(screen_id, None)
        await self.switch_mode(screen_id)
        self.screen_id = screen_id

    async def action_go_back(self) -> None:
        """Escape on a screen opened from the Overview: back to the Overview."""
        origin = self._return_to.pop(self.screen_id, None)
        if origin:
            await self.action_goto(origin)

    async def _step_screen(self, step: int) -> None:
        order = self.screen_order
        await self.action_goto(order[(order.index(self.screen_id) + step) % len(order)])

    async def action_next_screen(self) -> None:
        """Tab: the next screen."""
        await self._step_screen(1)

    async def action_prev_screen(self) -> None:
        """Shift+tab: the previous screen."""
        await self._step_screen(-1)

    async def action_open_action(self, screen_id: str, name: str) -> None:
        """Open the guarded action ``name`` of screen ``screen_id`` from anywhere (palette):
        switch to the screen and let it open the action on its table's highlighted row."""
        await self.action_goto(screen_id)
        while len(self.screen_stack) > 1:  # a drill-down of that screen: back to the screen
            await self.pop_screen()
        await self.run_action(f"screen.open_action('{name}')")

    # -- dialogs and palette -----------------------------------------------------------------

    def action_help(self) -> None:
        """Help for the current screen: its keys, the screens, the legend, the connection."""
        screen = self.screen
        entry = self.ctx.entry(self.screen_id)
        refs = entry.spec.actions if entry and entry.spec else []
        content = HelpContent(
            screen_title=entry.title if entry else "",
            sections=keys.help_sections(screen.active_bindings, self, self.get_key_display),
            palette_only=[(r.name, r.title) for r in refs if not r.key],
            connection=self.connection_line(),
        )
        self.push_screen(HelpScreen(content))

    def connection_line(self) -> str | None:
        """How to reach the database by hand: ``psql '<dsn>'`` when the DSN holds no
        password (the demo's), else ``user@host:port/db``; None when the target is hidden."""
        if not self.settings.show_target:
            return None
        if dsn.parse(self.resolved.dsn).get("password"):
            return dsn.target(self.resolved.dsn).label()
        return f"psql '{self.resolved.dsn}'"

    def action_screens(self) -> None:
        """``:``: the palette on screen names only."""
        commands = palette.screen_commands(self.ctx.screens)
        self.search_commands(
            [(c.title, partial(self.run_action, c.action), c.help) for c in commands],
            placeholder="screen name…",
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands plus every screen, every action and the console's commands."""
        yield from super().get_system_commands(screen)
        for command in palette.commands(self.ctx.screens):
            yield SystemCommand(command.title, command.help,
                                partial(self.run_action, command.action))

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


def run(resolved: Resolved, catalog: Catalog, *, monitor: Monitor | None = None,
        first_pass: Future[list[CheckResult]] | None = None) -> int:
    """Run the console until the user quits.

    Args:
        monitor, first_pass: a session and its first pass started before Textual was
            imported (:func:`opsconsole.tui.early.start_first_pass`), or None.

    Returns:
        The process exit code (0).
    """
    app = OpsConsoleApp(resolved, catalog, monitor=monitor, first_pass=first_pass)
    app.run()
    return app.return_code or 0


__all__ = ["Notice", "OpsConsoleApp", "run"]
