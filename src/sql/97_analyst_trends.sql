-- ---------------------------------------------------------------------------
-- Trends and totals that add up (issue 17). Counts are made exact at the
-- district (the home region, or the checkpoint's for codes verified) and
-- summed up to the city, the province and the nation before anything is
-- left out or rounded, so a district left out still counts in its city's
-- total; every cell shown then goes through the one rule of the analyst
-- views (_published_count, 97_analyst.sql).
-- The daily series are kept in daily_rollup, one small table filled a day
-- at a time by rollup_day() (the daily job): a year of trends reads it
-- alone, never the evidence or the history, which retention empties
-- after evidence_kept_days anyway.
-- ---------------------------------------------------------------------------

-- A division code and the levels above it whose totals include it: itself
-- (district), its city, its province, the nation. (A SQL body: inlined.)
CREATE FUNCTION @extschema@._region_levels(region text) RETURNS TABLE (level text, region text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT l.level, l.code
    FROM (VALUES (1, 'district', _region_levels.region),
                 (2, 'city', pg_catalog.left(_region_levels.region, 4) OPERATOR(pg_catalog.||) '00'),
                 (3, 'province', pg_catalog.left(_region_levels.region, 2) OPERATOR(pg_catalog.||) '0000'),
                 (4, 'nation', '000000')) l(n, level, code)
   ORDER BY l.n;
END;
COMMENT ON FUNCTION @extschema@._region_levels(text) IS
  'Internal: a six-digit division code and the totals it counts in: district (itself), city, province, nation.';
REVOKE ALL ON FUNCTION @extschema@._region_levels(text) FROM PUBLIC;

-- Whether a viewer with this scope sees a total of this region: only when
-- it acts for all of it (a city's total to whom acts for one district of
-- it would be the others' count, less their own).
CREATE FUNCTION @extschema@._scope_holds(scope @extschema@.division_multirange, region text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN scope OPERATOR(pg_catalog.@>)
       @extschema@.division_range(region COLLATE "C", @extschema@.division_last(region) COLLATE "C", '[]');
COMMENT ON FUNCTION @extschema@._scope_holds(@extschema@.division_multirange, text) IS
  'Internal: whether a scope covers the whole of a region (and so may see its totals).';
REVOKE ALL ON FUNCTION @extschema@._scope_holds(@extschema@.division_multirange, text) FROM PUBLIC;

-- ---- colours at an instant, counted --------------------------------------------
-- How many people had each colour at an instant (not after the statement's
-- start: a status written earlier in the transaction is dated by its
-- statement, after now()), with the rule of the first of their reasons
-- ('' for none), by home region: the one reading of it for the totals and
-- the daily rollup. Nearly everyone's stored segment holds at the instant,
-- so one pass over the status rows counts them as stored, grouped as
-- scanned (in parallel where the server allows: no per-person function in
-- it), and lists the few it does not hold for ("others": their colour
-- changed since, or their segment ended by then), who are then read one by
-- one (_colours_of).

-- A person's colour at an instant from the history: its last entry by
-- then, with the rule of its first reason (none: no row). (A SQL body:
-- inlined, one backward step of the (person_id, at) index.)
CREATE FUNCTION @extschema@._history_at(person_id bigint, at timestamptz)
RETURNS TABLE (to_colour @extschema@.risk_colour, rule text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT h.to_colour, h.reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule'
    FROM @extschema@.status_history h
   WHERE h.person_id OPERATOR(pg_catalog.=) _history_at.person_id AND h.at OPERATOR(pg_catalog.<=) _history_at.at
   ORDER BY h.at DESC LIMIT 1;
END;
COMMENT ON FUNCTION @extschema@._history_at(bigint, timestamptz) IS
  'Internal: a person''s last history entry at or before an instant: the colour it set and the rule of its first reason.';
REVOKE ALL ON FUNCTION @extschema@._history_at(bigint, timestamptz) FROM PUBLIC;

-- A list of ids, as an aggregate that parallel workers can build in parts
-- (array_agg has no combine function before PostgreSQL 16).
CREATE AGGREGATE @extschema@._id_list(bigint) (
  SFUNC = pg_catalog.array_append, STYPE = bigint[], COMBINEFUNC = pg_catalog.array_cat,
  INITCOND = '{}', PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._id_list(bigint) IS
  'Internal: the ids as an array (''{}'' for none), buildable by parallel workers.';
REVOKE ALL ON FUNCTION @extschema@._id_list(bigint) FROM PUBLIC;

CREATE TYPE @extschema@._status_group AS (
  region text,
  colour @extschema@.risk_colour,
  rule   text,
  people bigint,
  others bigint[]
);
COMMENT ON TYPE @extschema@._status_group IS
  'Internal: stored statuses of one home region, colour and first rule (NULL: none): how many, and which of them are others at the instant asked (the stored segment does not hold then).';

-- The one pass over the status rows. (A SQL body: inlined, and so planned
-- in parallel within the caller's query.)
CREATE FUNCTION @extschema@._status_groups_at(at timestamptz) RETURNS SETOF @extschema@._status_group
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.region, s.colour, s.reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule', pg_catalog.count(*),
         @extschema@._id_list(s.person_id) FILTER (WHERE s.since OPERATOR(pg_catalog.>) _status_groups_at.at
                                                      OR s.valid_until OPERATOR(pg_catalog.<=) _status_groups_at.at)
    FROM @extschema@.person_status s
   GROUP BY s.region, s.colour, (s.reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule');
END;
COMMENT ON FUNCTION @extschema@._status_groups_at(timestamptz) IS
  'Internal: the stored statuses by home region, colour and first rule, with the people whose stored segment does not hold at the instant (changed since, or ended by then).';
REVOKE ALL ON FUNCTION @extschema@._status_groups_at(timestamptz) FROM PUBLIC;

-- Some people's colours at an instant, one by one: the history's last
-- entry by then for those whose colour changed since (none: registered
-- later, colour NULL), their timeline (status_at) for the others.
CREATE FUNCTION @extschema@._colours_of(ids bigint[], at timestamptz)
RETURNS TABLE (person_id bigint, region text, colour @extschema@.risk_colour, rule text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.person_id, s.region,
         CASE WHEN s.since OPERATOR(pg_catalog.>) _colours_of.at THEN h.to_colour
              ELSE (@extschema@.status_at(s, _colours_of.at)).colour END,
         CASE WHEN s.since OPERATOR(pg_catalog.>) _colours_of.at THEN h.rule
              ELSE (@extschema@.status_at(s, _colours_of.at)).reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule' END
    FROM @extschema@.person_status s
    LEFT JOIN LATERAL (SELECT x.to_colour, x.rule FROM @extschema@._history_at(s.person_id, _colours_of.at) x
                        WHERE s.since OPERATOR(pg_catalog.>) _colours_of.at) h ON true
   WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_colours_of.ids);
END;
COMMENT ON FUNCTION @extschema@._colours_of(bigint[], timestamptz) IS
  'Internal: some people''s colour at an instant and the rule of its first reason: from the history for those whose colour changed since (NULL: none then), else from their stored timeline.';
REVOKE ALL ON FUNCTION @extschema@._colours_of(bigint[], timestamptz) FROM PUBLIC;

-- The counts at the instant from the pass's groups: as stored, but for
-- the others, each counted where their own colour then puts them.
CREATE FUNCTION @extschema@._colour_counts(groups @extschema@._status_group[], at timestamptz)
RETURNS TABLE (region text, colour @extschema@.risk_colour, rule text, people bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT x.region, x.colour, COALESCE(x.rule, ''), pg_catalog.sum(x.people)::bigint
    FROM (SELECT g.region, g.colour, g.rule, g.people OPERATOR(pg_catalog.-) pg_catalog.cardinality(g.others) AS people
            FROM pg_catalog.unnest(_colour_counts.groups) g
          UNION ALL
          SELECT c.region, c.colour, c.rule, 1
            FROM @extschema@._colours_of(ARRAY(SELECT pg_catalog.unnest(g.others) FROM pg_catalog.unnest(_colour_counts.groups) g),
                                         _colour_counts.at) c
           WHERE c.colour IS NOT NULL) x
   GROUP BY x.region, x.colour, COALESCE(x.rule, '')
  HAVING pg_catalog.sum(x.people) OPERATOR(pg_catalog.>) 0;
END;
COMMENT ON FUNCTION @extschema@._colour_counts(@extschema@._status_group[], timestamptz) IS
  'Internal: people by home region, colour and first rule ('''' for none) at an instant, from _status_groups_at''s groups for it: as stored, the others counted by their own colour then.';
REVOKE ALL ON FUNCTION @extschema@._colour_counts(@extschema@._status_group[], timestamptz) FROM PUBLIC;

-- The counts at an instant. While a change on the work list made by then
-- has yet to recalculate people, everyone is read as status() reads them
-- (_status_now: fresh for those it concerns), in a query of its own: a
-- per-person function in the pass would keep it from running in parallel.
CREATE FUNCTION @extschema@._colour_counts_at(at timestamptz)
RETURNS TABLE (region text, colour @extschema@.risk_colour, rule text, people bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- (no JIT: the per-person query is costed far above jit_above_cost, and
-- compiling costs more than it saves)
SET jit = off
AS $$
BEGIN
  IF @extschema@._work_pending_by(_colour_counts_at.at) THEN
    RETURN QUERY
    SELECT c.region, c.colour, COALESCE(c.rule, ''), count(*)
      FROM (SELECT s.region,
                   CASE WHEN s.since > _colour_counts_at.at THEN h.to_colour ELSE (x.v).colour END AS colour,
                   CASE WHEN s.since > _colour_counts_at.at THEN h.rule ELSE (x.v).reasons -> 0 ->> 'rule' END AS rule
              FROM @extschema@.person_status s
              LEFT JOIN LATERAL (SELECT y.to_colour, y.rule FROM @extschema@._history_at(s.person_id, _colour_counts_at.at) y
                                  WHERE s.since > _colour_counts_at.at) h ON true
              CROSS JOIN LATERAL (SELECT CASE WHEN s.since <= _colour_counts_at.at
                                              THEN @extschema@._status_now(s, _colour_counts_at.at) END AS v OFFSET 0) x) c
     WHERE c.colour IS NOT NULL
     GROUP BY c.region, c.colour, COALESCE(c.rule, '');
    RETURN;
  END IF;
  RETURN QUERY
  SELECT c.* FROM @extschema@._colour_counts(ARRAY(SELECT g FROM @extschema@._status_groups_at(_colour_counts_at.at) g),
                                             _colour_counts_at.at) c;
END $$;
COMMENT ON FUNCTION @extschema@._colour_counts_at(timestamptz) IS
  'Internal: how many people had each colour at an instant up to now, with the rule of its first reason, by home region (from the stored timeline, or the history for those who changed since; fresh for people a change on the work list made by then has yet to recalculate).';
REVOKE ALL ON FUNCTION @extschema@._colour_counts_at(timestamptz) FROM PUBLIC;

-- ---- the daily rollup ---------------------------------------------------------

CREATE TABLE @extschema@.daily_rollup (
  day           date NOT NULL,
  measure       text NOT NULL CONSTRAINT measure_is_known
                CHECK (measure IN ('status', 'transition', 'test', 'code', 'finding', 'correction', 'decision')),
  level         text NOT NULL CONSTRAINT level_is_known CHECK (level IN ('district', 'city', 'province', 'nation')),
  region        text NOT NULL,
  dim1          text NOT NULL DEFAULT '',
  dim2          text NOT NULL DEFAULT '',
  dim3          text NOT NULL DEFAULT '',
  people        bigint NOT NULL,
  events        bigint NOT NULL,
  rolled_up_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT daily_rollup_pkey PRIMARY KEY (day, measure, level, region, dim1, dim2, dim3)
);
COMMENT ON TABLE @extschema@.daily_rollup IS
  'Exact daily counts by region at every level, kept by rollup_day() (the daily job) for the trends view, which rounds and leaves out small cells. No person in it; the admins read it, analysts only through trends.';
COMMENT ON COLUMN @extschema@.daily_rollup.day IS 'Calendar day (China Standard Time).';
COMMENT ON COLUMN @extschema@.daily_rollup.measure IS 'What is counted (the trends view describes each and its dimensions).';
COMMENT ON COLUMN @extschema@.daily_rollup.level IS 'district, city, province or nation.';
COMMENT ON COLUMN @extschema@.daily_rollup.region IS 'The division code at that level.';
COMMENT ON COLUMN @extschema@.daily_rollup.dim1 IS 'First dimension of the measure ('''' where it has none).';
COMMENT ON COLUMN @extschema@.daily_rollup.dim2 IS 'Second dimension.';
COMMENT ON COLUMN @extschema@.daily_rollup.dim3 IS 'Third dimension.';
COMMENT ON COLUMN @extschema@.daily_rollup.people IS 'Distinct people (holders, for codes).';
COMMENT ON COLUMN @extschema@.daily_rollup.events IS 'Rows counted (tests, codes, decisions; people for the status).';
COMMENT ON COLUMN @extschema@.daily_rollup.rolled_up_at IS 'When rollup_day wrote it.';
REVOKE ALL ON @extschema@.daily_rollup FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.daily_rollup', '');

-- A day's colour changes by home region: the history's, and those time
-- made in the stored timelines of the candidates (people whose current
-- segment had ended by the day's end or now) that no recalculation wrote
-- yet. (A SQL body: inlined.)
CREATE FUNCTION @extschema@._transitions_in(t0 timestamptz, t1 timestamptz, candidates bigint[])
RETURNS TABLE (region text, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, people bigint,
               events bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT t.region, t.from_colour, t.to_colour, pg_catalog.count(DISTINCT t.person_id), pg_catalog.count(*)
    FROM (SELECT h.person_id, h.region, h.from_colour, h.to_colour FROM @extschema@.status_history h
           WHERE h.at OPERATOR(pg_catalog.>=) _transitions_in.t0 AND h.at OPERATOR(pg_catalog.<) _transitions_in.t1
          UNION ALL
          SELECT s.person_id, s.region, g.from_colour, g.to_colour
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.statement_timestamp()) g
           WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_transitions_in.candidates)
             AND s.valid_until OPERATOR(pg_catalog.<) _transitions_in.t1
             AND g.at OPERATOR(pg_catalog.>=) _transitions_in.t0 AND g.at OPERATOR(pg_catalog.<) _transitions_in.t1) t
   GROUP BY t.region, t.from_colour, t.to_colour;
END;
COMMENT ON FUNCTION @extschema@._transitions_in(timestamptz, timestamptz, bigint[]) IS
  'Internal: colour changes in [t0, t1) by home region, from and to colour (people, changes): the history''s, and the ones time made in the candidates'' stored timelines that no recalculation wrote yet.';
REVOKE ALL ON FUNCTION @extschema@._transitions_in(timestamptz, timestamptz, bigint[]) FROM PUBLIC;

-- A day's exact counts, every measure: at the district (level NULL) where
-- people add up across districts, as a person counts in one only (their
-- home region), so that the totals above are sums; at every level at once
-- where they do not (codes, verified where the holder goes).
CREATE FUNCTION @extschema@._rollup_rows(day date)
RETURNS TABLE (measure text, level text, region text, dim1 text, dim2 text, dim3 text, people bigint, events bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- (a day's rows are sorted to count distinct people: in memory)
SET work_mem = '64MB'
-- (no JIT: its queries over everyone are costed far above jit_above_cost,
-- and compiling them took 680 of 860 ms at 300,000 people)
SET jit = off
AS $$
DECLARE
  -- (the day's span, and its end or now, once: constants to the plan)
  t0 timestamptz := _rollup_rows.day::timestamp AT TIME ZONE 'Asia/Shanghai';
  t1 timestamptz := (_rollup_rows.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai';
  t_end timestamptz := LEAST(t1 - interval '1 microsecond', statement_timestamp());
BEGIN
  -- (a query a measure or two, without a per-person function in those
  -- over everyone: they can run in parallel)
  IF @extschema@._work_pending_by(t_end) THEN
    -- everyone's colour at the day's end, some fresh (_colour_counts_at);
    -- the changes time made, in the timelines that had ended by then
    RETURN QUERY
    SELECT 'status', NULL, c.region, c.colour::text, c.rule, '', c.people, c.people
      FROM @extschema@._colour_counts_at(t_end) c
    UNION ALL
    SELECT 'transition', NULL, t.region, COALESCE(t.from_colour::text, ''), t.to_colour::text, '', t.people, t.events
      FROM @extschema@._transitions_in(t0, t1, ARRAY(SELECT s.person_id FROM @extschema@.person_status s
                                                      WHERE s.valid_until <= t_end)) t;
  ELSE
    -- everyone's colour at the day's end (now, for today), with its main
    -- rule, and the day's colour changes, from one pass over the statuses:
    -- the timelines that had ended by then are among its others
    RETURN QUERY
    WITH g AS MATERIALIZED (
      SELECT ARRAY(SELECT x FROM @extschema@._status_groups_at(t_end) x) AS groups
    )
    SELECT 'status', NULL, c.region, c.colour::text, c.rule, '', c.people, c.people
      FROM g CROSS JOIN LATERAL @extschema@._colour_counts(g.groups, t_end) c
    UNION ALL
    SELECT 'transition', NULL, t.region, COALESCE(t.from_colour::text, ''), t.to_colour::text, '', t.people, t.events
      FROM g CROSS JOIN LATERAL @extschema@._transitions_in(t0, t1, ARRAY(SELECT unnest(x.others) FROM unnest(g.groups) x)) t;
  END IF;
  RETURN QUERY
  -- tests by sampling day: all, and the positive among them
  SELECT 'test', NULL, r.region, g.result, '', '', count(DISTINCT r.person_id), count(*)
    FROM @extschema@.test_result r
    CROSS JOIN LATERAL (VALUES (''), (CASE WHEN r.result = 'positive' THEN 'positive' END)) g(result)
   WHERE r.sampled_at >= t0 AND r.sampled_at < t1
     AND g.result IS NOT NULL
   GROUP BY r.region, g.result;
  RETURN QUERY
  -- codes issued (by the holders' region) and verified (by the checkpoint's),
  -- with the code's region: visitors' flows between regions
  SELECT 'code', l.level, l.region, e.event, COALESCE(e.code_region, ''), COALESCE(e.outcome, ''),
         count(DISTINCT e.holder), count(*)
    FROM @extschema@._code_events() e
    CROSS JOIN LATERAL @extschema@._region_levels(e.region) l
   WHERE e.at >= t0 AND e.at < t1
   GROUP BY l.level, l.region, e.event, e.code_region, e.outcome;
  RETURN QUERY
  SELECT 'finding', NULL, f.region, f.kind, f.status, '', count(DISTINCT f.person_id), count(*)
    FROM @extschema@.audit_finding f
   WHERE f.found_at >= t0 AND f.found_at < t1
   GROUP BY f.region, f.kind, f.status
  UNION ALL
  SELECT 'correction', NULL, c.region, x.what, c.evidence, x.status, count(DISTINCT c.person_id),
         count(*)
    FROM @extschema@.correction c
    CROSS JOIN LATERAL (VALUES ('requested', '', c.requested_at), ('decided', c.status, c.decided_at)) x(what, status, at)
   WHERE x.at >= t0 AND x.at < t1
   GROUP BY c.region, x.what, c.evidence, x.status
  UNION ALL
  SELECT 'decision', NULL, m.region, m.kind, COALESCE(m.colour::text, ''), m.decided_by,
         count(DISTINCT m.person_id), count(*)
    FROM @extschema@.manual_decision m
   WHERE m.decided_at >= t0 AND m.decided_at < t1
   GROUP BY m.region, m.kind, m.colour, m.decided_by;
END $$;
COMMENT ON FUNCTION @extschema@._rollup_rows(date) IS
  'Internal: a day''s exact counts for every measure of daily_rollup: by district (level NULL) where people add up across districts, else at every level.';
REVOKE ALL ON FUNCTION @extschema@._rollup_rows(date) FROM PUBLIC;

CREATE FUNCTION @extschema@.rollup_day(day date DEFAULT ((pg_catalog.now() AT TIME ZONE 'Asia/Shanghai')::date - 1))
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  IF rollup_day.day IS NULL OR rollup_day.day > (now() AT TIME ZONE 'Asia/Shanghai')::date
     OR rollup_day.day < date '2019-12-01' THEN
    RAISE EXCEPTION 'day must be a day of the health-code era up to today, not %', coalesce(rollup_day.day::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  -- (one day at a time: a second call for the day waits and writes it anew)
  PERFORM pg_advisory_xact_lock(hashtext('@extschema@.daily_rollup'), (rollup_day.day - date '2000-01-01'));
  DELETE FROM @extschema@.daily_rollup r WHERE r.day = rollup_day.day;
  WITH d AS MATERIALIZED (SELECT * FROM @extschema@._rollup_rows(rollup_day.day))
  INSERT INTO @extschema@.daily_rollup (day, measure, level, region, dim1, dim2, dim3, people, events)
  SELECT rollup_day.day, d.measure, l.level, l.region, d.dim1, d.dim2, d.dim3, sum(d.people), sum(d.events)
    FROM d CROSS JOIN LATERAL @extschema@._region_levels(d.region) l
   WHERE d.level IS NULL
   GROUP BY d.measure, l.level, l.region, d.dim1, d.dim2, d.dim3
  UNION ALL
  SELECT rollup_day.day, d.measure, d.level, d.region, d.dim1, d.dim2, d.dim3, d.people, d.events
    FROM d WHERE d.level IS NOT NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.rollup_day(date) IS
  'The daily job''s rollup (schedule_jobs): writes a day''s exact counts (default yesterday, China Standard Time) into daily_rollup, at the district, city, province and nation, anew if it was written before; returns the rows. Today''s counts so far, or a day within evidence_kept_days again, may be rolled up too: the status by a day''s end comes from the history, which retention keeps that long.';
REVOKE ALL ON FUNCTION @extschema@.rollup_day(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rollup_day(date) TO healthcode_admin;

-- ---- what analysts read -------------------------------------------------------

CREATE FUNCTION @extschema@._trends()
RETURNS TABLE (day date, measure text, level text, region text, dim1 text, dim2 text, dim3 text,
               people bigint, events bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT r.day, r.measure, r.level, r.region, r.dim1, r.dim2, r.dim3,
         @extschema@._published_count(r.people), @extschema@._published_count(r.events, true)
    FROM @extschema@.daily_rollup r
   WHERE @extschema@._scope_holds((SELECT @extschema@.my_region_scope()), r.region)
     AND @extschema@._published_count(r.people) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._trends() IS 'Internal: the rows of trends.';
REVOKE ALL ON FUNCTION @extschema@._trends() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._trends() TO healthcode_analyst;
CREATE VIEW @extschema@.trends WITH (security_barrier) AS
SELECT f.day, f.measure, f.level, f.region, f.dim1, f.dim2, f.dim3, f.people, f.events FROM @extschema@._trends() f;
COMMENT ON VIEW @extschema@.trends IS
  'Daily series by region at the district, city, province and nation, for the regions the viewer acts for whole, from daily_rollup (the days rollup_day wrote). Totals are computed before anything is left out, so a district left out still counts in its city; counts are rounded to multiples of healthcode.min_cell_size and cells below it left out. Measures: status (people by colour at the day''s end, dim1 colour, dim2 the rule of their first reason: how many were red because of a high-risk stay), transition (dim1 from colour, '''' for a first status; dim2 to colour), test (dim1 '''' for all tests, positive for the positive; people tested and tests: positivity is events of positive over events of all), code (dim1 issued or verified, dim2 the code''s region: visitors'' flows; dim3 outcome; people are holders), finding (dim1 kind, dim2 status), correction (dim1 requested or decided, dim2 evidence table, dim3 decision), decision (dim1 kind, dim2 colour, dim3 the operator).';
COMMENT ON COLUMN @extschema@.trends.day IS 'Calendar day (China Standard Time).';
COMMENT ON COLUMN @extschema@.trends.measure IS 'status, transition, test, code, finding, correction or decision.';
COMMENT ON COLUMN @extschema@.trends.level IS 'district, city, province or nation.';
COMMENT ON COLUMN @extschema@.trends.region IS 'The division code at that level.';
COMMENT ON COLUMN @extschema@.trends.dim1 IS 'First dimension (see the view).';
COMMENT ON COLUMN @extschema@.trends.dim2 IS 'Second dimension.';
COMMENT ON COLUMN @extschema@.trends.dim3 IS 'Third dimension.';
COMMENT ON COLUMN @extschema@.trends.people IS 'Distinct people (rounded).';
COMMENT ON COLUMN @extschema@.trends.events IS 'Rows counted: tests, codes, decisions (rounded).';

-- The colours now, at every level, the same way: counted by district
-- first (_colour_counts_at), then the few districts' counts summed into
-- their city, province and nation (a person a row at four levels took
-- 1.85 s at 300,000 people; 0.18 s this way).
CREATE FUNCTION @extschema@._status_totals()
RETURNS TABLE (level text, region text, colour @extschema@.risk_colour, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.level, g.region, g.colour, @extschema@._published_count(g.people)
    FROM (SELECT l.level, l.region, d.colour, pg_catalog.sum(d.people)::bigint AS people
            FROM (SELECT c.region, c.colour, pg_catalog.sum(c.people) AS people
                    FROM @extschema@._colour_counts_at(pg_catalog.statement_timestamp()) c
                   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (c.region COLLATE "C")
                   GROUP BY c.region, c.colour) d
            CROSS JOIN LATERAL @extschema@._region_levels(d.region) l
           GROUP BY l.level, l.region, d.colour) g
   WHERE @extschema@._scope_holds((SELECT @extschema@.my_region_scope()), g.region)
     AND @extschema@._published_count(g.people) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._status_totals() IS 'Internal: the rows of status_totals.';
REVOKE ALL ON FUNCTION @extschema@._status_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._status_totals() TO healthcode_analyst;
CREATE VIEW @extschema@.status_totals WITH (security_barrier) AS
SELECT f.level, f.region, f.colour, f.people FROM @extschema@._status_totals() f;
COMMENT ON VIEW @extschema@.status_totals IS
  'People by colour now at the district, city, province and nation, for the regions the viewer acts for whole: totals computed before anything is left out (a district left out still counts in its city), then rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.status_totals.level IS 'district, city, province or nation.';
COMMENT ON COLUMN @extschema@.status_totals.region IS 'The division code at that level.';
COMMENT ON COLUMN @extschema@.status_totals.colour IS 'Colour now.';
COMMENT ON COLUMN @extschema@.status_totals.people IS 'People (rounded).';

-- ---- exposure by risk area ------------------------------------------------------

-- Per designation in force within the window: the people with a stay
-- there while it was (the work list's one query of an area's stays), by
-- home region and colour now. One query an area, from the (place, at)
-- index; the areas of a node are tens to hundreds.
CREATE FUNCTION @extschema@._exposure_by_area()
RETURNS TABLE (risk_area bigint, division text, venue bigint, area_level text, bulletin text, region text,
               colour @extschema@.risk_colour, people bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  horizon timestamptz := @extschema@._evidence_horizon(statement_timestamp());
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
  pending boolean := @extschema@._work_pending();
  a @extschema@.risk_area;
BEGIN
  FOR a IN SELECT * FROM @extschema@.risk_area r
            WHERE r.level <> 'low' AND r.effective_from <= t
              AND (r.effective_until IS NULL OR r.effective_until > horizon)
            ORDER BY r.id LOOP
    RETURN QUERY EXECUTE format(
      $q$SELECT $3::bigint, $4, $5::bigint, $6, $7, g.region, g.colour, @extschema@._published_count(g.people)
           FROM (SELECT p.region, (CASE WHEN $8 THEN @extschema@._status_now(s, $9) ELSE @extschema@.status_at(s, $9) END).colour,
                        count(*) AS people
                   FROM (SELECT DISTINCT x.person_id FROM (%s) x) e
                   JOIN @extschema@.person p ON p.id = e.person_id
                   JOIN @extschema@.person_status s ON s.person_id = p.id
                  WHERE $10 @> (p.region COLLATE "C")
                  GROUP BY 1, 2) g
          WHERE @extschema@._published_count(g.people) IS NOT NULL$q$, @extschema@._work_stays_sql(''))
      USING ARRAY[a], horizon, a.id, a.division, a.venue, a.level, a.bulletin, pending, t, scope;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._exposure_by_area() IS 'Internal: the rows of exposure_by_area.';
REVOKE ALL ON FUNCTION @extschema@._exposure_by_area() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._exposure_by_area() TO healthcode_analyst;
CREATE VIEW @extschema@.exposure_by_area WITH (security_barrier) AS
SELECT f.risk_area, f.division, f.venue, f.area_level, f.bulletin, f.region, f.colour, f.people
  FROM @extschema@._exposure_by_area() f;
COMMENT ON VIEW @extschema@.exposure_by_area IS
  'Per medium- or high-risk designation in force within the window (the national lookback): the people of the viewer''s regions with a stay there while it was in force, by home region and colour now; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.exposure_by_area.risk_area IS 'The designation (risk_area.id).';
COMMENT ON COLUMN @extschema@.exposure_by_area.division IS 'The place it designates.';
COMMENT ON COLUMN @extschema@.exposure_by_area.venue IS 'The venue it designates, if one.';
COMMENT ON COLUMN @extschema@.exposure_by_area.area_level IS 'medium or high.';
COMMENT ON COLUMN @extschema@.exposure_by_area.bulletin IS 'The bulletin that designated it.';
COMMENT ON COLUMN @extschema@.exposure_by_area.region IS 'Home region of the people with a stay there.';
COMMENT ON COLUMN @extschema@.exposure_by_area.colour IS 'Their colour now.';
COMMENT ON COLUMN @extschema@.exposure_by_area.people IS 'People (rounded).';
