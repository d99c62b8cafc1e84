"""Messages that workers post back to the UI (workers never touch widgets).

Each carries the generation of the request that produced it, so a result older than what is
already on screen is dropped.
"""

from __future__ import annotations

from datetime import datetime

from textual.message import Message

from opsconsole.checks import CheckResult
from opsconsole.checks.tables import Page
from opsconsole.connection.db import ServerInfo


class ChecksRefreshed(Message):
    """Every check ran.

    Attributes:
        generation: the request's generation (int).
        results: one result per check (list[CheckResult]).
        info: the server the session is connected to.
        duration_s: wall time of the checks, in seconds (connecting excluded).
        partial: True for the early result of a refresh whose slow-cadence checks are still
            running (their previous results, if any, stand in).
    """

    def __init__(
        self,
        generation: int,
        results: list[CheckResult],
        info: ServerInfo | None,
        duration_s: float,
        *,
        partial: bool = False,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.results = results
        self.info = info
        self.duration_s = duration_s
        self.partial = partial


class DatabaseUnavailable(Message):
    """The monitoring session is lost or could not be opened.

    Attributes:
        generation: the request's generation (int; 0 for table loads).
        error: one line, no password.
    """

    def __init__(self, generation: int, error: str) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class PageLoaded(Message):
    """A table page arrived (or failed).

    Attributes:
        generation: the panel's request generation (int).
        page: the page (rows, next cursor, error), or None when the connection was lost.
        append: True for "load the next page", False for a reload from the top.
        fetched_at: the console clock when the query ran (aware datetime).
        error: the connection error when ``page`` is None.
    """

    def __init__(
        self,
        generation: int,
        page: Page | None,
        *,
        append: bool,
        fetched_at: datetime,
        error: str | None = None,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.page = page
        self.append = append
        self.fetched_at = fetched_at
        self.error = error
