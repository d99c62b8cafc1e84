"""Feature flags (seeds 002 and 004) and moderation (seed 004): set-flag as a compare-and-set,
resolve-report (dismiss, or uphold and soft-delete the message), reset-quotas (the nightly reset,
now)."""

from __future__ import annotations

from opsconsole.actions import common
from opsconsole.actions.model import Applied, Batch, Preview
from opsconsole.actions.params import ActionParams, ResolveReport, SetFlag
from opsconsole.actions.session import ActionContext, Session
from opsconsole.errors import BadInput, Refused

FLAGS = "public.feature_flags"
REPORTS = "public.reported_messages"
MESSAGES = "public.messages"
QUOTAS = "public.broadcast_quotas"


def set_flag_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """The flag's value and updated_at now: the apply only proceeds if both are unchanged.

    Raises:
        BadInput: no flag of that name.
    """
    assert isinstance(params, SetFlag)
    flag = session.one("flag_lookup", name=params.name)
    if flag is None:
        known = ", ".join(str(r["name"]) for r in session.rows("flag_names")) or "none"
        raise BadInput(f"set-flag: no feature flag named {params.name!r} (flags: {known})")
    items = [] if flag["enabled"] == params.enabled else [params.name]
    row = {"name": flag["name"], "enabled": flag["enabled"], "new": params.enabled,
           "updated_by": flag["updated_by"], "updated_at": flag["updated_at"]}
    return Preview(
        action="set-flag",
        params=params.as_json(),
        items=items,
        sample=common.sample([row], list(row)),
        columns=list(row),
        statement=session.statement("flag_apply"),
        batches=common.split(items, 1),
        values={"name": params.name, "enabled_before": flag["enabled"],
                "enabled_after": params.enabled if items else flag["enabled"]},
        state={"prev_enabled": flag["enabled"], "prev_updated_at": flag["updated_at"]},
        relations=[(FLAGS, "UPDATE")],
    )


def set_flag_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Compare-and-set: skipped when someone changed the flag since the preview."""
    rows = session.rows(
        "flag_apply", name=preview.values["name"], enabled=preview.values["enabled_after"],
        updated_by=f"opsconsole:{ctx.os_user}", **preview.state,
    )
    applied = Applied(images=common.update_images(rows, FLAGS, "name"))
    if not rows:
        applied.skipped = list(batch.items)
    return applied


def resolve_report_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """The pending report, and for uphold its message (unless already deleted).

    Raises:
        BadInput: no such report.
        Refused: the report is not pending.
    """
    assert isinstance(params, ResolveReport)
    report = session.one("report_lookup", report_id=params.report_id)
    if report is None:
        raise BadInput(f"resolve-report: no reported_messages row with id {params.report_id}")
    if report["report_status"] != "pending":
        raise Refused(
            f"resolve-report: report {params.report_id} is {report['report_status']} already "
            f"({_reviewed(report)}): only a pending report is resolved"
        )
    items = [f"report:{report['id']}"]
    notes = []
    if params.decision == "uphold":
        if report["message_present"] is None:
            notes.append("the reported message no longer exists")
        elif report["is_deleted"]:
            notes.append("the message is already soft-deleted")
        else:
            items.append(f"message:{report['message_id']}")
    status = "upheld" if params.decision == "uphold" else "dismissed"
    shown = [{"row": f"report {report['id']}", "change": f"pending -> {status}",
              "detail": report["reason"]}]
    if len(items) > 1:
        shown.append({"row": f"message {report['message_id']}",
                      "change": "is_deleted false -> true", "detail": report["preview"]})
    columns = ["row", "change", "detail"]
    statements = ["report_apply"] + (["message_soft_delete"] if len(items) > 1 else [])
    return Preview(
        action="resolve-report",
        params=params.as_json(),
        items=items,
        sample=common.sample(shown, columns),
        columns=columns,
        statement="\n\n".join(session.statement(s) for s in statements),
        batches=common.split(items, len(items)),
        values={"report_id": params.report_id, "report_status": status,
                "message_deleted": False},
        state={"message_id": str(report["message_id"])},
        notes=notes,
        relations=[(REPORTS, "UPDATE")] + ([(MESSAGES, "UPDATE")] if len(items) > 1 else []),
    )


def resolve_report_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """Resolve the report if still pending; on uphold then soft-delete its message."""
    rows = session.rows(
        "report_apply", report_id=preview.values["report_id"],
        report_status=preview.values["report_status"], reviewed_by=f"opsconsole:{ctx.os_user}",
    )
    applied = Applied(images=common.update_images(rows, REPORTS))
    if not rows:
        applied.skipped = list(batch.items)
        return applied
    message_item = f"message:{preview.state['message_id']}"
    if message_item in batch.items:
        deleted = session.rows("message_soft_delete", message_id=preview.state["message_id"])
        applied.images += common.update_images(deleted, MESSAGES)
        applied.values["message_deleted"] = bool(deleted)
        if not deleted:
            applied.skipped.append(message_item)
    return applied


def reset_quotas_preview(
    session: Session, ctx: ActionContext, params: ActionParams, batch_size: int
) -> Preview:
    """Quotas with broadcasts sent, or not reset for more than a day."""
    rows = common.capped(
        session.rows("reset_quotas_preview", max_rows=common.MAX_ROWS_BATCHED + 1),
        common.MAX_ROWS_BATCHED, "reset-quotas",
    )
    items = [str(r["id"]) for r in rows]
    columns = ["id", "broadcasts_sent", "broadcast_limit", "last_reset_at"]
    return Preview(
        action="reset-quotas",
        params={"batch_size": batch_size},
        items=items,
        sample=common.sample(rows, columns),
        columns=columns,
        statement=session.statement("reset_quotas_apply"),
        batches=common.split(items, batch_size),
        values={"quotas_reset": 0},
        relations=[(QUOTAS, "UPDATE")],
    )


def reset_quotas_apply(
    session: Session, ctx: ActionContext, preview: Preview, batch: Batch, run_id: str
) -> Applied:
    """broadcasts_sent = 0, last_reset_at = now() for the batch's quotas still due."""
    applied = common.update_batch(session, "reset_quotas_apply", QUOTAS, batch)
    applied.values["quotas_reset"] = applied.affected
    return applied



def _reviewed(report: dict[str, object]) -> str:
    who = report.get("reviewed_by") or "reviewer unknown"
    when = report.get("reviewed_at")
    return f"by {who}" + (f" at {when}" if when else "")
