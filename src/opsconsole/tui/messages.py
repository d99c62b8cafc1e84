"""Messages that workers post back to the UI (workers never touch widgets).

Each carries the generation of the request that produced it, so a result older than what is
already on screen is dropped. A message that a newer one of its kind makes obsolete says so in
``can_replace`` (Textual then handles only the newer one), so a burst does not flood the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from opsconsole.checks import CheckResult
from opsconsole.checks.tables import Page
from opsconsole.connection.db import ServerInfo


@dataclass
class ChecksRefreshed(Message):
    """Every check ran (posted to the app).

    Attributes:
        generation: the request's generation (int).
        results: one result per check (list[CheckResult]).
        info: the server the session is connected to.
        duration_s: wall time of the checks, in seconds (connecting excluded).
        partial: True for the early result of a refresh whose slow-cadence checks are still
            running (their previous results, if any, stand in).
    """

    generation: int
    results: list[CheckResult]
    info: ServerInfo | None
    duration_s: float
    partial: bool = False

    def can_replace(self, message: Message) -> bool:
        """A pending result of this or a later refresh makes this one obsolete."""
        return isinstance(message, ChecksRefreshed) and message.generation >= self.generation


@dataclass
class DatabaseUnavailable(Message):
    """The monitoring session is lost or could not be opened (posted to the app).

    Attributes:
        generation: the request's generation (int; 0 for table loads).
        error: one line, no password.
    """

    generation: int
    error: str

    def can_replace(self, message: Message) -> bool:
        """A later loss of the same request says the same."""
        return isinstance(message, DatabaseUnavailable) and message.generation == self.generation


@dataclass
class PageLoaded(Message, bubble=False):
    """A table page arrived, or failed (posted to its panel).

    Attributes:
        generation: the panel's request generation (int).
        page: the page (rows, next cursor, error), or None when the connection was lost.
        append: True for "load the next page", False for a reload from the top.
        fetched_at: the console clock when the query ran (aware datetime).
        error: the connection error when ``page`` is None.
    """

    generation: int
    page: Page | None
    append: bool
    fetched_at: datetime
    error: str | None = None

    def can_replace(self, message: Message) -> bool:
        """A later reload from the top supersedes any earlier page (it re-reads them all)."""
        return (
            isinstance(message, PageLoaded)
            and not message.append
            and message.generation > self.generation
        )


@dataclass
class ReloadTables(Message, bubble=False):
    """Refresh now: the screen this is posted to reloads the tables it shows.

    Attributes:
        force: True for a refresh the engineer asked for (``r``, after an action).
    """

    force: bool = True

    def can_replace(self, message: Message) -> bool:
        """Two reloads in a row are one."""
        return isinstance(message, ReloadTables)
