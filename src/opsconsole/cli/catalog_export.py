"""``opsconsole catalog export DIR``: write the shipped ``queries/`` and ``screens/`` to DIR, so a
deployment adapts them to its schema (then ``--catalog DIR`` on ``doctor``, ``check`` and the
console) without editing Python."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from opsconsole import catalog
from opsconsole.cli import output
from opsconsole.errors import BadInput

FOLDERS = ("queries", "screens")


def export(dest: Path, *, force: bool = False) -> str:
    """Copy the shipped catalog's ``queries/`` and ``screens/`` into ``dest``.

    Args:
        dest: the folder to write (created when absent).
        force: overwrite the files of a non-empty ``dest`` (other files there are kept).

    Returns:
        One line saying what was written and what to do next (str).

    Raises:
        BadInput: ``dest`` is not empty and ``force`` is not given, or it cannot be written.
    """
    source = catalog.default_root()
    if dest.exists() and not dest.is_dir():
        raise BadInput(f"catalog export: {dest} is a file: give a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise BadInput(f"catalog export: {dest} is not empty: give an empty folder, or --force "
                       "to overwrite the shipped files in it")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        files = 0
        for folder in FOLDERS:
            shutil.copytree(source / folder, dest / folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            files += sum(1 for p in (dest / folder).rglob("*") if p.is_file())
    except OSError as exc:
        raise BadInput(f"catalog export: cannot write {dest} ({exc.strerror or exc})") from exc
    return (f"wrote {files} files to {dest}/queries and {dest}/screens: edit them, then "
            f"`opsconsole doctor --catalog {dest}`")


def catalog_command(args: argparse.Namespace) -> int:
    """``opsconsole catalog export DIR [--force]``; exit 0, or 2 on bad input."""
    output.out(export(args.dir, force=args.force))
    return 0
