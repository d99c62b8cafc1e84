"""Values the column cannot hold (DESIGN.md): the literal status values a statement filters on or
writes, and what their column can hold.

:func:`literals` finds, in a statement's SQL, every string literal compared with a column
(``j.status = 'failed'``, ``status <> 'sent'``, ``cm.status IN ('pending', 'enqueued')``,
``x = ANY (ARRAY['a', 'b'])``, ``SET status = 'pending'``) and resolves the column to
``schema.table.column`` through the statement's ``FROM`` / ``JOIN`` / ``UPDATE`` aliases and the
columns the database has. A comparison it cannot resolve to one column is left out, never
guessed.

:func:`lookup` asks the server what each column can hold: an enum's labels, or the values its
CHECK constraints allow (``col = ANY (ARRAY[...])``, ``col IN (...)``, ``col = 'a' OR col = 'b'``,
as ``pg_get_constraintdef`` shows them), beside what the data holds (``pg_stats``' most common
values; statistics, never a scan).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from opsconsole import sanitize
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.catalog.model import Catalog
from opsconsole.connection.db import Connection


@dataclass(frozen=True)
class Literal:
    """A literal value a statement compares a column with, or writes to it.

    Attributes:
        column: ``schema.table.column`` (str).
        value: the literal's text (str).
        writes: True when it is assigned (``SET col = 'x'``), False when it filters (bool).
        sql_line: the 0-based line of the statement where it is written (int).
    """

    column: str
    value: str
    writes: bool
    sql_line: int


@dataclass(frozen=True)
class Vocabulary:
    """What one column can hold and what its data holds.

    Attributes:
        column: ``schema.table.column`` (str).
        type: the column's type, e.g. ``text``, ``public.sms_job_status`` (str).
        allowed: the values it can hold, in declaration order, or None when nothing constrains
            them (tuple[str, ...] | None).
        source: what constrains them: ``enum public.sms_job_status`` or ``CHECK name`` (str; ""
            when nothing does).
        data: the most common values in the data, most frequent first (``pg_stats``; empty when
            the table was never analysed) (tuple[str, ...]).
        data_complete: ``data`` holds every distinct value of the column (bool).
        unparsed: CHECK constraints on the column whose shape is not a list of values (their
            names; the column is then judged only by the others) (tuple[str, ...]).
    """

    column: str
    type: str
    allowed: tuple[str, ...] | None
    source: str
    data: tuple[str, ...] = ()
    data_complete: bool = False
    unparsed: tuple[str, ...] = ()

    def holds(self, value: str) -> bool:
        """Whether the column can hold ``value`` (True when nothing constrains it)."""
        return self.allowed is None or value in self.allowed

    def what(self) -> str:
        """e.g. "CHECK delivery_attempts_status_check allows pending, in_flight, done, dead; the
        data holds done, dead" (str)."""
        parts = []
        if self.allowed is not None:
            verb = "holds" if self.source.startswith("enum") else "allows"
            parts.append(f"{self.source} {verb} {', '.join(self.allowed)}")
        if self.data:
            more = "" if self.data_complete else ", ..."
            parts.append(f"the data holds {', '.join(self.data)}{more}")
        elif self.allowed is not None:
            parts.append("no statistics of the data (not analysed)")
        return sanitize.clean("; ".join(parts), 400)


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = r"'(?:[^']|'')*'"
_ONE_STRING = re.compile(_STRING)
_IDENT = r'"?[A-Za-z_][A-Za-z0-9_$]*"?'
_TYPE = r"(?:character varying|timestamp with(?:out)? time zone|double precision|[A-Za-z_][\w.]*)"
_CAST = rf"(?:\s*::\s*{_TYPE}(?:\[\])?)?"
_COLUMN = rf"(?<![\w.\"'$])(?:({_IDENT})\s*\.\s*)?({_IDENT}){_CAST}"
_OP = r"(?:=|<>|!=)"
# A column and an operator just before a literal (matched in a short window ending there) ...
_BEFORE = re.compile(rf"{_COLUMN}\s*{_OP}\s*\Z")
# ... a literal and an operator before a column ('x' = col) ...
_AFTER = re.compile(rf"{_CAST}\s*{_OP}\s*(?:({_IDENT})\s*\.\s*)?({_IDENT})(?![\w.(])")
# ... and lists: col [NOT] IN ('a', 'b'), col = ANY (ARRAY['a', 'b']).
_LIST_OPEN = re.compile(r"\b(?:NOT\s+)?IN\s*\(|\b(?:ANY|ALL)\s*\(\s*ARRAY\s*\[", re.I)
_BEFORE_LIST = re.compile(rf"{_COLUMN}\s*{_OP}?\s*\Z")
_LIST_ITEMS = re.compile(rf"\s*({_STRING}){_CAST}\s*(,)?")
_WINDOW = 120
_SET = re.compile(r"\bSET\b", re.I)
_SET_END = re.compile(r"\bWHERE\b|\bFROM\b|\bRETURNING\b|;", re.I)
_KEYWORDS = frozenset((
    "where", "join", "left", "right", "inner", "outer", "full", "cross", "on", "using", "group",
    "order", "limit", "offset", "set", "values", "returning", "select", "union", "except",
    "intersect", "natural", "lateral", "having", "window", "for", "and", "or", "not", "as",
    "with", "when", "then", "else", "end", "case", "is", "null", "true", "false", "in", "any",
    "all", "some", "like", "ilike", "between", "from", "into", "update", "delete", "insert",
    "do", "conflict", "by", "asc", "desc", "distinct", "filter", "over", "partition", "only",
    "exists", "tablesample"))
_RELATION = re.compile(
    rf"\b(FROM|JOIN|UPDATE|INTO|,)\s+(?:ONLY\s+)?({_IDENT})\s*\.\s*({_IDENT})"
    rf"(?:\s+(?:AS\s+)?(?!(?:{'|'.join(sorted(_KEYWORDS))})\b)({_IDENT}))?", re.I)


@dataclass(frozen=True)
class _Comparison:
    """A literal next to a column name, before the name is resolved against a schema."""

    qualifier: str | None
    name: str
    value: str
    writes: bool
    sql_line: int


def literals(sql_text: str, schema: SchemaInfo) -> list[Literal]:
    """Every literal the statement compares a resolvable column with or assigns to it.

    Args:
        sql_text: the statement (psycopg format, ``%(name)s`` placeholders allowed).
        schema: what the database holds (for the aliases' relations and their columns).

    Returns:
        list[Literal], in order of appearance, without duplicates.
    """
    comparisons, _ = _scan(sql_text)
    aliases, everywhere = _alias_map(sql_text, schema)
    found: list[Literal] = []
    for c in comparisons:
        column = _resolve(c.qualifier, c.name, aliases, everywhere, schema)
        lit = Literal(column, c.value, c.writes, c.sql_line) if column else None
        if lit is not None and lit not in found:
            found.append(lit)
    return found


def resolve_column(sql_text: str, schema: SchemaInfo, qualifier: str | None,
                   name: str) -> str | None:
    """The ``schema.table.column`` that ``qualifier.name`` (or a bare ``name``) stands for in
    the statement, when exactly one relation it reads has that column, else None."""
    aliases, everywhere = _alias_map(sql_text, schema)
    return _resolve(qualifier, name, aliases, everywhere, schema)


def _alias_map(sql_text: str, schema: SchemaInfo) -> tuple[dict[str, set[str]], list[str]]:
    aliases: dict[str, set[str]] = {}
    for relation, names in _scan(sql_text)[1]:
        if relation in schema.relations:
            for name in names:
                aliases.setdefault(name, set()).add(relation)
    return aliases, sorted({r for rels in aliases.values() for r in rels})


@functools.lru_cache(maxsize=512)
def _scan(
    sql_text: str,
) -> tuple[tuple[_Comparison, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """The statement's literal comparisons and its qualified relations with their aliases (a
    pure function of the text, cached)."""
    text = _COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), sql_text)
    blank = _ONE_STRING.sub(lambda m: "'" + " " * (len(m.group(0)) - 2) + "'", text)
    writes = [(m.end(), end.start() if (end := _SET_END.search(blank, m.end())) else len(blank))
              for m in _SET.finditer(blank)]
    found: list[tuple[int, str | None, str, str]] = []  # (at, qualifier, column, value)
    for lit in _ONE_STRING.finditer(text):
        named = _column_near(text, lit.start(), lit.end())
        if named is not None:
            found.append((lit.start(), named[0], named[1], lit.group(0)))
    for opening in _LIST_OPEN.finditer(blank):
        named = _column_before(text, opening.start(), _BEFORE_LIST)
        at = opening.end()
        while named is not None and (item := _LIST_ITEMS.match(text, at)) is not None:
            found.append((item.start(1), named[0], named[1], item.group(1)))
            at = item.end()
            if item.group(2) is None:
                break
    comparisons = tuple(
        _Comparison(q, name, value[1:-1].replace("''", "'"),
                    any(a <= at < b for a, b in writes), text[:at].count("\n"))
        for at, q, name, value in sorted(found))
    relations: list[tuple[str, tuple[str, ...]]] = []
    for m in _RELATION.finditer(blank):
        relation = f"{_name(m.group(2))}.{_name(m.group(3))}"
        names = [relation, _name(m.group(3))]
        if m.group(4) and _name(m.group(4)) not in _KEYWORDS:
            names.append(_name(m.group(4)))
        relations.append((relation, tuple(names)))
    return comparisons, tuple(relations)


def _column_near(text: str, start: int, end: int) -> tuple[str | None, str] | None:
    """(qualifier, column) compared with the literal at ``text[start:end]``, or None."""
    before = text[:start].rstrip()
    if before.endswith(("=", ">")):
        named = _column_before(text, start, _BEFORE)
        if named is not None:
            return named
    after = _AFTER.match(text, end)
    if after is not None:
        return after.group(1), after.group(2)
    return None


def _column_before(text: str, at: int, pattern: re.Pattern[str]) -> tuple[str | None, str] | None:
    window = text[max(0, at - _WINDOW):at]
    m = pattern.search(window)
    if m is None or "'" in window[m.start():m.start(2)]:
        return None
    return m.group(1), m.group(2)


def _name(ident: str) -> str:
    return ident[1:-1] if ident.startswith('"') else ident.lower()


def _resolve(
    qualifier: str | None,
    name: str,
    aliases: dict[str, set[str]],
    everywhere: list[str],
    schema: SchemaInfo,
) -> str | None:
    column = _name(name)
    if column in _KEYWORDS:
        return None
    candidates = sorted(aliases.get(_name(qualifier), set())) if qualifier else everywhere
    having = [r for r in candidates if f"{r}.{column}" in schema.columns]
    return f"{having[0]}.{column}" if len(having) == 1 else None


def lookup(
    conn: Connection, catalog: Catalog, columns: Iterable[str]
) -> dict[str, Vocabulary]:
    """What each column can hold and what its data holds (one query, ``introspect.vocabulary``).

    Args:
        columns: ``schema.table.column`` names (absent ones are left out of the result).

    Returns:
        column -> Vocabulary.

    Raises:
        psycopg.Error: the query failed (e.g. the connection was lost).
    """
    parts = [c.split(".", 2) for c in sorted(set(columns)) if c.count(".") >= 2]
    if not parts:
        return {}
    rows = conn.execute(
        catalog.query("introspect.vocabulary").sql.encode(),
        {"schemas": [p[0] for p in parts], "tables": [p[1] for p in parts],
         "columns": [p[2] for p in parts]},
    ).fetchall()
    return {str(r["name"]): _vocabulary(r) for r in rows}


def _vocabulary(row: dict[str, object]) -> Vocabulary:
    column = str(row["name"])
    allowed: tuple[str, ...] | None = None
    source = ""
    if row["enum_name"]:
        allowed = tuple(str(v) for v in row["labels"] or ())  # type: ignore[attr-defined]
        source = f"enum {row['enum_name']}"
    unparsed: list[str] = []
    for item in row["checks"] or ():  # type: ignore[attr-defined]
        name, _, definition = str(item).partition("\t")
        values = check_values(definition, column.rsplit(".", 1)[1])
        if values is None:
            unparsed.append(name)
            continue
        allowed = values if allowed is None else tuple(v for v in allowed if v in values)
        source = f"CHECK {name}" if not source else f"{source} and CHECK {name}"
    data = tuple(str(v) for v in row["data_values"] or ())  # type: ignore[attr-defined]
    n_distinct = row["n_distinct"]
    complete = bool(data) and isinstance(n_distinct, float) and 0 < n_distinct <= len(data)
    return Vocabulary(column, str(row["type"]), allowed, source, data, complete,
                      tuple(unparsed))


_CHECK_LITERAL = re.compile(rf"'((?:[^']|'')*)'(?:::{_TYPE}(?:\[\])?)?")
_CAST_ONLY = re.compile(rf"::{_TYPE}(\[\])?")
# After literals became L, the column C, and parentheses and spaces went: the list shapes.
_CHECK_SHAPE = re.compile(
    r"(?:CISNULLOR)?(?:C=ANYARRAY\[L(?:,L)*\]|CINL(?:,L)*|C=L(?:ORC=L)*)(?:ORCISNULL)?")


def check_values(definition: str, column: str) -> tuple[str, ...] | None:
    """The values a CHECK constraint allows its column, as ``pg_get_constraintdef`` shows it.

    Understood shapes (``VALUE`` stands for the column in a domain's CHECK): ``col = ANY
    (ARRAY[...])``, ``col IN (...)``, ``col = 'a'``, ``col = 'a' OR col = 'b'``, each optionally
    ``col IS NULL OR ...``.

    >>> check_values("CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))", "status")
    ('a', 'b')
    >>> check_values("CHECK (((v)::text = ANY ((ARRAY['x'::character varying])::text[])))", "v")
    ('x',)
    >>> check_values("CHECK ((attempts >= 0))", "attempts") is None
    True

    Returns:
        the allowed values (tuple[str, ...]), or None when the constraint is not such a list.
    """
    values = [m.group(1).replace("''", "'") for m in _CHECK_LITERAL.finditer(definition)]
    skeleton = _CHECK_LITERAL.sub(" L ", definition)
    skeleton = _CAST_ONLY.sub("", skeleton)
    skeleton = re.sub(rf'(?<![\w"])(?:"{re.escape(column)}"|{re.escape(column)}|VALUE)(?![\w"])',
                      " C ", skeleton)
    skeleton = re.sub(r"[()\s]", "", skeleton).removeprefix("CHECK")
    if not values or not _CHECK_SHAPE.fullmatch(skeleton):
        return None
    return tuple(dict.fromkeys(values))
