"""The breakdowns the seeds name (issue 12, item 7): each is a check with a stable id, a value
and a values map, in JSON and Prometheus, and every number is the one this test computes with
its own SQL on the seeded data (tests/conftest.py), never read back from the console's queries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg.rows import dict_row

from opsconsole import catalog, checks, cli
from opsconsole.catalog import ScreenSpec
from opsconsole.catalog.model import CheckSpec
from opsconsole.checks import engine as check_engine
from opsconsole.connection import db
from tests.conftest import ANCHOR

Row = dict[str, Any]

BREAKDOWNS = [
    "jobs.status_breakdown", "jobs.purpose_breakdown", "jobs.failed_errors",
    "coordination.suppress_reasons", "jobs.delivery_attempts_status", "jobs.failed_attempts",
    "communication.unread_inbox", "deliveries.null_user_causes", "deliveries.link_outcomes",
    "moderation.report_status", "conversations.v2_status", "conversations.v2_unsendable",
    "conversations.help_request_status",
]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_engine, "utc_now", lambda: ANCHOR)


@pytest.fixture(scope="module")
def ro(seeded_dsn: str) -> Iterator[psycopg.Connection[Row]]:
    with psycopg.connect(seeded_dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture(scope="module")
def found(seeded_dsn: str) -> dict[str, dict[str, Any]]:
    """Every check of one `opsconsole check --format json` run on the seeded clone, by id."""
    import contextlib
    import io

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(check_engine, "utc_now", lambda: ANCHOR)  # (the autouse one is per test)
        cli.main(["check", "--dsn", seeded_dsn, "--format", "json"])
    return {c["id"]: c for c in json.loads(out.getvalue())["checks"]}


def counts(conn: psycopg.Connection[Row], query: str, params: Any = None) -> dict[str, int]:
    return {r["k"]: r["n"] for r in conn.execute(query, params).fetchall()}


def test_every_breakdown_is_a_check_with_a_value_and_a_values_map(
        found: dict[str, dict[str, Any]]) -> None:
    for ident in BREAKDOWNS:
        check = found[ident]
        assert check["status"] != "UNKNOWN", (ident, check["error"])
        assert check["value"] is not None, ident
        assert isinstance(check["values"], dict) and check["values"], ident
        assert check["runbook"] and check["summary"], ident
    cat = catalog.load()
    for _, spec in cat.checks():  # whole-table aggregates refresh on a slow cadence
        if spec.id in ("jobs.status_breakdown", "jobs.purpose_breakdown",
                       "jobs.delivery_attempts_status", "moderation.report_status",
                       "conversations.v2_status", "conversations.help_request_status"):
            assert spec.cadence_s == 300, spec.id


def test_jobs_by_status_purpose_and_distinct_errors(found: dict[str, dict[str, Any]],
                                                    ro: psycopg.Connection[Row]) -> None:
    status = counts(ro, "SELECT status AS k, count(*) AS n FROM sms_outbound_jobs GROUP BY 1")
    assert found["jobs.status_breakdown"]["values"] == status
    assert set(status) == {"pending", "running", "sent", "failed"}  # every one the CHECK allows
    assert found["jobs.status_breakdown"]["value"] == status["failed"]

    purpose = counts(ro, "SELECT purpose AS k, count(*) AS n FROM sms_outbound_jobs GROUP BY 1")
    assert found["jobs.purpose_breakdown"]["values"] == purpose
    assert found["jobs.purpose_breakdown"]["value"] == sum(purpose.values()) == 20_000
    assert found["jobs.purpose_breakdown"]["summary"].startswith(
        f"{purpose['linkup_coordination']} linkup_coordination; also ")

    errors = counts(ro, "SELECT last_error AS k, count(*) AS n FROM sms_outbound_jobs"
                        " WHERE status = 'failed' GROUP BY 1")
    failed = found["jobs.failed_errors"]
    assert failed["values"] == errors
    assert failed["value"] == len(errors) == 5  # over all failed jobs, not the last hour
    biggest = max(errors, key=lambda e: errors[e])
    assert failed["summary"].startswith(
        f"5 distinct errors over {sum(errors.values())} failed jobs: {errors[biggest]} {biggest}")
    assert found["jobs.failed_last_hour"]["values"]["distinct_errors"] == 5  # keeps its window
    assert found["jobs.failed_last_hour"]["value"] < status["failed"]


def test_delivery_lifecycle_failed_attempts_and_the_unread_inbox(
        found: dict[str, dict[str, Any]], ro: psycopg.Connection[Row]) -> None:
    status = counts(ro, "SELECT status AS k, count(*) AS n FROM communication.delivery_attempts"
                        " GROUP BY 1")
    assert found["jobs.delivery_attempts_status"]["values"] == status
    assert set(status) == {"scheduled", "sending", "delivered", "failed", "cancelled"}
    errors = counts(ro, "SELECT error AS k, count(*) AS n FROM communication.delivery_attempts"
                        " WHERE status = 'failed' GROUP BY 1")
    attempts = found["jobs.failed_attempts"]
    assert attempts["values"] == errors and len(errors) == 4  # one per channel
    assert attempts["value"] == status["failed"]
    assert attempts["summary"].startswith(f"{status['failed']} failed attempts, 4 distinct errors")

    inbox = ro.execute("""
        SELECT count(DISTINCT user_id) AS recipients, count(*) AS unread,
               (SELECT count(*) FROM communication.message_recipients WHERE read_at IS NULL
                GROUP BY user_id ORDER BY 1 DESC LIMIT 1) AS largest
        FROM communication.message_recipients WHERE read_at IS NULL""").fetchone()
    assert inbox is not None and inbox["unread"] > 0
    unread = found["communication.unread_inbox"]
    assert unread["value"] == inbox["recipients"]
    assert {k: unread["values"][k] for k in inbox} == inbox


def test_suppressed_rows_by_reason(found: dict[str, dict[str, Any]],
                                   ro: psycopg.Connection[Row]) -> None:
    reasons = counts(ro, "SELECT suppress_reason AS k, count(*) AS n"
                         " FROM linkup_coordination_messages WHERE status = 'suppressed'"
                         " GROUP BY 1")
    assert len(reasons) == 3  # opted_out, no_phone, quiet_hours: shown nowhere before
    check = found["coordination.suppress_reasons"]
    assert check["values"] == reasons and check["value"] == sum(reasons.values())
    assert check["value"] == found["coordination.status_breakdown"]["values"]["suppressed"]


def test_deliveries_with_null_user_id_by_cause(found: dict[str, dict[str, Any]],
                                               ro: psycopg.Connection[Row]) -> None:
    causes = counts(ro, """
        SELECT CASE WHEN g.id IS NULL THEN 'no_guest'
                    WHEN g.removed_at IS NOT NULL THEN 'guest_removed'
                    WHEN g.user_id IS NULL THEN 'guest_not_linked'
                    ELSE 'linkable' END AS k, count(*) AS n
        FROM message_deliveries d LEFT JOIN event_guests g ON g.id = d.guest_id
        WHERE d.user_id IS NULL GROUP BY 1""")
    assert set(causes) == {"linkable", "guest_removed", "guest_not_linked", "no_guest"}
    assert all(n > 0 for n in causes.values())
    check = found["deliveries.null_user_causes"]
    assert check["values"] == causes
    assert check["value"] == causes["linkable"] == \
        found["deliveries.inconsistency_rate"]["values"]["inconsistent"]
    assert check["status"] == "OK"  # informational: the inconsistency rate warns


def test_link_outcomes_show_the_outcome_the_runbook_does_not_name(
        found: dict[str, dict[str, Any]], ro: psycopg.Connection[Row]) -> None:
    outcomes = counts(ro, """
        SELECT outcome AS k, count(*) AS n FROM user_link_audit
        WHERE table_name = 'message_deliveries'
          AND created_at BETWEEN %(a)s - interval '24 hours' AND %(a)s GROUP BY 1""",
                      {"a": ANCHOR})
    assert outcomes["error"] > 0
    check = found["deliveries.link_outcomes"]
    assert check["values"] == outcomes
    assert (check["value"], check["status"]) == (outcomes["error"], "WARNING")
    rate = found["deliveries.trigger_success_rate"]["values"]
    assert rate["attempts"] == sum(outcomes.values())
    assert rate["other"] == outcomes["error"]  # counted in the total, and now shown


def test_reports_conversations_and_help_requests_by_status(
        found: dict[str, dict[str, Any]], ro: psycopg.Connection[Row]) -> None:
    reports = counts(ro, "SELECT report_status AS k, count(*) AS n FROM reported_messages"
                         " GROUP BY 1")
    assert found["moderation.report_status"]["values"] == reports
    assert found["moderation.report_status"]["value"] == reports["pending"] == \
        found["moderation.pending_reports"]["value"]
    v2 = counts(ro, "SELECT status AS k, count(*) AS n FROM conversations_v2 GROUP BY 1")
    assert found["conversations.v2_status"]["values"] == v2 and len(v2) == 3
    unsendable = found["conversations.v2_unsendable"]
    assert unsendable["value"] == v2["closed"] + v2["blocked"]
    assert unsendable["values"] == {"active": 0, "closed": v2["closed"],
                                    "blocked": v2["blocked"]}
    helps = counts(ro, "SELECT status AS k, count(*) AS n FROM help_requests GROUP BY 1")
    assert found["conversations.help_request_status"]["values"] == helps and len(helps) == 4


def _rpc(conn: psycopg.Connection[Row], caller: uuid.UUID, call: str, *args: Any) -> Any:
    """Call a seed 003 RPC as ``caller`` (its JWT subject), in a transaction rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('request.jwt.claim.sub', %s, true)", (str(caller),))
        row = conn.execute(f"SELECT {call} AS r", args).fetchone()
    assert row is not None
    return row["r"]


def test_what_the_conversation_checks_call_unavailable_is_what_the_rpcs_refuse(
        ro: psycopg.Connection[Row]) -> None:
    """send_message_v2 refuses every conversation v2_unsendable counts and takes an active one;
    create_conversation_atomic answers help_request_unavailable where help_request_status
    says so."""
    for status in ("closed", "blocked", "active"):
        conv = ro.execute("SELECT id, helper_id FROM conversations_v2 WHERE status = %s"
                          " ORDER BY id LIMIT 1", (status,)).fetchone()
        assert conv is not None
        answer = _rpc(ro, conv["helper_id"], "public.send_message_v2(%s, %s, %s)",
                      conv["id"], conv["helper_id"], "Still on for Saturday?")
        assert answer["success"] is (status == "active"), (status, answer)
        if status != "active":
            assert answer["error"] == "permission_denied"
    for status in ("closed", "cancelled", "open"):
        req = ro.execute("SELECT h.id, h.user_id FROM help_requests h WHERE h.status = %s"
                         " ORDER BY h.id LIMIT 1", (status,)).fetchone()
        helper = ro.execute("SELECT id FROM auth.users WHERE id <> %s ORDER BY id DESC LIMIT 1",
                            (req["user_id"],)).fetchone()
        assert req is not None and helper is not None
        answer = _rpc(ro, helper["id"], "public.create_conversation_atomic(%s, %s, %s)",
                      req["id"], helper["id"], "I can help with this tomorrow.")
        expected = None if status == "open" else "help_request_unavailable"
        assert answer.get("error") == expected, (status, answer)


def test_oldest_pending_age_counts_from_due_not_from_creation(
        fresh_seeded_dsn: str, ro: psycopg.Connection[Row]) -> None:
    pending = ro.execute("SELECT min(run_after) AS due, min(created_at) AS created"
                         " FROM sms_outbound_jobs WHERE status = 'pending'").fetchone()
    assert pending is not None
    assert pending["due"] == ANCHOR - timedelta(hours=3, minutes=30)
    assert pending["created"] < ANCHOR - timedelta(days=1)  # the planted replayed jobs
    cat = catalog.load()
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        # A replay a minute ago of every failed job, as replay-jobs does (run_after = now), and
        # one job scheduled for later.
        replayed = conn.execute("""
            UPDATE sms_outbound_jobs SET status = 'pending', run_after = %(t)s, locked_at = NULL,
                   updated_at = %(t)s
            WHERE status = 'failed'""", {"t": ANCHOR - timedelta(minutes=1)}).rowcount
        conn.execute("UPDATE sms_outbound_jobs SET run_after = %(t)s WHERE id = (SELECT id"
                     " FROM sms_outbound_jobs WHERE status = 'pending' ORDER BY run_after DESC"
                     " LIMIT 1)", {"t": ANCHOR + timedelta(hours=1)})
        oldest_created = conn.execute("SELECT min(created_at) FROM sms_outbound_jobs"
                                      " WHERE status = 'pending'").fetchone()
    with db.connect(fresh_seeded_dsn) as conn:
        (age,) = checks.run_all(conn, cat, only=["jobs.oldest_pending_age"],
                                clock=lambda: ANCHOR)
    assert replayed > 500 and oldest_created is not None
    assert ANCHOR - oldest_created[0] > timedelta(days=25)  # what created_at would have said
    assert age.value == timedelta(hours=3, minutes=30).total_seconds()
    assert age.values["not_due"] == 1
    assert "the oldest waiting 3h 30m since due (1 not due yet)" in age.summary


def test_migrations_are_named_missing_and_not_expected(fresh_seeded_dsn: str,
                                                       found: dict[str, dict[str, Any]]) -> None:
    assert found["schema.migrations"]["status"] == "OK"
    assert found["schema.migrations"]["summary"] == (
        "9 recorded, 9 expected; missing: none; not expected: none")
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM communication.schema_migrations WHERE version = '0005'")
        conn.execute("INSERT INTO communication.schema_migrations (version, name, checksum)"
                     " VALUES ('0010', 'local_hotfix', 'x')")
    cat = catalog.load()
    with db.connect(fresh_seeded_dsn) as conn:
        (check,) = checks.run_all(conn, cat, only=["schema.migrations"], clock=lambda: ANCHOR)
    # "9 of 9" by count, today: by name, one is missing and one is unknown
    assert (check.values["applied"], check.values["expected"]) == (9, 9)
    assert check.status is checks.Status.CRITICAL and check.value == 1
    assert check.summary == ("9 recorded, 9 expected; missing: 0005_messages; "
                             "not expected: 0010_local_hotfix")
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO communication.schema_migrations (version, name, checksum)"
                     " VALUES ('0005', 'messages', 'y')")
    with db.connect(fresh_seeded_dsn) as conn:
        (check,) = checks.run_all(conn, cat, only=["schema.migrations"], clock=lambda: ANCHOR)
    assert check.status is checks.Status.WARNING and check.values["unexpected"] == 1


def test_breakdowns_are_in_prometheus_with_every_key(seeded_dsn: str,
                                                     found: dict[str, dict[str, Any]],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["check", "--dsn", seeded_dsn, "--format", "prometheus"])
    families = {f.name: f for f in text_string_to_metric_families(capsys.readouterr().out)}
    maps: dict[str, dict[str, float]] = {}
    for sample in families["opsconsole_check_values"].samples:
        maps.setdefault(sample.labels["check"], {})[sample.labels["key"]] = sample.value
    value = {s.labels["check"]: s.value for s in families["opsconsole_check_value"].samples}
    for ident in BREAKDOWNS:
        numbers = {k: v for k, v in found[ident]["values"].items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        assert maps[ident] == numbers, ident
        assert value[ident] == found[ident]["value"], ident


# -- the engine's breakdown aggregates, pure --------------------------------------------------

SCREEN = ScreenSpec(id="jobs", title="Jobs", subsystem="jobs")


def breakdown(value: str, summary: str) -> CheckSpec:
    return CheckSpec(id="jobs.x", title="x", query="jobs.x", shape="breakdown",
                     key_column="last_error", value=value, summary=summary, runbook="r",
                     source="s")


ROWS = [{"last_error": "Twilio 30003", "count": 7}, {"last_error": "Twilio 20429", "count": 3},
        {"last_error": "gone", "count": 0}]


def test_a_breakdown_counts_its_distinct_keys_and_lists_them_after_an_aggregate() -> None:
    distinct = checks.evaluate(SCREEN, breakdown("#", "{#} errors over {*} jobs"), ROWS)
    assert distinct.value == 2  # a key counting nothing is not one of them
    assert distinct.summary == "2 errors over 10 jobs: 7 Twilio 30003, 3 Twilio 20429"
    total = checks.evaluate(SCREEN, breakdown("*", "{Twilio 30003} throttled"), ROWS)
    assert total.value == 10 and total.summary == "7 throttled; also 3 Twilio 20429"
    plain = checks.evaluate(SCREEN, breakdown("*", "per error below"), ROWS)
    assert plain.summary == "per error below"
