"""Action parameters: validated against the type the SERVER gives each one, before anything
touches the database.

An action's statements are described by the server (catalog/verify.py); the type of
``:report_id`` there is the parameter's type: ``uuid`` takes a UUID, ``bigint`` a whole number,
``text`` non-empty text, ``boolean`` on/off. Choices and flags come from the spec. A failure is
one :class:`ParamError` line naming the parameter the way the face asks for it (``--report-id``
in the CLI, "report id" in the console), never a traceback.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from opsconsole.catalog.action_spec import ActionSpec, ChoiceSpec, ParamSpec
from opsconsole.errors import BadInput
from opsconsole.sanitize import clean

INT_RANGES = {"bigint": (-(2**63), 2**63 - 1), "integer": (-(2**31), 2**31 - 1),
              "smallint": (-(2**15), 2**15 - 1)}
TEXT_TYPES = frozenset({"text", "character varying", "name", "character", "citext"})
SCALAR_TYPES = frozenset({"uuid", "boolean", *INT_RANGES, *TEXT_TYPES})
CHOICE = "choice"  # the type of a choice parameter no statement takes itself
_TRUE = {"true", "t", "on", "yes", "1"}
_FALSE = {"false", "f", "off", "no", "0"}
Namer = Callable[[ParamSpec], str]


def neutral(param: ParamSpec) -> str:
    """The face-neutral name of a parameter: its label ("report id")."""
    return param.shown


class ParamError(BadInput):
    """A parameter the engineer gave is invalid (exit code 2).

    Attributes:
        action: the action's name (str).
        params: the parameters concerned (tuple[ParamSpec, ...]).
        problem: what is wrong, without the name (str), e.g. "must be a whole number ...".
        shown: the value as given, inert and short ("" when not given) (str).
    """

    def __init__(self, action: str, params: tuple[ParamSpec, ...], problem: str,
                 shown: str = "") -> None:
        self.action, self.params, self.problem, self.shown = action, params, problem, shown
        super().__init__(self.worded(neutral))

    def worded(self, name: Namer) -> str:
        """The message with each parameter named by ``name`` (str, one line)."""
        if len(self.params) > 1:
            names = [name(p) for p in self.params]
            listed = ", ".join(names[:-1]) + f" or {names[-1]}"
            return f"{self.action}: {self.problem}: {listed}"
        who = name(self.params[0]) if self.params else "parameter"
        shown = f" {self.shown}" if self.shown else ""
        return f"{self.action}: {who}{shown} {self.problem}"


@dataclass(frozen=True)
class Params:
    """Validated parameters of one run.

    Attributes:
        values: every parameter -> its typed value (None when not given, False for an unset
            flag) (dict).
        bound: ``values`` plus the ``set`` of each chosen choice: what the statements bind.
        given: the parameters given, JSON-safe, as the audit trail stores them (dict).
        requires: objects the chosen choices need (tuple[str, ...]).
    """

    values: Mapping[str, Any]
    bound: Mapping[str, Any]
    given: Mapping[str, Any]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    """One button of the console's choice row: its label and the parameters it gives."""

    label: str
    values: dict[str, Any] = field(default_factory=dict)


def parse(spec: ActionSpec, types: Mapping[str, str], raw: Mapping[str, Any]) -> Params:
    """Validate raw parameters (CLI strings, or a console row's values and a chosen choice).

    Args:
        spec: the action.
        types: parameter -> the server's type name (``CHOICE`` for choice-only parameters).
        raw: parameter name -> value; None (and "" from a row) means not given.

    Returns:
        Params.

    Raises:
        ParamError: an unknown, missing or invalid parameter, or a selector group not given
            exactly once.
    """
    for name in raw:
        if spec.param(name) is None:
            raise ParamError(spec.name, (), "is not a parameter of this action",
                             clean(repr(name), 40))
    values: dict[str, Any] = {}
    for param in spec.params:
        value = raw.get(param.name)
        values[param.name] = None if _absent(value) else _convert(spec, param,
                                                                  types.get(param.name), value)
        if param.flag:
            values[param.name] = bool(values[param.name])
    _check_required(spec, values)
    return _bind(spec, values)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _check_required(spec: ActionSpec, values: dict[str, Any]) -> None:
    grouped = {n for group in spec.one_of for n in group}
    for param in spec.params:
        if param.required and param.name not in grouped and values[param.name] is None:
            raise ParamError(spec.name, (param,), "is required")
    for group in spec.one_of:
        given = [n for n in group if values[n] not in (None, False)]
        if len(given) != 1:
            params = tuple(p for p in spec.params if p.name in group)
            raise ParamError(spec.name, params, "give exactly one selector")


def _bind(spec: ActionSpec, values: dict[str, Any]) -> Params:
    bound = dict(values)
    given: dict[str, Any] = {}
    requires: list[str] = []
    for param in spec.params:
        value = values[param.name]
        if value is None or (param.flag and value is False):
            continue
        given[param.name] = value
        choice = _choice(param, value)
        if choice is not None:
            bound.update(choice.set)
            requires += choice.requires
    return Params(values, bound, given, tuple(requires))


def _choice(param: ParamSpec, value: Any) -> ChoiceSpec | None:
    return next((c for c in param.choices if c.value == value), None)


def _convert(spec: ActionSpec, param: ParamSpec, kind: str | None, value: Any) -> Any:
    shown = clean(repr(value), 60)

    def bad(problem: str) -> ParamError:
        return ParamError(spec.name, (param,), problem, shown)

    if param.choices:
        return _convert_choice(param, value, bad)
    if param.flag or kind == "boolean":
        return _boolean(value, bad)
    if kind == "uuid":
        try:
            return str(UUID(str(value).strip()))
        except ValueError:
            raise bad("is not a UUID (expected e.g. 3f2c1a9e-0b7d-4c51-9a43-6f0e2d8b1c77)"
                      ) from None
    if kind in INT_RANGES:
        return _whole(param, kind, value, bad)
    if kind in TEXT_TYPES:
        return _text(param, value, bad)
    raise bad(f"cannot be taken: its statement gives it type {kind or 'unknown'}")


def _convert_choice(param: ParamSpec, value: Any, bad: Callable[[str], ParamError]) -> Any:
    for choice in param.choices:
        if value == choice.value and type(value) is type(choice.value):
            return choice.value
        if isinstance(choice.value, bool) and isinstance(value, str):
            word = value.strip().lower()
            if (word in _TRUE and choice.value) or (word in _FALSE and not choice.value):
                return choice.value
        elif not isinstance(choice.value, bool) and str(value) == str(choice.value):
            return choice.value
    raise bad("must be one of: " + ", ".join(str(c.value) for c in param.choices))


def _boolean(value: Any, bad: Callable[[str], ParamError]) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise bad("must be on or off")


def _whole(param: ParamSpec, kind: str, value: Any, bad: Callable[[str], ParamError]) -> int:
    low, high = INT_RANGES[kind]
    if param.min is not None:
        low = max(low, param.min)
    if isinstance(value, bool):
        raise bad(f"must be a whole number between {low} and {high}")
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise bad(f"must be a whole number between {low} and {high}") from None
    if not low <= number <= high:
        raise bad(f"must be a whole number between {low} and {high}")
    return number


def _text(param: ParamSpec, value: Any, bad: Callable[[str], ParamError]) -> str:
    text = value if isinstance(value, str) else str(value)
    if not text.strip() or "\x00" in text or len(text) > param.max_length:
        raise bad(f"must be non-empty text without NUL characters, at most "
                  f"{param.max_length} characters")
    if param.pattern and not re.fullmatch(param.pattern, text):
        raise bad(f"is not {param.describe}" if param.describe
                  else f"does not match {param.pattern}")
    return text


def from_row(spec: ActionSpec, row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Parameters from the console's selected row, as the spec's ``row`` fields say.

    Returns:
        raw parameters (dict), or None when the action needs a row and none is selected.
    """
    wanted = [p for p in spec.params if p.row]
    if wanted and row is None:
        return None
    raw: dict[str, Any] = {}
    for param in wanted:
        value = (row or {}).get(str(param.row))
        if param.row_rule == "empty":
            raw[param.name] = value is None or str(value) == ""
        elif param.row_rule == "not":
            raw[param.name] = None if value is None else not _truthy(value)
        else:
            raw[param.name] = None if _absent(value) else (
                value if isinstance(value, bool | int) else str(value))
    return raw


def _truthy(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE


def choices(spec: ActionSpec, raw: Mapping[str, Any]) -> list[Choice]:
    """The console's buttons: one per combination of the choice parameters not given yet
    (e.g. "Dismiss", "Uphold and soft-delete"; "Disable trigger_x") ([] when none is open)."""
    open_ = [p for p in spec.params if p.choices and _absent(raw.get(p.name))]
    if not open_:
        return []
    out = []
    for combo in itertools.product(*(p.choices for p in open_)):
        label = " ".join(c.label for c in reversed(combo))
        out.append(Choice(label, {p.name: c.value for p, c in zip(open_, combo, strict=True)}))
    return out
