"""Figure 4: start-up — ``opsconsole --version`` and the TUI's first screen of data.

- ``--version``: ``--version-runs`` spawns timed by the harness after 3 warm-ups (plus
  ``hyperfine -N`` as a cross-check when installed); ``python -X importtime`` of the entry point
  and of the TUI.
- TUI first data: ``opsconsole --dsn …`` in a pty (80x24, ``TERM=xterm-256color``), from spawn
  until the Overview's totals line ("N CRITICAL · …") is drawn; ``--startup-runs`` runs per
  database, interleaved, after one warm-up. The same path in-process, phase by phase
  (``bench/tui_headless.py``, Textual's ``run_test``), ``--headless-runs`` times.

Targets (issue 13): ``--version`` ≤ 0.1 s; TUI first data on the large database ≤ 1.0 s (small:
≤ 1.5 s, the earlier target).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import product
from harness import HERE, Context, Option, log, order
from ptyterm import PtyProcess
from report import Figures, Writer, median, meta_line, ok
from stats import fmt, spread, summary

NAME = "startup"
OPTIONS = (
    Option("--version-runs", 20, 3, "`--version` spawns (also the anchors' --version)"),
    Option("--startup-runs", 10, 2, "TUI first-data runs per database"),
    Option("--headless-runs", 5, 1, "headless TUI start-up runs per database"),
)
VERSION_TARGET_S = 0.1
FIRST_DATA_TARGET_S = {"large": 1.0, "small": 1.5}


def import_profile(module: str, top: int = 8) -> list[dict[str, Any]]:
    """``python -X importtime``: the heaviest imports (cumulative ms) of ``module``."""
    proc = subprocess.run([product.PY, "-X", "importtime", "-c", f"import {module}"],
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


def spawn_times(argv: list[str], runs: int, warmup: int = 3) -> list[float]:
    """Seconds from spawn to exit of ``argv``, ``runs`` times after ``warmup`` runs."""
    for _ in range(warmup):
        subprocess.run(argv, capture_output=True, check=True)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        ts.append(time.perf_counter() - t0)
    return ts


def hyperfine(argv: list[str], runs: int) -> dict[str, Any] | None:
    """``hyperfine -N`` of ``argv`` when it is installed (a cross-check), else None."""
    if not shutil.which("hyperfine"):
        return None
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs),
                        "--export-json", tmp.name, " ".join(argv)],
                       capture_output=True, check=True)
        hf = json.loads(Path(tmp.name).read_text())["results"][0]
    return {"n": len(hf["times"]), **summary(hf["times"]), "mean": hf["mean"],
            "stddev": hf["stddev"]}


def tui_first_data(dsn: str, *, timeout_s: float = 60) -> dict[str, Any]:
    """Spawn the TUI on a pty (80x24) and time process start -> first check status drawn."""
    p = PtyProcess(product.argv_tui(dsn))
    t = p.wait_for(product.FIRST_DATA, timeout_s)
    text = p.text()[-2000:] if t is None else ""
    code, quit_s = p.quit()
    return {"first_data_s": t, "quit_s": quit_s, "exit": code, "tail": text}


def run(ctx: Context) -> dict[str, Any]:
    args, dbs = ctx.args, ctx.dbs
    out: dict[str, Any] = {}
    out["version_s"] = summary(spawn_times(product.argv_version(), args.version_runs))
    hf = hyperfine(product.argv_version(), args.version_runs)
    if hf:
        out["version_hyperfine_s"] = hf
    cli_module, tui_module = product.import_modules()
    out["version_imports"] = import_profile(cli_module)
    out["tui_imports"] = import_profile(tui_module)
    # the TUI's first screen of data, small and large interleaved
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in dbs}
    tui_first_data(dbs[next(iter(dbs))])  # warm-up (page cache, .pyc)
    for i in range(args.startup_runs):
        for n in order(list(dbs), i):
            r = tui_first_data(dbs[n])
            runs[n].append(r)
            if r["first_data_s"] is None:
                log(f"tui {n}: no data within the timeout; tail: {r['tail'][-400:]!r}")
        log(f"tui first data {i + 1}/{args.startup_runs}: " + ", ".join(
            f"{n} {runs[n][-1]['first_data_s']}" for n in runs))
    headless: dict[str, list[dict[str, Any]]] = {n: [] for n in dbs}
    for i in range(args.headless_runs):
        for n in order(list(dbs), i):
            proc = subprocess.run([product.PY, str(HERE / "tui_headless.py"), dbs[n]],
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


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def figures(results: dict[str, Any], st: dict[str, Any] | None, figs: Figures) -> None:
    if not st:
        return
    figs.add("4", "`opsconsole --version`", st["version_s"], "s", f"≤ {VERSION_TARGET_S} s",
             ok(median(st["version_s"]), VERSION_TARGET_S), 3)
    for key in ("large", "small"):
        d = st["tui_first_data_s"].get(key)
        if d:
            limit = FIRST_DATA_TARGET_S[key]
            figs.add("4", f"TUI process start → first check statuses drawn, {key}", d, "s",
                     f"≤ {limit} s", ok(d.get("median"), limit), 2,
                     f"{d['timeouts']} timeouts" if d.get("timeouts") else "")


def details(results: dict[str, Any], st: dict[str, Any], w: Writer) -> None:
    w("## 4. Start-up\n")
    w(meta_line(results, NAME))
    v = st["version_s"]
    w(f"- `opsconsole --version`: {fmt(v['median'] * 1000, 'ms')} median over {v['n']} runs "
      f"({spread({k: (x * 1000 if isinstance(x, float) else x) for k, x in v.items()}, 'ms')})"
      ", process spawn to exit, timed by the harness.")
    hf = st.get("version_hyperfine_s")
    if hf:
        w(f"- hyperfine -N (cross-check): median {fmt(hf['median'] * 1000, 'ms')}, mean "
          f"{fmt(hf['mean'] * 1000, 'ms')} ± {fmt(hf['stddev'] * 1000, 'ms')}, min–max "
          f"{fmt(hf['min'] * 1000, 'ms')}–{fmt(hf['max'] * 1000, 'ms')} ({hf['n']} runs).")
    for key in ("version_imports", "tui_imports"):
        imp = st.get(key) or []
        if imp:
            w(f"- `import {imp[0]['module']}` (python -X importtime, one run): "
              f"{fmt(imp[0]['cum_ms'], 'ms')}; heaviest: "
              + ", ".join(f"{r['module']} {fmt(r['cum_ms'], 'ms')}" for r in imp[1:6]))
    for key in ("small", "large"):
        d = st["tui_first_data_s"].get(key)
        if d and d.get("n"):
            w(f"- TUI on {key}: process start → first check statuses on screen (pty 80x24): "
              f"{fmt(d['median'], 's', 2)} ({spread(d, 's', 2)}); quitting with `q` took "
              f"{fmt(d['quit_s']['median'], 's', 2)}.")
    for key, d in (st.get("tui_headless") or {}).items():
        parts = [("import_s", "imports"), ("catalog_s", "catalog load"),
                 ("construct_to_mounted_s", "construct → mounted"),
                 ("construct_to_first_data_s", "construct → first ChecksRefreshed applied"),
                 ("script_start_to_first_data_s", "script start → first data")]
        w(f"- Headless (`bench/tui_headless.py`, `run_test` 80x24) on {key}: " + "; ".join(
            f"{label} {fmt(d[k]['median'], 's', 2)} ({spread(d[k], 's', 2)})"
            for k, label in parts if k in d) + ".")
    w("")
