-- ---------------------------------------------------------------------------
-- pg_dump and restore. Every table of data is configuration in the
-- extension's sense (pg_extension_config_dump), so pg_dump keeps its rows
-- and its sequence's position; the built-in national policy version is
-- left out (CREATE EXTENSION makes it). Travel's day partitions are
-- ordinary tables and are dumped as such.
--
-- A dump holds statuses and history alongside the evidence they were
-- computed from, so loading it must not recalculate: the triggers would
-- append history for every row again. The dump therefore carries a marker
-- row that pg_dump writes before any other table of the schema (its name
-- sorts first); loading it turns healthcode.restore_mode on for that
-- session, and the status triggers stand aside. A parallel pg_restore
-- (-j) loads tables in other sessions: run it with
-- PGOPTIONS='-c session_replication_role=replica' (see the README).
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  tbl text;
BEGIN
  -- (a table partitioned by time: its default partition; the others,
  -- made as the days come, are no members of the extension, and pg_dump
  -- dumps them whole)
  FOREACH tbl IN ARRAY ARRAY['person', 'declaration', 'test_result_default', 'test_result_sample', 'vaccination', 'contact',
                             'checkin_default', 'risk_area', 'manual_decision', 'audit_finding', 'correction',
                             'person_status', 'status_history_default', 'guardian_link', 'proxy_action', 'venue',
                             'medicine_sale']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(format('@extschema@.%I', tbl)::regclass, '');
  END LOOP;
  FOREACH tbl IN ARRAY ARRAY['person', 'declaration', 'test_result', 'vaccination', 'contact', 'checkin',
                             'risk_area', 'manual_decision', 'audit_finding', 'correction', 'status_history',
                             'policy', 'travel', 'guardian_link', 'proxy_action', 'venue', 'medicine_sale']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(format('@extschema@.%I', tbl || '_id_seq')::regclass, '');
    EXECUTE format('COMMENT ON SEQUENCE @extschema@.%I IS %L', tbl || '_id_seq', format('Ids of %s rows.', tbl));
  END LOOP;
END $$;
-- the national scheme's exchange tables (9x_federation_*.sql): what was
-- received stays available offline after a restore
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_exchange', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.red_push', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.health_share', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.status_digest', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exchange_reject', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exchange_reject_id_seq', '');
-- the status work list (66_status_work.sql): a dump taken while work is
-- pending is restored with it, and readers compute those people fresh
-- until the workers are done (CALL wait_for_recalc() starts them)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_work', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_work_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_pending', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_gone_stays', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consistency_finding', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.policy',
  $$WHERE NOT (region OPERATOR(pg_catalog.=) '000000' AND valid_from OPERATOR(pg_catalog.=) '-infinity')$$);

CREATE TABLE @extschema@._dump_marker (note text NOT NULL);
COMMENT ON TABLE @extschema@._dump_marker IS
  'Internal: one row, dumped with the data. Loading a dump inserts it a second time, which switches healthcode.restore_mode on for the restoring session.';
COMMENT ON COLUMN @extschema@._dump_marker.note IS 'What the row is for.';
INSERT INTO @extschema@._dump_marker VALUES
  ('healthcode dump marker: loading this row suspends status recalculation for the session');
SELECT pg_catalog.pg_extension_config_dump('@extschema@._dump_marker', '');
REVOKE ALL ON @extschema@._dump_marker FROM PUBLIC;

CREATE FUNCTION @extschema@._dump_marker_loaded() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- session-wide: the rest of the dump is loaded by this session
  PERFORM set_config('healthcode.restore_mode', 'on', false);
  DELETE FROM @extschema@._dump_marker m
   WHERE m.ctid <> (SELECT min(x.ctid) FROM @extschema@._dump_marker x);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._dump_marker_loaded() IS
  'Internal: trigger that turns healthcode.restore_mode on when a dump''s marker row is loaded.';
REVOKE ALL ON FUNCTION @extschema@._dump_marker_loaded() FROM PUBLIC;
CREATE TRIGGER dump_marker_loaded AFTER INSERT ON @extschema@._dump_marker
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._dump_marker_loaded();
-- (also in a restore with session_replication_role = replica, which fires
-- no ordinary trigger: else each such restore would leave one more row)
ALTER TABLE @extschema@._dump_marker ENABLE ALWAYS TRIGGER dump_marker_loaded;
