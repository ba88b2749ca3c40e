-- Travel's day partitions (create_travel_partitions,
-- drop_expired_travel_partitions) and the synthetic population
-- (generate_population): bad arguments, and which days are expired.
-- Needs: p1 of 04_helpers.sql; of the days before 2020-02 only the
-- partition of 2020-01-01 (06_review.sql's import), and as the one stay
-- left after the expired days go, p8's of yesterday (07_imports.sql).
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT person_id(synthetic_identifier('460105', 1)) AS p1 \gset

SELECT try($$SELECT create_travel_partitions('2019-11-30', '2019-12-01')$$) AS before_the_era;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "2019-11-30T10:00:00+08:00"}]', :p1))) AS stay_before_the_era;
SELECT try($$SELECT create_travel_partitions(NULL, '2020-01-01')$$) AS null_first;
SELECT try($$SELECT create_travel_partitions('2020-01-01', NULL)$$) AS null_last;
SELECT try($$SELECT create_travel_partitions('-infinity', '2020-01-01')$$) AS infinite_first;
SELECT try($$SELECT create_travel_partitions('2020-01-01', 'infinity')$$) AS infinite_last;
SELECT try($$SELECT create_travel_partitions('2020-01-01', '2031-01-01')$$) AS eleven_years;
SELECT create_travel_partitions('2020-02-03', '2020-02-01') AS backwards;
SELECT create_travel_partitions('2020-02-01', '2020-02-03') AS made, create_travel_partitions('2020-02-01', '2020-02-03') AS again;
SELECT try($$SELECT drop_expired_travel_partitions(NULL)$$) AS null_margin;
SELECT try($$SELECT drop_expired_travel_partitions('-1 day')$$) AS negative_margin;
SELECT try($$SELECT drop_expired_travel_partitions('1000000 years')$$) ~ '^22023: .*margin' AS huge_margin_names_margin;
-- the expired days are the old ones: 2020-01-01 (06_review.sql) and those made above
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
