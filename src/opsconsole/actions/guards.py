"""Step 1 and step 3 of the protocol: may this session write, and did the engineer confirm?

Every refusal is a :class:`~opsconsole.errors.Refused` line that says which guard refused and
how to get past it honestly. All of them run before the first write is sent.
"""

from __future__ import annotations

from opsconsole.actions.model import Preview
from opsconsole.actions.session import ActionContext, Session
from opsconsole.errors import Refused

PRIVILEGE_WORDS = {"OWNER": "ownership of"}


def check_writes(session: Session, ctx: ActionContext, action: str) -> None:
    """Writes switched on; session not read-only; not a replica; the audit table present.

    Raises:
        Refused: naming the guard that failed.
    """
    if not ctx.writes_enabled:
        raise Refused(
            f"{action}: writes are off for profile '{ctx.profile.name}': {ctx.writes_hint}"
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
            f"transaction_read_only is on for role {state['db_role']}): use a role and DSN "
            "that may write"
        )
    if not state["audit_table"]:
        raise Refused(
            f"{action}: table opsconsole.audit_log does not exist, and no action writes "
            "without its audit trail: create it (the CREATE SCHEMA opsconsole / CREATE TABLE "
            "opsconsole.audit_log statements at the end of the demo schema.sql)"
        )


def check_privileges(session: Session, action: str, needs: list[tuple[str, str]]) -> None:
    """current_user holds every (relation, privilege) the apply needs, audit INSERT included.

    Raises:
        Refused: naming the relation and the missing privilege.
    """
    state = session.one("session_state")
    role = state["db_role"] if state else "?"
    for relation, privilege in [*needs, ("opsconsole.audit_log", "INSERT")]:
        row = session.one("table_privilege", relation=relation, privilege=privilege)
        if row is None or not row["present"]:
            raise Refused(f"{action}: relation {relation} does not exist in this database")
        if not row["granted"]:
            what = PRIVILEGE_WORDS.get(privilege, f"{privilege} privilege on")
            raise Refused(
                f"{action}: role {role} lacks {what} {relation}: connect as a role that has it "
                f"(GRANT {privilege if privilege != 'OWNER' else 'ownership'} ... ON {relation})"
            )


def check_confirmation(
    preview: Preview, ctx: ActionContext, *, expect: int | None, typed_env: str | None
) -> None:
    """The confirmed count equals the preview's, and production names its environment.

    Args:
        preview: what would change.
        ctx: gives the profile's environment.
        expect: the count the engineer typed or passed with --expect (None: not confirmed).
        typed_env: the environment name typed or passed with --confirm-env.

    Raises:
        Refused: count missing or different; production without its name.
    """
    if expect is None:
        raise Refused(f"{preview.action}: not confirmed: pass --yes --expect {preview.count}")
    if expect != preview.count:
        raise Refused(
            f"{preview.action}: the preview has {preview.count} rows but {expect} was confirmed: "
            "nothing written; preview again and confirm the count you see"
        )
    if ctx.production and (typed_env or "").strip() != ctx.profile.environment:
        raise Refused(
            f"{preview.action}: profile '{ctx.profile.name}' is a production profile: the "
            "confirmation must also name the environment (--confirm-env production)"
        )
