-- ---------------------------------------------------------------------------
-- The background audit: cross-checks declarations against imported
-- evidence and records findings, which feed the status (yellow for the
-- lookback window) until an operator dismisses them.
--   undeclared_risk_stay  the declaration's places leave out a stay, within
--                         the lookback window before it, that an itinerary,
--                         transport or venue record shows in a medium- or
--                         high-risk area;
--   undeclared_contact    it denies contact, but the tracing list names the
--                         person with an exposure in that window;
--   undeclared_fever      it declares no symptoms and no fever, but a
--                         check-in within a day of it measured fever.
-- Findings are keyed by (declaration, kind): auditing again finds nothing new.
-- ---------------------------------------------------------------------------

-- The findings a set of declarations give, without writing anything.
CREATE FUNCTION @extschema@._audit_findings(declarations bigint[])
RETURNS TABLE (declaration_id bigint, person_id bigint, region text, kind text, detail jsonb)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  -- PL/pgSQL, not SQL: it reads travel, whose day partitions come and go
  -- (a SQL function's plan would outlive them within a transaction)
  RETURN QUERY
  WITH d AS (
    SELECT d.*, pol.lookback_days, pol.fever_celsius
      FROM @extschema@.declaration d
     CROSS JOIN LATERAL @extschema@.policy_at(d.region, d.declared_at) pol
     WHERE d.id OPERATOR(pg_catalog.=) ANY (declarations)
  )
  SELECT d.id, d.person_id, d.region, 'undeclared_risk_stay',
         pg_catalog.jsonb_build_object('stays', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'travel_id', s.id, 'place', s.place, 'at', s.at, 'source', s.source,
           'level', CASE WHEN s.high THEN 'high' ELSE 'medium' END) ORDER BY s.at))
    FROM d
    -- (the risky stays by the one rule, _risky_stays_by: a designation of a
    -- place or above it, or of the venue the stay was at; each with its
    -- source from its travel row)
    JOIN (SELECT r.person_id, r.id, r.place, r.at, t.source, r.high
            FROM @extschema@._risky_stays_by(ARRAY(SELECT DISTINCT x.person_id FROM d x),
                                             (SELECT min(x.declared_at OPERATOR(pg_catalog.-)
                                                         pg_catalog.make_interval(days => x.lookback_days)) FROM d x),
                                             NULL) r
            JOIN @extschema@.travel t
              ON t.person_id OPERATOR(pg_catalog.=) r.person_id AND t.id OPERATOR(pg_catalog.=) r.id
             AND t.at OPERATOR(pg_catalog.=) r.at) s
      ON s.person_id OPERATOR(pg_catalog.=) d.person_id
     AND s.source OPERATOR(pg_catalog.<>) 'declared'
     AND s.at OPERATOR(pg_catalog.<=) d.declared_at
     AND s.at OPERATOR(pg_catalog.>=) (d.declared_at OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => d.lookback_days))
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(d.visited) v(code)
                      WHERE @extschema@.division_covers(v.code, s.place))
   GROUP BY d.id, d.person_id, d.region
  UNION ALL
  SELECT d.id, d.person_id, d.region, 'undeclared_contact',
         pg_catalog.jsonb_build_object('contacts', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'contact_id', c.id, 'kind', c.kind, 'exposure_at', c.exposure_at) ORDER BY c.exposure_at))
    FROM d
    JOIN @extschema@.contact c
      ON c.person_id OPERATOR(pg_catalog.=) d.person_id
     AND c.exposure_at OPERATOR(pg_catalog.<=) d.declared_at
     AND c.exposure_at OPERATOR(pg_catalog.>=) (d.declared_at OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => d.lookback_days))
   WHERE NOT d.contact_with_case
   GROUP BY d.id, d.person_id, d.region
  UNION ALL
  SELECT d.id, d.person_id, d.region, 'undeclared_fever',
         pg_catalog.jsonb_build_object('checkins', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'checkin_id', k.id, 'at', k.at, 'temperature', k.temperature) ORDER BY k.at))
    FROM d
    JOIN @extschema@.checkin k
      ON k.person_id OPERATOR(pg_catalog.=) d.person_id
     AND k.at OPERATOR(pg_catalog.>=) (d.declared_at OPERATOR(pg_catalog.-) interval '1 day')
     AND k.at OPERATOR(pg_catalog.<=) (d.declared_at OPERATOR(pg_catalog.+) interval '1 day')
     AND k.temperature OPERATOR(pg_catalog.>=) d.fever_celsius
   WHERE pg_catalog.cardinality(d.symptoms) OPERATOR(pg_catalog.=) 0
     AND (d.temperature IS NULL OR d.temperature OPERATOR(pg_catalog.<) d.fever_celsius)
   GROUP BY d.id, d.person_id, d.region;
END $$;
COMMENT ON FUNCTION @extschema@._audit_findings(bigint[]) IS
  'Internal: what the audit finds for the declarations (nothing is written).';
REVOKE ALL ON FUNCTION @extschema@._audit_findings(bigint[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.audit(person_id bigint DEFAULT NULL, region text DEFAULT NULL)
RETURNS SETOF @extschema@.audit_finding
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  targets bigint[];
  people bigint[];
  homes text[];
BEGIN
  IF audit.person_id IS NOT NULL AND audit.region IS NOT NULL THEN
    RAISE EXCEPTION 'give person_id or region, not both' USING ERRCODE = '22023',
      DETAIL = 'An audit covers one person, one region, or (with neither) every pending declaration.';
  END IF;
  IF audit.region IS NOT NULL THEN
    PERFORM @extschema@._require_region(audit.region);
    PERFORM @extschema@._require_caller_scope(audit.region);
  END IF;
  IF audit.person_id IS NOT NULL THEN
    PERFORM @extschema@._require_person_id(audit.person_id);
  END IF;
  -- a person or a region: every declaration within the longest window
  -- (evidence may have arrived since); nobody named: the pending ones
  targets := ARRAY(
    SELECT d.id FROM @extschema@.declaration d
     WHERE CASE
       WHEN audit.person_id IS NOT NULL THEN
         d.person_id = audit.person_id AND d.declared_at >= @extschema@._evidence_horizon(now())
       WHEN audit.region IS NOT NULL THEN
         @extschema@.division_covers(audit.region, d.region) AND d.declared_at >= @extschema@._evidence_horizon(now())
       ELSE d.audited_at IS NULL END
       AND @extschema@._in_caller_scope(d.region));
  -- The people the findings are filed on, locked against a move or a
  -- deletion (both change the key (id, region) that FOR KEY SHARE guards)
  -- until this transaction ends. Without it, a finding filed with the region
  -- this statement's snapshot showed fails its foreign key (23503) when a
  -- move commits meanwhile; and a move half done (holding the person,
  -- cascading into their declarations) would deadlock with the update of
  -- those declarations below. A locking read returns the newest version
  -- (READ COMMITTED): a move that committed first gives its new region, one
  -- that comes later waits. In person-id order, as every other locker.
  SELECT coalesce(array_agg(p.id ORDER BY p.id), '{}'), coalesce(array_agg(p.region ORDER BY p.id), '{}')
    INTO people, homes
    FROM (SELECT p.id, p.region FROM @extschema@.person p
           WHERE p.id IN (SELECT d.person_id FROM @extschema@.declaration d WHERE d.id = ANY (targets))
           ORDER BY p.id FOR KEY SHARE OF p) p;
  -- And the declarations themselves, in id order, against a deletion: one
  -- deleted after this statement's snapshot would fail the finding's foreign
  -- key (23503); one deleted before is read here as gone, and left out. (The
  -- lock the update of audited_at below needs anyway; concurrent audits of
  -- the same declarations take it in one order.)
  targets := ARRAY(SELECT d.id FROM @extschema@.declaration d WHERE d.id = ANY (targets)
                    ORDER BY d.id FOR NO KEY UPDATE OF d);
  RETURN QUERY
  WITH found AS (
    -- (this statement's snapshot is newer than the locks: it sees the
    -- declarations as moves and deletions that went first left them;
    -- concurrent audits insert in one order, so neither waits for the other
    -- on one finding while holding another the other waits for)
    INSERT INTO @extschema@.audit_finding AS f (person_id, region, declaration_id, kind, detail)
    SELECT a.person_id, h.region, a.declaration_id, a.kind, a.detail
      FROM @extschema@._audit_findings(targets) a
      JOIN unnest(people, homes) AS h(person_id, region) ON h.person_id = a.person_id
     ORDER BY a.declaration_id, a.kind
    ON CONFLICT ON CONSTRAINT audit_finding_natural_key DO NOTHING
    RETURNING f.*
  ), audited AS (
    UPDATE @extschema@.declaration d SET audited_at = now()
     WHERE d.id = ANY (targets)
  )
  SELECT * FROM found ORDER BY found.id;
END $$;
COMMENT ON FUNCTION @extschema@.audit(bigint, text) IS
  'The background audit: for one person or one region (every declaration within the window) or, with no argument, every pending declaration; records the findings (which make yellow) and returns the new ones.';
REVOKE ALL ON FUNCTION @extschema@.audit(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.audit(bigint, text) TO healthcode_operator;

CREATE FUNCTION @extschema@.review_finding(finding_id bigint, decision text, reason text)
RETURNS @extschema@.audit_finding
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f @extschema@.audit_finding;
BEGIN
  IF finding_id IS NULL THEN
    RAISE EXCEPTION 'finding_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF decision IS NULL THEN
    RAISE EXCEPTION 'decision must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF decision NOT IN ('confirm', 'dismiss') THEN
    RAISE EXCEPTION 'decision must be confirm or dismiss, not %', quote_literal(@extschema@._shorten(decision))
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  UPDATE @extschema@.audit_finding a
     SET status = CASE decision WHEN 'confirm' THEN 'confirmed' ELSE 'dismissed' END,
         reviewed_by = @extschema@._caller()::regrole::text, reviewed_at = now(), review_reason = reason
   WHERE a.id = finding_id AND a.status = 'open' AND @extschema@._in_caller_scope(a.region)
  RETURNING a.* INTO f;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM @extschema@.audit_finding a
                WHERE a.id = finding_id AND @extschema@._in_caller_scope(a.region)) THEN
      RAISE EXCEPTION 'audit finding % has been reviewed already', finding_id USING ERRCODE = '55000';
    END IF;
    RAISE EXCEPTION 'no audit finding %', finding_id USING ERRCODE = 'P0002';
  END IF;
  RETURN f;
END $$;
COMMENT ON FUNCTION @extschema@.review_finding(bigint, text, text) IS
  'An operator''s review of an open audit finding: confirm (it keeps counting) or dismiss (it stops counting; the status follows), always with a reason.';
REVOKE ALL ON FUNCTION @extschema@.review_finding(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.review_finding(bigint, text, text) TO healthcode_operator;
