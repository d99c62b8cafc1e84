"""The console's back-off also lowers the concurrency (issue 13, item 1): while the checks run
at the base interval they use up to 3 sessions; once queries get slow (the interval backed
off) or a refresh failed, one, so a struggling database never sees more than one console query
at a time; back at the base interval, 3 again. Pure functions: no database, no Textual."""

from __future__ import annotations

from opsconsole.checks.pool import DEFAULT_JOBS
from opsconsole.tui import refresh


def test_concurrency_follows_the_back_off() -> None:
    base = 5.0
    assert refresh.concurrency(base, base) == refresh.CHECK_SESSIONS == DEFAULT_JOBS == 3
    assert refresh.concurrency(10.0, base) == 1  # backed off: slow queries
    assert refresh.concurrency(60.0, base) == 1
    assert refresh.concurrency(base, base, failures=1) == 1  # a failed refresh
    assert refresh.concurrency(base, base, 1) == 1  # the console asked for one session
    assert refresh.concurrency(base, base, 0) == 1  # never none


def test_a_slow_database_gets_one_query_at_a_time_until_it_recovers() -> None:
    base = 5.0
    interval = base
    seen = []
    # durations of successive refreshes (s): fast, then slow (> half the interval), then fast
    for duration in (0.3, 0.4, 3.0, 6.0, 4.0, 2.0, 0.5, 0.3):
        jobs = refresh.concurrency(interval, base)
        seen.append((interval, jobs))
        interval = refresh.next_interval(duration, interval, base)
    assert seen == [(5.0, 3), (5.0, 3), (5.0, 3),  # the refresh that took 3 s ran on 3
                    (10.0, 1), (20.0, 1), (20.0, 1),  # backed off: one session
                    (5.0, 3), (5.0, 3)]  # the checks took at most half the base interval
    # while backed off no refresh runs on more than one session
    assert all(jobs == 1 for interval, jobs in seen if interval > base)
