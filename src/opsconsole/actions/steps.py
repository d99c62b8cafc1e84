"""The protocol of a spec's steps (catalog/action_spec.py): preview, then apply exactly what was
seen.

Preview: lookups (their rows refuse, reject, make it nothing to do, add notes, and give later
statements their columns), rows steps (the keys that would change, per op, capped), trigger
steps (the trigger's state). Apply, per batch and in its transaction: guards re-checked, then
each rows step's apply statements bound to the batch's keys, their images coalesced per row
(first before, last after), rows that realise a previewed item counted, anything beyond the
batch's keys aborting it; then trigger toggles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import sql

from opsconsole.actions import common
from opsconsole.actions.definition import ActionDef, Protocol, missing_triggers
from opsconsole.actions.model import (
    Applied,
    Batch,
    BeyondPreview,
    Image,
    ImageOp,
    InFlight,
    Item,
    Preview,
)
from opsconsole.actions.params import Params, parse
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import introspect
from opsconsole.catalog.action_spec import (
    LOOKUP_COLUMNS,
    ApplySpec,
    GuardStep,
    LookupStep,
    RowsStep,
    TriggerStep,
)
from opsconsole.errors import BadInput, Refused
from opsconsole.sanitize import clean

STATE_WORDS = {"O": "enabled", "D": "disabled", "R": "enabled (replica only)",
               "A": "enabled (always)"}


class _Values(dict[str, Any]):
    """format_map() source that leaves unknown {names} as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: Mapping[str, Any]) -> str:
    """A spec message with ``{param}`` filled from ``values``, inert (str)."""
    return clean(template.format_map(_Values({k: clean(v, 80) for k, v in values.items()})))


def parse_params(action: ActionDef[Params], raw: Mapping[str, Any]) -> Params:
    """The steps protocol's parse: typed by the server's parameter types."""
    return parse(action.spec, action.types, raw)


def preview(session: Session, ctx: ActionContext, action: ActionDef[Params], params: Params,
            batch_size: int) -> Preview:
    """Run the spec's preview steps (read-only statements only).

    Raises:
        BadInput: the parameters name nothing that exists.
        Refused: a lookup refuses, a chosen object is not installed, too many rows.
    """
    spec = action.spec
    _chosen_installed(session, spec.name, params)
    shown = Preview(action=spec.name, params=dict(params.given), sample=[],
                    columns=list(spec.columns), statement="", bound=dict(params.bound),
                    notes=list(spec.notes))
    keys: dict[str, list[str]] = {}
    statements: list[str] = []
    for step in spec.steps:
        if isinstance(step, LookupStep):
            _lookup(session, spec.name, step, shown)
            if shown.done:
                break
        elif isinstance(step, GuardStep):
            statements.append(session.statement(step.statement))
        elif isinstance(step, RowsStep):
            _rows(session, action, step, shown, keys)
            statements += [session.statement(a.statement) for a in step.apply]
        elif isinstance(step, TriggerStep):
            statements.append(_trigger_preview(session, action, step, shown, keys))
    shown.statement = "\n\n".join(statements)
    shown.values = _values(action, shown)
    if spec.batched:
        shown.params["batch_size"] = batch_size
        (op, op_keys), = keys.items() if keys else (("", []),)
        shown.batches = [b for b in common.split(op, op_keys, batch_size) if len(b)]
    elif any(keys.values()):
        shown.batches = [Batch(1, {op: tuple(k) for op, k in keys.items() if k})]
    return shown


def _chosen_installed(session: Session, action: str, params: Params) -> None:
    triggers = [r for r in params.requires if r.startswith("trigger ")]
    others = [r for r in params.requires if not r.startswith("trigger ")]
    missing = introspect.inspect(session.conn, session.catalog).missing(others) if others else []
    missing += missing_triggers(session, triggers)
    if missing:
        raise Refused(f"{action}: not installed here: {', '.join(missing)} is missing")


def _lookup(session: Session, action: str, step: LookupStep, shown: Preview) -> None:
    row = session.one(step.statement, **shown.bound)
    if row is None:
        raise BadInput(f"{action}: {fill(step.missing or 'nothing found', shown.bound)}")
    if row.get("bad_input"):
        raise BadInput(f"{action}: {clean(row['bad_input'])}")
    if row.get("refusal"):
        raise Refused(f"{action}: {clean(row['refusal'])}")
    if row.get("done"):
        shown.done = clean(row["done"])
    shown.notes += [clean(v) for k, v in row.items() if k.startswith("note_") and v]
    shown.bound.update({k: v for k, v in row.items()
                        if k not in LOOKUP_COLUMNS and not k.startswith("note_")})


def _rows(session: Session, action: ActionDef[Params], step: RowsStep, shown: Preview,
          keys: dict[str, list[str]]) -> None:
    spec = action.spec
    cap = step.cap or (common.MAX_ROWS_BATCHED if spec.batched else common.MAX_ROWS_SINGLE)
    names, found = session.tuples(step.preview, **{**shown.bound, "max_rows": cap + 1})
    common.capped(found, cap, spec.name)
    at_key = names.index(step.key)
    at_op = names.index(step.op_column) if step.op_column else None
    for row in found:
        op = str(row[at_op]) if at_op is not None else step.op
        keys.setdefault(op, []).append(str(row[at_key]))
    if step.sample:
        first = [str(r[at_key]) for r in found[: common.SAMPLE_ROWS]]
        sample = session.rows(step.sample, **{**shown.bound, "ids": first}) if first else []
    else:
        sample = [dict(zip(names, r, strict=True)) for r in found[: common.SAMPLE_ROWS]]
    shown.sample += common.sample(sample, shown.columns)
    shown.relations += [(a.table or step.table, a.privilege) for a in step.apply]
    shown.relations += [(s.table, "INSERT") for s in step.side]


def _values(action: ActionDef[Params], shown: Preview) -> dict[str, Any]:
    spec = action.spec
    values = {name: shown.bound.get(name) for name in spec.report}
    for step in spec.steps:
        if isinstance(step, RowsStep):
            values.update({a.counter: 0 for a in step.apply if a.counter})
        elif isinstance(step, TriggerStep):
            values.update({k: shown.bound.get(k) for k in
                           ("trigger", "table", "tgenabled_before", "tgenabled_after")})
    return finish(action, values)


def finish(action: ActionDef[Any], values: dict[str, Any]) -> dict[str, Any]:
    """The result's values with the spec's ``all_zero`` flags computed (dict)."""
    out = dict(values)
    for flag, counters in action.spec.all_zero.items():
        out[flag] = all(not out.get(c) for c in counters)
    return out


def apply(session: Session, ctx: ActionContext, action: ActionDef[Params],
          run: InFlight) -> Applied:
    """Apply one batch inside the engine's transaction.

    Raises:
        Refused: a guard no longer holds (nothing written; the transaction is rolled back).
        BeyondPreview: a statement changed a row the batch did not preview.
    """
    batch = run.batch
    bound = {**run.preview.bound, "run_id": run.run_id, "actor": f"opsconsole:{ctx.os_user}"}
    applied = Applied()
    for step in action.spec.steps:
        if isinstance(step, GuardStep) and session.one(step.statement, **bound) is None:
            raise Refused(f"{action.name}: {fill(step.refusal, bound)}")
        if isinstance(step, RowsStep):
            _apply_rows(session, step, batch, bound, applied)
        elif isinstance(step, TriggerStep):
            _apply_trigger(session, action, step, batch, bound=bound, applied=applied)
    done = set(applied.done)
    applied.skipped = [i for i in batch.items() if i not in done]
    return applied


def _apply_rows(session: Session, step: RowsStep, batch: Batch, bound: dict[str, Any],
                applied: Applied) -> None:
    outputs: dict[str, list[dict[str, Any]]] = {}
    for spec in step.apply:
        op = spec.op or step.op
        params = {**bound, "ids": common.array_param(list(batch.keys.get(op, ())))}
        for name, sources in spec.bind.items():
            params[name] = _sources(sources, batch, outputs)
        if spec.packed:
            _packed(session, spec, Item(op, ""), batch, params=params, applied=applied)
            continue
        rows = session.rows(spec.statement, **params)
        outputs[spec.statement] = rows
        table, key_column = spec.table or step.table, spec.key_column or step.key_column
        for row in rows:
            _one_row(row, (table, key_column), Item(op, str(row[spec.item_column])), batch,
                     applied=applied)
        if spec.counter:
            applied.counters[spec.counter] = applied.counters.get(spec.counter, 0) + len(rows)


def _sources(sources: str | list[str], batch: Batch,
             outputs: dict[str, list[dict[str, Any]]]) -> list[str]:
    keys: list[str] = []
    for source in [sources] if isinstance(sources, str) else sources:
        if source == "items":
            keys += [k for op_keys in batch.keys.values() for k in op_keys]
        elif source.startswith("items:"):
            keys += list(batch.keys.get(source.removeprefix("items:"), ()))
        else:
            ref, column = source.rsplit(".", 1)
            keys += [str(r[column]) for r in outputs.get(ref, [])]
    return keys


def _packed(session: Session, spec: ApplySpec, kind: Item, batch: Batch, *,
            params: dict[str, Any], applied: Applied) -> None:
    op = kind.op
    row = session.one(spec.statement, **params)
    ids = [str(k) for k in (row["ids"] or [])] if row else []
    beyond = [k for k in ids if not batch.has(Item(op, k))]
    if beyond:
        raise BeyondPreview(f"batch {batch.no} would change {len(ids)} rows, {len(batch)} "
                            "previewed")
    applied.done += [Item(op, k) for k in ids]
    if row and ids:
        applied.packed.append(str(row["images"]))
    if spec.counter:
        applied.counters[spec.counter] = applied.counters.get(spec.counter, 0) + len(ids)


def _one_row(row: dict[str, Any], where: tuple[str, str], item: Item, batch: Batch, *,
             applied: Applied) -> None:
    """Image one returned row, coalesced with an earlier image of the same row in this batch
    (its before, this after, at this later position: undo walks images backwards)."""
    table, key_column = where
    before, after = row.get("before"), row.get("after")
    key = (key_column, str(row["id"]))
    earlier = next((i for i in applied.images if i.table == table and i.key == key), None)
    if earlier is not None:
        applied.images.remove(earlier)
        before = earlier.before
    op: ImageOp = "insert" if before is None else "delete" if after is None else "update"
    applied.images.append(Image(table, op, key, before, after))
    if batch.has(item):
        if item not in applied.done:
            applied.done.append(item)
    elif earlier is None:
        raise BeyondPreview(f"batch {batch.no} would change {table} row {key[1]}, which it "
                            "did not preview")


def _trigger_preview(session: Session, action: ActionDef[Params], step: TriggerStep,
                     shown: Preview, keys: dict[str, list[str]]) -> str:
    table, name = str(shown.bound[step.table_param]), str(shown.bound[step.trigger_param])
    enabled = bool(shown.bound[step.enabled_param])
    state = session.one(step.state, relation=table, name=name)
    if state is None:
        raise Refused(f"{action.name}: not installed here: trigger {name} on {table} is missing")
    current, target = str(state["tgenabled"]), "O" if enabled else "D"
    unchanged = current == target or (enabled and current in "RA")
    if unchanged:
        shown.done = f"trigger {name} on {table} is {STATE_WORDS.get(current, current)} already"
    else:
        keys.setdefault("trigger", []).append(name)
    shown.bound.update({"trigger": name, "table": table, "tgenabled_before": current,
                        "tgenabled_after": current if unchanged else target})
    shown.columns = ["trigger", "table", "now", "after"]
    shown.sample += common.sample([{"trigger": name, "table": table,
                                    "now": STATE_WORDS.get(current, current),
                                    "after": "(unchanged)" if unchanged else STATE_WORDS[target]}],
                                  shown.columns)
    shown.relations.append((table, "OWNER"))
    return session.statement(step.statements()[target], _idents(table, name))


def _apply_trigger(session: Session, action: ActionDef[Params], step: TriggerStep,
                   batch: Batch, *, bound: dict[str, Any], applied: Applied) -> None:
    name, table = str(bound["trigger"]), str(bound["table"])
    if not batch.has(Item("trigger", name)):
        return
    if toggle(session, action.spec.trigger_choices(step), step, table, name,
              expected=str(bound["tgenabled_before"]), target=str(bound["tgenabled_after"]),
              applied=applied):
        applied.done.append(Item("trigger", name))


def toggle(session: Session, allowed: Mapping[str, tuple[str, ...]], step: TriggerStep,
           table: str, name: str, *, expected: str, target: str, applied: Applied) -> bool:
    """Set a trigger's tgenabled from ``expected`` to ``target`` under a table lock (also undo).

    Args:
        allowed: table -> trigger names the spec offers (nothing else is ever composed).

    Returns:
        False (nothing done) when the trigger is no longer in the expected state.

    Raises:
        Refused: the trigger is not one the spec offers.
    """
    if name not in allowed.get(table, ()) or target not in step.statements():
        raise Refused(f"trigger {name} on {table} is not one the action's spec offers")
    session.composed(step.lock, [_idents(table, name)[0]])
    state = session.one(step.state, relation=table, name=name)
    if state is None or state["tgenabled"] != expected:
        return False
    session.composed(step.statements()[target], _idents(table, name))
    after = session.one(step.state, relation=table, name=name)
    assert after is not None
    applied.images.append(Image(table, "trigger", ("trigger", name), {"tgenabled": expected},
                                {"tgenabled": after["tgenabled"]}))
    return True


def _idents(table: str, name: str) -> list[sql.Composable]:
    schema, relation = table.split(".", 1)
    return [sql.Identifier(schema, relation), sql.Identifier(name)]


STEPS: Protocol[Params] = Protocol(parse=parse_params, preview=preview, apply=apply)
