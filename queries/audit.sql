-- DESIGN.md "Guarded actions" step 5: the console's own audit trail.

-- name: audit_page(after_sort, after_id, limit)
-- opsconsole.audit_log, newest first (audit_log_created_at_idx), without the before-images.
-- An entry is undone when another entry's undo_of names it (the trail is append-only: the
-- legacy undone_by column is never written; an aborted undo does not count), found through
-- audit_log_undo_of_idx.
SELECT a.id, a.created_at, a.action, a.outcome, a.previewed, a.affected, a.batch_no, a.os_user,
       a.db_role, a.profile, a.params::text AS params, a.undo_of,
       (SELECT min(u.id) FROM opsconsole.audit_log u
         WHERE u.undo_of = a.id AND u.outcome <> 'aborted') AS undone_by
FROM opsconsole.audit_log a
WHERE :after_id::bigint IS NULL
   OR (a.created_at, a.id) < (:after_sort::timestamptz, :after_id::bigint)
ORDER BY a.created_at DESC, a.id DESC
LIMIT :limit;

-- name: audit_by_id(id)
-- One audit entry by id, as audit_page shows it (a search by id on the Audit screen).
SELECT a.id, a.created_at, a.action, a.outcome, a.previewed, a.affected, a.batch_no, a.os_user,
       a.db_role, a.profile, a.params::text AS params, a.undo_of,
       (SELECT min(u.id) FROM opsconsole.audit_log u
         WHERE u.undo_of = a.id AND u.outcome <> 'aborted') AS undone_by
FROM opsconsole.audit_log a
WHERE a.id = :id::bigint;
