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

CREATE FUNCTION @extschema@.person_id(identifier text) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
BEGIN ATOMIC
  SELECT p.id FROM @extschema@.person p
   WHERE p.subject OPERATOR(pg_catalog.=)
         @extschema@.pseudonym(@extschema@.normalize_identifier(person_id.identifier))
     AND @extschema@._in_caller_scope(p.region);
END;
COMMENT ON FUNCTION @extschema@.person_id(text) IS
  'The internal id of the person with this identifier (through its pseudonym), or NULL when there is none in the caller''s regions.';

CREATE FUNCTION @extschema@._require_person(identifier text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint := @extschema@.person_id(identifier);
BEGIN
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person with this identifier is registered in the regions the caller acts for' USING ERRCODE = '22023',
      HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@._require_person(text) IS
  'Internal: the id of a person registered in the caller''s regions, or 22023 (without echoing the identifier, and the same whether the person is unknown or in another region).';

CREATE FUNCTION @extschema@._require_region(region text, argname text DEFAULT 'region') RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF region IS NULL OR NOT @extschema@.division_code_valid(region) OR region = '000000' THEN
    RAISE EXCEPTION 'invalid division code for %: %', argname, coalesce(quote_literal(region), 'NULL')
      USING ERRCODE = '22023',
            HINT = 'A division code has six digits: 330000 a province, 330100 a city, 330106 a district.';
  END IF;
  RETURN region;
END $$;
COMMENT ON FUNCTION @extschema@._require_region(text, text) IS
  'Internal: the code if it is a valid non-national division code, else 22023 naming the argument.';

CREATE FUNCTION @extschema@.register_person(identifier text, region text, display_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  home text;
  national bytea;
BEGIN
  PERFORM @extschema@._require_region(register_person.region);
  PERFORM @extschema@._require_caller_scope(register_person.region);
  IF identifier IS NULL OR length(@extschema@.normalize_identifier(identifier)) = 0 THEN
    RAISE EXCEPTION 'identifier must not be empty' USING ERRCODE = '22023';
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
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@.register_person(identifier, declare.region, declare.display_name);
BEGIN
  IF declare.symptoms IS NULL OR declare.visited IS NULL OR declare.contact_with_case IS NULL THEN
    RAISE EXCEPTION 'symptoms, visited and contact_with_case must not be NULL' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  VALUES (pid, declare.region, statement_timestamp(), declare.symptoms, declare.temperature,
          declare.visited, declare.contact_with_case);
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) IS
  'Health-information declaration: registers the person if new, records what they declare (symptoms, temperature, places visited in the window, contact with a case) and returns their resulting status. The audit cross-checks it later.';

CREATE FUNCTION @extschema@.declare_trip(identifier text, place text, at timestamptz)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  PERFORM @extschema@._require_region(declare_trip.place, 'place');
  IF declare_trip.at IS NULL OR NOT isfinite(declare_trip.at) THEN
    RAISE EXCEPTION 'a trip needs a finite time (at)' USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@.create_travel_partitions(
    (declare_trip.at AT TIME ZONE 'Asia/Shanghai')::date, (declare_trip.at AT TIME ZONE 'Asia/Shanghai')::date);
  INSERT INTO @extschema@.travel (person_id, region, place, at, source)
  SELECT p.id, p.region, declare_trip.place, declare_trip.at, 'declared'
    FROM @extschema@.person p WHERE p.id = pid
  ON CONFLICT DO NOTHING;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) IS
  'Trip declaration: records a stay the person declares (source declared; it counts like any other stay) and returns their status.';

CREATE FUNCTION @extschema@.health_info(identifier text)
RETURNS SETOF @extschema@.status_report
LANGUAGE sql STABLE STRICT
BEGIN ATOMIC
  SELECT s.* FROM @extschema@.status(@extschema@._require_person(health_info.identifier)) s;
END;
COMMENT ON FUNCTION @extschema@.health_info(text) IS
  'Health-information query: the status of the person with this identifier now.';

CREATE FUNCTION @extschema@.check_in(identifier text, temperature numeric DEFAULT NULL,
                                     symptoms text[] DEFAULT '{}')
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  IF check_in.symptoms IS NULL THEN
    RAISE EXCEPTION 'symptoms must not be NULL (an empty array: none)' USING ERRCODE = '22023';
  END IF;
  -- one check-in a day; a second one that day can only make it worse
  INSERT INTO @extschema@.checkin AS k (person_id, region, at, temperature, symptoms)
  SELECT p.id, p.region, statement_timestamp(), check_in.temperature, check_in.symptoms
    FROM @extschema@.person p WHERE p.id = pid
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
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  s @extschema@.status_report;
  t timestamptz := statement_timestamp();
  span interval;
BEGIN
  SELECT * INTO p FROM @extschema@.person x
   WHERE x.id = issue_for.person_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', issue_for.person_id, @extschema@._caller()::regrole
      USING ERRCODE = '22023';
  END IF;
  IF valid_for IS NULL OR valid_for <= interval '0' THEN
    RAISE EXCEPTION 'valid_for must be a positive interval' USING ERRCODE = '22023';
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
  'Code request and generation: signs a code with the person''s current colour and vaccinated mark, expiring after valid_for (default 5 minutes) but never after the status''s valid_until.';

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
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  IF kind IS NULL OR kind NOT IN ('override', 'medical_release', 'appeal_upheld') THEN
    RAISE EXCEPTION 'kind must be override, medical_release or appeal_upheld' USING ERRCODE = '22023';
  END IF;
  IF reason IS NULL OR length(btrim(reason)) = 0 OR authority IS NULL OR length(btrim(authority)) = 0 THEN
    RAISE EXCEPTION 'a manual decision needs a reason and an authority' USING ERRCODE = '22023';
  END IF;
  IF (kind = 'override') <> (colour IS NOT NULL) THEN
    RAISE EXCEPTION 'an override needs a colour; a release takes none' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.manual_decision AS m
         (person_id, region, kind, colour, valid_from, valid_until, authority, reason)
  SELECT p.id, p.region, record_decision.kind, record_decision.colour, record_decision.valid_from,
         record_decision.valid_until, record_decision.authority, record_decision.reason
    FROM @extschema@.person p
   WHERE p.id = record_decision.person_id AND @extschema@._in_caller_scope(p.region)
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
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  owner bigint;
  id bigint;
BEGIN
  IF request_correction.person_id IS NULL OR evidence_id IS NULL THEN
    RAISE EXCEPTION 'a correction request needs person_id and evidence_id' USING ERRCODE = '22023';
  END IF;
  IF evidence IS NULL OR evidence NOT IN ('travel', 'test_result', 'contact', 'vaccination', 'checkin', 'declaration') THEN
    RAISE EXCEPTION 'evidence must be one of travel, test_result, contact, vaccination, checkin, declaration'
      USING ERRCODE = '22023';
  END IF;
  IF claim IS NULL OR length(btrim(claim)) = 0 THEN
    RAISE EXCEPTION 'a correction request needs a claim' USING ERRCODE = '22023';
  END IF;
  EXECUTE format('SELECT e.person_id FROM @extschema@.%I e WHERE e.id = $1 AND @extschema@._in_caller_scope(e.region)', evidence)
    INTO owner USING evidence_id;
  IF owner IS DISTINCT FROM request_correction.person_id THEN
    RAISE EXCEPTION 'person % has no % record %', request_correction.person_id, evidence, evidence_id
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.correction AS c (person_id, region, evidence, evidence_id, claim)
  SELECT p.id, p.region, request_correction.evidence, request_correction.evidence_id, request_correction.claim
    FROM @extschema@.person p WHERE p.id = request_correction.person_id
  RETURNING c.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) IS
  'Error correction, the person''s side: disputes one evidence record with a claim; returns the request id.';

CREATE FUNCTION @extschema@.decide_correction(correction_id bigint, accept boolean, reason text)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.correction;
  snapshot jsonb;
BEGIN
  IF accept IS NULL OR reason IS NULL OR length(btrim(reason)) = 0 THEN
    RAISE EXCEPTION 'deciding a correction needs accept (true or false) and a reason' USING ERRCODE = '22023';
  END IF;
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
