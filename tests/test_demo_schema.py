"""The demo schema behaves as the seeds say, and the seeded data holds what the console looks for.

Everything runs on a real PostgreSQL (tests/conftest.py): the seed documents' own verification
queries are copied literally from ../shared/seeds/*.txt and run on the seeded data; the
triggers, RPCs and constraints are exercised with real rows. Tests that write use a fresh
clone (``fresh_seeded_dsn``) or an empty database (``empty_dsn``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from opsconsole.demo import setup
from opsconsole.errors import BadInput, Refused
from tests.conftest import ANCHOR, SCALE, SEED

Row = dict[str, Any]

ERRORS = {
    "Twilio 21610: Attempt to send to unsubscribed recipient",
    "Twilio 21211: Invalid 'To' Phone Number",
    "Twilio 30003: Unreachable destination handset",
    "Twilio 30005: Unknown destination handset",
    "Twilio 20429: Too Many Requests",
}


@pytest.fixture
def conn_of() -> Iterator[Any]:
    """Open autocommit dict-row connections and close them after the test."""
    opened: list[psycopg.Connection[Row]] = []

    def connect(dsn: str, autocommit: bool = True) -> psycopg.Connection[Row]:
        conn = psycopg.connect(dsn, autocommit=autocommit, row_factory=dict_row)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture(scope="module")
def ro(seeded_dsn: str) -> Iterator[psycopg.Connection[Row]]:
    """A read-only session on the module's seeded clone."""
    with psycopg.connect(seeded_dsn, autocommit=True, row_factory=dict_row,
                         options="-c default_transaction_read_only=on") as conn:
        yield conn


def one(conn: psycopg.Connection[Row], query: str, params: Any = None) -> Row:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def all_rows(conn: psycopg.Connection[Row], query: str, params: Any = None) -> list[Row]:
    return conn.execute(query, params).fetchall()


# ---------------------------------------------------------------------------------------------
# Small fixtures of our own inside a seeded clone (for the trigger tests).
# ---------------------------------------------------------------------------------------------
def new_user(conn: psycopg.Connection[Row], phone: str) -> uuid.UUID:
    return one(conn, "INSERT INTO public.users (phone, full_name) VALUES (%s, 'Test user')"
                     " RETURNING id", (phone,))["id"]


def new_event(conn: psycopg.Connection[Row]) -> uuid.UUID:
    return one(conn, "INSERT INTO public.events (title) VALUES ('Test event') RETURNING id")["id"]


def new_guest(conn: psycopg.Connection[Row], event_id: uuid.UUID, phone: str,
              user_id: uuid.UUID | None = None) -> uuid.UUID:
    return one(conn, "INSERT INTO public.event_guests (event_id, user_id, guest_name, phone)"
                     " VALUES (%s, %s, 'Test guest', %s) RETURNING id",
               (event_id, user_id, phone))["id"]


def deliver(conn: psycopg.Connection[Row], guest_id: uuid.UUID | None, phone: str) -> Row:
    """Create a delivery through seed 002's RPC and return the stored row."""
    delivery_id = one(conn, "SELECT public.upsert_message_delivery(%s, %s, %s) AS id",
                      (uuid.uuid4(), guest_id, phone))["id"]
    return one(conn, "SELECT * FROM public.message_deliveries WHERE id = %s", (delivery_id,))


def audit_of(conn: psycopg.Connection[Row], record_id: uuid.UUID) -> list[Row]:
    return all_rows(conn, "SELECT * FROM public.user_link_audit WHERE record_id = %s ORDER BY id",
                    (record_id,))


# ---------------------------------------------------------------------------------------------
# Seed 002: the auto-link trigger, the backfill trigger and backfill_guest_deliveries.
# ---------------------------------------------------------------------------------------------
def test_seeding_leaves_auto_link_enabled_and_backfill_disabled(ro: psycopg.Connection[Row]) -> None:
    rows = all_rows(ro, "SELECT tgname, tgenabled FROM pg_trigger WHERE tgname IN"
                        " ('trigger_message_deliveries_auto_link_user',"
                        "  'trigger_backfill_deliveries_on_guest_link')")
    assert {r["tgname"]: r["tgenabled"] for r in rows} == {
        "trigger_message_deliveries_auto_link_user": "O",
        "trigger_backfill_deliveries_on_guest_link": "D",
    }


def test_auto_link_trigger_links_a_new_delivery_through_its_guest(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    user = new_user(conn, "+19990000001")
    event = new_event(conn)
    guest = new_guest(conn, event, "+19990000001", user)

    row = deliver(conn, guest, "+19990000001")

    assert row["user_id"] == user
    audit = audit_of(conn, row["id"])
    assert len(audit) == 1
    assert audit[0]["table_name"] == "message_deliveries"
    assert audit[0]["outcome"] == "linked"
    assert audit[0]["matched_user_id"] == user
    assert audit[0]["event_id"] == event
    assert audit[0]["metadata"] == {"source": "event_guests"}


def test_auto_link_is_no_match_for_two_active_guests_with_one_phone(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    event = new_event(conn)
    first = new_guest(conn, event, "+19990000002")
    new_guest(conn, event, "+19990000002")

    row = deliver(conn, first, "+19990000002")

    assert row["user_id"] is None
    (audit,) = audit_of(conn, row["id"])
    assert (audit["table_name"], audit["outcome"]) == ("message_deliveries", "no_match")
    assert audit["metadata"] == {"source": "ambiguous_guests"}


def test_auto_link_is_no_match_without_a_guest(fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    new_user(conn, "+19990000003")  # a user with that phone: the fallback flag is off

    row = deliver(conn, None, "+19990000003")

    assert row["user_id"] is None
    (audit,) = audit_of(conn, row["id"])
    assert audit["outcome"] == "no_match"
    assert audit["metadata"] == {"source": "no_guest_user"}


def test_auto_link_is_skipped_when_link_user_by_phone_is_off(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    conn.execute("UPDATE public.feature_flags SET enabled = false WHERE name = 'LINK_USER_BY_PHONE'")
    user = new_user(conn, "+19990000004")
    guest = new_guest(conn, new_event(conn), "+19990000004", user)

    row = deliver(conn, guest, "+19990000004")

    assert row["user_id"] is None
    (audit,) = audit_of(conn, row["id"])
    assert (audit["outcome"], audit["metadata"]) == (
        "skipped", {"reason": "LINK_USER_BY_PHONE disabled"})


def test_linking_a_guest_backfills_its_deliveries_when_the_trigger_is_enabled(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    conn.execute("ALTER TABLE public.event_guests"
                 " ENABLE TRIGGER trigger_backfill_deliveries_on_guest_link")
    user = new_user(conn, "+19990000005")
    guest = new_guest(conn, new_event(conn), "+19990000005")
    deliveries = [deliver(conn, guest, "+19990000005") for _ in range(3)]
    assert all(d["user_id"] is None for d in deliveries)

    conn.execute("UPDATE public.event_guests SET user_id = %s WHERE id = %s", (user, guest))

    linked = one(conn, "SELECT count(*) FILTER (WHERE user_id = %s) AS linked, count(*) AS total"
                       " FROM public.message_deliveries WHERE guest_id = %s", (user, guest))
    assert linked == {"linked": 3, "total": 3}
    backfill = [a for a in audit_of(conn, guest) if a["table_name"] == "message_deliveries_backfill"]
    assert len(backfill) == 1
    assert backfill[0]["outcome"] == "linked"
    assert backfill[0]["matched_user_id"] == user
    assert backfill[0]["metadata"] == {"deliveries_updated": 3}


def test_linking_a_guest_does_nothing_while_the_backfill_trigger_is_disabled(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    user = new_user(conn, "+19990000006")
    guest = new_guest(conn, new_event(conn), "+19990000006")
    deliver(conn, guest, "+19990000006")

    conn.execute("UPDATE public.event_guests SET user_id = %s WHERE id = %s", (user, guest))

    # The planted fault: the delivery stays unlinked, and now counts as inconsistent.
    assert one(conn, "SELECT count(*) AS n FROM public.message_deliveries"
                     " WHERE guest_id = %s AND user_id IS NULL", (guest,))["n"] == 1
    assert [a for a in audit_of(conn, guest)
            if a["table_name"] == "message_deliveries_backfill"] == []


def test_backfill_guest_deliveries_returns_the_count(fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    # A guest of the seeded data with unlinked deliveries (seed 002's debugging query).
    target = one(conn, """
        SELECT g.id AS guest_id, g.user_id, count(*) AS unlinked
        FROM message_deliveries d JOIN event_guests g ON g.id = d.guest_id
        WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL
        GROUP BY g.id, g.user_id ORDER BY count(*) DESC, g.id LIMIT 1""")

    got = one(conn, "SELECT public.backfill_guest_deliveries(%s::uuid, %s::uuid) AS n",
              (target["guest_id"], target["user_id"]))["n"]

    assert got == target["unlinked"] >= 1
    assert one(conn, "SELECT count(*) AS n FROM message_deliveries"
                     " WHERE guest_id = %s AND user_id IS NULL", (target["guest_id"],))["n"] == 0
    audit = [a for a in audit_of(conn, target["guest_id"])
             if a["table_name"] == "message_deliveries_backfill"]
    assert audit[-1]["outcome"] == "linked"
    assert audit[-1]["metadata"] == {"deliveries_updated": got}
    # Nothing left to do: 0, audited as no_match.
    assert one(conn, "SELECT public.backfill_guest_deliveries(%s::uuid, %s::uuid) AS n",
               (target["guest_id"], target["user_id"]))["n"] == 0
    assert audit_of(conn, target["guest_id"])[-1]["outcome"] == "no_match"


def test_get_feature_flag_returns_the_seeded_values(ro: psycopg.Connection[Row]) -> None:
    # Seed 002 "Feature Flags", literally.
    row = one(ro, """
SELECT
  get_feature_flag('LINK_USER_BY_PHONE') as main_linking,
  get_feature_flag('LINK_USER_BY_PHONE_FALLBACK_TO_USERS') as phone_fallback;
""")
    assert row == {"main_linking": True, "phone_fallback": False}
    assert one(ro, "SELECT get_feature_flag('messaging_v2_enabled') AS v")["v"] is False
    assert one(ro, "SELECT get_feature_flag('NO_SUCH_FLAG') AS v")["v"] is False
    flags = all_rows(ro, "SELECT name, description, updated_by, updated_at FROM feature_flags")
    assert len(flags) == 3
    assert all(f["description"] and f["updated_by"] and f["updated_at"] < ANCHOR for f in flags)


# ---------------------------------------------------------------------------------------------
# Seed 003: create_conversation_atomic and its auth.uid() guard.
# ---------------------------------------------------------------------------------------------
def call_create(conn: psycopg.Connection[Row], caller: uuid.UUID | None,
                help_request: uuid.UUID, helper: uuid.UUID, message: str) -> dict[str, Any]:
    """Call the RPC as `caller` (the JWT subject; None = anonymous), in its own transaction."""
    with conn.transaction():
        if caller is not None:
            conn.execute("SELECT set_config('request.jwt.claim.sub', %s, true)", (str(caller),))
        result: dict[str, Any] = one(
            conn, "SELECT create_conversation_atomic(%s, %s, %s) AS r",
            (help_request, helper, message))["r"]
    return result


@pytest.fixture
def v2(fresh_seeded_dsn: str, conn_of: Any) -> tuple[psycopg.Connection[Row], Row]:
    """A connection and an open help request, its requester and a helper not yet talking."""
    conn = conn_of(fresh_seeded_dsn)
    req = one(conn, """
        SELECT h.id AS help_request_id, h.user_id AS requester_id,
               (SELECT u.id FROM auth.users u
                WHERE u.id <> h.user_id
                  AND NOT EXISTS (SELECT 1 FROM conversations_v2 c
                                  WHERE c.help_request_id = h.id AND c.helper_id = u.id)
                ORDER BY u.id LIMIT 1) AS helper_id
        FROM help_requests h WHERE h.status = 'open' ORDER BY h.id LIMIT 1""")
    return conn, req


MESSAGE = "Hello, I can help you with this on Saturday."


def test_create_conversation_refuses_another_users_id(v2: tuple[Any, Row]) -> None:
    conn, req = v2
    someone_else = one(conn, "SELECT id FROM auth.users WHERE id NOT IN (%s, %s)"
                             " ORDER BY id LIMIT 1", (req["helper_id"], req["requester_id"]))["id"]

    result = call_create(conn, someone_else, req["help_request_id"], req["helper_id"], MESSAGE)

    assert result["success"] is False
    assert result["error"] == "permission_denied"
    assert one(conn, "SELECT count(*) AS n FROM conversations_v2 WHERE help_request_id = %s"
                     " AND helper_id = %s", (req["help_request_id"], req["helper_id"]))["n"] == 0


def test_create_conversation_refuses_self_help(v2: tuple[Any, Row]) -> None:
    conn, req = v2
    result = call_create(conn, req["requester_id"], req["help_request_id"], req["requester_id"],
                         MESSAGE)
    assert (result["success"], result["error"]) == (False, "validation_error")
    assert result["message"] == "Cannot create conversation with yourself"


def test_create_conversation_refuses_a_duplicate(fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    existing = one(conn, """
        SELECT c.id, c.help_request_id, c.helper_id
        FROM conversations_v2 c JOIN help_requests h ON h.id = c.help_request_id
        WHERE h.status IN ('open', 'in_progress') ORDER BY c.id LIMIT 1""")

    result = call_create(conn, existing["helper_id"], existing["help_request_id"],
                         existing["helper_id"], MESSAGE)

    assert (result["success"], result["error"]) == (False, "conversation_exists")
    assert result["conversation_id"] == str(existing["id"])


def test_create_conversation_succeeds_for_a_valid_call(v2: tuple[Any, Row]) -> None:
    conn, req = v2

    result = call_create(conn, req["helper_id"], req["help_request_id"], req["helper_id"], MESSAGE)

    assert result["success"] is True, result
    created = one(conn, "SELECT * FROM conversations_v2 WHERE id = %s",
                  (result["conversation_id"],))
    assert created["requester_id"] == req["requester_id"]
    assert created["helper_id"] == req["helper_id"]
    assert created["initial_message"] == MESSAGE
    assert created["status"] == "active"


def test_create_conversation_guard_is_null_unsafe_for_an_anonymous_caller(
        v2: tuple[Any, Row]) -> None:
    # Seed 003's `p_helper_id != auth.uid()` is NULL when there is no JWT subject, so the guard
    # does not fire: the finding the console's schema.security_definer lint reports.
    conn, req = v2
    assert one(conn, "SELECT auth.uid() AS uid")["uid"] is None

    result = call_create(conn, None, req["help_request_id"], req["helper_id"], MESSAGE)

    assert result["success"] is True


# ---------------------------------------------------------------------------------------------
# Constraints of seed 000 and seed 001.
# ---------------------------------------------------------------------------------------------
def test_coordination_once_per_lock_rejects_a_duplicate(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    row = one(conn, "SELECT * FROM linkup_coordination_messages ORDER BY id LIMIT 1")
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        conn.execute("INSERT INTO linkup_coordination_messages"
                     " (linkup_id, user_id, lock_version, status, idempotency_key)"
                     " VALUES (%s, %s, %s, 'pending', %s)",
                     (row["linkup_id"], row["user_id"], row["lock_version"],
                      row["idempotency_key"] + ":replay"))
    assert err.value.diag.constraint_name == "linkup_coordination_messages_once_per_lock"


def test_coordination_idempotency_key_rejects_a_duplicate(
        fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    row = one(conn, "SELECT * FROM linkup_coordination_messages ORDER BY id LIMIT 1")
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        conn.execute("INSERT INTO linkup_coordination_messages"
                     " (linkup_id, user_id, lock_version, status, idempotency_key)"
                     " VALUES (%s, %s, %s, 'pending', %s)",
                     (row["linkup_id"], row["user_id"], row["lock_version"] + 1,
                      row["idempotency_key"]))
    assert err.value.diag.constraint_name == "linkup_coordination_messages_idempotency_uniq"


def test_templates_body_must_cover_its_variables(fresh_seeded_dsn: str, conn_of: Any) -> None:
    conn = conn_of(fresh_seeded_dsn)
    ids = one(conn, "SELECT (SELECT id FROM core.organizations ORDER BY id LIMIT 1) AS org,"
                    " (SELECT id FROM communication.channels WHERE code = 'sms') AS channel")
    insert = ("INSERT INTO communication.templates"
              " (organization_id, channel_id, name, body, variables)"
              " VALUES (%s, %s, 't', %s, %s::jsonb)")
    conn.execute(insert, (ids["org"], ids["channel"], "Hi {{first_name}}, see you at {{time}}",
                          '["first_name", "time"]'))
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        conn.execute(insert, (ids["org"], ids["channel"], "Hi {{first_name}}",
                              '["first_name", "time"]'))
    assert err.value.diag.constraint_name == "templates_body_covers_variables"


def test_every_seeded_template_covers_its_variables(ro: psycopg.Connection[Row]) -> None:
    row = one(ro, "SELECT count(*) AS n, count(*) FILTER (WHERE NOT"
                  " communication.template_body_covers_variables(body, variables)) AS bad,"
                  " count(*) FILTER (WHERE jsonb_array_length(variables) > 0) AS with_vars"
                  " FROM communication.templates")
    assert row["n"] > 0 and row["bad"] == 0 and row["with_vars"] == row["n"]


# ---------------------------------------------------------------------------------------------
# Seed 000 §4, literally, for linkups of the seeded data.
# ---------------------------------------------------------------------------------------------
Q_4_1 = """
select id, state, locked_at, lock_version
from public.linkups
where id = '<LINKUP_ID>'::uuid;
"""
Q_4_2 = """
select
  (select count(*) from public.linkup_members where linkup_id = '<LINKUP_ID>'::uuid and status = 'confirmed') as confirmed_members,
  (select count(*) from public.linkup_coordination_messages where linkup_id = '<LINKUP_ID>'::uuid) as coordination_rows;
"""
Q_4_3 = """
select
  count(*) as coordination_jobs
from public.sms_outbound_jobs jobs
where jobs.purpose = 'linkup_coordination'
  and exists (
    select 1
    from public.linkup_coordination_messages cm
    where cm.linkup_id = '<LINKUP_ID>'::uuid
      and cm.sms_outbound_job_id = jobs.id
  );
"""
Q_4_4_STATUS = """
select status, coalesce(suppress_reason, '') as suppress_reason, count(*) as count
from public.linkup_coordination_messages
where linkup_id = '<LINKUP_ID>'::uuid
group by status, suppress_reason
order by status, suppress_reason;
"""
Q_4_4_JOBS = """
select
  cm.user_id,
  cm.status,
  cm.idempotency_key,
  cm.sms_outbound_job_id,
  jobs.status as job_status,
  jobs.last_error
from public.linkup_coordination_messages cm
left join public.sms_outbound_jobs jobs
  on jobs.id = cm.sms_outbound_job_id
where cm.linkup_id = '<LINKUP_ID>'::uuid
order by cm.created_at, cm.user_id;
"""
Q_4_5 = """
select conname
from pg_constraint
where conrelid = 'public.linkup_coordination_messages'::regclass
  and conname in (
    'linkup_coordination_messages_once_per_lock',
    'linkup_coordination_messages_idempotency_uniq'
  )
order by conname;
"""


def for_linkup(query: str, linkup_id: uuid.UUID) -> str:
    return query.replace("<LINKUP_ID>", str(linkup_id))


def test_seed000_verification_queries_on_a_locked_linkup(ro: psycopg.Connection[Row]) -> None:
    # The most recently locked linkup: its coordination is still being sent.
    linkup = one(ro, "SELECT id FROM linkups WHERE state = 'locked'"
                     " ORDER BY locked_at DESC LIMIT 1")["id"]

    lk = one(ro, for_linkup(Q_4_1, linkup))
    assert lk["state"] == "locked" and lk["lock_version"] >= 1
    assert ANCHOR - timedelta(hours=3) < lk["locked_at"] < ANCHOR

    counts = one(ro, for_linkup(Q_4_2, linkup))
    assert counts["confirmed_members"] == counts["coordination_rows"] >= 12

    jobs = one(ro, for_linkup(Q_4_3, linkup))["coordination_jobs"]
    assert jobs == one(ro, for_linkup(Q_4_3, linkup))["coordination_jobs"]  # stable on re-run
    with_job = one(ro, "SELECT count(*) AS n FROM linkup_coordination_messages"
                       " WHERE linkup_id = %s AND sms_outbound_job_id IS NOT NULL", (linkup,))["n"]
    assert jobs == with_job > 0

    statuses = all_rows(ro, for_linkup(Q_4_4_STATUS, linkup))
    assert {r["status"] for r in statuses} <= {"pending", "enqueued", "sent", "failed",
                                                "suppressed"}
    assert sum(r["count"] for r in statuses) == counts["coordination_rows"]
    for r in statuses:
        assert (r["suppress_reason"] != "") == (r["status"] == "suppressed")

    detail = all_rows(ro, for_linkup(Q_4_4_JOBS, linkup))
    assert len(detail) == counts["coordination_rows"]
    for r in detail:
        if r["status"] == "sent":
            assert r["job_status"] == "sent"
        elif r["status"] == "failed":
            assert r["job_status"] == "failed" and r["last_error"] in ERRORS
        elif r["status"] == "suppressed":
            assert r["sms_outbound_job_id"] is None
        else:  # pending / enqueued of a fresh lock: the job waits in the queue
            assert r["job_status"] in ("pending", "running")

    names = [r["conname"] for r in all_rows(ro, Q_4_5)]
    assert names == ["linkup_coordination_messages_idempotency_uniq",
                     "linkup_coordination_messages_once_per_lock"]


def test_seed000_query_4_2_finds_the_planted_missing_intents(ro: psycopg.Connection[Row]) -> None:
    locked = all_rows(ro, "SELECT id FROM linkups WHERE state = 'locked' ORDER BY id")
    short = []
    for lk in locked:
        counts = one(ro, for_linkup(Q_4_2, lk["id"]))
        assert counts["coordination_rows"] <= counts["confirmed_members"]
        if counts["coordination_rows"] < counts["confirmed_members"]:
            short.append(lk["id"])
    assert len(short) == 5 * SCALE
    # All locked in the last 48 h, inside the console's 7-day window.
    recent = one(ro, "SELECT count(*) AS n FROM linkups WHERE id = ANY(%s)"
                     " AND locked_at >= %s", (short, ANCHOR - timedelta(hours=48)))["n"]
    assert recent == len(short)


def test_coordination_rows_reference_their_job(ro: psycopg.Connection[Row]) -> None:
    row = one(ro, """
        SELECT count(*) FILTER (WHERE cm.sms_outbound_job_id IS NULL
                                  AND cm.status IN ('pending', 'enqueued')) AS without_job,
               count(*) FILTER (WHERE cm.sms_outbound_job_id IS NULL
                                  AND cm.status NOT IN ('pending', 'enqueued', 'suppressed'))
                 AS other_without_job,
               count(*) FILTER (WHERE cm.sms_outbound_job_id IS NOT NULL
                                  AND (j.purpose <> 'linkup_coordination'
                                       OR j.idempotency_key <> cm.idempotency_key)) AS mismatched,
               count(*) FILTER (WHERE cm.status = 'suppressed' AND cm.suppress_reason IS NULL)
                 AS suppressed_without_reason
        FROM linkup_coordination_messages cm
        LEFT JOIN sms_outbound_jobs j ON j.id = cm.sms_outbound_job_id""")
    assert 0 < row["without_job"] < 100 * SCALE
    assert row["other_without_job"] == 0
    assert row["mismatched"] == 0
    assert row["suppressed_without_reason"] == 0
    reasons = {r["suppress_reason"] for r in all_rows(
        ro, "SELECT DISTINCT suppress_reason FROM linkup_coordination_messages"
            " WHERE status = 'suppressed'")}
    assert reasons == {"opted_out", "no_phone", "quiet_hours"}


# ---------------------------------------------------------------------------------------------
# Seed 001's validation queries, literally.
# ---------------------------------------------------------------------------------------------
def test_seed001_structural_index_and_foreign_key_checks(ro: psycopg.Connection[Row]) -> None:
    structural = one(ro, """
   SELECT to_regclass('communication.messages') AS messages,
          to_regclass('communication.delivery_attempts') AS delivery_attempts,
          to_regclass('communication.message_recipients') AS recipients;
""")
    assert all(v is not None for v in structural.values())

    indexes = one(ro, """
   SELECT to_regclass('communication.idx_recipients_user') AS unread_idx,
          to_regclass('communication.idx_delivery_status_scheduled') AS queue_idx;
""")
    assert all(v is not None for v in indexes.values())

    fks = all_rows(ro, """
   SELECT conname, pg_get_constraintdef(oid)
   FROM pg_constraint
   WHERE connamespace = 'communication'::regnamespace
     AND contype = 'f';
""")
    defs = " ".join(r["pg_get_constraintdef"] for r in fks)
    assert "REFERENCES core.users(id)" in defs
    assert "REFERENCES core.organizations(id)" in defs

    migrations = all_rows(ro, "SELECT version, checksum FROM communication.schema_migrations")
    assert len(migrations) == 9


def test_seed001_delivery_queue_and_unread_inbox(ro: psycopg.Connection[Row]) -> None:
    row = one(ro, """
        SELECT count(*) FILTER (WHERE status = 'scheduled' AND scheduled_at <= %(a)s) AS due,
               min(scheduled_at) FILTER (WHERE status = 'scheduled') AS oldest_due,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'scheduled' AND scheduled_at > %(a)s) AS later
        FROM communication.delivery_attempts""", {"a": ANCHOR})
    assert 24 <= row["due"] <= 100 * SCALE
    assert ANCHOR - timedelta(hours=5) < row["oldest_due"] < ANCHOR
    assert row["failed"] > 0 and row["later"] > 0
    unread = one(ro, "SELECT count(*) AS n FROM communication.message_recipients"
                     " WHERE read_at IS NULL")["n"]
    assert unread > 0
    channels = one(ro, "SELECT count(*) AS n FROM communication.channels")["n"]
    assert 3 <= channels <= 4


# ---------------------------------------------------------------------------------------------
# Seed 002's debugging queries and inconsistency rate.
# ---------------------------------------------------------------------------------------------
Q_002_LINKABLE = """
-- Find deliveries that should be linkable but aren't
SELECT
  d.id as delivery_id,
  g.guest_name,
  g.user_id as guest_user_id,
  d.user_id as delivery_user_id,
  g.event_id
FROM message_deliveries d
JOIN event_guests g ON g.id = d.guest_id
WHERE d.user_id IS NULL
  AND g.user_id IS NOT NULL
  AND g.removed_at IS NULL;
"""
Q_002_RECENT = """
-- Check recent trigger activity
SELECT * FROM user_link_audit
WHERE table_name IN ('message_deliveries', 'message_deliveries_backfill')
ORDER BY created_at DESC
LIMIT 10;
"""


def test_seed002_debugging_query_finds_the_planted_unlinked_deliveries(
        ro: psycopg.Connection[Row]) -> None:
    rows = all_rows(ro, Q_002_LINKABLE)
    assert rows
    assert all(r["delivery_user_id"] is None and r["guest_user_id"] is not None for r in rows)
    removed = one(ro, "SELECT count(*) AS n FROM message_deliveries d"
                      " JOIN event_guests g ON g.id = d.guest_id"
                      " WHERE d.id = ANY(%s) AND g.removed_at IS NOT NULL",
                  ([r["delivery_id"] for r in rows],))["n"]
    assert removed == 0

    total = one(ro, "SELECT count(*) AS n FROM message_deliveries")["n"]
    assert total == 100_000 * SCALE
    rate = 100.0 * len(rows) / total
    assert 0 < rate < 1.0  # seed 002: WARNING, not CRITICAL

    # Unlinked deliveries that must NOT count: removed guests and guests without a user.
    distractors = one(ro, """
        SELECT count(*) FILTER (WHERE g.removed_at IS NOT NULL AND g.user_id IS NOT NULL)
                 AS removed_guest,
               count(*) FILTER (WHERE g.user_id IS NULL) AS guest_without_user
        FROM message_deliveries d JOIN event_guests g ON g.id = d.guest_id
        WHERE d.user_id IS NULL""")
    assert distractors["removed_guest"] > 0 and distractors["guest_without_user"] > 0
    # Every other delivery of a linked, active guest carries the guest's user.
    wrong = one(ro, "SELECT count(*) AS n FROM message_deliveries d"
                    " JOIN event_guests g ON g.id = d.guest_id"
                    " WHERE d.user_id IS DISTINCT FROM g.user_id AND d.user_id IS NOT NULL")["n"]
    assert wrong == 0


def test_seed002_audit_activity_in_the_last_24_hours(ro: psycopg.Connection[Row]) -> None:
    recent = all_rows(ro, Q_002_RECENT)
    assert len(recent) == 10
    assert all(r["created_at"] <= ANCHOR for r in recent)
    day = {(r["table_name"], r["outcome"]): r["n"] for r in all_rows(ro, """
        SELECT table_name, outcome, count(*) AS n FROM user_link_audit
        WHERE created_at >= %(a)s - interval '24 hours' AND created_at <= %(a)s
        GROUP BY 1, 2""", {"a": ANCHOR})}
    # 'error' is the outcome seed 002's runbook does not name (deliveries.link_outcomes)
    assert set(day) == {("message_deliveries", "linked"), ("message_deliveries", "no_match"),
                        ("message_deliveries", "skipped"), ("message_deliveries", "error"),
                        ("message_deliveries_backfill", "linked")}
    attempts = sum(n for (t, _), n in day.items() if t == "message_deliveries")
    assert 0.8 < day[("message_deliveries", "linked")] / attempts < 1.0
    older = one(ro, "SELECT count(*) AS n FROM user_link_audit WHERE created_at < %s",
                (ANCHOR - timedelta(days=1),))["n"]
    assert older > 0


# ---------------------------------------------------------------------------------------------
# Seed 003's verification queries and the V1/V2 conversations.
# ---------------------------------------------------------------------------------------------
def test_seed003_tables_and_routines(ro: psycopg.Connection[Row]) -> None:
    tables = all_rows(ro, """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public'
AND table_name IN ('conversations_v2', 'messages_v2');
""")
    assert sorted(r["table_name"] for r in tables) == ["conversations_v2", "messages_v2"]

    routines = all_rows(ro, """
SELECT routine_name, security_type FROM information_schema.routines
WHERE routine_schema = 'public'
AND routine_name IN (
  'create_conversation_atomic',
  'send_message_v2',
  'get_conversation_v2'
);
""")
    assert sorted(r["routine_name"] for r in routines) == [
        "create_conversation_atomic", "get_conversation_v2", "send_message_v2"]
    assert {r["security_type"] for r in routines} == {"DEFINER"}


def test_seed003_v2_success_rate_and_adoption(ro: psycopg.Connection[Row]) -> None:
    rate = one(ro, """
SELECT
  COUNT(*) AS total_conversations,
  COUNT(*) FILTER (WHERE initial_message IS NOT NULL) AS with_initial_message,
  ROUND(COUNT(*) FILTER (WHERE initial_message IS NOT NULL)::numeric / COUNT(*) * 100, 2) AS success_rate_pct
FROM conversations_v2;
""")
    assert rate["total_conversations"] == 2500 * SCALE
    assert 95 < rate["success_rate_pct"] < 99.9
    days = all_rows(ro, """
        SELECT date_trunc('day', created_at AT TIME ZONE 'UTC') AS day, count(*) AS n
        FROM conversations_v2 WHERE created_at > %(a)s - interval '7 days'
          AND created_at <= %(a)s GROUP BY 1""", {"a": ANCHOR})
    assert len(days) >= 7 and all(d["n"] > 0 for d in days)
    unique = one(ro, "SELECT count(*) AS n, count(DISTINCT (help_request_id, helper_id)) AS d,"
                     " count(*) FILTER (WHERE helper_id = requester_id) AS self"
                     " FROM conversations_v2")
    assert unique["n"] == unique["d"] and unique["self"] == 0
    messages = one(ro, "SELECT count(*) AS n FROM messages_v2")["n"]
    assert 9000 * SCALE < messages <= 10_000 * SCALE


def test_v1_conversations_include_orphans(ro: psycopg.Connection[Row]) -> None:
    row = one(ro, """
        SELECT count(*) FILTER (WHERE NOT p AND NOT m) AS orphans,
               count(*) FILTER (WHERE p AND m) AS complete,
               count(*) FILTER (WHERE p <> m) AS partial
        FROM (SELECT EXISTS (SELECT 1 FROM conversation_participants cp
                             WHERE cp.conversation_id = c.id) AS p,
                     EXISTS (SELECT 1 FROM messages ms WHERE ms.conversation_id = c.id) AS m
              FROM conversations c) x""")
    assert row["orphans"] == 10 * SCALE
    assert row["complete"] == 490 * SCALE
    assert row["partial"] == 0


# ---------------------------------------------------------------------------------------------
# Seed 004: RLS, moderation and broadcast quotas.
# ---------------------------------------------------------------------------------------------
def test_seed004_rls_on_messages(ro: psycopg.Connection[Row]) -> None:
    # Literal: it also matches communication.messages (no RLS), hence the qualified check.
    rows = all_rows(ro, "SELECT relrowsecurity FROM pg_class WHERE relname = 'messages';")
    assert True in [r["relrowsecurity"] for r in rows]
    assert one(ro, "SELECT relrowsecurity FROM pg_class"
                   " WHERE oid = 'public.messages'::regclass")["relrowsecurity"] is True


def test_seed004_pending_reports_with_hostile_text(ro: psycopg.Connection[Row]) -> None:
    pending = one(ro, "SELECT count(*) FROM reported_messages WHERE report_status='pending';")
    assert pending["count"] == 40 * SCALE
    statuses = {r["report_status"]: r["n"] for r in all_rows(
        ro, "SELECT report_status, count(*) AS n FROM reported_messages GROUP BY 1")}
    assert statuses["dismissed"] > statuses["upheld"] > statuses["pending"]
    assert sum(statuses.values()) == 5000 * SCALE

    oldest = one(ro, "SELECT min(created_at) AS t FROM reported_messages"
                     " WHERE report_status = 'pending'")["t"]
    assert oldest == ANCHOR - timedelta(hours=26)

    texts = all_rows(ro, """
        SELECT r.reason, m.content FROM reported_messages r
        JOIN messages m ON m.id = r.message_id
        WHERE r.report_status = 'pending' ORDER BY r.created_at, r.id LIMIT 8""")
    blob = "\n".join(t["reason"] + "\n" + t["content"] for t in texts)
    for needle in ("[/bold]", "[red]alert[/red]", "\x1b]52;c;SGVsbG8=\x07", "\x1b[2J",
                   "\x1b]0;pwned\x07", "\x07", "\x08", "\x01", "\u202e"):
        assert needle in blob, repr(needle)
    assert max(len(t["content"]) for t in texts) >= 100_000
    for t in texts:  # hostile in both the reason and the message
        assert any(c in t["reason"] for c in "[\x1b\x01\u202e") or "long" in t["reason"]


def test_seed004_soft_deletes_and_exhausted_quotas(ro: psycopg.Connection[Row]) -> None:
    deleted = one(ro, "SELECT count(*) AS n, count(*) FILTER (WHERE deleted_at IS NULL"
                      " OR deleted_by IS NULL) AS incomplete FROM messages WHERE is_deleted")
    assert deleted["n"] > 0 and deleted["incomplete"] == 0
    upheld_live = one(ro, "SELECT count(*) AS n FROM reported_messages r JOIN messages m"
                          " ON m.id = r.message_id WHERE r.report_status = 'upheld'"
                          " AND NOT m.is_deleted")["n"]
    assert upheld_live == 0

    quotas = one(ro, "SELECT count(*) FILTER (WHERE broadcasts_sent >= broadcast_limit) AS full,"
                     " max(last_reset_at) AS last_reset FROM broadcast_quotas")
    assert quotas["full"] >= 1
    assert quotas["last_reset"] < ANCHOR - timedelta(hours=24)


# ---------------------------------------------------------------------------------------------
# The job queue faults (seed 000's sms_outbound_jobs).
# ---------------------------------------------------------------------------------------------
def test_job_queue_faults(ro: psycopg.Connection[Row]) -> None:
    total = one(ro, "SELECT count(*) AS n, count(DISTINCT idempotency_key) AS keys"
                    " FROM sms_outbound_jobs")
    assert total["n"] == total["keys"] == 20_000 * SCALE

    by_status = {r["status"]: r["n"] for r in all_rows(
        ro, "SELECT status, count(*) AS n FROM sms_outbound_jobs GROUP BY 1")}
    assert set(by_status) == {"pending", "running", "sent", "failed"}
    assert by_status["sent"] > 0.9 * total["n"]
    purposes = {r["purpose"] for r in all_rows(ro, "SELECT DISTINCT purpose FROM sms_outbound_jobs")}
    assert purposes == {"linkup_coordination", "linkup_invite", "event_reminder",
                        "verification_code"}

    errors = {r["last_error"]: r for r in all_rows(ro, """
        SELECT last_error, count(*) AS n,
               count(*) FILTER (WHERE updated_at >= %(a)s - interval '1 hour') AS last_hour,
               count(*) FILTER (WHERE updated_at < %(a)s - interval '1 hour') AS older
        FROM sms_outbound_jobs WHERE status = 'failed' GROUP BY 1""", {"a": ANCHOR})}
    assert set(errors) == ERRORS
    assert sum(e["last_hour"] for e in errors.values()) >= 12 * SCALE
    assert all(e["older"] > 0 for e in errors.values())

    stuck = all_rows(ro, "SELECT locked_at FROM sms_outbound_jobs WHERE status = 'running'"
                         " AND locked_at < %s", (ANCHOR - timedelta(minutes=15),))
    assert len(stuck) >= 3
    assert all(ANCHOR - timedelta(minutes=90) <= s["locked_at"] <= ANCHOR - timedelta(minutes=20)
               for s in stuck)

    # The longest-waiting pending job became due 3 h 30 min ago; replayed jobs are pending
    # again, created weeks ago but due only since their replay (run_after), with their
    # attempts and last_error kept.
    pending = one(ro, "SELECT min(run_after) AS due, min(created_at) AS created,"
                      " count(*) FILTER (WHERE created_at < run_after) AS replayed,"
                      " count(*) FILTER (WHERE created_at < run_after"
                      "   AND (attempts < 3 OR last_error IS NULL)) AS replayed_without_history"
                      " FROM sms_outbound_jobs WHERE status = 'pending'")
    assert pending["due"] == ANCHOR - timedelta(hours=3, minutes=30)
    assert pending["created"] < ANCHOR - timedelta(days=1)
    assert pending["replayed"] > 0 and pending["replayed_without_history"] == 0
    future = one(ro, "SELECT count(*) AS n FROM sms_outbound_jobs"
                     " WHERE greatest(created_at, updated_at, run_after, locked_at, sent_at) > %s",
                 (ANCHOR,))["n"]
    assert future == 0


# ---------------------------------------------------------------------------------------------
# Determinism and the setup guards.
# ---------------------------------------------------------------------------------------------
FINGERPRINT_TABLES = (
    "public.users", "public.event_guests", "public.message_deliveries", "public.linkups",
    "public.sms_outbound_jobs", "public.linkup_coordination_messages", "auth.users",
    "public.conversations_v2", "public.messages", "communication.delivery_attempts",
)


def fingerprint(dsn: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        for table in (*setup.SEEDED_TABLES, *FINGERPRINT_TABLES):
            out[f"{table} rows"] = one(conn, f"SELECT count(*) AS n FROM {table}")["n"]
        for table in FINGERPRINT_TABLES:
            out[f"{table} ids"] = one(
                conn, f"SELECT md5(string_agg(id::text, ',' ORDER BY id)) AS h FROM {table}")["h"]
        out["jobs"] = one(conn, """
            SELECT md5(string_agg(concat_ws('|', id, purpose, status, idempotency_key, last_error,
                                            created_at, updated_at, locked_at), ',' ORDER BY id))
                   AS h FROM sms_outbound_jobs""")["h"]
        out["deliveries"] = one(conn, """
            SELECT md5(string_agg(concat_ws('|', id, guest_id, user_id, sms_status, created_at),
                                  ',' ORDER BY id)) AS h FROM message_deliveries""")["h"]
    return out


@pytest.mark.slow
def test_same_seed_gives_identical_data(seeded_dsn: str, empty_dsn: str) -> None:
    setup.init_schema(empty_dsn)
    setup.seed(empty_dsn, scale=SCALE, seed_value=SEED, anchor=ANCHOR)
    assert fingerprint(empty_dsn) == fingerprint(seeded_dsn)


@pytest.mark.slow
def test_another_seed_gives_other_ids(seeded_dsn: str, empty_dsn: str) -> None:
    setup.init_schema(empty_dsn)
    setup.seed(empty_dsn, scale=SCALE, seed_value=SEED + 1, anchor=ANCHOR)
    mine, theirs = fingerprint(empty_dsn), fingerprint(seeded_dsn)
    assert mine["public.sms_outbound_jobs ids"] != theirs["public.sms_outbound_jobs ids"]
    assert mine["public.message_deliveries rows"] == theirs["public.message_deliveries rows"]


def test_init_twice_changes_nothing(empty_dsn: str) -> None:
    first = setup.init_schema(empty_dsn)
    second = setup.init_schema(empty_dsn)
    assert first.changed is True
    assert second.changed is False
    assert "nothing changed" in second.message


def test_init_refuses_a_database_with_foreign_tables(empty_dsn: str, conn_of: Any) -> None:
    conn_of(empty_dsn).execute("CREATE TABLE public.linkups (id int)")
    with pytest.raises(Refused, match=r"public\.linkups"):
        setup.init_schema(empty_dsn)


def test_seed_refuses_a_second_seeding(fresh_seeded_dsn: str) -> None:
    with pytest.raises(Refused, match="already seeded"):
        setup.seed(fresh_seeded_dsn, scale=1, seed_value=SEED, anchor=ANCHOR)


def test_seed_refuses_a_database_with_foreign_rows(empty_dsn: str, conn_of: Any) -> None:
    setup.init_schema(empty_dsn)
    conn_of(empty_dsn).execute("INSERT INTO core.organizations (name) VALUES ('Not ours')")
    with pytest.raises(Refused, match=r"core\.organizations"):
        setup.seed(empty_dsn, scale=1, seed_value=SEED, anchor=ANCHOR)
    # Nothing was written.
    assert one(conn_of(empty_dsn), "SELECT count(*) AS n FROM public.users")["n"] == 0


def test_seed_refuses_a_database_without_the_schema(empty_dsn: str) -> None:
    with pytest.raises(Refused, match="db init"):
        setup.seed(empty_dsn, scale=1, seed_value=SEED, anchor=ANCHOR)


@pytest.mark.parametrize("scale", [0, -1, setup.MAX_SCALE + 1])
def test_seed_refuses_a_bad_scale(empty_dsn: str, scale: int) -> None:
    with pytest.raises(BadInput, match="scale"):
        setup.seed(empty_dsn, scale=scale, seed_value=SEED, anchor=ANCHOR)


def test_seed_sql_itself_refuses_a_bad_scale(empty_dsn: str, conn_of: Any) -> None:
    setup.init_schema(empty_dsn)
    conn = conn_of(empty_dsn, autocommit=False)
    conn.execute("SELECT set_config('opsconsole.scale', '0', true),"
                 " set_config('opsconsole.seed', '1', true),"
                 " set_config('opsconsole.anchor', '', true)")
    with pytest.raises(psycopg.errors.RaiseException, match=r"opsconsole\.scale"):
        conn.execute(setup.sql_text(setup.SEED_FILE).encode())
    conn.rollback()


def test_timestamps_follow_the_anchor(ro: psycopg.Connection[Row]) -> None:
    # Every timestamp is relative to the anchor: none lies after it, except what is scheduled
    # (upcoming events, delivery attempts due later).
    future_ok = {("public", "events", "starts_at"),
                 ("communication", "delivery_attempts", "scheduled_at")}
    columns = all_rows(ro, """
        SELECT table_schema, table_name, column_name FROM information_schema.columns
        WHERE table_schema IN ('public', 'auth', 'core', 'communication')
          AND data_type = 'timestamp with time zone'
        ORDER BY 1, 2, 3""")
    assert len(columns) > 40
    late = {}
    for c in columns:
        key = (c["table_schema"], c["table_name"], c["column_name"])
        if key in future_ok:
            continue
        latest = one(ro, f"SELECT max({c['column_name']}) AS t"
                         f" FROM {c['table_schema']}.{c['table_name']}")["t"]
        if latest is not None and latest > ANCHOR:
            late[key] = latest
    assert late == {}
    newest = one(ro, "SELECT max(created_at) AS t FROM user_link_audit")["t"]
    assert ANCHOR - timedelta(hours=1) < newest <= ANCHOR
