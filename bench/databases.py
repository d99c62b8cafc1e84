"""The server and the two demo databases the sections measure.

``--server local`` is the PostgreSQL at --host/--port/--user (trust auth); ``--server embedded``
the embedded server of ``opsconsole demo``. Each database is built with the product's own
``opsconsole db init`` and ``db seed --scale N --seed 42``, then ``VACUUM (ANALYZE)`` (what
autovacuum would have done on a live database: visibility map and statistics). The large one is
seeded in the background while the small one builds. ``--reuse`` keeps a database whose
``opsconsole.demo_meta`` records the expected scale.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import product
import psycopg
from harness import log, now_iso
from psycopg import sql

SEED_VALUE = 42
COUNTED = ("public.message_deliveries", "public.sms_outbound_jobs",
           "public.linkup_coordination_messages", "public.reported_messages",
           "public.messages_v2", "public.event_guests")


class Server:
    """Where the demo databases live: the machine's PostgreSQL, or an embedded one."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.kind = args.server
        self.emb: Any = None
        if self.kind == "embedded":
            self.emb = product.embedded_start(Path(args.embedded_dir))
            self.admin = self.emb.dsn
        else:
            self.base = f"postgresql://{args.user}@{args.host}:{args.port}"
            self.admin = f"{self.base}/postgres"

    def dsn(self, dbname: str) -> str:
        """The URI of ``dbname`` on this server."""
        if self.emb is not None:
            return str(self.emb.dsn_for(dbname))
        return f"{self.base}/{dbname}"

    def stop(self) -> None:
        if self.emb is not None:
            self.emb.stop()

    def admin_conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin, autocommit=True)

    def exists(self, dbname: str) -> bool:
        with self.admin_conn() as c:
            return c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (dbname,)).fetchone() is not None

    def drop(self, dbname: str) -> None:
        with self.admin_conn() as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                      .format(sql.Identifier(dbname)))

    def create(self, dbname: str, template: str | None = None) -> float:
        """CREATE DATABASE (from ``template`` by file copy); returns seconds."""
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if template:
            stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(dbname), sql.Identifier(template))
        t0 = time.perf_counter()
        with self.admin_conn() as c:
            c.execute(stmt)
        return time.perf_counter() - t0


def seeded_scale(dsn: str) -> int | None:
    """The scale recorded in opsconsole.demo_meta, or None."""
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            row = c.execute("SELECT value FROM opsconsole.demo_meta WHERE key = 'seeded'")\
                .fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    value = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return int(value.get("scale", 0))


def run_cmd(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    log("$ " + " ".join(argv))
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kw)


def build_db(server: Server, name: str, scale: int, reuse: bool) -> dict[str, Any]:
    """(Re)build one demo database; returns what was done and how long it took."""
    dsn = server.dsn(name)
    if reuse and server.exists(name) and seeded_scale(dsn) == scale:
        log(f"{name}: reusing (scale {scale} per opsconsole.demo_meta)")
        out: dict[str, Any] = {"name": name, "scale": scale, "rebuilt": False}
    else:
        server.drop(name)
        server.create(name)
        t0 = time.perf_counter()
        init = run_cmd(product.argv_db_init(dsn))
        t1 = time.perf_counter()
        seed = run_cmd(product.argv_db_seed(dsn, scale, SEED_VALUE))
        t2 = time.perf_counter()
        log(seed.stdout.strip())
        out = {"name": name, "scale": scale, "rebuilt": True, "init_s": t1 - t0,
               "seed_s": t2 - t1, "seed_message": seed.stdout.strip(),
               "init_message": init.stdout.strip()}
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET statement_timeout = 0")
        vac = c.execute(
            "SELECT coalesce(greatest(last_vacuum, last_autovacuum) IS NOT NULL, false)"
            " FROM pg_stat_user_tables WHERE relid = 'public.message_deliveries'::regclass"
        ).fetchone()
        if out["rebuilt"] or not (vac and vac[0]):
            # What autovacuum does on a live database: set the visibility map (index-only scans)
            # and fresh statistics. Timed apart from the seeding.
            t0 = time.perf_counter()
            c.execute("VACUUM (ANALYZE)")
            out["vacuum_s"] = time.perf_counter() - t0
        counts = {}
        for rel in COUNTED:
            counts[rel] = c.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*rel.split(".")))
            ).fetchone()[0]  # type: ignore[index]
        out["counts"] = counts
        out["size"] = c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")\
            .fetchone()[0]  # type: ignore[index]
        out["meta"] = c.execute("SELECT value FROM opsconsole.demo_meta WHERE key = 'seeded'")\
            .fetchone()[0]  # type: ignore[index]
    return out


def build(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Both databases; the large one is seeded in the background while the small one builds."""
    result: dict[str, Any] = {"started": now_iso()}
    box: dict[str, Any] = {}

    def large() -> None:
        try:
            box["large"] = build_db(server, args.large_db, args.large_scale, args.reuse)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=large)
    t.start()
    result["small"] = build_db(server, args.small_db, args.small_scale, args.reuse)
    t.join()
    if "error" in box:
        raise box["error"]
    result["large"] = box["large"]
    result["commands"] = [
        " ".join(product.argv_db_init(server.dsn("DB"))),
        " ".join(product.argv_db_seed(server.dsn("DB"), 0, SEED_VALUE)).replace(
            "--scale 0", "--scale N"),
        "VACUUM (ANALYZE) after seeding",
    ]
    return result
