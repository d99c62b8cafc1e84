-- Seed 001 "Pre-Migration Checklist" 2: read replicas less than 5 s behind the primary.

-- name: replica_lag()
-- On a replica: seconds since the last replayed transaction (0 when no WAL is pending).
-- On a primary: the largest replay_lag of its attached replicas (0 when there are none).
SELECT CASE WHEN pg_is_in_recovery()
            THEN CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                      ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
                 END
            ELSE coalesce((SELECT max(extract(epoch FROM replay_lag)) FROM pg_stat_replication), 0)
       END::float8 AS lag_s,
       pg_is_in_recovery() AS is_replica,
       (SELECT count(*) FROM pg_stat_replication) AS replicas;
