-- ---------------------------------------------------------------------------
-- Imports: telecom itineraries, lab results, doses, contact-tracing lists
-- and risk-area bulletins, each a JSON array of records.
-- ---------------------------------------------------------------------------

-- Each takes a JSON array of records; a record names its person by
-- "person_id" or "identifier". One bad record aborts the whole import with
-- an error naming the record and the field (22023, or the cast's own
-- SQLSTATE such as 22007 for a malformed time), so nothing of it is
-- written; and re-running an import changes nothing.

-- Checks the records' shape: an array of objects, the required fields
-- present, every typed field castable (and times finite). fields maps a
-- field to its type, a trailing ! marking it required.
CREATE FUNCTION @extschema@._import_validate(records jsonb, what text, fields jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f record;
  bad bigint;
  casts text;
  rec record;
  state text;
  msg text;
BEGIN
  IF records IS NULL OR jsonb_typeof(records) <> 'array' THEN
    RAISE EXCEPTION '% import: records must be a JSON array', what USING ERRCODE = '22023';
  END IF;
  SELECT min(x.o) INTO bad FROM jsonb_array_elements(records) WITH ORDINALITY x(r, o)
   WHERE jsonb_typeof(x.r) <> 'object';
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '% import: record % is not a JSON object', what, bad USING ERRCODE = '22023';
  END IF;
  FOR f IN SELECT key, rtrim(value #>> '{}', '!') AS type, (value #>> '{}') LIKE '%!' AS required
             FROM jsonb_each(fields) ORDER BY key LOOP
    IF f.required THEN
      SELECT min(x.o) INTO bad FROM jsonb_array_elements(records) WITH ORDINALITY x(r, o)
       WHERE jsonb_typeof(x.r -> f.key) IS NULL OR jsonb_typeof(x.r -> f.key) = 'null';
      IF bad IS NOT NULL THEN
        RAISE EXCEPTION '% import: record % has no "%"', what, bad, f.key USING ERRCODE = '22023';
      END IF;
    END IF;
  END LOOP;
  -- every cast at once; only when one fails, look for the record
  SELECT string_agg(format('(x.r ->> %L)::%s', key, rtrim(value #>> '{}', '!')), ', ')
    INTO casts FROM jsonb_each(fields) WHERE rtrim(value #>> '{}', '!') <> 'text';
  IF casts IS NULL THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format('SELECT count(ROW(%s)) FROM jsonb_array_elements($1) x(r)', casts) USING records;
  EXCEPTION WHEN data_exception THEN
    FOR rec IN SELECT x.o, x.r, e.key, rtrim(e.value #>> '{}', '!') AS type
                 FROM jsonb_array_elements(records) WITH ORDINALITY x(r, o), jsonb_each(fields) e
                WHERE rtrim(e.value #>> '{}', '!') <> 'text'
                ORDER BY x.o, e.key LOOP
      BEGIN
        EXECUTE format('SELECT ($1 ->> %L)::%s', rec.key, rec.type) USING rec.r;
      EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RAISE EXCEPTION '% import: record %, field "%": %', what, rec.o, rec.key, msg USING ERRCODE = state;
      END;
    END LOOP;
    RAISE;
  END;
  FOR f IN SELECT key FROM jsonb_each(fields) WHERE rtrim(value #>> '{}', '!') = 'timestamptz' ORDER BY key LOOP
    SELECT min(x.o) INTO bad FROM jsonb_array_elements(records) WITH ORDINALITY x(r, o)
     WHERE NOT isfinite((x.r ->> f.key)::timestamptz);
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION '% import: record %, field "%" is not a finite time', what, bad, f.key USING ERRCODE = '22023';
    END IF;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._import_validate(jsonb, text, jsonb) IS
  'Internal: checks an import''s records (an array of objects, required fields present, typed fields castable, times finite) and raises naming the record and field.';

CREATE FUNCTION @extschema@._import_records(records jsonb, what text)
RETURNS TABLE (ord bigint, person_id bigint, region text, rec jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad bigint;
BEGIN
  RETURN QUERY
  SELECT x.o, p.id, p.region, x.r
    FROM jsonb_array_elements(records) WITH ORDINALITY AS x(r, o)
    LEFT JOIN @extschema@.person p
      ON p.id = CASE WHEN x.r ? 'person_id' AND jsonb_typeof(x.r -> 'person_id') = 'number'
                     THEN (x.r ->> 'person_id')::numeric::bigint
                     WHEN x.r ? 'identifier'
                     THEN @extschema@.person_id(x.r ->> 'identifier') END
     AND @extschema@._in_caller_scope(p.region);
END $$;
COMMENT ON FUNCTION @extschema@._import_records(jsonb, text) IS
  'Internal: the records of an import with their person resolved (person_id or identifier), NULL where unknown or outside the caller''s regions.';

CREATE FUNCTION @extschema@._reject_unknown_people(records jsonb, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ords bigint[] := ARRAY(SELECT r.ord FROM @extschema@._import_records(records, what) r
                          WHERE r.person_id IS NULL ORDER BY r.ord);
BEGIN
  IF cardinality(ords) > 0 THEN
    RAISE EXCEPTION '% import: record % names no registered person', what, ords[1]
      USING ERRCODE = '22023',
            DETAIL = format('%s record(s) name no person registered in the caller''s regions (by "person_id" or "identifier"); nothing was imported.',
                            cardinality(ords));
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._reject_unknown_people(jsonb, text) IS
  'Internal: 22023 naming the first import record whose person is unknown.';

-- A record repeating the natural key of an earlier one in the same import.
CREATE FUNCTION @extschema@._reject_repeats(what text, keys text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF keys IS NOT NULL THEN
    RAISE EXCEPTION '% import: record % repeats record % (%)', what,
      split_part(keys, ' ', 2), split_part(keys, ' ', 1), split_part(keys, ' ', 3)
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._reject_repeats(text, text) IS
  'Internal: 22023 naming an import record that repeats the natural key of an earlier one.';

CREATE FUNCTION @extschema@.import_travel(records jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM @extschema@._import_validate(records, 'travel',
    '{"place": "text!", "at": "timestamptz!", "source": "text", "venue": "text"}');
  PERFORM @extschema@._reject_unknown_people(records, 'travel');
  -- the times first: a partition is made only for a day that can hold a stay
  PERFORM @extschema@._check_evidence_times('travel', 'at', min((x.r ->> 'at')::timestamptz),
                                             max((x.r ->> 'at')::timestamptz))
     FROM jsonb_array_elements(records) x(r);
  -- only the days that hold a stay (a batch with one stay a year old must
  -- not make the 365 empty days in between)
  PERFORM @extschema@.create_travel_partitions(d, d)
     FROM (SELECT DISTINCT ((x.r ->> 'at')::timestamptz AT TIME ZONE 'Asia/Shanghai')::date AS d
             FROM jsonb_array_elements(records) x(r)) days;
  INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
  SELECT r.person_id, r.region, r.rec ->> 'place', (r.rec ->> 'at')::timestamptz,
         COALESCE(r.rec ->> 'source', 'telecom'), r.rec ->> 'venue'
    FROM @extschema@._import_records(records, 'travel') r
   ORDER BY r.ord
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.import_travel(jsonb) IS
  'Imports stays: [{"person_id" or "identifier", "place", "at", "source" (telecom, transport, venue_scan, declared; default telecom), "venue"}]. Creates the day partitions it needs; duplicates are skipped; returns how many were new.';

CREATE FUNCTION @extschema@.import_test_results(records jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
  other bigint;
BEGIN
  PERFORM @extschema@._import_validate(records, 'test result',
    '{"kind": "text!", "sampled_at": "timestamptz!", "result": "text!", "lab": "text!", "sample_id": "text!"}');
  PERFORM @extschema@._reject_unknown_people(records, 'test result');
  PERFORM @extschema@._reject_repeats('test result',
    (SELECT min(a.o) || ' ' || min(b.o) || ' same lab and sample_id'
       FROM jsonb_array_elements(records) WITH ORDINALITY a(r, o)
       JOIN jsonb_array_elements(records) WITH ORDINALITY b(r, o)
         ON a.o < b.o AND a.r ->> 'lab' = b.r ->> 'lab' AND a.r ->> 'sample_id' = b.r ->> 'sample_id'
      GROUP BY b.o ORDER BY b.o LIMIT 1));
  -- a sample already recorded for someone else is a mistake, never a correction
  SELECT min(r.ord) INTO other
    FROM @extschema@._import_records(records, 'test result') r
    JOIN @extschema@.test_result t ON t.lab = r.rec ->> 'lab' AND t.sample_id = r.rec ->> 'sample_id'
   WHERE t.person_id <> r.person_id;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'test result import: record %: this lab''s sample id is recorded for another person', other
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  -- a lab re-sending a sample with another result corrects it
  INSERT INTO @extschema@.test_result AS t (person_id, region, kind, sampled_at, result, lab, sample_id)
  SELECT r.person_id, r.region, r.rec ->> 'kind', (r.rec ->> 'sampled_at')::timestamptz,
         r.rec ->> 'result', r.rec ->> 'lab', r.rec ->> 'sample_id'
    FROM @extschema@._import_records(records, 'test result') r
   ORDER BY r.ord
  ON CONFLICT ON CONSTRAINT test_result_natural_key DO UPDATE
     SET result = EXCLUDED.result, kind = EXCLUDED.kind, sampled_at = EXCLUDED.sampled_at,
         reported_at = EXCLUDED.reported_at
   WHERE (t.result, t.kind, t.sampled_at) IS DISTINCT FROM (EXCLUDED.result, EXCLUDED.kind, EXCLUDED.sampled_at);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.import_test_results(jsonb) IS
  'Imports lab results: [{"person_id" or "identifier", "kind" (pcr, antigen), "sampled_at", "result" (positive, negative), "lab", "sample_id"}]. A known sample of the same person with another result is a correction and replaces it; returns how many rows were new or corrected.';

CREATE FUNCTION @extschema@.import_vaccinations(records jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM @extschema@._import_validate(records, 'vaccination',
    '{"dose": "integer!", "given_at": "timestamptz!", "product": "text"}');
  PERFORM @extschema@._reject_unknown_people(records, 'vaccination');
  INSERT INTO @extschema@.vaccination (person_id, region, dose, given_at, product)
  SELECT r.person_id, r.region, (r.rec ->> 'dose')::integer, (r.rec ->> 'given_at')::timestamptz, r.rec ->> 'product'
    FROM @extschema@._import_records(records, 'vaccination') r
   ORDER BY r.ord
  ON CONFLICT ON CONSTRAINT vaccination_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.import_vaccinations(jsonb) IS
  'Imports doses: [{"person_id" or "identifier", "dose", "given_at", "product"}]; known doses are skipped; returns how many were new.';

CREATE FUNCTION @extschema@.import_contacts(records jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM @extschema@._import_validate(records, 'contact',
    '{"kind": "text!", "exposure_at": "timestamptz!", "source_case": "text!"}');
  PERFORM @extschema@._reject_unknown_people(records, 'contact');
  INSERT INTO @extschema@.contact (person_id, region, kind, exposure_at, source_case)
  SELECT r.person_id, r.region, r.rec ->> 'kind', (r.rec ->> 'exposure_at')::timestamptz, r.rec ->> 'source_case'
    FROM @extschema@._import_records(records, 'contact') r
   ORDER BY r.ord
  ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.import_contacts(jsonb) IS
  'Imports contact-tracing lists: [{"person_id" or "identifier", "kind" (close, secondary), "exposure_at", "source_case"}]; known contacts are skipped; returns how many were new.';

CREATE FUNCTION @extschema@.import_risk_areas(records jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM @extschema@._import_validate(records, 'risk area',
    '{"division": "text!", "level": "text!", "effective_from": "timestamptz!", "effective_until": "timestamptz", "bulletin": "text"}');
  PERFORM @extschema@._require_caller_scope(x.r ->> 'division')
     FROM jsonb_array_elements(records) x(r);
  PERFORM @extschema@._reject_repeats('risk area',
    (SELECT min(a.o) || ' ' || b.o || ' same division and effective_from'
       FROM jsonb_array_elements(records) WITH ORDINALITY a(r, o)
       JOIN jsonb_array_elements(records) WITH ORDINALITY b(r, o)
         ON a.o < b.o AND a.r ->> 'division' = b.r ->> 'division'
        AND (a.r ->> 'effective_from')::timestamptz = (b.r ->> 'effective_from')::timestamptz
      GROUP BY b.o ORDER BY b.o LIMIT 1));
  -- a bulletin re-issued for the same division and start updates level and end
  INSERT INTO @extschema@.risk_area AS a (division, level, effective_from, effective_until, bulletin)
  SELECT x.r ->> 'division', x.r ->> 'level', (x.r ->> 'effective_from')::timestamptz,
         (x.r ->> 'effective_until')::timestamptz, x.r ->> 'bulletin'
    FROM jsonb_array_elements(records) WITH ORDINALITY AS x(r, o)
   ORDER BY x.o
  ON CONFLICT ON CONSTRAINT risk_area_natural_key DO UPDATE
     SET level = EXCLUDED.level, effective_until = EXCLUDED.effective_until, bulletin = EXCLUDED.bulletin
   WHERE (a.level, a.effective_until, a.bulletin) IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.effective_until, EXCLUDED.bulletin);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.import_risk_areas(jsonb) IS
  'Imports risk-area bulletins: [{"division", "level" (low, medium, high), "effective_from", "effective_until", "bulletin"}]. A bulletin for a known division and start updates its level and end (an upgrade or a downgrade); returns how many rows were new or changed.';
