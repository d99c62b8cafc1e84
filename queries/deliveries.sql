-- Seed 002 (message_deliveries.user_id linkage): integrity, trigger activity, flags, triggers.

-- name: inconsistency_rate()
-- Seed 002 "Inconsistency Rate": deliveries with NULL user_id whose guest is linked and not
-- removed (the debugging query's rows), over all deliveries. The numerator is a merge join of
-- two partial indexes read index-only in guest order, message_deliveries_unlinked_idx (the
-- deliveries with NULL user_id) and event_guests_linked_idx (the linked, active guests), so its
-- cost follows the unlinked deliveries, not the table; the total is exact while the table is
-- small and the planner's estimate once it is large (total_is_estimate).
SELECT i.inconsistent,
       t.total,
       t.total_is_estimate,
       CASE WHEN t.total > 0 THEN round(100.0 * i.inconsistent / t.total, 4) ELSE 0 END::float8
         AS rate_pct
FROM (
  SELECT count(*) AS inconsistent
  FROM public.message_deliveries d
  JOIN public.event_guests g ON g.id = d.guest_id
  WHERE d.user_id IS NULL AND g.user_id IS NOT NULL AND g.removed_at IS NULL
) i,
(
  SELECT CASE WHEN e.estimate < 200000
              THEN (SELECT count(*) FROM public.message_deliveries)
              ELSE e.estimate END AS total,
         e.estimate >= 200000 AS total_is_estimate
  FROM (
    SELECT greatest(c.reltuples, coalesce(s.n_live_tup, 0), 0)::bigint AS estimate
    FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.oid = 'public.message_deliveries'::regclass
  ) e
) t;

-- name: trigger_success_rate(now)
-- Seed 002 "Trigger Success Rate": successful links / attempts of the auto-link trigger in the
-- 24 h before now (user_link_audit_created_at_idx). NULL rate when there were no attempts.
SELECT count(*) AS attempts,
       count(*) FILTER (WHERE outcome = 'linked') AS linked,
       count(*) FILTER (WHERE outcome = 'no_match') AS no_match,
       count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
       count(*) FILTER (WHERE outcome NOT IN ('linked', 'no_match', 'skipped')) AS other,
       CASE WHEN count(*) > 0
            THEN round(100.0 * count(*) FILTER (WHERE outcome = 'linked') / count(*), 2)
       END::float8 AS rate_pct
FROM public.user_link_audit
WHERE table_name = 'message_deliveries'
  AND created_at >= :now::timestamptz - interval '24 hours'
  AND created_at <= :now::timestamptz;

-- name: backfill_activity(now)
-- Seed 002 "Backfill Activity": automatic and manual backfills in the 24 h before now.
SELECT count(*) AS backfills,
       coalesce(sum((metadata ->> 'deliveries_updated')::int), 0) AS deliveries_updated,
       max(created_at) AS latest
FROM public.user_link_audit
WHERE table_name = 'message_deliveries_backfill'
  AND created_at >= :now::timestamptz - interval '24 hours'
  AND created_at <= :now::timestamptz;

-- name: triggers_enabled()
-- Seed 002 "Rollback Plan": the two linkage triggers, present and enabled.
SELECT count(*) FILTER (WHERE t.oid IS NULL OR t.tgenabled = 'D') AS not_enabled,
       coalesce(string_agg(v.name, ', ') FILTER (WHERE t.oid IS NOT NULL AND t.tgenabled = 'D'), '')
         AS disabled,
       coalesce(string_agg(v.name, ', ') FILTER (WHERE t.oid IS NULL), '') AS missing
FROM (VALUES ('public.message_deliveries', 'trigger_message_deliveries_auto_link_user'),
             ('public.event_guests', 'trigger_backfill_deliveries_on_guest_link')) AS v (rel, name)
LEFT JOIN pg_trigger t ON t.tgrelid = to_regclass(v.rel) AND t.tgname = v.name;

-- name: feature_flags()
-- Seed 002 "Feature Flags": the two linking flags, read through get_feature_flag().
SELECT public.get_feature_flag('LINK_USER_BY_PHONE') AS main_linking,
       public.get_feature_flag('LINK_USER_BY_PHONE_FALLBACK_TO_USERS') AS phone_fallback,
       (NOT public.get_feature_flag('LINK_USER_BY_PHONE'))::int AS main_linking_off;

-- name: unlinked_page(after_id, limit)
-- Seed 002's debugging query "deliveries that should be linkable but aren't", keyset on id.
SELECT d.id, g.guest_name, g.user_id AS guest_user_id, d.user_id AS delivery_user_id,
       g.event_id, d.guest_id, d.created_at
FROM public.message_deliveries d
JOIN public.event_guests g ON g.id = d.guest_id
WHERE d.user_id IS NULL
  AND g.user_id IS NOT NULL
  AND g.removed_at IS NULL
  AND (:after_id::uuid IS NULL OR d.id > :after_id::uuid)
ORDER BY d.id
LIMIT :limit;

-- name: link_audit_page(after_sort, after_id, limit)
-- Seed 002 "Check recent trigger activity": user_link_audit, newest first (keyset).
SELECT id, created_at, table_name, outcome, record_id, matched_user_id,
       metadata::text AS metadata
FROM public.user_link_audit
WHERE :after_id::bigint IS NULL
   OR (created_at, id) < (:after_sort::timestamptz, :after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- name: null_user_causes()
-- Seed 002 "Linkage Rules" and "Debugging Queries": every delivery with NULL user_id, by why it
-- has none. linkable: its guest is linked and not removed (the debugging query's rows, the
-- inconsistency); guest_removed: its guest was removed (seed 002 links active guests only);
-- guest_not_linked: its guest has no user yet (nothing to link until the guest gets one);
-- no_guest: no guest row (guest_id NULL, or a guest that no longer exists). Exact counts in one
-- pass: message_deliveries_unlinked_idx read index-only in guest order and counted per guest
-- (about 260 k guests for 2.2 M deliveries at scale 100), merge-joined with
-- event_guests_state_idx (every guest's id, user_id and removed_at, index-only), so each
-- delivery with NULL user_id is read once, not once per cause (four passes took ~1.7 s at
-- 10 M deliveries, this one ~0.45 of that; bench/DIAGNOSIS.md).
SELECT v.cause, v.count
FROM (
  SELECT coalesce(sum(t.n) FILTER (WHERE g.user_id IS NOT NULL AND g.removed_at IS NULL), 0)::bigint
           AS linkable,
         coalesce(sum(t.n) FILTER (WHERE g.removed_at IS NOT NULL), 0)::bigint AS guest_removed,
         coalesce(sum(t.n) FILTER (WHERE g.id IS NOT NULL AND g.user_id IS NULL
                                     AND g.removed_at IS NULL), 0)::bigint AS guest_not_linked,
         coalesce(sum(t.n) FILTER (WHERE g.id IS NULL), 0)::bigint AS no_guest
  FROM (SELECT d.guest_id, count(*) AS n
        FROM public.message_deliveries d
        WHERE d.user_id IS NULL
        GROUP BY d.guest_id) t
  LEFT JOIN public.event_guests g ON g.id = t.guest_id
) t,
LATERAL (VALUES (1, 'linkable', t.linkable),
                (2, 'guest_removed', t.guest_removed),
                (3, 'guest_not_linked', t.guest_not_linked),
                (4, 'no_guest', t.no_guest))
  AS v (ord, cause, count)
ORDER BY v.ord;

-- name: link_outcomes(now)
-- Seed 002 "Audit Trail" (user_link_audit by outcome) for the auto-link trigger's attempts of
-- the 24 h before now: every outcome the column can hold and every one the data holds, so an
-- outcome the runbook does not name (it names linked, no_match, skipped) is shown, not only
-- counted in deliveries.trigger_success_rate's total. Index-only on
-- user_link_audit_deliveries_idx.
SELECT outcome, count(*) AS count
FROM public.user_link_audit
WHERE table_name = 'message_deliveries'
  AND created_at >= :now::timestamptz - interval '24 hours'
  AND created_at <= :now::timestamptz
GROUP BY outcome
ORDER BY count(*) DESC, outcome;
