-- ---------------------------------------------------------------------------
-- Federation: status digests (mode 2), national issuing (mode 3) and the
-- reds pushed between regions.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.status_digest (
  region        text NOT NULL,
  subject       bytea NOT NULL,
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  valid_until   timestamptz,
  next          jsonb,
  last_negative_at timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT status_digest_pkey PRIMARY KEY (region, subject)
);
COMMENT ON TABLE @extschema@.status_digest IS
  'Code-status digests a region publishes to the hub: the code subject (pseudonym), colour, mark, the timeline until it changes, the last negative test. Never a name, an identifier or a reason. A region node fills it for its people when it publishes; the hub holds every region''s.';
COMMENT ON COLUMN @extschema@.status_digest.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_digest.subject IS 'The pseudonym the person''s codes carry.';
COMMENT ON COLUMN @extschema@.status_digest.colour IS 'Colour of the current segment.';
COMMENT ON COLUMN @extschema@.status_digest.vaccinated IS 'The vaccinated mark.';
COMMENT ON COLUMN @extschema@.status_digest.valid_until IS 'End of the current segment.';
COMMENT ON COLUMN @extschema@.status_digest.next IS 'Later segments (colour and mark only).';
COMMENT ON COLUMN @extschema@.status_digest.last_negative_at IS 'When the last negative test was sampled (for arrival rules).';
COMMENT ON COLUMN @extschema@.status_digest.updated_at IS 'When the region last wrote it.';

CREATE FUNCTION @extschema@._digest_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row @extschema@.status_digest;
  problem text;
BEGIN
  -- (this node's own row, come back through the hub: 90_federation_node.sql)
  IF @extschema@._own_row_back(TG_OP, OLD.region, NEW.region) THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    problem := @extschema@._sender_problem(OLD.region);
    IF problem IS NOT NULL THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(OLD));
      RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
  END IF;
  problem := @extschema@._sender_problem(NEW.region);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF NEW.region IS NULL OR NOT @extschema@.division_code_valid(NEW.region)
     OR NEW.subject IS NULL OR length(NEW.subject) <> 16 OR NEW.colour IS NULL OR NEW.valid_until IS NULL
     OR NEW.next IS NULL OR jsonb_typeof(NEW.next) <> 'array' THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'a digest needs a region, a 16-byte subject, a colour, valid_until and next', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.status_digest d WHERE d.region = NEW.region AND d.subject = NEW.subject;
    IF FOUND THEN
      IF (to_jsonb(NEW) - 'updated_at') <> (to_jsonb(old_row) - 'updated_at') THEN
        UPDATE @extschema@.status_digest d
           SET colour = NEW.colour, vaccinated = NEW.vaccinated, valid_until = NEW.valid_until, next = NEW.next,
               last_negative_at = NEW.last_negative_at, updated_at = NEW.updated_at
         WHERE d.region = NEW.region AND d.subject = NEW.subject;
      END IF;
      RETURN NULL;
    END IF;
  ELSIF (to_jsonb(NEW) - 'updated_at') = (to_jsonb(OLD) - 'updated_at') THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._digest_check() IS
  'Trigger (also on replicated rows): skips malformed digests and digests of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
REVOKE ALL ON FUNCTION @extschema@._digest_check() FROM PUBLIC;
CREATE TRIGGER digest_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.status_digest
  FOR EACH ROW EXECUTE FUNCTION @extschema@._digest_check();
ALTER TABLE @extschema@.status_digest ENABLE ALWAYS TRIGGER digest_check;

-- A digest read at an instant, as a stored status is (status_at): the
-- colour, mark and end of the segment it holds then.
CREATE FUNCTION @extschema@._digest_at(d @extschema@.status_digest, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN @extschema@.status_at(ROW(0, d.region, d.colour, d.vaccinated, '[]', d.updated_at, d.valid_until,
                                 d.next, d.updated_at, NULL)::@extschema@.person_status, at);
COMMENT ON FUNCTION @extschema@._digest_at(@extschema@.status_digest, timestamptz) IS
  'Internal: a status digest read at an instant (colour, vaccinated mark, since, valid_until), as status_at reads a stored status.';
REVOKE ALL ON FUNCTION @extschema@._digest_at(@extschema@.status_digest, timestamptz) FROM PUBLIC;

-- A region node's digests and pushed reds for the people just recalculated
-- (every recalculation calls it: after_recompute, registered below).
CREATE FUNCTION @extschema@._publish_status(persons bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  served @extschema@.division_multirange := @extschema@._served_here();
BEGIN
  IF isempty(served) THEN
    RETURN;
  END IF;
  -- (the people this node speaks for: a region node's, the hub's hosted regions')
  persons := ARRAY(SELECT p.id FROM unnest(persons) q(id) JOIN @extschema@.person p ON p.id = q.id
                    WHERE served @> (p.region COLLATE "C"));
  IF cardinality(persons) = 0 THEN
    RETURN;
  END IF;
  INSERT INTO @extschema@.status_digest (region, subject, colour, vaccinated, valid_until, next, last_negative_at, updated_at)
  SELECT p.region, p.subject, (x.v).colour, (x.v).vaccinated, (x.v).valid_until,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('from', g.e -> 'from', 'until', g.e -> 'until',
                                                       'colour', g.e -> 'colour', 'vaccinated', g.e -> 'vaccinated')
                                    ORDER BY g.o), '[]')
            FROM jsonb_array_elements((x.v).next) WITH ORDINALITY g(e, o)),
         (SELECT max(r.sampled_at) FROM @extschema@.test_result r
           WHERE r.person_id = p.id AND r.result = 'negative'),
         t
    FROM unnest(persons) q(id)
    JOIN @extschema@.person p ON p.id = q.id
    JOIN @extschema@.person_status s ON s.person_id = p.id
    CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, t) AS v OFFSET 0) x;
  -- what a destination needs of them (mode 1), by national pseudonym: their
  -- latest negative test and doses here. A positive test goes as the red it
  -- makes, a pushed red (below), which carries this region's own decisions
  -- (a medical release ends it); nothing other regions shared goes back.
  -- (someone with neither: no row, and the one shared before goes)
  WITH facts AS (
    SELECT p.national_subject, p.region, lt.kind, lt.sampled_at, lt.result, LEAST(d.doses, 10) AS doses, d.last_at
      FROM unnest(persons) q(id)
      JOIN @extschema@.person p ON p.id = q.id
      LEFT JOIN LATERAL (SELECT r.kind, r.sampled_at, r.result FROM @extschema@.test_result r
                          WHERE r.person_id = p.id AND r.sampled_at <= t AND r.result = 'negative'
                          ORDER BY r.sampled_at DESC LIMIT 1) lt ON true
      CROSS JOIN LATERAL @extschema@._doses_of(p.id, t) d
     WHERE p.national_subject IS NOT NULL
  ), gone AS (
    DELETE FROM @extschema@.health_share h USING facts f
     WHERE h.national_subject = f.national_subject AND h.region = f.region
       AND f.sampled_at IS NULL AND f.doses = 0
  )
  INSERT INTO @extschema@.health_share (national_subject, region, test_kind, tested_at, test_result, doses,
                                        last_dose_at, shared_at)
  SELECT f.national_subject, f.region, f.kind, f.sampled_at, f.result, f.doses, f.last_at, t
    FROM facts f
   WHERE f.sampled_at IS NOT NULL OR f.doses > 0;
  -- reds decided here (not those pushed from elsewhere), while they last:
  -- what should be pushed now; rows that should not any more go
  WITH due AS (
    SELECT p.national_subject, p.region AS from_region, (x.v).since,
           COALESCE((SELECT min((g.e ->> 'from')::timestamptz)
                       FROM jsonb_array_elements((x.v).next) g(e) WHERE g.e ->> 'colour' <> 'red'),
                    'infinity') AS until,
           ARRAY(SELECT DISTINCT r ->> 'rule' FROM jsonb_array_elements((x.v).reasons) r ORDER BY 1) AS rules
      FROM unnest(persons) q(id)
      JOIN @extschema@.person p ON p.id = q.id
      JOIN @extschema@.person_status s ON s.person_id = p.id
      CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, t) AS v OFFSET 0) x
     WHERE p.national_subject IS NOT NULL AND (x.v).colour = 'red'
       -- (decided by evidence of this node's own, which names its row (ref):
       -- not by reds pushed or data shared from elsewhere, whose ref is 0,
       -- and which go no further)
       AND EXISTS (SELECT 1 FROM jsonb_array_elements((x.v).reasons) r
                    WHERE r ->> 'rule' <> 'pushed_red' AND COALESCE((r ->> 'ref')::numeric, 0) <> 0)
  ), gone AS (
    DELETE FROM @extschema@.red_push r
     USING unnest(persons) q(id) JOIN @extschema@.person p ON p.id = q.id
     WHERE r.national_subject = p.national_subject AND r.from_region = p.region
       AND NOT EXISTS (SELECT 1 FROM due d WHERE d.national_subject = r.national_subject
                                             AND d.from_region = r.from_region)
  )
  INSERT INTO @extschema@.red_push (national_subject, from_region, since, until, rules, pushed_at)
  SELECT d.national_subject, d.from_region, d.since, d.until, d.rules, t FROM due d;
END $$;
COMMENT ON FUNCTION @extschema@._publish_status(bigint[]) IS
  'Internal: for the people this node speaks for (a region node''s own, the regions the hub hosts: _served_here), writes their status digests, their shared health data (latest negative test and doses, by national pseudonym) and the reds decided here (to be published).';
REVOKE ALL ON FUNCTION @extschema@._publish_status(bigint[]) FROM PUBLIC;
INSERT INTO @extschema@.after_recompute (step) VALUES ('@extschema@._publish_status(bigint[])');

-- ---- reds pushed from other regions ----------------------------------------------

CREATE FUNCTION @extschema@._red_push_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.red_push;
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- (this node's own row, come back through the hub: 90_federation_node.sql)
  IF @extschema@._own_row_back(TG_OP, OLD.from_region, NEW.from_region) THEN
    RETURN NULL;
  END IF;
  -- a node speaks for the reds of its own regions only
  problem := @extschema@._row_sender_problem(TG_OP, OLD.from_region, NEW.from_region);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.national_subject IS NULL OR length(NEW.national_subject) <> 16
       OR NEW.from_region IS NULL OR NOT @extschema@.division_code_valid(NEW.from_region)
       OR NEW.since IS NULL OR NOT isfinite(NEW.since) OR NEW.until IS NULL OR NEW.until <= NEW.since THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, 'a pushed red needs a 16-byte national subject, a region and since < until', to_jsonb(NEW));
      RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
      SELECT * INTO r FROM @extschema@.red_push x
       WHERE x.national_subject = NEW.national_subject AND x.from_region = NEW.from_region;
      IF FOUND THEN
        IF (to_jsonb(NEW) - 'pushed_at') <> (to_jsonb(r) - 'pushed_at') THEN
          UPDATE @extschema@.red_push x SET since = NEW.since, until = NEW.until, rules = NEW.rules, pushed_at = NEW.pushed_at
           WHERE x.national_subject = NEW.national_subject AND x.from_region = NEW.from_region;
        END IF;
        RETURN NULL;
      END IF;
    ELSIF (to_jsonb(NEW) - 'pushed_at') = (to_jsonb(OLD) - 'pushed_at') THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_check() IS
  'Trigger (also on replicated rows): skips malformed pushed reds and reds of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
REVOKE ALL ON FUNCTION @extschema@._red_push_check() FROM PUBLIC;
CREATE TRIGGER red_push_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.red_push
  FOR EACH ROW EXECUTE FUNCTION @extschema@._red_push_check();
ALTER TABLE @extschema@.red_push ENABLE ALWAYS TRIGGER red_push_check;

-- The people here whom a row of the national exchange about these national
-- pseudonyms concerns (a pushed red, shared health data: its old and new
-- versions): those registered here in another region than the row's, who
-- are recalculated with the cause given. (The two exchange triggers below
-- and in 94_federation_peers.sql.)
CREATE FUNCTION @extschema@._recompute_national(subjects bytea[], row_region text, cause text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  who bigint[] := ARRAY(SELECT p.id FROM @extschema@.person p
                         WHERE p.national_subject = ANY (subjects) AND p.region <> row_region);
BEGIN
  IF cardinality(who) > 0 THEN
    PERFORM @extschema@._evidence_lock(false);
    PERFORM @extschema@._recompute(who, cause);
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._recompute_national(bytea[], text, text) IS
  'Internal: recalculates the people here with one of these national pseudonyms registered in another region than row_region (a pushed red''s or shared row''s), with the cause given.';
REVOKE ALL ON FUNCTION @extschema@._recompute_national(bytea[], text, text) FROM PUBLIC;

-- People here whom a pushed red from elsewhere concerns are recalculated.
CREATE FUNCTION @extschema@._red_push_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sender text := CASE TG_OP WHEN 'DELETE' THEN OLD.from_region ELSE NEW.from_region END;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._recompute_national(ARRAY(SELECT NEW.national_subject WHERE TG_OP <> 'DELETE'
                                                UNION SELECT OLD.national_subject WHERE TG_OP <> 'INSERT'),
                                          sender, 'red pushed from ' || sender);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_changed() IS
  'Trigger (also on replicated rows): recalculates the people here with the pushed red''s national pseudonym.';
REVOKE ALL ON FUNCTION @extschema@._red_push_changed() FROM PUBLIC;
CREATE TRIGGER red_push_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.red_push
  FOR EACH ROW EXECUTE FUNCTION @extschema@._red_push_changed();
ALTER TABLE @extschema@.red_push ENABLE ALWAYS TRIGGER red_push_changed;

-- ---- mode 2: a checkpoint asks the hub ------------------------------------------------

CREATE FUNCTION @extschema@.current_status_of(code @extschema@.healthcode,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT known boolean, OUT colour @extschema@.risk_colour, OUT vaccinated boolean,
    OUT valid_until timestamptz, OUT code_is_current boolean, OUT reason text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d @extschema@.status_digest;
  v @extschema@.status_instant;
  ver record;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(current_status_of.at, now());
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(t, 'at');
  -- a checkpoint asks about now; other times are the national admin's
  IF abs(extract(epoch FROM t - now())) > extract(epoch FROM @extschema@._clock_skew())
     AND NOT @extschema@._in_caller_scope('000000') THEN
    RAISE EXCEPTION 'at must be now, not %', t USING ERRCODE = '42501',
      DETAIL = 'Other times are answered for national roles only; now is taken within healthcode.clock_skew.';
  END IF;
  SELECT * INTO ver FROM @extschema@.verify(code, t);
  known := false;
  -- the digest only for a genuine, current code: a forged or expired one
  -- carrying someone's subject must not read their status
  IF ver.valid THEN
    SELECT * INTO d FROM @extschema@.status_digest x
     WHERE x.region = @extschema@.region(code) AND x.subject = @extschema@.subject(code);
    known := FOUND;
  END IF;
  IF known THEN
    v := @extschema@._digest_at(d, t);
    colour := v.colour;
    vaccinated := v.vaccinated;
    valid_until := v.valid_until;
  END IF;
  code_is_current := ver.valid AND known AND colour = ver.colour;
  reason := CASE WHEN NOT ver.valid THEN ver.reason
                 WHEN NOT known THEN 'unknown_subject'
                 WHEN colour <> ver.colour THEN 'colour_changed'
                 ELSE 'ok' END;
END $$;
COMMENT ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) IS
  'The hub as intermediary: verifies a code and says whether its colour is still the current one, from the region''s published digest (only for a code that verifies; at: now, other times for national roles only). reason: a verify() reason, unknown_subject, colour_changed or ok.';
REVOKE ALL ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE FUNCTION @extschema@.issue_for_subject(region text, subject bytea,
    valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d @extschema@.status_digest;
  v @extschema@.status_instant;
  t timestamptz := statement_timestamp();
  span interval;
  code @extschema@.healthcode;
BEGIN
  PERFORM @extschema@._require_region(issue_for_subject.region);
  IF issue_for_subject.subject IS NULL THEN
    RAISE EXCEPTION 'subject must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF length(issue_for_subject.subject) <> 16 THEN
    RAISE EXCEPTION 'subject must be a 16-byte pseudonym, not % bytes', length(issue_for_subject.subject)
      USING ERRCODE = '22023', HINT = 'The region''s node gives it: healthcode.subject_of(identifier).';
  END IF;
  PERFORM @extschema@._require_valid_for(valid_for);
  PERFORM @extschema@._require_caller_scope(issue_for_subject.region);
  PERFORM @extschema@._require_code_lifetime(issue_for_subject.region, valid_for, false, t);
  SELECT * INTO d FROM @extschema@.status_digest x
   WHERE x.region = issue_for_subject.region AND x.subject = issue_for_subject.subject;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'region % has published no status for this subject', issue_for_subject.region
      USING ERRCODE = 'P0002', HINT = 'The region node publishes digests once it is joined to the hub.';
  END IF;
  v := @extschema@._digest_at(d, t);
  span := CASE WHEN isfinite(v.valid_until)
               THEN LEAST(valid_for, date_trunc('second', v.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'the status changes within a second' USING ERRCODE = '40001',
      HINT = 'Retry the call: the code would carry a colour that no longer holds when it is shown.';
  END IF;
  code := @extschema@.issue(issue_for_subject.region, issue_for_subject.subject, v.colour, span, v.vaccinated);
  PERFORM @extschema@._count_code_event('issued', issue_for_subject.region, issue_for_subject.region, v.colour, 'ok',
                                        @extschema@._code_holder(issue_for_subject.subject, t));
  RETURN code;
END $$;
COMMENT ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) IS
  'Mode 3, on the hub: a code for a person of a region without an issuer of its own, signed by the nearest issuer the hub holds (the national one), with the colour the region''s digest gives now; never outliving it, nor the max_code_lifetime of the region''s policy as the hub holds it.';
REVOKE ALL ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.subject_of(identifier text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT p.subject FROM @extschema@.person p
   WHERE p.id OPERATOR(pg_catalog.=) @extschema@.person_id(subject_of.identifier);
END;
COMMENT ON FUNCTION @extschema@.subject_of(text) IS
  'The pseudonym a registered person''s codes carry (what issue_for_subject at the hub takes), within the caller''s regions.';
REVOKE ALL ON FUNCTION @extschema@.subject_of(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.subject_of(text) TO healthcode_app, healthcode_operator;
