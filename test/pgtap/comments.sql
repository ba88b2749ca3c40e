-- Every object of the extension is documented: doc/reference.md is generated
-- from the COMMENTs (tools/reference.sh), so an object without one would show
-- there undocumented. The members of the extension are what pg_depend ties
-- to it (deptype 'e'); a failure lists the objects that have no COMMENT.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(10);

CREATE TEMP VIEW hc_member AS
SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'healthcode');

-- Members whose COMMENT is missing or blank.
CREATE TEMP VIEW hc_undocumented AS
SELECT m.classid, m.objid, m.object
  FROM hc_member m
 WHERE NOT EXISTS (SELECT FROM pg_description ds
                    WHERE ds.classoid = m.classid AND ds.objoid = m.objid AND ds.objsubid = 0
                      AND btrim(ds.description) <> '');

SELECT cmp_ok((SELECT count(*)::integer FROM hc_member), '>=', 40,
              'the extension has its member objects (so the checks below are not vacuous)');

SELECT is_empty($$SELECT object FROM hc_undocumented WHERE classid = 'pg_proc'::regclass ORDER BY 1$$,
                'every function, procedure and aggregate has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented WHERE classid = 'pg_class'::regclass ORDER BY 1$$,
                'every table and view has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented WHERE classid = 'pg_type'::regclass
                   AND (SELECT typtype FROM pg_type WHERE oid = objid) <> 'd' ORDER BY 1$$,
                'every type has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented WHERE classid = 'pg_type'::regclass
                   AND (SELECT typtype FROM pg_type WHERE oid = objid) = 'd' ORDER BY 1$$,
                'every domain has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented WHERE classid = 'pg_operator'::regclass ORDER BY 1$$,
                'every operator has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented
                   WHERE classid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass) ORDER BY 1$$,
                'every operator class and operator family has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented WHERE classid = 'pg_cast'::regclass ORDER BY 1$$,
                'every cast has a COMMENT');
SELECT is_empty($$SELECT object FROM hc_undocumented ORDER BY 1$$,
                'every member of the extension, of whatever kind, has a COMMENT');

-- Columns of the tables and views, and attributes of composite types, but
-- not of internal relations (name starting with "_").
SELECT is_empty($$
  SELECT format('%s.%I', c.oid::regclass, a.attname) AS "column"
    FROM hc_member m
    JOIN pg_class c ON (m.classid = 'pg_class'::regclass AND c.oid = m.objid)
                    OR (m.classid = 'pg_type'::regclass
                        AND c.oid = (SELECT typrelid FROM pg_type WHERE oid = m.objid))
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'c') AND left(c.relname, 1) <> '_'
     AND coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
   ORDER BY 1$$,
  'every column of every table and view (but internal ones) has a COMMENT');

SELECT * FROM finish();
ROLLBACK;
