"""What the sections share: progress logging, timestamps, the context a section runs in, and how a
section declares its options (with the smaller value ``--quick`` uses)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent  # bench/
ROOT = HERE.parent


def log(msg: str) -> None:
    """Progress on stderr, with a timestamp."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def order(names: list[str], i: int) -> list[str]:
    """``names`` in run ``i``'s order: forwards on even runs, backwards on odd ones (ABBA), so
    no database or tool always goes first."""
    return names if i % 2 == 0 else names[::-1]


@dataclass(frozen=True)
class Option:
    """A section's command-line option: its full-run default and the ``--quick`` one."""

    flag: str
    default: Any
    quick: Any
    help: str = ""
    type: Any = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        kind = self.type or type(self.default)
        quick = "" if self.quick == self.default else f"; --quick: {self.quick}"
        parser.add_argument(self.flag, type=kind, default=None,
                            help=f"{self.help} (default {self.default}{quick})".lstrip())

    def resolve(self, args: argparse.Namespace) -> None:
        if getattr(args, self.dest) is None:
            setattr(args, self.dest, self.quick if args.quick else self.default)


@dataclass
class Context:
    """What a section gets: the options, the server, and the DSN of each database by role
    (``small``, ``large``)."""

    args: argparse.Namespace
    server: Any  # databases.Server
    dbs: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)

    def roles(self, preferred: tuple[str, ...] = ("small", "large")) -> list[str]:
        """The database roles present, in ``preferred`` order."""
        return [n for n in preferred if n in self.dbs]
