"""What the connected database holds: relations, columns and functions, read once per session.

Checks and actions declare what they read as ``schema.relation``, ``schema.relation.column`` or
``schema.function()``; :meth:`SchemaInfo.missing` names whatever of that is absent, so the check
is UNKNOWN ("not installed: column public.sms_outbound_jobs.purpose") rather than failing.
"""

from __future__ import annotations

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
