"""The engine's data: a preview, its batches, what one batch changed, the result of a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["applied", "dry-run", "refused", "aborted", "nothing-to-do"]

EXIT_CODES: dict[str, int] = {
    "applied": 0,
    "dry-run": 0,
    "nothing-to-do": 0,
    "refused": 4,
    "aborted": 5,
}


@dataclass(frozen=True)
class Batch:
    """One transaction's worth of previewed keys.

    Attributes:
        no: 1-based batch number (int).
        items: the previewed keys this batch may change (list[str]).
        extra: action-specific data for the batch, e.g. the audit row an undo batch reverts.
    """

    no: int
    items: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Preview:
    """What an action would change, captured before anything is written.

    Attributes:
        action: the action's name (str).
        params: the validated parameters, JSON-safe (dict).
        items: the keys of every row that would change (list[str]); the apply is restricted to
            them. ``len(items)`` is the count the engineer confirms.
        sample: the first rows shown, already cleaned for a terminal (list[dict[str, str]]).
        columns: the sample's column names in order (list[str]).
        statement: the SQL that the apply runs, for the engineer to read (str).
        batches: the keys split into transactions (list[Batch]).
        values: facts for the result, e.g. the flag's current value (dict).
        state: what the apply re-checks, e.g. the previewed updated_at (dict, not shown).
        notes: lines the engineer should read before confirming (list[str]).
        relations: (relation, privilege) pairs the apply needs (list[tuple[str, str]]).
    """

    action: str
    params: dict[str, Any]
    items: list[str]
    sample: list[dict[str, str]]
    columns: list[str]
    statement: str
    batches: list[Batch] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    relations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many rows would change (int)."""
        return len(self.items)


@dataclass
class Applied:
    """What one batch changed, inside its still-open transaction.

    Attributes:
        images: one entry per changed row: ``{"table", "op", "key", "before", "after"}``
            (op: update | insert | delete | trigger).
        packed_images: the same entries already serialised by the server as one JSON array
            (str), for the bulk actions, whose batches would otherwise parse and re-serialise
            every image in Python; None when unused.
        packed_keys: the keys of the rows in ``packed_images``, as ``table:key`` (list[str]).
        skipped: previewed keys left alone because they changed since the preview (list[str]).
        values: counters to add up across batches, e.g. ``{"jobs_inserted": 2}``.
        undo_of: for an undo batch, the audit row it reverts (its undone_by is set).
    """

    images: list[dict[str, Any]] = field(default_factory=list)
    packed_images: str | None = None
    packed_keys: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    undo_of: int | None = None

    @property
    def affected(self) -> int:
        """Rows changed (int)."""
        return len(self.images) + len(self.packed_keys)

    def images_json(self) -> str:
        """Every image as one JSON array (str), as stored in audit_log.before_images."""
        if self.packed_images is None:
            return json.dumps(self.images, default=str)
        if not self.images:
            return self.packed_images
        return json.dumps(self.images + json.loads(self.packed_images), default=str)

    def changed_keys(self) -> list[str]:
        """``table:key`` of every changed row (list[str])."""
        return [_key_text(img) for img in self.images] + self.packed_keys


def _key_text(image: dict[str, Any]) -> str:
    key = image.get("key") or {}
    return f"{image.get('table')}:{','.join(str(v) for v in key.values())}"


@dataclass(frozen=True)
class Progress:
    """Reported after every committed batch.

    Attributes:
        batch_no: the batch just committed (int).
        batches: how many batches the run has (int).
        affected: rows changed so far (int).
        previewed: rows previewed (int).
        audit_id: the batch's audit row (int).
    """

    batch_no: int
    batches: int
    affected: int
    previewed: int
    audit_id: int


ProgressFn = Callable[[Progress], None]


@dataclass
class Result:
    """The outcome of a run, as printed by ``--format json``.

    Attributes:
        action: the action's name.
        status: applied | dry-run | refused | aborted | nothing-to-do.
        previewed: rows previewed.
        affected: rows changed by committed batches (exactly what committed).
        skipped: previewed rows left alone because they changed since the preview.
        batches: committed batches.
        audit_ids: audit_log ids of the committed batches.
        values: action-specific facts (seed 000's counters, the flag's value, ...).
        message: one line for the engineer.
        run_id: the run's id in audit_log (str, "" before apply).
        skipped_keys: the skipped keys (at most 100).
    """

    action: str
    status: Status
    previewed: int = 0
    affected: int = 0
    skipped: int = 0
    batches: int = 0
    audit_ids: list[int] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    run_id: str = ""
    skipped_keys: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """Process exit status for this result (int)."""
        return EXIT_CODES[self.status]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``opsconsole action --format json`` (dict)."""
        return {
            "action": self.action,
            "status": self.status,
            "previewed": self.previewed,
            "affected": self.affected,
            "skipped": self.skipped,
            "batches": self.batches,
            "audit_ids": list(self.audit_ids),
            "values": dict(self.values),
            "message": self.message,
            "run_id": self.run_id,
            "skipped_keys": list(self.skipped_keys[:100]),
        }
