"""The whole story of one check as plain text parts: thresholds and their direction, every
entry of its values map, and its statement as written in ``queries/`` (the check detail dialog
lays these out; no Textual here).

Everything a value from the database reaches is passed through :func:`opsconsole.sanitize.clean`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from opsconsole import sanitize
from opsconsole.catalog import CheckSpec, NamedQuery
from opsconsole.checks import CheckResult
from opsconsole.checks.engine import human_duration

VALUE_MAX = 500  # a value of the values map is shown up to this many characters
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def thresholds_text(spec: CheckSpec) -> str:
    """The check's thresholds and which way is worse (str), e.g. ``warning above 0 · critical
    above 50 (higher is worse)`` or ``none (informational)``.

    Thresholds are strict (``above 0`` means WARNING when the value is > 0); a warning judged on
    another column says so, and a check that is OK without a value says that too.
    """
    parts: list[str] = []
    for level, above, below in (
        ("warning", spec.warning_above, spec.warning_below),
        ("critical", spec.critical_above, spec.critical_below),
    ):
        if above is not None:
            parts.append(f"{level} above {_limit(above, spec.unit)}")
        if below is not None:
            parts.append(f"{level} below {_limit(below, spec.unit)}")
    if not parts:
        text = "none (informational)"
    else:
        ups = spec.warning_above is not None or spec.critical_above is not None
        downs = spec.warning_below is not None or spec.critical_below is not None
        way = ("higher is worse" if ups and not downs else "lower is worse" if downs and not ups
               else "outside the range is worse")
        text = f"{' · '.join(parts)} ({way})"
    if spec.warning_value:
        text += f"; the warning applies to {spec.warning_value}"
    if spec.when_null == "ok":
        text += f"; no value is OK ({spec.null_summary})"
    return text


def value_text(key: str, value: Any) -> str:
    """One entry of a values map as shown (str): ``-`` for None, whole numbers without a
    decimal point, a ``*_s`` number followed by its duration (``14160 (3h 56m)``), text
    sanitised and cut at :data:`VALUE_MAX` characters."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        shown = _number(value)
        if key.endswith("_s") and math.isfinite(float(value)):
            shown += f" ({human_duration(float(value))})"
        return shown
    return sanitize.clean(value, VALUE_MAX)


def values_rows(result: CheckResult) -> list[tuple[str, str]]:
    """Every entry of the result's values map, in its order: (key, value as text).

    For a breakdown these are its keys (per day, per status, per reason, per error) with their
    counts; for a row check, every column its query returned.
    """
    return [(sanitize.clean(k, 120), value_text(k, v)) for k, v in result.values.items()]


def statement_text(query: NamedQuery) -> str:
    """The statement as written in ``queries/`` (aiosql keeps it in psycopg form: ``%(now)s``
    becomes ``:now`` again and ``%%`` becomes ``%``), every line sanitised (str)."""
    sql = _PLACEHOLDER.sub(lambda m: ":" + m.group(1), query.sql).replace("%%", "%")
    return sanitize.clean_lines(sql.strip())


def statement_copy(
    result: CheckResult, query: NamedQuery, location: str, params: dict[str, Any]
) -> str:
    """What the copy key puts on the clipboard: a comment naming the query and where it is
    written, one comment per parameter with the value of the last run, then the statement
    ending in ``;`` (str, ready for psql once the ``:name`` parameters are filled in)."""
    lines = [f"-- {query.ref} ({location}), check {result.id}"]
    for name in query.parameters:
        if name in params:
            lines.append(f"-- :{name} = {sanitize.clean(_param(params[name]), 200)}")
    body = statement_text(query).rstrip()
    return "\n".join([*lines, body if body.endswith(";") else body + ";"]) + "\n"


def run_params(spec: CheckSpec, checked_at: datetime) -> dict[str, Any]:
    """The parameters the check's statement ran with: ``now`` (the run's time) and the spec's
    ``params`` (dict)."""
    return {"now": checked_at, **spec.params}


def _limit(value: float, unit: str) -> str:
    """A threshold in the check's unit: ``300 s (5m 0s)``, ``1 %``, ``0 jobs``."""
    text = f"{_number(value)} {unit}".rstrip()
    if unit == "s" and value >= 60:
        text += f" ({human_duration(value)})"
    return text


def _param(value: Any) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _number(value: float) -> str:
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    return f"{int(number)}" if number.is_integer() else f"{number:.2f}"
