"""The engine's data: items, before-images, a preview and its batches, what one batch changed,
the result of a run, and how a face words what the engineer types."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from opsconsole.errors import Refused

Status = Literal[
    "applied", "dry-run", "refused", "aborted", "nothing-to-do", "bad-input", "cannot-connect"
]
ImageOp = Literal["update", "insert", "delete", "trigger"]
IMAGE_OPS: tuple[ImageOp, ...] = ("update", "insert", "delete", "trigger")

EXIT_CODES: dict[str, int] = {
    "applied": 0,
    "dry-run": 0,
    "nothing-to-do": 0,
    "bad-input": 2,
    "cannot-connect": 3,
    "refused": 4,
    "aborted": 5,
}


class BeyondPreview(Exception):
    """A batch would change rows it did not preview (the engine rolls it back and aborts)."""


@dataclass(frozen=True)
class Item:
    """One previewed change: its kind (``op``, e.g. "job", "coordination_insert") and key.

    Attributes:
        op: the step's op, or the preview row's op column (str).
        key: the row's key as text (str; a uuid, a bigint, a flag name).
    """

    op: str
    key: str


@dataclass(frozen=True)
class Image:
    """One changed row (or trigger), as stored in ``audit_log.before_images``.

    Attributes:
        table: schema.table (str).
        op: update | insert | delete | trigger.
        key: (key column, value) (tuple[str, Any]); ("trigger", name) for a trigger.
        before: the imaged columns before (dict; None for an insert).
        after: the imaged columns after (dict; None for a delete).
    """

    table: str
    op: ImageOp
    key: tuple[str, Any]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        """The stored JSON shape: ``{"table", "op", "key": {col: value}, "before", "after"}``."""
        return {"table": self.table, "op": self.op, "key": {self.key[0]: self.key[1]},
                "before": self.before, "after": self.after}

    @property
    def key_text(self) -> str:
        """The key's value as text (str)."""
        return str(self.key[1])

    @classmethod
    def from_json(cls, raw: object, where: str) -> Image:
        """Read an image from an audit row (untrusted: crafted rows exist).

        Raises:
            Refused: the entry is not an image the console writes (names ``where``).
        """
        if not isinstance(raw, dict):
            raise Refused(f"{where} is not a before-image")
        key, op = raw.get("key"), raw.get("op")
        before, after = raw.get("before"), raw.get("after")
        if (not isinstance(raw.get("table"), str) or op not in IMAGE_OPS
                or not isinstance(key, dict) or len(key) != 1
                or not all(v is None or isinstance(v, dict) for v in (before, after))):
            raise Refused(f"{where} is not a before-image the console writes")
        column, value = next(iter(key.items()))
        return cls(str(raw["table"]), cast(ImageOp, op), (str(column), value),
                   cast("dict[str, Any] | None", before), cast("dict[str, Any] | None", after))

    def changed_columns(self) -> tuple[str, ...]:
        """Columns whose before and after values differ, sorted (tuple[str, ...])."""
        before, after = self.before or {}, self.after or {}
        return tuple(sorted(c for c in before if before.get(c) != after.get(c)))


@dataclass(frozen=True)
class UndoPlan:
    """What one undo batch reverts: one audit row's images and which of them are wanted.

    Attributes:
        audit_id: the audit row (int).
        action: the action it records (str).
        images: every image of the row, in stored order (tuple[Image, ...]).
        wanted: indexes of the images previewed as unchanged (frozenset[int]).
        side: indexes of images of side tables (not counted as rows) (frozenset[int]).
    """

    audit_id: int
    action: str
    images: tuple[Image, ...]
    wanted: frozenset[int]
    side: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Batch:
    """One transaction's worth of previewed keys.

    Attributes:
        no: 1-based batch number (int).
        keys: op -> the previewed keys of that op this batch may change, in preview order.
        undo: for an undo batch, what it reverts (UndoPlan | None).
    """

    no: int
    keys: Mapping[str, tuple[str, ...]]
    undo: UndoPlan | None = None

    def items(self) -> Iterator[Item]:
        """Every item of the batch (Iterator[Item])."""
        for op, keys in self.keys.items():
            for key in keys:
                yield Item(op, key)

    def __len__(self) -> int:
        return sum(len(k) for k in self.keys.values())

    def has(self, item: Item) -> bool:
        """Whether ``item`` is one of the batch's (bool)."""
        return item.key in self.keys.get(item.op, ())


@dataclass
class Preview:
    """What an action would change, captured before anything is written.

    Attributes:
        action: the action's name (str).
        params: the given parameters, JSON-safe, as the audit trail stores them (dict).
        sample: the first rows shown, already cleaned for a terminal (list[dict[str, str]]).
        columns: the sample's column names in order (list[str]).
        statement: the SQL that the apply runs, slots filled, for the engineer to read (str).
        batches: the previewed keys split into transactions (list[Batch]); their items are what
            the engineer confirms, and the apply is restricted to them.
        values: facts for the result, e.g. the flag's value before (dict).
        bound: what the apply statements bind besides the keys: parameters, choice values and
            lookup columns (dict; not shown).
        notes: lines the engineer should read before confirming (list[str]).
        relations: (relation, privilege) pairs the apply needs (list[tuple[str, str]]).
        done: why there is nothing to do, when the state already matches (str | None).
    """

    action: str
    params: dict[str, Any]
    sample: list[dict[str, str]]
    columns: list[str]
    statement: str
    batches: list[Batch] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    bound: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    relations: list[tuple[str, str]] = field(default_factory=list)
    done: str | None = None

    @property
    def count(self) -> int:
        """How many rows would change (int): the count the engineer confirms."""
        return sum(len(b) for b in self.batches)

    @property
    def items(self) -> list[Item]:
        """Every previewed item, in order (list[Item])."""
        return [i for b in self.batches for i in b.items()]

    @property
    def keys(self) -> list[str]:
        """Every previewed key, in order (list[str])."""
        return [k for b in self.batches for keys in b.keys.values() for k in keys]


@dataclass
class Applied:
    """What one batch changed, inside its still-open transaction.

    Attributes:
        images: the changed rows, side rows included (list[Image]).
        packed: image arrays already serialised by the server (list[str], JSON arrays), for
            the bulk actions, whose batches would otherwise parse and re-serialise every image.
        done: the previewed items this batch changed (list[Item]).
        skipped: previewed items left alone because they changed since the preview.
        counters: counts to add up across batches, e.g. ``{"jobs_inserted": 2}``.
        facts: values for the result that are not counts (dict).
        undo_of: for an undo batch, the audit row it reverts.
    """

    images: list[Image] = field(default_factory=list)
    packed: list[str] = field(default_factory=list)
    done: list[Item] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    undo_of: int | None = None

    @property
    def affected(self) -> int:
        """Previewed rows changed (int)."""
        return len(self.done)

    def images_json(self) -> str:
        """Every image as one JSON array (str), as stored in audit_log.before_images."""
        parts = [json.dumps([i.as_json() for i in self.images], default=str)[1:-1]]
        parts += [p.strip()[1:-1] for p in self.packed]
        return "[" + ",".join(p for p in parts if p.strip()) + "]"


@dataclass(frozen=True)
class InFlight:
    """One batch being applied: what was previewed, the batch, and the run's id (str)."""

    preview: Preview
    batch: Batch
    run_id: str


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


@dataclass(frozen=True)
class Face:
    """How one face (the CLI, the console) words what the engineer types, for messages the
    engine builds: the engine never names a CLI flag or a dialog box itself.

    Attributes:
        writes_hint: how to switch writes on (str).
        confirm: how to confirm N rows, with ``{count}`` (str).
        confirm_env: how to name the environment too, with ``{count}`` and ``{env}`` (str).
        param: how a parameter is named (callable: ParamSpec -> str).
    """

    writes_hint: str
    confirm: str
    confirm_env: str
    param: Callable[[Any], str]


@dataclass
class Result:
    """The outcome of a run, as printed by ``--format json``.

    Attributes:
        action: the action's name.
        status: applied | dry-run | refused | aborted | nothing-to-do | bad-input |
            cannot-connect.
        previewed: rows previewed.
        affected: rows changed by committed batches (exactly what committed).
        skipped: previewed rows left alone because they changed since the preview.
        batches: committed batches.
        audit_ids: audit_log ids of the committed batches.
        values: action-specific facts (seed 000's counters, the flag's value, ...).
        message: one line for the engineer.
        run_id: the run's id in audit_log (str, "" before apply).
        skipped_keys: the skipped keys (at most 100 in the JSON).
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

    def committed(self) -> str:
        """What committed, in one phrase: batches, rows, the run id and the audit id range."""
        text = f"committed: {self.batches} batches, {self.affected} rows"
        if self.audit_ids:
            low, high = min(self.audit_ids), max(self.audit_ids)
            ids = f"audit id {low}" if low == high else f"audit ids {low}-{high}"
            text += f" (run {self.run_id}, {ids})"
        return text

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
