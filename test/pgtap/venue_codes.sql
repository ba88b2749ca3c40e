-- Venue codes (issue 15, point 1): an operator prints its venue's code,
-- signed by the region's key; any app verifies it offline against the trust
-- list and online against the registry; forged, foreign-keyed, revoked-key
-- and closed-venue codes are refused with their reasons; a venue code is
-- never a personal code nor the reverse; the QR reads back.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(23);

SELECT create_key('330000') AS k_zj \gset
SELECT create_key('110000') IS NOT NULL AS k_bj \gset
SELECT create_venue('330106', '西湖银泰', 'supermarket') AS v_hz \gset
SELECT create_venue('110105', '朝阳医院', 'hospital') AS v_bj \gset
SELECT venue_code(:v_hz) AS code \gset

SELECT alike(:'code'::text, 'HCV:%', 'a venue code is text starting HCV:');
SELECT is((SELECT (valid, venue_id = :v_hz, region, name, kind, reason, online_check)::text FROM verify_venue_code(:'code')),
          '(t,t,330106,西湖银泰,supermarket,ok,ok)', 'it verifies: the venue, its region, name and kind');
SELECT is((SELECT (valid, venue_id = :v_hz, name, reason, online_check)::text FROM verify_venue_code(:'code', online => false)),
          '(t,t,,ok,not_asked)', 'offline: the signature alone, no name');
SELECT is((SELECT reason FROM verify_venue_code(:'code', now() + interval '300 days')), 'ok',
          'a venue code has no expiry of its own: printed once, it stands while its key does');
SELECT is((SELECT reason FROM verify_venue_code(:'code', now() + interval '400 days')), 'key_expired',
          'until its key expires (a year): the venue prints it again after the key is rotated');

-- forged and foreign
SELECT is((SELECT reason FROM verify_venue_code(overlay(:'code' placing
             CASE substr(:'code', 128, 1) WHEN 'A' THEN 'B' ELSE 'A' END from 128 for 1))),
          'bad_signature', 'one character of the signature changed: bad_signature');
SELECT is((SELECT (reason, online_check, name IS NULL)::text FROM verify_venue_code(_sign_venue_code('330203', :v_hz))),
          '(ok,unknown,t)', 'a signed code naming a venue id in another district than the venue''s: not that venue');
SELECT is((SELECT reason FROM verify_venue_code('HCV:not a code')), 'malformed', 'a text that is no venue code: malformed');
SELECT is((SELECT reason FROM verify_venue_code(issue('330106', pseudonym('x'), 'green')::text)), 'malformed',
          'a personal code is no venue code');
SELECT is((SELECT reason FROM verify(:'code')), 'malformed', 'and a venue code no personal code');
SELECT throws_ok($$SELECT _sign_venue_code('440305', 42)$$, '55000', NULL, 'no key for the region: no venue code');
SELECT is((SELECT reason || ' ' || online_check FROM verify_venue_code(_sign_venue_code('110105', 987654321))),
          'ok unknown', 'a venue this node does not know: the signature holds, online unknown');

-- the venue closed, the key revoked
SELECT close_venue(:v_hz, '停业') IS NULL AS closed \gset
SELECT is((SELECT (valid, reason, online_check)::text FROM verify_venue_code(:'code')), '(f,venue_closed,venue_closed)',
          'a closed venue''s code is refused online');
SELECT is((SELECT (valid, reason)::text FROM verify_venue_code(:'code', now() + interval '1 day')), '(f,venue_closed)',
          'at any time asked: when it closed is not for a scanner to find out');
SELECT throws_ok($$SELECT create_venue('330100', '杭州市某店', 'supermarket')$$, '22023', NULL,
                 'a venue lies in a county-level division, not a city');
SELECT throws_ok(format($$SELECT venue_code(%s)$$, :v_hz), '55000', NULL, 'a closed venue gets no new code');
SELECT revoke_key(:'k_zj'::bytea, 'test') IS NULL AS revoked \gset
SELECT is((SELECT reason FROM verify_venue_code(:'code', online => false)), 'key_revoked', 'a code of a revoked key is refused');

-- roles
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT venue_code(%s)$$, :v_bj)), 'P0002',
          'an operator of Hangzhou gets no code for a venue of Beijing (as for none)');
SELECT is(pg_temp.state_as('regress_hc_app_zj', format($$SELECT venue_code(%s)$$, :v_bj)), '42501',
          'an app prints no venue codes');
SELECT is(pg_temp.state_as('regress_hc_verifier', format($$SELECT * FROM verify_venue_code(%L)$$, :'code')), 'ok',
          'a verifier checks them');
SELECT alike(venue_qr_svg(:'code'), '%<svg %</svg>%', 'the code as an SVG QR symbol (zbarimg reads it back: test/shell/qr_decode.sh)');

-- a venue of another node: unknown here online, until its node publishes its closure
SELECT _sign_venue_code('110105', 5151) AS other_node_code \gset
SELECT is((SELECT (valid, online_check)::text FROM verify_venue_code(:'other_node_code')), '(t,unknown)',
          'a venue of another node verifies by the trust list; online it is unknown here');
INSERT INTO venue_closure (venue, venue_region, closed_at) VALUES (5151, '110105', now() - interval '1 hour');
SELECT is((SELECT (valid, reason, online_check)::text FROM verify_venue_code(:'other_node_code')), '(f,venue_closed,venue_closed)',
          'once its closure is here, its code is refused online');

SELECT * FROM finish();
ROLLBACK;
