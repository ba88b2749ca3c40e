-- Mode 3 for a region with no node (issue 16, point 3): the hub hosts it.
-- Its residents register and declare at the hub, its operator (mapped to it)
-- imports its evidence there, its own policy versions decide, its codes are
-- signed with the national key, and the hub publishes for its people what
-- a region node publishes for its own.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
\ir lib/common.psql
SELECT plan(26);

CREATE ROLE regress_hc_op_nm LOGIN IN ROLE healthcode_operator;
CREATE ROLE regress_hc_peer_nm LOGIN IN ROLE healthcode_peer;

-- ---- hosting --------------------------------------------------------------------------
SELECT is(pg_temp.error_of($$SELECT healthcode.host_region('150000', '内蒙古')$$),
          '55000: only the hub hosts regions; this node is not the hub', 'only the hub hosts a region');
SELECT set_node('hub', '000000', 'hub') IS NULL AS n \gset
SELECT create_key('000000') IS NOT NULL AS k \gset
SELECT is(pg_temp.state_as('regress_hc_op_zj', $$SELECT healthcode.host_region('150000', '内蒙古')$$), '42501',
          'an operator may not host a region: the national administration does');
INSERT INTO peer (subscription, publisher, region) VALUES ('regress_sub_zj', 'zhejiang', '330000');
SELECT is(pg_temp.error_of($$SELECT healthcode.host_region('330100', 'x')$$),
          '55000: region 330100 is served by a healthcode node', 'nor a region a node serves');
SELECT grant_region('regress_hc_peer_nm', '150100') IS NOT NULL AS g \gset
SELECT is(pg_temp.error_of($$SELECT healthcode.host_region('150000', '内蒙古')$$),
          '55000: region 150000 has a system of its own: role regress_hc_peer_nm speaks for it',
          'nor a region whose own system speaks for it at the peer API');
SELECT revoke_region('regress_hc_peer_nm', '150100') IS NOT NULL AS g \gset
SELECT is((SELECT region || ' ' || name FROM host_region('150000', '内蒙古')), '150000 内蒙古', 'the hub hosts Inner Mongolia');
SELECT is(pg_temp.error_of($$SELECT healthcode.host_region('150100', 'x')$$),
          '55000: region 150100 overlaps a region the hub hosts already', 'once');

-- ---- its people, at the hub ------------------------------------------------------------
SELECT grant_region('regress_hc_op_nm', '150000') IS NOT NULL AS g \gset
-- its own policy: a high-risk stay is red for 3 days here (the nation's default is longer)
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en) VALUES ('150000', now() - interval '30 days', 3, '内蒙古', 'Inner Mongolia');
SET LOCAL ROLE regress_hc_op_nm;
SELECT register_person('150102199001010019', '150102', '巴特尔') AS p \gset
RESET ROLE;
-- (someone of a region the hub does not host, registered at the hub all the same)
SELECT register_person('110105198502020028', '110105', '路人') AS other \gset
SELECT is(pg_temp.colour(:p), 'green', 'an operator mapped to the hosted region registers a resident at the hub');
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('150102', 'high', now() - interval '10 days', 'hosted');
SET LOCAL ROLE regress_hc_op_nm;
SELECT import_travel(format('[{"person_id": %s, "place": "150102", "at": "%s"}]', :p, now() - interval '4 days')::json) AS n \gset
RESET ROLE;
SELECT is(pg_temp.colour(:p), 'green', 'its own policy decides: a stay 4 days ago is past its 3-day lookback');
SET LOCAL ROLE regress_hc_op_nm;
SELECT import_travel(format('[{"person_id": %s, "place": "150102", "at": "%s"}]', :p, now() - interval '1 day')::json) AS n \gset
RESET ROLE;
SELECT is(pg_temp.colour(:p) || ' ' || pg_temp.rules(:p), 'red stay_high_risk', 'a stay yesterday is red');
SELECT is((SELECT region(code) || ' ' || (key_id(code) = (SELECT key_id FROM trust_list WHERE region = '000000'))
             FROM code_screen(:p)), '150102 true', 'the resident''s code is signed with the national key');

-- ---- the hub speaks for them ---------------------------------------------------------------
SELECT is((SELECT colour::text FROM status_digest WHERE subject = (SELECT subject FROM person WHERE id = :p)), 'red',
          'the hub publishes their digest, as a region node does for its own');
UPDATE person SET national_subject = '\x00112233445566778899aabbccddeeff' WHERE id = :p;
SELECT is((SELECT from_region || ' ' || rules::text FROM red_push WHERE national_subject = '\x00112233445566778899aabbccddeeff'),
          '150102 {stay_high_risk}', 'and their red, pushed to every region');
SELECT is((SELECT count(*) FROM status_digest d JOIN person p ON p.subject = d.subject WHERE p.id = :other), 0::bigint,
          'nobody else''s: a region it does not host is not the hub''s to speak for');
SELECT is(pg_temp.state_as('regress_hc_op_zj', format($$SELECT * FROM healthcode.status(%s)$$, :p)) || ' '
            || (pg_temp.attempt('regress_hc_op_zj', format($$SELECT * FROM healthcode.status(%s)$$, :p))).nrows,
          'ok 0', 'another region''s operator sees nothing of them');

-- ---- moving it onto a node of its own (doc/federation.md; the whole move: test/shell/federation.sh) ----------
SELECT is(pg_temp.error_of($$SELECT healthcode.subscription_sql('neimenggu', '150000', 'host=127.0.0.1 port=1')$$),
          '55000: the hub hosts region 150000 (or a region within it): its node cannot speak for it too',
          'while the hub hosts a region, it subscribes to no node for it');
SELECT is(pg_temp.error_of($$SELECT healthcode.subscription_sql('neimenggu', '150100', 'host=127.0.0.1 port=1')$$),
          '55000: the hub hosts region 150100 (or a region within it): its node cannot speak for it too', 'nor for a part of it');
SELECT is(pg_temp.error_of($$SELECT count(*) FROM healthcode.region_export('110000')$$),
          '55000: region 110000 is not a region this hub hosts', 'the hub exports only a region it hosts');
SELECT is(pg_temp.state_as('regress_hc_op_nm', $$SELECT count(*) FROM healthcode.region_export('150000')$$), '42501',
          'the region''s operator may not export it: the national administration does');
SELECT register_person('150102195001010029', '150102', '其其格') AS q \gset
-- (registered where the hub had no national key yet)
UPDATE person SET national_subject = NULL WHERE id = :q;
SELECT is(pg_temp.error_of($$SELECT count(*) FROM healthcode.region_export('150000')$$),
          '55000: region 150000 has people without a national pseudonym (1): their new node could not find them by identifier',
          'nor people its node could not find by identifier');
UPDATE person SET national_subject = '\x0f112233445566778899aabbccddeeff' WHERE id = :q;
SELECT record_decision(:q, 'override', 'isolated at home', 'NM CDC', 'yellow', now(), now() + interval '2 days') AS d \gset
CREATE TEMP TABLE exported AS SELECT * FROM region_export('150000');
SELECT is(ARRAY(SELECT tbl || ' ' || count(*) FROM exported
                 WHERE tbl NOT IN ('code_event', 'red_push') GROUP BY tbl ORDER BY tbl),
          '{"manual_decision 1","person 2","person_status 2","policy 1","risk_area 1","status_digest 2","status_history 4","travel 2"}',
          'the export: the region''s people and every row naming them, its policy, the bulletins, what the hub published for them');
SELECT is((SELECT count(*) FROM exported WHERE data ->> 'region' = '110105' OR data ->> 'id' = :'other'), 0::bigint,
          'nothing of anyone of another region');
SELECT is(pg_temp.error_of($$SELECT healthcode.adopt_region('150000')$$),
          '55000: region 150000 is adopted by the region node that is to serve it; this node serves 000000',
          'a hub adopts no region');
SELECT count(*) AS reds FROM red_push \gset
SELECT is(pg_temp.error_of($$SELECT * FROM healthcode.release_region('150000', NULL)$$),
          '22023: adopted must be the receipt adopt_region returned on the node', 'a release needs the node''s receipt');
SELECT is(pg_temp.error_of($$SELECT * FROM healthcode.release_region('150000', '{"person": 2}')$$),
          '55000: the node adopted other rows of region 150000 than the hub holds now',
          'and one that matches what the hub holds: nothing written since the export is lost');
SELECT is((SELECT string_agg(what || ' ' || rows, ', ' ORDER BY what) FROM release_region('150000', _moved_counts('150000'))
            WHERE what IN ('person', 'manual_decision (made tombstones)', 'travel')),
          'manual_decision (made tombstones) 1, person 2, travel 2',
          'the release erases the region''s people here, their decision made a tombstone');
SELECT is((SELECT count(*) FROM person WHERE region LIKE '15%')::text || ' ' || (SELECT count(*) FROM hosted_region)
            || ' ' || (SELECT count(*) FROM status_digest WHERE region LIKE '15%') || ' ' || ((SELECT count(*) FROM red_push) = :reds)
            || ' ' || (SELECT count(*) FROM code_revocation) || ' ' || (SELECT what || ' ' || people FROM erasure)
            || ' ' || (SELECT count(*) FROM verify_decision_chain()),
          '0 0 2 true 0 moved 2 0',
          'none of them stays, the region is hosted no more; what was published for them stays for their node to take over, no code is revoked, the chain verifies');

SELECT * FROM finish();
ROLLBACK;
