-- Venue scans (issue 15, point 2): a visitor's app scans a venue's code;
-- the stay is recorded as any stay (travel, venue_scan, the venue's id) and
-- the triggers recalculate; once for the same person, venue and minute;
-- the door keeper sees colour, masked name and the entry rule's verdict;
-- a bad or closed venue's code records nothing; roles as they should be.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(28);

SELECT create_key('330000') IS NOT NULL AS k \gset
SELECT person_id AS p FROM declare('330106199001014326', '330106', '张三丰', '{}', 36.6) \gset
SELECT person_id AS p2 FROM declare('330106199001015433', '330106', '王五') \gset
SELECT create_venue('330106', '西湖银泰', 'supermarket') AS v_shop \gset
SELECT create_venue('330108', '滨江医院', 'hospital') AS v_hosp \gset
SELECT create_venue('330106', '文三街小学', 'school') AS v_school \gset
SELECT venue_code(:v_shop) AS shop \gset
SELECT venue_code(:v_hosp) AS hosp \gset
SELECT venue_code(:v_school) AS school \gset
INSERT INTO venue_entry_rule (region, kind, demand, negative_test_hours, description)
VALUES ('330000', 'hospital', 'green_and_negative_test', 48, '凭绿码及48小时核酸阴性证明进入');
SELECT count(*) AS stays_before FROM travel WHERE person_id = :p \gset

SELECT is((SELECT (admit, reason, colour, display_name, venue_name, venue_kind, recorded)::text
             FROM scan_venue('330106199001014326', :'shop')),
          '(t,ok,green,张*丰,西湖银泰,supermarket,t)', 'a green visitor at a supermarket: admitted, the stay recorded');
SELECT is((SELECT source || ' ' || place || ' ' || (venue = :'v_shop') FROM travel WHERE person_id = :p ORDER BY at DESC LIMIT 1),
          'venue_scan 330106 true', 'the stay is a venue_scan in the venue''s district, naming the venue');
SELECT is((SELECT recorded FROM scan_venue('330106199001014326', :'shop')), false,
          'the same person, venue and minute again: no second stay');
SELECT is((SELECT count(*) FROM travel WHERE person_id = :p) - :stays_before, 1::bigint, 'one row for the two scans');
SELECT is((SELECT recorded FROM scan_venue('330106199001014326', :'shop', now() - interval '2 minutes')), true,
          'another minute: another stay');

-- entry rules as data
SELECT is((SELECT (admit, reason, rule)::text FROM scan_venue('330106199001014326', :'hosp')),
          '(f,no_recent_negative_test,凭绿码及48小时核酸阴性证明进入)', 'a hospital asks a negative test within 48 h: refused without one');
SELECT import_test_results(format('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "L", "sample_id": "SC-1"}]',
                                  :p, now() - interval '20 hours')::json) AS n \gset
SELECT is((SELECT (admit, reason)::text FROM scan_venue('330106199001014326', :'hosp')), '(t,ok)',
          'with a negative test of 20 hours ago: admitted');
SELECT is((SELECT (admit, rule)::text FROM scan_venue('330106199001014326', :'school')), '(t,"no entry rule: a green code")',
          'a kind without a rule asks green');

-- a venue in a risk area turns the visitor at once
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('330108', 'high', now() - interval '1 day', 'scans');
SELECT is((SELECT (admit, reason, colour)::text FROM scan_venue('330106199001015433', :'hosp')), '(f,not_green,red)',
          'a scan at a venue of a high-risk district: the stay counts at once, red, refused');
SELECT is((SELECT colour::text FROM status(:p2)), 'red', 'and the status says so');

-- bad codes record nothing
SELECT count(*) AS all_before FROM travel \gset
SELECT is((SELECT (admit, reason, recorded)::text FROM scan_venue('330106199001014326', 'HCV:nonsense')), '(f,malformed,f)',
          'a text that is no venue code: refused, nothing recorded');
SELECT close_venue(:v_school, '停课') IS NULL AS closed \gset
SELECT is((SELECT (admit, reason, recorded)::text FROM scan_venue('330106199001014326', :'school')), '(f,venue_closed,f)',
          'a closed venue''s code: refused, nothing recorded');
SELECT is((SELECT count(*) FROM travel) - :all_before, 0::bigint, 'no stay written by either');

-- in bulk, from a venue's system
SELECT count(*) AS before_bulk FROM travel WHERE source = 'venue_scan' \gset
-- (within one minute whatever the clock says: from its start)
SELECT date_trunc('minute', now()) - interval '3 hours' AS bulk_at \gset
SELECT is(import_scans(json_build_array(
            json_build_object('identifier', '330106199001014326', 'venue', :v_shop, 'at', :'bulk_at'::timestamptz),
            json_build_object('identifier', '330106199001014326', 'venue', :v_shop, 'at', :'bulk_at'::timestamptz + interval '10 seconds'),
            json_build_object('person_id', :p2, 'venue', :v_shop, 'at', :'bulk_at'::timestamptz))), 2,
          'a batch of scans: one stay a person, venue and minute');
SELECT is((SELECT count(*) FROM travel WHERE source = 'venue_scan' AND venue = :'v_shop' AND at < now() - interval '2 hours'),
          2::bigint, 'written as venue_scan stays naming the venue');
SELECT is(import_scans(json_build_array(json_build_object('person_id', :p, 'venue', :v_shop, 'at', :'bulk_at'::timestamptz))), 0,
          'the same scan again: nothing new');
SELECT throws_ok(format($$SELECT import_scans('[{"person_id": %s, "venue": %s, "at": "%s"}, {"person_id": %s, "venue": 4611686018427387905, "at": "%s"}]')$$,
                        :p, :v_shop, now() - interval '4 hours', :p, now() - interval '4 hours'),
                 '22023', 'scan import: record 2: field "venue": no venue 4611686018427387905 open at the scan in the regions the caller acts for',
                 'an unknown venue refuses the batch, naming the record and field');
SELECT is(pg_temp.state_as('regress_hc_op_bj', format($$SELECT import_scans('[{"person_id": %s, "venue": %s, "at": "%s"}]')$$,
                           :p, :v_shop, now() - interval '5 hours')), 'P0002',
          'an operator of Beijing imports no scans of Hangzhou''s people or venues');

-- roles
SELECT is(pg_temp.state_as('regress_hc_app_zj', format($$SELECT * FROM scan_venue('330106199001014326', %L)$$, :'shop')), 'ok',
          'an app of Zhejiang scans for its people');
SELECT is(pg_temp.state_as('regress_hc_op_bj', format($$SELECT * FROM scan_venue(%s, %L)$$, :p, :'shop')), 'P0002',
          'an operator of Beijing cannot scan for a person of Hangzhou (as for none)');
SELECT is(pg_temp.state_as('regress_hc_verifier', format($$SELECT * FROM scan_venue(%s, %L)$$, :p, :'shop')), '42501',
          'a verifier records no stays');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT * FROM scan_venue(%s, %L)$$, :p, :'shop')), 'ok',
          'an operator of Hangzhou scans for a person of Hangzhou');
SELECT is(pg_temp.state_as('regress_hc_admin', format($$SELECT * FROM scan_venue(%s, %L)$$, :p, :'shop')), 'ok',
          'the national administration may');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', format($$SELECT * FROM scan_venue(%s, %L)$$, :p, :'shop')), '42501',
          'an analyst records no stays');
SELECT is(pg_temp.state_as('regress_hc_bypass', format($$SELECT * FROM scan_venue(%s, %L)$$, :p, :'shop')), 'P0002',
          'nor does BYPASSRLS widen an operator''s regions (none mapped: the person is none of its)');

-- a venue of another node: its code verifies by the trust list, the registry here does not hold it
SELECT _sign_venue_code('330203', 4242) AS foreign_code \gset
SELECT person_id AS p3 FROM declare('330106199001016655', '330106', '赵六') \gset
SELECT is((SELECT (admit, reason, venue_name IS NULL, venue_kind IS NULL, recorded)::text
             FROM scan_venue('330106199001016655', :'foreign_code')),
          '(t,ok,t,t,t)', 'a venue another node registered: admitted on a green code, the stay recorded, its name and kind unknown here');
SELECT is((SELECT place || ' ' || source FROM travel WHERE venue = '4242'), '330203 venue_scan',
          'the stay lies in the venue''s county, as its code says');
SELECT is((SELECT recorded FROM scan_venue('330106199001016655', :'foreign_code')), false, 'once a minute, as any scan');

SELECT * FROM finish();
ROLLBACK;
