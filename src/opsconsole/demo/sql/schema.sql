-- opsconsole demo schema: all five subsystems of ../shared/seeds in one database.
-- Names, columns, constraints, functions and triggers follow the seeds; the indexes marked
-- "console" are the ones the console's checks need to stay cheap on large tables.
-- Core PostgreSQL only (15 through 18): no pgcrypto, no uuid-ossp.

-- ---------------------------------------------------------------------------------------------
-- Supabase stand-ins: the auth schema, auth.uid() and the three API roles.
-- ---------------------------------------------------------------------------------------------
DO $roles$
DECLARE
  r record;
BEGIN
  -- Roles are cluster-wide: two `db init` runs on different databases of one fresh cluster
  -- race here, so the loser of the race takes the role the winner created.
  FOR r IN SELECT * FROM (VALUES ('anon', 'NOLOGIN'), ('authenticated', 'NOLOGIN'),
                                 ('service_role', 'NOLOGIN BYPASSRLS')) v(name, opts)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', r.name, r.opts);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$roles$;

CREATE SCHEMA auth;

CREATE TABLE auth.users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email       text,
  phone       text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The request's JWT subject, as PostgREST sets it; NULL for an anonymous caller.
CREATE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    ), '')::uuid
$$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Seed 001: core.users, core.organizations and the communication schema.
-- ---------------------------------------------------------------------------------------------
CREATE SCHEMA core;

CREATE TABLE core.organizations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.users (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES core.organizations (id),
  email            text NOT NULL,
  display_name     text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA communication;

CREATE TABLE communication.schema_migrations (
  version     text PRIMARY KEY,
  name        text NOT NULL,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE communication.channels (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code        text NOT NULL UNIQUE CHECK (code IN ('sms', 'email', 'push', 'in_app')),
  name        text NOT NULL,
  is_active   boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- True when every name in the JSON array `variables` appears in `body` as {{name}}.
CREATE FUNCTION communication.template_body_covers_variables(body text, variables jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(bool_and(position('{{' || v || '}}' IN body) > 0), true)
  FROM jsonb_array_elements_text(coalesce(variables, '[]'::jsonb)) AS v
$$;

CREATE TABLE communication.templates (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES core.organizations (id),
  channel_id       uuid NOT NULL REFERENCES communication.channels (id),
  name             text NOT NULL,
  body             text NOT NULL,
  variables        jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT templates_body_covers_variables
    CHECK (communication.template_body_covers_variables(body, variables))
);

CREATE TABLE communication.policies (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id   uuid NOT NULL REFERENCES core.organizations (id),
  channel_id        uuid NOT NULL REFERENCES communication.channels (id),
  max_attempts      integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
  retry_backoff_s   integer NOT NULL DEFAULT 60 CHECK (retry_backoff_s >= 0),
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE communication.messages (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES core.organizations (id),
  sender_id        uuid NOT NULL REFERENCES core.users (id),
  template_id      uuid REFERENCES communication.templates (id),
  subject          text,
  body             text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE communication.message_recipients (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id  uuid NOT NULL REFERENCES communication.messages (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES core.users (id),
  read_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Seed 001: the unread-inbox index.
CREATE INDEX idx_recipients_user
  ON communication.message_recipients (user_id, created_at DESC) WHERE read_at IS NULL;

CREATE TABLE communication.delivery_attempts (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  recipient_id  uuid NOT NULL REFERENCES communication.message_recipients (id) ON DELETE CASCADE,
  channel_id    uuid NOT NULL REFERENCES communication.channels (id),
  status        text NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'sending', 'delivered', 'failed', 'cancelled')),
  attempt_no    integer NOT NULL DEFAULT 1,
  scheduled_at  timestamptz NOT NULL DEFAULT now(),
  attempted_at  timestamptz,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- Seed 001: the delivery-queue index.
CREATE INDEX idx_delivery_status_scheduled
  ON communication.delivery_attempts (status, scheduled_at);
-- console: jobs.failed_attempts, the failed attempts by their error.
CREATE INDEX delivery_attempts_failed_idx
  ON communication.delivery_attempts (error) WHERE status = 'failed';

CREATE TABLE communication.participants (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id  uuid NOT NULL REFERENCES communication.messages (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES core.users (id),
  role        text NOT NULL DEFAULT 'recipient' CHECK (role IN ('sender', 'recipient', 'cc')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The nine migrations of seed 001, recorded with their checksums.
INSERT INTO communication.schema_migrations (version, name, checksum, applied_at)
SELECT m.version, m.name,
       encode(sha256(convert_to('communication/' || m.version || '_' || m.name || '.sql', 'UTF8')), 'hex'),
       timestamptz '2026-01-15 09:00:00+00' + (m.ord * interval '1 minute')
FROM (VALUES (1, '0001', 'create_schema'), (2, '0002', 'channels'), (3, '0003', 'templates'),
             (4, '0004', 'policies'), (5, '0005', 'messages'), (6, '0006', 'message_recipients'),
             (7, '0007', 'delivery_attempts'), (8, '0008', 'delivery_indexes'),
             (9, '0009', 'participants')) AS m (ord, version, name);

-- ---------------------------------------------------------------------------------------------
-- Seed 002: delivery linkage. events, event_guests, message_deliveries, users, user_link_audit,
-- feature_flags behind get_feature_flag(), the linking functions and the two triggers.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  phone       text,
  full_name   text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_phone_idx ON public.users (phone);

CREATE TABLE public.events (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title       text NOT NULL,
  starts_at   timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.event_guests (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id    uuid NOT NULL REFERENCES public.events (id) ON DELETE CASCADE,
  user_id     uuid REFERENCES public.users (id),
  guest_name  text,
  phone       text,
  removed_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Seed 002 names the indexes on event_guests(user_id) and message_deliveries(guest_id).
CREATE INDEX event_guests_user_id_idx ON public.event_guests (user_id);
CREATE INDEX event_guests_event_phone_idx ON public.event_guests (event_id, phone);

CREATE TABLE public.message_deliveries (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id    uuid NOT NULL,
  guest_id      uuid REFERENCES public.event_guests (id) ON DELETE SET NULL,
  user_id       uuid REFERENCES public.users (id),
  phone_number  text,
  sms_status    text NOT NULL DEFAULT 'pending'
                CHECK (sms_status IN ('pending', 'sent', 'delivered', 'failed')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT message_deliveries_message_guest_uniq UNIQUE (message_id, guest_id)
);
CREATE INDEX message_deliveries_guest_id_idx ON public.message_deliveries (guest_id);
-- console: unlinked deliveries, so the inconsistency count costs what the unlinked rows cost.
CREATE INDEX message_deliveries_unlinked_idx
  ON public.message_deliveries (guest_id, id) WHERE user_id IS NULL;
-- console: linked, not removed guests in id order, so the inconsistency count is a merge join of
-- two index-only scans in guest order (no hash of a million guests spilling to disk).
CREATE INDEX event_guests_linked_idx
  ON public.event_guests (id) WHERE user_id IS NOT NULL AND removed_at IS NULL;
-- console: deliveries.null_user_causes, the removed guests and the active guests without a user,
-- joined with message_deliveries_unlinked_idx as event_guests_linked_idx is.
CREATE INDEX event_guests_removed_idx
  ON public.event_guests (id) WHERE removed_at IS NOT NULL;
CREATE INDEX event_guests_unlinked_idx
  ON public.event_guests (id) WHERE user_id IS NULL AND removed_at IS NULL;
-- console: deliveries.null_user_causes, every guest's linkage state in id order, so the deliveries
-- with NULL user_id, counted per guest, are merge-joined with it index-only in one pass.
CREATE INDEX event_guests_state_idx
  ON public.event_guests (id) INCLUDE (user_id, removed_at);

CREATE TABLE public.user_link_audit (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name       text NOT NULL,
  record_id        uuid,
  event_id         uuid,
  phone            text,
  matched_user_id  uuid,
  outcome          text NOT NULL CHECK (outcome IN ('linked', 'no_match', 'skipped', 'error')),
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now()
);
-- console: the 24 h activity and "recent audit" views read by time.
CREATE INDEX user_link_audit_created_at_idx ON public.user_link_audit (created_at);
-- console: the auto-link trigger's attempts by time with their outcome, read index-only by
-- deliveries.trigger_success_rate (the table also holds backfill and other rows).
CREATE INDEX user_link_audit_deliveries_idx
  ON public.user_link_audit (created_at) INCLUDE (outcome) WHERE table_name = 'message_deliveries';

CREATE TABLE public.feature_flags (
  name         text PRIMARY KEY,
  enabled      boolean NOT NULL DEFAULT false,
  description  text,
  updated_by   text,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION public.get_feature_flag(flag_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT coalesce((SELECT enabled FROM public.feature_flags WHERE name = flag_name), false)
$$;

-- Seed 002's linkage rules: the event's one active guest with that phone and a user, else (with
-- LINK_USER_BY_PHONE_FALLBACK_TO_USERS) the one user with that phone. Ambiguity is no_match;
-- linking switched off is skipped.
CREATE FUNCTION public.link_user_by_phone(
  p_event_id uuid, p_phone text, OUT user_id uuid, OUT outcome text, OUT source text)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_guests integer;
  v_users integer;
BEGIN
  IF NOT public.get_feature_flag('LINK_USER_BY_PHONE') OR p_phone IS NULL THEN
    outcome := 'skipped';
    RETURN;
  END IF;
  SELECT count(*), min(g.user_id::text)::uuid INTO v_guests, user_id
  FROM public.event_guests g
  WHERE g.event_id = p_event_id AND g.phone = p_phone AND g.removed_at IS NULL;
  IF v_guests = 1 AND user_id IS NOT NULL THEN
    outcome := 'linked'; source := 'event_guests';
    RETURN;
  END IF;
  user_id := NULL;
  IF v_guests > 1 THEN
    outcome := 'no_match'; source := 'ambiguous_guests';
    RETURN;
  END IF;
  IF NOT public.get_feature_flag('LINK_USER_BY_PHONE_FALLBACK_TO_USERS') THEN
    outcome := 'no_match'; source := 'no_guest_user';
    RETURN;
  END IF;
  SELECT count(*), min(u.id::text)::uuid INTO v_users, user_id
  FROM public.users u WHERE u.phone = p_phone;
  IF v_users = 1 THEN
    outcome := 'linked'; source := 'users_phone';
  ELSE
    user_id := NULL; outcome := 'no_match';
    source := CASE WHEN v_users > 1 THEN 'ambiguous_users' ELSE 'no_user' END;
  END IF;
END
$$;

-- trigger_message_deliveries_auto_link_user: resolve user_id for a new delivery, prefer the guest
-- record, and audit every attempt in user_link_audit.
CREATE FUNCTION public.auto_link_user_by_phone_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_event_id uuid;
  v_guest_user uuid;
  v_removed timestamptz;
  v_link record;
BEGIN
  IF NEW.user_id IS NOT NULL THEN
    RETURN NEW;
  END IF;
  IF NOT public.get_feature_flag('LINK_USER_BY_PHONE') THEN
    INSERT INTO public.user_link_audit (table_name, record_id, phone, outcome, metadata)
    VALUES ('message_deliveries', NEW.id, NEW.phone_number, 'skipped',
            jsonb_build_object('reason', 'LINK_USER_BY_PHONE disabled'));
    RETURN NEW;
  END IF;
  SELECT g.event_id, g.user_id, g.removed_at INTO v_event_id, v_guest_user, v_removed
  FROM public.event_guests g WHERE g.id = NEW.guest_id;
  IF v_guest_user IS NOT NULL AND v_removed IS NULL THEN
    NEW.user_id := v_guest_user;
    INSERT INTO public.user_link_audit
      (table_name, record_id, event_id, phone, matched_user_id, outcome, metadata)
    VALUES ('message_deliveries', NEW.id, v_event_id, NEW.phone_number, v_guest_user, 'linked',
            jsonb_build_object('source', 'event_guests'));
    RETURN NEW;
  END IF;
  SELECT * INTO v_link FROM public.link_user_by_phone(v_event_id, NEW.phone_number);
  NEW.user_id := v_link.user_id;
  INSERT INTO public.user_link_audit
    (table_name, record_id, event_id, phone, matched_user_id, outcome, metadata)
  VALUES ('message_deliveries', NEW.id, v_event_id, NEW.phone_number, v_link.user_id,
          v_link.outcome, jsonb_build_object('source', v_link.source));
  RETURN NEW;
END
$$;

CREATE TRIGGER trigger_message_deliveries_auto_link_user
  BEFORE INSERT ON public.message_deliveries
  FOR EACH ROW EXECUTE FUNCTION public.auto_link_user_by_phone_trigger();

-- Seed 002's manual backfill: link a guest's unlinked deliveries to p_user_id; returns the count.
CREATE FUNCTION public.backfill_guest_deliveries(p_guest_id uuid, p_user_id uuid) RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_count integer;
BEGIN
  UPDATE public.message_deliveries
     SET user_id = p_user_id, updated_at = now()
   WHERE guest_id = p_guest_id AND user_id IS NULL;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  INSERT INTO public.user_link_audit (table_name, record_id, matched_user_id, outcome, metadata)
  VALUES ('message_deliveries_backfill', p_guest_id, p_user_id,
          CASE WHEN v_count > 0 THEN 'linked' ELSE 'no_match' END,
          jsonb_build_object('deliveries_updated', v_count));
  RETURN v_count;
END
$$;

CREATE FUNCTION public.trigger_backfill_guest_deliveries() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF OLD.user_id IS NULL AND NEW.user_id IS NOT NULL AND NEW.removed_at IS NULL THEN
    PERFORM public.backfill_guest_deliveries(NEW.id, NEW.user_id);
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trigger_backfill_deliveries_on_guest_link
  AFTER UPDATE OF user_id ON public.event_guests
  FOR EACH ROW EXECUTE FUNCTION public.trigger_backfill_guest_deliveries();

-- The delivery RPC of seed 002: create or update one guest's delivery of a message.
CREATE FUNCTION public.upsert_message_delivery(
  p_message_id uuid, p_guest_id uuid, p_phone_number text, p_sms_status text DEFAULT 'pending')
RETURNS uuid LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id uuid;
BEGIN
  INSERT INTO public.message_deliveries (message_id, guest_id, phone_number, sms_status)
  VALUES (p_message_id, p_guest_id, p_phone_number, p_sms_status)
  ON CONFLICT (message_id, guest_id) DO UPDATE
     SET sms_status = EXCLUDED.sms_status, phone_number = EXCLUDED.phone_number,
         updated_at = now()
  RETURNING id INTO v_id;
  RETURN v_id;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Seed 000: LinkUp coordination messages and the sms_outbound_jobs queue.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.linkups (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title         text NOT NULL,
  state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'locked', 'cancelled')),
  locked_at     timestamptz,
  lock_version  integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- console: locked linkups are the ones that must have coordination intents.
CREATE INDEX linkups_locked_idx ON public.linkups (locked_at) WHERE state = 'locked';

CREATE TABLE public.linkup_members (
  linkup_id   uuid NOT NULL REFERENCES public.linkups (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES public.users (id),
  status      text NOT NULL DEFAULT 'invited'
              CHECK (status IN ('invited', 'confirmed', 'declined', 'left')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (linkup_id, user_id)
);

-- console: confirmed members per linkup, counted index-only by coordination.missing_intents.
CREATE INDEX linkup_members_confirmed_idx
  ON public.linkup_members (linkup_id) WHERE status = 'confirmed';

CREATE TABLE public.sms_outbound_jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  purpose          text NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'sent', 'failed')),
  idempotency_key  text NOT NULL,
  to_phone         text,
  body_ciphertext  bytea,
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  run_after        timestamptz NOT NULL DEFAULT now(),
  locked_at        timestamptz,
  sent_at          timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sms_outbound_jobs_idempotency_key_uniq UNIQUE (idempotency_key)
);
-- console: every job-queue check reads only the jobs that are not done.
CREATE INDEX sms_outbound_jobs_open_idx
  ON public.sms_outbound_jobs (status, purpose, created_at) WHERE status <> 'sent';
CREATE INDEX sms_outbound_jobs_open_recent_idx
  ON public.sms_outbound_jobs (created_at, id) WHERE status <> 'sent';
CREATE INDEX sms_outbound_jobs_failed_idx
  ON public.sms_outbound_jobs (last_error, updated_at) WHERE status = 'failed';
CREATE INDEX sms_outbound_jobs_failed_updated_idx
  ON public.sms_outbound_jobs (updated_at) WHERE status = 'failed';
CREATE INDEX sms_outbound_jobs_running_idx
  ON public.sms_outbound_jobs (locked_at) WHERE status = 'running';
-- console: jobs.status_breakdown and jobs.purpose_breakdown, whole-table counts read index-only
-- (on the console's slow cadence) instead of from the table.
CREATE INDEX sms_outbound_jobs_status_purpose_idx
  ON public.sms_outbound_jobs (status, purpose);
-- console: jobs.oldest_pending_age, the pending jobs by the time they became due (run_after).
CREATE INDEX sms_outbound_jobs_pending_due_idx
  ON public.sms_outbound_jobs (run_after) WHERE status = 'pending';

CREATE TABLE public.linkup_coordination_messages (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  linkup_id            uuid NOT NULL REFERENCES public.linkups (id) ON DELETE CASCADE,
  user_id              uuid NOT NULL REFERENCES public.users (id),
  lock_version         integer NOT NULL,
  status               text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'enqueued', 'sent', 'failed', 'suppressed')),
  suppress_reason      text,
  idempotency_key      text NOT NULL,
  sms_outbound_job_id  uuid REFERENCES public.sms_outbound_jobs (id),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT linkup_coordination_messages_once_per_lock UNIQUE (linkup_id, user_id, lock_version),
  CONSTRAINT linkup_coordination_messages_idempotency_uniq UNIQUE (idempotency_key)
);
-- console: the status breakdown is an index-only scan; rows without a job are a partial index.
CREATE INDEX linkup_coordination_messages_status_idx
  ON public.linkup_coordination_messages (status, suppress_reason);
CREATE INDEX linkup_coordination_messages_no_job_idx
  ON public.linkup_coordination_messages (linkup_id)
  WHERE sms_outbound_job_id IS NULL AND status IN ('pending', 'enqueued');
CREATE INDEX linkup_coordination_messages_open_idx
  ON public.linkup_coordination_messages (linkup_id, status)
  WHERE status IN ('pending', 'enqueued', 'failed');
CREATE INDEX linkup_coordination_messages_job_idx
  ON public.linkup_coordination_messages (sms_outbound_job_id);

-- ---------------------------------------------------------------------------------------------
-- Seed 003: help requests, V1 conversations and the atomic V2 conversations with their
-- SECURITY DEFINER RPCs, kept exactly as the seed wrote them (the `!=` guard is NULL-unsafe;
-- the console's security lint exists to find it).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.profiles (
  id          uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  role        text NOT NULL DEFAULT 'attendee'
              CHECK (role IN ('attendee', 'dealer', 'mvp_dealer', 'organizer', 'moderator', 'admin')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.help_requests (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES auth.users (id),
  title       text NOT NULL,
  status      text NOT NULL DEFAULT 'open'
              CHECK (status IN ('open', 'in_progress', 'closed', 'cancelled')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- console: conversations.help_request_status, every help request by status, read index-only.
CREATE INDEX help_requests_status_idx ON public.help_requests (status);

-- V1 (replaced by V2): conversation, participants and messages written in three steps.
CREATE TABLE public.conversations (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  help_request_id  uuid REFERENCES public.help_requests (id),
  created_by       uuid REFERENCES auth.users (id),
  title            text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.conversation_participants (
  conversation_id  uuid NOT NULL REFERENCES public.conversations (id) ON DELETE CASCADE,
  user_id          uuid NOT NULL REFERENCES auth.users (id),
  joined_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE public.conversations_v2 (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  help_request_id  uuid NOT NULL REFERENCES public.help_requests (id),
  requester_id     uuid NOT NULL REFERENCES auth.users (id),
  helper_id        uuid NOT NULL REFERENCES auth.users (id),
  initial_message  text,
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed', 'blocked')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT conversations_v2_request_helper_uniq UNIQUE (help_request_id, helper_id)
);
CREATE INDEX conversations_v2_created_at_idx ON public.conversations_v2 (created_at);
-- console: conversations created without their initial message (seed 003's failure mode), counted
-- by conversations.v2_success_rate without reading the table.
CREATE INDEX conversations_v2_no_initial_idx
  ON public.conversations_v2 (created_at) WHERE initial_message IS NULL;
-- console: conversations.v2_status (index-only) and conversations.v2_unsendable (its range
-- outside 'active').
CREATE INDEX conversations_v2_status_idx ON public.conversations_v2 (status);

CREATE TABLE public.messages_v2 (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id  uuid NOT NULL REFERENCES public.conversations_v2 (id) ON DELETE CASCADE,
  sender_id        uuid NOT NULL REFERENCES auth.users (id),
  content          text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_v2_conversation_idx ON public.messages_v2 (conversation_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- Seed 004 (and V1 of seed 003): role-gated messages with soft delete, reports, broadcast quotas.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.messages (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id  uuid REFERENCES public.conversations (id) ON DELETE CASCADE,
  sender_id        uuid NOT NULL REFERENCES auth.users (id),
  recipient_id     uuid REFERENCES auth.users (id),
  message_type     text NOT NULL DEFAULT 'direct' CHECK (message_type IN ('direct', 'broadcast')),
  content          text NOT NULL,
  is_deleted       boolean NOT NULL DEFAULT false,
  deleted_at       timestamptz,
  deleted_by       uuid,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_idx ON public.messages (conversation_id);
-- console: soft-deleted messages are few; count them through a partial index.
CREATE INDEX messages_deleted_idx ON public.messages (deleted_at) WHERE is_deleted;

ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY messages_select_own ON public.messages FOR SELECT TO authenticated
  USING (NOT is_deleted AND (sender_id = auth.uid() OR recipient_id = auth.uid()));
CREATE POLICY messages_insert_own ON public.messages FOR INSERT TO authenticated
  WITH CHECK (sender_id = auth.uid());

CREATE TABLE public.reported_messages (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id     uuid NOT NULL REFERENCES public.messages (id) ON DELETE CASCADE,
  reporter_id    uuid NOT NULL REFERENCES auth.users (id),
  reason         text NOT NULL,
  report_status  text NOT NULL DEFAULT 'pending'
                 CHECK (report_status IN ('pending', 'dismissed', 'upheld')),
  reviewed_by    text,
  reviewed_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
-- console: pending reports, oldest first (seed 004 polls their count every 5 minutes).
CREATE INDEX reported_messages_pending_idx
  ON public.reported_messages (created_at, id) WHERE report_status = 'pending';
-- console: moderation.report_status, every report by status, read index-only.
CREATE INDEX reported_messages_status_idx ON public.reported_messages (report_status);

CREATE TABLE public.broadcast_quotas (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id          uuid NOT NULL REFERENCES auth.users (id),
  show_id          uuid NOT NULL,
  broadcasts_sent  integer NOT NULL DEFAULT 0 CHECK (broadcasts_sent >= 0),
  broadcast_limit  integer NOT NULL DEFAULT 2 CHECK (broadcast_limit >= 0),
  last_reset_at    timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT broadcast_quotas_user_show_uniq UNIQUE (user_id, show_id)
);
CREATE INDEX broadcast_quotas_last_reset_idx ON public.broadcast_quotas (last_reset_at);

-- Seed 004: may this sender open a direct message to that recipient? (attendee -> mvp_dealer yes,
-- attendee -> dealer no). Written the safe way: fixed search_path and a NULL-safe caller check.
CREATE FUNCTION public.can_user_send_dm(p_sender_id uuid, p_recipient_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_sender text;
  v_recipient text;
BEGIN
  IF auth.uid() IS NULL OR p_sender_id IS DISTINCT FROM auth.uid() THEN
    RETURN false;
  END IF;
  SELECT role INTO v_sender FROM public.profiles WHERE id = p_sender_id;
  SELECT role INTO v_recipient FROM public.profiles WHERE id = p_recipient_id;
  IF v_sender IS NULL OR v_recipient IS NULL THEN
    RETURN false;
  END IF;
  RETURN CASE
    WHEN v_sender IN ('organizer', 'moderator', 'admin') THEN true
    WHEN v_sender = 'attendee' THEN v_recipient IN ('mvp_dealer', 'organizer')
    WHEN v_sender IN ('dealer', 'mvp_dealer') THEN v_recipient <> 'dealer'
    ELSE false
  END;
END
$$;
REVOKE EXECUTE ON FUNCTION public.can_user_send_dm(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.can_user_send_dm(uuid, uuid) TO authenticated;

-- ---------------------------------------------------------------------------------------------
-- The console's own schema. Its audit trail (opsconsole.audit_log) is created by audit.sql, run
-- after this file by `opsconsole db init` (and applicable on its own to any database).
-- ---------------------------------------------------------------------------------------------
CREATE SCHEMA opsconsole;

-- What `opsconsole db init` / `db seed` created, so a second run can tell.
CREATE TABLE opsconsole.demo_meta (
  key         text PRIMARY KEY,
  value       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Supabase-style grants: the API roles read through RLS; service_role does everything.
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
