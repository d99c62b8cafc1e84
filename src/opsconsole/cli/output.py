"""The CLI's only way to the terminal: every message and every text output passes here.

Database text (flag names, report reviewers, error strings) reaches CLI messages, so nothing is
written raw: :func:`out` cleans every line with :func:`opsconsole.sanitize.clean_lines`,
:func:`error` and :func:`warn` make one clean line on stderr, and :func:`as_json` escapes every
control and non-ASCII character (``ensure_ascii``: ESC is ``\\u001b``, C1 ``\\u009d``). A reader
that went away (``opsconsole check | head``) ends the output quietly, never with a traceback,
and a terminal that cannot encode a character gets a replacement instead of an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from opsconsole.errors import OpsError
from opsconsole.sanitize import clean, clean_lines

PREFIX = "opsconsole: "


def out(text: str, *, end: str = "\n") -> bool:
    """Write text output to stdout, every line cleaned, and flush.

    Args:
        text: one or more lines (the console's layout: database values may be inside).
        end: appended after the text ("\\n"; "" for text that ends with its own newline).

    Returns:
        False when stdout is closed (the reader went away); stdout is then silenced.
    """
    return _write(sys.stdout, clean_lines(text) + end)


def raw(text: str) -> bool:
    """Write already-escaped output (JSON from :func:`as_json`) to stdout; False if closed."""
    return _write(sys.stdout, text)


def error(message: str) -> None:
    """One line on stderr: ``opsconsole: <message>``, cleaned (control characters removed)."""
    _write(sys.stderr, PREFIX + clean(message, None) + "\n")


def note(text: str) -> None:
    """One line on stderr as it is (progress, hints), cleaned; no prefix."""
    _write(sys.stderr, clean(text, None) + "\n")


def warn(message: str) -> None:
    """One line on stderr: ``opsconsole: warning: <message>``, cleaned."""
    error(f"warning: {message}")


def as_json(doc: Any, *, indent: int | None = None) -> str:
    """JSON text whose every control and non-ASCII character is escaped (str, no newline)."""
    return json.dumps(doc, indent=indent, default=str, ensure_ascii=True)


def _write(stream: TextIO, text: str) -> bool:
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "replace").decode(encoding))
        stream.flush()
    except OSError:  # EPIPE: the reader went away; EIO: the terminal closed (SIGHUP)
        _silence(stream)
        return False
    return True


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically: a temp file in the same folder, fsync, rename.

    A reader (the node exporter's textfile collector) sees the old file or the new one, never
    a part; the file is written whatever the content says (a CRITICAL run too).

    Raises:
        OpsError: the folder is missing or not writable (one line naming the path; exit 3).
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else _default_mode()
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OpsError(f"cannot write {path} ({reason}): check that {folder} exists and "
                       "is writable", exit_code=3) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        _fsync_dir(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OpsError(f"cannot write {path} ({exc.strerror}): check the folder and the disk",
                       exit_code=3) from None


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _silence(stream: TextIO) -> None:
    """Point a closed stream's descriptor at /dev/null so the exit flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (e.g. captured in tests)
        pass
