-- ---------------------------------------------------------------------------
-- What citizens declare: health declarations, trips and the daily
-- check-in, and what they read back (health_info()).
-- ---------------------------------------------------------------------------

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
REVOKE ALL ON FUNCTION @extschema@._require_symptoms(text[]) FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@._require_temperature(numeric) FROM PUBLIC;

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
  PERFORM @extschema@._require_place(v, 'visited') FROM unnest(declare.visited) v;
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
REVOKE ALL ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.declare_trip(identifier text, place text, at timestamptz)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  -- (a stay a person makes known: 83_scans.sql)
  PERFORM @extschema@._record_stay(pid, declare_trip.place, declare_trip.at, 'declared', NULL);
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) IS
  'Trip declaration: records a stay the person declares (source declared; it counts like any other stay) and returns their status.';
REVOKE ALL ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) TO healthcode_app, healthcode_operator;

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
REVOKE ALL ON FUNCTION @extschema@.health_info(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.health_info(text) TO healthcode_app, healthcode_operator;

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
  -- (the day's key is its month partition's, 46_time_partitions.sql: no
  -- ON CONFLICT can name it, so the day's row, if any, is worsened after)
  INSERT INTO @extschema@.checkin (person_id, region, at, temperature, symptoms)
  SELECT p.id, p.region, statement_timestamp(), check_in.temperature, check_in.symptoms
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    UPDATE @extschema@.checkin k
       SET temperature = GREATEST(k.temperature, check_in.temperature),
           symptoms = ARRAY(SELECT DISTINCT x FROM unnest(k.symptoms || check_in.symptoms) x ORDER BY x)
     WHERE k.person_id = pid
       AND k.day = (statement_timestamp() AT TIME ZONE 'Asia/Shanghai')::date
       -- (the day's partition alone)
       AND k.at >= date_trunc('day', statement_timestamp() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
       AND k.at < (date_trunc('day', statement_timestamp() AT TIME ZONE 'Asia/Shanghai') + interval '1 day')
                  AT TIME ZONE 'Asia/Shanghai'
       AND (check_in.temperature > k.temperature
            OR (k.temperature IS NULL AND check_in.temperature IS NOT NULL)
            OR NOT (check_in.symptoms <@ k.symptoms));
  END IF;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.check_in(text, numeric, text[]) IS
  'Daily health check-in of a person in quarantine: temperature and symptoms for today (China Standard Time); returns the status.';
REVOKE ALL ON FUNCTION @extschema@.check_in(text, numeric, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_in(text, numeric, text[]) TO healthcode_app, healthcode_operator;
