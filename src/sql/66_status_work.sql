-- ---------------------------------------------------------------------------
-- The status work list: recalculations too big for one statement.
--
-- A risk-area designation or a policy version can concern a province. Its
-- statement does not recalculate everyone it concerns: it records the
-- change in recalc_work (one row: the areas or regions) and commits at
-- once. Background workers (hc_recalc_worker.c) then list the people it
-- concerns in recalc_pending (one set-based statement a part, a part a
-- worker, each a range of ids: recalc_work.parts; each worker then starts
-- its batches in the range it listed) and recalculate them in batches of
-- healthcode.recalc_batch_size, each batch its own
-- transaction, so memory stays bounded and an import waits at most for one
-- batch. Until a person's batch commits, every read computes their status
-- fresh from the evidence (_read_status): a read is right at any instant.
-- The list is a table: after a crash, the next worker goes on with it.
--
-- A change that touches few rows (healthcode.recalc_inline_limit) is still
-- recalculated in its own statement (_recalc_changed), as are changes
-- inside a restore and everything else (imports, decisions, pushed reds),
-- which _recompute takes in batches of the same size.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.recalc_work (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('risk_area', 'policy', 'everyone', 'check')),
  -- risk_area: the old and new designations (their stays are re-examined)
  areas         @extschema@.risk_area[],
  -- policy: the regions whose people the changed versions govern
  regions       text[],
  cause         text NOT NULL,
  -- when the change took effect: after the statement's exclusive evidence
  -- lock, so that no recalculation that missed it ran later (see below)
  created_at    timestamptz NOT NULL,
  horizon       timestamptz NOT NULL,
  listed_at     timestamptz,
  people        bigint,
  -- its people are listed in parts (ranges of ids: _part_ids), one a
  -- worker at once: a province's listing on every core
  parts         integer NOT NULL DEFAULT 1,
  parts_done    integer[] NOT NULL DEFAULT '{}',
  CONSTRAINT areas_for_risk_areas CHECK ((kind = 'risk_area') = (areas IS NOT NULL)),
  CONSTRAINT regions_for_policy CHECK ((kind = 'policy') = (regions IS NOT NULL)),
  CONSTRAINT people_once_listed CHECK (listed_at IS NULL OR people IS NOT NULL),
  CONSTRAINT parts_in_range CHECK (parts BETWEEN 1 AND 64),
  CONSTRAINT listed_with_last_part CHECK ((listed_at IS NOT NULL) = (cardinality(parts_done) >= parts)
                                         AND cardinality(parts_done) <= parts)
);
COMMENT ON TABLE @extschema@.recalc_work IS
  'Internal: changes whose recalculation the workers do (the status work list). A row stays until every person it concerns is recalculated; recalc_progress shows them.';
COMMENT ON COLUMN @extschema@.recalc_work.id IS 'The change, in the order recorded.';
COMMENT ON COLUMN @extschema@.recalc_work.kind IS 'risk_area (stays in areas re-examined), policy (people governed by regions recalculated), everyone, or check (a consistency check of everyone, which changes nothing: start_consistency_check).';
COMMENT ON COLUMN @extschema@.recalc_work.areas IS 'risk_area: the old and new designations.';
COMMENT ON COLUMN @extschema@.recalc_work.regions IS 'policy: the regions the changed versions govern.';
COMMENT ON COLUMN @extschema@.recalc_work.cause IS 'The cause its status changes are recorded with.';
COMMENT ON COLUMN @extschema@.recalc_work.created_at IS 'When the change took effect; colour changes it brings are dated then.';
COMMENT ON COLUMN @extschema@.recalc_work.horizon IS 'The evidence horizon then: stays before it are outside every window.';
COMMENT ON COLUMN @extschema@.recalc_work.listed_at IS 'When the last part of its people was listed in recalc_pending (NULL: not yet).';
COMMENT ON COLUMN @extschema@.recalc_work.people IS 'How many people its parts listed so far (all of them once listed_at is set).';
COMMENT ON COLUMN @extschema@.recalc_work.parts IS 'In how many parts its people are listed (healthcode.recalc_workers when it was recorded): part k lists those whose id is in its range (_part_ids).';
COMMENT ON COLUMN @extschema@.recalc_work.parts_done IS 'The parts listed so far; listed_at is set with the last.';
COMMENT ON SEQUENCE @extschema@.recalc_work_id_seq IS 'Ids of changes on the work list.';
REVOKE ALL ON @extschema@.recalc_work FROM PUBLIC;

CREATE TABLE @extschema@.recalc_pending (
  -- (no foreign key: a listing inserts a row a person, and checking each
  -- against recalc_work cost as much as the insert; a change's last batch
  -- deletes its recalc_work row once none of these is left)
  work_id       bigint NOT NULL,
  person_id     bigint NOT NULL,
  -- risk_area: the person's stays in the areas, as listed (re-examined by
  -- the batch without reading travel again; a stay deleted meanwhile takes
  -- the row with it, see _travel_changed)
  stay_ids      bigint[],
  stay_ats      timestamptz[],
  stay_places   text[],
  stay_venues   text[],
  CONSTRAINT recalc_pending_pkey PRIMARY KEY (work_id, person_id)
);
COMMENT ON TABLE @extschema@.recalc_pending IS
  'Internal: the people a listed change still has to recalculate; a worker deletes a batch of rows in the transaction that recalculates them.';
COMMENT ON COLUMN @extschema@.recalc_pending.work_id IS 'The change.';
COMMENT ON COLUMN @extschema@.recalc_pending.person_id IS 'A person it concerns.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_ids IS 'risk_area: the person''s stays in the areas (travel ids), as listed.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_ats IS 'risk_area: when each was.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_places IS 'risk_area: where.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_venues IS 'risk_area: at which venue (travel.venue), for designations of a venue.';
REVOKE ALL ON @extschema@.recalc_pending FROM PUBLIC;

-- Stays deleted (or updated, or truncated) while a risk-area change on the
-- list may hold them as listed. A listing reads travel in a snapshot of its
-- own, and a stay deleted meanwhile (its deletion committed after that
-- snapshot was taken) is still listed, where the deletion's trigger could
-- not see it to take it off; so the trigger leaves the stay here, and every
-- use of listed stays leaves out what is here (_stays_kept; and a batch's
-- lockless pass leaves out a person with a row here, as it reads their
-- status row: _recompute). A row is kept while a change on the list was
-- made before it (_forget_gone_stays).
CREATE TABLE @extschema@.recalc_gone_stays (
  stay_id       bigint NOT NULL,
  stay_at       timestamptz NOT NULL,
  person_id     bigint NOT NULL,
  gone_at       timestamptz NOT NULL,
  -- (travel.id is unique by its sequence only: the person too)
  CONSTRAINT recalc_gone_stays_pkey PRIMARY KEY (stay_id, stay_at, person_id)
);
-- (is anything gone since a change was made: asked by every batch; and
-- has this person lost a stay since)
CREATE INDEX recalc_gone_stays_gone_at ON @extschema@.recalc_gone_stays (gone_at);
CREATE INDEX recalc_gone_stays_person ON @extschema@.recalc_gone_stays (person_id, gone_at);
COMMENT ON TABLE @extschema@.recalc_gone_stays IS
  'Internal: travel rows deleted, updated or truncated while a risk-area change on the work list may have them listed in recalc_pending; listed stays are read less these. A row goes once no change on the list was made before it.';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.stay_id IS 'The travel row''s id.';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.stay_at IS 'Its at (travel''s key includes it).';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.person_id IS 'Whose stay it was (an erasure takes the row).';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.gone_at IS 'When its deletion''s trigger ran, holding the evidence lock: after the creation of every change that may have listed it.';
REVOKE ALL ON @extschema@.recalc_gone_stays FROM PUBLIC;

-- ---- which people a change concerns ------------------------------------------

-- Stays a risk-area change re-examines: within the window, in a place one
-- of the designations covers while it was in force (from the (place, at)
-- index alone). One definition for the listing, the readers' check, the
-- stays a deletion takes from a listing (from its transition table) and
-- the designating statement's count of them (_recalc_touched: one area at
-- a time, areas '(SELECT ($1).*)' with $1 the area, a subquery the planner
-- flattens, so that the area's bounds are constants of the index scan).
CREATE FUNCTION @extschema@._work_stays_sql(person_filter text, stays text DEFAULT '@extschema@.travel',
                                           areas text DEFAULT 'unnest($1)') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'SELECT t.person_id, t.id, t.at, t.place, t.venue
          FROM ' OPERATOR(pg_catalog.||) areas OPERATOR(pg_catalog.||) ' a
          JOIN ' OPERATOR(pg_catalog.||) stays OPERATOR(pg_catalog.||) ' t
            ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
           AND (a.venue IS NULL OR t.venue = a.venue::text)
           AND t.at >= GREATEST(a.effective_from, $2)
           AND (a.effective_until IS NULL OR t.at < a.effective_until) ' OPERATOR(pg_catalog.||) person_filter;
COMMENT ON FUNCTION @extschema@._work_stays_sql(text, text, text) IS
  'Internal: the query of the stays (person_id, id, at, place, venue) of travel (or of the relation named by stays) in the designations $1 (or those areas yields) while each was in force, since horizon $2, with a filter on t appended.';
REVOKE ALL ON FUNCTION @extschema@._work_stays_sql(text, text, text) FROM PUBLIC;

-- The ids of part `part` (from 0) of `parts`: the range of ids row-secured
-- tables draw from ([2^62, 2^63), 25_pseudonyms.sql: their sequence under a
-- permutation, so spread evenly) cut in equal ranges, the first taking
-- every id below and the last every id above. A range, not the ids equal
-- to the part modulo parts: two workers listing their parts at once then
-- fill different pages of the list's primary key, where with every other
-- id each filled every page beside the other (4.6 against 4.2 s at
-- 1,000,000 people), and each starts its batches where no other worker
-- takes its own (_recalc_step).
CREATE FUNCTION @extschema@._part_ids(part integer, parts integer, OUT first_id bigint, OUT last_id bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  -- (OPERATOR() binds as any operator, left to right: bracketed)
  SELECT CASE WHEN _part_ids.part OPERATOR(pg_catalog.<=) 0 THEN -9223372036854775808
              ELSE 4611686018427387904 OPERATOR(pg_catalog.+)
                   (_part_ids.part::bigint OPERATOR(pg_catalog.*) (4611686018427387904 OPERATOR(pg_catalog./) _part_ids.parts)) END,
         CASE WHEN _part_ids.part OPERATOR(pg_catalog.>=) (_part_ids.parts OPERATOR(pg_catalog.-) 1) THEN 9223372036854775807
              ELSE 4611686018427387903 OPERATOR(pg_catalog.+)
                   ((_part_ids.part OPERATOR(pg_catalog.+) 1)::bigint
                    OPERATOR(pg_catalog.*) (4611686018427387904 OPERATOR(pg_catalog./) _part_ids.parts)) END;
END;
COMMENT ON FUNCTION @extschema@._part_ids(integer, integer) IS
  'Internal: the first and last id (inclusive) of part part (from 0) of parts in which a change''s people are listed: [2^62, 2^63) in equal ranges, the first part from the smallest bigint, the last to the largest.';
REVOKE ALL ON FUNCTION @extschema@._part_ids(integer, integer) FROM PUBLIC;

-- Everyone a change concerns whose id is in part `part` of w.parts:
-- listed once by a worker, set-based; the last part listed marks the
-- change listed.
CREATE FUNCTION @extschema@._list_work(w @extschema@.recalc_work, part integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- (the stays are sorted by person: in memory, for a district)
SET work_mem = '64MB'
AS $$
DECLARE
  n bigint;
  ids record := @extschema@._part_ids(part, w.parts);
BEGIN
  IF w.kind = 'risk_area' THEN
    -- one pass over the areas' stays (the (place, at) index), each
    -- person's kept with them: a batch re-examines them without reading
    -- travel again (per person, that would be an index probe a day
    -- partition; per area, a scan of it all for every batch)
    -- (sorted by person, the order the list's primary key is filled in;
    -- the three arrays agree, as one aggregation fills them in the order
    -- it is fed, with no sort of its own a person and an array; a stay two
    -- designations cover (an updated one: old and new) made distinct)
    -- (a part's people are kept after the stays are found, past a fence:
    -- a filter on the person pushed into the scan of the areas' stays made
    -- the planner read every stay instead, 6 s for 10,000 people of two
    -- districts among 10,000,000 stays)
    EXECUTE format('INSERT INTO @extschema@.recalc_pending (work_id, person_id, stay_ids, stay_ats, stay_places, stay_venues)
                    SELECT $3, s.person_id, array_agg(s.id), array_agg(s.at), array_agg(s.place), array_agg(s.venue)
                      FROM (SELECT %s x.person_id, x.id, x.at, x.place, x.venue FROM (%s) x
                             ORDER BY x.person_id, x.id) s
                     GROUP BY s.person_id',
                   CASE WHEN cardinality(w.areas) > 1 THEN 'DISTINCT' ELSE '' END,
                   CASE WHEN w.parts = 1 THEN @extschema@._work_stays_sql('')
                        ELSE format('SELECT y.* FROM (%s OFFSET 0) y WHERE y.person_id BETWEEN $4 AND $5',
                                    @extschema@._work_stays_sql('')) END)
      USING w.areas, w.horizon, w.id, ids.first_id, ids.last_id;
  ELSIF w.kind = 'policy' THEN
    INSERT INTO @extschema@.recalc_pending (work_id, person_id)
    SELECT DISTINCT w.id, p.id
      FROM unnest(w.regions) r(code)
      JOIN @extschema@.person p ON p.region >= r.code AND p.region <= @extschema@.division_last(r.code)
     WHERE p.id BETWEEN ids.first_id AND ids.last_id;
  ELSE
    -- (everyone, and a consistency check)
    INSERT INTO @extschema@.recalc_pending (work_id, person_id)
    SELECT w.id, p.id FROM @extschema@.person p WHERE p.id BETWEEN ids.first_id AND ids.last_id;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- (the row as it is now: another worker may have listed a part since w
  -- was read, and this waits for its transaction)
  UPDATE @extschema@.recalc_work x
     SET parts_done = x.parts_done || part, people = coalesce(x.people, 0) + n,
         listed_at = CASE WHEN cardinality(x.parts_done) + 1 >= x.parts THEN clock_timestamp() END
   WHERE x.id = w.id;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._list_work(@extschema@.recalc_work, integer) IS
  'Internal: lists the people a change concerns whose id is in part part of its parts (_part_ids) in recalc_pending, and marks the change listed with its last part; returns how many.';
REVOKE ALL ON FUNCTION @extschema@._list_work(@extschema@.recalc_work, integer) FROM PUBLIC;

-- Whether a change still has to recalculate a person: once listed, their
-- row in recalc_pending; before, the listing's question asked for that one
-- person, from their own rows.
CREATE FUNCTION @extschema@._work_concerns(w @extschema@.recalc_work, person_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  found_one boolean;
BEGIN
  IF w.listed_at IS NOT NULL THEN
    RETURN EXISTS (SELECT 1 FROM @extschema@.recalc_pending r
                    WHERE r.work_id = w.id AND r.person_id = _work_concerns.person_id);
  ELSIF w.kind IN ('everyone', 'check') THEN
    RETURN true;
  ELSIF w.kind = 'policy' THEN
    RETURN EXISTS (SELECT 1 FROM @extschema@.person p, unnest(w.regions) r(code)
                    WHERE p.id = _work_concerns.person_id
                      AND p.region >= r.code AND p.region <= @extschema@.division_last(r.code));
  END IF;
  EXECUTE format('SELECT EXISTS (%s)', @extschema@._work_stays_sql('WHERE t.person_id = $3'))
    INTO found_one USING w.areas, w.horizon, person_id;
  RETURN found_one;
END $$;
COMMENT ON FUNCTION @extschema@._work_concerns(@extschema@.recalc_work, bigint) IS
  'Internal: whether a change on the work list still has to recalculate (or check) a person: listed, by their row in recalc_pending; not yet, by their own rows.';
REVOKE ALL ON FUNCTION @extschema@._work_concerns(@extschema@.recalc_work, bigint) FROM PUBLIC;

-- The rows of some people of a listed change, each found by the whole key
-- (a probe a person, in a subquery kept apart). Asked as `r.person_id =
-- ANY (persons)` beside the change, the key's second column was planned
-- as a filter over every row of the change whenever the list's statistics
-- predated its listing, as they do until autovacuum analyzes it: a one-row
-- import then took 0.35-0.45 s at 1,000,000 people listed, against a
-- batch of 0.2-0.3 s. (A SQL body without SET: inlined where it is read.)
CREATE FUNCTION @extschema@._listed_rows(work_id bigint, persons bigint[])
RETURNS TABLE (row_id tid, person_id bigint, stay_ids bigint[], stay_ats timestamptz[], stay_places text[],
               stay_venues text[])
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT r.row_id, r.person_id, r.stay_ids, r.stay_ats, r.stay_places, r.stay_venues
    FROM (SELECT DISTINCT q.id FROM unnest(_listed_rows.persons) AS q(id)) p
    CROSS JOIN LATERAL (SELECT x.ctid AS row_id, x.person_id, x.stay_ids, x.stay_ats, x.stay_places, x.stay_venues
                          FROM @extschema@.recalc_pending x
                         WHERE x.work_id OPERATOR(pg_catalog.=) _listed_rows.work_id
                           AND x.person_id OPERATOR(pg_catalog.=) p.id
                        OFFSET 0) r;
END;
COMMENT ON FUNCTION @extschema@._listed_rows(bigint, bigint[]) IS
  'Internal: the persons'' rows of a change in recalc_pending (row_id: where each lies), each looked up by the primary key.';
REVOKE ALL ON FUNCTION @extschema@._listed_rows(bigint, bigint[]) FROM PUBLIC;

-- The stays of some people a risk-area change concerns, as its listing
-- keeps them (levels not judged yet): from recalc_pending once listed,
-- else from travel, person by person (for a few people only).
CREATE FUNCTION @extschema@._work_stays_of(w @extschema@.recalc_work, persons bigint[])
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  result @extschema@.reexamined_stays[];
BEGIN
  IF w.listed_at IS NOT NULL THEN
    RETURN ARRAY(SELECT ROW(r.person_id, r.stay_ids, r.stay_ats, r.stay_places, NULL, r.stay_venues)::@extschema@.reexamined_stays
                   FROM @extschema@._listed_rows(w.id, persons) r
                  WHERE r.stay_ids IS NOT NULL
                  ORDER BY r.person_id);
  END IF;
  EXECUTE format('SELECT ARRAY(SELECT ROW(s.person_id, array_agg(s.id ORDER BY s.id), array_agg(s.at ORDER BY s.id),
                                         array_agg(s.place ORDER BY s.id), NULL,
                                         array_agg(s.venue ORDER BY s.id))::@extschema@.reexamined_stays
                                FROM (SELECT DISTINCT x.person_id, x.id, x.at, x.place, x.venue FROM (%s) x) s
                               GROUP BY s.person_id ORDER BY s.person_id)',
                 @extschema@._work_stays_sql('WHERE t.person_id = ANY ($3)'))
    INTO result USING w.areas, w.horizon, persons;
  RETURN result;
END $$;
COMMENT ON FUNCTION @extschema@._work_stays_of(@extschema@.recalc_work, bigint[]) IS
  'Internal: the persons'' stays a risk-area change concerns (one row a person, levels not judged): as listed, or from travel before the change is listed.';
REVOKE ALL ON FUNCTION @extschema@._work_stays_of(@extschema@.recalc_work, bigint[]) FROM PUBLIC;

-- The days of listed stays (Asia/Shanghai, as travel's day partitions are
-- cut), distinct and in order: in C, a batch's stays at once.
CREATE FUNCTION @extschema@._stays_days(listed @extschema@.reexamined_stays[]) RETURNS date[]
  AS 'MODULE_PATHNAME', 'healthcode_stays_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._stays_days(@extschema@.reexamined_stays[]) IS
  'Internal: the days (Asia/Shanghai) of the listed stays, distinct and in order.';
REVOKE ALL ON FUNCTION @extschema@._stays_days(@extschema@.reexamined_stays[]) FROM PUBLIC;

-- Listed stays less those gone since they were listed: those whose day
-- partition was dropped (a DROP fires no trigger), and those deleted,
-- updated or truncated while a change on the list may hold them
-- (recalc_gone_stays, left by _travel_changed) since the change that
-- listed them was made (made_at: its created_at; one gone before was not
-- there to be listed, and an updated stay keeps its id; at the same instant
-- left out, which only costs the person a recalculation from all their
-- evidence). The one way
-- listed stays are read, by batches and readers alike; their levels are
-- judged where they are used (_recompute, _stays_judged).
-- keep_empty: a person left with none keeps a row, with empty arrays.
-- (Levels come back NULL, as listed: judged where they are used.)
CREATE FUNCTION @extschema@._stays_kept(listed @extschema@.reexamined_stays[], made_at timestamptz,
                                        keep_empty boolean DEFAULT false)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  gone_days date[];
BEGIN
  -- (each day looked up once)
  gone_days := ARRAY(
    SELECT d.day
      FROM unnest(@extschema@._stays_days(listed)) AS d(day)
     WHERE to_regclass(format('%I.%I', '@extschema@', 'travel_' || to_char(d.day, 'YYYYMMDD'))) IS NULL);
  -- (nearly always neither)
  IF cardinality(gone_days) = 0 AND NOT EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g WHERE g.gone_at >= made_at) THEN
    RETURN listed;
  END IF;
  RETURN ARRAY(
    SELECT ROW(x.person_id, coalesce(k.ids, '{}'), coalesce(k.ats, '{}'), coalesce(k.places, '{}'), NULL,
               coalesce(k.venues, '{}'))::@extschema@.reexamined_stays
      FROM unnest(listed) x
      CROSS JOIN LATERAL (
        SELECT array_agg(u.id) AS ids, array_agg(u.at) AS ats, array_agg(u.place) AS places, array_agg(u.venue) AS venues
          FROM unnest(x.ids, x.ats, x.places, x.venues) AS u(id, at, place, venue)
         WHERE (u.at AT TIME ZONE 'Asia/Shanghai')::date <> ALL (gone_days)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g
                            WHERE g.stay_id = u.id AND g.stay_at = u.at AND g.person_id = x.person_id
                              AND g.gone_at >= made_at)) k
     WHERE k.ids IS NOT NULL OR keep_empty
     ORDER BY x.person_id);
END $$;
COMMENT ON FUNCTION @extschema@._stays_kept(@extschema@.reexamined_stays[], timestamptz, boolean) IS
  'Internal: stays listed by a change made at made_at, less those whose day partition of travel is gone and those in recalc_gone_stays since made_at (levels not judged); a person left with none is left out, or with keep_empty kept with empty arrays.';
REVOKE ALL ON FUNCTION @extschema@._stays_kept(@extschema@.reexamined_stays[], timestamptz, boolean) FROM PUBLIC;

-- The same, each given the level every designation in force at its time
-- gives it now (the one risky-stay rule).
CREATE FUNCTION @extschema@._stays_judged(listed @extschema@.reexamined_stays[], made_at timestamptz)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT ARRAY(SELECT ROW(x.person_id, x.ids, x.ats, x.places,
                          @extschema@._stays_levels((SELECT @extschema@._designations()), x.places, x.venues, x.ats),
                          NULL)::@extschema@.reexamined_stays
                 FROM pg_catalog.unnest(@extschema@._stays_kept(_stays_judged.listed, _stays_judged.made_at)) x);
END;
COMMENT ON FUNCTION @extschema@._stays_judged(@extschema@.reexamined_stays[], timestamptz) IS
  'Internal: stays listed by a change made at made_at (less those gone since: _stays_kept) with each one''s level now (high true, medium false, none NULL).';
REVOKE ALL ON FUNCTION @extschema@._stays_judged(@extschema@.reexamined_stays[], timestamptz) FROM PUBLIC;

-- Takes some people of a listed change off the list: who they were (in id
-- order) and their listed stays (for a risk-area change).
CREATE FUNCTION @extschema@._take_listed(w @extschema@.recalc_work, persons bigint[],
    OUT taken bigint[], OUT listed @extschema@.reexamined_stays[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- (each person by the primary key: _listed_rows; and their rows by where
-- they lie, as _take_batch deletes them: a TID scan, whatever its caller,
-- _recompute, turned off)
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_tidscan = on
AS $$
BEGIN
  WITH gone AS (
    -- (a row a batch holds is waited for, and then left: that batch took
    -- it. No other row can come to lie where one was found while this
    -- statement's snapshot still sees it, so the address is all it asks:
    -- asked the change too, it was planned as a scan of the change again)
    DELETE FROM @extschema@.recalc_pending r
     WHERE r.ctid = ANY (ARRAY(SELECT l.row_id FROM @extschema@._listed_rows(w.id, persons) l))
    RETURNING r.person_id, r.stay_ids, r.stay_ats, r.stay_places, r.stay_venues
  )
  SELECT array_agg(g.person_id ORDER BY g.person_id),
         array_agg(ROW(g.person_id, g.stay_ids, g.stay_ats, g.stay_places, NULL, g.stay_venues)::@extschema@.reexamined_stays
                   ORDER BY g.person_id) FILTER (WHERE g.stay_ids IS NOT NULL)
    INTO taken, listed FROM gone g;
END $$;
COMMENT ON FUNCTION @extschema@._take_listed(@extschema@.recalc_work, bigint[]) IS
  'Internal: deletes the persons'' rows of a listed change from recalc_pending; returns who was taken and their listed stays.';
REVOKE ALL ON FUNCTION @extschema@._take_listed(@extschema@.recalc_work, bigint[]) FROM PUBLIC;

-- Takes the next batch of a listed change off the list: at most n people
-- from person `from_id` on, in id order, skipping rows other workers hold;
-- who they were and their listed stays. (One statement: the rows locked by
-- the subquery are deleted where they lie.)
CREATE FUNCTION @extschema@._take_batch(w @extschema@.recalc_work, from_id bigint, n integer,
    OUT taken bigint[], OUT listed @extschema@.reexamined_stays[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- The list in key order, from its primary key: a fresh list has no
-- statistics, and planned as a few rows it was read whole and sorted, every
-- batch. (ANALYZE after listing would fix the estimate, but waits for an
-- autovacuum of the list, up to deadlock_timeout.) The rows are deleted
-- where they lie: a TID scan.
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_tidscan = on
AS $$
BEGIN
  WITH gone AS (
    DELETE FROM @extschema@.recalc_pending r
     WHERE r.ctid = ANY (ARRAY(SELECT p.ctid FROM @extschema@.recalc_pending p
                                WHERE p.work_id = w.id AND p.person_id >= from_id
                                ORDER BY p.person_id LIMIT n FOR UPDATE SKIP LOCKED))
    RETURNING r.person_id, r.stay_ids, r.stay_ats, r.stay_places, r.stay_venues
  )
  SELECT array_agg(g.person_id ORDER BY g.person_id),
         array_agg(ROW(g.person_id, g.stay_ids, g.stay_ats, g.stay_places, NULL, g.stay_venues)::@extschema@.reexamined_stays
                   ORDER BY g.person_id) FILTER (WHERE g.stay_ids IS NOT NULL)
    INTO taken, listed FROM gone g;
END $$;
COMMENT ON FUNCTION @extschema@._take_batch(@extschema@.recalc_work, bigint, integer) IS
  'Internal: deletes the next batch (at most n people from person from_id on, not held by another worker) of a listed change from recalc_pending; returns who was taken and their listed stays.';
REVOKE ALL ON FUNCTION @extschema@._take_batch(@extschema@.recalc_work, bigint, integer) FROM PUBLIC;

-- A change's recalculation of some of its people, as a worker's batch does
-- it (dated at the change's time, under its cause): a risk-area change from
-- their stored inputs and their listed stays judged again; anything else
-- from all their evidence.
CREATE FUNCTION @extschema@._recalc_people(w @extschema@.recalc_work, persons bigint[],
                                           listed @extschema@.reexamined_stays[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  stays @extschema@.reexamined_stays[];
  rest bigint[];
BEGIN
  IF w.kind = 'risk_area' THEN
    -- (judged by _recompute, a person at a time as it reads them)
    stays := @extschema@._stays_kept(listed, w.created_at);
    PERFORM @extschema@._recompute(ARRAY(SELECT (unnest(stays)).person_id), w.cause,
                                   changed_stays => stays, changed_at => w.created_at);
    -- (anyone without stays, as when their day partitions were dropped:
    -- from all their evidence; nearly always nobody: the stays' people
    -- are some of persons, and as many; else EXCEPT, which is hashed, where
    -- NOT EXISTS over two arrays would compare every pair)
    IF coalesce(cardinality(stays), 0) < cardinality(persons) THEN
      rest := ARRAY(SELECT p FROM unnest(persons) p EXCEPT SELECT s.person_id FROM unnest(stays) s);
      PERFORM @extschema@._recompute(rest, w.cause, changed_at => w.created_at);
    END IF;
  ELSE
    PERFORM @extschema@._recompute(persons, w.cause, changed_at => w.created_at);
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._recalc_people(@extschema@.recalc_work, bigint[], @extschema@.reexamined_stays[]) IS
  'Internal: recalculates some people for a change on the work list, as its worker does (listed: their stays as listed, for a risk-area change).';
REVOKE ALL ON FUNCTION @extschema@._recalc_people(@extschema@.recalc_work, bigint[], @extschema@.reexamined_stays[]) FROM PUBLIC;

-- What a recalculation for another cause (an import, a decision, a small
-- designation) does first for people changes on the list have yet to
-- reach: each such change's recalculation of them, oldest first, taking
-- them off the list; so its history entry keeps the change's cause and
-- time, and the caller's records only what the caller's own change brings.
-- (A batch that holds some of them is waited for: one batch.)
CREATE FUNCTION @extschema@._settle_pending(persons bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  w @extschema@.recalc_work;
  mine bigint[];
  listed @extschema@.reexamined_stays[];
BEGIN
  FOR w IN SELECT * FROM @extschema@._pending_changes() x ORDER BY x.id LOOP
    IF w.listed_at IS NOT NULL THEN
      SELECT t.taken, t.listed INTO mine, listed FROM @extschema@._take_listed(w, persons) t;
    ELSE
      -- (listed later, they are recalculated again, to no change)
      mine := ARRAY(SELECT p FROM unnest(persons) p WHERE @extschema@._work_concerns(w, p) ORDER BY p);
      listed := CASE WHEN w.kind = 'risk_area' AND cardinality(mine) > 0
                     THEN @extschema@._work_stays_of(w, mine) END;
    END IF;
    CONTINUE WHEN coalesce(cardinality(mine), 0) = 0;
    PERFORM @extschema@._recalc_people(w, mine, listed);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._settle_pending(bigint[]) IS
  'Internal: recalculates the people for the changes on the work list that concern them (oldest first, dated at each change''s created_at) and takes them off it; what _recompute does first for any other cause.';
REVOKE ALL ON FUNCTION @extschema@._settle_pending(bigint[]) FROM PUBLIC;

-- ---- reading a status right while work is pending ------------------------------

-- The changes on the work list that change statuses (a consistency check
-- changes nothing). (A SQL body without SET: inlined where it is read.)
CREATE FUNCTION @extschema@._pending_changes() RETURNS SETOF @extschema@.recalc_work
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT w.* FROM @extschema@.recalc_work w WHERE w.kind OPERATOR(pg_catalog.<>) 'check';
END;
COMMENT ON FUNCTION @extschema@._pending_changes() IS
  'Internal: the changes on the status work list that have yet to recalculate people (not the consistency checks, which change nothing).';
REVOKE ALL ON FUNCTION @extschema@._pending_changes() FROM PUBLIC;

-- Is any work pending? (Once a query, as an InitPlan: nearly always false,
-- and then reads take the stored status as before.)
-- (PL/pgSQL: every status read asks it, and a SQL function is planned
-- again at each call from PL/pgSQL)
CREATE FUNCTION @extschema@._work_pending() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM @extschema@._pending_changes());
END $$;
COMMENT ON FUNCTION @extschema@._work_pending() IS
  'Internal: true while the status work list holds a change (a consistency check changes nothing).';
REVOKE ALL ON FUNCTION @extschema@._work_pending() FROM PUBLIC;

-- The same, of the changes made by an instant: an analyst's count of a
-- past day's end reads what held then, a change made later aside.
CREATE FUNCTION @extschema@._work_pending_by(at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM @extschema@._pending_changes() w WHERE w.created_at <= _work_pending_by.at);
END $$;
COMMENT ON FUNCTION @extschema@._work_pending_by(timestamptz) IS
  'Internal: true while the status work list holds a change made at or before at.';
REVOKE ALL ON FUNCTION @extschema@._work_pending_by(timestamptz) FROM PUBLIC;

-- Since when a pending person's new status holds: the earliest change on
-- the list that concerns them; NULL when none does.
CREATE FUNCTION @extschema@._pending_since(person_id bigint) RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  w @extschema@.recalc_work;
BEGIN
  FOR w IN SELECT * FROM @extschema@._pending_changes() x ORDER BY x.id LOOP
    IF @extschema@._work_concerns(w, _pending_since.person_id) THEN
      RETURN w.created_at;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._pending_since(bigint) IS
  'Internal: when the earliest change on the work list that still has to recalculate the person took effect; NULL when none has.';
REVOKE ALL ON FUNCTION @extschema@._pending_since(bigint) FROM PUBLIC;

-- A stored status read at an instant, right even while a change on the
-- work list has yet to recalculate it: then computed fresh from the
-- evidence (as the worker will), with since the change's time where the
-- colour differs from the stored one. For the extension's own functions,
-- which pass rows they read; _read_status is the roles' way in.
CREATE FUNCTION @extschema@._status_now(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  stored @extschema@.status_instant := @extschema@.status_at(s, at);
  f record;
  w @extschema@.recalc_work;
  pending @extschema@.recalc_work[] := '{}';
  since timestamptz;
  tl @extschema@.status_timeline;
  inputs bytea := s.inputs;
  colour @extschema@.risk_colour := stored.colour;
  x @extschema@.reexamined_stays;
BEGIN
  IF s.person_id IS NULL OR NOT @extschema@._work_pending() THEN
    RETURN stored;
  END IF;
  -- the changes on the list that have yet to recalculate the person
  FOR w IN SELECT * FROM @extschema@._pending_changes() y ORDER BY y.id LOOP
    IF @extschema@._work_concerns(w, s.person_id) THEN
      pending := pending || w;
    END IF;
  END LOOP;
  IF cardinality(pending) = 0 THEN
    RETURN stored;
  END IF;
  SELECT (y.timeline).colour, (y.timeline).vaccinated, (y.timeline).reasons, (y.timeline).valid_until,
         (y.timeline).next
    INTO f FROM @extschema@._fresh_status(ARRAY[s.person_id], at) y;
  IF NOT FOUND THEN
    RETURN stored;             -- (the person is gone: their status row goes with them)
  END IF;
  since := pending[1].created_at;
  -- With several changes pending the colour may change at more than one:
  -- follow them as the workers will, oldest first, and date the colour at
  -- the last that changes it.
  IF cardinality(pending) > 1 THEN
    FOREACH w IN ARRAY pending LOOP
      IF w.kind = 'risk_area' AND inputs IS NOT NULL THEN
        x := (@extschema@._stays_judged(@extschema@._work_stays_of(w, ARRAY[s.person_id]), w.created_at))[1];
        tl := CASE WHEN x IS NULL
                   THEN (SELECT y.timeline FROM @extschema@._fresh_status(ARRAY[s.person_id], at) y)
                   ELSE @extschema@._status_from_stored_inputs(inputs, x.ids, x.ats, x.places, x.highs,
                          @extschema@._policy_versions(s.region), at, @extschema@._evidence_horizon(at)) END;
      ELSE
        tl := (SELECT y.timeline FROM @extschema@._fresh_status(ARRAY[s.person_id], at) y);
      END IF;
      EXIT WHEN tl IS NULL;
      IF tl.colour <> colour THEN
        colour := tl.colour;
        since := w.created_at;
      END IF;
      inputs := tl.inputs;
    END LOOP;
  END IF;
  RETURN ROW(f.colour, f.vaccinated, f.reasons,
             CASE WHEN f.colour = stored.colour THEN stored.since ELSE LEAST(since, at) END,
             f.valid_until, f.next)::@extschema@.status_instant;
END $$;
COMMENT ON FUNCTION @extschema@._status_now(@extschema@.person_status, timestamptz) IS
  'Internal: a stored status read at an instant (status_at), or, while a change on the work list has yet to recalculate the person, their status computed fresh from the evidence.';
REVOKE ALL ON FUNCTION @extschema@._status_now(@extschema@.person_status, timestamptz) FROM PUBLIC;

-- The same for a role reading person_status through current_status: a
-- status row made up with the id of a person outside the caller's regions
-- is read as given, never computed from that person's evidence.
CREATE FUNCTION @extschema@._read_status(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF s.region IS NULL OR NOT @extschema@._in_caller_scope(s.region)
     OR NOT EXISTS (SELECT 1 FROM @extschema@.person p WHERE p.id = s.person_id AND p.region = s.region) THEN
    RETURN @extschema@.status_at(s, at);
  END IF;
  RETURN @extschema@._status_now(s, at);
END $$;
COMMENT ON FUNCTION @extschema@._read_status(@extschema@.person_status, timestamptz) IS
  'Internal: _status_now for a row of a person within the caller''s regions (current_status); any other row is read as given.';
REVOKE ALL ON FUNCTION @extschema@._read_status(@extschema@.person_status, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._work_pending() TO healthcode_operator;
GRANT EXECUTE ON FUNCTION @extschema@._read_status(@extschema@.person_status, timestamptz) TO healthcode_operator;

CREATE VIEW @extschema@.current_status WITH (security_invoker = true) AS
SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since,
       (x.v).valid_until
  FROM @extschema@.person_status s
  -- (the work list is asked once a query: nearly always empty)
  CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                  THEN @extschema@._read_status(s, pg_catalog.now())
                                  ELSE @extschema@.status_at(s, pg_catalog.now()) END AS v OFFSET 0) x;
COMMENT ON VIEW @extschema@.current_status IS
  'Every person''s effective status now: the segment of their stored timeline that contains the current time (computed fresh while a change on the work list has yet to recalculate them).';
COMMENT ON COLUMN @extschema@.current_status.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.current_status.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.current_status.colour IS 'The colour now.';
COMMENT ON COLUMN @extschema@.current_status.vaccinated IS 'The "vaccinated" mark now.';
COMMENT ON COLUMN @extschema@.current_status.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.current_status.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.current_status.valid_until IS 'Until when this status holds without new evidence.';

-- ---- recording a change, and the workers ---------------------------------------

CREATE FUNCTION @extschema@._recalc_setting(name text) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_recalc_setting'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._recalc_setting(text) IS
  'Internal: healthcode.recalc_workers, recalc_batch_size or recalc_inline_limit by short name (workers, batch_size, inline_limit), known even before the module is loaded.';
REVOKE ALL ON FUNCTION @extschema@._recalc_setting(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._launch_recalc_workers(wanted integer, after_me boolean) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_launch_recalc_workers'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._launch_recalc_workers(integer, boolean) IS
  'Internal: starts up to wanted background workers on the status work list (after_me: each waits for this transaction to end first); returns how many it could start.';
REVOKE ALL ON FUNCTION @extschema@._launch_recalc_workers(integer, boolean) FROM PUBLIC;

-- The workers running in this database (their backend_type, which
-- hc_recalc_worker.c sets), counted there from what pg_stat_activity
-- shows (the view cost a new process 9.5 ms).
CREATE FUNCTION @extschema@._recalc_workers_running() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_recalc_workers_running'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._recalc_workers_running() IS
  'Internal: how many work list workers run in this database (as pg_stat_activity shows them, backend_type healthcode recalculation).';
REVOKE ALL ON FUNCTION @extschema@._recalc_workers_running() FROM PUBLIC;

-- Of those, the ones that started before the caller and are not in their
-- last look (_recalc_staff).
CREATE FUNCTION @extschema@._recalc_workers_before_me() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_recalc_workers_before_me'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._recalc_workers_before_me() IS
  'Internal: how many work list workers of this database started before the calling process (by backend_start, then pid) and are not in their last look (application_name _recalc_last_look_name()).';
REVOKE ALL ON FUNCTION @extschema@._recalc_workers_before_me() FROM PUBLIC;

-- Starts workers up to healthcode.recalc_workers in this database.
CREATE FUNCTION @extschema@._ensure_recalc_workers(after_me boolean) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  running integer;
BEGIN
  running := @extschema@._recalc_workers_running();
  -- A running worker may be in its last idle look at the list: counted
  -- here, it would exit without seeing the work this transaction records.
  -- So a recording transaction (after_me) starts at least one worker of
  -- its own, which waits for it to end.
  RETURN @extschema@._launch_recalc_workers(
           CASE WHEN after_me THEN greatest(@extschema@._recalc_setting('workers') - running,
                                            least(@extschema@._recalc_setting('workers'), 1))
                ELSE @extschema@._recalc_setting('workers') - running END, after_me);
END $$;
COMMENT ON FUNCTION @extschema@._ensure_recalc_workers(boolean) IS
  'Internal: starts as many workers as healthcode.recalc_workers asks for beyond those running in this database (after_me: at least one, which first waits for this transaction); returns how many it started.';
REVOKE ALL ON FUNCTION @extschema@._ensure_recalc_workers(boolean) FROM PUBLIC;

-- After a restart (or a crash) no worker runs until something starts one:
-- with the module preloaded, its launcher (hc_recalc_worker.c) calls this
-- in every database once the server accepts writes, so a list cut short
-- resumes by itself. (Run as the owner: the workers are started as it.)
CREATE FUNCTION @extschema@._resume_recalc() RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._ensure_recalc_workers(false);
END $$;
COMMENT ON FUNCTION @extschema@._resume_recalc() IS
  'Internal: starts workers up to healthcode.recalc_workers where the work list holds a change (what the launcher does in each database after a restart or a crash); returns how many it started.';
REVOKE ALL ON FUNCTION @extschema@._resume_recalc() FROM PUBLIC;

-- The application_name of a worker in its last look at the list
-- (hc_recalc_worker.c sets it; written there only).
CREATE FUNCTION @extschema@._recalc_last_look_name() RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_recalc_last_look_name'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._recalc_last_look_name() IS
  'Internal: the application_name a work list worker takes for its last look at the list before it exits (set in hc_recalc_worker.c), which _recalc_workers_before_me looks for (and pg_stat_activity shows).';
REVOKE ALL ON FUNCTION @extschema@._recalc_last_look_name() FROM PUBLIC;

-- What a worker not at work (starting, idle, or finding the rest of the
-- list in other workers' hands) asks before it looks at the list: -1, it
-- should leave, when as many workers as wanted started before it and are
-- not in their last look (the changes' parts, healthcode.recalc_workers
-- where each was recorded; the setting, when the list is empty); else how
-- many workers it started, up to those parts, where fewer run.
--   A recording transaction starts a worker of its own even where enough
-- run, as one may be ending its last look without seeing the change (see
-- _ensure_recalc_workers); the newer ones leave here, so changes that come
-- before the workers idle out do not pile workers up, one more each. A
-- worker marked in its last look (hc_recalc_worker.c: its application_name
-- then, set before its snapshot is taken) is not counted: it may exit
-- without seeing the change. One not so marked now takes its next
-- look later, so it sees what committed before, and the leaving worker
-- checks only once what recorded it has committed. So no change is left
-- without a worker; a worker too many at most stays for that change. And
-- a worker idle when a change was recorded, counted as running, may have
-- ended its last look since: the one that takes the change up starts the
-- missing ones here.
CREATE FUNCTION @extschema@._recalc_staff() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  asked integer := (SELECT max(w.parts) FROM @extschema@.recalc_work w);
  wanted integer := coalesce(asked, greatest(@extschema@._recalc_setting('workers'), 0));
  older integer := @extschema@._recalc_workers_before_me();
  running integer := @extschema@._recalc_workers_running();
BEGIN
  IF older >= wanted THEN
    RETURN -1;
  END IF;
  IF asked IS NULL OR running >= asked THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._launch_recalc_workers(asked - running, false);
END $$;
COMMENT ON FUNCTION @extschema@._recalc_staff() IS
  'Internal: asked by a work list worker not at work: -1 (leave) when as many workers as the list asks for (its changes'' parts, or healthcode.recalc_workers when it is empty) started before it in this database and are not in their last look; else starts workers up to the changes'' parts where fewer run and returns how many.';
REVOKE ALL ON FUNCTION @extschema@._recalc_staff() FROM PUBLIC;

-- How many rows a change touches (the stays a risk-area change re-examines,
-- the people a policy or everyone change concerns), counted up to upto and
-- no further: whether it is recalculated in its statement or goes on the
-- work list. Only an index scan stops at upto: a bitmap scan collects
-- every entry of the range before its first row, and the range's size is
-- unknown when the plan is made (a parameterized scan, costed as a whole,
-- not by its first rows). Counting to 1 over a city's 10,000,000 stays read
-- all of them: 0.3 s of the designating statement at 1,000,000 people, and
-- minutes for a province.
CREATE FUNCTION @extschema@._recalc_touched(kind text, areas @extschema@.risk_area[], regions text[],
                                            horizon timestamptz, upto bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
DECLARE
  touched bigint := 0;
  a @extschema@.risk_area;
  n bigint;
BEGIN
  IF kind = 'risk_area' THEN
    -- The stays _work_stays_sql() finds, an area at a time, the area a
    -- value of the query (planned with it), not a row joined to travel:
    -- as a join the planner may keep the lower bound of place out of a
    -- partition's index condition (on a day partition without statistics,
    -- where both paths cost the same), and the scan then reads every
    -- entry below the area before its first row (679 entries for a limit
    -- of 4 in status_work_stays.sql). As values both bounds are always
    -- in it.
    FOREACH a IN ARRAY areas LOOP
      EXIT WHEN touched >= upto;
      EXECUTE format('SELECT count(*) FROM (%s LIMIT $3) x',
                     @extschema@._work_stays_sql('', areas => '(SELECT ($1).*)'))
        INTO n USING a, horizon, upto - touched;
      touched := touched + n;
    END LOOP;
  ELSIF kind = 'policy' THEN
    SELECT count(*) INTO touched
      FROM (SELECT 1 FROM unnest(regions) r(code)
              JOIN @extschema@.person p ON p.region >= r.code AND p.region <= @extschema@.division_last(r.code)
             LIMIT upto) x;
  ELSE
    SELECT count(*) INTO touched FROM (SELECT 1 FROM @extschema@.person p LIMIT upto) x;
  END IF;
  RETURN touched;
END $$;
COMMENT ON FUNCTION @extschema@._recalc_touched(text, @extschema@.risk_area[], text[], timestamptz, bigint) IS
  'Internal: how many stays (risk_area: of the designations areas since horizon) or people (policy: governed by regions; everyone) a change touches, counted up to upto, reading no further.';
REVOKE ALL ON FUNCTION @extschema@._recalc_touched(text, @extschema@.risk_area[], text[], timestamptz, bigint) FROM PUBLIC;

-- What the risk-area and policy triggers call (holding the evidence lock
-- exclusively): a change that touches few rows is recalculated here, as
-- before; a larger one goes on the work list, and the statement is done.
-- kind risk_area: areas; policy: regions; everyone: neither.
CREATE FUNCTION @extschema@._recalc_changed(kind text, areas @extschema@.risk_area[], regions text[], cause text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  lim bigint := @extschema@._recalc_setting('inline_limit');
  horizon timestamptz := @extschema@._evidence_horizon(statement_timestamp());
  stays @extschema@.reexamined_stays[];
BEGIN
  -- (an inline limit of 0 sends every change to the list: nothing to count)
  IF lim > 0 AND @extschema@._recalc_touched(kind, areas, regions, horizon, lim + 1) <= lim THEN
    IF kind = 'risk_area' THEN
      stays := @extschema@._stays_in_changed_areas(areas, horizon);
      PERFORM @extschema@._recompute(ARRAY(SELECT s.person_id FROM unnest(stays) s), cause,
                                     exclusive => true, changed_stays => stays);
    ELSIF kind = 'policy' THEN
      PERFORM @extschema@._recompute(@extschema@._people_governed(regions), cause, exclusive => true);
    ELSE
      PERFORM @extschema@._recompute(ARRAY(SELECT p.id FROM @extschema@.person p), cause, exclusive => true);
    END IF;
    RETURN;
  END IF;
  -- created_at is taken now, holding the lock: a recalculation that ran
  -- without seeing this change finished before it (the lock orders them),
  -- so nothing older than created_at can pass for its result
  INSERT INTO @extschema@.recalc_work (kind, areas, regions, cause, created_at, horizon, parts)
  VALUES (kind, CASE WHEN kind = 'risk_area' THEN areas END, CASE WHEN kind = 'policy' THEN regions END,
          cause, clock_timestamp(), horizon, least(greatest(@extschema@._recalc_setting('workers'), 1), 64));
  PERFORM @extschema@._ensure_recalc_workers(true);
END $$;
COMMENT ON FUNCTION @extschema@._recalc_changed(text, @extschema@.risk_area[], text[], text) IS
  'Internal: recalculates the people a risk-area (areas), policy (regions) or everyone change concerns, in this statement when it touches at most healthcode.recalc_inline_limit rows, else by recording it on the work list for the workers.';
REVOKE ALL ON FUNCTION @extschema@._recalc_changed(text, @extschema@.risk_area[], text[], text) FROM PUBLIC;

-- Forgets the gone stays that no change left on the list can have listed:
-- every change recorded after a stay went was listed without it (its
-- statement waited, for the evidence lock, for the removal to commit).
CREATE FUNCTION @extschema@._forget_gone_stays() RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  DELETE FROM @extschema@.recalc_gone_stays g
   WHERE g.gone_at OPERATOR(pg_catalog.<)
         coalesce((SELECT pg_catalog.min(x.created_at) FROM @extschema@.recalc_work x WHERE x.kind = 'risk_area'),
                  'infinity');
END;
COMMENT ON FUNCTION @extschema@._forget_gone_stays() IS
  'Internal: deletes the rows of recalc_gone_stays older than every risk-area change on the work list (all, when none is left).';
REVOKE ALL ON FUNCTION @extschema@._forget_gone_stays() FROM PUBLIC;

-- One step of a worker, in a transaction of its own: list a part of the
-- people of the oldest change not listed yet (each worker its own part, so
-- that a province's listing runs on every core), or recalculate a batch of
-- the oldest listed one. Returns how many people it listed or recalculated; 0 when
-- the batches left are all in other workers' hands; -1 when the list is
-- empty. Two workers never take the same rows (SKIP LOCKED).
CREATE FUNCTION @extschema@._recalc_step(batch integer DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer := coalesce(batch, @extschema@._recalc_setting('batch_size'));
  w @extschema@.recalc_work;
  persons bigint[];
  listed @extschema@.reexamined_stays[];
  checked timestamptz;
  from_id bigint;
  -- (the first id of all: ids need not be positive)
  first_id constant bigint := -9223372036854775808;
  part integer;
  now_w @extschema@.recalc_work;
BEGIN
  IF n IS NULL OR n < 1 THEN
    RAISE EXCEPTION 'batch must be at least 1, not %', coalesce(n::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  -- (each statement must see what committed before it: a listing after a
  -- removal's commit; a batch's status rows and gone stays, read together;
  -- its locked pass, the stays removed by a transaction it waited for)
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'the status work list is worked in READ COMMITTED transactions, not %',
      current_setting('transaction_isolation') USING ERRCODE = '25000';
  END IF;
  -- a part of a change not listed yet that no other worker is listing
  -- (its advisory lock, held to the end of this transaction; the change
  -- read again once it is held, as a worker that had it may have just
  -- listed it)
  FOR w IN SELECT * FROM @extschema@.recalc_work x WHERE x.listed_at IS NULL ORDER BY x.id LOOP
    FOR part IN 0 .. w.parts - 1 LOOP
      CONTINUE WHEN part = ANY (w.parts_done)
                 OR NOT pg_try_advisory_xact_lock(hashtext('healthcode listing'), hashtext(w.id || ':' || part));
      SELECT * INTO now_w FROM @extschema@.recalc_work x WHERE x.id = w.id;
      CONTINUE WHEN NOT FOUND OR part = ANY (now_w.parts_done);
      -- (this session's batches of the change start in the part it lists:
      -- each worker's in its own range until those run out)
      PERFORM set_config('hc_recalc.from', w.id || ':' || (@extschema@._part_ids(part, w.parts)).first_id, false);
      RETURN greatest(@extschema@._list_work(now_w, part), 1);
    END LOOP;
  END LOOP;
  -- (shared, as every evidence trigger: a small designation recalculated
  -- in its own statement holds it exclusively and must not meet a batch)
  PERFORM @extschema@._evidence_lock(false);
  FOR w IN SELECT * FROM @extschema@.recalc_work x WHERE x.listed_at IS NOT NULL ORDER BY x.id LOOP
    -- From where this session's last batch of the change ended (first, the
    -- start of the part it listed, if it listed one): a scan from
    -- the start would pass every row earlier batches deleted, and while two
    -- workers' transactions overlap those cannot be marked dead in the
    -- index, so each batch would cost more than the last. (A row skipped
    -- because another worker held it and then rolled back is found by one
    -- scan from the start when nothing is left after the mark.)
    from_id := CASE WHEN split_part(current_setting('hc_recalc.from', true), ':', 1) = w.id::text
                    THEN split_part(current_setting('hc_recalc.from', true), ':', 2)::bigint ELSE first_id END;
    SELECT t.taken, t.listed INTO persons, listed FROM @extschema@._take_batch(w, from_id, n) t;
    IF persons IS NULL AND from_id > first_id THEN
      SELECT t.taken, t.listed INTO persons, listed FROM @extschema@._take_batch(w, first_id, n) t;
    END IF;
    IF persons IS NOT NULL THEN
      -- (after the largest id of all, nothing: the start again)
      PERFORM set_config('hc_recalc.from', w.id || ':' || CASE WHEN persons[cardinality(persons)] = 9223372036854775807
                                                               THEN first_id ELSE persons[cardinality(persons)] + 1 END,
                         false);
    END IF;
    IF persons IS NULL THEN
      -- done, unless other workers still hold its last rows
      DELETE FROM @extschema@.recalc_work x
       WHERE x.id = w.id AND NOT EXISTS (SELECT 1 FROM @extschema@.recalc_pending r WHERE r.work_id = w.id);
      IF FOUND AND w.kind = 'risk_area' THEN
        PERFORM @extschema@._forget_gone_stays();
      END IF;
      CONTINUE;
    END IF;
    IF w.kind = 'check' THEN
      -- a consistency check: what readers see against a full recalculation,
      -- now (a stored timeline is read from its computed_at on, so never
      -- at an earlier instant: the clock, as wait_for_recalc's steps share
      -- one statement); the differences kept for the DBA
      checked := clock_timestamp();
      INSERT INTO @extschema@.consistency_finding (check_id, person_id, checked_at, stored, recomputed)
      SELECT w.id, c.person_id, checked, c.stored, c.recomputed
        FROM @extschema@._consistency_of(persons, checked) c;
      RETURN cardinality(persons);
    END IF;
    PERFORM @extschema@._recalc_people(w, persons, listed);
    RETURN cardinality(persons);
  END LOOP;
  IF EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN 0;
  END IF;
  PERFORM @extschema@._forget_gone_stays();
  RETURN -1;
END $$;
COMMENT ON FUNCTION @extschema@._recalc_step(integer) IS
  'Internal: one step of the work list in the caller''s transaction: lists a part of the people of the oldest change not listed yet (a part no other worker lists), or recalculates a batch (default healthcode.recalc_batch_size) of the oldest listed one and takes them off the list. Returns how many people; 0 when what is left is in other workers'' hands, -1 when the list is empty.';
REVOKE ALL ON FUNCTION @extschema@._recalc_step(integer) FROM PUBLIC;

-- ---- watching and waiting ---------------------------------------------------------

CREATE FUNCTION @extschema@._recalc_progress()
RETURNS TABLE (work_id bigint, kind text, cause text, created_at timestamptz, listed_at timestamptz,
               people bigint, people_left bigint, per_second numeric, expected_end timestamptz,
               workers integer)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT w.id, w.kind, w.cause, w.created_at, w.listed_at,
         CASE WHEN w.listed_at IS NOT NULL THEN w.people END, l.people_left,
         pg_catalog.round(r.rate, 1),
         CASE WHEN r.rate OPERATOR(pg_catalog.>) 0 THEN pg_catalog.clock_timestamp()
                                   OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => l.people_left::double precision OPERATOR(pg_catalog./) r.rate::double precision) END,
         @extschema@._recalc_workers_running()
    FROM @extschema@.recalc_work w
    CROSS JOIN LATERAL (SELECT CASE WHEN w.listed_at IS NOT NULL THEN pg_catalog.count(*) END AS people_left
                          FROM @extschema@.recalc_pending p
                         WHERE p.work_id OPERATOR(pg_catalog.=) w.id) l
    CROSS JOIN LATERAL (SELECT CASE WHEN w.listed_at IS NOT NULL
                                     AND pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) w.listed_at
                               THEN (w.people OPERATOR(pg_catalog.-) l.people_left)::numeric
                                    OPERATOR(pg_catalog./) EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) w.listed_at) END AS rate) r
   ORDER BY w.id;
END;
COMMENT ON FUNCTION @extschema@._recalc_progress() IS 'Internal: the rows of recalc_progress.';
REVOKE ALL ON FUNCTION @extschema@._recalc_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._recalc_progress() TO healthcode_admin;
CREATE VIEW @extschema@.recalc_progress AS
SELECT f.work_id, f.kind, f.cause, f.created_at, f.listed_at, f.people, f.people_left, f.per_second,
       f.expected_end, f.workers
  FROM @extschema@._recalc_progress() f;
COMMENT ON VIEW @extschema@.recalc_progress IS
  'The status work list: each change still being recalculated, how many people it concerns and has left, the rate since they were listed, when it should be done at that rate, and how many workers run in this database. Empty when nothing is pending.';
COMMENT ON COLUMN @extschema@.recalc_progress.work_id IS 'The change.';
COMMENT ON COLUMN @extschema@.recalc_progress.kind IS 'risk_area, policy, everyone or check.';
COMMENT ON COLUMN @extschema@.recalc_progress.cause IS 'What changed (as status_history records it).';
COMMENT ON COLUMN @extschema@.recalc_progress.created_at IS 'When the change took effect.';
COMMENT ON COLUMN @extschema@.recalc_progress.listed_at IS 'When its people were listed (NULL: not yet).';
COMMENT ON COLUMN @extschema@.recalc_progress.people IS 'People it concerns (NULL until listed).';
COMMENT ON COLUMN @extschema@.recalc_progress.people_left IS 'People not recalculated yet (NULL until listed).';
COMMENT ON COLUMN @extschema@.recalc_progress.per_second IS 'People recalculated a second since they were listed.';
COMMENT ON COLUMN @extschema@.recalc_progress.expected_end IS 'When the last should be done at that rate.';
COMMENT ON COLUMN @extschema@.recalc_progress.workers IS 'Workers running in this database.';
REVOKE ALL ON @extschema@.recalc_progress FROM PUBLIC;
GRANT SELECT ON @extschema@.recalc_progress TO healthcode_admin;

-- One turn of wait_for_recalc (which cannot run as the owner itself: a
-- procedure that commits may be neither SECURITY DEFINER nor SET a
-- setting): -1 when the list is empty; else starts workers up to
-- healthcode.recalc_workers and, with none running (none allowed, or no
-- free slot), does one step itself: how many people it did (0: it waits).
CREATE FUNCTION @extschema@._recalc_wait_step() RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN -1;
  END IF;
  PERFORM @extschema@._ensure_recalc_workers(false);
  IF @extschema@._recalc_workers_running() > 0 THEN
    RETURN 0;
  END IF;
  RETURN greatest(@extschema@._recalc_step(), 0);
END $$;
COMMENT ON FUNCTION @extschema@._recalc_wait_step() IS
  'Internal: one turn of wait_for_recalc: -1 when the work list is empty; else starts workers and, with none running, does one step itself (returns how many people; 0 while workers do the work).';
REVOKE ALL ON FUNCTION @extschema@._recalc_wait_step() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._recalc_wait_step() TO healthcode_admin;

-- Waits until the work list is empty, starting workers where none run
-- (after a restart, none does until something starts them: this, the next
-- large change, or a scheduled call). With no worker to be had, it works
-- the list itself, committing after each batch: CALL it outside a
-- transaction block. (It runs as its caller, who needs only EXECUTE on
-- it and on _recalc_wait_step: hence every name schema-qualified.)
CREATE PROCEDURE @extschema@.wait_for_recalc(timeout interval DEFAULT interval '1 hour')
LANGUAGE plpgsql
AS $$
DECLARE
  deadline timestamptz := pg_catalog.clock_timestamp()
                          OPERATOR(pg_catalog.+) coalesce(timeout, interval '1 hour');
  done integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN;
  END IF;
  LOOP
    -- (each turn a transaction of its own, READ COMMITTED whatever the
    -- session's default: _recalc_step)
    COMMIT;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    done := @extschema@._recalc_wait_step();
    COMMIT;
    EXIT WHEN done OPERATOR(pg_catalog.<) 0;
    IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) deadline THEN
      RAISE EXCEPTION 'the status work list is not done after %', timeout USING ERRCODE = '57014',
        HINT = 'SELECT * FROM healthcode.recalc_progress; shows what is left.';
    END IF;
    IF done OPERATOR(pg_catalog.=) 0 THEN
      PERFORM pg_catalog.pg_sleep(0.05);
    END IF;
  END LOOP;
END $$;
COMMENT ON PROCEDURE @extschema@.wait_for_recalc(interval) IS
  'Waits until the status work list is empty (57014 after timeout), starting workers up to healthcode.recalc_workers; with none to be had, works through the list itself, committing after each batch. CALL it outside a transaction block while work is pending.';
REVOKE ALL ON PROCEDURE @extschema@.wait_for_recalc(interval) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.wait_for_recalc(interval) TO healthcode_admin;

-- ---- the consistency check, on the workers ------------------------------------------

-- check_consistency() recalculates everyone in the caller's statement, a
-- batch at a time; a large node asks the workers instead: both cores, a
-- transaction a batch, and the findings kept in a table to watch.
CREATE TABLE @extschema@.consistency_finding (
  check_id      bigint NOT NULL,
  person_id     bigint NOT NULL,
  checked_at    timestamptz NOT NULL,
  stored        jsonb,
  recomputed    jsonb,
  CONSTRAINT consistency_finding_pkey PRIMARY KEY (check_id, person_id)
);
COMMENT ON TABLE @extschema@.consistency_finding IS
  'What consistency checks run by the workers found (start_consistency_check): each person whose status as readers see it differed from a full recalculation, as check_consistency() returns them. No row for a check: nothing wrong.';
COMMENT ON COLUMN @extschema@.consistency_finding.check_id IS 'The check (its recalc_work id, which start_consistency_check returned).';
COMMENT ON COLUMN @extschema@.consistency_finding.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.consistency_finding.checked_at IS 'When their batch was checked.';
COMMENT ON COLUMN @extschema@.consistency_finding.stored IS 'Their status as readers saw it (as check_consistency()).';
COMMENT ON COLUMN @extschema@.consistency_finding.recomputed IS 'Their status recalculated from the evidence.';
REVOKE ALL ON @extschema@.consistency_finding FROM PUBLIC;
GRANT SELECT, DELETE ON @extschema@.consistency_finding TO healthcode_admin;

CREATE FUNCTION @extschema@.start_consistency_check() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO @extschema@.recalc_work (kind, cause, created_at, horizon, parts)
  VALUES ('check', 'consistency check', clock_timestamp(), @extschema@._evidence_horizon(statement_timestamp()),
          least(greatest(@extschema@._recalc_setting('workers'), 1), 64))
  RETURNING recalc_work.id INTO id;
  PERFORM @extschema@._ensure_recalc_workers(true);
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.start_consistency_check() IS
  'Puts a consistency check of everyone on the work list for the workers (a batch at a time, each checked when its batch runs) and returns its id; recalc_progress shows it, CALL wait_for_recalc() waits for it, and consistency_finding holds what it found (nothing: all right).';
REVOKE ALL ON FUNCTION @extschema@.start_consistency_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.start_consistency_check() TO healthcode_admin;
