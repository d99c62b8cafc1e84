"""The check engine layer: checks run on the monitoring session, keyset pages of the tables, and
the console's kept session (:mod:`~opsconsole.checks.monitor`). Nothing here imports Textual."""

from opsconsole.checks.engine import (
    CheckResult,
    Clock,
    Status,
    evaluate,
    human_duration,
    run_all,
    run_check,
    select,
    utc_now,
    verify_or_reason,
    worst,
    worst_first,
)

__all__ = [
    "CheckResult",
    "Clock",
    "Status",
    "evaluate",
    "human_duration",
    "run_all",
    "run_check",
    "select",
    "utc_now",
    "verify_or_reason",
    "worst",
    "worst_first",
]
