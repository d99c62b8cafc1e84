"""What every screen and panel needs from the console: catalog, monitoring session, settings.

Passed explicitly to screens and widgets so they never reach into the app object for it. The
changing state (results, pause, write mode, connection) is not here: it lives in the app's
reactive attributes, which screens and widgets ``watch``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsconsole.catalog import Catalog, ScreenSpec, TableSpec
from opsconsole.checks import tables
from opsconsole.checks.history import History
from opsconsole.checks.monitor import Monitor
from opsconsole.tui.keys import ScreenEntry
from opsconsole.tui.settings import Clock, ConsoleSettings


@dataclass(frozen=True)
class ConsoleContext:
    """Shared, read-only state of one console.

    Attributes:
        catalog: the loaded catalog.
        monitor: the read-only monitoring session (use only from thread workers).
        settings: clock, refresh and drawing settings.
        screens: every screen in navigation order (Overview first).
        history: every check's recent values (the app records each full refresh into it;
            tiles and the check detail read it for their sparklines).
    """

    catalog: Catalog
    monitor: Monitor
    settings: ConsoleSettings
    screens: tuple[ScreenEntry, ...]
    history: History = field(default_factory=History)

    @property
    def clock(self) -> Clock:
        """The console's clock (aware datetime)."""
        return self.settings.clock

    def entry(self, screen_id: str) -> ScreenEntry | None:
        """The navigation entry of ``screen_id`` ("overview" or a spec id), or None."""
        return next((e for e in self.screens if e.id == screen_id), None)

    def owner(self, table_id: str) -> ScreenSpec:
        """The screen that declares table ``table_id``. Raises KeyError when none does."""
        for screen in self.catalog.screens:
            if any(t.id == table_id for t in screen.tables):
                return screen
        raise KeyError(table_id)

    def fetch_page(
        self,
        spec: TableSpec,
        *,
        cursor: tables.Cursor | None,
        limit: int,
        params: dict[str, Any] | None,
    ) -> tables.Page:
        """One keyset page through the monitoring session (call from a thread worker only).

        Raises:
            ConnectionLost: the session is gone.
        """
        return self.monitor.call(
            lambda conn, schema: tables.fetch_page(
                conn, self.catalog, schema, spec, cursor=cursor, params=params, limit=limit
            )
        )

    def find_row(self, spec: TableSpec, row_id: Any) -> tables.Page:
        """The row of ``spec`` with this id, through its ``find`` query (thread worker only).

        Raises:
            ConnectionLost: the session is gone.
        """
        return self.monitor.call(
            lambda conn, schema: tables.fetch_row(conn, self.catalog, spec, row_id)
        )
