"""Seed 002 actions: manual backfill of one guest, batched backfill of every linkable delivery,
and enabling or disabling the two linkage triggers (the seed's rollback plan)."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from opsconsole.actions import common
from opsconsole.actions.model import Applied, Batch, Preview
from opsconsole.actions.params import TRIGGERS, ActionParams, BackfillGuest, SetTrigger
from opsconsole.actions.session import ActionContext, Session
from opsconsole.errors import BadInput, Refused

DELIVERIES = "public.message_deliveries"
STATE_WORDS = {"O": "enabled", "D": "disabled", "R": "enabled (replica only)",
               "A": "enabled (always)"}
STATE_QUERY = {"O": "trigger_enable", "D": "trigger_disable", "R": "trigger_enable_replica",
               "A": "trigger_enable_always"}


def backfill_guest_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """The guest's deliveries with NULL user_id (what backfill_guest_deliveries would update).

    Raises:
        BadInput: no such guest or user.
        Refused: the guest is linked to another user, or removed.
    """
    assert isinstance(params, BackfillGuest)
    guest_id, user_id = str(params.guest_id), str(params.user_id)
    guest = session.one("guest_lookup", guest_id=guest_id)
    if guest is None:
        raise BadInput(f"backfill-guest: no event_guests row with id {guest_id}")
    found = session.one("user_exists", user_id=user_id)
    if not (found and found["present"]):
        raise BadInput(f"backfill-guest: no public.users row with id {user_id}")
    if guest["user_id"] is not None and str(guest["user_id"]) != user_id:
        raise Refused(
            f"backfill-guest: guest {guest_id} is linked to user {guest['user_id']}, not "
            f"{user_id}: pass --user-id {guest['user_id']}"
        )
    notes = []
    if guest["user_id"] is None:
        notes.append("the guest itself is not linked to this user (event_guests.user_id is NULL)")
    if guest["removed_at"] is not None:
        notes.append(f"the guest was removed at {guest['removed_at']}")
    rows = common.capped(
        session.rows("backfill_guest_preview", guest_id=guest_id,
                     max_rows=common.MAX_ROWS_SINGLE + 1),
        common.MAX_ROWS_SINGLE, "backfill-guest",
    )
    items = [str(r["id"]) for r in rows]
    columns = ["id", "message_id", "phone_number", "sms_status", "created_at"]
    return Preview(
        action="backfill-guest",
        params=params.as_json(),
        items=items,
        sample=common.sample(rows, columns),
        columns=columns,
        statement=session.statement("backfill_guest_apply"),
        batches=common.split(items, max(len(items), 1)),
        values={"guest_id": guest_id, "user_id": user_id},
        notes=notes,
        relations=[(DELIVERIES, "UPDATE"), ("public.user_link_audit", "INSERT")],
    )


def backfill_guest_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Link the previewed deliveries still NULL, plus the function's user_link_audit row."""
    applied = common.update_batch_packed(
        session, "backfill_guest_apply", DELIVERIES, batch,
        guest_id=preview.values["guest_id"], user_id=preview.values["user_id"], run_id=run_id,
    )
    applied.values["deliveries_updated"] = applied.affected
    return applied


def backfill_all_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """Every linkable delivery with NULL user_id (seed 002's debugging query), in key order."""
    items: list[str] = common.capped(
        session.column("backfill_all_preview", max_rows=common.MAX_ROWS_BATCHED + 1),
        common.MAX_ROWS_BATCHED, "backfill-all",
    )
    shown = session.rows("backfill_all_sample", ids=items[: common.SAMPLE_ROWS])
    columns = ["id", "guest_name", "guest_user_id", "event_id", "created_at"]
    return Preview(
        action="backfill-all",
        params={**params.as_json(), "batch_size": batch_size},
        items=items,
        sample=common.sample(shown, columns),
        columns=columns,
        statement=session.statement("backfill_all_apply"),
        batches=common.split(items, batch_size),
        values={"deliveries_updated": 0},
        relations=[(DELIVERIES, "UPDATE"), ("public.user_link_audit", "INSERT")],
    )


def backfill_all_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """One batch: link the previewed deliveries whose guest is still linked and not removed."""
    applied = common.update_batch_packed(session, "backfill_all_apply", DELIVERIES, batch,
                                         run_id=run_id)
    applied.values["deliveries_updated"] = applied.affected
    return applied


def set_trigger_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """The trigger's current state (tgenabled); nothing to do when already as asked.

    Raises:
        Refused: the trigger is not installed on its table.
    """
    assert isinstance(params, SetTrigger)
    relation = TRIGGERS[params.name]
    state = session.one("trigger_state", relation=relation, name=params.name)
    if state is None:
        raise Refused(
            f"set-trigger: not installed: trigger {params.name} on {relation} "
            "(adapt queries/actions.sql)"
        )
    current = str(state["tgenabled"])
    target = "O" if params.enabled else "D"
    verb = "enable" if params.enabled else "disable"
    unchanged = current == target or (params.enabled and current in "RA")
    items: list[str] = [] if unchanged else [str(params.name)]
    row = {"trigger": params.name, "table": relation, "now": STATE_WORDS.get(current, current),
           "after": STATE_WORDS[target] if items else "(unchanged)"}
    return Preview(
        action="set-trigger",
        params=params.as_json(),
        items=items,
        sample=common.sample([row], list(row)),
        columns=list(row),
        statement=_trigger_sql(session, STATE_QUERY[target], relation, params.name),
        batches=common.split(items, 1),
        values={"trigger": params.name, "table": relation, "tgenabled_before": current,
                "tgenabled_after": target if items else current, "verb": verb},
        state={"tgenabled": current},
        relations=[(relation, "OWNER")],
    )


def set_trigger_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Lock the table, re-check tgenabled as previewed, then ALTER TABLE ... TRIGGER."""
    name, relation = preview.values["trigger"], preview.values["table"]
    target = preview.values["tgenabled_after"]
    applied = Applied()
    ok = toggle_trigger(session, relation, name, expected=preview.state["tgenabled"],
                        target=target, applied=applied)
    if not ok:
        applied.skipped.append(name)
    return applied


def toggle_trigger(
    session: Session, relation: str, name: str, *, expected: str, target: str, applied: Applied
) -> bool:
    """Set a trigger's tgenabled from ``expected`` to ``target`` (also used by undo).

    Returns:
        False (nothing done) when the trigger is no longer in the expected state.
    """
    if name not in TRIGGERS or TRIGGERS[name] != relation or target not in STATE_QUERY:
        raise Refused(f"trigger {name} on {relation} is not on the allow-list")
    session.composed("trigger_lock_table", [_relation_ident(relation)])
    state = session.one("trigger_state", relation=relation, name=name)
    if state is None or state["tgenabled"] != expected:
        return False
    session.composed(STATE_QUERY[target], [_relation_ident(relation), sql.Identifier(name)])
    after = session.one("trigger_state", relation=relation, name=name)
    assert after is not None
    applied.images.append(
        common.image(relation, "trigger", {"trigger": name}, {"tgenabled": expected},
                     {"tgenabled": after["tgenabled"]})
    )
    return True


def _relation_ident(relation: str) -> sql.Identifier:
    schema, table = relation.split(".", 1)
    return sql.Identifier(schema, table)


def _trigger_sql(session: Session, query: str, relation: str, name: str) -> str:
    stmt = sql.SQL(session.statement(query)).format(
        _relation_ident(relation), sql.Identifier(name)
    )
    return stmt.as_string(session.conn)


def trigger_values(values: dict[str, Any]) -> dict[str, Any]:
    """Drop the helper key from set-trigger's result values."""
    return {k: v for k, v in values.items() if k != "verb"}
