"""Action parameters, validated by pydantic before anything touches the database.

UUIDs are UUIDs, report and audit ids are positive 64-bit integers, names match what the schema
can hold, and a selector may not be empty. A failure is one :class:`~opsconsole.errors.BadInput`
line naming the CLI option, never a traceback.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from opsconsole.errors import BadInput

BIGINT_MAX = 2**63 - 1

# Text that PostgreSQL can store and a terminal can show: no NUL, not only blanks.
SelectorText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")
]
FlagName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX, strict=False)]

TRIGGERS: dict[str, str] = {
    "trigger_message_deliveries_auto_link_user": "public.message_deliveries",
    "trigger_backfill_deliveries_on_guest_link": "public.event_guests",
}


class ActionParams(BaseModel):
    """Base of every action's parameters: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_json(self) -> dict[str, Any]:
        """The parameters as stored in the audit trail (dict, JSON-safe)."""
        return self.model_dump(mode="json", exclude_none=True)


class NoParams(ActionParams):
    """reset-quotas takes no parameters."""


class BackfillGuest(ActionParams):
    """backfill-guest: one guest's unlinked deliveries, linked to a user."""

    guest_id: UUID
    user_id: UUID


class ReplayJobs(ActionParams):
    """replay-jobs: exactly one selector of failed jobs."""

    job_id: UUID | None = None
    last_error: SelectorText | None = None
    no_last_error: bool = False
    purpose: SelectorText | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> ReplayJobs:
        given = [self.job_id is not None, self.last_error is not None, self.no_last_error,
                 self.purpose is not None]
        if sum(given) != 1:
            raise ValueError(
                "give exactly one selector: --job-id, --last-error, --no-last-error or --purpose"
            )
        return self


class ReenqueueCoordination(ActionParams):
    """reenqueue-coordination: one locked linkup."""

    linkup_id: UUID


class SetFlag(ActionParams):
    """set-flag: a feature flag's new value."""

    name: FlagName
    enabled: bool


class SetTrigger(ActionParams):
    """set-trigger: one of the two seed 002 linkage triggers."""

    name: Literal[
        "trigger_message_deliveries_auto_link_user", "trigger_backfill_deliveries_on_guest_link"
    ]
    enabled: bool


class ResolveReport(ActionParams):
    """resolve-report: a pending report, dismissed or upheld."""

    report_id: RowId
    decision: Literal["dismiss", "uphold"]


class Undo(ActionParams):
    """undo: one audit row, or every batch of its run."""

    audit_id: RowId
    whole_run: bool = False


# pydantic field -> the CLI option that sets it, for error messages.
OPTION_NAMES: dict[str, str] = {
    "guest_id": "--guest-id",
    "user_id": "--user-id",
    "job_id": "--job-id",
    "last_error": "--last-error",
    "no_last_error": "--no-last-error",
    "purpose": "--purpose",
    "linkup_id": "--linkup-id",
    "name": "--name",
    "enabled": "--on/--off",
    "report_id": "--report-id",
    "decision": "--dismiss/--uphold",
    "audit_id": "AUDIT_ID",
    "whole_run": "--run",
}


def parse(model: type[ActionParams], raw: dict[str, Any], action: str) -> ActionParams:
    """Validate raw parameters (CLI strings or a TUI row's values).

    Args:
        model: the action's parameter model.
        raw: parameter name -> value; None values are treated as not given.
        action: the action's name, for the message.

    Returns:
        The validated parameters.

    Raises:
        BadInput: one line naming the option and what is wrong with it.
    """
    given = {k: v for k, v in raw.items() if v is not None}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise BadInput(f"{action}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """One line for the first validation error (str), the value shown truncated and inert."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    option = OPTION_NAMES.get(loc[0], loc[0]) if loc else ""
    value = err.get("input")
    shown = repr(value)[:60] if not isinstance(value, dict) else ""
    kind = err["type"]
    if kind in {"uuid_parsing", "uuid_type"}:
        msg = "is not a UUID (expected e.g. 3f2c1a9e-0b7d-4c51-9a43-6f0e2d8b1c77)"
    elif kind.startswith("int") or kind in ("greater_than_equal", "less_than_equal"):
        msg = f"must be a whole number between 1 and {BIGINT_MAX}"
    elif kind == "literal_error":
        msg = f"must be one of: {err.get('ctx', {}).get('expected', '')}"
    elif kind == "string_pattern_mismatch" and loc and loc[0] == "name":
        msg = "is not a flag name (letters, digits, _ . : - only, at most 100)"
    elif kind in ("string_pattern_mismatch", "string_too_short", "string_too_long"):
        msg = "must be non-empty text without NUL characters, at most 2000 characters"
    elif kind == "missing":
        msg = "is required"
    elif kind == "extra_forbidden":
        msg = "is not a parameter of this action"
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
    if option and kind != "value_error":
        return f"{option} {shown} {msg}".replace("  ", " ") if shown and kind != "missing" else (
            f"{option} {msg}"
        )
    return msg
