-- The status engine writes a timeline's reasons and later segments in
-- jsonb's binary form itself (hc_status_pg.c), not through jsonb's own
-- builder. Here the bytes it writes are compared with the bytes jsonb's
-- input function writes for the same text (read back from the page with
-- pageinspect), for values that take every path of that writer: an empty
-- array, objects with and without a place, numbers, booleans, arrays
-- nested in objects, and an array longer than JB_OFFSET_STRIDE (32), whose
-- 33rd element carries an offset instead of a length. Then the values are
-- read the ways readers read them (keys looked up, containment).
BEGIN;
SET search_path = public, healthcode;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS pageinspect;
SELECT create_travel_partitions(((now() - interval '40 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                ((now() + interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date) >= 0 AS made \gset
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('330106', 'high', now() - interval '30 days', 'status_jsonb: high');

-- one person with stays in 34 places of the designated district at one
-- time (red, 34 reasons: one a place) and two secondary contacts a day
-- ago (yellow once the stays are out of the window, then green)
INSERT INTO person (region, subject, registered_at)
VALUES ('110105', pseudonym('status_jsonb:many'), now() - interval '60 days') RETURNING id AS p_many \gset
INSERT INTO travel (person_id, region, place, at, source)
SELECT :p_many, '110105', '330106' || lpad(k::text, 3, '0'), now() - interval '2 days', 'telecom'
  FROM generate_series(1, 34) k;
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
SELECT :p_many, '110105', 'secondary', now() - make_interval(days => 1, hours => k), 'status_jsonb case ' || k
  FROM generate_series(1, 2) k;
-- one person with nothing against them (green: no reasons, no later segment)
INSERT INTO person (region, subject, registered_at)
VALUES ('110105', pseudonym('status_jsonb:none'), now() - interval '60 days') RETURNING id AS p_none \gset

-- the values as the engine writes them now, and as jsonb's input writes
-- the same text; PLAIN: stored as they are, neither compressed nor moved
CREATE TEMP TABLE written (k serial, what text, person bigint, v jsonb);
ALTER TABLE written ALTER v SET STORAGE PLAIN;
INSERT INTO written (what, person, v)
SELECT w.what, f.person_id, w.v
  FROM _fresh_status(ARRAY[:p_many, :p_none]::bigint[], now()) f,
       LATERAL (VALUES ('reasons', (f.timeline).reasons), ('next', (f.timeline).next)) w(what, v);
INSERT INTO written (what, person, v) SELECT 'parsed ' || what, person, v::text::jsonb FROM written;
CREATE TEMP TABLE bytes AS
SELECT w.what, w.person,
       (tuple_data_split('written'::regclass, i.t_data, i.t_infomask, i.t_infomask2, i.t_bits))[4] AS v
  FROM written w
  JOIN (SELECT i.* FROM generate_series(0, pg_relation_size('written') / current_setting('block_size')::bigint - 1) b,
             heap_page_items(get_raw_page('written', b::integer)) i) i ON i.t_ctid = w.ctid;

SELECT is((SELECT jsonb_array_length(v) FROM written WHERE what = 'reasons' AND person = :p_many), 34,
          'the first segment has 34 reasons (more than JB_OFFSET_STRIDE)');
SELECT ok((SELECT jsonb_array_length(v) >= 2 FROM written WHERE what = 'next' AND person = :p_many),
          'there are later segments, each with its reasons');
SELECT ok((SELECT bool_and(r ? 'place') FROM written, jsonb_array_elements(v) r
            WHERE what = 'reasons' AND person = :p_many),
          'the stays'' reasons name their place');
SELECT ok((SELECT bool_or(NOT (r ? 'place')) FROM written, jsonb_array_elements(v) s, jsonb_array_elements(s -> 'reasons') r
            WHERE what = 'next' AND person = :p_many),
          'a contact''s reason has no place (an object of five keys)');
SELECT is((SELECT v::text FROM written WHERE what = 'reasons' AND person = :p_none), '[]', 'green: no reasons');
SELECT is((SELECT v::text FROM written WHERE what = 'next' AND person = :p_none), '[]', 'green: no later segment');
SELECT is((SELECT count(*) FROM bytes), 8::bigint, 'every value was read back from the page');
SELECT is_empty($$SELECT a.what, a.person FROM bytes a JOIN bytes b ON b.what = 'parsed ' || a.what AND b.person = a.person
                   WHERE a.v IS DISTINCT FROM b.v$$,
                'each value''s bytes are the bytes jsonb''s own input writes for its text');
SELECT is((SELECT v -> 33 ->> 'place' FROM written WHERE what = 'reasons' AND person = :p_many),
          (SELECT r ->> 'place' FROM written, jsonb_array_elements(v) WITH ORDINALITY AS e(r, o)
            WHERE what = 'reasons' AND person = :p_many AND o = 34),
          'the 34th element is found by its index (past the stride''s offset)');
SELECT ok((SELECT bool_and((r ->> 'ref')::bigint IS NOT NULL AND r ->> 'rule' IS NOT NULL AND r ->> 'colour' = 'red')
             FROM written, jsonb_array_elements(v) r WHERE what = 'reasons' AND person = :p_many),
          'every key of every reason is found (keys in jsonb''s order)');
SELECT ok((SELECT v @> '[{"rule": "stay_high_risk", "place": "330106034"}]' FROM written
            WHERE what = 'reasons' AND person = :p_many),
          'containment finds a reason by its keys');
SELECT ok((SELECT bool_and(jsonb_typeof(s -> 'vaccinated') = 'boolean' AND jsonb_typeof(s -> 'reasons') = 'array')
             FROM written, jsonb_array_elements(v) s WHERE what = 'next' AND person = :p_many),
          'a later segment''s mark is a boolean and its reasons an array');

SELECT * FROM finish();
ROLLBACK;
