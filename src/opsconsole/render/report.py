"""Headless output of check results: text, JSON and Prometheus textfile format.

The JSON shape is ``{"status", "exit_code", "checked_at", "target": {"host", "port", "dbname",
"user"}, "checks": [{"id", "screen", "title", "status", "value", "unit", "values", "summary",
"runbook", "duration_ms", "error"}]}``; with ``check --state`` every check also has
``"previous": {"value", "status", "checked_at", "age_s"} | null`` (its last run's, from the
per-profile history) and ``"delta"`` (value minus the previous value, or null), and the document
``"state_file"``. A run that could not be evaluated (bad arguments, an unreachable server, the
deadline) is ``{"status": "UNKNOWN", "exit_code": 3, "checked_at", "error"}``
(:func:`error_json`). The Prometheus format ends with the run's own status,
``opsconsole_check_run_status`` (0-3), the only metric a failed run writes, so an alert fires
on a run that cannot see the database instead of the last good values freezing; every number of
a check's values map (a breakdown's count per key) is ``opsconsole_check_values``. JSON escapes
every control and non-ASCII character; no password ever appears in any format.

Text is one line per check, worst first; the line is cut at ``width`` columns when one is given
(a terminal's width, ``--width N``) and whole otherwise (cron, a pipe, ``--output``). A check
that is not OK has its runbook hint on an indented line under it, and an UNKNOWN check's reason
is never cut: it wraps.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsconsole.checks import CheckResult, Status, worst_first
from opsconsole.checks.history import Sample
from opsconsole.connection.dsn import Target
from opsconsole.render.trend import change_text
from opsconsole.sanitize import clean

MIN_SUMMARY = 16  # fewer columns after the head: the body goes on the lines under it
HINT_INDENT = " " * 9  # a hint starts under the check's id
MAX_VALUES_METRICS = 50  # opsconsole_check_values per check: a breakdown by error is unbounded


@dataclass(frozen=True)
class Previous:
    """A check's last run, from the history (``check --state``).

    Attributes:
        sample: the last run's sample (value, status, time), or None when there was none.
        current: this run's value (float | None).
    """

    sample: Sample | None
    current: float | None

    def delta(self) -> float | None:
        """This value minus the previous one, or None when either is missing."""
        if self.sample is None or self.sample.value is None or self.current is None:
            return None
        change = self.current - self.sample.value
        return change if math.isfinite(change) else None

    def as_dict(self, now: datetime) -> dict[str, Any] | None:
        """``{"value", "status", "checked_at", "age_s"}``, or None without a previous run."""
        if self.sample is None:
            return None
        return {
            "value": self.sample.value,
            "status": self.sample.status.name,
            "checked_at": _iso(self.sample.at),
            "age_s": round((now - self.sample.at).total_seconds(), 3),
        }

    def change(self, unit: str, now: datetime) -> str:
        """``+38 jobs in 15m 0s`` for text output ("" without a change)."""
        delta = self.delta()
        if not delta or self.sample is None:
            return ""
        return change_text((delta, (now - self.sample.at).total_seconds()), unit)


def to_dict(result: CheckResult, previous: Previous | None = None) -> dict[str, Any]:
    """One check as the JSON object documented above (dict); ``previous`` adds ``previous``
    and ``delta`` (``check --state``)."""
    out: dict[str, Any] = {
        "id": result.id,
        "screen": result.screen,
        "title": result.title,
        "status": result.status.name,
        "value": result.value,
        "unit": result.unit,
        "values": result.values,
        "summary": result.summary,
        "runbook": result.runbook,
        "duration_ms": result.duration_ms,
        "error": result.error,
    }
    if not result.installed:
        out["installed"] = False
    if previous is not None:
        out["previous"] = previous.as_dict(result.checked_at)
        out["delta"] = previous.delta()
    return out


def as_json(
    results: Sequence[CheckResult],
    status: Status,
    target: Target,
    checked_at: datetime,
    *,
    previous: Mapping[str, Previous] | None = None,
    state_file: str | None = None,
) -> str:
    """The whole run as pretty JSON text (str).

    Args:
        previous: check id -> its last run (``check --state``); None leaves ``previous`` and
            ``delta`` out.
        state_file: the history file read and updated (``check --state``), shown as
            ``state_file``.
    """
    doc: dict[str, Any] = {
        "status": status.name,
        "exit_code": int(status),
        "checked_at": _iso(checked_at),
        "target": {
            "host": target.host,
            "port": target.port,
            "dbname": target.dbname,
            "user": target.user,
        },
    }
    if state_file is not None:
        doc["state_file"] = state_file
    doc["checks"] = [to_dict(r, None if previous is None else previous.get(r.id))
                     for r in worst_first(results)]
    return json.dumps(doc, indent=2, default=str, ensure_ascii=True)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def error_json(message: str, checked_at: datetime) -> str:
    """The JSON of a run that could not be evaluated: UNKNOWN, exit code 3 (str)."""
    doc = {
        "status": Status.UNKNOWN.name,
        "exit_code": int(Status.UNKNOWN),
        "checked_at": _iso(checked_at),
        "error": message,
        "checks": [],
    }
    return json.dumps(doc, indent=2, ensure_ascii=True)


def error_text(message: str) -> str:
    """The text of a run that could not be evaluated (str, one line, for ``--output``)."""
    return f"opsconsole check {Status.UNKNOWN.name}: {clean(message, None)}"


def error_prometheus() -> str:
    """The textfile of a run that could not be evaluated: only the run status, 3 (str)."""
    return "\n".join(_run_status(Status.UNKNOWN)) + "\n"


def _run_status(status: Status) -> list[str]:
    return [
        "# HELP opsconsole_check_run_status Status of the whole run: 0 OK, 1 WARNING, "
        "2 CRITICAL, 3 UNKNOWN (3 also when the database could not be checked).",
        "# TYPE opsconsole_check_run_status gauge",
        f"opsconsole_check_run_status {int(status)}",
    ]


def as_text(
    results: Sequence[CheckResult],
    status: Status,
    target: Target,
    *,
    width: int | None = None,
    previous: Mapping[str, Previous] | None = None,
) -> str:
    """One line per check, worst first, a hint under each check that is not OK, and a header
    and a footer line (str).

    Args:
        width: cut each check's summary so its line fits this many columns (a terminal's
            width); None keeps every line whole (cron mail, a pipe, a file). An UNKNOWN
            check's reason and the hints are never cut: they wrap at ``width``.
        previous: check id -> its last run (``check --state``): a summary starts with the
            change since then, e.g. ``[+38 jobs in 15m 0s]``.
    """
    lines = _fitted(f"opsconsole check {status.name} on ", target.label(), width, wrap=True)
    for r in worst_first(results):
        head = f"{r.status.name:<8} {r.id:<32} "
        body = clean(r.summary, None)
        change = previous[r.id].change(r.unit, r.checked_at) if previous and r.id in previous \
            else ""
        if change:
            body = f"[{change}] {body}"
        lines += _fitted(head, body, width, wrap=r.status is Status.UNKNOWN,
                         indent=len(HINT_INDENT))
        if _hinted(r):
            lines += _fitted(f"{HINT_INDENT}hint: ", clean(r.runbook, None), width, wrap=True)
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    lines.append(", ".join(f"{n} {s.name}" for s, n in counts.items() if n) or "no checks")
    return "\n".join(lines)


def _hinted(result: CheckResult) -> bool:
    """A check that is not OK prints its runbook hint (one whose subsystem is absent does not:
    its runbook cannot help where the objects are missing)."""
    return result.status is not Status.OK and result.installed and bool(result.runbook.strip())


def _fitted(head: str, body: str, width: int | None, *, wrap: bool,
            indent: int | None = None) -> list[str]:
    """``head + body`` as one line (no width), or cut to ``width``, or with ``wrap`` wrapped at
    it, the lines after the first indented by ``indent`` (default: under the body's first
    column). Where the head leaves less than MIN_SUMMARY columns the body starts under it."""
    if width is None or len(head) + len(body) <= width:
        return [head + body]
    lines: list[str] = []
    if width - len(head) < MIN_SUMMARY:
        lines, head, indent = [head.rstrip()], " " * len(HINT_INDENT), len(HINT_INDENT)
    if not wrap:
        return [*lines, head + clean(body, width - len(head))]
    under = " " * (len(head) if indent is None else indent)
    return [*lines, *textwrap.wrap(body, width, initial_indent=head, subsequent_indent=under,
                                   break_long_words=True, break_on_hyphens=False)]


def as_prometheus(results: Sequence[CheckResult], status: Status | None = None) -> str:
    """Prometheus textfile-collector format with HELP and TYPE lines (str, ends with newline).

    Args:
        results: the checks.
        status: the run's status (the exit code), written as ``opsconsole_check_run_status``;
            None leaves that metric out.
    """
    out = [
        "# HELP opsconsole_check_status Check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        "# TYPE opsconsole_check_status gauge",
    ]
    for r in results:
        out.append(f"opsconsole_check_status{_labels(r)} {int(r.status)}")
    out += [
        "# HELP opsconsole_check_value The value each check's thresholds apply to, in its unit.",
        "# TYPE opsconsole_check_value gauge",
    ]
    for r in results:
        if r.value is not None:
            out.append(f"opsconsole_check_value{_labels(r, unit=True)} {_num(r.value)}")
    out += [
        "# HELP opsconsole_check_values Every number of each check's values map: a breakdown's "
        "count per key, a row check's numeric columns.",
        "# TYPE opsconsole_check_values gauge",
    ]
    for r in results:
        out += [f"opsconsole_check_values{_labels(r, key=k)} {_num(v)}" for k, v in _numbers(r)]
    out += [
        "# HELP opsconsole_check_duration_seconds Wall time of each check's query.",
        "# TYPE opsconsole_check_duration_seconds gauge",
    ]
    for r in results:
        out.append(f"opsconsole_check_duration_seconds{_labels(r)} {r.duration_ms / 1000:.6f}")
    if status is not None:
        out += _run_status(status)
    return "\n".join(out) + "\n"


def _numbers(r: CheckResult) -> list[tuple[str, float]]:
    """The finite numbers of a check's values map, in its order, at most MAX_VALUES_METRICS."""
    found = [(str(k), float(v)) for k, v in r.values.items()
             if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
    return found[:MAX_VALUES_METRICS]


def _labels(r: CheckResult, unit: bool = False, key: str | None = None) -> str:
    pairs = [("check", r.id), ("screen", r.screen)]
    if unit:
        pairs.append(("unit", r.unit))
    if key is not None:
        pairs.append(("key", key))
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _escape(value: str) -> str:
    text = clean(value, None)  # a label never carries a control character
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value))
