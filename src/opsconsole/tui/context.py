"""What every screen and panel needs from the app: catalog, monitoring session and clock.

Passed explicitly to screens and widgets so they never reach into the app object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from textual.screen import Screen

from opsconsole.catalog import Catalog, ScreenSpec, TableSpec
from opsconsole.checks import tables
from opsconsole.checks.monitor import Monitor

Clock = Callable[[], datetime]


class Host(Protocol):
    """What screens may ask of the app (implemented by ``OpsConsoleApp``)."""

    def screen_shown(self, screen: Screen[Any]) -> None:
        """A console screen became active: push the header, results and stale data to it."""

    def goto(self, screen_id: str) -> None:
        """Switch to the screen ``screen_id`` ("overview" or a spec id)."""


@dataclass
class ConsoleContext:
    """Shared, read-mostly state of one console.

    Attributes:
        catalog: the loaded catalog.
        monitor: the read-only monitoring session (use only from thread workers).
        clock: "now" (aware datetime); injected by tests.
    """

    catalog: Catalog
    monitor: Monitor
    clock: Clock

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
