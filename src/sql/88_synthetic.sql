-- ---------------------------------------------------------------------------
-- A synthetic population for demos, tests and benchmarks: people in
-- fifteen districts of five provinces, with itineraries through current
-- and past risk areas, lab results, doses, contact-tracing lists,
-- declarations (some contradicted by the itineraries) and check-ins.
-- Deterministic for a given seed. Identifiers are made-up GB 11643 ID
-- numbers (valid check digit) and never stored: only their pseudonyms.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.synthetic_identifier(region text, n bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  first17 text;
  weights integer[] := ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
BEGIN
  PERFORM @extschema@._require_region(region);
  IF n < 0 THEN
    RAISE EXCEPTION 'n must not be negative, not %', n USING ERRCODE = '22023';
  END IF;
  -- region, a birth date in the 20,000 days from 1950 on, a three-digit sequence number
  first17 := region || to_char(date '1950-01-01' + (n / 1000 % 20000)::integer, 'YYYYMMDD')
             || lpad((n % 1000)::text, 3, '0');
  RETURN first17 || substr('10X98765432',
    (SELECT sum(substr(first17, i, 1)::integer * weights[i]) FROM generate_series(1, 17) i)::integer % 11 + 1, 1);
END $$;
COMMENT ON FUNCTION @extschema@.synthetic_identifier(text, bigint) IS
  'The n-th made-up 18-digit ID number (GB 11643 layout and check digit) of a region, for synthetic people. Unique for n below 20,000,000.';
REVOKE ALL ON FUNCTION @extschema@.synthetic_identifier(text, bigint) FROM PUBLIC;

CREATE FUNCTION @extschema@.generate_population(
    people integer,
    stays_per_person integer DEFAULT 10,
    days integer DEFAULT 21,
    seed double precision DEFAULT 0.42)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  districts text[] := ARRAY['330102', '330105', '330106', '330108', '330110', '330203',
                            '110101', '110105', '110108', '310101', '310104', '310115',
                            '440103', '440106', '440305'];
  base bigint;
  t timestamptz := statement_timestamp();
  n bigint;
BEGIN
  IF people IS NULL OR people < 1 OR people > 10000000 THEN
    RAISE EXCEPTION 'people must be between 1 and 10,000,000' USING ERRCODE = '22023';
  END IF;
  IF stays_per_person IS NULL OR stays_per_person < 0 OR stays_per_person > 1000
     OR days IS NULL OR days < 1 OR days > 366 THEN
    RAISE EXCEPTION 'stays_per_person must be 0-1000 and days 1-366' USING ERRCODE = '22023';
  END IF;
  IF seed IS NULL OR seed < -1 OR seed > 1 THEN
    RAISE EXCEPTION 'seed must be between -1 and 1' USING ERRCODE = '22023';
  END IF;
  PERFORM setseed(seed);
  PERFORM set_config('healthcode.change_cause', 'synthetic population', true);
  -- (the people registered so far, deleted ones included: the sequence's
  -- count, as ids are opaque; names after theirs stay unique)
  SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO base FROM @extschema@.person_id_seq q;

  -- risk areas: two current high-risk districts, a current medium-risk
  -- one, and a medium-risk designation that has ended
  INSERT INTO @extschema@.risk_area (division, level, effective_from, effective_until, bulletin) VALUES
    ('330106', 'high', date_trunc('day', t) - interval '6 days', NULL, 'synthetic bulletin 1'),
    ('110105', 'high', date_trunc('day', t) - interval '3 days', NULL, 'synthetic bulletin 2'),
    ('310104', 'medium', date_trunc('day', t) - interval '10 days', NULL, 'synthetic bulletin 3'),
    ('440305', 'medium', date_trunc('day', t) - interval '20 days', date_trunc('day', t) - interval '8 days', 'synthetic bulletin 4')
  ON CONFLICT ON CONSTRAINT risk_area_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'risk areas'; rows := n; RETURN NEXT;

  CREATE TEMP TABLE synthetic_person ON COMMIT DROP AS
  SELECT base + g AS k, districts[1 + floor(random() * array_length(districts, 1))::integer] AS region,
         (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','林','罗','高'])[1 + floor(random() * 20)::integer]
         || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀','霞','平'])[1 + floor(random() * 20)::integer]
         || CASE WHEN random() < 0.6
                 THEN (ARRAY['华','英','玉','兰','文','斌','辉','建','国','春'])[1 + floor(random() * 10)::integer]
                 ELSE '' END AS name,
         t - random() * interval '365 days' - interval '30 days' AS registered_at
    FROM generate_series(1, people) g;

  INSERT INTO @extschema@.person (region, subject, display_name, registered_at)
  SELECT s.region, @extschema@.pseudonym(@extschema@.synthetic_identifier(s.region, s.k)),
         @extschema@.mask_name(s.name), s.registered_at
    FROM synthetic_person s ORDER BY s.k
  ON CONFLICT ON CONSTRAINT person_subject_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'people'; rows := n; RETURN NEXT;

  CREATE TEMP TABLE synthetic_who ON COMMIT DROP AS
  SELECT p.id, p.region, random() AS r1, random() AS r2, random() AS r3
    FROM synthetic_person s
    JOIN @extschema@.person p ON p.subject = @extschema@.pseudonym(@extschema@.synthetic_identifier(s.region, s.k));

  -- itineraries: mostly at home, sometimes elsewhere
  PERFORM @extschema@.create_travel_partitions(((t - make_interval(days => days)) AT TIME ZONE 'Asia/Shanghai')::date,
                                               (t AT TIME ZONE 'Asia/Shanghai')::date);
  INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
  SELECT w.id, w.region,
         CASE WHEN random() < 0.7 THEN w.region
              ELSE districts[1 + floor(random() * array_length(districts, 1))::integer] END,
         date_trunc('second', t - interval '1 minute' - random() * make_interval(days => days)),
         (ARRAY['telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom',
                'transport', 'venue_scan'])[1 + floor(random() * 10)::integer],
         NULL
    FROM synthetic_who w
    CROSS JOIN generate_series(1, stays_per_person)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'travel records'; rows := n; RETURN NEXT;

  -- lab results: 40% tested lately, a few positive
  INSERT INTO @extschema@.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  SELECT w.id, w.region, CASE WHEN random() < 0.8 THEN 'pcr' ELSE 'antigen' END,
         date_trunc('second', t - interval '1 hour' - (k * 30 + random() * 20) * interval '1 hour'),
         CASE WHEN w.r1 < 0.003 AND k = 1 THEN 'positive' ELSE 'negative' END,
         'synthetic lab ' || (w.id % 7), 'S' || w.id || '-' || k
    FROM synthetic_who w
    CROSS JOIN generate_series(1, 3) k
   WHERE w.r1 < 0.4 AND k <= 1 + floor(w.r2 * 3)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'test results'; rows := n; RETURN NEXT;

  INSERT INTO @extschema@.vaccination (person_id, region, dose, given_at, product)
  SELECT w.id, w.region, d, t - interval '400 days' + d * interval '60 days' + random() * interval '20 days',
         (ARRAY['CoronaVac', 'BBIBP-CorV', 'Ad5-nCoV'])[1 + (w.id % 3)::integer]
    FROM synthetic_who w
    CROSS JOIN generate_series(1, 3) d
   WHERE (d = 1 AND w.r3 < 0.9) OR (d = 2 AND w.r3 < 0.85) OR (d = 3 AND w.r3 < 0.5)
  ON CONFLICT ON CONSTRAINT vaccination_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'vaccinations'; rows := n; RETURN NEXT;

  INSERT INTO @extschema@.contact (person_id, region, kind, exposure_at, source_case)
  SELECT w.id, w.region, CASE WHEN w.r2 < 0.33 THEN 'close' ELSE 'secondary' END,
         date_trunc('second', t - interval '1 hour' - random() * interval '10 days'),
         'case-' || (w.id % 97)
    FROM synthetic_who w
   WHERE w.r1 BETWEEN 0.5 AND 0.515
  ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'contacts'; rows := n; RETURN NEXT;

  -- declarations: 60% declared in the last five days; most list the
  -- districts they were in, some leave one out
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  SELECT w.id, w.region, date_trunc('second', t - interval '1 minute' - random() * interval '5 days'),
         CASE WHEN w.r3 < 0.02 THEN ARRAY['cough'] ELSE '{}' END,
         round((36.2 + random() * 0.8)::numeric, 1),
         ARRAY(SELECT DISTINCT tr.place FROM @extschema@.travel tr
                WHERE tr.person_id = w.id AND tr.place <> w.region
                  AND (w.r2 > 0.1 OR tr.place = w.region)
                ORDER BY tr.place),
         false
    FROM synthetic_who w
   WHERE w.r2 < 0.6
  ON CONFLICT ON CONSTRAINT declaration_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'declarations'; rows := n; RETURN NEXT;

  -- daily check-ins of the contacts, most days
  INSERT INTO @extschema@.checkin (person_id, region, at, temperature)
  SELECT c.person_id, c.region, date_trunc('second', d + interval '9 hours' + random() * interval '2 hours'),
         round((36.3 + random() * 0.6)::numeric, 1)
    FROM @extschema@.contact c
    JOIN synthetic_who w ON w.id = c.person_id
    CROSS JOIN LATERAL generate_series(date_trunc('day', c.exposure_at), t - interval '12 hours', interval '1 day') d
   WHERE random() < 0.9
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'check-ins'; rows := n; RETURN NEXT;

  DROP TABLE synthetic_who;
  DROP TABLE synthetic_person;
  PERFORM set_config('healthcode.change_cause', '', true);
END $$;
COMMENT ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) IS
  'Adds a synthetic population: people in fifteen districts, stays_per_person stays each over the last days days through current and past risk areas, lab results, doses, contacts, declarations and check-ins. Deterministic for a seed (-1..1). Needs the server key (pseudonyms). Returns rows added per table.';
REVOKE ALL ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) TO healthcode_admin;
