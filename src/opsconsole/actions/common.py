"""Helpers shared by the protocols: samples for the screen, batches, caps, key arrays."""

from __future__ import annotations

from typing import Any, TypeVar

from opsconsole.actions.model import Batch
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


def split(op: str, keys: list[str], size: int) -> list[Batch]:
    """Keys of one op in order, cut into batches of at most ``size`` (list[Batch]; [] for no
    keys)."""
    size = max(1, size)
    return [Batch(no=i // size + 1, keys={op: tuple(keys[i : i + size])})
            for i in range(0, len(keys), size)]


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


def array_param(keys: list[str]) -> str | list[str]:
    """The batch's keys for an ``:ids`` parameter: one array literal when they are uuid text
    (see :func:`uuid_array`), else the list, which psycopg binds as text[] (a bigint or a
    text key is cast by the statement: ``:ids::bigint[]``)."""
    return uuid_array(keys)
