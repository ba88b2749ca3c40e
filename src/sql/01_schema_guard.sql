-- ---------------------------------------------------------------------------
-- Install and update only into a schema no one else controls. The script
-- runs with search_path = @extschema@, pg_temp: an object another role had
-- planted in @extschema@ (a function or operator shadowing one the script
-- means) would run with the installing superuser's rights. So the schema
-- must belong to the role running the script, and hold nothing that is not
-- part of the extension.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
  owner_name name;
  stray text;
BEGIN
  SELECT r.rolname INTO owner_name
    FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
   WHERE n.nspname = '@extschema@';
  IF owner_name IS DISTINCT FROM CURRENT_USER THEN
    RAISE EXCEPTION 'schema @extschema@ belongs to %, not to %, who installs healthcode', owner_name, CURRENT_USER
      USING ERRCODE = '42501',
            HINT = 'Another role could have planted objects in it. Drop the schema (or give it to the installing role after checking it) and try again.';
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.pg_describe_object(o.classid, o.objid, 0), ', ')
    INTO stray
    FROM (SELECT 'pg_catalog.pg_proc'::regclass AS classid, p.oid AS objid FROM pg_catalog.pg_proc p
           WHERE p.pronamespace = '@extschema@'::regnamespace
          UNION ALL
          SELECT 'pg_catalog.pg_operator'::regclass, o.oid FROM pg_catalog.pg_operator o
           WHERE o.oprnamespace = '@extschema@'::regnamespace
          UNION ALL
          SELECT 'pg_catalog.pg_class'::regclass, c.oid FROM pg_catalog.pg_class c
           WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')
          UNION ALL
          SELECT 'pg_catalog.pg_type'::regclass, t.oid FROM pg_catalog.pg_type t
           WHERE t.typnamespace = '@extschema@'::regnamespace AND t.typrelid = 0 AND t.typelem = 0) o
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype IN ('e', 'i', 'a')
                        AND (d.deptype = 'e' OR d.refclassid <> 'pg_catalog.pg_namespace'::regclass))
     -- travel's day partitions and their row types are made at run time
     AND NOT (o.classid = 'pg_catalog.pg_class'::regclass
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = o.objid));
  IF stray IS NOT NULL THEN
    RAISE EXCEPTION 'schema @extschema@ holds objects that are not part of healthcode: %', stray
      USING ERRCODE = '42501',
            HINT = 'Objects planted in the extension''s schema could shadow those its script uses. Remove them first.';
  END IF;
END $$;
