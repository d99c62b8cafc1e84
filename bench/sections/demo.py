"""Figure 4: ``opsconsole demo`` to first data.

``opsconsole demo --scale 1`` in a pty with ``TMPDIR`` pointing at a fresh directory (so a
fresh data dir: embedded server, schema, seed), until check statuses are drawn, then ``q``;
``--demo-runs`` runs. The same path in-process, phase by phase (``bench/demo_phases.py``),
``--demo-phase-runs`` times.

Target: ≤ 5 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import product
from harness import HERE, Context, Option, log
from ptyterm import PtyProcess
from report import Figures, Writer, median, meta_line, ok
from stats import fmt, spread, summary

NAME = "demo"
OPTIONS = (
    Option("--demo-runs", 5, 1, "`opsconsole demo` runs"),
    Option("--demo-timeout", 180.0, 180.0, "seconds to wait for the demo's first data"),
    Option("--demo-phase-runs", 3, 1, "in-process phase runs (bench/demo_phases.py)"),
)
TARGET_S = 5.0


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


def _fresh_tmpdir(prefix: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    # The embedded server runs as its own system user, so others must write here; sticky like
    # /tmp, or platformdirs (>= 4.14) refuses the runtime directory it makes below it.
    os.chmod(tmp, 0o1777)
    return tmp


def demo_once(timeout_s: float) -> dict[str, Any]:
    tmp = _fresh_tmpdir("opsbench-demo-")
    try:
        p = PtyProcess(product.argv_demo(1), env={"TMPDIR": str(tmp)})
        t = p.wait_for(product.FIRST_DATA, timeout_s)
        m = product.DEMO_READY.search(p.text())
        tail = p.text()[-1500:] if t is None else ""
        code, quit_s = p.quit(timeout_s=30)
    finally:
        stray = _stop_stray_postmasters(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"first_data_s": t, "ready_s": float(m.group(1)) if m else None,
            "quit_s": quit_s, "exit": code, "stray_servers_stopped": stray, "tail": tail}


def phases_once(timeout_s: float) -> dict[str, float] | None:
    tmp = _fresh_tmpdir("opsbench-phases-")
    try:
        proc = subprocess.run([product.PY, str(HERE / "demo_phases.py"), "1"],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "TMPDIR": str(tmp)}, timeout=timeout_s)
        return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    except (IndexError, json.JSONDecodeError, subprocess.TimeoutExpired) as exc:
        log(f"demo_phases failed: {exc}")
        return None
    finally:
        _stop_stray_postmasters(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def run(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    runs = []
    for i in range(args.demo_runs):
        r = demo_once(args.demo_timeout)
        runs.append(r)
        log(f"demo {i + 1}/{args.demo_runs}: first data {r['first_data_s']} s (database ready "
            f"{r['ready_s']} s), quit {r['quit_s']:.1f} s")
    phases = [p for p in (phases_once(args.demo_timeout) for _ in range(args.demo_phase_runs))
              if p is not None]
    return {
        "phases": {k: summary([p[k] for p in phases]) for k in (phases[0] if phases else {})},
        "command": " ".join(product.argv_demo(1))
        + "   (TMPDIR = a fresh directory: fresh data dir)",
        "first_data_s": summary([r["first_data_s"] for r in runs if r["first_data_s"]]),
        "ready_s": summary([r["ready_s"] for r in runs if r["ready_s"]]),
        "timeouts": sum(1 for r in runs if r["first_data_s"] is None),
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def figures(results: dict[str, Any], dm: dict[str, Any] | None, figs: Figures) -> None:
    if dm:
        figs.add("4", "`opsconsole demo` (scale 1, fresh data dir) → first data",
                 dm["first_data_s"], "s", "≤ 5 s", ok(median(dm["first_data_s"]), TARGET_S), 1)


def details(results: dict[str, Any], dm: dict[str, Any], w: Writer) -> None:
    w("## 4. `opsconsole demo` to first data\n")
    w(meta_line(results, NAME))
    w(f"`{dm['command']}` in a pty (80x24), from spawn until the Overview shows check "
      f"statuses; then `q`. Its own \"demo database ready in N s\" line (embedded server "
      f"start + schema + seed) is {fmt(dm['ready_s'].get('median'), 's')} "
      f"({spread(dm['ready_s'], 's')}). First data: "
      f"{fmt(dm['first_data_s'].get('median'), 's')}"
      f" ({spread(dm['first_data_s'], 's')}); {dm['timeouts']} timeouts.\n")
    ph = dm.get("phases") or {}
    if ph:
        w("Phases of the same path run in-process by `bench/demo_phases.py` (fresh temporary "
          "data directory, the product's `server.start`, `setup.init_schema`, `setup.seed`): "
          + "; ".join(f"{k.removesuffix('_s').replace('_', ' ')} {fmt(v['median'], 's', 2)} "
                      f"({spread(v, 's', 2)})" for k, v in ph.items()) + ".\n")
