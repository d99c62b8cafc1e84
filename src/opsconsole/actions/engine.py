"""The protocol every action follows, in the TUI and in ``opsconsole action`` (DESIGN.md).

:func:`prepare` validates nothing itself (params are validated by the caller) but checks the
action's objects exist and builds the :class:`Preview`. :func:`apply` runs the batches: each in
its own transaction with SET LOCAL lock_timeout and statement_timeout, under the action's
advisory lock, restricted to the previewed keys, aborted and rolled back if it would change more
rows than previewed, audited in the same transaction. Between batches it honours a cancel
request. It never raises for a database failure: the :class:`Result` says exactly what
committed.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any

import psycopg

from opsconsole.actions import audit, guards
from opsconsole.actions.model import (
    Applied,
    Batch,
    Preview,
    Progress,
    ProgressFn,
    Result,
    Status,
)
from opsconsole.actions.params import ActionParams
from opsconsole.actions.registry import ActionDef
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import introspect
from opsconsole.errors import Refused


class _TooMany(Exception):
    """A batch would change more rows than it previewed."""


def prepare(session: Session, ctx: ActionContext, action: ActionDef, params: ActionParams,
            *, batch_size: int) -> Preview:
    """Check the action's objects exist, then preview it (read-only statements only).

    Raises:
        Refused: an object the action needs is not installed (names it and the query file).
        BadInput: the parameters name a row that does not exist.
    """
    schema = introspect.inspect(session.conn, ctx.catalog)
    missing = schema.missing(list(action.requires))
    if missing:
        raise Refused(
            f"{action.name}: not installed: {', '.join(missing)} (adapt {action.query_file})"
        )
    return action.preview(session, ctx, params, batch_size)


def would_refuse(session: Session, ctx: ActionContext, preview: Preview) -> str | None:
    """For a dry run: the guard that would refuse the apply, or None (str | None)."""
    try:
        guards.check_writes(session, ctx, preview.action)
        guards.check_privileges(session, preview.action, preview.relations)
    except Refused as exc:
        return exc.message
    return None


def dry_run(preview: Preview, refusal: str | None) -> Result:
    """The result of ``--dry-run``: the preview's count, nothing written."""
    status: Status = "dry-run" if preview.count else "nothing-to-do"
    message = f"{preview.action}: {preview.count} rows would change; nothing written"
    if refusal:
        message += f" (an apply would be refused: {refusal})"
    return Result(preview.action, status, previewed=preview.count, values=dict(preview.values),
                  message=message)


def apply(
    session: Session,
    ctx: ActionContext,
    action: ActionDef,
    preview: Preview,
    *,
    cancel: threading.Event | None = None,
    on_progress: ProgressFn | None = None,
) -> Result:
    """Apply a confirmed preview, batch by batch.

    Args:
        session: the action's own write session (autocommit between batches).
        ctx: who, where, timeouts, audit file.
        action: the action's definition.
        preview: what the engineer confirmed.
        cancel: set to stop after the batch in flight.
        on_progress: called after each committed batch.

    Returns:
        Result: applied / nothing-to-do / refused / aborted, with exactly what committed.
    """
    result = Result(action.name, "applied", previewed=preview.count, run_id=str(uuid.uuid4()))

    result.values = dict(preview.values)
    if preview.count == 0:
        result.status, result.run_id = "nothing-to-do", ""
        result.message = f"{action.name}: nothing to do; nothing written"
        return _finish(action, result)
    try:
        guards.check_writes(session, ctx, action.name)
        guards.check_privileges(session, action.name, preview.relations)
    except Refused as exc:
        return _refused(action, result, exc.message)
    except psycopg.Error as exc:
        return _failed(action, result, exc, None)
    try:
        locked = _session_lock(session, action.lock)
    except psycopg.Error as exc:
        return _failed(action, result, exc, None)
    if not locked:
        return _refused(action, result, _busy(action))
    try:
        _run_batches(session, ctx, action, preview, result, cancel=cancel,
                     on_progress=on_progress)
    finally:
        _session_unlock(session, action.lock)
    return _finish(action, result)


def _run_batches(
    session: Session, ctx: ActionContext, action: ActionDef, preview: Preview, result: Result, *,
    cancel: threading.Event | None, on_progress: ProgressFn | None,
) -> None:
    total = len(preview.batches)
    for batch in preview.batches:
        if cancel is not None and cancel.is_set():
            result.status = "aborted"
            result.message = (f"{action.name}: cancelled after {result.batches} of {total} "
                              f"batches; committed {result.affected} rows")
            return
        committing = False
        try:
            with session.conn.transaction():
                applied, row = _one_batch(session, ctx, action, preview, batch,
                                          run_id=result.run_id)
                committing = True
        except Refused as exc:
            _refused(action, result, exc.message)
            return
        except _TooMany as exc:
            _abort_too_many(session, ctx, preview, batch, result=result, why=str(exc))
            return
        except psycopg.Error as exc:
            _failed(action, result, exc, batch.no if committing else None)
            return
        _record(ctx, preview, batch, applied, row=row, result=result)
        if on_progress is not None:
            on_progress(Progress(batch.no, total, result.affected, preview.count, row["id"]))
    result.message = _applied_message(action, result, total)


def _one_batch(
    session: Session, ctx: ActionContext, action: ActionDef, preview: Preview, batch: Batch, *,
    run_id: str,
) -> tuple[Applied, dict[str, Any]]:
    session.one("set_local_timeouts", lock_timeout_ms=ctx.lock_timeout_ms,
                statement_timeout_ms=ctx.statement_timeout_ms)
    lock = session.one("try_xact_lock", action=action.lock)
    if not (lock and lock["acquired"]):
        raise Refused(_busy(action))
    applied = action.apply(session, ctx, preview, batch, run_id)
    if applied.affected > len(batch.items):
        raise _TooMany(f"batch {batch.no} would change {applied.affected} rows, "
                       f"{len(batch.items)} previewed")
    row = audit.insert_row(session, ctx, preview, batch, applied, run_id=run_id,
                           outcome=_outcome(applied), undo_of=applied.undo_of)
    if applied.undo_of is not None:
        session.one("audit_mark_undone", audit_id=applied.undo_of, undone_by=row["id"])
    return applied, row


def _outcome(applied: Applied) -> str:
    if applied.skipped:
        return "partial"
    return "undone" if applied.undo_of is not None else "applied"


def _record(ctx: ActionContext, preview: Preview, batch: Batch, applied: Applied, *,
            row: dict[str, Any], result: Result) -> None:
    result.batches += 1
    result.affected += applied.affected
    result.skipped += len(applied.skipped)
    result.skipped_keys += applied.skipped
    result.audit_ids.append(int(row["id"]))
    for key, value in applied.values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            result.values[key] = value
        else:
            result.values[key] = int(result.values.get(key) or 0) + value
    record = audit.summary(ctx, preview, batch, applied, row, run_id=result.run_id,
                           outcome=_outcome(applied), undo_of=applied.undo_of)
    warning = audit.write_line(ctx, record)
    if warning:
        result.values["audit_file_warning"] = warning


def _abort_too_many(session: Session, ctx: ActionContext, preview: Preview, batch: Batch, *,
                    result: Result, why: str) -> None:
    """Rolled back already; record the aborted attempt in its own transaction."""
    result.status = "aborted"
    result.message = (f"{preview.action}: aborted and rolled back: {why}; committed before: "
                      f"{result.batches} batches, {result.affected} rows")
    try:
        with session.conn.transaction():
            row = audit.insert_row(session, ctx, preview, batch, Applied(),
                                   run_id=result.run_id, outcome="aborted")
        result.audit_ids.append(int(row["id"]))
    except psycopg.Error:
        pass


def _refused(action: ActionDef, result: Result, message: str) -> Result:
    result.status = "refused" if result.batches == 0 else "aborted"
    result.message = message if result.batches == 0 else (
        f"{message}; stopped after {result.batches} committed batches ({result.affected} rows)")
    return result


def _failed(action: ActionDef, result: Result, exc: psycopg.Error, in_commit: int | None) -> Result:
    result.status = "aborted"
    reason = describe_error(exc)
    committed = (f"committed: {result.batches} batches, {result.affected} rows"
                 f" (audit ids {', '.join(map(str, result.audit_ids)) or 'none'})")
    if in_commit is not None:
        committed += (f"; batch {in_commit} failed while committing: check opsconsole.audit_log "
                      f"for run_id {result.run_id} to see whether it committed")
    result.message = f"{action.name}: database failure: {reason}; {committed}"
    return result


def describe_error(exc: psycopg.Error) -> str:
    """One line for a database error: lock and statement timeouts named (str)."""
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return "lock_timeout: the rows or table are locked by another session; retry later"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return "statement_timeout: the batch took too long; retry with a smaller --batch-size"
    primary = getattr(exc.diag, "message_primary", None) if hasattr(exc, "diag") else None
    text = primary or (str(exc).strip().splitlines() or ["unknown error"])[0]
    return text.strip()


def _applied_message(action: ActionDef, result: Result, total: int) -> str:
    text = (f"{action.name}: applied {result.affected} of {result.previewed} previewed rows in "
            f"{result.batches} of {total} batches")
    if result.skipped:
        text += f"; skipped {result.skipped} that changed since the preview"
    return text + f"; audit ids {', '.join(map(str, result.audit_ids))}"


def _finish(action: ActionDef, result: Result) -> Result:
    if action.finish is not None:
        result.values = action.finish(result.values)
    return result


def _busy(action: ActionDef) -> str:
    return (f"{action.name}: already running in another session (advisory lock "
            f"'opsconsole:{action.lock}'): wait for it to finish")


def _session_lock(session: Session, name: str) -> bool:
    row = session.one("try_session_lock", action=name)
    return bool(row and row["acquired"])


def _session_unlock(session: Session, name: str) -> None:
    if session.conn.closed or session.conn.broken:
        return
    with contextlib.suppress(psycopg.Error):
        session.one("session_unlock", action=name)

