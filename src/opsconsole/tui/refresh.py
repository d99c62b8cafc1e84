"""The refresh policy of the console, as pure functions (no Textual, no I/O): which checks run
first, which after, how the interval backs off, on how many sessions the checks run, and how long
to wait after a failure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from opsconsole.catalog import Catalog
from opsconsole.checks import CheckResult, Status

MAX_INTERVAL_S = 60.0
CHECK_SESSIONS = 3
"""Sessions the console's checks use at most while the database answers quickly (int)."""


def split_due(
    catalog: Catalog, previous: Mapping[str, CheckResult], now: datetime, *, force: bool = False
) -> tuple[list[str], list[str]]:
    """Check ids to run first and those to run after them.

    First: every check without a ``cadence_s``, and slow-cadence checks whose previous result
    is younger than their cadence (run_all reuses it). After: the slow-cadence checks that are
    due (no result, UNKNOWN, or older than the cadence), or every one of them when ``force``
    (``r``, or after an action: the engineer wants what is true now).

    Returns:
        (first, after): two lists of check ids, in catalog order.
    """
    fast: list[str] = []
    slow: list[str] = []
    for _, spec in catalog.checks():
        last = previous.get(spec.id)
        due = spec.cadence_s is not None and (
            force or last is None or last.status is Status.UNKNOWN
            or (now - last.checked_at).total_seconds() >= spec.cadence_s)
        (slow if due else fast).append(spec.id)
    return fast, slow


def in_order(catalog: Catalog, *groups: list[CheckResult]) -> list[CheckResult]:
    """Merge results into catalog order; a later group wins for the same id."""
    by_id = {r.id: r for group in groups for r in group}
    return [by_id[c.id] for _, c in catalog.checks() if c.id in by_id]


def next_interval(duration_s: float, interval_s: float, base_s: float) -> float:
    """The refresh interval after a refresh that took ``duration_s`` seconds: doubled (up to a
    minute) when it took more than half the current interval, back to ``base_s`` once the
    checks take at most half of that again, else unchanged."""
    if duration_s > 0.5 * interval_s:
        return min(interval_s * 2, MAX_INTERVAL_S)
    if duration_s <= 0.5 * base_s:
        return base_s
    return interval_s


def concurrency(interval_s: float, base_s: float, max_jobs: int = CHECK_SESSIONS, *,
                failures: int = 0) -> int:
    """On how many sessions the next refresh runs its checks (int, 1..``max_jobs``).

    ``max_jobs`` while the refresh runs at its base interval; 1 once it backed off
    (:func:`next_interval`: the checks took more than half the interval, i.e. queries got slow)
    or after a failed refresh, so a struggling database never sees more than one console query
    at a time (the checks then share the one session with the tables). Back at the base
    interval (the checks took at most half of it again), the concurrency comes back too.
    """
    if failures > 0 or interval_s > base_s:
        return 1
    return max(1, max_jobs)


def retry_delay(interval_s: float, failures: int) -> float:
    """Seconds to wait after ``failures`` failed refreshes in a row (exponential, capped)."""
    return min(interval_s * 2.0 ** min(failures, 6), MAX_INTERVAL_S)
