-- The statement triggers that keep every status current: every kind of
-- write to the evidence tables (INSERT, multi-row INSERT, UPDATE, DELETE,
-- COPY, TRUNCATE), risk-area bulletins changing, lab corrections, imports
-- that are idempotent, history rows that say why, recalculation of exactly
-- the people affected, and the travel day partitions (retention).
BEGIN;
SET search_path = public, healthcode;
\ir lib/common.psql
SELECT plan(138);

-- ---- concurrent writers (needs commits: other backends) -----------------------
-- doc/status.md: under READ COMMITTED no concurrent change is lost. One
-- transaction (A) records evidence while another (B) changes what it
-- means; once both have finished, every stored status must follow from
-- the evidence. B runs asynchronously so that a fix making it wait for A
-- cannot hang the test; an error B may get is reported, not raised.
-- Runs through dblink before this transaction touches any table (even a
-- function body naming one would lock it), and removes what it committed.
-- (:conn comes from lib/common.psql.)
SELECT dblink_connect('race_a', :'conn') AS x \gset
SELECT dblink_connect('race_b', :'conn') AS x \gset
SELECT dblink_exec('race_a', $$SET lock_timeout = '20s'$$) AS x \gset
SELECT dblink_exec('race_b', $$SET lock_timeout = '20s'$$) AS x \gset
CREATE FUNCTION pg_temp.race_cleanup() RETURNS text LANGUAGE sql AS $$
  SELECT dblink_exec('race_b', $q$
    DELETE FROM healthcode.person WHERE subject IN (SELECT healthcode.pseudonym('status_triggers:race ' || n)
                                                     FROM generate_series(1, 3) n);
    DELETE FROM healthcode.risk_area WHERE bulletin = 'status_triggers race';
    DELETE FROM healthcode.policy WHERE description_en = 'status_triggers race'$q$) $$;
-- B's statement, sent while A is open; once B has finished (or waits for
-- a lock A holds), A commits; then B's outcome
CREATE FUNCTION pg_temp.race(b_statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  outcome text;
  b_pid integer := (SELECT x FROM dblink('race_b', 'SELECT pg_backend_pid()') AS t(x integer));
BEGIN
  PERFORM dblink_send_query('race_b', b_statement);
  FOR i IN 1 .. 2000 LOOP
    EXIT WHEN dblink_is_busy('race_b') = 0 OR cardinality(pg_blocking_pids(b_pid)) > 0;
    PERFORM pg_sleep(0.01);
  END LOOP;
  PERFORM dblink_exec('race_a', 'COMMIT');
  SELECT string_agg(x, ' ') INTO outcome FROM dblink_get_result('race_b', false) AS t(x text);
  PERFORM * FROM dblink_get_result('race_b', false) AS t(x text);
  RETURN outcome;
END $$;
CREATE FUNCTION pg_temp.race_consistent(pid bigint) RETURNS boolean LANGUAGE sql AS $$
  SELECT x = '0' FROM dblink('race_b', format(
    'SELECT count(*)::text FROM healthcode.check_consistency() WHERE person_id = %s', pid)) AS t(x text) $$;
SELECT pg_temp.race_cleanup() AS x \gset
-- (the days of the races' stays: a day ago, and an hour before that, which
-- is the day before between midnight and one o'clock; the partitions made
-- here are dropped at the end)
SELECT x AS race_new_days FROM dblink('race_b', $$
  SELECT coalesce(string_agg(to_char(g, 'YYYYMMDD'), ','), '')
    FROM generate_series(((now() - interval '25 hours') AT TIME ZONE 'Asia/Shanghai')::date,
                         ((now() - interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date, interval '1 day') g
   WHERE to_regclass('healthcode.travel_' || to_char(g, 'YYYYMMDD')) IS NULL$$) AS t(x text) \gset
SELECT x AS race_made FROM dblink('race_b', $$SELECT healthcode.create_travel_partitions(
         ((now() - interval '25 hours') AT TIME ZONE 'Asia/Shanghai')::date,
         ((now() - interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date)::text$$) AS t(x text) \gset
SELECT x::bigint AS race1 FROM dblink('race_b', $$
  INSERT INTO healthcode.person (region, subject) VALUES ('110105', healthcode.pseudonym('status_triggers:race 1'))
  RETURNING id::text$$) AS t(x text) \gset
SELECT x::bigint AS race2 FROM dblink('race_b', $$
  INSERT INTO healthcode.person (region, subject) VALUES ('110105', healthcode.pseudonym('status_triggers:race 2'))
  RETURNING id::text$$) AS t(x text) \gset
SELECT dblink_exec('race_b', $$
  INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
  VALUES ('460107', 'medium', now() - interval '10 days', 'status_triggers race'),
         ('460108', 'medium', now() - interval '10 days', 'status_triggers race')$$) AS x \gset
-- 1. a stay is recorded (A) while its area is designated high risk (B)
SELECT dblink_exec('race_a', 'BEGIN') AS x \gset
SELECT dblink_exec('race_a', format($$INSERT INTO healthcode.travel (person_id, region, place, at, source)
  VALUES (%s, '110105', '460106', now() - interval '1 day', 'telecom')$$, :race1)) AS x \gset
SELECT pg_temp.race($$INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
  VALUES ('460106', 'high', now() - interval '10 days', 'status_triggers race')$$) AS x \gset
SELECT ok(pg_temp.race_consistent(:race1),
          'concurrent: a stay recorded while its area is designated high risk: the status follows once both commit');
-- 2. a stay in a medium-risk area is recorded (A) while the area is upgraded (B)
SELECT dblink_exec('race_a', 'BEGIN') AS x \gset
SELECT dblink_exec('race_a', format($$INSERT INTO healthcode.travel (person_id, region, place, at, source)
  VALUES (%s, '110105', '460107', now() - interval '1 day', 'telecom')$$, :race2)) AS x \gset
SELECT pg_temp.race($$UPDATE healthcode.risk_area SET level = 'high'
  WHERE division = '460107' AND bulletin = 'status_triggers race'$$) AS x \gset
SELECT ok(pg_temp.race_consistent(:race2),
          'concurrent: a medium-risk stay recorded while the area is upgraded: the status follows once both commit');
-- 3. a person with a medium-risk stay is registered (A) while their province gets a 1-day lookback (B)
SELECT dblink_exec('race_a', 'BEGIN') AS x \gset
SELECT x::bigint AS race3 FROM dblink('race_a', $$
  INSERT INTO healthcode.person (region, subject) VALUES ('460105', healthcode.pseudonym('status_triggers:race 3'))
  RETURNING id::text$$) AS t(x text) \gset
SELECT dblink_exec('race_a', format($$INSERT INTO healthcode.travel (person_id, region, place, at, source)
  VALUES (%s, '460105', '460108', now() - interval '1 day' - interval '1 hour', 'telecom')$$, :race3)) AS x \gset
SELECT pg_temp.race($$INSERT INTO healthcode.policy (region, lookback_days, description_zh, description_en)
  VALUES ('460000', 1, 'status_triggers race', 'status_triggers race')$$) AS x \gset
SELECT ok(pg_temp.race_consistent(:race3),
          'concurrent: a person registered while their province''s policy changes: the status follows once both commit');
-- 4. a person with a stay moves region (B) while a recalculation holds the
-- evidence lock exclusively (A) and then upgrades the area of that stay:
-- B must wait before its cascade touches the status row A is to update
-- (else each waits for the other, and one is aborted as a deadlock)
SELECT dblink_exec('race_b', format($$INSERT INTO healthcode.travel (person_id, region, place, at, source)
  VALUES (%s, '110105', '460108', now() - interval '1 day', 'telecom')$$, :race1)) AS x \gset
SELECT dblink_exec('race_a', 'BEGIN') AS x \gset
SELECT x AS locked FROM dblink('race_a', 'SELECT healthcode._evidence_lock(true)::text') AS t(x text) \gset
SELECT dblink_send_query('race_b', format('UPDATE healthcode.person SET region = %L WHERE id = %s', '110108', :race1))
  AS x \gset
-- (waits until B's UPDATE is blocked: it must not have started A's part first)
CREATE FUNCTION pg_temp.b_blocked() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  b_pid integer;
BEGIN
  FOR i IN 1 .. 2000 LOOP
    -- (pg_stat_activity is read once a transaction unless told otherwise:
    -- without this, a B not yet active at the first look is never seen,
    -- the loop waits its 20 s, and B's lock_timeout ends B)
    PERFORM pg_stat_clear_snapshot();
    SELECT a.pid INTO b_pid FROM pg_stat_activity a
     WHERE a.query LIKE 'UPDATE healthcode.person SET region%' AND a.state = 'active';
    EXIT WHEN b_pid IS NOT NULL AND cardinality(pg_blocking_pids(b_pid)) > 0;
    PERFORM pg_sleep(0.01);
  END LOOP;
  RETURN b_pid IS NOT NULL;
END $$;
SELECT pg_temp.b_blocked() AS b_waits \gset
SELECT dblink_exec('race_a', $$UPDATE healthcode.risk_area SET level = 'high'
  WHERE division = '460108' AND bulletin = 'status_triggers race'$$, false) AS a_outcome \gset
SELECT dblink_exec('race_a', 'COMMIT', false) AS x \gset
SELECT coalesce(string_agg(x, ' '), 'an error') AS b_outcome FROM dblink_get_result('race_b', false) AS t(x text) \gset
SELECT x FROM dblink_get_result('race_b', false) AS t(x text);
SELECT is(:'a_outcome' || ' / ' || :'b_outcome', 'UPDATE 1 / UPDATE 1',
          'concurrent: a person moving while an area is upgraded under the exclusive evidence lock: both finish, no deadlock');
SELECT ok(pg_temp.race_consistent(:race1), 'and the status follows once both commit');
SELECT pg_temp.race_cleanup() AS x \gset
SELECT count(dblink_exec('race_b', format('DROP TABLE healthcode.%I', 'travel_' || d))) AS x
  FROM unnest(string_to_array(:'race_new_days', ',')) d \gset
SELECT dblink_disconnect('race_a') AS x \gset
SELECT dblink_disconnect('race_b') AS x \gset

-- ---- helpers ------------------------------------------------------------------
-- (and pg_temp.colour and pg_temp.rules, from lib/common.psql)
CREATE FUNCTION pg_temp.person(tag text, region text DEFAULT '110105', id bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO healthcode.person (id, region, subject, registered_at)
  VALUES (coalesce(id, nextval('healthcode.person_id_seq')), region,
          healthcode.pseudonym('status_triggers:' || tag), now() - interval '60 days')
  RETURNING id $$;
-- the person's latest history row: "cause: from -> to"
CREATE FUNCTION pg_temp.last_change(pid bigint) RETURNS text
LANGUAGE sql AS $$
  SELECT h.cause || ': ' || coalesce(h.from_colour::text, '-') || ' -> ' || h.to_colour
    FROM healthcode.status_history h WHERE h.person_id = pid ORDER BY h.at DESC, h.recorded_at DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.history_count(pid bigint) RETURNS bigint
LANGUAGE sql AS $$ SELECT count(*) FROM healthcode.status_history h WHERE h.person_id = pid $$;
CREATE FUNCTION pg_temp.day(t timestamptz) RETURNS text
LANGUAGE sql AS $$ SELECT 'travel_' || to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') $$;
CREATE FUNCTION pg_temp.partition_exists(name text) RETURNS boolean
LANGUAGE sql AS $$ SELECT to_regclass('healthcode.' || quote_ident(name)) IS NOT NULL $$;
-- Who was recalculated: a recalculation rewrites a stored status only when
-- it differs from the fresh one, so snapshot() also marks every open-ended
-- status (valid_until infinity, no later segments) with a bogus later
-- segment that no read consults but any recalculation would overwrite.
-- rewritten() lists the people whose row changed since, and removes the marks.
CREATE TEMP TABLE snap (person_id bigint PRIMARY KEY, computed_at timestamptz);
CREATE FUNCTION pg_temp.snapshot() RETURNS bigint LANGUAGE sql AS $$
  DELETE FROM snap;
  INSERT INTO snap SELECT person_id, computed_at FROM healthcode.person_status;
  UPDATE healthcode.person_status SET next = '[{"marker": true}]'
   WHERE valid_until = 'infinity' AND next = '[]';
  SELECT count(*) FROM snap $$;
CREATE FUNCTION pg_temp.rewritten() RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
  r bigint[];
BEGIN
  r := ARRAY(SELECT s.person_id FROM healthcode.person_status s LEFT JOIN snap USING (person_id)
              WHERE snap.computed_at IS DISTINCT FROM s.computed_at ORDER BY s.person_id);
  UPDATE healthcode.person_status SET next = '[]' WHERE next = '[{"marker": true}]';
  RETURN r;
END $$;

-- ---- retention: day partitions ---------------------------------------------------
-- Every day from 45 days ago to tomorrow, except 6 days ago: an import
-- (import_travel makes every day between its first and last record's) makes
-- that one later in the transaction, after risk areas have changed.
SELECT pg_temp.day(now() - interval '6 days') AS late_part \gset
SET client_min_messages = warning;
DROP TABLE IF EXISTS healthcode.:"late_part";
RESET client_min_messages;
SELECT ok(create_travel_partitions(((now() - interval '45 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                   ((now() - interval '7 days') AT TIME ZONE 'Asia/Shanghai')::date) >= 0
          AND create_travel_partitions(((now() - interval '5 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                       ((now() + interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date) >= 0,
          'create_travel_partitions makes the missing day partitions');
SELECT ok(pg_temp.partition_exists(pg_temp.day(now() - interval '45 days'))
          AND pg_temp.partition_exists(pg_temp.day(now()))
          AND pg_temp.partition_exists(pg_temp.day(now() + interval '1 day')),
          'a partition travel_YYYYMMDD exists for every day asked for');
SELECT ok(NOT pg_temp.partition_exists(:'late_part'), 'and none for a day not asked for');
SELECT is(create_travel_partitions(((now() - interval '45 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                   ((now() - interval '7 days') AT TIME ZONE 'Asia/Shanghai')::date),
          0, 'create_travel_partitions is idempotent: a second call makes none');
SELECT is((SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'healthcode.travel'::regclass
              AND c.relname = pg_temp.day(now() - interval '3 days')),
          1::bigint, 'the day partition is a partition of travel');
SELECT is((SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c
            WHERE c.oid = ('healthcode.' || pg_temp.day(now()))::regclass),
          format('FOR VALUES FROM (%L) TO (%L)',
                 ((now() AT TIME ZONE 'Asia/Shanghai')::date::timestamp AT TIME ZONE 'Asia/Shanghai'),
                 (((now() AT TIME ZONE 'Asia/Shanghai')::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')),
          'a partition holds one China Standard Time day');

INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES
  ('330106', 'high',   now() - interval '30 days', 'status_triggers: high'),
  ('330108', 'medium', now() - interval '30 days', 'status_triggers: medium'),
  ('430102', 'medium', now() - interval '10 days', 'status_triggers: changing');

-- ---- INSERT ----------------------------------------------------------------------
SELECT pg_temp.person('insert') AS p_ins \gset
SELECT is(pg_temp.last_change(:p_ins), 'person insert: - -> green', 'a new person gets a first status: green, cause "person insert"');
SELECT pg_temp.snapshot() AS n \gset
INSERT INTO travel (person_id, region, place, at, source)
  VALUES (:p_ins, '110105', '330106', now() - interval '2 days', 'telecom');
SELECT is(pg_temp.colour(:p_ins), 'red', 'INSERT of a high-risk stay makes red');
SELECT is(pg_temp.last_change(:p_ins), 'travel insert: green -> red', 'history: cause "travel insert", green -> red');
SELECT is((SELECT reasons FROM status_history WHERE person_id = :p_ins ORDER BY at DESC, recorded_at DESC LIMIT 1),
          (SELECT reasons FROM status(:p_ins)), 'history: the row carries the reasons of the new colour');
SELECT is((SELECT reasons -> 0 ->> 'rule' FROM status_history WHERE person_id = :p_ins ORDER BY at DESC, recorded_at DESC LIMIT 1),
          'stay_high_risk', 'history: its reasons name the rule');
SELECT is((SELECT at FROM status_history WHERE person_id = :p_ins ORDER BY at DESC, recorded_at DESC LIMIT 1),
          (SELECT computed_at FROM person_status WHERE person_id = :p_ins), 'history: at is when it was recalculated');
SELECT is(pg_temp.rewritten(), ARRAY[:p_ins]::bigint[], 'only the person whose evidence changed was recalculated');

SELECT pg_temp.person('quiet') AS p_quiet \gset
SELECT pg_temp.snapshot() AS n \gset
INSERT INTO travel (person_id, region, place, at, source)
  VALUES (:p_quiet, '110105', '110105', now() - interval '1 day', 'telecom');
SELECT is(pg_temp.rewritten(), '{}'::bigint[], 'a stay in no risk area recalculates nobody');
SELECT is(pg_temp.history_count(:p_quiet), 1::bigint, 'and writes no history');

-- ---- multi-row INSERT --------------------------------------------------------------
SELECT pg_temp.person('multi a') AS p_ma \gset
SELECT pg_temp.person('multi b') AS p_mb \gset
SELECT pg_temp.person('multi c') AS p_mc \gset
SELECT pg_temp.snapshot() AS n \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES
  (:p_ma, '110105', 'close', now() - interval '2 days', 'case T1'),
  (:p_mb, '110105', 'secondary', now() - interval '2 days', 'case T1'),
  (:p_mb, '110105', 'secondary', now() - interval '3 days', 'case T2'),
  (:p_mc, '110105', 'close', now() - interval '20 days', 'case T0');
SELECT is(pg_temp.colour(:p_ma) || ' ' || pg_temp.colour(:p_mb) || ' ' || pg_temp.colour(:p_mc), 'red yellow green',
          'one multi-row INSERT: each person gets their own colour');
SELECT is(pg_temp.rewritten(), ARRAY[:p_ma, :p_mb, :p_mc]::bigint[], 'multi-row INSERT: exactly the people named in it are recalculated');
SELECT is(pg_temp.last_change(:p_mb), 'contact insert: green -> yellow', 'multi-row INSERT: history cause "contact insert"');
SELECT is((SELECT count(*) FROM status_history WHERE person_id = :p_mb AND cause = 'contact insert'), 1::bigint,
          'multi-row INSERT: one history row per person, not per row');
SELECT is(pg_temp.history_count(:p_mc), 1::bigint, 'multi-row INSERT: no history where the colour did not change');

-- ---- UPDATE --------------------------------------------------------------------
SELECT pg_temp.snapshot() AS n \gset
UPDATE contact SET kind = 'secondary' WHERE person_id = :p_ma;
SELECT is(pg_temp.colour(:p_ma), 'yellow', 'UPDATE close -> secondary contact: red becomes yellow');
SELECT is(pg_temp.last_change(:p_ma), 'contact update: red -> yellow', 'UPDATE: history cause "contact update"');
SELECT is(pg_temp.rewritten(), ARRAY[:p_ma]::bigint[], 'UPDATE: only that person is recalculated');
UPDATE travel SET place = '110105' WHERE person_id = :p_ins;
SELECT is(pg_temp.colour(:p_ins), 'green', 'UPDATE moving a stay out of the risk area: red becomes green');
SELECT is(pg_temp.last_change(:p_ins), 'travel update: red -> green', 'UPDATE: history cause "travel update"');
UPDATE travel SET place = '330108' WHERE person_id = :p_ins;
SELECT is(pg_temp.colour(:p_ins), 'yellow', 'UPDATE moving it into a medium-risk area: yellow');
UPDATE travel SET at = now() - interval '16 days' WHERE person_id = :p_ins;
SELECT is(pg_temp.colour(:p_ins), 'green', 'UPDATE moving it to another day, out of the window (and partition): green');
UPDATE travel SET at = now() - interval '1 day' WHERE person_id = :p_ins;
SELECT is(pg_temp.colour(:p_ins), 'yellow', 'and back into the window: yellow');
-- an UPDATE moving evidence from one person to another recalculates both
UPDATE contact SET person_id = :p_mc WHERE person_id = :p_ma;
SELECT is(pg_temp.colour(:p_ma) || ' ' || pg_temp.colour(:p_mc), 'green yellow',
          'UPDATE moving a contact to another person recalculates the old and the new one');

-- ---- DELETE --------------------------------------------------------------------
SELECT is((SELECT string_agg(r ->> 'ref', ',') FROM status(:p_mb) s, jsonb_array_elements(s.reasons) r),
          (SELECT id::text FROM contact WHERE person_id = :p_mb AND source_case = 'case T1'),
          'two secondary contacts give one reason: the latest');
DELETE FROM contact WHERE person_id = :p_mb AND source_case = 'case T1';
SELECT is(pg_temp.colour(:p_mb), 'yellow', 'DELETE of one of two secondary contacts: still yellow');
SELECT is((SELECT string_agg(r ->> 'ref', ',') FROM status(:p_mb) s, jsonb_array_elements(s.reasons) r),
          (SELECT id::text FROM contact WHERE person_id = :p_mb AND source_case = 'case T2'),
          'DELETE: the reason now names the remaining contact');
DELETE FROM contact WHERE person_id = :p_mb;
SELECT is(pg_temp.colour(:p_mb), 'green', 'DELETE of the last one: green');
SELECT is(pg_temp.last_change(:p_mb), 'contact delete: yellow -> green', 'DELETE: history cause "contact delete"');
SELECT is_empty('SELECT * FROM check_consistency()', 'INSERT/UPDATE/DELETE: check_consistency() finds nothing');

-- ---- COPY ... FROM stdin ---------------------------------------------------------
-- COPY data cannot say "now() - 2 days": explicit person ids, and the time
-- columns' defaults (checkin.at and declaration.declared_at default to now();
-- travel.at gets one for the length of this transaction).
SELECT pg_temp.person('copy a', '110105', 8800001) AS p_ca \gset
SELECT pg_temp.person('copy b', '110105', 8800002) AS p_cb \gset
SELECT pg_temp.person('copy c', '110105', 8800003) AS p_cc \gset
SELECT pg_temp.snapshot() AS n \gset
COPY checkin (person_id, region, temperature, symptoms) FROM stdin;
8800001	110105	38.4	{}
8800002	110105	36.5	{}
\.
SELECT is(pg_temp.colour(:p_ca) || ' ' || pg_temp.colour(:p_cb), 'yellow green',
          'COPY into checkin: a feverish check-in is yellow, a normal one green');
SELECT is(pg_temp.last_change(:p_ca), 'checkin insert: green -> yellow', 'COPY: history cause "checkin insert"');
COPY declaration (person_id, region, symptoms) FROM stdin;
8800002	110105	{cough}
\.
SELECT is(pg_temp.colour(:p_cb), 'yellow', 'COPY into declaration: declared symptoms are yellow');
ALTER TABLE travel ALTER COLUMN at SET DEFAULT now() - interval '2 days';
COPY travel (person_id, region, place, source) FROM stdin;
8800003	110105	330106	telecom
8800003	110105	110105	transport
8800002	110105	330106	venue_scan
\.
SELECT is(pg_temp.colour(:p_cc) || ' ' || pg_temp.colour(:p_cb), 'red red',
          'COPY into travel (routed to the day partition): high-risk stays are red');
SELECT is(pg_temp.last_change(:p_cc), 'travel insert: green -> red', 'COPY into travel: history cause "travel insert"');
SELECT is(pg_temp.rewritten(), ARRAY[:p_ca, :p_cb, :p_cc]::bigint[], 'COPY: exactly the people copied for');
ALTER TABLE travel ALTER COLUMN at DROP DEFAULT;

-- ---- TRUNCATE --------------------------------------------------------------------
SELECT pg_temp.person('truncate') AS p_tr \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  VALUES (:p_tr, '110105', 'pcr', now() - interval '5 days', 'positive', 'status_triggers lab', 'tr-1');
SELECT is(pg_temp.colour(:p_tr), 'red', 'TRUNCATE: red from a positive test first');
TRUNCATE test_result;
SELECT is(pg_temp.colour(:p_tr), 'green', 'TRUNCATE test_result: the positive is gone, green');
SELECT is(pg_temp.last_change(:p_tr), 'test_result truncate: red -> green', 'TRUNCATE: history cause "test_result truncate"');
SELECT is(pg_temp.colour(:p_cb), 'red', 'TRUNCATE recalculates everyone, and the others keep their colours');
TRUNCATE checkin;
SELECT is(pg_temp.colour(:p_ca), 'green', 'TRUNCATE checkin: the feverish check-in is gone, green');
SELECT is_empty('SELECT * FROM check_consistency()', 'COPY/TRUNCATE: check_consistency() finds nothing');

-- ---- risk areas change ------------------------------------------------------------
SELECT pg_temp.person('area early') AS p_ae \gset
SELECT pg_temp.person('area late') AS p_al \gset
SELECT pg_temp.person('area elsewhere') AS p_ax \gset
INSERT INTO travel (person_id, region, place, at, source) VALUES
  (:p_ae, '110105', '430102', now() - interval '3 days', 'telecom'),
  (:p_al, '110105', '430102', now() - interval '2 hours', 'telecom'),
  (:p_ax, '110105', '430104', now() - interval '2 hours', 'telecom');
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al) || ' ' || pg_temp.colour(:p_ax), 'yellow yellow green',
          'risk area: stays in the medium-risk district are yellow, next door green');
SELECT pg_temp.snapshot() AS n \gset
UPDATE risk_area SET level = 'high' WHERE division = '430102';
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al), 'red red', 'risk area upgraded to high: red');
SELECT is(pg_temp.last_change(:p_ae), 'risk_area update: yellow -> red', 'upgrade: history cause "risk_area update"');
SELECT is(pg_temp.rewritten(), ARRAY[:p_ae, :p_al]::bigint[], 'upgrade: only the people with stays there are recalculated');
UPDATE risk_area SET effective_until = now() - interval '1 day' WHERE division = '430102';
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al), 'red green',
          'downgrade (effective_until 1 day ago): a stay while it was in force still counts, a later one no more');
UPDATE risk_area SET effective_until = NULL WHERE division = '430102';
SELECT is(pg_temp.colour(:p_al), 'red', 'designation prolonged again: red');
INSERT INTO risk_area (division, level, effective_from, bulletin)
  VALUES ('430100', 'medium', now() - interval '5 days', 'status_triggers: the whole city');
SELECT is(pg_temp.colour(:p_ax), 'yellow', 'a new city-level designation reaches the district next door: yellow');
SELECT is(pg_temp.last_change(:p_ax), 'risk_area insert: green -> yellow', 'new designation: history cause "risk_area insert"');
SELECT is(pg_temp.colour(:p_ae), 'red', 'overlapping designations: the highest level wins');
DELETE FROM risk_area WHERE division = '430102';
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al), 'yellow yellow',
          'the district''s designation deleted: the city''s medium one remains, yellow');
SELECT is(pg_temp.last_change(:p_al), 'risk_area delete: red -> yellow', 'deletion: history cause "risk_area delete"');
DELETE FROM risk_area WHERE division = '430100';
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al) || ' ' || pg_temp.colour(:p_ax), 'green green green',
          'every designation deleted: green');
-- A risk-area change recomputes people from the evidence stored with their
-- status (person_status.inputs) and their re-examined stays. Someone whose
-- row keeps none is recomputed from the evidence tables instead; a test
-- result recorded meanwhile is among the stored inputs.
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  VALUES (:p_ae, '110105', 'pcr', now() - interval '6 hours', 'negative', 'status_triggers lab', 'area-neg-1');
UPDATE person_status SET inputs = NULL WHERE person_id = :p_al;
INSERT INTO risk_area (division, level, effective_from, bulletin)
  VALUES ('430102', 'high', now() - interval '5 days', 'status_triggers: inputs');
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al), 'red red',
          'a designation recomputes people from their stored inputs, and one without them from the evidence tables');
SELECT is((SELECT count(*) FROM person_status WHERE person_id IN (:p_ae, :p_al) AND inputs IS NOT NULL), 2::bigint,
          'both keep their inputs after it');
SELECT is_empty('SELECT * FROM check_consistency()', 'stored inputs: check_consistency() finds nothing');
-- inputs that no longer say what the evidence says are found
CREATE TEMP TABLE inputs_saved AS SELECT person_id, inputs FROM person_status WHERE person_id = :p_ae;
UPDATE person_status SET inputs = (SELECT inputs FROM person_status WHERE person_id = :p_ax) WHERE person_id = :p_ae;
SELECT is((SELECT array_agg(c.person_id) FROM check_consistency() c), ARRAY[:p_ae]::bigint[],
          'check_consistency() reports stored inputs that recompute to another status');
SELECT ok((SELECT c.stored -> 'from_inputs' <> c.recomputed -> 'from_inputs' FROM check_consistency() c),
          'and shows what they recompute to');
UPDATE person_status s SET inputs = v.inputs FROM inputs_saved v WHERE s.person_id = v.person_id;
SELECT throws_ok($$SELECT healthcode._status_from_stored_inputs('\x4849'::bytea, '{}', '{}', '{}', '{}', '{}', now(), now())$$,
                 '22023', 'not packed status inputs', 'bytes that are not packed inputs: 22023');
SELECT throws_ok($$SELECT healthcode._status_from_stored_inputs('\x484901000000010103'::bytea, '{}', '{}', '{}', '{}', '{}', now(), now())$$,
                 '22023', 'not packed status inputs', 'inputs cut short: 22023');
DELETE FROM risk_area WHERE bulletin = 'status_triggers: inputs';
DELETE FROM test_result WHERE sample_id = 'area-neg-1';
SELECT is(pg_temp.colour(:p_ae) || ' ' || pg_temp.colour(:p_al) || ' ' || pg_temp.colour(:p_ax), 'green green green',
          'and the designation deleted again: green');

-- a bulletin imported and re-imported with a new level
SELECT is(import_risk_areas(json_build_array(jsonb_build_object(
            'division', '430102', 'level', 'medium', 'effective_from', now() - interval '10 days',
            'bulletin', 'status_triggers import'))), 1, 'import_risk_areas: a new bulletin');
SELECT is(pg_temp.colour(:p_ae), 'yellow', 'import_risk_areas: its stays are yellow');
SELECT is(import_risk_areas(json_build_array(jsonb_build_object(
            'division', '430102', 'level', 'high', 'effective_from', now() - interval '10 days',
            'bulletin', 'status_triggers import'))), 1, 'import_risk_areas: the same bulletin upgraded');
SELECT is(pg_temp.colour(:p_ae), 'red', 'import_risk_areas: the upgrade makes red');
SELECT pg_temp.history_count(:p_ae) AS h_ae \gset
SELECT is(import_risk_areas(json_build_array(jsonb_build_object(
            'division', '430102', 'level', 'high', 'effective_from', now() - interval '10 days',
            'bulletin', 'status_triggers import'))), 0, 'import_risk_areas: the same batch again changes nothing');
SELECT is(pg_temp.history_count(:p_ae), :h_ae::bigint, 'import_risk_areas: and writes no history');
SELECT is_empty('SELECT * FROM check_consistency()', 'risk areas: check_consistency() finds nothing');

-- ---- imports: lab corrections and idempotence ------------------------------------------
SELECT pg_temp.person('lab', '110105') AS p_lab \gset
SELECT pg_temp.person('lab other', '110105') AS p_lab2 \gset
CREATE TEMP TABLE batch AS SELECT jsonb_build_array(
  jsonb_build_object('person_id', :p_lab, 'kind', 'pcr', 'sampled_at', now() - interval '1 day',
                     'result', 'positive', 'lab', 'status_triggers lab', 'sample_id', 'S-1'),
  jsonb_build_object('person_id', :p_lab2, 'kind', 'antigen', 'sampled_at', now() - interval '1 day',
                     'result', 'negative', 'lab', 'status_triggers lab', 'sample_id', 'S-2')) AS b;
SELECT is(import_test_results((SELECT b FROM batch)::json), 2, 'import_test_results: two new results');
SELECT is(pg_temp.colour(:p_lab), 'red', 'import_test_results: the positive is red');
SELECT pg_temp.snapshot() AS n \gset
SELECT count(*) AS h_all FROM status_history \gset
SELECT is(import_test_results((SELECT b FROM batch)::json), 0, 'import_test_results: the same batch again is not new');
SELECT is((SELECT count(*) FROM status_history), :h_all::bigint, 'the same batch again writes no history');
SELECT is(pg_temp.rewritten(), '{}'::bigint[], 'the same batch again rewrites no status');
SELECT is(import_test_results(json_build_array(
            jsonb_build_object('person_id', :p_lab, 'kind', 'pcr', 'sampled_at', now() - interval '1 day',
                               'result', 'negative', 'lab', 'status_triggers lab', 'sample_id', 'S-1'))),
          1, 'a lab correcting a false positive (same lab and sample_id, negative) counts as one change');
SELECT is((SELECT string_agg(result, ',') FROM test_result WHERE lab = 'status_triggers lab' AND sample_id = 'S-1'),
          'negative', 'the corrected sample is one row, now negative');
SELECT is(pg_temp.colour(:p_lab), 'green', 'the correction makes the person green');
SELECT is(pg_temp.last_change(:p_lab), 'test_result update: red -> green', 'the correction: history cause "test_result update"');
SELECT is(pg_temp.rewritten(), ARRAY[:p_lab]::bigint[], 'the correction recalculates only that person');

-- the other imports: same batch twice
CREATE TEMP TABLE batches AS SELECT
  jsonb_build_array(
    jsonb_build_object('person_id', :p_lab2, 'place', '330106', 'at', now() - interval '4 days', 'source', 'telecom'),
    jsonb_build_object('person_id', :p_lab2, 'place', '110105', 'at', now() - interval '4 days', 'source', 'telecom'),
    jsonb_build_object('person_id', :p_lab2, 'place', '330108', 'at', now() - interval '10 days', 'source', 'transport'))
    AS travel,
  jsonb_build_array(
    jsonb_build_object('person_id', :p_lab2, 'kind', 'secondary', 'exposure_at', now() - interval '2 days',
                       'source_case', 'case I')) AS contacts,
  jsonb_build_array(
    jsonb_build_object('person_id', :p_lab2, 'dose', 1, 'given_at', now() - interval '90 days', 'product', 'X'),
    jsonb_build_object('person_id', :p_lab2, 'dose', 2, 'given_at', now() - interval '60 days', 'product', 'X'))
    AS doses;
SELECT is(import_travel((SELECT travel FROM batches)::json), 3, 'import_travel: three new stays (partitions made as needed)');
SELECT is(import_contacts((SELECT contacts FROM batches)::json), 1, 'import_contacts: one new contact');
SELECT is(import_vaccinations((SELECT doses FROM batches)::json), 2, 'import_vaccinations: two new doses');
SELECT is((SELECT colour::text || ' ' || vaccinated FROM status(:p_lab2)), 'red true', 'the imports make red, vaccinated');
SELECT pg_temp.snapshot() AS n \gset
SELECT count(*) AS h_all FROM status_history \gset
SELECT is(ARRAY[import_travel((SELECT travel FROM batches)::json), import_contacts((SELECT contacts FROM batches)::json),
                import_vaccinations((SELECT doses FROM batches)::json)], ARRAY[0, 0, 0],
          're-importing the same batches: nothing new');
SELECT is((SELECT count(*) FROM travel WHERE person_id = :p_lab2), 3::bigint, 're-importing: the same number of stays');
SELECT is((SELECT count(*) FROM status_history), :h_all::bigint, 're-importing: no new history rows');
SELECT is(pg_temp.rewritten(), '{}'::bigint[], 're-importing: no status rewritten');
SELECT is_empty('SELECT * FROM check_consistency()', 'imports: check_consistency() finds nothing');

-- A risk-area change must reach stays in a day partition made earlier in
-- the same transaction (here by import_travel above, after the risk-area
-- changes above).
SELECT pg_temp.person('late partition') AS p_late \gset
SELECT is(import_travel(json_build_array(jsonb_build_object(
            'person_id', :p_late, 'place', '430102', 'at', now() - interval '6 days'))), 1,
          'late partition: import_travel records a stay 6 days ago in 430102');
SELECT ok(pg_temp.partition_exists(:'late_part'), 'late partition: the imports made the day''s partition');
SELECT is(pg_temp.colour(:p_late) || ' ' || pg_temp.colour(:p_ae), 'red red', 'late partition: 430102 is high risk: red');
SELECT is(import_risk_areas(json_build_array(jsonb_build_object(
            'division', '430102', 'level', 'medium', 'effective_from', now() - interval '10 days',
            'bulletin', 'status_triggers import'))), 1, 'late partition: 430102 downgraded to medium');
SELECT is(pg_temp.colour(:p_ae), 'yellow', 'late partition: a stay in an older partition follows the downgrade');
SELECT is(pg_temp.colour(:p_late), 'yellow', 'late partition: so does the stay in the partition made in this transaction');
SELECT is_empty(format('SELECT * FROM healthcode.check_consistency() WHERE person_id = %s', :p_late),
                'late partition: check_consistency() finds nothing');
DELETE FROM person WHERE id = :p_late;   -- whatever the outcome, the scenarios below start clean

-- ---- writes straight into a day partition -----------------------------------------
SELECT pg_temp.person('partition') AS p_part \gset
SELECT pg_temp.day(now() - interval '1 day') AS part \gset
INSERT INTO healthcode.:"part" (person_id, region, place, at, source)
  VALUES (:p_part, '110105', '330106', now() - interval '1 day', 'venue_scan');
SELECT is(pg_temp.colour(:p_part), 'red', 'a row inserted straight into a day partition recalculates: red');
SELECT is(pg_temp.last_change(:p_part) LIKE 'travel% insert: green -> red', true,
          'with a history row naming the insert into travel');
UPDATE healthcode.:"part" SET place = '330108' WHERE person_id = :p_part;
SELECT is(pg_temp.colour(:p_part), 'yellow', 'an UPDATE straight on the partition recalculates: yellow');
DELETE FROM healthcode.:"part" WHERE person_id = :p_part;
SELECT is(pg_temp.colour(:p_part), 'green', 'a DELETE straight on the partition recalculates: green');
INSERT INTO healthcode.:"part" (person_id, region, place, at, source)
  VALUES (:p_part, '110105', '330106', now() - interval '1 day', 'venue_scan');
TRUNCATE healthcode.:"part";
SELECT is(pg_temp.colour(:p_part), 'green', 'a TRUNCATE of the partition recalculates: green');
SELECT is_empty('SELECT * FROM check_consistency()', 'partition writes: check_consistency() finds nothing');

-- ---- a person's history follows them (it has no foreign key) ------------------------------
SELECT pg_temp.person('history mover') AS p_hm \gset
SELECT pg_temp.person('history gone') AS p_hg \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES
  (:p_hm, '110105', 'pcr', now() - interval '1 day', 'positive', 'status_triggers lab', 'hist-1'),
  (:p_hg, '110105', 'pcr', now() - interval '1 day', 'positive', 'status_triggers lab', 'hist-2');
UPDATE person SET region = '330106' WHERE id = :p_hm;
SELECT is((SELECT array_agg(DISTINCT region) FROM status_history WHERE person_id = :p_hm), ARRAY['330106'],
          'a person who moves takes their whole history to the new region');
SELECT throws_ok(format('UPDATE healthcode.person SET id = %s WHERE id = %s', :p_hm + 1000000, :p_hm),
                 '55000', 'person.id cannot change', 'a person''s id never changes: 55000');
SELECT cmp_ok(pg_temp.history_count(:p_hg), '>', 0::bigint, 'a person about to be deleted has history');
DELETE FROM person WHERE id = :p_hg;
SELECT is(pg_temp.history_count(:p_hg), 0::bigint, 'deleting a person deletes their history');
SELECT cmp_ok(pg_temp.history_count(:p_hm), '>', 0::bigint, 'and nobody else''s');

-- ---- check_consistency() itself, and a synthetic population ----------------------------
CREATE TEMP TABLE saved AS SELECT * FROM person_status WHERE person_id = :p_lab2;
UPDATE person_status SET colour = 'green', reasons = '[]' WHERE person_id = :p_lab2;
SELECT is((SELECT array_agg(person_id) FROM check_consistency()), ARRAY[:p_lab2]::bigint[],
          'check_consistency() reports a stored status that does not follow from the evidence');
UPDATE person_status s SET colour = v.colour, reasons = v.reasons FROM saved v WHERE s.person_id = v.person_id;
SELECT is_empty('SELECT * FROM check_consistency()', 'and nothing once it is put back');

SELECT is((SELECT rows FROM generate_population(300, 8, 21, 0.17) WHERE what = 'people'), 300::bigint,
          'a synthetic population of 300 people');
SELECT is_empty('SELECT * FROM check_consistency()',
                'synthetic population: the triggers'' statuses equal a full recalculation');
-- more than 200 people are recalculated one way, fewer another: both agree
-- (registered_at matters only to periodic testing, not in force here)
CREATE TEMP TABLE pop_before AS
SELECT person_id, colour, vaccinated, reasons, since, valid_until, next FROM person_status;
SELECT count(*) AS h_all FROM status_history \gset
UPDATE person SET registered_at = registered_at - interval '1 second'
 WHERE id IN (SELECT id FROM person ORDER BY id DESC LIMIT 150);
UPDATE person SET registered_at = registered_at - interval '1 second'
 WHERE id IN (SELECT id FROM person ORDER BY id DESC OFFSET 150 LIMIT 150);
-- (their rows are rewritten all the same: the registration is among the
-- inputs kept with a status)
SELECT is((SELECT array_agg(s.person_id ORDER BY s.person_id) FROM person_status s JOIN pop_before b USING (person_id)
            WHERE (s.colour, s.vaccinated, s.reasons, s.since, s.valid_until, s.next)
                  IS DISTINCT FROM (b.colour, b.vaccinated, b.reasons, b.since, b.valid_until, b.next)), NULL,
          'synthetic population: recalculated 150 at a time, nobody''s status differs from the batch of 300');
SELECT is((SELECT count(*) FROM status_history), :h_all::bigint, 'and no history is written');
SELECT is_empty($$SELECT d, c.* FROM generate_series(1, 31, 3) d,
                  LATERAL check_consistency(now() + make_interval(days => d)) c$$,
                'synthetic population: the stored timelines read 1 to 31 days ahead equal a recalculation then');

-- ---- dropping expired partitions ---------------------------------------------------------
-- The longest lookback in force is 14 days (no other version here), the
-- margin 7 days: a day goes once all of it lies before now() - 21 days.
SELECT pg_temp.person('old stays') AS p_old \gset
INSERT INTO travel (person_id, region, place, at, source) VALUES
  (:p_old, '110105', '330106', now() - interval '40 days', 'telecom'),
  (:p_old, '110105', '330106', now() - interval '25 days', 'telecom'),
  (:p_old, '110105', '330106', now() - interval '1 day', 'telecom');
SELECT ((now() - interval '21 days') AT TIME ZONE 'Asia/Shanghai')::date AS cutoff \gset
-- a regional version with a 30-day lookback, which the nation allows, keeps more
INSERT INTO policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
  VALUES ('000000', '2000-01-01', 30, '全国：地方回溯不超过30天', 'National: regions look back at most 30 days');
INSERT INTO policy (region, lookback_days, description_zh, description_en)
  VALUES ('650000', 30, '新疆：30天', 'Xinjiang: 30 days');
CREATE TEMP TABLE dropped1 AS SELECT d FROM drop_expired_travel_partitions() d;
SELECT ok(NOT EXISTS (SELECT 1 FROM dropped1 WHERE to_date(substr(d, 8), 'YYYYMMDD')
                                                 >= ((now() - interval '37 days') AT TIME ZONE 'Asia/Shanghai')::date),
          'with a 30-day lookback in force, nothing within 30 + 7 days is dropped');
SELECT ok(pg_temp.partition_exists(pg_temp.day(now() - interval '37 days'))
          AND NOT pg_temp.partition_exists(pg_temp.day(now() - interval '38 days'))
          AND NOT pg_temp.partition_exists(pg_temp.day(now() - interval '45 days')),
          'with a 30-day lookback: the day 37 days ago is kept, 38 days ago and older dropped');
DELETE FROM policy WHERE region = '650000';
DELETE FROM policy WHERE region = '000000' AND valid_from = '2000-01-01';
CREATE TEMP TABLE dropped2 AS SELECT d FROM drop_expired_travel_partitions() d;
SELECT ok((SELECT bool_and(to_date(substr(d, 8), 'YYYYMMDD') < :'cutoff'::date) FROM dropped2),
          'drop_expired_travel_partitions drops only days wholly before the longest lookback (14) plus the margin (7)');
SELECT ok(pg_temp.day(now() - interval '22 days') IN (SELECT d FROM dropped2)
          AND pg_temp.day(now() - interval '25 days') IN (SELECT d FROM dropped2),
          'it returns the names of the partitions it dropped');
SELECT ok(pg_temp.partition_exists(pg_temp.day(now() - interval '21 days'))
          AND pg_temp.partition_exists(pg_temp.day(now() - interval '14 days'))
          AND pg_temp.partition_exists(pg_temp.day(now())),
          'the day 21 days ago and every later one are kept');
SELECT is((SELECT count(*) FROM travel WHERE person_id = :p_old), 1::bigint,
          'the stays of the dropped days are gone, the recent one kept');
SELECT is(pg_temp.colour(:p_old), 'red', 'dropping expired partitions does not change a colour');
SELECT is((SELECT count(*) FROM drop_expired_travel_partitions()), 0::bigint, 'dropping again drops nothing');
SELECT is((SELECT count(*) FROM drop_expired_travel_partitions(interval '0')) > 0, true,
          'a smaller margin drops more');
SELECT ok(pg_temp.partition_exists(pg_temp.day(now() - interval '14 days')),
          'even with no margin the day 14 days ago (within the lookback) is kept');
SELECT is_empty('SELECT * FROM check_consistency()', 'retention: check_consistency() finds nothing');
SELECT lives_ok($$INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
                  VALUES ('330102', 'medium', now() - interval '1 day', 'status_triggers: after retention')$$,
                'a risk-area change after dropping expired partitions in the same transaction works');

-- ---- TRUNCATE travel ----------------------------------------------------------------------
TRUNCATE travel;
SELECT is(pg_temp.colour(:p_old) || ' ' || pg_temp.colour(:p_cc) || ' ' || pg_temp.colour(:p_lab2),
          'green green yellow', 'TRUNCATE travel: every stay is gone (the contact keeps one yellow)');
SELECT is_empty('SELECT * FROM check_consistency()', 'TRUNCATE travel: check_consistency() finds nothing');

-- last, as it empties everything: a truncated person table takes all history
-- with it (the owner's business: manual decisions, which it cascades to,
-- refuse it unless their append-only guard is set aside)
ALTER TABLE manual_decision DISABLE TRIGGER USER;
TRUNCATE person CASCADE;
SELECT is((SELECT count(*) FROM status_history), 0::bigint, 'TRUNCATE person: no history is left behind');

SELECT * FROM finish();
ROLLBACK;
