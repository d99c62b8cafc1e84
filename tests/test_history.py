"""Trends (issue 12 "Trends"): each check's value history, in memory and per profile on disk,
bounded, with the change over a window and a sparkline (checks/history.py, render/trend.py)."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path

import pytest

from opsconsole.checks import CheckResult, Status
from opsconsole.checks.history import History, history_path
from opsconsole.render.trend import change_text, sparkline
from tests.conftest import ANCHOR


def result(check_id: str, value: float | None, minutes: float,
           status: Status = Status.OK) -> CheckResult:
    return CheckResult(
        id=check_id, screen="jobs", title="t", status=status, value=value, unit="jobs",
        values={}, summary="", runbook="", source="", query="jobs.q", duration_ms=1.0,
        error=None, checked_at=ANCHOR + timedelta(minutes=minutes))


def test_a_restart_keeps_the_last_24_hours_and_the_file_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history-prod.json"
    history = History(path)
    for minute in range(0, 30 * 60, 1):  # every minute for 30 h, plus a burst every 5 s
        history.record([result("jobs.failed_last_hour", minute % 50, minute)])
    for second in range(5, 60, 5):
        history.record([result("jobs.failed_last_hour", 7, 30 * 60 - 1 + second / 60)])
    history.save()
    again = History.load(path)
    series = again.series("jobs.failed_last_hour")
    assert series[-1].value == 7
    assert series[-1].at == ANCHOR + timedelta(minutes=30 * 60 - 1, seconds=55)
    assert series[-1].at - series[0].at <= timedelta(hours=24)
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(series)]
    assert min(gaps) >= 60  # thinned to one a minute on disk
    assert len(series) <= 24 * 60 + 2
    assert path.stat().st_size < 64_000
    assert not list(path.parent.glob(".history-*"))  # no temp file left behind


def test_delta_and_previous_answer_is_it_growing_or_draining() -> None:
    history = History()
    for minute, value in ((0, 10), (5, 20), (10, 30), (15, 48)):
        history.record([result("jobs.failed_last_hour", value, minute)])
    assert history.delta("jobs.failed_last_hour", 15 * 60) == (38, 900)
    assert history.delta("jobs.failed_last_hour", 5 * 60) == (18, 300)
    latest = history.latest("jobs.failed_last_hour")
    assert latest is not None
    prev = history.previous("jobs.failed_last_hour", latest.at)
    assert prev is not None and prev.value == 30
    assert change_text(history.delta("jobs.failed_last_hour", 900), "jobs") == (
        "+38 jobs in 15m 0s")
    assert history.delta("unknown.check", 900) is None


def test_a_reused_result_is_not_recorded_twice_and_unknown_values_are_gaps() -> None:
    history = History()
    first = result("deliveries.inconsistency_rate", 0.4, 0)
    history.record([first])
    history.record([first])  # a slow-cadence check reused by the next refresh
    history.record([result("deliveries.inconsistency_rate", None, 1, Status.UNKNOWN)])
    history.record([result("deliveries.inconsistency_rate", 0.8, 2)])
    assert len(history.series("deliveries.inconsistency_rate")) == 3
    assert sparkline(history.series("deliveries.inconsistency_rate")) == "▁ █"
    assert history.delta("deliveries.inconsistency_rate", 60) == (0.4, 120.0)


def test_a_damaged_file_is_an_empty_history_never_an_error(tmp_path: Path) -> None:
    path = tmp_path / "history-x.json"
    for content in ("{not json", json.dumps({"format": 1, "checks": {"a": [["x", 1, 9]]}}),
                    json.dumps([1, 2]), "\xff\xfe"):
        path.write_text(content, encoding="utf-8", errors="surrogateescape")
        assert History.load(path).series("a") == []
    (tmp_path / "dir.json").mkdir()
    History(tmp_path / "dir.json").save()  # cannot write: silently keeps memory


def test_history_files_are_per_profile_under_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path("production") == tmp_path / "opsconsole" / "history-production.json"
    assert history_path("../../etc/passwd").parent == tmp_path / "opsconsole"
