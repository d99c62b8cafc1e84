"""Loading the catalog: named SQL from ``queries/`` and screen specs from ``screens/*.toml``.

Every spec is validated by pydantic at load time (:mod:`opsconsole.catalog.model`) and every
reference between them (a check's query, its declared parameters, its subsystem, a drill-down's
target table and parameters) is checked, with a message naming the file and the key. What the
database must say about them (columns, types, values) is judged later, by the server
(:mod:`opsconsole.catalog.verify`).

Every problem is one :class:`~opsconsole.errors.BadInput` line naming the file (a folder named
``x.toml``, a file that is not UTF-8, a missing ``queries/x.sql``), never a traceback.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import aiosql
from pydantic import ValidationError

from opsconsole.catalog import action_check, cache
from opsconsole.catalog.model import (
    KEYSET_PARAMS,
    Catalog,
    NamedQuery,
    ScreenSpec,
    SubsystemSpec,
)
from opsconsole.errors import BadInput

SUBSYSTEMS_FILE = "subsystems.toml"  # screens/subsystems.toml: not a screen


def default_root() -> Path:
    """The catalog shipped with opsconsole: the source checkout's top level, or the wheel's copy."""
    here = Path(__file__).resolve()
    checkout = here.parents[3]
    if (checkout / "queries").is_dir() and (checkout / "screens").is_dir():
        return checkout
    return Path(str(resources.files("opsconsole").joinpath("_catalog")))


def load(root: Path | None = None, *, use_cache: bool = True) -> Catalog:
    """Load and validate the catalog under ``root`` (default: :func:`default_root`).

    A catalog whose files (byte for byte) were loaded before comes from the parsed-catalog
    cache (:mod:`opsconsole.catalog.cache`, ~1 ms instead of ~0.1 s); ``use_cache=False``
    always parses (and does not write the cache).

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
    digest = hashlib.sha256()
    sources = [(path, _read(path, root, digest)) for path in _files(qdir, "*.sql")]
    specs = [(path, _read(path, root, digest)) for path in _files(sdir, "*.toml")]
    fingerprint = digest.hexdigest()
    if use_cache:
        cached = cache.get(root, fingerprint)
        if cached is not None:
            return cached
    catalog = Catalog(root=root, fingerprint=fingerprint)
    for path, text in sources:
        catalog.queries.update(_load_queries(path, text))
    for path, text in specs:
        data = _toml(path, text)
        if path.name == SUBSYSTEMS_FILE:
            catalog.subsystems = _load_subsystems(path, data)
            continue
        spec = _load_screen(path, data)
        catalog.screens.append(spec)
        catalog.screen_files[spec.id] = path
        catalog.spec_lines.update(_spec_lines(path, text))
    catalog.screens.sort(key=lambda s: (s.order, s.id))
    _cross_check(catalog)
    if use_cache:
        cache.put(catalog)
    return catalog


def _files(folder: Path, pattern: str) -> list[Path]:
    """The files matching ``pattern`` in ``folder``, sorted; a folder so named is refused."""
    found = sorted(folder.glob(pattern))
    for path in found:
        if not path.is_file():
            raise BadInput(f"{path}: is not a file (a folder or a broken link): "
                           f"rename or remove it")
    return found


def _read(path: Path, root: Path, digest: Any) -> str:
    """The text of a catalog file, fed to the catalog's fingerprint too.

    Raises:
        BadInput: unreadable, or not UTF-8 (one line naming the file and the byte).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInput(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}): "
                       "save the file as UTF-8") from exc
    digest.update(str(path.relative_to(root)).encode() + b"\0" + raw + b"\0")
    return text


def _load_queries(path: Path, text: str) -> dict[str, NamedQuery]:
    try:
        loaded = aiosql.from_str(text, "psycopg")
    except Exception as exc:
        message = str(exc).replace("<unknown>", path.name).splitlines()[0] if str(exc) else ""
        raise BadInput(f"{path}: cannot parse named queries ({message or type(exc).__name__})"
                       ) from exc
    lines = text.splitlines()
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


_SPEC_KEY = re.compile(r'^\s*(?:id|name)\s*=\s*"([^"]+)"', re.M)


def _spec_lines(path: Path, text: str) -> dict[str, int]:
    """``PATH:id`` -> the line of each ``id = "..."`` / ``name = "..."`` in a screen file."""
    return {f"{path}:{m.group(1)}": text.count("\n", 0, m.start()) + 1
            for m in _SPEC_KEY.finditer(text)}


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: invalid TOML ({exc})") from exc


def _load_screen(path: Path, data: dict[str, Any]) -> ScreenSpec:
    data.setdefault("id", path.stem)
    if "requires" in data:
        raise BadInput(f"{path}: requires: a screen names its subsystem instead "
                       f"(subsystem = \"...\", declared in screens/{SUBSYSTEMS_FILE})")
    try:
        return ScreenSpec.model_validate(data)
    except ValidationError as exc:
        raise BadInput(f"{path}: {_first_error(exc)}") from exc


def _load_subsystems(path: Path, data: dict[str, Any]) -> dict[str, SubsystemSpec]:
    out: dict[str, SubsystemSpec] = {}
    for ident, body in data.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", ident) or not isinstance(body, dict):
            raise BadInput(f"{path}: {ident}: a subsystem is a table [id] with title, source "
                           "and requires (id: lower case letters, digits, _)")
        try:
            out[ident] = SubsystemSpec.model_validate(body)
        except ValidationError as exc:
            raise BadInput(f"{path}: {ident}.{_first_error(exc)}") from exc
    return out


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}"


def _cross_check(catalog: Catalog) -> None:
    seen: dict[str, str] = {}
    tables = catalog.tables()
    for screen in catalog.screens:
        where = catalog.screen_files[screen.id]
        _known_subsystem(catalog, screen.subsystem, where, "subsystem")
        for check in screen.checks:
            _unique(seen, check.id, where)
            query = _resolve(catalog, check.query, where, f"check {check.id}")
            undeclared = set(query.parameters) - {"now", *check.params}
            if undeclared:
                raise BadInput(
                    f"{where}: check {check.id}: query {check.query} needs "
                    f"parameters {sorted(undeclared)}: add them under [checks.params]"
                )
            own = check.subsystem or screen.subsystem
            if own is None:
                raise BadInput(f"{where}: check {check.id}: no subsystem: add subsystem = "
                               f"\"...\" to the check or the screen (screens/{SUBSYSTEMS_FILE})")
            _known_subsystem(catalog, own, where, f"check {check.id}: subsystem")
        for table in screen.tables:
            _unique(seen, table.id, where)
            _known_subsystem(catalog, table.subsystem, where, f"table {table.id}: subsystem")
            query = _resolve(catalog, table.query, where, f"table {table.id}")
            missing = [p for p in KEYSET_PARAMS if p not in query.parameters]
            if missing:
                raise BadInput(
                    f"{where}: table {table.id}: query {table.query} must take "
                    f"{', '.join(KEYSET_PARAMS)} (missing {', '.join(missing)})"
                )
            if table.find:
                found = _resolve(catalog, table.find, where, f"table {table.id}: find")
                if list(found.parameters) != ["id"]:
                    raise BadInput(f"{where}: table {table.id}: find query {table.find} must "
                                   f"take (id) only")
            if table.drill:
                _check_drill(catalog, table.id, table.drill.table, table.drill.params, where)
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


def _known_subsystem(catalog: Catalog, ident: str | None, where: Path, what: str) -> None:
    if ident is not None and ident not in catalog.subsystems:
        known = ", ".join(sorted(catalog.subsystems)) or f"none: screens/{SUBSYSTEMS_FILE} " \
            "is missing"
        raise BadInput(f"{where}: {what} {ident} is not declared in screens/{SUBSYSTEMS_FILE} "
                       f"(known: {known})")


def _check_drill(
    catalog: Catalog, table_id: str, target: str, params: dict[str, str], where: Path
) -> None:
    tables = catalog.tables()
    if target not in tables:
        raise BadInput(
            f"{where}: table {table_id}: drill.table {target} is not a table of any screen"
        )
    takes = catalog.query(tables[target].query).parameters
    unknown = sorted(set(params) - set(takes))
    if unknown:
        raise BadInput(
            f"{where}: table {table_id}: drill.params {', '.join(unknown)}: query "
            f"{tables[target].query} takes no such parameter (it takes {', '.join(takes)})"
        )


def _unique(seen: dict[str, str], ident: str, where: Path) -> None:
    if ident in seen:
        raise BadInput(f"{where}: id {ident} is already defined in {seen[ident]}")
    seen[ident] = str(where)


def _resolve(catalog: Catalog, ref: str, where: Path, what: str) -> NamedQuery:
    try:
        return catalog.queries[ref]
    except KeyError:
        file = f"queries/{ref.split('.', maxsplit=1)[0]}.sql"
        if not (catalog.root / file).is_file():
            raise BadInput(f"{where}: {what}: query {ref}: {file} does not exist in "
                           f"{catalog.root}: add it (`opsconsole catalog export` writes the "
                           "shipped one)") from None
        raise BadInput(f"{where}: {what}: query {ref} not found in {file}") from None
