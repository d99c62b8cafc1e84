-- Seed 003 (atomic V2 conversations): adoption, success rate, V1 leftovers.

-- name: v2_daily(now)
-- Seed 003 "V2 adoption rate": V2 conversations per UTC day for the 7 days up to now
-- (index-only on conversations_v2_created_at_idx); days without any show 0.
SELECT to_char(d.day, 'YYYY-MM-DD') AS day, count(c.created_at) AS count
FROM generate_series(date_trunc('day', :now::timestamptz AT TIME ZONE 'UTC') - interval '6 days',
                     date_trunc('day', :now::timestamptz AT TIME ZONE 'UTC'),
                     interval '1 day') AS d (day)
LEFT JOIN public.conversations_v2 c
  ON c.created_at >= d.day AT TIME ZONE 'UTC'
 AND c.created_at < (d.day + interval '1 day') AT TIME ZONE 'UTC'
 AND c.created_at <= :now::timestamptz
GROUP BY d.day
ORDER BY d.day;

-- name: v2_success_rate()
-- Seed 003 "V2 success rate": conversations with an initial message over all conversations.
-- The total is an exact count(*) (index-only on the narrowest index), the failures are counted on
-- the partial index conversations_v2_no_initial_idx, so no row of the table is read.
SELECT t.total,
       t.total - t.without_initial AS with_initial_message,
       CASE WHEN t.total > 0
            THEN round((t.total - t.without_initial)::numeric / t.total * 100, 2)
       END::float8 AS success_rate_pct
FROM (
  SELECT (SELECT count(*) FROM public.conversations_v2) AS total,
         (SELECT count(*) FROM public.conversations_v2 WHERE initial_message IS NULL)
           AS without_initial
  OFFSET 0  -- each count once, not once per use below
) t;

-- name: v1_orphans()
-- Seed 003 "Problem Statement": V1 conversations left by the non-atomic 3-step create, with no
-- participants or no messages.
SELECT count(*) FILTER (WHERE NOT x.has_participants OR NOT x.has_messages) AS orphans,
       count(*) FILTER (WHERE NOT x.has_participants) AS without_participants,
       count(*) FILTER (WHERE NOT x.has_messages) AS without_messages,
       count(*) AS v1_conversations
FROM (
  SELECT EXISTS (SELECT 1 FROM public.conversation_participants p
                  WHERE p.conversation_id = c.id) AS has_participants,
         EXISTS (SELECT 1 FROM public.messages m WHERE m.conversation_id = c.id) AS has_messages
  FROM public.conversations c
  OFFSET 0  -- one probe per conversation and table: the filters below must not repeat them
) x;

-- name: recent_v2_page(after_sort, after_id, limit)
-- Recent V2 conversations, newest first (keyset on created_at, id).
SELECT c.id, c.created_at, c.status, c.help_request_id, c.requester_id, c.helper_id,
       left(c.initial_message, 120) AS initial_message,
       (SELECT count(*) FROM public.messages_v2 m WHERE m.conversation_id = c.id) AS messages
FROM public.conversations_v2 c
WHERE :after_id::uuid IS NULL
   OR (c.created_at, c.id) < (:after_sort::timestamptz, :after_id::uuid)
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit;

-- name: v2_status()
-- Seed 003: conversations_v2 by status (create_conversation_atomic writes 'active'), every status
-- the column can hold. A whole-table aggregate, index-only on conversations_v2_status_idx.
SELECT status, count(*) AS count
FROM public.conversations_v2
GROUP BY status
ORDER BY status;

-- name: v2_unsendable()
-- Seed 003 "Fix 2: send_message_v2": it accepts a message only in a conversation whose status is
-- 'active' and refuses every other one with permission_denied; these are the conversations it
-- would refuse, by status. Cost follows them (conversations_v2_status_idx).
SELECT status, count(*) AS count
FROM public.conversations_v2
WHERE status <> 'active'
GROUP BY status
ORDER BY status;

-- name: help_request_status()
-- Seed 003 "Fix 1: create_conversation_atomic": help_requests by status. A helper can start a
-- conversation only on an 'open' or 'in_progress' request; the others get
-- help_request_unavailable. Whole table, index-only on help_requests_status_idx.
SELECT status, count(*) AS count
FROM public.help_requests
GROUP BY status
ORDER BY status;
