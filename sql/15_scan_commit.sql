-- A venue scan that is its transaction's first write commits it without
-- waiting for the disk (healthcode.asynchronous_scans, on by default): the
-- setting is off again once the transaction ends. A scan after another
-- write, or with the setting off, leaves the durability the session asked
-- for. (pgTAP runs in one transaction that has written already: this test
-- needs transactions of its own.)
-- Needs: p1 of 04_helpers.sql (460105) and a key above it.
SET search_path = public, healthcode;
SELECT person_id(synthetic_identifier('460105', 1)) AS p1 \gset
-- (three venues, each scanned now: a venue code verifies from its printing on)
SELECT create_venue('460105', 'hc15 market', 'supermarket') AS v \gset
SELECT create_venue('460105', 'hc15 school', 'school') AS v2 \gset
SELECT create_venue('460105', 'hc15 station', 'transport') AS v3 \gset
SELECT venue_code(:v) AS vc, venue_code(:v2) AS vc2, venue_code(:v3) AS vc3 \gset
SHOW synchronous_commit;
BEGIN;
SELECT admit, recorded FROM scan_venue(:p1, :'vc');
SHOW synchronous_commit;
COMMIT;
SHOW synchronous_commit;
-- a transaction that wrote before the scan
BEGIN;
SELECT create_venue('460105', 'hc15 pharmacy', 'pharmacy') IS NOT NULL AS wrote_first;
SELECT admit, recorded FROM scan_venue(:p1, :'vc2');
SHOW synchronous_commit;
COMMIT;
-- the DBA's setting off
SET healthcode.asynchronous_scans = off;
BEGIN;
SELECT admit, recorded FROM scan_venue(:p1, :'vc3');
SHOW synchronous_commit;
COMMIT;
RESET healthcode.asynchronous_scans;
-- an app may not change it
SELECT try('SET ROLE healthcode_app; SET healthcode.asynchronous_scans = off');
RESET ROLE;
-- once a person, venue and minute, whoever writes the row: the day
-- partitions' unique index refuses a repeat written straight into travel
SELECT try(format($$INSERT INTO travel (person_id, region, place, at, source, venue)
                    SELECT person_id, region, place, date_trunc('minute', at), source, venue
                      FROM travel WHERE person_id = %s AND venue = %L ORDER BY at LIMIT 1$$, :p1, :v)) ~ '^23505' AS repeat_refused;
-- (a scan naming no venue is never a repeat)
SELECT count(*) AS stays_without_venue
  FROM (SELECT try(format($$INSERT INTO travel (person_id, region, place, at, source)
                            VALUES (%s, '460105', '460105', %L, 'venue_scan')$$,
                          :p1, date_trunc('minute', now()) - interval '40 minutes' + s * interval '1 second')) AS r
          FROM generate_series(1, 2) s) x WHERE r = 'no error';
