-- The console's own catalog inspection: which relations, columns and functions exist, read once
-- per connection, so a check whose objects are missing is UNKNOWN instead of failing.

-- name: relations()
SELECT n.nspname || '.' || c.relname AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast');

-- name: columns()
SELECT n.nspname || '.' || c.relname || '.' || a.attname AS name
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast');

-- name: functions()
SELECT DISTINCT n.nspname || '.' || p.proname AS name
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema');

-- name: server()
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_num,
       current_user AS role, current_database() AS dbname,
       pg_is_in_recovery() AS in_recovery,
       current_setting('transaction_read_only') = 'on' AS read_only;

-- name: reltuples(relation)
-- The planner's row estimate of one relation (0 when never analysed).
SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = to_regclass(:relation);

-- name: type_names(oids)
-- The server's name of each type oid a described statement takes or returns (catalog/verify).
SELECT t.oid::int8 AS oid, format_type(t.oid, NULL) AS name
FROM pg_type t
WHERE t.oid = ANY(:oids::oid[]);

-- name: row_security(relations)
-- Row-level security on each named relation for the session's role (seed 004 §3.1; issue:
-- a role subject to RLS counts and changes only the rows its policies let it see). A role
-- bypasses RLS as a superuser, with BYPASSRLS, or as the owner (or a member of the owner's role)
-- of a table that does not FORCE row level security.
SELECT n.nspname || '.' || c.relname AS relation,
       c.relrowsecurity AS enabled,
       c.relforcerowsecurity AS forced,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::int AS policies,
       current_user AS role,
       (r.rolsuper OR r.rolbypassrls
        OR (pg_has_role(current_user, c.relowner, 'USAGE') AND NOT c.relforcerowsecurity))
         AS bypassed
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles r ON r.rolname = current_user
WHERE c.oid = ANY (SELECT to_regclass(x) FROM unnest(:relations::text[]) AS x
                   WHERE to_regclass(x) IS NOT NULL);
