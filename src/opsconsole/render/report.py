"""Headless output of check results: text, JSON and Prometheus textfile format.

The JSON shape is ``{"status", "exit_code", "checked_at", "target": {"host", "port", "dbname",
"user"}, "checks": [{"id", "screen", "title", "status", "value", "unit", "values", "summary",
"runbook", "duration_ms", "error"}]}``; a run that could not be evaluated (bad arguments, an
unreachable server, the deadline) is ``{"status": "UNKNOWN", "exit_code": 3, "checked_at",
"error"}`` (:func:`error_json`). The Prometheus format ends with the run's own status,
``opsconsole_check_run_status`` (0-3), the only metric a failed run writes, so an alert fires
on a run that cannot see the database instead of the last good values freezing. JSON escapes
every control and non-ASCII character; no password ever appears in any format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from opsconsole.checks import CheckResult, Status, worst_first
from opsconsole.connection.dsn import Target
from opsconsole.sanitize import clean

TEXT_WIDTH = 80


def to_dict(result: CheckResult) -> dict[str, Any]:
    """One check as the JSON object documented above (dict)."""
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
    return out


def as_json(
    results: Sequence[CheckResult], status: Status, target: Target, checked_at: datetime
) -> str:
    """The whole run as pretty JSON text (str)."""
    doc = {
        "status": status.name,
        "exit_code": int(status),
        "checked_at": checked_at.isoformat().replace("+00:00", "Z"),
        "target": {
            "host": target.host,
            "port": target.port,
            "dbname": target.dbname,
            "user": target.user,
        },
        "checks": [to_dict(r) for r in worst_first(results)],
    }
    return json.dumps(doc, indent=2, default=str, ensure_ascii=True)


def error_json(message: str, checked_at: datetime) -> str:
    """The JSON of a run that could not be evaluated: UNKNOWN, exit code 3 (str)."""
    doc = {
        "status": Status.UNKNOWN.name,
        "exit_code": int(Status.UNKNOWN),
        "checked_at": checked_at.isoformat().replace("+00:00", "Z"),
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


def as_text(results: Sequence[CheckResult], status: Status, target: Target) -> str:
    """One line per check, worst first, fitting 80 columns; a header and a footer line (str)."""
    lines = [f"opsconsole check {status.name} on {target.label()}"]
    for r in worst_first(results):
        head = f"{r.status.name:<8} {r.id:<32} "
        body = clean(r.summary, TEXT_WIDTH - len(head))
        lines.append(head + body)
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    lines.append(", ".join(f"{n} {s.name}" for s, n in counts.items() if n) or "no checks")
    return "\n".join(lines)


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
        "# HELP opsconsole_check_duration_seconds Wall time of each check's query.",
        "# TYPE opsconsole_check_duration_seconds gauge",
    ]
    for r in results:
        out.append(f"opsconsole_check_duration_seconds{_labels(r)} {r.duration_ms / 1000:.6f}")
    if status is not None:
        out += _run_status(status)
    return "\n".join(out) + "\n"


def _labels(r: CheckResult, unit: bool = False) -> str:
    pairs = [("check", r.id), ("screen", r.screen)]
    if unit:
        pairs.append(("unit", r.unit))
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _escape(value: str) -> str:
    text = clean(value, None)  # a label never carries a control character
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value))
