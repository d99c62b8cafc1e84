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
SUBSYSTEM_RE = r"^[a-z][a-z0-9_]*$"
_NAME = r"[a-z_][a-z0-9_]*"
# What a statement cannot show, judged from pg_catalog: schema.relation, schema.relation.column,
# schema.function(), "schema NAME", "trigger schema.table.NAME", "constraint schema.table.NAME".
REQUIRE_RE = re.compile(
    rf"^(?:{_NAME}\.{_NAME}(?:\.{_NAME}|\(\))?"
    rf"|schema {_NAME}"
    rf"|(?:trigger|constraint) {_NAME}\.{_NAME}\.{_NAME})$"
)
KEYSET_PARAMS = ("after_id", "limit")  # plus after_sort when the keyset is not the id
# A breakdown's value and summary may name, beside its keys, an aggregate of them: "*" the sum
# of the counts, "#" how many keys count anything (e.g. the distinct errors of the failed jobs).
AGGREGATES = ("*", "#")


def _require_item(item: str) -> str:
    if not REQUIRE_RE.match(item):
        raise ValueError(f"'{item}' is not schema.relation, schema.relation.column, "
                         "schema.function(), 'schema NAME', 'trigger schema.table.NAME' or "
                         "'constraint schema.table.NAME'")
    return item


Require = Annotated[str, AfterValidator(_require_item)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class SubsystemSpec(_Spec):
    """One subsystem of the database (DESIGN.md "The five subsystems it watches"), declared once
    in ``screens/subsystems.toml``: it is installed when every object of ``requires`` exists.

    A check (or table) whose subsystem is absent is "not installed": reported, but counted
    toward ``check``'s exit code only when ``--only`` names it.
    """

    title: str
    source: str = ""
    requires: list[Require] = []


class CheckSpec(_Spec):
    """One check: a named query, the column holding its value, thresholds and a runbook hint.

    ``shape = "row"`` reads one row whose columns become ``values``; ``shape = "breakdown"``
    reads rows of (``key_column``, ``count_column``) and sums them per key into ``values``; its
    ``value`` is one key, ``"*"`` (the sum of the counts) or ``"#"`` (how many keys count
    anything, e.g. distinct errors), and its summary may name keys, ``{*}`` and ``{#}``.
    Thresholds are strict: ``warning_above = 0`` means "WARNING when value > 0". The warning
    thresholds apply to ``warning_value`` when it names another column (e.g. CRITICAL on the
    critical findings, WARNING on all of them).
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
    warning_value: str | None = None
    when_null: Literal["unknown", "ok"] = "unknown"
    null_summary: str = "no data"
    summary: str
    runbook: str
    source: str
    subsystem: str | None = Field(default=None, pattern=SUBSYSTEM_RE)  # default: the screen's
    requires: list[Require] = []  # only what the statement cannot show (a trigger, a constraint)
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
    find: str | None = Field(default=None, pattern=ID_RE)  # one row by id: a query taking (id)
    hidden: bool = False
    subsystem: str | None = Field(default=None, pattern=SUBSYSTEM_RE)  # default: the screen's
    requires: list[Require] = []  # only what the statement cannot show
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
    """One screen: its title, key, subsystem, checks, tables and actions.

    ``subsystem`` (an id of ``screens/subsystems.toml``) is the default of its checks and
    tables; each may name another.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    key: str = ""
    order: int = 100
    source: str = ""
    subsystem: str | None = Field(default=None, pattern=SUBSYSTEM_RE)
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
            (``"public.t.status" -> ("failed", "pending")``), to be checked
            against what the column can hold (dict[str, tuple[str, ...]]).
    """

    kind: Literal["check", "table", "action", "console"]
    owner: str
    ref: str
    role: str = "query"
    slots: tuple[str, ...] = ()
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Where this use's verdict is kept in a Verification: its ref, or for a statement with
        identifier slots ``ref[slot, ...]`` (undo_current on feature_flags may fail where
        undo_current on sms_outbound_jobs prepares) (str)."""
        return self.ref if not self.slots else f"{self.ref}[{', '.join(self.slots)}]"


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
        screen_files: screen id -> its TOML file (dict[str, Path]).
        subsystems: subsystem id -> SubsystemSpec (``screens/subsystems.toml``).
        fingerprint: sha256 of every catalog file (str; "" for a catalog built in code).
        spec_lines: ``FILE:id`` or ``FILE:name`` -> the 1-based line declaring it (dict).
    """

    root: Path
    queries: dict[str, NamedQuery] = field(default_factory=dict)
    screens: list[ScreenSpec] = field(default_factory=list)
    screen_files: dict[str, Path] = field(default_factory=dict)
    subsystems: dict[str, SubsystemSpec] = field(default_factory=dict)
    fingerprint: str = ""
    spec_lines: dict[str, int] = field(default_factory=dict)

    def checks(self) -> list[tuple[ScreenSpec, CheckSpec]]:
        """Every (screen, check) pair in screen order."""
        return [(s, c) for s in self.screens for c in s.checks]

    def subsystem_of(self, kind: str, owner: str) -> str | None:
        """The subsystem id of a check, table or action (its own, else its screen's; None for
        an owner the specs do not declare, e.g. the console's own statements)."""
        for screen in self.screens:
            specs: list[CheckSpec] | list[TableSpec] | None = (
                screen.checks if kind == "check" else screen.tables if kind == "table" else None)
            if specs is not None:
                spec = next((x for x in specs if x.id == owner), None)
                if spec is not None:
                    return spec.subsystem or screen.subsystem
            elif kind == "action" and any(a.name == owner for a in screen.actions):
                return screen.subsystem
        return None

    def spec_file(self, kind: str, owner: str) -> str:
        """``screens/jobs.toml:45``: where a check, table or action is declared (the line of its
        ``id =`` / ``name =``), relative to the catalog root (str; "" when unknown)."""
        for screen in self.screens:
            owners = {"check": [c.id for c in screen.checks],
                      "table": [t.id for t in screen.tables],
                      "action": [a.name for a in screen.actions]}.get(kind, [])
            if owner in owners:
                path = self.relative(self.screen_files[screen.id])
                line = self.spec_lines.get(f"{self.screen_files[screen.id]}:{owner}", 0)
                return f"{path}:{line}" if line else path
        return ""

    def relative(self, path: Path) -> str:
        """``path`` relative to the catalog root when it is inside it (str)."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def statement_uses(self) -> list[StatementUse]:
        """Every named statement the specs use (checks, tables, actions), in screen order: what
        the server verifies once per session and in ``doctor`` (list[StatementUse])."""
        uses: list[StatementUse] = []
        for screen in self.screens:
            uses += [StatementUse("check", c.id, c.query) for c in screen.checks]
            uses += [StatementUse("table", t.id, t.query) for t in screen.tables]
            uses += [StatementUse("table", t.id, t.find) for t in screen.tables if t.find]
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
        return self.relative(q.file)
