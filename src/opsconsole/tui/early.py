"""What the console starts before it imports Textual (no Textual here): the first refresh's first
pass, so the database works while the interface loads (~0.3 s of the start)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from opsconsole import checks
from opsconsole.catalog import Catalog
from opsconsole.checks import CheckResult
from opsconsole.checks.monitor import Monitor
from opsconsole.checks.pool import CheckPool
from opsconsole.connection.config import Resolved
from opsconsole.connection.db import Connection
from opsconsole.tui.refresh import CHECK_SESSIONS, split_due
from opsconsole.tui.settings import Clock

ChecksCall = Callable[[Connection, CheckPool | None, int], list[CheckResult]]


def monitor_for(resolved: Resolved, catalog: Catalog) -> Monitor:
    """The console's monitoring session for ``resolved`` (on the replica when the profile has
    one), not yet connected."""
    return Monitor(resolved.profile.replica_dsn or resolved.dsn, catalog,
                   resolved.statement_timeout_ms)


def runner(catalog: Catalog, clock: Clock, only: list[str],
           previous: dict[str, CheckResult]) -> ChecksCall:
    """What a refresh pass hands :meth:`Monitor.call_checks`: ``run_all`` of the checks
    ``only`` (ids), reusing ``previous`` results still fresh for their cadence."""

    def call(conn: Connection, pool: CheckPool | None, jobs: int) -> list[CheckResult]:
        return checks.run_all(conn, catalog, only=only, clock=clock, previous=previous,
                              pool=pool, jobs=jobs)

    return call


def start_first_pass(monitor: Monitor, catalog: Catalog, clock: Clock) -> Future[list[CheckResult]]:
    """Start the first refresh's first pass now, in a background thread: connect, have the
    server verify the catalog, and run every check without a cadence, on ``monitor`` and
    :data:`CHECK_SESSIONS` sessions at most (what the console's first refresh would run).

    ``opsconsole`` calls it before it imports Textual, so the database works while the
    interface loads; the console then takes these results as its first pass instead of
    running it (``OpsConsoleApp(first_pass=...)``).

    Returns:
        a Future of the results in catalog order; it raises what the refresh would
        (:class:`~opsconsole.checks.monitor.ConnectionLost` when the server cannot be reached).
    """
    fast, _ = split_due(catalog, {}, clock(), force=True)
    future: Future[list[CheckResult]] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(monitor.call_checks(runner(catalog, clock, fast, {}),
                                                  CHECK_SESSIONS))
        except BaseException as exc:  # handed to the console's first refresh
            future.set_exception(exc)

    threading.Thread(target=run, name="opsconsole-first-pass", daemon=True).start()
    return future
