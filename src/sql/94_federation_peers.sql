-- ---------------------------------------------------------------------------
-- Federation, mode 1 with regions that run a health-code system of their
-- own ("sharing epidemic prevention and health information data without
-- changing the existing local code"): that system calls these functions at
-- the hub over libpq, as a login granted healthcode_peer and mapped to its
-- regions with grant_region. It shares its residents' health data
-- (health_share, 51_evidence.sql) and reds (red_push), and reads its
-- visitors' (shared_health); healthcode regions share through the same
-- tables (_publish_status, 92_federation_status.sql). doc/peers.md is the
-- integrator's page.
-- ---------------------------------------------------------------------------

-- What is wrong with a shared row (NULL: nothing): the one check of the
-- table's trigger (replicated rows) and of peer_publish (a peer's).
CREATE FUNCTION @extschema@._health_share_problem(h @extschema@.health_share) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
  WHEN h.national_subject IS NULL OR pg_catalog.length(h.national_subject) OPERATOR(pg_catalog.<>) 16
    THEN 'a shared row needs a 16-byte national pseudonym'
  WHEN h.region IS NULL OR NOT @extschema@.division_code_valid(h.region) OR h.region OPERATOR(pg_catalog.=) '000000'
    THEN 'a shared row needs its person''s home region, a division code below the nation'
  WHEN h.colour IN ('red', 'yellow')
       AND (h.since IS NULL OR NOT pg_catalog.isfinite(h.since) OR h.valid_until IS NULL
            OR h.valid_until OPERATOR(pg_catalog.<=) h.since)
    THEN 'a red or yellow flag needs a finite since before its valid_until'
  WHEN (h.tested_at IS NULL) OPERATOR(pg_catalog.<>) (h.test_result IS NULL)
       OR (h.test_kind IS NOT NULL AND h.tested_at IS NULL)
       OR h.test_result NOT IN ('positive', 'negative') OR h.test_kind NOT IN ('pcr', 'antigen')
       OR NOT pg_catalog.isfinite(h.tested_at)
    THEN 'a test needs a finite time and its result (positive or negative; kind pcr or antigen)'
  WHEN h.doses OPERATOR(pg_catalog.<) 0 OR h.doses OPERATOR(pg_catalog.>) 10
       OR (COALESCE(h.doses, 0) OPERATOR(pg_catalog.>) 0) OPERATOR(pg_catalog.<>) (h.last_dose_at IS NOT NULL)
       OR NOT pg_catalog.isfinite(h.last_dose_at)
    THEN 'doses are 0 to 10, with the last one''s finite time when there are any'
END;
COMMENT ON FUNCTION @extschema@._health_share_problem(@extschema@.health_share) IS
  'Internal: what is wrong with a row of health_share (NULL: nothing): a 16-byte national pseudonym, a home region below the nation, a flag with since < valid_until, a test with its time and result, 0-10 doses with the last one''s time.';
REVOKE ALL ON FUNCTION @extschema@._health_share_problem(@extschema@.health_share) FROM PUBLIC;

-- While a peer's batch is written set-based (peer_publish), the row
-- triggers below stand aside: it checks every record and recalculates the
-- people concerned itself, once for the batch (src/hc_session.c).
CREATE FUNCTION @extschema@._peer_bulk() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_peer_bulk'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._peer_bulk() IS
  'Internal: true while peer_publish writes a batch in this backend (health_share''s row triggers stand aside).';
REVOKE ALL ON FUNCTION @extschema@._peer_bulk() FROM PUBLIC;
CREATE FUNCTION @extschema@._set_peer_bulk(on_ boolean) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_set_peer_bulk'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._set_peer_bulk(boolean) IS
  'Internal: sets _peer_bulk() for this backend until it is set again, or the (sub)transaction that set it ends; returns what it was.';
REVOKE ALL ON FUNCTION @extschema@._set_peer_bulk(boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@._health_share_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.health_share;
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- (this node's own row, come back through the hub: 90_federation_node.sql)
  IF @extschema@._own_row_back(TG_OP, OLD.region, NEW.region) THEN
    RETURN NULL;
  END IF;
  -- a node speaks for its own regions' people only
  problem := COALESCE(@extschema@._row_sender_problem(TG_OP, OLD.region, NEW.region),
                      CASE WHEN TG_OP <> 'DELETE' THEN @extschema@._health_share_problem(NEW) END);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO r FROM @extschema@.health_share x
     WHERE x.national_subject = NEW.national_subject AND x.region = NEW.region;
    IF FOUND THEN
      IF (to_jsonb(NEW) - 'shared_at') <> (to_jsonb(r) - 'shared_at') THEN
        UPDATE @extschema@.health_share x
           SET colour = NEW.colour, since = NEW.since, valid_until = NEW.valid_until, test_kind = NEW.test_kind,
               tested_at = NEW.tested_at, test_result = NEW.test_result, doses = NEW.doses,
               last_dose_at = NEW.last_dose_at, shared_at = NEW.shared_at
         WHERE x.national_subject = NEW.national_subject AND x.region = NEW.region;
      END IF;
      RETURN NULL;
    END IF;
  ELSIF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'shared_at') = (to_jsonb(OLD) - 'shared_at') THEN
    RETURN NULL;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._health_share_check() IS
  'Trigger (also on replicated rows): skips malformed shared rows and rows of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
REVOKE ALL ON FUNCTION @extschema@._health_share_check() FROM PUBLIC;
CREATE TRIGGER health_share_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.health_share
  FOR EACH ROW WHEN (NOT @extschema@._peer_bulk()) EXECUTE FUNCTION @extschema@._health_share_check();
ALTER TABLE @extschema@.health_share ENABLE ALWAYS TRIGGER health_share_check;

-- People here whom a shared row concerns (the same national pseudonym,
-- registered here in another region) are recalculated.
CREATE FUNCTION @extschema@._health_share_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sender text := CASE TG_OP WHEN 'DELETE' THEN OLD.region ELSE NEW.region END;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._recompute_national(ARRAY(SELECT NEW.national_subject WHERE TG_OP <> 'DELETE'
                                                UNION SELECT OLD.national_subject WHERE TG_OP <> 'INSERT'),
                                          sender, 'health data shared by ' || sender);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._health_share_changed() IS
  'Trigger (also on replicated rows): recalculates the people here with the shared row''s national pseudonym (registered in another region than the row''s).';
REVOKE ALL ON FUNCTION @extschema@._health_share_changed() FROM PUBLIC;
CREATE TRIGGER health_share_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.health_share
  FOR EACH ROW WHEN (NOT @extschema@._peer_bulk()) EXECUTE FUNCTION @extschema@._health_share_changed();
ALTER TABLE @extschema@.health_share ENABLE ALWAYS TRIGGER health_share_changed;

-- Emptied by hand (a replicated TRUNCATE is refused,
-- 94_federation_truncate_guard.sql): everyone here who may have had a
-- pushed red or shared data as evidence is recalculated.
CREATE FUNCTION @extschema@._shared_evidence_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._recompute(ARRAY(SELECT p.id FROM @extschema@.person p WHERE p.national_subject IS NOT NULL
                                        ORDER BY p.id),
                                 TG_TABLE_NAME || ' emptied');
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._shared_evidence_truncated() IS
  'Trigger: after red_push or health_share is truncated here, recalculates everyone with a national pseudonym (their pushed reds and shared data are gone).';
REVOKE ALL ON FUNCTION @extschema@._shared_evidence_truncated() FROM PUBLIC;
CREATE TRIGGER shared_evidence_truncated AFTER TRUNCATE ON @extschema@.red_push
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._shared_evidence_truncated();
CREATE TRIGGER shared_evidence_truncated AFTER TRUNCATE ON @extschema@.health_share
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._shared_evidence_truncated();

-- ---- the peer API, at the hub -------------------------------------------------------

-- The regions the calling peer speaks for, or 42501; on the hub only.
CREATE FUNCTION @extschema@._peer_scope() RETURNS @extschema@.division_multirange
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RAISE EXCEPTION 'the peer API is the hub''s; this node is not the hub' USING ERRCODE = '55000';
  END IF;
  IF isempty(scope) THEN
    RAISE EXCEPTION 'role % speaks for no region', @extschema@._caller()::regrole USING ERRCODE = '42501',
      HINT = 'The hub''s DBA maps a peer to its regions: SELECT healthcode.grant_region(''peer_login'', ''440000'');';
  END IF;
  RETURN scope;
END $$;
COMMENT ON FUNCTION @extschema@._peer_scope() IS
  'Internal: the regions the calling peer is mapped to (grant_region); 55000 on a node that is not the hub, 42501 for a peer mapped to none.';
REVOKE ALL ON FUNCTION @extschema@._peer_scope() FROM PUBLIC;

-- Why a peer may not speak for a region (NULL: it may): its own regions
-- only, and none that a healthcode node serves (that node speaks for it).
-- (A SQL body without a query, SET or SECURITY DEFINER: inlined into the
-- batch's statement, which asks it of every record, with scope and served
-- computed once.)
CREATE FUNCTION @extschema@._peer_region_problem(region text, scope @extschema@.division_multirange,
    served @extschema@.division_multirange)
RETURNS text
LANGUAGE sql STABLE
RETURN CASE
  WHEN region IS NULL OR NOT @extschema@.division_code_valid(region) THEN NULL   -- (the row's own check says)
  WHEN NOT scope OPERATOR(pg_catalog.@>) (region COLLATE "C")
    THEN pg_catalog.format('role %s speaks for %s only, not for %s', @extschema@._caller()::regrole, scope, region)
  WHEN served OPERATOR(pg_catalog.&&)
       @extschema@.division_range(region, @extschema@.division_last(region), '[]')
    THEN pg_catalog.format('region %s is served by a healthcode node, which speaks for it', region)
END;
COMMENT ON FUNCTION @extschema@._peer_region_problem(text, @extschema@.division_multirange, @extschema@.division_multirange) IS
  'Internal: why the calling peer may not speak for a region (NULL: it may): outside its scope, or served by a healthcode region node (served: _node_served()).';
REVOKE ALL ON FUNCTION @extschema@._peer_region_problem(text, @extschema@.division_multirange, @extschema@.division_multirange) FROM PUBLIC;

-- A national pseudonym as a peer writes it, 32 hex digits, or NULL for
-- anything else. (A SQL body: inlined into the batches' statements; hex
-- digits checked by translate(), a tenth of a regular expression's cost.)
CREATE FUNCTION @extschema@._pseudonym_from_hex(hex text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.length(hex) OPERATOR(pg_catalog.=) 32
                 AND pg_catalog.translate(hex, '0123456789abcdefABCDEF', '') OPERATOR(pg_catalog.=) ''
            THEN pg_catalog.decode(hex, 'hex') END;
COMMENT ON FUNCTION @extschema@._pseudonym_from_hex(text) IS
  'Internal: a 16-byte national pseudonym from its 32 hex digits; NULL for anything else.';
REVOKE ALL ON FUNCTION @extschema@._pseudonym_from_hex(text) FROM PUBLIC;

-- A peer's batch: every record checked before anything is written; with
-- any refused, the refused ones are logged in exchange_reject (as a
-- replicated row would be) and nothing is written.
CREATE FUNCTION @extschema@._peer_refuse(tbl text, refused jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.exchange_reject (tbl, problem, row_data, by_replication)
  SELECT tbl, r ->> 'problem', (r - 'problem') || jsonb_build_object('peer', @extschema@._caller()::regrole::text), false
    FROM jsonb_array_elements(refused) r;
  RETURN jsonb_array_length(refused);
END $$;
COMMENT ON FUNCTION @extschema@._peer_refuse(text, jsonb) IS
  'Internal: logs a peer''s refused records in exchange_reject, with the peer''s role; how many.';
REVOKE ALL ON FUNCTION @extschema@._peer_refuse(text, jsonb) FROM PUBLIC;

-- Health data of the peer's residents, in bulk: a JSON array of records
--   {"national_subject": "<32 hex digits>", "region": "440106",
--    "colour": "red", "since": "...", "valid_until": "...",
--    "test_kind": "pcr", "tested_at": "...", "test_result": "negative",
--    "doses": 3, "last_dose_at": "..."}
-- (all but national_subject and region optional; valid_until left out:
-- until further notice). A record of a known person replaces what was
-- shared before.
CREATE FUNCTION @extschema@.peer_publish(records json, OUT accepted bigint, OUT refused bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (the check for a person named twice sorts the batch: in memory, not on disk)
SET work_mem = '64MB'
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@._peer_scope();
  -- One statement, set-based, the records read once: check them all; write
  -- them (a known person's row replaced where it changes) only if none is
  -- refused; and name the people here the written rows concern.
  stmt text := format($q$
    WITH recs AS (
      -- (plain columns, not a row value: each check reads fields, and a
      -- field of a stored row value is read by taking the row apart)
      SELECT r.ord, r.national_subject AS hex,
             @extschema@._pseudonym_from_hex(r.national_subject) AS national_subject,
             r.region, r.colour::@extschema@.risk_colour AS colour, r.since,
             CASE WHEN r.colour IN ('red', 'yellow') THEN COALESCE(r.valid_until, 'infinity') ELSE r.valid_until END AS valid_until,
             r.test_kind, r.tested_at, r.test_result, r.doses, r.last_dose_at,
             pg_catalog.statement_timestamp() AS shared_at
        FROM @extschema@._import_parse($1, 'shared health record',
               '{national_subject,region,colour,since,valid_until,test_kind,tested_at,test_result,doses,last_dose_at}',
               '{text!,division!,green|yellow|red,evidence_time,time,pcr|antigen,evidence_time,positive|negative,int:0..10,evidence_time}')
             AS r(ord bigint, national_subject text, region text, colour text, since timestamptz, valid_until timestamptz,
                  test_kind text, tested_at timestamptz, test_result text, doses integer, last_dose_at timestamptz)
    ), checked AS MATERIALIZED (
      SELECT x.*,
             COALESCE(CASE WHEN x.national_subject IS NULL
                           THEN format('national_subject must be 32 hex digits, not %%s', quote_literal(@extschema@._shorten(x.hex))) END,
                      @extschema@._peer_region_problem(x.region, %L::@extschema@.division_multirange,
                                                       %L::@extschema@.division_multirange),
                      @extschema@._health_share_problem(ROW(x.national_subject, x.region, x.colour, x.since, x.valid_until,
                                                            x.test_kind, x.tested_at, x.test_result, x.doses, x.last_dose_at,
                                                            x.shared_at)::@extschema@.health_share),
                      CASE WHEN count(*) OVER (PARTITION BY x.national_subject, x.region) > 1
                           THEN 'a record repeating another''s national_subject and region' END) AS problem
        FROM recs x
    ), bad AS MATERIALIZED (
      SELECT count(*) AS n,
             jsonb_agg(to_jsonb(c) - 'ord' - 'hex' - 'problem' || jsonb_build_object('record', c.ord, 'problem', c.problem)
                       ORDER BY c.ord) AS rows
        FROM checked c WHERE c.problem IS NOT NULL
    ), written AS (
      INSERT INTO @extschema@.health_share AS s
      SELECT c.national_subject, c.region, c.colour, c.since, c.valid_until, c.test_kind, c.tested_at, c.test_result,
             c.doses, c.last_dose_at, c.shared_at
        FROM checked c CROSS JOIN bad WHERE bad.n = 0
      ON CONFLICT (national_subject, region) DO UPDATE
         SET colour = EXCLUDED.colour, since = EXCLUDED.since, valid_until = EXCLUDED.valid_until,
             test_kind = EXCLUDED.test_kind, tested_at = EXCLUDED.tested_at, test_result = EXCLUDED.test_result,
             doses = EXCLUDED.doses, last_dose_at = EXCLUDED.last_dose_at, shared_at = EXCLUDED.shared_at
       WHERE (s.colour, s.since, s.valid_until, s.test_kind, s.tested_at, s.test_result, s.doses, s.last_dose_at)
             IS DISTINCT FROM (EXCLUDED.colour, EXCLUDED.since, EXCLUDED.valid_until, EXCLUDED.test_kind,
                               EXCLUDED.tested_at, EXCLUDED.test_result, EXCLUDED.doses, EXCLUDED.last_dose_at)
      RETURNING s.national_subject, s.region
    )
    SELECT (SELECT count(*) FROM checked), bad.n, bad.rows,
           ARRAY(SELECT DISTINCT p.id FROM written w JOIN @extschema@.person p
                   ON p.national_subject = w.national_subject AND p.region <> w.region ORDER BY 1)
      FROM bad$q$, scope, @extschema@._node_served());
  result text[];
  was boolean;
  who bigint[];
BEGIN
  was := @extschema@._set_peer_bulk(true);
  result := @extschema@._import_execute(stmt, records);
  was := @extschema@._set_peer_bulk(false);
  IF result[2]::bigint > 0 THEN
    refused := @extschema@._peer_refuse('health_share', result[3]::jsonb);
    accepted := 0;
    RETURN;
  END IF;
  accepted := result[1]::bigint;
  refused := 0;
  who := result[4]::bigint[];
  IF cardinality(who) > 0 THEN
    PERFORM @extschema@._evidence_lock(false);
    PERFORM @extschema@._recompute(who, 'health data shared by ' || @extschema@._caller()::regrole::text);
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.peer_publish(json) IS
  'Mode 1, on the hub, for another region''s own health-code system (healthcode_peer): its residents'' shared health data in bulk (national pseudonym as 32 hex digits, home region, a red or yellow flag with since and valid_until, the latest test, doses and the last dose''s time), replacing what was shared before. Every record is checked (the peer''s own regions only, none a healthcode node serves, each person once a batch); with any refused, the refused are logged in exchange_reject and nothing is written. A malformed batch raises as an import does (22P02, 22007, 22023 ... naming the record and field). Set-based, one statement a batch. Returns how many were accepted and refused.';
REVOKE ALL ON FUNCTION @extschema@.peer_publish(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.peer_publish(json) TO healthcode_peer;

-- Reds of the peer's residents, in bulk: {"national_subject", "region",
-- "since", "until"} (until left out: until further notice); they travel
-- as every region's pushed reds do. A known one is replaced.
CREATE FUNCTION @extschema@.peer_push_reds(records json, OUT accepted bigint, OUT refused bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@._peer_scope();
  -- One statement, the records read once, as peer_publish's: check them
  -- all, write them only if none is refused (red_push's own triggers turn
  -- a known red into an update and recalculate the people it concerns).
  stmt text := format($q$
    WITH checked AS MATERIALIZED (
      SELECT x.*,
             COALESCE(CASE WHEN x.national_subject IS NULL
                           THEN format('national_subject must be 32 hex digits, not %%s', quote_literal(@extschema@._shorten(x.hex))) END,
                      @extschema@._peer_region_problem(x.region, %L::@extschema@.division_multirange,
                                                       %L::@extschema@.division_multirange),
                      CASE WHEN x.region = '000000' THEN 'a pushed red needs its person''s home region, below the nation' END,
                      CASE WHEN x.until <= x.since THEN 'a pushed red needs since before until' END) AS problem
        FROM (SELECT r.ord, r.national_subject AS hex, @extschema@._pseudonym_from_hex(r.national_subject) AS national_subject,
                     r.region, r.since, COALESCE(r.until, 'infinity') AS until
                FROM @extschema@._import_parse($1, 'pushed red', '{national_subject,region,since,until}',
                                               '{text!,division!,evidence_time!,time}')
                     AS r(ord bigint, national_subject text, region text, since timestamptz, until timestamptz)) x
    ), bad AS MATERIALIZED (
      SELECT count(*) AS n,
             jsonb_agg(jsonb_build_object('record', c.ord, 'national_subject', c.national_subject, 'from_region', c.region,
                                          'since', c.since, 'until', c.until, 'problem', c.problem) ORDER BY c.ord) AS rows
        FROM checked c WHERE c.problem IS NOT NULL
    ), written AS (
      INSERT INTO @extschema@.red_push (national_subject, from_region, since, until, rules, pushed_at)
      SELECT c.national_subject, c.region, c.since, c.until, '{shared}', pg_catalog.statement_timestamp()
        FROM checked c CROSS JOIN bad WHERE bad.n = 0
       ORDER BY c.national_subject
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM checked), bad.n, bad.rows, (SELECT count(*) FROM written)
      FROM bad$q$, scope, @extschema@._node_served());
  result text[];
BEGIN
  result := @extschema@._import_execute(stmt, records);
  IF result[2]::bigint > 0 THEN
    refused := @extschema@._peer_refuse('red_push', result[3]::jsonb);
    accepted := 0;
    RETURN;
  END IF;
  accepted := result[1]::bigint;
  refused := 0;
END $$;
COMMENT ON FUNCTION @extschema@.peer_push_reds(json) IS
  'Mode 1, on the hub, for another region''s own health-code system (healthcode_peer): reds of its residents in bulk (national pseudonym as 32 hex digits, home region, since, until), pushed on to every region as a healthcode region''s are (rule name shared). Checked, logged and all-or-nothing as peer_publish. Returns how many were accepted and refused.';
REVOKE ALL ON FUNCTION @extschema@.peer_push_reds(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.peer_push_reds(json) TO healthcode_peer;

-- A visitor's shared health data, by national pseudonym: what every
-- region shared about them (health_share) and the reds pushed for them,
-- for a destination's own decision. At most 1,000 pseudonyms a call.
CREATE FUNCTION @extschema@.shared_health(national_subjects bytea[])
RETURNS TABLE (national_subject bytea, region text, source text, colour @extschema@.risk_colour, since timestamptz,
               valid_until timestamptz, test_kind text, tested_at timestamptz, test_result text, doses integer,
               last_dose_at timestamptz, shared_at timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM @extschema@._peer_scope();
  IF national_subjects IS NULL OR cardinality(national_subjects) > 1000 THEN
    RAISE EXCEPTION 'national_subjects must be 1 to 1,000 pseudonyms, not %',
      COALESCE(cardinality(national_subjects)::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  SELECT h.national_subject, h.region, 'shared', h.colour, h.since, h.valid_until, h.test_kind, h.tested_at,
         h.test_result, h.doses, h.last_dose_at, h.shared_at
    FROM @extschema@.health_share h
   WHERE h.national_subject = ANY (national_subjects)
  UNION ALL
  SELECT r.national_subject, r.from_region, 'pushed_red', 'red'::@extschema@.risk_colour, r.since, r.until,
         NULL, NULL, NULL, NULL, NULL, r.pushed_at
    FROM @extschema@.red_push r
   WHERE r.national_subject = ANY (national_subjects) AND r.until > statement_timestamp()
   ORDER BY 1, 2, 3;
END $$;
COMMENT ON FUNCTION @extschema@.shared_health(bytea[]) IS
  'Mode 1, on the hub, for another region''s own health-code system (healthcode_peer): what every region shares about visitors by national pseudonym: per region a shared row (flag, latest test, doses) and the reds pushed for them that still hold. Never a name, an identifier or a place. At most 1,000 pseudonyms a call.';
REVOKE ALL ON FUNCTION @extschema@.shared_health(bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.shared_health(bytea[]) TO healthcode_peer;
