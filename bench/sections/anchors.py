"""The anchors side by side (issue 13 item 3): pg_activity, the tool the on-call engineers run
beside the console, measured in the same run, on the same databases and by the same methods as
opsconsole. pg_activity is a peer for terminal output and server cost, not for the checks.

pg_activity comes from PyPI (``--pg-activity-version``, pinned) into a virtualenv of its own
under ``--anchors-dir`` (default ``bench/_anchors/``, git-ignored), made with this Python; an
existing one of the right version is reused. It watches the measured database only
(``--filter dbname:^DB$``), at its default refresh (2 s).

Figures, each for opsconsole and pg_activity and as the ratio opsconsole / pg_activity per
interleaved pair:

- ``--version``: ``--version-runs`` spawns each, alternating, after 3 warm-ups each.
- First output: spawn in a pty at 80x24 until the first screen of data is drawn (opsconsole:
  the Overview's totals line; pg_activity: its first whole frame, header to key bar).
- Idle output: then ``--settle-s``, then every byte written for ``--idle-s`` — the tui
  section's method (``PtyProcess.idle_output``). The data does not change; values that depend
  on the clock (ages, time windows, rates) do.
- Server cost: over the same idle window, the statement time the tool's sessions cost the
  server per refresh and per second, and their backends' CPU (``servercost.py``; the method
  this server allows is recorded). Also one headless ``opsconsole check`` (a full refresh, every
  check) measured the same way, ``--anchor-check-runs`` times per database.

``--anchor-runs`` sessions per tool and database; databases and tools alternate (ABBA).

Target (issue 13 item 2): opsconsole's idle output on the large database, where values change
on every refresh, no more than pg_activity's in the same run (ratio ≤ 1).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import product
import servercost
from harness import HERE, Context, Option, log, order
from ptyterm import PtyProcess
from report import Figures, Writer, median, meta_line, ok
from stats import fmt, spread, summary

from sections.startup import spawn_times
from sections.tui import first_data_then_settle

NAME = "anchors"
OPTIONS = (
    Option("--anchor-runs", 3, 1, "pty sessions per tool and database"),
    Option("--anchor-check-runs", 5, 1, "`opsconsole check` processes per database for its "
                                        "server cost"),
    Option("--pg-activity-version", "3.6.2", "3.6.2", "pg_activity from PyPI", str),
    Option("--anchors-dir", str(HERE / "_anchors"), str(HERE / "_anchors"),
           "where the anchors' virtualenv lives", str),
    Option("--server-log", "", "", "the PostgreSQL log file for statement timing (default: "
                                   "pg_current_logfile() or Debian's /var/log/postgresql)", str),
)
TOOLS = ("opsconsole", "pg_activity")
# pg_activity's first whole frame: the process table's title, then the key bar at the bottom.
PGA_FIRST_SCREEN = re.compile(r"RUNNING QUERIES[\s\S]*Quit")
IDLE_RATIO_TARGET = 1.0


# ---------------------------------------------------------------------------------------------
# pg_activity's own environment
# ---------------------------------------------------------------------------------------------


def _pip_versions(venv: Path) -> dict[str, str]:
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list",
                           "--format", "freeze"], capture_output=True, text=True, check=False)
    pairs = (ln.split("==", 1) for ln in proc.stdout.splitlines() if "==" in ln)
    return {k.lower(): v for k, v in pairs}


def ensure_pg_activity(anchors_dir: Path, version: str) -> dict[str, Any]:
    """pg_activity ``version`` installed from PyPI into ``anchors_dir/venv`` (kept)."""
    venv = anchors_dir / "venv"
    exe = venv / "bin" / "pg_activity"
    installed = _pip_versions(venv).get("pg-activity") if exe.exists() else None
    if installed != version:
        anchors_dir.mkdir(parents=True, exist_ok=True)
        if not (venv / "bin" / "python").exists():
            log(f"creating {venv}")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        log(f"pip install pg_activity[psycopg]=={version} into {venv}")
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        f"pg_activity[psycopg]=={version}"], check=True)
    versions = _pip_versions(venv)
    return {"exe": str(exe), "venv": str(venv), "pip_spec": f"pg_activity[psycopg]=={version}",
            "versions": {k: versions[k] for k in ("pg-activity", "blessed", "psycopg",
                                                  "psutil", "humanize") if k in versions}}


def pga_argv(exe: str, dsn: str, dbname: str) -> list[str]:
    """pg_activity on ``dsn``, watching that database only."""
    return [exe, "--filter", f"dbname:^{re.escape(dbname)}$", dsn]


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def session(ctx: Context, argv: list[str], pattern: re.Pattern[str], *,
            method: servercost.Method, dsn: str, dbname: str) -> dict[str, Any]:
    """One tool in a pty: first output, then settle, then the idle window with its server
    cost."""
    args = ctx.args
    p = PtyProcess(argv)
    first = first_data_then_settle(p, args.settle_s, argv[0], pattern)
    with servercost.Window(method, ctx.server.admin, dsn, dbname) as win:
        idle = p.idle_output(args.idle_s)
    mem = p.status()
    code, _ = p.quit()
    return {"first_output_s": first, **idle, "cost": win.result(),
            "vmhwm_kb": mem.get("VmHWM"), "cpr_answered": p.cpr_answered, "exit": code}


def check_cost(ctx: Context, method: servercost.Method, dsn: str, dbname: str) -> dict[str, Any]:
    """What one ``opsconsole check`` (every check, a new session) costs the server."""
    with servercost.Window(method, ctx.server.admin, dsn, dbname) as win:
        t0 = time.perf_counter()
        subprocess.run(product.argv_check(servercost.dsn_for(method, dsn)),
                       capture_output=True, check=False)
        wall = time.perf_counter() - t0
    r = win.result()
    return {"wall_s": wall, "server_ms": r["server_ms"], "statements": r.get("statements"),
            "method": r["method"]["statements"]}


def _dbname(ctx: Context, role: str) -> str:
    return str(ctx.args.small_db if role == "small" else ctx.args.large_db)


def run(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    pga = ensure_pg_activity(Path(args.anchors_dir), args.pg_activity_version)
    out: dict[str, Any] = {"pg_activity": pga, "idle_s": args.idle_s,
                           "settle_s": args.settle_s, "size": "80x24", "db": {}}
    # --version, alternating
    argv = {"opsconsole": product.argv_version(), "pg_activity": [pga["exe"], "--version"]}
    for tool in TOOLS:
        spawn_times(argv[tool], 0, warmup=3)
    version: dict[str, list[float]] = {t: [] for t in TOOLS}
    for i in range(args.version_runs):
        for tool in order(list(TOOLS), i):
            version[tool] += spawn_times(argv[tool], 1, warmup=0)
    out["version_s"] = {t: summary(v) for t, v in version.items()}
    out["version_ratio"] = summary(
        [a / b for a, b in zip(version["opsconsole"], version["pg_activity"], strict=True)])
    # which server-cost method this server allows
    first_role = ctx.roles()[0]
    method = servercost.detect(ctx.server.admin, ctx.dbs[first_role], args.server_log or None)
    out["method"] = {**vars(method), "described": method.describe()}
    log(f"server cost by {method.describe()}" + (f" ({method.reason})" if method.reason else ""))
    # the pty sessions
    roles = ctx.roles(("large", "small"))
    sessions: dict[str, dict[str, list[dict[str, Any]]]] = {
        r: {t: [] for t in TOOLS} for r in roles}
    for i in range(args.anchor_runs):
        for role in order(roles, i):
            dbname = _dbname(ctx, role)
            dsn = ctx.dbs[role]
            logged = servercost.dsn_for(method, dsn)
            for tool in order(list(TOOLS), i):
                if tool == "opsconsole":
                    argv_tool, pattern = product.argv_tui(logged), product.FIRST_DATA
                else:
                    argv_tool, pattern = pga_argv(pga["exe"], logged, dbname), PGA_FIRST_SCREEN
                r = session(ctx, argv_tool, pattern, method=method, dsn=dsn, dbname=dbname)
                sessions[role][tool].append(r)
                c = r["cost"]
                log(f"anchors {role} {tool} {i + 1}/{args.anchor_runs}: first output "
                    f"{r['first_output_s']:.2f} s, idle {r['idle_bytes_per_s']:.0f} B/s, server "
                    f"{fmt(c.get('server_ms_per_refresh'), 'ms', 2)}/refresh over "
                    f"{c['refreshes']} refreshes, CPU {fmt(c.get('cpu_ms_per_s'), 'ms/s', 1)}")
    for role in roles:
        s = sessions[role]
        checks = [check_cost(ctx, method, ctx.dbs[role], _dbname(ctx, role))
                  for _ in range(args.anchor_check_runs)]
        out["db"][role] = {"tools": {t: _tool_summary(s[t]) for t in TOOLS},
                           "ratios": _ratios(s["opsconsole"], s["pg_activity"]),
                           "opsconsole_check": {
                               "server_ms": summary([c["server_ms"] for c in checks
                                                     if c["server_ms"] is not None]),
                               "statements": summary([c["statements"] for c in checks
                                                      if c["statements"] is not None]),
                               "wall_s": summary([c["wall_s"] for c in checks])},
                           "sessions": s}
    return out


def _cost(r: dict[str, Any], key: str) -> float | None:
    value = r["cost"].get(key)
    return float(value) if value is not None else None


FIGURES = (  # key (in a session, or in its server cost), label, unit, digits
    ("first_output_s", "first output (spawn → first screen of data)", "s", 2),
    ("idle_bytes_per_s", "idle output at 80x24", "B/s", 0),
    ("server_ms_per_refresh", "server statement time per refresh", "ms", 2),
    ("server_ms_per_s", "server statement time per second", "ms/s", 2),
    ("cpu_ms_per_refresh", "server backend CPU per refresh", "ms", 2),
    ("cpu_ms_per_s", "server backend CPU per second", "ms/s", 2),
    ("refreshes", "refreshes in the window", "", 0),
)
_SESSION_KEYS = {"first_output_s", "idle_bytes_per_s"}


def _value(r: dict[str, Any], key: str) -> float | None:
    return r[key] if key in _SESSION_KEYS else _cost(r, key)


def _tool_summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: summary([v for v in (_value(r, key) for r in rs) if v is not None])
            for key, *_ in FIGURES}


def _ratios(ops: list[dict[str, Any]], pga: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key, *_ in FIGURES:
        pairs = [(_value(a, key), _value(b, key)) for a, b in zip(ops, pga, strict=True)]
        out[key] = summary([a / b for a, b in pairs if a is not None and b])
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _both(tools: dict[str, Any], key: str, unit: str, digits: int) -> str:
    return (f"opsconsole {fmt(median(tools['opsconsole'].get(key)), unit, digits)}, "
            f"pg_activity {fmt(median(tools['pg_activity'].get(key)), unit, digits)}")


def figures(results: dict[str, Any], an: dict[str, Any] | None, figs: Figures) -> None:
    if not an:
        return
    v = an["version_s"]
    figs.add("A", "`--version`, opsconsole / pg_activity", an["version_ratio"], "",
             "(reference)", None, 2,
             f"opsconsole {fmt(median(v['opsconsole']), 's', 3)}, pg_activity "
             f"{fmt(median(v['pg_activity']), 's', 3)}")
    for role in ("large", "small"):
        d = an["db"].get(role)
        if not d:
            continue
        tools, ratios = d["tools"], d["ratios"]
        figs.add("A", f"first output, {role}, opsconsole / pg_activity",
                 ratios["first_output_s"], "", "(reference)", None, 2,
                 _both(tools, "first_output_s", "s", 2))
        idle_target = role == "large"
        figs.add("6" if idle_target else "A",
                 f"idle output at 80x24, {role}, opsconsole / pg_activity (same run)",
                 ratios["idle_bytes_per_s"], "",
                 f"≤ {IDLE_RATIO_TARGET:g}" if idle_target else "(reference)",
                 ok(median(ratios["idle_bytes_per_s"]), IDLE_RATIO_TARGET) if idle_target
                 else None, 2, _both(tools, "idle_bytes_per_s", "B/s", 0))
        figs.add("A", f"server statement time per refresh, {role}, opsconsole / pg_activity",
                 ratios["server_ms_per_refresh"], "", "(reference)", None, 2,
                 _both(tools, "server_ms_per_refresh", "ms", 2))


def details(results: dict[str, Any], an: dict[str, Any], w: Writer) -> None:
    w("## Anchors: opsconsole next to pg_activity\n")
    w(meta_line(results, NAME))
    pga = an["pg_activity"]
    m = an["method"]
    w(f"pg_activity {pga['versions'].get('pg-activity')} (`pip install {pga['pip_spec']}` into "
      f"its own virtualenv; blessed {pga['versions'].get('blessed')}, psycopg "
      f"{pga['versions'].get('psycopg')}), run as `pg_activity --filter dbname:^DB$ DSN` at "
      f"its default 2 s refresh; opsconsole as `opsconsole --dsn DSN` (5 s refresh). Each in a "
      f"pty at {an['size']}: first output, then {an['settle_s']:.0f} s to settle, then "
      f"{an['idle_s']:.0f} s of idle output and server cost; sessions alternate. Ratios are "
      "opsconsole / pg_activity per interleaved pair.\n")
    w(f"Server cost measured by {m['described']}."
      + (f" Why: {m['reason']}." if m.get("reason") else "")
      + " A refresh is a burst of statements separated from the next by more than "
        f"{servercost.BURST_GAP_S:g} s.\n")
    v = an["version_s"]
    w("| figure | database | opsconsole | pg_activity | opsconsole / pg_activity |")
    w("| --- | --- | --- | --- | --- |")
    w(f"| `--version` | - | {fmt(median(v['opsconsole']), 's', 3)} | "
      f"{fmt(median(v['pg_activity']), 's', 3)} | "
      f"{fmt(median(an['version_ratio']), '', 2)} ({spread(an['version_ratio'], '', 2)}) |")
    for key, label, unit, dg in FIGURES:
        for role in ("small", "large"):
            d = an["db"].get(role)
            if not d:
                continue
            t, r = d["tools"], d["ratios"]
            w(f"| {label} | {role} | {fmt(median(t['opsconsole'][key]), unit, dg)} | "
              f"{fmt(median(t['pg_activity'][key]), unit, dg)} | "
              f"{fmt(median(r[key]), '', 2)} ({spread(r[key], '', 2)}) |")
    w("")
    for role in ("small", "large"):
        d = an["db"].get(role)
        if d and d["opsconsole_check"]["server_ms"].get("n"):
            c = d["opsconsole_check"]
            w(f"- One headless `opsconsole check` on {role} (a full refresh: every check on a "
              f"new session), measured the same way: {fmt(median(c['server_ms']), 'ms', 1)} of "
              f"server statement time ({spread(c['server_ms'], '', 1)}) over "
              f"{fmt(median(c['statements']), '', 0)} statements; process "
              f"{fmt(median(c['wall_s']), 's', 2)}.")
    w("")
