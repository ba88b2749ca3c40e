-- Places below the county and venues (issue 15, point 3): stays and
-- bulletins name a township or street (9 digits), a village or community
-- (12) or a single venue; a designation covers the places below it (a
-- street its communities and the venues in them, a county all of it) and a
-- venue's designation that venue's stays only. Checked through the
-- colours the triggers compute, against a brute-force reading of the
-- hierarchy, and at the edges: imports, direct writes, names, scopes.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(45);

SELECT create_key('330000') IS NOT NULL AS k \gset

-- ---- the codes -----------------------------------------------------------------
SELECT is(ARRAY(SELECT place_code_valid(c) FROM unnest(ARRAY['330106', '330106001', '330106001001', '441900003',
                                                             '330106000', '330106001000', '330000001', '000000',
                                                             '33010600', '3301060010011', '990000001']) c),
          ARRAY[true, true, true, true, false, false, false, false, false, false, false],
          'place codes: a county, a street, a community, a town of a city without counties; not township or village 000, not below a province, not the nation, not 8 or 13 digits, not an unknown province');
SELECT is(division_chain('330106001001'), ARRAY['330106001001', '330106001', '330106', '330100', '330000', '000000'],
          'a community''s chain: itself, its street, county, city, province, the nation');
SELECT is(division_chain('330106001'), ARRAY['330106001', '330106', '330100', '330000', '000000'],
          'a street''s chain');
SELECT is(ARRAY[division_rank('330106001'), division_rank('330106001001'), division_rank('330106')], ARRAY[4, 5, 3],
          'ranks: a street 4, a community 5, a county 3');
SELECT is(ARRAY[division_last('330106001'), division_last('330106001001'), division_last('330106'), division_last('330000')],
          ARRAY['330106001999', '330106001001', '330106999999', '339999999999'],
          'the last code each covers, padded to twelve digits');
SELECT is(ARRAY[division_covers('330106001', '330106001001'), division_covers('330106001', '330106002001'),
                division_covers('330106', '330106001001'), division_covers('330100', '330106001'),
                division_covers('330106001001', '330106001'), division_covers('330106', '330107001')],
          ARRAY[true, false, true, true, false, false],
          'a street covers its communities, not another street''s; a county and a city cover what lies below; a community not its street; a county not its neighbour''s streets');

-- ---- venues and stays at every level -------------------------------------------
SELECT create_venue('330106001001', '社区超市', 'supermarket') AS v_shop \gset
SELECT create_venue('330106001001', '社区药店', 'pharmacy') AS v_drug \gset
SELECT create_venue('330106002', '西溪菜场', 'public_venue') AS v_market \gset
SELECT is((SELECT region || ' ' || place FROM venue WHERE id = :v_shop), '330106 330106001001',
          'a venue in a community: its region is the county (scopes stay six-digit), its place the community');
SELECT is(pg_temp.error_of($$SELECT create_venue('330100', 'x', 'other')$$) ~ '^22023: a venue lies in a county-level division', true,
          'a venue does not lie in a city as a whole');
SELECT is(pg_temp.error_of($$SELECT create_venue('330106000', 'x', 'other')$$) ~ '^22023: invalid place code for place', true,
          'nor at a bad place code');

SELECT person_id AS pa FROM declare('330106199001014326', '330106', '甲') \gset
SELECT person_id AS pb FROM declare('330106199001015433', '330106', '乙') \gset
SELECT person_id AS pc FROM declare('330106199001016655', '330106', '丙') \gset
SELECT person_id AS pd FROM declare('330106199001017121', '330106', '丁') \gset
SELECT person_id AS pe FROM declare('330106199001018183', '330106', '戊') \gset
SELECT person_id AS pf FROM declare('33010619900101916X', '330106', '己') \gset
-- a: telecom in the community; b: in a community of another street; c:
-- scanned the shop; d: scanned the pharmacy in the same community; e: only
-- the county as a whole; f: scanned the market, a venue of the other street
SELECT import_travel(json_build_array(
         json_build_object('person_id', :pa, 'place', '330106001001', 'at', now() - interval '3 hours'),
         json_build_object('person_id', :pb, 'place', '330106002001', 'at', now() - interval '3 hours'),
         json_build_object('person_id', :pe, 'place', '330106', 'at', now() - interval '3 hours'))) AS n \gset
SELECT is((SELECT recorded FROM scan_venue('330106199001016655', venue_code(:v_shop))), true,
          'a scan at the community''s shop is recorded');
SELECT is((SELECT recorded FROM scan_venue('330106199001017121', venue_code(:v_drug))), true,
          'and one at its pharmacy');
SELECT is((SELECT recorded FROM scan_venue('33010619900101916X', venue_code(:v_market))), true,
          'and one at the other street''s market');
SELECT is((SELECT place || ' ' || venue FROM travel WHERE person_id = :pc), '330106001001 ' || :v_shop,
          'a scan''s stay is at the venue''s place, naming the venue');

CREATE TEMP VIEW colours AS
  SELECT string_agg(x.who || ':' || s.colour, ' ' ORDER BY x.who) AS now
    FROM (VALUES ('a', :pa), ('b', :pb), ('c', :pc), ('d', :pd), ('e', :pe), ('f', :pf)) x(who, id),
         LATERAL status(x.id) s;
SELECT is((SELECT now FROM colours), 'a:green b:green c:green d:green e:green f:green', 'everyone green to start with');

-- a street: its communities and the venues in them; not the county as a
-- whole, not another street
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('330106001', 'medium', now() - interval '1 day', 'places: a street');
SELECT is((SELECT now FROM colours), 'a:yellow b:green c:yellow d:yellow e:green f:green',
          'a street medium: the stays in its community and at its venues turn yellow; another street''s and the county''s do not');
SELECT is((SELECT r->>'text' FROM status(:pa) s, jsonb_array_elements(s.reasons) r),
          'stayed in 330106001001 (medium risk) on ' || to_char((now() - interval '3 hours') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
          'the reason names the community the person stayed in');
-- a community of the other street
SELECT import_risk_areas(json_build_array(json_build_object('division', '330106002001', 'level', 'high',
                                                             'effective_from', now() - interval '1 day'))) AS n \gset
SELECT is((SELECT now FROM colours), 'a:yellow b:red c:yellow d:yellow e:green f:green',
          'a community high (imported): its stay turns red; the market of its street stays green (it lies in the street, not the community)');
-- a single venue
SELECT import_risk_areas(json_build_array(json_build_object('venue', :v_shop, 'level', 'high',
                                                             'effective_from', now() - interval '1 day'))) AS n \gset
SELECT is((SELECT division FROM risk_area WHERE venue = :v_shop), '330106001001',
          'a venue''s designation lies at the venue''s place');
SELECT is((SELECT now FROM colours), 'a:yellow b:red c:red d:yellow e:green f:green',
          'the shop high: its visitor red; the pharmacy''s visitor next door and the community''s other stay unchanged');
-- the street downgraded: the venue's designation still holds
UPDATE risk_area SET effective_until = now() - interval '12 hours' WHERE division = '330106001';
SELECT is((SELECT now FROM colours), 'a:green b:red c:red d:green e:green f:green',
          'the street''s designation ended before the stays: green again, but for the shop''s visitor');
-- the background audit judges stays by the same rule: a's stay in the community is covered by no
-- designation now in force at its time (the street's ended before it; the shop's names another venue),
-- c's scan at the shop is
SELECT is((SELECT count(*) FROM audit(:pa) f WHERE f.kind = 'undeclared_risk_stay'), 0::bigint,
          'the audit finds no risky stay for a stay in a community whose venue, not the community, is designated');
SELECT is((SELECT count(*) FROM audit(:pc) f WHERE f.kind = 'undeclared_risk_stay'), 1::bigint,
          'but finds the scan at the designated venue left out of a declaration');
-- a county covers everything below it
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('330106', 'medium', now() - interval '1 day', 'places: the county');
SELECT is((SELECT now FROM colours), 'a:yellow b:red c:red d:yellow e:yellow f:yellow',
          'the county medium: every stay below it at least yellow');

-- every caller of the one rule against the hierarchy read by brute force
CREATE TEMP TABLE reference AS
  SELECT t.person_id, t.id, t.at, t.place, bool_or(a.level = 'high') AS high
    FROM travel t JOIN risk_area a
      ON a.level <> 'low'
     AND CASE WHEN a.venue IS NULL THEN division_covers(a.division, t.place) ELSE a.venue::text = t.venue AND a.division = t.place END
     AND t.at >= a.effective_from AND (a.effective_until IS NULL OR t.at < a.effective_until)
   GROUP BY t.person_id, t.id, t.at, t.place;
SELECT is((SELECT count(*) FROM ((SELECT * FROM _risky_stays_by(ARRAY[:pa, :pb, :pc, :pd, :pe, :pf]::bigint[], now() - interval '30 days', w.way)
                                   EXCEPT TABLE reference)
                                  UNION ALL (TABLE reference
                                   EXCEPT SELECT * FROM _risky_stays_by(ARRAY[:pa, :pb, :pc, :pd, :pe, :pf]::bigint[], now() - interval '30 days', w.way))) d),
          0::bigint, format('the rule read the %s way gives the hierarchy''s risky stays', w.way))
  FROM unnest(ARRAY['person', 'range', 'place']) w(way);
SELECT is((SELECT count(*) FROM (SELECT s.person_id, u.id FROM unnest(_stays_in_changed_areas(
                                   ARRAY(SELECT a FROM risk_area a WHERE a.venue = :v_shop), now() - interval '30 days')) s,
                                   unnest(s.ids) u(id)) x), 1::bigint,
          'a change of the venue''s designation re-examines that venue''s stay only, not the others in its community');

-- the same through the work list (a change too large to recalculate in
-- its statement: here, every change): readers see the venue's designation
-- at once, and the workers' batches (run by hand) store it
SET LOCAL healthcode.recalc_workers = 0;
SET LOCAL healthcode.recalc_inline_limit = 0;
INSERT INTO risk_area (venue, level, effective_from, bulletin)
VALUES (:v_drug, 'high', now() - interval '1 day', 'places: the pharmacy');
SELECT is((SELECT now FROM colours), 'a:yellow b:red c:red d:red e:yellow f:yellow',
          'the pharmacy high, on the work list: its visitor red for every reader at once, no one else');
SELECT is((SELECT min(_recalc_step(100)) FROM generate_series(1, 4)), -1, 'the workers'' steps empty the list');
SELECT is((SELECT string_agg(s.colour::text, ' ' ORDER BY s.person_id = :pd DESC) FROM person_status s
            WHERE s.person_id IN (:pd, :pa)), 'red yellow',
          'and store the pharmacy visitor''s red (listed with the venue of each stay), the community''s other stay yellow');
RESET healthcode.recalc_inline_limit;

-- ---- imports and direct writes ---------------------------------------------------
SELECT is(pg_temp.error_of(format($$SELECT import_risk_areas('[{"venue": %s, "division": "330106001", "level": "high", "effective_from": "%s"}]')$$,
                                  :v_shop, now()), true),
          '22023: risk area import: record 1, field "division": not the place of the venue named / Nothing was imported.',
          'a venue''s designation at another place is refused, naming the record and field');
SELECT is(pg_temp.error_of(format($$SELECT import_risk_areas('[{"level": "high", "effective_from": "%s"}]')$$, now()), true),
          '22023: risk area import: record 1, field "division": missing (a bulletin names a place or a venue) / Nothing was imported.',
          'a bulletin naming neither place nor venue is refused');
SELECT is(pg_temp.error_of($$SELECT import_travel('[{"person_id": 1, "place": "330106001000", "at": "2026-01-01T00:00:00+08:00"}]')$$, true),
          '22023: travel import: record 1, field "place": "330106001000" is not a place code: Place 330106001000: village 000 is the township itself; write its nine digits. / Nothing was imported.',
          'a twelve-digit code of a township is refused, saying how to write it');
SELECT is(pg_temp.error_of(format($$INSERT INTO risk_area (division, venue, level, effective_from) VALUES ('330106002', %s, 'high', now())$$, :v_shop)),
          '22023: risk area: venue ' || :v_shop || ' lies in 330106001001, not in 330106002',
          'a direct write of a venue''s designation at another place is refused');
SELECT is((SELECT count(*) FROM declare('330106199001014326', '330106', visited => '{330106001,330106002001}')), 1::bigint,
          'a declaration may name streets and communities visited');

-- ---- scopes: bulletins of fine places and venues within a role's regions -------
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT healthcode.import_risk_areas('[{"division": "330106001001", "level": "low", "effective_from": "%s"}]')$$, now())),
          'ok', 'a Hangzhou operator designates a community of Hangzhou');
SELECT is(pg_temp.state_as('regress_hc_op_bj', format($$SELECT healthcode.import_risk_areas('[{"division": "330106001001", "level": "low", "effective_from": "%s"}]')$$, now())),
          '42501', 'a Beijing operator does not');
SELECT is((pg_temp.attempt('regress_hc_op_bj', format($$SELECT healthcode.import_risk_areas('[{"venue": %s, "level": "low", "effective_from": "%s"}]')$$, :v_drug, now()))).message,
          'risk area import: record 1, field "venue": no such venue in the regions role regress_hc_op_bj acts for',
          'nor a Hangzhou venue: it looks like no venue at all');
SELECT is((pg_temp.attempt('regress_hc_op_bj', format($$INSERT INTO healthcode.risk_area (venue, level, effective_from) VALUES (%s, 'low', now())$$, :v_drug))).state,
          '23503', 'nor by a direct write');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$INSERT INTO healthcode.risk_area (venue, level, effective_from) VALUES (%s, 'low', now())$$, :v_drug)),
          'ok', 'a Hangzhou operator''s direct write of its venue''s designation fills in the place');

-- ---- names -------------------------------------------------------------------------
INSERT INTO division_name (code, name_zh, name_en) VALUES ('330106001', '测试街道', 'Test Street'),
                                                          ('330106001001', '测试社区', 'Test Community');
SELECT is(ARRAY[division_label('330106001001'), division_label('330106001001', 'en'), division_label('330106001'),
                division_label('330106002001')],
          ARRAY['杭州市西湖区测试街道测试社区', 'Test Community, Test Street, Xihu, Hangzhou', '杭州市西湖区测试街道',
                '杭州市西湖区'],
          'a place is named down its levels; levels no row names are left out');
-- (each backend caches the names it composed: a change of division_name is
-- seen at once, by this session and by others)
UPDATE division_name SET name_en = 'Test Road' WHERE code = '330106001';
SELECT is(division_label('330106001001', 'en'), 'Test Community, Test Road, Xihu, Hangzhou',
          'a name changed is shown at once (the cached names are dropped)');
SAVEPOINT before_delete;
DELETE FROM division_name WHERE code = '330106001001';
SELECT is(division_label('330106001001'), '杭州市西湖区测试街道', 'a name deleted is gone at once');
ROLLBACK TO SAVEPOINT before_delete;
SELECT is(division_label('330106001001'), '杭州市西湖区测试街道测试社区', 'and back once the deletion rolls back');
SELECT is(pg_temp.error_of($$INSERT INTO division_name (code, name_zh, name_en) VALUES ('330106000', 'x', 'x')$$)
            ~ '^23514: .*code_is_place_code', true, 'a name for no place is refused');

SELECT * FROM finish();
ROLLBACK;
