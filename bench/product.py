"""The benchmark's one adapter to opsconsole: every use of the product's Python API and command
line goes through here, so when the product changes, this is the file to update.

The sections see plain data (dicts, lists, strings) and a few opaque handles (a catalog, a
connection, a schema, previous results) that they only pass back in. Connections are psycopg
connections (the harness runs EXPLAIN on them); everything else about the product stays here.

What is used:

- commands: ``opsconsole --version``, the TUI (``opsconsole --dsn``), ``check``, ``demo``,
  ``db init``, ``db seed``, ``action backfill-all``; the Overview's totals line that says the
  first data is drawn;
- API: ``catalog.load``, ``connection.db.connect``, ``catalog.introspect.inspect``,
  ``checks.run_all`` / ``run_check`` / ``utc_now``, ``checks.pool.CheckPool`` (``--jobs``),
  the catalog's checks, tables and named queries, ``actions.common.DEFAULT_BATCH_SIZE``, the
  embedded server and demo setup (``demo.server.start``, ``demo.setup``), the TUI app for the
  headless start-up phases, and ``tests/plans.py`` (``explain``, ``seq_scans``) for the scale
  inspection.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.plans

from opsconsole import catalog as _catalog  # noqa: E402
from opsconsole import checks as _checks  # noqa: E402
from opsconsole.catalog import introspect as _introspect  # noqa: E402
from opsconsole.catalog import verify as _verify  # noqa: E402
from opsconsole.connection import db as _db  # noqa: E402

Catalog = Any  # opaque handles: the sections only pass them back in
Schema = Any
Results = Any
Connection = Any

BIN = Path(sys.executable).parent
OPS = str(BIN / "opsconsole")
PY = sys.executable

# The Overview's totals line ("3 CRITICAL · 2 WARNING · …"): the TUI has drawn check statuses.
FIRST_DATA = re.compile(r"\d+ (?:CRITICAL|WARNING|UNKNOWN|OK) ·")
# What `opsconsole demo` prints once its embedded database is seeded.
DEMO_READY = re.compile(r"demo database ready in ([\d.]+) s")
# The audit table the batch actions write one row per batch into (run_id, batch_no, affected).
AUDIT_TABLE = ("opsconsole", "audit_log")
APPLICATION_NAME = "opsconsole"
ACTION_APPLICATION_NAME = "opsconsole action"


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def argv_version() -> list[str]:
    return [OPS, "--version"]


def argv_tui(dsn: str) -> list[str]:
    """The console on ``dsn`` (interactive: run it in a pty)."""
    return [OPS, "--dsn", dsn]


def argv_check(dsn: str, jobs: int | None = None) -> list[str]:
    """One headless refresh as cron runs it."""
    extra = ["--jobs", str(jobs)] if jobs is not None else []
    return [OPS, "check", "--dsn", dsn, "--format", "json", *extra]


def argv_demo(scale: int) -> list[str]:
    return [OPS, "demo", "--scale", str(scale)]


def argv_db_init(dsn: str) -> list[str]:
    return [OPS, "db", "init", "--dsn", dsn]


def argv_db_seed(dsn: str, scale: int, seed: int) -> list[str]:
    return [OPS, "db", "seed", "--dsn", dsn, "--scale", str(scale), "--seed", str(seed)]


def argv_backfill_all(dsn: str, rows: int) -> list[str]:
    """The batched backfill of every linkable delivery, confirmed for exactly ``rows`` rows."""
    return [OPS, "action", "backfill-all", "--dsn", dsn, "--yes", "--expect", str(rows),
            "--allow-writes", "--format", "json"]


def env_audit_file(path: Path) -> dict[str, str]:
    """Environment that sends the action's local audit file to ``path``."""
    return {"OPSCONSOLE_AUDIT_FILE": str(path)}


@cache
def check_jobs_supported() -> bool:
    """Whether ``opsconsole check`` takes ``--jobs N`` (issue 13: checks on a small pool)."""
    proc = subprocess.run([OPS, "check", "--help"], capture_output=True, text=True, check=False)
    return "--jobs" in proc.stdout


def default_batch_size() -> int:
    from opsconsole.actions import common

    return int(common.DEFAULT_BATCH_SIZE)


def import_modules() -> tuple[str, str]:
    """The modules behind ``--version`` (the CLI entry point) and behind the TUI."""
    return "opsconsole.cli", "opsconsole.tui.app"


# ---------------------------------------------------------------------------------------------
# The check engine
# ---------------------------------------------------------------------------------------------


def load_catalog() -> Catalog:
    return _catalog.load()


def connect(dsn: str, *, statement_timeout_ms: int | None = None,
            read_only: bool = True) -> Connection:
    """A session with the console's settings (read-only, its statement timeout, jit off)."""
    kw: dict[str, Any] = {"read_only": read_only}
    if statement_timeout_ms is not None:
        kw["statement_timeout_ms"] = statement_timeout_ms
    return _db.connect(dsn, **kw)


def inspect(conn: Connection, cat: Catalog) -> Schema:
    return _introspect.inspect(conn, cat)


def run_all(conn: Connection, cat: Catalog, schema: Schema,
            previous: Results | None = None) -> Results:
    """Every check; with ``previous`` (from an earlier call) the checks with a cadence are reused
    while fresh, as the TUI's periodic refresh does."""
    prev = {r.id: r for r in previous} if previous is not None else None
    return _checks.run_all(conn, cat, schema, previous=prev)


def rerun_count(previous: Results, results: Results) -> int:
    """How many checks of ``results`` ran again rather than being reused from ``previous``."""
    before = {r.id: r for r in previous}
    return sum(1 for r in results if before.get(r.id) is not r)


def outcomes(results: Results) -> dict[str, dict[str, Any]]:
    """Per check id: status name, ms, error, summary."""
    return {r.id: {"status": r.status.name, "ms": r.duration_ms, "error": r.error,
                   "summary": r.summary} for r in results}


def check_by_id(cat: Catalog, check_id: str) -> Any:
    """An opaque handle on one check, for :func:`run_check`."""
    return next((s, c) for s, c in cat.checks() if c.id == check_id)


def run_check(conn: Connection, cat: Catalog, schema: Schema, check: Any) -> dict[str, Any]:
    """One check (from :func:`check_by_id`): ``{"error", "values", "rows", "ms"}``."""
    screen, spec = check
    r = _checks.run_check(conn, cat, schema, screen, spec)
    return {"error": r.error, "values": dict(r.values), "rows": list(r.rows),
            "ms": r.duration_ms}


def default_jobs() -> int:
    """How many sessions ``opsconsole check`` runs its checks on by default (1 before the
    checks pool, issue 13)."""
    try:
        from opsconsole.checks import pool
    except ImportError:
        return 1
    return int(pool.DEFAULT_JOBS)


def refresh_once(dsn: str, cat: Catalog, jobs: int | None = None) -> dict[str, Any]:
    """One refresh as ``opsconsole check`` runs it: connect, verify the catalog (the server
    prepares every statement; cached per process, so only the first refresh pays it in full),
    run_all — on ``jobs`` sessions (default: check's default), the pool's extra sessions
    opened inside run_all as check opens them — close."""
    jobs = default_jobs() if jobs is None else jobs
    t0 = time.perf_counter()
    conn = _db.connect(dsn)  # read-only, statement_timeout 5 s, application_name opsconsole
    t1 = time.perf_counter()
    report = _verify.verified(conn, cat)
    t2 = time.perf_counter()
    if jobs > 1:
        from opsconsole.checks.pool import CheckPool

        with CheckPool(dsn, size=jobs - 1, statement_timeout_ms=_db.DEFAULT_STATEMENT_TIMEOUT_MS
                       ) as pool:
            results = _checks.run_all(conn, cat, report=report, pool=pool, jobs=jobs)
    else:
        results = _checks.run_all(conn, cat, report=report)
    t3 = time.perf_counter()
    conn.close()
    t4 = time.perf_counter()
    return {
        "wall_ms": (t4 - t0) * 1000,
        "connect_ms": (t1 - t0) * 1000,
        "introspect_ms": (t2 - t1) * 1000,
        "run_all_ms": (t3 - t2) * 1000,
        "close_ms": (t4 - t3) * 1000,
        "jobs": jobs,
        "checks": outcomes(results),
    }


def introspection_statements(cat: Catalog) -> list[tuple[str, str]]:
    """(name, SQL) of the catalog queries a verified session runs on every refresh (the
    schema fingerprint) and once per schema (the objects)."""
    return [(ref, cat.query(ref).sql) for ref in ("introspect.objects", "introspect.fingerprint")]


def check_statements(conn: Connection, cat: Catalog) -> list[tuple[str, str, dict[str, Any]]]:
    """(check id, SQL, parameters) of every check ``run_all`` runs on this database, with the
    parameters it binds ("now" = the real clock)."""
    now = _checks.utc_now()
    report = _verify.verified(conn, cat)
    out = []
    for _screen, spec in cat.checks():
        if not report.runnable("check", spec.id):
            continue  # run_all does not run it either
        out.append((spec.id, cat.query(spec.query).sql, {"now": now, **spec.params}))
    return out


def scale_statements(cat: Catalog) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(kind, id, SQL, parameters) of every check query and every table's first page, with
    parameters as tests/test_scale.py binds them ("now" is the real clock, as a refresh uses)."""
    now = _checks.utc_now()
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for _, check in cat.checks():
        q = cat.query(check.query)
        out.append(("check", check.id, q.sql, {"now": now, **check.params}))
    for table in cat.tables().values():
        q = cat.query(table.query)
        params: dict[str, Any] = {"after_sort": None, "after_id": None, "limit": 51}
        for name in q.parameters:
            params.setdefault(name, str(uuid.UUID(int=1)) if name.endswith("_id") else "x")
        out.append(("table", table.id, q.sql,
                    {k: v for k, v in params.items() if k in q.parameters}))
    return out


def explain_seq_scans(conn: Connection, cat: Catalog, query_sql: str,
                      params: dict[str, Any]) -> dict[str, Any]:
    """tests/plans.py on one statement: its Execution Time and the sequential scans over
    tables of more than 100 k rows that executed."""
    from tests import plans

    plan = plans.explain(conn, query_sql, params)
    scans = plans.seq_scans(conn, cat, plan)
    return {"exec_ms": plan.get("Execution Time"),
            "seq_scans": [{"relation": s.relation, "reltuples": int(s.reltuples),
                           "loops": s.loops} for s in scans]}


# ---------------------------------------------------------------------------------------------
# The embedded server and the demo's setup (bench/demo_phases.py, --server embedded)
# ---------------------------------------------------------------------------------------------


def embedded_start(data_dir: Path | None) -> Any:
    """The embedded PostgreSQL of ``opsconsole demo``: ``.dsn``, ``.dsn_for(db)``, ``.stop()``.
    None = a fresh temporary data directory (as ``opsconsole demo`` without --data-dir)."""
    from opsconsole.demo import server

    return server.start(data_dir)


def demo_db_name() -> str:
    from opsconsole.cli.commands import DEMO_DB

    return str(DEMO_DB)


def demo_init_schema(dsn: str) -> None:
    from opsconsole.demo import setup

    setup.init_schema(dsn)


def demo_seed(dsn: str, scale: int, seed: int) -> None:
    from opsconsole.demo import setup

    setup.seed(dsn, scale=scale, seed_value=seed)


# ---------------------------------------------------------------------------------------------
# The TUI in-process (bench/tui_headless.py)
# ---------------------------------------------------------------------------------------------


def import_tui() -> None:
    """Import what the TUI needs (timed by tui_headless.py as "imports")."""
    from opsconsole.connection import config  # noqa: F401
    from opsconsole.tui import app  # noqa: F401


def tui_app(dsn: str, cat: Catalog) -> Any:
    """The console app on ``dsn`` with a default profile (for Textual's ``run_test``)."""
    from opsconsole.connection import config
    from opsconsole.tui.app import OpsConsoleApp

    resolved = config.Resolved(dsn, "bench", config.Profile(name="bench"), config.Defaults())
    return OpsConsoleApp(resolved, cat)


def tui_has_data(app: Any) -> bool:
    """The app has applied its first refresh (its own "results on screen" counter)."""
    return bool(app._applied >= 1)
