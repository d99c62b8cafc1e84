"""Planted rows and helpers for the action tests (no tests, no fixtures of its own).

The action tests run on a per-test clone of the seeded demo database (the ``planted`` fixture
of ``tests/conftest.py``, or ``fresh_seeded_dsn``) and plant the rows below with fixed keys, so
every assertion is about rows the test knows. The fixtures ``audit_file`` and ``planted`` are in
``tests/conftest.py``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from opsconsole import catalog
from opsconsole.actions import engine, guards
from opsconsole.actions.model import Preview, ProgressFn, Result
from opsconsole.actions.session import ActionContext, open_session
from opsconsole.cli import main as cli_main
from opsconsole.connection.config import Profile


def uid(n: int) -> str:
    """A fixed, recognisable UUID for planted rows."""
    return f"a0c70000-0000-4000-8000-{n:012d}"


U1, U2, U3, U4 = uid(1), uid(2), uid(3), uid(4)
EVENT = uid(10)
G_LINKED, G_UNLINKED, G_REMOVED, G_OTHER = uid(11), uid(12), uid(13), uid(14)
LINKUP_LOCKED, LINKUP_OPEN = uid(20), uid(21)
INTENT_U1, INTENT_U2, JOB_U1 = uid(22), uid(23), uid(24)
A1, A2 = uid(30), uid(31)
M1, M2 = uid(32), uid(33)
Q1, Q2, Q3 = uid(40), uid(41), uid(42)
ERR_A = "opsconsole-test: twilio 21610 unsubscribed"
ERR_B = "opsconsole-test: timeout"
EVIL = "[/red]\x1b]52;c;ZXZpbA==\x07\x1b[2Jhello"

PLANT = f"""
INSERT INTO public.users (id, phone, full_name) VALUES
  ('{U1}', '+15550000001', 'U one'), ('{U2}', '+15550000002', 'U two'),
  ('{U3}', '+15550000003', 'U three'), ('{U4}', '+15550000004', 'U four');
INSERT INTO public.events (id, title) VALUES ('{EVENT}', 'opsconsole test event');
INSERT INTO public.event_guests (id, event_id, user_id, guest_name, phone, removed_at) VALUES
  ('{G_LINKED}', '{EVENT}', '{U1}', 'linked guest', '+15550000001', NULL),
  ('{G_UNLINKED}', '{EVENT}', NULL, 'unlinked guest', '+15550000009', NULL),
  ('{G_REMOVED}', '{EVENT}', '{U2}', 'removed guest', '+15550000002', now()),
  ('{G_OTHER}', '{EVENT}', '{U3}', 'other guest', '+15550000003', NULL);
INSERT INTO public.message_deliveries (message_id, guest_id, phone_number)
SELECT gen_random_uuid(), g.id, g.phone
FROM public.event_guests g, generate_series(1, 3) s
WHERE g.id IN ('{G_LINKED}', '{G_UNLINKED}', '{G_REMOVED}');
INSERT INTO public.message_deliveries (message_id, guest_id, phone_number)
SELECT gen_random_uuid(), '{G_OTHER}', '+15550000003' FROM generate_series(1, 7);
UPDATE public.message_deliveries SET user_id = NULL
WHERE guest_id IN ('{G_LINKED}', '{G_UNLINKED}', '{G_REMOVED}', '{G_OTHER}');

INSERT INTO public.sms_outbound_jobs (purpose, status, idempotency_key, attempts, last_error)
SELECT 'reminder', 'failed', 'opsconsole-test:a:' || s, 3, '{ERR_A}' FROM generate_series(1, 3) s;
INSERT INTO public.sms_outbound_jobs (purpose, status, idempotency_key, attempts, last_error)
SELECT 'opsconsole_test_purpose', 'failed', 'opsconsole-test:b:' || s, 1, '{ERR_B}'
FROM generate_series(1, 2) s;
INSERT INTO public.sms_outbound_jobs (purpose, status, idempotency_key, attempts, last_error)
VALUES ('reminder', 'sent', 'opsconsole-test:sent', 1, '{ERR_A}');

INSERT INTO public.linkups (id, title, state, locked_at, lock_version) VALUES
  ('{LINKUP_LOCKED}', 'locked linkup', 'locked', now(), 2),
  ('{LINKUP_OPEN}', 'open linkup', 'open', NULL, 0);
INSERT INTO public.linkup_members (linkup_id, user_id, status) VALUES
  ('{LINKUP_LOCKED}', '{U1}', 'confirmed'), ('{LINKUP_LOCKED}', '{U2}', 'confirmed'),
  ('{LINKUP_LOCKED}', '{U3}', 'confirmed'), ('{LINKUP_LOCKED}', '{U4}', 'invited'),
  ('{LINKUP_OPEN}', '{U1}', 'confirmed');
INSERT INTO public.sms_outbound_jobs (id, purpose, status, idempotency_key)
VALUES ('{JOB_U1}', 'linkup_coordination', 'sent', 'linkup:{LINKUP_LOCKED}:v2:{U1}');
INSERT INTO public.linkup_coordination_messages
  (id, linkup_id, user_id, lock_version, status, idempotency_key, sms_outbound_job_id) VALUES
  ('{INTENT_U1}', '{LINKUP_LOCKED}', '{U1}', 2, 'sent', 'linkup:{LINKUP_LOCKED}:v2:{U1}',
   '{JOB_U1}'),
  ('{INTENT_U2}', '{LINKUP_LOCKED}', '{U2}', 2, 'pending', 'linkup:{LINKUP_LOCKED}:v2:{U2}',
   NULL);

INSERT INTO public.feature_flags (name, enabled, description, updated_by, updated_at) VALUES
  ('opsconsole_test_flag', false, 'planted by the action tests', 'test', now() - interval '1 day')
ON CONFLICT (name) DO NOTHING;

INSERT INTO auth.users (id, email) VALUES ('{A1}', 'a1@example.test'), ('{A2}', 'a2@example.test');
INSERT INTO public.broadcast_quotas (id, user_id, show_id, broadcasts_sent, last_reset_at) VALUES
  ('{Q1}', '{A1}', '{uid(50)}', 2, now() - interval '3 hours'),
  ('{Q2}', '{A2}', '{uid(50)}', 0, now() - interval '3 hours'),
  ('{Q3}', '{A1}', '{uid(51)}', 0, now() - interval '3 days');
"""

MESSAGES = f"""
INSERT INTO public.messages (id, sender_id, recipient_id, content) VALUES
  ('{M1}', '{A1}', '{A2}', %(evil)s), ('{M2}', '{A2}', '{A1}', 'second message')
"""

REPORTS = f"""
INSERT INTO public.reported_messages (message_id, reporter_id, reason, report_status) VALUES
  ('{M1}', '{A2}', 'spam [b]bold[/b]', 'pending'),
  ('{M2}', '{A1}', 'rude', 'pending'),
  ('{M2}', '{A2}', 'old', 'dismissed')
RETURNING id;
"""


def plant(dsn: str) -> dict[str, int]:
    """Insert the planted rows; returns the report ids {"r1", "r2", "r3"}."""
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(PLANT)
        conn.execute(MESSAGES, {"evil": EVIL})
        ids = [r[0] for r in conn.execute(REPORTS).fetchall()]
        conn.commit()
    return {"r1": ids[0], "r2": ids[1], "r3": ids[2]}


def scalar(dsn: str, query: str, params: Any = None) -> Any:
    """One value from a query (test helper)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def run_cli(capsys: pytest.CaptureFixture[str], dsn: str, *args: str) -> tuple[int, dict[str, Any], str]:
    """``opsconsole --dsn DSN action ARGS --format json``: (exit code, json result, stderr)."""
    code = cli_main(["--dsn", dsn, "action", *args, "--format", "json"])
    out, err = capsys.readouterr()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    return code, (json.loads(lines[-1]) if lines else {}), err


def make_ctx(dsn: str, audit_file: Path, *, writes: bool = True,
             profile: Profile | None = None) -> ActionContext:
    """An action context for tests: dev profile, writes on, audit file under tmp_path."""
    return ActionContext(dsn=dsn, profile=profile or Profile(name="test"), catalog=catalog.load(),
                   writes_enabled=writes, audit_file=audit_file)


def run_action(
    ctx: ActionContext,
    name: str,
    raw: dict[str, Any],
    *,
    expect: int | None = None,
    batch_size: int = 500,
    typed_env: str | None = None,
    cancel: threading.Event | None = None,
    on_progress: ProgressFn | None = None,
) -> tuple[Preview, Result]:
    """Define, preview, confirm (with the preview's own count unless ``expect`` is given) and
    apply, as the faces do."""
    with open_session(ctx) as session:
        action = engine.define(session, ctx, name)
        preview = engine.prepare(session, ctx, action, action.parse(raw), batch_size=batch_size)
        guards.check_confirmation(
            preview, ctx, expect=preview.count if expect is None else expect, typed_env=typed_env
        )
        result = engine.apply(session, ctx, action, preview, cancel=cancel,
                              on_progress=on_progress)
    return preview, result


def preview_only(ctx: ActionContext, name: str, raw: dict[str, Any], batch_size: int = 500) -> Preview:
    """The preview of an action (nothing written)."""
    with open_session(ctx) as session:
        action = engine.define(session, ctx, name)
        return engine.prepare(session, ctx, action, action.parse(raw), batch_size=batch_size)


def audit_rows(dsn: str, **where: Any) -> list[dict[str, Any]]:
    """opsconsole.audit_log rows (optionally filtered by run_id), oldest first; ``undone_by`` as
    the trail derives it (the id of the undo row that reverted it: the trail is append-only)."""
    query = ("SELECT a.*, (SELECT min(u.id) FROM opsconsole.audit_log u WHERE u.undo_of = a.id"
             " AND u.outcome <> 'aborted') AS derived_undone_by FROM opsconsole.audit_log a")
    if "run_id" in where:
        query += " WHERE a.run_id = %(run_id)s::uuid"
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        found = conn.execute(query + " ORDER BY a.id", where).fetchall()
    for row in found:
        row["undone_by"] = row.pop("derived_undone_by")
    return found
