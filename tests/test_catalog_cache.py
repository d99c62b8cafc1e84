"""The parsed catalog kept between runs (catalog/cache.py, issue 13: ``check`` starts fast): a
second load of the same bytes does not parse, any edit does, and a cache that cannot be
trusted or read is never used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from opsconsole import catalog
from opsconsole.catalog import cache, loader
from opsconsole.errors import BadInput
from tests.conftest import _real_load as load  # the loader itself, not the suite's parse-once


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr(loader, "_load_queries", refuse)


def entries() -> list[Path]:
    folder = cache.cache_dir()
    assert folder is not None
    return sorted(folder.glob("catalog-*.pickle"))


def test_the_same_bytes_load_from_the_cache_without_parsing(
    copy_root: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = load(copy_root)
    assert len(entries()) == 1 and oct(entries()[0].stat().st_mode & 0o777) == "0o600"
    no_parsing(monkeypatch)
    again = load(copy_root)
    assert again is not first and again.fingerprint == first.fingerprint
    assert again.queries.keys() == first.queries.keys()
    assert [s.id for s in again.screens] == [s.id for s in first.screens]
    assert again.checks()[0][1] == first.checks()[0][1]
    with pytest.raises(AssertionError, match="parsed"):
        load(copy_root, use_cache=False)  # always parses when asked to


def test_an_edit_is_another_key_and_is_parsed(copy_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load(copy_root)
    jobs = copy_root / "screens" / "jobs.toml"
    text = jobs.read_text()
    title = next(c for s, c in load(copy_root).checks() if s.id == "jobs").title
    jobs.write_text(text.replace(f'title = "{title}"', 'title = "Edited title"', 1))
    edited = load(copy_root)
    assert next(c for s, c in edited.checks() if s.id == "jobs").title == "Edited title"
    assert len(entries()) == 2
    jobs.write_text(text.replace(f'title = "{title}"', 'title = [', 1))  # broken: refused
    with pytest.raises(BadInput, match=r"jobs\.toml"):
        load(copy_root)


@pytest.mark.parametrize("damage", ["garbage", "group-writable", "other-catalog"])
def test_a_damaged_or_foreign_entry_is_ignored(
    copy_root: Path, monkeypatch: pytest.MonkeyPatch, damage: str,
) -> None:
    first = load(copy_root)
    [entry] = entries()
    if damage == "garbage":
        entry.write_bytes(b"not a pickle")
    elif damage == "group-writable":
        os.chmod(entry, 0o664)  # someone else could have written it: unpickling runs code
    else:  # the entry of the same files in another folder, under this name
        other = load(catalog.default_root())
        [extra] = [e for e in entries() if e != entry]
        shutil.copyfile(extra, entry)
        assert other.fingerprint == first.fingerprint and other.root != first.root
    no_parsing(monkeypatch)
    with pytest.raises(AssertionError, match="parsed"):
        load(copy_root)  # not taken from the entry: parsed (and here refused by the test)


def test_no_cache_turned_off_or_unwritable_still_loads(
    copy_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSCONSOLE_CATALOG_CACHE", "0")
    assert cache.cache_dir() is None
    assert load(copy_root).queries
    monkeypatch.delenv("OPSCONSOLE_CATALOG_CACHE")
    assert not (tmp_path / "cache").exists()  # nothing written while off
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert load(copy_root).queries  # cannot write the cache: loads anyway, says nothing
    assert blocker.read_text().startswith("a file")


def test_entries_are_pruned_to_the_newest(copy_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "KEEP", 2)
    jobs = copy_root / "screens" / "jobs.toml"
    text = jobs.read_text()
    for n in range(4):
        jobs.write_text(text + f"\n# edit {n}\n")
        load(copy_root)
    assert len(entries()) == 2


def test_a_verification_serves_the_next_process_on_the_same_schema_and_no_other(
    seeded_dsn: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``check`` from cron: the next process verifies with one fingerprint query while neither
    the catalog nor the schema changed (and for KEPT_S at most); a schema change re-verifies."""
    from opsconsole.catalog import verify
    from opsconsole.connection import db

    cat = load(catalog.default_root())
    described: list[int] = []
    real = verify.verify_catalog

    def counting(conn: Any, c: Any) -> Any:
        described.append(1)
        return real(conn, c)

    monkeypatch.setattr(verify, "verify_catalog", counting)

    def next_process() -> Any:
        with verify._CACHE_LOCK:  # a new process starts with an empty in-process cache
            verify._CACHE.clear()
            verify._RECENT.clear()
        with db.connect(seeded_dsn, statement_timeout_ms=5000) as conn:
            return verify.verified(conn, cat)

    first = next_process()
    second = next_process()
    assert len(described) == 1 and second is not first
    assert second.fingerprint == first.fingerprint and second.findings == first.findings
    folder = cache.cache_dir()
    assert folder is not None and len(list(folder.glob("verified-*.pickle"))) == 1
    monkeypatch.setattr(verify, "KEPT_S", 0.0)  # too old: asked again
    next_process()
    assert len(described) == 2
    monkeypatch.undo()
    monkeypatch.setattr(verify, "verify_catalog", counting)
    with db.connect(seeded_dsn, statement_timeout_ms=5000, read_only=False) as conn:
        conn.execute("CREATE TABLE public.opsconsole_cache_probe (id int)")
    try:
        changed = next_process()
        assert len(described) == 3 and changed.fingerprint != first.fingerprint
    finally:
        with db.connect(seeded_dsn, statement_timeout_ms=5000, read_only=False) as conn:
            conn.execute("DROP TABLE public.opsconsole_cache_probe")
