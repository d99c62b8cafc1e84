"""Figure 5: the batch backfill of 1 M unlinked deliveries against one UPDATE.

On copies (``CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY``) of the large database holding
exactly ``--backfill-rows`` (1 M) linkable deliveries with NULL ``user_id`` (the 0.38 % the seed
plants plus deliveries of linked, active guests set to NULL, in id order: spread over the
table): ``opsconsole action backfill-all --yes --expect N --allow-writes --format json`` at its
default batch size vs one ``UPDATE message_deliveries d SET user_id = g.user_id FROM
event_guests g WHERE …`` on a fresh copy; ``--backfill-pairs`` pairs, alternating. Transactions
are timed by sampling ``pg_stat_activity`` every 10 ms (per pid and ``xact_start``; a
transaction that got an xid wrote), cross-checked with the gaps between the run's audit rows.

Why 1 M exactly: ``backfill-all`` previews at most 1 000 000 rows; the seed already plants ~38 k
linkable unlinked deliveries at scale 100, so the harness unlinks 1 M minus those. The template
``<large>_unlinked`` is kept for ``--reuse``; the copies ``<large>_bf`` are dropped.

Targets: throughput ≥ half the single UPDATE's; longest transaction ≤ 1/20 of its duration.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import product
import psycopg
from databases import Server
from harness import Context, Option, log
from psycopg import sql
from report import Figures, Writer, median, meta_line, ok
from stats import fmt, spread, summary

NAME = "backfill"
OPTIONS = (
    Option("--backfill-pairs", 3, 1, "batched/single pairs"),
    Option("--backfill-rows", 1_000_000, 10_000, "linkable deliveries with NULL user_id"),
)
THROUGHPUT_TARGET = 0.5
LONGEST_TXN_TARGET = 0.05

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


def prepare_unlinked_template(server: Server, large_db: str, rows: int,
                              reuse: bool) -> dict[str, Any]:
    """A copy of the large database with exactly ``rows`` linkable-but-unlinked deliveries."""
    tmpl = f"{large_db}_unlinked"
    if reuse and server.exists(tmpl):
        with psycopg.connect(server.dsn(tmpl), autocommit=True) as c:
            n = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
        if n == rows:
            log(f"{tmpl}: reusing ({n} linkable deliveries with NULL user_id)")
            return {"template": tmpl, "rebuilt": False, "linkable_unlinked": n}
    server.drop(tmpl)
    copy_s = server.create(tmpl, template=large_db)
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
    env = {**os.environ, **product.env_audit_file(workdir / "audit.jsonl")}
    argv = product.argv_backfill_all(dsn, rows)
    with XactSampler(server.admin, name) as sampler:
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - t0
    if not proc.stdout.strip():
        raise RuntimeError(f"backfill-all printed nothing: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    with psycopg.connect(dsn, autocommit=True) as c:
        audit = c.execute(sql.SQL(
            "SELECT count(*), sum(affected), min(created_at), max(created_at),"
            " max(gap), percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)"
            " FROM (SELECT affected, created_at, extract(epoch FROM lead(created_at)"
            "   OVER (ORDER BY batch_no) - created_at) AS gap"
            "   FROM {} WHERE run_id = %s) x").format(sql.Identifier(*product.AUDIT_TABLE)),
            (result["run_id"],)).fetchone()
        left = c.execute(COUNT_LINKABLE).fetchone()[0]  # type: ignore[index]
    assert audit is not None
    txns = sampler.durations(product.ACTION_APPLICATION_NAME)
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


def run(ctx: Context) -> dict[str, Any]:
    args, server = ctx.args, ctx.server
    prep = prepare_unlinked_template(server, args.large_db, args.backfill_rows, args.reuse)
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
        "default_batch_size": product.default_batch_size(),
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
# Report
# ---------------------------------------------------------------------------------------------


def _rows_text(rows: int) -> str:
    return "1 M" if rows == 1_000_000 else f"{rows:,}"


def figures(results: dict[str, Any], bf: dict[str, Any] | None, figs: Figures) -> None:
    if not bf:
        return
    figs.add("5", f"backfill-all throughput / single UPDATE's (batch size "
             f"{bf['default_batch_size']}, whole command)", bf["throughput_ratio"], "",
             "≥ 0.5", ok(median(bf["throughput_ratio"]), THROUGHPUT_TARGET, below=False), 3)
    figs.add("5", "longest backfill transaction / single UPDATE's duration",
             bf["longest_txn_over_single"], "", "≤ 0.05 (1/20)",
             ok(median(bf["longest_txn_over_single"]), LONGEST_TXN_TARGET), 4)


def details(results: dict[str, Any], bf: dict[str, Any], w: Writer) -> None:
    w(f"## 5. Batch backfill of {_rows_text(bf['rows'])} unlinked deliveries\n")
    w(meta_line(results, NAME))
    p = bf["prepare"]
    w(f"A copy of the large database (`{p['template']}`, CREATE DATABASE … TEMPLATE … "
      f"STRATEGY FILE_COPY) holds exactly {bf['rows']:,} linkable deliveries with NULL "
      f"user_id"
      + (f" ({p['planted']:,} planted by the seed + {p['unlinked']:,} set to NULL, picked in "
         "id order, i.e. spread over the table; then VACUUM ANALYZE)" if p.get("rebuilt")
         else "") + ". Each run works on a fresh file copy of it; batched and single runs "
      "alternate. `backfill-all` runs with its default batch size "
      f"({bf['default_batch_size']}), `--yes --expect {bf['rows']} --allow-writes --format "
      "json`. Transactions are timed by sampling pg_stat_activity every 10 ms (pid, "
      "xact_start; a transaction that got an xid wrote); its duration is taken up to the "
      "first sample that no longer sees it (an upper bound, within ~10 ms).\n")
    w("| | median | spread |\n| --- | --- | --- |")
    for label, key, unit, dg in (
        ("backfill-all wall time (whole command: start-up, preview, batches)",
         "batched_wall_s", "s", 1),
        ("backfill-all throughput", "batched_rows_per_s", "rows/s", 0),
        ("backfill-all throughput, batches only (first write → last commit)",
         "batched_apply_rows_per_s", "rows/s", 0),
        ("single UPDATE duration", "single_s", "s", 1),
        ("single UPDATE throughput", "single_rows_per_s", "rows/s", 0),
        ("throughput ratio (whole command) — target ≥ 0.5", "throughput_ratio", "", 3),
        ("throughput ratio (batches only)", "apply_throughput_ratio", "", 3),
        ("longest write transaction of backfill-all", "longest_txn_s", "s", 3),
        ("longest transaction / single UPDATE — target ≤ 0.05", "longest_txn_over_single",
         "", 4),
        ("largest gap between consecutive audit rows (upper bound incl. client time)",
         "audit_max_gap_s", "s", 3),
        ("preview (longest read-only statement of the action)", "preview_s", "s", 1),
    ):
        s = bf.get(key)
        w(f"| {label} | {fmt(s['median'], unit, dg) if s else '-'} | "
          f"{spread(s, unit, dg) if s else '-'} |")
    w("")
    for r in bf["batched"]:
        w(f"- backfill-all run: {r['status']}, {r['affected']:,} rows in {r['batches']} "
          f"batches, {r['wall_s']:.1f} s; {r['write_txns_seen']} write transactions "
          f"sampled, median {fmt(r['write_txn_upper_s']['median'] * 1000, 'ms')} each; "
          f"audit rows {r['audit_rows']}, {r['left_unlinked']} left unlinked.")
    for r in bf["single"]:
        w(f"- single UPDATE run: {r['rows']:,} rows in {r['duration_s']:.1f} s; "
          f"{r['left_unlinked']} left unlinked.")
    w("")
