-- ---------------------------------------------------------------------------
-- A hosted region moves onto a node of its own (mode 3). The hub hosts a
-- region that has no node (host_region); when the region gets one, its
-- people, their evidence, statuses and history move there, and the hub
-- lets them go:
--   1. hub:  region_export(region), copied out with psql's \copy;
--   2. node: the copy loaded into region_move_inbox; adopt_region(region)
--            takes it in and returns how many rows of each table it took;
--   3. hub:  release_region(region, those counts) checks that the hub holds
--            the same rows still (nothing written here since the export is
--            lost), erases the region's people here as moved and stops
--            hosting it; the hub then subscribes to the node like any other.
-- Ids are kept (they are opaque, _next_id; a clash with one of the node's
-- own is refused where the table has a unique id: not status_history,
-- whose entries nobody looks up by id, 46_time_partitions.sql). The node recalculates what it adopted, which changes
-- nothing but what reached it meanwhile, so statuses and history carry on.
-- People keep the hub's pseudonym as their subject, which the node cannot
-- compute: an identifier finds them by national pseudonym (so the hub
-- exports only people who have one), and the first write that brings it
-- re-keys them (adopted_person, 50_people.sql). Their manual decisions join
-- the node's chain, who and when kept, and stay in the hub's as tombstones.
-- Codes the hub signed stay valid until they expire (the national key is
-- on every trust list); the node signs the next ones with its own key.
-- ---------------------------------------------------------------------------

-- What moves with a region, in the order it is loaded (rows before the rows
-- that refer to them): its venues, policy versions, rules and the bulletins
-- the hub applied to its people; its people and every row naming them;
-- its code events and identity checks; what the hub published for them.
CREATE FUNCTION @extschema@._moved_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['venue', 'policy', 'risk_area', 'venue_entry_rule', 'arrival_rule',
             'person', 'declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin', 'medicine_sale',
             'manual_decision', 'audit_finding', 'correction', 'guardian_link', 'proxy_action',
             'person_status', 'status_history', 'code_event', 'holder_check',
             'status_digest', 'red_push', 'health_share'];
COMMENT ON FUNCTION @extschema@._moved_tables() IS
  'Internal: the tables whose rows move with a hosted region (region_export, adopt_region), in loading order.';
REVOKE ALL ON FUNCTION @extschema@._moved_tables() FROM PUBLIC;

-- Which of a table's rows (alias x) move with the region from $1 to $2 (the
-- region's code and division_last of it): the one rule the export, the
-- adoption's check and the release's count share. Bulletins move whole but
-- for those naming a venue of another region; a decision's tombstone stays
-- in the hub's chain; a guardian link moves with both its people.
CREATE FUNCTION @extschema@._moved_filter(tbl text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE tbl
  WHEN 'risk_area' THEN
    '(x.venue IS NULL OR x.venue IN (SELECT v.id FROM @extschema@.venue v WHERE (v.region COLLATE "C") BETWEEN $1 AND $2))'
  WHEN 'manual_decision' THEN '((x.region COLLATE "C") BETWEEN $1 AND $2 AND x.person_id IS NOT NULL)'
  WHEN 'red_push' THEN '((x.from_region COLLATE "C") BETWEEN $1 AND $2)'
  WHEN 'guardian_link' THEN '((x.region COLLATE "C") BETWEEN $1 AND $2 AND (x.guardian_region COLLATE "C") BETWEEN $1 AND $2)'
  WHEN 'proxy_action' THEN '((x.region COLLATE "C") BETWEEN $1 AND $2 AND (x.guardian_region COLLATE "C") BETWEEN $1 AND $2)'
  ELSE '((x.region COLLATE "C") BETWEEN $1 AND $2)' END;
COMMENT ON FUNCTION @extschema@._moved_filter(text) IS
  'Internal: the condition (on alias x, with the region and its division_last as $1 and $2) a row of a table meets to move with a hosted region.';
REVOKE ALL ON FUNCTION @extschema@._moved_filter(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._moved_computed() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['person_status', 'status_history', 'status_digest', 'red_push', 'health_share'];
COMMENT ON FUNCTION @extschema@._moved_computed() IS
  'Internal: the tables among _moved_tables() whose rows are computed from the others (and from what a node receives): not counted in a move''s receipt.';
REVOKE ALL ON FUNCTION @extschema@._moved_computed() FROM PUBLIC;

-- How many rows of each table move with the region (tables with none left
-- out), but the computed ones (statuses, history, what is published), which
-- the node recalculates from the rest and from what it receives itself.
CREATE FUNCTION @extschema@._moved_counts(region text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t text;
  n bigint;
  counts jsonb := '{}';
BEGIN
  FOREACH t IN ARRAY @extschema@._moved_tables() LOOP
    CONTINUE WHEN t = ANY (@extschema@._moved_computed());
    EXECUTE format('SELECT count(*) FROM @extschema@.%I x WHERE %s', t, @extschema@._moved_filter(t))
       INTO n USING region, @extschema@.division_last(region);
    IF n > 0 THEN
      counts := counts || jsonb_build_object(t, n);
    END IF;
  END LOOP;
  RETURN counts;
END $$;
COMMENT ON FUNCTION @extschema@._moved_counts(text) IS
  'Internal: the rows of each table (but the computed ones) that move with a region, as adopt_region reports them.';
REVOKE ALL ON FUNCTION @extschema@._moved_counts(text) FROM PUBLIC;

-- ---- at the hub: the export ---------------------------------------------------

-- A region this hub hosts (exactly: as host_region named it), or 55000.
CREATE FUNCTION @extschema@._require_hosted(region text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM @extschema@._require_region(_require_hosted.region);
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node x, @extschema@.hosted_region h
                  WHERE x.role = 'hub' AND h.region = _require_hosted.region) THEN
    RAISE EXCEPTION 'region % is not a region this hub hosts', _require_hosted.region USING ERRCODE = '55000';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._require_hosted(text) IS
  'Internal: 55000 unless this node is the hub and hosts exactly this region (host_region).';
REVOKE ALL ON FUNCTION @extschema@._require_hosted(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.region_export(region text) RETURNS TABLE (tbl text, data jsonb)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  last text;
  t text;
  n bigint;
BEGIN
  PERFORM @extschema@._require_hosted(region_export.region);
  last := @extschema@.division_last(region_export.region);
  -- (the node finds them by national pseudonym until their identifier
  -- re-keys them: without one, nobody could reach them there)
  SELECT count(*) INTO n FROM @extschema@.person p
   WHERE (p.region COLLATE "C") BETWEEN region_export.region AND last AND p.national_subject IS NULL;
  IF n > 0 THEN
    RAISE EXCEPTION 'region % has people without a national pseudonym (%): their new node could not find them by identifier',
      region_export.region, n USING ERRCODE = '55000',
      HINT = 'The hub computes it, with the national key (healthcode.national_key_file), when they are registered or declare again.';
  END IF;
  IF EXISTS (SELECT 1 FROM @extschema@.guardian_link g
              WHERE ((g.region COLLATE "C") BETWEEN region_export.region AND last)
                 <> ((g.guardian_region COLLATE "C") BETWEEN region_export.region AND last)) THEN
    RAISE EXCEPTION 'guardian links join people of region % with people outside it', region_export.region
      USING ERRCODE = '55000', HINT = 'Revoke them first: a link cannot span two nodes.';
  END IF;
  -- (the code events still waiting in shared memory too)
  PERFORM @extschema@._flush_code_events();
  FOREACH t IN ARRAY @extschema@._moved_tables() LOOP
    RETURN QUERY EXECUTE format('SELECT %L::text, to_jsonb(x) FROM @extschema@.%I x WHERE %s', t, t,
                                @extschema@._moved_filter(t))
      USING region_export.region, last;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.region_export(text) IS
  'On the hub, for a hosted region moving onto a node of its own: every row that moves with it (its people, their evidence, statuses, history, decisions, code events, identity checks and what the hub published for them; its venues, policy versions, rules and the bulletins applied to them), one row each as (table, row as JSON), in loading order. Copy it out with psql''s \copy and into the node''s region_move_inbox. 55000 for a region the hub does not host, people without a national pseudonym, guardian links leaving the region. doc/federation.md.';
REVOKE ALL ON FUNCTION @extschema@.region_export(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.region_export(text) TO healthcode_admin;

-- ---- at the node: the adoption ----------------------------------------------

CREATE TABLE @extschema@.region_move_inbox (
  tbl           text NOT NULL,
  data          jsonb NOT NULL
);
COMMENT ON TABLE @extschema@.region_move_inbox IS
  'Where a node loads the hub''s region_export (psql''s \copy) for adopt_region, which empties it. Personal data: the admins only.';
COMMENT ON COLUMN @extschema@.region_move_inbox.tbl IS 'The table the row belongs to.';
COMMENT ON COLUMN @extschema@.region_move_inbox.data IS 'The row, as JSON.';
REVOKE ALL ON @extschema@.region_move_inbox FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON @extschema@.region_move_inbox TO healthcode_admin;

-- (a superuser's alone: it writes rows as a restore does, decisions with
-- the authors and times the file names, which no admin may set)
CREATE FUNCTION @extschema@.adopt_region(region text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- (rows with their statuses and history: no trigger recalculates a row;
-- everyone is recalculated at the end, as a policy change would)
SET healthcode.restore_mode = on
AS $$
DECLARE
  last text;
  here @extschema@.node;
  counts jsonb;
  t text;
  cols text;
  bad jsonb;
  m @extschema@.manual_decision;
  seq bigint;
  hash bytea;
BEGIN
  PERFORM @extschema@._require_region(adopt_region.region);
  last := @extschema@.division_last(adopt_region.region);
  SELECT * INTO here FROM @extschema@.node;
  IF NOT FOUND OR here.role <> 'region' OR NOT @extschema@.division_covers(here.region, adopt_region.region) THEN
    RAISE EXCEPTION 'region % is adopted by the region node that is to serve it; this node serves %',
      adopt_region.region, coalesce(here.region, 'nothing yet') USING ERRCODE = '55000';
  END IF;
  IF NOT @extschema@._national_key_configured() THEN
    RAISE EXCEPTION 'adopting a region needs the national key (healthcode.national_key_file)' USING ERRCODE = '55000',
      DETAIL = 'Its people are found by national pseudonym until their identifier re-keys them.';
  END IF;
  IF EXISTS (SELECT 1 FROM @extschema@.person p WHERE (p.region COLLATE "C") BETWEEN adopt_region.region AND last) THEN
    RAISE EXCEPTION 'this node holds people of region % already', adopt_region.region USING ERRCODE = '55000',
      HINT = 'A region is adopted whole, before its node records anyone of it.';
  END IF;
  -- the receipt: what the inbox holds, but the computed rows
  SELECT jsonb_object_agg(c.tbl, c.n) INTO counts
    FROM (SELECT i.tbl, count(*) AS n FROM @extschema@.region_move_inbox i
           WHERE i.tbl <> ALL (@extschema@._moved_computed()) GROUP BY i.tbl) c;
  IF NOT EXISTS (SELECT 1 FROM @extschema@.region_move_inbox i WHERE i.tbl = 'person') THEN
    RAISE EXCEPTION 'region_move_inbox holds no person' USING ERRCODE = '22023',
      HINT = 'Load the hub''s region_export(region) into it first (doc/federation.md).';
  END IF;
  SELECT i.tbl INTO t FROM @extschema@.region_move_inbox i WHERE i.tbl <> ALL (@extschema@._moved_tables()) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'region_move_inbox holds rows of %, which no region export carries', quote_literal(@extschema@._shorten(t))
      USING ERRCODE = '22023';
  END IF;
  SELECT i.data INTO bad FROM @extschema@.region_move_inbox i
   WHERE i.tbl = 'person' AND (jsonb_typeof(i.data -> 'national_subject') IS DISTINCT FROM 'string') LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'region_move_inbox: a person without a national pseudonym: %', @extschema@._shorten(bad::text, 80)
      USING ERRCODE = '22023';
  END IF;
  -- (the day partitions of every day kept, as an import of stays makes them)
  PERFORM @extschema@.create_travel_partitions();
  FOREACH t IN ARRAY @extschema@._moved_tables() LOOP
    EXECUTE format('SELECT i.data FROM @extschema@.region_move_inbox i
                     CROSS JOIN LATERAL jsonb_populate_record(NULL::@extschema@.%I, i.data) x
                    WHERE i.tbl = %L AND NOT coalesce(%s, false) LIMIT 1', t, t, @extschema@._moved_filter(t))
       INTO bad USING adopt_region.region, last;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'region_move_inbox: a % row outside region %: %', t, adopt_region.region,
        @extschema@._shorten(bad::text, 80) USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a
     WHERE a.attrelid = format('@extschema@.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = '';
    BEGIN
      IF t = 'manual_decision' THEN
        -- joined to this node's chain in the hub's order, who and when kept
        PERFORM pg_advisory_xact_lock(hashtext('@extschema@.manual_decision chain'));
        SELECT x.chain_seq, x.entry_hash INTO seq, hash FROM @extschema@.manual_decision x
         ORDER BY x.chain_seq DESC LIMIT 1;
        FOR m IN SELECT x.* FROM @extschema@.region_move_inbox i
                  CROSS JOIN LATERAL jsonb_populate_record(NULL::@extschema@.manual_decision, i.data) x
                 WHERE i.tbl = 'manual_decision' ORDER BY x.chain_seq LOOP
          m := @extschema@._decision_linked(m, seq, hash);
          INSERT INTO @extschema@.manual_decision SELECT m.*;
          seq := m.chain_seq;
          hash := m.entry_hash;
        END LOOP;
      ELSE
        EXECUTE format('INSERT INTO @extschema@.%I (%s) SELECT %s FROM @extschema@.region_move_inbox i
                         CROSS JOIN LATERAL jsonb_populate_record(NULL::@extschema@.%I, i.data) x
                        WHERE i.tbl = %L%s',
                       t, cols, 'x.' || replace(cols, ', ', ', x.'), t, t,
                       CASE -- (stays before the first day kept could change no colour:
                            -- left out, as an import leaves them)
                            WHEN t = 'travel'
                            THEN ' AND x.at >= @extschema@._travel_first_day()::timestamp AT TIME ZONE ''Asia/Shanghai'''
                            -- (what the hub published of the region: a node that served
                            -- it already skipped those as its own (_own_row_back); kept if
                            -- there, as it would be newer)
                            WHEN t IN ('status_digest', 'red_push', 'health_share') THEN ' ON CONFLICT DO NOTHING'
                            ELSE '' END);
      END IF;
    EXCEPTION
      WHEN unique_violation THEN
        RAISE EXCEPTION 'this node holds a % row with the key of one in region_move_inbox already', t
          USING ERRCODE = '55000', DETAIL = SQLERRM,
                HINT = 'A region is adopted by a node before it records anything of its own.';
      WHEN foreign_key_violation THEN
        RAISE EXCEPTION 'region_move_inbox: a % row refers to a row it does not hold', t
          USING ERRCODE = '22023', DETAIL = SQLERRM;
    END;
  END LOOP;
  INSERT INTO @extschema@.adopted_person (person_id)
  SELECT (i.data ->> 'id')::bigint FROM @extschema@.region_move_inbox i WHERE i.tbl = 'person';
  DELETE FROM @extschema@.region_move_inbox;
  -- everyone adopted recalculated (the work list's workers take a large
  -- region): the same as the hub computed, but for what reached this node
  -- meanwhile; what it publishes for them is this node's from now on
  PERFORM set_config('healthcode.restore_mode', 'off', true);
  PERFORM @extschema@._evidence_lock(true);
  PERFORM @extschema@._recalc_changed('policy', NULL, ARRAY[adopt_region.region],
                                      @extschema@._cause('adopt_region', adopt_region.region));
  RETURN counts;
END $$;
COMMENT ON FUNCTION @extschema@.adopt_region(text) IS
  'On the region node that is to serve a region the hub hosted (superusers only: it writes as a restore does): takes in the hub''s region_export loaded into region_move_inbox (ids, statuses and history kept; decisions joined to this node''s chain; people found by national pseudonym until re-keyed), empties the inbox, recalculates everyone adopted, and returns the receipt (rows taken by table, but the computed ones) to pass to release_region at the hub. 55000 on a node that is not the region''s, without the national key, or holding people of the region or rows with the same keys already; 22023 for an inbox holding a row outside the region, of another table, or naming a row it does not hold. doc/federation.md.';
REVOKE ALL ON FUNCTION @extschema@.adopt_region(text) FROM PUBLIC;

-- ---- at the hub: the release ------------------------------------------------

CREATE FUNCTION @extschema@.release_region(region text, adopted jsonb) RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  here jsonb;
BEGIN
  PERFORM @extschema@._require_hosted(release_region.region);
  IF adopted IS NULL OR jsonb_typeof(adopted) <> 'object' THEN
    RAISE EXCEPTION 'adopted must be the receipt adopt_region returned on the node' USING ERRCODE = '22023';
  END IF;
  -- (against writes since the export; the lock stops new ones until the
  -- release commits)
  PERFORM @extschema@._evidence_lock(true);
  PERFORM @extschema@._flush_code_events();
  here := @extschema@._moved_counts(release_region.region);
  IF here <> adopted THEN
    RAISE EXCEPTION 'the node adopted other rows of region % than the hub holds now', release_region.region
      USING ERRCODE = '55000',
            DETAIL = format('Here: %s; adopted: %s.', @extschema@._shorten(here::text, 400),
                            @extschema@._shorten(adopted::text, 400)),
            HINT = 'Nothing was released. Something was written here since the export: stop the region''s writes here, then export again and adopt on a node that has not adopted it yet.';
  END IF;
  DELETE FROM @extschema@.hosted_region h WHERE h.region = release_region.region;
  RETURN QUERY SELECT * FROM @extschema@._erase_region(release_region.region, 'moved',
                                                       'moved to a node of its own (release_region)');
END $$;
COMMENT ON FUNCTION @extschema@.release_region(text, jsonb) IS
  'On the hub, once a node has adopted a hosted region (adopt_region): checks that the hub holds exactly the rows the node adopted (adopted: its receipt; 55000 otherwise, nothing released), stops hosting the region and erases its people here as moved (decisions made tombstones in the hub''s chain; their codes stay valid and what was published about them stays until their node publishes it), with its code events and identity checks; recorded in erasure. The hub then subscribes to the node (subscription_sql). doc/federation.md.';
REVOKE ALL ON FUNCTION @extschema@.release_region(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.release_region(text, jsonb) TO healthcode_admin;
