"""``opsconsole action NAME --param ... [--dry-run | --yes --expect N]``: the guarded actions
from a runbook or a script, with the same guards, confirmation and audit as the TUI."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from opsconsole import catalog
from opsconsole.actions import common, engine, guards
from opsconsole.actions.model import Progress, Result
from opsconsole.actions.params import parse as parse_params
from opsconsole.actions.registry import ACTIONS, ActionDef
from opsconsole.actions.session import ActionContext, default_audit_file, open_session
from opsconsole.cli import output
from opsconsole.connection import config
from opsconsole.errors import BadInput, OpsError, Refused
from opsconsole.render import actions as render

EPILOG = """\
every action: preview first (--dry-run), then apply with --yes --expect N, N being the row count
the preview showed; a production profile also needs --confirm-env production. Writes are off
unless the profile says writes = true, or no profile speaks (a bare --dsn) and --allow-writes
is given: --allow-writes never overrides a profile's writes = false.

exit codes:
  0  applied, dry-run, or nothing to do
  2  bad input (a parameter, option, DSN or profile)
  3  cannot connect to the server
  4  refused by a guard (writes off, read-only session, replica, missing privilege, missing
     audit table, count or environment not confirmed, already running in another session)
  5  database failure or aborted (what committed before is reported exactly)

--format json prints one object:
  {"action", "status": "applied|dry-run|refused|aborted|nothing-to-do", "previewed",
   "affected", "skipped", "batches", "audit_ids", "values", "message", "run_id", "skipped_keys"}
"""


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


def _common(parser: argparse.ArgumentParser, action: ActionDef) -> None:
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
    if action.batched:
        mode.add_argument("--batch-size", metavar="N", default=str(common.DEFAULT_BATCH_SIZE),
                          help=f"rows per transaction (default {common.DEFAULT_BATCH_SIZE})")
    _connection(parser)


def _params(name: str, parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    if name == "backfill-guest":
        add("--guest-id", metavar="UUID")
        add("--user-id", metavar="UUID")
    elif name == "replay-jobs":
        add("--job-id", metavar="UUID", help="one failed job")
        add("--last-error", metavar="TEXT", help="every failed job with exactly this last_error")
        add("--no-last-error", action="store_true", help="failed jobs whose last_error is NULL")
        add("--purpose", metavar="P", help="every failed job of this purpose")
    elif name == "reenqueue-coordination":
        add("--linkup-id", metavar="UUID")
    elif name in ("set-flag", "set-trigger"):
        add("--name", metavar="NAME")
        on, off = ("--on", "--off") if name == "set-flag" else ("--enable", "--disable")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(on, dest="enabled", action="store_const", const=True)
        group.add_argument(off, dest="enabled", action="store_const", const=False)
    elif name == "resolve-report":
        add("--report-id", metavar="ID")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--dismiss", dest="decision", action="store_const", const="dismiss")
        group.add_argument("--uphold", dest="decision", action="store_const", const="uphold",
                           help="also soft-delete the reported message")
    elif name == "undo":
        add("audit_id", metavar="AUDIT_ID", help="opsconsole.audit_log id to revert")
        add("--run", dest="whole_run", action="store_true",
            help="revert every batch of that audit row's run")


PARAM_KEYS = ("guest_id", "user_id", "job_id", "last_error", "no_last_error", "purpose",
              "linkup_id", "name", "enabled", "report_id", "decision", "audit_id", "whole_run")


def build_parser() -> argparse.ArgumentParser:
    """The ``opsconsole action`` parser (argparse.ArgumentParser)."""
    parser = _Parser(
        prog="opsconsole action",
        description="Run a guarded action: preview, confirm the count, apply, audit, undo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection(parser)
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, action in ACTIONS.items():
        p = sub.add_parser(name, help=action.title, description=f"{action.title} ({action.source})",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        _params(name, p)
        _common(p, action)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run ``opsconsole action``; returns the exit code (int). Never raises for user errors."""
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except OpsError as exc:
        return _fail(exc)
    if not args.action:
        build_parser().print_help()
        return 2
    try:
        return _run(args)
    except OpsError as exc:
        return _fail(exc, args)


def _fail(exc: OpsError, args: argparse.Namespace | None = None) -> int:
    if args is not None and isinstance(exc, Refused) and args.format == "json":
        result = Result(args.action, "refused", message=exc.message)
        _emit(json.dumps(result.as_dict(), default=str))
    output.error(exc.message)
    return exc.exit_code


def _run(args: argparse.Namespace) -> int:
    action = ACTIONS[args.action]
    raw = {k: getattr(args, k) for k in PARAM_KEYS if hasattr(args, k)}
    params = parse_params(action.params, raw, action.name)
    expect = _mode(args)
    batch_size = _int_option("--batch-size", getattr(args, "batch_size", None),
                             common.DEFAULT_BATCH_SIZE, common.MAX_BATCH_SIZE)
    resolved = config.resolve(getattr(args, "dsn", None), getattr(args, "profile", None),
                              dsn_file=getattr(args, "dsn_file", None))
    cat = catalog.load(getattr(args, "catalog", None))
    ctx = ActionContext(
        dsn=resolved.dsn, profile=resolved.profile, catalog=cat,
        writes_enabled=resolved.writes_allowed(args.allow_writes),
        writes_hint=resolved.writes_refusal(args.allow_writes),
        audit_file=default_audit_file(resolved),
    )
    with open_session(ctx) as session:
        if not args.dry_run:
            guards.check_writes(session, ctx, action.name)
        preview = engine.prepare(session, ctx, action, params, batch_size=batch_size)
        if args.format == "text" and not _emit(render.preview_text(preview)) and not args.dry_run:
            raise Refused(f"{action.name}: output closed before the confirmation: nothing written")
        if args.dry_run:
            result = engine.dry_run(preview, engine.would_refuse(session, ctx, preview))
        else:
            guards.check_confirmation(preview, ctx, expect=expect, typed_env=args.confirm_env)
            with _ctrl_c() as cancel:
                result = engine.apply(session, ctx, action, preview, cancel=cancel,
                                      on_progress=_progress if args.format == "text" else None)
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
        raise BadInput(f"{option} {str(raw)[:40]!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadInput(f"{option} must be between {low} and {high}")
    return value


@contextmanager
def _ctrl_c() -> Iterator[threading.Event]:
    """First ctrl+c: stop after the batch in flight; second: interrupt at once."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        output.error("stopping after the current batch (ctrl+c again to interrupt)")

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
    if result.exit_code:
        output.error(result.message)
