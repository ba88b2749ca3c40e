-- ---------------------------------------------------------------------------
-- Region policy as data. A version holds every number the status rules
-- read, for a region and a validity [valid_from, valid_until). At any
-- instant a person is governed by the most specific region on their chain
-- (county, city, province, nation) that has a version in force, and of
-- that region's versions by the one starting latest. Versions are data
-- with effective dates, so a policy effective tomorrow changes colours
-- tomorrow: the status engine cuts every timeline at version boundaries.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.policy (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL
                CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  valid_from    timestamptz NOT NULL DEFAULT '-infinity'
                CONSTRAINT valid_from_not_plus_infinity CHECK (valid_from < 'infinity'),
  valid_until   timestamptz
                CONSTRAINT valid_until_is_finite CHECK (pg_catalog.isfinite(valid_until)),
  lookback_days integer NOT NULL DEFAULT 14
                CONSTRAINT lookback_days_between_1_and_366 CHECK (lookback_days BETWEEN 1 AND 366),
  quarantine_days_red integer NOT NULL DEFAULT 14
                CONSTRAINT quarantine_days_red_between_1_and_366 CHECK (quarantine_days_red BETWEEN 1 AND 366),
  quarantine_days_yellow integer NOT NULL DEFAULT 7
                CONSTRAINT quarantine_days_yellow_between_1_and_366 CHECK (quarantine_days_yellow BETWEEN 1 AND 366),
  red_release_negative_tests integer NOT NULL DEFAULT 2
                CONSTRAINT red_release_negative_tests_between_0_and_10 CHECK (red_release_negative_tests BETWEEN 0 AND 10),
  negative_test_valid_hours integer NOT NULL DEFAULT 48
                CONSTRAINT negative_test_valid_hours_between_1_and_744 CHECK (negative_test_valid_hours BETWEEN 1 AND 744),
  fever_celsius numeric NOT NULL DEFAULT 37.3
                CONSTRAINT fever_celsius_between_35_and_43 CHECK (fever_celsius BETWEEN 35.0 AND 43.0)
                CONSTRAINT fever_celsius_in_tenths CHECK (fever_celsius = pg_catalog.round(fever_celsius, 1)),
  vaccinated_min_doses integer NOT NULL DEFAULT 2
                CONSTRAINT vaccinated_min_doses_between_0_and_10 CHECK (vaccinated_min_doses BETWEEN 0 AND 10),
  symptoms_yellow boolean NOT NULL DEFAULT true,
  periodic_testing boolean NOT NULL DEFAULT false,
  test_window   text NOT NULL DEFAULT 'hours'
                CONSTRAINT test_window_is_known CHECK (test_window IN ('hours', 'calendar_days')),
  two_negatives_release_yellow boolean NOT NULL DEFAULT true,
  description_zh text NOT NULL CONSTRAINT description_zh_is_given CHECK (pg_catalog.length(description_zh) > 0),
  description_en text NOT NULL CONSTRAINT description_en_is_given CHECK (pg_catalog.length(description_en) > 0),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- (0.3.0: after created_at, where the update from 0.2.0 adds them)
  max_code_lifetime interval NOT NULL DEFAULT interval '5 minutes'
                CONSTRAINT max_code_lifetime_between_1_second_and_366_days
                CHECK (max_code_lifetime BETWEEN interval '1 second' AND interval '366 days'),
  paper_code_lifetime interval
                CONSTRAINT paper_code_lifetime_between_1_second_and_366_days
                CHECK (paper_code_lifetime BETWEEN interval '1 second' AND interval '366 days'),
  -- (national versions only: how long a regional version's window may be)
  regional_lookback_limit_days integer
                CONSTRAINT regional_lookback_limit_days_between_1_and_366
                CHECK (regional_lookback_limit_days BETWEEN 1 AND 366)
                CONSTRAINT regional_lookback_limit_days_is_national
                CHECK (regional_lookback_limit_days IS NULL OR region = '000000'),
  -- (national versions only: how long evidence counts, and is kept)
  evidence_kept_days integer
                CONSTRAINT evidence_kept_days_between_1_and_3660
                CHECK (evidence_kept_days BETWEEN 1 AND 3660)
                CONSTRAINT evidence_kept_days_is_national
                CHECK (evidence_kept_days IS NULL OR region = '000000'),
  max_dependants integer NOT NULL DEFAULT 5
                CONSTRAINT max_dependants_between_0_and_100 CHECK (max_dependants BETWEEN 0 AND 100),
  -- (national versions only: a region's operator must not loosen the
  -- limits its own checkpoints are held to)
  holder_check_misses_per_day integer
                CONSTRAINT holder_check_misses_per_day_between_1_and_100
                CHECK (holder_check_misses_per_day BETWEEN 1 AND 100)
                CONSTRAINT holder_check_misses_per_day_is_national
                CHECK (holder_check_misses_per_day IS NULL OR region = '000000'),
  holder_check_misses_per_hour integer
                CONSTRAINT holder_check_misses_per_hour_between_1_and_10000
                CHECK (holder_check_misses_per_hour BETWEEN 1 AND 10000)
                CONSTRAINT holder_check_misses_per_hour_is_national
                CHECK (holder_check_misses_per_hour IS NULL OR region = '000000'),
  exposure_minutes integer NOT NULL DEFAULT 30
                CONSTRAINT exposure_minutes_between_1_and_1440 CHECK (exposure_minutes BETWEEN 1 AND 1440),
  medicine_purchase_yellow boolean NOT NULL DEFAULT false,
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  CONSTRAINT policy_natural_key UNIQUE (region, valid_from)
);
COMMENT ON TABLE @extschema@.policy IS
  'Versioned status-rule parameters per region, inherited down the division hierarchy (county <- city <- province <- national 000000). Changing a version recalculates the people it governs.';
COMMENT ON COLUMN @extschema@.policy.id IS 'Version id.';
COMMENT ON COLUMN @extschema@.policy.region IS 'The division the version is for; it governs the divisions below it that have no version of their own in force.';
COMMENT ON COLUMN @extschema@.policy.valid_from IS 'When the version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.policy.valid_until IS 'When it stops; NULL: until a later version of the region replaces it.';
COMMENT ON COLUMN @extschema@.policy.lookback_days IS 'How long a stay in a risk area, a contact or an audit finding counts (days).';
COMMENT ON COLUMN @extschema@.policy.quarantine_days_red IS 'Consecutive normal daily check-ins that release red.';
COMMENT ON COLUMN @extschema@.policy.quarantine_days_yellow IS 'Consecutive normal daily check-ins that release yellow.';
COMMENT ON COLUMN @extschema@.policy.red_release_negative_tests IS 'Negative tests (24 h apart, after the trigger) also needed to release red; 0: none.';
COMMENT ON COLUMN @extschema@.policy.negative_test_valid_hours IS 'How long a negative test counts (periodic testing, arrival rules).';
COMMENT ON COLUMN @extschema@.policy.fever_celsius IS 'A temperature at or above this is fever.';
COMMENT ON COLUMN @extschema@.policy.vaccinated_min_doses IS 'Doses needed for the "vaccinated" mark; 0: everyone.';
COMMENT ON COLUMN @extschema@.policy.symptoms_yellow IS 'Whether symptoms, fever or an abnormal check-in make yellow.';
COMMENT ON COLUMN @extschema@.policy.periodic_testing IS 'Whether a negative test is required at all times: yellow once the last one stops counting.';
COMMENT ON COLUMN @extschema@.policy.test_window IS 'hours (a 48 h test counts 48 hours from sampling) or calendar_days (through the end of the second day after).';
COMMENT ON COLUMN @extschema@.policy.two_negatives_release_yellow IS 'Whether two negative tests within 3 days, at least 24 h apart, release yellow at once.';
COMMENT ON COLUMN @extschema@.policy.description_zh IS 'What the version says, in Chinese.';
COMMENT ON COLUMN @extschema@.policy.description_en IS 'What the version says, in English.';
COMMENT ON COLUMN @extschema@.policy.created_at IS 'When the version was recorded.';
COMMENT ON COLUMN @extschema@.policy.max_code_lifetime IS 'The longest a code issued for a person of the region may live (issue_for, issue_for_subject): minutes, as a code on a phone is refreshed.';
COMMENT ON COLUMN @extschema@.policy.paper_code_lifetime IS 'The longest a paper code (issue_paper_code: printed, for someone without a phone, marked as paper in its payload) may live; NULL: the region issues none.';
COMMENT ON COLUMN @extschema@.policy.evidence_kept_days IS 'National versions only: how many days any piece of evidence (a test, a check-in, a declaration, a stay, a contact, a finding; not a dose or a manual decision) counts for a colour at most, and so how long it is kept (retention, apply_retention()); NULL: 90. A positive test nobody released stops counting then too.';
COMMENT ON COLUMN @extschema@.policy.holder_check_misses_per_day IS 'National versions only (NULL: 3): wrong identifiers checkpoints may present against one holder''s codes in a day (checkpoint_verify_holder) before further checks of that holder are refused (locked) for the rest of the day.';
COMMENT ON COLUMN @extschema@.policy.holder_check_misses_per_hour IS 'National versions only (NULL: 20): wrong identifiers one checking role may present in an hour, wherever, before its checks are refused (locked).';
COMMENT ON COLUMN @extschema@.policy.max_dependants IS 'The most dependants a guardian of the region may act for at once (link_guardian); 0: no proxies.';
COMMENT ON COLUMN @extschema@.policy.exposure_minutes IS 'Exposure tracing (exposures, trace_exposures): how close in time, before or after a case''s stay at a venue or in a community, another person''s stay there counts as an exposure.';
COMMENT ON COLUMN @extschema@.policy.medicine_purchase_yellow IS 'A purchase of fever, cough, antiviral or antibiotic medicine a pharmacy registers (medicine_sale) makes the buyer yellow until a negative test sampled after it (within lookback_days); off by default.';
COMMENT ON COLUMN @extschema@.policy.regional_lookback_limit_days IS 'National versions only: the longest lookback_days a regional version may have while this version is in force (NULL: the national lookback_days). With the national lookbacks, it sets how long windowed evidence is kept for everyone; a region never widens it.';

-- The national default (DESIGN.md "Status rules"). It is part of the
-- extension, not of the data: the dump filter leaves it out, and a guard
-- keeps it unchanged. Change national rules by adding a later version.
INSERT INTO @extschema@.policy (region, valid_from, description_zh, description_en) VALUES
  ('000000', '-infinity',
   '全国默认规则：14天内到过高风险区、密切接触者或核酸阳性为红码；到过中风险区、次密接、有发热或症状、申报与核查不符为黄码；红码连续14天健康打卡正常且2次核酸阴性后转绿，黄码连续7天打卡正常或3天内2次间隔24小时以上核酸阴性后转绿。',
   'National default: red for a stay in a high-risk area within 14 days, a close contact or a positive test; yellow for a medium-risk stay, a secondary contact, fever or symptoms, or a declaration the audit contradicts; red is released after 14 consecutive normal daily check-ins and 2 negative tests, yellow after 7 normal check-ins or two negative tests within 3 days at least 24 h apart.');

CREATE FUNCTION @extschema@._policy_default_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF OLD.region = '000000' AND OLD.valid_from = '-infinity' THEN
    RAISE EXCEPTION 'the national default policy version is part of the extension and cannot be changed'
      USING ERRCODE = '55000',
            HINT = 'Add a later national version: INSERT INTO healthcode.policy (region, valid_from, ...) VALUES (''000000'', ...).';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_default_guard() IS
  'Trigger: keeps the built-in national default version unchanged.';
REVOKE ALL ON FUNCTION @extschema@._policy_default_guard() FROM PUBLIC;
CREATE TRIGGER policy_default_guard BEFORE UPDATE OR DELETE ON @extschema@.policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_default_guard();
CREATE FUNCTION @extschema@._policy_truncate_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'the policy table holds the national default version and cannot be truncated'
    USING ERRCODE = '55000', HINT = 'Delete the regional versions instead.';
END $$;
COMMENT ON FUNCTION @extschema@._policy_truncate_guard() IS
  'Trigger: TRUNCATE would remove the built-in national default version.';
REVOKE ALL ON FUNCTION @extschema@._policy_truncate_guard() FROM PUBLIC;
CREATE TRIGGER policy_truncate_guard BEFORE TRUNCATE ON @extschema@.policy
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_truncate_guard();

-- A policy version as the status engine reads it: the C code reads each
-- attribute by its name, the name of the engine's field (hc_policy_fields
-- in src/hc_core_status_policy.c), so a field is added in both places and
-- the order of the attributes does not matter.
CREATE TYPE @extschema@.engine_policy AS (
  rank                          integer,
  valid_from                    timestamptz,
  valid_until                   timestamptz,
  lookback_days                 integer,
  quarantine_days_red           integer,
  quarantine_days_yellow        integer,
  red_release_negative_tests    integer,
  negative_test_valid_hours     integer,
  fever_tenths                  integer,
  vaccinated_min_doses          integer,
  symptoms_yellow               boolean,
  periodic_testing              boolean,
  calendar_days                 boolean,
  two_negatives_release_yellow  boolean,
  evidence_kept_days            integer,
  medicine_purchase_yellow      boolean
);
COMMENT ON TYPE @extschema@.engine_policy IS
  'Internal: a policy version as the status engine reads it, each attribute by its name.';
COMMENT ON COLUMN @extschema@.engine_policy.rank IS 'How specific the version''s region is: 0 national, 1 province, 2 city, 3 county.';
COMMENT ON COLUMN @extschema@.engine_policy.valid_from IS 'policy.valid_from.';
COMMENT ON COLUMN @extschema@.engine_policy.valid_until IS 'policy.valid_until, infinity for NULL.';
COMMENT ON COLUMN @extschema@.engine_policy.lookback_days IS 'policy.lookback_days.';
COMMENT ON COLUMN @extschema@.engine_policy.quarantine_days_red IS 'policy.quarantine_days_red.';
COMMENT ON COLUMN @extschema@.engine_policy.quarantine_days_yellow IS 'policy.quarantine_days_yellow.';
COMMENT ON COLUMN @extschema@.engine_policy.red_release_negative_tests IS 'policy.red_release_negative_tests.';
COMMENT ON COLUMN @extschema@.engine_policy.negative_test_valid_hours IS 'policy.negative_test_valid_hours.';
COMMENT ON COLUMN @extschema@.engine_policy.fever_tenths IS 'policy.fever_celsius in tenths of a degree.';
COMMENT ON COLUMN @extschema@.engine_policy.vaccinated_min_doses IS 'policy.vaccinated_min_doses.';
COMMENT ON COLUMN @extschema@.engine_policy.symptoms_yellow IS 'policy.symptoms_yellow.';
COMMENT ON COLUMN @extschema@.engine_policy.periodic_testing IS 'policy.periodic_testing.';
COMMENT ON COLUMN @extschema@.engine_policy.calendar_days IS 'Whether policy.test_window is calendar_days.';
COMMENT ON COLUMN @extschema@.engine_policy.two_negatives_release_yellow IS 'policy.two_negatives_release_yellow.';
COMMENT ON COLUMN @extschema@.engine_policy.evidence_kept_days IS 'policy.evidence_kept_days, its default for NULL; the engine reads it from national versions only.';
COMMENT ON COLUMN @extschema@.engine_policy.medicine_purchase_yellow IS 'policy.medicine_purchase_yellow.';

-- The built-in default of a policy field, from the engine's table of
-- fields (src/hc_core_status_policy.c): what a national-only field left
-- NULL stands for.
CREATE FUNCTION @extschema@._policy_default(field text) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_policy_default'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._policy_default(text) IS
  'Internal: the built-in default of an integer policy field (the status engine''s table of fields).';
REVOKE ALL ON FUNCTION @extschema@._policy_default(text) FROM PUBLIC;

-- Every version on a region's chain, for the status engine.
CREATE FUNCTION @extschema@._policy_versions(region text) RETURNS @extschema@.engine_policy[]
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  -- (ROW is positional: one value a line, in the type's order)
  SELECT COALESCE(pg_catalog.array_agg(ROW(
           @extschema@.division_rank(p.region),                   -- rank
           p.valid_from,                                          -- valid_from
           COALESCE(p.valid_until, 'infinity'),                   -- valid_until
           p.lookback_days,                                       -- lookback_days
           p.quarantine_days_red,                                 -- quarantine_days_red
           p.quarantine_days_yellow,                              -- quarantine_days_yellow
           p.red_release_negative_tests,                          -- red_release_negative_tests
           p.negative_test_valid_hours,                           -- negative_test_valid_hours
           (p.fever_celsius OPERATOR(pg_catalog.*) 10)::integer,  -- fever_tenths
           p.vaccinated_min_doses,                                -- vaccinated_min_doses
           p.symptoms_yellow,                                     -- symptoms_yellow
           p.periodic_testing,                                    -- periodic_testing
           p.test_window OPERATOR(pg_catalog.=) 'calendar_days',  -- calendar_days
           p.two_negatives_release_yellow,                        -- two_negatives_release_yellow
           COALESCE(p.evidence_kept_days,                         -- evidence_kept_days
                    @extschema@._policy_default('evidence_kept_days')),
           p.medicine_purchase_yellow                             -- medicine_purchase_yellow
         )::@extschema@.engine_policy ORDER BY p.id), '{}')
    FROM @extschema@.policy p
   WHERE p.region OPERATOR(pg_catalog.=) ANY (@extschema@.division_chain(_policy_versions.region));
END;
COMMENT ON FUNCTION @extschema@._policy_versions(text) IS
  'Internal: every policy version on a region''s chain, as the status engine reads them.';
REVOKE ALL ON FUNCTION @extschema@._policy_versions(text) FROM PUBLIC;

-- The policy version in force for a region at an instant: the one rule,
-- which policy_at checks its arguments for and the code screen joins.
-- (A SQL body with neither SET nor SECURITY DEFINER, so that a query
-- that calls it in FROM has it inlined: planned once with that query)
CREATE FUNCTION @extschema@._policy_in_force(region text, at timestamptz)
RETURNS SETOF @extschema@.policy
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT v.*
    FROM @extschema@.policy v
   WHERE v.region OPERATOR(pg_catalog.=) ANY (@extschema@.division_chain(_policy_in_force.region))
     AND v.valid_from OPERATOR(pg_catalog.<=) _policy_in_force.at
     AND (v.valid_until IS NULL OR _policy_in_force.at OPERATOR(pg_catalog.<) v.valid_until)
   ORDER BY @extschema@.division_rank(v.region) DESC, v.valid_from DESC, v.id DESC
   LIMIT 1;
END;
COMMENT ON FUNCTION @extschema@._policy_in_force(text, timestamptz) IS
  'Internal: the policy version that governs a region at an instant (policy_at, less its checks of the arguments): the most specific region on its chain with a version in force, then the latest-starting version.';
REVOKE ALL ON FUNCTION @extschema@._policy_in_force(text, timestamptz) FROM PUBLIC;
-- (policy_at runs as its callers)
GRANT EXECUTE ON FUNCTION @extschema@._policy_in_force(text, timestamptz) TO healthcode_admin, healthcode_operator;

-- The policy in force for a region at an instant, for people to read.
CREATE FUNCTION @extschema@.policy_at(region text, at timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.policy
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.policy;
BEGIN
  IF NOT @extschema@.division_code_valid(policy_at.region) THEN
    RAISE EXCEPTION 'invalid division code for region: %', quote_literal(@extschema@._shorten(policy_at.region))
      USING ERRCODE = '22023';
  END IF;
  IF NOT isfinite(policy_at.at) THEN
    RAISE EXCEPTION 'at must be a finite time, not %', policy_at.at USING ERRCODE = '22008';
  END IF;
  SELECT * INTO p FROM @extschema@._policy_in_force(policy_at.region, policy_at.at);
  RETURN p;
END $$;
COMMENT ON FUNCTION @extschema@.policy_at(text, timestamptz) IS
  'The policy version that governs a region at a finite instant: the most specific region on its chain with a version in force, then the latest-starting version.';
REVOKE ALL ON FUNCTION @extschema@.policy_at(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.policy_at(text, timestamptz) TO healthcode_admin, healthcode_operator;

-- How long evidence matters, and so how long it is kept: set by the
-- national versions alone (their lookbacks, how far they let a region
-- reach, how long they keep evidence), so that no region's operator can make
-- every region's data be kept longer. The national versions that are in
-- force at some instant from `at` on: the one in force at `at`, at each
-- later start or end of a national version (where the version in force may
-- change, as policy_at picks it: the latest start among those in force), and
-- for ever after the last of them (at infinity: only that one). In C
-- (hc_national_days_from; the national rows read by a plan kept for the
-- session, in the caller's snapshot): every write of evidence asks, through
-- the evidence horizon, and as PL/pgSQL over this table the first call in a
-- process took 6-8 ms, the next four 1.5 ms each; every work list worker
-- and new connection is such a process.

-- The longest window a national version from `at` on allows (days:
-- lookback_days, or regional_lookback_limit_days when larger).
CREATE FUNCTION @extschema@._national_lookback_days(at timestamptz) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_national_lookback_days'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_lookback_days(timestamptz) IS
  'Internal: the longest window (days: lookback_days, or regional_lookback_limit_days when larger) of the national versions in force at some instant from at on (infinity: for ever after the last national version starts or ends).';
REVOKE ALL ON FUNCTION @extschema@._national_lookback_days(timestamptz) FROM PUBLIC;

-- The longest a national version from `at` on keeps evidence.
CREATE FUNCTION @extschema@._national_kept_days(at timestamptz) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_national_kept_days'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_kept_days(timestamptz) IS
  'Internal: the longest evidence_kept_days (NULL: the built-in 90) of the national versions in force at some instant from at on.';
REVOKE ALL ON FUNCTION @extschema@._national_kept_days(timestamptz) FROM PUBLIC;

-- Evidence older than this changes no colour from at on (the status
-- engine reads evidence_kept_days from the national version in force at
-- each instant), whatever its kind; manual decisions, doses and pushed reds
-- do not expire.
CREATE FUNCTION @extschema@._evidence_kept_from(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN _evidence_kept_from.at OPERATOR(pg_catalog.-)
       pg_catalog.make_interval(days => @extschema@._national_kept_days(_evidence_kept_from.at));
COMMENT ON FUNCTION @extschema@._evidence_kept_from(timestamptz) IS
  'Internal: at minus the longest evidence_kept_days of the national versions in force at or after at (_national_kept_days). Evidence older than this cannot change a colour from at on.';
REVOKE ALL ON FUNCTION @extschema@._evidence_kept_from(timestamptz) FROM PUBLIC;

-- Windowed evidence older than this cannot change any colour from at on.
CREATE FUNCTION @extschema@._evidence_horizon(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN _evidence_horizon.at OPERATOR(pg_catalog.-)
       pg_catalog.make_interval(days => @extschema@._national_lookback_days(_evidence_horizon.at));
COMMENT ON FUNCTION @extschema@._evidence_horizon(timestamptz) IS
  'Internal: at minus the longest window the national versions in force at or after at allow (_national_lookback_days). Windowed evidence older than this cannot change a colour from at on.';
REVOKE ALL ON FUNCTION @extschema@._evidence_horizon(timestamptz) FROM PUBLIC;

-- A regional version's window stays within what the nation allows for as
-- long as the regional version is in force: the evidence kept shrinks only
-- as time goes on, so the last instant it is in force (or for ever) is the
-- one to check. A version whose time has passed governs nothing any more.
CREATE FUNCTION @extschema@._lookback_beyond_limit(p @extschema@.policy) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN p.region OPERATOR(pg_catalog.<>) '000000'
                 AND (p.valid_until IS NULL OR p.valid_until OPERATOR(pg_catalog.>) pg_catalog.now())
                 AND p.lookback_days OPERATOR(pg_catalog.>)
                     @extschema@._national_lookback_days(COALESCE(p.valid_until OPERATOR(pg_catalog.-) interval '1 microsecond',
                                                                  'infinity'))
            THEN pg_catalog.format('lookback_days %s of the policy version of region %s from %s is beyond the national limit of %s days',
                                   p.lookback_days, p.region, p.valid_from,
                                   @extschema@._national_lookback_days(COALESCE(p.valid_until OPERATOR(pg_catalog.-) interval '1 microsecond',
                                                                                'infinity'))) END;
COMMENT ON FUNCTION @extschema@._lookback_beyond_limit(@extschema@.policy) IS
  'Internal: why a regional policy version in force now or later has a lookback_days beyond the national limit for its time in force, or NULL when it has not.';
REVOKE ALL ON FUNCTION @extschema@._lookback_beyond_limit(@extschema@.policy) FROM PUBLIC;

-- Checked on every write of a regional version, and on every write of a
-- national one (which may lower the limit): then every regional version in
-- force now or later, since a limit concerns them all. One write at a time
-- (a regional version and a lower limit written at once must not both
-- pass). A dump being restored brings versions that passed already.
CREATE FUNCTION @extschema@._policy_lookback_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
  national boolean := false;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  -- one write of policy at a time, from before its first row (and so
  -- before the evidence lock its recalculation takes: one order for both);
  -- the checks below then see what the writes before committed (READ
  -- COMMITTED, as every role of the extension works)
  IF TG_WHEN = 'BEFORE' THEN
    PERFORM pg_advisory_xact_lock(hashtext('@extschema@.policy lookback'));
    RETURN NULL;
  END IF;
  IF TG_LEVEL = 'ROW' THEN
    problem := @extschema@._lookback_beyond_limit(NEW);
  ELSE
    -- (each query its own: new_rows exists for an UPDATE only)
    national := EXISTS (SELECT 1 FROM changed_rows c WHERE c.region = '000000');
    IF TG_OP = 'UPDATE' AND NOT national THEN
      national := EXISTS (SELECT 1 FROM new_rows c WHERE c.region = '000000');
    END IF;
  END IF;
  IF national THEN
    -- (each version judged once)
    SELECT x.problem INTO problem
      FROM (SELECT p.region, p.valid_from, @extschema@._lookback_beyond_limit(p) AS problem
              FROM @extschema@.policy p OFFSET 0) x
     WHERE x.problem IS NOT NULL
     ORDER BY x.region, x.valid_from LIMIT 1;
  END IF;
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION '%', problem
      USING ERRCODE = '22003',
            HINT = 'The national administration sets how long any region may look back (regional_lookback_limit_days of a national version): evidence is kept that long for everyone.';
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_lookback_guard() IS
  'Trigger: refuses a regional policy version whose lookback_days the national versions do not allow for its time in force; after a national version is written or deleted, checks every regional version in force now or later again.';
REVOKE ALL ON FUNCTION @extschema@._policy_lookback_guard() FROM PUBLIC;
-- (after the row: the table's own checks, such as the 1 to 366 days, speak
-- first; the national rows a statement changed: changed_rows)
CREATE TRIGGER policy_lookback_lock BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.policy
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_guard AFTER INSERT OR UPDATE ON @extschema@.policy
  FOR EACH ROW WHEN (NEW.region <> '000000') EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_recheck_insert AFTER INSERT ON @extschema@.policy
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_recheck_update AFTER UPDATE ON @extschema@.policy
  REFERENCING OLD TABLE AS changed_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_recheck_delete AFTER DELETE ON @extschema@.policy
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
