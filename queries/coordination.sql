-- Seed 000 (LinkUp coordination messages, ticket 7.3): coordination intents and their jobs.

-- name: status_breakdown()
-- Seed 000 §4.4 across every linkup: rows per status and suppress reason.
-- Index-only scan on linkup_coordination_messages_status_idx.
SELECT status, coalesce(suppress_reason, '') AS suppress_reason, count(*) AS count
FROM public.linkup_coordination_messages
GROUP BY status, suppress_reason
ORDER BY status, suppress_reason;

-- name: missing_intents(now, window_h)
-- Seed 000 §4.2 for every linkup locked in the window: fewer coordination rows for the current
-- lock than confirmed members. Cost follows the recently locked linkups (linkups_locked_idx;
-- members counted index-only on linkup_members_confirmed_idx).
SELECT count(*) AS linkups, coalesce(sum(x.confirmed - x.intents), 0)::bigint AS missing_intents
FROM (
  SELECT l.id,
         (SELECT count(*) FROM public.linkup_members m
           WHERE m.linkup_id = l.id AND m.status = 'confirmed') AS confirmed,
         (SELECT count(*) FROM public.linkup_coordination_messages cm
           WHERE cm.linkup_id = l.id AND cm.lock_version = l.lock_version) AS intents
  FROM public.linkups l
  WHERE l.state = 'locked'
    AND l.locked_at >= :now::timestamptz - make_interval(hours => :window_h::int)
  OFFSET 0  -- keeps the two counts computed once per linkup, not again in the outer filter
) x
WHERE x.confirmed > x.intents;

-- name: jobs_missing()
-- Seed 000 §4.4 (second query): pending/enqueued coordination rows with no sms_outbound_jobs row.
-- Partial index linkup_coordination_messages_no_job_idx.
SELECT count(*) AS rows_without_job, count(DISTINCT linkup_id) AS linkups
FROM public.linkup_coordination_messages
WHERE sms_outbound_job_id IS NULL AND status IN ('pending', 'enqueued');

-- name: duplicate_jobs()
-- Seed 000 §4.3: replay must never duplicate a job. With a unique index on
-- sms_outbound_jobs(idempotency_key) duplicates are impossible and nothing is scanned; without
-- one, the keys holding more than one job are counted (the subquery runs only in that case).
SELECT CASE WHEN u.guaranteed THEN 0
            ELSE (SELECT count(*) FROM (SELECT j.idempotency_key FROM public.sms_outbound_jobs j
                                        GROUP BY j.idempotency_key HAVING count(*) > 1) d)
       END AS duplicates,
       u.guaranteed AS unique_index
FROM (
  SELECT EXISTS (
    SELECT 1 FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = 'public.sms_outbound_jobs'::regclass
      AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
      AND a.attname = 'idempotency_key'
  ) AS guaranteed
) u;

-- name: constraints()
-- Seed 000 §4.5: both uniqueness constraints exist on linkup_coordination_messages.
SELECT count(c.conname) AS present,
       2 - count(c.conname) AS missing,
       coalesce(string_agg(v.name, ', ') FILTER (WHERE c.conname IS NULL), '') AS missing_names
FROM (VALUES ('linkup_coordination_messages_once_per_lock'),
             ('linkup_coordination_messages_idempotency_uniq')) AS v (name)
LEFT JOIN pg_constraint c
  ON c.conname = v.name AND c.conrelid = 'public.linkup_coordination_messages'::regclass;

-- name: linkups_page(after_sort, after_id, limit)
-- Linkups with failed or pending coordination rows, most failures first (keyset on failed, id).
SELECT l.id, l.title, l.state, l.lock_version, l.locked_at,
       x.failed, x.pending, x.total
FROM (
  SELECT cm.linkup_id,
         count(*) FILTER (WHERE cm.status = 'failed') AS failed,
         count(*) FILTER (WHERE cm.status IN ('pending', 'enqueued')) AS pending,
         count(*) AS total
  FROM public.linkup_coordination_messages cm
  WHERE cm.status IN ('failed', 'pending', 'enqueued')
  GROUP BY cm.linkup_id
) x
JOIN public.linkups l ON l.id = x.linkup_id
WHERE :after_id::uuid IS NULL
   OR (x.failed, l.id) < (:after_sort::bigint, :after_id::uuid)
ORDER BY x.failed DESC, l.id DESC
LIMIT :limit;

-- name: linkup_members(linkup_id, after_id, limit)
-- Seed 000 §4.4 (second query) for one linkup: each member's intent and job.
SELECT m.user_id AS id, m.status AS member_status, cm.status, cm.suppress_reason,
       cm.idempotency_key, cm.sms_outbound_job_id, j.status AS job_status, j.last_error
FROM public.linkup_members m
LEFT JOIN public.linkups l ON l.id = m.linkup_id
LEFT JOIN public.linkup_coordination_messages cm
  ON cm.linkup_id = m.linkup_id AND cm.user_id = m.user_id AND cm.lock_version = l.lock_version
LEFT JOIN public.sms_outbound_jobs j ON j.id = cm.sms_outbound_job_id
WHERE m.linkup_id = :linkup_id::uuid
  AND (:after_id::uuid IS NULL OR m.user_id > :after_id::uuid)
ORDER BY m.user_id
LIMIT :limit;

-- name: suppress_reasons()
-- Seed 000 §4.4 groups the coordination rows by status and suppress_reason: the suppressed ones
-- by their reason, '(none)' for a suppressed row without one. Cost follows the suppressed rows
-- (a range of linkup_coordination_messages_status_idx, read index-only).
SELECT coalesce(suppress_reason, '(none)') AS suppress_reason, count(*) AS count
FROM public.linkup_coordination_messages
WHERE status = 'suppressed'
GROUP BY suppress_reason
ORDER BY count(*) DESC, suppress_reason;
