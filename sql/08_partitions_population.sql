-- Travel's day partitions (create_travel_partitions,
-- drop_expired_travel_partitions) and the synthetic population
-- (generate_population): bad arguments, and which days are expired.
-- Needs: p1 of 04_helpers.sql; of the days before 2020-02 only the
-- partitions of the days kept (made by every import), and as the stays
-- left after the expired days go, p8's of yesterday (07_imports.sql) and
-- p1's of two days ago (06_review.sql).
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT person_id(synthetic_identifier('460105', 1)) AS p1 \gset

SELECT try($$SELECT create_travel_partitions('2019-11-30', '2019-12-01')$$) AS before_the_era;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "2019-11-30T10:00:00+08:00"}]', :p1))) AS stay_before_the_era;
-- no day given: every day kept, from the first to a week ahead, whatever
-- the data (made by the imports before already)
SELECT create_travel_partitions(NULL, NULL) BETWEEN 0 AND 1 AS imports_made_them_already;
SELECT count(*) = 0 AS every_kept_day_has_its_partition
  FROM generate_series(_travel_first_day(), (now() AT TIME ZONE 'Asia/Shanghai')::date + 7, interval '1 day') g
 WHERE to_regclass('healthcode.travel_' || to_char(g, 'YYYYMMDD')) IS NULL;
SELECT count(*) AS kept_days_before_the_first
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'healthcode.travel'::regclass
   AND to_date(substr(c.relname, 8), 'YYYYMMDD') < _travel_first_day();
SELECT try($$SELECT create_travel_partitions('-infinity', '2020-01-01')$$) AS infinite_first;
SELECT try($$SELECT create_travel_partitions('2020-01-01', 'infinity')$$) AS infinite_last;
SELECT try($$SELECT create_travel_partitions('2020-01-01', '2031-01-01')$$) AS eleven_years;
SELECT create_travel_partitions('2020-02-03', '2020-02-01') AS backwards;
SELECT create_travel_partitions('2020-02-01', '2020-02-03') AS made, create_travel_partitions('2020-02-01', '2020-02-03') AS again;
SELECT try($$SELECT drop_expired_travel_partitions(NULL)$$) AS null_margin;
SELECT try($$SELECT drop_expired_travel_partitions('-1 day')$$) AS negative_margin;
SELECT try($$SELECT drop_expired_travel_partitions('1000000 years')$$) ~ '^22023: .*margin' AS huge_margin_names_margin;
-- the expired days are the old ones made above
SELECT * FROM drop_expired_travel_partitions();
SELECT count(*) AS travel_rows FROM travel;

SELECT try($$SELECT * FROM generate_population(NULL)$$) AS null_people;
SELECT try($$SELECT * FROM generate_population(0)$$) AS no_people;
SELECT try($$SELECT * FROM generate_population(10000001)$$) AS too_many_people;
SELECT try($$SELECT * FROM generate_population(1, NULL)$$) AS null_stays;
SELECT try($$SELECT * FROM generate_population(1, -1)$$) AS negative_stays;
SELECT try($$SELECT * FROM generate_population(1, 1001)$$) AS too_many_stays;
SELECT try($$SELECT * FROM generate_population(1, 1, NULL)$$) AS null_days;
SELECT try($$SELECT * FROM generate_population(1, 1, 0)$$) AS zero_days;
SELECT try($$SELECT * FROM generate_population(1, 1, 367)$$) AS too_many_days;
SELECT try($$SELECT * FROM generate_population(1, 1, 1, NULL)$$) AS null_seed;
SELECT try($$SELECT * FROM generate_population(1, 1, 1, 1.5)$$) AS seed_too_big;
SELECT try($$SELECT * FROM generate_population(1, 1, 1, 'NaN')$$) AS nan_seed;
