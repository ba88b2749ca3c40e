-- ---------------------------------------------------------------------------
-- Pharmacy registration (药品登记, issue 15): a pharmacy (a venue of kind
-- pharmacy) registers each sale of fever, cough, antiviral or antibiotic
-- medicine with the buyer's identifier, one at a time at the counter or in
-- bulk from its system. A sale is evidence like any other (medicine_sale,
-- 51_evidence.sql): the triggers recalculate the buyer, and where the
-- policy says so (medicine_purchase_yellow, off by default) the buyer is
-- yellow until a negative test sampled after the sale.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.register_medicine_sale(identifier text, venue_id bigint, medicine text,
                                                   at timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(register_medicine_sale.identifier);
  v @extschema@.venue;
  n integer;
BEGIN
  IF venue_id IS NULL OR medicine IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', CASE WHEN venue_id IS NULL THEN 'venue_id' ELSE 'medicine' END
      USING ERRCODE = '22004';
  END IF;
  IF NOT medicine = ANY (@extschema@._medicines()) THEN
    RAISE EXCEPTION 'medicine must be %, not %',
      regexp_replace(array_to_string(@extschema@._medicines(), ', '), ', ([a-z_]+)$', ' or \1'),
      quote_literal(@extschema@._shorten(medicine)) USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_finite(at, 'at');
  -- (a pharmacy of the caller's regions, open at the sale: another
  -- region's looks like none)
  SELECT * INTO v FROM @extschema@.venue x
   WHERE x.id = venue_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no venue % in the regions role % acts for', venue_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  IF v.kind <> 'pharmacy' THEN
    RAISE EXCEPTION 'venue % is a %, not a pharmacy', venue_id, v.kind USING ERRCODE = '22023';
  END IF;
  IF v.closed_at IS NOT NULL AND v.closed_at <= at THEN
    RAISE EXCEPTION 'venue % was closed at the sale', venue_id USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.medicine_sale (person_id, region, medicine, sold_at, venue, place)
  SELECT p.id, p.region, register_medicine_sale.medicine, register_medicine_sale.at, v.id, v.place
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT ON CONSTRAINT medicine_sale_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n > 0;
END $$;
COMMENT ON FUNCTION @extschema@.register_medicine_sale(text, bigint, text, timestamptz) IS
  'A pharmacy''s registration of a sale (药品登记): the buyer (their identifier, of the caller''s regions), the pharmacy (a venue of kind pharmacy of the caller''s regions, open at the sale), the medicine (antipyretic, cough, antiviral, antibiotic) and when (default now). The buyer is recalculated: yellow until a negative test where the policy''s medicine_purchase_yellow says so. True when new (the same sale again: false). 22023 for a bad identifier, medicine or a venue that is no pharmacy; P0002 for an unknown person or venue; 55000 for a closed pharmacy.';
REVOKE ALL ON FUNCTION @extschema@.register_medicine_sale(text, bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.register_medicine_sale(text, bigint, text, timestamptz)
  TO healthcode_app, healthcode_operator;

-- In bulk, from a pharmacy chain's system: checked and written as every
-- import is (72_imports.sql); a record naming a venue that is no open
-- pharmacy of the caller's regions refuses the batch.
CREATE FUNCTION @extschema@.import_medicine_sales(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'medicine sale',
    '{person_id,identifier,venue,medicine,at}',
    ARRAY['id', 'identifier', 'id!', array_to_string(@extschema@._medicines(), '|') || '!', 'evidence_time!'],
    'venue bigint, medicine text, at timestamptz',
    $q$INSERT INTO @extschema@.medicine_sale (person_id, region, medicine, sold_at, venue, place)
       SELECT r.pid, p.region, r.medicine, r.at, v.id, v.place
         FROM recs r JOIN people p ON p.id = r.pid JOIN @extschema@.venue v ON v.id = r.venue
        WHERE $ok
       ON CONFLICT ON CONSTRAINT medicine_sale_natural_key DO NOTHING$q$,
    checks => format(
      $q$SELECT r.ord, NULL::bigint,
                format('field "venue": no pharmacy %%s open at the sale in the regions the caller acts for', r.venue)
           FROM recs r
          WHERE NOT EXISTS (SELECT FROM @extschema@.venue v
                             WHERE v.id = r.venue AND v.kind = 'pharmacy'
                               AND (v.closed_at IS NULL OR v.closed_at > r.at)
                               AND %L::@extschema@.division_multirange @> (v.region COLLATE "C"))
          ORDER BY r.ord LIMIT 1$q$, @extschema@.my_region_scope()));
END $$;
COMMENT ON FUNCTION @extschema@.import_medicine_sales(json) IS
  'Imports pharmacy sales (药品登记): [{"person_id" or "identifier", "venue" (a pharmacy of the caller''s regions, open at the sale), "medicine" (antipyretic, cough, antiviral, antibiotic), "at"}]; a record naming anything else, or a person outside the caller''s regions, refuses the batch. Returns how many sales were new.';
REVOKE ALL ON FUNCTION @extschema@.import_medicine_sales(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_medicine_sales(json) TO healthcode_app, healthcode_operator;

-- The pharmacy a sale was made at, by the sale's id, for a screen's
-- reason: its name where the caller acts for the buyer, else NULL.
CREATE FUNCTION @extschema@._sale_venue_name(sale_id bigint) RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (SELECT v.name FROM @extschema@.medicine_sale m JOIN @extschema@.venue v ON v.id = m.venue
           WHERE m.id = sale_id AND @extschema@._in_caller_scope(m.region) AND @extschema@._in_caller_scope(v.region));
END $$;
COMMENT ON FUNCTION @extschema@._sale_venue_name(bigint) IS
  'Internal: the name of the pharmacy of a medicine sale, where the caller acts for both the buyer and the pharmacy (NULL otherwise), for the reasons a screen shows.';
REVOKE ALL ON FUNCTION @extschema@._sale_venue_name(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sale_venue_name(bigint) TO PUBLIC;

-- A sale written straight into the table (operators write evidence) is held
-- to what the calls check: a pharmacy the writing role sees (its own
-- regions'; row-level security), and the pharmacy's place.
CREATE FUNCTION @extschema@._medicine_sale_venue() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- (as the writing role: row-level security shows it its own venues)
  SELECT x.kind, x.place INTO v FROM @extschema@.venue x WHERE x.id = NEW.venue;
  IF NOT FOUND OR v.kind <> 'pharmacy' THEN
    RAISE EXCEPTION 'medicine sale: no pharmacy % in the regions role % acts for', NEW.venue, current_user
      USING ERRCODE = '23503';
  END IF;
  IF NEW.place IS DISTINCT FROM v.place THEN
    RAISE EXCEPTION 'medicine sale: pharmacy % lies in %, not in %', NEW.venue, v.place, NEW.place
      USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._medicine_sale_venue() IS
  'Internal: BEFORE ROW trigger of medicine_sale: the venue is a pharmacy the writing role sees (23503 otherwise) and the sale''s place is its place (22023).';
REVOKE ALL ON FUNCTION @extschema@._medicine_sale_venue() FROM PUBLIC;
CREATE TRIGGER medicine_sale_venue BEFORE INSERT OR UPDATE OF venue, place ON @extschema@.medicine_sale
  FOR EACH ROW EXECUTE FUNCTION @extschema@._medicine_sale_venue();
