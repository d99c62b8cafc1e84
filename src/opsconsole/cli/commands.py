"""The CLI's commands (``db``, ``demo``, ``check``, ``doctor``, ``tui``), one function each.

Each takes the parsed ``argparse.Namespace`` and returns the exit code (int); failures are
raised as :class:`~opsconsole.errors.OpsError` and printed as one line by :mod:`opsconsole.cli`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from psycopg import sql

from opsconsole import catalog
from opsconsole.connection import config, db, dsn
from opsconsole.errors import BadInput, OpsError

DEMO_DB = "opsconsole_demo"


def db_command(args: argparse.Namespace) -> int:
    """``opsconsole db init|seed --dsn DSN``: create or fill the demo schema."""
    from opsconsole.demo import setup

    if args.db_command == "init":
        result = setup.init_schema(args.dsn)
    else:
        result = setup.seed(args.dsn, scale=args.scale, seed_value=args.seed)
    print(f"{result.message} ({result.elapsed_s:.1f} s) on {dsn.target(args.dsn).label()}")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """``opsconsole demo``: embedded server, schema, data, then the console (or wait)."""
    from opsconsole.demo import server, setup

    if not 1 <= args.scale <= setup.MAX_SCALE:
        raise BadInput(f"--scale must be between 1 and {setup.MAX_SCALE} (got {args.scale})")
    started = time.monotonic()
    emb = server.start(args.data_dir)
    try:
        demo_dsn = _prepare_demo(emb, args.scale, args.seed)
        print(f"demo database ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        print(f"  psql '{demo_dsn}'", file=sys.stderr)
        if args.no_tui:
            print("press ctrl+c to stop the server", file=sys.stderr)
            while True:
                time.sleep(3600)
        resolved = config.Resolved(demo_dsn, "demo", config.Profile(name="demo"), config.Defaults())
        return _run_tui(resolved, args.catalog)
    finally:
        emb.stop()
        if args.data_dir:
            print(f"server stopped; data kept in {emb.data_dir}", file=sys.stderr)


def _prepare_demo(emb: Any, scale: int, seed_value: int) -> str:
    from opsconsole.demo import setup

    with db.connect(emb.dsn, read_only=False) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DEMO_DB,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEMO_DB)))
    demo_dsn = emb.dsn_for(DEMO_DB)
    setup.init_schema(demo_dsn)
    try:
        setup.seed(demo_dsn, scale=scale, seed_value=seed_value)
    except OpsError as exc:
        if "already seeded" not in exc.message:
            raise
    return str(demo_dsn)


def check_command(args: argparse.Namespace) -> int:
    """``opsconsole check``: every check once; exit 0/1/2/3 (monitoring-plugin convention)."""
    from datetime import UTC, datetime

    from opsconsole import checks
    from opsconsole.catalog import introspect
    from opsconsole.render import report

    try:
        cat = catalog.load(args.catalog)
        resolved = config.resolve(args.dsn, args.profile)
        only = args.only
        if only:
            try:
                checks.select(cat, only)
            except KeyError as exc:
                raise BadInput(
                    f"--only: no check or screen named {exc.args[0]}: see `opsconsole doctor`"
                ) from None
        timeout_ms = int(args.timeout * 1000) if args.timeout else resolved.statement_timeout_ms
        if timeout_ms <= 0:
            raise BadInput("--timeout must be a positive number of seconds")
        target = dsn.target(resolved.dsn)
        with db.connect(
            resolved.profile.replica_dsn or resolved.dsn, statement_timeout_ms=timeout_ms
        ) as conn:
            schema = introspect.inspect(conn, cat)
            results = checks.run_all(conn, cat, schema, only=only)
    except OpsError as exc:
        print(f"opsconsole: {exc.message}", file=sys.stderr)
        return 3
    status = checks.worst(results, count_not_installed=bool(only))
    now = datetime.now(UTC)
    if args.format == "json":
        print(report.as_json(results, status, target, now))
    elif args.format == "prometheus":
        sys.stdout.write(report.as_prometheus(results))
    else:
        print(report.as_text(results, status, target))
    return int(status)


def doctor_command(args: argparse.Namespace) -> int:
    """``opsconsole doctor``: every check, table and action: runnable, or why not and what to
    edit; exit 0 when everything installed is runnable, 1 when something cannot run."""
    from opsconsole.cli import doctor

    cat = catalog.load(args.catalog)
    resolved = config.resolve(args.dsn, args.profile)
    diagnosis = doctor.diagnose(cat, resolved.dsn)
    target = dsn.target(resolved.dsn)
    if args.format == "json":
        print(doctor.as_json(diagnosis, target))
    else:
        print(doctor.as_text(diagnosis, target))
    return diagnosis.exit_code


def tui_command(args: argparse.Namespace) -> int:
    """``opsconsole [tui]``: open the console on the resolved DSN."""
    resolved = config.resolve(args.dsn, args.profile)
    return _run_tui(resolved, args.catalog)


def _run_tui(resolved: config.Resolved, catalog_dir: Path | None) -> int:
    cat = catalog.load(catalog_dir)
    from opsconsole.tui.app import run

    return run(resolved, cat)
