"""The check engine: named queries in, OK / WARNING / CRITICAL / UNKNOWN results out.

One engine serves the TUI's tiles and ``opsconsole check``, so the two can never disagree. No
check is OK unless its statement ran: before anything runs, the server has verified the catalog
(:func:`opsconsole.catalog.verify.verified`, once per session while the schema is unchanged), and
a check with any finding (its subsystem absent, its statement refused, a value its column cannot
hold, a spec column its statement lacks, row-level security filtering the role) is UNKNOWN with
the finding's line, which names what the database has instead and the file and line to edit. A
failed or timed-out query is UNKNOWN with the error. Nothing here imports Textual.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import psycopg

from opsconsole import sanitize
from opsconsole.catalog import Catalog, CheckSpec, ScreenSpec
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.catalog.model import AGGREGATES
from opsconsole.catalog.verify import CatalogReport, verified
from opsconsole.catalog.vocabulary import Vocabulary
from opsconsole.connection.db import Connection, describe_error

if TYPE_CHECKING:
    from opsconsole.checks.pool import CheckPool

Clock = Callable[[], datetime]


class Status(IntEnum):
    """Monitoring-plugin status; the int is the plugin exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def severity(self) -> int:
        """Rank for "worst first": CRITICAL > UNKNOWN > WARNING > OK (int)."""
        return _SEVERITY[self]


_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes:
        id: check id, e.g. ``deliveries.inconsistency_rate``.
        screen: screen id.
        title: one-line title.
        status: :class:`Status`.
        value: the number thresholds apply to (float | None), in ``unit``.
        unit: "%", "s", "h", "rows", ... (str).
        values: every column (row checks) or count per key (breakdown checks).
        summary: one line for a tile or a cron mail (str, sanitised).
        runbook: one-line hint of what to do (str).
        source: the seed document the check comes from (str).
        query: the named query ``file.name`` (str).
        duration_ms: wall time of the query in ms (float).
        error: why the check could not be evaluated, or None.
        installed: False when the check's subsystem is absent (the check then counts toward
            the exit code only when asked for by name).
        rows: the breakdown rows, for display (list of dicts; empty for row checks).
        checked_at: when it ran (aware datetime, UTC).
    """

    id: str
    screen: str
    title: str
    status: Status
    value: float | None
    unit: str
    values: dict[str, Any]
    summary: str
    runbook: str
    source: str
    query: str
    duration_ms: float
    error: str | None
    installed: bool = True
    rows: list[dict[str, Any]] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def utc_now() -> datetime:
    """The default clock (aware datetime, UTC)."""
    return datetime.now(UTC)


def run_check(
    conn: Connection,
    catalog: Catalog,
    schema: SchemaInfo | None,
    screen: ScreenSpec,
    spec: CheckSpec,
    *,
    clock: Clock | None = None,
    report: CatalogReport | None = None,
) -> CheckResult:
    """Run one check, if the server's verification of the catalog found nothing against it.

    Args:
        conn: a read-only monitoring session (autocommit).
        catalog: the loaded catalog.
        schema: unused (the verification report carries what the database holds); kept so
            callers that pass :func:`opsconsole.catalog.introspect.inspect`'s result still work.
        screen: the check's screen.
        spec: the check.
        clock: returns "now" for time-relative queries (aware datetime; default
            :func:`utc_now`, looked up at call time).
        report: the catalog verified on this database (default: :func:`verified`).

    Returns:
        CheckResult; never raises for a finding or a failed query (UNKNOWN instead).

    Raises:
        psycopg.OperationalError: the connection was lost while verifying.
    """
    now = (clock or utc_now)()
    got = report or verify_or_reason(conn, catalog)
    if isinstance(got, str):
        return _unknown(screen, spec, got, now=now)
    report = got
    problems = report.problems("check", spec.id)
    if problems:
        first = problems[0].message
        more = f" (and {len(problems) - 1} more: see `opsconsole doctor`)" if len(
            problems) > 1 else ""
        return _unknown(screen, spec, first + more,
                        installed=report.installed("check", spec.id), now=now)
    query = catalog.query(spec.query)
    params: dict[str, Any] = {"now": now, **spec.params}
    started = time.perf_counter()
    try:
        rows = conn.execute(query.sql.encode(), params).fetchall()
    except psycopg.Error as exc:
        elapsed = (time.perf_counter() - started) * 1000
        reason = describe_error(exc, location=catalog.location(spec.query))
        return _unknown(screen, spec, reason, now=now, duration_ms=elapsed)
    elapsed = (time.perf_counter() - started) * 1000
    return evaluate(screen, spec, rows, duration_ms=elapsed, now=now,
                    vocabulary=report.vocabulary(spec.query, spec.key_column))


def run_all(
    conn: Connection,
    catalog: Catalog,
    schema: SchemaInfo | None = None,
    *,
    only: Iterable[str] | None = None,
    clock: Clock | None = None,
    previous: Mapping[str, CheckResult] | None = None,
    report: CatalogReport | None = None,
    pool: CheckPool | None = None,
    jobs: int = 1,
) -> list[CheckResult]:
    """Run every check (or those selected by ``only``); results in catalog order.

    Args:
        schema: unused (see :func:`run_check`).
        only: check ids or screen ids; None = all.
        previous: the last results by id; a check with ``cadence_s`` whose previous result
            (not UNKNOWN) is younger than that is reused instead of run again, so expensive
            checks refresh on a slower cadence.
        report: the catalog verified on this database (default: :func:`verified`, which
            costs one fingerprint query while the schema is unchanged).
        pool: extra sessions (:class:`~opsconsole.checks.pool.CheckPool`) for ``jobs > 1``.
        jobs: sessions at most, ``conn`` included (1 = every check on ``conn``, one after the
            other). With more, the checks are independent statements run side by side on
            ``conn`` and the pool's sessions, the slowest first (by the previous duration,
            else the slow-cadence checks first); the results, and their values, are the same
            as with 1, in catalog order.

    Returns:
        list[CheckResult]; once the connection is lost the remaining checks are UNKNOWN
        (with ``jobs > 1``: those no session could run).

    Raises:
        psycopg.OperationalError: the connection was lost while verifying.
    """
    selected = select(catalog, only)
    results: list[CheckResult] = []
    if selected and report is None and not (conn.closed or conn.broken):
        got = verify_or_reason(conn, catalog)
        if isinstance(got, str):
            now = (clock or utc_now)()
            return [_unknown(screen, spec, got, now=now) for screen, spec in selected]
        report = got
    if pool is not None and jobs > 1 and not (conn.closed or conn.broken):
        return _run_concurrently(conn, catalog, selected, clock=clock, previous=previous or {},
                                 report=report, pool=pool, jobs=jobs)
    for screen, spec in selected:
        if conn.closed or conn.broken:
            results.append(_unknown(screen, spec, "connection lost", now=(clock or utc_now)()))
            continue
        kept = _still_fresh(spec, (previous or {}).get(spec.id), (clock or utc_now)())
        results.append(kept or run_check(conn, catalog, schema, screen, spec, clock=clock,
                                         report=report))
    return results


LOST = "connection lost"  # how db.describe_error starts for a lost session
SLOW_GUESS_MS = 1000.0  # the expected duration of a never-run slow-cadence check, for ordering


def _run_concurrently(
    conn: Connection,
    catalog: Catalog,
    selected: list[tuple[ScreenSpec, CheckSpec]],
    *,
    clock: Clock | None,
    previous: Mapping[str, CheckResult],
    report: CatalogReport | None,
    pool: CheckPool,
    jobs: int,
) -> list[CheckResult]:
    """:func:`run_all`'s checks on up to ``jobs`` sessions; results in catalog order."""
    results: dict[int, CheckResult] = {}
    todo: list[int] = []
    for index, (_, spec) in enumerate(selected):
        kept = _still_fresh(spec, previous.get(spec.id), (clock or utc_now)())
        if kept is not None:
            results[index] = kept
        else:
            todo.append(index)

    def expected_ms(index: int) -> float:
        spec = selected[index][1]
        last = previous.get(spec.id)
        if last is not None and last.status is not Status.UNKNOWN:
            return last.duration_ms
        return SLOW_GUESS_MS if spec.cadence_s is not None else 0.0

    # longest first: the run ends about when its longest statement does (catalog order on ties)
    todo.sort(key=lambda i: (-expected_ms(i), i))

    def one(session: Connection, index: int) -> CheckResult:
        screen, spec = selected[index]
        result = run_check(session, catalog, None, screen, spec, clock=clock, report=report)
        if (result.error or "").startswith(LOST):
            # libpq may not have marked it broken yet: closed, the pool runs the check again
            # on another session (a session the server closed while idle is not its fault)
            with contextlib.suppress(Exception):
                session.close()
        return result

    def lost(index: int) -> CheckResult:
        screen, spec = selected[index]
        return _unknown(screen, spec, "connection lost", now=(clock or utc_now)())

    ran = pool.map(one, todo, first=conn, jobs=jobs, lost=lost)
    results.update(zip(todo, ran, strict=True))
    return [results[i] for i in range(len(selected))]


def verify_or_reason(conn: Connection, catalog: Catalog) -> CatalogReport | str:
    """:func:`verified`, or the one-line reason it could not be done (e.g. a statement timeout).

    Raises:
        psycopg.OperationalError: the connection was lost.
    """
    try:
        return verified(conn, catalog)
    except psycopg.errors.QueryCanceled as exc:  # an OperationalError that keeps the session
        return f"cannot verify the catalog: {describe_error(exc)}"
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        return f"cannot verify the catalog: {describe_error(exc)}"


def _still_fresh(spec: CheckSpec, last: CheckResult | None, now: datetime) -> CheckResult | None:
    if spec.cadence_s is None or last is None or last.status is Status.UNKNOWN:
        return None
    return last if (now - last.checked_at).total_seconds() < spec.cadence_s else None


def select(catalog: Catalog, only: Iterable[str] | None) -> list[tuple[ScreenSpec, CheckSpec]]:
    """The (screen, check) pairs named by ``only``; None = all.

    A name is a check id, a screen id or a screen's title as the console shows it
    ("Moderation"), compared case-insensitively; surrounding spaces are ignored.

    Raises:
        KeyError: a name matches no check and no screen (message lists the names).
    """
    pairs = catalog.checks()
    if only is None:
        return pairs
    wanted = {w.strip().casefold() for w in only}

    def names(screen: ScreenSpec, check: CheckSpec) -> set[str]:
        return {screen.id.casefold(), screen.title.strip().casefold(), check.id.casefold()}

    known = set().union(*(names(s, c) for s, c in pairs)) if pairs else set()
    unknown = [w for w in only if w.strip().casefold() not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [(s, c) for s, c in pairs if names(s, c) & wanted]


def worst(results: Iterable[CheckResult], *, count_not_installed: bool = False) -> Status:
    """The worst status (CRITICAL > UNKNOWN > WARNING > OK); OK for no results.

    Args:
        count_not_installed: include checks whose subsystem is absent (True when the user asked
            for them by name).
    """
    statuses = [r.status for r in results if r.installed or count_not_installed]
    return max(statuses, key=lambda s: s.severity, default=Status.OK)


def worst_first(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Results sorted worst first, then by screen and id (list[CheckResult])."""
    return sorted(results, key=lambda r: (-r.status.severity, r.screen, r.id))


def evaluate(
    screen: ScreenSpec,
    spec: CheckSpec,
    rows: list[dict[str, Any]],
    *,
    duration_ms: float = 0.0,
    now: datetime | None = None,
    vocabulary: Vocabulary | None = None,
) -> CheckResult:
    """Turn a query's rows into a result (pure: no I/O).

    Args:
        vocabulary: for a breakdown, what its key column can hold: every value it can hold is
            listed, with a zero count when no row holds it.

    Raises:
        nothing; a missing value column gives UNKNOWN naming it.
    """
    now = now or utc_now()
    if spec.shape == "breakdown":
        values = _breakdown(rows, spec, vocabulary)
        if values is None:
            return _unknown(
                screen,
                spec,
                f"query {spec.query} returned no column "
                f"'{spec.key_column}' or '{spec.count_column}'",
                now=now,
            )
        raw: Any = breakdown_value(spec.value, values)
    else:
        if len(rows) != 1:
            return _unknown(
                screen,
                spec,
                f"query {spec.query} returned {len(rows)} rows, expected 1",
                now=now,
                duration_ms=duration_ms,
            )
        values = {k: _plain(v) for k, v in rows[0].items()}
        if spec.value not in values:
            return _unknown(
                screen,
                spec,
                f"query {spec.query} returned no column '{spec.value}'",
                now=now,
                duration_ms=duration_ms,
            )
        raw = values[spec.value]
    value = _number(raw)
    shown = {**spec.params, **values}
    if spec.shape == "breakdown":
        shown |= {key: breakdown_value(key, values) for key in AGGREGATES}
    status, summary = _judge(spec, value, shown)
    if spec.shape == "breakdown" and value is not None:
        summary = _with_unnamed(summary, spec, values)
    return CheckResult(
        id=spec.id,
        screen=screen.id,
        title=spec.title,
        status=status,
        value=value,
        unit=spec.unit,
        values=values,
        summary=summary,
        runbook=spec.runbook,
        source=spec.source,
        query=spec.query,
        duration_ms=round(duration_ms, 2),
        error=None,
        rows=[{k: _plain(v) for k, v in r.items()} for r in rows]
        if spec.shape == "breakdown"
        else [],
        checked_at=now,
    )


def _judge(spec: CheckSpec, value: float | None, values: dict[str, Any]) -> tuple[Status, str]:
    if value is None:
        if spec.when_null == "ok":
            return Status.OK, spec.null_summary
        return Status.UNKNOWN, f"no value in column '{spec.value}'"
    status = Status.OK
    warn_on = _number(values.get(spec.warning_value)) if spec.warning_value else value
    if warn_on is not None and _beyond(warn_on, spec.warning_above, spec.warning_below):
        status = Status.WARNING
    if _beyond(value, spec.critical_above, spec.critical_below):
        status = Status.CRITICAL
    return status, _format(spec.summary, values)


def _beyond(value: float, above: float | None, below: float | None) -> bool:
    return (above is not None and value > above) or (below is not None and value < below)


def _breakdown(
    rows: list[dict[str, Any]], spec: CheckSpec, vocabulary: Vocabulary | None
) -> dict[str, Any] | None:
    values: dict[str, Any] = {v: 0 for v in (vocabulary.allowed or ())} if vocabulary else {}
    for row in rows:
        if spec.key_column not in row or spec.count_column not in row:
            return None
        key = sanitize.clean(row[spec.key_column], 80)
        count = _number(row[spec.count_column]) or 0
        values[key] = values.get(key, 0) + (int(count) if float(count).is_integer() else count)
    return values


def breakdown_value(name: str, values: dict[str, Any]) -> Any:
    """A breakdown's value: the count of key ``name``, or for ``*`` the sum of every count and
    for ``#`` the number of keys with a count (e.g. the distinct errors of the failed jobs)."""
    if name == "*":
        return sum(values.values())
    if name == "#":
        return sum(1 for count in values.values() if count)
    return values.get(name, 0)


def _with_unnamed(summary: str, spec: CheckSpec, values: dict[str, Any]) -> str:
    """The summary, followed by the values the data holds that its template does not name.

    A template that names no key and no aggregate (e.g. "per day below") is left as it is.
    """
    from opsconsole.catalog.speccheck import placeholders

    named = set(placeholders(spec.summary))
    keys = named & set(values)
    if not keys and not named & set(AGGREGATES):
        return summary
    others = [f"{v} {k}" for k, v in values.items() if k not in named and v]
    if not others:
        return summary
    joined = f"{summary}; also {', '.join(others)}" if keys else f"{summary}: {', '.join(others)}"
    return sanitize.clean(joined, 300)


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        if key.endswith("_s") is False and f"{key}_s" in self:
            return human_duration(_number(self[f"{key}_s"]))
        return 0


def _format(template: str, values: dict[str, Any]) -> str:
    safe = _Values(
        {k: sanitize.clean(v, 120) if isinstance(v, str) else v for k, v in values.items()}
    )
    try:
        return sanitize.clean(template.format_map(safe), 300)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        return f"(summary template error: {exc})"


def human_duration(seconds: float | None) -> str:
    """Render seconds as ``45s``, ``12m 5s``, ``26h 0m`` or ``3d 2h`` (str; "-" for None)."""
    if seconds is None or math.isnan(seconds):
        return "-"
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400 * 3:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _number(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return float(raw)
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _plain(value: Any) -> Any:
    """JSON-friendly value: Decimal -> float, datetime -> ISO 8601, bytes -> hex."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _unknown(
    screen: ScreenSpec,
    spec: CheckSpec,
    error: str,
    *,
    installed: bool = True,
    now: datetime,
    duration_ms: float = 0.0,
) -> CheckResult:
    return CheckResult(
        id=spec.id,
        screen=screen.id,
        title=spec.title,
        status=Status.UNKNOWN,
        value=None,
        unit=spec.unit,
        values={},
        summary=error,
        runbook=spec.runbook,
        source=spec.source,
        query=spec.query,
        duration_ms=round(duration_ms, 2),
        error=error,
        installed=installed,
        checked_at=now,
    )
