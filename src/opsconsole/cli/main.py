"""Entry point: ``opsconsole [tui|demo|check|doctor|action|db] ...``.

Headless commands never import Textual (``opsconsole --version`` and ``check`` stay fast).
Every failure a user can meet ends as one line on stderr with the exit code of its class
(see :mod:`opsconsole.errors`); ``check`` exits with the monitoring-plugin codes 0-3.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from opsconsole import __version__
from opsconsole.errors import BadInput, OpsError

EPILOG = """\
exit codes: check follows the monitoring-plugin convention (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN, also for an unreachable server or a bad DSN); other commands exit 0 on success,
2 on bad input, 3 when the server cannot be reached, 4 when a guard refuses, 5 on a database
failure. See `opsconsole action --help` for actions.
"""


def _connection_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--dsn", help="libpq DSN or postgresql:// URI (default: see README)")
    group.add_argument("--profile", help="profile name from the config file")
    group.add_argument(
        "--catalog",
        type=Path,
        metavar="DIR",
        help="folder holding queries/ and screens/ (default: the shipped ones)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (argparse.ArgumentParser)."""
    parser = argparse.ArgumentParser(
        prog="opsconsole",
        description="Terminal operations console for the messaging database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    _connection_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tui = sub.add_parser("tui", help="open the console (the default command)")
    _connection_args(tui)

    demo = sub.add_parser(
        "demo", help="start an embedded PostgreSQL with demo data and open the console on it"
    )
    demo.add_argument("--scale", type=int, default=1, help="data size (1: ~100k deliveries)")
    demo.add_argument("--seed", type=int, default=42, help="random seed of the data")
    demo.add_argument("--data-dir", type=Path, help="keep the server's data here across runs")
    demo.add_argument("--catalog", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    demo.add_argument(
        "--no-tui", action="store_true", help="start, seed and print the DSN, then wait for ctrl+c"
    )

    check = sub.add_parser(
        "check",
        help="run every check once (cron, monitoring)",
        epilog="exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
    )
    _connection_args(check)
    check.add_argument("--only", nargs="+", metavar="ID", help="check ids or screen names")
    check.add_argument("--format", choices=("text", "json", "prometheus"), default="text")
    check.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="statement timeout per check in seconds (default 5)",
    )

    doctor = sub.add_parser(
        "doctor", help="what can run on this database, and what to adapt",
        epilog="exit: 0 everything installed runnable, 1 something cannot run, 3 cannot connect")
    _connection_args(doctor)
    doctor.add_argument("--format", choices=("text", "json"), default="text")

    sub.add_parser(
        "action", help="run a guarded action (`opsconsole action --help`)", add_help=False
    )

    cat = sub.add_parser("catalog", help="the queries/ and screens/ a deployment adapts")
    catsub = cat.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", required=True)
    export = catsub.add_parser(
        "export", help="write the shipped queries/ and screens/ to DIR (then --catalog DIR)")
    export.add_argument("dir", type=Path, metavar="DIR")
    export.add_argument("--force", action="store_true", help="overwrite a non-empty DIR")

    dbp = sub.add_parser("db", help="create or fill the demo schema on any server")
    dbsub = dbp.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    init = dbsub.add_parser("init", help="create the demo schema (idempotent)")
    init.add_argument("--dsn", required=True)
    seed = dbsub.add_parser("seed", help="fill the demo schema with deterministic data")
    seed.add_argument("--dsn", required=True)
    seed.add_argument("--scale", type=int, default=1, help="1: ~100k deliveries; 100: 10M")
    seed.add_argument("--seed", type=int, default=42)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (int)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        split = _command_index(args_list)
        if split is not None and args_list[split] == "action":
            from opsconsole.cli.action import main as action_main

            return action_main(args_list[:split] + args_list[split + 1 :])
        args = build_parser().parse_args(args_list)
        return _dispatch(args)
    except OpsError as exc:
        print(f"opsconsole: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("opsconsole: interrupted", file=sys.stderr)
        return 130


_VALUE_OPTIONS = {"--dsn", "--profile", "--catalog"}


def _command_index(args: list[str]) -> int | None:
    """Index of the first positional token (the command), skipping global options."""
    i = 0
    while i < len(args):
        token = args[i]
        if token in _VALUE_OPTIONS:
            i += 2
        elif token.startswith("-"):
            i += 1
        else:
            return i
    return None


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
    command = args.command or "tui"
    if command not in handlers:
        raise BadInput(f"unknown command {command}: see `opsconsole --help`")
    return handlers[command](args)

if __name__ == "__main__":
    sys.exit(main())
