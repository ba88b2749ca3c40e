-- ---------------------------------------------------------------------------
-- Pseudonyms, issuing and verifying codes.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.issue(
    region text,
    subject bytea,
    colour @extschema@.risk_colour,
    valid_for interval DEFAULT interval '5 minutes',
    vaccinated boolean DEFAULT false,
    paper boolean DEFAULT false,
    last_negative_at timestamptz DEFAULT NULL,
    doses integer DEFAULT NULL)
RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME', 'healthcode_issue'
  -- (not strict, for the health facts' NULLs; NULL in any of the first six
  -- arguments returns NULL as a strict function would)
  LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.issue(text, bytea, @extschema@.risk_colour, interval, boolean, boolean, timestamptz, integer) IS
  'The signing primitive, for the extension''s owner only: signs a code for a subject pseudonym with the active key of the region (or of the nearest region above it that has one: city, province, national). issued_at is the statement''s start time (whole seconds); expires_at is issued_at + valid_for, capped by the key''s valid_until; paper marks a paper code. With doses (0..255) the code is format version 2 and also carries the dose count and last_negative_at (NULL: no negative test known), signed. The functions roles call (issue_for, issue_paper_code, issue_for_subject) cap valid_for by the region''s policy first.';
REVOKE ALL ON FUNCTION @extschema@.issue(text, bytea, @extschema@.risk_colour, interval, boolean, boolean, timestamptz, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@.verify(
    code @extschema@.healthcode,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT valid boolean,
    OUT colour @extschema@.risk_colour,
    OUT region text,
    OUT issued_at timestamptz,
    OUT expires_at timestamptz,
    OUT key_id bytea,
    OUT reason text,
    OUT vaccinated boolean,
    OUT paper boolean,
    OUT last_negative_at timestamptz,
    OUT doses integer)
RETURNS record
  AS 'MODULE_PATHNAME', 'healthcode_verify'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.verify(@extschema@.healthcode, timestamptz) IS
  'Judges a code at a time against the trust list. reason is one of: ok, unknown_key, bad_signature, region_mismatch, key_revoked, revoked, key_not_valid_at_issue, key_expired, not_yet_valid, expired (checked in that order). A version 2 code also says when its holder''s last negative test was sampled (last_negative_at; NULL when none was known) and their vaccine doses on record (doses); both are NULL for a version 1 code.';

-- A scanned string as an app receives it: a string that is not a code at
-- all is a reason too ("malformed"), not an error (the cast to healthcode
-- still raises 22P02).
CREATE FUNCTION @extschema@._code_or_null(code text) RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME', 'healthcode_code_or_null'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._code_or_null(text) IS
  'Internal: the code a text spells, or NULL when it is not a code.';

CREATE FUNCTION @extschema@.verify(
    code text,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT valid boolean,
    OUT colour @extschema@.risk_colour,
    OUT region text,
    OUT issued_at timestamptz,
    OUT expires_at timestamptz,
    OUT key_id bytea,
    OUT reason text,
    OUT vaccinated boolean,
    OUT paper boolean,
    OUT last_negative_at timestamptz,
    OUT doses integer)
RETURNS record
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
BEGIN ATOMIC
  SELECT v.valid, v.colour, v.region, v.issued_at, v.expires_at, v.key_id, v.reason, v.vaccinated, v.paper,
         v.last_negative_at, v.doses
    FROM (SELECT @extschema@._code_or_null(verify.code) AS c) x
    CROSS JOIN LATERAL @extschema@.verify(x.c, verify.at) v
   WHERE x.c IS NOT NULL
  UNION ALL
  SELECT false, NULL, NULL, NULL, NULL, NULL, 'malformed', NULL, NULL, NULL, NULL
   WHERE @extschema@._code_or_null(verify.code) IS NULL;
END;
COMMENT ON FUNCTION @extschema@.verify(text, timestamptz) IS
  'verify() of a scanned string: reason malformed (valid false, nothing else) for a string that is not a code, else what verify() of the code says.';

-- The documented set of verify() reasons, for applications and tests.
CREATE TABLE @extschema@.verify_reason (
  reason      text PRIMARY KEY,
  check_order integer NOT NULL UNIQUE,
  description text NOT NULL
);
INSERT INTO @extschema@.verify_reason VALUES
  ('malformed',              0, 'The scanned string is not a code at all (verify(text) only; the cast to healthcode raises 22P02).'),
  ('ok',                    10, 'The signature is good, the key is trusted, nothing revoked it and the code is within its validity.'),
  ('unknown_key',            1, 'No key with the code''s key id is on the trust list.'),
  ('bad_signature',          2, 'The signature does not match the payload under the listed key: the code was altered or forged.'),
  ('region_mismatch',        3, 'The key''s region does not cover the region the code claims.'),
  ('key_revoked',            4, 'The signing key has been revoked.'),
  ('revoked',                5, 'The code, or every code of its subject issued up to some instant after it, has been revoked (code_revocation).'),
  ('key_not_valid_at_issue', 6, 'The code claims an issue time outside the key''s signing window.'),
  ('key_expired',            7, 'The signing key''s validity has ended.'),
  ('not_yet_valid',          8, 'issued_at lies in the future beyond healthcode.clock_skew.'),
  ('expired',                9, 'The code''s expires_at has passed.');
COMMENT ON TABLE @extschema@.verify_reason IS 'Every reason verify() can return, in the order it checks them.';
COMMENT ON COLUMN @extschema@.verify_reason.reason IS 'A value of verify()''s reason column.';
COMMENT ON COLUMN @extschema@.verify_reason.check_order IS 'Position in the order verify() checks; ok, when every check passes, comes last.';
COMMENT ON COLUMN @extschema@.verify_reason.description IS 'What the reason means.';
REVOKE ALL ON @extschema@.verify_reason FROM PUBLIC;
GRANT SELECT ON @extschema@.verify_reason TO PUBLIC;

