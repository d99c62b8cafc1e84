"""Rendering of database values and check results as inert rich Text (no Textual here).

Every value that came from the database passes through :func:`opsconsole.sanitize.clean` and
is wrapped in :class:`rich.text.Text`, never parsed as markup, so a message body cannot style
the screen, move the cursor or write the clipboard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from opsconsole import sanitize
from opsconsole.catalog import ColumnSpec
from opsconsole.checks import CheckResult, Status, human_duration

DEFAULT_WIDTH = 40
ID_TAIL = 12  # ids are shown by their last 12 characters (the random part of UUID v4 and v7)

# The word always carries the status (NO_COLOR, a monochrome terminal, a screen reader), and
# the styles use the 16 named ANSI colours only, so no palette conversion can reorder them:
# CRIT is the one red, bold, bright-white-on-red badge; WARN is black on bright yellow (ANSI 11,
# yellow on every palette, where plain "yellow" is brown or orange on many); UNKN is bold
# magenta text; OK is green text. Without colour, CRIT and UNKN stay bold.
STATUS_LABEL = {
    Status.OK: "OK",
    Status.WARNING: "WARN",
    Status.CRITICAL: "CRIT",
    Status.UNKNOWN: "UNKN",
}
STATUS_STYLE = {
    Status.OK: "green",
    Status.WARNING: "black on bright_yellow",
    Status.CRITICAL: "bold bright_white on red",
    Status.UNKNOWN: "bold magenta",
}


def status_text(status: Status) -> Text:
    """The 4-character status badge: its label (CRIT, UNKN, WARN, OK) in its style (Text)."""
    return Text(STATUS_LABEL[status].ljust(4), style=STATUS_STYLE[status])


def plain(value: Any, max_len: int | None = DEFAULT_WIDTH) -> Text:
    """Untrusted value as one line of inert text ("-" for None)."""
    if value is None:
        return Text("-", style="dim")
    return Text(sanitize.clean(value, max_len), no_wrap=True, overflow="ellipsis")


def as_datetime(value: Any) -> datetime | None:
    """A timestamp from a row value (datetime or ISO text), or None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return as_datetime(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def cell(column: ColumnSpec, value: Any, now: datetime) -> Text:
    """Render one table cell by the column's kind.

    Args:
        column: the column spec (kind text/number/time/age/bool/id, optional width).
        value: the raw database value.
        now: the console clock's "now", for ages (aware datetime).

    Returns:
        Text with no markup and no control characters.
    """
    if value is None:
        return Text("-", style="dim")
    render = _KINDS.get(column.kind)
    shown = render(column, value, now) if render else None
    return shown if shown is not None else plain(value, column.width or DEFAULT_WIDTH)


def _age(column: ColumnSpec, value: Any, now: datetime) -> Text | None:
    ts = as_datetime(value)
    if ts is None:
        return None
    return Text(human_duration((now - ts).total_seconds()), justify="right")


def _time(column: ColumnSpec, value: Any, now: datetime) -> Text | None:
    ts = as_datetime(value)
    return Text(ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M")) if ts else None


def _bool(column: ColumnSpec, value: Any, now: datetime) -> Text:
    return Text("yes", style="bold") if value else Text("no", style="dim")


def _number(column: ColumnSpec, value: Any, now: datetime) -> Text:
    return Text(sanitize.clean(value, column.width or 16), justify="right")


def _id(column: ColumnSpec, value: Any, now: datetime, tail: int = ID_TAIL) -> Text:
    return Text(short_id(value, tail), style="cyan", no_wrap=True)


def short_id(value: Any, tail: int = ID_TAIL) -> str:
    """An id cut to its last ``tail`` characters after an ellipsis (whole when it is short)."""
    text = sanitize.clean(value, None)
    return text if len(text) <= tail + 1 else sanitize.ELLIPSIS + text[-tail:]


def id_tails(
    columns: Sequence[ColumnSpec], rows: Sequence[dict[str, Any]], least: int = ID_TAIL
) -> dict[str, int]:
    """Per ``id`` column, the shortest tail (at least ``least``) that tells its rows apart.

    Two different ids never show as the same text: where the last ``least`` characters of
    two ids agree, the column shows more of every id, up to the whole id.

    Returns:
        dict column name -> tail length (characters).
    """
    out: dict[str, int] = {}
    for column in columns:
        if column.kind != "id":
            continue
        values = {sanitize.clean(r.get(column.name), None) for r in rows
                  if r.get(column.name) is not None}
        tail = least
        longest = max((len(v) for v in values), default=0)
        while tail < longest and len({short_id(v, tail) for v in values}) < len(values):
            tail += 4
        out[column.name] = tail
    return out


_KINDS: dict[str, Callable[[ColumnSpec, Any, datetime], Text | None]] = {
    "age": _age,
    "time": _time,
    "bool": _bool,
    "number": _number,
    "id": _id,
}


def row_cells(
    columns: Sequence[ColumnSpec], row: dict[str, Any], now: datetime,
    tails: dict[str, int] | None = None,
) -> list[Text]:
    """Every cell of a row, in column order (list[Text]).

    Args:
        tails: per id column, how many trailing characters to show (:func:`id_tails`).
    """
    out = []
    for c in columns:
        value = row.get(c.name)
        if tails and c.name in tails and value is not None:
            out.append(_id(c, value, now, tails[c.name]))
        else:
            out.append(cell(c, value, now))
    return out


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders raw values of one column (None last; mixed types by their text)."""
    if value is None:
        return (2, "")
    if isinstance(value, bool | int | float) or hasattr(value, "is_finite"):
        return (0, float(value))
    if isinstance(value, datetime):
        return (0, value.timestamp())
    return (1, str(value).lower())


def row_key(row: dict[str, Any]) -> str:
    """The DataTable key of a row: its ``id`` column as text."""
    return str(row.get("id"))


def matches(cells: Iterable[Text], needle: str) -> bool:
    """Whether any rendered cell contains ``needle`` (case-insensitive)."""
    low = needle.lower()
    return any(low in c.plain.lower() for c in cells)


def check_value(result: CheckResult) -> str:
    """The check's number with its unit, e.g. ``2.31 %``, ``12m 5s``, ``4 jobs`` ("-" if none)."""
    value = result.value
    if value is None:
        return "-"
    if result.unit == "s":
        return human_duration(value)
    if result.unit == "h":
        return f"{value:.1f} h"
    if result.unit == "%":
        return f"{value:.2f} %"
    number = f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"
    return f"{number} {result.unit}".strip()


def age_text(seconds: float | None) -> str:
    """``3s old``-style text for a data age in seconds ("no data yet" for None)."""
    if seconds is None:
        return "no data yet"
    return f"{human_duration(seconds)} old"


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}$")


def as_id(columns: Sequence[ColumnSpec], text: str) -> str | int | None:
    """``text`` as a value of the table's ``id`` column when it looks like one, else None.

    The key's type is read from the ``id`` column's kind: ``id`` holds UUIDs, ``number``
    integers; other kinds (text keys such as an error group) are never searched by id.
    """
    column = next((c for c in columns if c.name == "id"), None)
    typed = text.strip()
    if column is None or not typed:
        return None
    if column.kind == "id" and _UUID.match(typed):
        return typed.lower()
    if column.kind == "number" and typed.isdigit() and len(typed) < 19:
        return int(typed)
    return None
