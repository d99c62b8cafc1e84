"""What a client's sessions cost the server over a window — the same method for every tool, so
ratios between tools are like for like.

Statement time, by the first method this server allows (``detect`` says which, and why):

1. ``pg_stat_statements``, when it is in ``shared_preload_libraries`` and the extension can be
   created in the measured database: Σ ``total_exec_time`` + ``total_plan_time`` of that
   database over the window (snapshots before and after; the harness runs nothing else there).
2. The server log: the tool connects with ``options=-c log_min_duration_statement=0`` added to
   its DSN (a superuser setting; only the measured tool's sessions log), and the ``duration:``
   lines of the window (byte offsets of the log before and after) are summed: parse + bind +
   execute, i.e. what the server spent on each statement. Needs a readable log file and a
   ``log_line_prefix`` with ``%p`` (or ``%d``); a probe statement checks the whole path first.
3. None.

Also, when the server runs on this machine: the CPU time of the tool's backends
(``/proc/<pid>/schedstat``, ns on CPU), sampled with the backends' pids.

Refreshes are counted as bursts of statements separated by more than ``BURST_GAP_S``: from the
log's timestamps when the log is used, else from the ``query_start`` values a
``pg_stat_activity`` sampler (every 100 ms, from the admin database) sees. Per refresh =
Σ / refreshes in the window; per second = Σ / window.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo
from stats import summary

BURST_GAP_S = 1.0
LOG_OPTION = "-c log_min_duration_statement=0"
PSS_MARK = "opsbench-pss-snapshot"


@dataclass
class Method:
    statements: str  # "pg_stat_statements" | "server log" | "none"
    reason: str
    cpu: bool
    log_path: str | None = None
    log_prefix: str | None = None
    track_planning: bool | None = None

    def describe(self) -> str:
        what = {"pg_stat_statements": "pg_stat_statements (Σ exec + plan time of the database)",
                "server log": f"server log `{self.log_path}` (log_min_duration_statement = 0 "
                              "on the measured tool's sessions only; Σ parse + bind + execute)",
                "none": "no statement timing"}[self.statements]
        cpu = "; backend CPU from /proc/<pid>/schedstat" if self.cpu else ""
        return f"{what}{cpu}"


def dsn_for(method: Method, dsn: str) -> str:
    """``dsn`` with the session option the method needs (the log method's), keeping the DSN's
    own options."""
    if method.statements != "server log":
        return dsn
    params = conninfo.conninfo_to_dict(dsn)
    given = params.get("options")
    params["options"] = f"{given} {LOG_OPTION}" if given else LOG_OPTION
    return conninfo.make_conninfo("", **params)


# ---------------------------------------------------------------------------------------------
# Which method this server allows
# ---------------------------------------------------------------------------------------------


def _pss_usable(dsn: str) -> tuple[bool, str, bool | None]:
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            c.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
            track = c.execute("SHOW pg_stat_statements.track_planning").fetchone()
            return True, "", bool(track and track[0] == "on")
    except psycopg.Error as exc:
        return False, str(exc).splitlines()[0], None


def _log_path(c: psycopg.Connection[Any], given: str | None) -> str | None:
    if given:
        return given
    current = c.execute("SELECT pg_current_logfile()").fetchone()
    if current and current[0]:
        path = Path(current[0])
        if not path.is_absolute():
            path = Path(c.execute("SHOW data_directory").fetchone()[0]) / path  # type: ignore[index]
        return str(path)
    cluster = c.execute("SHOW cluster_name").fetchone()
    if cluster and cluster[0]:  # Debian's pg_ctlcluster: stderr to /var/log/postgresql
        debian = Path("/var/log/postgresql") / f"postgresql-{cluster[0].replace('/', '-')}.log"
        if debian.exists():
            return str(debian)
    return None


def _log_probe(dsn: str, path: str) -> bool:
    """A statement on a session with the log option shows up in ``path``."""
    mark = f"opsbench-probe-{uuid.uuid4().hex}"
    start = os.path.getsize(path)
    with psycopg.connect(dsn_for(Method("server log", "", False), dsn), autocommit=True) as c:
        c.execute(f"SELECT '{mark}'")  # our own constant
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        with open(path, "rb") as fh:
            fh.seek(start)
            if mark.encode() in fh.read():
                return True
        time.sleep(0.1)
    return False


def _cpu_readable(c: psycopg.Connection[Any]) -> bool:
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        return cmd.startswith(b"postgres") and _schedstat_ns(pid) is not None
    except OSError:
        return False


def detect(admin_dsn: str, dsn: str, log_path: str | None = None) -> Method:
    """The statement-timing method this server allows for ``dsn``'s database, and why."""
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        spl = c.execute("SHOW shared_preload_libraries").fetchone()[0]  # type: ignore[index]
        cpu = _cpu_readable(c)
        superuser = c.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")\
            .fetchone()[0]  # type: ignore[index]
        prefix = c.execute("SHOW log_line_prefix").fetchone()[0]  # type: ignore[index]
        path = _log_path(c, log_path)
        avail = c.execute("SELECT default_version FROM pg_available_extensions "
                          "WHERE name = 'pg_stat_statements'").fetchone()
    why = []
    if "pg_stat_statements" in spl:
        usable, err, track = _pss_usable(dsn)
        if usable:
            return Method("pg_stat_statements", f"shared_preload_libraries = '{spl}'", cpu,
                          track_planning=track)
        why.append(f"pg_stat_statements is preloaded but not usable here ({err})")
    else:
        why.append(f"pg_stat_statements is not in shared_preload_libraries ('{spl}')"
                   + (f"; the extension ({avail[0]}) is installed but its view needs the "
                      "library loaded at server start, i.e. a restart" if avail else ""))
    if not superuser:
        why.append("not a superuser, so log_min_duration_statement cannot be set per session")
    elif "%p" not in prefix and "%d" not in prefix:
        why.append(f"log_line_prefix '{prefix}' names neither the pid nor the database")
    elif not path or not os.access(path, os.R_OK):
        why.append(f"no readable server log (found: {path}; give --server-log)")
    elif not _log_probe(dsn, path):
        why.append(f"a probe statement did not appear in {path}")
    else:
        return Method("server log", "; ".join(why), cpu, log_path=path, log_prefix=prefix)
    return Method("none", "; ".join(why), cpu)


# ---------------------------------------------------------------------------------------------
# The server log
# ---------------------------------------------------------------------------------------------

_TS = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)"
_ESCAPES = {
    "m": _TS + r" \S+", "t": _TS + r" \S+", "n": r"(?P<epoch>\d+\.\d+)", "p": r"(?P<pid>\d+)",
    "d": r"(?P<db>\S*)", "u": r"\S*", "q": "", "%": "%",
}


def prefix_regex(prefix: str) -> re.Pattern[str]:
    """A regex for the ``duration:`` lines of a log written with ``log_line_prefix``."""
    out, i = [], 0
    while i < len(prefix):
        ch = prefix[i]
        if ch == "%" and i + 1 < len(prefix):
            key = prefix[i + 1]
            out.append(_ESCAPES.get(key, r".*?"))
            i += 2
            continue
        out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + r"[A-Z]+:  duration: (?P<ms>[\d.]+) ms  "
                      r"(?P<kind>statement|parse|bind|execute|fastpath)")


def _when(m: re.Match[str]) -> float | None:
    d = m.groupdict()
    if d.get("epoch"):
        return float(d["epoch"])
    if d.get("ts"):
        return datetime.fromisoformat(d["ts"]).timestamp()  # its zone is the same for all lines
    return None


def read_log(path: str, start: int, end: int, *, prefix: str, dbname: str,
             pids: set[int]) -> list[dict[str, Any]]:
    """The ``duration:`` entries written between byte offsets ``start`` and ``end`` by the
    measured database (``%d``) or, without it in the prefix, by ``pids``."""
    rx = prefix_regex(prefix)
    with open(path, "rb") as fh:
        fh.seek(start)
        text = fh.read(max(0, end - start)).decode("utf-8", errors="replace")
    entries = []
    for line in text.splitlines():
        m = rx.match(line)
        if not m:
            continue
        d = m.groupdict()
        if d.get("db") is not None:
            if d["db"] != dbname:
                continue
        elif d.get("pid") is None or int(d["pid"]) not in pids:
            continue
        entries.append({"t": _when(m), "ms": float(d["ms"]), "kind": d["kind"],
                        "pid": int(d["pid"]) if d.get("pid") else None})
    return entries


def bursts(times: list[float], gap_s: float = BURST_GAP_S) -> list[list[int]]:
    """Indexes of ``times`` (sorted) grouped into bursts separated by more than ``gap_s``."""
    groups: list[list[int]] = []
    last = None
    for i, t in sorted(enumerate(times), key=lambda it: it[1]):
        if last is None or t - last > gap_s:
            groups.append([])
        groups[-1].append(i)
        last = t
    return groups


# ---------------------------------------------------------------------------------------------
# One window
# ---------------------------------------------------------------------------------------------


def _schedstat_ns(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class Window:
    """Measures the server's cost of the sessions on ``dbname`` between ``__enter__`` and
    ``__exit__``; ``result()`` after."""

    def __init__(self, method: Method, admin_dsn: str, dsn: str, dbname: str,
                 interval_s: float = 0.1) -> None:
        self.method, self.admin_dsn, self.dsn, self.dbname = method, admin_dsn, dsn, dbname
        self.interval_s = interval_s
        self.pids: dict[int, str] = {}
        self.query_starts: set[tuple[int, datetime]] = set()
        self.cpu_first: dict[int, int] = {}
        self.cpu_last: dict[int, int] = {}
        self.exclude: set[int] = set()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._pss: psycopg.Connection[Any] | None = None
        self._pss0: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._pss1: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._log0 = self._log1 = 0
        self._t0 = self._t1 = self._wall0 = 0.0

    def _pss_snapshot(self) -> tuple[float, float, float]:
        assert self._pss is not None
        row = self._pss.execute(
            f"SELECT /* {PSS_MARK} */ coalesce(sum(calls), 0), "  # noqa: S608 - our constant
            "coalesce(sum(total_exec_time), 0), coalesce(sum(total_plan_time), 0) "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
            f"WHERE datname = current_database()) AND query NOT LIKE '%{PSS_MARK}%'"
        ).fetchone()
        assert row is not None
        return float(row[0]), float(row[1]), float(row[2])

    def __enter__(self) -> Window:
        if self.method.statements == "pg_stat_statements":
            self._pss = psycopg.connect(self.dsn, autocommit=True)
            self._pss.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")  # its view
            self.exclude.add(self._pss.info.backend_pid)
            self._pss0 = self._pss_snapshot()
        if self.method.statements == "server log" and self.method.log_path:
            self._log0 = os.path.getsize(self.method.log_path)
        self._thread.start()
        self._ready.wait(5)  # the first sample (the tool's pids and CPU) opens the window
        self._t0 = time.perf_counter()
        self._wall0 = time.time()
        return self

    def __exit__(self, *exc: object) -> None:
        self._t1 = time.perf_counter()
        self._stop.set()
        self._thread.join(5)
        if self._pss is not None:
            self._pss1 = self._pss_snapshot()
            self._pss.close()
        if self.method.statements == "server log" and self.method.log_path:
            time.sleep(0.2)  # the last duration lines reach the file
            self._log1 = os.path.getsize(self.method.log_path)

    def _loop(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as c:
            while True:
                rows = c.execute(
                    "SELECT pid, application_name, query_start FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()", (self.dbname,)).fetchall()
                for pid, app, qstart in rows:
                    if pid in self.exclude:
                        continue
                    self.pids.setdefault(pid, app)
                    if qstart is not None:
                        self.query_starts.add((pid, qstart))
                    if self.method.cpu:
                        ns = _schedstat_ns(pid)
                        if ns is not None:
                            self.cpu_first.setdefault(pid, ns)
                            self.cpu_last[pid] = ns
                self._ready.set()
                if self._stop.wait(self.interval_s):
                    break
            if self.method.cpu:  # the closing reading
                for pid in self.pids:
                    ns = _schedstat_ns(pid)
                    if ns is not None:
                        self.cpu_last[pid] = ns

    def result(self) -> dict[str, Any]:
        window_s = self._t1 - self._t0
        # statements that started in the window (the server runs on this machine's clock)
        starts = [t for t in (q.timestamp() for _, q in self.query_starts) if t >= self._wall0]
        sampled = len(bursts(starts))
        out: dict[str, Any] = {"method": asdict(self.method), "window_s": window_s,
                               "pids": {str(p): a for p, a in self.pids.items()},
                               "refreshes_sampled": sampled}
        server_ms: float | None = None
        refreshes = sampled
        if self.method.statements == "server log" and self.method.log_path:
            entries = read_log(self.method.log_path, self._log0, self._log1,
                               prefix=self.method.log_prefix or "", dbname=self.dbname,
                               pids=set(self.pids))
            server_ms = sum(e["ms"] for e in entries)
            out["statements"] = sum(1 for e in entries if e["kind"] != "parse"
                                    and e["kind"] != "bind")
            timed = [e for e in entries if e["t"] is not None]
            groups = bursts([e["t"] for e in timed])
            if groups:
                refreshes = len(groups)
                out["per_burst_ms"] = summary([sum(timed[i]["ms"] for i in g) for g in groups])
                out["per_burst_statements"] = summary(
                    [float(sum(1 for i in g if timed[i]["kind"] in ("execute", "statement")))
                     for g in groups])
        elif self.method.statements == "pg_stat_statements":
            calls = self._pss1[0] - self._pss0[0]
            server_ms = (self._pss1[1] - self._pss0[1]) + (self._pss1[2] - self._pss0[2])
            out["statements"] = calls
        out["refreshes"] = refreshes
        out["server_ms"] = server_ms
        out["server_ms_per_refresh"] = server_ms / refreshes if server_ms is not None \
            and refreshes else None
        out["server_ms_per_s"] = server_ms / window_s if server_ms is not None else None
        if self.method.cpu and self.cpu_last:
            cpu_ms = sum(self.cpu_last[p] - self.cpu_first.get(p, self.cpu_last[p])
                         for p in self.cpu_last) / 1e6
            out["cpu_ms"] = cpu_ms
            out["cpu_ms_per_refresh"] = cpu_ms / refreshes if refreshes else None
            out["cpu_ms_per_s"] = cpu_ms / window_s
        return out
