-- ---------------------------------------------------------------------------
-- Cross-region mutual recognition. Every region runs its own node with
-- this extension; a national hub runs another. They exchange, by
-- PostgreSQL's logical replication (publications and subscriptions):
--   up   (each region -> hub): its issuers' public keys and revocations,
--        its people's code-status digests (pseudonym, colour, until: never
--        a name or an identifier), the reds it decided, and its code
--        revocations (hashes only);
--   down (hub -> every region): every issuer's public key (the trust list),
--        every region's reds and code revocations, the digests, the
--        national policy versions and the national arrival rules.
-- Secret keys and personal data never cross a node boundary.
--
-- A subscriber stalls on the first change it cannot apply, so the tables
-- that receive (key_exchange, red_push, policy_exchange, status_digest,
-- code_revocation, arrival_rule_exchange)
-- have no constraint a remote row could break: a trigger that also fires
-- for the replication apply worker checks each row, logs a bad one in
-- exchange_reject and skips it, and the rest goes on. No row goes round:
-- a node skips its own digests, pushed reds and shared health rows when
-- they come back through the hub (_own_row_back), and a row that arrives
-- unchanged is skipped, so nothing is written and nothing is sent again.
-- ---------------------------------------------------------------------------

-- ---- the node ------------------------------------------------------------------

CREATE TABLE @extschema@.node (
  singleton     boolean PRIMARY KEY DEFAULT true CONSTRAINT one_row CHECK (singleton),
  role          text NOT NULL CONSTRAINT role_is_known CHECK (role IN ('hub', 'region')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  name          text NOT NULL CONSTRAINT name_is_simple CHECK (name ~ '^[a-z][a-z0-9_]{0,40}$'),
  CONSTRAINT hub_is_national CHECK ((role = 'hub') = (region = '000000'))
);
COMMENT ON TABLE @extschema@.node IS
  'What this node is in the national scheme: the hub (000000) or a region (the division code it serves), and its name. One row; set with set_node().';
COMMENT ON COLUMN @extschema@.node.singleton IS 'Always true: one row.';
COMMENT ON COLUMN @extschema@.node.role IS 'hub or region.';
COMMENT ON COLUMN @extschema@.node.region IS 'The division code the node serves (000000 for the hub).';
COMMENT ON COLUMN @extschema@.node.name IS 'A short name, used in publication and subscription names.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.node', '');

CREATE FUNCTION @extschema@.set_node(role text, region text, name text) RETURNS @extschema@.node
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n @extschema@.node;
BEGIN
  IF role IS NULL OR role NOT IN ('hub', 'region') THEN
    RAISE EXCEPTION 'role must be hub or region' USING ERRCODE = '22023';
  END IF;
  IF region IS NULL OR NOT @extschema@.division_code_valid(region) OR (role = 'hub') <> (region = '000000') THEN
    RAISE EXCEPTION 'a hub serves 000000, a region a division code of its own, not %', coalesce(quote_literal(region), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,40}$' THEN
    RAISE EXCEPTION 'a node''s name is a lower-case letter followed by up to 40 letters, digits or _'
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.node AS x (role, region, name) VALUES (set_node.role, set_node.region, set_node.name)
  ON CONFLICT (singleton) DO UPDATE SET role = EXCLUDED.role, region = EXCLUDED.region, name = EXCLUDED.name
  RETURNING x.* INTO n;
  IF n.role = 'hub' THEN
    -- national versions written before this node was a hub are published
    -- too (the triggers copy only later writes)
    INSERT INTO @extschema@.policy_exchange (valid_from, version)
    SELECT p.valid_from, to_jsonb(p) - 'id' - 'created_at' FROM @extschema@.policy p
     WHERE p.region = '000000' AND p.valid_from > '-infinity'
    ON CONFLICT DO NOTHING;
    INSERT INTO @extschema@.arrival_rule_exchange (from_region, valid_from, rule)
    SELECT a.from_region, a.valid_from, to_jsonb(a) - 'id' FROM @extschema@.arrival_rule a
     WHERE a.region = '000000'
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.set_node(text, text, text) IS
  'Declares what this node is: set_node(''hub'', ''000000'', ''hub'') or set_node(''region'', ''330000'', ''zhejiang''). A hub publishes its national policy versions and arrival rules from then on, those written before included.';
REVOKE ALL ON FUNCTION @extschema@.set_node(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_node(text, text, text) TO healthcode_admin;

CREATE FUNCTION @extschema@._node_region() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT n.region FROM @extschema@.node n;
END;
COMMENT ON FUNCTION @extschema@._node_region() IS
  'Internal: the division code this node serves, NULL while no node is set.';
REVOKE ALL ON FUNCTION @extschema@._node_region() FROM PUBLIC;

-- ---- what crosses: rejected rows are logged here ----------------------------------

CREATE TABLE @extschema@.exchange_reject (
  id            bigserial PRIMARY KEY,
  received_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  tbl           text NOT NULL,
  problem       text NOT NULL,
  row_data      jsonb NOT NULL,
  by_replication boolean NOT NULL
);
COMMENT ON TABLE @extschema@.exchange_reject IS
  'Rows another node sent (or a local writer tried) that failed the checks of an exchange table: logged here and skipped, so replication goes on with the rest.';
COMMENT ON COLUMN @extschema@.exchange_reject.id IS 'Entry id.';
COMMENT ON COLUMN @extschema@.exchange_reject.received_at IS 'When it was refused.';
COMMENT ON COLUMN @extschema@.exchange_reject.tbl IS 'The exchange table it was meant for.';
COMMENT ON COLUMN @extschema@.exchange_reject.problem IS 'What is wrong with it.';
COMMENT ON COLUMN @extschema@.exchange_reject.row_data IS 'The row as received.';
COMMENT ON COLUMN @extschema@.exchange_reject.by_replication IS 'Whether the logical replication apply worker brought it.';

COMMENT ON SEQUENCE @extschema@.exchange_reject_id_seq IS 'Ids of refused exchange rows.';
CREATE FUNCTION @extschema@._replication_subscription() RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_replication_subscription'
  LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._replication_subscription() IS
  'Internal: in a logical replication apply or table-sync worker, the subscription it applies; NULL elsewhere.';
REVOKE ALL ON FUNCTION @extschema@._replication_subscription() FROM PUBLIC;

CREATE FUNCTION @extschema@._by_replication() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN @extschema@._replication_subscription() IS NOT NULL;
COMMENT ON FUNCTION @extschema@._by_replication() IS
  'Internal: true inside a logical replication apply or table-sync worker.';
REVOKE ALL ON FUNCTION @extschema@._by_replication() FROM PUBLIC;

-- The exchange tables' row triggers fire ALWAYS (in the apply worker too);
-- while a dump is restored, or rows are written under replica without an
-- apply worker (pg_restore's data), they let every row through untouched.
CREATE FUNCTION @extschema@._exchange_loading() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN @extschema@._restoring()
       OR (pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) 'replica'
           AND NOT @extschema@._by_replication());
COMMENT ON FUNCTION @extschema@._exchange_loading() IS
  'Internal: true while a dump is being loaded (restoring, or replica without an apply worker): the exchange tables'' triggers then leave rows as they are.';
REVOKE ALL ON FUNCTION @extschema@._exchange_loading() FROM PUBLIC;

CREATE FUNCTION @extschema@._reject(tbl text, problem text, row_data jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.exchange_reject (tbl, problem, row_data, by_replication)
  VALUES (tbl, problem, row_data, @extschema@._by_replication());
  RAISE WARNING 'skipped a row of %: %', tbl, problem;
END $$;
COMMENT ON FUNCTION @extschema@._reject(text, text, jsonb) IS
  'Internal: logs a refused exchange row (and warns in the server log).';
REVOKE ALL ON FUNCTION @extschema@._reject(text, text, jsonb) FROM PUBLIC;

-- Who sent a replicated row. A region node controls its own publication
-- (its row filters included), so what arrives from it is checked here
-- against the region it serves: a region may speak for its own divisions
-- only; the hub (000000) for all. peer maps each subscription that
-- subscription_sql() made to the publishing node's region.
CREATE TABLE @extschema@.peer (
  subscription  name PRIMARY KEY,
  publisher     text NOT NULL,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region))
);
COMMENT ON TABLE @extschema@.peer IS
  'The nodes this node subscribes to: subscription name, the publishing node''s name and the division code it serves (000000: the hub). Rows that arrive through a subscription may only concern that region. Filled by subscription_sql().';
COMMENT ON COLUMN @extschema@.peer.subscription IS 'The subscription''s name.';
COMMENT ON COLUMN @extschema@.peer.publisher IS 'The publishing node''s name.';
COMMENT ON COLUMN @extschema@.peer.region IS 'The division code the publishing node serves.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer', '');

-- The regions the healthcode region nodes this node subscribes to serve:
-- the hub hosts none of them, and a peer (94_federation_peers.sql) may
-- speak for none of them.
CREATE FUNCTION @extschema@._node_served() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.range_agg(@extschema@.division_range(s.region, @extschema@.division_last(s.region), '[]')),
                  '{}'::@extschema@.division_multirange)
    FROM @extschema@.peer s WHERE s.region OPERATOR(pg_catalog.<>) '000000';
END;
COMMENT ON FUNCTION @extschema@._node_served() IS
  'Internal: the division codes the healthcode region nodes this node subscribes to serve (peer, the hub''s own row aside).';
REVOKE ALL ON FUNCTION @extschema@._node_served() FROM PUBLIC;

-- ---- regions the hub hosts (mode 3: "areas where there is no local health code") ----
-- A region with no node of its own: its residents register and declare at
-- the hub, its imports land there, its policy versions are kept there, an
-- operator mapped to it manages it, and its codes are signed with the
-- national key. The hub publishes for its people what a region node
-- publishes for its own (digests, pushed reds, shared health data,
-- exposure notices, venue closures).
CREATE TABLE @extschema@.hosted_region (
  region        text PRIMARY KEY CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  name          text NOT NULL,
  hosted_since  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  hosted_by     text NOT NULL
);
COMMENT ON TABLE @extschema@.hosted_region IS
  'The regions the hub hosts (mode 3): regions with no node of their own, whose people the hub serves as a region node serves its own. Set with host_region().';
COMMENT ON COLUMN @extschema@.hosted_region.region IS 'The division code hosted (and everything below it).';
COMMENT ON COLUMN @extschema@.hosted_region.name IS 'Its name.';
COMMENT ON COLUMN @extschema@.hosted_region.hosted_since IS 'Since when.';
COMMENT ON COLUMN @extschema@.hosted_region.hosted_by IS 'Who made it hosted.';
REVOKE ALL ON @extschema@.hosted_region FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hosted_region', '');

-- The regions whose people this node speaks for to the other nodes
-- (publishes their digests, reds and shared data): a region node its own;
-- the hub the regions it hosts; none before set_node.
CREATE FUNCTION @extschema@._served_here() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.range_agg(@extschema@.division_range(r.region, @extschema@.division_last(r.region), '[]')),
                  '{}'::@extschema@.division_multirange)
    FROM (SELECT n.region FROM @extschema@.node n WHERE n.role OPERATOR(pg_catalog.=) 'region'
          UNION ALL
          SELECT h.region FROM @extschema@.node n, @extschema@.hosted_region h
           WHERE n.role OPERATOR(pg_catalog.=) 'hub') r;
END;
COMMENT ON FUNCTION @extschema@._served_here() IS
  'Internal: the division codes whose people this node speaks for to the other nodes: a region node''s own, the regions the hub hosts; empty before set_node.';
REVOKE ALL ON FUNCTION @extschema@._served_here() FROM PUBLIC;

CREATE FUNCTION @extschema@.host_region(region text, name text) RETURNS @extschema@.hosted_region
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h @extschema@.hosted_region;
  peer_role text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RAISE EXCEPTION 'only the hub hosts regions; this node is not the hub' USING ERRCODE = '55000';
  END IF;
  IF host_region.region IS NULL OR NOT @extschema@.division_code_valid(host_region.region) OR host_region.region = '000000' THEN
    RAISE EXCEPTION 'a hosted region is a division code below the nation, not %',
      coalesce(quote_literal(@extschema@._shorten(host_region.region)), 'NULL') USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(host_region.name, 'name', 100);
  IF @extschema@._node_served()
     && @extschema@.division_range(host_region.region, @extschema@.division_last(host_region.region), '[]') THEN
    RAISE EXCEPTION 'region % is served by a healthcode node', host_region.region USING ERRCODE = '55000',
      HINT = 'A region with a node of its own speaks for itself; drop its subscription first if it is to be hosted.';
  END IF;
  IF EXISTS (SELECT 1 FROM @extschema@.hosted_region x
              WHERE x.region <> host_region.region
                AND (@extschema@.division_covers(x.region, host_region.region)
                     OR @extschema@.division_covers(host_region.region, x.region))) THEN
    RAISE EXCEPTION 'region % overlaps a region the hub hosts already', host_region.region USING ERRCODE = '55000';
  END IF;
  SELECT r.rolname INTO peer_role
    FROM pg_roles r
   WHERE NOT r.rolsuper AND pg_has_role(r.oid, 'healthcode_peer', 'MEMBER') AND r.rolname <> 'healthcode_peer'
     AND @extschema@.region_scope_of(r.oid) && @extschema@.division_multirange(
           @extschema@.division_range(host_region.region, @extschema@.division_last(host_region.region), '[]'))
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'region % has a system of its own: role % speaks for it', host_region.region, peer_role
      USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.hosted_region AS x (region, name, hosted_by)
  VALUES (host_region.region, btrim(host_region.name), @extschema@._caller()::regrole::text)
  ON CONFLICT ON CONSTRAINT hosted_region_pkey DO UPDATE SET name = EXCLUDED.name
  RETURNING x.* INTO h;
  -- what the hub now says for them: their digests, reds and shared data
  PERFORM @extschema@._publish_status(ARRAY(SELECT p.id FROM @extschema@.person p
                                             WHERE p.region >= h.region AND p.region <= @extschema@.division_last(h.region)));
  RETURN h;
END $$;
COMMENT ON FUNCTION @extschema@.host_region(text, text) IS
  'Mode 3, on the hub: hosts a region that has no node (and no system of its own at the peer API): its residents register, declare and are imported at the hub, under its policy versions kept here, its operators mapped to it with grant_region, its codes signed with the national key; the hub publishes their digests, reds and shared data as a region node does. 55000 for a region a node serves, one overlapping another hosted region, or one a peer speaks for. doc/federation.md.';
REVOKE ALL ON FUNCTION @extschema@.host_region(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.host_region(text, text) TO healthcode_admin;

CREATE FUNCTION @extschema@._sender_region() RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT p.region FROM @extschema@.peer p
   WHERE p.subscription OPERATOR(pg_catalog.=) @extschema@._replication_subscription();
END;
COMMENT ON FUNCTION @extschema@._sender_region() IS
  'Internal: in a replication apply worker, the region of the node whose subscription it applies (from peer); NULL otherwise.';
REVOKE ALL ON FUNCTION @extschema@._sender_region() FROM PUBLIC;

CREATE FUNCTION @extschema@._sender_problem(region text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sender text;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN NULL;                 -- written here, by this node
  END IF;
  sender := @extschema@._sender_region();
  IF sender IS NULL THEN
    RETURN 'it came through a subscription subscription_sql() did not make';
  END IF;
  IF region IS NULL OR NOT coalesce(@extschema@.division_covers(sender, region), false) THEN
    RETURN format('region %s is not the sending node''s (%s)', coalesce(region, 'NULL'), sender);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._sender_problem(text) IS
  'Internal: why a replicated row about a region may not come from the node that sent it, or NULL (also for rows written locally).';
REVOKE ALL ON FUNCTION @extschema@._sender_problem(text) FROM PUBLIC;

-- The same for a row an exchange table's trigger sees: its region before
-- (an update or deletion) and after (an insertion or update) must both be
-- the sender's. (A SQL body: inlined into each check trigger.)
CREATE FUNCTION @extschema@._row_sender_problem(op text, old_region text, new_region text) RETURNS text
LANGUAGE sql STABLE
RETURN COALESCE(CASE WHEN op OPERATOR(pg_catalog.<>) 'INSERT' THEN @extschema@._sender_problem(old_region) END,
                CASE WHEN op OPERATOR(pg_catalog.<>) 'DELETE' THEN @extschema@._sender_problem(new_region) END);
COMMENT ON FUNCTION @extschema@._row_sender_problem(text, text, text) IS
  'Internal: _sender_problem of a row a trigger sees (TG_OP, its region before and after), or NULL.';
REVOKE ALL ON FUNCTION @extschema@._row_sender_problem(text, text, text) FROM PUBLIC;

-- The latest-wins rows about the people this node speaks for (digests,
-- pushed reds, shared health data) come from this node only. The hub
-- publishes every region's rows to every region, and on PostgreSQL 15 what
-- an apply worker writes is published again: a node's own rows come back
-- to it from the hub. A row that changed twice within a round trip came
-- back older after newer; taken, it overwrote the newer one here, went out
-- again, and the two versions went round between the node and the hub for
-- ever (a digest flipping with them at every node). Such a row is skipped,
-- silently: it is this node's own, come back. (Keys and code revocations
-- only ever get stricter, and exposure notices and venue closures are
-- written once: what comes back of them changes nothing, and the hub may
-- revoke a code of a region with a node, one it signed with the national
-- key. A SQL body: inlined into each check trigger.)
CREATE FUNCTION @extschema@._own_row_back(op text, old_region text, new_region text) RETURNS boolean
LANGUAGE sql STABLE
RETURN @extschema@._by_replication()
   AND COALESCE((op OPERATOR(pg_catalog.<>) 'INSERT' AND @extschema@._served_here() @> (old_region COLLATE "C"))
                OR (op OPERATOR(pg_catalog.<>) 'DELETE' AND @extschema@._served_here() @> (new_region COLLATE "C")),
                false);
COMMENT ON FUNCTION @extschema@._own_row_back(text, text, text) IS
  'Internal: true for a row a trigger sees (TG_OP, its region before and after) that comes by replication and is about a region this node speaks for (_served_here): its own row, come back through the hub.';
REVOKE ALL ON FUNCTION @extschema@._own_row_back(text, text, text) FROM PUBLIC;

-- The exchange only grows by rows: a TRUNCATE from another node would wipe
-- every region's keys and revocations at once. Refused (which stops that
-- one subscription until a DBA looks); this node's owner may still.
CREATE FUNCTION @extschema@._exchange_truncate_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._by_replication() THEN
    RAISE EXCEPTION 'a TRUNCATE of % replicated from another node is refused', TG_TABLE_NAME
      USING ERRCODE = '42501',
            HINT = 'The national exchange only grows by rows; find out why the publishing node truncated, then skip the change (ALTER SUBSCRIPTION ... SKIP).';
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._exchange_truncate_guard() IS
  'Trigger (also in the apply worker): refuses a TRUNCATE of an exchange table that arrives by replication.';
REVOKE ALL ON FUNCTION @extschema@._exchange_truncate_guard() FROM PUBLIC;

-- ---- publications and subscriptions ------------------------------------------------------

CREATE FUNCTION @extschema@.create_publication() RETURNS text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n @extschema@.node;
  lo text;
  hi text;
BEGIN
  SELECT * INTO n FROM @extschema@.node;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this node is neither hub nor region yet' USING ERRCODE = '55000',
      HINT = 'SELECT healthcode.set_node(''region'', ''330000'', ''zhejiang'');';
  END IF;
  IF n.role = 'hub' THEN
    -- (never TRUNCATE: the exchange only grows by rows)
    EXECUTE 'CREATE PUBLICATION healthcode_hub FOR TABLE @extschema@.key_exchange, @extschema@.red_push, @extschema@.policy_exchange,'
            ' @extschema@.code_revocation, @extschema@.arrival_rule_exchange, @extschema@.exposure_notice,'
            ' @extschema@.venue_closure'
            ' WITH (publish = ''insert, update, delete'')';
    EXECUTE 'CREATE PUBLICATION healthcode_hub_digests FOR TABLE @extschema@.status_digest, @extschema@.health_share'
            ' WITH (publish = ''insert, update, delete'')';
    RETURN 'healthcode_hub';
  END IF;
  lo := n.region;
  hi := @extschema@.division_last(n.region);
  EXECUTE format('CREATE PUBLICATION %I FOR TABLE @extschema@.key_exchange WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.status_digest WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.health_share WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.red_push WHERE (from_region >= %L AND from_region <= %L),'
                 ' @extschema@.code_revocation WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.exposure_notice WHERE (from_region >= %L AND from_region <= %L),'
                 ' @extschema@.venue_closure WHERE (venue_region >= %L AND venue_region <= %L)'
                 ' WITH (publish = ''insert, update, delete'')',
                 'healthcode_region_' || n.name, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi);
  RETURN 'healthcode_region_' || n.name;
END $$;
COMMENT ON FUNCTION @extschema@.create_publication() IS
  'Creates this node''s publication: on the hub healthcode_hub (every key, every pushed red, national policy, every revocation, national arrival rules, every exposure notice and venue closure) and healthcode_hub_digests (every digest and shared health row); on a region healthcode_region_<name> (its own keys, digests, shared health rows, reds, revocations, exposure notices and venue closures, by row filter). Returns its name.';
REVOKE ALL ON FUNCTION @extschema@.create_publication() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_publication() TO healthcode_admin;

CREATE FUNCTION @extschema@.subscription_sql(publisher_name text, publisher_region text, conninfo text,
    digests boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n @extschema@.node;
  sub text;
BEGIN
  SELECT * INTO n FROM @extschema@.node;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this node is neither hub nor region yet' USING ERRCODE = '55000';
  END IF;
  IF publisher_name IS NULL OR publisher_name !~ '^[a-z][a-z0-9_]{0,40}$' OR conninfo IS NULL THEN
    RAISE EXCEPTION 'publisher_name and conninfo must name the publishing node and how to reach it'
      USING ERRCODE = '22023';
  END IF;
  IF publisher_region IS NULL OR NOT @extschema@.division_code_valid(publisher_region)
     OR (n.role = 'region') <> (publisher_region = '000000') THEN
    RAISE EXCEPTION 'invalid publisher_region %: a region subscribes to the hub (000000), the hub to a region',
      coalesce(quote_literal(publisher_region), 'NULL') USING ERRCODE = '22023';
  END IF;
  -- (one speaker for a region's people: the hub while it hosts the region)
  IF n.role = 'hub' AND EXISTS (SELECT 1 FROM @extschema@.hosted_region h
                                 WHERE @extschema@.division_covers(h.region, publisher_region)
                                    OR @extschema@.division_covers(publisher_region, h.region)) THEN
    RAISE EXCEPTION 'the hub hosts region % (or a region within it): its node cannot speak for it too', publisher_region
      USING ERRCODE = '55000',
            HINT = 'Move the hosted region onto the node first: region_export here, adopt_region there, then release_region here (doc/federation.md).';
  END IF;
  sub := 'healthcode_' || n.name || '_from_' || publisher_name;
  IF length(sub) > 63 THEN
    RAISE EXCEPTION 'subscription name % is longer than 63 bytes', sub USING ERRCODE = '22023',
      HINT = 'Use shorter node names.';
  END IF;
  -- what arrives through it may only concern the publisher's region
  INSERT INTO @extschema@.peer AS p (subscription, publisher, region) VALUES (sub, publisher_name, publisher_region)
  ON CONFLICT (subscription) DO UPDATE SET publisher = EXCLUDED.publisher, region = EXCLUDED.region;
  -- made disabled: enable_subscription() first checks which tables it brings
  RETURN NEXT format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %s WITH (enabled = false)',
                     sub, conninfo,
                     CASE WHEN n.role = 'region'
                          THEN 'healthcode_hub' || CASE WHEN digests THEN ', healthcode_hub_digests' ELSE '' END
                          ELSE quote_ident('healthcode_region_' || publisher_name) END);
  RETURN NEXT format('SELECT @extschema@.enable_subscription(%L)', sub);
END $$;
COMMENT ON FUNCTION @extschema@.subscription_sql(text, text, text, boolean) IS
  'The statements this node runs to receive from another (a region from the hub, 000000, with every region''s digests if asked; the hub from a region, giving its division code): CREATE SUBSCRIPTION, made disabled, then enable_subscription(). Records the publisher''s region in peer. Run them with psql''s \gexec: CREATE SUBSCRIPTION cannot run inside a function.';
REVOKE ALL ON FUNCTION @extschema@.subscription_sql(text, text, text, boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@.enable_subscription(subscription name) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  extra text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.peer p WHERE p.subscription = enable_subscription.subscription)
     OR NOT EXISTS (SELECT 1 FROM pg_subscription s WHERE s.subname = enable_subscription.subscription) THEN
    RAISE EXCEPTION 'no subscription %', subscription USING ERRCODE = 'P0002',
      HINT = 'enable_subscription() enables a subscription made with the statement subscription_sql() returns.';
  END IF;
  -- the publishing node chose the tables: only the exchange tables may come
  SELECT string_agg(r.srrelid::regclass::text, ', ' ORDER BY r.srrelid::regclass::text) INTO extra
    FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
   WHERE s.subname = enable_subscription.subscription
     AND r.srrelid NOT IN ('@extschema@.key_exchange'::regclass, '@extschema@.status_digest'::regclass,
                           '@extschema@.red_push'::regclass, '@extschema@.policy_exchange'::regclass,
                           '@extschema@.code_revocation'::regclass, '@extschema@.arrival_rule_exchange'::regclass,
                           '@extschema@.exposure_notice'::regclass, '@extschema@.venue_closure'::regclass,
                           '@extschema@.health_share'::regclass);
  IF extra IS NOT NULL THEN
    RAISE EXCEPTION 'subscription % would bring tables outside the national exchange: %', subscription, extra
      USING ERRCODE = '42501',
            HINT = 'The publishing node''s publication lists them; it stays disabled. DROP SUBSCRIPTION it, and find out why.';
  END IF;
  EXECUTE format('ALTER SUBSCRIPTION %I ENABLE', subscription);
END $$;
COMMENT ON FUNCTION @extschema@.enable_subscription(name) IS
  'Enables a subscription subscription_sql() made, once it is sure the publication brings only the exchange tables (key_exchange, status_digest, red_push, policy_exchange, code_revocation, arrival_rule_exchange, exposure_notice, venue_closure, health_share).';
REVOKE ALL ON FUNCTION @extschema@.enable_subscription(name) FROM PUBLIC;
