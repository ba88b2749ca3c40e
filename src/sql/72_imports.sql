-- ---------------------------------------------------------------------------
-- Imports: telecom itineraries, lab results, doses, contact-tracing lists
-- and risk-area bulletins, each a JSON array of records.
-- ---------------------------------------------------------------------------

-- Each takes a JSON array of records (json, not jsonb: see
-- src/hc_import_pg.c) and returns how many rows were new or changed. A
-- record names its person by exactly one of "person_id" (an integer) and
-- "identifier" (their ID number). Every field of every record is checked
-- for its exact type and range before anything is written, and the first
-- bad record aborts the whole import with an error naming the record's
-- position (from 1), the field and the value shortened:
--   22P02  a value of the wrong JSON type or form (an id that is 1.5 or "7")
--   22007  a time that does not parse; 22008 one out of any range
--   22003  a number beyond its field's range (dose 11, an id of 2^64)
--   22023  any other bad value: a missing field, an unknown field, a word
--          outside its field's list, an invalid division or place code, a time
--          outside the evidence window, a person nobody registered in the
--          caller's regions, a record repeating another's key
--   42501  a risk area outside the regions the caller acts for
--   40001  a person moved out of the caller's regions or deleted by a
--          concurrent transaction between the check and the write: retry
-- Nothing is written unless every record is right, and re-running an
-- import changes nothing. The records are read as a stream (bounded
-- memory); doc/imports.md gives the recommended batch size.

CREATE FUNCTION @extschema@._import_parse(records json, what text, fields text[], rules text[])
RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'healthcode_import_parse'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._import_parse(json, text, text[], text[]) IS
  'Internal: an import''s records as typed rows (ord, then the fields, as the column definition list says), each field checked against its rule (id, int:LO..HI, text, identifier, division, place, a|b|c, evidence_time, time; ! required); raises naming the first bad record and field.';
REVOKE ALL ON FUNCTION @extschema@._import_parse(json, text, text[], text[]) FROM PUBLIC;

-- Runs query with records as $1, returning its first row as text; for the
-- imports' own statements, which pass a batch of many megabytes: PL/pgSQL's
-- EXECUTE ... USING, and any plan that folds the parameter into a constant,
-- would copy it (so the callers assign its result: PERFORM plans a query).
CREATE FUNCTION @extschema@._import_execute(query text, records json) RETURNS text[]
  AS 'MODULE_PATHNAME', 'healthcode_import_execute'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._import_execute(text, json) IS
  'Internal: runs an import''s statement with the records as $1 (not copied) and returns its first row''s columns as text.';
REVOKE ALL ON FUNCTION @extschema@._import_execute(text, json) FROM PUBLIC;

-- The pseudonym a record's identifier is registered under (NULL for none).
CREATE FUNCTION @extschema@._import_subject(identifier text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
RETURN @extschema@.pseudonym(@extschema@.normalize_identifier(identifier));
COMMENT ON FUNCTION @extschema@._import_subject(text) IS
  'Internal: the pseudonym of an import record''s identifier.';
REVOKE ALL ON FUNCTION @extschema@._import_subject(text) FROM PUBLIC;

-- The people of an import, locked. FOR KEY SHARE is the lightest lock a
-- move (an update of region, part of the key (id, region) the evidence
-- refers to) and a deletion wait for; read committed, a person moved
-- before the lock is read as moved, so each row gets the region its
-- person has when the row is written. In id order: two imports never
-- wait for each other, and a move waits for them.
-- (The caller's scope is computed once, not per row: _in_caller_scope()
-- for each of a million records costs seconds.)
CREATE FUNCTION @extschema@._import_people(ids bigint[]) RETURNS TABLE (id bigint, region text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  RETURN QUERY
  SELECT p.id, p.region FROM @extschema@.person p
   WHERE p.id = ANY (ids) AND scope @> (p.region COLLATE "C")
   ORDER BY p.id
     FOR KEY SHARE;
END $$;
COMMENT ON FUNCTION @extschema@._import_people(bigint[]) IS
  'Internal: the people an import names that are registered in the caller''s regions, locked FOR KEY SHARE (in id order) so that no move or deletion races the import.';
REVOKE ALL ON FUNCTION @extschema@._import_people(bigint[]) FROM PUBLIC;

-- Raises for an import whose check found a record naming nobody, or one
-- that repeats another's key (again, first, and which key; with no first,
-- key says what is wrong with record again).
CREATE FUNCTION @extschema@._import_refuse(what text, unknown bigint, unknown_before_lock boolean,
                                            again bigint, first bigint, key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF unknown IS NOT NULL AND unknown_before_lock THEN
    RAISE EXCEPTION '% import: record % names no person registered in the regions the caller acts for', what, unknown
      USING ERRCODE = 'P0002', DETAIL = 'Nothing was imported.',
            HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  ELSIF unknown IS NOT NULL THEN
    RAISE EXCEPTION '% import: record %: its person was moved or deleted by a concurrent transaction; retry the import', what, unknown
      USING ERRCODE = '40001', DETAIL = 'Nothing was imported.';
  END IF;
  IF again IS NOT NULL AND first IS NULL THEN
    RAISE EXCEPTION '% import: record %: %', what, again, key
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  ELSIF again IS NOT NULL THEN
    RAISE EXCEPTION '% import: record % repeats record % (same %)', what, again, first, key
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.',
            HINT = 'Each record of one import must have its own key; send a correction in a later import.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._import_refuse(text, bigint, boolean, bigint, bigint, text) IS
  'Internal: 22023 naming an import record whose person is unknown or that repeats an earlier record''s key; 40001 (retry) for a person moved or deleted while the import ran.';
REVOKE ALL ON FUNCTION @extschema@._import_refuse(text, bigint, boolean, bigint, bigint, text) FROM PUBLIC;

-- Every import with people runs the same two statements: the first reads
-- the records (every field checked) and resolves their people; the second
-- locks those people and writes, unless a record names nobody. Only the
-- table, its columns and what a conflict does differ, so those are the
-- arguments: cols are the record's columns as the column definition list
-- writes them, insert the INSERT ... SELECT ... FROM recs r JOIN people p
-- USING... that writes them (with r.pid and p.region), checks an optional
-- query of (again, first, key) naming a repeated key in recs, prepare an
-- optional statement (on the records as $1) run once every record has been
-- found right and before any person is locked.
CREATE FUNCTION @extschema@._import_with_people(records json, what text, fields text[], rules text[],
                                                 cols text, insert text, checks text DEFAULT NULL,
                                                 prepare text DEFAULT NULL, correct text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parse text := format(
    $q$SELECT r.*, COALESCE(r.person_id, s.id) AS pid
         FROM @extschema@._import_parse($1, %L, %L, %L) AS r(ord bigint, person_id bigint, identifier text, %s)
         LEFT JOIN @extschema@.person s ON s.subject = @extschema@._import_subject(r.identifier)$q$,
    what, fields, rules, cols);
  found text[];
BEGIN
  -- 0. people adopted from the hub (adopt_region) whom the records name by
  -- identifier: re-keyed to this node's pseudonym, so that step 1 finds
  -- them (an import that then fails undoes it with the rest)
  IF EXISTS (SELECT 1 FROM @extschema@.adopted_person) THEN
    found := @extschema@._import_execute(
      $q$SELECT @extschema@._rekey_adopted(ARRAY(
           SELECT (@extschema@.identifier_check(e ->> 'identifier')).normalized
             FROM json_array_elements(CASE WHEN json_typeof($1) = 'array' THEN $1 ELSE '[]' END) e))$q$,
      records);
  END IF;
  -- 1. read and check: nothing written, nothing locked. (Each person
  -- once: a batch names far fewer people than it has records. The scope
  -- once too: _in_caller_scope() for each of a million records costs
  -- seconds.)
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s),
            unknown AS MATERIALIZED (
              SELECT i.pid FROM (SELECT DISTINCT r.pid FROM recs r WHERE r.pid IS NOT NULL) i
               WHERE NOT EXISTS (SELECT FROM @extschema@.person p
                                  WHERE p.id = i.pid AND %L::@extschema@.division_multirange @> (p.region COLLATE "C")))
       SELECT (SELECT min(r.ord) FROM recs r WHERE r.pid IS NULL OR r.pid IN (SELECT u.pid FROM unknown u)),
              c.* FROM (%s) c RIGHT JOIN (SELECT) one ON true$q$,
    parse, @extschema@.my_region_scope(), coalesce(checks, 'SELECT NULL::bigint, NULL::bigint, NULL::text')),
    records);
  PERFORM @extschema@._import_refuse(what, found[1]::bigint, true, found[2]::bigint, found[3]::bigint, found[4]);
  IF prepare IS NOT NULL THEN
    -- (an assignment, not PERFORM: PERFORM plans a query, which copies the
    -- records into a constant of its plan)
    found := @extschema@._import_execute(prepare, records);
  END IF;
  -- 2. lock the people and write; a person gone in between stops it all
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s),
            people AS MATERIALIZED (
              SELECT * FROM @extschema@._import_people(ARRAY(SELECT DISTINCT r.pid FROM recs r WHERE r.pid IS NOT NULL))),
            gone AS MATERIALIZED (
              SELECT min(r.ord) AS ord FROM recs r WHERE NOT EXISTS (SELECT FROM people p WHERE p.id = r.pid)),
            corrected AS (%s),
            written AS (%s RETURNING 1)
       SELECT (SELECT count(*) FROM written) + (SELECT count(*) FROM corrected), (SELECT g.ord FROM gone g)$q$,
    parse, replace(coalesce(correct || ' RETURNING 1', 'SELECT 1 WHERE false'), '$ok', '(SELECT g.ord IS NULL FROM gone g)'),
    replace(insert, '$ok', '(SELECT g.ord IS NULL FROM gone g)')),
    records);
  PERFORM @extschema@._import_refuse(what, found[2]::bigint, false, NULL, NULL, NULL);
  RETURN found[1]::integer;
END $$;
COMMENT ON FUNCTION @extschema@._import_with_people(json, text, text[], text[], text, text, text, text, text) IS
  'Internal: the two statements of every import of personal evidence: read and check every record and its person (optionally a repeated key), then lock the people (FOR KEY SHARE) and write (optionally correcting rows already recorded too); returns how many rows were written or corrected.';
REVOKE ALL ON FUNCTION @extschema@._import_with_people(json, text, text[], text[], text, text, text, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.import_travel(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'travel',
    '{person_id,identifier,place,at,source,venue}',
    '{id,identifier,place!,evidence_time!,telecom|transport|venue_scan|declared,text}',
    'place text, at timestamptz, source text, venue text',
    -- (a stay before the first day kept could change no colour and would
    -- be dropped with its day: it is left out, and its day not made)
    $q$INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
       SELECT r.pid, p.region, r.place, r.at, COALESCE(r.source, 'telecom'), r.venue
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok AND r.at >= @extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai'
       ON CONFLICT DO NOTHING$q$,
    -- the day partitions, once the batch is known right: every day kept,
    -- not the days of the batch (which days exist must not tell which
    -- days some region imported)
    prepare => $q$SELECT @extschema@.create_travel_partitions() WHERE $1 IS NOT NULL$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_travel(json) IS
  'Imports stays: [{"person_id" or "identifier", "place" (a division code, or a township''s or community''s code below the county), "at" (a time), "source" (telecom, transport, venue_scan, declared; default telecom), "venue"}]. Makes the day partitions of every day kept; duplicates, and stays before the first day kept (retention_plan(): they could change no colour), are skipped; returns how many were new.';
REVOKE ALL ON FUNCTION @extschema@.import_travel(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_travel(json) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.import_test_results(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- a lab re-sending a sample with another result corrects it; a sample
  -- already recorded for someone else is a mistake, never a correction
  RETURN @extschema@._import_with_people(records, 'test result',
    '{person_id,identifier,kind,sampled_at,result,lab,sample_id}',
    '{id,identifier,pcr|antigen!,evidence_time!,positive|negative!,text!,text!}',
    'kind text, sampled_at timestamptz, result text, lab text, sample_id text',
    -- (a new sample; the one already recorded, in whatever month, is
    -- corrected below: test_result_sample holds each once)
    $q$INSERT INTO @extschema@.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
       SELECT r.pid, p.region, r.kind, r.sampled_at, r.result, r.lab, r.sample_id
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok AND NOT EXISTS (SELECT FROM @extschema@.test_result_sample k WHERE k.lab = r.lab AND k.sample_id = r.sample_id)$q$,
    $q$SELECT * FROM (
         -- (the first record that repeats an earlier one's key: linear, by hashing)
         SELECT r.ord, f.first, 'lab and sample_id'
           FROM recs r
           JOIN (SELECT x.lab, x.sample_id, min(x.ord) AS first FROM recs x GROUP BY x.lab, x.sample_id) f
             ON f.lab = r.lab AND f.sample_id = r.sample_id AND r.ord > f.first
         UNION ALL
         -- (a record repeating no other: its sample is someone else's)
         SELECT r.ord, NULL, 'its lab and sample_id are recorded for another person'
           FROM recs r JOIN @extschema@.test_result_sample k ON k.lab = r.lab AND k.sample_id = r.sample_id
          WHERE k.person_id <> r.pid) x ORDER BY 1 LIMIT 1$q$,
    -- (imports of one lab's samples one at a time, from here to the commit:
    -- two at once could each find a new sample missing, and the second
    -- would fail on test_result_sample's key. The labs locked in their
    -- order: no deadlock)
    prepare => $q$SELECT count(pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('healthcode test_result ' || l.lab, 0)))
                    FROM (SELECT DISTINCT e ->> 'lab' AS lab FROM pg_catalog.json_array_elements($1) e ORDER BY 1 OFFSET 0) l$q$,
    -- (a sample held, and the person's: found in test_result_sample, then
    -- among that person's results, not in every month's)
    correct => $q$UPDATE @extschema@.test_result t
                     SET result = r.result, kind = r.kind, sampled_at = r.sampled_at, reported_at = now()
                    FROM recs r JOIN @extschema@.test_result_sample k
                                  ON k.lab = r.lab AND k.sample_id = r.sample_id AND k.person_id = r.pid
                   WHERE $ok AND t.person_id = r.pid AND t.lab = r.lab AND t.sample_id = r.sample_id
                     AND (t.result, t.kind, t.sampled_at) IS DISTINCT FROM (r.result, r.kind, r.sampled_at)$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_test_results(json) IS
  'Imports lab results: [{"person_id" or "identifier", "kind" (pcr, antigen), "sampled_at", "result" (positive, negative), "lab", "sample_id"}]. A known sample of the same person with another result is a correction and replaces it; returns how many rows were new or corrected.';
REVOKE ALL ON FUNCTION @extschema@.import_test_results(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_test_results(json) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.import_vaccinations(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'vaccination',
    '{person_id,identifier,dose,given_at,product}',
    '{id,identifier,int:1..10!,evidence_time!,text}',
    'dose integer, given_at timestamptz, product text',
    $q$INSERT INTO @extschema@.vaccination (person_id, region, dose, given_at, product)
       SELECT r.pid, p.region, r.dose, r.given_at, r.product
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok
       ON CONFLICT ON CONSTRAINT vaccination_natural_key DO NOTHING$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_vaccinations(json) IS
  'Imports doses: [{"person_id" or "identifier", "dose" (1 to 10), "given_at", "product"}]; known doses are skipped; returns how many were new.';
REVOKE ALL ON FUNCTION @extschema@.import_vaccinations(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_vaccinations(json) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.import_contacts(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'contact',
    '{person_id,identifier,kind,exposure_at,source_case}',
    '{id,identifier,close|secondary!,evidence_time!,text!}',
    'kind text, exposure_at timestamptz, source_case text',
    $q$INSERT INTO @extschema@.contact (person_id, region, kind, exposure_at, source_case)
       SELECT r.pid, p.region, r.kind, r.exposure_at, r.source_case
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok
       ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_contacts(json) IS
  'Imports contact-tracing lists: [{"person_id" or "identifier", "kind" (close, secondary), "exposure_at", "source_case"}]; known contacts are skipped; returns how many were new.';
REVOKE ALL ON FUNCTION @extschema@.import_contacts(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_contacts(json) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.import_risk_areas(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (a venue's designation lies at the venue's place: division may be left
  -- out, and must be that place when given; a venue the caller's regions
  -- do not hold looks like none)
  parse text := format($q$
    SELECT r.ord, coalesce(r.division, v.place) AS division, r.level, r.effective_from, r.effective_until,
           r.bulletin, r.venue, r.division AS named, v.place AS venue_place
      FROM @extschema@._import_parse($1, 'risk area',
             '{division,level,effective_from,effective_until,bulletin,venue}',
             '{place,low|medium|high!,time!,time,text,id}')
           AS r(ord bigint, division text, level text, effective_from timestamptz,
                effective_until timestamptz, bulletin text, venue bigint)
      LEFT JOIN @extschema@.venue v
        ON v.id = r.venue AND %L::@extschema@.division_multirange @> (v.region COLLATE "C")$q$,
    @extschema@.my_region_scope());
  found text[];
BEGIN
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s)
       SELECT (SELECT min(r.ord) FROM recs r
                WHERE NOT %L::@extschema@.division_multirange @> (r.division COLLATE "C")),
              (SELECT min(r.ord) FROM recs r WHERE r.effective_until <= r.effective_from),
              (SELECT min(r.ord) FROM recs r WHERE r.venue IS NULL AND r.named IS NULL),
              (SELECT min(r.ord) FROM recs r WHERE r.venue IS NOT NULL AND r.venue_place IS NULL),
              (SELECT min(r.ord) FROM recs r WHERE r.named <> r.venue_place),
              c.* FROM (SELECT r.ord, f.first,
                               CASE WHEN r.venue IS NULL THEN 'division and effective_from'
                                    ELSE 'venue and effective_from' END
                          FROM recs r
                          JOIN (SELECT x.division, x.venue, x.effective_from, min(x.ord) AS first
                                  FROM recs x GROUP BY x.division, x.venue, x.effective_from) f
                            ON f.division = r.division AND f.venue IS NOT DISTINCT FROM r.venue
                           AND f.effective_from = r.effective_from AND r.ord > f.first
                         ORDER BY r.ord LIMIT 1) c RIGHT JOIN (SELECT) one ON true$q$,
    parse, @extschema@.my_region_scope()), records);
  IF found[3] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": missing (a bulletin names a place or a venue)', found[3]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  IF found[4] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "venue": no such venue in the regions role % acts for', found[4],
                    @extschema@._caller()::regrole
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  IF found[5] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": not the place of the venue named', found[5]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.',
            HINT = 'Leave division out for a venue''s designation: it is the venue''s place.';
  END IF;
  IF found[1] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": outside the regions role % acts for', found[1],
                    @extschema@._caller()::regrole
      USING ERRCODE = '42501', DETAIL = 'Nothing was imported.',
            HINT = 'A DBA maps roles to regions: SELECT healthcode.grant_region(''role'', ''330000'');';
  END IF;
  IF found[2] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "effective_until": not after effective_from', found[2]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  PERFORM @extschema@._import_refuse('risk area', NULL, true, found[6]::bigint, found[7]::bigint, found[8]);
  -- a bulletin re-issued for the same place (or venue) and start updates
  -- level and end
  found := @extschema@._import_execute(format(
    $q$WITH written AS (
         INSERT INTO @extschema@.risk_area AS a (division, venue, level, effective_from, effective_until, bulletin)
         SELECT r.division, r.venue, r.level, r.effective_from, r.effective_until, r.bulletin FROM (%s) r ORDER BY r.ord
         ON CONFLICT ON CONSTRAINT risk_area_natural_key DO UPDATE
            SET level = EXCLUDED.level, effective_until = EXCLUDED.effective_until, bulletin = EXCLUDED.bulletin
          WHERE (a.level, a.effective_until, a.bulletin)
                IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.effective_until, EXCLUDED.bulletin)
         RETURNING 1)
       SELECT count(*) FROM written$q$, parse), records);
  RETURN found[1]::integer;
END $$;
COMMENT ON FUNCTION @extschema@.import_risk_areas(json) IS
  'Imports risk-area bulletins: [{"division" (a place at any level: province to community), or "venue" (a venue id of the caller''s regions), "level" (low, medium, high), "effective_from", "effective_until", "bulletin"}]. A bulletin for a known place (or venue) and start updates its level and end (an upgrade or a downgrade); returns how many rows were new or changed.';
REVOKE ALL ON FUNCTION @extschema@.import_risk_areas(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_risk_areas(json) TO healthcode_app, healthcode_operator;
