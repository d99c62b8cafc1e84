-- Seed 001 (communication migrations, structure, indexes, foreign keys) and seed 003 (SECURITY
-- DEFINER functions).

-- name: migrations(expected_migrations)
-- Seed 001 Execution Steps 3 (`status`: each migration [x] or [ ]): the migrations
-- communication.schema_migrations records (as version_name) against the list the spec expects
-- (params.expected_migrations: names separated by commas or white space; the nine of seed 001's
-- runbook): how many of each, and by name the expected ones that are not recorded and the
-- recorded ones that are not expected ('none' when there are none).
WITH expected AS (
  SELECT DISTINCT e.migration
  FROM regexp_split_to_table(:expected_migrations::text, '[\s,]+') AS e (migration)
  WHERE e.migration <> ''
), recorded AS (
  SELECT m.version || '_' || m.name AS migration, m.checksum, m.applied_at
  FROM communication.schema_migrations m
), missing AS (
  SELECT e.migration FROM expected e
  WHERE NOT EXISTS (SELECT 1 FROM recorded r WHERE r.migration = e.migration)
), unexpected AS (
  SELECT r.migration FROM recorded r
  WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE e.migration = r.migration)
)
SELECT (SELECT count(*) FROM recorded) AS applied,
       (SELECT count(*) FROM expected) AS expected,
       (SELECT count(*) FROM missing) AS missing,
       (SELECT count(*) FROM unexpected) AS unexpected,
       (SELECT coalesce(string_agg(migration, ', ' ORDER BY migration), 'none') FROM missing)
         AS missing_names,
       (SELECT coalesce(string_agg(migration, ', ' ORDER BY migration), 'none') FROM unexpected)
         AS unexpected_names,
       (SELECT count(DISTINCT checksum) FROM recorded) AS checksums,
       (SELECT max(applied_at) FROM recorded) AS latest;

-- name: migrations_page(after_id, limit)
-- Seed 001 `status` listing: every recorded migration with its checksum.
SELECT version AS id, name, checksum, applied_at
FROM communication.schema_migrations
WHERE :after_id::text IS NULL OR version > :after_id::text
ORDER BY version
LIMIT :limit;

-- name: structure()
-- Seed 001 "Post-Migration Validation" 1-3: the three tables, the two indexes, and foreign keys
-- from the communication schema to core.users and core.organizations.
SELECT s.missing_tables + s.missing_indexes + s.missing_fk_targets AS missing, s.*
FROM (
SELECT (to_regclass('communication.messages') IS NULL)::int
       + (to_regclass('communication.delivery_attempts') IS NULL)::int
       + (to_regclass('communication.message_recipients') IS NULL)::int AS missing_tables,
       (to_regclass('communication.idx_recipients_user') IS NULL)::int
       + (to_regclass('communication.idx_delivery_status_scheduled') IS NULL)::int AS missing_indexes,
       (NOT EXISTS (SELECT 1 FROM pg_constraint
                     WHERE connamespace = to_regnamespace('communication') AND contype = 'f'
                       AND confrelid = to_regclass('core.users')))::int
       + (NOT EXISTS (SELECT 1 FROM pg_constraint
                     WHERE connamespace = to_regnamespace('communication') AND contype = 'f'
                       AND confrelid = to_regclass('core.organizations')))::int AS missing_fk_targets,
       (SELECT count(*) FROM pg_constraint
         WHERE connamespace = to_regnamespace('communication') AND contype = 'f') AS foreign_keys
) s;

-- name: security_definer()
-- Seed 003 "Apply Security Fix": the SECURITY DEFINER functions outside the system schemas,
-- graded by who can call them (DESIGN.md "The SECURITY DEFINER lint"):
--   CRITICAL  PUBLIC, anon or authenticated can execute it and it has no auth.uid() guard, or a
--             guard written `x != auth.uid()` / `<>`, which a caller without a JWT subject
--             (auth.uid() NULL) passes. Trigger functions are not callable, and a function only
--             service_role or its owner can execute is not flagged for a guard.
--   WARNING   no fixed search_path (as Supabase's lint 0011, function_search_path_mutable).
-- Each function counts once, in its worst grade; flagged = critical + warning.
SELECT count(*) FILTER (WHERE l.grade = 'CRITICAL') AS critical,
       count(*) FILTER (WHERE l.grade = 'WARNING') AS warning,
       count(*) AS definer_functions,
       count(*) FILTER (WHERE l.exposed AND NOT l.is_trigger) AS exposed,
       count(*) FILTER (WHERE l.grade = 'CRITICAL' AND l.guard = 'NULL-unsafe')
         AS null_unsafe_guards,
       count(*) FILTER (WHERE l.grade <> 'OK') AS flagged
FROM (
  SELECT g.*,
         g.public_execute OR 'anon' = ANY (g.api_roles) OR 'authenticated' = ANY (g.api_roles)
           AS exposed,
         CASE WHEN NOT g.is_trigger AND g.guard <> 'safe'
                   AND (g.public_execute OR 'anon' = ANY (g.api_roles)
                        OR 'authenticated' = ANY (g.api_roles)) THEN 'CRITICAL'
              WHEN g.mutable_search_path THEN 'WARNING'
              ELSE 'OK' END AS grade
  FROM (
    SELECT p.oid,
           p.oid::regprocedure::text AS id,
           p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype) AS is_trigger,
           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute,
           ARRAY(SELECT r.rolname::text FROM pg_roles r
                  WHERE r.rolname IN ('anon', 'authenticated', 'service_role')
                    AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
                  ORDER BY r.rolname) AS api_roles,
           NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}'::text[])) AS cfg
                        WHERE cfg LIKE 'search_path=%%') AS mutable_search_path,
           CASE WHEN p.prosrc !~* 'auth\.uid\(\)' THEN 'none'
                WHEN (p.prosrc ~* '(!=|<>)\s*auth\.uid\(\)' OR p.prosrc ~* 'auth\.uid\(\)\s*(!=|<>)')
                     AND p.prosrc !~* 'auth\.uid\(\)\s+is\s+null' THEN 'NULL-unsafe'
                ELSE 'safe' END AS guard
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth', 'extensions',
                            'graphql', 'storage', 'realtime', 'vault', 'pgsodium')
  ) g
) l;

-- name: security_definer_page(after_sort, after_id, limit)
-- The functions behind schema.security_definer, worst first (keyset on rank, id): per function
-- its grade, who can call it, what is wrong and how to fix it.
SELECT l.id, l.rank, l.grade,
       CASE WHEN l.is_trigger THEN 'trigger (not callable)'
            WHEN l.public_execute THEN 'PUBLIC (everyone)'
            ELSE coalesce(nullif(array_to_string(l.api_roles, ', '), ''), 'owner only')
       END AS callable_by,
       concat_ws('; ',
         CASE WHEN l.grade = 'CRITICAL' AND l.guard = 'NULL-unsafe'
              THEN 'NULL-unsafe guard: a caller without a JWT (auth.uid() NULL) passes x != auth.uid()'
              WHEN l.grade = 'CRITICAL'
              THEN 'no auth.uid() guard in a function the API roles can call' END,
         CASE WHEN l.mutable_search_path THEN 'search_path not fixed' END) AS problem,
       concat_ws('; ',
         CASE WHEN l.grade = 'CRITICAL' AND l.guard = 'NULL-unsafe'
              THEN 'refuse IF auth.uid() IS NULL, compare with IS DISTINCT FROM auth.uid()'
              WHEN l.grade = 'CRITICAL'
              THEN 'check the caller against auth.uid(), or REVOKE EXECUTE ON FUNCTION '
                   || l.id || ' FROM PUBLIC, anon, authenticated' END,
         CASE WHEN l.mutable_search_path
              THEN 'ALTER FUNCTION ' || l.id || ' SET search_path = public, pg_temp' END) AS fix
FROM (
  SELECT x.*, CASE x.grade WHEN 'CRITICAL' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END AS rank
  FROM (
    SELECT g.*,
           g.public_execute OR 'anon' = ANY (g.api_roles) OR 'authenticated' = ANY (g.api_roles)
             AS exposed,
           CASE WHEN NOT g.is_trigger AND g.guard <> 'safe'
                     AND (g.public_execute OR 'anon' = ANY (g.api_roles)
                          OR 'authenticated' = ANY (g.api_roles)) THEN 'CRITICAL'
                WHEN g.mutable_search_path THEN 'WARNING'
                ELSE 'OK' END AS grade
    FROM (
      SELECT p.oid,
             p.oid::regprocedure::text AS id,
             p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype) AS is_trigger,
             EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                      WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute,
             ARRAY(SELECT r.rolname::text FROM pg_roles r
                    WHERE r.rolname IN ('anon', 'authenticated', 'service_role')
                      AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
                    ORDER BY r.rolname) AS api_roles,
             NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}'::text[])) AS cfg
                          WHERE cfg LIKE 'search_path=%%') AS mutable_search_path,
             CASE WHEN p.prosrc !~* 'auth\.uid\(\)' THEN 'none'
                  WHEN (p.prosrc ~* '(!=|<>)\s*auth\.uid\(\)' OR p.prosrc ~* 'auth\.uid\(\)\s*(!=|<>)')
                       AND p.prosrc !~* 'auth\.uid\(\)\s+is\s+null' THEN 'NULL-unsafe'
                  ELSE 'safe' END AS guard
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prosecdef
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth', 'extensions',
                              'graphql', 'storage', 'realtime', 'vault', 'pgsodium')
    ) g
  ) x
) l
WHERE :after_id::text IS NULL OR (l.rank, l.id) > (:after_sort::int, :after_id::text)
ORDER BY l.rank, l.id
LIMIT :limit;

-- name: rls_page(after_id, limit)
-- Row-level security of the tables in public, and their policy counts.
SELECT c.oid::regclass::text AS id, c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS forced,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND (:after_id::text IS NULL OR c.oid::regclass::text > :after_id::text)
ORDER BY 1
LIMIT :limit;

-- name: unread_inbox()
-- Seed 001 Post-Migration Validation 4 ("query unread inbox results to prove indexes operate
-- correctly"): the recipients with unread messages, how many messages are unread, and the
-- largest unread count of one recipient. Index-only on idx_recipients_user (seed 001's unread
-- index, read_at IS NULL): the cost follows the unread rows.
SELECT count(*) AS recipients,
       coalesce(sum(x.unread), 0)::bigint AS unread,
       coalesce(max(x.unread), 0)::bigint AS largest
FROM (
  SELECT r.user_id, count(*) AS unread
  FROM communication.message_recipients r
  WHERE r.read_at IS NULL
  GROUP BY r.user_id
) x;
