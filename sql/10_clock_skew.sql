-- How far in the future evidence may lie: the healthcode.clock_skew
-- setting (default 5 minutes), and that the latest row of a statement
-- counts.
-- Needs: p5 of 04_helpers.sql, with no contact yet.
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT person_id(synthetic_identifier('460105', 5)) AS p5 \gset

-- try() with the things that change from run to run taken out of the
-- message: times (future-time errors echo the offending time) and the
-- names of day partitions of travel.
CREATE FUNCTION pg_temp.tryn(sql text) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(regexp_replace(public.try(sql),
           '[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [0-9]{4} UTC', '<time>', 'g'),
           'travel_[0-9]{8}', 'travel_<day>', 'g')
$$;

SHOW healthcode.clock_skew;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '4 minutes', 'skew-1')) AS four_minutes_ahead;
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '6 minutes', 'skew-2')) AS six_minutes_ahead;
SET healthcode.clock_skew = 0;
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '1 second', 'skew-3')) AS one_second_ahead_no_skew;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now(), %L)', :p5, '460105', 'secondary', 'skew-4')) AS now_no_skew;
SET healthcode.clock_skew = '1h';
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '50 minutes', 'skew-5')) AS fifty_minutes_ahead_1h;
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '70 minutes', 'skew-6')) AS seventy_minutes_ahead_1h;
RESET healthcode.clock_skew;
-- the latest row of a statement counts: one future row of many spoils all
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES
  (%1$s, %2$L, %3$L, now() - interval %4$L, %5$L), (%1$s, %2$L, %3$L, now() + interval %6$L, %5$L)',
  :p5, '460105', 'secondary', '1 day', 'skew-7', '1 day')) AS one_future_of_two;
SELECT source_case FROM contact WHERE person_id = :p5 ORDER BY source_case;
