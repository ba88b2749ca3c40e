-- ---------------------------------------------------------------------------
-- QR images of a code. The text form is all in the QR alphanumeric set, so
-- the symbol uses alphanumeric mode. A 4-module quiet zone is included.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.qr_svg(code @extschema@.healthcode,
    ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_qr_svg'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.qr_svg(@extschema@.healthcode, text, integer) IS
  'The code as an SVG QR symbol; ec_level L, M (default), Q or H; module_size in pixels (1-64).';

CREATE FUNCTION @extschema@.qr_png(code @extschema@.healthcode,
    ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_qr_png'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.qr_png(@extschema@.healthcode, text, integer) IS
  'The code as a 1-bit greyscale PNG QR symbol; ec_level L, M (default), Q or H; module_size in pixels (1-64).';

CREATE FUNCTION @extschema@.qr_terminal(code @extschema@.healthcode,
    ec_level text DEFAULT 'M', invert boolean DEFAULT false)
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_qr_terminal'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.qr_terminal(@extschema@.healthcode, text, boolean) IS
  'The code as UTF-8 half blocks for a terminal (two module rows a line). Drawn for a dark terminal; invert for a light one.';
