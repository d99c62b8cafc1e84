"""Figures 6 and 7: the TUI's idle terminal output, and its memory.

6. The TUI in a pty at 80x24 (``TERM=xterm-256color``); after the first data and ``--settle-s``
   to settle, every byte it writes for ``--idle-s`` while no row changes (auto-refresh keeps
   running; the header's data age ticks) — per run and per 1-s bin (``PtyProcess.idle_output``,
   the same method the anchors section applies to pg_activity).
7. The same process: keys ``1``…``9`` (``--screen-s`` each) then ``1``; ``VmHWM`` from
   ``/proc/PID/status``.

``--long-runs`` runs per database, large and small alternating.

Targets: idle output ≤ 250 B/s on both databases while the data does not change (issue 13; the
comparison with pg_activity while values change is in the anchors section); VmHWM ≤ 200 MB on
the large database.
"""

from __future__ import annotations

import time
from typing import Any

import product
from harness import Context, Option, log
from ptyterm import PtyProcess
from report import Figures, Writer, cell, median, meta_line, ok
from stats import summary

NAME = "tui"
OPTIONS = (
    Option("--long-runs", 3, 1, "TUI idle/memory runs per database"),
    Option("--idle-s", 30.0, 10.0, "idle-output window (s; also the anchors')"),
    Option("--settle-s", 10.0, 3.0, "settling time after the first data (s; also the anchors')"),
    Option("--screen-s", 4.0, 1.0, "time on each screen for the memory figure (s)"),
)
IDLE_TARGET_B_S = 250
VMHWM_TARGET_MB = 200


def first_data_then_settle(p: PtyProcess, settle_s: float, what: str = "the TUI",
                           pattern: Any = None) -> float:
    """Wait for the first data (raises after 60 s), then ``settle_s``; returns the first-data
    time (s from spawn)."""
    first = p.wait_for(pattern or product.FIRST_DATA, 60)
    if first is None:
        tail = p.text()[-1000:]
        p.quit()
        raise RuntimeError(f"{what} showed no data within 60 s: {tail!r}")
    time.sleep(settle_s)
    return first


def tui_long_run(dsn: str, idle_s: float, settle_s: float, screen_s: float) -> dict[str, Any]:
    p = PtyProcess(product.argv_tui(dsn))
    first = first_data_then_settle(p, settle_s)
    idle = p.idle_output(idle_s)
    mem_overview = p.status()
    screens = {}
    for key in "123456789":
        p.send(key.encode())
        time.sleep(screen_s)
        screens[key] = p.status().get("VmRSS")
    p.send(b"1")
    time.sleep(1)
    mem = p.status()
    code, _ = p.quit()
    return {
        "first_data_s": first,
        **idle,
        "rss_kb_overview": mem_overview.get("VmRSS"),
        "rss_kb_per_screen": screens,
        "vmhwm_kb": mem.get("VmHWM"),
        "vmrss_kb_end": mem.get("VmRSS"),
        "exit": code,
    }


def run(ctx: Context) -> dict[str, Any]:
    args, dbs = ctx.args, ctx.dbs
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in dbs}
    for i in range(args.long_runs):
        for n in (["large", "small"] if i % 2 == 0 else ["small", "large"]):
            if n not in dbs:
                continue
            r = tui_long_run(dbs[n], args.idle_s, args.settle_s, args.screen_s)
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
# Report
# ---------------------------------------------------------------------------------------------


def figures(results: dict[str, Any], tu: dict[str, Any] | None, figs: Figures) -> None:
    if not tu:
        return
    for key in ("large", "small"):
        d = tu["db"].get(key)
        if d:
            figs.add("6", f"idle output at 80x24, {key} (bytes/s over {tu['idle_s']:.0f} s)",
                     d["idle_bytes_per_s"], "B/s", f"≤ {IDLE_TARGET_B_S} B/s",
                     ok(median(d["idle_bytes_per_s"]), IDLE_TARGET_B_S), 0)
    for key in ("large", "small"):
        d = tu["db"].get(key)
        if d:
            figs.add("7", f"TUI peak RSS (VmHWM) after visiting screens 1–9, {key}",
                     d["vmhwm_mb"], "MB",
                     f"≤ {VMHWM_TARGET_MB} MB" if key == "large" else "(reference)",
                     ok(median(d["vmhwm_mb"]), VMHWM_TARGET_MB) if key == "large" else None, 0)


def details(results: dict[str, Any], tu: dict[str, Any], w: Writer) -> None:
    w("## 6–7. Idle output and memory\n")
    w(meta_line(results, NAME))
    w(f"`opsconsole --dsn …` in a pty of {tu['size']} with TERM={tu['term']}; after the "
      f"first data, {tu['settle_s']:.0f} s to settle, then every byte the TUI wrote is "
      f"counted for {tu['idle_s']:.0f} s while no row changes (auto-refresh every 5 s keeps "
      f"running; the header's data age ticks). Then keys 1…9 (each screen "
      f"{tu['screen_s']:.0f} s) and back to 1; VmHWM from /proc/PID/status.\n")
    w("| | small | large |\n| --- | --- | --- |")
    for label, key, unit, dg in (
        ("idle bytes/s (per run)", "idle_bytes_per_s", "B/s", 0),
        ("idle bytes in each 1-s bin", "idle_per_second", "B", 0),
        ("RSS on the Overview after the idle window", "rss_overview_mb", "MB", 0),
        ("VmHWM after screens 1–9", "vmhwm_mb", "MB", 0),
    ):
        cells = [cell(tu["db"].get(n, {}).get(key), unit, dg) for n in ("small", "large")]
        w(f"| {label} | {cells[0]} | {cells[1]} |")
    w("")
