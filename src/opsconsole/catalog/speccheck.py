"""A spec that references a column its statement does not return is a catalog error.

Judged after the server described the statement (:mod:`opsconsole.catalog.describe`): a check's
``value``, ``key_column`` / ``count_column``, every ``{placeholder}`` of its ``summary``; a
table's columns, its ``keyset`` and ``id``, its drill-down's parameter columns; and whether the
values the engine binds (a keyset cursor, a drill-down parameter) have a type the statement can
take. Each problem is one line naming the spec file and key, the column the statement lacks, what
it returns instead, and the query's file and line.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opsconsole.catalog.describe import Description
from opsconsole.catalog.model import AGGREGATES, Catalog, CheckSpec, TableSpec
from opsconsole.catalog.suggest import closest
from opsconsole.catalog.vocabulary import Vocabulary

# pg_type.typcategory of what psycopg sends for a value loaded from a column of that category:
# text, varchar and enum values come back as Python str, which psycopg sends untyped (the
# server takes it as the parameter's type), so they bind anywhere.
_UNTYPED = {"S", "E"}


@dataclass(frozen=True)
class SpecProblem:
    """One spec/statement mismatch: the spec ``key`` (e.g. ``value``, ``columns[2].name``) and
    the one-line message (without the owner's prefix)."""

    key: str
    message: str


def placeholders(template: str) -> list[str]:
    """The field names of a ``str.format`` template (``"{a} of {b:.1f}"`` -> ``["a", "b"]``);
    a malformed template gives ``["{"]`` so that it is reported."""
    try:
        return [name.split(".")[0].split("[")[0] for _, name, _, _ in
                string.Formatter().parse(template) if name]
    except ValueError:
        return ["{"]


def check_problems(
    spec: CheckSpec, desc: Description, key_vocabulary: Vocabulary | None
) -> list[SpecProblem]:
    """What of a check's spec its described statement cannot give.

    Args:
        spec: the check.
        desc: the server's description of its query.
        key_vocabulary: for a breakdown, what its key column can hold (None: not a table
            column, or unconstrained).
    """
    cols = desc.column_names
    out: list[SpecProblem] = []
    missing = _missing_column(cols)
    extra = {"now", *spec.params}
    if spec.shape == "breakdown":
        for key in ("key_column", "count_column"):
            problem = missing(key, getattr(spec, key))
            out += [problem] if problem else []
        count = desc.column(spec.count_column)
        if count is not None and count.category and count.category != "N":
            out.append(SpecProblem("count_column", f"count_column '{spec.count_column}' is "
                                   f"{count.type}, not a number: count it as bigint"))
        allowed = key_vocabulary.allowed if key_vocabulary else None
        if allowed is not None:
            assert key_vocabulary is not None
            if spec.value not in AGGREGATES and spec.value not in allowed:
                out.append(_not_held("value", spec.value, key_vocabulary))
            for name in placeholders(spec.summary):
                if name not in extra and name not in AGGREGATES and name not in allowed:
                    out.append(_not_held("summary", name, key_vocabulary))
        return out
    for key in ("value", "warning_value"):
        name = getattr(spec, key)
        problem = missing(key, name) if name is not None else None
        out += [problem] if problem else []
    known = set(cols) | extra | {c[:-2] for c in cols if c.endswith("_s")}
    for name in placeholders(spec.summary):
        if name not in known:
            out.append(SpecProblem("summary", f"summary names {{{name}}}, which is not a "
                                   f"column {desc.ref} returns{_instead(name, cols)}"))
    return out


def table_problems(
    catalog: Catalog, spec: TableSpec, desc: Description, described: Callable[[str], Description |
                                                                            None]
) -> list[SpecProblem]:
    """What of a table's spec its described statement cannot give.

    Args:
        catalog: the catalog (for the drill-down's target table).
        spec: the table.
        desc: the server's description of its query.
        described: ref -> the description of another statement (the drill-down's), or None.
    """
    cols = desc.column_names
    missing = _missing_column(cols)
    out = [p for i, c in enumerate(spec.columns) if (p := missing(f"columns[{i}].name", c.name))]
    for key, name in (("keyset", spec.keyset), ("id", "id")):
        problem = missing(key, name)
        if problem and not (key == "id" and spec.keyset == "id"):
            out.append(problem)
    out += _cursor_types(desc, spec)
    if spec.drill:
        target = catalog.tables().get(spec.drill.table)
        target_desc = described(target.query) if target else None
        for param, source in spec.drill.params.items():
            problem = missing(f"drill.params.{param}", source)
            if problem:
                out.append(problem)
            elif target_desc is not None:
                out += _binds(f"drill.params.{param}", desc, source, target_desc, param)
    return out


def _cursor_types(desc: Description, spec: TableSpec) -> list[SpecProblem]:
    out: list[SpecProblem] = []
    for param, column in (("after_id", "id"), ("after_sort", spec.keyset)):
        if param in desc.params and (param != "after_sort" or spec.keyset != "id"):
            out += _binds("keyset" if param == "after_sort" else "id", desc, column, desc, param)
    return out


def _binds(
    key: str, source: Description, column: str, target: Description, param: str
) -> list[SpecProblem]:
    col = source.column(column)
    want_type = target.params.get(param)
    want = target.param_categories.get(param, "")
    if col is None or want_type is None or not col.category or not want:
        return []
    same = col.type == want_type or col.category in _UNTYPED or (
        col.category == want and col.category in {"N", "D", "B", "S"})
    if same:
        return []
    return [SpecProblem(key, f"column {column} is {col.type} but {target.ref} takes "
                        f":{param} as {want_type}: make the two types agree")]


def _missing_column(cols: Iterable[str]) -> Callable[[str, str], SpecProblem | None]:
    names = list(cols)

    def check(key: str, name: str) -> SpecProblem | None:
        if name in names:
            return None
        return SpecProblem(key, f"{key} = '{name}' is not a column the statement returns"
                           f"{_instead(name, names)}")

    return check


def _instead(name: str, cols: list[str]) -> str:
    near = closest(name, cols)
    listed = ", ".join(cols[:10]) + (", ..." if len(cols) > 10 else "")
    hint = f"; closest: {', '.join(near)}" if near else ""
    return f" (it returns {listed}{hint})"


def _not_held(key: str, value: str, vocabulary: Vocabulary) -> SpecProblem:
    near = closest(value, vocabulary.allowed or ())
    hint = f"; closest: {', '.join(near)}" if near else ""
    return SpecProblem(key, f"{key} names '{value}', which {vocabulary.column} cannot hold "
                       f"({vocabulary.what()}{hint})")
