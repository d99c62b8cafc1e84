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


def test_the_header_tick_repaints_only_the_changed_cells() -> None:
    from rich.text import Text

    from opsconsole.tui.widgets.header import changed_cells

    assert changed_cells(Text("8s old "), Text("9s old ")) == (0, 1)
    assert changed_cells(Text("18s old "), Text("19s old ")) == (1, 2)
    assert changed_cells(Text("19s old "), Text("20s old ")) == (0, 2)
    assert changed_cells(Text("9s old "), Text("9s old ")) == (0, 0)
    assert changed_cells(Text("9s old "), Text("10s old ")) is None  # another width: whole
    assert changed_cells(Text("1m 0s old "), Text("1m 0s old ", style="bold")) is None
    assert changed_cells(Text("WRITES ON 14:59"), Text("WRITES ON 14:58")) == (14, 15)
    assert changed_cells(Text("a…"), Text("b…")) == (0, 1)
    assert changed_cells(Text("日本"), Text("日木")) is None  # wide characters: whole
