-- ---------------------------------------------------------------------------
-- What analysts see: aggregates only, each limited to the analyst's region
-- scope, and every cell counting fewer than healthcode.min_cell_size people
-- (default 5; superuser-only) shown as NULL, so no one can be singled out.
-- The views run with their owner's rights (analysts have no table access)
-- and filter by the scope of the role querying them.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._min_cell_size() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_min_cell_size'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._min_cell_size() IS
  'Internal: healthcode.min_cell_size, read through the module.';

CREATE FUNCTION @extschema@.suppress_small(people bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN people OPERATOR(pg_catalog.<) @extschema@._min_cell_size() THEN NULL ELSE people END;
COMMENT ON FUNCTION @extschema@.suppress_small(bigint) IS
  'A count of people, or NULL when it is below healthcode.min_cell_size (small-count suppression).';

-- Each view is a security_barrier view over a SECURITY DEFINER function
-- that returns the finished, suppressed rows: an analyst's WHERE clause,
-- EXPLAIN ANALYZE or function of their own only ever sees those rows, never
-- the per-person rows behind an aggregate (over the tables directly, a
-- plan would show a suppressed cell's count on a scan node, and a WHERE
-- function would be pushed down and called once a person). A count is also
-- suppressed when its complement in the same row is small (people minus
-- vaccinated, tested minus positive), so no small cell follows by
-- subtraction. The functions read the tables (not current_status, which
-- checks its own caller's rights) within the scope of the role querying.
-- (The functions are granted to healthcode_analyst: a function a view
-- calls is checked against the role querying the view.)

-- A sub-count shown only when it and its complement are both large enough.
CREATE FUNCTION @extschema@.suppress_small_part(part bigint, whole bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN part OPERATOR(pg_catalog.<) @extschema@._min_cell_size()
              OR whole OPERATOR(pg_catalog.-) part OPERATOR(pg_catalog.<) @extschema@._min_cell_size()
            THEN NULL ELSE part END;
COMMENT ON FUNCTION @extschema@.suppress_small_part(bigint, bigint) IS
  'A count of people within a larger one (vaccinated among people), or NULL when it or the rest (whole - part) is below healthcode.min_cell_size: no small count follows by subtraction.';

CREATE FUNCTION @extschema@._status_summary()
RETURNS TABLE (region text, colour @extschema@.risk_colour, people bigint, vaccinated bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.region, g.colour, @extschema@.suppress_small(g.people), @extschema@.suppress_small_part(g.vaccinated, g.people)
    FROM (SELECT s.region, (x.v).colour AS colour, pg_catalog.count(*) AS people,
                 pg_catalog.count(*) FILTER (WHERE (x.v).vaccinated) AS vaccinated
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                            THEN @extschema@._status_now(s, pg_catalog.now())
                                            ELSE @extschema@.status_at(s, pg_catalog.now()) END AS v OFFSET 0) x
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (s.region COLLATE "C")
           GROUP BY s.region, (x.v).colour) g;
END;
COMMENT ON FUNCTION @extschema@._status_summary() IS 'Internal: the rows of status_summary.';
REVOKE ALL ON FUNCTION @extschema@._status_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._status_summary() TO healthcode_analyst;
CREATE VIEW @extschema@.status_summary WITH (security_barrier) AS
SELECT f.region, f.colour, f.people, f.vaccinated FROM @extschema@._status_summary() f;
COMMENT ON VIEW @extschema@.status_summary IS
  'People by region and colour now, within the viewer''s scope; counts below healthcode.min_cell_size are NULL (vaccinated also when the unvaccinated are that few).';
COMMENT ON COLUMN @extschema@.status_summary.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.status_summary.colour IS 'Colour now.';
COMMENT ON COLUMN @extschema@.status_summary.people IS 'People (NULL when below the cell size).';
COMMENT ON COLUMN @extschema@.status_summary.vaccinated IS 'Of them, with the vaccinated mark (NULL when it or the unvaccinated are below the cell size).';

CREATE FUNCTION @extschema@._transitions_per_day()
RETURNS TABLE (day date, region text, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (c.at AT TIME ZONE 'Asia/Shanghai')::date, c.region, c.from_colour, c.to_colour,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT c.person_id))
    FROM (SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour FROM @extschema@.status_history h
          UNION ALL
          SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g) c
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (c.region COLLATE "C")
   GROUP BY 1, 2, 3, 4;
END;
COMMENT ON FUNCTION @extschema@._transitions_per_day() IS 'Internal: the rows of transitions_per_day.';
REVOKE ALL ON FUNCTION @extschema@._transitions_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._transitions_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.transitions_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.from_colour, f.to_colour, f.people FROM @extschema@._transitions_per_day() f;
COMMENT ON VIEW @extschema@.transitions_per_day IS
  'Colour changes per day (China Standard Time) and region, from -> to, counting people; small cells NULL.';
COMMENT ON COLUMN @extschema@.transitions_per_day.day IS 'Calendar day.';
COMMENT ON COLUMN @extschema@.transitions_per_day.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.transitions_per_day.from_colour IS 'Colour before (NULL: first status).';
COMMENT ON COLUMN @extschema@.transitions_per_day.to_colour IS 'Colour after.';
COMMENT ON COLUMN @extschema@.transitions_per_day.people IS 'People who changed so that day.';

CREATE FUNCTION @extschema@._tests_per_day()
RETURNS TABLE (day date, region text, people_tested bigint, people_positive bigint, positivity numeric)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.day, g.region, @extschema@.suppress_small(g.tested),
         @extschema@.suppress_small_part(g.positive, g.tested),
         -- with the people counts, a ratio could give the hidden count back
         CASE WHEN @extschema@.suppress_small(g.tested) IS NOT NULL
               AND @extschema@.suppress_small_part(g.positive, g.tested) IS NOT NULL
              THEN pg_catalog.round(g.positive_tests::numeric OPERATOR(pg_catalog./) g.tests, 4) END
    FROM (SELECT (t.sampled_at AT TIME ZONE 'Asia/Shanghai')::date AS day, t.region,
                 pg_catalog.count(DISTINCT t.person_id) AS tested,
                 pg_catalog.count(DISTINCT t.person_id) FILTER (WHERE t.result = 'positive') AS positive,
                 pg_catalog.count(*) AS tests,
                 pg_catalog.count(*) FILTER (WHERE t.result = 'positive') AS positive_tests
            FROM @extschema@.test_result t
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (t.region COLLATE "C")
           GROUP BY 1, 2) g;
END;
COMMENT ON FUNCTION @extschema@._tests_per_day() IS 'Internal: the rows of tests_per_day.';
REVOKE ALL ON FUNCTION @extschema@._tests_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._tests_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.tests_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.people_tested, f.people_positive, f.positivity FROM @extschema@._tests_per_day() f;
COMMENT ON VIEW @extschema@.tests_per_day IS
  'Tests per sampling day and region: people tested, people positive, positivity (positive tests / tests); small cells NULL (people positive also when those without a positive test are few; positivity whenever people positive is NULL).';
COMMENT ON COLUMN @extschema@.tests_per_day.day IS 'Sampling day.';
COMMENT ON COLUMN @extschema@.tests_per_day.region IS 'Home region of the people tested.';
COMMENT ON COLUMN @extschema@.tests_per_day.people_tested IS 'People tested.';
COMMENT ON COLUMN @extschema@.tests_per_day.people_positive IS 'People with a positive result.';
COMMENT ON COLUMN @extschema@.tests_per_day.positivity IS 'Positive tests / tests.';

CREATE FUNCTION @extschema@._codes_per_day()
RETURNS TABLE (day date, region text, event text, colour @extschema@.risk_colour, outcome text, people bigint,
               codes bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (e.at AT TIME ZONE 'Asia/Shanghai')::date, e.region, e.event, e.colour, e.outcome,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT e.holder)),
         CASE WHEN pg_catalog.count(DISTINCT e.holder) OPERATOR(pg_catalog.>=) @extschema@._min_cell_size()
              THEN pg_catalog.count(*) END
    FROM @extschema@.code_event e
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (e.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5;
END;
COMMENT ON FUNCTION @extschema@._codes_per_day() IS 'Internal: the rows of codes_per_day.';
REVOKE ALL ON FUNCTION @extschema@._codes_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._codes_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.codes_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.event, f.colour, f.outcome, f.people, f.codes FROM @extschema@._codes_per_day() f;
COMMENT ON VIEW @extschema@.codes_per_day IS
  'Codes issued (by the people''s region) and verified (by the checkpoint''s region) per day, colour and outcome: the people who held them and the codes; both NULL when fewer people than the cell size (one person''s five codes count once).';
COMMENT ON COLUMN @extschema@.codes_per_day.day IS 'Calendar day.';
COMMENT ON COLUMN @extschema@.codes_per_day.region IS 'Issuing people''s region, or the checkpoint''s.';
COMMENT ON COLUMN @extschema@.codes_per_day.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.codes_per_day.colour IS 'Colour on the codes.';
COMMENT ON COLUMN @extschema@.codes_per_day.outcome IS 'ok, or the reason verify() refused.';
COMMENT ON COLUMN @extschema@.codes_per_day.people IS 'Distinct holders (NULL when below the cell size).';
COMMENT ON COLUMN @extschema@.codes_per_day.codes IS 'Codes (NULL when the holders are below the cell size).';

CREATE FUNCTION @extschema@._findings_per_day()
RETURNS TABLE (day date, region text, kind text, status text, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (f.found_at AT TIME ZONE 'Asia/Shanghai')::date, f.region, f.kind, f.status,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT f.person_id))
    FROM @extschema@.audit_finding f
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (f.region COLLATE "C")
   GROUP BY 1, 2, 3, 4;
END;
COMMENT ON FUNCTION @extschema@._findings_per_day() IS 'Internal: the rows of findings_per_day.';
REVOKE ALL ON FUNCTION @extschema@._findings_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._findings_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.findings_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.kind, f.status, f.people FROM @extschema@._findings_per_day() f;
COMMENT ON VIEW @extschema@.findings_per_day IS
  'Audit findings by day, region, kind and review status, counting people; small cells NULL.';
COMMENT ON COLUMN @extschema@.findings_per_day.day IS 'Day found.';
COMMENT ON COLUMN @extschema@.findings_per_day.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.findings_per_day.kind IS 'The kind of inconsistency.';
COMMENT ON COLUMN @extschema@.findings_per_day.status IS 'open, confirmed or dismissed.';
COMMENT ON COLUMN @extschema@.findings_per_day.people IS 'People with such a finding.';

CREATE FUNCTION @extschema@._decisions_by_operator()
RETURNS TABLE (day date, region text, decided_by text, kind text, colour @extschema@.risk_colour,
               people bigint, decisions bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (m.decided_at AT TIME ZONE 'Asia/Shanghai')::date, m.region, m.decided_by, m.kind, m.colour,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT m.person_id)),
         CASE WHEN pg_catalog.count(DISTINCT m.person_id) OPERATOR(pg_catalog.>=) @extschema@._min_cell_size()
              THEN pg_catalog.count(*) END
    FROM @extschema@.manual_decision m
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (m.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5;
END;
COMMENT ON FUNCTION @extschema@._decisions_by_operator() IS 'Internal: the rows of decisions_by_operator.';
REVOKE ALL ON FUNCTION @extschema@._decisions_by_operator() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._decisions_by_operator() TO healthcode_analyst;
CREATE VIEW @extschema@.decisions_by_operator WITH (security_barrier) AS
SELECT f.day, f.region, f.decided_by, f.kind, f.colour, f.people, f.decisions FROM @extschema@._decisions_by_operator() f;
COMMENT ON VIEW @extschema@.decisions_by_operator IS
  'Manual decisions per day, region, operator, kind and colour: a run of manual red codes by one operator stands out. Both counts are NULL when fewer people than the cell size are concerned.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.day IS 'Day recorded.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.region IS 'Home region of the people decided about.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decided_by IS 'The operator role.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.kind IS 'override, medical_release or appeal_upheld.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.colour IS 'The colour an override set.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.people IS 'Distinct people (NULL when below the cell size).';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decisions IS 'Entries (NULL when the people are below the cell size).';
