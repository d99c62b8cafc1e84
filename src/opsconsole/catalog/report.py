"""What the server's verification of the catalog says (:mod:`opsconsole.catalog.verify`): one
:class:`Finding` per problem, gathered in a :class:`CatalogReport` per database."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsconsole.catalog.describe import Description, Verification
from opsconsole.catalog.introspect import RowSecurity, SchemaInfo
from opsconsole.catalog.model import StatementUse
from opsconsole.catalog.vocabulary import Literal, Vocabulary


@dataclass(frozen=True)
class Finding:
    """Something that keeps a check, table or action from running as written.

    Attributes:
        kind: "check" | "table" | "action" | "console" (str).
        owner: the check id, table id or action name (str).
        ref: the named query concerned, or "" (str).
        message: one line: what is wrong, what the database has instead where known, and the
            file and line (or spec file and key) to edit (str, sanitised).
        code: "not-installed" | "requires" | "prepare" | "binding" | "vocabulary" | "column" |
            "rls" (str).
        location: where to edit: ``queries/jobs.sql:12`` or ``screens/jobs.toml:20`` (str).
    """

    kind: str
    owner: str
    ref: str
    message: str
    code: str = "prepare"
    location: str = ""


@dataclass
class CatalogReport:
    """Every statement the catalog uses, as the connected server judged it.

    Attributes:
        uses: the statement uses verified (list[StatementUse]).
        verification: the server's descriptions and failures by ref.
        findings: every problem found, in catalog order (list[Finding]).
        schema: what the database holds (SchemaInfo).
        subsystems: subsystem id -> the objects of its presence test that are absent (empty:
            installed) (dict[str, list[str]]).
        literals: ref -> the literal values it filters on or writes, derived from its SQL and
            declared by its uses (dict[str, list[Literal]]).
        vocabularies: ``schema.table.column`` -> what it can hold and its data holds.
        sources: ref -> result column name -> the ``schema.table.column`` it is read from, for
            result columns that are plain table columns (dict[str, dict[str, str]]).
        row_security: relation -> RowSecurity, for every relation the checks and tables read.
        binding: refs that prepare, but not with the parameter types the engine binds
            (set[str]; their failure is in ``verification.failed``).
        fingerprint: the schema fingerprint the report was made under ("" when not cached).
        elapsed_ms: how long the verification took, in ms (float).
    """

    uses: list[StatementUse]
    verification: Verification
    findings: list[Finding] = field(default_factory=list)
    schema: SchemaInfo = field(default_factory=lambda: SchemaInfo(frozenset(), frozenset(),
                                                                  frozenset()))
    subsystems: dict[str, list[str]] = field(default_factory=dict)
    literals: dict[str, list[Literal]] = field(default_factory=dict)
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    row_security: dict[str, RowSecurity] = field(default_factory=dict)
    binding: set[str] = field(default_factory=set)
    fingerprint: str = ""
    elapsed_ms: float = 0.0

    def problems(self, kind: str, owner: str) -> list[Finding]:
        """The findings of one check, table or action (list[Finding]; empty: runnable)."""
        return [f for f in self.findings if f.kind == kind and f.owner == owner]

    def runnable(self, kind: str, owner: str) -> bool:
        """Whether a check, table or action has no finding (bool)."""
        return not self.problems(kind, owner)

    def installed(self, kind: str, owner: str) -> bool:
        """False when the owner's subsystem is absent ("not installed") (bool)."""
        return not any(f.code == "not-installed" for f in self.problems(kind, owner))

    def description(self, ref: str) -> Description | None:
        """The server's description of ``ref``, or None when it did not prepare."""
        return self.verification.described.get(ref)

    def vocabulary(self, ref: str, result_column: str) -> Vocabulary | None:
        """What a result column of ``ref`` can hold, when it is a plain table column (e.g. the
        key column of a breakdown), else None."""
        source = self.sources.get(ref, {}).get(result_column)
        return self.vocabularies.get(source) if source else None
