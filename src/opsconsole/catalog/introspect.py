"""What the connected database holds: schemas, relations, columns, functions, triggers and
constraints, read in one round trip (``introspect.objects``).

Specs declare what a statement cannot show as ``requires`` items (see
:data:`opsconsole.catalog.model.REQUIRE_RE`): ``schema.relation``, ``schema.relation.column``,
``schema.function()``, ``schema NAME``, ``trigger schema.table.name`` or
``constraint schema.table.name``. :meth:`SchemaInfo.missing` names whatever of that is absent;
:meth:`SchemaInfo.columns_of` and friends feed the "closest names" of a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opsconsole.catalog.model import Catalog
from opsconsole.connection.db import Connection, ServerInfo


@dataclass(frozen=True)
class SchemaInfo:
    """The objects present in one database (names as the server spells them, unquoted).

    Attributes:
        relations: ``schema.name`` of tables, views, matviews and foreign tables (frozenset[str]).
        columns: ``schema.name.column`` (frozenset[str]).
        functions: ``schema.name`` of functions (frozenset[str]).
        schemas: schema names (frozenset[str]).
        triggers: ``schema.table.trigger`` of user triggers (frozenset[str]).
        constraints: ``schema.table.constraint`` (frozenset[str]).
        column_types: ``schema.name.column`` -> the server's type name (Mapping[str, str]).
        function_args: ``schema.name`` -> identity arguments of one overload (Mapping[str, str]).
    """

    relations: frozenset[str]
    columns: frozenset[str]
    functions: frozenset[str]
    schemas: frozenset[str] = frozenset()
    triggers: frozenset[str] = frozenset()
    constraints: frozenset[str] = frozenset()
    column_types: Mapping[str, str] = field(default_factory=dict)
    function_args: Mapping[str, str] = field(default_factory=dict)

    def missing(self, requires: Iterable[str]) -> list[str]:
        """Describe each required object that is absent.

        Args:
            requires: items like ``public.t``, ``public.t.col``, ``public.f()``,
                ``schema communication``, ``trigger public.t.name``, ``constraint public.t.name``.

        Returns:
            e.g. ``["relation public.t", "column public.t.col", "function public.f()"]``; a column
            of a missing relation is reported as the relation only.
        """
        out: list[str] = []
        for item in requires:
            label = self._absent(item)
            if label and label not in out:
                out.append(label)
        return out

    def _absent(self, item: str) -> str | None:
        kind, _, name = item.partition(" ") if " " in item else ("", "", item)
        if kind == "schema":
            return None if name in self.schemas else f"schema {name}"
        if kind in ("trigger", "constraint"):
            return self._absent_on_relation(kind, name)
        if name.endswith("()"):
            return None if name[:-2] in self.functions else f"function {name}"
        parts = name.split(".")
        relation = ".".join(parts[:2])
        if relation not in self.relations:
            return f"relation {relation}"
        if len(parts) == 3 and name not in self.columns:
            return f"column {name}"
        return None

    def _absent_on_relation(self, kind: str, name: str) -> str | None:
        relation = name.rsplit(".", 1)[0]
        if relation not in self.relations:
            return f"relation {relation}"
        present = self.triggers if kind == "trigger" else self.constraints
        return None if name in present else f"{kind} {name}"

    def columns_of(self, relation: str) -> list[str]:
        """The column names of ``schema.relation`` (list[str], sorted; empty when absent)."""
        prefix = relation + "."
        return sorted(c[len(prefix):] for c in self.columns if c.startswith(prefix)
                      and "." not in c[len(prefix):])

    def relations_in(self, schema: str) -> list[str]:
        """The ``schema.name`` of every relation in ``schema`` (list[str], sorted)."""
        return sorted(r for r in self.relations if r.split(".", 1)[0] == schema)

    def functions_in(self, schema: str) -> list[str]:
        """The ``schema.name`` of every function in ``schema`` (list[str], sorted)."""
        return sorted(f for f in self.functions if f.split(".", 1)[0] == schema)


def inspect(conn: Connection, catalog: Catalog) -> SchemaInfo:
    """Read the :class:`SchemaInfo` of the connected database (one catalog query).

    Raises:
        psycopg.Error: the query failed (e.g. the connection was lost).
    """
    rows = conn.execute(catalog.query("introspect.objects").sql.encode(), {}).fetchall()
    by_kind: dict[str, dict[str, str]] = {}
    for r in rows:
        by_kind.setdefault(str(r["kind"]), {})[str(r["name"])] = str(r["type"] or "")
    return SchemaInfo(
        relations=frozenset(by_kind.get("relation", {})),
        columns=frozenset(by_kind.get("column", {})),
        functions=frozenset(by_kind.get("function", {})),
        schemas=frozenset(by_kind.get("schema", {})),
        triggers=frozenset(by_kind.get("trigger", {})),
        constraints=frozenset(by_kind.get("constraint", {})),
        column_types=dict(by_kind.get("column", {})),
        function_args=dict(by_kind.get("function", {})),
    )


def fingerprint(conn: Connection, catalog: Catalog) -> str:
    """A cheap fingerprint of the schema, grants and session role (``introspect.fingerprint``,
    about 0.5 ms): equal fingerprints mean a verification still holds (str, md5 hex).

    Raises:
        psycopg.Error: the query failed.
    """
    row = conn.execute(catalog.query("introspect.fingerprint").sql.encode(), {}).fetchone()
    assert row is not None
    return str(row["fingerprint"])


def server_info(conn: Connection, catalog: Catalog) -> ServerInfo:
    """Read what the header shows about the server (one round trip, ``introspect.server``).

    Raises:
        psycopg.Error: the query failed.
    """
    row = conn.execute(catalog.query("introspect.server").sql.encode(), {}).fetchone()
    assert row is not None
    return ServerInfo(
        version=str(row["version"]).split()[0],
        version_num=int(row["version_num"]),
        role=str(row["role"]),
        dbname=str(row["dbname"]),
        in_recovery=bool(row["in_recovery"]),
        read_only=bool(row["read_only"]),
    )


# schema.name tokens outside string literals and comments: the relations a statement names.
# queries/README.md: statements qualify every relation with its schema.
_QUALIFIED = re.compile(
    r'(?<![\w."])("?[a-z_][a-z0-9_]*"?)\.("?[a-z_][a-z0-9_$]*"?)(?![\w(])', re.I
)
_LITERALS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)


def relation_names(sql_text: str) -> list[str]:
    """Candidate ``schema.relation`` names a statement mentions, in order of first mention.

    Aliased column references (``j.status``) match too; callers keep the names that resolve to
    a relation in the database (:func:`row_security` does).

    >>> relation_names("SELECT j.id FROM public.t j WHERE j.note = 'a.b'")
    ['j.id', 'public.t', 'j.note']
    """
    text = _LITERALS.sub(" ", sql_text)
    found: list[str] = []
    for match in _QUALIFIED.finditer(text):
        schema, relation = (part.strip('"') for part in match.groups())
        name = f"{schema}.{relation}".lower()
        if name not in found:
            found.append(name)
    return found


@dataclass(frozen=True)
class RowSecurity:
    """Row-level security on one relation, as the session's role meets it.

    Attributes:
        relation: ``schema.name`` (str).
        enabled: ``relrowsecurity`` (bool).
        forced: ``relforcerowsecurity`` (bool).
        policies: how many policies the table has (int).
        role: the session's role, current_user (str).
        bypassed: the role is not subject to it (superuser, BYPASSRLS, or the owner of a table
            that does not force it) (bool).
    """

    relation: str
    enabled: bool
    forced: bool
    policies: int
    role: str
    bypassed: bool

    @property
    def filters(self) -> bool:
        """Row-level security hides rows from this role (bool)."""
        return self.enabled and not self.bypassed

    def reason(self) -> str:
        """One line, e.g. "row-level security on public.t filters what role ops sees
        (2 policies)"."""
        return (f"row-level security on {self.relation} filters what role {self.role} sees "
                f"({self.policies} policies)")


def row_security(
    conn: Connection, catalog: Catalog, relations: Iterable[str]
) -> dict[str, RowSecurity]:
    """Row-level security of each of ``relations`` that exists (others are left out).

    Args:
        relations: ``schema.name`` candidates (e.g. from :func:`relation_names`).

    Returns:
        relation -> RowSecurity, for the relations that exist.

    Raises:
        psycopg.Error: the query failed (e.g. the connection was lost).
    """
    names = sorted(set(relations))
    if not names:
        return {}
    rows = conn.execute(
        catalog.query("introspect.row_security").sql.encode(), {"relations": names}
    ).fetchall()
    return {
        str(r["relation"]): RowSecurity(
            relation=str(r["relation"]),
            enabled=bool(r["enabled"]),
            forced=bool(r["forced"]),
            policies=int(r["policies"]),
            role=str(r["role"]),
            bypassed=bool(r["bypassed"]),
        )
        for r in rows
    }
