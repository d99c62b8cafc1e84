"""Shared fixtures: a real PostgreSQL for every test that touches SQL, and a clean environment.

The server is the one in ``OPSCONSOLE_TEST_DSN`` when set (e.g. the machine's PostgreSQL 15),
else an embedded PostgreSQL: one for the whole run, which the xdist controller starts and the
workers share (:class:`SharedServer`), or, in a run without workers, one of the process's own.
A template database is created and seeded once per run with a fixed seed and a fixed anchor
time; each test module gets its own clone (``CREATE DATABASE ... TEMPLATE``), so modules cannot
disturb one another, and tests that write get one of their own. Every clone is dropped when its
module or test ends. Tests that stop, restart or reconfigure a server use :func:`own_server`.

Every test runs in an isolated environment (:func:`isolated_environment`): no ``OPSCONSOLE_*``,
``DATABASE_URL``, ``STAGING_*`` or libpq ``PG*`` variable of the developer's shell leaks in, the
config, state and audit files live under the test's ``tmp_path``, and so does the working
directory (where ``.env.local`` is read).

The fixtures of the action tests (``audit_file``, ``planted``) live here too; their planted
rows and helpers are in ``tests/test_actions_support.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import pickle
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from opsconsole import catalog
from opsconsole.catalog import loader
from opsconsole.catalog.model import Catalog
from opsconsole.demo import server as embedded
from opsconsole.demo import setup

# Bytecode: where the environment says PYTHONDONTWRITEBYTECODE (this machine and its CI do),
# every worker and every CLI subprocess compiled the project and pytest re-wrote every test
# module's asserts from source, each time: 3.4 s of collection a worker instead of 1.3 s, and
# ~0.1 s more per `opsconsole` subprocess. Inside a virtualenv the suite compiles once into
# the virtualenv's own folder (sys.pycache_prefix), which keeps the checkout free of
# __pycache__ as the variable asks; workers and subprocesses inherit it through the environment.
if sys.dont_write_bytecode and sys.prefix != sys.base_prefix:
    _PYCACHE = str(Path(sys.prefix) / "pycache")
    sys.dont_write_bytecode = False
    sys.pycache_prefix = _PYCACHE
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = _PYCACHE

# The frozen "now" of the test data: seeded relative to it, checked with a clock fixed to it.
ANCHOR = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SEED = 42
SCALE = 1
REPO = Path(__file__).resolve().parent.parent
DRIFT_SQL = Path(__file__).resolve().parent / "drift" / "drift.sql"
# A role that is neither the owner of the drifted tables nor BYPASSRLS: row-level security
# filters what it sees (drift D9). Roles are cluster-wide: created once, shared by every worker.
DRIFT_READER = "opsconsole_drift_reader"
# Read once, before any test's environment is isolated: the server the suite runs on.
TEST_DSN = os.environ.get("OPSCONSOLE_TEST_DSN")
# The variables the console reads (connection/config.py, actions/session.py, checks/history.py)
# and libpq's own: none of the developer's may reach a test.
_ISOLATED_PREFIXES = ("OPSCONSOLE_", "PG", "STAGING_")
_ISOLATED_NAMES = ("DATABASE_URL", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
# The embedded server is disposable: no crash safety needed, so no fsync (a third of the
# suite's I/O was flushing clones nobody keeps).
_DISPOSABLE = (("fsync", "off"), ("synchronous_commit", "off"), ("full_page_writes", "off"))
# ... and it lives in memory when the machine has room: a clone of the template is 76 MB, and
# on a shared machine whose disk another job keeps busy, writing them (and the checkpoint of
# every DROP DATABASE) waited on that disk (5 s teardowns). Peak use is well under 2 GB a
# server; the folder goes with the server at the end of the session.
_MEMORY_DIR = Path("/dev/shm")
_MEMORY_NEEDED = 8 * 2**30


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every test in a clean environment; returns the audit file's path (Path).

    Removes every ``OPSCONSOLE_*``, ``STAGING_*`` and libpq ``PG*`` variable and
    ``DATABASE_URL``; points ``XDG_CONFIG_HOME``, ``XDG_STATE_HOME`` and ``XDG_CACHE_HOME``
    (config, check history, audit file default, parsed catalog) and ``OPSCONSOLE_AUDIT_FILE``
    under ``tmp_path``; points ``PGHOST`` at a socket folder where no server runs (libpq's defaults reach nothing); and makes
    ``tmp_path`` the working directory (``.env.local`` is read there). A test sets what it
    needs on top with ``monkeypatch``.
    """
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) or name in _ISOLATED_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the parsed-catalog cache
    monkeypatch.setenv("PGHOST", str(tmp_path / "no-server"))
    audit = tmp_path / "audit.jsonl"
    monkeypatch.setenv("OPSCONSOLE_AUDIT_FILE", str(audit))
    monkeypatch.chdir(tmp_path)
    return audit


_real_load = loader.load
_loaded: dict[str, bytes] = {}


def _catalog_key(root: Path | None) -> str | None:
    """sha256 of the catalog folder's path and of every file under its queries/ and screens/
    (names and bytes), or None when either folder is missing (the loader says why)."""
    folder = (root or loader.default_root()).resolve()
    digest = hashlib.sha256(str(folder).encode() + b"\0")
    for sub in ("queries", "screens"):
        if not (folder / sub).is_dir():
            return None
        for path in sorted((folder / sub).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _load_once(root: Path | None = None) -> Catalog:
    """``catalog.load`` parsed once per content: the same folder holding the same bytes gives a
    fresh copy of the catalog parsed the first time (a test may change its copy). Failures are
    never kept: every invalid catalog meets the real loader."""
    try:
        key = _catalog_key(root)
    except OSError:
        key = None
    if key is None:
        return _real_load(root)
    if key not in _loaded:
        _loaded[key] = pickle.dumps(_real_load(root))
    return pickle.loads(_loaded[key])  # type: ignore[no-any-return]


@pytest.fixture(autouse=True, scope="session")
def catalog_parsed_once() -> Iterator[None]:
    """Every ``catalog.load`` of the session parses each distinct catalog once (aiosql and TOML
    parsing took about a fifth of the suite's CPU: every CLI run, console and action context
    loads the catalog). Same bytes, same result: see :func:`_load_once`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "load", _load_once)
        patch.setattr(loader, "load", _load_once)
        yield


MARKER = "public.reported_messages.catalog_copy_marker"
"""A column no database has: the catalog_copy fixture's moderation.pending_reports requires it."""


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    """``tmp_path`` holding a copy of the shipped catalog (queries/ and screens/) to edit."""
    for folder in ("queries", "screens"):
        shutil.copytree(catalog.default_root() / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A copy of the shipped catalog whose moderation.pending_reports needs :data:`MARKER`."""
    root = tmp_path / "cat"
    for folder in ("queries", "screens"):
        shutil.copytree(catalog.default_root() / folder, root / folder)
    toml = root / "screens" / "moderation.toml"
    text = toml.read_text()
    old = 'id = "moderation.pending_reports"\n'
    assert text.count(old) == 1
    toml.write_text(text.replace(old, f'{old}requires = ["{MARKER}"]\n', 1))
    return root


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


class PgServer:
    """A PostgreSQL server the tests may create databases on.

    Attributes:
        admin_dsn: DSN of a maintenance database with CREATEDB rights.
        embedded: the EmbeddedServer when this process owns it (it may stop, restart and
            reconfigure it), else None (OPSCONSOLE_TEST_DSN, or the server the xdist workers
            share).
        disposable: the suite's own server (no fsync): clones copy files (STRATEGY FILE_COPY).
    """

    def __init__(self, admin_dsn: str, embedded_server: embedded.EmbeddedServer | None,
                 *, disposable: bool | None = None) -> None:
        self.admin_dsn = admin_dsn
        self.embedded = embedded_server
        self.disposable = embedded_server is not None if disposable is None else disposable
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
                if self.disposable:  # no fsync: copying the files beats WAL-logging
                    stmt += sql.SQL(" STRATEGY FILE_COPY")  # every page (0.17 s vs 0.24 s)
            conn.execute(stmt)
        self.created.append(name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting its sessions first (``WITH (FORCE)``)."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if name in self.created:
            self.created.remove(name)

    @contextlib.contextmanager
    def database(self, prefix: str, template: str | None = None) -> Iterator[str]:
        """A new database (optionally cloned from ``template``) for the block; yields its DSN
        and drops it afterwards. A drop that fails (the server is down after a fault test) is
        left to the end of the session."""
        name = self.create_database(prefix, template)
        try:
            yield self.dsn_for(name)
        finally:
            with contextlib.suppress(psycopg.Error):
                self.drop_database(name)

    def drop_all(self) -> None:
        """Drop every database this session created and has not dropped yet."""
        for name in list(self.created):
            self.drop_database(name)


def _start_embedded() -> embedded.EmbeddedServer:
    """A new embedded server made disposable (no fsync), its temporary data folder in memory
    (``/dev/shm``) when that is a writable folder with room to spare, else in the usual
    temporary folder."""
    memory = (_MEMORY_DIR.is_dir() and os.access(_MEMORY_DIR, os.W_OK)
              and shutil.disk_usage(_MEMORY_DIR).free > _MEMORY_NEEDED)
    emb = embedded.start(temp_dir=_MEMORY_DIR if memory else None)
    with psycopg.connect(emb.dsn, autocommit=True) as conn:
        for name, value in _DISPOSABLE:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
    return emb


def _stop_embedded(emb: embedded.EmbeddedServer) -> None:
    emb.stop()
    with contextlib.suppress(OSError):
        emb.data_dir.parent.rmdir()  # the mkdtemp folder around data/, now empty


def _seed_template(server: PgServer) -> str:
    """Create the seeded template on ``server``; returns its name (see :func:`template_db`)."""
    name = server.create_database("opsconsole_tmpl")
    dsn = server.dsn_for(name)
    setup.init_schema(dsn)
    setup.seed(dsn, scale=SCALE, seed_value=SEED, anchor=ANCHOR)
    return name


def _build_drift(server: PgServer, template: str) -> str:
    """Create the drifted template on ``server``; returns its name (see :func:`drift_template`)."""
    name = server.create_database("opsconsole_drift_tmpl", template=template)
    with psycopg.connect(server.dsn_for(name)) as conn:  # one transaction
        conn.execute(DRIFT_SQL.read_text(encoding="utf-8").encode())
        conn.execute(_CREATE_READER.encode())
        conn.execute(_GRANT_READER.encode())
    with psycopg.connect(server.dsn_for(name), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return name


# -- one server for all xdist workers --------------------------------------------------------
# Each worker used to start its own server and seed its own templates (~3.5 s of CPU each, all
# of them at once at the start). Under xdist the controller starts one embedded server in a
# thread as soon as pytest is configured, while the workers start and collect, and seeds the
# two templates on it. It holds an exclusive lock on a file until their names are written; a
# worker's first test that needs a database blocks on a shared lock of that file, then reads
# them. Tests that stop or reconfigure a server use :func:`own_server` instead.

_SHARED_ENV = "OPSCONSOLE_TEST_SHARED_SERVER"  # the shared folder, set for the workers
# Read before any test's environment is isolated; OPSCONSOLE_TEST_DSN's server comes first.
_SHARED = None if TEST_DSN else os.environ.get(_SHARED_ENV)


class _Cancelled(Exception):
    """The run ended before the shared server was needed."""


class SharedServer:
    """The xdist controller's embedded server, started and seeded in a background thread.

    ``folder`` (Path) holds ``lock``, locked exclusively until ``ready.json`` holds
    ``{"dsn", "template", "drift"}`` or ``{"error"}``; :meth:`close` stops the server.
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="opsconsole-tests-"))
        self.emb: embedded.EmbeddedServer | None = None
        self._cancelled = threading.Event()
        self._lock = (self.folder / "lock").open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # before any worker can ask
        self.thread = threading.Thread(target=self._run, name="shared-server", daemon=True)
        self.thread.start()

    def _step(self) -> None:
        if self._cancelled.is_set():
            raise _Cancelled

    def _run(self) -> None:
        try:
            self.emb = _start_embedded()
            server = PgServer(self.emb.dsn, self.emb)
            self._step()
            template = _seed_template(server)
            self._step()
            info = {"dsn": self.emb.dsn, "template": template,
                    "drift": _build_drift(server, template)}
        except Exception as exc:  # every worker's first database test says it
            info = {"error": f"the shared test server did not start: {type(exc).__name__}: {exc}"}
        scratch = self.folder / "ready.tmp"
        scratch.write_text(json.dumps(info))
        scratch.replace(self.folder / "ready.json")
        fcntl.flock(self._lock, fcntl.LOCK_UN)

    def close(self) -> None:
        """Stop the server and remove the folder. Still seeding means no test needed it (the
        workers are done): the seed's sessions are ended instead of awaited."""
        if self.thread.is_alive():
            self._cancelled.set()
            emb = self.emb
            if emb is not None:
                with contextlib.suppress(psycopg.Error), \
                        psycopg.connect(emb.dsn, autocommit=True) as conn:
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE backend_type = 'client backend'"
                                 " AND pid <> pg_backend_pid()")
        self.thread.join()
        self._lock.close()
        if self.emb is not None:
            _stop_embedded(self.emb)
        shutil.rmtree(self.folder, ignore_errors=True)


_SHARED_KEY = pytest.StashKey[SharedServer]()


def pytest_configure(config: pytest.Config) -> None:
    """In the xdist controller of a run on the embedded server: start the shared server."""
    distributed = (getattr(config.option, "dist", "no") != "no"
                   and not config.getoption("collectonly")
                   and not hasattr(config, "workerinput"))
    if TEST_DSN or not distributed:
        return
    shared = SharedServer()
    config.stash[_SHARED_KEY] = shared
    os.environ[_SHARED_ENV] = str(shared.folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the shared server (the controller), once the workers are done."""
    shared = config.stash.get(_SHARED_KEY, None)
    if shared is not None:
        os.environ.pop(_SHARED_ENV, None)
        shared.close()


@functools.cache
def _shared_info() -> dict[str, str]:
    """The shared server's DSN and template names, once the controller has seeded them (blocks
    on the lock it holds until then)."""
    assert _SHARED is not None
    folder = Path(_SHARED)
    with (folder / "lock").open() as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            info: dict[str, str] = json.loads((folder / "ready.json").read_text())
        except OSError:
            info = {"error": "the pytest controller ended before the shared test server was "
                             "ready: run the tests again"}
    if "error" in info:
        raise RuntimeError(info["error"])
    return info


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server: OPSCONSOLE_TEST_DSN's, else the embedded server the
    xdist workers share, else (one process) an embedded server of this process's own."""
    if TEST_DSN:
        server = PgServer(TEST_DSN, None)
    elif _SHARED:
        server = PgServer(_shared_info()["dsn"], None, disposable=True)
    else:
        emb = _start_embedded()
        try:
            yield PgServer(emb.dsn, emb)
        finally:
            _stop_embedded(emb)
        return
    try:
        yield server
    finally:
        server.drop_all()


@pytest.fixture(scope="session")
def own_server(pg_server: PgServer) -> Iterator[PgServer]:
    """A server this process may stop, restart and reconfigure (its pg_hba.conf): the session's
    embedded server when this process owns it, else a second embedded server of its own
    (started on first use; the workers share the session's). ``embedded`` is None on
    OPSCONSOLE_TEST_DSN: the tests that need it skip."""
    if pg_server.embedded is not None or TEST_DSN:
        yield pg_server
        return
    emb = _start_embedded()
    try:
        yield PgServer(emb.dsn, emb)
    finally:
        _stop_embedded(emb)


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> str:
    """Name of a database holding the demo schema seeded at scale 1, seed 42, anchor ANCHOR."""
    if _SHARED:
        return _shared_info()["template"]
    return _seed_template(pg_server)


@pytest.fixture(scope="session")
def own_template(own_server: PgServer, pg_server: PgServer, template_db: str) -> str:
    """Name of the seeded template (as :func:`template_db`) on :func:`own_server`."""
    if own_server is pg_server:
        return template_db
    return _seed_template(own_server)


@pytest.fixture(scope="module")
def seeded_dsn(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """DSN of a fresh clone of the seeded template, one per test module (dropped after it)."""
    with pg_server.database("opsconsole_t", template_db) as dsn:
        yield dsn


@pytest.fixture
def empty_dsn(pg_server: PgServer) -> Iterator[str]:
    """DSN of a new empty database (one per test, dropped after it)."""
    with pg_server.database("opsconsole_e") as dsn:
        yield dsn


@pytest.fixture
def fresh_seeded_dsn(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """DSN of a fresh clone of the seeded template, one per test (for tests that write;
    dropped after it)."""
    with pg_server.database("opsconsole_w", template_db) as dsn:
        yield dsn


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
    if _SHARED:
        return _shared_info()["drift"]
    return _build_drift(pg_server, template_db)


@pytest.fixture(scope="module")
def drift_dsn(pg_server: PgServer, drift_template: str) -> Iterator[str]:
    """DSN of a fresh clone of the drifted database, one per test module (as its owner)."""
    with pg_server.database("opsconsole_d", drift_template) as dsn:
        yield dsn


@pytest.fixture
def fresh_drift_dsn(pg_server: PgServer, drift_template: str) -> Iterator[str]:
    """DSN of a fresh clone of the drifted database, one per test (for tests that write)."""
    with pg_server.database("opsconsole_dw", drift_template) as dsn:
        yield dsn


def as_role(dsn: str, role: str) -> str:
    """The same database as ``dsn``, logged in as ``role`` (str)."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["user"] = role
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


@pytest.fixture
def audit_file(isolated_environment: Path) -> Path:
    """The local audit file of the test (under its ``tmp_path``; ``OPSCONSOLE_AUDIT_FILE``)."""
    return isolated_environment


@pytest.fixture
def own_planted(own_server: PgServer, own_template: str) -> Iterator[tuple[str, dict[str, int]]]:
    """As :func:`planted`, on :func:`own_server` (for a test that stops the server)."""
    from tests.test_actions_support import plant

    with own_server.database("opsconsole_w", own_template) as dsn:
        yield dsn, plant(dsn)


@pytest.fixture
def planted(fresh_seeded_dsn: str) -> tuple[str, dict[str, int]]:
    """(dsn, report ids) of a writable clone of the seeded database holding the rows planted
    by ``tests/test_actions_support.py`` (``plant``)."""
    from tests.test_actions_support import plant

    return fresh_seeded_dsn, plant(fresh_seeded_dsn)
