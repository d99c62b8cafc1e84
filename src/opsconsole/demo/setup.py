"""Create the demo schema and fill it with deterministic data (``opsconsole db init|seed``).

The schema is ``sql/schema.sql`` plus seed 003's RPCs (``sql/seed003_rpcs.sql``); the data is
``sql/seed.sql``, pure SQL over ``generate_series`` driven by three settings
(``opsconsole.scale``, ``opsconsole.seed``, ``opsconsole.anchor``). Both run in one transaction,
so a failure leaves nothing half-applied.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import psycopg
from psycopg import sql

from opsconsole.connection import db
from opsconsole.errors import BadInput, DatabaseFailure, Refused

SCHEMA_VERSION = 1
SCHEMA_FILES = ("schema.sql", "seed003_rpcs.sql", "audit.sql")
SEED_FILE = "seed.sql"

# Tables that a real messaging database would hold: if any exists without our marker, we refuse.
FOREIGN_MARKERS = (
    "public.linkups",
    "public.message_deliveries",
    "public.sms_outbound_jobs",
    "public.conversations_v2",
    "public.reported_messages",
    "communication.messages",
)
# Tables the seed fills: if any holds rows we did not create, we refuse.
SEEDED_TABLES = (
    "public.users",
    "public.events",
    "public.event_guests",
    "public.message_deliveries",
    "public.linkups",
    "public.sms_outbound_jobs",
    "public.linkup_coordination_messages",
    "auth.users",
    "public.help_requests",
    "public.conversations_v2",
    "public.messages",
    "public.reported_messages",
    "public.broadcast_quotas",
    "core.organizations",
)

MAX_SCALE = 1000


@dataclass(frozen=True)
class SetupResult:
    """Outcome of ``db init`` or ``db seed``.

    Attributes:
        changed: False when the database was already as asked (nothing was written).
        message: one line for the user.
        elapsed_s: wall time in seconds.
    """

    changed: bool
    message: str
    elapsed_s: float


def sql_text(name: str) -> str:
    """Return the text of a packaged SQL file from ``opsconsole/demo/sql`` (str)."""
    return resources.files("opsconsole.demo").joinpath("sql", name).read_text(encoding="utf-8")


def init_schema(dsn: str) -> SetupResult:
    """Create the demo schema in the database at ``dsn``, once.

    Returns:
        SetupResult; ``changed`` is False when the schema was already there.

    Raises:
        ConnectionFailed: the server is unreachable.
        Refused: the database holds messaging tables opsconsole did not create.
        DatabaseFailure: the role may not create schemas, or a statement failed.
    """
    started = time.monotonic()
    with db.connect(dsn, read_only=False, statement_timeout_ms=0, autocommit=False) as conn:
        meta = _meta(conn, "schema")
        if meta is not None:
            return SetupResult(
                False,
                f"schema already initialised (version {meta}); nothing changed",
                time.monotonic() - started,
            )
        foreign = [t for t in FOREIGN_MARKERS if _exists(conn, t)]
        if foreign:
            raise Refused(
                f"database already holds {', '.join(foreign)}, not created by opsconsole: "
                "use an empty database for the demo schema"
            )
        try:
            for name in SCHEMA_FILES:
                conn.execute(sql_text(name).encode())
            conn.execute(
                "INSERT INTO opsconsole.demo_meta (key, value) VALUES ('schema', %s)",
                (json.dumps(SCHEMA_VERSION),),
            )
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            raise _setup_error("create the schema", exc) from exc
    return SetupResult(
        True, f"schema created (version {SCHEMA_VERSION})", time.monotonic() - started
    )


def seed(
    dsn: str, *, scale: int = 1, seed_value: int = 42, anchor: datetime | None = None
) -> SetupResult:
    """Fill the demo schema with deterministic rows and the planted faults.

    Args:
        dsn: the database, already initialised with :func:`init_schema`.
        scale: size factor (int, 1..1000); 1 is ~100 k deliveries, 100 is 10 M deliveries.
        seed_value: random seed (int); the same seed and scale give the same rows.
        anchor: the "now" the data is relative to (aware datetime; default the server's now()).

    Returns:
        SetupResult with the row counts in its message.

    Raises:
        BadInput: scale out of range.
        Refused: the schema is missing, or holds rows that opsconsole did not create.
        DatabaseFailure: a statement failed (nothing is left half-seeded).
    """
    if not 1 <= scale <= MAX_SCALE:
        raise BadInput(f"--scale must be between 1 and {MAX_SCALE} (got {scale})")
    started = time.monotonic()
    with db.connect(dsn, read_only=False, statement_timeout_ms=0, autocommit=False) as conn:
        if _meta(conn, "schema") is None:
            raise Refused(
                "no opsconsole demo schema here: run `opsconsole db init --dsn ...` first"
            )
        done = _meta(conn, "seeded")
        if done is not None:
            raise Refused(f"already seeded ({_describe_seed(done)}): to reseed, use a fresh "
                          "database (db init, then db seed)")
        busy = [t for t in SEEDED_TABLES if _has_rows(conn, t)]
        if busy:
            raise Refused(
                f"{', '.join(busy)} already hold rows opsconsole did not create: "
                "seed an empty database"
            )
        try:
            _run_seed(conn, scale, seed_value, anchor)
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            raise _setup_error("seed the data", exc) from exc
        conn.autocommit = True
        # Statistics, and a visibility map for index-only scans, of the tables the seed filled
        # (every user table: a whole-database VACUUM also visits the ~60 system catalogs,
        # ~0.5 s of the demo's start, which autovacuum looks after anyway).
        _vacuum_analyze(conn)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM public.message_deliveries) AS deliveries,"
            " (SELECT count(*) FROM public.sms_outbound_jobs) AS jobs"
        ).fetchone()
    assert counts is not None
    return SetupResult(
        True,
        f"seeded scale {scale}, seed {seed_value}: {counts['deliveries']} deliveries, "
        f"{counts['jobs']} jobs",
        time.monotonic() - started,
    )


def _run_seed(conn: db.Connection, scale: int, seed_value: int, anchor: datetime | None) -> None:
    conn.execute(
        "SELECT set_config('opsconsole.scale', %s, true),"
        " set_config('opsconsole.seed', %s, true),"
        " set_config('opsconsole.anchor', %s, true)",
        (str(scale), str(seed_value), anchor.isoformat() if anchor else ""),
    )
    conn.execute(sql_text(SEED_FILE).encode())
    marker = {"scale": scale, "seed": seed_value, "anchor": anchor.isoformat() if anchor else None}
    conn.execute(
        "INSERT INTO opsconsole.demo_meta (key, value) VALUES ('seeded', %s)", (json.dumps(marker),)
    )


def _vacuum_analyze(conn: db.Connection, attempts: int = 5) -> None:
    """``VACUUM (ANALYZE)`` the user tables until their visibility maps are complete.

    A transaction another session holds open meanwhile (a CREATE DATABASE elsewhere on the
    server holds back every database's horizon) keeps VACUUM from marking the seeded pages
    all-visible, and the planner then prefers sequential scans to the index-only scans the
    checks are built on; the tables still incomplete are vacuumed again (a few times, 0.2 s
    apart).
    """
    query = ("SELECT n.nspname AS schemaname, c.relname FROM pg_class c"
             " JOIN pg_namespace n ON n.oid = c.relnamespace"
             " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
             " AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'"
             " AND (%s OR c.relallvisible < c.relpages) ORDER BY 1, 2")
    for attempt in range(attempts):
        tables = [sql.Identifier(r["schemaname"], r["relname"])
                  for r in conn.execute(query, (attempt == 0,))]
        if not tables:
            return
        if attempt:
            time.sleep(0.2)
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.SQL(", ").join(tables)))


def _describe_seed(marker: object) -> str:
    """``scale 1, seed 42, anchor 2026-11-20T12:00:00+00:00`` from the seeded marker (str)."""
    if not isinstance(marker, dict):
        return str(marker)
    parts = [f"{key} {marker[key]}" for key in ("scale", "seed", "anchor") if marker.get(key)]
    return ", ".join(parts) or "by opsconsole"


def _meta(conn: db.Connection, key: str) -> object | None:
    if not _exists(conn, "opsconsole.demo_meta"):
        return None
    row = conn.execute("SELECT value FROM opsconsole.demo_meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else row["value"]


def _exists(conn: db.Connection, relation: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (relation,)).fetchone()
    return bool(row and row["present"])


def _has_rows(conn: db.Connection, relation: str) -> bool:
    if not _exists(conn, relation):
        return False
    schema, name = relation.split(".")
    query = psycopg.sql.SQL("SELECT EXISTS (SELECT 1 FROM {}) AS busy").format(
        psycopg.sql.Identifier(schema, name)
    )
    row = conn.execute(query).fetchone()
    return bool(row and row["busy"])


def _setup_error(what: str, exc: psycopg.Error) -> DatabaseFailure:
    diag = db.describe_error(exc)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return DatabaseFailure(
            f"cannot {what}: {diag}; connect as the database owner "
            "(or a role that may CREATE in it)"
        )
    return DatabaseFailure(f"cannot {what}: {diag}")
