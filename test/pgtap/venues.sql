-- Venues (issue 15, point 1, the registry): an operator registers venues of
-- its regions and closes them, never deletes them; bad names and kinds are
-- refused; a venue of another region looks like none; ids are opaque; no
-- role but operators (and admins) registers or reads them.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(16);

SELECT create_venue('330106', ' 西湖银泰 ', 'supermarket', '延安路 98 号') AS v_hz \gset
SELECT create_venue('330203', '宁波站', 'transport') AS v_nb \gset
SELECT create_venue('110105', '朝阳医院', 'hospital') AS v_bj \gset

SELECT is((SELECT name || ' ' || kind || ' ' || region || ' ' || created_by || ' ' || (closed_at IS NULL) FROM venue WHERE id = :v_hz),
          '西湖银泰 supermarket 330106 ' || current_user || ' true', 'a venue is registered, its name trimmed, open, with who registered it');
SELECT ok(:v_hz >= 4611686018427387904 AND :v_nb >= 4611686018427387904, 'venue ids are opaque (the permuted range), counting nothing');

-- each operator registers within its regions only
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT create_venue('330102', '湖滨小区', 'residential_community')$$), 'ok',
          'an operator of Hangzhou registers a venue of Hangzhou');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT create_venue('110105', '北京某店', 'supermarket')$$), '42501',
          'not one of Beijing');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT create_venue('330203', '宁波某店', 'supermarket')$$), '42501',
          'nor of Ningbo, in the same province');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', $$SELECT name FROM healthcode.venue$$), ARRAY['西湖银泰'],
          'it reads the venues of its regions only');
SELECT is(pg_temp.rows_as('regress_hc_op_zj', $$SELECT name FROM healthcode.venue$$), ARRAY['宁波站', '西湖银泰'],
          'an operator of Zhejiang reads the province''s');
SELECT is(pg_temp.state_as('regress_hc_app_zj', $$SELECT create_venue('330106', 'x', 'other')$$), '42501',
          'an app does not register venues');
SELECT is(pg_temp.state_as('regress_hc_app_zj', $$SELECT count(*) FROM healthcode.venue$$), '42501',
          'nor reads them');

-- bad input
SELECT throws_ok($$SELECT create_venue('330106', '   ', 'supermarket')$$, '22023', NULL, 'a blank name is refused');
SELECT throws_ok($$SELECT create_venue('330106', 'x', 'casino')$$, '22023', NULL, 'an unknown kind is refused');
SELECT throws_ok($$SELECT create_venue('330106', NULL, 'other')$$, '22004', 'name must not be NULL', 'a NULL name is refused');
SELECT throws_ok($$SELECT create_venue('000000', 'x', 'other')$$, '22023', NULL, 'the nation is not a venue''s region');

-- closing
SELECT lives_ok(format($$SELECT close_venue(%s, '停业')$$, :v_hz), 'a venue is closed, saying why');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT close_venue(%s, 'x')$$, :v_hz)), '55000',
          'closing a venue already closed is refused (55000)');
SELECT is(replace(pg_temp.attempt('regress_hc_op_hz', format($$SELECT close_venue(%s, 'x')$$, :v_bj))::text, :'v_bj', '<id>'),
          replace(pg_temp.attempt('regress_hc_op_hz', $$SELECT close_venue(4611686018427387905, 'x')$$)::text, '4611686018427387905', '<id>'),
          'a venue of another region looks exactly like none (P0002)');

SELECT * FROM finish();
ROLLBACK;
