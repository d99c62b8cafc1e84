-- Seed 002 and seed 004: the feature flags behind get_feature_flag().

-- name: flags_page(after_id, limit)
-- Every feature flag, its value, who changed it and when.
SELECT name AS id, enabled, description, updated_by, updated_at
FROM public.feature_flags
WHERE :after_id::text IS NULL OR name > :after_id::text
ORDER BY name
LIMIT :limit;
