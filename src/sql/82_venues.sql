-- ---------------------------------------------------------------------------
-- Venues (场所): the supermarkets, schools, stations, pharmacies, workplaces
-- and residential communities where codes are shown, each registered by an
-- operator of its region (issue 15). A venue is closed, never deleted: the
-- scans and traces that name it stay explained. Row-level security as the
-- personal tables have it (96_rls.sql): a role sees and registers the venues
-- of its regions only, and venue ids are opaque.
-- ---------------------------------------------------------------------------

-- The kinds of venue, in one place: the tables' checks and create_venue's
-- message read them.
CREATE FUNCTION @extschema@._venue_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['supermarket', 'school', 'hospital', 'pharmacy', 'transport', 'workplace',
             'residential_community', 'restaurant', 'public_venue', 'other'];
COMMENT ON FUNCTION @extschema@._venue_kinds() IS
  'Internal: the kinds of venue (venue.kind, venue_entry_rule.kind).';

CREATE TABLE @extschema@.venue (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code
                CHECK (@extschema@.division_code_valid(region) AND region <> '000000'),
  place         text NOT NULL CONSTRAINT place_is_in_region
                CHECK (@extschema@.place_code_valid(place) AND pg_catalog.left(place, 6) = region),
  name          text NOT NULL CONSTRAINT name_is_given CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
  kind          text NOT NULL CONSTRAINT kind_is_known
                CHECK (kind = ANY (@extschema@._venue_kinds())),
  address       text CONSTRAINT address_is_short CHECK (pg_catalog.length(address) <= 500),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by    text NOT NULL,
  closed_at     timestamptz,
  closed_by     text,
  close_reason  text,
  CONSTRAINT closing_is_complete
    CHECK ((closed_at IS NULL) = (closed_by IS NULL) AND (closed_at IS NULL) = (close_reason IS NULL))
);
CREATE INDEX venue_region ON @extschema@.venue (region);
COMMENT ON TABLE @extschema@.venue IS
  'Venues where codes are shown and scanned (场所): registered by an operator of the venue''s region, closed (never deleted) when they stop. Row-secured by region.';
COMMENT ON COLUMN @extschema@.venue.id IS 'Venue id (opaque).';
COMMENT ON COLUMN @extschema@.venue.region IS 'The county-level division the venue lies in (its owner region: row-level security goes by it).';
COMMENT ON COLUMN @extschema@.venue.place IS 'Where it lies as finely as known: its county, township or street (9 digits), or village or community (12). Its visitors'' stays are recorded there.';
COMMENT ON COLUMN @extschema@.venue.name IS 'The venue''s name as its door shows it.';
COMMENT ON COLUMN @extschema@.venue.kind IS 'supermarket, school, hospital, pharmacy, transport, workplace, residential_community, restaurant, public_venue or other: what entry rules and exposure tracing go by.';
COMMENT ON COLUMN @extschema@.venue.address IS 'The street address, free text.';
COMMENT ON COLUMN @extschema@.venue.created_at IS 'When it was registered.';
COMMENT ON COLUMN @extschema@.venue.created_by IS 'The role that registered it.';
COMMENT ON COLUMN @extschema@.venue.closed_at IS 'When it was closed; NULL while open.';
COMMENT ON COLUMN @extschema@.venue.closed_by IS 'The role that closed it.';
COMMENT ON COLUMN @extschema@.venue.close_reason IS 'Why.';

-- A venue of the caller's regions, locked (as a change of it locks it),
-- else P0002: a venue of another region looks like none.
CREATE FUNCTION @extschema@._require_venue(venue_id bigint) RETURNS @extschema@.venue
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.venue;
BEGIN
  IF venue_id IS NULL THEN
    RAISE EXCEPTION 'venue_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT * INTO v FROM @extschema@.venue x
   WHERE x.id = _require_venue.venue_id AND @extschema@._in_caller_scope(x.region)
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no venue % in the regions role % acts for', venue_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  RETURN v;
END $$;
COMMENT ON FUNCTION @extschema@._require_venue(bigint) IS
  'Internal: the venue with this id in the caller''s regions, locked FOR UPDATE; else 22004 (NULL) or P0002 (unknown there, as another region''s is).';
REVOKE ALL ON FUNCTION @extschema@._require_venue(bigint) FROM PUBLIC;

-- A bulletin may name a single venue (risk_area.venue): its division is
-- then the venue's place, filled in when left out, so that the (place, at)
-- index finds the stays a change of it concerns. The venue must be one the
-- writing role sees: its own regions' (a superuser or admin, any).
ALTER TABLE @extschema@.risk_area
  ADD CONSTRAINT risk_area_venue_fk FOREIGN KEY (venue) REFERENCES @extschema@.venue (id);
CREATE INDEX risk_area_venue ON @extschema@.risk_area (venue) WHERE venue IS NOT NULL;
-- (and a pharmacy's sales: 86_pharmacy.sql)
ALTER TABLE @extschema@.medicine_sale
  ADD CONSTRAINT medicine_sale_venue_fk FOREIGN KEY (venue) REFERENCES @extschema@.venue (id);

CREATE FUNCTION @extschema@._risk_area_venue_place() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  venue_place text;
BEGIN
  IF NEW.venue IS NULL OR @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- (as the writing role: row-level security shows it its own venues)
  SELECT v.place INTO venue_place FROM @extschema@.venue v WHERE v.id = NEW.venue;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'risk area: no venue % in the regions role % acts for', NEW.venue, current_user
      USING ERRCODE = '23503';
  END IF;
  IF NEW.division IS NULL THEN
    NEW.division := venue_place;
  ELSIF NEW.division <> venue_place THEN
    RAISE EXCEPTION 'risk area: venue % lies in %, not in %', NEW.venue, venue_place, NEW.division
      USING ERRCODE = '22023', HINT = 'Leave division out for a venue''s designation: it is the venue''s place.';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._risk_area_venue_place() IS
  'Internal: BEFORE ROW trigger of risk_area: a venue''s designation lies at the venue''s place (filled in when NULL, 22023 when another), and names a venue the writing role sees (23503 otherwise).';
REVOKE ALL ON FUNCTION @extschema@._risk_area_venue_place() FROM PUBLIC;
CREATE TRIGGER risk_area_venue_place BEFORE INSERT OR UPDATE OF venue, division ON @extschema@.risk_area
  FOR EACH ROW EXECUTE FUNCTION @extschema@._risk_area_venue_place();

CREATE FUNCTION @extschema@.create_venue(place text, name text, kind text, address text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
  region text := left(create_venue.place, 6);
BEGIN
  PERFORM @extschema@._require_place(create_venue.place);
  -- (its owner region is the county's six digits: a place below a county
  -- lies in one; a place of six digits must be a county itself)
  IF @extschema@.division_rank(create_venue.place) < 3 THEN
    RAISE EXCEPTION 'a venue lies in a county-level division (330106) or below it (330106001, 330106001001), not in %',
      create_venue.place USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_caller_scope(region);
  IF create_venue.name IS NULL OR create_venue.kind IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', CASE WHEN create_venue.name IS NULL THEN 'name' ELSE 'kind' END
      USING ERRCODE = '22004';
  END IF;
  IF length(btrim(create_venue.name)) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'name must have 1 to 200 characters, not %', length(btrim(create_venue.name))
      USING ERRCODE = '22023';
  END IF;
  IF NOT create_venue.kind = ANY (@extschema@._venue_kinds()) THEN
    RAISE EXCEPTION 'kind must be %, not %',
      regexp_replace(array_to_string(@extschema@._venue_kinds(), ', '), ', ([a-z_]+)$', ' or \1'),
      quote_literal(@extschema@._shorten(create_venue.kind)) USING ERRCODE = '22023';
  END IF;
  IF length(create_venue.address) > 500 THEN
    RAISE EXCEPTION 'address is too long (% characters; at most 500)', length(create_venue.address)
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.venue AS v (region, place, name, kind, address, created_by)
  VALUES (region, create_venue.place, btrim(create_venue.name), create_venue.kind, create_venue.address,
          @extschema@._caller()::regrole::text)
  RETURNING v.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.create_venue(text, text, text, text) IS
  'Registers a venue at a place (a county, or a township or community below it) of a region the caller acts for (22023 for a bad place, name, kind or address; 42501 outside the caller''s regions); returns its id.';
REVOKE ALL ON FUNCTION @extschema@.create_venue(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_venue(text, text, text, text) TO healthcode_operator;

CREATE FUNCTION @extschema@.close_venue(venue_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.venue;
BEGIN
  IF venue_id IS NULL OR reason IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', CASE WHEN venue_id IS NULL THEN 'venue_id' ELSE 'reason' END
      USING ERRCODE = '22004';
  END IF;
  IF length(btrim(reason)) NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'reason must have 1 to 1000 characters' USING ERRCODE = '22023';
  END IF;
  v := @extschema@._require_venue(venue_id);
  IF v.closed_at IS NOT NULL THEN
    RAISE EXCEPTION 'venue % was closed on %', venue_id, v.closed_at USING ERRCODE = '55000';
  END IF;
  UPDATE @extschema@.venue x
     SET closed_at = now(), closed_by = @extschema@._caller()::regrole::text, close_reason = btrim(reason)
   WHERE x.id = venue_id;
  -- on the node that speaks for its region (a region node, or the hub for
  -- a region it hosts), published to every other node
  -- (94_federation_exposures.sql): its code is refused online everywhere
  IF @extschema@._served_here() @> (v.region COLLATE "C") THEN
    INSERT INTO @extschema@.venue_closure (venue, venue_region, closed_at) VALUES (v.id, v.region, now())
    ON CONFLICT ON CONSTRAINT venue_closure_pkey DO NOTHING;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.close_venue(bigint, text) IS
  'Closes a venue of the caller''s regions, saying why (P0002 for a venue unknown there, 55000 when already closed). A closed venue stays, with its scans. On a region node the closure is published through the hub (venue_closure), so other nodes refuse its code online too.';
REVOKE ALL ON FUNCTION @extschema@.close_venue(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.close_venue(bigint, text) TO healthcode_operator;

-- ---- venue codes (场所码): printed once at the door, checked by every app ----
-- The signing primitive, the owner's only (as issue() is).
CREATE FUNCTION @extschema@._sign_venue_code(region text, venue_id bigint) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_sign_venue_code'
  LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._sign_venue_code(text, bigint) IS
  'Internal: a venue code (HCV:...) for a venue of region, signed with the region''s active issuer key (or the nearest above it), issued now.';
REVOKE ALL ON FUNCTION @extschema@._sign_venue_code(text, bigint) FROM PUBLIC;

CREATE FUNCTION @extschema@._verify_venue_code(code text, at timestamptz,
    OUT valid boolean, OUT venue_id bigint, OUT region text, OUT issued_at timestamptz,
    OUT key_id bytea, OUT reason text)
RETURNS record
  AS 'MODULE_PATHNAME', 'healthcode_verify_venue_code'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._verify_venue_code(text, timestamptz) IS
  'Internal: a venue code judged offline against the trust list: malformed, unknown_key, bad_signature, region_mismatch, key_revoked, key_not_valid_at_issue, key_expired, not_yet_valid or ok.';

CREATE FUNCTION @extschema@.venue_code(venue_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (locked: a venue closed meanwhile gets no code)
  v @extschema@.venue := @extschema@._require_venue(venue_code.venue_id);
BEGIN
  IF v.closed_at IS NOT NULL THEN
    RAISE EXCEPTION 'venue % was closed on %', venue_id, v.closed_at USING ERRCODE = '55000';
  END IF;
  RETURN @extschema@._sign_venue_code(v.region, v.id);
END $$;
COMMENT ON FUNCTION @extschema@.venue_code(bigint) IS
  'The venue code (HCV:...) a venue of the caller''s regions prints at its door, signed by its region''s key; print it with venue_qr_svg or venue_qr_png. P0002 for a venue unknown in the caller''s regions, 55000 for a closed one.';
REVOKE ALL ON FUNCTION @extschema@.venue_code(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.venue_code(bigint) TO healthcode_operator;

-- A scanned venue code: offline what the signature says, online (the
-- default) also whether this node knows the venue closed. Its name and kind
-- are answered for a code that verifies: they are printed at its door.
CREATE FUNCTION @extschema@.verify_venue_code(code text, at timestamptz DEFAULT pg_catalog.now(),
    online boolean DEFAULT true,
    OUT valid boolean, OUT venue_id bigint, OUT region text, OUT name text, OUT kind text,
    OUT issued_at timestamptz, OUT reason text, OUT online_check text, OUT place text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  v @extschema@.venue;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(at, 'at');
  r := @extschema@._verify_venue_code(code, at);
  valid := r.valid;
  venue_id := r.venue_id;
  region := r.region;
  issued_at := r.issued_at;
  reason := r.reason;
  online_check := 'not_asked';
  IF r.valid AND coalesce(online, true) THEN
    SELECT * INTO v FROM @extschema@.venue x WHERE x.id = r.venue_id AND x.region = r.region;
    IF NOT FOUND THEN
      -- (a venue of another node: closed if its node published its closure)
      IF EXISTS (SELECT 1 FROM @extschema@.venue_closure c WHERE c.venue = r.venue_id AND c.venue_region = r.region) THEN
        valid := false;
        reason := 'venue_closed';
        online_check := 'venue_closed';
      ELSE
        online_check := 'unknown';
      END IF;
    ELSE
      name := v.name;
      kind := v.kind;
      place := v.place;
      online_check := 'ok';
      -- (closed now, whatever at asks: when it closed is not printed at
      -- its door, and an at of the caller's choosing would find it out)
      IF v.closed_at IS NOT NULL THEN
        valid := false;
        reason := 'venue_closed';
        online_check := 'venue_closed';
      END IF;
    END IF;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_venue_code(text, timestamptz, boolean) IS
  'A scanned venue code: offline (the trust list) malformed, unknown_key, bad_signature, region_mismatch, key_revoked, key_not_valid_at_issue, key_expired (a venue prints its code again when its region''s key rotates), not_yet_valid or ok; online (the default), venue_closed when this node knows the venue closed, and its name and kind where it knows it (online_check: ok, venue_closed, unknown, or not_asked; place, where it lies, the same). A venue of another node is venue_closed where its node published its closure (venue_closure). A venue code has no expiry: it stands while its key is trusted and its venue open.';
REVOKE ALL ON FUNCTION @extschema@.verify_venue_code(text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_venue_code(text, timestamptz, boolean)
  TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE FUNCTION @extschema@.venue_qr_svg(code text, ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_venue_qr_svg'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.venue_qr_svg(text, text, integer) IS
  'A venue code as an SVG QR symbol (22P02 for a text that is no venue code); ec_level L, M (default), Q or H; module_size in pixels (1-64).';

CREATE FUNCTION @extschema@.venue_qr_png(code text, ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_venue_qr_png'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.venue_qr_png(text, text, integer) IS
  'A venue code as a PNG QR symbol (22P02 for a text that is no venue code).';
