"""Loading the catalog: named SQL from ``queries/`` and screen specs from ``screens/*.toml``.

Every spec is validated by pydantic at load time (:mod:`opsconsole.catalog.model`) and every
reference between them (a check's query, its declared parameters, a drill-down's target table)
is checked, with a message naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import aiosql
from pydantic import ValidationError

from opsconsole.catalog import action_check
from opsconsole.catalog.model import KEYSET_PARAMS, Catalog, NamedQuery, ScreenSpec
from opsconsole.errors import BadInput


def default_root() -> Path:
    """The catalog shipped with opsconsole: the source checkout's top level, or the wheel's copy."""
    here = Path(__file__).resolve()
    checkout = here.parents[3]
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
    lines = path.read_text(encoding="utf-8").splitlines()
    out: dict[str, NamedQuery] = {}
    for name in loaded.available_queries:
        if name.endswith("_cursor"):
            continue
        fn = getattr(loaded, name)
        ref = f"{path.stem}.{name}"
        name_line = _name_line(lines, name)
        out[ref] = NamedQuery(
            ref=ref,
            sql=fn.sql,
            parameters=tuple(fn.parameters or ()),
            doc=(fn.__doc__ or "").strip(),
            file=path,
            line=name_line,
            line_map=_line_map(lines, name_line, fn.sql),
        )
    return out


_NAME_LINE = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _name_line(lines: list[str], name: str) -> int:
    """The 1-based line of ``-- name: NAME`` (0 when not found)."""
    for no, text in enumerate(lines, start=1):
        found = _NAME_LINE.match(text.strip())
        if found and found.group(1) == name:
            return no
    return 0


def _line_map(lines: list[str], name_line: int, body: str) -> tuple[int, ...]:
    """The file line of each line of ``body`` as aiosql returned it (comment lines dropped)."""
    out: list[int] = []
    cursor = name_line  # 0-based index of the line after the name line
    for text in body.splitlines():
        want = _PLACEHOLDER.sub(lambda m: ":" + m.group(1), text).strip()
        at = cursor
        while at < len(lines) and _PLACEHOLDER.sub(
            lambda m: ":" + m.group(1), lines[at]
        ).strip() != want and not _NAME_LINE.match(lines[at].strip()):
            at += 1
        if at < len(lines) and not _NAME_LINE.match(lines[at].strip()):
            cursor = at + 1
            out.append(at + 1)
        else:
            out.append(out[-1] if out else name_line)
    return tuple(out)


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
    _cross_check_actions(catalog, set(tables))


def _cross_check_actions(catalog: Catalog, tables: set[str]) -> None:
    """The actions' part of the cross-check (catalog/action_check.py)."""
    queries = {ref: q.parameters for ref, q in catalog.queries.items()}
    seen: dict[str, str] = {}
    for screen in catalog.screens:
        try:
            action_check.cross_check(screen.actions, queries, tables,
                                    str(catalog.screen_files[screen.id]), seen)
        except ValueError as exc:
            raise BadInput(str(exc)) from None


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
