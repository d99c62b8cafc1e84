"""Step 6: revert an applied action from the before-images in its audit row.

What undo may touch comes from the audited action's own spec (``ActionSpec.undo_targets``):
its tables and key columns, the columns its images hold, the rows it inserted, its triggers;
nothing else is ever composed into SQL. An entry is undone only when it is part of a complete
console run: every row of the run vouched for by the database (written in the very transaction
that made its changes), one action, parameters, role and OS user, batches 1..n once each. A row
is restored only while it is still as the action left it, compared as typed values (so the
session's TimeZone, DateStyle, IntervalStyle, bytea_output or extra_float_digits do not matter);
one changed since is skipped and reported. Rows the action inserted (its user_link_audit rows
too) are deleted under the same rule; a trigger is toggled back if still as the action left it.
The undo writes its own audit row (undo_of): that row is what makes the entry "undone", so
undoing twice is refused; the action's advisory lock serialises undos.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import psycopg
from psycopg import sql

from opsconsole.actions import common, definition, guards, steps
from opsconsole.actions.definition import ActionDef, Protocol
from opsconsole.actions.model import Applied, Batch, Image, InFlight, Item, Preview, UndoPlan
from opsconsole.actions.params import parse
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import ActionSpec, introspect
from opsconsole.catalog.action_spec import TriggerStep, UndoStep, UndoTarget
from opsconsole.errors import BadInput, Refused
from opsconsole.sanitize import clean

COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
VERB = {"update": "restore", "insert": "delete", "trigger": "toggle back", "delete": "skip"}
PRIVILEGE = {"update": "UPDATE", "insert": "DELETE", "trigger": "OWNER"}


@dataclass(frozen=True)
class UndoParams:
    """undo's parameters: one audit row, or every batch of its run."""

    audit_id: int
    whole_run: bool
    given: Mapping[str, Any]


@dataclass(frozen=True)
class _Original:
    """An audit row to revert, with the spec of the action it records and undo's step."""

    row: Mapping[str, Any]
    spec: ActionSpec
    images: tuple[Image, ...]
    undo: UndoStep

    @property
    def audit_id(self) -> int:
        """The audit row's id (int)."""
        return int(self.row["id"])

    def target(self, image: Image) -> UndoTarget:
        """What the action's spec lets undo do to this image's table (checked before)."""
        return self.spec.undo_targets()[(image.table, image.op)]

    def trigger_step(self) -> TriggerStep:
        """The action's trigger step (for a trigger image, which only such an action writes)."""
        return next(s for s in self.spec.steps if isinstance(s, TriggerStep))


def parse_undo(action: ActionDef[UndoParams], raw: Mapping[str, Any]) -> UndoParams:
    """Validate AUDIT_ID (the server's type of :audit_id) and the whole-run flag."""
    params = parse(action.spec, action.types, raw)
    step = _step(action)
    return UndoParams(int(params.values[step.audit_param]),
                      bool(params.values.get(step.whole_run_param)), dict(params.given))


def _step(action: ActionDef[Any]) -> UndoStep:
    step = action.spec.undo_step
    if step is None:  # definition.define gives the undo protocol only to an undo spec
        raise Refused(f"{action.name}: is not an undo action")
    return step


def preview(session: Session, ctx: ActionContext, action: ActionDef[UndoParams],
            params: UndoParams, batch_size: int) -> Preview:
    """The rows the undo would put back, and those changed since (skipped).

    Raises:
        BadInput: no such audit row.
        Refused: an undo itself, undone already, aborted, not part of a complete console run,
            or an image outside the audited action's allow-list.
    """
    step = _step(action)
    row = session.one(step.lookup, **{step.audit_param: params.audit_id})
    if row is None:
        raise BadInput(f"undo: no audit entry with id {params.audit_id}: the Audit screen "
                       "(key 9) lists them, the id is its first column")
    _undoable(row)
    run = session.rows(step.run, run_id=str(row["run_id"]))
    chosen = [r for r in run if r["undone_by"] is None and r["outcome"] != "aborted"
              and r["undo_of"] is None] if params.whole_run else [row]
    known = introspect.inspect(session.conn, session.catalog).columns
    originals = [_original(ctx, r, known, step) for r in chosen]
    _complete(params.audit_id, run)
    tables = sorted({i.table for o in originals for i in o.images})
    guards.check_row_security(session, "undo", tables)
    shown = Preview(action="undo", params=dict(params.given), sample=[], statement="",
                    columns=["audit_id", "table", "op", "key", "will"])
    changed = side = 0
    for original in originals:
        unchanged = _unchanged(session, original)
        plan = _plan(original, unchanged)
        changed += sum(1 for i, ok in enumerate(unchanged) if not ok)
        side += len(plan.side & plan.wanted)
        batch = Batch(len(shown.batches) + 1, _keys(plan), plan)
        if len(batch):
            shown.batches.append(batch)
        shown.sample += common.sample(
            [_shown(original, i, img, unchanged[i]) for i, img in enumerate(original.images)],
            shown.columns)
    _explain(session, shown, originals, changed, side)
    return shown


def _undoable(row: Mapping[str, Any]) -> None:
    if row["undo_of"] is not None:
        raise Refused(
            f"undo: audit {row['id']} is itself the undo of {row['undo_of']}: "
            "run the original action again instead"
        )
    if row["undone_by"] is not None:
        raise Refused(f"undo: audit {row['id']} was already undone by audit {row['undone_by']}")
    if row["outcome"] == "aborted":
        raise Refused(f"undo: audit {row['id']} records an aborted run: nothing was applied")


def _original(ctx: ActionContext, row: Mapping[str, Any], known: frozenset[str],
              step: UndoStep) -> _Original:
    """Read an audit row's images and check each against its action's allow-list."""
    try:
        _, spec = definition.find(ctx.catalog, str(row["action"]))
    except BadInput:
        raise Refused(f"undo: audit {row['id']} records action {clean(row['action'], 60)!r}, "
                      "which this catalog does not define: undo it with the catalog that "
                      "applied it (--catalog)") from None
    raw = row["before_images"] if isinstance(row["before_images"], list) else [None]
    images = tuple(Image.from_json(img, f"undo: audit {row['id']} image {i}")
                   for i, img in enumerate(raw))
    original = _Original(row, spec, images, step)
    for image in images:
        _allowed(original, image, known)
    return original


def _allowed(original: _Original, image: Image, known: frozenset[str]) -> None:
    table = clean(image.table, 80)
    target = original.spec.undo_targets().get((image.table, image.op))
    if target is None:
        raise Refused(f"undo: table {table} ({image.op}) is not on the undo allow-list of "
                      f"{original.spec.name}")
    if image.op == "trigger":
        if image.key_text not in target.triggers:
            raise Refused(f"undo: trigger {clean(image.key_text, 80)} on {table} is not on the "
                          f"undo allow-list of {original.spec.name}")
        return
    if image.key[0] != target.key_column:
        raise Refused(f"undo: an image of {table} is keyed by {clean(image.key[0], 60)}, not "
                      f"by the key {target.key_column} of {original.spec.name}'s spec")
    if image.op != "update":
        return
    columns = image.changed_columns()
    for column in columns:
        if not COLUMN_RE.match(column) or f"{image.table}.{column}" not in known:
            raise Refused(f"undo: column {table}.{clean(column, 80)} of the before-image is "
                          "not in this database")
        if target.columns is not None and column not in target.columns:
            raise Refused(f"undo: column {table}.{column} is not one {original.spec.name} "
                          "images, so undo does not restore it")
    if not columns:
        raise Refused(f"undo: an image of {table} records no change")


def _complete(audit_id: int, run: list[dict[str, Any]]) -> None:
    """The entry is part of a complete, verifiable console run, else refused."""
    first = run[0] if run else None
    if first is None or not first["all_vouched"]:
        why = ("its rows were not written by the transactions that made their changes "
               "(the audit table's vouched column is false for them)")
    elif not first["consistent"]:
        why = "its rows mix actions, parameters, roles or OS users"
    elif not (first["first_batch"] == 1 and first["rows_in_run"] == first["distinct_batches"]
              == first["last_batch"]):
        why = "its batches are not numbered 1..n, each once"
    else:
        return
    raise Refused(f"undo: audit {audit_id} is not part of a complete console run ({why}): "
                  "it cannot be undone")


def _unchanged(session: Session, original: _Original) -> list[bool]:
    """Per image: still exactly as the action left it (typed comparison)?"""
    out = [False] * len(original.images)
    indexed = list(enumerate(original.images))
    for (table, op), group in groupby(indexed, key=lambda p: (p[1].table, p[1].op)):
        pairs = list(group)
        if op == "trigger":
            state_ref = original.trigger_step().state
            for i, img in pairs:
                state = session.one(state_ref, relation=table, name=img.key_text)
                out[i] = state is not None and state["tgenabled"] == (img.after or {}).get(
                    "tgenabled")
            continue
        key = original.target(pairs[0][1]).key_column
        found = session.composed(original.undo.current, [_table(table), sql.Identifier(key)],
                                 images=_json([img for _, img in pairs]))
        for (i, _), row in zip(pairs, found, strict=True):
            out[i] = bool(row["unchanged"])
    return out


def _plan(original: _Original, unchanged: list[bool]) -> UndoPlan:
    side = frozenset(i for i, img in enumerate(original.images) if original.target(img).side)
    wanted = frozenset(i for i, ok in enumerate(unchanged) if ok)
    return UndoPlan(original.audit_id, original.spec.name, original.images, wanted, side)


def _keys(plan: UndoPlan) -> dict[str, tuple[str, ...]]:
    keys: dict[str, list[str]] = {}
    for i in sorted(plan.wanted - plan.side):
        keys.setdefault(VERB[plan.images[i].op], []).append(f"{plan.audit_id}:{i}")
    return {op: tuple(k) for op, k in keys.items()}


def _shown(original: _Original, i: int, img: Image, unchanged: bool) -> dict[str, Any]:
    return {"audit_id": original.audit_id, "table": img.table, "op": img.op,
            "key": img.key_text, "will": VERB[img.op] if unchanged else "skip: changed since"}


def _explain(session: Session, shown: Preview, originals: list[_Original], changed: int,
             side: int) -> None:
    """The statement (slots filled), notes, values and privileges of an undo preview."""
    needs: set[tuple[str, str]] = set()
    statements: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    for original in originals:
        for img in original.images:
            needs.add((img.table, PRIVILEGE[img.op]))
            signature = (original.spec.name, img.table, img.op, img.changed_columns(),
                         str((img.before or {}).get("tgenabled")))
            if signature not in seen:
                seen.add(signature)
                statements.append(_statement(session, original, img))
    shown.statement = "\n\n".join(statements)
    shown.relations = sorted(needs)
    shown.notes[:0] = [entry_line(o.row) for o in originals[:3]]
    if len(originals) > 3:
        shown.notes.insert(3, f"and {len(originals) - 3} more entries of the run")
    if changed:
        shown.notes.append(f"{changed} rows changed since the action: they will be skipped")
    if side:
        shown.notes.append(f"also deletes {side} rows the action wrote as a consequence "
                           "(e.g. its user_link_audit rows)")
    shown.values = {"undo_of": [o.audit_id for o in originals], "restored": 0,
                    "changed_since": changed,
                    "action_undone": originals[0].spec.name if originals else ""}


def entry_line(row: Mapping[str, Any]) -> str:
    """``undoes audit 12: replay-jobs applied, 3 rows, params {...}``: the audit entry an undo
    reverts, named for the engineer (str, cleaned; its time and user are in its audit row)."""
    params = row.get("params")
    shown = json.dumps(params, default=str) if isinstance(params, dict | list) else params
    rows = f", {row.get('affected')} rows" if row.get("affected") is not None else ""
    what = f", params {clean(shown, 300)}" if shown else ""
    return (f"undoes audit {row.get('id')}: {clean(row.get('action'), 60)} "
            f"{clean(row.get('outcome'), 20)}{rows}{what}")


def _statement(session: Session, original: _Original, img: Image) -> str:
    if img.op == "trigger":
        step = original.trigger_step()
        letter = str((img.before or {}).get("tgenabled", "O"))
        ref = step.statements().get(letter, step.enable)
        return session.statement(ref, [_table(img.table), sql.Identifier(img.key_text)])
    key = sql.Identifier(original.target(img).key_column)
    if img.op == "insert":
        return session.statement(original.undo.delete, [_table(img.table), key])
    cols = sql.SQL(", ").join(map(sql.Identifier, img.changed_columns()))
    return session.statement(original.undo.restore, [_table(img.table), key, cols])


def apply(session: Session, ctx: ActionContext, action: ActionDef[UndoParams],
          run: InFlight) -> Applied:
    """Revert one audit row's images (those previewed as unchanged), newest change first.

    Raises:
        Refused: the audit row was undone by someone else since the preview.
    """
    batch, plan = run.batch, run.batch.undo
    assert plan is not None
    step = _step(action)
    row = session.one(step.lookup, **{step.audit_param: plan.audit_id})
    if row is None or row["undone_by"] is not None:
        raise Refused(f"undo: audit {plan.audit_id} was undone since the preview: "
                      "nothing written")
    _, spec = definition.find(ctx.catalog, plan.action)
    original = _Original(row, spec, plan.images, step)
    applied = Applied(undo_of=plan.audit_id)
    wanted = [(i, plan.images[i]) for i in reversed(range(len(plan.images))) if i in plan.wanted]
    for (table, op), group in groupby(wanted, key=lambda p: (p[1].table, p[1].op)):
        pairs = list(group)
        done = _revert(session, original, (table, op), [img for _, img in pairs],
                       applied=applied)
        applied.done += [Item(VERB[op], f"{plan.audit_id}:{i}") for i, img in pairs
                         if img.key_text in done and i not in plan.side]
    applied.skipped = [i for i in batch.items() if i not in set(applied.done)]
    applied.counters["restored"] = applied.affected
    return applied


def _revert(session: Session, original: _Original, kind: tuple[str, str], images: list[Image],
            *, applied: Applied) -> set[str]:
    """Revert one run of same-table, same-op images; returns the keys reverted."""
    table, op = kind
    if op == "trigger":
        step = original.trigger_step()
        allowed = original.spec.trigger_choices(step)
        return {img.key_text for img in images if steps.toggle(
            session, allowed, step, table, img.key_text,
            expected=str((img.after or {}).get("tgenabled")),
            target=str((img.before or {}).get("tgenabled")), applied=applied)}
    key = original.target(images[0]).key_column
    if op == "insert":
        return _delete(session, original.undo.delete, (table, key), images, applied=applied)
    done: set[str] = set()
    for cols, same in groupby(images, key=lambda img: img.changed_columns()):
        rows = session.composed(
            original.undo.restore,
            [_table(table), sql.Identifier(key), sql.SQL(", ").join(map(sql.Identifier, cols))],
            images=_json(list(same)),
        )
        applied.images += [Image(table, "update", (key, r["id"]), r["before"], r["after"])
                           for r in rows]
        done |= {str(r["id"]) for r in rows}
    return done


def _delete(session: Session, ref: str, where: tuple[str, str], images: list[Image], *,
            applied: Applied) -> set[str]:
    table, key = where
    done = set()
    for img in images:
        try:
            with session.conn.transaction():  # a savepoint: a row still referenced is skipped
                rows = session.composed(ref, [_table(table), sql.Identifier(key)],
                                        images=_json([img]))
        except psycopg.errors.ForeignKeyViolation:
            continue
        for r in rows:
            applied.images.append(Image(table, "delete", (key, r["id"]), r["before"], None))
            done.add(str(r["id"]))
    return done


def _table(table: str) -> sql.Identifier:
    """A table from the allow-list as an identifier (the allow-list was checked before)."""
    schema, name = table.split(".", 1)
    return sql.Identifier(schema, name)


def _json(images: list[Image]) -> str:
    return json.dumps([i.as_json() for i in images], default=str)


UNDO: Protocol[UndoParams] = Protocol(parse=parse_undo, preview=preview, apply=apply)
