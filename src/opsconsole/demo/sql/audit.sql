-- The console's audit trail of guarded actions (DESIGN.md "Guarded actions", steps 5 and 6).
-- `opsconsole db init` runs it after schema.sql; on any other database run it once as the owner
-- of the schema it creates (psql -f audit.sql): it is idempotent and upgrades an older trail.
--
-- Who may write it: nobody may UPDATE, DELETE or TRUNCATE it (a trigger refuses, the owner
-- included); INSERT is granted only to the role opsconsole_operator, which the roles that run
-- actions are made members of (GRANT opsconsole_operator TO ops;).
--
-- What makes a row verifiable: its BEFORE INSERT trigger sets xact_id, db_role and created_at
-- itself, and `vouched` only when every update, insert or trigger image in before_images names
-- a row (or trigger) that the inserting transaction itself wrote (xmin = that transaction). The
-- console writes each batch's row in the batch's own transaction, after its changes, so its
-- rows are vouched; a row crafted by someone who merely may INSERT is not, and undo refuses it.

CREATE SCHEMA IF NOT EXISTS opsconsole;

DO $role$
BEGIN
  -- Roles are cluster-wide: two inits racing on one cluster take the role the winner created.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsconsole_operator') THEN
    BEGIN
      CREATE ROLE opsconsole_operator NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$role$;

CREATE TABLE IF NOT EXISTS opsconsole.audit_log (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id         uuid NOT NULL,
  batch_no       integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  os_user        text NOT NULL,
  db_role        text NOT NULL DEFAULT current_user,
  client_host    text,
  profile        text,
  action         text NOT NULL,
  params         jsonb NOT NULL DEFAULT '{}'::jsonb,
  previewed      integer NOT NULL,
  affected       integer NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('applied', 'partial', 'aborted', 'undone')),
  before_images  jsonb NOT NULL DEFAULT '[]'::jsonb,
  undo_of        bigint REFERENCES opsconsole.audit_log (id),
  -- Never written since the trail is append-only (kept for older readers): an entry is undone
  -- when a row with undo_of = its id exists.
  undone_by      bigint REFERENCES opsconsole.audit_log (id)
);
ALTER TABLE opsconsole.audit_log
  ADD COLUMN IF NOT EXISTS xact_id xid8,
  ADD COLUMN IF NOT EXISTS vouched boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS audit_log_created_at_idx
  ON opsconsole.audit_log (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_run_idx ON opsconsole.audit_log (run_id, batch_no);
CREATE INDEX IF NOT EXISTS audit_log_undo_of_idx
  ON opsconsole.audit_log (undo_of) WHERE undo_of IS NOT NULL;

CREATE OR REPLACE FUNCTION opsconsole.audit_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'opsconsole.audit_log is append-only: % is not allowed', TG_OP
    USING HINT = 'the audit trail is written once per batch by the console; undo adds a row';
END
$$;

-- Does every update, insert or trigger image of a new row name something this transaction
-- wrote? Runs as the inserting role; any error (an image that names no table, a key that does
-- not parse) makes the row unvouched, never fails the insert.
CREATE OR REPLACE FUNCTION opsconsole.audit_vouch() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  here xid := xid(pg_current_xact_id());
  grp record;
  rel regclass;
  found bigint;
BEGIN
  NEW.xact_id := pg_current_xact_id();
  NEW.db_role := current_user;
  NEW.created_at := now();
  NEW.undone_by := NULL;
  NEW.vouched := jsonb_typeof(NEW.before_images) = 'array';
  IF NOT NEW.vouched THEN
    RETURN NEW;
  END IF;
  BEGIN
    FOR grp IN
      SELECT e ->> 'table' AS tbl, e ->> 'op' AS op,
             (SELECT min(k) FROM jsonb_object_keys(e -> 'key') AS k) AS keycol, count(*) AS n
      FROM jsonb_array_elements(NEW.before_images) AS e
      WHERE e ->> 'op' IS DISTINCT FROM 'delete'
      GROUP BY 1, 2, 3
    LOOP
      rel := to_regclass(grp.tbl);
      IF rel IS NULL OR grp.op NOT IN ('update', 'insert', 'trigger') THEN
        NEW.vouched := false;
        RETURN NEW;
      END IF;
      IF grp.op = 'trigger' THEN
        SELECT count(*) INTO found
        FROM jsonb_array_elements(NEW.before_images) AS e
        JOIN pg_trigger t ON t.tgrelid = rel AND t.tgname = e -> 'key' ->> 'trigger'
        WHERE e ->> 'table' = grp.tbl AND e ->> 'op' = 'trigger' AND t.xmin = here;
      ELSE
        EXECUTE format(
          'SELECT count(*) FROM jsonb_array_elements($1) AS e JOIN %s cur'
          ' ON cur.%I = (jsonb_populate_record(NULL::%s, e -> ''key'')).%I'
          ' WHERE e ->> ''table'' = $2 AND e ->> ''op'' = $3 AND cur.xmin = $4',
          rel, grp.keycol, rel, grp.keycol)
        INTO found USING NEW.before_images, grp.tbl, grp.op, here;
      END IF;
      IF found IS DISTINCT FROM grp.n THEN
        NEW.vouched := false;
        RETURN NEW;
      END IF;
    END LOOP;
  EXCEPTION WHEN OTHERS THEN
    NEW.vouched := false;
  END;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS audit_log_append_only ON opsconsole.audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON opsconsole.audit_log
  FOR EACH ROW EXECUTE FUNCTION opsconsole.audit_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON opsconsole.audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON opsconsole.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION opsconsole.audit_append_only();
DROP TRIGGER IF EXISTS audit_log_vouch ON opsconsole.audit_log;
CREATE TRIGGER audit_log_vouch BEFORE INSERT ON opsconsole.audit_log
  FOR EACH ROW EXECUTE FUNCTION opsconsole.audit_vouch();

REVOKE ALL ON opsconsole.audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON opsconsole.audit_log FROM CURRENT_USER;
GRANT USAGE ON SCHEMA opsconsole TO opsconsole_operator;
GRANT SELECT, INSERT ON opsconsole.audit_log TO opsconsole_operator;
