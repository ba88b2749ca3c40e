-- ---------------------------------------------------------------------------
-- Cross-region mutual recognition. Every region runs its own node with
-- this extension; a national hub runs another. They exchange, by
-- PostgreSQL's logical replication (publications and subscriptions):
--   up   (each region -> hub): its issuers' public keys and revocations,
--        its people's code-status digests (pseudonym, colour, until: never
--        a name or an identifier), and the reds it decided;
--   down (hub -> every region): every issuer's public key (the trust list),
--        every region's reds, and the national policy versions.
-- Secret keys and personal data never cross a node boundary.
--
-- A subscriber stalls on the first change it cannot apply, so the tables
-- that receive (key_exchange, red_push, policy_exchange, status_digest)
-- have no constraint a remote row could break: a trigger that also fires
-- for the replication apply worker checks each row, logs a bad one in
-- exchange_reject and skips it, and the rest goes on. Loops stop by
-- themselves: a row that arrives back unchanged is skipped, so nothing is
-- written and nothing is sent again.
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
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.set_node(text, text, text) IS
  'Declares what this node is: set_node(''hub'', ''000000'', ''hub'') or set_node(''region'', ''330000'', ''zhejiang'').';

CREATE FUNCTION @extschema@._node_region() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT n.region FROM @extschema@.node n;
END;
COMMENT ON FUNCTION @extschema@._node_region() IS
  'Internal: the division code this node serves, NULL while no node is set.';

-- ---- national pseudonyms ----------------------------------------------------------

CREATE FUNCTION @extschema@.national_pseudonym(identifier text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_national_pseudonym'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.national_pseudonym(text) IS
  'The 16-byte national pseudonym of an identifier: keyed BLAKE2b under the national key (healthcode.national_key_file), the same on every node, so that people can be matched across regions without their identifier.';

CREATE FUNCTION @extschema@._national_key_configured() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_national_key_configured'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_key_configured() IS
  'Internal: whether healthcode.national_key_file is set.';

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

CREATE FUNCTION @extschema@._by_replication() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN @extschema@._replication_subscription() IS NOT NULL;
COMMENT ON FUNCTION @extschema@._by_replication() IS
  'Internal: true inside a logical replication apply or table-sync worker.';

CREATE FUNCTION @extschema@._reject(tbl text, problem text, row_data jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.exchange_reject (tbl, problem, row_data, by_replication)
  VALUES (tbl, problem, row_data, @extschema@._by_replication());
  RAISE WARNING 'healthcode: skipped a row of %: %', tbl, problem;
END $$;
COMMENT ON FUNCTION @extschema@._reject(text, text, jsonb) IS
  'Internal: logs a refused exchange row (and warns in the server log).';

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

CREATE FUNCTION @extschema@._sender_region() RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT p.region FROM @extschema@.peer p
   WHERE p.subscription OPERATOR(pg_catalog.=) @extschema@._replication_subscription();
END;
COMMENT ON FUNCTION @extschema@._sender_region() IS
  'Internal: in a replication apply worker, the region of the node whose subscription it applies (from peer); NULL otherwise.';

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

-- ---- issuer public keys --------------------------------------------------------

CREATE TABLE @extschema@.key_exchange (
  key_id        bytea PRIMARY KEY,
  region        text,
  public_key    bytea,
  valid_from    timestamptz,
  valid_until   timestamptz,
  signing_until timestamptz,
  status        text,
  revoked_at    timestamptz,
  revocation_reason text,
  from_node     text
);
ALTER TABLE @extschema@.key_exchange REPLICA IDENTITY FULL;
COMMENT ON TABLE @extschema@.key_exchange IS
  'The national trust list as exchanged between nodes: this node''s issuer keys (copied from trust_list) and every other node''s (received). verify() trusts these as well as trust_list, the stricter of the two where both know a key. Checked row by row on arrival; never deleted.';
COMMENT ON COLUMN @extschema@.key_exchange.key_id IS 'First 8 bytes of SHA-256 of public_key.';
COMMENT ON COLUMN @extschema@.key_exchange.region IS 'The region the key issues for.';
COMMENT ON COLUMN @extschema@.key_exchange.public_key IS 'The Ed25519 public key.';
COMMENT ON COLUMN @extschema@.key_exchange.valid_from IS 'Start of the key''s validity.';
COMMENT ON COLUMN @extschema@.key_exchange.valid_until IS 'End of the key''s validity.';
COMMENT ON COLUMN @extschema@.key_exchange.signing_until IS 'When it stopped signing (rotated out), if it did.';
COMMENT ON COLUMN @extschema@.key_exchange.status IS 'active, retired or revoked.';
COMMENT ON COLUMN @extschema@.key_exchange.revoked_at IS 'When it was revoked.';
COMMENT ON COLUMN @extschema@.key_exchange.revocation_reason IS 'Why.';
COMMENT ON COLUMN @extschema@.key_exchange.from_node IS 'The node that made the key.';

-- What is wrong with a key row, or NULL.
CREATE FUNCTION @extschema@._key_row_problem(k @extschema@.key_exchange) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
  WHEN k.public_key IS NULL OR pg_catalog.length(k.public_key) OPERATOR(pg_catalog.<>) 32
    THEN 'public_key is not a 32-byte Ed25519 key'
  WHEN k.key_id IS DISTINCT FROM @extschema@.public_key_id(k.public_key)
    THEN 'key_id is not the hash of public_key'
  WHEN k.region IS NULL OR NOT @extschema@.division_code_valid(k.region)
    THEN 'region is not a division code'
  WHEN k.valid_from IS NULL OR k.valid_until IS NULL OR NOT pg_catalog.isfinite(k.valid_from)
       OR NOT pg_catalog.isfinite(k.valid_until) OR k.valid_until OPERATOR(pg_catalog.<=) k.valid_from
    THEN 'validity is missing, infinite or inverted'
  WHEN k.status IS NULL OR k.status NOT IN ('active', 'retired', 'revoked')
    THEN 'status is not active, retired or revoked'
  WHEN (k.status OPERATOR(pg_catalog.=) 'revoked') IS DISTINCT FROM (k.revoked_at IS NOT NULL)
    THEN 'revoked_at does not match status'
  END;
COMMENT ON FUNCTION @extschema@._key_row_problem(@extschema@.key_exchange) IS
  'Internal: why a key row cannot be trusted, or NULL when it is well-formed.';

CREATE FUNCTION @extschema@._key_exchange_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
  old_row @extschema@.key_exchange;
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'keys are never removed from the trust list', to_jsonb(OLD));
    RETURN NULL;
  END IF;
  problem := COALESCE(@extschema@._key_row_problem(NEW), @extschema@._sender_problem(NEW.region));
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.key_exchange x WHERE x.key_id = NEW.key_id;
    IF NOT FOUND THEN
      RETURN NEW;
    END IF;
  ELSE
    old_row := OLD;
  END IF;
  -- a key's identity never changes; its news only ever get stricter
  IF NEW.public_key <> old_row.public_key OR NEW.region <> old_row.region OR NEW.valid_from <> old_row.valid_from THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'a key''s public key, region and start cannot change', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  NEW.valid_until := LEAST(NEW.valid_until, old_row.valid_until);
  NEW.signing_until := LEAST(NEW.signing_until, old_row.signing_until);
  IF old_row.status = 'revoked' THEN
    NEW.status := 'revoked';
    NEW.revoked_at := old_row.revoked_at;
    NEW.revocation_reason := old_row.revocation_reason;
  ELSIF old_row.status = 'retired' AND NEW.status = 'active' THEN
    NEW.status := 'retired';
  END IF;
  NEW.from_node := COALESCE(old_row.from_node, NEW.from_node);
  IF to_jsonb(NEW) = to_jsonb(old_row) THEN
    RETURN NULL;                -- nothing new: write nothing, send nothing on
  END IF;
  IF TG_OP = 'INSERT' THEN
    UPDATE @extschema@.key_exchange x
       SET valid_until = NEW.valid_until, signing_until = NEW.signing_until, status = NEW.status,
           revoked_at = NEW.revoked_at, revocation_reason = NEW.revocation_reason
     WHERE x.key_id = NEW.key_id;
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._key_exchange_check() IS
  'Trigger (also on replicated rows): refuses malformed keys and deletions (logged, skipped), turns a known key into an update that can only make it stricter, and skips what changes nothing.';
CREATE TRIGGER key_exchange_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.key_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._key_exchange_check();
ALTER TABLE @extschema@.key_exchange ENABLE ALWAYS TRIGGER key_exchange_check;
-- every backend reloads its trust list when keys arrive (row trigger: the
-- apply worker fires no statement trigger)
CREATE TRIGGER key_exchange_changed AFTER INSERT OR UPDATE ON @extschema@.key_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.key_exchange ENABLE ALWAYS TRIGGER key_exchange_changed;

-- This node's own keys go into the exchange as they are made, rotated and revoked.
CREATE FUNCTION @extschema@._trust_list_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.key_exchange
         (key_id, region, public_key, valid_from, valid_until, signing_until, status, revoked_at,
          revocation_reason, from_node)
  VALUES (NEW.key_id, NEW.region, NEW.public_key, NEW.valid_from, NEW.valid_until, NEW.signing_until,
          NEW.status, NEW.revoked_at, NEW.revocation_reason,
          COALESCE((SELECT n.name FROM @extschema@.node n), 'local'));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._trust_list_to_exchange() IS
  'Trigger: copies this node''s issuer keys (public halves) into key_exchange, to be published.';
CREATE TRIGGER trust_list_to_exchange AFTER INSERT OR UPDATE ON @extschema@.trust_list
  FOR EACH ROW EXECUTE FUNCTION @extschema@._trust_list_to_exchange();
-- keys made before this version (an update from 0.1.0)
INSERT INTO @extschema@.key_exchange
       (key_id, region, public_key, valid_from, valid_until, signing_until, status, revoked_at, revocation_reason, from_node)
SELECT t.key_id, t.region, t.public_key, t.valid_from, t.valid_until, t.signing_until, t.status, t.revoked_at,
       t.revocation_reason, 'local'
  FROM @extschema@.trust_list t;

-- ---- status digests (mode 2) and national issuing (mode 3) ------------------------

CREATE TABLE @extschema@.status_digest (
  region        text NOT NULL,
  subject       bytea NOT NULL,
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  valid_until   timestamptz,
  next          jsonb,
  last_negative_at timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT status_digest_pkey PRIMARY KEY (region, subject)
);
COMMENT ON TABLE @extschema@.status_digest IS
  'Code-status digests a region publishes to the hub: the code subject (pseudonym), colour, mark, the timeline until it changes, the last negative test. Never a name, an identifier or a reason. A region node fills it for its people when it publishes; the hub holds every region''s.';
COMMENT ON COLUMN @extschema@.status_digest.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_digest.subject IS 'The pseudonym the person''s codes carry.';
COMMENT ON COLUMN @extschema@.status_digest.colour IS 'Colour of the current segment.';
COMMENT ON COLUMN @extschema@.status_digest.vaccinated IS 'The vaccinated mark.';
COMMENT ON COLUMN @extschema@.status_digest.valid_until IS 'End of the current segment.';
COMMENT ON COLUMN @extschema@.status_digest.next IS 'Later segments (colour and mark only).';
COMMENT ON COLUMN @extschema@.status_digest.last_negative_at IS 'When the last negative test was sampled (for arrival rules).';
COMMENT ON COLUMN @extschema@.status_digest.updated_at IS 'When the region last wrote it.';

CREATE FUNCTION @extschema@._digest_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row @extschema@.status_digest;
  problem text;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    problem := @extschema@._sender_problem(OLD.region);
    IF problem IS NOT NULL THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(OLD));
      RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
  END IF;
  problem := @extschema@._sender_problem(NEW.region);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF NEW.region IS NULL OR NOT @extschema@.division_code_valid(NEW.region)
     OR NEW.subject IS NULL OR length(NEW.subject) <> 16 OR NEW.colour IS NULL OR NEW.valid_until IS NULL
     OR NEW.next IS NULL OR jsonb_typeof(NEW.next) <> 'array' THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'a digest needs a region, a 16-byte subject, a colour, valid_until and next', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.status_digest d WHERE d.region = NEW.region AND d.subject = NEW.subject;
    IF FOUND THEN
      IF (to_jsonb(NEW) - 'updated_at') <> (to_jsonb(old_row) - 'updated_at') THEN
        UPDATE @extschema@.status_digest d
           SET colour = NEW.colour, vaccinated = NEW.vaccinated, valid_until = NEW.valid_until, next = NEW.next,
               last_negative_at = NEW.last_negative_at, updated_at = NEW.updated_at
         WHERE d.region = NEW.region AND d.subject = NEW.subject;
      END IF;
      RETURN NULL;
    END IF;
  ELSIF (to_jsonb(NEW) - 'updated_at') = (to_jsonb(OLD) - 'updated_at') THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._digest_check() IS
  'Trigger (also on replicated rows): skips malformed digests and digests of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
CREATE TRIGGER digest_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.status_digest
  FOR EACH ROW EXECUTE FUNCTION @extschema@._digest_check();
ALTER TABLE @extschema@.status_digest ENABLE ALWAYS TRIGGER digest_check;

-- A region node's digests and pushed reds for the people just recalculated
-- (called by _recompute when a node is set).
CREATE FUNCTION @extschema@._publish_status(persons bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := statement_timestamp();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'region') THEN
    RETURN;
  END IF;
  INSERT INTO @extschema@.status_digest (region, subject, colour, vaccinated, valid_until, next, last_negative_at, updated_at)
  SELECT p.region, p.subject, (x.v).colour, (x.v).vaccinated, (x.v).valid_until,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('from', g.e -> 'from', 'until', g.e -> 'until',
                                                       'colour', g.e -> 'colour', 'vaccinated', g.e -> 'vaccinated')
                                    ORDER BY g.o), '[]')
            FROM jsonb_array_elements((x.v).next) WITH ORDINALITY g(e, o)),
         (SELECT max(r.sampled_at) FROM @extschema@.test_result r
           WHERE r.person_id = p.id AND r.result = 'negative'),
         t
    FROM unnest(persons) q(id)
    JOIN @extschema@.person p ON p.id = q.id
    JOIN @extschema@.person_status s ON s.person_id = p.id
    CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, t) AS v OFFSET 0) x;
  -- reds decided here (not those pushed from elsewhere), while they last:
  -- what should be pushed now; rows that should not any more go
  WITH due AS (
    SELECT p.national_subject, p.region AS from_region, (x.v).since,
           COALESCE((SELECT min((g.e ->> 'from')::timestamptz)
                       FROM jsonb_array_elements((x.v).next) g(e) WHERE g.e ->> 'colour' <> 'red'),
                    'infinity') AS until,
           ARRAY(SELECT DISTINCT r ->> 'rule' FROM jsonb_array_elements((x.v).reasons) r ORDER BY 1) AS rules
      FROM unnest(persons) q(id)
      JOIN @extschema@.person p ON p.id = q.id
      JOIN @extschema@.person_status s ON s.person_id = p.id
      CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, t) AS v OFFSET 0) x
     WHERE p.national_subject IS NOT NULL AND (x.v).colour = 'red'
       AND EXISTS (SELECT 1 FROM jsonb_array_elements((x.v).reasons) r WHERE r ->> 'rule' <> 'pushed_red')
  ), gone AS (
    DELETE FROM @extschema@.red_push r
     USING unnest(persons) q(id) JOIN @extschema@.person p ON p.id = q.id
     WHERE r.national_subject = p.national_subject AND r.from_region = p.region
       AND NOT EXISTS (SELECT 1 FROM due d WHERE d.national_subject = r.national_subject
                                             AND d.from_region = r.from_region)
  )
  INSERT INTO @extschema@.red_push (national_subject, from_region, since, until, rules, pushed_at)
  SELECT d.national_subject, d.from_region, d.since, d.until, d.rules, t FROM due d;
END $$;
COMMENT ON FUNCTION @extschema@._publish_status(bigint[]) IS
  'Internal: on a region node, writes the people''s status digests and the reds decided here (to be published to the hub).';

-- ---- reds pushed from other regions ----------------------------------------------

CREATE FUNCTION @extschema@._red_push_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.red_push;
  problem text;
BEGIN
  IF @extschema@._restoring()
     OR (current_setting('session_replication_role') = 'replica' AND NOT @extschema@._by_replication()) THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- a node speaks for the reds of its own regions only
  problem := COALESCE(CASE WHEN TG_OP <> 'INSERT' THEN @extschema@._sender_problem(OLD.from_region) END,
                      CASE WHEN TG_OP <> 'DELETE' THEN @extschema@._sender_problem(NEW.from_region) END);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.national_subject IS NULL OR length(NEW.national_subject) <> 16
       OR NEW.from_region IS NULL OR NOT @extschema@.division_code_valid(NEW.from_region)
       OR NEW.since IS NULL OR NOT isfinite(NEW.since) OR NEW.until IS NULL OR NEW.until <= NEW.since THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, 'a pushed red needs a 16-byte national subject, a region and since < until', to_jsonb(NEW));
      RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
      SELECT * INTO r FROM @extschema@.red_push x
       WHERE x.national_subject = NEW.national_subject AND x.from_region = NEW.from_region;
      IF FOUND THEN
        IF (to_jsonb(NEW) - 'pushed_at') <> (to_jsonb(r) - 'pushed_at') THEN
          UPDATE @extschema@.red_push x SET since = NEW.since, until = NEW.until, rules = NEW.rules, pushed_at = NEW.pushed_at
           WHERE x.national_subject = NEW.national_subject AND x.from_region = NEW.from_region;
        END IF;
        RETURN NULL;
      END IF;
    ELSIF (to_jsonb(NEW) - 'pushed_at') = (to_jsonb(OLD) - 'pushed_at') THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_check() IS
  'Trigger (also on replicated rows): skips malformed pushed reds and reds of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
CREATE TRIGGER red_push_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.red_push
  FOR EACH ROW EXECUTE FUNCTION @extschema@._red_push_check();
ALTER TABLE @extschema@.red_push ENABLE ALWAYS TRIGGER red_push_check;

-- People here whom a pushed red from elsewhere concerns are recalculated.
CREATE FUNCTION @extschema@._red_push_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._restoring()
     OR (current_setting('session_replication_role') = 'replica' AND NOT @extschema@._by_replication()) THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._recompute(ARRAY(
      SELECT p.id FROM @extschema@.person p
       WHERE p.national_subject IN (SELECT NEW.national_subject WHERE TG_OP <> 'DELETE'
                                    UNION SELECT OLD.national_subject WHERE TG_OP <> 'INSERT')
         AND p.region <> CASE TG_OP WHEN 'DELETE' THEN OLD.from_region ELSE NEW.from_region END),
    'red pushed from ' || CASE TG_OP WHEN 'DELETE' THEN OLD.from_region ELSE NEW.from_region END);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_changed() IS
  'Trigger (also on replicated rows): recalculates the people here with the pushed red''s national pseudonym.';
CREATE TRIGGER red_push_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.red_push
  FOR EACH ROW EXECUTE FUNCTION @extschema@._red_push_changed();
ALTER TABLE @extschema@.red_push ENABLE ALWAYS TRIGGER red_push_changed;

-- ---- national policy versions, from the hub ------------------------------------------

CREATE TABLE @extschema@.policy_exchange (
  valid_from    timestamptz PRIMARY KEY,
  version       jsonb
);
COMMENT ON TABLE @extschema@.policy_exchange IS
  'The hub''s national policy versions (region 000000), as it publishes them: each arriving row becomes a national version in policy here, and the people governed are recalculated.';
COMMENT ON COLUMN @extschema@.policy_exchange.valid_from IS 'The version''s start.';
COMMENT ON COLUMN @extschema@.policy_exchange.version IS 'The policy row, as JSON.';

CREATE FUNCTION @extschema@._policy_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.region = '000000' AND OLD.valid_from > '-infinity' THEN
    DELETE FROM @extschema@.policy_exchange x WHERE x.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.region = '000000' AND NEW.valid_from > '-infinity' THEN
    INSERT INTO @extschema@.policy_exchange (valid_from, version)
    VALUES (NEW.valid_from, to_jsonb(NEW) - 'id' - 'created_at');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_to_exchange() IS
  'Trigger on the hub: its national policy versions (but the built-in default) go into policy_exchange, to be published.';
CREATE TRIGGER policy_to_exchange AFTER INSERT OR UPDATE OR DELETE ON @extschema@.policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_to_exchange();

CREATE FUNCTION @extschema@._policy_from_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.policy;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- only what the hub sends is applied
  END IF;
  IF @extschema@._sender_problem('000000') IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'national policy comes from the hub only',
                                CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM @extschema@.policy p WHERE p.region = '000000' AND p.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    BEGIN
      v := jsonb_populate_record(NULL::@extschema@.policy, NEW.version);
      INSERT INTO @extschema@.policy (region, valid_from, valid_until, lookback_days, quarantine_days_red,
             quarantine_days_yellow, red_release_negative_tests, negative_test_valid_hours, fever_celsius,
             vaccinated_min_doses, symptoms_yellow, periodic_testing, test_window, two_negatives_release_yellow,
             description_zh, description_en)
      VALUES ('000000', NEW.valid_from, v.valid_until, v.lookback_days, v.quarantine_days_red,
             v.quarantine_days_yellow, v.red_release_negative_tests, v.negative_test_valid_hours, v.fever_celsius,
             v.vaccinated_min_doses, v.symptoms_yellow, v.periodic_testing, v.test_window,
             v.two_negatives_release_yellow, v.description_zh, v.description_en);
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, SQLERRM, to_jsonb(NEW));
      RETURN NULL;
    END;
  END IF;
  -- the policy table's own trigger does not fire in the apply worker
  PERFORM @extschema@._evidence_lock(true);
  PERFORM @extschema@._recompute(@extschema@._people_governed(ARRAY['000000']), 'national policy from the hub',
                                 exclusive => true);
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_from_exchange() IS
  'Trigger on a region (replicated rows only): turns the hub''s national policy versions into versions here and recalculates everyone; a malformed one is logged and skipped.';
CREATE TRIGGER policy_from_exchange BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.policy_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_from_exchange();
ALTER TABLE @extschema@.policy_exchange ENABLE ALWAYS TRIGGER policy_from_exchange;

-- ---- mode 2: a checkpoint asks the hub ------------------------------------------------

CREATE FUNCTION @extschema@.current_status_of(code @extschema@.healthcode,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT known boolean, OUT colour @extschema@.risk_colour, OUT vaccinated boolean,
    OUT valid_until timestamptz, OUT code_is_current boolean, OUT reason text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d @extschema@.status_digest;
  v @extschema@.status_instant;
  ver record;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(current_status_of.at, now());
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(t, 'at');
  -- a checkpoint asks about now; other times are the national admin's
  IF abs(extract(epoch FROM t - now())) > extract(epoch FROM @extschema@._clock_skew())
     AND NOT @extschema@._in_caller_scope('000000') THEN
    RAISE EXCEPTION 'at must be now, not %', t USING ERRCODE = '42501',
      DETAIL = 'Other times are answered for national roles only; now is taken within healthcode.clock_skew.';
  END IF;
  SELECT * INTO ver FROM @extschema@.verify(code, t);
  known := false;
  -- the digest only for a genuine, current code: a forged or expired one
  -- carrying someone's subject must not read their status
  IF ver.valid THEN
    SELECT * INTO d FROM @extschema@.status_digest x
     WHERE x.region = @extschema@.region(code) AND x.subject = @extschema@.subject(code);
    known := FOUND;
  END IF;
  IF known THEN
    v := @extschema@.status_at(ROW(0, d.region, d.colour, d.vaccinated, '[]', d.updated_at, d.valid_until,
                                   d.next, d.updated_at, NULL)::@extschema@.person_status, t);
    colour := v.colour;
    vaccinated := v.vaccinated;
    valid_until := v.valid_until;
  END IF;
  code_is_current := ver.valid AND known AND colour = ver.colour;
  reason := CASE WHEN NOT ver.valid THEN ver.reason
                 WHEN NOT known THEN 'unknown_subject'
                 WHEN colour <> ver.colour THEN 'colour_changed'
                 ELSE 'ok' END;
END $$;
COMMENT ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) IS
  'The hub as intermediary: verifies a code and says whether its colour is still the current one, from the region''s published digest (only for a code that verifies; at: now, other times for national roles only). reason: a verify() reason, unknown_subject, colour_changed or ok.';

CREATE FUNCTION @extschema@.issue_for_subject(region text, subject bytea,
    valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d @extschema@.status_digest;
  v @extschema@.status_instant;
  t timestamptz := statement_timestamp();
  span interval;
BEGIN
  PERFORM @extschema@._require_region(issue_for_subject.region);
  IF issue_for_subject.subject IS NULL THEN
    RAISE EXCEPTION 'subject must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF length(issue_for_subject.subject) <> 16 THEN
    RAISE EXCEPTION 'subject must be a 16-byte pseudonym, not % bytes', length(issue_for_subject.subject)
      USING ERRCODE = '22023', HINT = 'The region''s node gives it: healthcode.subject_of(identifier).';
  END IF;
  PERFORM @extschema@._require_valid_for(valid_for);
  PERFORM @extschema@._require_caller_scope(issue_for_subject.region);
  SELECT * INTO d FROM @extschema@.status_digest x
   WHERE x.region = issue_for_subject.region AND x.subject = issue_for_subject.subject;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'region % has published no status for this subject', issue_for_subject.region
      USING ERRCODE = '22023', HINT = 'The region node publishes digests once it is joined to the hub.';
  END IF;
  v := @extschema@.status_at(ROW(0, d.region, d.colour, d.vaccinated, '[]', d.updated_at, d.valid_until,
                                 d.next, d.updated_at, NULL)::@extschema@.person_status, t);
  span := CASE WHEN isfinite(v.valid_until)
               THEN LEAST(valid_for, date_trunc('second', v.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'the status changes within a second; ask again' USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('issued', issue_for_subject.region, issue_for_subject.region, v.colour, 'ok',
          @extschema@._code_holder(issue_for_subject.subject, t));
  RETURN @extschema@.issue(issue_for_subject.region, issue_for_subject.subject, v.colour, span, v.vaccinated);
END $$;
COMMENT ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) IS
  'Mode 3, on the hub: a code for a person of a region without an issuer of its own, signed by the nearest issuer the hub holds (the national one), with the colour the region''s digest gives now; never outliving it.';

CREATE FUNCTION @extschema@.subject_of(identifier text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT p.subject FROM @extschema@.person p
   WHERE p.id OPERATOR(pg_catalog.=) @extschema@.person_id(subject_of.identifier);
END;
COMMENT ON FUNCTION @extschema@.subject_of(text) IS
  'The pseudonym a registered person''s codes carry (what issue_for_subject at the hub takes), within the caller''s regions.';

-- ---- arrival rules -------------------------------------------------------------------

CREATE TABLE @extschema@.arrival_rule (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  from_region   text NOT NULL CONSTRAINT from_region_is_division_code CHECK (@extschema@.division_code_valid(from_region)),
  demand        text NOT NULL CONSTRAINT demand_is_known CHECK (demand IN ('green', 'green_and_negative_test')),
  negative_test_hours integer CONSTRAINT negative_test_hours_between_1_and_336 CHECK (negative_test_hours BETWEEN 1 AND 336),
  description   text NOT NULL CONSTRAINT description_is_given CHECK (pg_catalog.length(description) > 0),
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT arrival_rule_natural_key UNIQUE (region, from_region)
);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours. The most specific rule for the checkpoint''s region and the code''s region decides; with none, a valid green code is enough.';
COMMENT ON COLUMN @extschema@.arrival_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.arrival_rule.region IS 'The visited region (covers the codes below it).';
COMMENT ON COLUMN @extschema@.arrival_rule.from_region IS 'The codes'' region it applies to (000000: all).';
COMMENT ON COLUMN @extschema@.arrival_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.arrival_rule.negative_test_hours IS 'How recent the negative test must be.';
COMMENT ON COLUMN @extschema@.arrival_rule.description IS 'The rule as a person reads it.';
COMMENT ON SEQUENCE @extschema@.arrival_rule_id_seq IS 'Ids of arrival rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule_id_seq', '');

CREATE FUNCTION @extschema@.verify_arrival(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT code_region text,
    OUT rule_id bigint, OUT rule text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  r @extschema@.arrival_rule;
  last_negative timestamptz;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(verify_arrival.at, now());
BEGIN
  SELECT * INTO v FROM @extschema@.checkpoint_verify(code, checkpoint, t);
  colour := v.colour;
  code_region := v.region;
  SELECT * INTO r FROM @extschema@.arrival_rule a
   WHERE @extschema@.division_covers(a.region, checkpoint)
     AND @extschema@.division_covers(a.from_region, v.region)
   ORDER BY @extschema@.division_rank(a.region) DESC, @extschema@.division_rank(a.from_region) DESC
   LIMIT 1;
  rule_id := r.id;
  rule := COALESCE(r.description, 'no arrival rule: a valid green code');
  IF NOT v.valid THEN
    admit := false;
    reason := v.reason;
  ELSIF v.colour <> 'green' THEN
    admit := false;
    reason := 'not_green';
  ELSIF r.demand = 'green_and_negative_test' THEN
    SELECT d.last_negative_at INTO last_negative FROM @extschema@.status_digest d
     WHERE d.region = v.region AND d.subject = @extschema@.subject(code);
    admit := last_negative IS NOT NULL
             AND last_negative >= t - make_interval(hours => r.negative_test_hours)
             AND last_negative <= t;
    reason := CASE WHEN admit THEN 'ok' ELSE 'no_recent_negative_test' END;
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz) IS
  'Verifies a visitor''s code at a checkpoint of this region against its arrival rules, and says which rule decided. reason: a verify() reason, not_green, no_recent_negative_test (from the digests this node holds) or ok.';

-- ---- publications and subscriptions ------------------------------------------------------

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['key_exchange', 'status_digest', 'red_push', 'policy_exchange'] LOOP
    EXECUTE format('CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard()', t);
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ALWAYS TRIGGER exchange_truncate_guard', t);
  END LOOP;
END $$;


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
    EXECUTE 'CREATE PUBLICATION healthcode_hub FOR TABLE @extschema@.key_exchange, @extschema@.red_push, @extschema@.policy_exchange'
            ' WITH (publish = ''insert, update, delete'')';
    EXECUTE 'CREATE PUBLICATION healthcode_hub_digests FOR TABLE @extschema@.status_digest'
            ' WITH (publish = ''insert, update, delete'')';
    RETURN 'healthcode_hub';
  END IF;
  lo := n.region;
  hi := @extschema@.division_last(n.region);
  EXECUTE format('CREATE PUBLICATION %I FOR TABLE @extschema@.key_exchange WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.status_digest WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.red_push WHERE (from_region >= %L AND from_region <= %L)'
                 ' WITH (publish = ''insert, update, delete'')',
                 'healthcode_region_' || n.name, lo, hi, lo, hi, lo, hi);
  RETURN 'healthcode_region_' || n.name;
END $$;
COMMENT ON FUNCTION @extschema@.create_publication() IS
  'Creates this node''s publication: on the hub healthcode_hub (every key, every pushed red, national policy) and healthcode_hub_digests; on a region healthcode_region_<name> (its own keys, digests and reds, by row filter). Returns its name.';

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
    RAISE EXCEPTION 'subscription_sql(publisher_name, publisher_region, conninfo) needs the publishing node''s name and a connection string'
      USING ERRCODE = '22023';
  END IF;
  IF publisher_region IS NULL OR NOT @extschema@.division_code_valid(publisher_region)
     OR (n.role = 'region') <> (publisher_region = '000000') THEN
    RAISE EXCEPTION 'invalid publisher_region %: a region subscribes to the hub (000000), the hub to a region',
      coalesce(quote_literal(publisher_region), 'NULL') USING ERRCODE = '22023';
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

CREATE FUNCTION @extschema@.enable_subscription(subscription name) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  extra text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.peer p WHERE p.subscription = enable_subscription.subscription)
     OR NOT EXISTS (SELECT 1 FROM pg_subscription s WHERE s.subname = enable_subscription.subscription) THEN
    RAISE EXCEPTION 'no subscription % made by subscription_sql()', subscription USING ERRCODE = '22023';
  END IF;
  -- the publishing node chose the tables: only the exchange tables may come
  SELECT string_agg(r.srrelid::regclass::text, ', ' ORDER BY r.srrelid::regclass::text) INTO extra
    FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
   WHERE s.subname = enable_subscription.subscription
     AND r.srrelid NOT IN ('@extschema@.key_exchange'::regclass, '@extschema@.status_digest'::regclass,
                           '@extschema@.red_push'::regclass, '@extschema@.policy_exchange'::regclass);
  IF extra IS NOT NULL THEN
    RAISE EXCEPTION 'subscription % would bring tables outside the national exchange: %', subscription, extra
      USING ERRCODE = '42501',
            HINT = 'The publishing node''s publication lists them; it stays disabled. DROP SUBSCRIPTION it, and find out why.';
  END IF;
  EXECUTE format('ALTER SUBSCRIPTION %I ENABLE', subscription);
END $$;
COMMENT ON FUNCTION @extschema@.enable_subscription(name) IS
  'Enables a subscription subscription_sql() made, once it is sure the publication brings only the exchange tables (key_exchange, status_digest, red_push, policy_exchange).';
