-- DESIGN.md "Guarded actions": every statement the action engine sends. Each action's
-- declaration (parameters, steps, status values, preview columns, batch key, before-images) is
-- its [[actions]] section in screens/*.toml; this file holds its SQL.
--
-- Conventions beyond queries/README.md:
-- * Parameter types are the casts written here: `:report_id::bigint` makes the console take a
--   whole number, `::uuid` a UUID, `::text` text, `::boolean` on/off. The engine binds by name:
--   the action's parameters, the `set` values of the chosen choices, the columns of the lookups
--   before, and its own `:ids` (the batch's keys), `:max_rows`, `:run_id` and `:actor`
--   ('opsconsole:<os user>').
-- * A lookup returns at most one row. Its columns become parameters of the later statements;
--   a text column `refusal` (not NULL: refused), `bad_input` (the parameters name nothing that
--   exists) or `done` (already as asked: nothing to do) stops the preview with that text;
--   `note_*` columns are notes shown with the preview.
-- * A preview returns the rows an action would change, ordered by key, at most :max_rows of them
--   (the engine asks for one more than its cap to tell "too many"), with the columns the spec
--   shows and the key column it names.
-- * An apply statement is restricted to the previewed keys (:ids) AND re-checks the preview's
--   predicate. It locks the rows it will change (FOR UPDATE), changes them, and returns one row
--   per changed row: the key (`id`), the row before (`before`, NULL for an insert) and after
--   (`after`) as jsonb. The bulk actions (backfill-guest, backfill-all: up to a million rows)
--   image only the columns they change (user_id, updated_at), the others the whole row; undo
--   restores the columns an image records and checks only those. The bulk actions return a
--   single row instead: `ids` (text[], the changed keys) and `images` (one JSON array of
--   {"table", "op", "key", "before", "after"}, their user_link_audit rows included). Previewed
--   keys missing from the result were changed by someone else: skipped.
-- * The few statements whose table or trigger varies (set-trigger, undo) hold `{0}` / `{1}` /
--   `{2}` slots. They are filled ONLY with psycopg.sql.Identifier values: trigger names and
--   tables from the spec's choices, undo's tables, key and columns from the specs' allow-list
--   and the connected database; values are always bound parameters.

-- ---------------------------------------------------------------------------------------------
-- Guards (step 1) and the apply envelope (step 4).
-- ---------------------------------------------------------------------------------------------

-- name: session_state()
-- Is this session allowed to write at all? Read-only session, replica, the audit table (named
-- here once: the guards take its name from audit_relation).
SELECT current_user AS db_role,
       current_setting('transaction_read_only') = 'on' AS read_only,
       current_setting('default_transaction_read_only') = 'on' AS default_read_only,
       pg_is_in_recovery() AS in_recovery,
       'opsconsole.audit_log'::text AS audit_relation,
       to_regclass('opsconsole.audit_log') IS NOT NULL AS audit_table,
       EXISTS (SELECT 1 FROM pg_trigger t
                WHERE t.tgrelid = to_regclass('opsconsole.audit_log')
                  AND t.tgname = 'audit_log_vouch') AS audit_current,
       host(inet_client_addr()) AS client_addr;

-- name: pin_settings()
-- Every write session renders and reads before-images the same way (typed comparisons make undo
-- independent of them too, but an interval is only read back unambiguously in its own style).
SELECT set_config('TimeZone', 'UTC', false) AS time_zone,
       set_config('DateStyle', 'ISO, YMD', false) AS date_style,
       set_config('IntervalStyle', 'postgres', false) AS interval_style,
       set_config('bytea_output', 'hex', false) AS bytea_output,
       set_config('extra_float_digits', '1', false) AS extra_float_digits;

-- name: table_privilege(relation, privilege)
-- Does current_user hold a privilege on a relation (OWNER: is it, or a member of, the owner)?
-- Also the owner and the role, quoted, for the refusal's SQL.
SELECT to_regclass(:relation::text) IS NOT NULL AS present,
       CASE WHEN to_regclass(:relation::text) IS NULL THEN false
            WHEN :privilege::text = 'OWNER'
              THEN pg_has_role(current_user,
                               (SELECT c.relowner FROM pg_class c
                                 WHERE c.oid = to_regclass(:relation::text)), 'USAGE')
            ELSE has_table_privilege(to_regclass(:relation::text), :privilege::text)
       END AS granted,
       (SELECT quote_ident(pg_get_userbyid(c.relowner)) FROM pg_class c
         WHERE c.oid = to_regclass(:relation::text)) AS owner,
       quote_ident(current_user) AS role,
       (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = to_regclass(:relation::text)) AS quoted;

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
-- Audit trail (step 5). opsconsole.audit_log is append-only (src/opsconsole/demo/sql/audit.sql):
-- its trigger sets xact_id, db_role and created_at, and `vouched` when every image names a row
-- (or trigger) that the inserting transaction itself wrote. "Undone" is derived from the undo's
-- own row (undo_of), never written into the original.
-- ---------------------------------------------------------------------------------------------

-- name: audit_insert(run_id, batch_no, os_user, client_host, profile, action, params, previewed, affected, outcome, before_images, undo_of)
-- One row per applied batch, written in the batch's own transaction, after its changes.
INSERT INTO opsconsole.audit_log
  (run_id, batch_no, os_user, client_host, profile, action, params, previewed,
   affected, outcome, before_images, undo_of)
VALUES (:run_id::uuid, :batch_no::int, :os_user::text,
        coalesce(:client_host::text || ' (' || host(inet_client_addr()) || ')', :client_host::text),
        :profile::text, :action::text, :params::jsonb, :previewed::int, :affected::int,
        :outcome::text, :before_images::jsonb, :undo_of::bigint)
RETURNING id, created_at, db_role, client_host;

-- name: audit_lookup(audit_id)
-- One audit row with its before-images and whether (and by which row) it was undone.
-- affected and params name the entry in the undo's preview.
SELECT a.id, a.run_id, a.batch_no, a.action, a.outcome, a.before_images, a.undo_of,
       (SELECT min(u.id) FROM opsconsole.audit_log u
         WHERE u.undo_of = a.id AND u.outcome <> 'aborted') AS undone_by,
       a.affected, a.params
FROM opsconsole.audit_log a
WHERE a.id = :audit_id::bigint;

-- name: audit_run(run_id)
-- Every row of one run, in order, with what makes the run complete and verifiable: each row
-- vouched for by the database, one action, params, role and OS user, batches 1..n once each.
WITH run AS (
  SELECT a.* FROM opsconsole.audit_log a WHERE a.run_id = :run_id::uuid
), facts AS (
  SELECT count(*) AS rows_in_run, count(DISTINCT r.batch_no) AS distinct_batches,
         min(r.batch_no) AS first_batch, max(r.batch_no) AS last_batch,
         bool_and(r.vouched) AS all_vouched,
         count(DISTINCT (r.action, r.params, r.db_role, r.os_user)) = 1 AS consistent
  FROM run r
)
SELECT r.id, r.run_id, r.batch_no, r.action, r.outcome, r.before_images, r.undo_of, r.vouched,
       (SELECT min(u.id) FROM opsconsole.audit_log u
         WHERE u.undo_of = r.id AND u.outcome <> 'aborted') AS undone_by,
       f.rows_in_run, f.distinct_batches, f.first_batch, f.last_batch, f.all_vouched,
       f.consistent
FROM run r CROSS JOIN facts f
ORDER BY r.batch_no, r.id;

-- ---------------------------------------------------------------------------------------------
-- backfill-guest (seed 002 "Manual Backfill").
-- public.backfill_guest_deliveries(guest_id, user_id) updates *every* NULL delivery of the guest,
-- including rows created after the preview, so the console does not call it: it runs the same
-- two statements restricted to the previewed ids (UPDATE, then the function's user_link_audit
-- row, table_name 'message_deliveries_backfill', so backfill activity stays visible).
-- ---------------------------------------------------------------------------------------------

-- name: guest_lookup(guest_id, user_id)
-- The guest, and whether the user exists and may be linked to it.
SELECT g.user_id AS guest_user_id,
       CASE WHEN NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = :user_id::uuid)
            THEN 'no public.users row with id ' || :user_id::uuid END AS bad_input,
       CASE WHEN g.user_id IS NOT NULL AND g.user_id <> :user_id::uuid
            THEN 'guest ' || g.id || ' is linked to user ' || g.user_id || ', not '
                 || :user_id::uuid || ': give user ' || g.user_id END AS refusal,
       CASE WHEN g.user_id IS NULL THEN 'the guest itself is not linked to this user '
                 || '(event_guests.user_id is NULL)' END AS note_unlinked,
       CASE WHEN g.removed_at IS NOT NULL
            THEN 'the guest was removed at ' || g.removed_at END AS note_removed
FROM public.event_guests g
WHERE g.id = :guest_id::uuid;

-- name: backfill_guest_preview(guest_id, max_rows)
-- The guest's deliveries with NULL user_id (what the function would update).
SELECT d.id::text AS id, d.message_id, d.phone_number, d.sms_status, d.created_at
FROM public.message_deliveries d
WHERE d.guest_id = :guest_id::uuid AND d.user_id IS NULL
ORDER BY d.id
LIMIT :max_rows::int;

-- name: backfill_guest_apply(ids, guest_id, user_id, run_id)
-- One row: the changed ids (text[]) and their images as one JSON array (see backfill_all_apply),
-- the function's user_link_audit row among them.
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
  RETURNING user_link_audit.id, to_jsonb(user_link_audit.*) AS after
), images AS (
  SELECT 1 AS part, upd.id::text AS id, json_build_object(
           'table', 'public.message_deliveries', 'op', 'update',
           'key', json_build_object('id', upd.id),
           'before', json_build_object('user_id', NULL, 'updated_at', upd.updated_at_before),
           'after', json_build_object('user_id', upd.user_id, 'updated_at', upd.updated_at))
           AS image
  FROM upd
  UNION ALL
  SELECT 2, l.id::text, json_build_object(
           'table', 'public.user_link_audit', 'op', 'insert',
           'key', json_build_object('id', l.id), 'before', NULL, 'after', l.after)
  FROM link_audit l
)
SELECT coalesce((SELECT array_agg(i.id ORDER BY i.id) FROM images i WHERE i.part = 1), '{}')
         AS ids,
       coalesce((SELECT json_agg(i.image ORDER BY i.part, i.id) FROM images i), '[]')::text
         AS images;

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
-- their images as one JSON array (text; json_agg is cheaper than jsonb here), the
-- user_link_audit rows last, which the engine stores as the audit row's before_images without
-- parsing it.
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
  RETURNING user_link_audit.id, to_jsonb(user_link_audit.*) AS after
), images AS (
  SELECT 1 AS part, upd.id::text AS id, json_build_object(
           'table', 'public.message_deliveries', 'op', 'update',
           'key', json_build_object('id', upd.id),
           'before', json_build_object('user_id', NULL, 'updated_at', upd.updated_at_before),
           'after', json_build_object('user_id', upd.user_id, 'updated_at', upd.updated_at))
           AS image
  FROM upd
  UNION ALL
  SELECT 2, l.id::text, json_build_object(
           'table', 'public.user_link_audit', 'op', 'insert',
           'key', json_build_object('id', l.id), 'before', NULL, 'after', l.after)
  FROM link_audit l
)
SELECT coalesce((SELECT array_agg(i.id ORDER BY i.id) FROM images i WHERE i.part = 1), '{}')
         AS ids,
       coalesce((SELECT json_agg(i.image ORDER BY i.part, i.id) FROM images i), '[]')::text
         AS images;

-- ---------------------------------------------------------------------------------------------
-- replay-jobs (seed 000 sms_outbound_jobs): failed jobs back to pending, in place. attempts and
-- last_error are kept (the runner's retry budget and the Jobs screen keep their history; the
-- before-image holds them too); never inserts a job.
-- ---------------------------------------------------------------------------------------------

-- name: replay_jobs_preview(job_id, last_error, no_last_error, purpose, max_rows)
SELECT j.id::text AS id, j.purpose, j.attempts, j.last_error, j.updated_at, j.idempotency_key
FROM public.sms_outbound_jobs j
WHERE j.status = 'failed'
  AND (:job_id::uuid IS NULL OR j.id = :job_id::uuid)
  AND (:last_error::text IS NULL OR j.last_error = :last_error::text)
  AND (NOT :no_last_error::boolean OR j.last_error IS NULL)
  AND (:purpose::text IS NULL OR j.purpose = :purpose::text)
ORDER BY j.id
LIMIT :max_rows::int;

-- name: replay_jobs_apply(ids, job_id, last_error, no_last_error, purpose)
WITH locked AS (
  SELECT j.id, to_jsonb(j.*) AS before
  FROM public.sms_outbound_jobs j
  WHERE j.id = ANY(:ids::uuid[]) AND j.status = 'failed'
    AND (:job_id::uuid IS NULL OR j.id = :job_id::uuid)
    AND (:last_error::text IS NULL OR j.last_error = :last_error::text)
    AND (NOT :no_last_error::boolean OR j.last_error IS NULL)
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
-- The linkup, refused unless locked; the counts seed 000's proof reports.
SELECT l.lock_version,
       (SELECT count(*) FROM public.linkup_members m
         WHERE m.linkup_id = l.id AND m.status = 'confirmed') AS member_count,
       (SELECT count(*) FROM public.linkup_coordination_messages cm
         WHERE cm.linkup_id = l.id AND cm.lock_version = l.lock_version)
         AS coordination_existing_count,
       CASE WHEN l.state <> 'locked'
            THEN 'linkup ' || l.id || ' is ' || l.state || ', not locked: coordination is '
                 || 'only enqueued for a locked linkup' END AS refusal
FROM public.linkups l
WHERE l.id = :linkup_id::uuid;

-- name: linkup_lock(linkup_id, lock_version)
-- The linkup is still locked at the previewed lock_version (held until commit).
SELECT l.id FROM public.linkups l
WHERE l.id = :linkup_id::uuid AND l.state = 'locked' AND l.lock_version = :lock_version::int
FOR SHARE;

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
RETURNING id::text AS id, user_id::text AS user_id, NULL::jsonb AS before,
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
RETURNING id::text AS id, idempotency_key, NULL::jsonb AS before,
          to_jsonb(sms_outbound_jobs.*) AS after;

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

-- name: flag_lookup(name, enabled)
-- The flag's value and updated_at now (the apply proceeds only if both are unchanged); the
-- known flags when there is no such flag.
SELECT f.enabled AS prev_enabled, f.updated_at AS prev_updated_at,
       f.enabled AS enabled_before,
       CASE WHEN f.name IS NOT NULL THEN :enabled::boolean END AS enabled_after,
       CASE WHEN f.name IS NULL
            THEN 'no feature flag named ' || quote_literal(:name::text) || ' (flags: '
                 || coalesce((SELECT string_agg(k.name, ', ' ORDER BY k.name)
                                FROM (SELECT n.name FROM public.feature_flags n
                                       ORDER BY n.name LIMIT 20) k), 'none') || ')' END
         AS bad_input,
       CASE WHEN f.enabled = :enabled::boolean
            THEN 'flag ' || f.name || ' is already '
                 || CASE WHEN f.enabled THEN 'on' ELSE 'off' END END AS done
FROM (SELECT 1) AS one
LEFT JOIN public.feature_flags f ON f.name = :name::text;

-- name: flag_preview(name, enabled)
SELECT f.name AS id, f.name, f.enabled, :enabled::boolean AS new, f.updated_by, f.updated_at
FROM public.feature_flags f
WHERE f.name = :name::text AND f.enabled IS DISTINCT FROM :enabled::boolean;

-- name: flag_apply(ids, enabled, prev_enabled, prev_updated_at, actor)
-- Only if nobody changed the flag since the preview (value AND updated_at as previewed).
WITH locked AS (
  SELECT f.name, to_jsonb(f.*) AS before
  FROM public.feature_flags f
  WHERE f.name = ANY(:ids::text[]) AND f.enabled = :prev_enabled::boolean
    AND f.updated_at = :prev_updated_at::timestamptz
  FOR UPDATE
), upd AS (
  UPDATE public.feature_flags f
     SET enabled = :enabled::boolean, updated_at = now(), updated_by = :actor::text
    FROM locked
   WHERE f.name = locked.name AND f.enabled = :prev_enabled::boolean
     AND f.updated_at = :prev_updated_at::timestamptz
  RETURNING f.name, to_jsonb(f.*) AS after
)
SELECT upd.name AS id, locked.before, upd.after
FROM upd JOIN locked USING (name);

-- ---------------------------------------------------------------------------------------------
-- set-trigger (seed 002 "Rollback Plan"): the two linkage triggers only.
-- {0} = the table, {1} = the trigger: sql.Identifier values from the spec's choices.
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

-- name: report_lookup(report_id, report_status, soft_delete)
-- The report: nothing to do when it is already as asked, refused when resolved otherwise.
SELECT r.message_id,
       CASE WHEN r.report_status = :report_status::text
            THEN 'report ' || r.id || ' is ' || r.report_status || ' already (by '
                 || coalesce(r.reviewed_by, 'reviewer unknown')
                 || coalesce(' at ' || r.reviewed_at, '') || ')' END AS done,
       CASE WHEN r.report_status NOT IN ('pending', :report_status::text)
            THEN 'report ' || r.id || ' is ' || r.report_status || ' already (by '
                 || coalesce(r.reviewed_by, 'reviewer unknown')
                 || coalesce(' at ' || r.reviewed_at, '')
                 || '): only a pending report is resolved' END AS refusal,
       CASE WHEN :soft_delete::boolean AND m.id IS NULL
            THEN 'the reported message no longer exists' END AS note_message_gone,
       CASE WHEN :soft_delete::boolean AND m.is_deleted
            THEN 'the message is already soft-deleted' END AS note_message_deleted
FROM public.reported_messages r
LEFT JOIN public.messages m ON m.id = r.message_id
WHERE r.id = :report_id::bigint;

-- name: report_preview(report_id, report_status)
SELECT r.id::text AS id, 'report ' || r.id AS row,
       r.report_status || ' -> ' || :report_status::text AS change, r.reason AS detail
FROM public.reported_messages r
WHERE r.id = :report_id::bigint AND r.report_status = 'pending';

-- name: report_apply(ids, report_status, actor)
WITH locked AS (
  SELECT r.id, to_jsonb(r.*) AS before
  FROM public.reported_messages r
  WHERE r.id = ANY(:ids::bigint[]) AND r.report_status = 'pending'
  FOR UPDATE
), upd AS (
  UPDATE public.reported_messages r
     SET report_status = :report_status::text, reviewed_by = :actor::text, reviewed_at = now()
    FROM locked
   WHERE r.id = locked.id AND r.report_status = 'pending'
  RETURNING r.id, to_jsonb(r.*) AS after
)
SELECT upd.id::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (id);

-- name: message_preview(message_id, soft_delete)
-- Uphold: the reported message, unless already soft-deleted.
SELECT m.id::text AS id, 'message ' || m.id AS row, 'is_deleted false -> true' AS change,
       left(m.content, 200) AS detail
FROM public.messages m
WHERE :soft_delete::boolean AND m.id = :message_id::uuid AND NOT m.is_deleted;

-- name: message_soft_delete(ids, report_id, report_status, actor)
-- Soft-delete the reported message, only if this very transaction upheld its report (deleted_by
-- stays NULL: the console acts for no app user; reported_messages.reviewed_by names the
-- engineer).
WITH locked AS (
  SELECT m.id, to_jsonb(m.*) AS before
  FROM public.messages m
  WHERE m.id = ANY(:ids::uuid[]) AND NOT m.is_deleted
    AND EXISTS (SELECT 1 FROM public.reported_messages r
                 WHERE r.id = :report_id::bigint AND r.message_id = m.id
                   AND r.report_status = :report_status::text
                   AND r.reviewed_by = :actor::text AND r.reviewed_at = now())
  FOR UPDATE OF m
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
SELECT q.id::text AS id, q.user_id, q.show_id, q.broadcasts_sent, q.broadcast_limit,
       q.last_reset_at
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
-- undo (step 6), generic over the tables the specs allow. :images is a jsonb array of
-- {"key": {<key column>: value}, "before": {...}, "after": {...}} as the apply stored them.
-- {0} = the table, {1} = its key column, {2} = the columns to restore (all sql.Identifier: the
-- table and key from the audited action's spec, the columns present in the catalog and in the
-- spec's image). Keys and values are typed through the table's own row type
-- (jsonb_populate_record) and compared as typed values (record image equality `*=`), so the
-- session's TimeZone, DateStyle, IntervalStyle, bytea_output or extra_float_digits change
-- nothing: a row is unchanged when overlaying the image's after-values on it leaves it equal.
-- ---------------------------------------------------------------------------------------------

-- name: undo_current(images)
-- Per image: are the columns the image records still exactly as the action left them?
SELECT e.ord::int AS ord, cur.{1} IS NOT NULL AS present,
       cur.{1} IS NOT NULL AND jsonb_populate_record(cur, e.img -> 'after') *= cur AS unchanged
FROM jsonb_array_elements(:images::jsonb) WITH ORDINALITY AS e (img, ord)
LEFT JOIN {0} cur ON cur.{1} = (jsonb_populate_record(NULL::{0}, e.img -> 'key')).{1}
ORDER BY e.ord;

-- name: undo_restore(images)
-- Put back the changed columns ({2}) of rows whose imaged columns are still as the action left
-- them.
WITH img AS (
  SELECT e.img -> 'after' AS after, e.img -> 'before' AS before_image,
         (jsonb_populate_record(NULL::{0}, e.img -> 'key')).{1} AS key
  FROM jsonb_array_elements(:images::jsonb) AS e (img)
), locked AS (
  SELECT cur.{1} AS key, to_jsonb(cur.*) AS before
  FROM {0} cur JOIN img ON cur.{1} = img.key
  WHERE jsonb_populate_record(cur, img.after) *= cur
  FOR UPDATE OF cur
), upd AS (
  UPDATE {0} cur
     SET ({2}) = (SELECT {2} FROM jsonb_populate_record(NULL::{0}, img.before_image))
    FROM img JOIN locked USING (key)
   WHERE cur.{1} = img.key
  RETURNING cur.{1} AS key, to_jsonb(cur.*) AS after
)
SELECT upd.key::text AS id, locked.before, upd.after
FROM upd JOIN locked USING (key);

-- name: undo_delete(images)
-- Delete rows the action inserted, if still exactly as it left them.
WITH img AS (
  SELECT e.img -> 'after' AS after, jsonb_populate_record(NULL::{0}, e.img -> 'key') AS k
  FROM jsonb_array_elements(:images::jsonb) AS e (img)
), del AS (
  DELETE FROM {0} cur USING img
   WHERE cur.{1} = (img.k).{1}
     AND jsonb_populate_record(cur, img.after) *= cur
  RETURNING cur.{1} AS key, to_jsonb(cur.*) AS before
)
SELECT del.key::text AS id, del.before, NULL::jsonb AS after
FROM del;
