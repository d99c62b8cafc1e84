"""``opsconsole action NAME --param ... [--dry-run | --yes --expect N]``: the guarded actions
from a runbook or a script, with the same guards, confirmation and audit as the TUI.

The sub-commands and their options are built from the catalog's action specs (``[[actions]]``
in screens/*.toml, ``--catalog DIR`` included): each parameter's option, its choices as
``--on/--off``-style switches, its help. Values are checked by the engine against the types the
server gives the action's statements, and named here the way this face takes them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import psycopg

from opsconsole.actions import common, definition, engine, guards
from opsconsole.actions.model import Face, Progress, Result, Status
from opsconsole.actions.params import ParamError
from opsconsole.actions.session import ActionContext, Session, default_audit_file, open_session
from opsconsole.catalog import ActionSpec, Catalog, ParamSpec
from opsconsole.cli import output
from opsconsole.cli.commands import load_catalog_at
from opsconsole.connection import config, db
from opsconsole.errors import BadInput, ConnectionFailed, DatabaseFailure, OpsError, Refused
from opsconsole.render import actions as render
from opsconsole.sanitize import clean

EPILOG = """\
every action: preview first (--dry-run), then apply with --yes --expect N, N being the row count
the preview showed; a production profile also needs --confirm-env production. Writes are off
unless the profile says writes = true, or no profile speaks (a bare --dsn) and --allow-writes
is given: --allow-writes never overrides a profile's writes = false.

exit codes:
  0  applied, dry-run, or nothing to do
  2  bad input (a parameter, option, DSN or profile)
  3  cannot connect to the server (or the connection was lost before anything was written)
  4  refused by a guard (writes off, read-only session, replica, missing privilege, row-level
     security, missing audit table, not installed here, a statement this database cannot run,
     count or environment not confirmed, already running in another session)
  5  database failure or aborted (what committed before is reported exactly: the run id,
     batches, rows and audit id range), also after a second ctrl+c

--format json prints one object, also on bad input and a lost connection:
  {"action", "status": "applied|dry-run|refused|aborted|nothing-to-do|bad-input|
   cannot-connect", "previewed", "affected", "skipped", "batches", "audit_ids", "values",
   "message", "run_id", "skipped_keys"}
"""

CLI_FACE = Face(
    writes_hint="pass --allow-writes, or set writes = true in the profile",
    confirm="pass --yes --expect {count}",
    confirm_env="pass --yes --expect {count} --confirm-env {env}",
    param=lambda p: p.cli_option,
)
STATUS_OF: dict[type[OpsError], Status] = {
    BadInput: "bad-input", ConnectionFailed: "cannot-connect", Refused: "refused",
    DatabaseFailure: "aborted",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises BadInput (one line) instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _connection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--dsn", default=argparse.SUPPRESS, help="libpq DSN or URI; - for stdin")
    group.add_argument("--dsn-file", default=argparse.SUPPRESS, metavar="PATH",
                       help="read the DSN from this file (keeps a password out of `ps`)")
    group.add_argument("--profile", default=argparse.SUPPRESS, help="profile from the config")
    group.add_argument("--catalog", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help="folder holding queries/ and screens/")


def _common(parser: argparse.ArgumentParser, spec: ActionSpec) -> None:
    mode = parser.add_argument_group("preview and confirm")
    mode.add_argument("--dry-run", action="store_true", help="preview only, write nothing")
    mode.add_argument("--yes", action="store_true", help="apply (needs --expect N)")
    mode.add_argument("--expect", metavar="N", help="the row count the preview showed")
    mode.add_argument("--confirm-env", metavar="NAME",
                      help="a production profile's environment name, typed to confirm")
    mode.add_argument("--allow-writes", action="store_true",
                      help="switch writes on for a DSN no profile speaks for (never "
                           "overrides a profile's writes = false)")
    mode.add_argument("--format", choices=("text", "json"), default="text")
    if spec.batched:
        mode.add_argument("--batch-size", metavar="N", default=str(common.DEFAULT_BATCH_SIZE),
                          help=f"rows per transaction (default {common.DEFAULT_BATCH_SIZE})")
    _connection(parser)


def _param(parser: argparse.ArgumentParser, param: ParamSpec) -> None:
    dest = f"p_{param.name}"
    if param.positional:
        parser.add_argument(dest, metavar=param.cli_option, help=param.help)
    elif param.flag:
        parser.add_argument(param.cli_option, dest=dest, action="store_true", help=param.help)
    elif param.choices and param.choices[0].option:
        group = parser.add_mutually_exclusive_group()
        for choice in param.choices:
            group.add_argument(str(choice.option), dest=dest, action="store_const",
                               const=choice.value, help=choice.help or choice.label)
    else:
        listed = (" (one of: " + ", ".join(str(c.value) for c in param.choices) + ")"
                  if param.choices else "")
        parser.add_argument(param.cli_option, dest=dest, metavar=param.metavar or "VALUE",
                            help=param.help + listed)


def build_parser(cat: Catalog) -> argparse.ArgumentParser:
    """The ``opsconsole action`` parser for the catalog's actions (argparse.ArgumentParser)."""
    parser = _Parser(
        prog="opsconsole action",
        description="Run a guarded action: preview, confirm the count, apply, audit, undo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection(parser)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    for _, spec in definition.every(cat):
        p = sub.add_parser(spec.name, help=spec.title, description=f"{spec.title} ({spec.source})",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        for param in spec.params:
            _param(p, param)
        _common(p, spec)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run ``opsconsole action``; returns the exit code (int). Never raises for user errors."""
    argv = list(argv)
    fmt = _format_of(argv)
    try:
        cat = load_catalog_at(_catalog_of(argv))
        args = build_parser(cat).parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except OpsError as exc:
        return _fail(exc, fmt, None)
    if not args.action:
        build_parser(cat).print_help()
        return 2
    try:
        return _run(args, cat)
    except OpsError as exc:
        return _fail(exc, args.format, args.action)
    except psycopg.Error as exc:
        return _fail(_database_error(args.action, exc), args.format, args.action)


def _format_of(argv: list[str]) -> str:
    for i, token in enumerate(argv):
        if token == "--format=json" or (token == "--format" and argv[i + 1:i + 2] == ["json"]):
            return "json"
    return "text"


def _catalog_of(argv: list[str]) -> Path | None:
    for i, token in enumerate(argv):
        if token.startswith("--catalog="):
            return Path(token.split("=", 1)[1])
        if token == "--catalog" and i + 1 < len(argv):
            return Path(argv[i + 1])
    return None


def _database_error(action: str, exc: psycopg.Error) -> OpsError:
    reason = db.describe_error(exc)
    if isinstance(exc, psycopg.OperationalError):
        return ConnectionFailed(f"{action}: lost the connection to the server ({reason})")
    return DatabaseFailure(f"{action}: the database failed: {reason}")


def _fail(exc: OpsError, fmt: str, action: str | None) -> int:
    message = exc.worded(CLI_FACE.param) if isinstance(exc, ParamError) else exc.message
    if fmt == "json":
        status: Status = next(
            (s for kind, s in STATUS_OF.items() if isinstance(exc, kind)), "aborted")
        result = Result(action or "", status, message=message)
        _emit(json.dumps(result.as_dict(), default=str))
    output.error(message)
    return exc.exit_code


def _run(args: argparse.Namespace, cat: Catalog) -> int:
    _, spec = definition.find(cat, args.action)
    raw = {p.name: getattr(args, f"p_{p.name}", None) for p in spec.params}
    expect = _mode(args)
    batch_size = _int_option("--batch-size", getattr(args, "batch_size", None),
                             common.DEFAULT_BATCH_SIZE, common.MAX_BATCH_SIZE)
    resolved = config.resolve(getattr(args, "dsn", None), getattr(args, "profile", None),
                              dsn_file=getattr(args, "dsn_file", None))
    ctx = ActionContext(
        dsn=resolved.dsn, profile=resolved.profile, catalog=cat,
        writes_enabled=resolved.writes_allowed(args.allow_writes),
        audit_file=default_audit_file(resolved),
        face=dataclasses.replace(CLI_FACE, writes_hint=resolved.writes_refusal(args.allow_writes)),
    )
    with open_session(ctx) as session:
        if not args.dry_run:
            guards.check_writes(session, ctx, spec.name)
        action = engine.define(session, ctx, spec.name)
        params = action.parse(raw)
        preview = engine.prepare(session, ctx, action, params, batch_size=batch_size)
        if args.format == "text" and not _emit(render.preview_text(preview)) and not args.dry_run:
            raise Refused(f"{spec.name}: output closed before the confirmation: nothing written")
        if args.dry_run:
            result = engine.dry_run(preview, engine.would_refuse(session, ctx, preview))
        else:
            guards.check_confirmation(preview, ctx, expect=expect, typed_env=args.confirm_env)
            with _ctrl_c(session) as cancel:
                result = engine.apply(session, ctx, action, preview, cancel=cancel,
                                      on_progress=_progress)
    _print(result, args.format)
    return result.exit_code


def _mode(args: argparse.Namespace) -> int | None:
    if args.dry_run and args.yes:
        raise BadInput("give either --dry-run or --yes --expect N, not both")
    if not args.dry_run and not args.yes:
        raise BadInput("preview with --dry-run, or apply with --yes --expect N")
    if args.yes and args.expect is None:
        raise BadInput("--yes needs --expect N: the row count the preview (--dry-run) showed")
    if args.dry_run:
        return None
    return _int_option("--expect", args.expect, 0, 10**12, low=0)


def _int_option(option: str, raw: Any, default: int, high: int, low: int = 1) -> int:
    if raw is None:
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise BadInput(f"{option} {clean(str(raw), 40)!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadInput(f"{option} must be between {low} and {high}")
    return value


@contextlib.contextmanager
def _ctrl_c(session: Session) -> Iterator[threading.Event]:
    """First ctrl+c: stop after the batch in flight. Second: cancel the statement in flight on
    the server (that batch rolls back). Never an exception: the report always follows."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            output.error("interrupting the batch in flight (it is rolled back); the report "
                         "follows")
            with contextlib.suppress(Exception):
                session.conn.cancel()
            return
        cancel.set()
        output.error("stopping after the current batch (ctrl+c again to interrupt it)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress(p: Progress) -> None:
    output.note(f"  batch {p.batch_no}/{p.batches} committed: {p.affected} of {p.previewed} "
                f"rows (audit {p.audit_id})")


def _emit(text: str) -> bool:
    """Print to stdout, cleaned; False when the reader went away (e.g. `| head`), quietly."""
    return output.out(text)


def _print(result: Result, fmt: str) -> None:
    if fmt == "json":
        _emit(json.dumps(result.as_dict(), default=str))
    else:
        _emit(render.result_text(result))
    warning = result.values.get("audit_file_warning")
    if warning:
        output.warn(clean(warning))
    if result.exit_code:
        output.error(result.message)
