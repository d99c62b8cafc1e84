"""The history of every check's value: is the backlog growing or draining?

Each refresh appends one sample per check (time, value, status) to a :class:`History`: in
memory for the session, and per profile in a JSON file under ``$XDG_STATE_HOME/opsconsole/``
(DESIGN.md "enter on a check"; issue 12 "Trends") so a restart keeps the last 24 h and
``opsconsole check --state`` can give ``previous`` and ``delta``. The file stays bounded: samples
older than ``keep_s`` are dropped and, apart from the newest, samples are kept at least
``step_s`` apart (one per minute by default: 24 h of 40 checks is about 1 MB). Recording adds no
query to a refresh: it is a few dict appends; saving is one atomic file write.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsconsole.checks.engine import CheckResult, Status

KEEP_S = 24 * 3600
STEP_S = 60.0
FORMAT = 1
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
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


class History:
    """Samples per check id, oldest first.

    Args:
        path: the file to load from and save to (None: memory only).
        keep_s: drop samples older than this many seconds (default 24 h).
        step_s: keep saved samples at least this far apart, the newest always kept (s).
    """

    def __init__(
        self, path: Path | None = None, *, keep_s: float = KEEP_S, step_s: float = STEP_S
    ) -> None:
        self.path = path
        self.keep_s, self.step_s = keep_s, step_s
        self._samples: dict[str, list[Sample]] = {}

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
                history._samples = loaded
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            pass  # an empty history
        return history

    def record(self, results: Iterable[CheckResult]) -> None:
        """Append each result as a sample (a result already recorded, same check and time, is
        skipped: slow-cadence checks are reused between refreshes)."""
        for result in results:
            samples = self._samples.setdefault(result.id, [])
            if samples and samples[-1].at >= result.checked_at:
                continue
            samples.append(Sample(result.checked_at, result.value, result.status))
        self._trim(in_memory=True)

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
            back to the newest one at least ``window_s`` older (else the oldest), or None
            when there are fewer than two samples with values.
        """
        samples = [s for s in self._samples.get(check_id, []) if _finite(s.value)]
        if len(samples) < 2:
            return None
        last = samples[-1]
        edge = last.at - timedelta(seconds=window_s)
        start = next((s for s in reversed(samples[:-1]) if s.at <= edge), samples[0])
        assert last.value is not None and start.value is not None
        return last.value - start.value, (last.at - start.at).total_seconds()

    def save(self) -> None:
        """Write the (thinned) history atomically: temp file in the same folder, fsync, rename.
        Fails silently (OSError): the in-memory history stays."""
        if self.path is None:
            return
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

    def _trim(self, *, in_memory: bool) -> None:
        for check_id, samples in self._samples.items():
            if not samples:
                continue
            cutoff = samples[-1].at - timedelta(seconds=self.keep_s)
            kept = [s for s in samples if s.at >= cutoff]
            if not in_memory:
                kept = _thin(kept, self.step_s)
            self._samples[check_id] = kept


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
