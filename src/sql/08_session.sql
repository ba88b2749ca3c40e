-- ---------------------------------------------------------------------------
-- Session settings the SQL reads through the module (src/hc_session.c).
-- ---------------------------------------------------------------------------

-- Inside a restore (healthcode.restore_mode) the data arrives with what is
-- derived from it (statuses, history, checks already passed), which must not
-- be derived or checked twice.
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_restore_mode'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._restoring() IS
  'Internal: true while healthcode.restore_mode is on (a dump is being loaded). In C: reading it loads the module, which refuses a value an ordinary user set before.';
REVOKE ALL ON FUNCTION @extschema@._restoring() FROM PUBLIC;
