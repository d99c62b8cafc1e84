"""Drift named with its fix: what the database has that is closest to a missing name.

PostgreSQL's own HINT is used where it gives one ("Perhaps you meant to reference the column
..."); otherwise the nearest names in the relation (columns), the schema (relations, functions)
or elsewhere (the same relation name in another schema) are found with :mod:`difflib` and shared
words (``last_error`` and ``error_message`` share ``error``), from :class:`SchemaInfo` — no
extension (pg_trgm) needed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from opsconsole.catalog.describe import Failure
from opsconsole.catalog.introspect import SchemaInfo, relation_names
from opsconsole.catalog.vocabulary import resolve_column

_COLUMN = re.compile(r'^column "?(?:([\w$]+)\.)?([\w$]+)"? does not exist')
_RELATION = re.compile(r'^relation "([\w$.]+)" does not exist')
_FUNCTION = re.compile(r"^function ([\w$.]+)\((.*)\) does not exist")
_SCHEMA = re.compile(r'^schema "([\w$]+)" does not exist')
_OPERATOR = re.compile(r"^operator does not exist: (.+) (\S+) (.+)$")
_QUALIFIED_REF = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates nearest to ``name``: by shared ``_``-separated words, then by similarity.

    >>> closest("last_error", ["id", "status", "error_message", "purpose"])
    ['error_message']
    """
    pool = sorted(set(candidates) - {name})
    words = {w for w in name.lower().split("_") if len(w) > 3}
    shared = [c for c in pool if words & {w for w in c.lower().split("_") if len(w) > 3}]
    similar = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    out = list(dict.fromkeys(similar + sorted(
        shared, key=lambda c: -difflib.SequenceMatcher(None, name, c).ratio())))
    return out[:n]


def suggestion(failure: Failure, sql_text: str, schema: SchemaInfo) -> str | None:
    """What the database has instead of the name a failure says is missing (one phrase, e.g.
    "public.t has error_message"), or None when nothing is close.

    Args:
        failure: the server's refusal of a statement.
        sql_text: the statement (to know which relations it reads).
        schema: what the database holds.
    """
    message = failure.message
    if (m := _OPERATOR.match(message)) is not None:
        return _operands(failure, {m.group(1), m.group(3)}, sql_text, schema)
    if failure.hint and failure.hint.startswith("Perhaps you meant"):
        return None  # the server's own hint names it already
    if (m := _COLUMN.match(message)) is not None:
        return _column(m.group(2), relation_names(sql_text), schema)
    for pattern, near in ((_RELATION, _relation), (_FUNCTION, _function), (_SCHEMA, _schema)):
        if (m := pattern.match(message)) is not None:
            return near(m.group(1), schema)
    return None


def _schema(name: str, schema: SchemaInfo) -> str | None:
    near = closest(name, schema.schemas)
    return f"the database has schemas {', '.join(near)}" if near else None


def _operands(failure: Failure, types: set[str], sql_text: str, schema: SchemaInfo) -> str | None:
    """The columns on the line the server pointed at whose type is one of the operator's."""
    lines = sql_text.splitlines()
    if failure.sql_line is None or not 0 <= failure.sql_line < len(lines):
        return None
    found = []
    for qualifier, name in _QUALIFIED_REF.findall(lines[failure.sql_line]):
        column = resolve_column(sql_text, schema, qualifier, name)
        kind = schema.column_types.get(column or "")
        if column and kind in types and f"{column} is {kind}" not in found:
            found.append(f"{column} is {kind}")
    return "; ".join(found) or None


def _column(column: str, mentioned: list[str], schema: SchemaInfo) -> str | None:
    relations = [r for r in mentioned if r in schema.relations]
    for relation in relations:
        near = closest(column, schema.columns_of(relation))
        if near:
            return f"{relation} has {', '.join(near)}"
    if len(relations) == 1:
        cols = schema.columns_of(relations[0])
        shown = ", ".join(cols[:12]) + (", ..." if len(cols) > 12 else "")
        return f"{relations[0]} has {shown}"
    return None


def _relation(name: str, schema: SchemaInfo) -> str | None:
    schema_name, _, relation = name.rpartition(".")
    elsewhere = sorted(r for r in schema.relations if r.split(".", 1)[1] == relation)
    if elsewhere:
        return f"the database has {', '.join(elsewhere)}"
    pool = schema.relations_in(schema_name) if schema_name else sorted(schema.relations)
    near = closest(relation, [r.split(".", 1)[1] for r in pool])
    if near:
        full = [r for n in near for r in pool if r.split(".", 1)[1] == n]
        return f"the database has {', '.join(full[:3])}"
    if schema_name and schema_name not in schema.schemas:
        return f"the database has no schema {schema_name}"
    return None


def _function(name: str, schema: SchemaInfo) -> str | None:
    if name in schema.functions:
        return f"{name} takes ({schema.function_args.get(name, '')})"
    qualified = name if "." in name else f"public.{name}"
    if qualified in schema.functions:
        return f"{qualified} takes ({schema.function_args.get(qualified, '')})"
    schema_name, bare = qualified.split(".", 1)
    near = closest(bare, [f.split(".", 1)[1] for f in schema.functions_in(schema_name)])
    if near:
        return f"the database has {', '.join(f'{schema_name}.{f}()' for f in near)}"
    return f"no function named {qualified.split('.', 1)[1]} in schema {schema_name}"
