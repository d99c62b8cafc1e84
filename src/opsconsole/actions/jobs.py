"""Seed 000 actions: replay failed sms_outbound_jobs in place, and the idempotent re-enqueue of a
locked linkup's coordination intents (coordination_created_count, coordination_existing_count,
jobs_inserted, idempotent_replay, as the seed's E2E proof reports them)."""

from __future__ import annotations

from typing import Any

from opsconsole.actions import common
from opsconsole.actions.model import Applied, Batch, Preview
from opsconsole.actions.params import ActionParams, ReenqueueCoordination, ReplayJobs
from opsconsole.actions.session import ActionContext, Session
from opsconsole.errors import BadInput, Refused

JOBS = "public.sms_outbound_jobs"
INTENTS = "public.linkup_coordination_messages"


def _selector(params: ReplayJobs) -> dict[str, Any]:
    return {
        "job_id": str(params.job_id) if params.job_id else None,
        "last_error": params.last_error,
        "last_error_is_null": params.no_last_error,
        "purpose": params.purpose,
    }


def replay_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """Failed jobs matching the one selector; only rows still status 'failed'."""
    assert isinstance(params, ReplayJobs)
    selector = _selector(params)
    rows = common.capped(
        session.rows("replay_jobs_preview", max_rows=common.MAX_ROWS_BATCHED + 1, **selector),
        common.MAX_ROWS_BATCHED, "replay-jobs",
    )
    items = [str(r["id"]) for r in rows]
    columns = ["id", "purpose", "attempts", "updated_at", "last_error"]
    return Preview(
        action="replay-jobs",
        params={**params.as_json(), "batch_size": batch_size},
        items=items,
        sample=common.sample(rows, columns),
        columns=columns,
        statement=session.statement("replay_jobs_apply"),
        batches=common.split(items, batch_size),
        values={"jobs_replayed": 0},
        state=selector,
        notes=["attempts and last_error are kept; status becomes pending, run_after now()"],
        relations=[(JOBS, "UPDATE")],
    )


def replay_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Back to pending, in place, the batch's jobs that are still failed and still match."""
    applied = common.update_batch(session, "replay_jobs_apply", JOBS, batch, **preview.state)
    applied.values["jobs_replayed"] = applied.affected
    return applied


def reenqueue_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """The rows seed 000's enqueue would write for a locked linkup.

    Raises:
        BadInput: no such linkup.
        Refused: the linkup is not locked.
    """
    assert isinstance(params, ReenqueueCoordination)
    linkup_id = str(params.linkup_id)
    linkup = session.one("linkup_lookup", linkup_id=linkup_id)
    if linkup is None:
        raise BadInput(f"reenqueue-coordination: no linkup with id {linkup_id}")
    if linkup["state"] != "locked":
        raise Refused(
            f"reenqueue-coordination: linkup {linkup_id} is {linkup['state']}, not locked: "
            "coordination is only enqueued for a locked linkup"
        )
    rows = session.rows(
        "reenqueue_preview", linkup_id=linkup_id, lock_version=linkup["lock_version"]
    )
    items = [f"{r['op']}:{r['key']}" for r in rows]
    columns = ["op", "user_id", "idempotency_key"]
    return Preview(
        action="reenqueue-coordination",
        params=params.as_json(),
        items=items,
        sample=common.sample(rows, columns),
        columns=columns,
        statement="\n\n".join(
            session.statement(q)
            for q in ("reenqueue_insert_intents", "reenqueue_insert_jobs", "reenqueue_link")
        ),
        batches=common.split(items, max(len(items), 1)),
        values={
            "linkup_id": linkup_id,
            "lock_version": linkup["lock_version"],
            "member_count": linkup["member_count"],
            "coordination_created_count": 0,
            "coordination_existing_count": linkup["coordination_existing_count"],
            "jobs_inserted": 0,
            "idempotent_replay": True,
        },
        relations=[(INTENTS, "INSERT"), (INTENTS, "UPDATE"), (JOBS, "INSERT")],
    )


def reenqueue_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Insert the missing intents and jobs (ON CONFLICT DO NOTHING) and link them.

    Raises:
        Refused: the linkup was unlocked or relocked since the preview (nothing written).
    """
    linkup_id, version = preview.values["linkup_id"], preview.values["lock_version"]
    if session.one("linkup_lock", linkup_id=linkup_id, lock_version=version) is None:
        raise Refused(
            f"reenqueue-coordination: linkup {linkup_id} is no longer locked at lock_version "
            f"{version}: preview again"
        )
    wanted = _by_op(batch.items)
    created = session.rows(
        "reenqueue_insert_intents", linkup_id=linkup_id, lock_version=version,
        user_ids=wanted["coordination_insert"],
    )
    intent_ids = wanted["coordination_update"] + [str(r["id"]) for r in created]
    jobs = session.rows(
        "reenqueue_insert_jobs", coordination_ids=intent_ids, keys=wanted["job_insert"]
    )
    linked = {str(r["id"]): r for r in session.rows("reenqueue_link", coordination_ids=intent_ids)}
    applied = Applied(values={"coordination_created_count": len(created),
                              "jobs_inserted": len(jobs)})
    # Stored so that undo (which walks the images backwards) restores the updated intents, then
    # deletes the inserted intents, then the inserted jobs they pointed to.
    applied.images += [common.image(JOBS, "insert", {"id": r["id"]}, None, r["after"])
                       for r in jobs]
    for row in created:
        link = linked.pop(str(row["id"]), None)
        final = link["after"] if link else row["after"]
        applied.images.append(common.image(INTENTS, "insert", {"id": str(row["id"])}, None, final))
    applied.images += common.update_images(list(linked.values()), INTENTS)
    done = {str(r["user_id"]) for r in created} | {r["id"] for r in linked.values()} | {
        str(r["after"]["idempotency_key"]) for r in jobs
    }
    applied.skipped = [i for i in batch.items if i.split(":", 1)[1] not in done]
    return applied


def reenqueue_values(values: dict[str, Any]) -> dict[str, Any]:
    """idempotent_replay is true when the run inserted nothing (seed 000 §3)."""
    values = dict(values)
    values["idempotent_replay"] = (
        values.get("coordination_created_count", 0) == 0 and values.get("jobs_inserted", 0) == 0
    )
    return values


def _by_op(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"coordination_insert": [], "coordination_update": [],
                                 "job_insert": []}
    for item in items:
        op, key = item.split(":", 1)
        out[op].append(key)
    return out

