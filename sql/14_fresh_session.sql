-- A session that has not loaded the module yet: the status triggers read
-- healthcode.* settings, and must work before any of the extension's C
-- functions has been called in the session.
-- Needs: p1 of 04_helpers.sql, without a third dose on record.
SET search_path = public, healthcode;
SELECT person_id(synthetic_identifier('460105', 1)) AS p1 \gset
-- (looking p1 up loaded the module: a new connection, keeping p1)
\c -
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 3, %L)', :p1, '460105', '2021-06-01')) AS insert_in_fresh_session;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L)', :p1, 'medical_release', 'hc04 fresh session', 'hc04 order 2')) ~ '^no error' AS decision_in_fresh_session;
