"""A guarded action as data: the ``[[actions]]`` sections of ``screens/*.toml``.

Validated by pydantic (``extra="forbid"``; errors name the file and the key). A spec says what
the action asks for (parameters: their CLI option, the choices a face offers, the table-row
column they come from in the console), which named statements of ``queries/actions.sql`` it
runs and how they compose (the step kinds below), the status values those statements read and
write, the columns of its preview, its batch key, its before-images and therefore how undo puts
it back. A parameter's type is not declared: it is the type the server gives the statement's
parameter (``:report_id::bigint`` takes a whole number, ``::uuid`` a UUID). The engine in
``opsconsole.actions`` holds only the protocol.

Step kinds (run in order):

``lookup``
    One row read while previewing. No row: bad input (``missing``). Its columns become
    parameters of the later statements; ``refusal`` / ``bad_input`` / ``done`` text columns
    (computed by the SQL) refuse, reject the parameters, or make it nothing to do; ``note_*``
    columns are notes shown with the preview.
``guard``
    A statement re-run at the start of every batch, in its transaction: no row refuses the
    batch (``refusal``), nothing written (e.g. "the linkup is still locked at that version").
``rows``
    A ``preview`` statement lists the rows that would change (their ``key``, and ``op`` when one
    statement lists several kinds); the ``apply`` statements change exactly the batch's keys and
    return before/after images (see the conventions header of ``queries/actions.sql``).
``trigger``
    Enable or disable a trigger chosen among the spec's choices (the identifiers come only from
    the spec, quoted with psycopg.sql.Identifier).
``undo``
    Revert an audit entry from its before-images, within the tables and columns the audited
    action's spec declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from opsconsole.catalog.model import StatementUse

REF_RE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
TABLE_RE = r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$"
NAME_RE = r"^[a-z_][a-z0-9_]*$"
OPTION_RE = r"^--[a-z][a-z0-9-]*$"
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_REQUIRE = re.compile(
    r"^(trigger [a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*"
    r"|[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*|\(\))?)$"
)
# Parameters the engine binds itself: the batch's keys, the preview's row cap, the run's id and
# who acts ("opsconsole:<os user>").
ENGINE_PARAMS = frozenset({"ids", "max_rows", "run_id", "actor"})
LOOKUP_COLUMNS = frozenset({"refusal", "bad_input", "done"})

Ref = Annotated[str, Field(pattern=REF_RE)]
Table = Annotated[str, Field(pattern=TABLE_RE)]
Name = Annotated[str, Field(pattern=NAME_RE)]
Scalar = str | bool | int


def _require_item(item: str) -> str:
    if not _REQUIRE.match(item):
        raise ValueError(f"'{item}' is not schema.relation, schema.relation.column, "
                         "schema.function() or 'trigger schema.table.trigger_name'")
    return item


def _values(values: dict[str, list[str]]) -> dict[str, list[str]]:
    for column in values:
        if not _COLUMN.match(column):
            raise ValueError(f"'{column}' is not schema.table.column")
    return values


Require = Annotated[str, AfterValidator(_require_item)]
Values = Annotated[dict[str, list[str]], AfterValidator(_values)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ChoiceSpec(_Spec):
    """One value a choice parameter can take, as a face offers it.

    ``set`` gives further statement parameters with this choice (uphold: ``report_status =
    "upheld"``, ``soft_delete = true``); ``requires`` names objects only this choice needs
    (a trigger).
    """

    value: Scalar
    label: str
    option: str | None = Field(default=None, pattern=OPTION_RE)
    help: str = ""
    set: dict[str, Scalar] = {}
    requires: list[Require] = []


class ParamSpec(_Spec):
    """One parameter of an action: how each face asks for it.

    Its type is the server's type of the statement parameter of the same name. ``flag``: a
    switch (boolean, false unless given). ``choices``: one of the listed values (CLI: one option
    per choice, or ``--name VALUE``; console: a button per choice). ``row``: in the console the
    value comes from this column of the selected row (``row_rule``: ``value``; ``empty``, true
    when the column is empty or NULL; ``not``, the column's boolean negated).
    """

    name: Name
    label: str = ""
    help: str = ""
    option: str | None = Field(default=None, pattern=OPTION_RE)
    metavar: str | None = None
    positional: bool = False
    flag: bool = False
    optional: bool = False
    choices: list[ChoiceSpec] = []
    pattern: str | None = None
    describe: str | None = None
    min: int | None = None
    max_length: int = Field(default=2000, ge=1, le=100_000)
    row: str | None = None
    row_rule: Literal["value", "empty", "not"] = "value"

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.flag and (self.choices or self.positional):
            raise ValueError("a flag has no choices and is not positional")
        if self.choices and len(self.choices) < 2:
            raise ValueError("choices need at least two values")
        with_option = [c.option is not None for c in self.choices]
        if any(with_option) and not all(with_option):
            raise ValueError("give every choice an option, or none")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern does not compile ({exc})") from None
        return self

    @property
    def shown(self) -> str:
        """How the console names it (str), e.g. "report id"."""
        return self.label or self.name.replace("_", " ")

    @property
    def cli_option(self) -> str:
        """How the CLI names it (str): ``--report-id``, ``--dismiss/--uphold``, ``AUDIT_ID``."""
        if self.positional:
            return self.metavar or self.name.upper()
        if self.choices and self.choices[0].option:
            return "/".join(str(c.option) for c in self.choices)
        return self.option or "--" + self.name.replace("_", "-")

    @property
    def required(self) -> bool:
        """Must be given (bool): not a flag and not optional."""
        return not (self.flag or self.optional)


class LookupStep(_Spec):
    """One row read while previewing; its columns become parameters of later statements."""

    kind: Literal["lookup"]
    statement: Ref
    missing: str = ""
    reads: Values = {}


class GuardStep(_Spec):
    """Re-checked at the start of every batch: no row refuses it, nothing written."""

    kind: Literal["guard"]
    statement: Ref
    refusal: str
    reads: Values = {}


class SideTable(_Spec):
    """A table an apply statement inserts into as a consequence (``user_link_audit``): its rows
    are imaged too, are not counted as changed rows, and undo deletes them."""

    table: Table
    key_column: Name = "id"


class ApplySpec(_Spec):
    """One apply statement of a rows step, run in every batch, in order.

    ``bind`` maps a statement parameter to the batch's keys (``items``, or ``items:OP`` for one
    op) or to a column of an earlier apply statement's rows (``file.name.column``), a list
    concatenating several. ``op`` / ``item_column``: the rows it returns realise the previewed
    items of that op whose key is in that column. ``packed``: it returns one row, ``ids``
    (text[]) and ``images`` (a JSON array), for the bulk actions.
    """

    statement: Ref
    table: Table | None = None
    key_column: Name | None = None
    privilege: Literal["UPDATE", "INSERT"] = "UPDATE"
    op: str | None = None
    item_column: Name = "id"
    bind: dict[str, str | list[str]] = {}
    counter: Name | None = None
    packed: bool = False
    writes: Values = {}


class RowsStep(_Spec):
    """Preview the rows that would change, then apply exactly the batch's keys.

    ``key``: the preview column holding each row's key (the batch key); ``key_column``: the
    table's key column (undo finds rows by it). ``image``: the columns the before-images hold
    ("row": all of them). ``changes``: the columns the UPDATE statements change, the only ones
    undo restores (required when a statement updates). ``sample``: a statement giving the
    shown rows for the first keys (``ids``), when the preview returns keys only.
    """

    @model_validator(mode="after")
    def _changes(self) -> RowsStep:
        if any(a.privilege == "UPDATE" for a in self.apply) and not self.changes:
            raise ValueError("changes: name the columns the apply statements update")
        if self.image != "row" and not set(self.changes) <= set(self.image):
            raise ValueError("changes: every changed column must be in image")
        return self

    kind: Literal["rows"]
    preview: Ref
    sample: Ref | None = None
    table: Table
    key_column: Name = "id"
    key: Name = "id"
    op: str = "row"
    op_column: Name | None = None
    image: Literal["row"] | list[Name] = "row"
    changes: list[Name] = []
    cap: int | None = Field(default=None, ge=1, le=1_000_000)
    side: list[SideTable] = []
    apply: list[ApplySpec] = Field(min_length=1)
    reads: Values = {}


class TriggerStep(_Spec):
    """Enable or disable the trigger the parameters name (``trigger_param`` and its choice's
    ``set`` of ``table_param``), under a table lock, if still as previewed."""

    kind: Literal["trigger"]
    trigger_param: Name = "name"
    table_param: Name = "table"
    enabled_param: Name = "enabled"
    state: Ref = "actions.trigger_state"
    lock: Ref = "actions.trigger_lock_table"
    enable: Ref = "actions.trigger_enable"
    disable: Ref = "actions.trigger_disable"
    enable_replica: Ref = "actions.trigger_enable_replica"
    enable_always: Ref = "actions.trigger_enable_always"

    def statements(self) -> dict[str, str]:
        """tgenabled letter -> the statement that sets it (O, D, R, A)."""
        return {"O": self.enable, "D": self.disable, "R": self.enable_replica,
                "A": self.enable_always}


class UndoStep(_Spec):
    """Revert an audit entry (or its whole run) from its before-images."""

    kind: Literal["undo"]
    audit_param: Name = "audit_id"
    whole_run_param: Name = "whole_run"
    lookup: Ref = "actions.audit_lookup"
    run: Ref = "actions.audit_run"
    current: Ref = "actions.undo_current"
    restore: Ref = "actions.undo_restore"
    delete: Ref = "actions.undo_delete"


Step = Annotated[LookupStep | GuardStep | RowsStep | TriggerStep | UndoStep,
                 Field(discriminator="kind")]
UNDO = UndoStep(kind="undo")
_Use = tuple[str, str, tuple[str, ...], dict[str, list[str]]]


@dataclass(frozen=True)
class UndoTarget:
    """What undo may do to one table for one action: restore ``columns`` of an update image,
    delete a row it inserted, or toggle back ``triggers``.

    Attributes:
        table: schema.table (str).
        op: "update" | "insert" | "trigger" (the image's op).
        key_column: the column rows are found by (str; "" for triggers).
        columns: the columns an update image may restore (tuple[str, ...]; None otherwise).
        triggers: trigger names (tuple[str, ...]; triggers only).
        side: rows written as a consequence (user_link_audit): reverted, not counted (bool).
    """

    table: str
    op: str
    key_column: str = ""
    columns: tuple[str, ...] | None = None
    triggers: tuple[str, ...] = ()
    side: bool = False


class ActionSpec(_Spec):
    """One guarded action (see the module docstring for the step kinds)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    key: str | None = None
    table: str | None = Field(default=None, pattern=REF_RE)
    source: str = ""
    batched: bool = False
    lock: str | None = None
    requires: list[Require] = []
    params: list[ParamSpec] = []
    one_of: list[list[Name]] = []
    columns: list[Name] = []
    notes: list[str] = []
    report: list[Name] = []
    all_zero: dict[Name, list[Name]] = {}
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ActionSpec:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError("duplicate parameter names")
        for group in self.one_of:
            unknown = [n for n in group if n not in names]
            if unknown:
                raise ValueError(f"one_of names unknown parameters {unknown}")
        rows = [s for s in self.steps if isinstance(s, RowsStep)]
        if self.batched and len(rows) != 1:
            raise ValueError("a batched action has exactly one rows step")
        if any(isinstance(s, UndoStep) for s in self.steps) and len(self.steps) != 1:
            raise ValueError("an undo step is the action's only step")
        if rows and not self.columns:
            raise ValueError("columns: name the preview columns shown")
        return self

    @property
    def lock_name(self) -> str:
        """The advisory lock's name after "opsconsole:" (str)."""
        return self.lock or self.name

    @property
    def is_undo(self) -> bool:
        """Whether this is the undo action (bool)."""
        return self.undo_step is not None

    @property
    def undo_step(self) -> UndoStep | None:
        """The undo step, when this is the undo action (its only step)."""
        step = self.steps[0]
        return step if isinstance(step, UndoStep) else None

    def param(self, name: str) -> ParamSpec | None:
        """The parameter ``name`` (or None)."""
        return next((p for p in self.params if p.name == name), None)

    def undo_targets(self) -> dict[tuple[str, str], UndoTarget]:
        """(table, op) -> what undo may do to the rows this action writes (the allow-list)."""
        out: dict[tuple[str, str], UndoTarget] = {}
        for step in self.steps:
            if isinstance(step, RowsStep):
                out.update(_rows_targets(step))
            elif isinstance(step, TriggerStep):
                for table, names in self.trigger_choices(step).items():
                    out[(table, "trigger")] = UndoTarget(table, "trigger", triggers=names)
        return out

    def trigger_choices(self, step: TriggerStep) -> dict[str, tuple[str, ...]]:
        """table -> the trigger names the spec's choices offer on it."""
        param = self.param(step.trigger_param)
        out: dict[str, tuple[str, ...]] = {}
        for choice in param.choices if param else []:
            table = str(choice.set.get(step.table_param, ""))
            out[table] = (*out.get(table, ()), str(choice.value))
        return out

    def statement_uses(self) -> list[StatementUse]:
        """Every named statement this action runs, for the server to verify: each with its
        role, identifier ``slots`` and the status ``values`` it reads or writes; undo's
        statements once per table undo may touch (list[StatementUse])."""
        from opsconsole.catalog.model import StatementUse

        uses: list[StatementUse] = []

        def use(ref: str, role: str, slots: tuple[str, ...] = (),
                values: dict[str, list[str]] | None = None) -> None:
            frozen = {k: tuple(v) for k, v in (values or {}).items()}
            found = StatementUse("action", self.name, ref, role, slots, frozen)
            if found not in uses:
                uses.append(found)

        for step in self.steps:
            for ref, role, slots, values in self._step_uses(step):
                use(ref, role, slots, values)
        for target in self.undo_targets().values():
            if target.op != "trigger":
                slots = (target.table, target.key_column)
                use(UNDO.current, "undo", slots)
                if target.op == "update":
                    use(UNDO.restore, "undo", (*slots, (target.columns or ("",))[0]))
                else:
                    use(UNDO.delete, "undo", slots)
        return uses


    def _step_uses(
        self, step: LookupStep | GuardStep | RowsStep | TriggerStep | UndoStep
    ) -> list[_Use]:
        """(ref, role, slots, values) of each statement one step runs."""
        out: list[_Use]
        if isinstance(step, LookupStep | GuardStep):
            return [(step.statement, step.kind, (), step.reads)]
        if isinstance(step, RowsStep):
            out = [(step.preview, "preview", (), step.reads)]
            out += [(step.sample, "sample", (), {})] if step.sample else []
            return out + [(a.statement, "apply", (), _merge(step.reads, a.writes))
                          for a in step.apply]
        if isinstance(step, TriggerStep):
            out = [(step.state, "preview", (), {})]
            for table, names in self.trigger_choices(step).items():
                out.append((step.lock, "apply", (table,), {}))
                out += [(ref, "apply", (table, name), {}) for name in names
                        for ref in dict.fromkeys(step.statements().values())]
            return out
        return [(step.lookup, "preview", (), {}), (step.run, "preview", (), {})]


def _rows_targets(step: RowsStep) -> dict[tuple[str, str], UndoTarget]:
    out: dict[tuple[str, str], UndoTarget] = {}
    for apply in step.apply:
        table = apply.table or step.table
        key = apply.key_column or step.key_column
        op = "insert" if apply.privilege == "INSERT" else "update"
        columns = tuple(step.changes) if op == "update" else None
        out.setdefault((table, op), UndoTarget(table, op, key, columns))
    for side in step.side:
        out.setdefault((side.table, "insert"),
                       UndoTarget(side.table, "insert", side.key_column, side=True))
    return out


def _merge(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in a.items()}
    for column, values in b.items():
        out[column] = list(dict.fromkeys([*out.get(column, []), *values]))
    return out

