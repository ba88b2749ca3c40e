-- ---------------------------------------------------------------------------
-- Scans (扫场所码, issue 15, point 2): a visitor's app scans the code at a
-- venue's door; the stay is recorded through the same evidence path as any
-- stay (travel, source venue_scan, the venue's id in venue), so the
-- triggers recalculate as usual; the door keeper sees the visitor's colour,
-- masked name, and whether the venue's kind lets them in (entry rules as
-- data: a school or hospital may ask green and a negative test within N
-- hours).
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.venue_entry_rule (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  kind          text NOT NULL CONSTRAINT kind_is_known
                CHECK (kind = ANY (@extschema@._venue_kinds())),
  demand        text NOT NULL CONSTRAINT demand_is_known CHECK (demand IN ('green', 'green_and_negative_test')),
  negative_test_hours integer CONSTRAINT negative_test_hours_between_1_and_336 CHECK (negative_test_hours BETWEEN 1 AND 336),
  description   text NOT NULL CONSTRAINT description_is_given CHECK (pg_catalog.length(description) > 0),
  valid_from    timestamptz NOT NULL DEFAULT '-infinity'
                CONSTRAINT valid_from_not_plus_infinity CHECK (valid_from < 'infinity'),
  valid_until   timestamptz CONSTRAINT valid_until_is_finite CHECK (pg_catalog.isfinite(valid_until)),
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  CONSTRAINT venue_entry_rule_natural_key UNIQUE (region, kind, valid_from)
);
COMMENT ON TABLE @extschema@.venue_entry_rule IS
  'What a kind of venue asks of a visitor at its door, by the region it lies in: green, or green and a negative test within N hours; versioned by validity, like policy. The most specific region with a rule in force decides (then the latest-starting version); with none, green is enough. Public rules, written by the region''s operators.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.region IS 'The region whose venues it governs (covers those below it; 000000: every venue).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.kind IS 'The kind of venue (venue.kind).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.negative_test_hours IS 'How recent the negative test must be (sampled).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.description IS 'The rule as a door shows it.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.valid_from IS 'When this version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.valid_until IS 'When it stops; NULL: until a later version replaces it.';
COMMENT ON SEQUENCE @extschema@.venue_entry_rule_id_seq IS 'Ids of venue entry rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_entry_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_entry_rule_id_seq', '');

-- A stay a person makes known themselves (a declared trip, a venue scan):
-- its time checked as the travel trigger checks it, its day's partition
-- made, and nothing kept before the first day kept (80_retention.sql). The
-- person is locked as imports lock them. Once a person, venue and minute for
-- a scan (the day partitions' unique index: a repeat writes nothing). True
-- when a row was written.
CREATE FUNCTION @extschema@._record_stay(person_id bigint, place text, at timestamptz, source text, venue text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM @extschema@._require_place(place, 'place');
  PERFORM @extschema@._require_finite(at, 'at');
  -- (the travel trigger's own check, before a partition is made for the day)
  PERFORM @extschema@._check_evidence_times('travel', 'at', at, at);
  IF NOT @extschema@._travel_kept(at) THEN
    RETURN false;
  END IF;
  IF to_regclass(format('@extschema@.%I', 'travel_' || to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'))) IS NULL THEN
    PERFORM @extschema@.create_travel_partitions();
  END IF;
  INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
  SELECT p.id, p.region, _record_stay.place, _record_stay.at, _record_stay.source, _record_stay.venue
    FROM @extschema@.person p WHERE p.id = _record_stay.person_id
     FOR KEY SHARE
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n > 0;
END $$;
COMMENT ON FUNCTION @extschema@._record_stay(bigint, text, timestamptz, text, text) IS
  'Internal: records a stay a person makes known (declare_trip, scan_venue) through the travel evidence path; true when a row was written.';
REVOKE ALL ON FUNCTION @extschema@._record_stay(bigint, text, timestamptz, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.scan_venue(person_id bigint, code text, at timestamptz DEFAULT pg_catalog.now(),
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT display_name text,
    OUT venue_id bigint, OUT venue_name text, OUT venue_kind text, OUT rule text, OUT recorded boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (one function a scan, the identifier's calling this one: each layer of a
-- call is a statement of its own, and a door's scan is the busiest call)
AS $$
DECLARE
  -- (the person, in the caller's regions: P0002 otherwise)
  who @extschema@.person := @extschema@._require_person_id(scan_venue.person_id);
  t timestamptz := COALESCE(scan_venue.at, now());
  v record;
  demand text;
  negative_test_hours integer;
  asynchronous text;
  last_negative timestamptz;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  v := @extschema@.verify_venue_code(code, t, true);
  IF NOT v.valid THEN
    -- (a code that is not a venue's, or a closed venue: no stay, no entry)
    admit := false;
    reason := v.reason;
    recorded := false;
    RETURN;
  END IF;
  -- A venue of another node (online_check unknown: its code verifies by the
  -- trust list, but the registry here does not hold it): the stay is
  -- recorded here all the same, the visitor's evidence on the visitor's
  -- node, in the venue's county as its code says (a venue's id is its own
  -- node's: with the county, it names one venue nationwide, as exposure
  -- notices from that node name it, 84_exposures.sql); its name and kind are
  -- not known here, so no entry rule of a kind applies.
  display_name := who.display_name;
  venue_id := v.venue_id;
  venue_name := v.name;
  venue_kind := v.kind;
  -- A scan is the transaction's first (and only) write when the app calls
  -- it alone: the transaction then commits without waiting for its WAL to
  -- reach the disk (a crash in the next fraction of a second may lose the
  -- last scans, never half of one; the door's answer stands), unless the
  -- DBA asks otherwise (healthcode.asynchronous_scans). Not when the
  -- transaction wrote before: what it wrote keeps the durability it asked
  -- for.
  IF current_setting('healthcode.asynchronous_scans', true) IS DISTINCT FROM 'off' AND pg_current_xact_id_if_assigned() IS NULL THEN
    asynchronous := set_config('synchronous_commit', 'off', true);
  END IF;
  -- the same person, venue and minute: one stay (the partitions' unique index)
  recorded := @extschema@._record_stay(who.id, COALESCE(v.place, v.region), t, 'venue_scan',
                                       v.venue_id::text);
  -- The colour after the stay (a venue in a risk area turns the visitor at
  -- once), read as status() reads it (the caller's scope was checked with
  -- the person), and the rule at the door, in one statement.
  -- (the work list asked once, as current_status asks it: nearly always
  -- empty, and then the stored timeline is read in the statement itself)
  SELECT CASE WHEN (SELECT @extschema@._work_pending()) THEN (@extschema@._status_now(x, t)).colour
              ELSE (@extschema@.status_at(x, t)).colour END,
         e.description, e.demand, e.negative_test_hours
    INTO colour, rule, demand, negative_test_hours
    FROM @extschema@.person_status x
    LEFT JOIN LATERAL (
      SELECT e.description, e.demand, e.negative_test_hours FROM @extschema@.venue_entry_rule e
       WHERE @extschema@.division_covers(e.region, v.region) AND e.kind = v.kind
         AND e.valid_from <= t AND (e.valid_until IS NULL OR t < e.valid_until)
       ORDER BY @extschema@.division_rank(e.region) DESC, e.valid_from DESC
       LIMIT 1) e ON true
   WHERE x.person_id = who.id;
  rule := COALESCE(rule, 'no entry rule: a green code');
  IF colour IS DISTINCT FROM 'green' THEN
    admit := false;
    reason := 'not_green';
  ELSIF demand = 'green_and_negative_test' THEN
    last_negative := (@extschema@._person_health_facts(who.id, t)).last_negative_at;
    admit := COALESCE(last_negative BETWEEN t - make_interval(hours => negative_test_hours) AND t, false);
    reason := CASE WHEN admit THEN 'ok' ELSE 'no_recent_negative_test' END;
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.scan_venue(bigint, text, timestamptz) IS
  'A visitor scans a venue''s code (扫场所码): the code verified (online), the stay recorded as a venue_scan (once for the same person, venue and minute; the triggers recalculate), and what the door keeper sees: admit, reason (ok, not_green, no_recent_negative_test, or why the code failed: malformed, bad_signature, venue_closed, ...), the colour after the stay, the masked name, the venue and the entry rule that decided (venue_entry_rule). A venue of another node (its code verifies by the trust list): the stay is recorded in the venue''s county, its name and kind NULL, and a green code is asked. The transaction commits asynchronously when the scan is its first write (healthcode.asynchronous_scans). P0002 for a person not of the caller''s regions.';
REVOKE ALL ON FUNCTION @extschema@.scan_venue(bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.scan_venue(bigint, text, timestamptz) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.scan_venue(identifier text, code text, at timestamptz DEFAULT pg_catalog.now(),
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT display_name text,
    OUT venue_id bigint, OUT venue_name text, OUT venue_kind text, OUT rule text, OUT recorded boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  SELECT * INTO admit, reason, colour, display_name, venue_id, venue_name, venue_kind, rule, recorded
    FROM @extschema@.scan_venue(@extschema@._require_person(scan_venue.identifier), scan_venue.code, scan_venue.at);
END $$;
COMMENT ON FUNCTION @extschema@.scan_venue(text, text, timestamptz) IS
  'scan_venue by the visitor''s identifier.';
REVOKE ALL ON FUNCTION @extschema@.scan_venue(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.scan_venue(text, text, timestamptz) TO healthcode_app, healthcode_operator;

-- Scans in bulk, as a venue's own system sends them: each record a person
-- (person_id or identifier), a venue (its id) and a time. Checked and
-- written as every import is (72_imports.sql); a venue unknown in the
-- caller's regions, or closed before the scan, refuses the batch naming the
-- record; once for the same person, venue and minute.
CREATE FUNCTION @extschema@.import_scans(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'scan',
    '{person_id,identifier,venue,at}',
    '{id,identifier,id!,evidence_time!}',
    'venue bigint, at timestamptz',
    $q$INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
       SELECT DISTINCT ON (r.pid, v.id, date_trunc('minute', r.at)) r.pid, p.region, v.place, r.at, 'venue_scan', v.id::text
         FROM recs r JOIN people p ON p.id = r.pid JOIN @extschema@.venue v ON v.id = r.venue
        WHERE $ok AND r.at >= @extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai'
        ORDER BY r.pid, v.id, date_trunc('minute', r.at), r.at
       ON CONFLICT DO NOTHING$q$,
    checks => format(
      $q$SELECT r.ord, NULL::bigint,
                format('field "venue": no venue %%s open at the scan in the regions the caller acts for', r.venue)
           FROM recs r
          WHERE NOT EXISTS (SELECT FROM @extschema@.venue v
                             WHERE v.id = r.venue AND (v.closed_at IS NULL OR v.closed_at > r.at)
                               AND %L::@extschema@.division_multirange @> (v.region COLLATE "C"))
          ORDER BY r.ord LIMIT 1$q$, @extschema@.my_region_scope()),
    prepare => $q$SELECT @extschema@.create_travel_partitions() WHERE $1 IS NOT NULL$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_scans(json) IS
  'Imports venue scans from a venue''s system: [{"person_id" or "identifier", "venue" (a venue id of the caller''s regions, open at the scan), "at"}], each a venue_scan stay at the venue''s place (once for the same person, venue and minute); a record naming an unknown or closed venue, or a person outside the caller''s regions, refuses the batch. Returns how many stays were new.';
REVOKE ALL ON FUNCTION @extschema@.import_scans(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_scans(json) TO healthcode_app, healthcode_operator;
