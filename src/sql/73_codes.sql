-- ---------------------------------------------------------------------------
-- A person's code, issued for the code screen (issue_for()) or on paper
-- (issue_paper_code()), each as long as the region's policy allows.
-- Codes issued here and checked at checkpoints (94_checkpoints.sql) are
-- counted, without the subject, in code_event for the analysts' views.
-- ---------------------------------------------------------------------------

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
REVOKE ALL ON FUNCTION @extschema@._require_valid_for(interval) FROM PUBLIC;

-- How long a code may live is the region's policy (versioned, inherited
-- down the hierarchy like every other number): max_code_lifetime, minutes
-- by default, as a code on a phone is refreshed; a paper code, printed for
-- someone without a phone, paper_code_lifetime, only where it is set.
-- Every function a role calls to get a code checks valid_for here.
CREATE FUNCTION @extschema@._require_code_lifetime(region text, valid_for interval, paper boolean, at timestamptz)
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.policy := @extschema@.policy_at(_require_code_lifetime.region, at);
  cap interval := CASE WHEN paper THEN p.paper_code_lifetime ELSE p.max_code_lifetime END;
BEGIN
  IF cap IS NULL THEN
    RAISE EXCEPTION 'region % issues no paper codes', region USING ERRCODE = '55000',
      HINT = 'A policy version of the region (or of one above it) with paper_code_lifetime set allows them.';
  END IF;
  IF valid_for > cap THEN
    RAISE EXCEPTION 'valid_for must be at most % in region %, not %', cap, region,
      quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003',
            DETAIL = format('The policy version in force there caps %s at %s.',
                            CASE WHEN paper THEN 'a paper code''s lifetime' ELSE 'a code''s lifetime' END, cap),
            HINT = CASE WHEN paper THEN 'Ask for a shorter paper code.'
                        ELSE 'A code on a phone is refreshed before it expires; someone without a phone can be given a paper code (issue_paper_code) where policy allows.' END;
  END IF;
  RETURN valid_for;
END $$;
COMMENT ON FUNCTION @extschema@._require_code_lifetime(text, interval, boolean, timestamptz) IS
  'Internal: valid_for if the policy of region in force at at allows a code (or, with paper, a paper code) to live that long; else 22003 (too long) or 55000 (no paper codes there).';
REVOKE ALL ON FUNCTION @extschema@._require_code_lifetime(text, interval, boolean, timestamptz) FROM PUBLIC;

-- Codes issued and verified: counted, never tied to a person.
CREATE TABLE @extschema@.code_event (
  at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  event         text NOT NULL CONSTRAINT event_is_known CHECK (event IN ('issued', 'verified')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  code_region   text NOT NULL CONSTRAINT code_region_is_division_code CHECK (@extschema@.division_code_valid(code_region)),
  colour        @extschema@.risk_colour NOT NULL,
  outcome       text NOT NULL,
  holder        bytea NOT NULL
) PARTITION BY RANGE (at);
-- One partition a day (80_retention_days.sql); a day whose partition is
-- not made yet goes to the default partition, and moves to its own when
-- it is made.
CREATE TABLE @extschema@.code_event_default PARTITION OF @extschema@.code_event DEFAULT;
SELECT @extschema@._index_partition('code_event', 'code_event_default');
COMMENT ON TABLE @extschema@.code_event IS
  'One row per code issued by issue_for() or verified by checkpoint_verify(): when, where (the issuing region, or the checkpoint''s), the code''s region and colour, and the outcome (ok or the verify reason). No subject, no person: counts for the analyst views. Partitioned by day (China Standard Time): create_partitions(), drop_expired_partitions().';
COMMENT ON TABLE @extschema@.code_event_default IS
  'The code events of days whose partition of code_event is not made yet; create_partitions() moves them into it.';
COMMENT ON COLUMN @extschema@.code_event.at IS 'When.';
COMMENT ON COLUMN @extschema@.code_event.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.code_event.region IS 'Where: the person''s region when issued, the checkpoint''s when verified.';
COMMENT ON COLUMN @extschema@.code_event.code_region IS 'The region the code claims.';
COMMENT ON COLUMN @extschema@.code_event.colour IS 'The colour the code carries.';
COMMENT ON COLUMN @extschema@.code_event.outcome IS 'issued: ok; verified: the reason verify() gave.';
COMMENT ON COLUMN @extschema@.code_event.holder IS 'A pseudonym of the code''s holder for that day (_code_holder): the views count people, not codes, without the subject.';

-- One person fetching five codes must count once: a cell counts holders.
-- The day in the hash keeps a holder from being followed across days.
-- (C: every code issued and checked asks it; the day is that of China
-- Standard Time whatever the session's time zone)
CREATE FUNCTION @extschema@._code_holder(subject bytea, at timestamptz) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_code_holder'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._code_holder(bytea, timestamptz) IS
  'Internal: the first 8 bytes of SHA-256(subject || the day in China Standard Time, YYYY-MM-DD): one pseudonym a holder a day.';
REVOKE ALL ON FUNCTION @extschema@._code_holder(bytea, timestamptz) FROM PUBLIC;
-- (the day partitions are made later, not the extension's: pg_dump dumps
-- them as tables of their own; the default partition is the extension's)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.code_event_default', '');

-- Counting a code without writing a row at each one: with healthcode in
-- shared_preload_libraries, events wait in shared memory and the call
-- that finds enough of them waiting writes them all (src/hc_code_events.c
-- says why and what a stop loses); else each call inserts its row.
CREATE FUNCTION @extschema@._take_code_events()
RETURNS TABLE (at timestamptz, event text, region text, code_region text, colour text, outcome text, holder bytea)
  AS 'MODULE_PATHNAME', 'healthcode_take_code_events'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._take_code_events() IS
  'Internal: this database''s code events waiting in shared memory, taken for the calling transaction to write: gone from there when it commits, waiting again if it rolls back.';
REVOKE ALL ON FUNCTION @extschema@._take_code_events() FROM PUBLIC;

CREATE FUNCTION @extschema@._buffered_code_events()
RETURNS TABLE (at timestamptz, event text, region text, code_region text, colour text, outcome text, holder bytea)
  AS 'MODULE_PATHNAME', 'healthcode_buffered_code_events'
  LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._buffered_code_events() IS
  'Internal: this database''s code events waiting in shared memory, left there: what a reader of code_event adds to its rows.';
REVOKE ALL ON FUNCTION @extschema@._buffered_code_events() FROM PUBLIC;

-- Every code event counted so far: those written and those still waiting.
CREATE FUNCTION @extschema@._code_events() RETURNS SETOF @extschema@.code_event
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT c.at, c.event, c.region, c.code_region, c.colour, c.outcome, c.holder FROM @extschema@.code_event c
  UNION ALL
  SELECT b.at, b.event, b.region, b.code_region, b.colour::@extschema@.risk_colour, b.outcome, b.holder
    FROM @extschema@._buffered_code_events() b;
END;
COMMENT ON FUNCTION @extschema@._code_events() IS
  'Internal: every code event counted so far: the rows of code_event and the events still waiting in shared memory.';
REVOKE ALL ON FUNCTION @extschema@._code_events() FROM PUBLIC;

CREATE FUNCTION @extschema@._flush_code_events() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  INSERT INTO @extschema@.code_event (at, event, region, code_region, colour, outcome, holder)
  SELECT e.at, e.event, e.region, e.code_region, e.colour::@extschema@.risk_colour, e.outcome, e.holder
    FROM @extschema@._take_code_events() e;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._flush_code_events() IS
  'Internal: writes this database''s code events waiting in shared memory to code_event; how many.';
REVOKE ALL ON FUNCTION @extschema@._flush_code_events() FROM PUBLIC;

-- Every code issued or checked counts here. (C: every code takes this
-- path; the rare ones, a flush and a row inserted at once, by SPI.)
CREATE FUNCTION @extschema@._count_code_event(event text, region text, code_region text,
    colour @extschema@.risk_colour, outcome text, holder bytea) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_count_code_event'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._count_code_event(text, text, text, @extschema@.risk_colour, text, bytea) IS
  'Internal: counts a code issued or verified in code_event, at the transaction''s start: where healthcode is preloaded, in shared memory, the waiting events written in batches (0: counted there; 1: and the waiting ones written); else as a row inserted at once (-1).';
REVOKE ALL ON FUNCTION @extschema@._count_code_event(text, text, text, @extschema@.risk_colour, text, bytea) FROM PUBLIC;

-- The two health facts a version 2 code carries, from a person's own
-- evidence up to an instant: when their last negative test was sampled,
-- and how many vaccine doses they had had. (Also what an arrival rule reads
-- for a holder registered here: 94_checkpoints.sql.)
CREATE FUNCTION @extschema@._person_health_facts(person_id bigint, at timestamptz,
    OUT last_negative_at timestamptz, OUT doses integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (SELECT max(t.sampled_at) FROM @extschema@.test_result t
           WHERE t.person_id = _person_health_facts.person_id AND t.result = 'negative'
             AND t.sampled_at <= _person_health_facts.at),
         (SELECT count(*)::integer FROM @extschema@.vaccination v
           WHERE v.person_id = _person_health_facts.person_id AND v.given_at <= _person_health_facts.at);
END;
COMMENT ON FUNCTION @extschema@._person_health_facts(bigint, timestamptz) IS
  'Internal: a person''s last negative test (sampled, up to at; NULL: none) and vaccine doses given up to at, from their evidence.';
REVOKE ALL ON FUNCTION @extschema@._person_health_facts(bigint, timestamptz) FROM PUBLIC;

-- A person's doses up to an instant as a screen and the shared health data
-- give them: distinct dose numbers, the last one's time and its vaccine.
-- (A SQL body without SET: inlined where it is joined, as by the code
-- screen at every refresh.)
CREATE FUNCTION @extschema@._doses_of(person_id bigint, at timestamptz,
    OUT doses integer, OUT last_at timestamptz, OUT last_product text)
RETURNS SETOF record
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT pg_catalog.count(DISTINCT v.dose)::integer, pg_catalog.max(v.given_at),
         (pg_catalog.array_agg(v.product ORDER BY v.given_at DESC, v.dose DESC))[1]
    FROM @extschema@.vaccination v
   WHERE v.person_id OPERATOR(pg_catalog.=) _doses_of.person_id AND v.given_at OPERATOR(pg_catalog.<=) _doses_of.at;
END;
COMMENT ON FUNCTION @extschema@._doses_of(bigint, timestamptz) IS
  'Internal: a person''s vaccine doses given up to at: distinct dose numbers, when the last was given and its vaccine (one row; 0 and NULLs for none).';
REVOKE ALL ON FUNCTION @extschema@._doses_of(bigint, timestamptz) FROM PUBLIC;

-- A code for a person, with the status it was signed with (the code
-- screen shows both, read once); called by those below, which run as the
-- owner. Every code takes this path, a code screen at each refresh: one
-- query reads the person within the caller's scope, their status and the
-- policy's code lifetime, and nothing is written but the count
-- (_count_code_event), so that a screen costs little more than its
-- signature and QR symbol. (No SET: its callers pin search_path.)
CREATE FUNCTION @extschema@._issue_with_status(person_id bigint, valid_for interval, paper boolean,
    health_facts boolean, OUT code @extschema@.healthcode, OUT status @extschema@.status_report)
RETURNS record
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  x record;
  f record;
  t timestamptz := statement_timestamp();
  span interval;
  counted integer;
BEGIN
  IF _issue_with_status.person_id IS NULL OR health_facts IS NULL OR paper IS NULL THEN
    RAISE EXCEPTION '% must not be NULL',
      CASE WHEN _issue_with_status.person_id IS NULL THEN 'person_id' WHEN paper IS NULL THEN 'paper'
           ELSE 'health_facts' END
      USING ERRCODE = '22004';
  END IF;
  -- (assignments, not PERFORM, on this path: PL/pgSQL evaluates a simple
  -- expression without starting an executor for it)
  valid_for := @extschema@._require_valid_for(valid_for);
  -- (before the person is read: an erasure under way ends first, and then
  -- there is no one to issue for)
  PERFORM @extschema@._lock_against_erasure(_issue_with_status.person_id);
  SELECT p.id, p.region, p.subject, s.person_id AS has_status, (s.v).*,
         CASE WHEN paper THEN pol.paper_code_lifetime ELSE pol.max_code_lifetime END AS cap
    INTO x
    FROM @extschema@.person p
    -- (the work list asked once: nearly always empty; OFFSET 0: the status
    -- read once, not once a field)
    LEFT JOIN LATERAL (SELECT y.person_id,
                              CASE WHEN EXISTS (SELECT FROM @extschema@._pending_changes())
                                   THEN @extschema@._status_now(y, t)
                                   ELSE @extschema@.status_at(y, t) END AS v
                         FROM @extschema@.person_status y WHERE y.person_id = p.id
                       OFFSET 0) s ON true
    LEFT JOIN LATERAL @extschema@._policy_in_force(p.region, t) pol ON true
   WHERE p.id = _issue_with_status.person_id AND @extschema@._in_caller_scope(p.region);
  IF NOT FOUND THEN
    PERFORM @extschema@._require_person_id(_issue_with_status.person_id);   -- (raises P0002)
    RAISE EXCEPTION 'person % changed meanwhile', _issue_with_status.person_id USING ERRCODE = '40001';
  END IF;
  IF x.cap IS NULL OR valid_for > x.cap THEN
    PERFORM @extschema@._require_code_lifetime(x.region, valid_for, paper, t);   -- (raises)
  END IF;
  IF x.has_status IS NULL THEN
    RAISE EXCEPTION 'person % has no status yet', x.id USING ERRCODE = '55000';
  END IF;
  -- codes carry whole seconds from the statement's start: never let one
  -- outlive the status it shows
  span := CASE WHEN isfinite(x.valid_until)
               THEN LEAST(valid_for, date_trunc('second', x.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'person %''s status changes within a second', x.id USING ERRCODE = '40001',
      HINT = 'Retry the call: the code would carry a colour that no longer holds when it is shown.';
  END IF;
  IF NOT health_facts THEN
    code := @extschema@.issue(x.region, x.subject, x.colour, span, x.vaccinated, paper);
  ELSE
    f := @extschema@._person_health_facts(x.id, t);
    code := @extschema@.issue(x.region, x.subject, x.colour, span, x.vaccinated, paper,
                              f.last_negative_at, LEAST(f.doses, 255));
  END IF;
  counted := @extschema@._count_code_event('issued', x.region, x.region, x.colour, 'ok',
                                           @extschema@._code_holder(x.subject, t));
  status := ROW(x.id, x.region, x.colour, x.vaccinated, x.reasons, x.since, x.valid_until)::@extschema@.status_report;
END $$;
COMMENT ON FUNCTION @extschema@._issue_with_status(bigint, interval, boolean, boolean) IS
  'Internal: a code for a person the caller may act for (counted in code_event), with the status it carries: what issue_for, issue_paper_code and code_screen share.';
REVOKE ALL ON FUNCTION @extschema@._issue_with_status(bigint, interval, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@._issue_for_person(person_id bigint, valid_for interval, paper boolean,
    health_facts boolean)
RETURNS @extschema@.healthcode
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
RETURN (@extschema@._issue_with_status(_issue_for_person.person_id, _issue_for_person.valid_for,
                                        _issue_for_person.paper, _issue_for_person.health_facts)).code;
COMMENT ON FUNCTION @extschema@._issue_for_person(bigint, interval, boolean, boolean) IS
  'Internal: the code of _issue_with_status, for issue_for, issue_paper_code and issue_batch.';
REVOKE ALL ON FUNCTION @extschema@._issue_for_person(bigint, interval, boolean, boolean) FROM PUBLIC;

-- Code request and generation (GB/T 38963): the code screen, refreshed
-- before the code expires. health_facts asks for a version 2 code that
-- also carries, signed, the last negative test and the dose count, so a
-- checkpoint can apply "a negative test within 48 hours" offline; off by
-- default, as those are facts the holder shows only when travelling.
CREATE FUNCTION @extschema@.issue_for(person_id bigint, valid_for interval DEFAULT interval '5 minutes',
    health_facts boolean DEFAULT false)
RETURNS @extschema@.healthcode
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN @extschema@._issue_for_person(issue_for.person_id, issue_for.valid_for, false, issue_for.health_facts);
COMMENT ON FUNCTION @extschema@.issue_for(bigint, interval, boolean) IS
  'Code request and generation: signs a code with the person''s current colour and vaccinated mark, expiring after valid_for (default 5 minutes; at most the max_code_lifetime of the policy of the person''s region) but never after the status''s valid_until. health_facts: a version 2 code that also carries the person''s last negative test and vaccine dose count, signed (verify()''s last_negative_at and doses).';
REVOKE ALL ON FUNCTION @extschema@.issue_for(bigint, interval, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_for(bigint, interval, boolean) TO healthcode_app, healthcode_operator;

-- A paper code: printed once, for someone without a phone (the elderly, a
-- child), living as long as the region's policy allows paper codes to
-- (paper_code_lifetime; none where it is not set) and marked as paper in
-- its payload, so a checkpoint sees which kind it holds.
CREATE FUNCTION @extschema@.issue_paper_code(person_id bigint, valid_for interval,
    health_facts boolean DEFAULT false)
RETURNS @extschema@.healthcode
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN @extschema@._issue_for_person(issue_paper_code.person_id, issue_paper_code.valid_for, true,
                                     issue_paper_code.health_facts);
COMMENT ON FUNCTION @extschema@.issue_paper_code(bigint, interval, boolean) IS
  'A paper code for someone without a phone: like issue_for (health_facts too), but capped by the policy''s paper_code_lifetime (refused where that is not set) and marked as paper in the payload (verify()''s paper column).';
REVOKE ALL ON FUNCTION @extschema@.issue_paper_code(bigint, interval, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_paper_code(bigint, interval, boolean) TO healthcode_app, healthcode_operator;
