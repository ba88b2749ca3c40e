-- ---------------------------------------------------------------------------
-- Arguments. Every function an application or operator calls checks its
-- arguments before it writes anything, and a bad one gets an error whose
-- message names the argument, with the SQLSTATE of its class:
--   22004  a NULL where a value is needed
--   22023  an invalid value (a division code, a word outside a vocabulary,
--          a text or an array too long)
--   22003  a number or an interval out of range
--   22008  a time that is not finite
-- A value is echoed only shortened (_shorten), and an identifier never.
-- ---------------------------------------------------------------------------

-- (in C, hc_shorten: the same rule as the imports' messages)
CREATE FUNCTION @extschema@._shorten(value text, max integer DEFAULT 40) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_shorten'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._shorten(text, integer) IS
  'Internal: a value as an error message echoes it: cut to max bytes (default 40) at a character boundary, with ... appended when cut, control characters as ?; NULL as the word NULL.';

CREATE FUNCTION @extschema@._require_finite(value timestamptz, argname text) RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'healthcode_require_finite'
  LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION @extschema@._require_finite(timestamptz, text) IS
  'Internal: the time if it is finite, else 22004 (NULL) or 22008 (infinity), naming the argument.';
REVOKE ALL ON FUNCTION @extschema@._require_finite(timestamptz, text) FROM PUBLIC;

-- Reasons, claims, authorities: free text a person writes, never empty and
-- of a length a person writes.
CREATE FUNCTION @extschema@._require_text(value text, argname text, max integer DEFAULT 1000) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  IF length(btrim(value)) = 0 THEN
    RAISE EXCEPTION '% must not be empty', argname USING ERRCODE = '22023';
  END IF;
  IF length(value) > max THEN
    RAISE EXCEPTION '% is too long (% characters; at most %)', argname, length(value), max USING ERRCODE = '22023';
  END IF;
  RETURN value;
END $$;
COMMENT ON FUNCTION @extschema@._require_text(text, text, integer) IS
  'Internal: the text if it is neither NULL (22004) nor blank nor longer than max characters (22023), naming the argument.';
REVOKE ALL ON FUNCTION @extschema@._require_text(text, text, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@._require_text_array(value text[], argname text, max integer) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RAISE EXCEPTION '% must not be NULL (an empty array: none)', argname USING ERRCODE = '22004';
  END IF;
  IF array_ndims(value) > 1 THEN
    RAISE EXCEPTION '% must be a one-dimensional array', argname USING ERRCODE = '22023';
  END IF;
  IF cardinality(value) > max THEN
    RAISE EXCEPTION '% has % elements; at most %', argname, cardinality(value), max USING ERRCODE = '22023';
  END IF;
  IF array_position(value, NULL) IS NOT NULL THEN
    RAISE EXCEPTION '% must not contain NULL', argname USING ERRCODE = '22004';
  END IF;
  RETURN value;
END $$;
COMMENT ON FUNCTION @extschema@._require_text_array(text[], text, integer) IS
  'Internal: the array if it is not NULL, has one dimension, at most max elements and no NULL element; else 22004 or 22023 naming the argument.';
REVOKE ALL ON FUNCTION @extschema@._require_text_array(text[], text, integer) FROM PUBLIC;
