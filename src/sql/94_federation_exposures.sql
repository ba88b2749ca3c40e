-- ---------------------------------------------------------------------------
-- Federation: exposure notices (issue 15). A case traced on its own node
-- (trace_exposures, 84_exposures.sql) may have had company there from
-- other provinces: their scans of its venue, or their stays in its
-- community, are recorded on their own nodes (83_scans.sql). So the case's
-- node publishes, for each of the case's stays in the window, a notice:
-- the venue (its id and county: with the county, one venue nationwide) or
-- the community, the span of time around the stay the policy's
-- exposure_minutes makes, the kind of contact and the team's reference of
-- the case. Never the case, their pseudonym or any identifier. The hub
-- relays it as it relays pushed reds; each node files its own people who
-- were there as contacts of the case, and recalculates them.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.exposure_notice (
  -- (no constraint a remote row could break, as every exchange table:
  -- _exposure_notice_check checks each row, doc/federation.md)
  notice        text PRIMARY KEY,
  from_region   text,
  venue         bigint,
  venue_region  text,
  place         text,
  from_at       timestamptz,
  until_at      timestamptz,
  kind          text,
  source_case   text,
  published_at  timestamptz
);
COMMENT ON TABLE @extschema@.exposure_notice IS
  'Exposure notices between nodes: a traced case''s venue (or community) and the span of time around its stay there, the kind of contact and the case''s reference, published by the case''s node and relayed by the hub; every other node files its own people who were there as contacts. Nothing that names the case.';
COMMENT ON COLUMN @extschema@.exposure_notice.notice IS 'What names the notice on every node: a digest of its content.';
COMMENT ON COLUMN @extschema@.exposure_notice.from_region IS 'The case''s region (the publishing node must serve it).';
COMMENT ON COLUMN @extschema@.exposure_notice.venue IS 'The venue''s id on its own node (a venue notice), or NULL (a community notice).';
COMMENT ON COLUMN @extschema@.exposure_notice.venue_region IS 'The venue''s county, as its code says: where another node records a scan of it.';
COMMENT ON COLUMN @extschema@.exposure_notice.place IS 'The community (a twelve-digit place) of a community notice.';
COMMENT ON COLUMN @extschema@.exposure_notice.from_at IS 'The span of time a stay there exposes: from.';
COMMENT ON COLUMN @extschema@.exposure_notice.until_at IS 'Until (inclusive).';
COMMENT ON COLUMN @extschema@.exposure_notice.kind IS 'close or secondary: the contacts it files.';
COMMENT ON COLUMN @extschema@.exposure_notice.source_case IS 'The tracing team''s reference of the case (contact.source_case).';
COMMENT ON COLUMN @extschema@.exposure_notice.published_at IS 'When the case''s node wrote it.';
REVOKE ALL ON @extschema@.exposure_notice FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exposure_notice', '');

-- The digest that names a notice: the same on every node for the same content.
CREATE FUNCTION @extschema@._exposure_notice_key(n @extschema@.exposure_notice) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.md5(pg_catalog.concat_ws('|', n.from_region, n.venue, n.venue_region, n.place,
                                            pg_catalog.to_char(n.from_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                                            pg_catalog.to_char(n.until_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                                            n.kind, n.source_case));
COMMENT ON FUNCTION @extschema@._exposure_notice_key(@extschema@.exposure_notice) IS
  'Internal: the digest of a notice''s content, its key on every node.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_key(@extschema@.exposure_notice) FROM PUBLIC;

-- What is wrong with a notice, or NULL.
CREATE FUNCTION @extschema@._exposure_notice_problem(n @extschema@.exposure_notice) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN n.from_region IS NULL OR NOT @extschema@.division_code_valid(n.from_region) OR n.from_region = '000000'
    THEN 'a notice names the case''s region'
  WHEN n.kind IS NULL OR n.kind NOT IN ('close', 'secondary') THEN 'a notice''s kind is close or secondary'
  WHEN n.from_at IS NULL OR n.until_at IS NULL OR NOT pg_catalog.isfinite(n.from_at) OR NOT pg_catalog.isfinite(n.until_at)
       OR n.until_at < n.from_at OR n.until_at - n.from_at > interval '2 days'
    THEN 'a notice''s span is finite, in order and at most two days'
  WHEN n.venue IS NOT NULL AND (n.venue < 1 OR n.venue_region IS NULL OR NOT @extschema@.division_code_valid(n.venue_region)
                                OR n.place IS NOT NULL)
    THEN 'a venue notice names the venue''s id and county, and no place'
  WHEN n.venue IS NULL AND (n.place IS NULL OR NOT @extschema@.place_code_valid(n.place) OR pg_catalog.length(n.place) <> 12
                            OR n.venue_region IS NOT NULL)
    THEN 'a community notice names a twelve-digit place, and no venue'
  WHEN n.source_case IS NULL OR pg_catalog.length(n.source_case) NOT BETWEEN 1 AND 200
    THEN 'a notice names the case by a reference of 1 to 200 characters'
  WHEN n.notice IS DISTINCT FROM @extschema@._exposure_notice_key(n) THEN 'a notice''s key is the digest of its content'
END;
COMMENT ON FUNCTION @extschema@._exposure_notice_problem(@extschema@.exposure_notice) IS
  'Internal: why a notice is malformed, or NULL.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_problem(@extschema@.exposure_notice) FROM PUBLIC;

CREATE FUNCTION @extschema@._exposure_notice_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- a node speaks for its own regions' cases only
  problem := @extschema@._row_sender_problem(TG_OP, OLD.from_region, NEW.from_region);
  IF problem IS NULL AND TG_OP <> 'DELETE' THEN
    problem := @extschema@._exposure_notice_problem(NEW);
  END IF;
  IF problem IS NULL AND TG_OP = 'UPDATE' THEN
    problem := 'a notice never changes';
  END IF;
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  -- (the same notice again, as a relay sends it back: nothing to do)
  IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM @extschema@.exposure_notice x WHERE x.notice = NEW.notice) THEN
    RETURN NULL;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._exposure_notice_check() IS
  'Trigger (also on replicated rows): skips malformed notices, notices of regions the sending node does not serve and changes of a notice (logged), and a notice already here.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_check() FROM PUBLIC;
CREATE TRIGGER exposure_notice_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.exposure_notice
  FOR EACH ROW EXECUTE FUNCTION @extschema@._exposure_notice_check();
ALTER TABLE @extschema@.exposure_notice ENABLE ALWAYS TRIGGER exposure_notice_check;

-- A notice from another node: this node's people who were there in its
-- span are filed as contacts of the case and recalculated. (The case's own
-- node filed its people when it traced; a region node skips its own
-- regions' notices.) In the apply worker no ordinary trigger fires: the
-- recalculation is called here.
CREATE FUNCTION @extschema@._exposure_notice_arrived() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  filed bigint[];
BEGIN
  -- (a notice of this node's own people: they were traced here)
  IF @extschema@._exchange_loading() OR @extschema@._served_here() @> (NEW.from_region COLLATE "C") THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  -- (the people locked as an import locks them; a venue's scans by its id
  -- and county, a community's stays by the place; each person once, at
  -- their first stay in the span)
  WITH there AS (
    SELECT DISTINCT ON (t.person_id) t.person_id, t.at
      FROM @extschema@.travel t
     WHERE t.at >= NEW.from_at AND t.at <= NEW.until_at
       AND CASE WHEN NEW.venue IS NOT NULL
                THEN t.venue = NEW.venue::text AND t.source = 'venue_scan' AND left(t.place, 6) = NEW.venue_region
                ELSE t.place = NEW.place END
     ORDER BY t.person_id, t.at
  ), locked AS (
    SELECT p.id, p.region FROM @extschema@.person p WHERE p.id IN (SELECT x.person_id FROM there x)
     ORDER BY p.id FOR KEY SHARE
  ), written AS (
    INSERT INTO @extschema@.contact AS c (person_id, region, kind, exposure_at, source_case)
    SELECT x.person_id, l.region, NEW.kind, x.at, NEW.source_case
      FROM there x JOIN locked l ON l.id = x.person_id
    ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING
    RETURNING c.person_id
  )
  SELECT array_agg(w.person_id) INTO filed FROM written w;
  -- (written locally, the contact table's own triggers recalculate them;
  -- the apply worker fires none)
  IF @extschema@._by_replication() THEN
    PERFORM @extschema@._recompute(filed, 'exposure notice from ' || NEW.from_region);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._exposure_notice_arrived() IS
  'Trigger (also on replicated rows): files the people here who were at a notice''s venue (or in its community) in its span as contacts of the case, and recalculates them; a region node skips its own regions'' notices.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_arrived() FROM PUBLIC;
CREATE TRIGGER exposure_notice_arrived AFTER INSERT ON @extschema@.exposure_notice
  FOR EACH ROW EXECUTE FUNCTION @extschema@._exposure_notice_arrived();
ALTER TABLE @extschema@.exposure_notice ENABLE ALWAYS TRIGGER exposure_notice_arrived;

-- The notices of a trace, written by trace_exposures on a region node: one
-- for each of the case's stays in the window (the spans _exposures reads).
CREATE FUNCTION @extschema@._publish_exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                               at_level text, kind text, source_case text) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.test_result;
  reach interval;
  n integer;
BEGIN
  SELECT * INTO c FROM @extschema@.test_result r WHERE r.id = case_result;
  -- (published by the node that speaks for the case's region)
  IF NOT FOUND OR NOT @extschema@._served_here() @> (c.region COLLATE "C") THEN
    RETURN 0;
  END IF;
  reach := @extschema@._exposure_reach(c);
  -- (a venue by its id and county: its node's id, and where another node
  -- records a scan of it; the case's scans of other nodes' venues too)
  INSERT INTO @extschema@.exposure_notice
  SELECT @extschema@._exposure_notice_key(x), (x).from_region, (x).venue, (x).venue_region, (x).place,
         (x).from_at, (x).until_at, (x).kind, (x).source_case, (x).published_at
    FROM (SELECT DISTINCT ROW(NULL, c.region,
                               CASE WHEN at_level = 'venue' THEN @extschema@._venue_id(s.venue) END,
                               CASE WHEN at_level = 'venue' THEN left(s.place, 6) END,
                               CASE WHEN at_level = 'community' THEN s.place END,
                               s.at - reach, s.at + reach, _publish_exposures.kind, _publish_exposures.source_case,
                               now())::@extschema@.exposure_notice AS x
            FROM @extschema@.travel s
           WHERE s.person_id = c.person_id AND s.at >= window_from AND s.at < window_until
             AND CASE WHEN at_level = 'venue' THEN s.source = 'venue_scan' AND @extschema@._venue_id(s.venue) IS NOT NULL
                      ELSE length(s.place) = 12 END) y
  ON CONFLICT (notice) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._publish_exposures(bigint, timestamptz, timestamptz, text, text, text) IS
  'Internal: on a region node, the exposure notices of a trace (one for each of the case''s venue scans in the window, or stays in a community), to be published through the hub; returns how many were new.';
REVOKE ALL ON FUNCTION @extschema@._publish_exposures(bigint, timestamptz, timestamptz, text, text, text) FROM PUBLIC;

-- ---- venue closures (issue 15) ----------------------------------------------------
-- A venue's code is checked offline by every node; online, a node knows
-- only its own venues' closures. A region node publishes each closure (the
-- venue's id and county, when), the hub relays it, and verify_venue_code on
-- another node answers venue_closed for that venue's code (82_venues.sql),
-- so a scan there records nothing.
CREATE TABLE @extschema@.venue_closure (
  -- (no constraint a remote row could break, as every exchange table)
  venue         bigint NOT NULL,
  venue_region  text NOT NULL,
  closed_at     timestamptz,
  CONSTRAINT venue_closure_pkey PRIMARY KEY (venue, venue_region)
);
COMMENT ON TABLE @extschema@.venue_closure IS
  'Closures of venues of other nodes (and of this node''s own, published): a venue by its id and county, and when it closed. verify_venue_code answers venue_closed for its code online.';
COMMENT ON COLUMN @extschema@.venue_closure.venue IS 'The venue''s id on its own node.';
COMMENT ON COLUMN @extschema@.venue_closure.venue_region IS 'The venue''s county (its code''s region).';
COMMENT ON COLUMN @extschema@.venue_closure.closed_at IS 'When it closed.';
REVOKE ALL ON @extschema@.venue_closure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_closure', '');

CREATE FUNCTION @extschema@._venue_closure_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- a node speaks for its own regions' venues only
  problem := @extschema@._row_sender_problem(TG_OP, OLD.venue_region, NEW.venue_region);
  IF problem IS NULL AND TG_OP <> 'DELETE'
     AND (NEW.venue < 1 OR NOT @extschema@.division_code_valid(NEW.venue_region) OR NEW.venue_region = '000000'
          OR NEW.closed_at IS NULL OR NOT isfinite(NEW.closed_at)) THEN
    problem := 'a closure names a venue''s id and county and when it closed';
  END IF;
  IF problem IS NULL AND TG_OP = 'DELETE' THEN
    problem := 'a closure is never taken back';
  END IF;
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  -- (the same closure again, as a relay sends it back: nothing to do)
  IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM @extschema@.venue_closure x
                                   WHERE x.venue = NEW.venue AND x.venue_region = NEW.venue_region) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._venue_closure_check() IS
  'Trigger (also on replicated rows): skips malformed closures, closures of venues the sending node does not serve and the taking back of one (logged), and a closure already here.';
REVOKE ALL ON FUNCTION @extschema@._venue_closure_check() FROM PUBLIC;
CREATE TRIGGER venue_closure_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.venue_closure
  FOR EACH ROW EXECUTE FUNCTION @extschema@._venue_closure_check();
ALTER TABLE @extschema@.venue_closure ENABLE ALWAYS TRIGGER venue_closure_check;
