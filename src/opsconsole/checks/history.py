"""The history of every check's value: is the backlog growing or draining?

Each refresh appends one sample per check (time, value, status) to a :class:`History`: in
memory for the session, and per profile in a JSON file under ``$XDG_STATE_HOME/opsconsole/``
(DESIGN.md "enter on a check"; issue 12 "Trends") so a restart keeps the last 24 h and
``opsconsole check --state`` can give ``previous`` and ``delta``. The file stays bounded: samples
older than ``keep_s`` are dropped and, apart from the newest, samples are kept at least
``step_s`` apart (one per minute by default: 24 h of 40 checks is about 1 MB). In memory the last
``dense_s`` (1 h) keep every refresh's sample and older ones are thinned the same way, so a
console left open for days stays bounded too. Recording adds no query to a refresh: a few list
appends and an incremental trim of the checks recorded; saving is one atomic file write (of a
:meth:`History.copy`, so a thread can write it while the console records on).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

from opsconsole.checks.engine import CheckResult, Status
from opsconsole.connection import dsn
from opsconsole.connection.config import Resolved

KEEP_S = 24 * 3600
STEP_S = 60.0
DENSE_S = 3600.0
FORMAT = 1
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")
_at: attrgetter[datetime] = attrgetter("at")


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation of a check.

    Attributes:
        at: when the check ran (aware datetime, UTC).
        value: the value its thresholds apply to, in its unit (float | None when none).
        status: the check's status then.
    """

    at: datetime
    value: float | None
    status: Status


def state_dir() -> Path:
    """``$XDG_STATE_HOME/opsconsole`` (default ``~/.local/state/opsconsole``) (Path)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "opsconsole"


def history_path(name: str) -> Path:
    """The history file of a profile (or, without a profile, of a target label) (Path).

    >>> history_path("ops@db.internal:5432/app").name
    'history-ops_db.internal_5432_app.json'
    """
    slug = _SLUG.sub("_", name).strip("_") or "default"
    return state_dir() / f"history-{slug[:120]}.json"


def history_name(resolved: Resolved) -> str:
    """The name of the history a connection keeps, shared by the console and ``check
    --state``: the profile's name, or without a profile the target's label
    (``user@host:port/db``) (str; see :func:`history_path`)."""
    return resolved.profile.name if resolved.named_profile else dsn.target(resolved.dsn).label()


class History:
    """Samples per check id, oldest first.

    Args:
        path: the file to load from and save to (None: memory only).
        keep_s: drop samples older than this many seconds (default 24 h).
        step_s: keep saved samples at least this far apart, the newest always kept (s).
        dense_s: in memory, keep every sample of the last this many seconds; older ones are
            thinned to ``step_s`` apart (s).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        keep_s: float = KEEP_S,
        step_s: float = STEP_S,
        dense_s: float = DENSE_S,
    ) -> None:
        self.path = path
        self.keep_s, self.step_s, self.dense_s = keep_s, step_s, dense_s
        self._samples: dict[str, list[Sample]] = {}
        self._thinned: dict[str, int] = {}  # per check: how many leading samples are thinned

    @classmethod
    def load(cls, path: Path, **kw: float) -> History:
        """Read ``path`` (a missing, unreadable or malformed file gives an empty history:
        trends are a convenience and must never stop the console or a check)."""
        history = cls(path, **kw)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("format") == FORMAT:
                loaded = {str(k): [_sample(row) for row in rows]
                          for k, rows in dict(doc["checks"]).items()}
                history._samples = {k: sorted(v, key=lambda s: s.at) for k, v in loaded.items()}
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            pass  # an empty history
        return history

    def record(self, results: Iterable[CheckResult]) -> None:
        """Append each result as a sample (a result already recorded, same check and time, is
        skipped: slow-cadence checks are reused between refreshes)."""
        for result in results:
            self.add(result.id, Sample(result.checked_at, result.value, result.status))

    def add(self, check_id: str, sample: Sample) -> bool:
        """Append one sample of ``check_id`` and trim that check's samples (incrementally: only
        what fell out of the 24 h or out of the dense last hour is looked at).

        Returns:
            False when the sample is not newer than the check's newest (nothing recorded).
        """
        samples = self._samples.setdefault(check_id, [])
        if samples and samples[-1].at >= sample.at:
            return False
        samples.append(sample)
        self._trim_one(check_id, samples)
        return True

    def ids(self) -> list[str]:
        """The checks that have samples (list[str])."""
        return [k for k, v in self._samples.items() if v]

    def window(self, check_id: str, window_s: float, *, since_start: bool = False) -> list[Sample]:
        """The samples of the last ``window_s`` seconds before a check's newest, oldest first.

        Args:
            since_start: also the newest sample before the window (where :meth:`delta`
                measures the change from), so a line and its change cover the same span.

        Returns:
            list[Sample]; empty for a check without samples.
        """
        samples = self._samples.get(check_id, [])
        if not samples:
            return []
        edge = samples[-1].at - timedelta(seconds=window_s)
        at = bisect_left(samples, edge, key=_at)  # the oldest sample at or after the edge
        far = edge - timedelta(seconds=window_s)  # as :meth:`delta`: not from a closed console
        if since_start and at > 0 and samples[at].at > edge and (
                samples[at - 1].at >= far or at == len(samples) - 1):
            at -= 1
        return samples[at:]

    def copy(self) -> History:
        """An independent copy (same path and bounds) to save from another thread (History)."""
        twin = History(self.path, keep_s=self.keep_s, step_s=self.step_s, dense_s=self.dense_s)
        twin._samples = {k: list(v) for k, v in self._samples.items()}
        twin._thinned = dict(self._thinned)
        return twin

    def series(self, check_id: str) -> list[Sample]:
        """Every sample of a check, oldest first (list[Sample])."""
        return list(self._samples.get(check_id, []))

    def latest(self, check_id: str) -> Sample | None:
        """The newest sample of a check, or None."""
        samples = self._samples.get(check_id)
        return samples[-1] if samples else None

    def previous(self, check_id: str, before: datetime) -> Sample | None:
        """The newest sample taken strictly before ``before`` (the last run's), or None."""
        older = [s for s in self._samples.get(check_id, []) if s.at < before]
        return older[-1] if older else None

    def delta(self, check_id: str, window_s: float) -> tuple[float, float] | None:
        """How much the value changed over about ``window_s`` seconds.

        Returns:
            (change in the check's unit, seconds actually spanned) from the newest sample
            back to the newest one at least ``window_s`` older (else the oldest); when that
            one is more than twice ``window_s`` older (the console was closed in between),
            from the oldest one within the window instead. None when there are fewer than
            two samples with values.
        """
        samples = [s for s in self._samples.get(check_id, []) if _finite(s.value)]
        if len(samples) < 2:
            return None
        last = samples[-1]
        edge = last.at - timedelta(seconds=window_s)
        before = next((i for i in range(len(samples) - 2, -1, -1) if samples[i].at <= edge), 0)
        if samples[before].at < edge - timedelta(seconds=window_s) and before + 2 < len(samples):
            before += 1  # the closed console's sample is no start: the window's oldest is
        start = samples[before]
        assert last.value is not None and start.value is not None
        return last.value - start.value, (last.at - start.at).total_seconds()

    def save(self) -> None:
        """Write the (thinned) history atomically: temp file in the same folder, fsync, rename.

        The samples the file holds that this history lacks (an ``opsconsole check --state``
        run from cron while the console is open) are merged in first, so neither writer
        erases the other's. Fails silently (OSError): the in-memory history stays.
        """
        if self.path is None:
            return
        self.merge(History.load(self.path, keep_s=self.keep_s, step_s=self.step_s))
        self._trim(in_memory=False)
        doc = {
            "format": FORMAT,
            "checks": {
                k: [[s.at.isoformat(), s.value, int(s.status)] for s in v]
                for k, v in self._samples.items()
            },
        }
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".history-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(doc, fh, separators=(",", ":"))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    def merge(self, other: History) -> None:
        """Take in ``other``'s samples (ours win at the same time), oldest first (e.g. the
        file's samples, loaded in the background, into the console's live history)."""
        for check_id, theirs in other._samples.items():
            mine = self._samples.get(check_id, [])
            if not theirs or theirs == mine:
                continue
            by_time = {s.at: s for s in theirs} | {s.at: s for s in mine}
            self._samples[check_id] = [by_time[at] for at in sorted(by_time)]
            self._thinned[check_id] = 0

    def _trim(self, *, in_memory: bool) -> None:
        for check_id, samples in self._samples.items():
            if not samples:
                continue
            cutoff = samples[-1].at - timedelta(seconds=self.keep_s)
            kept = [s for s in samples if s.at >= cutoff]
            if not in_memory:
                kept = _thin(kept, self.step_s)
            self._samples[check_id] = kept
            self._thinned[check_id] = 0

    def _trim_one(self, check_id: str, samples: list[Sample]) -> None:
        """Drop what is older than ``keep_s``, and thin what left the dense window: samples
        before index ``_thinned[check_id]`` are already at least ``step_s`` apart."""
        newest = samples[-1].at
        cutoff = newest - timedelta(seconds=self.keep_s)
        old = 0
        while old < len(samples) - 1 and samples[old].at < cutoff:
            old += 1
        if old:
            del samples[:old]
        done = max(0, self._thinned.get(check_id, 0) - old)
        dense_edge = newest - timedelta(seconds=self.dense_s)
        while done < len(samples) - 1 and samples[done].at < dense_edge:
            if done and (samples[done].at - samples[done - 1].at).total_seconds() < self.step_s:
                del samples[done]
            else:
                done += 1
        self._thinned[check_id] = done


def _thin(samples: list[Sample], step_s: float) -> list[Sample]:
    """Samples at least ``step_s`` apart, oldest first; the newest is always kept."""
    out: list[Sample] = []
    for sample in samples[:-1]:
        if not out or (sample.at - out[-1].at).total_seconds() >= step_s:
            out.append(sample)
    if samples:
        if out and (samples[-1].at - out[-1].at).total_seconds() < step_s and len(out) > 1:
            out.pop()
        out.append(samples[-1])
    return out


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _sample(row: list[Any]) -> Sample:
    at = datetime.fromisoformat(str(row[0]))
    value = None if row[1] is None else float(row[1])
    return Sample(at if at.tzinfo else at.replace(tzinfo=UTC), value, Status(int(row[2])))
