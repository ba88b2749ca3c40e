-- ---------------------------------------------------------------------------
-- Division codes (GB/T 2260): a code covers itself and the codes below it
-- (330000 every 33xxxx, 330100 every 3301xx, 000000 the whole country).
-- Below the county, places (where people stay, what bulletins name) go
-- on in the statistical division codes: 330106001 a township or street
-- of 330106, 330106001001 a village or community of it (place_code_valid,
-- src/hc_core_codec.c). Every place below a code starts with the code's
-- own digits, so a code covers exactly the codes from itself to itself
-- padded with nines to twelve digits (division_last), in text order.
-- Region scopes, policy inheritance and risk areas all rest on this.
-- Regions (scopes, keys, policies, people's home) stay six-digit codes.
-- The SQL functions here are not STRICT (NULL in, NULL out all the same):
-- a STRICT SQL function whose body is a CASE is never inlined, and these
-- are in the hot path of every scope check, policy lookup and screen.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.division_chain(code text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN @extschema@.division_code_valid(code) THEN
    ARRAY[code, pg_catalog.left(code, 4) OPERATOR(pg_catalog.||) '00',
          pg_catalog.left(code, 2) OPERATOR(pg_catalog.||) '0000', '000000']
  WHEN @extschema@.place_code_valid(code) THEN
    CASE WHEN pg_catalog.length(code) OPERATOR(pg_catalog.=) 12
         THEN ARRAY[code, pg_catalog.left(code, 9)] ELSE ARRAY[code] END
    OPERATOR(pg_catalog.||)
    ARRAY[pg_catalog.left(code, 6), pg_catalog.left(code, 4) OPERATOR(pg_catalog.||) '00',
          pg_catalog.left(code, 2) OPERATOR(pg_catalog.||) '0000', '000000'] END;
COMMENT ON FUNCTION @extschema@.division_chain(text) IS
  'The codes covering a division or place, nearest first: itself, its township (for a village), its county (below the county), its city, its province, the nation (000000). Duplicates when the code is a city or province; NULL for an invalid code.';

CREATE FUNCTION @extschema@.division_last(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN code IS NULL THEN NULL
  WHEN @extschema@.division_code_valid(code) THEN
    CASE
      WHEN code OPERATOR(pg_catalog.=) '000000' THEN '999999'
      WHEN pg_catalog.right(code, 4) OPERATOR(pg_catalog.=) '0000' THEN pg_catalog.left(code, 2) OPERATOR(pg_catalog.||) '9999'
      WHEN pg_catalog.right(code, 2) OPERATOR(pg_catalog.=) '00' THEN pg_catalog.left(code, 4) OPERATOR(pg_catalog.||) '99'
      ELSE code END OPERATOR(pg_catalog.||) '999999'
  WHEN @extschema@.place_code_valid(code) THEN
    pg_catalog.rpad(code, 12, '9') END;
COMMENT ON FUNCTION @extschema@.division_last(text) IS
  'The last code a division or place covers: the codes it covers are exactly those between the code itself and this, in text order (330000 -> 339999999999, 330100 -> 330199999999, 330106 -> 330106999999, 330106001 -> 330106001999, a village itself); NULL for an invalid code.';

CREATE FUNCTION @extschema@.division_covers(area text, code text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN @extschema@.division_code_valid(code) OR @extschema@.place_code_valid(code) THEN
         code OPERATOR(pg_catalog.>=) area AND code OPERATOR(pg_catalog.<=) @extschema@.division_last(area) END;
COMMENT ON FUNCTION @extschema@.division_covers(text, text) IS
  'True when division or place area covers code (itself or a division or place below it); NULL when either is invalid.';

CREATE FUNCTION @extschema@.division_rank(code text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN code IS NULL THEN NULL
  WHEN @extschema@.division_code_valid(code) THEN
    CASE
      WHEN code OPERATOR(pg_catalog.=) '000000' THEN 0
      WHEN pg_catalog.right(code, 4) OPERATOR(pg_catalog.=) '0000' THEN 1
      WHEN pg_catalog.right(code, 2) OPERATOR(pg_catalog.=) '00' THEN 2
      ELSE 3 END
  WHEN @extschema@.place_code_valid(code) THEN
    CASE pg_catalog.length(code) WHEN 9 THEN 4 ELSE 5 END END;
COMMENT ON FUNCTION @extschema@.division_rank(text) IS
  'How specific a division or place code is: 0 national, 1 province, 2 city, 3 county, 4 township or street, 5 village or community; NULL for an invalid code.';

CREATE FUNCTION @extschema@.division_codes_valid(codes text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.bool_and(c IS NOT NULL AND @extschema@.place_code_valid(c)), true)
    FROM pg_catalog.unnest(codes) AS c;
END;
COMMENT ON FUNCTION @extschema@.division_codes_valid(text[]) IS
  'True when every element is a valid place code (a division other than the nation, a township or a village; an empty array is valid).';

-- A division code as a function's argument (the rules of arguments: 41_arguments.sql).
CREATE FUNCTION @extschema@._require_region(region text, argname text DEFAULT 'region',
                                            allow_national boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF region IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  IF NOT @extschema@.division_code_valid(region) THEN
    RAISE EXCEPTION 'invalid division code for %: %', argname, quote_literal(@extschema@._shorten(region))
      USING ERRCODE = '22023',
            HINT = 'A division code has six digits: 330000 a province, 330100 a city, 330106 a district.';
  END IF;
  IF region = '000000' AND NOT allow_national THEN
    RAISE EXCEPTION 'invalid division code for %: %', argname, quote_literal(region)
      USING ERRCODE = '22023', DETAIL = '000000 is the whole country, not a region.';
  END IF;
  RETURN region;
END $$;
COMMENT ON FUNCTION @extschema@._require_region(text, text, boolean) IS
  'Internal: the code if it is a valid division code (000000, the whole country, only with allow_national), else 22004 or 22023 naming the argument.';
REVOKE ALL ON FUNCTION @extschema@._require_region(text, text, boolean) FROM PUBLIC;

-- A place (a division, township or village) as a function's argument.
CREATE FUNCTION @extschema@._require_place(place text, argname text DEFAULT 'place') RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_require_place'
  LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION @extschema@._require_place(text, text) IS
  'Internal: the code if it is a valid place code (place_code_valid), else 22004 or 22023 naming the argument and what is wrong.';
REVOKE ALL ON FUNCTION @extschema@._require_place(text, text) FROM PUBLIC;
