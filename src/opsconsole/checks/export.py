"""Export a table: every row of its query, read through keyset pages, to CSV or JSON.

The rows are read page by page (:func:`opsconsole.checks.tables.fetch_page` through a caller's
``fetch``, so the console can release its session between pages), capped at ``cap`` rows, and
written to a temporary file in the target folder that is renamed into place only once complete:
a failed or cancelled export leaves nothing half-written. Nothing here imports Textual.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from opsconsole.checks.tables import Cursor, Page

Format = Literal["csv", "json"]
DEFAULT_CAP = 100_000  # rows: an export never reads more than this
EXPORT_PAGE = 1000  # rows per keyset page while exporting

Fetch = Callable[[Cursor | None, int], Page]


class ExportFailed(Exception):
    """The export stopped (a page failed, or it was cancelled); nothing was written."""


@dataclass(frozen=True)
class Exported:
    """A finished export.

    Attributes:
        path: the file written (Path).
        rows: how many rows it holds (int).
        capped: True when the table had more rows than the cap (bool).
    """

    path: Path
    rows: int
    capped: bool


def export_path(folder: Path, table_id: str, fmt: Format, stamp: datetime) -> Path:
    """``folder/opsconsole-<table id>-<UTC stamp>.<fmt>`` (Path; dots of the id become dashes)."""
    name = table_id.replace(".", "-")
    return folder / f"opsconsole-{name}-{stamp:%Y%m%dT%H%M%SZ}.{fmt}"


def iter_rows(
    fetch: Fetch, *, cap: int = DEFAULT_CAP, page: int = EXPORT_PAGE,
    cancel: threading.Event | None = None, on_page: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every row of the query, page after page, at most ``cap``.

    Args:
        fetch: reads one page: ``fetch(cursor, limit) -> Page``.
        cap: the most rows read (int).
        page: rows per page (int).
        cancel: set to stop between pages.
        on_page: called with the rows read so far after each page.

    Raises:
        ExportFailed: a page came back with an error, or ``cancel`` was set.
    """
    cursor: Cursor | None = None
    read = 0
    while read < cap:
        if cancel is not None and cancel.is_set():
            raise ExportFailed("cancelled")
        got = fetch(cursor, min(page, cap - read))
        if got.error:
            raise ExportFailed(got.error)
        yield from got.rows
        read += len(got.rows)
        if on_page is not None:
            on_page(read)
        if got.next is None or not got.rows:
            return
        cursor = got.next


def export(
    fetch: Fetch, path: Path, fmt: Format, *, cap: int = DEFAULT_CAP, page: int = EXPORT_PAGE,
    cancel: threading.Event | None = None, on_page: Callable[[int], None] | None = None,
) -> Exported:
    """Write every row (at most ``cap``) to ``path`` as CSV or JSON, atomically.

    Columns are those of the query's rows, in its order. CSV holds the values as text (NULL
    is an empty field); JSON is a list of objects (timestamps ISO 8601, numerics as text).

    Returns:
        Exported: the path, the number of rows, whether the cap cut the table.

    Raises:
        ExportFailed: a page failed or the export was cancelled (nothing is left at ``path``
            nor in a temporary file).
        OSError: the folder cannot be written.
    """
    rows = 0
    probe = [False]

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal rows
        for row in iter_rows(fetch, cap=cap + 1, page=page, cancel=cancel, on_page=on_page):
            if rows == cap:
                probe[0] = True
                return
            rows += 1
            yield row

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            (_write_csv if fmt == "csv" else _write_json)(out, counted())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Exported(path, rows, probe[0])


def _write_csv(out: Any, rows: Iterator[dict[str, Any]]) -> None:
    writer: Any = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({k: _text(v) for k, v in row.items()})


def _write_json(out: Any, rows: Iterator[dict[str, Any]]) -> None:
    out.write("[")
    for i, row in enumerate(rows):
        out.write(",\n " if i else "\n ")
        out.write(json.dumps(row, default=json_value, ensure_ascii=False))
    out.write("\n]\n")


def json_value(value: Any) -> Any:
    """A JSON-safe form of a database value (for ``json.dumps(default=...)``)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=json_value, ensure_ascii=False)
    return str(value)
