"""Checks on a small pool of sessions (issue 13, item 1): the same results as one session, in
catalog order; every pool session read-only with the single session's timeouts; a session the
server closed costs no check; ``check --jobs N`` before or after the command."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import psycopg
import pytest

from opsconsole import catalog, checks, cli
from opsconsole.checks import pool as pool_mod
from opsconsole.checks.monitor import Monitor
from opsconsole.checks.pool import CheckPool
from opsconsole.cli.main import DEFAULT_JOBS, MAX_JOBS
from opsconsole.connection import db
from tests.conftest import ANCHOR

SETTINGS = ("statement_timeout", "lock_timeout", "default_transaction_read_only", "jit",
            "TimeZone", "DateStyle", "IntervalStyle", "bytea_output", "extra_float_digits",
            "application_name")


def comparable(results: list[checks.CheckResult]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(r).items() if k != "duration_ms"} for r in results]


def settings(conn: db.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT name, setting FROM pg_settings WHERE lower(name) = ANY(%s)",
                        ([n.lower() for n in SETTINGS],)).fetchall()
    got = {r["name"]: r["setting"] for r in rows}
    assert len(got) == len(SETTINGS)
    return got


def test_results_on_three_sessions_equal_one_session_in_catalog_order(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn, CheckPool(seeded_dsn, size=2) as pool:
        one = checks.run_all(conn, cat, clock=lambda: ANCHOR)
        three = checks.run_all(conn, cat, clock=lambda: ANCHOR, pool=pool, jobs=3)
        assert pool.open_sessions == 2  # the two extra sessions ran checks and are kept
        again = checks.run_all(conn, cat, clock=lambda: ANCHOR, pool=pool, jobs=3)
        assert pool.open_sessions == 2  # reused, not opened again
    assert [r.id for r in three] == [spec.id for _, spec in cat.checks()]
    assert comparable(three) == comparable(one) == comparable(again)
    assert not [r.id for r in three if r.status is checks.Status.UNKNOWN]


def test_only_and_cadence_reuse_are_kept_with_jobs(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn, CheckPool(seeded_dsn, size=2) as pool:
        first = checks.run_all(conn, cat, only=["deliveries"], clock=lambda: ANCHOR, pool=pool,
                               jobs=3)
        previous = {r.id: r for r in first}
        later = checks.run_all(conn, cat, only=["deliveries"], clock=lambda: ANCHOR,
                               previous=previous, pool=pool, jobs=3)
    assert {r.screen for r in first} == {"deliveries"}
    cadence = {spec.id: spec.cadence_s for _, spec in cat.checks()}
    slow = [r for r in later if cadence[r.id] is not None]
    assert slow and all(r is previous[r.id] for r in slow)  # reused, not run again


def test_every_pool_session_has_the_single_sessions_settings(seeded_dsn: str) -> None:
    with db.connect(seeded_dsn, statement_timeout_ms=1234) as single, \
            CheckPool(seeded_dsn, size=2, statement_timeout_ms=1234) as pool:
        sessions = [pool.acquire(), pool.acquire()]
        assert pool.acquire() is None  # full: the caller goes on without
        for conn in sessions:
            assert conn is not None
            assert settings(conn) == settings(single)
            assert settings(conn)["statement_timeout"] == "1234"
            assert settings(conn)["default_transaction_read_only"] == "on"
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TABLE public.pool_must_not_write (x int)")
            pool.release(conn)
        assert pool.open_sessions == 2
    assert pool.open_sessions == 0 and pool.acquire() is None  # closed


def test_the_monitor_runs_checks_on_at_most_jobs_sessions(seeded_dsn: str) -> None:
    cat = catalog.load()
    monitor = Monitor(seeded_dsn, cat, 5000)

    def run(jobs: int) -> list[checks.CheckResult]:
        def fn(conn: db.Connection, pool: CheckPool | None, n: int) -> list[checks.CheckResult]:
            assert (pool is None) == (n == 1)
            return checks.run_all(conn, cat, clock=lambda: ANCHOR, pool=pool, jobs=n)
        return monitor.call_checks(fn, jobs)

    try:
        one = run(1)
        three = run(3)
        assert monitor._pool is not None and monitor._pool.open_sessions == 2
        assert comparable(one) == comparable(three)
    finally:
        monitor.close()
    assert monitor._pool is None


def test_a_session_the_server_closed_costs_no_check(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn, CheckPool(seeded_dsn, size=2) as pool, \
            psycopg.connect(seeded_dsn, autocommit=True) as admin:
        before = checks.run_all(conn, cat, clock=lambda: ANCHOR, pool=pool, jobs=3)
        own = conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'opsconsole' AND datname = current_database() "
                      "AND pid <> %s", (own,))
        after = checks.run_all(conn, cat, clock=lambda: ANCHOR, pool=pool, jobs=3)
    assert comparable(after) == comparable(before)
    assert not [r.id for r in after if r.status is checks.Status.UNKNOWN]


def test_when_every_session_is_gone_the_checks_are_unknown_not_ok(seeded_dsn: str) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn, CheckPool(seeded_dsn, size=2) as pool:
        report = checks.verify_or_reason(conn, cat)
        assert not isinstance(report, str)
        pool.close()  # no extra session can be had
        conn.close()
        results = checks.run_all(conn, cat, clock=lambda: ANCHOR, pool=pool, jobs=3,
                                 report=report)
    assert results and {r.status for r in results} == {checks.Status.UNKNOWN}
    assert {r.summary for r in results} == {"connection lost"}


def test_map_keeps_item_order_and_uses_the_callers_session_when_the_pool_is_empty(
        seeded_dsn: str) -> None:
    with db.connect(seeded_dsn) as conn, CheckPool(seeded_dsn, size=0) as pool:
        pids = pool.map(lambda c, i: (i, c.info.backend_pid), list(range(7)), first=conn,
                        jobs=3, lost=lambda i: (i, -1))
        assert [i for i, _ in pids] == list(range(7))
        assert {pid for _, pid in pids} == {conn.info.backend_pid}
    with db.connect(seeded_dsn) as conn, CheckPool(seeded_dsn, size=2) as pool:
        slow = "SELECT pg_backend_pid() AS pid FROM pg_sleep(0.2)"
        got = pool.map(lambda c, i: c.execute(slow).fetchone()["pid"],  # type: ignore[index]
                       list(range(3)), first=conn, jobs=3, lost=lambda i: -1)
    assert len(set(got)) == 3  # three statements at once, each on its own session


def test_jobs_limits() -> None:
    assert pool_mod.valid_jobs(1) == 1 and pool_mod.valid_jobs(8) == 8
    for bad in (0, 9):
        with pytest.raises(ValueError, match="1 to 8"):
            pool_mod.valid_jobs(bad)
    # the CLI names the pool's numbers without importing it (`--version` stays fast)
    assert (DEFAULT_JOBS, MAX_JOBS) == (pool_mod.DEFAULT_JOBS,
                                                         pool_mod.MAX_JOBS)


def test_check_jobs_before_or_after_the_command_sizes_the_pool(
        seeded_dsn: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    sizes: list[int] = []
    real = CheckPool.__init__

    def spy(self: CheckPool, dsn: str, **kwargs: Any) -> None:
        sizes.append(kwargs["size"])
        real(self, dsn, **kwargs)

    monkeypatch.setattr(CheckPool, "__init__", spy)
    docs = []
    for argv in (["--jobs", "2", "check", "--dsn", seeded_dsn, "--format", "json"],
                 ["check", "--dsn", seeded_dsn, "--format", "json", "--jobs", "2"],
                 ["check", "--dsn", seeded_dsn, "--format", "json", "--jobs", "1"],
                 ["check", "--dsn", seeded_dsn, "--format", "json"]):
        code = cli.main(argv)
        out, _ = capsys.readouterr()
        doc = json.loads(out)
        assert code == doc["exit_code"], argv
        docs.append([(c["id"], c["status"]) for c in doc["checks"]])
    assert sizes == [1, 1, 2]  # --jobs 2 twice; --jobs 1 opens no pool; the default is 3
    assert docs[0] == docs[1] == docs[2] == docs[3]
