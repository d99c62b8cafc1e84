"""The CLI's commands (``db``, ``demo``, ``check``, ``doctor``, ``tui``), one function each.

Each takes the parsed ``argparse.Namespace`` and returns the exit code (int); failures are
raised as :class:`~opsconsole.errors.OpsError` and printed as one line by :mod:`opsconsole.cli`.
The connection options may be absent from the namespace (their default is SUPPRESS, so that
they mean the same before and after the command): read them with :func:`given`. Everything
reaches the terminal through :mod:`opsconsole.cli.output`.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from opsconsole import catalog
from opsconsole.cli import output
from opsconsole.connection import config, db, dsn
from opsconsole.errors import BadInput, ConnectionFailed, OpsError

if TYPE_CHECKING:
    from opsconsole.catalog import Catalog
    from opsconsole.checks import CheckResult
    from opsconsole.render.report import Previous

DEMO_DB = "opsconsole_demo"
DEFAULT_CHECK_DEADLINE_S = 30.0


def given(args: argparse.Namespace, name: str) -> Any:
    """A connection option's value, or None when it was given nowhere."""
    return getattr(args, name, None)


def resolve(args: argparse.Namespace) -> config.Resolved:
    """The connection by the documented order, from ``--dsn``/``--dsn-file``/``--profile``.

    Raises:
        BadInput: an unknown profile, an invalid config, an empty or unreadable DSN option.
    """
    return config.resolve(
        given(args, "dsn"), given(args, "profile"), dsn_file=given(args, "dsn_file")
    )


def load_catalog(args: argparse.Namespace) -> Catalog:
    """The catalog of ``--catalog DIR``, else ``OPSCONSOLE_CATALOG``, else the shipped one.

    Raises:
        BadInput: the folder or a spec in it is invalid (one line naming the file).
    """
    return load_catalog_at(given(args, "catalog"))


def load_catalog_at(option: Path | None) -> Catalog:
    """The catalog of the ``--catalog`` value ``option``, else ``OPSCONSOLE_CATALOG``, else the
    shipped one.

    Raises:
        BadInput: the folder or a spec in it is invalid (one line naming the file; when the
            folder came from the environment, also the variable).
    """
    folder, variable = config.catalog_folder(option)
    try:
        return catalog.load(folder)
    except BadInput as exc:
        if variable is None:
            raise
        text = str(exc).replace("point --catalog at", f"point {variable} (or --catalog) at")
        raise BadInput(f"{variable}: {text}") from None


def _refuse(args: argparse.Namespace, names: tuple[str, ...], why: str) -> None:
    for name in names:
        if given(args, name) is not None:
            raise BadInput(f"--{name.replace('_', '-')}: {why}")


def db_command(args: argparse.Namespace) -> int:
    """``opsconsole db init|seed --dsn DSN``: create or fill the demo schema."""
    from opsconsole.demo import setup

    what = f"db {args.db_command}"
    _refuse(args, ("profile", "catalog"), f"not used by {what}: give the database with --dsn")
    target_dsn = config.read_dsn_option(given(args, "dsn"), given(args, "dsn_file"))
    if target_dsn is None:
        raise BadInput(f"{what} needs the database it writes: --dsn DSN (or --dsn-file PATH, "
                       "--dsn - for stdin)")
    if args.db_command == "init":
        result = setup.init_schema(target_dsn)
    else:
        result = setup.seed(target_dsn, scale=args.scale, seed_value=args.seed)
    output.out(f"{result.message} ({result.elapsed_s:.1f} s) on {dsn.target(target_dsn).label()}")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """``opsconsole demo``: embedded server, schema, data, then the console (or wait).

    The server stops when the command ends, also on SIGHUP (the terminal closed, an SSH
    session dropped) and SIGTERM.
    """
    from opsconsole.demo import server, setup

    _refuse(args, ("dsn", "dsn_file", "profile"),
            "demo runs its own server; for another database use `opsconsole --dsn DSN tui`")
    if not 1 <= args.scale <= setup.MAX_SCALE:
        raise BadInput(f"--scale must be between 1 and {setup.MAX_SCALE} (got {args.scale})")
    cat = load_catalog(args)
    started = time.monotonic()
    if not args.no_tui:  # the console loads while the server starts and the seed runs
        threading.Thread(target=importlib.import_module, args=("opsconsole.tui.app",),
                         name="opsconsole-import", daemon=True).start()
    emb = server.start(args.data_dir)
    with _stop_on_hangup(emb):
        try:
            output.error(f"demo server up in {time.monotonic() - started:.1f} s; seeding the "
                         f"demo data, scale {args.scale} (about {3 * args.scale} s)")
            demo_dsn = _prepare_demo(emb, args.scale, args.seed)
            output.error(f"demo database ready in {time.monotonic() - started:.1f} s")
            output.error(f"psql '{demo_dsn}'")
            if args.writes:
                output.error("writes allowed (--writes): press w in the console for write mode, "
                             "then an action's key; the Audit screen (9) undoes it")
            if args.no_tui:
                output.error("press ctrl+c to stop the server")
                while True:
                    time.sleep(3600)
            return _run_tui(demo_resolved(demo_dsn, writes=args.writes), cat)
        finally:
            output.error(server.stop_message(emb, emb.stop(), bool(args.data_dir)))


def demo_resolved(demo_dsn: str, *, writes: bool = False) -> config.Resolved:
    """The connection of ``opsconsole demo``: the profile 'demo', environment dev, which may
    write only with ``--writes`` (the demo database is a throwaway local one; write mode is
    still switched on with ``w`` and every action still previews, confirms and audits)."""
    profile = config.Profile(name="demo", environment="dev", writes=writes)
    return config.Resolved(demo_dsn, "demo", profile, config.Defaults())


@contextmanager
def _stop_on_hangup(emb: Any) -> Iterator[None]:
    """Stop the server on SIGHUP and SIGTERM, then end (exit 128 + the signal's number)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        emb.stop()
        raise SystemExit(128 + signum)

    signals = (signal.SIGHUP, signal.SIGTERM)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


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
    """``opsconsole check``: every check once; exit 0/1/2/3 (monitoring-plugin convention).

    The whole run (connect and every query) is bounded by ``--timeout`` (default 30 s) on
    the client side; anything that cannot be evaluated is UNKNOWN (3), with the format's
    error document on stdout (or ``--output``) and one line on stderr.
    """
    from opsconsole import checks
    from opsconsole.checks.pool import DEFAULT_JOBS
    from opsconsole.render import report

    started = time.monotonic()
    try:
        resolved = resolve(args)
        target = dsn.target(resolved.dsn)  # a malformed DSN fails here, before any I/O
        monitor = resolved.profile.replica_dsn or resolved.dsn
        cat = load_catalog(args)
        only = _only(cat, args.only)
        deadline_s = args.timeout or DEFAULT_CHECK_DEADLINE_S
        timeout_ms = resolved.statement_timeout_ms
        if args.timeout:
            timeout_ms = max(1, min(timeout_ms, int(args.timeout * 1000)))
        jobs = given(args, "jobs") or DEFAULT_JOBS
        results = db.run_with_deadline(
            lambda deadline: _run_checks(deadline, monitor, cat, only, timeout_ms, jobs=jobs),
            deadline_s,
            dsn.target(monitor).label(),
            started=started,
        )
    except OpsError as exc:
        return check_failed(exc.message, args.format, args.output)
    status = checks.worst(results, count_not_installed=bool(only))
    previous, state_file = _state(args, resolved, results)
    if args.format == "json":
        text = report.as_json(results, status, target, datetime.now(UTC), previous=previous,
                              state_file=state_file) + "\n"
    elif args.format == "prometheus":
        text = report.as_prometheus(results, status)
    else:
        text = report.as_text(results, status, target, width=_text_width(args),
                              previous=previous) + "\n"
    try:
        _deliver(text, args.output)
    except OpsError as exc:
        output.error(exc.message)
        return 3
    return int(status)


def _text_width(args: argparse.Namespace) -> int | None:
    """How wide ``check``'s text lines may be: ``--width N`` (0: never cut), else the
    terminal's width when stdout is one (and no ``--output``), else None: whole lines, so a
    cron mail or a pipe gets every word."""
    import shutil
    import sys

    width = getattr(args, "width", None)
    if width is not None:
        return width or None
    if args.output is not None or not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((80, 24)).columns


def history_name(resolved: config.Resolved) -> str:
    """The name of the check history a connection keeps (checks.history.history_path): the
    profile's name, or without a profile the target's label (``user@host:port/db``)."""
    from opsconsole.checks.history import history_name as name

    return name(resolved)


def _state(
    args: argparse.Namespace, resolved: config.Resolved, results: list[CheckResult]
) -> tuple[dict[str, Previous] | None, str | None]:
    """``check --state``: each check's last run from the profile's history, which then
    records this run (atomically; a history that cannot be read starts empty, one that cannot
    be written is left as it was). Without ``--state``: (None, None) and nothing is written.

    Returns:
        (check id -> report.Previous, the history file as text), or (None, None).
    """
    if not getattr(args, "state", False):
        return None, None
    from opsconsole.checks.history import History, history_path
    from opsconsole.render.report import Previous

    path = history_path(history_name(resolved))
    history = History.load(path)
    previous = {r.id: Previous(history.previous(r.id, r.checked_at), r.value) for r in results}
    history.record(results)
    history.save()
    return previous, str(path)


def _only(cat: Catalog, names: list[str] | None) -> list[str] | None:
    from opsconsole import checks

    if not names:
        return None
    try:
        checks.select(cat, names)
    except KeyError as exc:
        screens = ", ".join(s.title for s in cat.screens)
        raise BadInput(f"--only: no check or screen named {exc.args[0]} (screens: {screens}; "
                       "every check id: `opsconsole doctor`)") from None
    return names


def _run_checks(deadline: db.Deadline, monitor_dsn: str, cat: Catalog, only: list[str] | None,
                timeout_ms: int, *, jobs: int = 1) -> list[CheckResult]:
    """Every check on one session (``jobs`` 1), or on it and ``jobs - 1`` more at once, all
    watched by the deadline; results in catalog order either way."""
    from opsconsole import checks

    try:
        with db.connect(monitor_dsn, statement_timeout_ms=timeout_ms, deadline=deadline) as conn:
            if jobs <= 1:
                return checks.run_all(conn, cat, only=only)  # verifies the catalog first
            from opsconsole.checks.pool import CheckPool

            with CheckPool(monitor_dsn, size=jobs - 1, statement_timeout_ms=timeout_ms,
                           deadline=deadline) as pool:
                return checks.run_all(conn, cat, only=only, pool=pool, jobs=jobs)
    except psycopg.Error as exc:  # lost while the server verified the statements
        first = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise ConnectionFailed(
            f"lost the connection to {dsn.target(monitor_dsn).label()} "
            f"({dsn.mask_text(first, monitor_dsn)}): check the server and retry"
        ) from None


def _deliver(text: str, path: Path | None) -> None:
    """Text (already cleaned or escaped) to ``--output`` atomically, or to stdout."""
    from opsconsole.sanitize import clean_lines

    if path is not None:
        output.write_atomic(path, clean_lines(text))
    else:
        output.out(text, end="")


def check_failed(message: str, fmt: str = "text", path: Path | None = None) -> int:
    """End a check that could not be evaluated: UNKNOWN, exit 3.

    Prints the format's error document (JSON ``{"status": "UNKNOWN", "exit_code": 3,
    "error"}``, the Prometheus run status, or for text nothing) on stdout, or writes it to
    ``path`` atomically, and one line on stderr.

    Returns:
        3 (int).
    """
    from opsconsole.render import report

    docs = {
        "json": report.error_json(message, datetime.now(UTC)) + "\n",
        "prometheus": report.error_prometheus(),
        "text": report.error_text(message) + "\n",
    }
    text = docs.get(fmt, docs["text"])
    try:
        if path is not None:
            _deliver(text, path)
        elif fmt != "text":
            _deliver(text, None)
    except OpsError as exc:  # still one line: both failures
        message = f"{message}; also {exc.message}"
    output.error(message)
    return 3


def doctor_command(args: argparse.Namespace) -> int:
    """``opsconsole doctor``: every check, table and action: runnable, or why not and what to
    edit; exit 0 when everything installed is runnable, 1 when something cannot run."""
    from opsconsole.cli import doctor

    resolved = resolve(args)
    where = dsn.target(resolved.dsn)
    cat = load_catalog(args)
    diagnosis = doctor.diagnose(cat, resolved.dsn)
    if args.format == "json":
        output.raw(doctor.as_json(diagnosis, where) + "\n")
    else:
        output.out(doctor.as_text(diagnosis, where))
    return diagnosis.exit_code


def tui_command(args: argparse.Namespace) -> int:
    """``opsconsole [tui]``: open the console on the resolved DSN."""
    cat = load_catalog(args)
    resolved = resolve(args)
    return _run_tui(resolved, cat)


def _run_tui(resolved: config.Resolved, cat: Catalog) -> int:
    """The console on ``resolved``; its first checks start before Textual is imported (the
    database works while the interface loads: tui/early.py)."""
    from opsconsole.tui import early
    from opsconsole.tui.settings import ConsoleSettings

    monitor = early.monitor_for(resolved, cat)
    first_pass = early.start_first_pass(monitor, cat, ConsoleSettings().clock)
    from opsconsole.tui.app import run

    return run(resolved, cat, monitor=monitor, first_pass=first_pass)
