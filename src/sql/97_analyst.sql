-- ---------------------------------------------------------------------------
-- What analysts see: aggregates only, each limited to the analyst's region
-- scope. One rule for every count of every view (_published_count): a cell
-- counting fewer than healthcode.min_cell_size people (default 5;
-- superuser-only) is left out, row and all, so that it does not say a small
-- group exists there; and every count shown is rounded to a multiple of
-- the cell size, so that no small count follows by subtracting one cell from
-- another, within a view or across views (first colours summed over the
-- days against the colours now, people against the vaccinated among them).
-- The views run with their owner's rights (analysts have no table access)
-- and filter by the scope of the role querying them.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._min_cell_size() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_min_cell_size'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._min_cell_size() IS
  'Internal: healthcode.min_cell_size, read through the module.';

-- The one rule: a count as shown, rounded to the nearest multiple of the
-- cell size (half up); NULL, for a cell to leave out, when it is below the
-- cell size. A part of a shown cell (the vaccinated among its people) is
-- rounded the same way but never left out (part => true): 0 then stands for
-- fewer than half the cell size, as any count shown stands for a range.
CREATE FUNCTION @extschema@._published_count(n bigint, part boolean DEFAULT false) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN n IS NULL OR (NOT part AND n OPERATOR(pg_catalog.<) @extschema@._min_cell_size()) THEN NULL
            -- (each operation in its parentheses: OPERATOR() all bind alike)
            ELSE ((n OPERATOR(pg_catalog.+) (@extschema@._min_cell_size() OPERATOR(pg_catalog./) 2))
                  OPERATOR(pg_catalog./) @extschema@._min_cell_size()) OPERATOR(pg_catalog.*) @extschema@._min_cell_size() END;
COMMENT ON FUNCTION @extschema@._published_count(bigint, boolean) IS
  'Internal: a count of people as the analyst views show it: rounded to the nearest multiple of healthcode.min_cell_size, or NULL (leave the cell out) when below it; a part of a shown cell (part) is rounded but never NULL.';

-- Each view is a security_barrier view over a SECURITY DEFINER function
-- that returns the finished, published rows: an analyst's WHERE clause,
-- EXPLAIN ANALYZE or function of their own only ever sees those rows, never
-- the per-person rows behind an aggregate (over the tables directly, a
-- plan would show a left-out cell's count on a scan node, and a WHERE
-- function would be pushed down and called once a person). The functions
-- read the tables (not current_status, which checks its own caller's
-- rights) within the scope of the role querying.
-- (The functions are granted to healthcode_analyst: a function a view
-- calls is checked against the role querying the view.)

CREATE FUNCTION @extschema@._status_summary()
RETURNS TABLE (region text, colour @extschema@.risk_colour, people bigint, vaccinated bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.region, g.colour, @extschema@._published_count(g.people), @extschema@._published_count(g.vaccinated, true)
    FROM (SELECT s.region, (x.v).colour AS colour, pg_catalog.count(*) AS people,
                 pg_catalog.count(*) FILTER (WHERE (x.v).vaccinated) AS vaccinated
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                            THEN @extschema@._status_now(s, pg_catalog.now())
                                            ELSE @extschema@.status_at(s, pg_catalog.now()) END AS v OFFSET 0) x
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (s.region COLLATE "C")
           GROUP BY s.region, (x.v).colour) g
   WHERE @extschema@._published_count(g.people) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._status_summary() IS 'Internal: the rows of status_summary.';
REVOKE ALL ON FUNCTION @extschema@._status_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._status_summary() TO healthcode_analyst;
CREATE VIEW @extschema@.status_summary WITH (security_barrier) AS
SELECT f.region, f.colour, f.people, f.vaccinated FROM @extschema@._status_summary() f;
COMMENT ON VIEW @extschema@.status_summary IS
  'People by region and colour now, within the viewer''s scope; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.status_summary.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.status_summary.colour IS 'Colour now.';
COMMENT ON COLUMN @extschema@.status_summary.people IS 'People (rounded to a multiple of the cell size).';
COMMENT ON COLUMN @extschema@.status_summary.vaccinated IS 'Of them, with the vaccinated mark (rounded to a multiple of the cell size: 0 for fewer than half of it).';

CREATE FUNCTION @extschema@._transitions_per_day()
RETURNS TABLE (day date, region text, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (c.at AT TIME ZONE 'Asia/Shanghai')::date, c.region, c.from_colour, c.to_colour,
         @extschema@._published_count(pg_catalog.count(DISTINCT c.person_id))
    FROM (SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour FROM @extschema@.status_history h
          UNION ALL
          SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g) c
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (c.region COLLATE "C")
   GROUP BY 1, 2, 3, 4
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT c.person_id)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._transitions_per_day() IS 'Internal: the rows of transitions_per_day.';
REVOKE ALL ON FUNCTION @extschema@._transitions_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._transitions_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.transitions_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.from_colour, f.to_colour, f.people FROM @extschema@._transitions_per_day() f;
COMMENT ON VIEW @extschema@.transitions_per_day IS
  'Colour changes per day (China Standard Time) and region, from -> to, counting people; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
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
  SELECT g.day, g.region, @extschema@._published_count(g.tested),
         @extschema@._published_count(g.positive, true),
         -- (from the rounded counts of tests: the exact ratio would give
         -- the exact counts back)
         CASE WHEN @extschema@._published_count(g.tests, true) OPERATOR(pg_catalog.>) 0
              THEN pg_catalog.round(@extschema@._published_count(g.positive_tests, true)::numeric
                                    OPERATOR(pg_catalog./) @extschema@._published_count(g.tests, true), 4) END
    FROM (SELECT (t.sampled_at AT TIME ZONE 'Asia/Shanghai')::date AS day, t.region,
                 pg_catalog.count(DISTINCT t.person_id) AS tested,
                 pg_catalog.count(DISTINCT t.person_id) FILTER (WHERE t.result = 'positive') AS positive,
                 pg_catalog.count(*) AS tests,
                 pg_catalog.count(*) FILTER (WHERE t.result = 'positive') AS positive_tests
            FROM @extschema@.test_result t
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (t.region COLLATE "C")
           GROUP BY 1, 2) g
   WHERE @extschema@._published_count(g.tested) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._tests_per_day() IS 'Internal: the rows of tests_per_day.';
REVOKE ALL ON FUNCTION @extschema@._tests_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._tests_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.tests_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.people_tested, f.people_positive, f.positivity FROM @extschema@._tests_per_day() f;
COMMENT ON VIEW @extschema@.tests_per_day IS
  'Tests per sampling day and region: people tested, people positive, positivity (positive tests / tests, from their rounded counts); counts rounded to multiples of healthcode.min_cell_size, days and regions with fewer people tested left out.';
COMMENT ON COLUMN @extschema@.tests_per_day.day IS 'Sampling day.';
COMMENT ON COLUMN @extschema@.tests_per_day.region IS 'Home region of the people tested.';
COMMENT ON COLUMN @extschema@.tests_per_day.people_tested IS 'People tested.';
COMMENT ON COLUMN @extschema@.tests_per_day.people_positive IS 'People with a positive result.';
COMMENT ON COLUMN @extschema@.tests_per_day.positivity IS 'Positive tests / tests, both rounded to multiples of the cell size.';

CREATE FUNCTION @extschema@._codes_per_day()
RETURNS TABLE (day date, region text, event text, colour @extschema@.risk_colour, outcome text, people bigint,
               codes bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (e.at AT TIME ZONE 'Asia/Shanghai')::date, e.region, e.event, e.colour, e.outcome,
         @extschema@._published_count(pg_catalog.count(DISTINCT e.holder)),
         @extschema@._published_count(pg_catalog.count(*), true)
    -- (with the events still waiting in shared memory: a count is never behind)
    FROM @extschema@._code_events() e
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (e.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT e.holder)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._codes_per_day() IS 'Internal: the rows of codes_per_day.';
REVOKE ALL ON FUNCTION @extschema@._codes_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._codes_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.codes_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.event, f.colour, f.outcome, f.people, f.codes FROM @extschema@._codes_per_day() f;
COMMENT ON VIEW @extschema@.codes_per_day IS
  'Codes issued (by the people''s region) and verified (by the checkpoint''s region) per day, colour and outcome: the people who held them and the codes, rounded to multiples of healthcode.min_cell_size; left out when fewer people than the cell size held them (one person''s five codes count once).';
COMMENT ON COLUMN @extschema@.codes_per_day.day IS 'Calendar day.';
COMMENT ON COLUMN @extschema@.codes_per_day.region IS 'Issuing people''s region, or the checkpoint''s.';
COMMENT ON COLUMN @extschema@.codes_per_day.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.codes_per_day.colour IS 'Colour on the codes.';
COMMENT ON COLUMN @extschema@.codes_per_day.outcome IS 'ok, or the reason verify() refused.';
COMMENT ON COLUMN @extschema@.codes_per_day.people IS 'Distinct holders (rounded).';
COMMENT ON COLUMN @extschema@.codes_per_day.codes IS 'Codes (rounded).';

CREATE FUNCTION @extschema@._findings_per_day()
RETURNS TABLE (day date, region text, kind text, status text, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (f.found_at AT TIME ZONE 'Asia/Shanghai')::date, f.region, f.kind, f.status,
         @extschema@._published_count(pg_catalog.count(DISTINCT f.person_id))
    FROM @extschema@.audit_finding f
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (f.region COLLATE "C")
   GROUP BY 1, 2, 3, 4
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT f.person_id)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._findings_per_day() IS 'Internal: the rows of findings_per_day.';
REVOKE ALL ON FUNCTION @extschema@._findings_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._findings_per_day() TO healthcode_analyst;
CREATE VIEW @extschema@.findings_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.kind, f.status, f.people FROM @extschema@._findings_per_day() f;
COMMENT ON VIEW @extschema@.findings_per_day IS
  'Audit findings by day, region, kind and review status, counting people; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.findings_per_day.day IS 'Day found.';
COMMENT ON COLUMN @extschema@.findings_per_day.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.findings_per_day.kind IS 'The kind of inconsistency.';
COMMENT ON COLUMN @extschema@.findings_per_day.status IS 'open, confirmed or dismissed.';
COMMENT ON COLUMN @extschema@.findings_per_day.people IS 'People with such a finding (rounded).';

CREATE FUNCTION @extschema@._decisions_by_operator()
RETURNS TABLE (day date, region text, decided_by text, kind text, colour @extschema@.risk_colour,
               people bigint, decisions bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (m.decided_at AT TIME ZONE 'Asia/Shanghai')::date, m.region, m.decided_by, m.kind, m.colour,
         @extschema@._published_count(pg_catalog.count(DISTINCT m.person_id)),
         @extschema@._published_count(pg_catalog.count(*), true)
    FROM @extschema@.manual_decision m
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (m.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT m.person_id)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._decisions_by_operator() IS 'Internal: the rows of decisions_by_operator.';
REVOKE ALL ON FUNCTION @extschema@._decisions_by_operator() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._decisions_by_operator() TO healthcode_analyst;
CREATE VIEW @extschema@.decisions_by_operator WITH (security_barrier) AS
SELECT f.day, f.region, f.decided_by, f.kind, f.colour, f.people, f.decisions FROM @extschema@._decisions_by_operator() f;
COMMENT ON VIEW @extschema@.decisions_by_operator IS
  'Manual decisions per day, region, operator, kind and colour: a run of manual red codes by one operator stands out. Counts rounded to multiples of healthcode.min_cell_size; left out when fewer people than the cell size are concerned.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.day IS 'Day recorded.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.region IS 'Home region of the people decided about.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decided_by IS 'The operator role.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.kind IS 'override, medical_release or appeal_upheld.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.colour IS 'The colour an override set.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.people IS 'Distinct people (rounded).';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decisions IS 'Entries (rounded).';
