"""The machine a run measured on, and its load before each section.

The machine is shared (other engineers' test suites run on the same 2 cores), so before each
section the harness waits (up to ``--wait-max``) for the 1-minute load average to drop below
``--wait-load``, and records the load before and after it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata
from typing import Any

import psycopg
from harness import ROOT, log


def machine(server: Any) -> dict[str, Any]:
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
        version = c.execute("SELECT version()").fetchone()[0]
        settings = dict(c.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
            "('shared_buffers','work_mem','jit','max_parallel_workers_per_gather',"
            "'effective_cache_size','random_page_cost','synchronous_commit','max_wal_size')"
        ).fetchall())
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "textual": metadata.version("textual"),
        "psycopg": psycopg.__version__,
        "postgres": version,
        "pg_settings": settings,
        "server": server.kind,
        "git": git_state()["rev"],
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
