-- ---------------------------------------------------------------------------
-- The national interface set (GB/T 38963-2020), one SQL function each:
--   health-information declaration ... declare()
--   trip declaration ................. declare_trip()
--   health-information query ......... health_info(), status()
--   code request / generation ........ issue_for()
--   code verification ................ verify()
--   error correction ................. request_correction(), decide_correction()
-- and the daily check-in and manual decisions that feed the status.
-- People are named by their identifier (ID number), which is turned into
-- the pseudonym at once and never stored.
-- ---------------------------------------------------------------------------

-- ID numbers are written with stray blanks and a lower-case check letter x:
-- one form is hashed, whichever way it was typed.
CREATE FUNCTION @extschema@.normalize_identifier(identifier text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.upper(pg_catalog.regexp_replace(identifier, '[[:space:]\u3000]+', '', 'g'));
COMMENT ON FUNCTION @extschema@.normalize_identifier(text) IS
  'An identifier as it is hashed: every blank (the ideographic space among them) removed, letters in upper case.';

-- ---- arguments (see 41_arguments.sql) ------------------------------------------
-- The bounds of what the functions below accept, checked before anything
-- is written.

-- An identifier is never echoed: it is personal data.
CREATE FUNCTION @extschema@._require_identifier(identifier text, argname text DEFAULT 'identifier')
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF identifier IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  -- (an ID number has 18 characters; blanks typed with it count too)
  IF length(identifier) > 64 THEN
    RAISE EXCEPTION '% is too long (% characters; at most 64)', argname, length(identifier)
      USING ERRCODE = '22023';
  END IF;
  IF length(@extschema@.normalize_identifier(identifier)) = 0 THEN
    RAISE EXCEPTION '% must not be empty', argname USING ERRCODE = '22023';
  END IF;
  RETURN @extschema@.normalize_identifier(identifier);
END $$;
COMMENT ON FUNCTION @extschema@._require_identifier(text, text) IS
  'Internal: the identifier normalized (normalize_identifier), else 22004 (NULL) or 22023 (empty, or longer than 64 characters), naming the argument and never echoing the value.';

CREATE FUNCTION @extschema@._require_symptoms(symptoms text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  unknown text;
BEGIN
  PERFORM @extschema@._require_text_array(symptoms, 'symptoms', 100);
  SELECT s INTO unknown FROM unnest(symptoms) s WHERE NOT @extschema@.symptoms_known(ARRAY[s]) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unknown symptom in symptoms: %', quote_literal(@extschema@._shorten(unknown))
      USING ERRCODE = '22023',
            HINT = 'Symptoms come from a fixed vocabulary: see COMMENT ON FUNCTION healthcode.symptoms_known.';
  END IF;
  RETURN symptoms;
END $$;
COMMENT ON FUNCTION @extschema@._require_symptoms(text[]) IS
  'Internal: the symptoms if they are an array of at most 100 known symptoms (symptoms_known), else 22004 or 22023.';

CREATE FUNCTION @extschema@._require_temperature(temperature numeric) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- (NULL: not measured)
  IF temperature = 'NaN' OR temperature < 34.0 OR temperature > 43.0 THEN
    RAISE EXCEPTION 'temperature must lie between 34.0 and 43.0 degrees Celsius, not %',
      @extschema@._shorten(temperature::text) USING ERRCODE = '22003';
  END IF;
  IF temperature <> round(temperature, 1) THEN
    RAISE EXCEPTION 'temperature must be given in tenths of a degree, not %', @extschema@._shorten(temperature::text)
      USING ERRCODE = '22023';
  END IF;
  RETURN temperature;
END $$;
COMMENT ON FUNCTION @extschema@._require_temperature(numeric) IS
  'Internal: a temperature as declarations and check-ins store it (NULL, or 34.0-43.0 degrees Celsius in tenths), else 22003 or 22023.';

-- Codes are short-lived; and a code never outlives its issuer key or the
-- status it shows either.
CREATE FUNCTION @extschema@._require_valid_for(valid_for interval) RETURNS interval
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF valid_for IS NULL THEN
    RAISE EXCEPTION 'valid_for must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF valid_for < interval '1 second' THEN
    RAISE EXCEPTION 'valid_for must be at least one second, not %', quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003';
  END IF;
  IF valid_for > interval '366 days' THEN
    RAISE EXCEPTION 'valid_for must be at most 366 days, not %', quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003',
            DETAIL = 'A code is valid for minutes; it never outlives its issuer key or the status it shows either.';
  END IF;
  RETURN valid_for;
END $$;
COMMENT ON FUNCTION @extschema@._require_valid_for(interval) IS
  'Internal: a code''s validity if it lies between one second and 366 days, else 22004 (NULL) or 22003.';

CREATE FUNCTION @extschema@.person_id(identifier text) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT p.id FROM @extschema@.person p
   WHERE p.subject OPERATOR(pg_catalog.=)
         @extschema@.pseudonym(@extschema@._require_identifier(person_id.identifier))
     AND @extschema@._in_caller_scope(p.region);
END;
COMMENT ON FUNCTION @extschema@.person_id(text) IS
  'The internal id of the person with this identifier (through its pseudonym), or NULL when there is none in the caller''s regions. An empty identifier, or one longer than 64 characters, is an error (22023).';

CREATE FUNCTION @extschema@._require_person(identifier text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint := @extschema@.person_id(@extschema@._require_identifier(identifier));
BEGIN
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person with this identifier is registered in the regions the caller acts for' USING ERRCODE = '22023',
      HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@._require_person(text) IS
  'Internal: the id of a person registered in the caller''s regions, or 22023 (without echoing the identifier, and the same whether the person is unknown or in another region).';

CREATE FUNCTION @extschema@.register_person(identifier text, region text, display_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  home text;
  national bytea;
BEGIN
  PERFORM @extschema@._require_region(register_person.region);
  PERFORM @extschema@._require_caller_scope(register_person.region);
  PERFORM @extschema@._require_identifier(identifier);
  -- (a name is stored masked, but not a name of any length)
  IF length(register_person.display_name) > 100 THEN
    RAISE EXCEPTION 'display_name is too long (% characters; at most 100)', length(register_person.display_name)
      USING ERRCODE = '22023';
  END IF;
  -- with the national key, the pseudonym every node computes alike too
  IF @extschema@._national_key_configured() THEN
    national := @extschema@.national_pseudonym(@extschema@.normalize_identifier(identifier));
  END IF;
  INSERT INTO @extschema@.person AS p (region, subject, display_name, national_subject)
  VALUES (register_person.region, @extschema@.pseudonym(@extschema@.normalize_identifier(identifier)),
          @extschema@.mask_name(register_person.display_name), national)
  ON CONFLICT ON CONSTRAINT person_subject_key DO NOTHING
  RETURNING p.id INTO pid;
  IF pid IS NULL THEN
    SELECT p.id, p.region INTO pid, home FROM @extschema@.person p
     WHERE p.subject = @extschema@.pseudonym(@extschema@.normalize_identifier(identifier));
    -- registered before the national key was set: now it is known
    UPDATE @extschema@.person p SET national_subject = national
     WHERE p.id = pid AND p.national_subject IS NULL AND national IS NOT NULL;
    IF home <> register_person.region THEN
      -- which region is not the caller's business
      RAISE EXCEPTION 'this person is registered in another region, not %', register_person.region
        USING ERRCODE = '22023',
              HINT = 'Moving a person to another region is an operator''s change of healthcode.person.region.';
    END IF;
  END IF;
  RETURN pid;
END $$;
COMMENT ON FUNCTION @extschema@.register_person(text, text, text) IS
  'Registers a person (identifier kept only as its pseudonym, name masked) in a region, or returns the id of the one already registered there.';

CREATE FUNCTION @extschema@.declare(
    identifier text,
    region text,
    display_name text DEFAULT NULL,
    symptoms text[] DEFAULT '{}',
    temperature numeric DEFAULT NULL,
    visited text[] DEFAULT '{}',
    contact_with_case boolean DEFAULT false)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
BEGIN
  PERFORM @extschema@._require_symptoms(declare.symptoms);
  PERFORM @extschema@._require_temperature(declare.temperature);
  PERFORM @extschema@._require_text_array(declare.visited, 'visited', 1000);
  PERFORM @extschema@._require_region(v, 'visited') FROM unnest(declare.visited) v;
  IF declare.contact_with_case IS NULL THEN
    RAISE EXCEPTION 'contact_with_case must not be NULL' USING ERRCODE = '22004';
  END IF;
  pid := @extschema@.register_person(identifier, declare.region, declare.display_name);
  -- under the person's region as it is when written (locked: a move waits)
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  SELECT p.id, p.region, statement_timestamp(), declare.symptoms, declare.temperature,
         declare.visited, declare.contact_with_case
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) IS
  'Health-information declaration: registers the person if new, records what they declare (symptoms, temperature, places visited in the window, contact with a case) and returns their resulting status. The audit cross-checks it later.';

CREATE FUNCTION @extschema@.declare_trip(identifier text, place text, at timestamptz)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  PERFORM @extschema@._require_region(declare_trip.place, 'place');
  PERFORM @extschema@._require_finite(declare_trip.at, 'at');
  -- (the travel trigger's own check, before a partition is made for the day)
  PERFORM @extschema@._check_evidence_times('travel', 'at', declare_trip.at, declare_trip.at);
  PERFORM @extschema@.create_travel_partitions(
    (declare_trip.at AT TIME ZONE 'Asia/Shanghai')::date, (declare_trip.at AT TIME ZONE 'Asia/Shanghai')::date);
  INSERT INTO @extschema@.travel (person_id, region, place, at, source)
  SELECT p.id, p.region, declare_trip.place, declare_trip.at, 'declared'
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT DO NOTHING;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) IS
  'Trip declaration: records a stay the person declares (source declared; it counts like any other stay) and returns their status.';

CREATE FUNCTION @extschema@.health_info(identifier text)
RETURNS SETOF @extschema@.status_report
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT s.* FROM @extschema@.status(@extschema@._require_person(health_info.identifier)) s;
END;
COMMENT ON FUNCTION @extschema@.health_info(text) IS
  'Health-information query: the status of the person with this identifier now.';

CREATE FUNCTION @extschema@.check_in(identifier text, temperature numeric DEFAULT NULL,
                                     symptoms text[] DEFAULT '{}')
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  PERFORM @extschema@._require_temperature(check_in.temperature);
  PERFORM @extschema@._require_symptoms(check_in.symptoms);
  -- one check-in a day; a second one that day can only make it worse
  INSERT INTO @extschema@.checkin AS k (person_id, region, at, temperature, symptoms)
  SELECT p.id, p.region, statement_timestamp(), check_in.temperature, check_in.symptoms
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT ON CONSTRAINT checkin_natural_key DO UPDATE
     SET temperature = GREATEST(k.temperature, EXCLUDED.temperature),
         symptoms = ARRAY(SELECT DISTINCT x FROM unnest(k.symptoms || EXCLUDED.symptoms) x ORDER BY x)
   WHERE EXCLUDED.temperature > k.temperature
      OR (k.temperature IS NULL AND EXCLUDED.temperature IS NOT NULL)
      OR NOT (EXCLUDED.symptoms <@ k.symptoms);
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.check_in(text, numeric, text[]) IS
  'Daily health check-in of a person in quarantine: temperature and symptoms for today (China Standard Time); returns the status.';

CREATE FUNCTION @extschema@.issue_for(person_id bigint, valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  s @extschema@.status_report;
  t timestamptz := statement_timestamp();
  span interval;
BEGIN
  IF issue_for.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_valid_for(valid_for);
  SELECT * INTO p FROM @extschema@.person x
   WHERE x.id = issue_for.person_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', issue_for.person_id, @extschema@._caller()::regrole
      USING ERRCODE = '22023';
  END IF;
  SELECT * INTO s FROM @extschema@.status(p.id, t);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'person % has no status yet', p.id USING ERRCODE = '55000';
  END IF;
  -- codes carry whole seconds from the statement's start: never let one
  -- outlive the status it shows
  span := CASE WHEN isfinite(s.valid_until)
               THEN LEAST(valid_for, date_trunc('second', s.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'person %''s status changes within a second; ask again', p.id USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('issued', p.region, p.region, s.colour, 'ok', @extschema@._code_holder(p.subject, t));
  RETURN @extschema@.issue(p.region, p.subject, s.colour, span, s.vaccinated);
END $$;
COMMENT ON FUNCTION @extschema@.issue_for(bigint, interval) IS
  'Code request and generation: signs a code with the person''s current colour and vaccinated mark, expiring after valid_for (default 5 minutes; from one second to 366 days) but never after the status''s valid_until.';

CREATE FUNCTION @extschema@.record_decision(
    person_id bigint,
    kind text,
    reason text,
    authority text,
    colour @extschema@.risk_colour DEFAULT NULL,
    valid_from timestamptz DEFAULT pg_catalog.now(),
    valid_until timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  IF record_decision.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind IS NULL THEN
    RAISE EXCEPTION 'kind must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind NOT IN ('override', 'medical_release', 'appeal_upheld') THEN
    RAISE EXCEPTION 'kind must be override, medical_release or appeal_upheld, not %', quote_literal(@extschema@._shorten(kind))
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  PERFORM @extschema@._require_text(authority, 'authority');
  IF (kind = 'override') <> (colour IS NOT NULL) THEN
    RAISE EXCEPTION 'an override needs a colour; a release takes none' USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_finite(valid_from, 'valid_from');
  IF valid_until IS NOT NULL AND kind <> 'override' THEN
    RAISE EXCEPTION 'valid_until is for an override; a release takes none' USING ERRCODE = '22023';
  END IF;
  IF valid_until <= valid_from THEN
    RAISE EXCEPTION 'valid_until must lie after valid_from' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.manual_decision AS m
         (person_id, region, kind, colour, valid_from, valid_until, authority, reason)
  SELECT p.id, p.region, record_decision.kind, record_decision.colour, record_decision.valid_from,
         record_decision.valid_until, record_decision.authority, record_decision.reason
    FROM (SELECT x.* FROM @extschema@.person x WHERE x.id = record_decision.person_id FOR KEY SHARE) p
   WHERE @extschema@._in_caller_scope(p.region)
  RETURNING m.id INTO id;
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', record_decision.person_id, @extschema@._caller()::regrole
      USING ERRCODE = '22023';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) IS
  'Records a manual decision (override with a colour and validity, medical_release, appeal_upheld): who, why, under which authority. It is evidence: the status follows.';

CREATE FUNCTION @extschema@.request_correction(person_id bigint, evidence text, evidence_id bigint, claim text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  owner bigint;
  home text;
  id bigint;
BEGIN
  IF request_correction.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF evidence IS NULL THEN
    RAISE EXCEPTION 'evidence must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF evidence NOT IN ('travel', 'test_result', 'contact', 'vaccination', 'checkin', 'declaration') THEN
    RAISE EXCEPTION 'evidence must be one of travel, test_result, contact, vaccination, checkin, declaration, not %',
      quote_literal(@extschema@._shorten(evidence)) USING ERRCODE = '22023';
  END IF;
  IF evidence_id IS NULL THEN
    RAISE EXCEPTION 'evidence_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(claim, 'claim');
  -- the person, locked against a move or a deletion until the request is
  -- in: filed with the region a snapshot showed, it would fail its foreign
  -- key (23503) when a move commits meanwhile. The locking read gives the
  -- newest region (READ COMMITTED); a move that comes later waits.
  SELECT p.region INTO home FROM @extschema@.person p
   WHERE p.id = request_correction.person_id AND @extschema@._in_caller_scope(p.region) FOR KEY SHARE;
  EXECUTE format('SELECT e.person_id FROM @extschema@.%I e WHERE e.id = $1 AND @extschema@._in_caller_scope(e.region)', evidence)
    INTO owner USING evidence_id;
  IF owner IS DISTINCT FROM request_correction.person_id OR home IS NULL THEN
    RAISE EXCEPTION 'person % has no % record %', request_correction.person_id, evidence, evidence_id
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.correction AS c (person_id, region, evidence, evidence_id, claim)
  VALUES (request_correction.person_id, home, request_correction.evidence, request_correction.evidence_id,
          request_correction.claim)
  RETURNING c.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) IS
  'Error correction, the person''s side: disputes one evidence record with a claim; returns the request id.';

CREATE FUNCTION @extschema@.decide_correction(correction_id bigint, accept boolean, reason text)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.correction;
  snapshot jsonb;
BEGIN
  IF correction_id IS NULL THEN
    RAISE EXCEPTION 'correction_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF accept IS NULL THEN
    RAISE EXCEPTION 'accept must not be NULL (true or false)' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  -- The person first, then the request: a move holds the person and
  -- cascades into the disputed record and the request; locking the request
  -- first and then deleting the record would deadlock with it. (A request
  -- never changes its person: the one read without a lock is the one.)
  PERFORM 1 FROM @extschema@.person p
   WHERE p.id = (SELECT x.person_id FROM @extschema@.correction x
                  WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region))
   FOR KEY SHARE;
  SELECT * INTO c FROM @extschema@.correction x
   WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region) FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no correction request %', correction_id USING ERRCODE = '22023';
  END IF;
  IF c.status <> 'pending' THEN
    RAISE EXCEPTION 'correction request % is % already', correction_id, c.status USING ERRCODE = '22023';
  END IF;
  IF accept THEN
    -- the status history names the correction as the cause
    PERFORM set_config('healthcode.change_cause',
                       format('correction %s accepted: %s', c.id, reason), true);
    EXECUTE format('DELETE FROM @extschema@.%I e WHERE e.id = $1 AND e.person_id = $2 RETURNING to_jsonb(e)',
                   c.evidence)
      INTO snapshot USING c.evidence_id, c.person_id;
    PERFORM set_config('healthcode.change_cause', '', true);
  END IF;
  UPDATE @extschema@.correction x
     SET status = CASE WHEN accept THEN 'accepted' ELSE 'rejected' END,
         decided_by = @extschema@._caller()::regrole::text, decided_at = now(), decision_reason = reason,
         evidence_snapshot = snapshot
   WHERE x.id = c.id;
  RETURN QUERY SELECT * FROM @extschema@.status(c.person_id);
END $$;
COMMENT ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) IS
  'Error correction, the operator''s side: accept (the disputed record is removed, kept as a snapshot on the request, and the status follows with the correction as the cause) or reject, with a reason; returns the person''s status.';
