-- Seed 000 (sms_outbound_jobs) and seed 001 (communication.delivery_attempts): the job queues.

-- name: failed_last_hour(now)
-- Jobs that failed in the hour before now (sms_outbound_jobs_failed_updated_idx).
SELECT count(*) AS failed,
       count(DISTINCT last_error) AS distinct_errors
FROM public.sms_outbound_jobs
WHERE status = 'failed' AND updated_at >= :now::timestamptz - interval '1 hour';

-- name: oldest_pending_age(now)
-- Seed 000: the longest wait of a due pending job since run_after (a replay resets it), in s.
SELECT greatest(extract(epoch FROM :now::timestamptz - min(run_after)), 0)::float8 AS age_s,
       count(*) AS pending, count(*) FILTER (WHERE run_after > :now::timestamptz) AS not_due
FROM public.sms_outbound_jobs
WHERE status = 'pending';

-- name: stuck_running(now, timeout_s)
-- Jobs in the running state whose lock is older than the timeout (sms_outbound_jobs_running_idx).
SELECT count(*) FILTER (WHERE locked_at < :now::timestamptz
                                          - make_interval(secs => :timeout_s::int)) AS stuck,
       count(*) AS running,
       coalesce(extract(epoch FROM :now::timestamptz - min(locked_at)), 0)::float8 AS oldest_lock_age_s
FROM public.sms_outbound_jobs
WHERE status = 'running';

-- name: delivery_backlog(now)
-- Seed 001's delivery queue: attempts due (scheduled at or before now), via
-- idx_delivery_status_scheduled.
SELECT count(*) AS due,
       coalesce(extract(epoch FROM :now::timestamptz - min(scheduled_at)), 0)::float8 AS oldest_due_age_s
FROM communication.delivery_attempts
WHERE status = 'scheduled' AND scheduled_at <= :now::timestamptz;

-- name: failed_by_error(after_sort, after_id, limit)
-- Failed jobs grouped by last_error, biggest group first (sms_outbound_jobs_failed_idx).
SELECT coalesce(last_error, '') AS id, count(*) AS jobs, max(updated_at) AS latest,
       count(DISTINCT purpose) AS purposes
FROM public.sms_outbound_jobs
WHERE status = 'failed'
GROUP BY coalesce(last_error, '')
HAVING :after_id::text IS NULL
    OR (count(*), coalesce(last_error, '')) < (:after_sort::bigint, :after_id::text)
ORDER BY count(*) DESC, coalesce(last_error, '') DESC
LIMIT :limit;

-- name: failed_jobs(last_error, after_sort, after_id, limit)
-- The failed jobs of one error group, newest first (keyset on updated_at, id).
SELECT id, purpose, status, attempts, last_error, updated_at, created_at
FROM public.sms_outbound_jobs
WHERE status = 'failed' AND coalesce(last_error, '') = :last_error
  AND (:after_id::uuid IS NULL
       OR (updated_at, id) < (:after_sort::timestamptz, :after_id::uuid))
ORDER BY updated_at DESC, id DESC
LIMIT :limit;

-- name: jobs_page(after_sort, after_id, limit)
-- Every job that is not sent, newest first (keyset on created_at, id).
SELECT id, status, purpose, attempts, last_error, created_at, locked_at
FROM public.sms_outbound_jobs
WHERE status <> 'sent'
  AND (:after_id::uuid IS NULL
       OR (created_at, id) < (:after_sort::timestamptz, :after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- name: job_by_id(id)
-- One job of jobs_page by id (its primary key): a search by id on the Jobs screen.
SELECT id, status, purpose, attempts, last_error, created_at, locked_at
FROM public.sms_outbound_jobs
WHERE status <> 'sent' AND id = :id::uuid;

-- name: status_breakdown()
-- Seed 000's sms_outbound_jobs by status (DESIGN.md, Jobs): every status the column can hold,
-- zero counts included. A whole-table aggregate, read index-only on
-- sms_outbound_jobs_status_purpose_idx (the console refreshes it on a slow cadence).
SELECT status, count(*) AS count
FROM public.sms_outbound_jobs
GROUP BY status
ORDER BY status;

-- name: purpose_breakdown()
-- Seed 000's sms_outbound_jobs by purpose (linkup_coordination, seed 000 §4.3, and every other
-- purpose the data holds). Whole table, index-only on sms_outbound_jobs_status_purpose_idx.
SELECT purpose, count(*) AS count
FROM public.sms_outbound_jobs
GROUP BY purpose
ORDER BY count(*) DESC, purpose;

-- name: failed_errors()
-- Seed 000 §4.4 (jobs.last_error): every failed job grouped by its last_error, biggest group
-- first ('(no last_error)' for NULL); the check counts the distinct errors. Cost follows the
-- failed jobs (index-only on sms_outbound_jobs_failed_idx).
SELECT coalesce(last_error, '(no last_error)') AS last_error, count(*) AS count
FROM public.sms_outbound_jobs
WHERE status = 'failed'
GROUP BY last_error
ORDER BY count(*) DESC, last_error;

-- name: delivery_attempts_status()
-- Seed 001's delivery lifecycle (References: R20.1 Part 3.2, states and retries):
-- communication.delivery_attempts by status, every status the column can hold. Whole table,
-- index-only on idx_delivery_status_scheduled (seed 001's queue index).
SELECT status, count(*) AS count
FROM communication.delivery_attempts
GROUP BY status
ORDER BY status;

-- name: failed_attempts()
-- Seed 001's delivery lifecycle: the delivery attempts that failed, grouped by their error,
-- biggest group first ('(no error)' for NULL). Cost follows the failed attempts
-- (delivery_attempts_failed_idx).
SELECT coalesce(error, '(no error)') AS error, count(*) AS count
FROM communication.delivery_attempts
WHERE status = 'failed'
GROUP BY error
ORDER BY count(*) DESC, error;
