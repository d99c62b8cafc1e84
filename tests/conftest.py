"""Shared fixtures: a real PostgreSQL for every test that touches SQL.

The server is a session-scoped embedded PostgreSQL, or the one in ``OPSCONSOLE_TEST_DSN`` when
set (e.g. the machine's PostgreSQL 15). A template database is created and seeded once per
session with a fixed seed and a fixed anchor time; each test module gets its own clone
(``CREATE DATABASE ... TEMPLATE``), so modules cannot disturb one another.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from opsconsole.demo import server as embedded
from opsconsole.demo import setup

# The frozen "now" of the test data: seeded relative to it, checked with a clock fixed to it.
ANCHOR = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SEED = 42
SCALE = 1
REPO = Path(__file__).resolve().parent.parent
DRIFT_SQL = Path(__file__).resolve().parent / "drift" / "drift.sql"
# A role that is neither the owner of the drifted tables nor BYPASSRLS: row-level security
# filters what it sees (drift D9). Roles are cluster-wide: created once, shared by every worker.
DRIFT_READER = "opsconsole_drift_reader"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


class PgServer:
    """A PostgreSQL server the tests may create databases on.

    Attributes:
        admin_dsn: DSN of a maintenance database with CREATEDB rights.
        embedded: the EmbeddedServer, or None when OPSCONSOLE_TEST_DSN is used.
    """

    def __init__(self, admin_dsn: str, embedded_server: embedded.EmbeddedServer | None) -> None:
        self.admin_dsn = admin_dsn
        self.embedded = embedded_server
        self.created: list[str] = []

    def dsn_for(self, dbname: str) -> str:
        """DSN of ``dbname`` on this server."""
        params = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        params["dbname"] = dbname
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})

    def create_database(self, prefix: str, template: str | None = None) -> str:
        """Create a new database (optionally from a template); return its name."""
        name = f"{prefix}_{_worker()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            conn.execute(stmt)
        self.created.append(name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting its sessions first."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (embedded unless OPSCONSOLE_TEST_DSN is set)."""
    external = os.environ.get("OPSCONSOLE_TEST_DSN")
    if external:
        server = PgServer(external, None)
        yield server
        for name in server.created:
            server.drop_database(name)
        return
    emb = embedded.start()
    try:
        yield PgServer(emb.dsn, emb)
    finally:
        emb.stop()


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> str:
    """Name of a database holding the demo schema seeded at scale 1, seed 42, anchor ANCHOR."""
    name = pg_server.create_database("opsconsole_tmpl")
    dsn = pg_server.dsn_for(name)
    setup.init_schema(dsn)
    setup.seed(dsn, scale=SCALE, seed_value=SEED, anchor=ANCHOR)
    return name


@pytest.fixture(scope="module")
def seeded_dsn(pg_server: PgServer, template_db: str) -> str:
    """DSN of a fresh clone of the seeded template, one per test module."""
    return pg_server.dsn_for(pg_server.create_database("opsconsole_t", template=template_db))


@pytest.fixture
def empty_dsn(pg_server: PgServer) -> str:
    """DSN of a new empty database (one per test)."""
    return pg_server.dsn_for(pg_server.create_database("opsconsole_e"))


@pytest.fixture
def fresh_seeded_dsn(pg_server: PgServer, template_db: str) -> str:
    """DSN of a fresh clone of the seeded template, one per test (for tests that write)."""
    return pg_server.dsn_for(pg_server.create_database("opsconsole_w", template=template_db))


_CREATE_READER = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsconsole_drift_reader') THEN
    CREATE ROLE opsconsole_drift_reader LOGIN NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- another worker created it
END $$;
"""
_GRANT_READER = """
GRANT USAGE ON SCHEMA public, communication, core, auth, opsconsole TO opsconsole_drift_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public, communication, core, auth, opsconsole
  TO opsconsole_drift_reader;
"""


@pytest.fixture(scope="session")
def drift_template(pg_server: PgServer, template_db: str) -> str:
    """Name of a database: the seeded template changed as tests/drift/drift.sql says (D1-D11),
    analysed (pg_stats), with SELECT granted to the non-owner role DRIFT_READER."""
    name = pg_server.create_database("opsconsole_drift_tmpl", template=template_db)
    with psycopg.connect(pg_server.dsn_for(name)) as conn:  # one transaction
        conn.execute(DRIFT_SQL.read_text(encoding="utf-8").encode())
        conn.execute(_CREATE_READER.encode())
        conn.execute(_GRANT_READER.encode())
    with psycopg.connect(pg_server.dsn_for(name), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return name


@pytest.fixture(scope="module")
def drift_dsn(pg_server: PgServer, drift_template: str) -> str:
    """DSN of a fresh clone of the drifted database, one per test module (as its owner)."""
    return pg_server.dsn_for(pg_server.create_database("opsconsole_d", template=drift_template))


@pytest.fixture
def fresh_drift_dsn(pg_server: PgServer, drift_template: str) -> str:
    """DSN of a fresh clone of the drifted database, one per test (for tests that write)."""
    return pg_server.dsn_for(pg_server.create_database("opsconsole_dw", template=drift_template))


def as_role(dsn: str, role: str) -> str:
    """The same database as ``dsn``, logged in as ``role`` (str)."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["user"] = role
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
