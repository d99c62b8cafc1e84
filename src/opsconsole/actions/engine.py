"""The protocol every action follows, in the TUI and in ``opsconsole action`` (DESIGN.md).

The faces call, in order: :func:`define` (the server judges the action's spec: not installed,
a statement that does not prepare, a spec naming what its statements lack: refused, naming what
to edit), ``action.parse(raw)`` (parameters typed as the server types them), :func:`prepare`
(row-level security checked, then the read-only preview), then :func:`dry_run` or, after
``guards.check_confirmation``, :func:`apply`. ``apply`` runs the batches: each in its own
transaction with SET LOCAL lock_timeout and statement_timeout, under the action's advisory lock,
restricted to the previewed keys, aborted and rolled back if it would change rows it did not
preview, audited in the same transaction. Between batches it honours a cancel request. It never
raises for a database failure: the :class:`Result` says exactly what committed.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, TypeVar

import psycopg

from opsconsole.actions import audit, definition, guards, steps, undo
from opsconsole.actions.definition import ActionDef
from opsconsole.actions.model import (
    Applied,
    Batch,
    BeyondPreview,
    InFlight,
    Preview,
    Progress,
    ProgressFn,
    Result,
    Status,
)
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import introspect
from opsconsole.catalog.action_spec import RowsStep, TriggerStep
from opsconsole.connection.db import describe_error
from opsconsole.errors import ConnectionFailed, DatabaseFailure, OpsError, Refused

P = TypeVar("P")


def define(session: Session, ctx: ActionContext, name: str) -> ActionDef[Any]:
    """The action ``name`` of the catalog, judged by the connected server.

    Raises:
        BadInput: no such action.
        Refused: not installed here, or its statements or spec need an edit (named).
        ConnectionFailed / DatabaseFailure: the server went away or failed.
    """
    screen, spec = definition.find(ctx.catalog, name)
    with _database(name, "checking the action"):
        types, described = definition.judge(session, ctx, screen, spec)
    protocol: Any = undo.UNDO if spec.is_undo else steps.STEPS
    return ActionDef(spec, screen, types, described, protocol)


def prepare(session: Session, ctx: ActionContext, action: ActionDef[P], params: P,
            *, batch_size: int) -> Preview:
    """Refuse on row-level security, then preview the action (read-only statements only).

    Raises:
        Refused: RLS filters a table for this role, a lookup refuses, too many rows.
        BadInput: the parameters name a row that does not exist.
        ConnectionFailed / DatabaseFailure: the server went away or failed.
    """
    with _database(action.name, "previewing"):
        guards.check_row_security(session, action.name, relations(session, action))
        return action.protocol.preview(session, ctx, action, params, batch_size)


def relations(session: Session, action: ActionDef[Any]) -> list[str]:
    """Every table the action's statements name or its spec writes, in the order its steps
    first read them (list[str])."""
    names: list[str] = []
    for use in action.spec.statement_uses():
        names += introspect.relation_names(session.catalog.query(use.ref).sql)
        names += [s for s in use.slots if "." in s]
    for step in action.spec.steps:
        if isinstance(step, RowsStep):
            names += [step.table, *(a.table for a in step.apply if a.table),
                      *(s.table for s in step.side)]
        elif isinstance(step, TriggerStep):
            names += list(action.spec.trigger_choices(step))
    return list(dict.fromkeys(names))


@contextlib.contextmanager
def _database(action: str, doing: str) -> Any:
    try:
        yield
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(f"{action}: lost the connection to the server while {doing} "
                               f"({describe_error(exc)}): nothing written") from None
    except psycopg.Error as exc:
        raise DatabaseFailure(f"{action}: the database failed while {doing}: "
                              f"{describe_error(exc)}; nothing written") from None


def would_refuse(session: Session, ctx: ActionContext, preview: Preview) -> str | None:
    """For a dry run: the guard that would refuse the apply, or None (str | None)."""
    try:
        with _database(preview.action, "checking the guards"):
            audit_table = guards.check_writes(session, ctx, preview.action)
            guards.check_privileges(session, preview.action, preview.relations,
                                    audit=audit_table)
    except OpsError as exc:
        return exc.message
    return None


def dry_run(preview: Preview, refusal: str | None) -> Result:
    """The result of ``--dry-run``: the preview's count, nothing written."""
    status: Status = "dry-run" if preview.count else "nothing-to-do"
    message = f"{preview.action}: {preview.count} rows would change; nothing written"
    if preview.done:
        message = f"{preview.action}: nothing to do: {preview.done}; nothing written"
    if refusal and preview.count:
        message += f" (an apply would be refused: {refusal})"
    return Result(preview.action, status, previewed=preview.count, values=dict(preview.values),
                  message=message)


def apply(
    session: Session,
    ctx: ActionContext,
    action: ActionDef[Any],
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
        cancel: set to stop after the batch in flight (a second ctrl+c also cancels the
            statement in flight on the server: that batch is rolled back, and reported so).
        on_progress: called after each committed batch.

    Returns:
        Result: applied / nothing-to-do / refused / aborted, with exactly what committed.
    """
    result = Result(action.name, "applied", previewed=preview.count, run_id=ctx.new_run_id(),
                    values=dict(preview.values))
    if preview.count == 0:
        result.status, result.run_id = "nothing-to-do", ""
        why = f": {preview.done}" if preview.done else ""
        result.message = f"{action.name}: nothing to do{why}; nothing written"
        return result
    try:
        audit_table = guards.check_writes(session, ctx, action.name)
        guards.check_privileges(session, action.name, preview.relations, audit=audit_table)
        locked = _session_lock(session, action.lock)
    except Refused as exc:
        return _refused(result, exc.message)
    except psycopg.Error as exc:
        return _failed(action, result, exc, None, cancel=cancel)
    if not locked:
        return _refused(result, _busy(action))
    local = audit.AuditFile(ctx, result.run_id, audit_table)
    if local.check():
        result.values["audit_file_warning"] = local.warning
    try:
        _run_batches(session, ctx, action, preview, result, local=local, cancel=cancel,
                     on_progress=on_progress)
    finally:
        _session_unlock(session, action.lock)
    result.values = steps.finish(action, result.values)
    return result


def _run_batches(
    session: Session, ctx: ActionContext, action: ActionDef[Any], preview: Preview,
    result: Result, *, local: audit.AuditFile, cancel: threading.Event | None,
    on_progress: ProgressFn | None,
) -> None:
    total = len(preview.batches)
    for batch in preview.batches:
        if cancel is not None and cancel.is_set():
            result.status = "aborted"
            result.message = (f"{action.name}: cancelled after {result.batches} of {total} "
                              f"batches; {result.committed()}")
            return
        committing = False
        try:
            with session.conn.transaction():
                applied, row = _one_batch(session, ctx, action, preview, batch,
                                          run_id=result.run_id)
                committing = True
        except Refused as exc:
            _refused(result, exc.message)
            return
        except BeyondPreview as exc:
            _abort_too_many(session, ctx, InFlight(preview, batch, result.run_id), result=result,
                            why=str(exc))
            return
        except psycopg.Error as exc:
            _failed(action, result, exc, batch.no if committing else None, cancel=cancel,
                    audit_table=local.relation)
            return
        _record(ctx, preview, batch, applied, row=row, result=result, local=local)
        if on_progress is not None:
            on_progress(Progress(batch.no, total, result.affected, preview.count, row["id"]))
    result.message = _applied_message(action, result, total)


def _one_batch(
    session: Session, ctx: ActionContext, action: ActionDef[Any], preview: Preview,
    batch: Batch, *, run_id: str,
) -> tuple[Applied, dict[str, Any]]:
    session.one("set_local_timeouts", lock_timeout_ms=ctx.lock_timeout_ms,
                statement_timeout_ms=ctx.statement_timeout_ms)
    lock = session.one("try_xact_lock", action=action.lock)
    if not (lock and lock["acquired"]):
        raise Refused(_busy(action))
    applied = action.protocol.apply(session, ctx, action, InFlight(preview, batch, run_id))
    if applied.affected > len(batch):
        raise BeyondPreview(f"batch {batch.no} would change {applied.affected} rows, "
                            f"{len(batch)} previewed")
    row = audit.insert_row(session, ctx, preview, batch, applied, run_id=run_id,
                           outcome=_outcome(applied), undo_of=applied.undo_of)
    return applied, row


def _outcome(applied: Applied) -> str:
    if applied.skipped:
        return "partial"
    return "undone" if applied.undo_of is not None else "applied"


def _record(ctx: ActionContext, preview: Preview, batch: Batch, applied: Applied, *,
            row: dict[str, Any], result: Result, local: audit.AuditFile) -> None:
    result.batches += 1
    result.affected += applied.affected
    result.skipped += len(applied.skipped)
    result.skipped_keys += [i.key for i in applied.skipped]
    result.audit_ids.append(int(row["id"]))
    for key, value in applied.counters.items():
        result.values[key] = int(result.values.get(key) or 0) + value
    local.write(audit.summary(ctx, preview, batch, applied, row, run_id=result.run_id,
                              outcome=_outcome(applied), undo_of=applied.undo_of))
    if local.warning:
        result.values["audit_file_warning"] = local.warning


def _abort_too_many(session: Session, ctx: ActionContext, run: InFlight, *, result: Result,
                    why: str) -> None:
    """Rolled back already; record the aborted attempt in its own transaction."""
    result.status = "aborted"
    result.message = (f"{run.preview.action}: aborted and rolled back: {why}; before it, "
                      f"{result.committed()}")
    try:
        with session.conn.transaction():
            row = audit.insert_row(session, ctx, run.preview, run.batch, Applied(),
                                   run_id=result.run_id, outcome="aborted")
        result.audit_ids.append(int(row["id"]))
    except psycopg.Error:
        pass


def _refused(result: Result, message: str) -> Result:
    result.status = "refused" if result.batches == 0 else "aborted"
    result.message = message if result.batches == 0 else (
        f"{message}; stopped after {result.batches} committed batches; {result.committed()}")
    return result


def _failed(action: ActionDef[Any], result: Result, exc: psycopg.Error, in_commit: int | None,
            *, cancel: threading.Event | None, audit_table: str = "") -> Result:
    result.status = "aborted"
    if isinstance(exc, psycopg.errors.QueryCanceled) and cancel is not None and cancel.is_set():
        reason = "interrupted: the batch in flight was cancelled on the server and rolled back"
    else:
        reason = f"database failure: {describe_error(exc)}"
    text = f"{action.name}: {reason}; {result.committed()}"
    if in_commit is not None:
        text += (f"; batch {in_commit} failed while committing: check "
                 f"{audit_table or 'the audit table'} for run_id {result.run_id} to see whether "
                 "it committed")
    result.message = text
    return result


def _applied_message(action: ActionDef[Any], result: Result, total: int) -> str:
    text = (f"{action.name}: applied {result.affected} of {result.previewed} previewed rows in "
            f"{result.batches} of {total} batches")
    if result.skipped:
        text += f"; skipped {result.skipped} that changed since the preview"
    return text + f"; {result.committed()}"


def _busy(action: ActionDef[Any]) -> str:
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
