"""The findings of one statement use, from what the server said about it (the internals of
:func:`opsconsole.catalog.verify.verify_catalog`): each a line naming what is wrong, what the
database has instead, and the file and line (or spec file and key) to edit."""

from __future__ import annotations

import functools
import re

from opsconsole.catalog import introspect, speccheck, suggest
from opsconsole.catalog.describe import Description, Failure
from opsconsole.catalog.introspect import SchemaInfo
from opsconsole.catalog.model import Catalog, CheckSpec, StatementUse, TableSpec
from opsconsole.catalog.report import CatalogReport, Finding

ENUM_INPUT = re.compile(r'^invalid input value for enum ([\w$."]+): "(.*)"$')


def relations(catalog: Catalog, ref: str, schema: SchemaInfo) -> list[str]:
    """The relations of the database a statement names (``schema.name``, in order)."""
    return [r for r in _mentioned(catalog.query(ref).sql) if r in schema.relations]


@functools.lru_cache(maxsize=512)
def _mentioned(sql_text: str) -> tuple[str, ...]:
    return tuple(introspect.relation_names(sql_text))


def findings_of(catalog: Catalog, report: CatalogReport, use: StatementUse,
                enum_labels: dict[str, tuple[str, ...]]) -> list[Finding]:
    """Every problem of one use, in this order: its subsystem absent (then nothing else),
    ``requires``, values its columns cannot hold, the server's refusal, spec columns, RLS."""
    def finding(message: str, code: str, location: str) -> Finding:
        return Finding(use.kind, use.owner, use.ref, message, code, location)

    missing_subsystem = absent(catalog, report, use.kind, use.owner)
    if missing_subsystem is not None:
        return [finding(missing_subsystem, "not-installed", "screens/subsystems.toml")]
    out: list[Finding] = []
    spec_file = catalog.spec_file(use.kind, use.owner)
    spec = _spec(catalog, use)
    missing = report.schema.missing(spec.requires) if spec is not None else []
    if missing:
        out.append(finding(f"missing {', '.join(missing)}: adapt requires in {spec_file}",
                           "requires", spec_file))
    held = _vocabulary_findings(catalog, report, use)
    out += [finding(m, "vocabulary", loc) for m, loc in held]
    failure = report.verification.failed.get(use.key)
    if failure is not None:
        message = _failure_line(catalog, report, failure, enum_labels)
        enum = ENUM_INPUT.match(failure.message)
        if not (enum and any(f"= '{enum.group(2)}'" in m for m, _ in held)):
            code = "binding" if use.ref in report.binding else "prepare"
            out.append(finding(message, code, failure.location))
    desc = report.description(use.ref)
    if desc is not None and spec is not None and use.role == "query":
        for problem in _spec_problems(catalog, report, spec, desc):
            out.append(finding(f"{spec_file}: {use.kind} {use.owner}: {problem.message}: adapt "
                               f"{problem.key} in {spec_file} or {catalog.location(use.ref)}",
                               "column", spec_file))
    if use.kind in ("check", "table"):
        out += [finding(f"{rls.reason()}: the session sees only the rows its policies show; run "
                        f"the console as the table's owner or a role with BYPASSRLS", "rls",
                        catalog.location(use.ref))
                for r in relations(catalog, use.ref, report.schema)
                if (rls := report.row_security.get(r)) is not None and rls.filters]
    return out


def absent(catalog: Catalog, report: CatalogReport, kind: str, owner: str) -> str | None:
    """ "not installed: relation x (subsystem s: title, source)" when the owner's subsystem is
    absent, else None."""
    subsystem = catalog.subsystem_of(kind, owner)
    missing = report.subsystems.get(subsystem, []) if subsystem else []
    if not missing:
        return None
    system = catalog.subsystems[subsystem or ""]
    where = f"subsystem {subsystem}: {system.title}" + (
        f", {system.source}" if system.source else "")
    return f"not installed: {', '.join(missing)} ({where})"


def _spec(catalog: Catalog, use: StatementUse) -> CheckSpec | TableSpec | None:
    if use.kind == "check":
        return next((c for _, c in catalog.checks() if c.id == use.owner), None)
    if use.kind == "table":
        return catalog.tables().get(use.owner)
    return None


def _spec_problems(catalog: Catalog, report: CatalogReport, spec: CheckSpec | TableSpec,
                   desc: Description) -> list[speccheck.SpecProblem]:
    if isinstance(spec, CheckSpec):
        key_vocabulary = report.vocabulary(spec.query, spec.key_column)
        return speccheck.check_problems(spec, desc, key_vocabulary)
    return speccheck.table_problems(catalog, spec, desc, report.description)


def _vocabulary_findings(catalog: Catalog, report: CatalogReport,
                         use: StatementUse) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for lit in report.literals.get(use.ref, []):
        vocab = report.vocabularies.get(lit.column)
        if vocab is None or vocab.holds(lit.value):
            continue
        near = suggest.closest(lit.value, vocab.allowed or ())
        hint = f"; closest: {', '.join(near)}" if near else ""
        location = catalog.location(use.ref, lit.sql_line)
        verb = "writes" if lit.writes else "filters"
        out.append((f"{verb} {lit.column} = '{lit.value}', which the column cannot hold "
                    f"({vocab.what()}{hint}): adapt {location}", location))
    return out


def _failure_line(catalog: Catalog, report: CatalogReport, failure: Failure,
                  enum_labels: dict[str, tuple[str, ...]]) -> str:
    text = failure.message
    if failure.hint:
        text += f" (hint: {failure.hint})"
    near = suggest.suggestion(failure, catalog.query(failure.ref).sql, report.schema)
    enum = ENUM_INPUT.match(failure.message)
    labels = enum_labels.get(enum.group(1).strip('"')) if enum else None
    if enum and labels:
        near = f"enum {enum.group(1)} holds {', '.join(labels)}"
    if near:
        text += f"; {near}"
    return f"{text}: adapt {failure.location}"
