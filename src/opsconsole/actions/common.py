"""Helpers shared by the actions: samples for the screen, batches, before/after images."""

from __future__ import annotations

from typing import Any, TypeVar

from opsconsole.actions.model import Applied, Batch
from opsconsole.actions.session import Session
from opsconsole.errors import Refused
from opsconsole.sanitize import clean

SAMPLE_ROWS = 20
MAX_ROWS_BATCHED = 1_000_000
MAX_ROWS_SINGLE = 10_000
DEFAULT_BATCH_SIZE = 500
MAX_BATCH_SIZE = 50_000

T = TypeVar("T")


def sample(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str]]:
    """The first rows of a preview as inert one-line text (list[dict[str, str]])."""
    return [{c: clean(r.get(c), 60) for c in columns} for r in rows[:SAMPLE_ROWS]]


def split(items: list[str], size: int) -> list[Batch]:
    """Keys in order, cut into batches of at most ``size`` (list[Batch]; [] for no keys)."""
    size = max(1, size)
    return [Batch(no=i // size + 1, items=items[i : i + size]) for i in range(0, len(items), size)]


def capped(rows: list[T], cap: int, action: str) -> list[T]:
    """Refuse a preview that found more than ``cap`` rows (the query asked for cap + 1).

    Raises:
        Refused: too many rows to preview and confirm honestly.
    """
    if len(rows) > cap:
        raise Refused(
            f"{action}: more than {cap} rows match: narrow the selector and run it in parts"
        )
    return rows


def image(
    table: str, op: str, key: dict[str, Any], before: Any, after: Any
) -> dict[str, Any]:
    """One changed row as stored in audit_log.before_images (dict)."""
    return {"table": table, "op": op, "key": key, "before": before, "after": after}


def update_images(
    rows: list[dict[str, Any]], table: str, key_column: str = "id"
) -> list[dict[str, Any]]:
    """Images of rows returned by an apply statement (columns id, before, after)."""
    return [image(table, "update", {key_column: r["id"]}, r["before"], r["after"]) for r in rows]


def update_batch(
    session: Session, query: str, table: str, batch: Batch, /, **params: Any
) -> Applied:
    """Run an apply statement restricted to the batch's keys; unreturned keys are skipped.

    Args:
        session: the write session (inside the batch's transaction).
        query: name of the apply statement in queries/actions.sql (takes ``ids``).
        table: the schema-qualified table it changes.
        batch: the keys it may change.
        params: the statement's other parameters (the preview's predicate).

    Returns:
        Applied with the before/after image of every changed row.
    """
    rows = session.rows(query, ids=batch.items, **params)
    done = {str(r["id"]) for r in rows}
    return Applied(
        images=update_images(rows, table),
        skipped=[k for k in batch.items if k not in done],
    )


def update_batch_packed(
    session: Session, query: str, table: str, batch: Batch, /, **params: Any
) -> Applied:
    """Like :func:`update_batch`, for an apply statement that returns one row: ``ids`` (text[],
    the changed keys) and ``images`` (text, their images as one JSON array built by the
    server), so a bulk batch is not parsed and re-serialised row by row in Python.

    Returns:
        Applied with ``packed_images`` and ``packed_keys``; unreturned keys are skipped.
    """
    row = session.one(query, ids=uuid_array(batch.items), **params)
    ids: list[str] = list(row["ids"] or []) if row else []
    done = set(ids)
    return Applied(
        packed_images=(row["images"] if row and ids else None),
        packed_keys=[f"{table}:{k}" for k in ids],
        skipped=[k for k in batch.items if k not in done],
    )


_UUID_CHARS = frozenset("0123456789abcdefABCDEF-")


def uuid_array(keys: list[str]) -> str | list[str]:
    """Keys as a PostgreSQL array literal for a ``:ids::uuid[]`` parameter (str), built in one
    join instead of psycopg quoting a million list items one by one; the list itself when a
    key is not a 36-character uuid text (the server then rejects or matches it as it would).

    >>> uuid_array(["a56d5b1c-0000-0003-2f60-c51a75efcd39"])
    '{a56d5b1c-0000-0003-2f60-c51a75efcd39}'
    """
    joined = ",".join(keys)
    if (all(len(k) == 36 for k in keys) and joined.count(",") == max(len(keys) - 1, 0)
            and _UUID_CHARS.issuperset(joined.replace(",", ""))):
        return "{" + joined + "}"
    return keys
