-- tools/reference.sql: writes doc/reference.md, the reference of every SQL
-- object of the healthcode extension, to stdout, from the catalogs of a
-- database where the extension is installed. Use it through
-- tools/reference.sh; by hand:
--
--   psql -X -d DB -f tools/reference.sql > doc/reference.md
--
-- What it lists: every member of the extension (pg_depend deptype 'e'),
-- the triggers on its tables and views, and its settings (pg_settings
-- named EXTNAME.*). Objects whose name starts with "_" are internal and go
-- to a section of their own at the end. Sorted by kind, then name, then
-- signature, in the "C" collation. The output holds nothing that changes
-- between runs or databases (no dates, OIDs, owners, server versions, or
-- values of settings): only the extension's version.
--
-- Needs a superuser: it LOADs the extension's module so that its settings
-- appear in pg_settings. It reads only; its helper view and functions are
-- temporary and rolled back. psql -v ext=NAME documents another extension.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
\pset footer off
\pset pager off
\pset null ''
\encoding UTF8
\if :{?ext}
\else
  \set ext healthcode
\endif

BEGIN;
-- Deparsed expressions (defaults, checks, view definitions) depend on these.
SET LOCAL search_path = pg_catalog, pg_temp;
SET LOCAL standard_conforming_strings = on;
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = postgres;
SET LOCAL TimeZone = 'UTC';
SET LOCAL extra_float_digits = 1;
SET LOCAL bytea_output = hex;
SET LOCAL reference.extname = :'ext';

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = current_setting('reference.extname')) THEN
    RAISE EXCEPTION 'extension "%" is not installed in database "%"',
      current_setting('reference.extname'), current_database()
      USING HINT = 'CREATE EXTENSION it first, or run tools/reference.sh without connection arguments: it then uses a throwaway cluster.';
  END IF;
  IF current_setting('is_superuser') <> 'on' THEN
    RAISE EXCEPTION 'tools/reference.sql needs a superuser'
      USING DETAIL = 'It loads the extension''s module so that its settings appear in pg_settings.';
  END IF;
END $$;

-- The module's settings exist only once it is loaded in this session.
SELECT DISTINCT format('LOAD %L', p.probin)
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = current_setting('reference.extname'))
   AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.probin IS NOT NULL
\gexec

-- ---------------------------------------------------------------------------
-- What is documented: one row per object, with its kind, the name and
-- signature it sorts by, and whether it is internal.
-- ---------------------------------------------------------------------------
CREATE TEMP VIEW ref_kind (kind_no, title) AS VALUES
  (1, 'Types'), (2, 'Domains'), (3, 'Tables'), (4, 'Views'), (5, 'Functions'),
  (6, 'Procedures'), (7, 'Aggregates'), (8, 'Operators'), (9, 'Operator classes'),
  (10, 'Operator families'), (11, 'Casts'), (12, 'Triggers'), (13, 'Settings'),
  (14, 'Other objects');

CREATE TEMP VIEW ref_member AS
WITH ext AS (
  SELECT oid, extname FROM pg_extension WHERE extname = current_setting('reference.extname')
), dep AS (
  SELECT d.classid, d.objid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), obj (kind_no, classid, objid, name, sig) AS (
  SELECT CASE t.typtype WHEN 'd' THEN 2 ELSE 1 END, 'pg_type'::regclass::oid, t.oid, t.typname::text, ''
    FROM dep JOIN pg_type t ON dep.classid = 'pg_type'::regclass AND t.oid = dep.objid
  UNION  -- a composite type may be a member through its relation
  SELECT CASE WHEN c.relkind IN ('r', 'p', 'f') THEN 3 WHEN c.relkind IN ('v', 'm') THEN 4 ELSE 1 END,
         CASE WHEN c.relkind = 'c' THEN 'pg_type'::regclass ELSE 'pg_class'::regclass END::oid,
         CASE WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END, c.relname::text, ''
    FROM dep JOIN pg_class c ON dep.classid = 'pg_class'::regclass AND c.oid = dep.objid
   WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'c')
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 6 WHEN 'a' THEN 7 ELSE 5 END, 'pg_proc'::regclass, p.oid,
         p.proname::text, pg_get_function_identity_arguments(p.oid)
    FROM dep JOIN pg_proc p ON dep.classid = 'pg_proc'::regclass AND p.oid = dep.objid
  UNION ALL
  SELECT 8, 'pg_operator'::regclass, o.oid, o.oprname::text,
         coalesce(format_type(nullif(o.oprleft, 0), NULL), 'none') || ', ' || format_type(o.oprright, NULL)
    FROM dep JOIN pg_operator o ON dep.classid = 'pg_operator'::regclass AND o.oid = dep.objid
  UNION ALL
  SELECT 9, 'pg_opclass'::regclass, oc.oid, oc.opcname::text, am.amname::text
    FROM dep JOIN pg_opclass oc ON dep.classid = 'pg_opclass'::regclass AND oc.oid = dep.objid
    JOIN pg_am am ON am.oid = oc.opcmethod
  UNION ALL
  SELECT 10, 'pg_opfamily'::regclass, f.oid, f.opfname::text, am.amname::text
    FROM dep JOIN pg_opfamily f ON dep.classid = 'pg_opfamily'::regclass AND f.oid = dep.objid
    JOIN pg_am am ON am.oid = f.opfmethod
  UNION ALL
  SELECT 11, 'pg_cast'::regclass, c.oid, format_type(c.castsource, NULL), format_type(c.casttarget, NULL)
    FROM dep JOIN pg_cast c ON dep.classid = 'pg_cast'::regclass AND c.oid = dep.objid
  UNION ALL  -- triggers belong to the extension's tables and views, not to it
  SELECT 12, 'pg_trigger'::regclass, tg.oid, tg.tgname::text, tg.tgrelid::regclass::text
    FROM dep JOIN pg_trigger tg ON dep.classid = 'pg_class'::regclass AND tg.tgrelid = dep.objid
   WHERE NOT tg.tgisinternal
  UNION ALL
  SELECT 13, 0, 0, s.name, '' FROM pg_settings s, ext WHERE starts_with(s.name, ext.extname || '.')
  UNION ALL  -- anything of a kind not documented above, so that nothing is left out
  SELECT 14, dep.classid, dep.objid, pg_describe_object(dep.classid, dep.objid, 0), ''
    FROM dep
   WHERE dep.classid NOT IN ('pg_type'::regclass, 'pg_proc'::regclass, 'pg_operator'::regclass,
                             'pg_opclass'::regclass, 'pg_opfamily'::regclass, 'pg_cast'::regclass)
     AND NOT (dep.classid = 'pg_class'::regclass
              AND (SELECT relkind FROM pg_class WHERE oid = dep.objid) IN ('r', 'p', 'f', 'v', 'm', 'c'))
)
SELECT kind_no, classid, objid, name, sig,
       kind_no NOT IN (11, 14)
       AND left(CASE WHEN kind_no = 13 THEN substr(name, length((SELECT extname FROM ext)) + 2) ELSE name END, 1) = '_'
         AS internal
  FROM obj;

-- ---------------------------------------------------------------------------
-- Markdown helpers.
-- ---------------------------------------------------------------------------
-- A code span.
CREATE FUNCTION pg_temp.md_code(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN t IS NULL THEN NULL
              WHEN strpos(t, '`') > 0 THEN '`` ' || t || ' ``'
              ELSE '`' || t || '`' END $$;
-- Text for a table cell: one line, "|" escaped.
CREATE FUNCTION pg_temp.md_cell(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(regexp_replace(replace(t, '|', '\|'), '\s*\n\s*', ' ', 'g'), '') $$;
-- A table row from its cells.
CREATE FUNCTION pg_temp.md_row(VARIADIC cells text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT '| ' || string_agg(pg_temp.md_cell(c), ' | ' ORDER BY i) || ' |'
    FROM unnest(cells) WITH ORDINALITY AS u(c, i) $$;
-- A table's header: the row of titles and the delimiter row.
CREATE FUNCTION pg_temp.md_head(VARIADIC titles text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.md_row(VARIADIC titles) || E'\n|'
         || repeat(' --- |', cardinality(titles)) $$;
-- An object's COMMENT, or NULL.
CREATE FUNCTION pg_temp.comment_of(cls oid, obj oid, sub integer DEFAULT 0) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT nullif(btrim(description), '') FROM pg_description
   WHERE classoid = cls AND objoid = obj AND objsubid = sub $$;
-- An object's COMMENT for the document.
CREATE FUNCTION pg_temp.md_comment(cls oid, obj oid, sub integer DEFAULT 0) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT coalesce(pg_temp.comment_of(cls, obj, sub), '*No comment.*') $$;
-- Heading marks of an item: its section is one level deeper when internal.
CREATE FUNCTION pg_temp.md_item(internal boolean) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN internal THEN '####' ELSE '###' END $$;
CREATE FUNCTION pg_temp.yes_no(b boolean) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN b THEN 'yes' ELSE 'no' END $$;
-- The members of a kind, in document order.
CREATE FUNCTION pg_temp.members(kind integer, internal boolean)
RETURNS TABLE (objid oid, name text, sig text, ord bigint) LANGUAGE sql STABLE AS $$
  SELECT m.objid, m.name, m.sig,
         row_number() OVER (ORDER BY m.name COLLATE "C", m.sig COLLATE "C")
    FROM pg_temp.ref_member m
   WHERE m.kind_no = kind AND m.internal = members.internal $$;

-- ---------------------------------------------------------------------------
-- One function a kind, each returning the body of its section.
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.section_types(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(
    pg_temp.md_item(internal) || ' ' || pg_temp.md_code(format_type(t.oid, NULL)) || E'\n\n'
    || '**' || CASE t.typtype WHEN 'b' THEN 'Base type' WHEN 'e' THEN 'Enum type'
                              WHEN 'c' THEN 'Composite type' WHEN 'r' THEN 'Range type'
                              WHEN 'm' THEN 'Multirange type' ELSE 'Pseudo-type' END
    || '.** ' || pg_temp.md_comment('pg_type'::regclass, t.oid)
    || CASE t.typtype
         WHEN 'e' THEN E'\n\nLabels, in sort order: '
           || (SELECT string_agg(pg_temp.md_code(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = t.oid) || '.'
         WHEN 'c' THEN E'\n\n' || pg_temp.md_head('attribute', 'type', 'description') || E'\n'
           || (SELECT string_agg(pg_temp.md_row(pg_temp.md_code(a.attname),
                                                pg_temp.md_code(format_type(a.atttypid, a.atttypmod)),
                                                pg_temp.md_comment('pg_class'::regclass, a.attrelid, a.attnum)),
                                 E'\n' ORDER BY a.attnum)
                 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
         WHEN 'r' THEN E'\n\nSubtype: '
           || (SELECT pg_temp.md_code(format_type(r.rngsubtype, NULL)) FROM pg_range r WHERE r.rngtypid = t.oid)
           || '.'
         WHEN 'b' THEN E'\n\n' || pg_temp.md_head('property', 'value') || E'\n'
           || (SELECT string_agg(pg_temp.md_row(p.k, p.v), E'\n' ORDER BY p.i)
                 FROM (VALUES
                   (1, 'input, output', pg_temp.md_code(t.typinput::regproc::text) || ', '
                                        || pg_temp.md_code(t.typoutput::regproc::text)),
                   (2, 'receive, send', pg_temp.md_code(nullif(t.typreceive, 0)::regproc::text) || ', '
                                        || pg_temp.md_code(nullif(t.typsend, 0)::regproc::text)),
                   (3, 'type modifier input, output', pg_temp.md_code(nullif(t.typmodin, 0)::regproc::text) || ', '
                                        || pg_temp.md_code(nullif(t.typmodout, 0)::regproc::text)),
                   (4, 'analyze', pg_temp.md_code(nullif(t.typanalyze, 0)::regproc::text)),
                   (5, 'subscript', pg_temp.md_code(nullif(t.typsubscript, 0)::regproc::text)),
                   (6, 'internal length', CASE t.typlen WHEN -1 THEN 'variable' WHEN -2 THEN 'null-terminated'
                                                       ELSE t.typlen || ' bytes' END),
                   (7, 'passed by value', pg_temp.yes_no(t.typbyval)),
                   (8, 'alignment', CASE t.typalign WHEN 'c' THEN 'char' WHEN 's' THEN 'int2'
                                                    WHEN 'i' THEN 'int4' ELSE 'double' END),
                   (9, 'storage', CASE t.typstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
                                                    WHEN 'm' THEN 'main' ELSE 'extended' END),
                   (10, 'collatable', CASE WHEN t.typcollation <> 0 THEN 'yes' END),
                   (11, 'default', pg_temp.md_code(t.typdefault)),
                   (12, 'array type', pg_temp.md_code(format_type(nullif(t.typarray, 0), NULL))))
                   AS p(i, k, v)
                WHERE p.v IS NOT NULL)
         ELSE '' END,
    E'\n\n' ORDER BY m.ord)
  FROM pg_temp.members(1, internal) m JOIN pg_type t ON t.oid = m.objid $$;

CREATE FUNCTION pg_temp.section_domains(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(
    pg_temp.md_item(internal) || ' ' || pg_temp.md_code(format_type(t.oid, NULL)) || E'\n\n'
    || pg_temp.md_comment('pg_type'::regclass, t.oid) || E'\n\n'
    || pg_temp.md_head('property', 'value') || E'\n'
    || concat_ws(E'\n',
         pg_temp.md_row('base type', pg_temp.md_code(format_type(t.typbasetype, t.typtypmod))),
         pg_temp.md_row('not null', pg_temp.yes_no(t.typnotnull)),
         CASE WHEN t.typdefault IS NOT NULL THEN pg_temp.md_row('default', pg_temp.md_code(t.typdefault)) END,
         (SELECT string_agg(pg_temp.md_row('constraint ' || pg_temp.md_code(c.conname),
                                           pg_temp.md_code(pg_get_constraintdef(c.oid))),
                            E'\n' ORDER BY c.conname COLLATE "C")
            FROM pg_constraint c WHERE c.contypid = t.oid)),
    E'\n\n' ORDER BY m.ord)
  FROM pg_temp.members(2, internal) m JOIN pg_type t ON t.oid = m.objid $$;

CREATE FUNCTION pg_temp.section_tables(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(
    pg_temp.md_item(internal) || ' ' || pg_temp.md_code(c.oid::regclass::text) || E'\n\n'
    || pg_temp.md_comment('pg_class'::regclass, c.oid)
    || CASE c.relkind WHEN 'p' THEN ' Partitioned table.' WHEN 'f' THEN ' Foreign table.' ELSE '' END
    || CASE WHEN c.oid = ANY (e.extconfig)
            THEN ' Configuration table: `pg_dump` dumps its rows.' ELSE '' END
    || CASE WHEN c.relrowsecurity THEN ' Row-level security is enabled'
            || CASE WHEN c.relforcerowsecurity THEN ', and forced for the owner.' ELSE '.' END
            ELSE '' END
    || E'\n\n' || pg_temp.md_head('column', 'type', 'nullable', 'default', 'description') || E'\n'
    || (SELECT string_agg(pg_temp.md_row(
                 pg_temp.md_code(a.attname),
                 pg_temp.md_code(format_type(a.atttypid, a.atttypmod)),
                 pg_temp.yes_no(NOT a.attnotnull),
                 CASE WHEN a.attidentity = 'a' THEN 'generated always as identity'
                      WHEN a.attidentity = 'd' THEN 'generated by default as identity'
                      WHEN a.attgenerated = 's' THEN 'generated always as '
                           || pg_temp.md_code('(' || pg_get_expr(d.adbin, d.adrelid) || ')') || ' stored'
                      ELSE pg_temp.md_code(pg_get_expr(d.adbin, d.adrelid)) END,
                 pg_temp.md_comment('pg_class'::regclass, c.oid, a.attnum)),
               E'\n' ORDER BY a.attnum)
          FROM pg_attribute a
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
    || coalesce(E'\n\n' || pg_temp.md_head('constraint', 'definition') || E'\n'
         || (SELECT string_agg(pg_temp.md_row(pg_temp.md_code(k.conname),
                                              pg_temp.md_code(pg_get_constraintdef(k.oid))),
                               E'\n' ORDER BY strpos('pufxtc', k.contype::text), k.conname COLLATE "C")
               FROM pg_constraint k WHERE k.conrelid = c.oid), '')
    || coalesce(E'\n\n' || pg_temp.md_head('index', 'definition') || E'\n'
         || (SELECT string_agg(pg_temp.md_row(pg_temp.md_code(ic.relname),
                                              pg_temp.md_code(pg_get_indexdef(i.indexrelid))),
                               E'\n' ORDER BY ic.relname COLLATE "C")
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                                              AND k.conrelid = c.oid)), '')
    || coalesce(E'\n\nTriggers (see *Triggers*): '
         || (SELECT string_agg(pg_temp.md_code(tg.tgname), ', ' ORDER BY tg.tgname COLLATE "C")
               FROM pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal) || '.', ''),
    E'\n\n' ORDER BY m.ord)
  FROM pg_temp.members(3, internal) m JOIN pg_class c ON c.oid = m.objid,
       pg_extension e
 WHERE e.extname = current_setting('reference.extname') $$;

CREATE FUNCTION pg_temp.section_views(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(
    pg_temp.md_item(internal) || ' ' || pg_temp.md_code(c.oid::regclass::text) || E'\n\n'
    || CASE WHEN c.relkind = 'm' THEN '**Materialized view.** ' ELSE '' END
    || pg_temp.md_comment('pg_class'::regclass, c.oid)
    || coalesce(' Options: ' || pg_temp.md_code(array_to_string(c.reloptions, ', ')) || '.', '')
    || E'\n\n' || pg_temp.md_head('column', 'type', 'description') || E'\n'
    || (SELECT string_agg(pg_temp.md_row(pg_temp.md_code(a.attname),
                                         pg_temp.md_code(format_type(a.atttypid, a.atttypmod)),
                                         pg_temp.md_comment('pg_class'::regclass, c.oid, a.attnum)),
                          E'\n' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
    || E'\n\nDefinition:\n\n```sql\n' || rtrim(regexp_replace(pg_get_viewdef(c.oid, true), '^\s+|\s+$', '', 'g'), ';') || E';\n```',
    E'\n\n' ORDER BY m.ord)
  FROM pg_temp.members(4, internal) m JOIN pg_class c ON c.oid = m.objid $$;

-- A function's arguments as written in CREATE FUNCTION: mode, name, type,
-- default; or only the input arguments' names and types, which identify it.
CREATE FUNCTION pg_temp.function_args(f oid, full_form boolean) RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_agg(
           concat_ws(' ', CASE p.proargmodes[a.i] WHEN 'o' THEN 'OUT' WHEN 'b' THEN 'INOUT'
                                                  WHEN 'v' THEN 'VARIADIC' END,
                          nullif(p.proargnames[a.i], ''),
                          format_type(a.t, NULL))
           || CASE WHEN full_form
                   THEN coalesce(' DEFAULT ' || pg_get_function_arg_default(f, a.i::integer), '')
                   ELSE '' END
           ORDER BY a.i), '{}')
    FROM pg_proc p, unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS a(t, i)
   WHERE p.oid = f
     AND coalesce(p.proargmodes[a.i], 'i') <> 't'
     AND (full_form OR coalesce(p.proargmodes[a.i], 'i') <> 'o') $$;

-- The signature block of a function, procedure or aggregate.
CREATE FUNCTION pg_temp.function_signature(f oid) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT q || CASE WHEN p.prokind = 'a' THEN '(' || pg_get_function_arguments(f) || ')'
                   WHEN length(q || array_to_string(args, ', ')) <= 78 THEN '(' || array_to_string(args, ', ') || ')'
                   ELSE E'(\n    ' || array_to_string(args, E',\n    ') || ')' END
         || coalesce(E'\n  RETURNS ' || pg_get_function_result(f), '')
         || coalesce((SELECT string_agg(E'\n  SET ' || split_part(c, '=', 1) || ' = '
                                        || substr(c, strpos(c, '=') + 1), '' ORDER BY o)
                        FROM unnest(p.proconfig) WITH ORDINALITY AS u(c, o)), '')
    FROM pg_proc p, pg_namespace n,
         LATERAL (SELECT pg_temp.function_args(f, true) AS args,
                         CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' WHEN 'a' THEN 'AGGREGATE '
                                        ELSE 'FUNCTION ' END
                         || quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS q) x
   WHERE p.oid = f AND n.oid = p.pronamespace $$;

CREATE FUNCTION pg_temp.section_functions(kind integer, internal boolean) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT string_agg(
    pg_temp.md_item(internal) || ' '
    || pg_temp.md_code(quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('
                       || CASE WHEN p.prokind = 'a' THEN pg_get_function_identity_arguments(p.oid)
                               ELSE array_to_string(pg_temp.function_args(p.oid, false), ', ') END || ')')
    || E'\n\n' || pg_temp.md_comment('pg_proc'::regclass, p.oid)
    || E'\n\n```sql\n' || pg_temp.function_signature(p.oid) || E'\n```\n\n'
    || CASE WHEN p.prokind = 'a' THEN
         pg_temp.md_head('kind', 'state function', 'state type', 'final function', 'combine function',
                         'initial state', 'parallel') || E'\n'
         || pg_temp.md_row(CASE g.aggkind WHEN 'o' THEN 'ordered-set' WHEN 'h' THEN 'hypothetical-set'
                                          ELSE 'normal' END,
                           pg_temp.md_code(g.aggtransfn::regproc::text),
                           pg_temp.md_code(format_type(g.aggtranstype, NULL)),
                           pg_temp.md_code(nullif(g.aggfinalfn, 0)::regproc::text),
                           pg_temp.md_code(nullif(g.aggcombinefn, 0)::regproc::text),
                           pg_temp.md_code(g.agginitval),
                           CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END)
       WHEN p.prokind = 'p' THEN
         pg_temp.md_head('language', 'security') || E'\n'
         || pg_temp.md_row(l.lanname, CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END)
       ELSE
         pg_temp.md_head('language', 'volatility', 'strict', 'parallel', 'security', 'leakproof') || E'\n'
         || pg_temp.md_row(l.lanname,
                           CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
                           pg_temp.yes_no(p.proisstrict),
                           CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
                           CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END,
                           pg_temp.yes_no(p.proleakproof))
       END,
    E'\n\n' ORDER BY m.ord)
  FROM pg_temp.members(kind, internal) m JOIN pg_proc p ON p.oid = m.objid
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
  LEFT JOIN pg_aggregate g ON g.aggfnoid = p.oid $$;

CREATE FUNCTION pg_temp.section_operators(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_temp.md_head('operator', 'left operand', 'right operand', 'result', 'function',
                         'commutator', 'negator', 'description') || E'\n'
         || string_agg(pg_temp.md_row(
              pg_temp.md_code(o.oprname),
              coalesce(pg_temp.md_code(format_type(nullif(o.oprleft, 0), NULL)), '(none)'),
              coalesce(pg_temp.md_code(format_type(nullif(o.oprright, 0), NULL)), '(none)'),
              pg_temp.md_code(format_type(o.oprresult, NULL)),
              pg_temp.md_code(o.oprcode::regproc::text),
              pg_temp.md_code((SELECT oprname FROM pg_operator WHERE oid = o.oprcom)),
              pg_temp.md_code((SELECT oprname FROM pg_operator WHERE oid = o.oprnegate)),
              pg_temp.md_comment('pg_operator'::regclass, o.oid)
              || CASE WHEN o.oprcanhash AND o.oprcanmerge THEN ' Supports hash and merge joins.'
                      WHEN o.oprcanhash THEN ' Supports hash joins.'
                      WHEN o.oprcanmerge THEN ' Supports merge joins.' ELSE '' END),
            E'\n' ORDER BY m.ord)
    FROM pg_temp.members(8, internal) m JOIN pg_operator o ON o.oid = m.objid $$;

CREATE FUNCTION pg_temp.section_opclasses(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(
    pg_temp.md_item(internal) || ' ' || pg_temp.md_code(quote_ident(n.nspname) || '.' || quote_ident(oc.opcname))
    || ' (' || am.amname || E')\n\n'
    || CASE WHEN oc.opcdefault THEN 'Default operator class' ELSE 'Operator class' END
    || ' of ' || pg_temp.md_code(format_type(oc.opcintype, NULL)) || ' for ' || pg_temp.md_code(am.amname::text)
    || ', in operator family ' || pg_temp.md_code(quote_ident(fn.nspname) || '.' || quote_ident(f.opfname)) || '. '
    || pg_temp.md_comment('pg_opclass'::regclass, oc.oid) || E'\n\n'
    || pg_temp.md_head('member', 'number', 'operator or function') || E'\n'
    || (SELECT string_agg(pg_temp.md_row(x.kind, x.num::text, pg_temp.md_code(x.what)), E'\n'
                          ORDER BY x.kind DESC, x.num, x.what COLLATE "C")
          FROM (SELECT 'operator' AS kind, a.amopstrategy AS num, a.amopopr::regoperator::text AS what
                  FROM pg_amop a WHERE a.amopfamily = oc.opcfamily
                UNION ALL
                SELECT 'function', p.amprocnum, p.amproc::regprocedure::text
                  FROM pg_amproc p WHERE p.amprocfamily = oc.opcfamily) x),
    E'\n\n' ORDER BY m.ord)
  FROM pg_temp.members(9, internal) m JOIN pg_opclass oc ON oc.oid = m.objid
  JOIN pg_namespace n ON n.oid = oc.opcnamespace
  JOIN pg_am am ON am.oid = oc.opcmethod
  JOIN pg_opfamily f ON f.oid = oc.opcfamily
  JOIN pg_namespace fn ON fn.oid = f.opfnamespace $$;

CREATE FUNCTION pg_temp.section_opfamilies(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_temp.md_head('operator family', 'access method', 'operator classes', 'description') || E'\n'
         || string_agg(pg_temp.md_row(
              pg_temp.md_code(quote_ident(n.nspname) || '.' || quote_ident(f.opfname)),
              pg_temp.md_code(m.sig),
              (SELECT string_agg(pg_temp.md_code(oc.opcname), ', ' ORDER BY oc.opcname COLLATE "C")
                 FROM pg_opclass oc WHERE oc.opcfamily = f.oid),
              pg_temp.md_comment('pg_opfamily'::regclass, f.oid)),
            E'\n' ORDER BY m.ord)
    FROM pg_temp.members(10, internal) m JOIN pg_opfamily f ON f.oid = m.objid
    JOIN pg_namespace n ON n.oid = f.opfnamespace $$;

CREATE FUNCTION pg_temp.section_casts(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_temp.md_head('source', 'target', 'conversion', 'applied', 'description') || E'\n'
         || string_agg(pg_temp.md_row(
              pg_temp.md_code(m.name), pg_temp.md_code(m.sig),
              CASE c.castmethod WHEN 'f' THEN pg_temp.md_code(c.castfunc::regprocedure::text)
                                WHEN 'i' THEN 'text output and input' ELSE 'binary coercible' END,
              CASE c.castcontext WHEN 'e' THEN 'explicitly' WHEN 'a' THEN 'in assignment'
                                 ELSE 'implicitly' END,
              pg_temp.md_comment('pg_cast'::regclass, c.oid)),
            E'\n' ORDER BY m.ord)
    FROM pg_temp.members(11, internal) m JOIN pg_cast c ON c.oid = m.objid $$;

CREATE FUNCTION pg_temp.section_triggers(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_temp.md_head('trigger', 'on', 'fires', 'function', 'description') || E'\n'
         || string_agg(pg_temp.md_row(
              pg_temp.md_code(t.tgname),
              pg_temp.md_code(m.sig),
              CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0 THEN 'INSTEAD OF'
                   ELSE 'AFTER' END || ' '
              || array_to_string(ARRAY[
                   CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT' END,
                   CASE WHEN t.tgtype & 8 <> 0 THEN 'DELETE' END,
                   CASE WHEN t.tgtype & 16 <> 0 THEN 'UPDATE'
                        || coalesce(' OF ' || (SELECT string_agg(a.attname, ', ' ORDER BY k.o)
                                                 FROM unnest(t.tgattr::int2[]) WITH ORDINALITY AS k(n, o)
                                                 JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.n), '')
                   END,
                   CASE WHEN t.tgtype & 32 <> 0 THEN 'TRUNCATE' END], ' OR ')
              || ', for each ' || CASE WHEN t.tgtype & 1 <> 0 THEN 'row' ELSE 'statement' END
              || coalesce(', when ' || pg_temp.md_code(substring(pg_get_triggerdef(t.oid) FROM ' WHEN \((.*)\) EXECUTE ')), '')
              || CASE WHEN t.tgenabled = 'D' THEN ' (disabled)' ELSE '' END,
              pg_temp.md_code(t.tgfoid::regprocedure::text),
              coalesce(pg_temp.comment_of('pg_trigger'::regclass, t.oid),
                       pg_temp.md_comment('pg_proc'::regclass, t.tgfoid))),
            E'\n' ORDER BY m.ord)
    FROM pg_temp.members(12, internal) m JOIN pg_trigger t ON t.oid = m.objid $$;

CREATE FUNCTION pg_temp.section_settings(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_temp.md_head('setting', 'type', 'default', 'unit', 'allowed', 'context', 'description') || E'\n'
         || string_agg(pg_temp.md_row(
              pg_temp.md_code(s.name),
              s.vartype,
              CASE WHEN s.boot_val = '' THEN 'empty' ELSE pg_temp.md_code(s.boot_val) END,
              s.unit,
              CASE WHEN s.vartype IN ('integer', 'real') THEN s.min_val || ' to ' || s.max_val
                   WHEN s.vartype = 'enum' THEN array_to_string(s.enumvals, ', ') END,
              pg_temp.md_code(s.context),
              concat_ws(' ', s.short_desc, s.extra_desc)),
            E'\n' ORDER BY m.ord)
    FROM pg_temp.members(13, internal) m JOIN pg_settings s ON s.name = m.name $$;

CREATE FUNCTION pg_temp.section_other(internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_temp.md_head('object', 'description') || E'\n'
         || string_agg(pg_temp.md_row(m.name, pg_temp.md_comment(r.classid, m.objid)), E'\n' ORDER BY m.ord)
    FROM pg_temp.members(14, internal) m JOIN pg_temp.ref_member r ON r.kind_no = 14 AND r.objid = m.objid $$;

CREATE FUNCTION pg_temp.section(kind integer, internal boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE kind
    WHEN 1 THEN pg_temp.section_types(internal)
    WHEN 2 THEN pg_temp.section_domains(internal)
    WHEN 3 THEN pg_temp.section_tables(internal)
    WHEN 4 THEN pg_temp.section_views(internal)
    WHEN 5 THEN pg_temp.section_functions(5, internal)
    WHEN 6 THEN pg_temp.section_functions(6, internal)
    WHEN 7 THEN pg_temp.section_functions(7, internal)
    WHEN 8 THEN pg_temp.section_operators(internal)
    WHEN 9 THEN pg_temp.section_opclasses(internal)
    WHEN 10 THEN pg_temp.section_opfamilies(internal)
    WHEN 11 THEN pg_temp.section_casts(internal)
    WHEN 12 THEN pg_temp.section_triggers(internal)
    WHEN 13 THEN pg_temp.section_settings(internal)
    WHEN 14 THEN pg_temp.section_other(internal) END $$;

-- ---------------------------------------------------------------------------
-- The document. psql prints each row followed by a newline; every part
-- after the first starts with one, which leaves an empty line between.
-- ---------------------------------------------------------------------------

-- The hand-written preamble.
SELECT format($md$# %1$s SQL reference

The reference of every SQL object of the `%1$s` extension, version `%2$s`, in schema
`%3$s`: its types, domains, tables, views, functions, operators, operator classes and
families, casts, triggers and settings, each with its `COMMENT`.

> %4$s

This file is generated from the system catalogs of a database where the extension is installed,
by `tools/reference.sh` (which runs `tools/reference.sql`). Do not edit it by hand: change the
`COMMENT`s in `src/sql/*.sql` (or the generator), then `make install` and regenerate it with

```sh
tools/reference.sh --write
```

`test/shell/reference_current.sh` fails when this file differs from what the installed extension
generates, and `test/pgtap/comments.sql` fails when an object has no `COMMENT`. Within each
section objects are sorted by name, then signature. Objects whose name starts with `_` are
internal: they are listed at the end, under "Internal objects (not for direct use)", and may
change without notice.$md$,
  e.extname, e.extversion, n.nspname,
  coalesce(pg_temp.comment_of('pg_extension'::regclass, e.oid), '*No comment.*'))
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = current_setting('reference.extname');

-- Contents.
SELECT E'\n## Contents\n\n'
       || string_agg('- [' || title || '](#' || anchor || ')', E'\n' ORDER BY ord)
  FROM (SELECT k.kind_no AS ord, k.title, replace(lower(k.title), ' ', '-') AS anchor
          FROM pg_temp.ref_kind k
         WHERE EXISTS (SELECT FROM pg_temp.ref_member m WHERE m.kind_no = k.kind_no AND NOT m.internal)
        UNION ALL
        SELECT 99, 'Internal objects (not for direct use)', 'internal-objects-not-for-direct-use'
         WHERE EXISTS (SELECT FROM pg_temp.ref_member m WHERE m.internal)) toc;

-- The sections of the public objects.
SELECT E'\n## ' || k.title || E'\n\n' || pg_temp.section(k.kind_no, false)
  FROM pg_temp.ref_kind k
 WHERE EXISTS (SELECT FROM pg_temp.ref_member m WHERE m.kind_no = k.kind_no AND NOT m.internal)
 ORDER BY k.kind_no;

-- The internal objects.
SELECT E'\n## Internal objects (not for direct use)\n\n'
       || 'The extension''s own machinery: trigger functions, helpers of other functions and the '
       || 'like. They are documented for maintainers; do not call or depend on them.'
 WHERE EXISTS (SELECT FROM pg_temp.ref_member m WHERE m.internal);
SELECT E'\n### ' || k.title || E'\n\n' || pg_temp.section(k.kind_no, true)
  FROM pg_temp.ref_kind k
 WHERE EXISTS (SELECT FROM pg_temp.ref_member m WHERE m.kind_no = k.kind_no AND m.internal)
 ORDER BY k.kind_no;

ROLLBACK;
