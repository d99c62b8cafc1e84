-- Seed 001 (communication migrations, structure, indexes, foreign keys) and seed 003 (SECURITY
-- DEFINER functions).

-- name: migrations(expected)
-- Seed 001 "status": the recorded migrations of communication.schema_migrations, against the
-- nine the runbook expects.
SELECT count(*) AS applied,
       :expected::int AS expected,
       count(DISTINCT checksum) AS checksums,
       max(applied_at) AS latest
FROM communication.schema_migrations;

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
-- Seed 003 "Apply Security Fix": SECURITY DEFINER functions outside the system schemas, linted.
-- A finding per function: no fixed search_path; EXECUTE held by PUBLIC or anon; no auth.uid()
-- guard; a guard written `x != auth.uid()` / `<>` that lets an anonymous caller (NULL uid) through.
SELECT count(*) FILTER (WHERE f.findings > 0) AS flagged,
       count(*) AS definer_functions,
       coalesce(sum(f.findings), 0) AS findings,
       count(*) FILTER (WHERE f.null_unsafe_guard) AS null_unsafe_guards
FROM (
  SELECT l.*, (l.no_search_path::int + l.public_execute::int + l.anon_execute::int
               + l.no_auth_guard::int + l.null_unsafe_guard::int) AS findings
  FROM (
    SELECT p.oid,
           NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}'::text[])) AS cfg
                        WHERE cfg LIKE 'search_path=%%') AS no_search_path,
           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute,
           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    JOIN pg_roles r ON r.oid = a.grantee
                    WHERE r.rolname = 'anon' AND a.privilege_type = 'EXECUTE') AS anon_execute,
           p.prosrc !~* 'auth\.uid\(\)' AS no_auth_guard,
           (p.prosrc ~* '(!=|<>)\s*auth\.uid\(\)' OR p.prosrc ~* 'auth\.uid\(\)\s*(!=|<>)')
             AND p.prosrc !~* 'auth\.uid\(\)\s+is\s+null' AS null_unsafe_guard
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth', 'extensions',
                            'graphql', 'storage', 'realtime', 'vault', 'pgsodium')
  ) l
) f;

-- name: security_definer_page(after_id, limit)
-- The per-function lint findings behind schema.security_definer.
SELECT l.id, l.no_search_path, l.public_execute, l.anon_execute, l.no_auth_guard,
       l.null_unsafe_guard
FROM (
  SELECT p.oid::regprocedure::text AS id,
         NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}'::text[])) AS cfg
                      WHERE cfg LIKE 'search_path=%%') AS no_search_path,
         EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute,
         EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                  JOIN pg_roles r ON r.oid = a.grantee
                  WHERE r.rolname = 'anon' AND a.privilege_type = 'EXECUTE') AS anon_execute,
         p.prosrc !~* 'auth\.uid\(\)' AS no_auth_guard,
         (p.prosrc ~* '(!=|<>)\s*auth\.uid\(\)' OR p.prosrc ~* 'auth\.uid\(\)\s*(!=|<>)')
           AND p.prosrc !~* 'auth\.uid\(\)\s+is\s+null' AS null_unsafe_guard
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.prosecdef
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth', 'extensions',
                          'graphql', 'storage', 'realtime', 'vault', 'pgsodium')
) l
WHERE :after_id::text IS NULL OR l.id > :after_id::text
ORDER BY l.id
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
