"""The machine a run measured on, and its load before and during each section.

The machine is shared (other engineers' test suites run on the same 2 cores), so before each
section the harness waits (up to ``--wait-max``) for the 1-minute load average to drop below
``--wait-load``, and while the section runs a thread samples the load average and the CPU busy
share from /proc/stat every few seconds. The busy share counts everything on the machine,
including the benchmark itself and the PostgreSQL server serving it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
from importlib import metadata
from typing import Any

import psycopg
from harness import ROOT, log
from stats import summary


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


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


class LoadSampler:
    """Samples the 1-minute load average and the CPU busy share every ``interval_s`` while a
    section runs (a context manager); ``result()`` summarises them."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self.load1: list[float] = []
        self.busy: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = 0.0
        self._cpu0 = (0, 0)

    def __enter__(self) -> LoadSampler:
        self._t0 = time.monotonic()
        self._cpu0 = _cpu_times()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.interval_s + 1)
        self._sample()  # the tail of the section

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        busy, total = _cpu_times()
        b0, t0 = self._cpu0
        if total > t0:
            self.busy.append(100.0 * (busy - b0) / (total - t0))
        self._cpu0 = (busy, total)
        self.load1.append(os.getloadavg()[0])

    def result(self) -> dict[str, Any]:
        return {"interval_s": self.interval_s, "load1": summary(self.load1),
                "cpu_busy_pct": summary(self.busy), "samples": len(self.load1),
                "cores": os.cpu_count()}
