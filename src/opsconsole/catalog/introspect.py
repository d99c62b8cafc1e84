"""What the connected database holds: relations, columns and functions, read once per session.

Checks and actions declare what they read as ``schema.relation``, ``schema.relation.column`` or
``schema.function()``; :meth:`SchemaInfo.missing` names whatever of that is absent, so the check
is UNKNOWN ("not installed: column public.sms_outbound_jobs.purpose") rather than failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from opsconsole.catalog import Catalog
from opsconsole.connection.db import Connection, ServerInfo


@dataclass(frozen=True)
class SchemaInfo:
    """The objects present in one database.

    Attributes:
        relations: ``schema.name`` of tables, views and matviews (frozenset[str]).
        columns: ``schema.name.column`` (frozenset[str]).
        functions: ``schema.name`` of functions (frozenset[str]).
    """

    relations: frozenset[str]
    columns: frozenset[str]
    functions: frozenset[str]

    def missing(self, requires: list[str]) -> list[str]:
        """Describe each required object that is absent.

        Args:
            requires: items like ``public.t``, ``public.t.col`` or ``public.f()``.

        Returns:
            e.g. ``["relation public.t", "column public.t.col", "function public.f()"]``; a column
            of a missing relation is reported as the relation only.
        """
        out: list[str] = []
        for item in requires:
            if item.endswith("()"):
                if item[:-2] not in self.functions:
                    out.append(f"function {item}")
                continue
            parts = item.split(".")
            relation = ".".join(parts[:2])
            if relation not in self.relations:
                label = f"relation {relation}"
                if label not in out:
                    out.append(label)
            elif len(parts) == 3 and item not in self.columns:
                out.append(f"column {item}")
        return out


def inspect(conn: Connection, catalog: Catalog) -> SchemaInfo:
    """Read the :class:`SchemaInfo` of the connected database (three catalog queries).

    Raises:
        psycopg.Error: the queries failed (e.g. the connection was lost).
    """

    def names(ref: str) -> frozenset[str]:
        rows = conn.execute(catalog.query(ref).sql.encode(), {}).fetchall()
        return frozenset(str(r["name"]) for r in rows)

    return SchemaInfo(
        relations=names("introspect.relations"),
        columns=names("introspect.columns"),
        functions=names("introspect.functions"),
    )


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

    >>> relation_names("SELECT j.id FROM public.sms_outbound_jobs j WHERE j.note = 'a.b'")
    ['j.id', 'public.sms_outbound_jobs', 'j.note']
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
        """One line, e.g. "row-level security on public.messages filters what role ops sees
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
