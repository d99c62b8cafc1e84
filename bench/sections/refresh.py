"""Figures 1 and 2: the full headless refresh, and the console's overhead over the server's own
execution time.

1. A refresh is what ``opsconsole check`` does — connect (read-only, 5 s statement timeout),
   introspect, run every check, close — timed in-process, ``--runs`` times per database after
   ``--warmup`` rounds, small and large interleaved ABBA. Also the whole ``opsconsole check``
   process (Python start-up and imports included; warm, as cron's next run finds the parsed
   catalog and the verification in the cache, and cold, ``OPSCONSOLE_CATALOG_CACHE=0``), and,
   when the product has it,
   ``opsconsole check --jobs N`` for N = 1 and 3.
2. Right after each refresh every check query that ran is executed again under
   ``EXPLAIN (ANALYZE, TIMING OFF, SUMMARY)`` with the same parameters on a fresh session;
   overhead = refresh wall / Σ Execution Time. The console's own refresh: one monitoring session
   kept open as the TUI keeps it, 6 warm-up rounds (psycopg prepares a statement at its 5th
   execution), then ``--runs`` times (every check, no cadence reuse; the same statements under
   EXPLAIN on that session); and its periodic refresh, where checks with a cadence are reused
   while fresh.

Targets: large median ≤ 250 ms, large/small ≤ 2, overhead ≤ 1.3, the whole ``check`` process on
scale 1 ≤ 0.5 s (issue 13).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from typing import Any

import product
from harness import Context, Option, log, order
from report import Figures, Writer, cell, median, meta_line, ok
from stats import fmt, summary

NAME = "refresh"
OPTIONS = (
    Option("--runs", 25, 3, "refreshes per database (>= 20 for a measurement)"),
    Option("--warmup", 2, 1, "warm-up rounds before the refreshes"),
    Option("--check-process-runs", 10, 2, "whole `opsconsole check` processes per database"),
)
JOBS = (1, 3)  # `check --jobs N` measured when the option exists


def explain_pass(dsn: str, cat: product.Catalog,
                 conn: product.Connection | None = None) -> dict[str, Any]:
    """The server's own time for the same queries: EXPLAIN (ANALYZE, TIMING OFF) of every
    check query with the same parameters, and of the introspection queries. On a fresh
    session, or on ``conn`` (the console's kept session) when given."""
    out: dict[str, Any] = {"checks": {}, "introspect": {}}
    with contextlib.ExitStack() as stack:
        if conn is None:
            conn = stack.enter_context(product.connect(dsn, statement_timeout_ms=120_000))

        def one(query_sql: str, params: dict[str, Any]) -> dict[str, float]:
            stmt = ("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY, FORMAT JSON) " + query_sql).encode()
            row = conn.execute(stmt, params).fetchone()
            assert row is not None
            doc = next(iter(row.values()))
            plan = (json.loads(doc) if isinstance(doc, str) else doc)[0]
            jit = (plan.get("JIT") or {}).get("Timing", {}).get("Total", 0.0)
            return {"exec_ms": float(plan["Execution Time"]),
                    "plan_ms": float(plan.get("Planning Time", 0.0)), "jit_ms": float(jit)}

        for ref, query_sql in product.introspection_statements(cat):
            out["introspect"][ref] = one(query_sql, {})
        for check_id, query_sql, params in product.check_statements(conn, cat):
            out["checks"][check_id] = one(query_sql, params)
    out["exec_ms"] = sum(v["exec_ms"] for v in out["checks"].values())
    out["plan_ms"] = sum(v["plan_ms"] for v in out["checks"].values())
    out["jit_ms"] = sum(v["jit_ms"] for v in out["checks"].values())
    out["introspect_exec_ms"] = sum(v["exec_ms"] for v in out["introspect"].values())
    out["introspect_plan_ms"] = sum(v["plan_ms"] for v in out["introspect"].values())
    return out


def check_process(dsn: str, jobs: int | None = None, *, cold: bool = False) -> float:
    """Wall time of one ``opsconsole check --format json`` process, in ms. ``cold``: with
    ``OPSCONSOLE_CATALOG_CACHE=0`` (parse the catalog and verify every statement, as the first
    run after an edit, a schema change or 5 minutes does)."""
    env = {**os.environ, "OPSCONSOLE_CATALOG_CACHE": "0"} if cold else None
    t0 = time.perf_counter()
    subprocess.run(product.argv_check(dsn, jobs), capture_output=True, check=False, env=env)
    return (time.perf_counter() - t0) * 1000


def _measured_refresh(dsn: str, cat: product.Catalog) -> dict[str, Any]:
    r = product.refresh_once(dsn, cat)
    e = explain_pass(dsn, cat)
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
    return r


def _per_check(rs: list[dict[str, Any]]) -> dict[str, Any]:
    per_check: dict[str, Any] = {}
    for cid in rs[0]["checks"]:
        def explained(key: str, cid: str = cid) -> dict[str, Any]:
            return summary([r["explain"]["checks"].get(cid, {}).get(key, 0.0) for r in rs])

        per_check[cid] = {
            "ms": summary([r["checks"][cid]["ms"] for r in rs]),
            "exec_ms": explained("exec_ms"),
            "plan_ms": explained("plan_ms"),
            "jit_ms": explained("jit_ms"),
            "status": rs[-1]["checks"][cid]["status"],
            "error": rs[-1]["checks"][cid]["error"],
            "summary": rs[-1]["checks"][cid]["summary"],
            "errors_in_runs": sum(1 for r in rs if r["checks"][cid]["error"]),
        }
    return per_check


def run(ctx: Context) -> dict[str, Any]:
    args, dbs = ctx.args, ctx.dbs
    cat = product.load_catalog()
    names = list(dbs)  # ["small", "large"]
    for _ in range(args.warmup):
        for n in names:
            product.refresh_once(dbs[n], cat)
            explain_pass(dbs[n], cat)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for i in range(args.runs):
        for n in order(names, i):  # ABBA: neither always goes first
            runs[n].append(_measured_refresh(dbs[n], cat))
        log(f"refresh {i + 1}/{args.runs}: " + ", ".join(
            f"{n} {runs[n][-1]['wall_ms']:.0f} ms (x{runs[n][-1]['ratio_exec']:.2f})"
            for n in names))
    out: dict[str, Any] = {"runs": args.runs, "warmup": args.warmup, "db": {},
                           "jobs": runs[names[0]][0].get("jobs", 1) if runs[names[0]] else 1}
    for n in names:
        rs = runs[n]

        def s(key: str, rs: list[dict[str, Any]] = rs) -> dict[str, Any]:
            return summary([r[key] for r in rs])

        def se(key: str, rs: list[dict[str, Any]] = rs) -> dict[str, Any]:
            return summary([r["explain"][key] for r in rs])

        out["db"][n] = {
            "wall_ms": s("wall_ms"),
            "connect_ms": s("connect_ms"),
            "introspect_ms": s("introspect_ms"),
            "run_all_ms": s("run_all_ms"),
            "exec_ms": se("exec_ms"),
            "plan_ms": se("plan_ms"),
            "introspect_exec_ms": se("introspect_exec_ms"),
            "ratio_exec": s("ratio_exec"),
            "ratio_exec_plan": s("ratio_exec_plan"),
            "ratio_incl_introspect": s("ratio_incl_introspect"),
            "ratio_run_all_exec": s("ratio_run_all_exec"),
            "ratio_exec_ok": summary([r["ratio_exec_ok"] for r in rs if r["ratio_exec_ok"]]),
            "jit_ms": se("jit_ms"),
            "runs_with_failed_checks": sum(1 for r in rs if r["failed_checks"]),
            "failed_checks": sorted({c for r in rs for c in r["failed_checks"]}),
            "per_check": _per_check(rs),
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
        for n in order(names, i):
            proc[n].append(check_process(dbs[n]))
    out["check_process_ms"] = {n: summary(v) for n, v in proc.items()}
    cold: dict[str, list[float]] = {n: [] for n in names}
    for i in range(args.check_process_runs):
        for n in order(names, i):
            cold[n].append(check_process(dbs[n], cold=True))
    out["check_process_cold_ms"] = {n: summary(v) for n, v in cold.items()}
    out["check_jobs"] = check_jobs(dbs, args.check_process_runs)
    out["kept"] = kept_session(dbs, cat, args.runs)
    return out


def check_jobs(dbs: dict[str, str], runs: int) -> dict[str, Any]:
    """``opsconsole check --jobs N`` as a whole process, N = 1 and 3 interleaved, when the
    product has the option (detected from ``opsconsole check --help``)."""
    if not product.check_jobs_supported():
        return {"available": False,
                "reason": "`opsconsole check --help` has no --jobs option on this commit"}
    names = list(dbs)
    ms: dict[str, dict[str, list[float]]] = {str(j): {n: [] for n in names} for j in JOBS}
    for i in range(runs):
        for n in order(names, i):
            for j in order(list(JOBS), i):
                ms[str(j)][n].append(check_process(dbs[n], j))
    return {"available": True,
            "ms": {j: {n: summary(v) for n, v in per_db.items()} for j, per_db in ms.items()}}


def kept_session(dbs: dict[str, str], cat: product.Catalog, n_runs: int) -> dict[str, Any]:
    """The console's own refresh: one monitoring session kept open (as the TUI keeps it),
    every check (no cadence reuse, so the same statements as the headless refresh), then the
    same statements under EXPLAIN on that same session. psycopg prepares a statement after its
    5th execution, so after the warm-up the server neither parses nor plans the checks again,
    and the backend's catalog caches are warm."""
    names = list(dbs)
    conns = {n: product.connect(dbs[n]) for n in names}
    schemas = {n: product.inspect(conns[n], cat) for n in names}
    try:
        for _ in range(6):
            for n in names:
                product.run_all(conns[n], cat, schemas[n])
        runs: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for i in range(n_runs):
            for n in order(names, i):
                t0 = time.perf_counter()
                product.run_all(conns[n], cat, schemas[n])
                wall = (time.perf_counter() - t0) * 1000
                e = explain_pass(dbs[n], cat, conns[n])
                runs[n].append({"run_all_ms": wall, "exec_ms": e["exec_ms"],
                                "plan_ms": e["plan_ms"], "ratio_exec": wall / e["exec_ms"]})
            log(f"kept session {i + 1}/{n_runs}: " + ", ".join(
                f"{n} {runs[n][-1]['run_all_ms']:.0f} ms (x{runs[n][-1]['ratio_exec']:.2f})"
                for n in names))
        # The console's periodic refresh: run_all with the previous results, so the checks with
        # a cadence_s (the seeds' whole-table aggregates) are reused while fresh, as the TUI does
        # every refresh_s between their slower refreshes.
        periodic: dict[str, list[float]] = {n: [] for n in names}
        ran: dict[str, list[int]] = {n: [] for n in names}
        previous = {n: product.run_all(conns[n], cat, schemas[n]) for n in names}
        for i in range(n_runs):
            for n in order(names, i):
                t0 = time.perf_counter()
                results = product.run_all(conns[n], cat, schemas[n], previous=previous[n])
                periodic[n].append((time.perf_counter() - t0) * 1000)
                ran[n].append(product.rerun_count(previous[n], results))
                previous[n] = results
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
# Report
# ---------------------------------------------------------------------------------------------


def figures(results: dict[str, Any], ref: dict[str, Any] | None, figs: Figures) -> None:
    if not ref:
        figs.add("1", "full refresh", None, "", "≤ 250 ms, ratio ≤ 2", None)
        return
    lg, sm = ref["db"].get("large", {}), ref["db"].get("small", {})
    figs.add("1", "full refresh, large (connect + introspect + run_all)", lg.get("wall_ms"),
             "ms", "≤ 250 ms", ok(median(lg.get("wall_ms")), 250))
    figs.add("1", "full refresh, small", sm.get("wall_ms"), "ms", "(reference)", None)
    figs.add("1", "large / small (per interleaved pair)", ref.get("large_over_small"), "",
             "≤ 2", ok(median(ref.get("large_over_small")), 2), 2)
    jobs = ref.get("check_jobs") or {}
    for j, per_db in (jobs.get("ms") or {}).items():
        for key in ("large", "small"):
            if key in per_db:
                figs.add("1", f"whole `opsconsole check --jobs {j}` process, {key}", per_db[key],
                         "ms", "(reference)", None)
    for key in ("large", "small"):
        d = ref["db"].get(key)
        if not d:
            continue
        if d.get("runs_with_failed_checks"):
            figs.add("2", f"console overhead, {key}: (refresh wall − failed checks) / "
                     "Σ Execution of the checks that ran", d["ratio_exec_ok"], "", "≤ 1.3",
                     ok(median(d["ratio_exec_ok"]), 1.3), 2,
                     f"{', '.join(d['failed_checks'])} timed out in "
                     f"{d['runs_with_failed_checks']} runs; raw ratio "
                     f"{fmt(d['ratio_exec']['median'], '', 2)}")
        else:
            figs.add("2", f"console overhead, {key}, headless (new session per refresh): "
                     "refresh wall / Σ Execution Time", d["ratio_exec"], "", "≤ 1.3",
                     ok(median(d["ratio_exec"]), 1.3), 2)
    kept_all = ref.get("kept") or {}
    if kept_all.get("large", {}).get("periodic_ms"):
        figs.add("1", "the console's periodic refresh, large (whole-table checks reused "
                 "while fresh, as every 5 s in the TUI)", kept_all["large"]["periodic_ms"],
                 "ms", "(reference)", None, 1,
                 f"{kept_all['large']['periodic_checks_run']['median']:.0f} checks run")
        figs.add("1", "the console's periodic refresh, large / small",
                 kept_all.get("periodic_large_over_small"), "", "(reference)", None, 2)
    for key in ("large", "small"):
        k = kept_all.get(key)
        if k:
            figs.add("2", f"console overhead, {key}, the console's kept session: run_all "
                     "wall / Σ Execution Time", k["ratio_exec"], "", "≤ 1.3",
                     ok(median(k["ratio_exec"]), 1.3), 2)
    _process_figures(ref, figs)


def _process_figures(ref: dict[str, Any], figs: Figures) -> None:
    """Figure 4's whole ``check`` process on scale 1, warm (cron's next run) and cold."""
    cp = (ref.get("check_process_ms") or {}).get("small")
    if cp:
        figs.add("4", "whole `opsconsole check` process on scale 1 (small; imports included; "
                 "the catalog and its verification from the cache, as cron's next run)",
                 {k: (v / 1000 if isinstance(v, float) else v) for k, v in cp.items()}, "s",
                 "≤ 0.5 s", ok(median(cp) / 1000 if median(cp) else None, 0.5), 3)
    cold = (ref.get("check_process_cold_ms") or {}).get("small")
    if cold:
        figs.add("4", "the same, cold (OPSCONSOLE_CATALOG_CACHE=0: parse and verify)",
                 {k: (v / 1000 if isinstance(v, float) else v) for k, v in cold.items()}, "s",
                 "(reference)", None, 3)


def details(results: dict[str, Any], ref: dict[str, Any], w: Writer) -> None:
    w("## 1–2. Full refresh and console overhead\n")
    w(meta_line(results, NAME))
    w(f"{ref['runs']} refreshes per database after {ref['warmup']} warm-up rounds, small and "
      "large interleaved (ABBA). A refresh is what `opsconsole check` does: `db.connect` "
      "(read-only, statement_timeout 5 s), verify the catalog, `checks.run_all`, close; "
      f"its checks on {_jobs_text(ref)}; "
      "the catalog is loaded once, outside the timing. Right after each refresh the same "
      "check queries run under `EXPLAIN (ANALYZE, TIMING OFF, SUMMARY)` with the same "
      "parameters; overhead = refresh wall / Σ Execution Time of that pass.\n")
    w("| | small | large |\n| --- | --- | --- |")
    rows = [
        ("refresh wall", "wall_ms", "ms", 1),
        ("  connect", "connect_ms", "ms", 1),
        ("  verify the catalog (cached after the first)", "introspect_ms", "ms", 1),
        ("  run_all (on the new session)", "run_all_ms", "ms", 1),
        ("Σ Execution Time of the check queries", "exec_ms", "ms", 1),
        ("Σ Planning Time of the check queries", "plan_ms", "ms", 1),
        ("  of which JIT compilation (the console sets jit=off)", "jit_ms", "ms", 1),
        ("Σ Execution Time of the introspection queries", "introspect_exec_ms", "ms", 1),
        ("wall / Σ Execution (target ≤ 1.3)", "ratio_exec", "", 2),
        ("wall / Σ (Planning + Execution)", "ratio_exec_plan", "", 2),
        ("wall / Σ Execution incl. introspection", "ratio_incl_introspect", "", 2),
        ("run_all / Σ Execution (new session)", "ratio_run_all_exec", "", 2),
        ("(wall − failed checks) / Σ Execution of checks that ran", "ratio_exec_ok", "", 2),
    ]
    for label, key, unit, dg in rows:
        cells = [cell(ref["db"].get(n, {}).get(key), unit, dg) for n in ("small", "large")]
        w(f"| {label} | {cells[0]} | {cells[1]} |")
    kept = ref.get("kept") or {}
    for label, key, unit, dg in [
        ("kept session (the console): run_all of every check", "run_all_ms", "ms", 1),
        ("kept session: Σ Execution Time, same session", "exec_ms", "ms", 1),
        ("kept session: run_all / Σ Execution (target ≤ 1.3)", "ratio_exec", "", 2),
        ("kept session: periodic refresh (checks with cadence_s reused while fresh)",
         "periodic_ms", "ms", 1),
    ]:
        cells = [cell((kept.get(n) or {}).get(key), unit, dg) for n in ("small", "large")]
        w(f"| {label} | {cells[0]} | {cells[1]} |")
    cp = ref.get("check_process_ms", {})
    if cp:
        cells = [cell(cp.get(n), "ms") for n in ("small", "large")]
        w(f"| whole `opsconsole check --format json` process (imports included) | {cells[0]} "
          f"| {cells[1]} |")
    cold = ref.get("check_process_cold_ms", {})
    if cold:
        cells = [cell(cold.get(n), "ms") for n in ("small", "large")]
        w(f"| the same with `OPSCONSOLE_CATALOG_CACHE=0` (parse and verify every run) | "
          f"{cells[0]} | {cells[1]} |")
    jobs = ref.get("check_jobs") or {}
    for j, per_db in (jobs.get("ms") or {}).items():
        cells = [cell(per_db.get(n), "ms") for n in ("small", "large")]
        w(f"| whole `opsconsole check --jobs {j}` process | {cells[0]} | {cells[1]} |")
    w("")
    if jobs and not jobs.get("available"):
        w(f"`check --jobs N` not measured: {jobs.get('reason')}.\n")
    lg = ref["db"].get("large")
    if lg:
        w("Per check on the large database (median over the runs; sorted by refresh time):\n")
        w("| check | status | in refresh | server Execution | of which JIT | server Planning "
          "| summary |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        items = sorted(lg["per_check"].items(), key=lambda kv: -kv[1]["ms"]["median"])
        for cid, d in items:
            err = f" ERROR: {d['error']}" if d.get("error") else ""
            summ = (d.get("summary") or "").replace("|", "/")[:90]
            w(f"| `{cid}` | {d['status']} | {fmt(d['ms']['median'], 'ms', 1)} | "
              f"{fmt(d['exec_ms']['median'], 'ms', 2)} | "
              f"{fmt(d.get('jit_ms', {}).get('median'), 'ms', 1)} | "
              f"{fmt(d['plan_ms']['median'], 'ms', 2)}"
              f" | {summ}{err} |")
        w("")


def _jobs_text(ref: dict[str, Any]) -> str:
    """On how many sessions the measured refreshes ran their checks (recorded per refresh
    since issue 13; older results: one)."""
    n = int(ref.get("jobs") or 1)
    return ("one session, one check after the other" if n == 1 else
            f"{n} sessions at once (the session's own and {n - 1} of the checks pool; "
            "Σ Execution Time below is the same statements one after the other, so the ratio "
            "also shows what the concurrency saves)")
