-- After everything 04 to 11 wrote: a status read at the end of time gives
-- no internal error (XX000), and every stored status agrees with a full
-- recalculation from the evidence.
-- Needs: p1 of 04_helpers.sql, and the evidence of 05 to 11.
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT person_id(synthetic_identifier('460105', 1)) AS p1 \gset

-- ---- status reads at the ends of time ------------------------------------------------

SELECT left(try(format('SELECT * FROM status(%s, %L)', :p1, 'infinity')), 5) <> 'XX000' AS no_internal_error_at_infinity;

-- ---- the stored statuses agree with a full recalculation --------------------------------

SELECT count(*) AS inconsistent FROM check_consistency();
