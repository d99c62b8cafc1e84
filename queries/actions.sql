-- DESIGN.md "Guarded actions": every statement the action engine sends.
--
-- Conventions beyond queries/README.md:
-- * A preview returns the rows an action would change, ordered by key, at most :max_rows of them
--   (the engine asks for one more than its cap to tell "too many").
-- * An apply statement is restricted to the previewed keys (:ids) AND re-checks the preview's
--   predicate. It locks the rows it will change (FOR UPDATE), changes them, and returns one row
--   per changed row: the key (`id`), the row before (`before`) and after (`after`) as jsonb.
--   The bulk actions (backfill-guest, backfill-all: up to a million rows) image only the columns
--   they change (user_id, updated_at), the others the whole row; undo restores the columns an
--   image records and checks only those. The bulk actions also return a single row instead:
--   `ids` (text[]) and `images` (the images as one JSON array, text). Previewed keys missing
--   from the result were changed by someone else: skipped.
-- * The few statements whose table or trigger varies (set-trigger, undo) hold `{}` / `{0}` slots.
--   They are filled ONLY with psycopg.sql.Identifier values, after the name was checked against
--   the engine's allow-list and the connected catalog; values are always bound parameters.

-- ---------------------------------------------------------------------------------------------
-- Guards (step 1) and the apply envelope (step 4).
-- ---------------------------------------------------------------------------------------------

-- name: session_state()
-- Is this session allowed to write at all? Read-only session, replica, the audit table.
SELECT current_user AS db_role,
       current_setting('transaction_read_only') = 'on' AS read_only,
       current_setting('default_transaction_read_only') = 'on' AS default_read_only,
       pg_is_in_recovery() AS in_recovery,
       to_regclass('opsconsole.audit_log') IS NOT NULL AS audit_table,
       host(inet_client_addr()) AS client_addr;

-- name: table_privilege(relation, privilege)
-- Does current_user hold a privilege on a relation (OWNER: is it, or a member of, the owner)?
SELECT to_regclass(:relation::text) IS NOT NULL AS present,
       CASE WHEN to_regclass(:relation::text) IS NULL THEN false
            WHEN :privilege::text = 'OWNER'
              THEN pg_has_role(current_user,
                               (SELECT c.relowner FROM pg_class c
                                 WHERE c.oid = to_regclass(:relation::text)), 'USAGE')
            ELSE has_table_privilege(to_regclass(:relation::text), :privilege::text)
       END AS granted;

-- name: set_local_timeouts(lock_timeout_ms, statement_timeout_ms)
-- SET LOCAL lock_timeout and statement_timeout for the current transaction.
SELECT set_config('lock_timeout', :lock_timeout_ms::int::text, true) AS lock_timeout,
       set_config('statement_timeout', :statement_timeout_ms::int::text, true) AS statement_timeout;

-- name: try_xact_lock(action)
-- The action's advisory lock for this transaction; false when another session holds it.
SELECT pg_try_advisory_xact_lock(hashtext('opsconsole:' || :action::text)) AS acquired;

-- name: try_session_lock(action)
-- The same lock held for a whole (batched) run, so two consoles cannot interleave batches.
SELECT pg_try_advisory_lock(hashtext('opsconsole:' || :action::text)) AS acquired;

-- name: session_unlock(action)
SELECT pg_advisory_unlock(hashtext('opsconsole:' || :action::text)) AS released;

-- ---------------------------------------------------------------------------------------------
-- Audit trail (step 5).
-- ---------------------------------------------------------------------------------------------

-- name: audit_insert(run_id, batch_no, os_user, client_host, profile, action, params, previewed, affected, outcome, before_images, undo_of)
-- One row per applied batch, written in the batch's own transaction.
INSERT INTO opsconsole.audit_log
  (run_id, batch_no, os_user, db_role, client_host, profile, action, params, previewed,
   affected, outcome, before_images, undo_of)
VALUES (:run_id::uuid, :batch_no::int, :os_user::text, current_user,
        coalesce(:client_host::text || ' (' || host(inet_client_addr()) || ')', :client_host::text),
        :profile::text, :action::text, :params::jsonb, :previewed::int, :affected::int,
        :outcome::text, :before_images::jsonb, :undo_of::bigint)
RETURNING id, created_at, db_role, client_host;

-- name: audit_lookup(audit_id)
-- One audit row with its before-images (undo).
SELECT id, run_id, batch_no, created_at, action, params, previewed, affected, outcome,
       before_images, undo_of, undone_by
FROM opsconsole.audit_log
WHERE id = :audit_id::bigint;

-- name: audit_run(run_id)
-- Every batch of one run, in order (undo --run).
SELECT id, run_id, batch_no, created_at, action, params, previewed, affected, outcome,
       before_images, undo_of, undone_by
FROM opsconsole.audit_log
WHERE run_id = :run_id::uuid
ORDER BY batch_no, id;

-- name: audit_lock_for_undo(audit_id)
-- Lock an audit row that is not undone yet (no row: someone undid it meanwhile).
SELECT id FROM opsconsole.audit_log
WHERE id = :audit_id::bigint AND undone_by IS NULL AND undo_of IS NULL
FOR UPDATE;

-- name: audit_mark_undone(audit_id, undone_by)
UPDATE opsconsole.audit_log SET undone_by = :undone_by::bigint
WHERE id = :audit_id::bigint AND undone_by IS NULL
RETURNING id;

-- ---------------------------------------------------------------------------------------------
-- backfill-guest (seed 002 "Manual Backfill").
-- public.backfill_guest_deliveries(guest_id, user_id) updates *every* NULL delivery of the guest,
-- including rows created after the preview, so the console does not call it: it runs the same
-- two statements restricted to the previewed ids (UPDATE, then the function's user_link_audit
-- row, table_name 'message_deliveries_backfill', so backfill activity stays visible).
-- ---------------------------------------------------------------------------------------------

-- name: guest_lookup(guest_id)
SELECT g.id, g.event_id, g.user_id, g.guest_name, g.removed_at
FROM public.event_guests g
WHERE g.id = :guest_id::uuid;

-- name: user_exists(user_id)
SELECT EXISTS (SELECT 1 FROM public.users u WHERE u.id = :user_id::uuid) AS present;

-- name: backfill_guest_preview(guest_id, max_rows)
-- The guest's deliveries with NULL user_id (what the function would update).
SELECT d.id, d.message_id, d.phone_number, d.sms_status, d.created_at
FROM public.message_deliveries d
WHERE d.guest_id = :guest_id::uuid AND d.user_id IS NULL
ORDER BY d.id
LIMIT :max_rows::int;

-- name: backfill_guest_apply(ids, guest_id, user_id, run_id)
-- One row: the changed ids (text[]) and their images as one JSON array (see backfill_all_apply).
WITH upd AS (
  UPDATE public.message_deliveries d
     SET user_id = :user_id::uuid, updated_at = now()
    FROM public.message_deliveries old
   WHERE d.id = ANY(:ids::uuid[]) AND old.id = d.id
     AND d.guest_id = :guest_id::uuid AND d.user_id IS NULL AND d.updated_at = old.updated_at
  RETURNING d.id, d.user_id, d.updated_at, old.updated_at AS updated_at_before
), link_audit AS (
  INSERT INTO public.user_link_audit (table_name, record_id, matched_user_id, outcome, metadata)
  SELECT 'message_deliveries_backfill', :guest_id::uuid, :user_id::uuid,
         CASE WHEN count(*) > 0 THEN 'linked' ELSE 'no_match' END,
         jsonb_build_object('deliveries_updated', count(*), 'source', 'opsconsole backfill-guest',
                            'run_id', :run_id::text)
  FROM upd
)
SELECT coalesce(array_agg(upd.id::text ORDER BY upd.id), '{}') AS ids,
       coalesce(json_agg(json_build_object(
                  'table', 'public.message_deliveries', 'op', 'update',
                  'key', json_build_object('id', upd.id),
                  'before', json_build_object('user_id', NULL, 'updated_at', upd.updated_at_before),
                  'after', json_build_object('user_id', upd.user_id, 'updated_at', upd.updated_at))
                ORDER BY upd.id), '[]')::text AS images
FROM upd;

-- ---------------------------------------------------------------------------------------------
-- backfill-all (seed 002 "Debugging Queries": deliveries that should be linkable but aren't).
-- ---------------------------------------------------------------------------------------------

-- name: backfill_all_preview(max_rows)
-- Every linkable delivery with NULL user_id, keyset order: the keys only (up to a million; the
-- merge join of message_deliveries_unlinked_idx and event_guests_linked_idx).
SELECT d.id::text AS id
FROM public.message_deliveries d
JOIN public.event_guests g ON g.id = d.guest_id
WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL
ORDER BY d.id
LIMIT :max_rows::int;

-- name: backfill_all_sample(ids)
-- The first previewed rows, for the screen.
SELECT d.id, d.guest_id, g.user_id AS guest_user_id, g.event_id, g.guest_name, d.created_at
FROM public.message_deliveries d
JOIN public.event_guests g ON g.id = d.guest_id
WHERE d.id = ANY(:ids::uuid[])
ORDER BY d.id;

-- name: backfill_all_apply(ids, run_id)
-- One batch: link the previewed deliveries whose guest is (still) linked and not removed, and
-- record one user_link_audit backfill row per guest, as backfill_guest_deliveries() does.
-- The UPDATE locks each delivery itself and, under READ COMMITTED, re-checks a row changed by
-- someone else since the statement began against its newest version: still NULL, same guest,
-- and the same updated_at as the before-image (read in the same statement), else it is left
-- alone and reported skipped. Guests are read, not locked: a guest re-linked or removed while
-- the batch runs leaves the same result as the batch committing just before that change (which
-- never touches deliveries that already have a user_id, seed 002), and locking them FOR SHARE
-- cost a heap write on a million guest rows. Returns one row: the changed ids (text[]) and
-- their images as one JSON array (text; json_agg is cheaper than jsonb here), which the engine
-- stores as the audit row's before_images without parsing it.
WITH upd AS (
  UPDATE public.message_deliveries d
     SET user_id = g.user_id, updated_at = now()
    FROM public.event_guests g, public.message_deliveries old
   WHERE d.id = ANY(:ids::uuid[]) AND old.id = d.id AND d.guest_id = g.id
     AND d.user_id IS NULL AND d.updated_at = old.updated_at
     AND g.user_id IS NOT NULL AND g.removed_at IS NULL
  RETURNING d.id, d.guest_id, d.user_id, d.updated_at, old.updated_at AS updated_at_before
), link_audit AS (
  INSERT INTO public.user_link_audit (table_name, record_id, matched_user_id, outcome, metadata)
  SELECT 'message_deliveries_backfill', upd.guest_id, upd.user_id, 'linked',
         jsonb_build_object('deliveries_updated', count(*), 'source', 'opsconsole backfill-all',
                            'run_id', :run_id::text)
  FROM upd
  GROUP BY upd.guest_id, upd.user_id
)
SELECT coalesce(array_agg(upd.id::text ORDER BY upd.id), '{}') AS ids,
       coalesce(json_agg(json_build_object(
                  'table', 'public.message_deliveries', 'op', 'update',
                  'key', json_build_object('id', upd.id),
                  'before', json_build_object('user_id', NULL, 'updated_at', upd.updated_at_before),
                  'after', json_build_object('user_id', upd.user_id, 'updated_at', upd.updated_at))
                ORDER BY upd.id), '[]')::text AS images
FROM upd;

-- ---------------------------------------------------------------------------------------------
-- replay-jobs (seed 000 sms_outbound_jobs): failed jobs back to pending, in place. attempts and
-- last_error are kept (the runner's retry budget and the Jobs screen keep their history; the
-- before-image holds them too); never inserts a job.
-- ---------------------------------------------------------------------------------------------

-- name: replay_jobs_preview(job_id, last_error, last_error_is_null, purpose, max_rows)
SELECT j.id, j.purpose, j.attempts, j.last_error, j.updated_at, j.idempotency_key
FROM public.sms_outbound_jobs j
WHERE j.status = 'failed'
  AND (:job_id::uuid IS NULL OR j.id = :job_id::uuid)
  AND (:last_error::text IS NULL OR j.last_error = :last_error::text)
  AND (NOT :last_error_is_null::boolean OR j.last_error IS NULL)
  AND (:purpose::text IS NULL OR j.purpose = :purpose::text)
ORDER BY j.id
LIMIT :max_rows::int;

-- name: replay_jobs_apply(ids, job_id, last_error, last_error_is_null, purpose)
WITH locked AS (
  SELECT j.id, to_jsonb(j.*) AS before
  FROM public.sms_outbound_jobs j
  WHERE j.id = ANY(:ids::uuid[]) AND j.status = 'failed'
    AND (:job_id::uuid IS NULL OR j.id = :job_id::uuid)
    AND (:last_error::text IS NULL OR j.last_error = :last_error::text)
    AND (NOT :last_error_is_null::boolean OR j.last_error IS NULL)
    AND (:purpose::text IS NULL OR j.purpose = :purpose::text)
  FOR UPDATE
), upd AS (
  UPDATE public.sms_outbound_jobs j
     SET status = 'pending', run_after = now(), locked_at = NULL, updated_at = now()
    FROM locked
   WHERE j.id = locked.id AND j.status = 'failed'
  RETURNING j.id, to_jsonb(j.*) AS after
)
SELECT upd.id::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (id)
ORDER BY upd.id;

-- ---------------------------------------------------------------------------------------------
-- reenqueue-coordination (seed 000 §3: idempotent enqueue for a locked linkup).
-- idempotency_key of a new intent: 'linkup:<linkup_id>:v<lock_version>:<user_id>'.
-- ---------------------------------------------------------------------------------------------

-- name: linkup_lookup(linkup_id)
SELECT l.id, l.title, l.state, l.locked_at, l.lock_version,
       (SELECT count(*) FROM public.linkup_members m
         WHERE m.linkup_id = l.id AND m.status = 'confirmed') AS member_count,
       (SELECT count(*) FROM public.linkup_coordination_messages cm
         WHERE cm.linkup_id = l.id AND cm.lock_version = l.lock_version)
         AS coordination_existing_count
FROM public.linkups l
WHERE l.id = :linkup_id::uuid;

-- name: reenqueue_preview(linkup_id, lock_version)
-- One row per row the enqueue writes: coordination_insert (a confirmed member without an intent
-- for this lock), coordination_update (an intent without a job: link it, status enqueued) and
-- job_insert (an intent whose idempotency key has no job yet).
WITH l AS (
  SELECT id, lock_version FROM public.linkups
  WHERE id = :linkup_id::uuid AND state = 'locked' AND lock_version = :lock_version::int
), todo AS (
  SELECT 'coordination_insert' AS op, m.user_id::text AS key, m.user_id,
         'linkup:' || l.id || ':v' || l.lock_version || ':' || m.user_id AS idempotency_key
  FROM l JOIN public.linkup_members m ON m.linkup_id = l.id AND m.status = 'confirmed'
  WHERE NOT EXISTS (SELECT 1 FROM public.linkup_coordination_messages cm
                     WHERE cm.linkup_id = l.id AND cm.user_id = m.user_id
                       AND cm.lock_version = l.lock_version)
  UNION ALL
  SELECT 'coordination_update', cm.id::text, cm.user_id, cm.idempotency_key
  FROM l JOIN public.linkup_coordination_messages cm
    ON cm.linkup_id = l.id AND cm.lock_version = l.lock_version
  WHERE cm.sms_outbound_job_id IS NULL AND cm.status IN ('pending', 'enqueued')
)
SELECT t.op, t.key, t.user_id, t.idempotency_key FROM todo t
UNION ALL
SELECT 'job_insert', t.idempotency_key, t.user_id, t.idempotency_key FROM todo t
WHERE NOT EXISTS (SELECT 1 FROM public.sms_outbound_jobs j
                   WHERE j.idempotency_key = t.idempotency_key)
ORDER BY 1, 2;

-- name: linkup_lock(linkup_id, lock_version)
-- The linkup is still locked at the previewed lock_version (held until commit).
SELECT l.id FROM public.linkups l
WHERE l.id = :linkup_id::uuid AND l.state = 'locked' AND l.lock_version = :lock_version::int
FOR SHARE;

-- name: reenqueue_insert_intents(linkup_id, lock_version, user_ids)
INSERT INTO public.linkup_coordination_messages (linkup_id, user_id, lock_version, status,
                                                 idempotency_key)
SELECT l.id, m.user_id, l.lock_version, 'pending',
       'linkup:' || l.id || ':v' || l.lock_version || ':' || m.user_id
FROM public.linkups l
JOIN public.linkup_members m ON m.linkup_id = l.id
WHERE l.id = :linkup_id::uuid AND l.lock_version = :lock_version::int AND l.state = 'locked'
  AND m.user_id = ANY(:user_ids::uuid[]) AND m.status = 'confirmed'
ON CONFLICT DO NOTHING
RETURNING id::text AS id, user_id, idempotency_key,
          to_jsonb(linkup_coordination_messages.*) AS after;

-- name: reenqueue_insert_jobs(coordination_ids, keys)
-- A pending linkup_coordination job per intent still without one; never a duplicate.
INSERT INTO public.sms_outbound_jobs (purpose, status, idempotency_key, to_phone)
SELECT 'linkup_coordination', 'pending', cm.idempotency_key, u.phone
FROM public.linkup_coordination_messages cm
LEFT JOIN public.users u ON u.id = cm.user_id
WHERE cm.id = ANY(:coordination_ids::uuid[]) AND cm.sms_outbound_job_id IS NULL
  AND cm.status IN ('pending', 'enqueued') AND cm.idempotency_key = ANY(:keys::text[])
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id::text AS id, NULL::jsonb AS before, to_jsonb(sms_outbound_jobs.*) AS after;

-- name: reenqueue_link(coordination_ids)
-- Link each intent to the job of its idempotency key and mark it enqueued.
WITH locked AS (
  SELECT cm.id, to_jsonb(cm.*) AS before
  FROM public.linkup_coordination_messages cm
  WHERE cm.id = ANY(:coordination_ids::uuid[]) AND cm.sms_outbound_job_id IS NULL
    AND cm.status IN ('pending', 'enqueued')
  FOR UPDATE
), upd AS (
  UPDATE public.linkup_coordination_messages cm
     SET sms_outbound_job_id = j.id, status = 'enqueued', updated_at = now()
    FROM locked, public.sms_outbound_jobs j
   WHERE cm.id = locked.id AND j.idempotency_key = cm.idempotency_key
  RETURNING cm.id, to_jsonb(cm.*) AS after
)
SELECT upd.id::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (id)
ORDER BY upd.id;

-- ---------------------------------------------------------------------------------------------
-- set-flag (seed 002 "Feature Flags", seed 004 messaging_v2_enabled): compare-and-set.
-- ---------------------------------------------------------------------------------------------

-- name: flag_lookup(name)
SELECT f.name, f.enabled, f.updated_at, f.updated_by, f.description
FROM public.feature_flags f
WHERE f.name = :name::text;

-- name: flag_names()
SELECT f.name FROM public.feature_flags f ORDER BY f.name LIMIT 20;

-- name: flag_apply(name, enabled, prev_enabled, prev_updated_at, updated_by)
-- Only if nobody changed the flag since the preview (value AND updated_at as previewed).
WITH locked AS (
  SELECT f.name, to_jsonb(f.*) AS before
  FROM public.feature_flags f
  WHERE f.name = :name::text AND f.enabled = :prev_enabled::boolean
    AND f.updated_at = :prev_updated_at::timestamptz
  FOR UPDATE
), upd AS (
  UPDATE public.feature_flags f
     SET enabled = :enabled::boolean, updated_at = now(), updated_by = :updated_by::text
    FROM locked
   WHERE f.name = locked.name AND f.enabled = :prev_enabled::boolean
     AND f.updated_at = :prev_updated_at::timestamptz
  RETURNING f.name, to_jsonb(f.*) AS after
)
SELECT upd.name AS id, locked.before, upd.after
FROM upd JOIN locked USING (name);

-- ---------------------------------------------------------------------------------------------
-- set-trigger (seed 002 "Rollback Plan"): the two linkage triggers only.
-- {0} = the table, {1} = the trigger: sql.Identifier values from the engine's allow-list.
-- ---------------------------------------------------------------------------------------------

-- name: trigger_state(relation, name)
-- tgenabled: O enabled, D disabled, R replica only, A always.
SELECT t.tgname AS name, t.tgenabled::text AS tgenabled, n.nspname AS schema_name,
       c.relname AS table_name
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.tgrelid = to_regclass(:relation::text) AND t.tgname = :name::text
  AND NOT t.tgisinternal;

-- name: trigger_lock_table()#
LOCK TABLE {0} IN SHARE ROW EXCLUSIVE MODE;

-- name: trigger_enable()#
ALTER TABLE {0} ENABLE TRIGGER {1};

-- name: trigger_disable()#
ALTER TABLE {0} DISABLE TRIGGER {1};

-- name: trigger_enable_replica()#
ALTER TABLE {0} ENABLE REPLICA TRIGGER {1};

-- name: trigger_enable_always()#
ALTER TABLE {0} ENABLE ALWAYS TRIGGER {1};

-- ---------------------------------------------------------------------------------------------
-- resolve-report (seed 004 moderation): dismiss, or uphold and soft-delete the message.
-- ---------------------------------------------------------------------------------------------

-- name: report_lookup(report_id)
SELECT r.id, r.message_id, r.report_status, r.reason, r.reviewed_by, r.reviewed_at,
       r.created_at, m.id AS message_present, m.is_deleted, m.sender_id,
       left(m.content, 200) AS preview
FROM public.reported_messages r
LEFT JOIN public.messages m ON m.id = r.message_id
WHERE r.id = :report_id::bigint;

-- name: report_apply(report_id, report_status, reviewed_by)
WITH locked AS (
  SELECT r.id, to_jsonb(r.*) AS before
  FROM public.reported_messages r
  WHERE r.id = :report_id::bigint AND r.report_status = 'pending'
  FOR UPDATE
), upd AS (
  UPDATE public.reported_messages r
     SET report_status = :report_status::text, reviewed_by = :reviewed_by::text,
         reviewed_at = now()
    FROM locked
   WHERE r.id = locked.id AND r.report_status = 'pending'
  RETURNING r.id, to_jsonb(r.*) AS after
)
SELECT upd.id::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (id);

-- name: message_soft_delete(message_id)
-- Uphold: soft-delete the reported message (deleted_by stays NULL: the console acts for no
-- app user; reported_messages.reviewed_by names the engineer).
WITH locked AS (
  SELECT m.id, to_jsonb(m.*) AS before
  FROM public.messages m
  WHERE m.id = :message_id::uuid AND NOT m.is_deleted
  FOR UPDATE
), upd AS (
  UPDATE public.messages m
     SET is_deleted = true, deleted_at = now(), deleted_by = NULL
    FROM locked
   WHERE m.id = locked.id AND NOT m.is_deleted
  RETURNING m.id, to_jsonb(m.*) AS after
)
SELECT upd.id::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (id);

-- ---------------------------------------------------------------------------------------------
-- reset-quotas (seed 004 §3.2, the nightly reset-broadcast-quotas, run now). The rows it changes:
-- quotas with broadcasts sent, or not reset for more than a day. A quota at 0 reset within the
-- day is already what the nightly reset leaves, and is not touched.
-- ---------------------------------------------------------------------------------------------

-- name: reset_quotas_preview(max_rows)
SELECT q.id, q.user_id, q.show_id, q.broadcasts_sent, q.broadcast_limit, q.last_reset_at
FROM public.broadcast_quotas q
WHERE q.broadcasts_sent > 0 OR q.last_reset_at < now() - interval '1 day'
ORDER BY q.id
LIMIT :max_rows::int;

-- name: reset_quotas_apply(ids)
WITH locked AS (
  SELECT q.id, to_jsonb(q.*) AS before
  FROM public.broadcast_quotas q
  WHERE q.id = ANY(:ids::uuid[])
    AND (q.broadcasts_sent > 0 OR q.last_reset_at < now() - interval '1 day')
  FOR UPDATE
), upd AS (
  UPDATE public.broadcast_quotas q
     SET broadcasts_sent = 0, last_reset_at = now(), updated_at = now()
    FROM locked
   WHERE q.id = locked.id
  RETURNING q.id, to_jsonb(q.*) AS after
)
SELECT upd.id::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (id)
ORDER BY upd.id;

-- ---------------------------------------------------------------------------------------------
-- undo (step 6), generic over the allow-listed tables. :images is a jsonb array of
-- {"key": {<key column>: value}, "before": {...}, "after": {...}} as the apply stored them.
-- {0} = the table, {1} = its key column, {2} = the columns to restore (all sql.Identifier, the
-- table from the allow-list, the columns present in the catalog). Keys and values are typed
-- through the table's own row type (jsonb_populate_record).
-- ---------------------------------------------------------------------------------------------

-- name: undo_current(images)
-- Per image: are the columns the image records still exactly as the action left them?
SELECT e.ord::int AS ord, t.{1} IS NOT NULL AS present,
       t.{1} IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM jsonb_each(e.img -> 'after') a
                         WHERE to_jsonb(t.*) -> a.key IS DISTINCT FROM a.value) AS unchanged
FROM jsonb_array_elements(:images::jsonb) WITH ORDINALITY AS e (img, ord)
LEFT JOIN {0} t ON t.{1} = (jsonb_populate_record(NULL::{0}, e.img -> 'key')).{1}
ORDER BY e.ord;

-- name: undo_restore(images)
-- Put back the changed columns ({2}) of rows whose imaged columns are still as the action left
-- them.
WITH img AS (
  SELECT e.img -> 'after' AS after, e.img -> 'before' AS before_image,
         (jsonb_populate_record(NULL::{0}, e.img -> 'key')).{1} AS key
  FROM jsonb_array_elements(:images::jsonb) AS e (img)
), locked AS (
  SELECT t.{1} AS key, to_jsonb(t.*) AS before
  FROM {0} t JOIN img ON t.{1} = img.key
  WHERE NOT EXISTS (SELECT 1 FROM jsonb_each(img.after) a
                    WHERE to_jsonb(t.*) -> a.key IS DISTINCT FROM a.value)
  FOR UPDATE OF t
), upd AS (
  UPDATE {0} t
     SET ({2}) = (SELECT {2} FROM jsonb_populate_record(NULL::{0}, img.before_image))
    FROM img JOIN locked USING (key)
   WHERE t.{1} = img.key
  RETURNING t.{1} AS key, to_jsonb(t.*) AS after
)
SELECT upd.key::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (key);

-- name: undo_delete(images)
-- Delete rows the action inserted, if still exactly as it left them.
WITH img AS (
  SELECT e.img -> 'after' AS after, jsonb_populate_record(NULL::{0}, e.img -> 'key') AS k
  FROM jsonb_array_elements(:images::jsonb) AS e (img)
), del AS (
  DELETE FROM {0} t USING img
   WHERE t.{1} = (img.k).{1}
     AND NOT EXISTS (SELECT 1 FROM jsonb_each(img.after) a
                     WHERE to_jsonb(t.*) -> a.key IS DISTINCT FROM a.value)
  RETURNING t.{1} AS key, to_jsonb(t.*) AS before
)
SELECT del.key::text AS id, del.before, NULL::jsonb AS after
FROM del;
