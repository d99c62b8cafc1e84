"""The scale inspection: tests/test_scale.py's statements (every check query, every table's
first page, same parameters) through ``plans.explain`` and ``plans.seq_scans`` on the large
database.

Target: no sequential scan over a table of more than 100 k rows.
"""

from __future__ import annotations

from typing import Any

import product
import psycopg
from harness import Context
from report import Figures, Writer, meta_line
from stats import fmt

NAME = "scale"
OPTIONS = ()


def run(ctx: Context) -> dict[str, Any]:
    cat = product.load_catalog()
    out: dict[str, Any] = {"db": {}}
    for name in ctx.roles(("large",)):
        rows = []
        with product.connect(ctx.dbs[name], statement_timeout_ms=120_000) as conn:
            big = conn.execute("SELECT count(*) AS n FROM pg_class WHERE relkind = 'r' "
                               "AND reltuples > 100000").fetchone()
            for kind, ident, query_sql, params in product.scale_statements(cat):
                try:
                    rows.append({"kind": kind, "id": ident,
                                 **product.explain_seq_scans(conn, cat, query_sql, params)})
                except psycopg.Error as exc:
                    rows.append({"kind": kind, "id": ident, "error": str(exc).splitlines()[0]})
        out["db"][name] = {"tables_over_100k": big["n"] if big else None, "statements": rows,
                           "offenders": [r for r in rows if r.get("seq_scans")]}
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def figures(results: dict[str, Any], sc: dict[str, Any] | None, figs: Figures) -> None:
    return  # one line under the table (after_figures), the statements in the details


def after_figures(sc: dict[str, Any], w: Writer) -> None:
    if "large" not in sc["db"]:
        return
    offenders = sc["db"]["large"]["offenders"]
    w(f"Scale inspection on the large database: {len(offenders)} statement(s) run a "
      f"sequential scan over a table of more than 100 k rows"
      + (": " + "; ".join(f"`{o['id']}` → " + ", ".join(
          f"{s['relation']} ({s['reltuples']:,} rows, {s['loops']} loop(s))"
          for s in o["seq_scans"]) for o in offenders) if offenders else "")
      + ".\n")


def details(results: dict[str, Any], sc: dict[str, Any], w: Writer) -> None:
    w("## Scale inspection (large database)\n")
    w(meta_line(results, NAME))
    for d in sc["db"].values():
        w(f"tests/test_scale.py's statements (every check query, every table's first page, "
          f"same parameters) under `plans.explain`; `plans.seq_scans` lists sequential scans "
          f"that executed over tables of more than 100 k rows ({d['tables_over_100k']} such "
          f"tables here).\n")
        w("| statement | kind | Execution Time | sequential scans > 100 k rows |")
        w("| --- | --- | --- | --- |")
        for r in sorted(d["statements"], key=lambda r: -(r.get("exec_ms") or 0)):
            scans = ", ".join(f"{s['relation']} ({s['reltuples']:,})"
                              for s in r.get("seq_scans", [])) or "none"
            if r.get("error"):
                scans = "ERROR " + r["error"]
            w(f"| `{r['id']}` | {r['kind']} | {fmt(r.get('exec_ms'), 'ms', 2)} | {scans} |")
        w("")
