"""Patch a DataTable in place so a refresh neither flickers nor loses the cursor.

Rows are diffed by key: unchanged cells are left alone, changed cells are updated, vanished rows
removed and new rows appended, all inside one ``batch_update``. Only when the order itself changed
(e.g. a new row at the top of a newest-first list) is the table rebuilt, and then the cursor is
put back on the same row, or kept on the first row when it was there (the newest row of a
newest-first list stays under the cursor as rows arrive).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

Row = tuple[str, list[Text]]


def current_keys(table: DataTable[Text]) -> list[str]:
    """The row keys in display order (list[str])."""
    return [str(row.key.value) for row in table.ordered_rows]


def cursor_key(table: DataTable[Text]) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if table.row_count == 0:
        return None
    index = min(max(table.cursor_row, 0), table.row_count - 1)
    return str(table.ordered_rows[index].key.value)


def sync_rows(table: DataTable[Text], wanted: Sequence[Row], columns: Sequence[str]) -> bool:
    """Make ``table`` show ``wanted`` (key, cells) rows, touching as little as possible.

    Args:
        table: a DataTable whose column keys are ``columns``.
        wanted: rows in display order; duplicate keys after the first are ignored.
        columns: the column keys, in order.

    Returns:
        True when anything changed.
    """
    rows = _unique(wanted)
    order = [key for key, _ in rows]
    now = current_keys(table)
    with table.app.batch_update():
        if now == order:
            return _patch(table, rows, columns)
        present = set(now)
        wanted_keys = set(order)
        kept = [k for k in now if k in wanted_keys]
        added = [k for k in order if k not in present]
        if kept + added != order:
            _rebuild(table, rows)
            return True
        for key in now:
            if key not in wanted_keys:
                table.remove_row(key)
        _patch(table, [r for r in rows if r[0] in present], columns)
        for key, cells in rows:
            if key not in present:
                table.add_row(*cells, key=key)
        return True


def _unique(wanted: Sequence[Row]) -> list[Row]:
    seen: set[str] = set()
    out: list[Row] = []
    for key, cells in wanted:
        if key not in seen:
            seen.add(key)
            out.append((key, cells))
    return out


def _patch(table: DataTable[Text], rows: Sequence[Row], columns: Sequence[str]) -> bool:
    changed = False
    for key, cells in rows:
        old = table.get_row(key)
        for column, new, before in zip(columns, cells, old, strict=False):
            if new != before:
                table.update_cell(key, column, new, update_width=True)
                changed = True
    return changed


def _rebuild(table: DataTable[Text], rows: Sequence[Row]) -> None:
    keep = cursor_key(table)
    old_row = table.cursor_row
    scroll_y = table.scroll_y
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if not rows:
        return
    order = [k for k, _ in rows]
    if old_row == 0:  # on the first row: stay on the first (the newest, as rows arrive)
        index = 0
    else:
        index = order.index(keep) if keep in order else min(old_row, len(rows) - 1)
    table.move_cursor(row=index, animate=False, scroll=False)
    table.scroll_to(y=scroll_y, animate=False, immediate=True)
