"""Values the column cannot hold (issue 10 item 2, DESIGN.md): every literal status value a
statement filters on or writes is checked against the enum's labels or the CHECK's list, beside
what the data holds; breakdowns list every value the column can hold and every value the data
holds."""

from __future__ import annotations

import dataclasses
import re

import psycopg
import pytest

from opsconsole import catalog, checks
from opsconsole.catalog import introspect, verify, vocabulary
from opsconsole.catalog.model import Catalog, StatementUse
from opsconsole.connection import db
from tests.conftest import ANCHOR

# What each column with a vocabulary can hold, read with this test's own SQL: enum labels, and
# every quoted value of a CHECK constraint on that one column.
VOCABULARIES = """
SELECT n.nspname || '.' || c.relname || '.' || a.attname AS col,
       coalesce((SELECT array_agg(e.enumlabel::text) FROM pg_enum e WHERE e.enumtypid = a.atttypid),
                (SELECT array_agg(DISTINCT m[1]) FROM pg_constraint k,
                        regexp_matches(pg_get_constraintdef(k.oid), '''([^'']*)''', 'g') AS m
                  WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.conkey = ARRAY[a.attnum]))
         AS allowed
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND c.relkind = 'r' AND n.nspname IN ('public', 'communication')
"""


def test_every_literal_compared_with_a_status_like_column_is_covered(seeded_dsn: str) -> None:
    """Independently of the extractor: any quoted value in a shipped check or table statement
    that some column it reads could hold (so it is a status-like value) is found by
    :func:`vocabulary.literals` and tied to such a column."""
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        schema = introspect.inspect(conn, cat)
        vocab = {r["col"]: set(r["allowed"]) for r in conn.execute(VOCABULARIES).fetchall()
                 if r["allowed"]}
    refs = {u.ref for u in cat.statement_uses() if u.kind in ("check", "table")}
    checked = 0
    for ref in sorted(refs):
        sql_text = re.sub(r"--[^\n]*", "", cat.query(ref).sql)
        read = [r for r in introspect.relation_names(sql_text) if r in schema.relations]
        found = {(lit.column, lit.value) for lit in vocabulary.literals(sql_text, schema)}
        for value in re.findall(r"'((?:[^']|'')*)'", sql_text):
            holders = {col for col, allowed in vocab.items()
                       if value in allowed and col.rsplit(".", 1)[0] in read}
            if holders:
                checked += 1
                assert any((col, value) in found for col in holders), (ref, value, holders)
    assert checked >= 15


def test_the_shipped_statements_filter_only_on_values_their_columns_hold(
    seeded_dsn: str,
) -> None:
    cat = catalog.load()
    with db.connect(seeded_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    assert [f for f in report.findings if f.code == "vocabulary"] == []
    status = report.vocabularies["public.sms_outbound_jobs.status"]
    assert status.allowed == ("pending", "running", "sent", "failed")
    assert status.source == "CHECK sms_outbound_jobs_status_check"
    assert set(status.data) == {"pending", "running", "sent", "failed"} and status.data_complete


@pytest.fixture
def other_vocabulary(fresh_seeded_dsn: str) -> str:
    """The seeded demo whose coordination statuses differ: 'enqueued' is gone (its rows are
    'queued'), 'expired' is allowed but unused, and 'retrying' rows exist that the runbook
    never names."""
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("""
            ALTER TABLE public.linkup_coordination_messages
              DROP CONSTRAINT linkup_coordination_messages_status_check;
            UPDATE public.linkup_coordination_messages SET status = 'queued'
             WHERE status = 'enqueued';
            UPDATE public.linkup_coordination_messages SET status = 'retrying'
             WHERE id IN (SELECT id FROM public.linkup_coordination_messages
                           WHERE status = 'failed' ORDER BY id LIMIT 3);
            ALTER TABLE public.linkup_coordination_messages
              ADD CONSTRAINT linkup_coordination_messages_status_check
              CHECK (status IN ('pending', 'queued', 'retrying', 'sent', 'failed', 'suppressed',
                                'expired'));
            ANALYZE public.linkup_coordination_messages;
        """)
    return fresh_seeded_dsn


def test_a_statement_filtering_on_a_value_the_column_cannot_hold_is_unknown(
    other_vocabulary: str,
) -> None:
    cat = catalog.load()
    with db.connect(other_vocabulary) as conn:
        report = verify.verify_catalog(conn, cat)
        (missing_jobs,) = checks.run_all(conn, cat, only=["coordination.jobs_missing"],
                                         clock=lambda: ANCHOR, report=report)
    assert missing_jobs.status is checks.Status.UNKNOWN
    assert re.match(
        r"filters public\.linkup_coordination_messages\.status = 'enqueued', which the column "
        r"cannot hold \(CHECK linkup_coordination_messages_status_check allows pending, queued, "
        r"retrying, sent, failed, suppressed, expired; the data holds [a-z, ]+; closest: queued"
        r"\): adapt queries/coordination\.sql:34$", missing_jobs.summary), missing_jobs.summary
    held = [f for f in report.problems("table", "coordination.linkups") if f.code == "vocabulary"]
    assert [f.location for f in held] == ["queries/coordination.sql:72",
                                          "queries/coordination.sql:75"]
    assert all("'enqueued', which the column cannot hold" in f.message for f in held)


def test_a_breakdown_lists_every_value_the_column_can_hold_and_the_data_holds(
    other_vocabulary: str,
) -> None:
    cat = catalog.load()
    with db.connect(other_vocabulary) as conn:
        report = verify.verify_catalog(conn, cat)
        spec = next(c for _, c in cat.checks() if c.id == "coordination.status_breakdown")
        # the shipped summary names {enqueued}: a catalog error naming the spec file and key
        (problem,) = report.problems("check", spec.id)
        assert problem.code == "column"
        assert re.search(r"screens/coordination\.toml:\d+: check coordination\.status_breakdown: "
                         r"summary names 'enqueued', which public\.linkup_coordination_messages"
                         r"\.status cannot hold .*closest: queued", problem.message)
        rows = conn.execute(cat.query(spec.query).sql.encode(), {}).fetchall()
        vocab = report.vocabulary(spec.query, spec.key_column)
    result = checks.evaluate(cat.screen("coordination"), spec, rows, vocabulary=vocab, now=ANCHOR)
    assert result.values["expired"] == 0  # the column can hold it; no row does
    assert result.values["retrying"] == 3  # the data holds it; the runbook does not name it
    assert set(result.values) == {"pending", "queued", "retrying", "sent", "failed",
                                  "suppressed", "expired"}
    assert "also " in result.summary and "3 retrying" in result.summary


def test_a_value_an_action_writes_is_checked_too(drift_dsn: str) -> None:
    """The actions' uses carry the values they write (StatementUse.values); one the column
    cannot hold refuses the action, with the file and line."""
    shipped = catalog.load()

    @dataclasses.dataclass
    class WithAction(Catalog):
        def statement_uses(self) -> list[StatementUse]:
            return [*super().statement_uses(), StatementUse(
                "action", "replay-jobs", "jobs.failed_jobs", "apply",
                values={"public.sms_outbound_jobs.status": ("pending",)})]

    cat = WithAction(**{f.name: getattr(shipped, f.name) for f in dataclasses.fields(shipped)})
    with db.connect(drift_dsn) as conn:
        report = verify.verify_catalog(conn, cat)
    held = [f for f in report.problems("action", "replay-jobs") if f.code == "vocabulary"]
    assert held and held[0].message.startswith(
        "writes public.sms_outbound_jobs.status = 'pending', which the column cannot hold "
        "(enum sms_job_status holds queued, running, delivered, failed")
    assert not report.runnable("action", "replay-jobs")


@pytest.mark.parametrize(("definition", "column", "allowed"), [
    ("CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))", "status", ("a", "b")),
    ("CHECK (((v)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying])"
     "::text[])))", "v", ("x", "y")),
    ("CHECK (((w = 'q'::text) OR (w = 'r'::text)))", "w", ("q", "r")),
    ("CHECK (((z IS NULL) OR (z = ANY (ARRAY['m'::text, 'n'::text]))))", "z", ("m", "n")),
    ("CHECK ((VALUE = ANY (ARRAY['p'::text, 'it''s'::text])))", "d", ("p", "it's")),
    ("CHECK ((attempts >= 0))", "attempts", None),
    ("CHECK ((lower(status) = 'a'::text))", "status", None),
    ("CHECK (((status = 'a'::text) OR (other = 'b'::text)))", "status", None),
])
def test_check_constraints_as_pg_get_constraintdef_shows_them(
    definition: str, column: str, allowed: tuple[str, ...] | None
) -> None:
    assert vocabulary.check_values(definition, column) == allowed
