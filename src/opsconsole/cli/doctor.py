"""``opsconsole doctor``: for the connected database, every check, table and action: runnable,
cannot run (why, what the database has instead, the file and line to edit), or not installed
(its subsystem is absent).

The verdicts are the server's (:func:`opsconsole.catalog.verify.verify_catalog`): every statement
is prepared and described without running, every spec column, literal value and row-level
security judged against what it says. Exit 0 when everything installed is runnable, 1 when
something cannot run (3, from the CLI, when the server cannot be reached).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from opsconsole.catalog import Catalog
from opsconsole.catalog.introspect import server_info
from opsconsole.catalog.verify import CatalogReport, Finding, verify_catalog
from opsconsole.connection import db
from opsconsole.connection.dsn import Target
from opsconsole.connection.dsn import target as dsn_target
from opsconsole.errors import ConnectionFailed

WIDTH = 80
RUNNABLE, CANNOT_RUN, NOT_INSTALLED = "runnable", "cannot run", "not installed"


@dataclass
class Entry:
    """Doctor's verdict on one check, table or action.

    Attributes:
        kind: "check" | "table" | "action".
        id: the check id, table id or action name.
        screen: the screen declaring it.
        subsystem: its subsystem id ("" when none).
        state: "runnable" | "cannot run" | "not installed".
        spec: where it is declared, ``screens/jobs.toml:12``.
        queries: the named queries it uses.
        query_file: the file holding its (first) query, ``queries/jobs.sql``.
        findings: why it cannot run (list[Finding]; empty when runnable).
        missing: for "not installed": the absent objects of its subsystem.
    """

    kind: str
    id: str
    screen: str
    subsystem: str
    state: str
    spec: str
    queries: list[str]
    query_file: str = ""
    findings: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The entry for ``--format json`` (and ``runnable``: state is "runnable")."""
        return {**asdict(self), "runnable": self.state == RUNNABLE}


@dataclass
class Diagnosis:
    """What doctor found: the entries, the server, the report it was judged from."""

    entries: list[Entry]
    server: dict[str, Any]
    report: CatalogReport

    @property
    def exit_code(self) -> int:
        """0 when every installed check, table and action is runnable, else 1 (int)."""
        return 1 if any(e.state == CANNOT_RUN for e in self.entries) else 0


def diagnose(catalog: Catalog, dsn: str) -> Diagnosis:
    """Verify the catalog on the database at ``dsn`` and judge every check, table and action.

    Raises:
        ConnectionFailed: the server cannot be reached, the connection was lost or a statement
            timed out while verifying (one line).
    """
    with db.connect(dsn) as conn:
        try:
            info = server_info(conn, catalog)
            report = verify_catalog(conn, catalog)
        except psycopg.Error as exc:
            raise ConnectionFailed(f"doctor on {dsn_target(dsn).label()}: "
                                   f"{db.describe_error(exc, dsn=dsn)}") from exc
    entries: list[Entry] = []
    for screen in catalog.screens:
        for check in screen.checks:
            entries.append(_entry(catalog, report, "check", check.id, screen=screen.id,
                                  refs=[check.query]))
        for table in screen.tables:
            entries.append(_entry(catalog, report, "table", table.id, screen=screen.id,
                                  refs=[table.query]))
        for action in screen.actions:
            refs = list(dict.fromkeys(u.ref for u in report.uses
                                      if u.kind == "action" and u.owner == action.name))
            entries.append(_entry(catalog, report, "action", action.name, screen=screen.id,
                                  refs=refs))
    server = {"version": info.version, "role": info.role, "dbname": info.dbname,
              "read_only": info.read_only, "replica": info.in_recovery}
    return Diagnosis(entries, server, report)


def _entry(catalog: Catalog, report: CatalogReport, kind: str, ident: str, *, screen: str,
           refs: list[str]) -> Entry:
    subsystem = catalog.subsystem_of(kind, ident) or ""
    findings = report.problems(kind, ident)
    state = RUNNABLE if not findings else (
        NOT_INSTALLED if not report.installed(kind, ident) else CANNOT_RUN)
    missing = report.subsystems.get(subsystem, []) if state == NOT_INSTALLED else []
    return Entry(kind, ident, screen, subsystem, state, catalog.spec_file(kind, ident), refs,
                 catalog.query_file(refs[0]) if refs else "", findings, missing)


def as_json(diagnosis: Diagnosis, target: Target) -> str:
    """Every entry and every finding as JSON (str): ``{"status", "exit_code", "target",
    "server", "verification", "subsystems", "entries", "findings"}``."""
    report = diagnosis.report
    doc = {
        "status": "runnable" if diagnosis.exit_code == 0 else "not runnable",
        "exit_code": diagnosis.exit_code,
        "target": {"host": target.host, "port": target.port, "dbname": target.dbname,
                   "user": target.user},
        "server": diagnosis.server,
        "verification": {"statements": len({u.ref for u in report.uses}),
                         "elapsed_ms": report.elapsed_ms},
        "subsystems": [{"id": sid, "installed": not missing, "missing": missing}
                       for sid, missing in report.subsystems.items()],
        "entries": [e.as_dict() for e in diagnosis.entries],
        "findings": [asdict(f) for f in report.findings],
    }
    return json.dumps(doc, indent=2, default=str)


def as_text(diagnosis: Diagnosis, target: Target) -> str:
    """Doctor's report for a terminal or a cron mail: a verdict line, then what cannot run (each
    finding with its fix), what is not installed (per subsystem), and what is runnable, wrapped
    to 80 columns (str)."""
    entries, server = diagnosis.entries, diagnosis.server
    counts = {s: sum(1 for e in entries if e.state == s)
              for s in (CANNOT_RUN, RUNNABLE, NOT_INSTALLED)}
    verdict = "RUNNABLE" if diagnosis.exit_code == 0 else "NOT RUNNABLE"
    mode = "read-only" if server["read_only"] else "read-write"
    lines = [
        f"opsconsole doctor {verdict}: {counts[CANNOT_RUN]} cannot run, {counts[RUNNABLE]} "
        f"runnable, {counts[NOT_INSTALLED]} not installed",
        f"on {target.label()}, PostgreSQL {server['version']}, role {server['role']}, {mode}; "
        f"{len({u.ref for u in diagnosis.report.uses})} statements verified in "
        f"{diagnosis.report.elapsed_ms:.0f} ms",
    ]
    lines += _cannot_run([e for e in entries if e.state == CANNOT_RUN])
    lines += _not_installed(diagnosis, [e for e in entries if e.state == NOT_INSTALLED])
    lines += _runnable([e for e in entries if e.state == RUNNABLE])
    return "\n".join(_wrap(line) for line in lines)


def _cannot_run(group: list[Entry]) -> list[str]:
    if not group:
        return []
    out = ["", f"CANNOT RUN ({len(group)})"]
    for e in group:
        out.append(f"  {e.kind} {e.id}" + (f"  ({e.spec})" if e.spec else ""))
        out += [f"    - {f.message}" for f in e.findings]
    return out


def _not_installed(diagnosis: Diagnosis, group: list[Entry]) -> list[str]:
    if not group:
        return []
    out = ["", f"NOT INSTALLED ({len(group)}): `check` counts them only when --only names them"]
    for subsystem in dict.fromkeys(e.subsystem for e in group):
        members = [e for e in group if e.subsystem == subsystem]
        missing = ", ".join(members[0].missing)
        out.append(f"  subsystem {subsystem}: missing {missing}")
        out += _listing([e for e in members], "    ")
    return out


def _runnable(group: list[Entry]) -> list[str]:
    if not group:
        return []
    return ["", f"RUNNABLE ({len(group)})", *_listing(group, "  ")]


def _listing(group: list[Entry], indent: str) -> list[str]:
    out = []
    for kind in ("check", "table", "action"):
        ids = [e.id for e in group if e.kind == kind]
        if ids:
            out.append(f"{indent}{kind}s: {', '.join(ids)}")
    return out


def _wrap(line: str) -> str:
    if len(line) <= WIDTH:
        return line
    stripped = line.lstrip(" ")
    indent = " " * (len(line) - len(stripped))
    bullet = "  " if stripped.startswith("- ") else "    " if indent else "  "
    return textwrap.fill(stripped, WIDTH, initial_indent=indent,
                         subsequent_indent=indent + bullet, break_on_hyphens=False,
                         break_long_words=True)
