"""The audit trail (DESIGN.md step 5): a row per applied batch, and a local JSON line.

The row is written in the batch's own transaction, after its changes (``opsconsole.audit_log``
vouches for it only then: its trigger checks the rows the images name were written by that very
transaction), so a batch and its audit row commit or vanish together. After the commit, one
JSON line goes to the local audit file: checked writable before the first batch, written whole
(one write, then fsync), never glued to a line a crash cut short, and after a failure not
written again in that run: one warning per run, saying that ``opsconsole.audit_log`` holds the
record of truth. Neither ever holds a password: the DSN is not recorded, only the masked target.
"""

from __future__ import annotations

import json
import os
import stat
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
        previewed=len(batch),
        affected=applied.affected,
        outcome=outcome,
        before_images=applied.images_json(),
        undo_of=undo_of,
    )
    assert row is not None
    return row


class AuditFile:
    """The local JSON-lines audit file, for one run.

    Args:
        ctx: gives the file and the masked target.
        run_id: the run, named in the warning.
        relation: the database's audit table (from ``queries/actions.sql``, as the guards
            read it), named in the warning.

    Attributes:
        warning: the one warning of the run, once the file failed (str | None).
    """

    def __init__(self, ctx: ActionContext, run_id: str, relation: str) -> None:
        self.ctx, self.run_id, self.relation = ctx, run_id, relation
        self.path: Path = ctx.audit_file
        self.warning: str | None = None

    def check(self) -> str | None:
        """Before the first batch: can a line be appended? Returns the warning, or None."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        except OSError as exc:
            self._fail(exc)
        return self.warning

    def write(self, record: dict[str, Any]) -> None:
        """Append one whole line (one write, then fsync); on failure, remove a partial line,
        warn once, and write nothing more in this run."""
        if self.warning is not None:
            return
        line = {"at": datetime.now(UTC).isoformat(), "target": dsn.target(self.ctx.dsn).label(),
                "environment": self.ctx.profile.environment, **record}
        data = (json.dumps(line, default=str, sort_keys=True) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            self._fail(exc)
            return
        try:
            _append(fd, data)
        except OSError as exc:
            self._fail(exc)
        finally:
            os.close(fd)

    def _fail(self, exc: OSError) -> None:
        self.warning = (
            f"the local audit file {self.path} cannot be written ({exc.strerror or exc}): "
            f"nothing more goes to it in this run; {self.relation} holds the record of "
            f"truth (run {self.run_id})"
        )


def _append(fd: int, data: bytes) -> None:
    """One write of a whole line at the end of the file; a regular file is fsynced, and a
    write cut short is truncated away, so no line is ever half written or glued to the next."""
    regular = stat.S_ISREG(os.fstat(fd).st_mode)
    size = os.fstat(fd).st_size if regular else 0
    if regular and size and os.pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data  # a line a crash cut short stays alone on its line
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(28, "No space left on device (short write)")
        if regular:
            os.fsync(fd)
    except OSError:
        if regular:
            os.ftruncate(fd, size)
        raise


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
        "previewed": len(batch),
        "affected": applied.affected,
        "skipped": len(applied.skipped),
        "outcome": outcome,
        "undo_of": undo_of,
        "changed": [f"{i.op}:{i.key}" for i in applied.done[:1000]],
    }
