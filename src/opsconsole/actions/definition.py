"""A generic action definition, made for one database from its spec.

:func:`define` is where the server judges an action before it previews anything: the objects a
statement cannot show (its screen's subsystem, a trigger) must exist ("not installed"), every
statement the spec names must prepare (catalog/verify.py: the server's message, hint and the
file and line to edit), its result must hold the columns the spec names, and every statement
parameter must be one the spec gives. The parameters' types are then the types the server gave
them. The returned :class:`ActionDef` carries the protocol that previews and applies it; a
refusal names what to edit, and editing it lifts the refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opsconsole.actions.model import Applied, InFlight, Preview
from opsconsole.actions.params import CHOICE, SCALAR_TYPES
from opsconsole.actions.session import ActionContext, Session
from opsconsole.catalog import ActionSpec, Catalog, ScreenSpec, introspect, verify
from opsconsole.catalog.action_spec import (
    ENGINE_PARAMS,
    LOOKUP_COLUMNS,
    GuardStep,
    LookupStep,
    RowsStep,
    TriggerStep,
)
from opsconsole.errors import BadInput, Refused

P = TypeVar("P")


@dataclass(frozen=True)
class Protocol(Generic[P]):
    """How a kind of action parses, previews and applies (steps, or undo).

    Attributes:
        parse: raw parameters -> P (raises ParamError).
        preview: (session, ctx, action, params, batch_size) -> Preview.
        apply: (session, ctx, action, batch in flight) -> Applied, inside the batch's
            transaction.
    """

    parse: Callable[[ActionDef[P], Mapping[str, Any]], P]
    preview: Callable[[Session, ActionContext, ActionDef[P], P, int], Preview]
    apply: Callable[[Session, ActionContext, ActionDef[P], InFlight], Applied]


@dataclass(frozen=True)
class ActionDef(Generic[P]):
    """One action, ready to run on the connected database.

    Attributes:
        spec: its declaration (screens/*.toml).
        screen: the screen declaring it.
        types: parameter -> the server's type name (``choice`` for choice-only parameters).
        described: statement ref -> the server's description of it.
        protocol: how it parses, previews and applies.
    """

    spec: ActionSpec
    screen: ScreenSpec
    types: Mapping[str, str]
    described: Mapping[str, verify.Description]
    protocol: Protocol[P]

    @property
    def name(self) -> str:
        """The action's name (str)."""
        return self.spec.name

    @property
    def lock(self) -> str:
        """The advisory lock's name after "opsconsole:" (str)."""
        return self.spec.lock_name

    def parse(self, raw: Mapping[str, Any]) -> P:
        """Validate raw parameters. Raises ParamError (one line)."""
        return self.protocol.parse(self, raw)

    def with_protocol(self, protocol: Protocol[P]) -> ActionDef[P]:
        """The same action with another protocol (tests swap in a wrong apply)."""
        return dataclasses.replace(self, protocol=protocol)


def find(catalog: Catalog, name: str) -> tuple[ScreenSpec, ActionSpec]:
    """The screen and spec of the action ``name``.

    Raises:
        BadInput: no action of that name in the catalog.
    """
    for screen in catalog.screens:
        for spec in screen.actions:
            if spec.name == name:
                return screen, spec
    raise BadInput(f"no action named {name!r} in the catalog ({catalog.root / 'screens'})")


def every(catalog: Catalog) -> list[tuple[ScreenSpec, ActionSpec]]:
    """Every (screen, action spec) of the catalog, in screen order."""
    return [(s, a) for s in catalog.screens for a in s.actions]


def judge(
    session: Session, ctx: ActionContext, screen: ScreenSpec, spec: ActionSpec
) -> tuple[dict[str, str], dict[str, verify.Description]]:
    """Have the server judge the action; (parameter types, descriptions) when it may run.

    Raises:
        Refused: not installed (what is missing), or a statement that does not prepare, or a
            spec naming a column or parameter its statements lack (what to edit, where).
    """
    _installed(session, screen, spec)
    report = verify.verify_catalog(session.conn, _only(ctx.catalog, screen, spec))
    problems = [f.message for f in report.problems("action", spec.name)]
    described = dict(report.verification.described)
    types: dict[str, str] = {}
    if not problems:
        where = f"{spec_file(ctx.catalog, screen)} (action {spec.name})"
        problems = _spec_problems(ctx.catalog, spec, described, types, where)
        problems += sample_columns(ctx.catalog, spec, described, where)
    if problems:
        more = f" (and {len(problems) - 1} more to adapt)" \
            if len(problems) > 1 else ""
        raise Refused(f"{spec.name}: cannot run on this database: {problems[0]}{more}")
    return types, described


def spec_file(catalog: Catalog, screen: ScreenSpec) -> str:
    """``screens/jobs.toml``: where a screen's spec is written, relative to the catalog (str)."""
    path = catalog.screen_files.get(screen.id)
    if path is None:
        return f"screens/{screen.id}.toml"
    try:
        return str(path.relative_to(catalog.root))
    except ValueError:
        return str(path)


def _only(catalog: Catalog, screen: ScreenSpec, spec: ActionSpec) -> Catalog:
    """The catalog reduced to this one action, so only its statements are verified."""
    one = screen.model_copy(update={"checks": [], "tables": [], "actions": [spec]})
    return dataclasses.replace(catalog, screens=[one])


def _installed(session: Session, screen: ScreenSpec, spec: ActionSpec) -> None:
    wanted = list(spec.requires)  # the subsystem is judged by the verification
    schema = introspect.inspect(session.conn, session.catalog)
    missing = schema.missing([r for r in wanted if not r.startswith("trigger ")])
    missing += missing_triggers(session, [r for r in wanted if r.startswith("trigger ")])
    if missing:
        raise Refused(f"{spec.name}: not installed here: {', '.join(missing)} is missing "
                      f"(the {screen.title} screen's subsystem or what the action needs)")


def missing_triggers(session: Session, requires: list[str]) -> list[str]:
    """Of ``trigger schema.table.name`` items, those absent ("trigger name on schema.table")."""
    out = []
    for item in requires:
        schema, table, name = item.removeprefix("trigger ").split(".")
        if session.one("trigger_state", relation=f"{schema}.{table}", name=name) is None:
            out.append(f"trigger {name} on {schema}.{table}")
    return out


def _spec_problems(
    catalog: Catalog, spec: ActionSpec, described: dict[str, verify.Description],
    types: dict[str, str], where: str,
) -> list[str]:
    """Column and parameter cross-checks against the server's descriptions; fills ``types``."""
    problems: list[str] = []
    given = {p.name for p in spec.params} | {k for p in spec.params for c in p.choices
                                             for k in c.set} | ENGINE_PARAMS
    for step_no, step in enumerate(spec.steps):
        key = f"steps.{step_no}"
        for ref, bound in _plain_refs(step):
            desc = described.get(ref)
            if desc is None:
                continue
            for name, kind in desc.params.items():
                if name not in given and name not in bound:
                    problems.append(
                        f"{catalog.location(ref)} takes :{name}, which no parameter, choice, "
                        f"earlier lookup column or bind of {where} gives: add it under "
                        "[[actions.params]] or rename it")
                elif name in types and types[name] != kind and name not in ENGINE_PARAMS:
                    problems.append(
                        f"parameter {name} is {types[name]} in an earlier statement but {kind} "
                        f"in {catalog.location(ref)}: make the casts agree")
                else:
                    types.setdefault(name, kind)
        problems += _columns(catalog, step, key, described, where)
        if isinstance(step, LookupStep):
            columns = set(described[step.statement].column_names) - LOOKUP_COLUMNS
            shadow = sorted(columns & {p.name for p in spec.params})
            problems += [f"{catalog.location(step.statement)} returns {c}, a parameter's name: "
                         "rename the column" for c in shadow]
            given |= columns
    problems += _param_types(spec, types, where)
    return problems


def _plain_refs(step: Any) -> list[tuple[str, set[str]]]:
    """(ref, parameters bound by the step itself) of a step's statements without slots."""
    if isinstance(step, LookupStep | GuardStep):
        return [(step.statement, set())]
    if isinstance(step, RowsStep):
        out: list[tuple[str, set[str]]] = [(step.preview, set())]
        if step.sample:
            out.append((step.sample, set()))
        return out + [(a.statement, set(a.bind)) for a in step.apply]
    if isinstance(step, TriggerStep):
        return [(step.state, {"relation", "name"})]
    return [(step.lookup, set()), (step.run, {"run_id"})]


def _columns(
    catalog: Catalog, step: Any, key: str, described: dict[str, verify.Description], where: str
) -> list[str]:
    """Columns the spec names that a statement does not return."""
    wanted: list[tuple[str, str, list[str]]] = []
    if isinstance(step, RowsStep):
        wanted.append((step.preview, f"{key}.key", [step.key]))
        if step.op_column:
            wanted.append((step.preview, f"{key}.op_column", [step.op_column]))
        for j, apply in enumerate(step.apply):
            cols = ["ids", "images"] if apply.packed else ["id", "before", "after"]
            if not apply.packed and apply.item_column != "id":
                cols.append(apply.item_column)
            wanted.append((apply.statement, f"{key}.apply.{j}", cols))
    out = []
    for ref, spec_key, cols in wanted:
        desc = described.get(ref)
        have = set(desc.column_names) if desc else set()
        for col in cols:
            if desc is not None and col not in have:
                out.append(f"{where}: {spec_key} names column {col}, which "
                           f"{catalog.location(ref)} does not return (it returns "
                           f"{', '.join(sorted(have)) or 'no rows'})")
    return out


def sample_columns(
    catalog: Catalog, spec: ActionSpec, described: Mapping[str, verify.Description], where: str
) -> list[str]:
    """The spec's ``columns`` that its preview (or sample) statements do not return."""
    out = []
    for step in spec.steps:
        if isinstance(step, RowsStep):
            ref = step.sample or step.preview
            desc = described.get(ref)
            if desc is None:
                continue
            missing = [c for c in spec.columns if c not in desc.column_names]
            if missing:
                out.append(f"{where}: columns names {', '.join(missing)}, which "
                           f"{catalog.location(ref)} does not return")
    return out


def _param_types(spec: ActionSpec, types: dict[str, str], where: str) -> list[str]:
    out = []
    for param in spec.params:
        kind = types.get(param.name)
        if param.flag:
            if kind not in (None, "boolean"):
                out.append(f"{where}: params.{param.name} is a flag but its statement gives it "
                           f"type {kind}: cast it ::boolean")
            types[param.name] = "boolean"
        elif param.choices and kind is None:
            types[param.name] = CHOICE
        elif kind is not None and kind not in SCALAR_TYPES:
            out.append(f"{where}: params.{param.name} has type {kind}, which the console cannot "
                       "take as input: cast it ::text, ::uuid, ::bigint, ::integer or ::boolean")
    return out
