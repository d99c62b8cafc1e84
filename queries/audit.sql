-- DESIGN.md "Guarded actions" step 5: the console's own audit trail.

-- name: audit_page(after_sort, after_id, limit)
-- opsconsole.audit_log, newest first (audit_log_created_at_idx), without the before-images.
SELECT id, created_at, action, outcome, previewed, affected, batch_no, os_user, db_role,
       profile, params::text AS params, undo_of, undone_by
FROM opsconsole.audit_log
WHERE :after_id::bigint IS NULL
   OR (created_at, id) < (:after_sort::timestamptz, :after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT :limit;
