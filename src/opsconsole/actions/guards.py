"""Step 1 and step 3 of the protocol: may this session write, on these tables, as this role,
and did the engineer confirm?

Every refusal is a :class:`~opsconsole.errors.Refused` line that says which guard refused and
how to get past it honestly (valid SQL where SQL is the fix). All of them run before the first
write is sent; the row-level security guard before the preview is even read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from opsconsole.actions.model import Preview
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import introspect
from opsconsole.errors import Refused
from opsconsole.sanitize import clean

AUDIT_SQL = Path(__file__).resolve().parents[1] / "demo" / "sql" / "audit.sql"


def check_writes(session: Session, ctx: ActionContext, action: str) -> str:
    """Writes switched on; session not read-only; not a replica; the audit table present and
    append-only.

    Returns:
        The audit table's name as ``queries/actions.sql`` (``session_state``) gives it (str),
        for :func:`check_privileges`.

    Raises:
        Refused: naming the guard that failed.
    """
    if not ctx.writes_enabled:
        raise Refused(
            f"{action}: writes are off for profile '{clean(ctx.profile.name)}': "
            f"{ctx.face.writes_hint}"
        )
    state = session.one("session_state")
    assert state is not None
    if state["in_recovery"]:
        raise Refused(
            f"{action}: the server is a replica (pg_is_in_recovery() is true): "
            "connect to the primary to write"
        )
    if state["read_only"] or state["default_read_only"]:
        raise Refused(
            f"{action}: the session is read-only (default_transaction_read_only / "
            f"transaction_read_only is on for role {clean(state['db_role'])}): use a role and "
            "DSN that may write"
        )
    audit = str(state["audit_relation"])
    if not state["audit_table"]:
        raise Refused(
            f"{action}: table {audit} does not exist, and no action writes "
            f"without its audit trail: create it with {AUDIT_SQL} (psql -f, as the owner of "
            "the schema; `opsconsole db init` does it for the demo)"
        )
    if not state["audit_current"]:
        raise Refused(
            f"{action}: {audit} is not append-only and vouched yet (it predates "
            f"this console): upgrade it with {AUDIT_SQL} (psql -f, as its owner)"
        )
    return audit


def check_privileges(
    session: Session, action: str, needs: list[tuple[str, str]], *, audit: str
) -> None:
    """current_user holds every (relation, privilege) the apply needs, and INSERT on ``audit``
    (the audit table's name, from :func:`check_writes`).

    Raises:
        Refused: naming the relation, the missing privilege and the SQL that grants it.
    """
    for relation, privilege in [*needs, (audit, "INSERT")]:
        row = session.one("table_privilege", relation=relation, privilege=privilege)
        if row is None or not row["present"]:
            raise Refused(f"{action}: relation {relation} does not exist in this database")
        if row["granted"]:
            continue
        role, table, owner = (clean(row[k]) for k in ("role", "quoted", "owner"))
        if privilege == "OWNER":
            raise Refused(
                f"{action}: role {role} lacks ownership of {table} (owned by {owner}), which "
                f"enabling or disabling a trigger needs: connect as {owner}, or share its "
                f"ownership: GRANT {owner} TO {role};"
            )
        fix = (f"GRANT opsconsole_operator TO {role};" if relation == audit
               else f"GRANT {privilege} ON {table} TO {role};")
        raise Refused(
            f"{action}: role {role} lacks {privilege} privilege on {table}: connect as a role "
            f"that has it, or have it granted: {fix}"
        )


def check_row_security(session: Session, action: str, relations: Iterable[str]) -> None:
    """No table the action reads or writes is filtered by row-level security for this role
    (a role that RLS filters would preview and change only the rows its policies show).

    Args:
        relations: the tables, in the order the action reads them (the first is named).

    Raises:
        Refused: naming the table(s) and the role.
    """
    order = list(dict.fromkeys(relations))
    found = introspect.row_security(session.conn, session.catalog, order)
    filtered = [found[r] for r in order if r in found and found[r].filters]
    if not filtered:
        return
    first = filtered[0]
    also = [s.relation for s in filtered[1:]]
    more = f" (also {', '.join(also)})" if also else ""
    raise Refused(
        f"{action}: {clean(first.reason())}{more}: it would preview and change only the rows "
        f"its policies show; connect as the table's owner or a role with BYPASSRLS"
    )


def check_confirmation(
    preview: Preview, ctx: ActionContext, *, expect: int | None, typed_env: str | None
) -> None:
    """The confirmed count equals the preview's, and production names its environment.

    Args:
        preview: what would change.
        ctx: gives the profile's environment and the face's words.
        expect: the count the engineer typed or passed with --expect (None: not confirmed).
        typed_env: the environment name typed or passed with --confirm-env.

    Raises:
        Refused: count missing or different; production without its name.
    """
    env = ctx.profile.environment
    if expect is None:
        how = ctx.face.confirm_env if ctx.production else ctx.face.confirm
        raise Refused(f"{preview.action}: not confirmed: "
                      f"{how.format(count=preview.count, env=env)}")
    if expect != preview.count:
        raise Refused(
            f"{preview.action}: the preview has {preview.count} rows but {expect} was confirmed: "
            "nothing written; preview again and confirm the count you see"
        )
    if ctx.production and (typed_env or "").strip() != env:
        raise Refused(
            f"{preview.action}: profile '{clean(ctx.profile.name)}' is a production profile: "
            "the confirmation must also name the environment ("
            f"{ctx.face.confirm_env.format(count=preview.count, env=env)})"
        )
