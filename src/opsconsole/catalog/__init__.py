"""The catalog layer: ``queries/`` + ``screens/`` loaded, validated and checked against the server.

Data flows one way: ``queries/`` + ``screens/`` -> catalog -> checks / actions -> tui | cli.

The server judges the catalog on each database (:mod:`opsconsole.catalog.verify`):
``verified(conn, catalog)`` is the once-per-session entry point, ``verify_catalog`` the uncached
one (doctor).
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
    SubsystemSpec,
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
    "SubsystemSpec",
    "TableSpec",
    "default_root",
    "load",
]
