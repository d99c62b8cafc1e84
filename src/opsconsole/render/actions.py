"""Plain-text rendering of a preview and a result (the CLI; the TUI renders its own widgets).

Sample values were cleaned by :func:`opsconsole.sanitize.clean` when the preview was built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from opsconsole.actions.model import Preview, Result
from opsconsole.sanitize import clean

MAX_WIDTH = 38
LIST_SHOWN = 3  # a list parameter shows its first few values, then how many more
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def preview_text(preview: Preview) -> str:
    """The preview: count, batches, sample table, notes and the statement (str)."""
    batches = len(preview.batches)
    head = f"{preview.action}: {preview.count} rows would change"
    if batches > 1:
        head += f" in {batches} batches"
    if preview.done:
        head += f" (nothing to do: {clean(preview.done)})"
    lines = [head]
    if preview.sample:
        lines += _table(preview.columns, preview.sample)
        if preview.count > len(preview.sample):
            lines.append(f"  ... first {len(preview.sample)} of {preview.count}")
    lines += [f"note: {clean(n)}" for n in preview.notes]
    lines.append("statement:")
    lines += ["  " + ln for ln in preview.statement.strip().splitlines()]
    return "\n".join(lines)


class Raw(str):
    """SQL text that :func:`sql_literal` shows as it is (already a literal)."""


def preview_values(preview: Preview) -> dict[str, Any]:
    """What the preview's statements bind, by parameter name: the parameters, the lookups and
    choices (``bound``), the previewed keys as ``ids`` and, for an undo, the before-images it
    restores as ``images`` (the first ones, as the jsonb the statement reads) (dict)."""
    values: dict[str, Any] = {**preview.params, **preview.bound}
    values.setdefault("ids", [item.key for item in preview.items])
    images = [img for b in preview.batches if b.undo for img in b.undo.images]
    if images and "images" not in values:
        first = json.dumps([i.as_json() for i in images[:1]], default=str)
        more = f" /* and {len(images) - 1} more images */" if len(images) > 1 else ""
        values["images"] = Raw(f"'{clean(first, 400).replace(chr(39), chr(39) * 2)}'{more}")
    return values


def filled_preview(preview: Preview) -> str:
    """The preview's statement with its parameters filled in (:func:`filled`)."""
    return filled(preview.statement, preview_values(preview))


def filled(statement: str, values: Mapping[str, Any]) -> str:
    """``statement`` with every ``:name`` it takes replaced by its value as a SQL literal.

    For the engineer to read what will run (the statement itself is always sent with bound
    parameters). A list shows its first :data:`LIST_SHOWN` values and how many more; a
    parameter without a value stays ``:name``; values are cleaned of control characters.

    Args:
        statement: SQL as written in queries/ (``:name`` placeholders, ``::type`` casts).
        values: parameter name -> value.

    Returns:
        str
    """

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        return sql_literal(values[name]) if name in values else match.group(0)

    return _PARAM.sub(literal, statement)


def sql_literal(value: Any) -> str:
    """A value as SQL text for reading: NULL, true/false, numbers bare, text quoted (''),
    lists as ARRAY[...] (the first few, then a comment counting the rest), JSON quoted."""
    if value is None:
        return "NULL"
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        shown = ", ".join(sql_literal(v) for v in value[:LIST_SHOWN])
        more = f" /* and {len(value) - LIST_SHOWN} more */" if len(value) > LIST_SHOWN else ""
        return f"ARRAY[{shown}{more}]"
    if isinstance(value, dict):
        value = json.dumps(value, default=str)
    text = clean(value, 200).replace("'", "''")
    return f"'{text}'"


def result_text(result: Result) -> str:
    """The result: its message and its values as key=value lines, as seed 000 prints them."""
    lines = [clean(result.message, None)]
    for key, value in result.values.items():
        if key != "audit_file_warning":  # printed once, on stderr, by the CLI
            lines.append(f"{key}={_value(value)}")
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(clean(v, 40) for v in value)
    return clean(value, 200)


def _table(columns: list[str], rows: list[dict[str, str]]) -> list[str]:
    widths = {c: min(MAX_WIDTH, max([len(c)] + [len(r.get(c, "")) for r in rows])) for c in columns}
    def fmt(values: dict[str, str]) -> str:
        return "  " + "  ".join(values.get(c, "")[: widths[c]].ljust(widths[c]) for c in columns)
    return [fmt({c: c for c in columns})] + [fmt(r) for r in rows]


_UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ID_TAIL = 12


def short_ids(rows: list[dict[str, str]], columns: list[str]) -> list[dict[str, str]]:
    """The sample with every UUID shortened to "…" and its last characters, enough of them
    that two different ids of a column never look the same (list[dict[str, str]])."""
    out = [dict(r) for r in rows]
    for column in columns:
        values = {r.get(column, "") for r in rows}
        if not values or not all(_UUID_TEXT.match(v) for v in values if v):
            continue
        tail = ID_TAIL
        while tail < 36 and len({v[-tail:] for v in values}) < len(values):
            tail += 4
        for row in out:
            value = row.get(column, "")
            if value and len(value) > tail + 1:
                row[column] = "…" + value[-tail:]
    return out
