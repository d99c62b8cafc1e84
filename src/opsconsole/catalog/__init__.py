"""The catalog layer: ``queries/`` + ``screens/`` loaded, validated and checked against the server.

Data flows one way: ``queries/`` + ``screens/`` -> catalog -> checks / actions -> tui | cli.
"""

from opsconsole.catalog.action_spec import ActionSpec, ParamSpec
from opsconsole.catalog.loader import default_root, load
from opsconsole.catalog.model import (
    ActionRef,
    Catalog,
    CheckSpec,
    ColumnSpec,
    DrillSpec,
    NamedQuery,
    ScreenSpec,
    StatementUse,
    TableSpec,
)

__all__ = [
    "ActionRef",
    "ActionSpec",
    "Catalog",
    "CheckSpec",
    "ColumnSpec",
    "DrillSpec",
    "NamedQuery",
    "ParamSpec",
    "ScreenSpec",
    "StatementUse",
    "TableSpec",
    "default_root",
    "load",
]
