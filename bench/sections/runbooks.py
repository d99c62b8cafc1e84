"""Figure 3: the runbooks by hand vs the console's checks.

The seeds' literal queries — seed 002's debugging query as a count and its rate over an exact
``count(*)``; seed 000 §4.4's breakdown over all linkups; seed 004's pending count; seed 003's
success rate — on an open connection (as in psql), against the console's check on an open
monitoring session; ``--runbook-reps`` interleaved repetitions after one warm-up pair. The values
are compared (the console's delivery total is a planner estimate at scale).

Target: same values; the time ratio hand / console is reported.
"""

from __future__ import annotations

import time
from typing import Any

import product
from harness import Context, Option, log
from report import Figures, Writer, meta_line
from stats import fmt, spread, summary

NAME = "runbooks"
OPTIONS = (Option("--runbook-reps", 11, 2, "interleaved repetitions per runbook"),)

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


def _console_values(item: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    v = res["values"]
    if item["id"] == "seed002_inconsistency":
        return {"inconsistent": int(v["inconsistent"]), "total": int(v["total"]),
                "rate_pct": float(v["rate_pct"]),
                "total_is_estimate": bool(v.get("total_is_estimate"))}
    if item["id"] == "seed000_breakdown":
        return {"by_status": {k: int(x) for k, x in v.items()}, "rows": len(res["rows"])}
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
        same = rb["by_status"] == co["by_status"]
        text = "per-status counts identical"
        return same, text if same else f"{rb['by_status']} vs {co['by_status']}"
    same = rb == co
    return same, "identical" if same else f"{rb} vs {co}"


def _one_runbook(item: dict[str, Any], hand: product.Connection, mon: product.Connection,
                 cat: product.Catalog, schema: product.Schema, *, reps: int) -> dict[str, Any]:
    t_hand: list[float] = []
    t_console: list[float] = []
    rb_vals: dict[str, Any] = {}
    co_vals: dict[str, Any] = {}
    check = product.check_by_id(cat, item["check"])
    for i in range(reps + 1):  # the first pair warms the cache
        for who in (("hand", "console") if i % 2 == 0 else ("console", "hand")):
            if who == "hand":
                t0 = time.perf_counter()
                rows = [hand.execute(s.encode()).fetchall() for s in item["sql"]]
                dt = (time.perf_counter() - t0) * 1000
                rb_vals = _runbook_values(item, rows)
                if i:
                    t_hand.append(dt)
            else:
                t0 = time.perf_counter()
                res = product.run_check(mon, cat, schema, check)
                dt = (time.perf_counter() - t0) * 1000
                if res["error"]:
                    raise RuntimeError(f"{item['check']}: {res['error']}")
                co_vals = _console_values(item, res)
                if i:
                    t_console.append(dt)
    same, note = _same(item, rb_vals, co_vals)
    return {
        "title": item["title"], "check": item["check"], "sql": item["sql"],
        "hand_ms": summary(t_hand), "console_ms": summary(t_console),
        "ratio_hand_over_console": summary(
            [a / b for a, b in zip(t_hand, t_console, strict=True)]),
        "same": same, "note": note, "hand_values": rb_vals, "console_values": co_vals,
    }


def run(ctx: Context) -> dict[str, Any]:
    cat = product.load_catalog()
    out: dict[str, Any] = {"reps": ctx.args.runbook_reps, "db": {}}
    for name in ctx.roles(("large", "small")):
        dsn = ctx.dbs[name]
        items: dict[str, Any] = {}
        with product.connect(dsn, statement_timeout_ms=0, read_only=False) as hand, \
                product.connect(dsn) as mon:
            schema = product.inspect(mon, cat)
            for item in RUNBOOKS:
                r = _one_runbook(item, hand, mon, cat, schema, reps=ctx.args.runbook_reps)
                items[item["id"]] = r
                log(f"runbook {name} {item['id']}: hand {r['hand_ms']['median']:.1f} ms, "
                    f"console {r['console_ms']['median']:.1f} ms, same={r['same']}")
        out["db"][name] = items
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def figures(results: dict[str, Any], rb: dict[str, Any] | None, figs: Figures) -> None:
    if rb and "large" in rb["db"]:
        for it in rb["db"]["large"].values():
            figs.add("3", f"runbook/console time, large: {it['check']}",
                     it["ratio_hand_over_console"], "", "same values; ratio reported",
                     None, 2, "same values" if it["same"] else "VALUES DIFFER")


def details(results: dict[str, Any], rb: dict[str, Any], w: Writer) -> None:
    w("## 3. The runbooks by hand vs the console\n")
    w(meta_line(results, NAME))
    w(f"Each seed's literal query on an open connection (as in psql) against the console's "
      f"check (`checks.run_check` on an open monitoring session), {rb['reps']} interleaved "
      f"repetitions after one warm-up pair. Ratio = hand time / console time per pair.\n")
    for name, items in rb["db"].items():
        w(f"**{name}**\n")
        w("| runbook | console check | by hand | console | hand / console | same values? |")
        w("| --- | --- | --- | --- | --- | --- |")
        for it in items.values():
            w(f"| {it['title']} | `{it['check']}` | {fmt(it['hand_ms']['median'], 'ms', 2)} "
              f"({spread(it['hand_ms'], '', 2)}) | {fmt(it['console_ms']['median'], 'ms', 2)}"
              f" ({spread(it['console_ms'], '', 2)}) | "
              f"{fmt(it['ratio_hand_over_console']['median'], '', 2)} | "
              f"{'yes' if it['same'] else 'NO'}: {it['note']} |")
        w("")
    lg = rb["db"].get("large", {})
    if lg:
        w("Literal queries:\n")
        for it in lg.values():
            w(f"- {it['title']}: " + "; ".join(f"`{s}`" for s in it["sql"]))
        w("")
