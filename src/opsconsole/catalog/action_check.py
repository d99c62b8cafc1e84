"""The static cross-check of the ``[[actions]]`` specs against the catalog's named queries, run
when the catalog loads (before any server is asked): every statement a spec names exists, every
parameter and choice value is one a statement takes, every ``bind`` names a source that exists.
What only the server can say (types, result columns) is judged in ``actions/definition.py``.
"""

from __future__ import annotations

from opsconsole.catalog.action_spec import (
    ActionSpec,
    GuardStep,
    LookupStep,
    RowsStep,
    TriggerStep,
    UndoStep,
)


def cross_check(
    actions: list[ActionSpec], queries: dict[str, tuple[str, ...]], tables: set[str],
    where: str, seen: dict[str, str],
) -> None:
    """Check one screen's actions against the catalog, before any server is asked.

    Args:
        actions: the screen's action specs.
        queries: every named query -> its declared parameters.
        tables: every table id of every screen.
        where: the screen file, for messages.
        seen: action name -> the file defining it (updated).

    Raises:
        ValueError: one line naming the file, the action and the key to fix.
    """
    for action in actions:
        at = f"{where}: action {action.name}"
        if action.name in seen:
            raise ValueError(f"{at}: already defined in {seen[action.name]}")
        seen[action.name] = where
        if action.table and action.table not in tables:
            raise ValueError(f"{at}: table {action.table} is not a table of any screen")
        refs = _refs(action)
        for key, ref in refs:
            if ref not in queries:
                raise ValueError(f"{at}: {key}: query {ref} not found in "
                                 f"queries/{ref.split('.', maxsplit=1)[0]}.sql")
        used = {p for _, ref in refs for p in queries[ref]} | _step_params(action)
        for param in action.params:
            sets = {k for c in param.choices for k in c.set}
            if param.name not in used and not (param.choices and sets):
                raise ValueError(f"{at}: params.{param.name}: no statement of the action takes "
                                 f":{param.name}")
            for name in sets - used:
                raise ValueError(f"{at}: params.{param.name}: choices set {name}, which no "
                                 "statement of the action takes")
        _check_binds(action, at)


def _refs(action: ActionSpec) -> list[tuple[str, str]]:
    """(spec key, statement ref) of every statement the action names."""
    out: list[tuple[str, str]] = []
    for i, step in enumerate(action.steps):
        at = f"steps.{i}"
        if isinstance(step, LookupStep | GuardStep):
            out.append((f"{at}.statement", step.statement))
        elif isinstance(step, RowsStep):
            out.append((f"{at}.preview", step.preview))
            if step.sample:
                out.append((f"{at}.sample", step.sample))
            out += [(f"{at}.apply.{j}.statement", a.statement) for j, a in enumerate(step.apply)]
        elif isinstance(step, TriggerStep):
            out += [(f"{at}.state", step.state), (f"{at}.lock", step.lock)]
            out += [(f"{at}.{k}", ref) for k, ref in
                    zip(("enable", "disable", "enable_replica", "enable_always"),
                        step.statements().values(), strict=True)]
        else:
            out += [(f"{at}.{k}", getattr(step, k))
                    for k in ("lookup", "run", "current", "restore", "delete")]
    return out


def _step_params(action: ActionSpec) -> set[str]:
    """Parameters a step kind takes itself (the trigger's names, undo's whole run)."""
    out: set[str] = set()
    for step in action.steps:
        if isinstance(step, TriggerStep):
            out |= {step.trigger_param, step.table_param, step.enabled_param}
        elif isinstance(step, UndoStep):
            out |= {step.audit_param, step.whole_run_param}
    return out


def _check_binds(action: ActionSpec, at: str) -> None:
    for i, step in enumerate(action.steps):
        if not isinstance(step, RowsStep):
            continue
        earlier: set[str] = set()
        for j, apply in enumerate(step.apply):
            for param, sources in apply.bind.items():
                for source in [sources] if isinstance(sources, str) else sources:
                    ok = (source == "items" or source.startswith("items:")
                          or source.rsplit(".", 1)[0] in earlier)
                    if not ok:
                        raise ValueError(
                            f"{at}: steps.{i}.apply.{j}.bind.{param}: '{source}' is not items, "
                            "items:OP or the column of an earlier apply statement (file.name.col)"
                        )
            earlier.add(apply.statement)
