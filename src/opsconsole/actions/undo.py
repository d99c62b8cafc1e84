"""Step 6: revert an applied action from the before-images in its audit row.

A row is restored only while it is still as the action left it (every column of the stored
after-image still holds that value: the whole row for most actions, user_id and updated_at for the
bulk backfills); a row changed since is skipped and reported. Rows the action inserted
are deleted under the same rule; a trigger is toggled back if still as the action left it. The
undo writes its own audit row (undo_of) and sets undone_by on the original, in the same
transaction, so undoing twice is refused.
"""

from __future__ import annotations

import re
from itertools import groupby
from typing import Any

import psycopg
from psycopg import sql

from opsconsole.actions import common
from opsconsole.actions.deliveries import toggle_trigger
from opsconsole.actions.model import Applied, Batch, Preview
from opsconsole.actions.params import TRIGGERS, ActionParams, Undo
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import introspect
from opsconsole.errors import BadInput, Refused

# The tables an action may change, and their key column: nothing else is ever restored.
UNDO_TABLES: dict[str, str] = {
    "public.message_deliveries": "id",
    "public.sms_outbound_jobs": "id",
    "public.linkup_coordination_messages": "id",
    "public.feature_flags": "name",
    "public.reported_messages": "id",
    "public.messages": "id",
    "public.broadcast_quotas": "id",
}
COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
OP_PRIVILEGE = {"update": "UPDATE", "insert": "DELETE", "trigger": "OWNER"}


def undo_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """The rows the undo would put back, and those changed since (skipped).

    Raises:
        BadInput: no such audit row.
        Refused: it is an undo itself, already undone, or aborted.
    """
    assert isinstance(params, Undo)
    originals = _originals(session, params)
    columns = introspect.inspect(session.conn, session.catalog).columns
    items: list[str] = []
    rows: list[dict[str, Any]] = []
    batches: list[Batch] = []
    needs: set[tuple[str, str]] = {("opsconsole.audit_log", "UPDATE")}
    changed = 0
    for original in originals:
        images = list(original["before_images"] or [])
        unchanged = _unchanged(session, images)
        mine = [f"{original['id']}:{i}" for i, ok in enumerate(unchanged) if ok]
        changed += len(images) - len(mine)
        items += mine
        batches.append(Batch(no=len(batches) + 1, items=mine,
                             extra={"audit_id": original["id"], "images": images}))
        for i, img in enumerate(images):
            needs.add((img["table"], OP_PRIVILEGE[img["op"]]))
            rows.append(_shown(original["id"], img, unchanged[i]))
    notes = [f"{changed} rows changed since the action: they will be skipped"] if changed else []
    return Preview(
        action="undo",
        params=params.as_json(),
        items=items,
        sample=common.sample(rows, ["audit_id", "table", "op", "key", "will"]),
        columns=["audit_id", "table", "op", "key", "will"],
        statement=session.statement("undo_restore") + "\n\n" + session.statement("undo_delete"),
        batches=[b for b in batches if b.items],
        values={"undo_of": [o["id"] for o in originals], "restored": 0,
                "changed_since": changed, "action_undone": originals[0]["action"]},
        state={"columns": sorted(columns)},
        notes=notes,
        relations=sorted(needs),
    )


def undo_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Revert one audit row's images (those previewed as unchanged), newest change first.

    Raises:
        Refused: the audit row was undone by someone else since the preview.
    """
    audit_id = int(batch.extra["audit_id"])
    if session.one("audit_lock_for_undo", audit_id=audit_id) is None:
        raise Refused(f"undo: audit {audit_id} was undone since the preview: nothing written")
    images: list[dict[str, Any]] = batch.extra["images"]
    wanted = [(i, images[i]) for i in reversed(range(len(images)))
              if f"{audit_id}:{i}" in batch.items]
    applied = Applied(undo_of=audit_id)
    known = set(preview.state["columns"])
    for (table, op), group in groupby(wanted, key=lambda p: (p[1]["table"], p[1]["op"])):
        group_list = list(group)
        done = _revert(session, table, op, [img for _, img in group_list], known=known,
                       applied=applied)
        applied.skipped += [f"{audit_id}:{i}" for i, img in group_list
                            if _key_of(img) not in done]
    applied.values["restored"] = applied.affected
    return applied


def _originals(session: Session, params: Undo) -> list[dict[str, Any]]:
    row = session.one("audit_lookup", audit_id=params.audit_id)
    if row is None:
        raise BadInput(f"undo: no opsconsole.audit_log row with id {params.audit_id}")
    _undoable(row)
    if not params.whole_run:
        return [row]
    runs = [r for r in session.rows("audit_run", run_id=str(row["run_id"]))
            if r["undone_by"] is None and r["outcome"] != "aborted"]
    return runs


def _undoable(row: dict[str, Any]) -> None:
    if row["undo_of"] is not None:
        raise Refused(
            f"undo: audit {row['id']} is itself the undo of {row['undo_of']}: "
            "run the original action again instead"
        )
    if row["undone_by"] is not None:
        raise Refused(f"undo: audit {row['id']} was already undone by audit {row['undone_by']}")
    if row["outcome"] == "aborted":
        raise Refused(f"undo: audit {row['id']} records an aborted run: nothing was applied")


def _unchanged(session: Session, images: list[dict[str, Any]]) -> list[bool]:
    out = [False] * len(images)
    indexed = list(enumerate(images))
    for (table, op), group in groupby(indexed, key=lambda p: (p[1]["table"], p[1]["op"])):
        pairs = list(group)
        if op == "trigger":
            for i, img in pairs:
                state = session.one("trigger_state", relation=table, name=img["key"]["trigger"])
                out[i] = state is not None and state["tgenabled"] == img["after"]["tgenabled"]
            continue
        key = _key_column(table)
        found = session.composed(
            "undo_current", [_ident(table), sql.Identifier(key)],
            images=_json([img for _, img in pairs]),
        )
        for (i, _), row in zip(pairs, found, strict=True):
            out[i] = bool(row["unchanged"])
    return out


def _revert(
    session: Session, table: str, op: str, images: list[dict[str, Any]], *, known: set[str],
    applied: Applied,
) -> set[str]:
    """Revert one run of same-table, same-op images; returns the keys reverted."""
    if op == "trigger":
        done = set()
        for img in images:
            name = img["key"]["trigger"]
            if toggle_trigger(session, table, name, expected=img["after"]["tgenabled"],
                              target=img["before"]["tgenabled"], applied=applied):
                done.add(_key_of(img))
        return done
    key = _key_column(table)
    if op == "insert":
        return _delete(session, table, key, images, applied)
    done = set()
    for cols, same in groupby(images, key=lambda img: _changed_columns(table, img, known)):
        rows = session.composed(
            "undo_restore",
            [_ident(table), sql.Identifier(key), sql.SQL(", ").join(map(sql.Identifier, cols))],
            images=_json(list(same)),
        )
        applied.images += common.update_images(rows, table, key)
        done |= {str(r["id"]) for r in rows}
    return done


def _delete(
    session: Session, table: str, key: str, images: list[dict[str, Any]], applied: Applied
) -> set[str]:
    done = set()
    for img in images:
        try:
            with session.conn.transaction():  # a savepoint: a row still referenced is skipped
                rows = session.composed(
                    "undo_delete", [_ident(table), sql.Identifier(key)], images=_json([img])
                )
        except psycopg.errors.ForeignKeyViolation:
            continue
        for r in rows:
            applied.images.append(common.image(table, "delete", {key: r["id"]}, r["before"], None))
            done.add(str(r["id"]))
    return done


def _changed_columns(table: str, img: dict[str, Any], known: set[str]) -> tuple[str, ...]:
    before, after = img.get("before") or {}, img.get("after") or {}
    cols = tuple(sorted(c for c in before if before.get(c) != after.get(c)))
    for col in cols:
        if not COLUMN_RE.match(col) or f"{table}.{col}" not in known:
            raise Refused(f"undo: column {table}.{col} of the before-image is not in this database")
    if not cols:
        raise Refused(f"undo: an image of {table} records no change")
    return cols


def _key_column(table: str) -> str:
    if table not in UNDO_TABLES:
        raise Refused(f"undo: table {table} is not on the undo allow-list")
    return UNDO_TABLES[table]


def _key_of(img: dict[str, Any]) -> str:
    return str(next(iter((img.get("key") or {"": ""}).values())))


def _ident(table: str) -> sql.Identifier:
    if table not in UNDO_TABLES and table not in TRIGGERS.values():
        raise Refused(f"undo: table {table} is not on the undo allow-list")
    schema, name = table.split(".", 1)
    return sql.Identifier(schema, name)


def _shown(audit_id: int, img: dict[str, Any], unchanged: bool) -> dict[str, Any]:
    verb = {"update": "restore", "insert": "delete", "trigger": "toggle back"}[img["op"]]
    return {"audit_id": audit_id, "table": img["table"], "op": img["op"], "key": _key_of(img),
            "will": verb if unchanged else "skip: changed since"}


def _json(images: list[dict[str, Any]]) -> str:
    import json

    return json.dumps(images, default=str)
