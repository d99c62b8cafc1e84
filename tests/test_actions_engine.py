"""Each guarded action on real PostgreSQL: it changes exactly the rows it previewed, audits them,
and undo puts them back (DESIGN.md "Guarded actions")."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from opsconsole import catalog, checks
from opsconsole.actions import common, engine
from opsconsole.actions.definition import Protocol
from opsconsole.actions.model import Batch, InFlight
from opsconsole.actions.session import open_session
from opsconsole.catalog import introspect
from opsconsole.connection import db
from opsconsole.errors import BadInput, Refused
from tests.test_actions_support import (
    ERR_A,
    EVIL,
    G_LINKED,
    G_OTHER,
    INTENT_U2,
    JOB_U1,
    LINKUP_LOCKED,
    LINKUP_OPEN,
    M1,
    Q1,
    Q2,
    Q3,
    U1,
    U2,
    audit_rows,
    make_ctx,
    preview_only,
    run_action,
    scalar,
)


def rows(dsn: str, query: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def user_ids(dsn: str) -> dict[str, str | None]:
    found = rows(dsn, "SELECT id::text, user_id::text FROM public.message_deliveries")
    return {r["id"]: r["user_id"] for r in found}


def inconsistency(dsn: str) -> checks.CheckResult:
    cat = catalog.load()
    with db.connect(dsn) as conn:
        schema = introspect.inspect(conn, cat)
        return checks.run_all(conn, cat, schema, only=["deliveries.inconsistency_rate"])[0]


def test_backfill_all_changes_exactly_the_previewed_rows_and_the_check_turns_ok(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    assert inconsistency(dsn).status != checks.Status.OK
    before = user_ids(dsn)
    preview, result = run_action(ctx, "backfill-all", {}, batch_size=7)
    after = user_ids(dsn)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == set(preview.keys) and preview.count >= 10
    assert result.status == "applied" and result.affected == preview.count
    assert result.batches == len(preview.batches) == -(-preview.count // 7)

    audit = audit_rows(dsn, run_id=result.run_id)
    assert [a["id"] for a in audit] == result.audit_ids
    assert sum(a["affected"] for a in audit) == preview.count
    assert all(a["outcome"] == "applied" and a["os_user"] and a["db_role"] for a in audit)
    imaged = {img["key"]["id"] for a in audit for img in a["before_images"]
              if img["table"] == "public.message_deliveries"}
    assert imaged == changed
    # The seed-002 backfill rows it wrote are imaged too (inserts), so undo can remove them.
    link_rows = {img["key"]["id"] for a in audit for img in a["before_images"]
                 if img["table"] == "public.user_link_audit"}
    assert link_rows == {r["id"] for r in rows(
        dsn, "SELECT id FROM public.user_link_audit WHERE metadata->>'run_id' = %s",
        (result.run_id,))}
    assert all(a["vouched"] for a in audit)
    first = audit[0]["before_images"][0]
    assert first["before"]["user_id"] is None and first["after"]["user_id"] is not None
    lines = [json.loads(ln) for ln in audit_file.read_text().splitlines()]
    assert [ln["audit_id"] for ln in lines] == result.audit_ids
    assert "password" not in audit_file.read_text()

    check = inconsistency(dsn)
    assert check.value == 0 and check.status == checks.Status.OK
    backfills = scalar(dsn, "SELECT count(*) FROM public.user_link_audit WHERE metadata->>'run_id'"
                            " = %s", (result.run_id,))
    assert backfills >= 2  # one seed-002 backfill row per guest


def test_backfill_guest_links_only_that_guests_previewed_deliveries(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    preview = preview_only(ctx, "backfill-guest", {"guest_id": G_LINKED, "user_id": U1})
    assert preview.count == 3
    # Someone links one of them between preview and apply: it is skipped, not touched again.
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("UPDATE public.message_deliveries SET user_id = %s WHERE id = %s",
                 (U1, preview.keys[0]))
    conn.close()
    _, result = run_action(ctx, "backfill-guest", {"guest_id": G_LINKED, "user_id": U1}, expect=2)
    assert result.affected == 2 and result.skipped == 0
    assert scalar(dsn, "SELECT count(*) FROM public.message_deliveries WHERE guest_id = %s"
                       " AND user_id IS NULL", (G_OTHER,)) == 7
    meta = scalar(dsn, "SELECT metadata FROM public.user_link_audit WHERE record_id = %s"
                       " ORDER BY id DESC LIMIT 1", (G_LINKED,))
    assert meta["deliveries_updated"] == 2 and meta["source"] == "opsconsole backfill-guest"
    with pytest.raises(Refused, match="linked to user"):
        preview_only(ctx, "backfill-guest", {"guest_id": G_LINKED, "user_id": U2})
    with pytest.raises(BadInput, match="no event_guests row"):
        preview_only(ctx, "backfill-guest", {"guest_id": U2, "user_id": U2})


def test_rows_changed_between_preview_and_apply_are_skipped_and_reported(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    with open_session(ctx) as session:
        action = engine.define(session, ctx, "backfill-guest")
        params = action.parse({"guest_id": G_LINKED, "user_id": U1})
        preview = engine.prepare(session, ctx, action, params, batch_size=500)
        rows(dsn, "UPDATE public.message_deliveries SET user_id = %s WHERE id = %s RETURNING id",
             (U1, preview.keys[1]))
        result = engine.apply(session, ctx, action, preview)
    assert (result.previewed, result.affected, result.skipped) == (3, 2, 1)
    assert result.skipped_keys == [preview.keys[1]]
    assert audit_rows(dsn, run_id=result.run_id)[0]["outcome"] == "partial"


def test_replay_jobs_in_place_twice_second_does_nothing(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    total = scalar(dsn, "SELECT count(*) FROM public.sms_outbound_jobs")
    preview, result = run_action(ctx, "replay-jobs", {"last_error": ERR_A})
    assert preview.count == 3 and result.affected == 3  # the sent job with ERR_A is not failed
    replayed = rows(dsn, "SELECT status, attempts, last_error, locked_at, run_after <= now()"
                         " AS due FROM public.sms_outbound_jobs WHERE id = ANY(%s::uuid[])",
                    (preview.keys,))
    assert all(r["status"] == "pending" and r["attempts"] == 3 and r["last_error"] == ERR_A
               and r["locked_at"] is None and r["due"] for r in replayed)
    assert scalar(dsn, "SELECT status FROM public.sms_outbound_jobs"
                       " WHERE idempotency_key = 'opsconsole-test:sent'") == "sent"
    again, second = run_action(ctx, "replay-jobs", {"last_error": ERR_A})
    assert again.count == 0 and second.status == "nothing-to-do" and second.audit_ids == []
    assert scalar(dsn, "SELECT count(*) FROM public.sms_outbound_jobs") == total


def test_reenqueue_coordination_is_idempotent_like_seed_000(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    jobs_43 = """SELECT count(*) FROM public.sms_outbound_jobs jobs
                 WHERE jobs.purpose = 'linkup_coordination' AND EXISTS (
                   SELECT 1 FROM public.linkup_coordination_messages cm
                   WHERE cm.linkup_id = %(l)s::uuid AND cm.sms_outbound_job_id = jobs.id)"""
    assert scalar(dsn, jobs_43, {"l": LINKUP_LOCKED}) == 1
    preview, first = run_action(ctx, "reenqueue-coordination", {"linkup_id": LINKUP_LOCKED})
    assert preview.count == 4  # U3's intent, U2's link, two jobs
    assert first.values == {
        "linkup_id": LINKUP_LOCKED, "lock_version": 2, "member_count": 3,
        "coordination_created_count": 1, "coordination_existing_count": 2,
        "jobs_inserted": 2, "idempotent_replay": False,
    }
    intents = rows(dsn, "SELECT cm.user_id::text, cm.status, cm.idempotency_key, j.purpose,"
                        " j.idempotency_key AS job_key FROM public.linkup_coordination_messages cm"
                        " LEFT JOIN public.sms_outbound_jobs j ON j.id = cm.sms_outbound_job_id"
                        " WHERE cm.linkup_id = %s ORDER BY cm.user_id", (LINKUP_LOCKED,))
    assert len(intents) == 3 and all(i["job_key"] == i["idempotency_key"] for i in intents)
    assert intents[2]["idempotency_key"] == f"linkup:{LINKUP_LOCKED}:v2:{intents[2]['user_id']}"
    assert scalar(dsn, jobs_43, {"l": LINKUP_LOCKED}) == 3

    _, replay = run_action(ctx, "reenqueue-coordination", {"linkup_id": LINKUP_LOCKED})
    assert replay.status == "nothing-to-do"
    assert replay.values["jobs_inserted"] == 0 and replay.values["idempotent_replay"] is True
    assert replay.values["coordination_existing_count"] == 3
    assert scalar(dsn, jobs_43, {"l": LINKUP_LOCKED}) == 3
    with pytest.raises(Refused, match="is open, not locked"):
        preview_only(ctx, "reenqueue-coordination", {"linkup_id": LINKUP_OPEN})


def test_set_flag_is_compare_and_set(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    with open_session(ctx) as session:
        action = engine.define(session, ctx, "set-flag")
        params = action.parse({"name": "opsconsole_test_flag", "enabled": True})
        preview = engine.prepare(session, ctx, action, params, batch_size=1)
        rows(dsn, "UPDATE public.feature_flags SET updated_at = now()"
                  " WHERE name = 'opsconsole_test_flag' RETURNING name")
        refused = engine.apply(session, ctx, action, preview)
    assert refused.affected == 0 and refused.skipped == 1
    assert scalar(dsn, "SELECT enabled FROM public.feature_flags"
                       " WHERE name = 'opsconsole_test_flag'") is False
    _, result = run_action(ctx, "set-flag", {"name": "opsconsole_test_flag", "enabled": True})
    assert result.affected == 1 and result.values["enabled_after"] is True
    assert scalar(dsn, "SELECT updated_by FROM public.feature_flags"
                       " WHERE name = 'opsconsole_test_flag'").startswith("opsconsole:")
    _, same = run_action(ctx, "set-flag", {"name": "opsconsole_test_flag", "enabled": True})
    assert same.status == "nothing-to-do"
    with pytest.raises(BadInput, match="no feature flag named"):
        preview_only(ctx, "set-flag", {"name": "NO_SUCH_FLAG", "enabled": True})


@pytest.mark.parametrize("name,table", [
    ("trigger_backfill_deliveries_on_guest_link", "public.event_guests"),
    ("trigger_message_deliveries_auto_link_user", "public.message_deliveries"),
])
def test_set_trigger_toggles_and_undo_toggles_back(
    planted: tuple[str, dict[str, int]], audit_file: Path, name: str, table: str
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    state = "SELECT tgenabled::text FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass"
    was = scalar(dsn, state, (name, table))  # the seed plants one trigger disabled
    target = "O" if was == "D" else "D"
    _, result = run_action(ctx, "set-trigger", {"name": name, "enabled": target == "O"})
    assert result.affected == 1 and scalar(dsn, state, (name, table)) == target
    image = audit_rows(dsn, run_id=result.run_id)[0]["before_images"][0]
    assert image["before"] == {"tgenabled": was} and image["after"] == {"tgenabled": target}
    _, same = run_action(ctx, "set-trigger", {"name": name, "enabled": target == "O"})
    assert same.status == "nothing-to-do"
    _, undone = run_action(ctx, "undo", {"audit_id": result.audit_ids[0]})
    assert undone.affected == 1 and scalar(dsn, state, (name, table)) == was


def test_resolve_report_uphold_soft_deletes_with_both_before_images(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, reports = planted
    ctx = make_ctx(dsn, audit_file)
    preview, result = run_action(ctx, "resolve-report",
                                 {"report_id": reports["r1"], "decision": "uphold"})
    assert preview.count == 2 and result.affected == 2
    assert "\x1b" not in json.dumps(preview.sample)  # the planted escape sequence is inert
    msg = rows(dsn, "SELECT is_deleted, deleted_at, deleted_by FROM public.messages WHERE id = %s",
               (M1,))[0]
    assert msg["is_deleted"] and msg["deleted_at"] is not None and msg["deleted_by"] is None
    assert scalar(dsn, "SELECT report_status FROM public.reported_messages WHERE id = %s",
                  (reports["r1"],)) == "upheld"
    images = audit_rows(dsn, run_id=result.run_id)[0]["before_images"]
    assert {i["table"] for i in images} == {"public.reported_messages", "public.messages"}
    assert next(i for i in images if i["table"] == "public.messages")["before"]["content"] == EVIL
    _, dismissed = run_action(ctx, "resolve-report",
                              {"report_id": reports["r2"], "decision": "dismiss"})
    assert dismissed.affected == 1
    with pytest.raises(Refused, match="dismissed already"):
        preview_only(ctx, "resolve-report", {"report_id": reports["r3"], "decision": "uphold"})


def test_reset_quotas_resets_used_or_stale_quotas_only(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    preview, result = run_action(ctx, "reset-quotas", {})
    assert Q1 in preview.keys and Q3 in preview.keys and Q2 not in preview.keys
    assert result.affected == preview.count
    left = scalar(dsn, "SELECT count(*) FROM public.broadcast_quotas WHERE broadcasts_sent > 0")
    assert left == 0
    assert scalar(dsn, "SELECT last_reset_at < now() - interval '1 hour'"
                       " FROM public.broadcast_quotas WHERE id = %s", (Q2,)) is True


def test_undo_restores_before_images_is_audited_and_refuses_twice(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    original = user_ids(dsn)
    _, applied = run_action(ctx, "backfill-all", {}, batch_size=4)
    first, second = applied.audit_ids[0], applied.audit_ids[1]
    images = [i for i in audit_rows(dsn, run_id=applied.run_id)[0]["before_images"]
              if i["table"] == "public.message_deliveries"]
    # The bulk backfill images only the columns it changes.
    assert {tuple(sorted(i["before"])) for i in images} == {("updated_at", "user_id")}
    # One row of batch 1 is updated after the action (updated_at moves): undo must skip it, not
    # overwrite it. Another only gets a new sms_status, a column the backfill neither changed
    # nor imaged: undo puts its user_id back and leaves that sms_status alone.
    touched, other = images[0]["key"]["id"], images[1]["key"]["id"]
    rows(dsn, "UPDATE public.message_deliveries SET sms_status = 'failed', updated_at = now()"
              " + interval '1 s' WHERE id = %s RETURNING id", (touched,))
    rows(dsn, "UPDATE public.message_deliveries SET sms_status = 'delivered' WHERE id = %s"
              " RETURNING id", (other,))
    preview = preview_only(ctx, "undo", {"audit_id": first})
    assert preview.count == 3 and preview.values["changed_since"] == 1
    _, undone = run_action(ctx, "undo", {"audit_id": first})
    assert (undone.affected, undone.skipped) == (3, 0)
    now = user_ids(dsn)
    batch1 = {i["key"]["id"] for i in images}
    assert {k for k in batch1 if now[k] == original[k]} == batch1 - {touched}
    assert now[touched] is not None
    restored = rows(dsn, "SELECT sms_status, updated_at::text AS updated_at"
                         " FROM public.message_deliveries WHERE id = %s", (other,))[0]
    assert restored["sms_status"] == "delivered"
    assert restored["updated_at"] == scalar(
        dsn, "SELECT (%s::jsonb ->> 'updated_at')::timestamptz::text",
        (json.dumps(images[1]["before"]),))
    log = {r["id"]: r for r in audit_rows(dsn)}
    assert log[first]["undone_by"] == undone.audit_ids[0]
    assert log[undone.audit_ids[0]]["undo_of"] == first
    assert log[undone.audit_ids[0]]["action"] == "undo"
    with pytest.raises(Refused, match="already undone"):
        preview_only(ctx, "undo", {"audit_id": first})
    with pytest.raises(Refused, match="is itself the undo"):
        preview_only(ctx, "undo", {"audit_id": undone.audit_ids[0]})
    _, rest = run_action(ctx, "undo", {"audit_id": second, "whole_run": True})
    assert rest.batches == len(applied.audit_ids) - 1
    assert {k for k, v in user_ids(dsn).items() if v != original[k]} == {touched}


def test_undo_of_reenqueue_deletes_what_it_inserted(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)
    count = "SELECT (SELECT count(*) FROM public.sms_outbound_jobs) * 1000 + " \
            "(SELECT count(*) FROM public.linkup_coordination_messages)"
    before = scalar(dsn, count)
    _, applied = run_action(ctx, "reenqueue-coordination", {"linkup_id": LINKUP_LOCKED})
    _, undone = run_action(ctx, "undo", {"audit_id": applied.audit_ids[0]})
    assert undone.affected == applied.affected == 4
    assert scalar(dsn, count) == before
    assert rows(dsn, "SELECT status, sms_outbound_job_id FROM public.linkup_coordination_messages"
                     " WHERE id = %s", (INTENT_U2,)) == [{"status": "pending",
                                                          "sms_outbound_job_id": None}]
    assert scalar(dsn, "SELECT count(*) FROM public.sms_outbound_jobs WHERE id = %s",
                  (JOB_U1,)) == 1


def test_more_rows_than_previewed_aborts_and_rolls_back(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    """A (deliberately wrong) apply that reaches past its batch is rolled back, not committed."""
    dsn, _ = planted
    ctx = make_ctx(dsn, audit_file)

    def greedy(session: Any, ctx: Any, action: Any, run: InFlight) -> Any:
        everything = Batch(run.batch.no, {"delivery": tuple(run.preview.keys)})
        return real.protocol.apply(session, ctx, action, replace(run, batch=everything))

    before = user_ids(dsn)
    with open_session(ctx) as session:
        real = engine.define(session, ctx, "backfill-all")
        wrong = real.with_protocol(Protocol(real.protocol.parse, real.protocol.preview, greedy))
        preview = engine.prepare(session, ctx, wrong, wrong.parse({}), batch_size=2)
        result = engine.apply(session, ctx, wrong, preview)
    assert result.status == "aborted" and result.affected == 0 and result.exit_code == 5
    assert "would change" in result.message
    assert user_ids(dsn) == before
    assert [r["outcome"] for r in audit_rows(dsn, run_id=result.run_id)] == ["aborted"]


@pytest.mark.parametrize("image", [
    {"table": "pg_catalog.pg_authid", "op": "update", "key": {"id": "1"},
     "before": {"rolsuper": True}, "after": {"rolsuper": False}},
    {"table": 'public.users"; DROP TABLE public.users; --', "op": "update", "key": {"id": U1},
     "before": {"phone": "1"}, "after": {"phone": "2"}},
])
def test_undo_refuses_tampered_tables(
    planted: tuple[str, dict[str, int]], audit_file: Path, image: dict[str, Any]
) -> None:
    """Table names in before-images come from the database: only allow-listed tables are ever
    composed into SQL (as sql.Identifier)."""
    dsn, _ = planted
    audit_id = tampered(dsn, image)
    before = scalar(dsn, "SELECT count(*) FROM public.users")
    with pytest.raises(Refused, match="allow-list"):
        preview_only(make_ctx(dsn, audit_file), "undo", {"audit_id": audit_id})
    assert scalar(dsn, "SELECT count(*) FROM public.users") == before


def test_undo_refuses_a_tampered_column_name(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    row = rows(dsn, "SELECT id::text, to_jsonb(d.*) AS j FROM public.message_deliveries d"
                    " WHERE guest_id = %s LIMIT 1", (G_OTHER,))[0]
    evil = {**row["j"], "user_id) = (NULL); DROP TABLE public.users; --": "x"}
    audit_id = tampered(dsn, {"table": "public.message_deliveries", "op": "update",
                              "key": {"id": row["id"]}, "before": evil, "after": row["j"]})
    # Refused before anything is previewed (the CLI's exit 4, "refused"), nothing written.
    with pytest.raises(Refused, match="not in this database"):
        run_action(make_ctx(dsn, audit_file), "undo", {"audit_id": audit_id})
    assert scalar(dsn, "SELECT to_regclass('public.users') IS NOT NULL") is True


def tampered(dsn: str, image: dict[str, Any]) -> int:
    return int(scalar(dsn, "INSERT INTO opsconsole.audit_log (run_id, os_user, action, previewed,"
                           " affected, outcome, before_images) VALUES (gen_random_uuid(), 'x',"
                           " 'backfill-all', 1, 1, 'applied', %s::jsonb) RETURNING id",
                      (json.dumps([image], default=str),)))


def test_bulk_batches_bind_their_keys_as_one_array_literal(
    planted: tuple[str, dict[str, int]]
) -> None:
    """The literal selects exactly the keys the list would; a key that is not uuid text is never
    spliced into the literal (the list is bound instead, and the server rejects it)."""
    dsn, _ = planted
    keys = [str(r["id"]) for r in rows(dsn, "SELECT id FROM public.message_deliveries"
                                            " ORDER BY id LIMIT 5")]
    literal = common.uuid_array(keys)
    assert isinstance(literal, str)
    unnest = "SELECT array_agg(k::text ORDER BY k) AS ks FROM unnest(%s::uuid[]) AS u (k)"
    assert scalar(dsn, unnest, (literal,)) == scalar(dsn, unnest, (keys,)) == sorted(keys)
    hostile = [keys[0], keys[1][:-5] + ",0000"]
    assert common.uuid_array(hostile) == hostile
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        scalar(dsn, unnest, (common.uuid_array(hostile),))
    assert common.uuid_array([]) == "{}"
