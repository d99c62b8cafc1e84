"""Every guarded action: its screen, parameters, the objects it needs, preview and apply.

``opsconsole doctor`` reads :data:`ACTIONS` (``screen``, ``requires``, ``query_file``) to say
which actions can run on the connected database. The names match ``[[actions]]`` in screens/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsconsole.actions import admin, deliveries, jobs, undo
from opsconsole.actions.model import Applied, Batch, Preview
from opsconsole.actions.params import (
    ActionParams,
    BackfillGuest,
    NoParams,
    ReenqueueCoordination,
    ReplayJobs,
    ResolveReport,
    SetFlag,
    SetTrigger,
    Undo,
)
from opsconsole.actions.session import QUERY_FILE, ActionContext, Session

PreviewFn = Callable[[Session, ActionContext, ActionParams, int], Preview]
ApplyFn = Callable[[Session, ActionContext, Preview, Batch, str], Applied]


@dataclass(frozen=True)
class ActionDef:
    """One guarded action.

    Attributes:
        name: CLI and screen name, e.g. "backfill-all".
        title: one line for menus and help.
        screen: the screen offering it.
        requires: objects it reads or writes ("schema.relation[.column]" or "schema.f()").
        params: its pydantic parameter model.
        preview: builds the Preview (read-only statements).
        apply: applies one batch inside the engine's transaction.
        batched: whether --batch-size applies.
        source: the seed it comes from.
        query_file: where its SQL lives.
        finish: post-processes the result's values (e.g. idempotent_replay).
        lock_name: advisory lock name ("opsconsole:" + this); default the action's name.
    """

    name: str
    title: str
    screen: str
    requires: tuple[str, ...]
    params: type[ActionParams]
    preview: PreviewFn
    apply: ApplyFn
    batched: bool = False
    source: str = ""
    query_file: str = QUERY_FILE
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    lock_name: str | None = None

    @property
    def lock(self) -> str:
        """The advisory lock's name after "opsconsole:" (str)."""
        return self.lock_name or self.name


_DELIVERY_COLUMNS = (
    "public.message_deliveries.user_id",
    "public.message_deliveries.guest_id",
    "public.message_deliveries.updated_at",
    "public.user_link_audit.metadata",
)

ACTIONS: dict[str, ActionDef] = {
    a.name: a
    for a in (
        ActionDef(
            "backfill-guest", "Backfill one guest's deliveries (backfill_guest_deliveries)",
            "deliveries",
            (*_DELIVERY_COLUMNS, "public.event_guests.user_id", "public.users"),
            BackfillGuest, deliveries.backfill_guest_preview, deliveries.backfill_guest_apply,
            source="seed 002 Manual Backfill",
        ),
        ActionDef(
            "backfill-all", "Backfill every linkable delivery (batched)", "deliveries",
            (*_DELIVERY_COLUMNS, "public.event_guests.user_id", "public.event_guests.removed_at"),
            NoParams, deliveries.backfill_all_preview, deliveries.backfill_all_apply,
            batched=True, source="seed 002 Debugging Queries",
        ),
        ActionDef(
            "replay-jobs", "Replay failed jobs (back to pending, in place)", "jobs",
            ("public.sms_outbound_jobs.status", "public.sms_outbound_jobs.last_error",
             "public.sms_outbound_jobs.run_after", "public.sms_outbound_jobs.locked_at",
             "public.sms_outbound_jobs.purpose"),
            ReplayJobs, jobs.replay_preview, jobs.replay_apply, batched=True, source="seed 000",
        ),
        ActionDef(
            "reenqueue-coordination", "Re-enqueue a locked linkup's coordination (idempotent)",
            "coordination",
            ("public.linkups.lock_version", "public.linkup_members.status",
             "public.linkup_coordination_messages.idempotency_key",
             "public.linkup_coordination_messages.sms_outbound_job_id",
             "public.sms_outbound_jobs.idempotency_key", "public.users.phone"),
            ReenqueueCoordination, jobs.reenqueue_preview, jobs.reenqueue_apply,
            source="seed 000 §3", finish=jobs.reenqueue_values,
        ),
        ActionDef(
            "set-flag", "Set a feature flag (compare-and-set)", "flags",
            ("public.feature_flags.enabled", "public.feature_flags.updated_at",
             "public.feature_flags.updated_by"),
            SetFlag, admin.set_flag_preview, admin.set_flag_apply,
            source="seed 002 Feature Flags, seed 004 messaging_v2_enabled",
        ),
        ActionDef(
            "set-trigger", "Enable or disable a linkage trigger", "deliveries",
            ("public.message_deliveries", "public.event_guests"),
            SetTrigger, deliveries.set_trigger_preview, deliveries.set_trigger_apply,
            source="seed 002 Rollback Plan", finish=deliveries.trigger_values,
        ),
        ActionDef(
            "resolve-report", "Resolve a report: dismiss, or uphold and soft-delete", "moderation",
            ("public.reported_messages.report_status", "public.reported_messages.reviewed_by",
             "public.messages.is_deleted", "public.messages.deleted_at",
             "public.messages.deleted_by"),
            ResolveReport, admin.resolve_report_preview, admin.resolve_report_apply,
            source="seed 004 moderation",
        ),
        ActionDef(
            "reset-quotas", "Reset broadcast quotas now (the nightly reset)", "moderation",
            ("public.broadcast_quotas.broadcasts_sent", "public.broadcast_quotas.last_reset_at",
             "public.broadcast_quotas.updated_at"),
            NoParams, admin.reset_quotas_preview, admin.reset_quotas_apply, batched=True,
            source="seed 004 §3.2",
        ),
        ActionDef(
            "undo", "Undo an audited action from its before-images", "audit",
            ("opsconsole.audit_log.before_images", "opsconsole.audit_log.undone_by"),
            Undo, undo.undo_preview, undo.undo_apply, source="DESIGN.md step 6",
        ),
    )
}
