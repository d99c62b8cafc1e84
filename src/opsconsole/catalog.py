"""The catalog: named SQL from ``queries/`` and screen specs from ``screens/*.toml``.

Data flows one way: ``queries/`` + ``screens/`` -> :class:`Catalog` -> checks / actions -> UIs.
Every spec is validated by pydantic at load time and every reference between them (a check's
query, its value column's declared parameters, a drill-down's target table) is checked, with a
message naming the file and the key. A deployment adapts to its schema by editing these files
or pointing ``--catalog DIR`` at its own copy (a folder holding ``queries/`` and ``screens/``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import aiosql
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from opsconsole.errors import BadInput

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


class ActionRef(_Spec):
    """A guarded action offered on a screen (the action itself lives in the actions engine)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    key: str | None = None
    table: str | None = Field(default=None, pattern=ID_RE)
    params: dict[str, str] = {}


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
    actions: list[ActionRef] = []


@dataclass(frozen=True)
class NamedQuery:
    """A statement from ``queries/``.

    Attributes:
        ref: ``file.name`` (str).
        sql: psycopg-format SQL with ``%(param)s`` placeholders (str).
        parameters: declared parameter names, in order (tuple[str, ...]).
        doc: the comment lines under the name (str).
        file: the path of the .sql file (Path).
    """

    ref: str
    sql: str
    parameters: tuple[str, ...]
    doc: str
    file: Path


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

    def query_file(self, ref: str) -> str:
        """Path of the .sql file a query lives in, relative to the catalog root (str)."""
        q = self.queries.get(ref)
        if q is None:
            return f"queries/{ref.split('.', maxsplit=1)[0]}.sql"
        try:
            return str(q.file.relative_to(self.root))
        except ValueError:
            return str(q.file)


def default_root() -> Path:
    """The catalog shipped with opsconsole: the source checkout's top level, or the wheel's copy."""
    here = Path(__file__).resolve()
    checkout = here.parent.parent.parent
    if (checkout / "queries").is_dir() and (checkout / "screens").is_dir():
        return checkout
    return Path(str(resources.files("opsconsole").joinpath("_catalog")))


def load(root: Path | None = None) -> Catalog:
    """Load and validate the catalog under ``root`` (default: :func:`default_root`).

    Returns:
        Catalog.

    Raises:
        BadInput: a file is missing or invalid, or a reference does not resolve; the message
            names the file and the key.
    """
    root = (root or default_root()).resolve()
    qdir, sdir = root / "queries", root / "screens"
    for folder in (qdir, sdir):
        if not folder.is_dir():
            raise BadInput(
                f"catalog {root} has no {folder.name}/ folder: "
                "point --catalog at a folder holding queries/ and screens/"
            )
    catalog = Catalog(root=root)
    for path in sorted(qdir.glob("*.sql")):
        catalog.queries.update(_load_queries(path))
    for path in sorted(sdir.glob("*.toml")):
        spec = _load_screen(path)
        catalog.screens.append(spec)
        catalog.screen_files[spec.id] = path
    catalog.screens.sort(key=lambda s: (s.order, s.id))
    _cross_check(catalog)
    return catalog


def _load_queries(path: Path) -> dict[str, NamedQuery]:
    try:
        loaded = aiosql.from_path(path, "psycopg")
    except Exception as exc:
        raise BadInput(f"{path}: cannot parse named queries ({exc})") from exc
    out: dict[str, NamedQuery] = {}
    for name in loaded.available_queries:
        if name.endswith("_cursor"):
            continue
        fn = getattr(loaded, name)
        ref = f"{path.stem}.{name}"
        out[ref] = NamedQuery(
            ref=ref,
            sql=fn.sql,
            parameters=tuple(fn.parameters or ()),
            doc=(fn.__doc__ or "").strip(),
            file=path,
        )
    return out


def _load_screen(path: Path) -> ScreenSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: invalid TOML ({exc})") from exc
    data.setdefault("id", path.stem)
    try:
        return ScreenSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise BadInput(f"{path}: {where}: {err['msg']}") from exc


def _cross_check(catalog: Catalog) -> None:
    seen: dict[str, str] = {}
    tables = catalog.tables()
    for screen in catalog.screens:
        where = catalog.screen_files[screen.id]
        for check in screen.checks:
            _unique(seen, check.id, where)
            query = _resolve(catalog, check.query, where, f"check {check.id}")
            undeclared = set(query.parameters) - {"now", *check.params}
            if undeclared:
                raise BadInput(
                    f"{where}: check {check.id}: query {check.query} needs "
                    f"parameters {sorted(undeclared)}: add them under [checks.params]"
                )
        for table in screen.tables:
            _unique(seen, table.id, where)
            query = _resolve(catalog, table.query, where, f"table {table.id}")
            missing = [p for p in KEYSET_PARAMS if p not in query.parameters]
            if missing:
                raise BadInput(
                    f"{where}: table {table.id}: query {table.query} must take "
                    f"{', '.join(KEYSET_PARAMS)} (missing {', '.join(missing)})"
                )
            if table.drill and table.drill.table not in tables:
                raise BadInput(
                    f"{where}: table {table.id}: drill.table {table.drill.table} "
                    "is not a table of any screen"
                )
        for action in screen.actions:
            if action.table and action.table not in tables:
                raise BadInput(
                    f"{where}: action {action.name}: table {action.table} "
                    "is not a table of any screen"
                )


def _unique(seen: dict[str, str], ident: str, where: Path) -> None:
    if ident in seen:
        raise BadInput(f"{where}: id {ident} is already defined in {seen[ident]}")
    seen[ident] = str(where)


def _resolve(catalog: Catalog, ref: str, where: Path, what: str) -> NamedQuery:
    try:
        return catalog.queries[ref]
    except KeyError:
        raise BadInput(
            f"{where}: {what}: query {ref} not found in queries/{ref.split('.', maxsplit=1)[0]}.sql"
        ) from None
