-- ---------------------------------------------------------------------------
-- Registration: people are named by their identifier (ID number), turned
-- into the pseudonym at once and never stored. The national interface set
-- (GB/T 38963-2020) maps to one SQL function each:
--   health-information declaration ... declare()            71_declarations.sql
--   trip declaration ................. declare_trip()       71_declarations.sql
--   health-information query ......... health_info(), status()
--   code request / generation ........ issue_for()          73_codes.sql
--   code verification ................ verify(), checkpoint_verify()
--   error correction ................. request_correction(), decide_correction()
--                                                           75_corrections.sql
-- ---------------------------------------------------------------------------

-- Identity documents (src/hc_identifier.h): an 18-character ID number
-- (resident ID, the residence permit of Hong Kong, Macao and Taiwan
-- residents, a foreigner's permanent residence ID), the 15 digits of a
-- first-generation card, the mainland travel permits of Hong Kong and Macao
-- residents (H or M and 8 digits) and of Taiwan residents (8 digits), and
-- passports (COUNTRY:NUMBER). Each is checked (check character, birth
-- date, region, layout) and brought to one form, the form its pseudonym
-- is taken of: however a number was typed (blanks, full-width digits, a
-- lower-case x, an old layout), one person is one pseudonym. Messages
-- never quote an identifier: it is personal data.
CREATE FUNCTION @extschema@._require_identifier(identifier text, argname text DEFAULT 'identifier')
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_require_identifier'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._require_identifier(text, text) IS
  'Internal: the identifier normalized (see identifier_check), else 22004 (NULL) or 22023 naming the argument and what is wrong with it, never echoing the value.';
REVOKE ALL ON FUNCTION @extschema@._require_identifier(text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.normalize_identifier(identifier text) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_require_identifier'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normalize_identifier(text) IS
  'An identifier in the one form it is hashed in: blanks dropped, full-width characters and lower-case letters made ASCII upper case, a first-generation 15-digit ID number widened to its 18 characters, a permit''s issue count and a passport number''s fillers dropped. An identifier that is no valid document is an error (22023) saying what is wrong; identifier_check() answers instead.';

CREATE FUNCTION @extschema@.identifier_check(identifier text,
    OUT valid boolean, OUT document text, OUT normalized text, OUT problem text)
RETURNS record
  AS 'MODULE_PATHNAME', 'healthcode_identifier_check'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.identifier_check(text) IS
  'Whether an identifier is a valid identity document, for a form to check before it sends: document is resident_id, residence_permit (Hong Kong, Macao and Taiwan residents), permanent_residence_id, hk_macao_travel_permit, taiwan_travel_permit or passport; normalized its one form (normalize_identifier); else valid false and problem what is wrong (NULL is not valid either; the 18th character of an ID number is its GB 11643 check character; a birth date must be a real date from 1900 to today, China Standard Time; a region a province that issues ID numbers). Never raises for a value; computes no pseudonym.';

-- Before 0.3.0 an identifier was hashed as typed, less blanks, in upper
-- case: a person registered then under a form that is now normalized
-- otherwise (full-width digits, a 15-digit number, a permit's issue count)
-- is still found by the form they were registered under, and re-keyed to
-- the new pseudonym when they register (declare) again.
CREATE FUNCTION @extschema@._legacy_identifier(identifier text) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN NULLIF(upper(regexp_replace(identifier, '[[:space:]\u3000]+', '', 'g')),
                @extschema@._require_identifier(identifier));
END $$;
COMMENT ON FUNCTION @extschema@._legacy_identifier(text) IS
  'Internal: the identifier as 0.2.0 hashed it (blanks removed, upper case), when that differs from its normalized form; else NULL.';
REVOKE ALL ON FUNCTION @extschema@._legacy_identifier(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.person_id(identifier text) RETURNS bigint
LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (PL/pgSQL: every call by identifier asks it, and a SQL body is planned
-- again at each call)
AS $$
DECLARE
  legacy text;
  id bigint;
BEGIN
  -- (also one adopted from the hub and not re-keyed yet: _person_of)
  SELECT p.id INTO id FROM @extschema@.person p
   WHERE p.id = @extschema@._person_of(@extschema@._require_identifier(identifier))
     AND @extschema@._in_caller_scope(p.region);
  IF FOUND THEN
    RETURN id;
  END IF;
  legacy := @extschema@._legacy_identifier(identifier);
  IF legacy IS NOT NULL THEN
    SELECT p.id INTO id FROM @extschema@.person p
     WHERE p.subject = @extschema@.pseudonym(legacy) AND @extschema@._in_caller_scope(p.region);
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.person_id(text) IS
  'The internal id of the person with this identifier (through its pseudonym; a person registered before 0.3.0 also by the form they were registered under; one adopted from the hub and not re-keyed yet by the national pseudonym), or NULL when there is none in the caller''s regions. An identifier that is no valid document is an error (22023).';
REVOKE ALL ON FUNCTION @extschema@.person_id(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.person_id(text) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@._require_person(identifier text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (the identifier as typed: person_id also tries the form 0.2.0 hashed;
  -- NULL is 22004, as _require_identifier says)
  id bigint := @extschema@.person_id(COALESCE(identifier, @extschema@._require_identifier(identifier)));
BEGIN
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person with this identifier is registered in the regions the caller acts for' USING ERRCODE = 'P0002',
      HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@._require_person(text) IS
  'Internal: the id of a person registered in the caller''s regions, or 22023 (without echoing the identifier, and the same whether the person is unknown or in another region).';
REVOKE ALL ON FUNCTION @extschema@._require_person(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.register_person(identifier text, region text, display_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  home text;
  national bytea;
  norm text;
  legacy text;
BEGIN
  PERFORM @extschema@._require_region(register_person.region);
  PERFORM @extschema@._require_caller_scope(register_person.region);
  -- (a document that is not valid registers nobody: 22023, saying why)
  norm := @extschema@._require_identifier(identifier);
  legacy := @extschema@._legacy_identifier(identifier);
  -- (a name is stored masked, but not a name of any length)
  IF length(register_person.display_name) > 100 THEN
    RAISE EXCEPTION 'display_name is too long (% characters; at most 100)', length(register_person.display_name)
      USING ERRCODE = '22023';
  END IF;
  -- with the national key, the pseudonym every node computes alike too
  IF @extschema@._national_key_configured() THEN
    national := @extschema@.national_pseudonym(norm);
  END IF;
  -- registered before 0.3.0 under the form as typed: re-keyed to the
  -- normalized one, so that their evidence stays theirs
  IF legacy IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM @extschema@.person p WHERE p.subject = @extschema@.pseudonym(norm)) THEN
    UPDATE @extschema@.person p
       SET subject = @extschema@.pseudonym(norm), national_subject = COALESCE(national, p.national_subject)
     WHERE p.subject = @extschema@.pseudonym(legacy);
  END IF;
  -- adopted from the hub with their region and known here by the hub's
  -- pseudonym until now: re-keyed to this node's
  PERFORM @extschema@._rekey_adopted(ARRAY[norm]);
  INSERT INTO @extschema@.person AS p (region, subject, display_name, national_subject)
  VALUES (register_person.region, @extschema@.pseudonym(norm),
          @extschema@.mask_name(register_person.display_name), national)
  ON CONFLICT ON CONSTRAINT person_subject_key DO NOTHING
  RETURNING p.id INTO pid;
  IF pid IS NULL THEN
    SELECT p.id, p.region INTO pid, home FROM @extschema@.person p
     WHERE p.subject = @extschema@.pseudonym(norm);
    -- registered before the national key was set: now it is known
    UPDATE @extschema@.person p SET national_subject = national
     WHERE p.id = pid AND p.national_subject IS NULL AND national IS NOT NULL;
    IF home <> register_person.region THEN
      -- which region is not the caller's business
      RAISE EXCEPTION 'this person is registered in another region, not %', register_person.region
        USING ERRCODE = '23505',
              HINT = 'Moving a person to another region is an operator''s change of healthcode.person.region.';
    END IF;
  END IF;
  RETURN pid;
END $$;
COMMENT ON FUNCTION @extschema@.register_person(text, text, text) IS
  'Registers a person (identifier kept only as its pseudonym, name masked) in a region, or returns the id of the one already registered there. The identifier must be a valid identity document (identifier_check), else 22023 saying what is wrong.';
REVOKE ALL ON FUNCTION @extschema@.register_person(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.register_person(text, text, text) TO healthcode_app, healthcode_operator;
