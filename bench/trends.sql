-- bench/trends.sql — the population of bench/trends.sh: :people people of
-- one province (Guangdong, ten districts in two cities) registered 400 days
-- ago, and a year of their colours written as the status engine writes
-- them: each a first status (green) at registration, and, for some, an
-- episode in the last 365 days (three in ten yellow for seven days, one in
-- twenty of them red for fourteen instead), each back to green when it
-- ends; person_status holds each person's last change. Loaded with
-- healthcode.restore_mode on (nothing recalculated: the rows are the
-- statuses).
--
-- Then a year of the trends' status measure in daily_rollup, as rollup_day
-- writes it (people by colour and the rule of the first reason at each
-- day's end, district, city, province, nation), computed set-based from the
-- history: bench/trends.sh checks on sample days that rollup_day writes the
-- same rows. bench.series_sql(from, to, regions) is that computation, read
-- by both: the running sums of each day's changes, the cheapest way to a
-- series from the history without a rollup.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
CREATE SCHEMA bench;
SELECT healthcode.create_key('000000') IS NOT NULL AS key;

BEGIN;
SET LOCAL healthcode.restore_mode = on;
INSERT INTO healthcode.person (region, subject, display_name, registered_at)
SELECT d.region, healthcode.pseudonym(healthcode.synthetic_identifier(d.region, g)), '某*',
       now() - interval '400 days'
  FROM generate_series(1, :people) g
  CROSS JOIN LATERAL (SELECT (ARRAY['440103', '440104', '440105', '440106', '440111',
                                    '440303', '440304', '440305', '440306', '440307'])[1 + g % 10] AS region) d;

SELECT setseed(0.23);
CREATE TABLE bench.change AS
WITH p AS (
  SELECT id, region, registered_at, random() AS r1, random() AS r2 FROM healthcode.person
), e AS (
  SELECT id, region, registered_at AS at, 'green'::healthcode.risk_colour AS colour, '[]'::jsonb AS reasons FROM p
  UNION ALL
  SELECT id, region, now() - r2 * interval '365 days',
         CASE WHEN r1 < 0.05 THEN 'red' ELSE 'yellow' END::healthcode.risk_colour,
         CASE WHEN r1 < 0.05 THEN '[{"rule": "high_risk_stay"}]' ELSE '[{"rule": "contact_secondary"}]' END::jsonb
    FROM p WHERE r1 < 0.3
  UNION ALL
  SELECT id, region, now() - r2 * interval '365 days' + CASE WHEN r1 < 0.05 THEN interval '14 days' ELSE interval '7 days' END,
         'green', '[]'
    FROM p WHERE r1 < 0.3
     AND now() - r2 * interval '365 days' + CASE WHEN r1 < 0.05 THEN interval '14 days' ELSE interval '7 days' END < now()
)
SELECT id AS person_id, region, at, lag(colour) OVER (PARTITION BY id ORDER BY at) AS from_colour, colour AS to_colour, reasons
  FROM e;
INSERT INTO healthcode.status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
SELECT person_id, region, at, from_colour, to_colour, reasons, 'bench: a year of colours' FROM bench.change ORDER BY at;
INSERT INTO healthcode.person_status (person_id, region, colour, vaccinated, reasons, since, valid_until, next, computed_at)
SELECT DISTINCT ON (person_id) person_id, region, to_colour, false, reasons, at, 'infinity', '[]', now()
  FROM bench.change ORDER BY person_id, at DESC;
COMMIT;

-- The status series from the history alone: people by region (the
-- regions' own rows, a district's), colour and rule at each day's end
-- (China Standard Time), from a person's change to their next. A change
-- holds from the day it was made to the day of the next: +1 then -1, and
-- each day's count is the running sum.
CREATE FUNCTION bench.series_sql(from_day date, to_day date, province text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT format($q$
    WITH e AS (
      SELECT h.region, (h.at AT TIME ZONE 'Asia/Shanghai')::date AS d_from,
             (lead(h.at) OVER (PARTITION BY h.person_id ORDER BY h.at) AT TIME ZONE 'Asia/Shanghai')::date AS d_to,
             h.to_colour::text AS colour, COALESCE(h.reasons -> 0 ->> 'rule', '') AS rule
        FROM healthcode.status_history h
       WHERE h.region BETWEEN %3$L AND left(%3$L, 2) || '9999'
    ), delta AS (
      SELECT region, d, colour, rule, sum(n) AS n
        FROM (SELECT region, d_from AS d, colour, rule, 1 AS n FROM e
              UNION ALL
              SELECT region, d_to, colour, rule, -1 FROM e WHERE d_to IS NOT NULL) x
       GROUP BY 1, 2, 3, 4
    ), grid AS (
      SELECT c.region, g::date AS day, c.colour, c.rule
        FROM (SELECT DISTINCT region, colour, rule FROM delta) c
        CROSS JOIN generate_series((SELECT min(d) FROM delta), %2$L::date, interval '1 day') g
    ), running AS (
      SELECT g.region, g.day, g.colour, g.rule,
             sum(COALESCE(x.n, 0)) OVER (PARTITION BY g.region, g.colour, g.rule ORDER BY g.day) AS people
        FROM grid g LEFT JOIN delta x ON (x.region, x.d, x.colour, x.rule) = (g.region, g.day, g.colour, g.rule)
    )
    SELECT region, day, colour, rule, people FROM running
     WHERE day BETWEEN %1$L AND %2$L AND people > 0$q$, from_day, to_day, province);
$f$;
