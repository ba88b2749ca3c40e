-- ---------------------------------------------------------------------------
-- Batch calls for employers, schools and communities returning to work
-- (复工复产, doc/api.md): the status of a list of people in one set-based
-- statement, and a code for each of a list; an outcome per item, so a bad
-- or unknown item never stops the batch. Within the caller's regions: a
-- person of another region is "unknown", like one who does not exist.
-- ---------------------------------------------------------------------------

-- One item of a batch as found: its position, the person (NULL unless
-- found within the caller's regions) and the outcome so far.
CREATE TYPE @extschema@.batch_item AS (ord integer, person_id bigint, outcome text);
COMMENT ON TYPE @extschema@.batch_item IS 'Internal: a batch item as found (position, person, outcome).';
COMMENT ON COLUMN @extschema@.batch_item.ord IS 'The item''s position in the list, from 1.';
COMMENT ON COLUMN @extschema@.batch_item.person_id IS 'The person found within the caller''s regions, else NULL.';
COMMENT ON COLUMN @extschema@.batch_item.outcome IS 'ok, unknown or invalid.';

-- The statuses of the people found (ord, id or NULL), as readers see them
-- now (fresh while a change on the work list has yet to reach them).
CREATE FUNCTION @extschema@._statuses_of(found @extschema@.batch_item[])
RETURNS TABLE (ord integer, person_id bigint, outcome text, colour @extschema@.risk_colour, vaccinated boolean,
               since timestamptz, valid_until timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT f.ord, f.person_id,
         CASE WHEN f.outcome OPERATOR(pg_catalog.=) 'ok' AND s.person_id IS NULL THEN 'no_status' ELSE f.outcome END,
         (x.v).colour, (x.v).vaccinated, (x.v).since, (x.v).valid_until
    FROM pg_catalog.unnest(found) f
    LEFT JOIN @extschema@.person_status s ON s.person_id OPERATOR(pg_catalog.=) f.person_id
    LEFT JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                   THEN @extschema@._read_status(s, pg_catalog.statement_timestamp())
                                   ELSE @extschema@.status_at(s, pg_catalog.statement_timestamp()) END AS v
                        WHERE s.person_id IS NOT NULL OFFSET 0) x ON true
   ORDER BY f.ord;
END;
COMMENT ON FUNCTION @extschema@._statuses_of(@extschema@.batch_item[]) IS
  'Internal: the status now of each batch item found (check_statuses).';
REVOKE ALL ON FUNCTION @extschema@._statuses_of(@extschema@.batch_item[]) FROM PUBLIC;

CREATE FUNCTION @extschema@._batch_size(n integer, most integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF n > most THEN
    RAISE EXCEPTION 'a batch has at most % items, not %', most, n USING ERRCODE = '22023',
      HINT = 'Split the list.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._batch_size(integer, integer) IS 'Internal: 22023 for a batch of more than most items.';
REVOKE ALL ON FUNCTION @extschema@._batch_size(integer, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@.check_statuses(identifiers text[])
RETURNS TABLE (ord integer, person_id bigint, outcome text, colour @extschema@.risk_colour, vaccinated boolean,
               since timestamptz, valid_until timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
  -- (people adopted from the hub and not re-keyed: looked up one by one,
  -- by national pseudonym, only for the identifiers no subject matched)
  adopted boolean := EXISTS (SELECT 1 FROM @extschema@.adopted_person);
BEGIN
  IF identifiers IS NULL THEN
    RAISE EXCEPTION 'identifiers must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._batch_size(cardinality(identifiers), 100000);
  RETURN QUERY SELECT * FROM @extschema@._statuses_of(ARRAY(
    SELECT ROW(i.ord::integer, p.id,
               CASE WHEN i.norm IS NULL THEN 'invalid' WHEN p.id IS NULL THEN 'unknown' ELSE 'ok' END)::@extschema@.batch_item
      FROM (SELECT x.ord, (@extschema@.identifier_check(x.identifier)).normalized AS norm
              FROM unnest(identifiers) WITH ORDINALITY AS x(identifier, ord)) i
      LEFT JOIN @extschema@.person q ON i.norm IS NOT NULL AND q.subject = @extschema@.pseudonym(i.norm)
      LEFT JOIN @extschema@.person p
        ON p.id = COALESCE(q.id, CASE WHEN adopted AND i.norm IS NOT NULL THEN @extschema@._person_of(i.norm) END)
       AND scope @> (p.region COLLATE "C")));
END $$;
COMMENT ON FUNCTION @extschema@.check_statuses(text[]) IS
  'Batch status check (an employer, a school, a community): for each identifier, in order (ord from 1), the person, an outcome (ok; unknown: no such person in the caller''s regions; invalid: NULL, or no valid identity document, as identifier_check says) and their status now (no_status: a person with none yet). One statement for the whole list (at most 100,000).';
REVOKE ALL ON FUNCTION @extschema@.check_statuses(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_statuses(text[]) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.check_statuses(person_ids bigint[])
RETURNS TABLE (ord integer, person_id bigint, outcome text, colour @extschema@.risk_colour, vaccinated boolean,
               since timestamptz, valid_until timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  IF person_ids IS NULL THEN
    RAISE EXCEPTION 'person_ids must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._batch_size(cardinality(person_ids), 100000);
  RETURN QUERY SELECT * FROM @extschema@._statuses_of(ARRAY(
    SELECT ROW(x.ord::integer, p.id,
               CASE WHEN x.id IS NULL THEN 'invalid' WHEN p.id IS NULL THEN 'unknown' ELSE 'ok' END)::@extschema@.batch_item
      FROM unnest(person_ids) WITH ORDINALITY AS x(id, ord)
      LEFT JOIN @extschema@.person p ON p.id = x.id AND scope @> (p.region COLLATE "C")));
END $$;
COMMENT ON FUNCTION @extschema@.check_statuses(bigint[]) IS
  'Batch status check by person id: for each id, in order, the person (NULL unless ok), an outcome (ok, unknown, invalid: NULL) and their status now.';
REVOKE ALL ON FUNCTION @extschema@.check_statuses(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_statuses(bigint[]) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.issue_batch(person_ids bigint[], valid_for interval DEFAULT interval '5 minutes')
RETURNS TABLE (ord integer, person_id bigint, outcome text, code @extschema@.healthcode)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  item record;
BEGIN
  IF person_ids IS NULL THEN
    RAISE EXCEPTION 'person_ids must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- (a subtransaction an item, each with its own transaction id: a batch
  -- of codes stays small)
  PERFORM @extschema@._batch_size(cardinality(person_ids), 1000);
  -- (a bad valid_for is the whole batch's error, not an item's)
  PERFORM @extschema@._require_valid_for(valid_for);
  FOR item IN SELECT x.id, x.ord::integer AS ord FROM unnest(person_ids) WITH ORDINALITY AS x(id, ord) LOOP
    ord := item.ord;
    person_id := NULL;
    code := NULL;
    IF item.id IS NULL THEN
      outcome := 'invalid';
    ELSE
      BEGIN
        code := @extschema@._issue_for_person(item.id, valid_for, false, false);
        person_id := item.id;
        outcome := 'ok';
      EXCEPTION
        WHEN no_data_found THEN outcome := 'unknown';
        WHEN numeric_value_out_of_range THEN outcome := 'lifetime_beyond_policy';
        WHEN serialization_failure THEN outcome := 'retry';
        -- (no issuer key for the region, or no status yet)
        WHEN object_not_in_prerequisite_state THEN outcome := 'not_issuable';
      END;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.issue_batch(bigint[], interval) IS
  'A code for each of a list of people, as issue_for signs it (each counted in code_event): for each id, in order, an outcome (ok; unknown: no such person in the caller''s regions; invalid: NULL; lifetime_beyond_policy: valid_for beyond the person''s region''s policy; retry: their status changes within a second; not_issuable: no issuer key for their region, or no status yet) and the code when ok. A bad item never stops the batch; at most 1,000 items a call.';
REVOKE ALL ON FUNCTION @extschema@.issue_batch(bigint[], interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_batch(bigint[], interval) TO healthcode_app, healthcode_operator;
