"""Entry point: ``opsconsole [OPTIONS] [tui|demo|check|doctor|action|db|catalog] [OPTIONS] ...``.

The connection options (``--dsn``, ``--dsn-file``, ``--profile``, ``--catalog``) mean the same
before and after the command: every parser shares one parent whose defaults are
``argparse.SUPPRESS``, so a subcommand never overwrites what the top level read. ``action`` has
its own parser (one subparser per action); :func:`main` hands it everything but the word
``action``, so ``opsconsole --dsn X action NAME`` and ``opsconsole action NAME --dsn X`` agree.

Headless commands never import Textual (``opsconsole --version`` and ``check`` stay fast).
Every failure a user can meet ends as one line on stderr (through
:mod:`opsconsole.cli.output`) with the exit code of its class (see :mod:`opsconsole.errors`);
``check`` exits with the monitoring-plugin codes 0-3, so anything it cannot evaluate, bad
arguments included, is 3.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from opsconsole import __version__
from opsconsole.cli import output
from opsconsole.errors import BadInput, OpsError

EPILOG = """\
connection options go before or after the command: opsconsole --profile staging check
  equals opsconsole check --profile staging. Prefer a profile whose password is in
  ~/.pgpass; --dsn - (stdin) or --dsn-file PATH keep a password out of `ps`.

exit codes: check follows the monitoring-plugin convention (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN, also for bad arguments, an unreachable server or a bad DSN); other commands exit
0 on success, 2 on bad input, 3 when the server cannot be reached, 4 when a guard refuses,
5 on a database failure. See `opsconsole action --help` for actions.
"""
MAX_TIMEOUT_S = 3600.0
DEFAULT_JOBS, MAX_JOBS = 3, 8  # check --jobs (opsconsole.checks.pool, not imported here: fast)
MIN_WIDTH, MAX_WIDTH = 20, 1000  # check --width
INTERNAL_ERROR = 70  # EX_SOFTWARE, for other commands; check still says 3 (UNKNOWN)


class _Parser(argparse.ArgumentParser):
    """argparse that raises BadInput (one line) instead of printing usage and exiting 2, and
    takes no abbreviations (``--prof`` is not ``--profile``: the same words everywhere)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("opsconsole").strip()
        where = f"{command}: " if command else ""
        raise BadInput(f"{where}{message} (see `{self.prog} --help`)")


def connection_options() -> _Parser:
    """The parent parser of the options every command takes before or after its name.

    Their defaults are SUPPRESS: an option absent from the namespace was not given anywhere.
    """
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("connection (before or after the command)")
    add = group.add_argument
    add("--dsn", default=argparse.SUPPRESS, metavar="DSN",
        help="libpq DSN or postgresql:// URI; '-' reads it from stdin (default: see README)")
    add("--dsn-file", default=argparse.SUPPRESS, metavar="PATH",
        help="read the DSN from this file (keeps a password out of `ps`)")
    add("--profile", default=argparse.SUPPRESS, help="profile name from the config file")
    add("--catalog", type=Path, default=argparse.SUPPRESS, metavar="DIR",
        help="folder holding queries/ and screens/ (default: the shipped ones)")
    parent.add_argument_group("checks (before or after the command)").add_argument(
        "--jobs", type=jobs_count, default=argparse.SUPPRESS, metavar="N",
        help=f"check: run independent checks on up to N read-only sessions at once (1 to "
             f"{MAX_JOBS}; default {DEFAULT_JOBS}; 1: one session, one check after the other)")
    return parent


def jobs_count(text: str) -> int:
    """argparse type of ``--jobs``: a number of sessions, 1 to MAX_JOBS (int)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of sessions") from None
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_JOBS} sessions (got {value})")
    return value


def timeout_seconds(text: str) -> float:
    """argparse type of ``--timeout``: a finite number of seconds, 0 < S <= 3600 (float)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds (got {text[:40]})"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (argparse.ArgumentParser); errors raise BadInput."""
    common = [connection_options()]
    parser = _Parser(
        prog="opsconsole",
        description="Terminal operations console for the messaging database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=common,
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("tui", help="open the console (the default command)", parents=common)
    _demo_parser(sub, common)
    _check_parser(sub, common)
    doctor = sub.add_parser(
        "doctor", help="what can run on this database, and what to adapt", parents=common,
        epilog="exit: 0 everything installed runnable, 1 something cannot run, 3 cannot connect")
    doctor.add_argument("--format", choices=("text", "json"), default="text")
    cat = sub.add_parser("catalog", help="the queries/ and screens/ a deployment adapts")
    catsub = cat.add_subparsers(
        dest="catalog_command", metavar="SUBCOMMAND", required=True, parser_class=_Parser
    )
    export = catsub.add_parser(
        "export", help="write the shipped queries/ and screens/ to DIR (then --catalog DIR)")
    export.add_argument("dir", type=Path, metavar="DIR")
    export.add_argument("--force", action="store_true", help="overwrite a non-empty DIR")
    sub.add_parser(
        "action", help="run a guarded action (`opsconsole action --help`)", add_help=False
    )
    dbp = sub.add_parser("db", help="create or fill the demo schema on any server")
    dbsub = dbp.add_subparsers(
        dest="db_command", metavar="SUBCOMMAND", required=True, parser_class=_Parser
    )
    dbsub.add_parser("init", help="create the demo schema (idempotent)", parents=common)
    seed = dbsub.add_parser(
        "seed", help="fill the demo schema with deterministic data", parents=common
    )
    seed.add_argument("--scale", type=int, default=1, help="1: ~100k deliveries; 100: 10M")
    seed.add_argument("--seed", type=int, default=42)
    return parser


def _demo_parser(sub: argparse._SubParsersAction[_Parser], common: list[_Parser]
                 ) -> None:
    demo = sub.add_parser(
        "demo", parents=common,
        help="start an embedded PostgreSQL with demo data and open the console on it",
    )
    demo.add_argument("--scale", type=int, default=1, help="data size (1: ~100k deliveries)")
    demo.add_argument("--seed", type=int, default=42, help="random seed of the data")
    demo.add_argument("--data-dir", type=Path, help="keep the server's data here across runs")
    demo.add_argument(
        "--no-tui", action="store_true", help="start, seed and print the DSN, then wait for ctrl+c"
    )
    demo.add_argument(
        "--writes", action="store_true",
        help="let the console write to the demo database (profile 'demo', environment dev, "
             "writes = true): try preview, confirmation, apply, the Audit screen and undo",
    )


def _check_parser(sub: argparse._SubParsersAction[_Parser], common: list[_Parser]
                  ) -> None:
    check = sub.add_parser(
        "check", parents=common,
        help="run every check once (cron, monitoring)",
        epilog="exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for bad arguments)",
    )
    check.add_argument("--only", nargs="+", metavar="ID",
                       help="check ids, screen ids or screen titles (e.g. Moderation)")
    check.add_argument("--format", choices=("text", "json", "prometheus"), default="text")
    check.add_argument(
        "--timeout", type=timeout_seconds, metavar="S",
        help="deadline of the whole run in seconds: connect and every query (default 30); "
             "each query is also bound by the profile's statement_timeout_ms",
    )
    check.add_argument(
        "--output", type=Path, metavar="FILE",
        help="write the output to FILE atomically (temp file in the same folder, fsync, "
             "rename), whatever the status; the exit code still follows the status",
    )
    _check_text_and_state_options(check)


def text_width(text: str) -> int:
    """argparse type of ``check --width``: 0 (never cut) or a number of columns, 20 to 1000."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of columns") from None
    if value != 0 and not MIN_WIDTH <= value <= MAX_WIDTH:
        raise argparse.ArgumentTypeError(
            f"must be 0 (never cut) or {MIN_WIDTH} to {MAX_WIDTH} columns (got {value})")
    return value


def _check_text_and_state_options(check: argparse.ArgumentParser) -> None:
    """``check --width`` (issue 12, item 8) and ``check --state`` (item 3)."""
    check.add_argument(
        "--width", type=text_width, metavar="N",
        help="text output: cut each check's line at N columns (0: never); default: the "
             "terminal's width, and whole lines when stdout is not a terminal (cron mail, a "
             "pipe, --output). Hints and UNKNOWN reasons wrap, never cut",
    )
    check.add_argument(
        "--state", action="store_true",
        help="read and update the profile's check history (as the console does, under "
             "$XDG_STATE_HOME/opsconsole/): each check gets previous (value and time of the "
             "last run) and delta; off by default, so cron without it writes nothing",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (int). Never raises for a user's error."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = _command(args_list)
    try:
        return _run(args_list, command)
    except OpsError as exc:
        if command == "check":
            from opsconsole.cli.commands import check_failed

            return check_failed(exc.message, *_raw_check_output(args_list))
        output.error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        output.error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away between two writes: end quietly
        output.raw("")
        return 3 if command == "check" else 0
    except Exception as exc:  # a bug: still one line, and check still means UNKNOWN
        if os.environ.get("OPSCONSOLE_DEBUG"):
            raise
        output.error(f"internal error ({type(exc).__name__}: {exc}): please report it; "
                     "OPSCONSOLE_DEBUG=1 shows the traceback")
        return 3 if command == "check" else INTERNAL_ERROR


def _run(args_list: list[str], command: str) -> int:
    if any("\x00" in token for token in args_list):  # no shell can pass one; a caller might
        raise BadInput("an argument holds a NUL character: remove it")
    _warn_password_on_command_line(args_list)
    if command == "action":
        from opsconsole.cli.action import main as action_main

        split = _command_index(args_list)
        assert split is not None
        return action_main(args_list[:split] + args_list[split + 1 :])
    try:
        args = build_parser().parse_args(args_list)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    return _dispatch(args)


_VALUE_OPTIONS = {"--dsn", "--dsn-file", "--profile", "--catalog", "--jobs"}


def _command_index(args: list[str]) -> int | None:
    """Index of the first positional token (the command), skipping global options."""
    i = 0
    while i < len(args):
        token = args[i]
        if token in _VALUE_OPTIONS:
            i += 2
        elif token == "--":
            return i + 1 if i + 1 < len(args) else None
        elif token.startswith("-"):
            i += 1
        else:
            return i
    return None


def _command(args: list[str]) -> str:
    index = _command_index(args)
    return args[index] if index is not None else "tui"


def _raw_check_output(args: list[str]) -> tuple[str, Path | None]:
    """``--format`` and ``--output`` as written, for a check whose arguments did not parse."""
    fmt, path = "text", None
    for i, token in enumerate(args):
        name, eq, value = token.partition("=")
        if not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
        if name == "--format" and value in ("text", "json", "prometheus"):
            fmt = value
        elif name == "--output" and value and not value.startswith("-"):
            path = Path(value)
    return fmt, path


def _warn_password_on_command_line(args: list[str]) -> None:
    """One warning line when ``--dsn`` on the command line carries a password (``ps`` shows
    it to every user of the machine)."""
    if not any(token.startswith("--dsn") for token in args):
        return  # (keeps `opsconsole --version` from importing psycopg)
    from opsconsole.connection.dsn import has_password

    for i, token in enumerate(args):
        name, eq, value = token.partition("=")
        if name != "--dsn":
            continue
        if not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
        if value != "-" and has_password(value):
            output.warn(
                "the password in --dsn is visible to every user of this machine in `ps`: "
                "prefer a profile with the password in ~/.pgpass, or --dsn - / --dsn-file PATH"
            )
            return


def _dispatch(args: argparse.Namespace) -> int:
    from opsconsole.cli import catalog_export, commands

    handlers = {
        "catalog": catalog_export.catalog_command,
        "db": commands.db_command,
        "demo": commands.demo_command,
        "check": commands.check_command,
        "doctor": commands.doctor_command,
        "tui": commands.tui_command,
    }
    command = getattr(args, "command", None) or "tui"
    if command not in handlers:
        raise BadInput(f"unknown command {command}: see `opsconsole --help`")
    if command != "check" and getattr(args, "jobs", None) is not None:
        raise BadInput(f"--jobs: only `opsconsole check` takes it (not {command}); the console "
                       f"runs its checks on up to {DEFAULT_JOBS} sessions and on one when the "
                       "database is slow")
    return handlers[command](args)


if __name__ == "__main__":
    sys.exit(main())
