"""The catalog's data: screen specs (pydantic, ``extra="forbid"``), named queries, the catalog.

A deployment adapts to its schema by editing ``queries/`` and ``screens/`` or pointing
``--catalog DIR`` at its own copy; these models are what those files must say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from opsconsole.catalog.action_spec import ActionSpec

ID_RE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
REQUIRE_RE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*|\(\))?$")
KEYSET_PARAMS = ("after_id", "limit")  # plus after_sort when the keyset is not the id


def _require_item(item: str) -> str:
    if not REQUIRE_RE.match(item):
        raise ValueError(f"'{item}' is not schema.relation, schema.relation.column or "
                         "schema.function()")
    return item


Require = Annotated[str, AfterValidator(_require_item)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckSpec(_Spec):
    """One check: a named query, the column holding its value, thresholds and a runbook hint.

    ``shape = "row"`` reads one row whose columns become ``values``; ``shape = "breakdown"``
    reads rows of (``key_column``, ``count_column``) and sums them per key into ``values``.
    Thresholds are strict: ``warning_above = 0`` means "WARNING when value > 0".
    """

    id: str = Field(pattern=ID_RE)
    title: str
    query: str = Field(pattern=ID_RE)
    value: str
    shape: Literal["row", "breakdown"] = "row"
    key_column: str = "status"
    count_column: str = "count"
    unit: str = ""
    warning_above: float | None = None
    critical_above: float | None = None
    warning_below: float | None = None
    critical_below: float | None = None
    when_null: Literal["unknown", "ok"] = "unknown"
    null_summary: str = "no data"
    summary: str
    runbook: str
    source: str
    requires: list[Require] = []
    params: dict[str, int | float | str] = {}
    cadence_s: int | None = Field(default=None, ge=1)


class ColumnSpec(_Spec):
    """A column of a table: the query column, its heading, and how to render it."""

    name: str
    title: str = ""
    kind: Literal["text", "number", "time", "age", "bool", "id"] = "text"
    width: int | None = Field(default=None, ge=3, le=200)


class DrillSpec(_Spec):
    """Enter on a row opens ``table`` with ``params`` taken from the row's columns."""

    table: str = Field(pattern=ID_RE)
    params: dict[str, str] = {}


class TableSpec(_Spec):
    """A keyset-paged list: a named query taking ``(after_sort, after_id, limit)``."""

    id: str = Field(pattern=ID_RE)
    title: str
    query: str = Field(pattern=ID_RE)
    columns: list[ColumnSpec]
    keyset: str = "id"
    page_size: int = Field(default=50, ge=1, le=1000)
    drill: DrillSpec | None = None
    hidden: bool = False
    requires: list[Require] = []
    source: str = ""

    @model_validator(mode="after")
    def _has_id(self) -> TableSpec:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("duplicate column names")
        return self


# A guarded action offered on a screen: the whole declaration lives in action_spec.py.
ActionRef = ActionSpec


class ScreenSpec(_Spec):
    """One screen: its title, key, required relations, checks, tables and actions."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    key: str = ""
    order: int = 100
    source: str = ""
    requires: list[Require] = []
    checks: list[CheckSpec] = []
    tables: list[TableSpec] = []
    actions: list[ActionSpec] = []


@dataclass(frozen=True)
class StatementUse:
    """One use of a named statement by the catalog, for the server to verify.

    Attributes:
        kind: "check" | "table" | "action" | "console" (the console's own introspection).
        owner: the check id, table id or action name using it (str).
        ref: the named query, ``file.name`` (str).
        role: what the owner uses it for, e.g. "query", "preview", "apply", "undo" (str).
        slots: identifiers for the statement's ``{0}``, ``{1}`` ... slots, each a dotted name
            (``public.event_guests``, ``trigger_backfill_deliveries_on_guest_link``), filled
            with psycopg.sql.Identifier before the server sees it (tuple[str, ...]).
        values: the literal values the statement filters on or writes, per column
            (``"public.sms_outbound_jobs.status" -> ("failed", "pending")``), to be checked
            against what the column can hold (dict[str, tuple[str, ...]]).
    """

    kind: Literal["check", "table", "action", "console"]
    owner: str
    ref: str
    role: str = "query"
    slots: tuple[str, ...] = ()
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class NamedQuery:
    """A statement from ``queries/``.

    Attributes:
        ref: ``file.name`` (str).
        sql: psycopg-format SQL with ``%(param)s`` placeholders (str).
        parameters: declared parameter names, in order (tuple[str, ...]).
        doc: the comment lines under the name (str).
        file: the path of the .sql file (Path).
        line: the 1-based line of its ``-- name:`` comment in ``file`` (int; 0 when unknown).
        line_map: the 1-based file line of each line of ``sql`` (tuple[int, ...]; aiosql drops
            comment-only lines from the body, so the offset is not constant).
    """

    ref: str
    sql: str
    parameters: tuple[str, ...]
    doc: str
    file: Path
    line: int = 0
    line_map: tuple[int, ...] = ()

    def file_line(self, sql_line: int | None = None) -> int:
        """The file line of line ``sql_line`` (0-based) of the statement, or of its name (int)."""
        if sql_line is not None and 0 <= sql_line < len(self.line_map):
            return self.line_map[sql_line]
        return self.line_map[0] if self.line_map else self.line


@dataclass
class Catalog:
    """Every named query and screen spec, cross-checked.

    Attributes:
        root: folder holding ``queries/`` and ``screens/`` (Path).
        queries: ref -> NamedQuery.
        screens: screen specs ordered by ``order`` (list[ScreenSpec]).
    """

    root: Path
    queries: dict[str, NamedQuery] = field(default_factory=dict)
    screens: list[ScreenSpec] = field(default_factory=list)
    screen_files: dict[str, Path] = field(default_factory=dict)

    def checks(self) -> list[tuple[ScreenSpec, CheckSpec]]:
        """Every (screen, check) pair in screen order."""
        return [(s, c) for s in self.screens for c in s.checks]

    def statement_uses(self) -> list[StatementUse]:
        """Every named statement the specs use (checks, tables, actions), in screen order: what
        the server verifies once per session and in ``doctor`` (list[StatementUse])."""
        uses: list[StatementUse] = []
        for screen in self.screens:
            uses += [StatementUse("check", c.id, c.query) for c in screen.checks]
            uses += [StatementUse("table", t.id, t.query) for t in screen.tables]
            for action in screen.actions:
                uses += action.statement_uses()
        return uses

    def tables(self) -> dict[str, TableSpec]:
        """Every table by id."""
        return {t.id: t for s in self.screens for t in s.tables}

    def screen(self, screen_id: str) -> ScreenSpec:
        """The screen with this id. Raises KeyError when absent."""
        for screen in self.screens:
            if screen.id == screen_id:
                return screen
        raise KeyError(screen_id)

    def query(self, ref: str) -> NamedQuery:
        """The named query ``file.name``. Raises KeyError when absent."""
        return self.queries[ref]

    def location(self, ref: str, sql_line: int | None = None) -> str:
        """``queries/jobs.sql:12``: where a query (or line ``sql_line`` of it) is written (str)."""
        q = self.queries.get(ref)
        line = q.file_line(sql_line) if q is not None else 0
        return f"{self.query_file(ref)}:{line}" if line else self.query_file(ref)

    def query_file(self, ref: str) -> str:
        """Path of the .sql file a query lives in, relative to the catalog root (str)."""
        q = self.queries.get(ref)
        if q is None:
            return f"queries/{ref.split('.', maxsplit=1)[0]}.sql"
        try:
            return str(q.file.relative_to(self.root))
        except ValueError:
            return str(q.file)
