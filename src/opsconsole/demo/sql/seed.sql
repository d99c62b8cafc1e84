-- opsconsole demo data generator: deterministic rows for all five subsystems, plus the planted
-- faults the console exists to find. Pure SQL over generate_series, run by setup.seed() inside
-- one transaction after it has set three settings:
--   opsconsole.scale   size factor N (1 = ~100 k deliveries; 100 = 10 M deliveries)
--   opsconsole.seed    the seed: the same seed and scale give identical rows, ids included
--   opsconsole.anchor  the "now" every timestamp is relative to ('' = the server's now())
-- Ids and pseudo-random choices come from seeded hashes of (tag, i), never random(). Tables are
-- generated set-based with arithmetic on the series index (no per-row joins or loops).
--
-- Measured with setup.init_schema + setup.seed (ANALYZE included) on the local PostgreSQL 15,
-- 2 vCPU, default settings (shared_buffers 128 MB, max_wal_size 1 GB):
--   scale 1:   5.0 s (init 0.3 s + seed 4.6 s) on an idle machine; 9-12 s with other test
--              suites and a benchmark load running beside it.
--   scale 100: 552 s (init 1.1 s + seed 551 s) with other loads running (load average 5-7);
--              an earlier run's backend used 330 s of CPU. 5.8 GB: 10 000 000 deliveries,
--              2 000 000 jobs, 958 569 coordination rows, 2 000 000 linkup members,
--              1 000 000 guests, 2 147 000 public.messages, 500 000 reports, 974 824
--              messages_v2, 1 500 000 delivery attempts, 2 000 000 participants.
--   Per-row foreign-key checks were the dominant cost (20-60 us a row): hence the one-pass
--   validation at the end (below).
--
-- Rows per scale N (approximate where a hash decides; exact counts at scale 1 in brackets):
--   public.users 5 000 N, events 500 N, event_guests 10 000 N, message_deliveries 100 000 N,
--   linkups 1 000 N, linkup_members 20 000 N, linkup_coordination_messages ~9 600 N [9 583],
--   sms_outbound_jobs exactly 20 000 N, auth.users/profiles 3 000 N, help_requests 2 000 N,
--   conversations_v2 2 500 N, messages_v2 ~9 750 N [9 752], V1 conversations 500 N,
--   public.messages 20 000 N + 1 470 N (V1), reported_messages 5 000 N, broadcast_quotas 200 N,
--   core.organizations 4 N, core.users 500 N, communication.messages 5 000 N (recipients and
--   delivery attempts 15 000 N, participants 20 000 N), user_link_audit 5 000 N, 3 flags.
--
-- Planted faults (proportional to N unless a count is fixed; all relative to the anchor A):
--   F1 unlinked deliveries: 0.5 % of the deliveries of linked, active guests have user_id NULL
--      [379: rate 0.379 %, seed 002's WARNING]. Not inconsistent, and not counted: half the
--      deliveries of removed-but-linked guests (3 % of guests) [1 224] and all deliveries of
--      guests without a user (20 %, and the ambiguous same-phone guest pairs) [19 730], of which
--      2 % of the active guests' have no guest row at all (guest_id NULL) [366].
--      deliveries.null_user_causes: [379 linkable, 1 934 guest removed, 18 654 guest not linked,
--      366 no guest].
--   F2 jobs: failed jobs carry exactly five distinct last_error strings [540 failed, 96-126
--      each]; 12 N planted failures in the hour before A, plus those of fresh coordination
--      locks [18 in all]; 4 N stuck 'running' with locked_at 20-89 min before A [4]; the
--      longest-waiting pending job became due (run_after) exactly 3 h 30 min before A [357
--      pending]; one in a thousand sent jobs is instead replayed 5 min-2 h before A, created
--      1-30 days before, so counting from created_at would read weeks [9].
--   F3 coordination: 5 N locked linkups (l % 200 = 3, locked 6-48 h before A) miss 1-2 intents
--      [5 linkups, 7 intents]; 0.5 % of the intents of older locks are pending or enqueued
--      without a job [42]. Suppressed intents (opted_out, no_phone, quiet_hours) never got a
--      job; every other intent references a linkup_coordination job with its idempotency key.
--   F4 moderation: 40 N pending reports (r % 125 = 0), the oldest exactly 26 h old; the eight
--      oldest carry hostile text in reason and message (Rich markup, OSC 52 clipboard write,
--      clear screen, set title, control characters, a ~105 KB body, cursor movement, bidi
--      overrides). Upheld reports soft-deleted their message, as did moderators for 1 % of
--      the rest [2 164 soft-deleted].
--   F5 broadcast quotas: 1 in 8 exhausted (broadcasts_sent = broadcast_limit) [25 of 200];
--      every last_reset_at is A - 34 h (+ up to 59 s): the nightly 02:00 reset was missed.
--   F6 V1 conversations: 1 in 50 have neither participants nor messages [10 of 500].
--   F7 V2 conversations: 2.5 % have initial_message NULL [success rate 97.52 %]; daily
--      counts grow over the 7 days before A (adoption ramping up).
--   F8 communication: 0.3 % of delivery attempts are 'scheduled' and due (5 min-4 h before A)
--      [55]; 4.5 % failed; 20 % of recipients unread.
--   F9 trigger_backfill_deliveries_on_guest_link is left DISABLED (seed 002's rollback state);
--      trigger_message_deliveries_auto_link_user is enabled.
--   F10 user_link_audit: 1 % of the auto-link trigger's rows have outcome 'error', which seed
--      002's runbook does not name [41; 7 in the 24 h before A].

-- ---------------------------------------------------------------------------------------------
-- Settings and helpers (temporary: dropped at the end).
-- ---------------------------------------------------------------------------------------------
DO $guard$
BEGIN
  IF coalesce(nullif(current_setting('opsconsole.scale', true), '')::int, 0) < 1 THEN
    RAISE EXCEPTION 'opsconsole.scale must be a positive integer (got %)',
      coalesce(current_setting('opsconsole.scale', true), 'unset');
  END IF;
  IF nullif(current_setting('opsconsole.seed', true), '') IS NULL THEN
    RAISE EXCEPTION 'opsconsole.seed is not set';
  END IF;
END
$guard$;

-- JIT would compile every generator for seconds at scale 1 (the planner cannot see how few rows
-- the small inserts make); the generators are simple expressions that gain nothing from it.
SET LOCAL jit = off;
-- Room for the hash joins of the few joined statements and of the foreign-key validation at
-- the end (10 M deliveries against 1 M guests at scale 100) to stay in memory.
SET LOCAL work_mem = '256MB';

-- The three settings as one row: n = scale, s = seed, a = the anchor ("now").
CREATE FUNCTION pg_temp.params() RETURNS TABLE (n bigint, s bigint, a timestamptz)
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT current_setting('opsconsole.scale')::bigint,
         current_setting('opsconsole.seed')::bigint,
         coalesce(nullif(current_setting('opsconsole.anchor', true), '')::timestamptz, now())
  OFFSET 0
$$;

-- Pseudo-randomness without random(): h(tag, i) is a 64-bit hash of (tag, i) under the seed.
-- PostgreSQL's extended hash functions are the ones hash partitioning relies on, so they give
-- the same values on every server version. The seed is written into the helpers as a literal
-- (they are IMMUTABLE), so the planner folds hashtextextended(tag, seed) into a constant and a
-- row costs one hashint8extended() per draw.
DO $helpers$
DECLARE
  seed bigint := current_setting('opsconsole.seed')::bigint;
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION pg_temp.h(tag text, i bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS 'SELECT hashint8extended(i, hashtextextended(tag, (%s)::bigint))'$f$, seed);
  -- The id of row i of a table (tag): 8 hex digits of the seeded tag, 8 of the row number and
  -- 16 of its hash, e.g. a56d5b1c-0000-0001-7f7e-5b2dbf8039a0. Row numbers ascend, so each
  -- table's primary key (and the indexes that lead with an id) grow at their right edge while
  -- loading, which keeps the 10 M-row scale-100 load fast.
  EXECUTE format($f$
    CREATE FUNCTION pg_temp.hid(tag text, i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
    AS 'SELECT (lpad(to_hex(hashtextextended(tag, (%s)::bigint) & 4294967295), 8, ''0'')
                 || lpad(to_hex(i), 8, ''0'')
                 || lpad(to_hex(hashint8extended(i, hashtextextended(tag, (%s)::bigint))), 16, ''0''))::uuid'
    $f$, seed, seed);
  -- 16 pseudo-random bytes (the demo's stand-in for an encrypted SMS body).
  EXECUTE format($f$
    CREATE FUNCTION pg_temp.hbytes(tag text, i bigint) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS 'SELECT decode(md5((%s)::text || '':'' || tag || '':'' || i::text), ''hex'')'$f$,
    seed);
END
$helpers$;

-- A non-negative 28-bit number drawn from a hash; k picks one of several independent draws.
CREATE FUNCTION pg_temp.hn(hash bigint, k int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT (hashint8extended(hash, k) & 268435455)::int $$;

CREATE FUNCTION pg_temp.rnd(tag text, i bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT (pg_temp.h(tag, i) & 268435455)::int $$;

-- The phone of public.users row u; every 1000th user shares the previous one's phone
-- (ambiguous for seed 002's phone fallback).
CREATE FUNCTION pg_temp.user_phone(u bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT '+1555' || lpad((u - (u % 1000 = 0)::int)::text, 8, '0')
$$;

-- Guest g of event (g-1)/20+1: computed, so deliveries can find their guest's user by
-- arithmetic instead of a join. 80 % are linked to a user, 3 % removed; in every 100th event
-- slots 18 and 19 are two active, unlinked guests sharing one phone (ambiguous: no_match).
CREATE FUNCTION pg_temp.guest(g bigint, n bigint)
RETURNS TABLE (id uuid, event_no bigint, slot int, user_no bigint, linked boolean,
               removed boolean, ambiguous boolean, phone text)
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT pg_temp.hid('guest', g),
         (g - 1) / 20 + 1,
         ((g - 1) % 20)::int,
         b.user_no,
         b.linked, b.removed, b.amb,
         CASE WHEN b.amb THEN '+1557' || lpad(((g - 1) / 20 + 1)::text, 8, '0')
              WHEN b.linked THEN pg_temp.user_phone(b.user_no)
              ELSE '+1556' || lpad(g::text, 8, '0') END
  FROM (SELECT a.amb,
               NOT a.amb AND pg_temp.hn(a.gh, 1) % 100 < 80 AS linked,
               NOT a.amb AND pg_temp.hn(a.gh, 2) % 100 < 3 AS removed,
               (pg_temp.hn(a.gh, 3) % (5000 * n) + 1)::bigint AS user_no
        FROM (SELECT pg_temp.h('guest_attr', g) AS gh,
                     ((g - 1) / 20 + 1) % 100 = 0 AND (g - 1) % 20 >= 18 AS amb) a) b
$$;

-- Linkup l: 60 % locked (l % 10 < 6), 30 % open, 10 % cancelled. Every 50th (l % 50 = 1) was
-- locked 5-175 min before the anchor and is still being sent; l % 200 = 3 are the linkups
-- with missing intents (F3), locked 6-48 h before the anchor; other locks are 6 h-14 days old.
CREATE FUNCTION pg_temp.linkup(l bigint, a timestamptz, n bigint)
RETURNS TABLE (id uuid, state text, lock_version int, locked_at timestamptz,
               created_at timestamptz, confirmed int, missing int, recent boolean,
               user_offset int)
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT pg_temp.hid('linkup', l),
         x.state,
         CASE WHEN x.state = 'locked'
              THEN 1 + (pg_temp.hn(x.lh, 1) % 10 = 0)::int + (pg_temp.hn(x.lh, 1) % 50 = 0)::int
              ELSE 0 END,
         x.locked_at,
         coalesce(x.locked_at, a - (pg_temp.hn(x.lh, 8) % (14 * 1440)) * interval '1 minute')
           - (1 + pg_temp.hn(x.lh, 15) % 72) * interval '1 hour',
         12 + pg_temp.hn(x.lh, 22) % 9,
         CASE WHEN l % 200 = 3 THEN 1 + ((l / 200) % 2)::int ELSE 0 END,
         l % 50 = 1,
         pg_temp.hn(x.lh, 4) % (5000 * n)
  FROM (SELECT y.lh, y.state,
               CASE WHEN y.state <> 'locked' THEN NULL
                    WHEN l % 50 = 1
                      THEN a - (5 + pg_temp.hn(y.lh, 8) % 170) * interval '1 minute'
                    WHEN l % 200 = 3
                      THEN a - (360 + pg_temp.hn(y.lh, 8) % (42 * 60)) * interval '1 minute'
                    ELSE a - (360 + pg_temp.hn(y.lh, 8) % (14 * 1440 - 360)) * interval '1 minute'
               END AS locked_at
        FROM (SELECT pg_temp.h('linkup_attr', l) AS lh,
                     CASE WHEN l % 10 < 6 THEN 'locked' WHEN l % 10 < 9 THEN 'open'
                          ELSE 'cancelled' END AS state) y) x
$$;

-- Help request h: its requester (an auth.users number), status and creation time; 70 % were
-- created in the 8 days before the anchor, more of them the more recent the day (V2 adoption
-- ramps up), the rest 8-60 days before.
CREATE FUNCTION pg_temp.help_request(h bigint, a timestamptz, n bigint, s bigint)
RETURNS TABLE (id uuid, requester_no bigint, status text, created_at timestamptz)
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT pg_temp.hid('help', h),
         (pg_temp.rnd('help_requester', h) % (3000 * n) + 1)::bigint,
         CASE WHEN h % 100 < 40 THEN 'open' WHEN h % 100 < 65 THEN 'in_progress'
              WHEN h % 100 < 95 THEN 'closed' ELSE 'cancelled' END,
         a - (CASE WHEN h % 10 < 7
                   THEN 30 + floor((8 * 1440 - 30)
                                   * power((pg_temp.rnd('help_age', h) % 10000) / 10000.0, 1.5))
                   ELSE 8 * 1440 + (h * 104729 + s) % (52 * 1440) END) * interval '1 minute'
$$;

CREATE TEMP TABLE seed_errors (k int PRIMARY KEY, error text NOT NULL);
-- F2: the five distinct last_error strings of failed sms_outbound_jobs.
INSERT INTO seed_errors VALUES
  (0, 'Twilio 21610: Attempt to send to unsubscribed recipient'),
  (1, 'Twilio 21211: Invalid ''To'' Phone Number'),
  (2, 'Twilio 30003: Unreachable destination handset'),
  (3, 'Twilio 30005: Unknown destination handset'),
  (4, 'Twilio 20429: Too Many Requests');

-- Bulk loads bypass the per-row linkage triggers (re-enabled at the end, see F9).
ALTER TABLE public.message_deliveries DISABLE TRIGGER trigger_message_deliveries_auto_link_user;
ALTER TABLE public.event_guests DISABLE TRIGGER trigger_backfill_deliveries_on_guest_link;

-- ... and the per-row foreign-key checks, which cost more than generating and indexing the rows
-- (20-60 us a row on a small machine: most of a scale-100 load). As pg_restore does, the
-- foreign keys of the seeded schemas are dropped for the load and re-added at the end under the
-- same names with the same definitions (pg_get_constraintdef), so PostgreSQL validates each in
-- one pass. Indexes, checks and unique constraints stay in place throughout.
CREATE TEMP TABLE seed_fks AS
SELECT c.conrelid::regclass::text AS rel, c.conname, pg_get_constraintdef(c.oid) AS def
FROM pg_constraint AS c
WHERE c.contype = 'f'
  AND c.connamespace IN ('public'::regnamespace, 'auth'::regnamespace, 'core'::regnamespace,
                         'communication'::regnamespace);

DO $drop_fks$
DECLARE
  fk record;
BEGIN
  FOR fk IN SELECT * FROM seed_fks ORDER BY rel, conname LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
  END LOOP;
END
$drop_fks$;

-- ---------------------------------------------------------------------------------------------
-- Seed 002: users, events, event_guests, message_deliveries, user_link_audit, feature_flags.
-- ---------------------------------------------------------------------------------------------
INSERT INTO public.users (id, phone, full_name, created_at)
SELECT pg_temp.hid('user', i),
       pg_temp.user_phone(i),
       (ARRAY['Ava', 'Ben', 'Chloe', 'Dev', 'Elif', 'Finn', 'Grace', 'Hugo', 'Isla', 'Jonas',
              'Kemal', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sami',
              'Tara'])[1 + i % 20]
         || ' ' ||
       (ARRAY['Adler', 'Brooks', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad',
              'Ito', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Petrov',
              'Quist', 'Rossi', 'Silva', 'Tanaka'])[1 + (i / 20) % 20],
       p.a - (100 + (i * 7919 + p.s) % 700) * interval '1 day'
           - ((i * 104729) % 86400) * interval '1 second'
FROM pg_temp.params() AS p, generate_series(1, 5000 * p.n) AS i;

INSERT INTO public.events (id, title, starts_at, created_at)
SELECT pg_temp.hid('event', e),
       (ARRAY['Board game night', 'Community dinner', 'Trail cleanup', 'Book club',
              'Jazz in the park', 'Card show', 'Hackathon', 'Farmers market', 'Quiz night',
              'Charity run'])[1 + e % 10] || ' #' || e,
       p.a - 30 * interval '1 day' + (e % 120) * interval '1 day' + interval '18 hours',
       p.a - (95 + (e * 7919 + p.s) % 200) * interval '1 day'
FROM pg_temp.params() AS p, generate_series(1, 500 * p.n) AS e;

INSERT INTO public.event_guests
  (id, event_id, user_id, guest_name, phone, removed_at, created_at, updated_at)
SELECT gu.id,
       pg_temp.hid('event', gu.event_no),
       CASE WHEN gu.linked THEN pg_temp.hid('user', gu.user_no) END,
       'Guest ' || g,
       gu.phone,
       x.removed_at,
       x.created_at,
       coalesce(x.removed_at, x.created_at)
FROM pg_temp.params() AS p,
     generate_series(1, 10000 * p.n) AS g,
     LATERAL pg_temp.guest(g, p.n) AS gu,
     LATERAL (SELECT
                p.a - (95 + (gu.event_no * 7919 + p.s) % 200) * interval '1 day'
                    + gu.slot * interval '1 hour' AS created_at,
                CASE WHEN gu.removed
                     THEN p.a - (1 + g % 80) * interval '1 day' - (g % 3600) * interval '1 second'
                END AS removed_at) AS x;

-- Every event sent 10 messages to all of its 20 guests: delivery i is event (i-1)/200+1,
-- its message (i-1)%200/20 (message k = 10 (event-1) + that + 1) and guest slot (i-1)%20.
-- Messages are spread over the 90 days before A.
-- F1: user_id is the guest's user, except 0.5 % of linked, active guests' deliveries (NULL:
-- the inconsistency), half of removed guests' deliveries (NULL, not inconsistent), and every
-- delivery of a guest without a user (NULL, not inconsistent); 2 % of the deliveries of active
-- guests without a user have no guest row at all (guest_id NULL: sent to a number that is not
-- on the guest list), the fourth cause of deliveries.null_user_causes.
INSERT INTO public.message_deliveries
  (id, message_id, guest_id, user_id, phone_number, sms_status, created_at, updated_at)
SELECT pg_temp.hid('delivery', d.i),
       pg_temp.hid('message', d.k),
       CASE WHEN NOT gu.linked AND NOT gu.removed AND d.r % 50 = 7 THEN NULL ELSE gu.id END,
       CASE WHEN NOT gu.linked THEN NULL
            WHEN gu.removed THEN CASE WHEN d.r % 2 = 0 THEN NULL
                                      ELSE pg_temp.hid('user', gu.user_no) END
            WHEN d.r % 1000 < 5 THEN NULL
            ELSE pg_temp.hid('user', gu.user_no) END,
       gu.phone,
       CASE WHEN d.r2 % 100 < 70 THEN 'delivered' WHEN d.r2 % 100 < 90 THEN 'sent'
            WHEN d.r2 % 100 < 97 THEN 'failed' ELSE 'pending' END,
       d.t,
       least(d.t + (1 + d.r2 % 30) * interval '1 minute', d.a)
FROM (SELECT i, k, p.n, p.a,
             ((i - 1) / 200) * 20 + (i - 1) % 20 + 1 AS g,
             pg_temp.hn(dh, 1) AS r, pg_temp.hn(dh, 8) AS r2,
             p.a - (1 + (k * 7919 + p.s * 104729) % (90 * 1440)) * interval '1 minute'
                 + ((i - 1) % 20) * interval '1 second' AS t
      FROM pg_temp.params() AS p,
           generate_series(1, 100000 * p.n) AS i,
           LATERAL (SELECT pg_temp.h('delivery_attr', i) AS dh,
                           ((i - 1) / 200) * 10 + ((i - 1) % 200) / 20 + 1 AS k) AS hx
      OFFSET 0) AS d,
     LATERAL pg_temp.guest(d.g, d.n) AS gu;

-- Linkage audit: 1 000 N rows in the 24 h before A, 4 000 N over the 13 days before that.
-- 88 % linked, 6 % no_match, 3 % skipped on 'message_deliveries' (trigger success ~90 %), 1 %
-- 'error' there (an outcome seed 002's runbook does not name: deliveries.link_outcomes shows it),
-- and 2 % automatic backfills ('message_deliveries_backfill', linked).
INSERT INTO public.user_link_audit
  (table_name, record_id, event_id, phone, matched_user_id, outcome, metadata, created_at)
SELECT CASE WHEN x.o < 2 THEN 'message_deliveries_backfill' ELSE 'message_deliveries' END,
       CASE WHEN x.o < 2 THEN pg_temp.hid('guest', 1 + x.r2 % (10000 * x.n))
            ELSE pg_temp.hid('delivery', 1 + x.r2 % (100000 * x.n)) END,
       CASE WHEN x.o < 2 THEN NULL ELSE pg_temp.hid('event', 1 + x.r2 % (500 * x.n)) END,
       CASE WHEN x.o < 2 THEN NULL ELSE pg_temp.user_phone(1 + x.r3 % (5000 * x.n)) END,
       CASE WHEN x.o < 90 THEN pg_temp.hid('user', 1 + x.r3 % (5000 * x.n)) END,
       CASE WHEN x.o < 90 THEN 'linked' WHEN x.o < 96 THEN 'no_match' WHEN x.o < 99 THEN 'skipped'
            ELSE 'error' END,
       CASE WHEN x.o < 2 THEN jsonb_build_object('deliveries_updated', 1 + x.r2 % 5)
            WHEN x.o < 90 THEN jsonb_build_object('source', 'event_guests')
            WHEN x.o < 93 THEN jsonb_build_object('source', 'no_guest_user')
            WHEN x.o < 96 THEN jsonb_build_object('source', 'ambiguous_guests')
            WHEN x.o < 99 THEN jsonb_build_object('reason', 'LINK_USER_BY_PHONE disabled')
            ELSE jsonb_build_object('error', 'could not serialize access due to concurrent update',
                                    'sqlstate', '40001') END,
       x.created_at
FROM (SELECT i, p.n, pg_temp.hn(ah, 1) % 100 AS o, pg_temp.hn(ah, 8) AS r2,
             pg_temp.hn(ah, 15) AS r3,
             CASE WHEN i <= 1000 * p.n
                  THEN p.a - (pg_temp.hn(ah, 22) % 86400) * interval '1 second'
                  ELSE p.a - interval '1 day'
                       - (pg_temp.hn(ah, 22) % (13 * 86400)) * interval '1 second' END
               AS created_at
      FROM pg_temp.params() AS p,
           generate_series(1, 5000 * p.n) AS i,
           LATERAL (SELECT pg_temp.h('audit', i) AS ah) AS hx
      OFFSET 0) AS x
ORDER BY x.created_at, x.i;

INSERT INTO public.feature_flags (name, enabled, description, updated_by, updated_at)
SELECT f.name, f.enabled, f.description, f.updated_by, p.a - f.age
FROM pg_temp.params() AS p,
     (VALUES ('LINK_USER_BY_PHONE', true,
              'Seed 002: link message_deliveries.user_id on insert (guest record first)',
              'ops@example.test', interval '41 days 3 hours'),
             ('LINK_USER_BY_PHONE_FALLBACK_TO_USERS', false,
              'Seed 002: fall back to the one users.phone match when no guest is linked',
              'ops@example.test', interval '41 days 3 hours'),
             ('messaging_v2_enabled', false,
              'Seed 004: role-gated messaging v2; flip after 50% adoption',
              'release-bot', interval '3 days 5 hours')) AS f (name, enabled, description,
                                                                updated_by, age);

-- ---------------------------------------------------------------------------------------------
-- Seed 000: linkups, members, coordination intents and sms_outbound_jobs.
-- ---------------------------------------------------------------------------------------------
INSERT INTO public.linkups (id, title, state, locked_at, lock_version, created_at)
SELECT lk.id,
       (ARRAY['Coffee', 'Climbing', 'Pickup soccer', 'Karaoke', 'Brunch', 'Museum trip',
              'Sunset hike', 'Trivia'])[1 + l % 8] || ' linkup #' || l,
       lk.state, lk.locked_at, lk.lock_version, lk.created_at
FROM pg_temp.params() AS p, generate_series(1, 1000 * p.n) AS l, LATERAL pg_temp.linkup(l, p.a, p.n) AS lk;

-- 20 member slots per linkup; the first `confirmed` (12-20) are confirmed, the others invited,
-- declined or left. Slot j is user (offset + 7919 j) mod U + 1: distinct within a linkup.
INSERT INTO public.linkup_members (linkup_id, user_id, status, created_at)
SELECT lk.id,
       pg_temp.hid('user', (lk.user_offset + j * 7919) % (5000 * p.n) + 1),
       CASE WHEN j < lk.confirmed THEN 'confirmed'
            WHEN (j - lk.confirmed) % 3 = 0 THEN 'invited'
            WHEN (j - lk.confirmed) % 3 = 1 THEN 'declined' ELSE 'left' END,
       lk.created_at + j * interval '2 minutes'
FROM pg_temp.params() AS p, generate_series(1, 1000 * p.n) AS l, LATERAL pg_temp.linkup(l, p.a, p.n) AS lk,
     generate_series(0, 19) AS j;

-- One intent per confirmed member of every locked linkup, for its current lock_version, minus
-- the missing ones (F3). Older locks: 88 % sent, 3.5 % failed, 8 % suppressed, 0.5 % pending or
-- enqueued WITHOUT a job (F3). Locks of the last 3 h: 40 % sent, 5 % failed, 5 % suppressed,
-- 30 % enqueued, 20 % pending, all with a pending (or just-locked running) job.
CREATE TEMP TABLE seed_ci AS
SELECT y.*,
       CASE WHEN y.status IN ('sent', 'failed') OR (y.recent AND y.status <> 'suppressed')
            THEN pg_temp.hid('coord_job', y.key) END AS job_id,
       CASE WHEN y.status IN ('sent', 'failed') THEN y.status
            WHEN y.recent AND y.status = 'enqueued' AND y.r % 100 >= 78 THEN 'running'
            ELSE 'pending' END AS job_status
FROM (SELECT x.*,
             CASE WHEN x.recent THEN
                    CASE WHEN x.r % 100 < 40 THEN 'sent' WHEN x.r % 100 < 45 THEN 'failed'
                         WHEN x.r % 100 < 50 THEN 'suppressed'
                         WHEN x.r % 100 < 80 THEN 'enqueued' ELSE 'pending' END
                  ELSE
                    CASE WHEN x.r % 1000 < 880 THEN 'sent' WHEN x.r % 1000 < 915 THEN 'failed'
                         WHEN x.r % 1000 < 995 THEN 'suppressed'
                         WHEN x.r % 1000 < 998 THEN 'pending' ELSE 'enqueued' END
             END AS status
      FROM (SELECT l * 100 + j AS key, l, j, lk.id AS linkup_id, lk.lock_version, lk.locked_at,
                   lk.recent,
                   (lk.user_offset + j * 7919) % (5000 * p.n) + 1 AS user_no,
                   pg_temp.rnd('coord', l * 100 + j) AS r,
                   p.a
            FROM pg_temp.params() AS p,
                 generate_series(1, 1000 * p.n) AS l,
                 LATERAL pg_temp.linkup(l, p.a, p.n) AS lk,
                 generate_series(0, lk.confirmed - 1 - lk.missing) AS j
            WHERE lk.state = 'locked') AS x) AS y;

-- The jobs of the coordination intents (purpose linkup_coordination, same idempotency key).
INSERT INTO public.sms_outbound_jobs
  (id, purpose, status, idempotency_key, to_phone, body_ciphertext, attempts, last_error,
   run_after, locked_at, sent_at, created_at, updated_at)
SELECT c.job_id, 'linkup_coordination', c.job_status,
       'linkup_coord:' || c.linkup_id || ':' || c.lock_version || ':'
         || pg_temp.hid('user', c.user_no),
       pg_temp.user_phone(c.user_no),
       pg_temp.hbytes('coord_body', c.key),
       CASE c.job_status WHEN 'failed' THEN 3 + c.r % 3 WHEN 'pending' THEN 0 ELSE 1 END,
       CASE WHEN c.job_status = 'failed' THEN (SELECT error FROM seed_errors WHERE k = c.r % 5) END,
       c.locked_at + (c.j * 2 + c.r % 30) * interval '1 second',
       CASE WHEN c.job_status = 'running' THEN c.a - (c.r % 120) * interval '1 second' END,
       CASE WHEN c.job_status = 'sent'
            THEN c.locked_at + (c.j * 2 + c.r % 30 + 5 + c.r % 90) * interval '1 second' END,
       c.locked_at + (c.j * 2 + c.r % 30) * interval '1 second',
       CASE c.job_status
         WHEN 'sent' THEN c.locked_at + (c.j * 2 + c.r % 30 + 5 + c.r % 90) * interval '1 second'
         WHEN 'failed' THEN least(c.locked_at + (1 + c.r % 4) * interval '1 minute'
                                    + (c.j * 2) * interval '1 second',
                                  c.a - interval '30 seconds')
         WHEN 'running' THEN c.a - (c.r % 120) * interval '1 second'
         ELSE c.locked_at + (c.j * 2 + c.r % 30) * interval '1 second' END
FROM seed_ci AS c
WHERE c.job_id IS NOT NULL;

-- The other jobs, up to exactly 20 000 N: invites, reminders and verification codes.
-- Jobs 1..4N are stuck running (F2), 4N+1..16N failed in the last hour (F2), 16N+1 is the
-- oldest pending job (3 h 30 min, F2); the rest: 96.5 % sent (30 days; one in a thousand of
-- them is instead a job replayed 5 min-2 h before A, created 1-30 days before and pending again
-- with its attempts and last_error, F2), 1.5 % failed earlier, 1.7 % pending (under 3 h old),
-- 0.3 % running with a fresh lock (under 3 min).
INSERT INTO public.sms_outbound_jobs
  (id, purpose, status, idempotency_key, to_phone, body_ciphertext, attempts, last_error,
   run_after, locked_at, sent_at, created_at, updated_at)
SELECT pg_temp.hid('job', x.i), x.purpose, x.status,
       x.purpose || ':' || pg_temp.hid('job', x.i),
       pg_temp.user_phone(1 + x.r2 % (5000 * x.n)),
       pg_temp.hbytes('job_body', x.i),
       CASE WHEN x.status = 'failed' OR x.kind = 'replayed' THEN 3 + x.r % 3
            WHEN x.status = 'pending' THEN 0 ELSE 1 END,
       CASE WHEN x.status = 'failed' OR x.kind = 'replayed'
            THEN (SELECT error FROM seed_errors WHERE k = (CASE WHEN x.kind = 'failed_recent'
                                                                THEN x.i % 5
                                                                ELSE x.r % 5 END)) END,
       coalesce(x.replayed_at, x.created_at),
       x.locked_at,
       CASE WHEN x.status = 'sent' THEN x.created_at + (3 + x.r % 57) * interval '1 second' END,
       x.created_at,
       CASE WHEN x.status = 'sent' THEN x.created_at + (3 + x.r % 57) * interval '1 second'
            WHEN x.status = 'failed' THEN x.failed_at
            WHEN x.status = 'running' THEN x.locked_at
            ELSE coalesce(x.replayed_at, x.created_at) END
FROM (SELECT y.*,
             CASE y.kind WHEN 'stuck' THEN 'running' WHEN 'fresh_running' THEN 'running'
                         WHEN 'failed_recent' THEN 'failed' WHEN 'failed_old' THEN 'failed'
                         WHEN 'oldest_pending' THEN 'pending' WHEN 'replayed' THEN 'pending'
                         ELSE y.kind END AS status,
             CASE WHEN y.kind = 'replayed'
                  THEN y.a - (5 + y.r % 115) * interval '1 minute' END AS replayed_at,
             CASE y.kind
               WHEN 'stuck' THEN y.a - (20 + (y.i * 37 + y.s) % 70) * interval '1 minute'
               WHEN 'fresh_running' THEN y.a - (y.r % 180) * interval '1 second'
             END AS locked_at,
             CASE y.kind
               WHEN 'failed_recent' THEN y.a - (2 + (y.i * 13) % 55) * interval '1 minute'
               WHEN 'failed_old'
                 THEN y.a - (61 + y.r2 % (30 * 1440 - 61)) * interval '1 minute'
             END AS failed_at,
             CASE y.kind
               WHEN 'stuck'
                 THEN y.a - (20 + (y.i * 37 + y.s) % 70 + 1 + y.r % 10) * interval '1 minute'
               WHEN 'fresh_running' THEN y.a - (y.r % 180 + 2) * interval '1 second'
               WHEN 'failed_recent'
                 THEN y.a - (2 + (y.i * 13) % 55 + 1 + y.r % 20) * interval '1 minute'
               WHEN 'failed_old'
                 THEN y.a - (61 + y.r2 % (30 * 1440 - 61) + 1 + y.r % 20) * interval '1 minute'
               WHEN 'replayed'
                 THEN y.a - (1 + y.r2 % 29) * interval '1 day' - (y.r % 1440) * interval '1 minute'
               WHEN 'oldest_pending' THEN y.a - interval '3 hours 30 minutes'
               WHEN 'pending' THEN y.a - (30 + y.r2 % (175 * 60)) * interval '1 second'
               ELSE y.a - (10 + y.r2 % (30 * 1440)) * interval '1 minute'
                        - (y.r % 60) * interval '1 second'
             END AS created_at
      FROM (SELECT i, p.n, p.s, p.a, pg_temp.hn(jh, 1) AS r, pg_temp.hn(jh, 8) AS r2,
                   CASE WHEN pg_temp.hn(jh, 15) % 100 < 45 THEN 'linkup_invite'
                        WHEN pg_temp.hn(jh, 15) % 100 < 80 THEN 'event_reminder'
                        ELSE 'verification_code' END AS purpose,
                   CASE WHEN i <= 4 * p.n THEN 'stuck'
                        WHEN i <= 16 * p.n THEN 'failed_recent'
                        WHEN i = 16 * p.n + 1 THEN 'oldest_pending'
                        WHEN pg_temp.hn(jh, 1) % 1000 < 965
                          THEN CASE WHEN pg_temp.hn(jh, 29) % 1000 = 0 THEN 'replayed'
                                    ELSE 'sent' END
                        WHEN pg_temp.hn(jh, 1) % 1000 < 980 THEN 'failed_old'
                        WHEN pg_temp.hn(jh, 1) % 1000 < 997 THEN 'pending'
                        ELSE 'fresh_running' END AS kind
            FROM pg_temp.params() AS p,
                 generate_series(1, 20000 * p.n
                                    - (SELECT count(*) FROM public.sms_outbound_jobs)) AS i,
                 LATERAL (SELECT pg_temp.h('job_attr', i) AS jh) AS hx
            OFFSET 0) AS y) AS x;

-- The intents themselves. Suppressed intents never got a job (opted_out, no_phone,
-- quiet_hours); every other intent references its job, except the F3 rows.
INSERT INTO public.linkup_coordination_messages
  (id, linkup_id, user_id, lock_version, status, suppress_reason, idempotency_key,
   sms_outbound_job_id, created_at, updated_at)
SELECT pg_temp.hid('coord', c.key), c.linkup_id, pg_temp.hid('user', c.user_no), c.lock_version,
       c.status,
       CASE WHEN c.status = 'suppressed'
            THEN (ARRAY['opted_out', 'no_phone', 'quiet_hours'])[1 + (c.r / 1000) % 3] END,
       'linkup_coord:' || c.linkup_id || ':' || c.lock_version || ':'
         || pg_temp.hid('user', c.user_no),
       c.job_id,
       c.locked_at + c.j * interval '1 second',
       CASE WHEN c.status IN ('sent', 'failed')
            THEN least(c.locked_at + (c.j * 2 + c.r % 30 + 5 + c.r % 90) * interval '1 second'
                         + (c.status = 'failed')::int * interval '4 minutes',
                       c.a - interval '30 seconds')
            ELSE c.locked_at + (c.j * 2 + c.r % 30) * interval '1 second' END
FROM seed_ci AS c;

-- ---------------------------------------------------------------------------------------------
-- Seed 003: auth.users, profiles, help_requests, V1 conversations, conversations_v2, messages_v2.
-- ---------------------------------------------------------------------------------------------
INSERT INTO auth.users (id, email, phone, created_at)
SELECT pg_temp.hid('auth', au), 'member' || au || '@example.test',
       '+1558' || lpad(au::text, 8, '0'),
       p.a - (60 + (au * 7919 + p.s) % 600) * interval '1 day'
FROM pg_temp.params() AS p, generate_series(1, 3000 * p.n) AS au;

-- auth user 1 is the admin, 2-5 are moderators; the rest by hash.
INSERT INTO public.profiles (id, role, created_at)
SELECT pg_temp.hid('auth', au),
       CASE WHEN au = 1 THEN 'admin' WHEN au <= 5 THEN 'moderator'
            WHEN r < 60 THEN 'attendee' WHEN r < 75 THEN 'dealer' WHEN r < 85 THEN 'mvp_dealer'
            WHEN r < 95 THEN 'organizer' WHEN r < 99 THEN 'moderator' ELSE 'admin' END,
       p.a - (60 + (au * 7919 + p.s) % 600) * interval '1 day' + interval '2 minutes'
FROM pg_temp.params() AS p, generate_series(1, 3000 * p.n) AS au,
     LATERAL (SELECT pg_temp.rnd('profile', au) % 100 AS r) AS x;

INSERT INTO public.help_requests (id, user_id, title, status, created_at)
SELECT hr.id, pg_temp.hid('auth', hr.requester_no),
       (ARRAY['Groceries for an elderly neighbour', 'Ride to a medical appointment',
              'Help moving a couch', 'Dog walking this week', 'Fixing a leaking tap',
              'Tutoring in algebra', 'Yard cleanup', 'Setting up a new phone'])[1 + h % 8],
       hr.status, hr.created_at
FROM pg_temp.params() AS p, generate_series(1, 2000 * p.n) AS h,
     LATERAL pg_temp.help_request(h, p.a, p.n, p.s) AS hr;

-- V1: 500 N conversations written by the old 3-step create. F6: every 50th has neither
-- participants nor messages; the others have both participants and three messages.
INSERT INTO public.conversations (id, help_request_id, created_by, title, created_at)
SELECT pg_temp.hid('conv1', c), hr.id, pg_temp.hid('auth', hr.requester_no),
       'Re: help request #' || ((c - 1) * 4 % (2000 * p.n) + 1),
       least(hr.created_at + (10 + c % 600) * interval '1 minute', p.a - interval '1 hour')
FROM pg_temp.params() AS p, generate_series(1, 500 * p.n) AS c,
     LATERAL pg_temp.help_request((c - 1) * 4 % (2000 * p.n) + 1, p.a, p.n, p.s) AS hr;

INSERT INTO public.conversation_participants (conversation_id, user_id, joined_at)
SELECT pg_temp.hid('conv1', c),
       pg_temp.hid('auth', CASE WHEN k = 0 THEN hr.requester_no
                                ELSE hr.requester_no % (3000 * p.n) + 1 END),
       least(hr.created_at + (10 + c % 600 + k) * interval '1 minute', p.a - interval '1 hour')
FROM pg_temp.params() AS p, generate_series(1, 500 * p.n) AS c,
     LATERAL pg_temp.help_request((c - 1) * 4 % (2000 * p.n) + 1, p.a, p.n, p.s) AS hr,
     generate_series(0, 1) AS k
WHERE c % 50 <> 0;

-- ---------------------------------------------------------------------------------------------
-- Seed 004 (and V1 of seed 003): public.messages, reported_messages, broadcast_quotas.
-- ---------------------------------------------------------------------------------------------
-- F4: the hostile texts of the eight oldest pending reports (message content and reason).
CREATE TEMP TABLE seed_hostile (k int PRIMARY KEY, content text NOT NULL, reason text NOT NULL);
INSERT INTO seed_hostile VALUES
  (1, 'Totally legit offer [/bold] [red]alert[/red] [link=https://evil.example]claim[/link]',
      '[bold red]SCAM[/bold red] unbalanced [/bold] markup [/]'),
  (2, E'copy this for later\x1b]52;c;SGVsbG8=\x07 and paste it anywhere',
      E'writes the clipboard \x1b]52;c;SGVsbG8=\x07 (OSC 52)'),
  (3, E'\x1b[2J\x1b[Hthe screen is mine now',
      E'clears the screen \x1b[2J\x1b[H'),
  (4, E'\x1b]0;pwned\x07nothing to see here',
      E'sets the terminal title \x1b]0;pwned\x07'),
  (5, E'bell\x07 back\x08\x08space del\x7f ctrl\x01\x02\x03 esc\x1b[31mred\x1b[0m\rCR tab\tnewline\nend',
      E'control characters \x01\x02\x1b[5m blink \x1b[0m'),
  (6, repeat('This is a very long and repetitive harassing message. ', 2000),
      'extremely long message (~106 KB)'),
  (7, E'\x1b[6n\x1b[10;10Hcursor moved \x1b[1A\x1b[2Kline erased',
      E'moves the cursor \x1b[10;10H [italic]and markup'),
  (8, E'invoice_\u202Egnp.exe\u202C zero\u200Bwidth \u2066isolate\u2069',
      E'bidi override \u202Etrick\u202C');

-- 20 000 N direct (90 %) and broadcast (10 %) messages over the 60 days before A. Every 4th
-- message (pm % 4 = 1) is reported: report r = (pm - 1) / 4 + 1; its message is older than
-- 27 h so even the oldest pending report comes after it. 1 % are soft-deleted by a moderator
-- without a report; upheld reports soft-delete their message (below).
INSERT INTO public.messages
  (id, conversation_id, sender_id, recipient_id, message_type, content, is_deleted, deleted_at,
   deleted_by, created_at)
SELECT pg_temp.hid('pm', x.pm), NULL,
       pg_temp.hid('auth', x.sender_no),
       CASE WHEN x.broadcast THEN NULL
            ELSE pg_temp.hid('auth', (x.sender_no + x.r2 % 97) % (3000 * x.n) + 1) END,
       CASE WHEN x.broadcast THEN 'broadcast' ELSE 'direct' END,
       coalesce(hs.content,
                (ARRAY['Are you still coming tonight?', 'Thanks for the help yesterday!',
                       'Doors open at 6, see you there.', 'Can I swap my table with yours?',
                       'Price drop on the holo cards this weekend.', 'Running 10 minutes late.',
                       'Lost and found has your jacket.', 'Who is bringing the projector?',
                       'Reminder: setup starts at 8am.', 'Great show, same time next month?'])
                  [1 + x.r % 10] || ' (#' || x.pm || ')'),
       x.soft_deleted,
       CASE WHEN x.soft_deleted
            THEN least(x.created_at + (1 + x.r2 % 48) * interval '1 hour',
                       x.a - interval '1 minute') END,
       CASE WHEN x.soft_deleted THEN pg_temp.hid('auth', 2 + x.r2 % 4) END,
       x.created_at
FROM (SELECT pm, p.n, p.a, pg_temp.hn(mh, 1) AS r, pg_temp.hn(mh, 8) AS r2,
             pg_temp.hn(mh, 15) % (3000 * p.n) + 1 AS sender_no,
             pg_temp.hn(mh, 22) % 10 = 0 AS broadcast,
             pm % 4 <> 1 AND pg_temp.hn(mh, 1) % 100 = 0 AS soft_deleted,
             CASE WHEN pm % 4 = 1 AND ((pm - 1) / 4 + 1) % 125 = 0
                  THEN ((pm - 1) / 4 + 1) / 125 END AS pending_no,
             CASE WHEN pm % 4 = 1
                  THEN p.a - interval '27 hours'
                       - (pg_temp.hn(mh, 8) % (59 * 1440)) * interval '1 minute'
                  ELSE p.a - (5 + pg_temp.hn(mh, 8) % (60 * 1440)) * interval '1 minute' END
               AS created_at
      FROM pg_temp.params() AS p,
           generate_series(1, 20000 * p.n) AS pm,
           LATERAL (SELECT pg_temp.h('pm_attr', pm) AS mh) AS hx
      OFFSET 0) AS x
LEFT JOIN seed_hostile AS hs ON hs.k = x.pending_no;

-- V1 messages: three per conversation that has participants, alternating sender/helper.
INSERT INTO public.messages
  (id, conversation_id, sender_id, recipient_id, message_type, content, is_deleted, deleted_at,
   deleted_by, created_at)
SELECT pg_temp.hid('msg1', c * 3 + k), pg_temp.hid('conv1', c),
       pg_temp.hid('auth', CASE WHEN k % 2 = 0 THEN hr.requester_no
                                ELSE hr.requester_no % (3000 * p.n) + 1 END),
       pg_temp.hid('auth', CASE WHEN k % 2 = 1 THEN hr.requester_no
                                ELSE hr.requester_no % (3000 * p.n) + 1 END),
       'direct',
       (ARRAY['Hi, I saw your request and can help.', 'That would be wonderful, thank you!',
              'Does Saturday morning work for you?'])[1 + k],
       false, NULL, NULL,
       least(hr.created_at + (10 + c % 600 + 5 * (k + 1)) * interval '1 minute',
             p.a - interval '1 hour')
FROM pg_temp.params() AS p, generate_series(1, 500 * p.n) AS c,
     LATERAL pg_temp.help_request((c - 1) * 4 % (2000 * p.n) + 1, p.a, p.n, p.s) AS hr,
     generate_series(0, 2) AS k
WHERE c % 50 <> 0;

-- 5 000 N reports, one per reported message. F4: r % 125 = 0 are pending (40 N), the first of
-- them exactly 26 h before A, the first eight the hostile ones (26 h down to ~25 h old), the
-- others within the last 23 h. The rest were reviewed: 60 % dismissed, 40 % upheld.
INSERT INTO public.reported_messages
  (message_id, reporter_id, reason, report_status, reviewed_by, reviewed_at, created_at)
SELECT x.message_id, pg_temp.hid('auth', 6 + x.r % (3000 * x.n - 6)),
       coalesce(hs.reason,
                (ARRAY['spam', 'harassment', 'scam / suspicious link', 'off-topic',
                       'hate speech', 'impersonation'])[1 + x.r % 6]),
       x.status,
       CASE WHEN x.status <> 'pending' THEN 'moderator:' || (2 + x.r % 4) END,
       CASE WHEN x.status <> 'pending' THEN x.reviewed_at END,
       x.created_at
FROM (SELECT y.*,
             least(y.created_at + (1 + y.r2 % 600) * interval '1 minute',
                   y.a - interval '1 minute') AS reviewed_at
      FROM (SELECT rn, p.n, p.a, pg_temp.hid('pm', (rn - 1) * 4 + 1) AS message_id,
                   pg_temp.hn(rh, 1) AS r, pg_temp.hn(rh, 8) AS r2,
                   CASE WHEN rn % 125 = 0 THEN rn / 125 END AS pending_no,
                   CASE WHEN rn % 125 = 0 THEN 'pending'
                        WHEN pg_temp.hn(rh, 15) % 100 < 60 THEN 'dismissed'
                        ELSE 'upheld' END AS status,
                   CASE WHEN rn % 125 = 0 AND rn / 125 <= 8
                          THEN p.a - interval '26 hours' + (rn / 125 - 1) * interval '7 minutes'
                        WHEN rn % 125 = 0
                          THEN p.a - (10 + pg_temp.hn(rh, 8) % (23 * 60 - 10)) * interval '1 minute'
                        ELSE m.created_at + (5 + pg_temp.hn(rh, 22) % 600) * interval '1 minute'
                   END AS created_at
            FROM pg_temp.params() AS p,
                 generate_series(1, 5000 * p.n) AS rn,
                 LATERAL (SELECT pg_temp.h('report', rn) AS rh) AS hx,
                 public.messages AS m
            WHERE m.id = pg_temp.hid('pm', (rn - 1) * 4 + 1)) AS y) AS x
LEFT JOIN seed_hostile AS hs ON hs.k = x.pending_no
ORDER BY x.created_at, x.message_id;

-- Upheld reports soft-delete their message when they were reviewed.
UPDATE public.messages AS m
   SET is_deleted = true, deleted_at = rm.reviewed_at,
       deleted_by = pg_temp.hid('auth', 2 + rm.id % 4)
  FROM public.reported_messages AS rm
 WHERE rm.report_status = 'upheld' AND m.id = rm.message_id;

-- 200 N quotas (user, show). F5: one in eight exhausted; every reset 34 h before A.
INSERT INTO public.broadcast_quotas
  (id, user_id, show_id, broadcasts_sent, broadcast_limit, last_reset_at, updated_at)
SELECT pg_temp.hid('quota', q), pg_temp.hid('auth', q + 100), pg_temp.hid('show', 1 + q % (10 * p.n)),
       CASE WHEN q % 8 = 0 THEN x.lim ELSE q % x.lim END,
       x.lim,
       p.a - interval '34 hours' + (q % 60) * interval '1 second',
       p.a - interval '34 hours' + (q % 60) * interval '1 second'
         + CASE WHEN q % 8 = 0 OR q % x.lim > 0 THEN (1 + q % 30) * interval '1 hour'
                ELSE interval '0' END
FROM pg_temp.params() AS p, generate_series(1, 200 * p.n) AS q,
     LATERAL (SELECT CASE WHEN q % 4 = 1 THEN 5 ELSE 2 END AS lim) AS x;

-- V2: 2 500 N conversations. Help request h gets conversations c = h and c = h + 2000 N, with
-- helpers at distinct offsets from the requester, so (help_request_id, helper_id) is unique
-- and no one helps themselves. F7: 2.5 % have initial_message NULL.
INSERT INTO public.conversations_v2
  (id, help_request_id, requester_id, helper_id, initial_message, status, created_at, updated_at)
SELECT pg_temp.hid('conv2', x.c), x.hr_id, pg_temp.hid('auth', x.requester_no),
       pg_temp.hid('auth', (x.requester_no + x.round * 7 + x.r % 50) % (3000 * x.n) + 1),
       CASE WHEN x.r2 % 1000 < 25 THEN NULL
            ELSE (ARRAY['Hi! I live two streets away and can help this weekend.',
                        'I have a car and a free afternoon, happy to drive you.',
                        'I can do this tomorrow evening if that suits you.',
                        'Happy to help, I have done this before many times.'])[1 + x.r2 % 4] END,
       CASE WHEN x.r2 % 100 < 80 THEN 'active' WHEN x.r2 % 100 < 98 THEN 'closed'
            ELSE 'blocked' END,
       x.created_at,
       least(x.created_at + (x.r2 % 120) * interval '1 minute', x.a)
FROM (SELECT c, p.n, p.a, hr.id AS hr_id, hr.requester_no, (c - 1) / (2000 * p.n) AS round,
             pg_temp.rnd('helper', (c - 1) % (2000 * p.n) + 1) AS r,
             pg_temp.rnd('conv2', c) AS r2,
             least(hr.created_at + (5 + (c * 7919) % 720) * interval '1 minute',
                   p.a - (1 + c % 240) * interval '1 minute') AS created_at
      FROM pg_temp.params() AS p, generate_series(1, 2500 * p.n) AS c,
           LATERAL pg_temp.help_request((c - 1) % (2000 * p.n) + 1, p.a, p.n, p.s) AS hr) AS x;

-- Four follow-up messages per conversation that has its initial message.
INSERT INTO public.messages_v2 (id, conversation_id, sender_id, content, created_at, updated_at)
SELECT pg_temp.hid('msg2', c * 4 + k),
       cv.id,
       CASE WHEN k % 2 = 0 THEN cv.requester_id ELSE cv.helper_id END,
       (ARRAY['Thank you so much! When works for you?', 'Saturday at 10 works for me.',
              'Perfect, see you then.', 'On my way now.'])[1 + k],
       least(cv.created_at + (k + 1) * 17 * interval '1 minute', p.a),
       least(cv.created_at + (k + 1) * 17 * interval '1 minute', p.a)
FROM pg_temp.params() AS p, generate_series(1, 2500 * p.n) AS c, generate_series(0, 3) AS k,
     public.conversations_v2 AS cv
WHERE cv.id = pg_temp.hid('conv2', c) AND cv.initial_message IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- Seed 001: core.organizations/users and the communication schema.
-- ---------------------------------------------------------------------------------------------
INSERT INTO core.organizations (id, name, created_at)
SELECT pg_temp.hid('org', o),
       (ARRAY['Northwind Events', 'Harbor Collective', 'Maple Street Club',
              'Riverside Makers'])[1 + (o - 1) % 4] || CASE WHEN o > 4 THEN ' ' || o ELSE '' END,
       p.a - (400 + o % 100) * interval '1 day'
FROM pg_temp.params() AS p, generate_series(1, 4 * p.n) AS o;

-- Core user cu belongs to organization (cu - 1) % O + 1.
INSERT INTO core.users (id, organization_id, email, display_name, created_at)
SELECT pg_temp.hid('core_user', cu), pg_temp.hid('org', (cu - 1) % (4 * p.n) + 1),
       'staff' || cu || '@org' || ((cu - 1) % (4 * p.n) + 1) || '.example.test',
       'Staff member ' || cu,
       p.a - (300 + cu % 90) * interval '1 day'
FROM pg_temp.params() AS p, generate_series(1, 500 * p.n) AS cu;

INSERT INTO communication.channels (id, code, name, is_active, created_at)
SELECT pg_temp.hid('channel', ch.k), ch.code, ch.name, ch.code <> 'push', p.a - interval '310 days'
FROM pg_temp.params() AS p,
     (VALUES (1, 'sms', 'SMS'), (2, 'email', 'Email'), (3, 'push', 'Push notification'),
             (4, 'in_app', 'In-app inbox')) AS ch (k, code, name);

-- Two templates per organization and channel; every body names all of its variables.
CREATE TEMP TABLE seed_templates (channel int, t int, name text, body text, variables jsonb,
                                  rendered text);
INSERT INTO seed_templates VALUES
  (1, 1, 'event_reminder', 'Hi {{first_name}}, {{event_name}} starts at {{start_time}}.',
      '["first_name", "event_name", "start_time"]', 'Hi Sam, Card show starts at 18:00.'),
  (1, 2, 'verification', 'Your verification code is {{code}}', '["code"]',
      'Your verification code is 482913'),
  (2, 1, 'welcome', 'Welcome to {{org_name}}, {{first_name}}!', '["org_name", "first_name"]',
      'Welcome to Harbor Collective, Sam!'),
  (2, 2, 'digest', 'You have {{unread_count}} unread messages.', '["unread_count"]',
      'You have 3 unread messages.'),
  (3, 1, 'new_message', '{{sender_name}}: {{preview}}', '["sender_name", "preview"]',
      'Lena: are we still on for Friday?'),
  (3, 2, 'linkup_locked', '{{linkup_title}} is locked in!', '["linkup_title"]',
      'Sunset hike is locked in!'),
  (4, 1, 'announcement', '{{title}} - {{details}}', '["title", "details"]',
      'Maintenance - the inbox is read-only tonight'),
  (4, 2, 'system', 'Scheduled maintenance at {{time}}', '["time"]',
      'Scheduled maintenance at 02:00 UTC');

INSERT INTO communication.templates (id, organization_id, channel_id, name, body, variables,
                                     created_at)
SELECT pg_temp.hid('template', ((o - 1) * 4 + (st.channel - 1)) * 2 + st.t),
       pg_temp.hid('org', o), pg_temp.hid('channel', st.channel), st.name, st.body, st.variables,
       p.a - (200 + o % 50) * interval '1 day'
FROM pg_temp.params() AS p, generate_series(1, 4 * p.n) AS o, seed_templates AS st;

INSERT INTO communication.policies (id, organization_id, channel_id, max_attempts,
                                    retry_backoff_s, created_at)
SELECT pg_temp.hid('policy', (o - 1) * 4 + ch), pg_temp.hid('org', o), pg_temp.hid('channel', ch),
       CASE ch WHEN 1 THEN 3 WHEN 2 THEN 5 ELSE 2 END,
       CASE ch WHEN 1 THEN 60 WHEN 2 THEN 300 ELSE 30 END,
       p.a - (200 + o % 50) * interval '1 day'
FROM pg_temp.params() AS p, generate_series(1, 4 * p.n) AS o, generate_series(1, 4) AS ch;

-- 5 000 N messages over the 30 days before A, 70 % from a template of the sender's
-- organization. Message cm: organization (cm - 1) % O + 1, channel 1 + r % 4.
CREATE FUNCTION pg_temp.comm_message(cm bigint, a timestamptz, n bigint)
RETURNS TABLE (org_no bigint, sender_no bigint, channel int, t int, templated boolean,
               created_at timestamptz, r int)
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT (cm - 1) % (4 * n) + 1,
         (cm - 1) % (4 * n) + 1 + 4 * n * (x.r % (125)),
         1 + x.r % 4, 1 + (x.r / 4) % 2, (x.r / 8) % 10 < 7,
         a - (10 + (x.r / 80) % (30 * 1440)) * interval '1 minute',
         x.r
  FROM (SELECT pg_temp.rnd('comm_msg', cm) AS r) x
$$;

INSERT INTO communication.messages (id, organization_id, sender_id, template_id, subject, body,
                                    created_at)
SELECT pg_temp.hid('comm_msg', cm), pg_temp.hid('org', m.org_no),
       pg_temp.hid('core_user', m.sender_no),
       CASE WHEN m.templated
            THEN pg_temp.hid('template', ((m.org_no - 1) * 4 + (m.channel - 1)) * 2 + m.t) END,
       CASE WHEN m.channel = 2 THEN st.name || ' #' || cm END,
       CASE WHEN m.templated THEN st.rendered
            ELSE 'Quick note #' || cm || ': please check the updated schedule.' END,
       m.created_at
FROM pg_temp.params() AS p, generate_series(1, 5000 * p.n) AS cm,
     LATERAL pg_temp.comm_message(cm, p.a, p.n) AS m
JOIN seed_templates AS st ON st.channel = m.channel AND st.t = m.t;

-- Three recipients per message, in the sender's organization; 20 % unread.
INSERT INTO communication.message_recipients (id, message_id, user_id, read_at, created_at)
SELECT pg_temp.hid('comm_rcpt', cm * 3 + k), pg_temp.hid('comm_msg', cm),
       pg_temp.hid('core_user', m.org_no + 4 * p.n * ((m.r / 7 + k * 41) % 125)),
       CASE WHEN x.rr % 100 >= 20
            THEN least(m.created_at + (1 + x.rr % 2000) * interval '1 minute', p.a) END,
       m.created_at
FROM pg_temp.params() AS p, generate_series(1, 5000 * p.n) AS cm,
     LATERAL pg_temp.comm_message(cm, p.a, p.n) AS m,
     generate_series(0, 2) AS k,
     LATERAL (SELECT pg_temp.rnd('comm_rcpt', cm * 3 + k) AS rr) AS x;

-- One delivery attempt per recipient on the message's channel. F8: 0.3 % scheduled and due
-- (5 min-4 h before A), 1 % scheduled in the future, 0.5 % sending, 91.2 % delivered,
-- 4.5 % failed (third attempt), 2.5 % cancelled.
INSERT INTO communication.delivery_attempts
  (id, recipient_id, channel_id, status, attempt_no, scheduled_at, attempted_at, error,
   created_at)
SELECT pg_temp.hid('comm_attempt', x.key), pg_temp.hid('comm_rcpt', x.key),
       pg_temp.hid('channel', x.channel), x.status,
       CASE WHEN x.status = 'failed' THEN 3 ELSE 1 END,
       x.scheduled_at,
       CASE WHEN x.status IN ('delivered', 'failed', 'sending')
            THEN least(x.scheduled_at + (1 + x.ra % 300) * interval '1 second', x.a) END,
       CASE WHEN x.status = 'failed'
            THEN (CASE x.channel
                    WHEN 1 THEN 'Twilio 30007: Message filtered (carrier violation)'
                    WHEN 2 THEN 'SMTP 550 5.1.1: mailbox unavailable'
                    WHEN 3 THEN 'APNs 410: BadDeviceToken'
                    ELSE 'in_app: recipient inbox disabled' END) END,
       x.created_at
FROM (SELECT cm * 3 + k AS key, m.channel, p.a, m.created_at, y.ra,
             CASE WHEN y.ra % 1000 < 3 THEN 'scheduled'
                  WHEN y.ra % 1000 < 13 THEN 'scheduled'
                  WHEN y.ra % 1000 < 18 THEN 'sending'
                  WHEN y.ra % 1000 < 930 THEN 'delivered'
                  WHEN y.ra % 1000 < 975 THEN 'failed'
                  ELSE 'cancelled' END AS status,
             CASE WHEN y.ra % 1000 < 3
                    THEN p.a - (5 + (y.ra / 1000) % 235) * interval '1 minute'
                  WHEN y.ra % 1000 < 13
                    THEN p.a + (5 + (y.ra / 1000) % 600) * interval '1 minute'
                  WHEN y.ra % 1000 < 18 THEN p.a - interval '1 minute'
                  ELSE m.created_at END AS scheduled_at
      FROM pg_temp.params() AS p, generate_series(1, 5000 * p.n) AS cm,
           LATERAL pg_temp.comm_message(cm, p.a, p.n) AS m,
           generate_series(0, 2) AS k,
           LATERAL (SELECT pg_temp.rnd('comm_attempt', cm * 3 + k) AS ra) AS y) AS x;

-- Participants: the sender and the three recipients of every message.
INSERT INTO communication.participants (id, message_id, user_id, role, created_at)
SELECT pg_temp.hid('comm_part', cm * 4 + k), pg_temp.hid('comm_msg', cm),
       pg_temp.hid('core_user', CASE WHEN k = 0 THEN m.sender_no
                                     ELSE m.org_no + 4 * p.n * ((m.r / 7 + (k - 1) * 41) % 125)
                                END),
       CASE WHEN k = 0 THEN 'sender' ELSE 'recipient' END,
       m.created_at
FROM pg_temp.params() AS p, generate_series(1, 5000 * p.n) AS cm,
     LATERAL pg_temp.comm_message(cm, p.a, p.n) AS m,
     generate_series(0, 3) AS k;

-- ---------------------------------------------------------------------------------------------
-- Finish: the foreign keys back (validated), F9 (the auto-link trigger back on, the backfill
-- trigger left disabled), drop the helpers. (setup.seed() runs ANALYZE after the commit.)
-- ---------------------------------------------------------------------------------------------
DO $add_fks$
DECLARE
  fk record;
BEGIN
  FOR fk IN SELECT * FROM seed_fks ORDER BY rel, conname LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname, fk.def);
  END LOOP;
END
$add_fks$;

ALTER TABLE public.message_deliveries ENABLE TRIGGER trigger_message_deliveries_auto_link_user;
ALTER TABLE public.event_guests DISABLE TRIGGER trigger_backfill_deliveries_on_guest_link;

DROP TABLE seed_ci, seed_hostile, seed_templates, seed_errors, seed_fks;
DROP FUNCTION pg_temp.comm_message(bigint, timestamptz, bigint);
DROP FUNCTION pg_temp.help_request(bigint, timestamptz, bigint, bigint);
DROP FUNCTION pg_temp.linkup(bigint, timestamptz, bigint);
DROP FUNCTION pg_temp.guest(bigint, bigint);
DROP FUNCTION pg_temp.user_phone(bigint);
DROP FUNCTION pg_temp.rnd(text, bigint);
DROP FUNCTION pg_temp.hn(bigint, int);
DROP FUNCTION pg_temp.hbytes(text, bigint);
DROP FUNCTION pg_temp.hid(text, bigint);
DROP FUNCTION pg_temp.h(text, bigint);
DROP FUNCTION pg_temp.params();
