"""The parsed catalog kept on disk between runs, so that ``opsconsole check`` from cron does not
parse and validate ``queries/`` + ``screens/`` on every start (about 0.1 s of its 0.5 s budget).

An entry is a pickle of :class:`~opsconsole.catalog.model.Catalog` under
``$XDG_CACHE_HOME/opsconsole/`` (default ``~/.cache/opsconsole/``), named by a key over what it
was made from: the catalog folder, the sha256 of every catalog file (the catalog's
fingerprint), the opsconsole version, the size and mtime of the catalog package's own modules
(the classes pickled and the rules that validated them) and the Python and pydantic versions.
Any change to any of them is another key, so a stale entry is never read; at most
:data:`KEEP` entries are kept.

Only the cache itself is trusted: a file is read only when it belongs to the current user and
neither its folder nor itself is writable by group or others (unpickling runs code). Every
failure (no home, read-only disk, a damaged or foreign file) falls back to parsing: the cache
can make loading faster, never make it fail. ``OPSCONSOLE_CATALOG_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsconsole.catalog.model import Catalog

KEEP = 8  # entries kept (one per catalog folder and version in practice)
_PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/opsconsole`` (default ``~/.cache/opsconsole``); None when turned off
    (``OPSCONSOLE_CATALOG_CACHE=0``) or when there is no home to put it in."""
    if os.environ.get("OPSCONSOLE_CATALOG_CACHE", "1").strip().lower() in {"0", "no", "off",
                                                                         "false"}:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory (a cron job with no HOME and no passwd entry)
            return None
    return Path(base) / "opsconsole"


def key(root: Path, fingerprint: str) -> str:
    """The entry's name for a catalog folder and its files' fingerprint (hex, 32 chars)."""
    from opsconsole import __version__

    h = hashlib.sha256()
    for part in (str(root), fingerprint, __version__, sys.version,
                 _pydantic_version(), _code_stamp()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


def get(root: Path, fingerprint: str) -> Catalog | None:
    """The cached catalog for ``root`` whose files hash to ``fingerprint``, or None (no entry,
    the cache is off, or the entry cannot be trusted or read)."""
    from opsconsole.catalog.model import Catalog

    loaded = read(f"catalog-{key(root, fingerprint)}.pickle")
    if (not isinstance(loaded, Catalog) or loaded.fingerprint != fingerprint
            or loaded.root != root):  # the same files elsewhere: paths in it would be wrong
        return None
    return loaded


def put(catalog: Catalog) -> None:
    """Keep ``catalog`` (loaded and validated) for the next run; silent when it cannot."""
    if catalog.fingerprint:
        write(f"catalog-{key(catalog.root, catalog.fingerprint)}.pickle", catalog)


def read(name: str, max_age_s: float | None = None) -> object | None:
    """The object pickled in the cache entry ``name``, or None: no entry, older than
    ``max_age_s`` (s), the cache is off, or the entry cannot be trusted or read."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        with (folder / name).open("rb") as f:
            st = os.fstat(f.fileno())
            if not (_trusted(st) and _trusted(folder.stat())):
                return None
            if max_age_s is not None and time.time() - st.st_mtime > max_age_s:
                return None
            value: object = pickle.load(f)
            return value
    except Exception:  # absent, unreadable or damaged: the caller computes it instead
        return None


def write(name: str, value: object) -> None:
    """Keep ``value`` as the cache entry ``name`` (atomically, mode 0600, the newest
    :data:`KEEP` entries of its kind kept); silent when it cannot."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(folder.stat()):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".entry-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder, name.split("-", 1)[0])
    except Exception:  # read-only or full disk, no home: the next run computes it again
        return


def _trusted(st: os.stat_result) -> bool:
    """Owned by this user and not writable by group or others."""
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _prune(folder: Path, kind: str) -> None:
    """Keep the :data:`KEEP` newest entries of a kind (``catalog``, ``verified``)."""
    entries = sorted(folder.glob(f"{kind}-*.pickle"), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)


def _code_stamp() -> str:
    """Size and mtime of every module of the catalog package (the pickled classes and the
    rules that validated the entry): a changed module is another key."""
    parts = []
    for entry in sorted(os.scandir(_PACKAGE), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            st = entry.stat()
            parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)


def _pydantic_version() -> str:
    import pydantic

    return str(pydantic.VERSION)
