-- Seed 004 (role-gated messages, broadcasts, moderation).

-- name: pending_reports(now)
-- Seed 004 §6: `SELECT count(*) FROM reported_messages WHERE report_status='pending'`, with the
-- oldest one's age (reported_messages_pending_idx).
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM :now::timestamptz - min(created_at)), 0)::float8 AS oldest_age_s
FROM public.reported_messages
WHERE report_status = 'pending';

-- name: soft_deleted(now)
-- Seed 004: messages soft-deleted by moderators (is_deleted), total and in the last 24 h.
SELECT count(*) AS deleted,
       count(*) FILTER (WHERE deleted_at >= :now::timestamptz - interval '24 hours') AS last_24h
FROM public.messages
WHERE is_deleted;

-- name: quota_exhausted()
-- Seed 004: broadcast quotas at their limit (the 3rd broadcast is blocked).
SELECT count(*) FILTER (WHERE broadcasts_sent >= broadcast_limit) AS exhausted,
       count(*) AS quotas
FROM public.broadcast_quotas;

-- name: quota_reset_age(now)
-- Seed 004 §3.2: hours since the nightly reset-broadcast-quotas (02:00 UTC) last ran.
SELECT coalesce(extract(epoch FROM :now::timestamptz - max(last_reset_at)) / 3600.0, 0)::float8
         AS age_h,
       max(last_reset_at) AS last_reset_at
FROM public.broadcast_quotas;

-- name: rls_enabled()
-- Seed 004 §3.1: `SELECT relrowsecurity FROM pg_class WHERE relname = 'messages'`, qualified to
-- public.messages (communication.messages is another table).
SELECT (NOT c.relrowsecurity)::int AS rls_off, c.relrowsecurity AS rls_enabled,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
WHERE c.oid = 'public.messages'::regclass;

-- name: pending_page(after_sort, after_id, limit)
-- Pending reports, oldest first (keyset on created_at, id), with a preview of the message.
SELECT r.id, r.created_at, r.reason, r.message_id, m.sender_id,
       left(m.content, 200) AS preview, length(m.content) AS content_length, m.is_deleted
FROM public.reported_messages r
JOIN public.messages m ON m.id = r.message_id
WHERE r.report_status = 'pending'
  AND (:after_id::bigint IS NULL
       OR (r.created_at, r.id) > (:after_sort::timestamptz, :after_id::bigint))
ORDER BY r.created_at, r.id
LIMIT :limit;

-- name: quotas_page(after_sort, after_id, limit)
-- Broadcast quotas, fullest first.
SELECT id, user_id, show_id, broadcasts_sent, broadcast_limit, last_reset_at
FROM public.broadcast_quotas
WHERE :after_id::uuid IS NULL
   OR (broadcasts_sent, id) < (:after_sort::int, :after_id::uuid)
ORDER BY broadcasts_sent DESC, id DESC
LIMIT :limit;

-- name: report_status()
-- Seed 004 moderation: reported_messages by report_status, every status the column can hold
-- (pending, dismissed, upheld in the demo). A whole-table aggregate, index-only on
-- reported_messages_status_idx.
SELECT report_status, count(*) AS count
FROM public.reported_messages
GROUP BY report_status
ORDER BY report_status;
