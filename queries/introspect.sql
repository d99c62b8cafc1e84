-- The console's own catalog inspection (catalog/introspect.py, catalog/verify.py): which objects
-- exist, what a column can hold, who RLS filters, and a fingerprint of all of it, so a check
-- whose objects are missing is UNKNOWN naming them instead of failing.

-- name: objects()
-- Every schema, relation, column (with its type), function, trigger and constraint outside the
-- system schemas, as (kind, name, type): one round trip, read once per verification.
SELECT 'schema' AS kind, n.nspname AS name, '' AS type
FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%%'
UNION ALL
SELECT 'relation', n.nspname || '.' || c.relname, c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT 'column', n.nspname || '.' || c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT 'function', f.name, min(f.args)
FROM (SELECT n.nspname || '.' || p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')) f
GROUP BY f.name
UNION ALL
SELECT 'trigger', n.nspname || '.' || c.relname || '.' || t.tgname, t.tgenabled::text
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
UNION ALL
SELECT 'constraint', n.nspname || '.' || c.relname || '.' || k.conname, k.contype::text
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema');

-- name: fingerprint()
-- A cheap fingerprint of everything verification depends on: the rows of the catalogs that DDL,
-- GRANT and ALTER ROLE change (any change gives a row a new xmin, a drop changes the count), the
-- server, database, role and search_path. Equal fingerprints: the cached verification still
-- holds (in this process, and for KEPT_S in the next: catalog/verify.py).
SELECT md5(concat_ws('|',
         current_database(), inet_server_addr()::text, inet_server_port()::text, current_user,
         current_setting('search_path'), current_setting('server_version_num'),
         (SELECT r.rolsuper::text || r.rolbypassrls::text FROM pg_roles r
           WHERE r.rolname = current_user),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_namespace),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_class
           WHERE relnamespace <> 'pg_catalog'::regnamespace),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_attribute
           WHERE attrelid >= 16384),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_proc WHERE oid >= 16384),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_type WHERE oid >= 16384),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_enum),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_constraint),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_trigger),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_policy),
         (SELECT count(*) || ':' || sum(xmin::text::bigint) FROM pg_auth_members)
       )) AS fingerprint;

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
-- The server's name and category (pg_type.typcategory: N numeric, S string, D date/time, ...)
-- of each type oid a described statement takes or returns (catalog/describe.py).
SELECT t.oid::int8 AS oid, format_type(t.oid, NULL) AS name, t.typcategory::text AS category
FROM pg_type t
WHERE t.oid = ANY(:oids::oid[]);

-- name: column_names(oids, attnums)
-- The schema.table.column of each (table oid, attribute number) a described statement returns.
SELECT x.oid::int8 AS table_oid, x.attnum::int AS column_no,
       n.nspname || '.' || c.relname || '.' || a.attname AS name
FROM unnest(:oids::oid[], :attnums::int2[]) AS x (oid, attnum)
JOIN pg_attribute a ON a.attrelid = x.oid AND a.attnum = x.attnum
JOIN pg_class c ON c.oid = x.oid
JOIN pg_namespace n ON n.oid = c.relnamespace;

-- name: vocabulary(schemas, tables, columns)
-- DESIGN.md "Values the column cannot hold": per column, what it can hold (an enum's labels, or
-- the CHECK constraints on it, or on its domain, as pg_get_constraintdef shows them) beside what
-- the data holds (pg_stats' most common values and n_distinct: statistics, never a scan).
SELECT x.s || '.' || x.t || '.' || x.c AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN ty.typtype = 'e' THEN format_type(ty.oid, NULL) END AS enum_name,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = ty.oid) AS labels,
       (SELECT array_agg(k.conname::text || E'\t' || pg_get_constraintdef(k.oid) ORDER BY k.conname)
          FROM pg_constraint k
         WHERE k.contype = 'c'
           AND ((k.conrelid = c.oid AND k.conkey = ARRAY[a.attnum])
                OR (ty.typtype = 'd' AND k.contypid = ty.oid))) AS checks,
       (SELECT s.most_common_vals::text::text[] FROM pg_stats s
         WHERE s.schemaname = x.s AND s.tablename = x.t AND s.attname = x.c) AS data_values,
       (SELECT s.n_distinct::float8 FROM pg_stats s
         WHERE s.schemaname = x.s AND s.tablename = x.t AND s.attname = x.c) AS n_distinct
FROM unnest(:schemas::text[], :tables::text[], :columns::text[]) AS x (s, t, c)
JOIN pg_namespace n ON n.nspname = x.s
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = x.t
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = x.c AND NOT a.attisdropped
JOIN pg_type ty ON ty.oid = a.atttypid;

-- name: enum_labels(names)
-- The labels of each named enum type (a statement that compares an enum column with a value it
-- cannot hold fails at prepare; the finding says what the enum holds).
SELECT format_type(t.oid, NULL) AS name, t.typname::text AS short_name,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typname = ANY(:names::text[]) OR format_type(t.oid, NULL) = ANY(:names::text[])
GROUP BY t.oid, t.typname;

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
