"""The audit trail (DESIGN.md step 5): a row per applied batch, and a local JSON line.

The row is written in the batch's own transaction (``opsconsole.audit_log``), so a batch and its
audit row commit or vanish together. After the commit, one JSON line goes to the local audit
file. Neither ever holds a password: the DSN is not recorded at all, only the masked target.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsconsole.actions.model import Applied, Batch, Preview
from opsconsole.actions.session import ActionContext, Session
from opsconsole.connection import dsn


def insert_row(
    session: Session,
    ctx: ActionContext,
    preview: Preview,
    batch: Batch,
    applied: Applied,
    *,
    run_id: str,
    outcome: str,
    undo_of: int | None = None,
) -> dict[str, Any]:
    """Insert the batch's audit row in the open transaction.

    Returns:
        The row's ``id``, ``created_at``, ``db_role`` and ``client_host`` (dict).
    """
    row = session.one(
        "audit_insert",
        run_id=run_id,
        batch_no=batch.no,
        os_user=ctx.os_user,
        client_host=ctx.hostname,
        profile=ctx.profile.name,
        action=preview.action,
        params=json.dumps(preview.params, default=str),
        previewed=len(batch.items),
        affected=applied.affected,
        outcome=outcome,
        before_images=applied.images_json(),
        undo_of=undo_of,
    )
    assert row is not None
    return row


def write_line(ctx: ActionContext, record: dict[str, Any]) -> str | None:
    """Append one JSON line to the local audit file.

    Args:
        ctx: gives the file and the masked target.
        record: what to log (the engine passes the audit row's summary, no before-images).

    Returns:
        None on success, else a one-line warning (the database row is the record of truth).
    """
    line = {
        "at": datetime.now(UTC).isoformat(),
        "target": dsn.target(ctx.dsn).label(),
        "environment": ctx.profile.environment,
        **record,
    }
    path: Path = ctx.audit_file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, default=str, sort_keys=True) + "\n")
    except OSError as exc:
        warning = f"could not append to the local audit file {path} ({exc.strerror or exc})"
        print(f"opsconsole: warning: {warning}", file=sys.stderr)
        return warning
    return None


def summary(
    ctx: ActionContext,
    preview: Preview,
    batch: Batch,
    applied: Applied,
    row: dict[str, Any],
    *,
    run_id: str,
    outcome: str,
    undo_of: int | None = None,
) -> dict[str, Any]:
    """The local file's record of one committed batch (dict; keys of changed rows, no images)."""
    return {
        "audit_id": row["id"],
        "run_id": run_id,
        "batch_no": batch.no,
        "os_user": ctx.os_user,
        "db_role": row["db_role"],
        "client_host": row["client_host"],
        "profile": ctx.profile.name,
        "action": preview.action,
        "params": preview.params,
        "previewed": len(batch.items),
        "affected": applied.affected,
        "skipped": len(applied.skipped),
        "outcome": outcome,
        "undo_of": undo_of,
        "changed": applied.changed_keys()[:1000],
    }
