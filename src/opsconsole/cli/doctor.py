"""``opsconsole doctor``: for the connected database, every check, table and action: runnable,
or exactly which relation, column or function is missing and which query file to adapt."""

from __future__ import annotations

from typing import Any

from opsconsole.catalog import Catalog
from opsconsole.catalog.introspect import SchemaInfo, inspect, server_info
from opsconsole.connection import db
from opsconsole.connection.dsn import Target


def diagnose(catalog: Catalog, dsn: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Inspect the database at ``dsn`` against the catalog.

    Returns:
        (entries, server): entries are dicts ``{"kind": "check"|"table"|"action", "id",
        "screen", "runnable": bool, "missing": [str], "query_file": str}``; server holds the
        version, role and whether the session is read-only.

    Raises:
        ConnectionFailed: the server cannot be reached.
    """
    with db.connect(dsn) as conn:
        schema = inspect(conn, catalog)
        info = server_info(conn, catalog)
    entries: list[dict[str, Any]] = []
    for screen in catalog.screens:
        for check in screen.checks:
            entries.append(
                _entry(
                    "check",
                    check.id,
                    screen.id,
                    schema.missing(screen.requires + check.requires),
                    catalog.query_file(check.query),
                )
            )
        for table in screen.tables:
            entries.append(
                _entry(
                    "table",
                    table.id,
                    screen.id,
                    schema.missing(screen.requires + table.requires),
                    catalog.query_file(table.query),
                )
            )
    entries.extend(_actions(catalog, schema))
    server = {
        "version": info.version,
        "role": info.role,
        "dbname": info.dbname,
        "read_only": info.read_only,
        "replica": info.in_recovery,
    }
    return entries, server


def _actions(catalog: Catalog, schema: SchemaInfo) -> list[dict[str, Any]]:
    from opsconsole.actions.definition import every

    out = []
    for screen, spec in every(catalog):
        wanted = [r for r in [*screen.requires, *spec.requires] if not r.startswith("trigger ")]
        out.append(_entry("action", spec.name, screen.id, schema.missing(wanted),
                          "queries/actions.sql"))
    return out


def _entry(
    kind: str, ident: str, screen: str, missing: list[str], query_file: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": ident,
        "screen": screen,
        "runnable": not missing,
        "missing": missing,
        "query_file": query_file,
    }


def as_text(entries: list[dict[str, Any]], target: Target, server: dict[str, Any]) -> str:
    """Doctor's report, one line per entry, not-runnable ones first within each kind (str)."""
    mode = "read-only" if server["read_only"] else "read-write"
    lines = [f"{target.label()}  PostgreSQL {server['version']}  role {server['role']}  {mode}"]
    for kind in ("check", "table", "action"):
        group = [e for e in entries if e["kind"] == kind]
        if not group:
            continue
        ok = sum(1 for e in group if e["runnable"])
        lines.append(f"\n{kind}s: {ok} of {len(group)} runnable")
        for e in sorted(group, key=lambda e: (e["runnable"], e["id"])):
            if e["runnable"]:
                lines.append(f"  ok       {e['id']}")
            else:
                lines.append(
                    f"  MISSING  {e['id']}: {', '.join(e['missing'])} (adapt {e['query_file']})"
                )
    return "\n".join(lines)
