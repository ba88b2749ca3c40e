-- ---------------------------------------------------------------------------
-- healthcode 0.2.0 -> 0.3.0: every change 0.3.0 makes to a 0.2.0 database.
-- Three parts: what is not a function (tables, types, rows, constraints,
-- grants on tables, drops that must come first), written by hand; the
-- functions that differ from 0.2.0 or are new, each as its statements in
-- src/sql/ in install order, written by tools/update-draft.sh --write
-- between its two marker lines; and, by hand again, what those functions
-- replace. The Makefile puts the schema guard (src/sql/01_schema_guard.sql)
-- before it. test/shell/upgrade_security.sh proves the result equals a
-- fresh install of 0.3.0 (doc/releasing.md).
-- ---------------------------------------------------------------------------

-- ---- places below the county (10_type.sql; the tables below check them) ---------
CREATE FUNCTION @extschema@.place_code_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_place_code_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

-- ---- recalculation calls the steps later topics register ---------------------
-- (62_status_recompute.sql, 92_federation_status.sql)
-- What later topics do after every recalculation, with the people it
-- recalculated: federation registers its publishing step here
-- (92_federation_status.sql), so that the status engine need not know it.
-- Only the extension's script writes this table.
CREATE TABLE @extschema@.after_recompute (
  step regprocedure PRIMARY KEY
);
COMMENT ON TABLE @extschema@.after_recompute IS
  'Internal: the functions (taking the bigint[] of people) that every recalculation calls after writing their statuses, registered by the topics that need them.';
COMMENT ON COLUMN @extschema@.after_recompute.step IS 'A function of one bigint[] argument, called with the people recalculated.';
REVOKE ALL ON @extschema@.after_recompute FROM PUBLIC;
GRANT SELECT ON @extschema@.after_recompute TO healthcode_admin;
INSERT INTO @extschema@.after_recompute (step) VALUES ('@extschema@._publish_status(bigint[])');

-- ---- one list of evidence tables (51_evidence.sql) ---------------------------------
-- Every table the status engine reads a colour from, with what the code
-- around it needs to know: the statement triggers that recalculate
-- (63_status_triggers.sql), row-level security (96_rls.sql) and corrections
-- (75_corrections.sql) read this list, so a new evidence table is one row
-- here (doc/evidence-kinds.md). red_push is evidence too, but arrives by
-- replication and has triggers of its own (92_federation_status.sql).
CREATE TABLE @extschema@.evidence_table (
  name            text PRIMARY KEY,
  time_column     text NOT NULL,
  ignored_column  text NOT NULL DEFAULT '',
  recalculated_by text NOT NULL,
  scope_column    text NOT NULL CONSTRAINT scope_column_known CHECK (scope_column IN ('region', 'division')),
  public_rows     boolean NOT NULL DEFAULT false,
  correctable     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE @extschema@.evidence_table IS
  'The evidence tables: what the status engine reads a colour from. Triggers, row-level security and corrections are set up from this list.';
COMMENT ON COLUMN @extschema@.evidence_table.name IS 'The table, in the extension''s schema.';
COMMENT ON COLUMN @extschema@.evidence_table.time_column IS 'The time of a row: checked against the health-code era and the future.';
COMMENT ON COLUMN @extschema@.evidence_table.ignored_column IS 'A column whose changes alone never change a colour (e.g. declaration.audited_at); empty for none.';
COMMENT ON COLUMN @extschema@.evidence_table.recalculated_by IS 'The statement trigger function that recalculates the people a change concerns.';
COMMENT ON COLUMN @extschema@.evidence_table.scope_column IS 'The division code row-level security keys on.';
COMMENT ON COLUMN @extschema@.evidence_table.public_rows IS 'Everyone reads the rows (risk areas, policy); writing them is still scoped.';
COMMENT ON COLUMN @extschema@.evidence_table.correctable IS 'A person may dispute a row (request_correction).';
INSERT INTO @extschema@.evidence_table (name, time_column, ignored_column, recalculated_by, scope_column, public_rows, correctable)
VALUES ('declaration', 'declared_at', 'audited_at', '_evidence_changed', 'region', false, true),
       ('test_result', 'sampled_at', '', '_evidence_changed', 'region', false, true),
       ('vaccination', 'given_at', '', '_evidence_changed', 'region', false, true),
       ('contact', 'exposure_at', '', '_evidence_changed', 'region', false, true),
       ('checkin', 'at', '', '_evidence_changed', 'region', false, true),
       ('manual_decision', 'decided_at', '', '_evidence_changed', 'region', false, false),
       ('audit_finding', 'found_at', '', '_evidence_changed', 'region', false, false),
       ('travel', 'at', '', '_travel_changed', 'region', false, true),
       ('risk_area', 'effective_from', '', '_risk_area_changed', 'division', true, false),
       ('policy', 'valid_from', '', '_policy_changed', 'region', true, false);
REVOKE ALL ON @extschema@.evidence_table FROM PUBLIC;
GRANT SELECT ON @extschema@.evidence_table TO PUBLIC;
GRANT SELECT ON @extschema@.evidence_table TO healthcode_admin;
-- a correction names one of them (request_correction() allows the correctable ones)
ALTER TABLE @extschema@.correction DROP CONSTRAINT evidence_is_known,
  ADD CONSTRAINT evidence_is_known FOREIGN KEY (evidence) REFERENCES @extschema@.evidence_table (name);

-- ---- the risky-stay rule written once (_stay_levels_sql, 61_status_engine.sql) ----
-- _stays_reexamined became _stays_in_changed_areas (below, with the rule)
DROP FUNCTION @extschema@._stays_reexamined(@extschema@.risk_area[], timestamptz);

-- ---- policy by name: the engine reads engine_policy attributes by name ----------
-- (55_policy.sql); _policy_versions, the aggregate and _status_from_stored_inputs
-- (was _status_restayed) below take it, the old ones are dropped after them.
-- A policy version as the status engine reads it: the C code reads each
-- attribute by its name, the name of the engine's field (hc_policy_fields
-- in src/hc_core_status_policy.c), so a field is added in both places and
-- the order of the attributes does not matter.
CREATE TYPE @extschema@.engine_policy AS (
  rank                          integer,
  valid_from                    timestamptz,
  valid_until                   timestamptz,
  lookback_days                 integer,
  quarantine_days_red           integer,
  quarantine_days_yellow        integer,
  red_release_negative_tests    integer,
  negative_test_valid_hours     integer,
  fever_tenths                  integer,
  vaccinated_min_doses          integer,
  symptoms_yellow               boolean,
  periodic_testing              boolean,
  calendar_days                 boolean,
  two_negatives_release_yellow  boolean,
  evidence_kept_days            integer
);
COMMENT ON TYPE @extschema@.engine_policy IS
  'Internal: a policy version as the status engine reads it, each attribute by its name.';
COMMENT ON COLUMN @extschema@.engine_policy.rank IS 'How specific the version''s region is: 0 national, 1 province, 2 city, 3 county.';
COMMENT ON COLUMN @extschema@.engine_policy.valid_from IS 'policy.valid_from.';
COMMENT ON COLUMN @extschema@.engine_policy.valid_until IS 'policy.valid_until, infinity for NULL.';
COMMENT ON COLUMN @extschema@.engine_policy.lookback_days IS 'policy.lookback_days.';
COMMENT ON COLUMN @extschema@.engine_policy.quarantine_days_red IS 'policy.quarantine_days_red.';
COMMENT ON COLUMN @extschema@.engine_policy.quarantine_days_yellow IS 'policy.quarantine_days_yellow.';
COMMENT ON COLUMN @extschema@.engine_policy.red_release_negative_tests IS 'policy.red_release_negative_tests.';
COMMENT ON COLUMN @extschema@.engine_policy.negative_test_valid_hours IS 'policy.negative_test_valid_hours.';
COMMENT ON COLUMN @extschema@.engine_policy.fever_tenths IS 'policy.fever_celsius in tenths of a degree.';
COMMENT ON COLUMN @extschema@.engine_policy.vaccinated_min_doses IS 'policy.vaccinated_min_doses.';
COMMENT ON COLUMN @extschema@.engine_policy.symptoms_yellow IS 'policy.symptoms_yellow.';
COMMENT ON COLUMN @extschema@.engine_policy.periodic_testing IS 'policy.periodic_testing.';
COMMENT ON COLUMN @extschema@.engine_policy.calendar_days IS 'Whether policy.test_window is calendar_days.';
COMMENT ON COLUMN @extschema@.engine_policy.two_negatives_release_yellow IS 'policy.two_negatives_release_yellow.';
COMMENT ON COLUMN @extschema@.engine_policy.evidence_kept_days IS 'policy.evidence_kept_days, its default for NULL; the engine reads it from national versions only.';

-- _recompute's last argument is renamed (restayed -> changed_stays), which
-- CREATE OR REPLACE cannot do
DROP FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[]);

-- ---- code lifetimes as policy, paper codes (55_policy.sql, 73_codes.sql) -----------
ALTER TABLE @extschema@.policy
  ADD COLUMN max_code_lifetime interval NOT NULL DEFAULT interval '5 minutes'
    CONSTRAINT max_code_lifetime_between_1_second_and_366_days
    CHECK (max_code_lifetime BETWEEN interval '1 second' AND interval '366 days'),
  ADD COLUMN paper_code_lifetime interval
    CONSTRAINT paper_code_lifetime_between_1_second_and_366_days
    CHECK (paper_code_lifetime BETWEEN interval '1 second' AND interval '366 days');
COMMENT ON COLUMN @extschema@.policy.max_code_lifetime IS 'The longest a code issued for a person of the region may live (issue_for, issue_for_subject): minutes, as a code on a phone is refreshed.';
COMMENT ON COLUMN @extschema@.policy.paper_code_lifetime IS 'The longest a paper code (issue_paper_code: printed, for someone without a phone, marked as paper in its payload) may live; NULL: the region issues none.';
-- ---- erasure: decisions become tombstones, the chain over content digests ----------
-- (51_evidence.sql, 95_erasure.sql, 98_decisions.sql; entries of 0.2.0 keep
-- their hash over the content itself: content_digest NULL)
ALTER TABLE @extschema@.manual_decision
  ALTER COLUMN person_id DROP NOT NULL,
  ALTER COLUMN valid_from DROP NOT NULL,
  ALTER COLUMN authority DROP NOT NULL,
  ALTER COLUMN reason DROP NOT NULL,
  ADD COLUMN content_digest bytea CONSTRAINT content_digest_is_32_bytes CHECK (pg_catalog.length(content_digest) = 32),
  ADD COLUMN erased_at timestamptz,
  ADD CONSTRAINT whole_or_erased CHECK (
    CASE WHEN erased_at IS NULL
         THEN person_id IS NOT NULL AND valid_from IS NOT NULL AND authority IS NOT NULL AND reason IS NOT NULL
         ELSE person_id IS NULL AND valid_from IS NULL AND valid_until IS NULL AND authority IS NULL
              AND reason IS NULL AND content_digest IS NOT NULL END);
COMMENT ON COLUMN @extschema@.manual_decision.person_id IS 'The person decided about (NULL once erased).';
COMMENT ON COLUMN @extschema@.manual_decision.entry_hash IS 'SHA-256 of prev_hash, the part an erasure keeps (decision_kept()) and content_digest (entries of 0.2.0: of prev_hash and the whole content, decision_content()).';
COMMENT ON COLUMN @extschema@.manual_decision.content_digest IS 'SHA-256 of the part an erasure removes (decision_erasable()), kept when the person is erased; NULL for entries recorded under 0.2.0.';
COMMENT ON COLUMN @extschema@.manual_decision.erased_at IS 'When the person was erased (erase_person, purge_region): the entry is a tombstone, its person, validity, authority and reason gone, its place in the chain kept.';
CREATE TABLE @extschema@.erasure (
  at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  erased_by     text NOT NULL,
  what          text NOT NULL CONSTRAINT what_is_known CHECK (what IN ('person', 'region', 'moved')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  people        bigint NOT NULL,
  reason        text NOT NULL CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  report        jsonb NOT NULL,
  tombstones    bigint[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE @extschema@.erasure IS
  'Every erasure (erase_person), purge (purge_region) and release of a hosted region to its own node (release_region): when, by whom, the region, how many people and how many rows of each table went, why. It names no person.';
COMMENT ON COLUMN @extschema@.erasure.at IS 'When.';
COMMENT ON COLUMN @extschema@.erasure.erased_by IS 'The role that called.';
COMMENT ON COLUMN @extschema@.erasure.what IS 'person (erase_person), region (purge_region) or moved (release_region: a hosted region''s people, moved to a node of its own).';
COMMENT ON COLUMN @extschema@.erasure.region IS 'The person''s home region, or the region purged.';
COMMENT ON COLUMN @extschema@.erasure.people IS 'People erased.';
COMMENT ON COLUMN @extschema@.erasure.reason IS 'Why (the request''s reference, the end of the emergency).';
COMMENT ON COLUMN @extschema@.erasure.report IS 'Rows removed (or made tombstones) by table.';
COMMENT ON COLUMN @extschema@.erasure.tombstones IS 'The decision chain positions it made tombstones (verify_decision_chain reports any other).';
REVOKE ALL ON @extschema@.erasure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure', '');
ALTER TABLE @extschema@.erasure ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.erasure FORCE ROW LEVEL SECURITY;
CREATE POLICY scope_select ON @extschema@.erasure FOR SELECT
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_insert ON @extschema@.erasure FOR INSERT
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_update ON @extschema@.erasure FOR UPDATE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"))
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_delete ON @extschema@.erasure FOR DELETE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
GRANT SELECT ON @extschema@.erasure TO healthcode_admin;

-- ---- national retention: a region never widens it (55_policy.sql) -------------------
ALTER TABLE @extschema@.policy
  ADD COLUMN regional_lookback_limit_days integer
    CONSTRAINT regional_lookback_limit_days_between_1_and_366
    CHECK (regional_lookback_limit_days BETWEEN 1 AND 366)
    CONSTRAINT regional_lookback_limit_days_is_national
    CHECK (regional_lookback_limit_days IS NULL OR region = '000000');
COMMENT ON COLUMN @extschema@.policy.regional_lookback_limit_days IS 'National versions only: the longest lookback_days a regional version may have while this version is in force (NULL: the national lookback_days). With the national lookbacks, it sets how long windowed evidence is kept for everyone; a region never widens it.';

-- ---- retention of every personal table (55_policy.sql, 51_evidence.sql, 80_retention.sql)
ALTER TABLE @extschema@.policy
  ADD COLUMN evidence_kept_days integer
    CONSTRAINT evidence_kept_days_between_1_and_3660
    CHECK (evidence_kept_days BETWEEN 1 AND 3660)
    CONSTRAINT evidence_kept_days_is_national
    CHECK (evidence_kept_days IS NULL OR region = '000000');
COMMENT ON COLUMN @extschema@.policy.evidence_kept_days IS 'National versions only: how many days any piece of evidence (a test, a check-in, a declaration, a stay, a contact, a finding; not a dose or a manual decision) counts for a colour at most, and so how long it is kept (retention, apply_retention()); NULL: 90. A positive test nobody released stops counting then too.';
CREATE INDEX declaration_declared_at ON @extschema@.declaration USING brin (declared_at);
CREATE INDEX test_result_sampled_at ON @extschema@.test_result USING brin (sampled_at);
CREATE INDEX contact_exposure_at ON @extschema@.contact USING brin (exposure_at);
CREATE INDEX checkin_at ON @extschema@.checkin USING brin (at);
CREATE INDEX audit_finding_found_at ON @extschema@.audit_finding USING brin (found_at);
CREATE INDEX correction_requested_at ON @extschema@.correction USING brin (requested_at);

-- ---- status history in the order of writing, its ids opaque (60_status.sql) ----------
-- (the entries of 0.2.0 are stamped in the order they lie, their ids in order)
ALTER TABLE @extschema@.status_history
  ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp();
COMMENT ON COLUMN @extschema@.status_history.id IS 'History entry id (opaque: it tells neither order nor number).';
COMMENT ON COLUMN @extschema@.status_history.recorded_at IS 'When the recalculation that wrote the entry began writing (one instant for all it wrote): a person''s entries in order are ordered by at, then recorded_at.';

-- issue() takes paper; verify() and checkpoint_verify() return it: new
-- signatures, made below
DROP FUNCTION @extschema@.issue(text, bytea, @extschema@.risk_colour, interval, boolean);
DROP FUNCTION @extschema@.verify(@extschema@.healthcode, timestamptz);
DROP FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz);
-- checkpoints check online by default: checkpoint_verify and verify_arrival
-- take online (94_checkpoints.sql, was 89_arrival.sql)
DROP FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz);
-- codes may carry the last negative test and the dose count (format
-- version 2): issue_for takes health_facts
DROP FUNCTION @extschema@.issue_for(bigint, interval);

-- ---- revocation lists (74_revocations.sql) ------------------------------------------
-- (The hash is the key: rows arrive from other nodes through the exchange,
-- 91_federation_keys.sql, and an id of this node's would collide with theirs.)
CREATE TABLE @extschema@.code_revocation (
  hash          bytea PRIMARY KEY
                CONSTRAINT hash_is_16_bytes CHECK (pg_catalog.length(hash) = 16),
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('code', 'subject')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  revoked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at    timestamptz NOT NULL,
  reason        text NOT NULL CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  revoked_by    text NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX code_revocation_expires ON @extschema@.code_revocation (expires_at);
COMMENT ON TABLE @extschema@.code_revocation IS
  'Revoked codes and subjects, as hashes only: verify() says revoked for a revoked code, and for every code of a revoked subject issued up to revoked_at.';
COMMENT ON COLUMN @extschema@.code_revocation.hash IS '_revocation_hash(kind, region, the payload or the subject).';
COMMENT ON COLUMN @extschema@.code_revocation.kind IS 'code (one code) or subject (every code of a person issued up to revoked_at).';
COMMENT ON COLUMN @extschema@.code_revocation.region IS 'The region of the codes it covers.';
COMMENT ON COLUMN @extschema@.code_revocation.revoked_at IS 'When; a subject''s codes issued up to this instant (whole seconds) are revoked, later ones are not.';
COMMENT ON COLUMN @extschema@.code_revocation.expires_at IS 'When every code it covers has expired: it can be dropped then (drop_expired_revocations).';
COMMENT ON COLUMN @extschema@.code_revocation.reason IS 'Why (lost phone, wrong colour, fraud, ...).';
COMMENT ON COLUMN @extschema@.code_revocation.revoked_by IS 'The role that revoked.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.code_revocation', '');
-- every backend's copy of the list is stale once the table changes
CREATE TRIGGER code_revocation_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.code_revocation
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
GRANT SELECT ON @extschema@.code_revocation TO healthcode_admin;
ALTER TABLE @extschema@.code_revocation ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.code_revocation FORCE ROW LEVEL SECURITY;
CREATE POLICY scope_select ON @extschema@.code_revocation FOR SELECT
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_insert ON @extschema@.code_revocation FOR INSERT
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_update ON @extschema@.code_revocation FOR UPDATE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"))
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_delete ON @extschema@.code_revocation FOR DELETE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
-- verify() says revoked, checked after key_revoked
UPDATE @extschema@.verify_reason SET check_order = check_order + 100 WHERE check_order >= 5;
UPDATE @extschema@.verify_reason SET check_order = check_order - 99 WHERE check_order >= 100;
UPDATE @extschema@.verify_reason
   SET description = 'The signature is good, the key is trusted, nothing revoked it and the code is within its validity.'
 WHERE reason = 'ok';
INSERT INTO @extschema@.verify_reason VALUES
  ('revoked', 5, 'The code, or every code of its subject issued up to some instant after it, has been revoked (code_revocation).');

-- ---- arrival rules versioned like policy (94_checkpoints.sql) ---------------------------
ALTER TABLE @extschema@.arrival_rule
  ADD COLUMN valid_from timestamptz NOT NULL DEFAULT '-infinity'
    CONSTRAINT valid_from_not_plus_infinity CHECK (valid_from < 'infinity'),
  ADD COLUMN valid_until timestamptz CONSTRAINT valid_until_is_finite CHECK (pg_catalog.isfinite(valid_until)),
  ADD CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  DROP CONSTRAINT arrival_rule_natural_key,
  ADD CONSTRAINT arrival_rule_natural_key UNIQUE (region, from_region, valid_from);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours; versioned by validity, like policy. The most specific rule in force for the checkpoint''s region and the code''s region decides (then the latest-starting version); with none, a valid green code is enough.';
COMMENT ON COLUMN @extschema@.arrival_rule.valid_from IS 'When this version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.arrival_rule.valid_until IS 'When it stops; NULL: until a later version replaces it.';
-- ... and asking for vaccine doses, national ones from the hub
-- (94_federation_arrival_rules.sql; triggers at the end)
ALTER TABLE @extschema@.arrival_rule
  ADD COLUMN min_doses integer CONSTRAINT min_doses_between_1_and_10 CHECK (min_doses BETWEEN 1 AND 10);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours, and optionally a number of vaccine doses; versioned by validity, like policy. The most specific rule in force for the checkpoint''s region and the code''s region decides (then the latest-starting version); with none, a valid green code is enough. National rules (region 000000) come from the hub on a federated region node.';
COMMENT ON COLUMN @extschema@.arrival_rule.min_doses IS 'Vaccine doses the holder must have had (NULL: none asked).';
CREATE TABLE @extschema@.arrival_rule_exchange (
  from_region   text NOT NULL,
  valid_from    timestamptz NOT NULL,
  rule          jsonb,
  CONSTRAINT arrival_rule_exchange_pkey PRIMARY KEY (from_region, valid_from)
);
COMMENT ON TABLE @extschema@.arrival_rule_exchange IS
  'The hub''s national arrival rule versions (arrival_rule.region 000000), as it publishes them: each arriving row becomes a national rule version in arrival_rule on a region node.';
COMMENT ON COLUMN @extschema@.arrival_rule_exchange.from_region IS 'The codes'' region the rule applies to.';
COMMENT ON COLUMN @extschema@.arrival_rule_exchange.valid_from IS 'The version''s start.';
COMMENT ON COLUMN @extschema@.arrival_rule_exchange.rule IS 'The rule row, as JSON (without this node''s id).';
GRANT SELECT ON @extschema@.arrival_rule_exchange TO healthcode_admin;

-- ---- the status work list (66_status_work.sql; its view and current_status's
-- new definition after the functions)
CREATE TABLE @extschema@.recalc_work (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('risk_area', 'policy', 'everyone', 'check')),
  -- risk_area: the old and new designations (their stays are re-examined)
  areas         @extschema@.risk_area[],
  -- policy: the regions whose people the changed versions govern
  regions       text[],
  cause         text NOT NULL,
  -- when the change took effect: after the statement's exclusive evidence
  -- lock, so that no recalculation that missed it ran later (see below)
  created_at    timestamptz NOT NULL,
  horizon       timestamptz NOT NULL,
  listed_at     timestamptz,
  people        bigint,
  -- its people are listed in parts (ranges of ids: _part_ids), one a
  -- worker at once: a province's listing on every core
  parts         integer NOT NULL DEFAULT 1,
  parts_done    integer[] NOT NULL DEFAULT '{}',
  CONSTRAINT areas_for_risk_areas CHECK ((kind = 'risk_area') = (areas IS NOT NULL)),
  CONSTRAINT regions_for_policy CHECK ((kind = 'policy') = (regions IS NOT NULL)),
  CONSTRAINT people_once_listed CHECK (listed_at IS NULL OR people IS NOT NULL),
  CONSTRAINT parts_in_range CHECK (parts BETWEEN 1 AND 64),
  CONSTRAINT listed_with_last_part CHECK ((listed_at IS NOT NULL) = (cardinality(parts_done) >= parts)
                                         AND cardinality(parts_done) <= parts)
);
COMMENT ON TABLE @extschema@.recalc_work IS
  'Internal: changes whose recalculation the workers do (the status work list). A row stays until every person it concerns is recalculated; recalc_progress shows them.';
COMMENT ON COLUMN @extschema@.recalc_work.id IS 'The change, in the order recorded.';
COMMENT ON COLUMN @extschema@.recalc_work.kind IS 'risk_area (stays in areas re-examined), policy (people governed by regions recalculated), everyone, or check (a consistency check of everyone, which changes nothing: start_consistency_check).';
COMMENT ON COLUMN @extschema@.recalc_work.areas IS 'risk_area: the old and new designations.';
COMMENT ON COLUMN @extschema@.recalc_work.regions IS 'policy: the regions the changed versions govern.';
COMMENT ON COLUMN @extschema@.recalc_work.cause IS 'The cause its status changes are recorded with.';
COMMENT ON COLUMN @extschema@.recalc_work.created_at IS 'When the change took effect; colour changes it brings are dated then.';
COMMENT ON COLUMN @extschema@.recalc_work.horizon IS 'The evidence horizon then: stays before it are outside every window.';
COMMENT ON COLUMN @extschema@.recalc_work.listed_at IS 'When the last part of its people was listed in recalc_pending (NULL: not yet).';
COMMENT ON COLUMN @extschema@.recalc_work.people IS 'How many people its parts listed so far (all of them once listed_at is set).';
COMMENT ON COLUMN @extschema@.recalc_work.parts IS 'In how many parts its people are listed (healthcode.recalc_workers when it was recorded): part k lists those whose id is in its range (_part_ids).';
COMMENT ON COLUMN @extschema@.recalc_work.parts_done IS 'The parts listed so far; listed_at is set with the last.';
COMMENT ON SEQUENCE @extschema@.recalc_work_id_seq IS 'Ids of changes on the work list.';
REVOKE ALL ON @extschema@.recalc_work FROM PUBLIC;

CREATE TABLE @extschema@.recalc_pending (
  -- (no foreign key: a listing inserts a row a person, and checking each
  -- against recalc_work cost as much as the insert; a change's last batch
  -- deletes its recalc_work row once none of these is left)
  work_id       bigint NOT NULL,
  person_id     bigint NOT NULL,
  -- risk_area: the person's stays in the areas, as listed (re-examined by
  -- the batch without reading travel again; a stay deleted meanwhile takes
  -- the row with it, see _travel_changed)
  stay_ids      bigint[],
  stay_ats      timestamptz[],
  stay_places   text[],
  stay_venues   text[],
  CONSTRAINT recalc_pending_pkey PRIMARY KEY (work_id, person_id)
);
COMMENT ON TABLE @extschema@.recalc_pending IS
  'Internal: the people a listed change still has to recalculate; a worker deletes a batch of rows in the transaction that recalculates them.';
COMMENT ON COLUMN @extschema@.recalc_pending.work_id IS 'The change.';
COMMENT ON COLUMN @extschema@.recalc_pending.person_id IS 'A person it concerns.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_ids IS 'risk_area: the person''s stays in the areas (travel ids), as listed.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_ats IS 'risk_area: when each was.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_places IS 'risk_area: where.';
COMMENT ON COLUMN @extschema@.recalc_pending.stay_venues IS 'risk_area: at which venue (travel.venue), for designations of a venue.';
REVOKE ALL ON @extschema@.recalc_pending FROM PUBLIC;
CREATE TABLE @extschema@.recalc_gone_stays (
  stay_id       bigint NOT NULL,
  stay_at       timestamptz NOT NULL,
  person_id     bigint NOT NULL,
  gone_at       timestamptz NOT NULL,
  -- (travel.id is unique by its sequence only: the person too)
  CONSTRAINT recalc_gone_stays_pkey PRIMARY KEY (stay_id, stay_at, person_id)
);
-- (is anything gone since a change was made: asked by every batch; and
-- has this person lost a stay since)
CREATE INDEX recalc_gone_stays_gone_at ON @extschema@.recalc_gone_stays (gone_at);
CREATE INDEX recalc_gone_stays_person ON @extschema@.recalc_gone_stays (person_id, gone_at);
COMMENT ON TABLE @extschema@.recalc_gone_stays IS
  'Internal: travel rows deleted, updated or truncated while a risk-area change on the work list may have them listed in recalc_pending; listed stays are read less these. A row goes once no change on the list was made before it.';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.stay_id IS 'The travel row''s id.';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.stay_at IS 'Its at (travel''s key includes it).';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.person_id IS 'Whose stay it was (an erasure takes the row).';
COMMENT ON COLUMN @extschema@.recalc_gone_stays.gone_at IS 'When its deletion''s trigger ran, holding the evidence lock: after the creation of every change that may have listed it.';
REVOKE ALL ON @extschema@.recalc_gone_stays FROM PUBLIC;
CREATE TABLE @extschema@.consistency_finding (
  check_id      bigint NOT NULL,
  person_id     bigint NOT NULL,
  checked_at    timestamptz NOT NULL,
  stored        jsonb,
  recomputed    jsonb,
  CONSTRAINT consistency_finding_pkey PRIMARY KEY (check_id, person_id)
);
COMMENT ON TABLE @extschema@.consistency_finding IS
  'What consistency checks run by the workers found (start_consistency_check): each person whose status as readers see it differed from a full recalculation, as check_consistency() returns them. No row for a check: nothing wrong.';
COMMENT ON COLUMN @extschema@.consistency_finding.check_id IS 'The check (its recalc_work id, which start_consistency_check returned).';
COMMENT ON COLUMN @extschema@.consistency_finding.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.consistency_finding.checked_at IS 'When their batch was checked.';
COMMENT ON COLUMN @extschema@.consistency_finding.stored IS 'Their status as readers saw it (as check_consistency()).';
COMMENT ON COLUMN @extschema@.consistency_finding.recomputed IS 'Their status recalculated from the evidence.';
REVOKE ALL ON @extschema@.consistency_finding FROM PUBLIC;
GRANT SELECT, DELETE ON @extschema@.consistency_finding TO healthcode_admin;
GRANT SELECT ON @extschema@.recalc_work, @extschema@.recalc_pending, @extschema@.recalc_gone_stays TO healthcode_admin;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_work', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_work_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_pending', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recalc_gone_stays', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consistency_finding', '');

-- ---- status rows updated in place where they can be (60_status.sql): no index
-- on the colour, room on each page (pages written from now on; VACUUM FULL
-- healthcode.person_status makes room on the old ones, see CHANGES.md)
DROP INDEX @extschema@.person_status_region;
CREATE INDEX person_status_region ON @extschema@.person_status (region);
ALTER TABLE @extschema@.person_status SET (fillfactor = 80);

-- ---- division names and the code screen (43_division_names.sql, 76_code_screen.sql) ---
CREATE TABLE @extschema@.division_name (
  code          text PRIMARY KEY
                CONSTRAINT code_is_place_code CHECK (@extschema@.place_code_valid(code)),
  name_zh       text NOT NULL CONSTRAINT name_zh_is_given CHECK (pg_catalog.length(pg_catalog.btrim(name_zh)) > 0),
  name_en       text NOT NULL CONSTRAINT name_en_is_given CHECK (pg_catalog.length(pg_catalog.btrim(name_en)) > 0),
  built_in      boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE @extschema@.division_name IS
  'Names of administrative divisions (GB/T 2260) in Chinese and English, for the screens (code_screen, itinerary). The extension ships the provinces and the places its demo and tests use; load the full list into it.';
COMMENT ON COLUMN @extschema@.division_name.code IS 'The division code, or a township''s (9 digits) or village''s (12).';
COMMENT ON COLUMN @extschema@.division_name.name_zh IS 'Its name in Chinese, e.g. 西湖区.';
COMMENT ON COLUMN @extschema@.division_name.name_en IS 'Its name in English, e.g. Xihu.';
COMMENT ON COLUMN @extschema@.division_name.built_in IS 'Shipped with the extension (not dumped: CREATE EXTENSION makes it).';
REVOKE ALL ON @extschema@.division_name FROM PUBLIC;
GRANT SELECT ON @extschema@.division_name TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON @extschema@.division_name TO healthcode_admin;
-- (99_privileges.sql gives the admin SELECT on every table)
GRANT SELECT ON @extschema@.division_name TO healthcode_admin;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.division_name', 'WHERE NOT built_in');

INSERT INTO @extschema@.division_name (code, name_zh, name_en, built_in)
SELECT v.code, v.name_zh, v.name_en, true FROM (VALUES
  -- every provincial-level division
  ('110000', '北京市', 'Beijing'), ('120000', '天津市', 'Tianjin'), ('130000', '河北省', 'Hebei'),
  ('140000', '山西省', 'Shanxi'), ('150000', '内蒙古自治区', 'Inner Mongolia'), ('210000', '辽宁省', 'Liaoning'),
  ('220000', '吉林省', 'Jilin'), ('230000', '黑龙江省', 'Heilongjiang'), ('310000', '上海市', 'Shanghai'),
  ('320000', '江苏省', 'Jiangsu'), ('330000', '浙江省', 'Zhejiang'), ('340000', '安徽省', 'Anhui'),
  ('350000', '福建省', 'Fujian'), ('360000', '江西省', 'Jiangxi'), ('370000', '山东省', 'Shandong'),
  ('410000', '河南省', 'Henan'), ('420000', '湖北省', 'Hubei'), ('430000', '湖南省', 'Hunan'),
  ('440000', '广东省', 'Guangdong'), ('450000', '广西壮族自治区', 'Guangxi'), ('460000', '海南省', 'Hainan'),
  ('500000', '重庆市', 'Chongqing'), ('510000', '四川省', 'Sichuan'), ('520000', '贵州省', 'Guizhou'),
  ('530000', '云南省', 'Yunnan'), ('540000', '西藏自治区', 'Xizang'), ('610000', '陕西省', 'Shaanxi'),
  ('620000', '甘肃省', 'Gansu'), ('630000', '青海省', 'Qinghai'), ('640000', '宁夏回族自治区', 'Ningxia'),
  ('650000', '新疆维吾尔自治区', 'Xinjiang'), ('710000', '台湾省', 'Taiwan'),
  ('810000', '香港特别行政区', 'Hong Kong'), ('820000', '澳门特别行政区', 'Macao'),
  -- the cities and districts of the demo and the tests (a municipality's
  -- districts under the municipality's own name)
  ('110100', '北京市', 'Beijing'), ('110101', '东城区', 'Dongcheng'), ('110105', '朝阳区', 'Chaoyang'),
  ('110108', '海淀区', 'Haidian'),
  ('120100', '天津市', 'Tianjin'), ('120101', '和平区', 'Heping'),
  ('140100', '太原市', 'Taiyuan'), ('140105', '小店区', 'Xiaodian'),
  ('310100', '上海市', 'Shanghai'), ('310101', '黄浦区', 'Huangpu'), ('310104', '徐汇区', 'Xuhui'),
  ('310115', '浦东新区', 'Pudong'),
  ('320100', '南京市', 'Nanjing'), ('320102', '玄武区', 'Xuanwu'),
  ('330100', '杭州市', 'Hangzhou'), ('330102', '上城区', 'Shangcheng'), ('330105', '拱墅区', 'Gongshu'),
  ('330106', '西湖区', 'Xihu'), ('330108', '滨江区', 'Binjiang'), ('330109', '萧山区', 'Xiaoshan'),
  ('330110', '余杭区', 'Yuhang'),
  ('330200', '宁波市', 'Ningbo'), ('330203', '海曙区', 'Haishu'),
  ('330300', '温州市', 'Wenzhou'), ('330302', '鹿城区', 'Lucheng'),
  ('340100', '合肥市', 'Hefei'),
  ('350100', '福州市', 'Fuzhou'), ('350102', '鼓楼区', 'Gulou'),
  ('420100', '武汉市', 'Wuhan'), ('420106', '武昌区', 'Wuchang'),
  ('430100', '长沙市', 'Changsha'), ('430102', '芙蓉区', 'Furong'), ('430104', '岳麓区', 'Yuelu'),
  ('440100', '广州市', 'Guangzhou'), ('440103', '荔湾区', 'Liwan'), ('440106', '天河区', 'Tianhe'),
  ('440300', '深圳市', 'Shenzhen'), ('440305', '南山区', 'Nanshan'),
  ('460100', '海口市', 'Haikou'), ('460105', '秀英区', 'Xiuying'), ('460106', '龙华区', 'Longhua'),
  ('460107', '琼山区', 'Qiongshan'), ('460108', '美兰区', 'Meilan'),
  ('460200', '三亚市', 'Sanya'), ('460205', '天涯区', 'Tianya'),
  ('500100', '重庆市', 'Chongqing'), ('500101', '万州区', 'Wanzhou'),
  ('510100', '成都市', 'Chengdu'), ('510104', '锦江区', 'Jinjiang'),
  ('650100', '乌鲁木齐市', 'Urumqi')
) AS v(code, name_zh, name_en);

CREATE TYPE @extschema@.code_screen AS (
  person_id     bigint,
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  display_name  text,
  masked_identifier text,
  reasons       jsonb,
  since         timestamptz,
  valid_until   timestamptz,
  latest_test_kind text,
  latest_test_sampled_at timestamptz,
  latest_test_result text,
  latest_test_hours integer,
  doses         integer,
  last_dose_at  timestamptz,
  last_dose_product text,
  code          @extschema@.healthcode,
  qr_svg        text,
  qr_png        bytea
);
COMMENT ON TYPE @extschema@.code_screen IS
  'What a citizen''s code screen shows (code_screen): the status, the latest test, the doses and a fresh code with its QR.';
COMMENT ON COLUMN @extschema@.code_screen.person_id IS 'The person (for the app''s later calls; never shown).';
COMMENT ON COLUMN @extschema@.code_screen.colour IS 'The colour now.';
COMMENT ON COLUMN @extschema@.code_screen.vaccinated IS 'The "vaccinated" mark now.';
COMMENT ON COLUMN @extschema@.code_screen.display_name IS 'The masked name (e.g. 张*).';
COMMENT ON COLUMN @extschema@.code_screen.masked_identifier IS 'The ID number as given, masked but for its first and last two characters; NULL when the screen was asked by person id (the number is never stored).';
COMMENT ON COLUMN @extschema@.code_screen.reasons IS 'Why: the status''s reasons, each with place_zh and place_en (the place''s name, where division_name knows it) and text_zh and text_en.';
COMMENT ON COLUMN @extschema@.code_screen.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.code_screen.valid_until IS 'Until when it holds without new evidence.';
COMMENT ON COLUMN @extschema@.code_screen.latest_test_kind IS 'The latest test: pcr or antigen (NULL: none kept).';
COMMENT ON COLUMN @extschema@.code_screen.latest_test_sampled_at IS 'When it was sampled.';
COMMENT ON COLUMN @extschema@.code_screen.latest_test_result IS 'positive or negative.';
COMMENT ON COLUMN @extschema@.code_screen.latest_test_hours IS 'Whole hours since it was sampled.';
COMMENT ON COLUMN @extschema@.code_screen.doses IS 'Vaccine doses recorded (distinct dose numbers).';
COMMENT ON COLUMN @extschema@.code_screen.last_dose_at IS 'When the last dose was given.';
COMMENT ON COLUMN @extschema@.code_screen.last_dose_product IS 'The last dose''s vaccine.';
COMMENT ON COLUMN @extschema@.code_screen.code IS 'A fresh code, as issue_for signs it (counted in code_event).';
COMMENT ON COLUMN @extschema@.code_screen.qr_svg IS 'The code as an SVG QR symbol (qr => ''svg'', the default).';
COMMENT ON COLUMN @extschema@.code_screen.qr_png IS 'The code as a PNG QR symbol (qr => ''png'').';

-- ---- verify(text): a scanned string that is not a code (30_issue_verify.sql) ---------
INSERT INTO @extschema@.verify_reason VALUES
  ('malformed',              0, 'The scanned string is not a code at all (verify(text) only; the cast to healthcode raises 22P02).');
-- ---- batch calls (78_batches.sql) --------------------------------------------------
CREATE TYPE @extschema@.batch_item AS (ord integer, person_id bigint, outcome text);
COMMENT ON TYPE @extschema@.batch_item IS 'Internal: a batch item as found (position, person, outcome).';
COMMENT ON COLUMN @extschema@.batch_item.ord IS 'The item''s position in the list, from 1.';
COMMENT ON COLUMN @extschema@.batch_item.person_id IS 'The person found within the caller''s regions, else NULL.';
COMMENT ON COLUMN @extschema@.batch_item.outcome IS 'ok, unknown or invalid.';

-- ---- proxies (79_proxies.sql, 55_policy.sql; row-level security and grants as
-- 96_rls.sql and 99_privileges.sql give the personal tables) -------------------------
ALTER TABLE @extschema@.policy
  ADD COLUMN max_dependants integer NOT NULL DEFAULT 5
    CONSTRAINT max_dependants_between_0_and_100 CHECK (max_dependants BETWEEN 0 AND 100);
COMMENT ON COLUMN @extschema@.policy.max_dependants IS 'The most dependants a guardian of the region may act for at once (link_guardian); 0: no proxies.';
CREATE TABLE @extschema@.guardian_link (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  guardian_id   bigint NOT NULL,
  guardian_region text NOT NULL,
  relation      text NOT NULL
                CONSTRAINT relation_is_known CHECK (relation IN ('parent', 'child', 'spouse', 'relative', 'carer', 'other')),
  consent       text NOT NULL
                CONSTRAINT consent_is_given CHECK (pg_catalog.length(pg_catalog.btrim(consent)) BETWEEN 1 AND 1000),
  linked_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  linked_by     text NOT NULL,
  revoked_at    timestamptz,
  revoked_by    text,
  revoke_reason text,
  CONSTRAINT guardian_link_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT guardian_link_guardian_fk FOREIGN KEY (guardian_id, guardian_region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT guardian_is_someone_else CHECK (guardian_id <> person_id),
  CONSTRAINT revocation_is_complete
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_reason IS NULL))
);
-- one standing link a pair; a revoked one stays as the record
CREATE UNIQUE INDEX guardian_link_standing ON @extschema@.guardian_link (guardian_id, person_id) WHERE revoked_at IS NULL;
CREATE INDEX guardian_link_person ON @extschema@.guardian_link (person_id);
COMMENT ON TABLE @extschema@.guardian_link IS
  'Proxies (亲友代领): a guardian who acts for a dependant without a phone, with the dependant''s consent; revoked, never deleted.';
COMMENT ON COLUMN @extschema@.guardian_link.id IS 'Link id.';
COMMENT ON COLUMN @extschema@.guardian_link.person_id IS 'The dependant.';
COMMENT ON COLUMN @extschema@.guardian_link.region IS 'The dependant''s home region.';
COMMENT ON COLUMN @extschema@.guardian_link.guardian_id IS 'The guardian.';
COMMENT ON COLUMN @extschema@.guardian_link.guardian_region IS 'The guardian''s home region.';
COMMENT ON COLUMN @extschema@.guardian_link.relation IS 'parent, child, spouse, relative, carer or other.';
COMMENT ON COLUMN @extschema@.guardian_link.consent IS 'The consent record: the reference of the dependant''s (or their legal representative''s) signed consent.';
COMMENT ON COLUMN @extschema@.guardian_link.linked_at IS 'When the link was made.';
COMMENT ON COLUMN @extschema@.guardian_link.linked_by IS 'The role that made it.';
COMMENT ON COLUMN @extschema@.guardian_link.revoked_at IS 'When it was revoked; NULL while it stands.';
COMMENT ON COLUMN @extschema@.guardian_link.revoked_by IS 'The role that revoked it.';
COMMENT ON COLUMN @extschema@.guardian_link.revoke_reason IS 'Why.';

CREATE TABLE @extschema@.proxy_action (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  guardian_id   bigint NOT NULL,
  guardian_region text NOT NULL,
  link_id       bigint NOT NULL REFERENCES @extschema@.guardian_link (id) ON DELETE CASCADE,
  action        text NOT NULL CONSTRAINT action_is_known CHECK (action IN ('declare', 'code_screen', 'issue_for')),
  at            timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
  made_by       text NOT NULL,
  CONSTRAINT proxy_action_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT proxy_action_guardian_fk FOREIGN KEY (guardian_id, guardian_region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX proxy_action_at ON @extschema@.proxy_action USING brin (at);
CREATE INDEX proxy_action_link ON @extschema@.proxy_action (link_id);
COMMENT ON TABLE @extschema@.proxy_action IS
  'Every call a guardian made for a dependant (declare_for, code_screen_for, issue_for_dependant): recorded as made by the guardian.';
COMMENT ON COLUMN @extschema@.proxy_action.id IS 'Entry id.';
COMMENT ON COLUMN @extschema@.proxy_action.person_id IS 'The dependant acted for.';
COMMENT ON COLUMN @extschema@.proxy_action.region IS 'The dependant''s home region.';
COMMENT ON COLUMN @extschema@.proxy_action.guardian_id IS 'The guardian who acted.';
COMMENT ON COLUMN @extschema@.proxy_action.guardian_region IS 'The guardian''s home region.';
COMMENT ON COLUMN @extschema@.proxy_action.link_id IS 'The link they acted under.';
COMMENT ON COLUMN @extschema@.proxy_action.action IS 'declare, code_screen or issue_for.';
COMMENT ON COLUMN @extschema@.proxy_action.at IS 'When.';
COMMENT ON COLUMN @extschema@.proxy_action.made_by IS 'The role (the app) that made the call.';

-- ---- identity checks at checkpoints (94_holder_checks.sql, 55_policy.sql) ----------
ALTER TABLE @extschema@.policy
  ADD COLUMN holder_check_misses_per_day integer
    CONSTRAINT holder_check_misses_per_day_between_1_and_100
    CHECK (holder_check_misses_per_day BETWEEN 1 AND 100)
    CONSTRAINT holder_check_misses_per_day_is_national
    CHECK (holder_check_misses_per_day IS NULL OR region = '000000'),
  ADD COLUMN holder_check_misses_per_hour integer
    CONSTRAINT holder_check_misses_per_hour_between_1_and_10000
    CHECK (holder_check_misses_per_hour BETWEEN 1 AND 10000)
    CONSTRAINT holder_check_misses_per_hour_is_national
    CHECK (holder_check_misses_per_hour IS NULL OR region = '000000');
COMMENT ON COLUMN @extschema@.policy.holder_check_misses_per_day IS 'National versions only (NULL: 3): wrong identifiers checkpoints may present against one holder''s codes in a day (checkpoint_verify_holder) before further checks of that holder are refused (locked) for the rest of the day.';
COMMENT ON COLUMN @extschema@.policy.holder_check_misses_per_hour IS 'National versions only (NULL: 20): wrong identifiers one checking role may present in an hour, wherever, before its checks are refused (locked).';
CREATE TABLE @extschema@.holder_check (
  -- (opaque ids, as personal tables have: an attempt's id must not count
  -- the checks of the whole node)
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  region      text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  checked_by  text NOT NULL,
  holder      bytea,
  outcome     text NOT NULL
              CONSTRAINT outcome_is_known CHECK (outcome IN ('matches', 'differs', 'unknown', 'not_asked', 'locked')),
  valid       boolean NOT NULL,
  colour      @extschema@.risk_colour,
  reason      text NOT NULL,
  answered_at timestamptz
);
CREATE INDEX holder_check_holder ON @extschema@.holder_check (holder, at);
CREATE INDEX holder_check_checked_by ON @extschema@.holder_check (checked_by, at);
COMMENT ON TABLE @extschema@.holder_check IS
  'One row per identity check at a checkpoint (checkpoint_verify_holder): who checked where and when, a pseudonym of the code''s holder for that day (never the subject, never the identifier presented), the outcome and what the code''s verification said. The limits on wrong identifiers count these rows; retention keeps two days. No role reads it (the admins neither: one could read an answer before its attempt commits): the extension''s own bookkeeping.';
COMMENT ON COLUMN @extschema@.holder_check.id IS 'The attempt''s id (the procedure reads its answer by it).';
COMMENT ON COLUMN @extschema@.holder_check.at IS 'When.';
COMMENT ON COLUMN @extschema@.holder_check.region IS 'The checkpoint''s region.';
COMMENT ON COLUMN @extschema@.holder_check.checked_by IS 'The role that checked.';
COMMENT ON COLUMN @extschema@.holder_check.holder IS 'The code''s holder for that day (_code_holder); NULL for a string that is no code.';
COMMENT ON COLUMN @extschema@.holder_check.outcome IS 'matches, differs, unknown (this node does not know the code''s holder), not_asked (the code does not verify now) or locked (too many wrong identifiers).';
COMMENT ON COLUMN @extschema@.holder_check.valid IS 'What checkpoint_verify said of the code: valid.';
COMMENT ON COLUMN @extschema@.holder_check.colour IS 'The colour the code carries.';
COMMENT ON COLUMN @extschema@.holder_check.reason IS 'checkpoint_verify''s reason (malformed for a string that is no code).';
COMMENT ON COLUMN @extschema@.holder_check.answered_at IS 'When the answer was read.';
COMMENT ON SEQUENCE @extschema@.holder_check_id_seq IS 'Ids of identity checks.';
REVOKE ALL ON @extschema@.holder_check FROM PUBLIC;


-- ---- venues (82_venues.sql; row-level security, opaque ids, grants and dump below) ----
-- The kinds of venue, in one place: the tables' checks and create_venue's
-- message read them.
CREATE FUNCTION @extschema@._venue_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['supermarket', 'school', 'hospital', 'pharmacy', 'transport', 'workplace',
             'residential_community', 'restaurant', 'public_venue', 'other'];
COMMENT ON FUNCTION @extschema@._venue_kinds() IS
  'Internal: the kinds of venue (venue.kind, venue_entry_rule.kind).';

CREATE TABLE @extschema@.venue (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code
                CHECK (@extschema@.division_code_valid(region) AND region <> '000000'),
  place         text NOT NULL CONSTRAINT place_is_in_region
                CHECK (@extschema@.place_code_valid(place) AND pg_catalog.left(place, 6) = region),
  name          text NOT NULL CONSTRAINT name_is_given CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
  kind          text NOT NULL CONSTRAINT kind_is_known
                CHECK (kind = ANY (@extschema@._venue_kinds())),
  address       text CONSTRAINT address_is_short CHECK (pg_catalog.length(address) <= 500),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by    text NOT NULL,
  closed_at     timestamptz,
  closed_by     text,
  close_reason  text,
  CONSTRAINT closing_is_complete
    CHECK ((closed_at IS NULL) = (closed_by IS NULL) AND (closed_at IS NULL) = (close_reason IS NULL))
);
CREATE INDEX venue_region ON @extschema@.venue (region);
COMMENT ON TABLE @extschema@.venue IS
  'Venues where codes are shown and scanned (场所): registered by an operator of the venue''s region, closed (never deleted) when they stop. Row-secured by region.';
COMMENT ON COLUMN @extschema@.venue.id IS 'Venue id (opaque).';
COMMENT ON COLUMN @extschema@.venue.region IS 'The county-level division the venue lies in (its owner region: row-level security goes by it).';
COMMENT ON COLUMN @extschema@.venue.place IS 'Where it lies as finely as known: its county, township or street (9 digits), or village or community (12). Its visitors'' stays are recorded there.';
COMMENT ON COLUMN @extschema@.venue.name IS 'The venue''s name as its door shows it.';
COMMENT ON COLUMN @extschema@.venue.kind IS 'supermarket, school, hospital, pharmacy, transport, workplace, residential_community, restaurant, public_venue or other: what entry rules and exposure tracing go by.';
COMMENT ON COLUMN @extschema@.venue.address IS 'The street address, free text.';
COMMENT ON COLUMN @extschema@.venue.created_at IS 'When it was registered.';
COMMENT ON COLUMN @extschema@.venue.created_by IS 'The role that registered it.';
COMMENT ON COLUMN @extschema@.venue.closed_at IS 'When it was closed; NULL while open.';
COMMENT ON COLUMN @extschema@.venue.closed_by IS 'The role that closed it.';
COMMENT ON COLUMN @extschema@.venue.close_reason IS 'Why.';

-- ---- venue entry rules (83_scans.sql; grants as 99_privileges.sql gives them) ----
CREATE TABLE @extschema@.venue_entry_rule (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  kind          text NOT NULL CONSTRAINT kind_is_known
                CHECK (kind = ANY (@extschema@._venue_kinds())),
  demand        text NOT NULL CONSTRAINT demand_is_known CHECK (demand IN ('green', 'green_and_negative_test')),
  negative_test_hours integer CONSTRAINT negative_test_hours_between_1_and_336 CHECK (negative_test_hours BETWEEN 1 AND 336),
  description   text NOT NULL CONSTRAINT description_is_given CHECK (pg_catalog.length(description) > 0),
  valid_from    timestamptz NOT NULL DEFAULT '-infinity'
                CONSTRAINT valid_from_not_plus_infinity CHECK (valid_from < 'infinity'),
  valid_until   timestamptz CONSTRAINT valid_until_is_finite CHECK (pg_catalog.isfinite(valid_until)),
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  CONSTRAINT venue_entry_rule_natural_key UNIQUE (region, kind, valid_from)
);
COMMENT ON TABLE @extschema@.venue_entry_rule IS
  'What a kind of venue asks of a visitor at its door, by the region it lies in: green, or green and a negative test within N hours; versioned by validity, like policy. The most specific region with a rule in force decides (then the latest-starting version); with none, green is enough. Public rules, written by the region''s operators.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.region IS 'The region whose venues it governs (covers those below it; 000000: every venue).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.kind IS 'The kind of venue (venue.kind).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.negative_test_hours IS 'How recent the negative test must be (sampled).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.description IS 'The rule as a door shows it.';
COMMENT ON COLUMN @extschema@.venue_entry_rule.valid_from IS 'When this version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.venue_entry_rule.valid_until IS 'When it stops; NULL: until a later version replaces it.';
COMMENT ON SEQUENCE @extschema@.venue_entry_rule_id_seq IS 'Ids of venue entry rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_entry_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_entry_rule_id_seq', '');

GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.venue_entry_rule TO healthcode_admin;
GRANT USAGE ON SEQUENCE @extschema@.venue_entry_rule_id_seq TO healthcode_admin;
GRANT SELECT ON @extschema@.venue_entry_rule TO PUBLIC;

-- ---- places below the county and venues in stays and bulletins (51_evidence.sql,
-- 61_status_engine.sql; the venue's designations continued below)
ALTER TABLE @extschema@.travel DROP CONSTRAINT place_is_division_code,
  ADD CONSTRAINT place_is_place_code CHECK (@extschema@.place_code_valid(place));
COMMENT ON COLUMN @extschema@.travel.place IS 'The place stayed in: a division code, or below the county a township (9 digits) or village or community (12).';
COMMENT ON COLUMN @extschema@.travel.venue IS 'The venue''s id, for venue scans (a designation of the venue covers the stay).';
ALTER TABLE @extschema@.risk_area DROP CONSTRAINT division_is_division_code,
  ADD CONSTRAINT division_is_place_code CHECK (@extschema@.place_code_valid(division)),
  ADD COLUMN venue bigint,
  DROP CONSTRAINT risk_area_natural_key,
  ADD CONSTRAINT risk_area_natural_key UNIQUE NULLS NOT DISTINCT (division, venue, effective_from);
COMMENT ON COLUMN @extschema@.risk_area.division IS 'The place the bulletin names, at any level (province to community: a place code); it covers the places below it. For a venue''s designation, the venue''s place.';
COMMENT ON COLUMN @extschema@.risk_area.venue IS 'A single venue the bulletin names (a building, a market): only stays scanned at it are covered; NULL for a place''s designation.';
ALTER TYPE @extschema@.reexamined_stays ADD ATTRIBUTE venues text[];

-- ---- exposure tracing (84_exposures.sql, 55_policy.sql; the day partitions'
-- index on venue scans below)
ALTER TABLE @extschema@.policy
  ADD COLUMN exposure_minutes integer NOT NULL DEFAULT 30
    CONSTRAINT exposure_minutes_between_1_and_1440 CHECK (exposure_minutes BETWEEN 1 AND 1440);
COMMENT ON COLUMN @extschema@.policy.exposure_minutes IS 'Exposure tracing (exposures, trace_exposures): how close in time, before or after a case''s stay at a venue or in a community, another person''s stay there counts as an exposure.';

-- ---- pharmacy registration (51_evidence.sql, 55_policy.sql, 86_pharmacy.sql;
-- its triggers, row-level security, grants and dump below)
ALTER TABLE @extschema@.policy ADD COLUMN medicine_purchase_yellow boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN @extschema@.policy.medicine_purchase_yellow IS 'A purchase of fever, cough, antiviral or antibiotic medicine a pharmacy registers (medicine_sale) makes the buyer yellow until a negative test sampled after it (within lookback_days); off by default.';
ALTER TYPE @extschema@.engine_policy ADD ATTRIBUTE medicine_purchase_yellow boolean;
COMMENT ON COLUMN @extschema@.engine_policy.medicine_purchase_yellow IS 'policy.medicine_purchase_yellow.';
CREATE FUNCTION @extschema@._medicines() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['antipyretic', 'cough', 'antiviral', 'antibiotic'];
CREATE TABLE @extschema@.medicine_sale (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  medicine      text NOT NULL
                CONSTRAINT medicine_is_known CHECK (medicine = ANY (@extschema@._medicines())),
  sold_at       timestamptz NOT NULL CONSTRAINT sold_at_is_finite CHECK (pg_catalog.isfinite(sold_at)),
  venue         bigint NOT NULL,
  place         text NOT NULL CONSTRAINT place_is_place_code CHECK (@extschema@.place_code_valid(place)),
  CONSTRAINT medicine_sale_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT medicine_sale_natural_key UNIQUE (person_id, region, venue, medicine, sold_at)
);
CREATE INDEX medicine_sale_person ON @extschema@.medicine_sale (person_id, sold_at);
CREATE INDEX medicine_sale_sold_at ON @extschema@.medicine_sale USING brin (sold_at);
COMMENT ON TABLE @extschema@.medicine_sale IS
  'Sales of fever, cough, antiviral and antibiotic medicines registered by pharmacies (药品登记): where a policy says so (medicine_purchase_yellow), the buyer is yellow until a negative test sampled after the sale.';
COMMENT ON COLUMN @extschema@.medicine_sale.id IS 'Sale id (opaque).';
COMMENT ON COLUMN @extschema@.medicine_sale.person_id IS 'The buyer.';
COMMENT ON COLUMN @extschema@.medicine_sale.region IS 'The buyer''s home region.';
COMMENT ON COLUMN @extschema@.medicine_sale.medicine IS 'antipyretic (fever), cough, antiviral or antibiotic.';
COMMENT ON COLUMN @extschema@.medicine_sale.sold_at IS 'When it was sold.';
COMMENT ON COLUMN @extschema@.medicine_sale.venue IS 'The pharmacy (a venue of kind pharmacy).';
COMMENT ON COLUMN @extschema@.medicine_sale.place IS 'The pharmacy''s place at the sale.';
INSERT INTO @extschema@.evidence_table (name, time_column, ignored_column, recalculated_by, scope_column, public_rows, correctable)
VALUES ('medicine_sale', 'sold_at', '', '_evidence_changed', 'region', false, true);
COMMENT ON COLUMN @extschema@.reexamined_stays.venues IS 'The venue each was at (travel.venue), for a stay listed but not judged yet; NULL once judged.';
COMMENT ON COLUMN @extschema@.reexamined_stays.highs IS 'Each one''s level now: true high risk, false medium, NULL none; the array NULL while not judged yet (_recompute judges them).';

-- ---- exposure notices between nodes (94_federation_exposures.sql; triggers below)
CREATE TABLE @extschema@.exposure_notice (
  -- (no constraint a remote row could break, as every exchange table:
  -- _exposure_notice_check checks each row, doc/federation.md)
  notice        text PRIMARY KEY,
  from_region   text,
  venue         bigint,
  venue_region  text,
  place         text,
  from_at       timestamptz,
  until_at      timestamptz,
  kind          text,
  source_case   text,
  published_at  timestamptz
);
COMMENT ON TABLE @extschema@.exposure_notice IS
  'Exposure notices between nodes: a traced case''s venue (or community) and the span of time around its stay there, the kind of contact and the case''s reference, published by the case''s node and relayed by the hub; every other node files its own people who were there as contacts. Nothing that names the case.';
COMMENT ON COLUMN @extschema@.exposure_notice.notice IS 'What names the notice on every node: a digest of its content.';
COMMENT ON COLUMN @extschema@.exposure_notice.from_region IS 'The case''s region (the publishing node must serve it).';
COMMENT ON COLUMN @extschema@.exposure_notice.venue IS 'The venue''s id on its own node (a venue notice), or NULL (a community notice).';
COMMENT ON COLUMN @extschema@.exposure_notice.venue_region IS 'The venue''s county, as its code says: where another node records a scan of it.';
COMMENT ON COLUMN @extschema@.exposure_notice.place IS 'The community (a twelve-digit place) of a community notice.';
COMMENT ON COLUMN @extschema@.exposure_notice.from_at IS 'The span of time a stay there exposes: from.';
COMMENT ON COLUMN @extschema@.exposure_notice.until_at IS 'Until (inclusive).';
COMMENT ON COLUMN @extschema@.exposure_notice.kind IS 'close or secondary: the contacts it files.';
COMMENT ON COLUMN @extschema@.exposure_notice.source_case IS 'The tracing team''s reference of the case (contact.source_case).';
COMMENT ON COLUMN @extschema@.exposure_notice.published_at IS 'When the case''s node wrote it.';
REVOKE ALL ON @extschema@.exposure_notice FROM PUBLIC;
GRANT SELECT ON @extschema@.exposure_notice TO healthcode_admin;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exposure_notice', '');

-- ---- venue closures between nodes (94_federation_exposures.sql; trigger below)
CREATE TABLE @extschema@.venue_closure (
  -- (no constraint a remote row could break, as every exchange table)
  venue         bigint NOT NULL,
  venue_region  text NOT NULL,
  closed_at     timestamptz,
  CONSTRAINT venue_closure_pkey PRIMARY KEY (venue, venue_region)
);
COMMENT ON TABLE @extschema@.venue_closure IS
  'Closures of venues of other nodes (and of this node''s own, published): a venue by its id and county, and when it closed. verify_venue_code answers venue_closed for its code online.';
COMMENT ON COLUMN @extschema@.venue_closure.venue IS 'The venue''s id on its own node.';
COMMENT ON COLUMN @extschema@.venue_closure.venue_region IS 'The venue''s county (its code''s region).';
COMMENT ON COLUMN @extschema@.venue_closure.closed_at IS 'When it closed.';
REVOKE ALL ON @extschema@.venue_closure FROM PUBLIC;
GRANT SELECT ON @extschema@.venue_closure TO healthcode_admin;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_closure', '');

-- ---- shared health data, mode 1 (05_roles.sql, 51_evidence.sql; its triggers
-- below; row-level security as 96_rls.sql gives it, dump as 95_dump.sql)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'healthcode_peer') THEN
    CREATE ROLE healthcode_peer NOLOGIN;
  END IF;
END $$;
CREATE TABLE @extschema@.health_share (
  national_subject bytea NOT NULL,
  region        text NOT NULL,
  colour        @extschema@.risk_colour,
  since         timestamptz,
  valid_until   timestamptz,
  test_kind     text,
  tested_at     timestamptz,
  test_result   text,
  doses         integer,
  last_dose_at  timestamptz,
  shared_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT health_share_pkey PRIMARY KEY (national_subject, region)
);
COMMENT ON TABLE @extschema@.health_share IS
  'Health data a region shares about its residents, by national pseudonym (mode 1 of mutual recognition): a red or yellow flag with its span, the latest test, the doses. Never a name, an identifier or a place. No constraint can fail on a replicated row: checks are in a trigger that logs and skips a bad one.';
COMMENT ON COLUMN @extschema@.health_share.national_subject IS 'The person''s national pseudonym.';
COMMENT ON COLUMN @extschema@.health_share.region IS 'The person''s home region in the sharing system.';
COMMENT ON COLUMN @extschema@.health_share.colour IS 'The colour there: red or yellow is a flag the destination applies over [since, valid_until); green or NULL shares none.';
COMMENT ON COLUMN @extschema@.health_share.since IS 'Since when the colour holds there.';
COMMENT ON COLUMN @extschema@.health_share.valid_until IS 'Until when it holds (infinity: until further notice).';
COMMENT ON COLUMN @extschema@.health_share.test_kind IS 'The latest test: pcr or antigen (NULL: none shared).';
COMMENT ON COLUMN @extschema@.health_share.tested_at IS 'When it was sampled.';
COMMENT ON COLUMN @extschema@.health_share.test_result IS 'positive or negative.';
COMMENT ON COLUMN @extschema@.health_share.doses IS 'Vaccine doses given (0-10; NULL: none shared).';
COMMENT ON COLUMN @extschema@.health_share.last_dose_at IS 'When the last dose was given.';
COMMENT ON COLUMN @extschema@.health_share.shared_at IS 'When the sharing system last wrote it.';
REVOKE ALL ON @extschema@.health_share FROM PUBLIC;
GRANT SELECT ON @extschema@.health_share TO healthcode_admin;
ALTER TABLE @extschema@.health_share ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.health_share FORCE ROW LEVEL SECURITY;
CREATE POLICY scope_select ON @extschema@.health_share FOR SELECT
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_insert ON @extschema@.health_share FOR INSERT
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_update ON @extschema@.health_share FOR UPDATE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"))
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_delete ON @extschema@.health_share FOR DELETE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
SELECT pg_catalog.pg_extension_config_dump('@extschema@.health_share', '');

-- ---- regions the hub hosts, mode 3 (90_federation_node.sql; the admin reads it,
-- as 99_privileges.sql grants every table)
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
GRANT SELECT ON @extschema@.hosted_region TO healthcode_admin;

-- ---- a hosted region moving onto a node of its own (94_federation_moves.sql):
-- the people a node adopted (50_people.sql) and its inbox
CREATE TABLE @extschema@.adopted_person (
  person_id     bigint PRIMARY KEY REFERENCES @extschema@.person (id) ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.adopted_person IS
  'Internal: people adopted from the hub (adopt_region) whose subject is still the hub''s pseudonym; found by national pseudonym until an identifier re-keys them.';
COMMENT ON COLUMN @extschema@.adopted_person.person_id IS 'The person.';
REVOKE ALL ON @extschema@.adopted_person FROM PUBLIC;
GRANT SELECT ON @extschema@.adopted_person TO healthcode_admin;
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

-- ---- the analysts' daily rollup (97_analyst_trends.sql; the admin reads it)
CREATE TABLE @extschema@.daily_rollup (
  day           date NOT NULL,
  measure       text NOT NULL CONSTRAINT measure_is_known
                CHECK (measure IN ('status', 'transition', 'test', 'code', 'finding', 'correction', 'decision')),
  level         text NOT NULL CONSTRAINT level_is_known CHECK (level IN ('district', 'city', 'province', 'nation')),
  region        text NOT NULL,
  dim1          text NOT NULL DEFAULT '',
  dim2          text NOT NULL DEFAULT '',
  dim3          text NOT NULL DEFAULT '',
  people        bigint NOT NULL,
  events        bigint NOT NULL,
  rolled_up_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT daily_rollup_pkey PRIMARY KEY (day, measure, level, region, dim1, dim2, dim3)
);
COMMENT ON TABLE @extschema@.daily_rollup IS
  'Exact daily counts by region at every level, kept by rollup_day() (the daily job) for the trends view, which rounds and leaves out small cells. No person in it; the admins read it, analysts only through trends.';
COMMENT ON COLUMN @extschema@.daily_rollup.day IS 'Calendar day (China Standard Time).';
COMMENT ON COLUMN @extschema@.daily_rollup.measure IS 'What is counted (the trends view describes each and its dimensions).';
COMMENT ON COLUMN @extschema@.daily_rollup.level IS 'district, city, province or nation.';
COMMENT ON COLUMN @extschema@.daily_rollup.region IS 'The division code at that level.';
COMMENT ON COLUMN @extschema@.daily_rollup.dim1 IS 'First dimension of the measure ('''' where it has none).';
COMMENT ON COLUMN @extschema@.daily_rollup.dim2 IS 'Second dimension.';
COMMENT ON COLUMN @extschema@.daily_rollup.dim3 IS 'Third dimension.';
COMMENT ON COLUMN @extschema@.daily_rollup.people IS 'Distinct people (holders, for codes).';
COMMENT ON COLUMN @extschema@.daily_rollup.events IS 'Rows counted (tests, codes, decisions; people for the status).';
COMMENT ON COLUMN @extschema@.daily_rollup.rolled_up_at IS 'When rollup_day wrote it.';
REVOKE ALL ON @extschema@.daily_rollup FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.daily_rollup', '');
GRANT SELECT ON @extschema@.daily_rollup TO healthcode_admin;

-- ---- colours at an instant, counted in one pass (97_analyst_trends.sql):
-- its aggregate and row type, before the functions that use them
CREATE AGGREGATE @extschema@._id_list(bigint) (
  SFUNC = pg_catalog.array_append, STYPE = bigint[], COMBINEFUNC = pg_catalog.array_cat,
  INITCOND = '{}', PARALLEL = SAFE
);
CREATE TYPE @extschema@._status_group AS (
  region text,
  colour @extschema@.risk_colour,
  rule   text,
  people bigint,
  others bigint[]
);
COMMENT ON TYPE @extschema@._status_group IS
  'Internal: stored statuses of one home region, colour and first rule (NULL: none): how many, and which of them are others at the instant asked (the stored segment does not hold then).';

-- ---- row-level security's @> with an estimate (45_scope.sql; the policies
-- are made anew at the end)
CREATE FUNCTION @extschema@._scope_contains(scope @extschema@.division_multirange, region text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_scope_contains'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) IS
  'Internal: whether the scope holds the region (the @> of row-level security).';
REVOKE ALL ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) TO healthcode_operator;
CREATE FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) RETURNS double precision
  AS 'MODULE_PATHNAME', 'healthcode_scope_sel'
  LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) IS
  'Internal: the planner''s estimate of the share of rows a scope @> region keeps: the querying role''s scope (or the constant given), its runs of codes read against the column''s statistics.';
REVOKE ALL ON FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) FROM PUBLIC;
CREATE OPERATOR @extschema@.@> (
  LEFTARG = @extschema@.division_multirange,
  RIGHTARG = text,
  FUNCTION = @extschema@._scope_contains,
  RESTRICT = @extschema@._scope_sel
);
COMMENT ON OPERATOR @extschema@.@> (@extschema@.division_multirange, text) IS
  'The scope holds the region: row-level security''s test, with the planner''s estimate from the querying role''s scope.';

-- ---- code_event partitioned by day (73_codes.sql, 80_retention_days.sql):
-- the table made anew here, its days and 0.2.0's rows at the end, once
-- the functions below (which read it) exist
ALTER TABLE @extschema@.code_event RENAME TO _code_event_0_2_0;
ALTER INDEX @extschema@.code_event_at RENAME TO _code_event_0_2_0_at;
CREATE TABLE @extschema@.code_event (
  at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  event         text NOT NULL CONSTRAINT event_is_known CHECK (event IN ('issued', 'verified')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  code_region   text NOT NULL CONSTRAINT code_region_is_division_code CHECK (@extschema@.division_code_valid(code_region)),
  colour        @extschema@.risk_colour NOT NULL,
  outcome       text NOT NULL,
  holder        bytea NOT NULL
) PARTITION BY RANGE (at);
CREATE TABLE @extschema@.code_event_default PARTITION OF @extschema@.code_event DEFAULT;
COMMENT ON TABLE @extschema@.code_event IS
  'One row per code issued by issue_for() or verified by checkpoint_verify(): when, where (the issuing region, or the checkpoint''s), the code''s region and colour, and the outcome (ok or the verify reason). No subject, no person: counts for the analyst views. Partitioned by day (China Standard Time): create_partitions(), drop_expired_partitions().';
COMMENT ON TABLE @extschema@.code_event_default IS
  'The code events of days whose partition of code_event is not made yet; create_partitions() moves them into it.';
COMMENT ON COLUMN @extschema@.code_event.at IS 'When.';
COMMENT ON COLUMN @extschema@.code_event.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.code_event.region IS 'Where: the person''s region when issued, the checkpoint''s when verified.';
COMMENT ON COLUMN @extschema@.code_event.code_region IS 'The region the code claims.';
COMMENT ON COLUMN @extschema@.code_event.colour IS 'The colour the code carries.';
COMMENT ON COLUMN @extschema@.code_event.outcome IS 'issued: ok; verified: the reason verify() gave.';
COMMENT ON COLUMN @extschema@.code_event.holder IS 'A pseudonym of the code''s holder for that day (_code_holder): the views count people, not codes, without the subject.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.code_event_default', '');
GRANT SELECT ON @extschema@.code_event TO healthcode_admin;
-- (a partition is read through its table: its owner's alone, as a fresh install leaves it)
REVOKE ALL ON @extschema@.code_event_default FROM PUBLIC;

-- ---- status_history, checkin and test_result partitioned by month
-- (46_time_partitions.sql, 80_retention_partitions.sql): the tables made
-- anew here, their sequences kept (their opaque ids: below, with every
-- table's); 0.2.0's rows go to their default
-- partitions at the end, once the functions below (which read them) exist,
-- and move into their months as create_partitions() makes them.
ALTER TABLE @extschema@.status_history RENAME TO _status_history_0_2_0;
ALTER TABLE @extschema@.checkin RENAME TO _checkin_0_2_0;
ALTER TABLE @extschema@.test_result RENAME TO _test_result_0_2_0;
ALTER SEQUENCE @extschema@.status_history_id_seq OWNED BY NONE;
ALTER SEQUENCE @extschema@.checkin_id_seq OWNED BY NONE;
ALTER SEQUENCE @extschema@.test_result_id_seq OWNED BY NONE;
CREATE TABLE @extschema@.status_history (
  id            bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.status_history_id_seq'::regclass),
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  at            timestamptz NOT NULL,
  from_colour   @extschema@.risk_colour,
  to_colour     @extschema@.risk_colour NOT NULL,
  reasons       jsonb NOT NULL,
  cause         text NOT NULL,
  -- (0.3.0: the order of writing, which the ids, opaque since, no longer
  -- tell; entries one statement writes for a person share its time at, and
  -- a recalculation stamps all it writes with one instant)
  recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
) PARTITION BY RANGE (at);
-- (by month, its indexes each partition's: 46_time_partitions.sql)
CREATE TABLE @extschema@.status_history_default PARTITION OF @extschema@.status_history DEFAULT;
ALTER SEQUENCE @extschema@.status_history_id_seq OWNED BY @extschema@.status_history.id;
COMMENT ON TABLE @extschema@.status_history IS
  'Every colour change, appended: from, to, the reasons of the new colour, when, and the cause (the evidence table and operation, a correction, or "time" when a window ended). See status_changes for the complete history at read time. Partitioned by month (China Standard Time): create_partitions(), drop_expired_partitions().';
COMMENT ON TABLE @extschema@.status_history_default IS
  'The history of months whose partition of status_history is not made yet; create_partitions() moves it into it.';
COMMENT ON COLUMN @extschema@.status_history.id IS 'History entry id (opaque: it tells neither order nor number).';
COMMENT ON COLUMN @extschema@.status_history.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_history.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_history.at IS 'When the colour changed.';
COMMENT ON COLUMN @extschema@.status_history.from_colour IS 'The colour before; NULL for a person''s first status.';
COMMENT ON COLUMN @extschema@.status_history.to_colour IS 'The colour after.';
COMMENT ON COLUMN @extschema@.status_history.reasons IS 'The reasons of the new colour.';
COMMENT ON COLUMN @extschema@.status_history.cause IS 'What changed: e.g. "risk_area update", "test_result insert", "time", or healthcode.change_cause.';
COMMENT ON COLUMN @extschema@.status_history.recorded_at IS 'When the recalculation that wrote the entry began writing (one instant for all it wrote): a person''s entries in order are ordered by at, then recorded_at.';
CREATE TABLE @extschema@.checkin (
  id            bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.checkin_id_seq'::regclass),
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  at            timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT at_is_finite CHECK (pg_catalog.isfinite(at)),
  day           date NOT NULL GENERATED ALWAYS AS ((at AT TIME ZONE 'Asia/Shanghai')::date) STORED,
  temperature   numeric CONSTRAINT temperature_is_plausible CHECK (temperature BETWEEN 34.0 AND 43.0)
                CONSTRAINT temperature_in_tenths CHECK (temperature = pg_catalog.round(temperature, 1)),
  symptoms      text[] NOT NULL DEFAULT '{}'
                CONSTRAINT symptoms_are_known
                CHECK (@extschema@.symptoms_known(symptoms)),
  CONSTRAINT checkin_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
) PARTITION BY RANGE (at);
-- (by month, a check-in a day each partition's key: 46_time_partitions.sql)
CREATE TABLE @extschema@.checkin_default PARTITION OF @extschema@.checkin DEFAULT;
ALTER SEQUENCE @extschema@.checkin_id_seq OWNED BY @extschema@.checkin.id;
COMMENT ON TABLE @extschema@.checkin IS
  'Daily health check-ins of people in quarantine: consecutive normal days release red (14 by default) and yellow (7). Partitioned by month (China Standard Time): create_partitions(), drop_expired_partitions().';
COMMENT ON TABLE @extschema@.checkin_default IS
  'The check-ins of months whose partition of checkin is not made yet; create_partitions() moves them into it.';
COMMENT ON COLUMN @extschema@.checkin.id IS 'Check-in id.';
COMMENT ON COLUMN @extschema@.checkin.person_id IS 'The person checking in.';
COMMENT ON COLUMN @extschema@.checkin.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.checkin.at IS 'When the check-in was made.';
COMMENT ON COLUMN @extschema@.checkin.day IS 'The calendar day (China Standard Time) it counts for: one check-in a day.';
COMMENT ON COLUMN @extschema@.checkin.temperature IS 'Measured temperature in tenths of a degree; at or above the policy''s fever threshold the day is abnormal.';
COMMENT ON COLUMN @extschema@.checkin.symptoms IS 'Symptoms reported; any makes the day abnormal.';
CREATE TABLE @extschema@.test_result (
  id            bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.test_result_id_seq'::regclass),
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('pcr', 'antigen')),
  sampled_at    timestamptz NOT NULL CONSTRAINT sampled_at_is_finite CHECK (pg_catalog.isfinite(sampled_at)),
  result        text NOT NULL CONSTRAINT result_is_known CHECK (result IN ('positive', 'negative')),
  lab           text NOT NULL CONSTRAINT lab_is_named CHECK (pg_catalog.length(lab) > 0),
  sample_id     text NOT NULL CONSTRAINT sample_id_is_named CHECK (pg_catalog.length(sample_id) > 0),
  reported_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT test_result_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
) PARTITION BY RANGE (sampled_at);
-- (by month of sampling, its keys each partition's: 46_time_partitions.sql)
CREATE TABLE @extschema@.test_result_default PARTITION OF @extschema@.test_result DEFAULT;
ALTER SEQUENCE @extschema@.test_result_id_seq OWNED BY @extschema@.test_result.id;
COMMENT ON TABLE @extschema@.test_result IS
  'Lab results (PCR, antigen). A lab correcting a result updates its row (natural key lab + sample_id); status follows. Partitioned by month of sampling (China Standard Time): create_partitions(), drop_expired_partitions().';
COMMENT ON TABLE @extschema@.test_result_default IS
  'The test results of months whose partition of test_result is not made yet; create_partitions() moves them into it.';
COMMENT ON COLUMN @extschema@.test_result.id IS 'Result id.';
COMMENT ON COLUMN @extschema@.test_result.person_id IS 'The person tested.';
COMMENT ON COLUMN @extschema@.test_result.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.test_result.kind IS 'pcr or antigen.';
COMMENT ON COLUMN @extschema@.test_result.sampled_at IS 'When the sample was taken: test windows count from here.';
COMMENT ON COLUMN @extschema@.test_result.result IS 'positive or negative.';
COMMENT ON COLUMN @extschema@.test_result.lab IS 'The reporting lab.';
COMMENT ON COLUMN @extschema@.test_result.sample_id IS 'The lab''s sample id; with lab, the natural key.';
COMMENT ON COLUMN @extschema@.test_result.reported_at IS 'When the result was imported.';
-- (one a statement: each rewrites the extension's row)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.status_history_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.checkin_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.test_result_default', '');
-- (test_result's samples once across months: 51_evidence.sql; filled with
-- 0.2.0's at the end, its triggers made there, once their function is)
CREATE TABLE @extschema@.test_result_sample (
  lab           text NOT NULL,
  sample_id     text NOT NULL,
  person_id     bigint NOT NULL,
  CONSTRAINT test_result_sample_key PRIMARY KEY (lab, sample_id)
);
COMMENT ON TABLE @extschema@.test_result_sample IS
  'Every sample test_result holds, once (its key across months: a month partition''s holds only that month). Kept by test_result''s triggers; retention deletes a sample with its result (_retention_delete, drop_expired_partitions).';
COMMENT ON COLUMN @extschema@.test_result_sample.lab IS 'The reporting lab.';
COMMENT ON COLUMN @extschema@.test_result_sample.sample_id IS 'The lab''s sample id.';
COMMENT ON COLUMN @extschema@.test_result_sample.person_id IS 'Whose it is (an import finds a sample, and whose, here: no partition of test_result is searched).';
REVOKE ALL ON @extschema@.test_result_sample FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.test_result_sample', '');
-- (a partition is read through its table: its owner's alone, as a fresh install leaves it)
REVOKE ALL ON @extschema@.status_history_default, @extschema@.checkin_default, @extschema@.test_result_default FROM PUBLIC;
-- row-level security as 96_rls.sql gives it
DO $$
DECLARE
  t text;
  scoped text := '(SELECT @extschema@._rls_scope()) OPERATOR(@extschema@.@>) (region COLLATE "C")';
BEGIN
  FOREACH t IN ARRAY ARRAY['status_history', 'checkin', 'test_result'] LOOP
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY scope_select ON @extschema@.%I FOR SELECT USING (%s)', t, scoped);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t, scoped);
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t, scoped, scoped);
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t, scoped);
  END LOOP;
END $$;
-- the evidence tables' triggers, as 63_status_triggers.sql makes them
DO $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT t.name AS tbl, t.recalculated_by AS fn, t.time_column AS timecol, t.ignored_column AS ignored
             FROM @extschema@.evidence_table t WHERE t.name IN ('checkin', 'test_result') ORDER BY t.name
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON @extschema@.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_inserted', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON @extschema@.%I
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_updated', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON @extschema@.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_deleted', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON @extschema@.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_truncated', e.tbl, e.fn, e.timecol, e.ignored);
  END LOOP;
END $$;
-- grants as 99_privileges.sql gives them (a partition is read through its
-- table; the operators' columns: below, with every table's)
GRANT SELECT ON @extschema@.status_history, @extschema@.checkin, @extschema@.test_result TO healthcode_admin;
GRANT INSERT, UPDATE, DELETE ON @extschema@.checkin, @extschema@.test_result TO healthcode_admin, healthcode_operator;
-- the history at read time, from the new table
CREATE OR REPLACE VIEW @extschema@.status_changes WITH (security_invoker = true) AS
SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour, h.reasons, h.cause
  FROM @extschema@.status_history h
UNION ALL
SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time'
  FROM @extschema@.person_status s
  CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g;

-- (import_test_results corrects rows as it writes: _import_with_people takes
-- the statement that does, made below)
DROP FUNCTION @extschema@._import_with_people(json, text, text[], text[], text, text, text, text);

-- ---- functions changed since the release: written by tools/update-draft.sh --write
-- functions new or changed since 0.2.0: _arrival_rule_from_exchange _arrival_rule_to_exchange _audit_findings _batch_size _buffered_code_events _check_evidence_times _code_events _code_holder _code_or_null _code_screen _codes_per_day _colour_counts _colour_counts_at _colours_of _comment_partition _consistency_of _count_code_event _daily_jobs _decision_chain_append _decision_guard _decision_linked _decisions_by_operator _designation_set _designations _digest_at _digest_check _division_labels _division_names _doses_of _ensure_recalc_workers _erase _erase_region _erasure_stripe _evidence _evidence_changed _evidence_horizon _evidence_kept_from _evidence_lock _exchange_loading _exposure_by_area _exposure_notice_arrived _exposure_notice_check _exposure_notice_key _exposure_notice_problem _exposure_reach _exposures _findings_per_day _first_day_kept _flush_code_events _forget_gone_stays _fresh_status _grant_columns _health_share_changed _health_share_check _health_share_problem _history_at _holder_check_answer _holder_check_record _holder_health_facts _holder_status _id_list _import_parse _import_refuse _import_with_people _index_partition _inputs_hold_expired _inputs_kept _issue_for_person _issue_with_status _itinerary _keys_changed _launch_recalc_workers _legacy_identifier _list_work _listed_rows _lock_against_erasure _lock_for_erasure _lookback_beyond_limit _medicine_sale_venue _medicines _monitoring _moved_computed _moved_counts _moved_filter _moved_tables _national_arrival_rule_guard _national_kept_days _national_lookback_days _next_id _node_served _own_row_back _part_ids _partition_indexes _partitioned_by_time _peer_bulk _peer_refuse _peer_region_problem _peer_scope _pending_changes _pending_since _person_changed _person_health_facts _person_of _place_code_problem _policy_changed _policy_default _policy_default_guard _policy_from_exchange _policy_in_force _policy_lookback_guard _policy_truncate_guard _policy_versions _proxy_log _pseudonym_from_hex _publish_exposures _publish_status _published_count _read_status _recalc_changed _recalc_last_look_name _recalc_people _recalc_progress _recalc_setting _recalc_staff _recalc_step _recalc_touched _recalc_wait_step _recalc_workers_before_me _recalc_workers_running _recompute _recompute_national _record_erasure _record_stay _red_push_changed _red_push_check _region_levels _reject _rekey_adopted _report_sum _require_code_lifetime _require_day_span _require_finite _require_hosted _require_identifier _require_link _require_person _require_person_id _require_place _require_venue _resume_recalc _retention_delete _retention_rules _retention_statuses _revocation_check _revocation_hash _risk_area_changed _risk_area_venue_place _risky_stays _risky_stays_by _role_is_superuser _rollup_rows _row_sender_problem _sale_venue_name _scope_contains _scope_holds _scope_sel _served_here _set_peer_bulk _settle_pending _shared_evidence_truncated _sign_venue_code _status_agg _status_from_stored_inputs _status_groups_at _status_now _status_step _status_summary _status_totals _statuses_of _stay_level _stay_levels_sql _stays_days _stays_in_changed_areas _stays_judged _stays_judged_sql _stays_kept _stays_levels _take_batch _take_code_events _take_listed _test_result_samples _tests_per_day _time_partitions_missing _time_partitions_of _transitions_in _transitions_per_day _travel_changed _travel_first_day _travel_kept _trends _trust_list_guard _venue_closure_check _venue_id _venue_kinds _verify_venue_code _windowed_kept_from _work_concerns _work_pending _work_pending_by _work_stays_of _work_stays_sql _written_by_this_transaction adopt_region apply_retention audit check_consistency check_in check_statuses checkpoint_verify checkpoint_verify_holder close_venue code_screen code_screen_for create_partitions create_publication create_travel_partitions create_venue current_status_of decide_correction decision_content decision_erasable decision_kept declare declare_for declare_trip division_chain division_codes_valid division_covers division_label division_last division_rank drop_expired_partitions drop_expired_revocations drop_expired_travel_partitions enable_subscription erase_person exposures format_version generate_population host_region identifier_check import_medicine_sales import_risk_areas import_scans import_test_results import_travel issue issue_batch issue_for issue_for_dependant issue_for_subject issue_paper_code itinerary link_guardian mask_identifier my_evidence my_history normalize_identifier peer_publish peer_push_reds person_id place_code_valid policy_at purge_region reason_text_zh record_decision region_export region_scope_of register_medicine_sale register_person release_region request_correction retention_plan review_finding revoke_code revoke_codes_of revoke_guardian revoke_key rollup_day scan_venue schedule_jobs screen_reasons set_node shared_health start_consistency_check status subscription_sql trace_exposures travel_retention unschedule_jobs venue_code venue_qr_png venue_qr_svg verify verify_arrival verify_decision_chain verify_venue_code wait_for_recalc

CREATE OR REPLACE FUNCTION @extschema@.place_code_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_place_code_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.place_code_valid(text) IS
  'True for a place code: a division other than the nation (330106), a township or street below it (330106001: nine digits) or a village or community (330106001001: twelve). Never raises an error.';

CREATE OR REPLACE FUNCTION @extschema@._place_code_problem(text) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_place_code_problem'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._place_code_problem(text) IS
  'Internal: what is wrong with a text as a place code, NULL for a valid one.';
REVOKE ALL ON FUNCTION @extschema@._place_code_problem(text) FROM PUBLIC;

-- accessors, one per field
CREATE OR REPLACE FUNCTION @extschema@.format_version(@extschema@.healthcode) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_format_version' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.format_version(@extschema@.healthcode) IS 'Payload format version: 1, or 2 for a code that also carries the last negative test and the dose count (doc/payload.md).';

-- Any change to the key tables invalidates every backend's key cache.
CREATE OR REPLACE FUNCTION @extschema@._keys_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'healthcode_keys_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@._keys_changed() IS
  'Trigger: sends a relcache invalidation of its table, so that every backend reloads the trust list (and wipes unsealed secrets), the revocation list or the division names it cached.';
REVOKE ALL ON FUNCTION @extschema@._keys_changed() FROM PUBLIC;

-- A key's identity never changes: public key, id and region are fixed,
-- validity only shrinks, and revocation is final.
CREATE OR REPLACE FUNCTION @extschema@._trust_list_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NEW.key_id <> OLD.key_id OR NEW.public_key <> OLD.public_key
     OR NEW.region::text <> OLD.region::text OR NEW.valid_from <> OLD.valid_from THEN
    RAISE EXCEPTION 'the key id, public key, region and valid_from of an issuer key are immutable'
      USING ERRCODE = '55000';
  END IF;
  IF NEW.valid_until > OLD.valid_until THEN
    RAISE EXCEPTION 'the validity of an issuer key cannot be extended'
      USING ERRCODE = '55000', HINT = 'Create a new key instead.';
  END IF;
  IF OLD.status = 'revoked' AND NEW.status <> 'revoked' THEN
    RAISE EXCEPTION 'a revoked issuer key cannot be reinstated' USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._trust_list_guard() IS
  'Trigger: keeps an issuer key''s identity immutable and its revocation final.';
REVOKE ALL ON FUNCTION @extschema@._trust_list_guard() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.revoke_key(key_id bytea, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF reason IS NULL OR length(btrim(reason)) = 0 THEN
    RAISE EXCEPTION 'revoking an issuer key needs a reason' USING ERRCODE = '22023';
  END IF;
  UPDATE @extschema@.trust_list t
     SET status = 'revoked', revoked_at = now(), revocation_reason = reason,
         signing_until = coalesce(t.signing_until, now())
   WHERE t.key_id = revoke_key.key_id AND t.status <> 'revoked';
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM @extschema@.trust_list t WHERE t.key_id = revoke_key.key_id) THEN
      RAISE EXCEPTION 'issuer key % is already revoked', encode(key_id, 'hex') USING ERRCODE = '55000';
    END IF;
    RAISE EXCEPTION 'no issuer key %', encode(key_id, 'hex') USING ERRCODE = 'P0002';
  END IF;
  -- the secret of a revoked key has no further use
  DELETE FROM @extschema@.issuer_key_secret s WHERE s.key_id = revoke_key.key_id;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_key(bytea, text) IS
  'Revokes an issuer key: every code it signed stops verifying (reason key_revoked) and its sealed secret is destroyed.';
REVOKE ALL ON FUNCTION @extschema@.revoke_key(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_key(bytea, text) TO healthcode_admin;

-- A row-secured table's ids: its sequence's numbers under a secret
-- permutation, so that no role can count the rows it cannot see from the
-- ids it can (96_rls.sql makes it the default of every such table's id).
-- Who inserts rows themselves may call it; it reads no sequence for them.
CREATE OR REPLACE FUNCTION @extschema@._next_id(seq regclass) RETURNS bigint
  AS 'MODULE_PATHNAME', 'healthcode_next_id'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._next_id(regclass) IS
  'Internal: the next id of a row-secured table: its sequence (one of this extension''s) advanced, the number under a permutation keyed by the server key, in [2^62, 2^63). Unique as the sequence is; says nothing of how many rows there are.';
REVOKE ALL ON FUNCTION @extschema@._next_id(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._next_id(regclass) TO healthcode_admin, healthcode_operator;

-- ---------------------------------------------------------------------------
-- Pseudonyms, issuing and verifying codes.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.issue(
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

CREATE OR REPLACE FUNCTION @extschema@.verify(
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
CREATE OR REPLACE FUNCTION @extschema@._code_or_null(code text) RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME', 'healthcode_code_or_null'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._code_or_null(text) IS
  'Internal: the code a text spells, or NULL when it is not a code.';

CREATE OR REPLACE FUNCTION @extschema@.verify(
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

CREATE OR REPLACE FUNCTION @extschema@._require_finite(value timestamptz, argname text) RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'healthcode_require_finite'
  LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION @extschema@._require_finite(timestamptz, text) IS
  'Internal: the time if it is finite, else 22004 (NULL) or 22008 (infinity), naming the argument.';
REVOKE ALL ON FUNCTION @extschema@._require_finite(timestamptz, text) FROM PUBLIC;

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
CREATE OR REPLACE FUNCTION @extschema@.division_chain(code text) RETURNS text[]
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

CREATE OR REPLACE FUNCTION @extschema@.division_last(code text) RETURNS text
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

CREATE OR REPLACE FUNCTION @extschema@.division_covers(area text, code text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN @extschema@.division_code_valid(code) OR @extschema@.place_code_valid(code) THEN
         code OPERATOR(pg_catalog.>=) area AND code OPERATOR(pg_catalog.<=) @extschema@.division_last(area) END;
COMMENT ON FUNCTION @extschema@.division_covers(text, text) IS
  'True when division or place area covers code (itself or a division or place below it); NULL when either is invalid.';

CREATE OR REPLACE FUNCTION @extschema@.division_rank(code text) RETURNS integer
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

CREATE OR REPLACE FUNCTION @extschema@.division_codes_valid(codes text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.bool_and(c IS NOT NULL AND @extschema@.place_code_valid(c)), true)
    FROM pg_catalog.unnest(codes) AS c;
END;
COMMENT ON FUNCTION @extschema@.division_codes_valid(text[]) IS
  'True when every element is a valid place code (a division other than the nation, a township or a village; an empty array is valid).';

-- A place (a division, township or village) as a function's argument.
CREATE OR REPLACE FUNCTION @extschema@._require_place(place text, argname text DEFAULT 'place') RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_require_place'
  LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION @extschema@._require_place(text, text) IS
  'Internal: the code if it is a valid place code (place_code_valid), else 22004 or 22023 naming the argument and what is wrong.';
REVOKE ALL ON FUNCTION @extschema@._require_place(text, text) FROM PUBLIC;

-- A place as a screen names it: its city, district and, below, its
-- township and community (a province's own name for a province), Chinese
-- 杭州市西湖区北山街道, English "Beishan, Xihu, Hangzhou"; the levels no row
-- names are left out, and a code none names is shown as the code.
-- (lookups by key, the place's and those of the levels above it up to
-- its city. A SQL body with neither SET nor SECURITY DEFINER: a query
-- that calls it in FROM, as the screen's reasons do, has it inlined)
CREATE OR REPLACE FUNCTION @extschema@._division_labels(code text, OUT zh text, OUT en text)
RETURNS SETOF record
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT NULLIF(pg_catalog.concat(c.name_zh, k.name_zh, t.name_zh, o.name_zh), ''),
         NULLIF(pg_catalog.concat_ws(', ', o.name_en, t.name_en, k.name_en, c.name_en), '')
    FROM (SELECT @extschema@.division_rank(_division_labels.code) AS rank) one
    LEFT JOIN @extschema@.division_name o ON o.code OPERATOR(pg_catalog.=) _division_labels.code
    LEFT JOIN @extschema@.division_name c
           ON one.rank OPERATOR(pg_catalog.>=) 3
          AND c.code OPERATOR(pg_catalog.=) (pg_catalog.left(_division_labels.code, 4) OPERATOR(pg_catalog.||) '00')
    -- (a township of a city without counties names the city once)
    LEFT JOIN @extschema@.division_name k
           ON one.rank OPERATOR(pg_catalog.>=) 4
          AND k.code OPERATOR(pg_catalog.=) pg_catalog.left(_division_labels.code, 6)
          AND pg_catalog.right(k.code, 2) OPERATOR(pg_catalog.<>) '00'
    LEFT JOIN @extschema@.division_name t
           ON one.rank OPERATOR(pg_catalog.=) 5
          AND t.code OPERATOR(pg_catalog.=) pg_catalog.left(_division_labels.code, 9)
   WHERE _division_labels.code IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._division_labels(text) IS
  'Internal: a place''s names as a screen shows them, zh and en (NULL where no division_name row names any of its levels); no row for NULL.';
REVOKE ALL ON FUNCTION @extschema@._division_labels(text) FROM PUBLIC;
-- (division_label and screen_reasons run as their callers, anyone)
GRANT EXECUTE ON FUNCTION @extschema@._division_labels(text) TO PUBLIC;

-- The names, cached by each backend (src/hc_division_names.c): a screen
-- names its places at every refresh; the cache asks _division_labels for
-- a place it has not seen, and again once division_name changes.
CREATE OR REPLACE FUNCTION @extschema@._division_names(code text) RETURNS text[]
  AS 'MODULE_PATHNAME', 'healthcode_division_names'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._division_names(text) IS
  'Internal: {zh, en}, a place''s names as _division_labels composes them (each NULL where no row names any of its levels), from this backend''s cache.';
REVOKE ALL ON FUNCTION @extschema@._division_names(text) FROM PUBLIC;
-- (division_label, screen_reasons and the itinerary run as their callers, anyone)
GRANT EXECUTE ON FUNCTION @extschema@._division_names(text) TO PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.division_label(code text, lang text DEFAULT 'zh') RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED
-- (a SQL body without SET: inlined where it is called)
RETURN CASE WHEN code IS NULL OR lang IS NULL THEN NULL
            ELSE COALESCE((@extschema@._division_names(code))[CASE lang WHEN 'zh' THEN 1 WHEN 'en' THEN 2 END], code) END;
COMMENT ON FUNCTION @extschema@.division_label(text, text) IS
  'A division or place as a screen names it, lang zh (杭州市西湖区) or en (Xihu, Hangzhou): its city, district and, below the district, township and community, or a province''s name; the code itself when no division_name row names it (or lang is neither).';

CREATE OR REPLACE FUNCTION @extschema@._role_is_superuser(role oid) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_role_is_superuser'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._role_is_superuser(oid) IS
  'Internal: whether the role is a superuser (pg_roles.rolsuper, from the role cache); false for an unknown role.';
REVOKE ALL ON FUNCTION @extschema@._role_is_superuser(oid) FROM PUBLIC;
-- (region_scope_of runs as its callers)
GRANT EXECUTE ON FUNCTION @extschema@._role_is_superuser(oid) TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

-- A role's scope: the regions mapped to it or to any role it is a member
-- of; the whole country for superusers and members of healthcode_admin.
-- (PL/pgSQL, not a SQL body: every call of the API asks it, often more
-- than once, and a SQL function with a query is planned again at each
-- call from PL/pgSQL, where this one's plans are kept for the session)
CREATE OR REPLACE FUNCTION @extschema@.region_scope_of(role oid) RETURNS @extschema@.division_multirange
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._role_is_superuser(region_scope_of.role)
     OR pg_has_role(region_scope_of.role, 'healthcode_admin', 'MEMBER') THEN
    RETURN @extschema@.division_multirange(@extschema@.division_range('000000', '999999999999', '[]'));
  END IF;
  RETURN COALESCE((SELECT range_agg(@extschema@.division_range(s.region, @extschema@.division_last(s.region), '[]'))
                     FROM @extschema@.region_scope s
                    WHERE pg_has_role(region_scope_of.role, s.role_name::oid, 'MEMBER')),
                  '{}'::@extschema@.division_multirange);
END $$;
COMMENT ON FUNCTION @extschema@.region_scope_of(oid) IS
  'The division codes a role acts for: those mapped to it or to a role it is a member of in region_scope; all of them for superusers and healthcode_admin.';
REVOKE ALL ON FUNCTION @extschema@.region_scope_of(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.region_scope_of(oid) TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

-- The operator row-level security keys personal rows on: scope @> region,
-- as pg_catalog's, with an estimate of the rows it keeps made from the
-- querying role's scope and the column's statistics (src/hc_scope_sel.c):
-- pg_catalog's guesses half a percent of the table for a scope computed at
-- run time, and the planner then sorts a province's rows where it should
-- hash them.
CREATE OR REPLACE FUNCTION @extschema@._scope_contains(scope @extschema@.division_multirange, region text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_scope_contains'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) IS
  'Internal: whether the scope holds the region (the @> of row-level security).';
REVOKE ALL ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) TO healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) RETURNS double precision
  AS 'MODULE_PATHNAME', 'healthcode_scope_sel'
  LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) IS
  'Internal: the planner''s estimate of the share of rows a scope @> region keeps: the querying role''s scope (or the constant given), its runs of codes read against the column''s statistics.';
REVOKE ALL ON FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- The tables partitioned by time besides travel (code_event by day;
-- status_history, checkin and test_result by month), and what each of
-- their partitions has: declared here, before the tables, which make their
-- default partitions with them. Making and dropping the partitions, and why
-- months: 80_retention_partitions.sql.
-- ---------------------------------------------------------------------------

-- The tables partitioned so: the column they are cut by, the span of a
-- partition, and how a partition's name (<table>_<first day>) writes its
-- first day.
CREATE OR REPLACE FUNCTION @extschema@._partitioned_by_time()
RETURNS TABLE (tbl text, time_column text, unit text, name_format text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.tbl, v.time_column, v.unit, CASE v.unit WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END
    FROM (VALUES ('code_event', 'at', 'day'),
                 ('status_history', 'at', 'month'),
                 ('checkin', 'at', 'month'),
                 ('test_result', 'sampled_at', 'month')) AS v(tbl, time_column, unit);
END;
COMMENT ON FUNCTION @extschema@._partitioned_by_time() IS
  'Internal: the tables partitioned by time besides travel (create_partitions): the time column, the span of a partition (day or month), and the to_char format its name writes its first day in.';
REVOKE ALL ON FUNCTION @extschema@._partitioned_by_time() FROM PUBLIC;

-- Their indexes, each partition's own (<partition>_<suffix>): an index of
-- the partitioned table itself would be made twice in a restore, once as
-- pg_dump attaches a partition made by create_partitions and once as it
-- writes that partition's index. A unique key is unique in its partition
-- only, as a partitioned table's may not leave its partition column out:
-- a check-in a day is (its day lies in its month's partition, so this is
-- the key overall). A lab's sample would be unique only in its month: its
-- key, and where to find it, are test_result_sample's (51_evidence.sql). (A
-- key of each month would also answer, in its error, whether another
-- region's sample lies in that month.)
-- Times, which rows arrive in about the order of, are BRIN ranges: a
-- recalculation writes one instant (its change's) for everyone it changes,
-- and a btree of that many equal keys cost more to fill than the history
-- rows themselves. status_history has no index on its id: nothing looks
-- an entry up by it, its ids are distinct by construction (_next_id: a
-- secret permutation of its sequence; across a change of the id key, as
-- unlikely to meet as two random 63-bit numbers), and a unique index of
-- keys that random cost a recalculation 2 us an entry, twice the row's own
-- insert.
CREATE OR REPLACE FUNCTION @extschema@._partition_indexes()
RETURNS TABLE (tbl text, suffix text, is_unique boolean, definition text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.tbl, v.suffix, v.is_unique, v.definition
    FROM (VALUES ('code_event', 'at', false, 'USING brin (at)'),
                 ('status_history', 'person', false, '(person_id, at)'),
                 ('status_history', 'at', false, 'USING brin (at)'),
                 ('checkin', 'id', true, '(id)'),
                 ('checkin', 'natural_key', true, '(person_id, region, day)'),
                 ('checkin', 'at', false, 'USING brin (at)'),
                 ('test_result', 'id', true, '(id)'),
                 ('test_result', 'person', false, '(person_id, sampled_at)'),
                 ('test_result', 'sampled_at', false, 'USING brin (sampled_at)')) AS v(tbl, suffix, is_unique, definition);
END;
COMMENT ON FUNCTION @extschema@._partition_indexes() IS
  'Internal: the indexes every partition of a table partitioned by time has (_index_partition): name suffix, unique or not, and definition.';
REVOKE ALL ON FUNCTION @extschema@._partition_indexes() FROM PUBLIC;

-- Gives a partition the indexes of its table's partitions.
CREATE OR REPLACE FUNCTION @extschema@._index_partition(tbl text, part text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  i record;
BEGIN
  FOR i IN SELECT * FROM @extschema@._partition_indexes() x WHERE x.tbl = _index_partition.tbl LOOP
    EXECUTE format('CREATE %s INDEX %I ON %I.%I %s', CASE WHEN i.is_unique THEN 'UNIQUE' ELSE '' END,
                   part || '_' || i.suffix, '@extschema@', part, i.definition);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._index_partition(text, text) IS
  'Internal: makes a partition of a table partitioned by time the indexes its partitions have (_partition_indexes).';
REVOKE ALL ON FUNCTION @extschema@._index_partition(text, text) FROM PUBLIC;

-- A partition's columns say what its table's say (for whoever reads \d+).
CREATE OR REPLACE FUNCTION @extschema@._comment_partition(part regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT a.attname, pg_catalog.col_description(i.inhparent, a.attnum) AS note
             FROM pg_catalog.pg_inherits i
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.inhparent AND a.attnum > 0 AND NOT a.attisdropped
            WHERE i.inhrelid = part LOOP
    EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', part, c.attname, c.note);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._comment_partition(regclass) IS
  'Internal: gives a partition''s columns the comments of its table''s.';
REVOKE ALL ON FUNCTION @extschema@._comment_partition(regclass) FROM PUBLIC;

-- The person an identifier (normalized) names, whatever the region: by
-- this node's pseudonym, or, for a person adopted from the hub and not yet
-- re-keyed, by the national pseudonym. (A SQL body: inlined. The second
-- look only when the first finds nobody, and only with the national key.)
CREATE OR REPLACE FUNCTION @extschema@._person_of(norm text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN COALESCE((SELECT p.id FROM @extschema@.person p WHERE p.subject OPERATOR(pg_catalog.=) @extschema@.pseudonym(norm)),
                (SELECT p.id FROM @extschema@.adopted_person a JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) a.person_id
                  WHERE @extschema@._national_key_configured()
                    AND p.national_subject OPERATOR(pg_catalog.=) @extschema@.national_pseudonym(norm)));
COMMENT ON FUNCTION @extschema@._person_of(text) IS
  'Internal: the id of the person a normalized identifier names (its pseudonym here; for one adopted from the hub and not re-keyed yet, its national pseudonym), in any region; NULL for none.';
REVOKE ALL ON FUNCTION @extschema@._person_of(text) FROM PUBLIC;

-- Adopted people whose identifier a write brings: re-keyed to this node's
-- pseudonym (their evidence follows them by id) and off the list. Returns
-- how many. (Nothing to do, the common case, costs one look at an empty
-- table.)
CREATE OR REPLACE FUNCTION @extschema@._rekey_adopted(norms text[]) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.adopted_person) OR NOT @extschema@._national_key_configured() THEN
    RETURN 0;
  END IF;
  WITH found AS MATERIALIZED (
    SELECT p.id, @extschema@.pseudonym(x.norm) AS subject
      FROM (SELECT DISTINCT u.norm FROM unnest(norms) u(norm) WHERE u.norm IS NOT NULL) x
      JOIN @extschema@.person p ON p.national_subject = @extschema@.national_pseudonym(x.norm)
      JOIN @extschema@.adopted_person a ON a.person_id = p.id
     -- (registered here meanwhile under this node's pseudonym: left as is)
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.person o WHERE o.subject = @extschema@.pseudonym(x.norm))
  ), off AS (
    DELETE FROM @extschema@.adopted_person a USING found f WHERE a.person_id = f.id
  )
  UPDATE @extschema@.person p SET subject = f.subject FROM found f WHERE p.id = f.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._rekey_adopted(text[]) IS
  'Internal: re-keys the adopted people these normalized identifiers name to this node''s pseudonym (their digest follows, person trigger) and takes them off adopted_person; returns how many.';
REVOKE ALL ON FUNCTION @extschema@._rekey_adopted(text[]) FROM PUBLIC;

-- A code issued to a person and the person's erasure exclude each other:
-- the erasure waits for codes being issued to end, and none is issued
-- while it runs, so every code of theirs was issued before the erasure
-- revokes them (95_erasure.sql). Advisory locks, not a row lock on the
-- person: a row lock is written to WAL, and a code screen writes nothing
-- else. 1024 stripes of ids: an erasure of many people takes at most 1024
-- locks; a code waits for an erasure of someone else 1 time in 1024.
-- (SQL bodies without SET: inlined into their callers)
CREATE OR REPLACE FUNCTION @extschema@._erasure_stripe(person_id bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- (the lock's first key, 1751344498, is 'hcer' in ASCII)
RETURN (_erasure_stripe.person_id OPERATOR(pg_catalog.%) 1024)::integer;
COMMENT ON FUNCTION @extschema@._erasure_stripe(bigint) IS
  'Internal: the stripe of the advisory lock (first key 1751344498) that guards a person''s codes against their erasure.';
REVOKE ALL ON FUNCTION @extschema@._erasure_stripe(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._lock_against_erasure(person_id bigint) RETURNS void
LANGUAGE sql VOLATILE
RETURN pg_catalog.pg_advisory_xact_lock_shared(1751344498, @extschema@._erasure_stripe(_lock_against_erasure.person_id));
COMMENT ON FUNCTION @extschema@._lock_against_erasure(bigint) IS
  'Internal: taken before a code is issued to a person, until the transaction ends: no erasure of theirs runs meanwhile.';
REVOKE ALL ON FUNCTION @extschema@._lock_against_erasure(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._lock_for_erasure(persons bigint[]) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  -- (in stripe order, as every erasure takes them)
  SELECT pg_catalog.pg_advisory_xact_lock(1751344498, s.stripe)
    FROM (SELECT DISTINCT @extschema@._erasure_stripe(x.id) AS stripe
            FROM pg_catalog.unnest(_lock_for_erasure.persons) AS x(id) ORDER BY 1) s;
END;
COMMENT ON FUNCTION @extschema@._lock_for_erasure(bigint[]) IS
  'Internal: taken by an erasure before it touches the people, until the transaction ends: it waits for the codes being issued to them, and none is issued meanwhile.';
REVOKE ALL ON FUNCTION @extschema@._lock_for_erasure(bigint[]) FROM PUBLIC;

-- A person of the regions the caller acts for, by id, or P0002: one of
-- another region and one who does not exist give the same error, so a
-- scoped role learns nothing about other regions' people. (By identifier:
-- _require_person, 70_registration.sql.)
CREATE OR REPLACE FUNCTION @extschema@._require_person_id(person_id bigint) RETURNS @extschema@.person
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
BEGIN
  SELECT * INTO p FROM @extschema@.person x
   WHERE x.id = _require_person_id.person_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', _require_person_id.person_id,
      @extschema@._caller()::regrole USING ERRCODE = 'P0002';
  END IF;
  RETURN p;
END $$;
COMMENT ON FUNCTION @extschema@._require_person_id(bigint) IS
  'Internal: the person with this id if the caller acts for their region, else P0002 (the same for a person of another region as for none).';
REVOKE ALL ON FUNCTION @extschema@._require_person_id(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._test_result_samples() RETURNS trigger
LANGUAGE plpgsql
-- (whoever writes test_result, an operator too, keeps its samples: a table
-- of the owner's)
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE @extschema@.test_result_sample;
    RETURN NULL;
  END IF;
  -- (a sample already held: unique_violation, test_result_sample_key)
  IF TG_OP = 'INSERT' THEN
    INSERT INTO @extschema@.test_result_sample (lab, sample_id, person_id)
    SELECT n.lab, n.sample_id, n.person_id FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    DELETE FROM @extschema@.test_result_sample k USING old_rows o
     WHERE k.lab = o.lab AND k.sample_id = o.sample_id;
  ELSE
    -- (a row whose sample did not change keeps its key: a person's move
    -- cascades into every row of theirs, a correction may move a row to
    -- another month)
    DELETE FROM @extschema@.test_result_sample k USING old_rows o
     WHERE k.lab = o.lab AND k.sample_id = o.sample_id
       AND NOT EXISTS (SELECT FROM new_rows n WHERE n.id = o.id AND n.lab = o.lab AND n.sample_id = o.sample_id
                                               AND n.person_id = o.person_id);
    INSERT INTO @extschema@.test_result_sample (lab, sample_id, person_id)
    SELECT n.lab, n.sample_id, n.person_id FROM new_rows n
     WHERE NOT EXISTS (SELECT FROM old_rows o WHERE o.id = n.id AND o.lab = n.lab AND o.sample_id = n.sample_id
                                              AND o.person_id = n.person_id);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._test_result_samples() IS
  'Internal: statement trigger of test_result keeping test_result_sample, its samples once across months.';
REVOKE ALL ON FUNCTION @extschema@._test_result_samples() FROM PUBLIC;

-- Sales of fever, cough, antiviral and antibiotic medicines a pharmacy
-- registers (药品登记, 86_pharmacy.sql): the venue (its foreign key in
-- 82_venues.sql) and its place, copied at the sale, so that the engine reads
-- them with the sale.
-- The words a sale's medicine is one of, in one place (the table's check
-- and register_medicine_sale's message read them; the engine numbers them
-- in this order: hc_medicine, src/hc_status.h).
CREATE OR REPLACE FUNCTION @extschema@._medicines() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['antipyretic', 'cough', 'antiviral', 'antibiotic'];
COMMENT ON FUNCTION @extschema@._medicines() IS
  'Internal: the medicines a pharmacy registers (medicine_sale.medicine), in the engine''s order.';

CREATE OR REPLACE FUNCTION @extschema@._policy_default_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF OLD.region = '000000' AND OLD.valid_from = '-infinity' THEN
    RAISE EXCEPTION 'the national default policy version is part of the extension and cannot be changed'
      USING ERRCODE = '55000',
            HINT = 'Add a later national version: INSERT INTO healthcode.policy (region, valid_from, ...) VALUES (''000000'', ...).';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_default_guard() IS
  'Trigger: keeps the built-in national default version unchanged.';
REVOKE ALL ON FUNCTION @extschema@._policy_default_guard() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._policy_truncate_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'the policy table holds the national default version and cannot be truncated'
    USING ERRCODE = '55000', HINT = 'Delete the regional versions instead.';
END $$;
COMMENT ON FUNCTION @extschema@._policy_truncate_guard() IS
  'Trigger: TRUNCATE would remove the built-in national default version.';
REVOKE ALL ON FUNCTION @extschema@._policy_truncate_guard() FROM PUBLIC;

-- The built-in default of a policy field, from the engine's table of
-- fields (src/hc_core_status_policy.c): what a national-only field left
-- NULL stands for.
CREATE OR REPLACE FUNCTION @extschema@._policy_default(field text) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_policy_default'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._policy_default(text) IS
  'Internal: the built-in default of an integer policy field (the status engine''s table of fields).';
REVOKE ALL ON FUNCTION @extschema@._policy_default(text) FROM PUBLIC;

-- Every version on a region's chain, for the status engine.
CREATE OR REPLACE FUNCTION @extschema@._policy_versions(region text) RETURNS @extschema@.engine_policy[]
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  -- (ROW is positional: one value a line, in the type's order)
  SELECT COALESCE(pg_catalog.array_agg(ROW(
           @extschema@.division_rank(p.region),                   -- rank
           p.valid_from,                                          -- valid_from
           COALESCE(p.valid_until, 'infinity'),                   -- valid_until
           p.lookback_days,                                       -- lookback_days
           p.quarantine_days_red,                                 -- quarantine_days_red
           p.quarantine_days_yellow,                              -- quarantine_days_yellow
           p.red_release_negative_tests,                          -- red_release_negative_tests
           p.negative_test_valid_hours,                           -- negative_test_valid_hours
           (p.fever_celsius OPERATOR(pg_catalog.*) 10)::integer,  -- fever_tenths
           p.vaccinated_min_doses,                                -- vaccinated_min_doses
           p.symptoms_yellow,                                     -- symptoms_yellow
           p.periodic_testing,                                    -- periodic_testing
           p.test_window OPERATOR(pg_catalog.=) 'calendar_days',  -- calendar_days
           p.two_negatives_release_yellow,                        -- two_negatives_release_yellow
           COALESCE(p.evidence_kept_days,                         -- evidence_kept_days
                    @extschema@._policy_default('evidence_kept_days')),
           p.medicine_purchase_yellow                             -- medicine_purchase_yellow
         )::@extschema@.engine_policy ORDER BY p.id), '{}')
    FROM @extschema@.policy p
   WHERE p.region OPERATOR(pg_catalog.=) ANY (@extschema@.division_chain(_policy_versions.region));
END;
COMMENT ON FUNCTION @extschema@._policy_versions(text) IS
  'Internal: every policy version on a region''s chain, as the status engine reads them.';
REVOKE ALL ON FUNCTION @extschema@._policy_versions(text) FROM PUBLIC;

-- The policy version in force for a region at an instant: the one rule,
-- which policy_at checks its arguments for and the code screen joins.
-- (A SQL body with neither SET nor SECURITY DEFINER, so that a query
-- that calls it in FROM has it inlined: planned once with that query)
CREATE OR REPLACE FUNCTION @extschema@._policy_in_force(region text, at timestamptz)
RETURNS SETOF @extschema@.policy
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT v.*
    FROM @extschema@.policy v
   WHERE v.region OPERATOR(pg_catalog.=) ANY (@extschema@.division_chain(_policy_in_force.region))
     AND v.valid_from OPERATOR(pg_catalog.<=) _policy_in_force.at
     AND (v.valid_until IS NULL OR _policy_in_force.at OPERATOR(pg_catalog.<) v.valid_until)
   ORDER BY @extschema@.division_rank(v.region) DESC, v.valid_from DESC, v.id DESC
   LIMIT 1;
END;
COMMENT ON FUNCTION @extschema@._policy_in_force(text, timestamptz) IS
  'Internal: the policy version that governs a region at an instant (policy_at, less its checks of the arguments): the most specific region on its chain with a version in force, then the latest-starting version.';
REVOKE ALL ON FUNCTION @extschema@._policy_in_force(text, timestamptz) FROM PUBLIC;
-- (policy_at runs as its callers)
GRANT EXECUTE ON FUNCTION @extschema@._policy_in_force(text, timestamptz) TO healthcode_admin, healthcode_operator;

-- The policy in force for a region at an instant, for people to read.
CREATE OR REPLACE FUNCTION @extschema@.policy_at(region text, at timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.policy
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.policy;
BEGIN
  IF NOT @extschema@.division_code_valid(policy_at.region) THEN
    RAISE EXCEPTION 'invalid division code for region: %', quote_literal(@extschema@._shorten(policy_at.region))
      USING ERRCODE = '22023';
  END IF;
  IF NOT isfinite(policy_at.at) THEN
    RAISE EXCEPTION 'at must be a finite time, not %', policy_at.at USING ERRCODE = '22008';
  END IF;
  SELECT * INTO p FROM @extschema@._policy_in_force(policy_at.region, policy_at.at);
  RETURN p;
END $$;
COMMENT ON FUNCTION @extschema@.policy_at(text, timestamptz) IS
  'The policy version that governs a region at a finite instant: the most specific region on its chain with a version in force, then the latest-starting version.';
REVOKE ALL ON FUNCTION @extschema@.policy_at(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.policy_at(text, timestamptz) TO healthcode_admin, healthcode_operator;

-- How long evidence matters, and so how long it is kept: set by the
-- national versions alone (their lookbacks, how far they let a region
-- reach, how long they keep evidence), so that no region's operator can make
-- every region's data be kept longer. The national versions that are in
-- force at some instant from `at` on: the one in force at `at`, at each
-- later start or end of a national version (where the version in force may
-- change, as policy_at picks it: the latest start among those in force), and
-- for ever after the last of them (at infinity: only that one). In C
-- (hc_national_days_from; the national rows read by a plan kept for the
-- session, in the caller's snapshot): every write of evidence asks, through
-- the evidence horizon, and as PL/pgSQL over this table the first call in a
-- process took 6-8 ms, the next four 1.5 ms each; every work list worker
-- and new connection is such a process.

-- The longest window a national version from `at` on allows (days:
-- lookback_days, or regional_lookback_limit_days when larger).
CREATE OR REPLACE FUNCTION @extschema@._national_lookback_days(at timestamptz) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_national_lookback_days'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_lookback_days(timestamptz) IS
  'Internal: the longest window (days: lookback_days, or regional_lookback_limit_days when larger) of the national versions in force at some instant from at on (infinity: for ever after the last national version starts or ends).';
REVOKE ALL ON FUNCTION @extschema@._national_lookback_days(timestamptz) FROM PUBLIC;

-- The longest a national version from `at` on keeps evidence.
CREATE OR REPLACE FUNCTION @extschema@._national_kept_days(at timestamptz) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_national_kept_days'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_kept_days(timestamptz) IS
  'Internal: the longest evidence_kept_days (NULL: the built-in 90) of the national versions in force at some instant from at on.';
REVOKE ALL ON FUNCTION @extschema@._national_kept_days(timestamptz) FROM PUBLIC;

-- Evidence older than this changes no colour from at on (the status
-- engine reads evidence_kept_days from the national version in force at
-- each instant), whatever its kind; manual decisions, doses and pushed reds
-- do not expire.
CREATE OR REPLACE FUNCTION @extschema@._evidence_kept_from(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN _evidence_kept_from.at OPERATOR(pg_catalog.-)
       pg_catalog.make_interval(days => @extschema@._national_kept_days(_evidence_kept_from.at));
COMMENT ON FUNCTION @extschema@._evidence_kept_from(timestamptz) IS
  'Internal: at minus the longest evidence_kept_days of the national versions in force at or after at (_national_kept_days). Evidence older than this cannot change a colour from at on.';
REVOKE ALL ON FUNCTION @extschema@._evidence_kept_from(timestamptz) FROM PUBLIC;

-- Windowed evidence older than this cannot change any colour from at on.
CREATE OR REPLACE FUNCTION @extschema@._evidence_horizon(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN _evidence_horizon.at OPERATOR(pg_catalog.-)
       pg_catalog.make_interval(days => @extschema@._national_lookback_days(_evidence_horizon.at));
COMMENT ON FUNCTION @extschema@._evidence_horizon(timestamptz) IS
  'Internal: at minus the longest window the national versions in force at or after at allow (_national_lookback_days). Windowed evidence older than this cannot change a colour from at on.';
REVOKE ALL ON FUNCTION @extschema@._evidence_horizon(timestamptz) FROM PUBLIC;

-- A regional version's window stays within what the nation allows for as
-- long as the regional version is in force: the evidence kept shrinks only
-- as time goes on, so the last instant it is in force (or for ever) is the
-- one to check. A version whose time has passed governs nothing any more.
CREATE OR REPLACE FUNCTION @extschema@._lookback_beyond_limit(p @extschema@.policy) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN p.region OPERATOR(pg_catalog.<>) '000000'
                 AND (p.valid_until IS NULL OR p.valid_until OPERATOR(pg_catalog.>) pg_catalog.now())
                 AND p.lookback_days OPERATOR(pg_catalog.>)
                     @extschema@._national_lookback_days(COALESCE(p.valid_until OPERATOR(pg_catalog.-) interval '1 microsecond',
                                                                  'infinity'))
            THEN pg_catalog.format('lookback_days %s of the policy version of region %s from %s is beyond the national limit of %s days',
                                   p.lookback_days, p.region, p.valid_from,
                                   @extschema@._national_lookback_days(COALESCE(p.valid_until OPERATOR(pg_catalog.-) interval '1 microsecond',
                                                                                'infinity'))) END;
COMMENT ON FUNCTION @extschema@._lookback_beyond_limit(@extschema@.policy) IS
  'Internal: why a regional policy version in force now or later has a lookback_days beyond the national limit for its time in force, or NULL when it has not.';
REVOKE ALL ON FUNCTION @extschema@._lookback_beyond_limit(@extschema@.policy) FROM PUBLIC;

-- Checked on every write of a regional version, and on every write of a
-- national one (which may lower the limit): then every regional version in
-- force now or later, since a limit concerns them all. One write at a time
-- (a regional version and a lower limit written at once must not both
-- pass). A dump being restored brings versions that passed already.
CREATE OR REPLACE FUNCTION @extschema@._policy_lookback_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
  national boolean := false;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  -- one write of policy at a time, from before its first row (and so
  -- before the evidence lock its recalculation takes: one order for both);
  -- the checks below then see what the writes before committed (READ
  -- COMMITTED, as every role of the extension works)
  IF TG_WHEN = 'BEFORE' THEN
    PERFORM pg_advisory_xact_lock(hashtext('@extschema@.policy lookback'));
    RETURN NULL;
  END IF;
  IF TG_LEVEL = 'ROW' THEN
    problem := @extschema@._lookback_beyond_limit(NEW);
  ELSE
    -- (each query its own: new_rows exists for an UPDATE only)
    national := EXISTS (SELECT 1 FROM changed_rows c WHERE c.region = '000000');
    IF TG_OP = 'UPDATE' AND NOT national THEN
      national := EXISTS (SELECT 1 FROM new_rows c WHERE c.region = '000000');
    END IF;
  END IF;
  IF national THEN
    -- (each version judged once)
    SELECT x.problem INTO problem
      FROM (SELECT p.region, p.valid_from, @extschema@._lookback_beyond_limit(p) AS problem
              FROM @extschema@.policy p OFFSET 0) x
     WHERE x.problem IS NOT NULL
     ORDER BY x.region, x.valid_from LIMIT 1;
  END IF;
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION '%', problem
      USING ERRCODE = '22003',
            HINT = 'The national administration sets how long any region may look back (regional_lookback_limit_days of a national version): evidence is kept that long for everyone.';
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_lookback_guard() IS
  'Trigger: refuses a regional policy version whose lookback_days the national versions do not allow for its time in force; after a national version is written or deleted, checks every regional version in force now or later again.';
REVOKE ALL ON FUNCTION @extschema@._policy_lookback_guard() FROM PUBLIC;

-- (PL/pgSQL: a SECURITY DEFINER SQL function is never inlined, and would
-- plan its query at every call; PL/pgSQL keeps the plan for the session)
CREATE OR REPLACE FUNCTION @extschema@.status(person_id bigint, at timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF status.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(status.at, 'at');
  RETURN QUERY
  SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since, (x.v).valid_until
    FROM @extschema@.person_status s
    -- (fresh while a change on the work list has yet to recalculate them)
    CROSS JOIN LATERAL (SELECT @extschema@._status_now(s, status.at) AS v OFFSET 0) x
   WHERE s.person_id = status.person_id
     AND @extschema@._in_caller_scope(s.region);
END $$;
COMMENT ON FUNCTION @extschema@.status(bigint, timestamptz) IS
  'A person''s effective status at a finite time (default now, not before the last recalculation): colour, vaccinated mark, reasons, since when the colour holds, and until when the status holds without new evidence. No row for a person outside the caller''s regions.';
REVOKE ALL ON FUNCTION @extschema@.status(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.status(bigint, timestamptz) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint,
                                         @extschema@.engine_policy[], timestamptz)
RETURNS internal
  AS 'MODULE_PATHNAME', 'healthcode_status_step' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) IS
  'Internal: transition function of _status_agg (collects one piece of evidence).';
REVOKE ALL ON FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) FROM PUBLIC;

CREATE OR REPLACE AGGREGATE @extschema@._status_agg(kind text, at timestamptz, until timestamptz, value integer,
                                         place text, ref bigint, policy @extschema@.engine_policy[], start timestamptz) (
  SFUNC = @extschema@._status_step,
  STYPE = internal,
  FINALFUNC = @extschema@._status_final
);
COMMENT ON AGGREGATE @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) IS
  'Internal: one person''s evidence rows (kind, at, until, value, place, ref) under their region''s policy versions -> their status timeline from start on.';
REVOKE ALL ON FUNCTION @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) FROM PUBLIC;

-- ---- the risky-stay rule, written once; one person's evidence as events ------

-- A stay is risky when a medium- or high-risk designation covering it was
-- in force at the time of the stay; the highest level wins. A designation
-- covers a stay when it names the stay's place or a division above it (its
-- township, county, city or province: division_chain; never the nation),
-- or names the venue the stay was at (a venue designation, whose division
-- is the venue's place, covers that venue's stays only: the same id at the
-- same place). The rule is written once, in C (hc_core_status_areas.c,
-- unit-tested in test/unit/test_status.c): _stay_level judges a stay by
-- the designations packed once a statement (_designations()), and
-- _stays_levels a person's listed stays at once, with no table read and
-- no join a stay. test/pgtap/consistency_random.sql checks every caller
-- against division_chain, and test/pgtap/places.sql each level.
CREATE OR REPLACE FUNCTION @extschema@._designation_set(divisions text[], venues text[], highs boolean[],
                                             froms timestamptz[], untils timestamptz[])
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_designation_set' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._designation_set(text[], text[], boolean[], timestamptz[], timestamptz[]) IS
  'Internal: designations (division, venue id as text or NULL, high or medium, from, until or NULL; one element of each array apiece) packed for _stay_level and _stays_levels; NULL arrays: none.';
REVOKE ALL ON FUNCTION @extschema@._designation_set(text[], text[], boolean[], timestamptz[], timestamptz[]) FROM PUBLIC;

-- (a SQL body, read once a statement where it stands in a subquery)
CREATE OR REPLACE FUNCTION @extschema@._designations() RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT @extschema@._designation_set(pg_catalog.array_agg(d.division), pg_catalog.array_agg(d.venue::text),
                                      pg_catalog.array_agg(d.level OPERATOR(pg_catalog.=) 'high'),
                                      pg_catalog.array_agg(d.effective_from), pg_catalog.array_agg(d.effective_until))
    FROM @extschema@.risk_area d
   WHERE d.level OPERATOR(pg_catalog.<>) 'low';
END;
COMMENT ON FUNCTION @extschema@._designations() IS
  'Internal: every medium- and high-risk designation, packed for _stay_level and _stays_levels.';
REVOKE ALL ON FUNCTION @extschema@._designations() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._stay_level(designations bytea, place text, venue text, at timestamptz)
RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_stay_level' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._stay_level(bytea, text, text, timestamptz) IS
  'Internal: the risky-stay rule: a stay''s level by the designations (_designations()): true high, false medium, NULL not risky.';
REVOKE ALL ON FUNCTION @extschema@._stay_level(bytea, text, text, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._stays_levels(designations bytea, places text[], venues text[], ats timestamptz[])
RETURNS boolean[]
  AS 'MODULE_PATHNAME', 'healthcode_stays_levels' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._stays_levels(bytea, text[], text[], timestamptz[]) IS
  'Internal: _stay_level of stays given side by side (venues NULL: none at a venue), each one''s level.';
REVOKE ALL ON FUNCTION @extschema@._stays_levels(bytea, text[], text[], timestamptz[]) FROM PUBLIC;

-- The rule over a query of stays (columns person_id, id, at, place,
-- venue): the risky ones with high (true: a high-risk designation covers
-- it, false: medium), one row a stay given; with every_stay, every stay,
-- high NULL where none covers it. (OFFSET 0: judged once a stay, not once
-- in the filter and again in the result.)
CREATE OR REPLACE FUNCTION @extschema@._stay_levels_sql(stays text, every_stay boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.format($q$
    SELECT j.person_id, j.id, j.at, j.place, j.high
      FROM (SELECT s.person_id, s.id, s.at, s.place,
                   @extschema@._stay_level((SELECT @extschema@._designations()), s.place, s.venue, s.at) AS high
              FROM (%s) s
            OFFSET 0) j%s$q$,
  stays,
  CASE WHEN every_stay THEN '' ELSE ' WHERE j.high IS NOT NULL' END);
COMMENT ON FUNCTION @extschema@._stay_levels_sql(text, boolean) IS
  'Internal: the risky-stay rule (_stay_level) as SQL over a query of stays (person_id, id, at, place, venue): each risky stay with high, or with every_stay each stay (high NULL when no medium- or high-risk designation in force at its time covers its place).';
REVOKE ALL ON FUNCTION @extschema@._stay_levels_sql(text, boolean) FROM PUBLIC;

-- The same over every stay, as one value: a reexamined_stays a person (in
-- id order) with each stay's level, what a re-examination of stays hands
-- to _recompute (changed_stays).
CREATE OR REPLACE FUNCTION @extschema@._stays_judged_sql(stays text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.format($q$
    SELECT ARRAY(
      SELECT ROW(r.person_id, array_agg(r.id), array_agg(r.at), array_agg(r.place),
                 array_agg(r.high), NULL)::@extschema@.reexamined_stays
        FROM (%s) r
       GROUP BY r.person_id
       ORDER BY r.person_id)$q$,
  @extschema@._stay_levels_sql(stays, every_stay => true));
COMMENT ON FUNCTION @extschema@._stays_judged_sql(text) IS
  'Internal: the query (one reexamined_stays[] value, a person each, in id order) of the stays of a query of stays (person_id, id, at, place, venue), each with its level by _stay_levels_sql.';
REVOKE ALL ON FUNCTION @extschema@._stays_judged_sql(text) FROM PUBLIC;

-- A person's stays, judged by the rule above. Which stays to judge: for a
-- few people, theirs since horizon (each day partition's index on
-- person_id); for many people close together in id order (the slices of a
-- large recalculation: everyone of a region, a batch of the work list),
-- every stay of the ids between the first and the last (one range of that
-- index a day partition, each stay read once over all the slices); for
-- many scattered people, only those in a place some designation's range
-- covers while it was in force (the index on place and time), far fewer
-- than all their stays when an area is upgraded.
CREATE OR REPLACE FUNCTION @extschema@._risky_stays_by(persons bigint[], horizon timestamptz, way text)
RETURNS TABLE (person_id bigint, id bigint, at timestamptz, place text, high boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer := coalesce(cardinality(persons), 0);
  lo bigint;
  hi bigint;
BEGIN
  SELECT min(q), max(q) INTO lo, hi FROM unnest(persons) q;
  way := coalesce(way, CASE WHEN n <= 200 THEN 'person' WHEN hi - lo < 20::bigint * n THEN 'range' ELSE 'place' END);
  IF way NOT IN ('person', 'range', 'place') THEN
    RAISE EXCEPTION 'way must be person, range or place, not %', quote_literal(way) USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE @extschema@._stay_levels_sql(CASE way
    WHEN 'person' THEN $s$
      SELECT t.person_id, t.id, t.at, t.place, t.venue
        FROM unnest($1) AS q(id)
        JOIN @extschema@.travel t ON t.person_id = q.id AND t.at >= $2$s$
    WHEN 'range' THEN $s$
      SELECT t.person_id, t.id, t.at, t.place, t.venue
        FROM @extschema@.travel t
       WHERE t.person_id >= $3 AND t.person_id <= $4 AND t.at >= $2
         AND t.person_id IN (SELECT unnest($1))$s$
    ELSE $s$
      SELECT DISTINCT t.person_id, t.id, t.at, t.place, t.venue
        FROM @extschema@.risk_area a
        JOIN @extschema@.travel t
          ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
         AND t.at >= GREATEST(a.effective_from, $2)
         AND (a.effective_until IS NULL OR t.at < a.effective_until)
       WHERE a.level <> 'low'
         AND t.person_id IN (SELECT unnest($1))$s$ END)
    USING persons, horizon, lo, hi;
END $$;
COMMENT ON FUNCTION @extschema@._risky_stays_by(bigint[], timestamptz, text) IS
  'Internal: _risky_stays, reading the stays the way given (person: each person''s by the person index; range: every stay of the ids between the first and the last; place: those in the designations'' places), or, with way NULL, the way that suits the people.';
REVOKE ALL ON FUNCTION @extschema@._risky_stays_by(bigint[], timestamptz, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._risky_stays(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, id bigint, at timestamptz, place text, high boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN QUERY SELECT * FROM @extschema@._risky_stays_by(persons, horizon, NULL);
END $$;
COMMENT ON FUNCTION @extschema@._risky_stays(bigint[], timestamptz) IS
  'Internal: the people''s stays since horizon in places covered by a medium- or high-risk designation in force at the time (high when any covering one was high).';
REVOKE ALL ON FUNCTION @extschema@._risky_stays(bigint[], timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._evidence(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, kind text, at timestamptz, until timestamptz, value integer,
               place text, ref bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.id, 'registered', p.registered_at, NULL::timestamptz, NULL::integer, NULL::text, p.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT s.person_id, CASE WHEN s.high THEN 'stay_high' ELSE 'stay_medium' END, s.at, NULL, NULL, s.place, s.id
    FROM @extschema@._risky_stays(persons, horizon) s
  UNION ALL
  SELECT r.person_id, CASE r.result WHEN 'positive' THEN 'positive_test' ELSE 'negative_test' END,
         r.sampled_at, NULL, NULL, NULL, r.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.test_result r ON r.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT c.person_id, CASE c.kind WHEN 'close' THEN 'close_contact' ELSE 'secondary_contact' END,
         c.exposure_at, NULL, NULL, NULL, c.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.contact c ON c.person_id OPERATOR(pg_catalog.=) q.id
   WHERE c.exposure_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT d.person_id, e.kind, d.declared_at, NULL, e.value, NULL, d.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.declaration d ON d.person_id OPERATOR(pg_catalog.=) q.id
    CROSS JOIN LATERAL (VALUES
      ('symptoms', NULL::integer, pg_catalog.cardinality(d.symptoms) OPERATOR(pg_catalog.>) 0),
      ('temperature', (d.temperature OPERATOR(pg_catalog.*) 10)::integer, d.temperature IS NOT NULL),
      ('declared_contact', NULL::integer, d.contact_with_case AND d.declared_at OPERATOR(pg_catalog.>=) horizon)
    ) AS e(kind, value, present)
   WHERE e.present
  UNION ALL
  SELECT k.person_id,
         CASE WHEN pg_catalog.cardinality(k.symptoms) OPERATOR(pg_catalog.>) 0 THEN 'checkin_symptoms' ELSE 'checkin' END,
         k.at, NULL, (k.temperature OPERATOR(pg_catalog.*) 10)::integer, NULL, k.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.checkin k ON k.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT v.person_id, 'vaccination', v.given_at, NULL, v.dose, NULL, v.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.vaccination v ON v.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  -- (the medicine as hc_medicine numbers it, its place in _medicines();
  -- the pharmacy's place)
  SELECT m.person_id, 'medicine_purchase', m.sold_at, NULL,
         pg_catalog.array_position(@extschema@._medicines(), m.medicine), m.place, m.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.medicine_sale m ON m.person_id OPERATOR(pg_catalog.=) q.id
   WHERE m.sold_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT f.person_id, 'finding', f.found_at, NULL, NULL, NULL, f.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.audit_finding f ON f.person_id OPERATOR(pg_catalog.=) q.id
   WHERE f.status OPERATOR(pg_catalog.<>) 'dismissed'
     AND f.found_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT p.id, 'pushed_red', r.since, r.until, NULL, r.from_region, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.red_push r ON r.national_subject OPERATOR(pg_catalog.=) p.national_subject
   WHERE r.from_region OPERATOR(pg_catalog.<>) p.region
     AND r.until OPERATOR(pg_catalog.>) r.since
  UNION ALL
  -- (mode 1: what another region shares about the person, read under this
  -- region's own policy: its red or yellow flag over the span it gives,
  -- its latest test, its doses, all given at the last dose's time)
  SELECT p.id, e.kind, e.at, e.until, NULL, e.place, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.health_share h ON h.national_subject OPERATOR(pg_catalog.=) p.national_subject
    CROSS JOIN LATERAL (VALUES
      (CASE h.colour WHEN 'red' THEN 'pushed_red' WHEN 'yellow' THEN 'pushed_yellow' END, h.since, h.valid_until,
       h.region, h.colour IN ('red', 'yellow') AND h.valid_until OPERATOR(pg_catalog.>) h.since),
      (CASE h.test_result WHEN 'positive' THEN 'positive_test' ELSE 'negative_test' END, h.tested_at, NULL,
       NULL, h.tested_at IS NOT NULL)
    ) AS e(kind, at, until, place, present)
   WHERE h.region OPERATOR(pg_catalog.<>) p.region AND e.present
  UNION ALL
  SELECT p.id, 'vaccination', h.last_dose_at, NULL, d.dose, NULL, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.health_share h ON h.national_subject OPERATOR(pg_catalog.=) p.national_subject
    CROSS JOIN LATERAL pg_catalog.generate_series(1, LEAST(h.doses, 10)) AS d(dose)
   WHERE h.region OPERATOR(pg_catalog.<>) p.region AND h.last_dose_at IS NOT NULL
  UNION ALL
  -- (an override's place: its order of recording among the person's
  -- decisions, for two starting at once: their own count, which the
  -- packed inputs may show, not the national chain's position; an erased
  -- person's tombstones are no one's evidence)
  SELECT m.person_id, CASE m.kind WHEN 'override' THEN 'override' ELSE 'release' END,
         m.valid_from, m.valid_until,
         CASE m.colour WHEN 'green' THEN 0 WHEN 'yellow' THEN 1 WHEN 'red' THEN 2 END,
         CASE m.kind WHEN 'override'
              THEN (pg_catalog.row_number() OVER (PARTITION BY m.person_id ORDER BY m.chain_seq))::text END, m.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.manual_decision m ON m.person_id OPERATOR(pg_catalog.=) q.id
   WHERE m.erased_at IS NULL;
END;
COMMENT ON FUNCTION @extschema@._evidence(bigint[], timestamptz) IS
  'Internal: every piece of evidence the status rules read for the people, as engine events (kind, at, until, value, place, ref). Windowed evidence (stays, contacts, a declared contact, findings: hc_event_windowed() in C) older than horizon is left out: it cannot change a colour any more.';
REVOKE ALL ON FUNCTION @extschema@._evidence(bigint[], timestamptz) FROM PUBLIC;

-- A fresh timeline for each person, from `start` on.
CREATE OR REPLACE FUNCTION @extschema@._fresh_status(persons bigint[], start timestamptz)
RETURNS TABLE (person_id bigint, region text, timeline @extschema@.status_timeline)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  WITH who AS MATERIALIZED (
    SELECT p.id, p.region
      FROM (SELECT DISTINCT q.id FROM pg_catalog.unnest(persons) AS q(id)) d
      JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) d.id
  ), policies AS MATERIALIZED (
    SELECT r.region, @extschema@._policy_versions(r.region) AS vec
      FROM (SELECT DISTINCT who.region FROM who) r
  )
  SELECT who.id, who.region,
         @extschema@._status_agg(e.kind, e.at, e.until, e.value, e.place, e.ref, v.vec, start)
    FROM who
    JOIN policies v ON v.region OPERATOR(pg_catalog.=) who.region
    -- in id order: each evidence table's index is then probed in order
    LEFT JOIN @extschema@._evidence(ARRAY(SELECT who.id FROM who ORDER BY who.id),
                                    @extschema@._evidence_horizon(start)) e
      ON e.person_id OPERATOR(pg_catalog.=) who.id
   GROUP BY who.id, who.region;
END;
COMMENT ON FUNCTION @extschema@._fresh_status(bigint[], timestamptz) IS
  'Internal: the status timeline of each person computed from the raw evidence and policy, from start on.';
REVOKE ALL ON FUNCTION @extschema@._fresh_status(bigint[], timestamptz) FROM PUBLIC;

-- A person's timeline after a risk-area change, from their stored inputs:
-- only stays' levels change with a risk area, so their inputs less the
-- re-examined stays, plus those still risky, are their whole evidence, and
-- no evidence table is read.
CREATE OR REPLACE FUNCTION @extschema@._status_from_stored_inputs(inputs bytea, stay_ids bigint[], stay_at timestamptz[],
                                             stay_place text[], stay_high boolean[],
                                             policy @extschema@.engine_policy[], start timestamptz, horizon timestamptz)
RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_from_stored_inputs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_from_stored_inputs(bytea, bigint[], timestamptz[], text[], boolean[], @extschema@.engine_policy[], timestamptz, timestamptz) IS
  'Internal: one person''s status timeline from start on after a risk-area change: their stored inputs less the windowed events before horizon and the re-examined stays (stay_ids), plus those stays still risky (stay_high true high, false medium, NULL none).';
REVOKE ALL ON FUNCTION @extschema@._status_from_stored_inputs(bytea, bigint[], timestamptz[], text[], boolean[], @extschema@.engine_policy[], timestamptz, timestamptz) FROM PUBLIC;

-- Retention (80_retention.sql) looks for the stored inputs that still hold
-- evidence the tables no longer keep, and recalculates their people.
CREATE OR REPLACE FUNCTION @extschema@._inputs_hold_expired(inputs bytea, horizon timestamptz, kept_from timestamptz)
RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_inputs_hold_expired' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._inputs_hold_expired(bytea, timestamptz, timestamptz) IS
  'Internal: whether packed status inputs hold evidence too old to change a colour: windowed before horizon, or of a kind that expires before kept_from.';
REVOKE ALL ON FUNCTION @extschema@._inputs_hold_expired(bytea, timestamptz, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._inputs_kept(inputs bytea, horizon timestamptz, kept_from timestamptz)
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_inputs_kept' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._inputs_kept(bytea, timestamptz, timestamptz) IS
  'Internal: packed status inputs less the evidence too old to change a colour (windowed before horizon, expiring before kept_from).';
REVOKE ALL ON FUNCTION @extschema@._inputs_kept(bytea, timestamptz, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._recompute(persons bigint[], cause text, exclusive boolean DEFAULT false,
                                       changed_stays @extschema@.reexamined_stays[] DEFAULT NULL,
                                       changed_at timestamptz DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
-- each person's evidence is aggregated in memory: room for big batches
SET work_mem = '64MB'
-- a stored row is updated where it was read (cur.row_id) but found by its
-- key, with the address as a filter: a TID scan below a nested loop asks
-- the kernel for the table's size at every rescan (an lseek a person: 3.3
-- against 1.7 us a row for the key's probe, 5 % of a batch's time in
-- `perf`). Functions called from here that want TID scans say so.
SET enable_tidscan = off
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  -- when this call writes its history entries, once the rows are locked:
  -- one instant for all of them (a stamp a row would time the rows written
  -- before it, other regions' among them); later calls are later
  written timestamptz;
  -- when a colour change counts from: the change on the work list a worker
  -- recalculates for, as readers saw it meanwhile (66_status_work.sql)
  changed timestamptz := coalesce(changed_at, t);
  horizon timestamptz;
  -- the designations, packed, for re-examined stays not judged yet
  designations bytea;
  batch integer;
  -- a risk-area change's people with stored inputs, recomputed from those
  -- without locking their rows first (see below)
  lockless boolean := changed_stays IS NOT NULL AND NOT exclusive;
  everyone bigint[];
  rest bigint[];
  again boolean := false;
  n integer := 0;
  written_now integer;
  i integer;
  step regprocedure;
BEGIN
  -- (nobody: nothing to look up, the common case of a write of evidence
  -- that can change no colour)
  IF coalesce(cardinality(persons), 0) = 0 THEN
    RETURN 0;
  END IF;
  horizon := @extschema@._evidence_horizon(t);
  batch := @extschema@._recalc_setting('batch_size');
  -- each person once, in id order (the order of every index probed below;
  -- the people of re-examined stays come so, one a stays row)
  IF changed_stays IS NULL THEN
    persons := ARRAY(SELECT DISTINCT q.id FROM unnest(persons) AS q(id) WHERE q.id IS NOT NULL ORDER BY q.id);
  ELSE
    persons := ARRAY(SELECT (unnest(changed_stays)).person_id);
  END IF;
  -- Memory is bounded by the batch, not by how many people there are: a
  -- larger set goes through in slices (no plan holds all of them at once).
  IF cardinality(persons) > batch THEN
    n := 0;
    FOR i IN 0 .. (cardinality(persons) - 1) / batch LOOP
      n := n + @extschema@._recompute(persons[i * batch + 1 : (i + 1) * batch], cause, exclusive,
                                      changed_stays[i * batch + 1 : (i + 1) * batch], changed_at);
    END LOOP;
    RETURN n;
  END IF;
  -- People a change on the work list has yet to recalculate get that
  -- change first, dated at its time and under its cause, as its worker
  -- would (66_status_work.sql): this recalculation then records only what
  -- the caller's own change brings.
  IF changed_at IS NULL AND @extschema@._work_pending() THEN
    PERFORM @extschema@._settle_pending(persons);
  END IF;
  everyone := persons;
  IF changed_stays IS NOT NULL THEN
    designations := @extschema@._designations();
  END IF;
  -- Two passes at most. A risk-area change's people with stored inputs
  -- first, without locking their rows: their timelines come from those
  -- rows alone, each row is updated where it was read (by its address),
  -- and history is written for the rows updated only. A row another
  -- transaction changed meanwhile is not updated (in READ COMMITTED the
  -- UPDATE finds it at another address, or gone) and goes to the second
  -- pass with the others: no stored row or no inputs (read from the
  -- evidence tables, which needs the lock's fresh snapshot). (Who else
  -- recalculates a person on the work list takes them off it first, so
  -- waits for this batch: _settle_pending.) A lock per row cost as much as
  -- the judging of the stays.
  LOOP
    -- Recalculations of the same person queue up here; the next statement
    -- takes a new snapshot, so (in READ COMMITTED) the later one sees the
    -- earlier one's evidence and no concurrent change is lost. A caller
    -- holding the evidence lock exclusively (exclusive) has no concurrent
    -- recalculation to queue behind: every other one holds it shared.
    IF NOT exclusive AND NOT lockless THEN
      PERFORM 1 FROM @extschema@.person_status s
        WHERE s.person_id = ANY (persons) ORDER BY s.person_id FOR UPDATE OF s;
    END IF;
    IF again THEN
      -- (the second pass reads rows written since this call began: a stored
      -- timeline is read from its computed_at on, never before)
      t := clock_timestamp();
      horizon := @extschema@._evidence_horizon(t);
      -- (and, for a work-list batch, the listed stays less those removed
      -- since it read them, by a transaction these locks may have waited
      -- for; whose stored inputs that removal's recalculation rewrote
      -- without them)
      IF changed_at IS NOT NULL THEN
        changed_stays := @extschema@._stays_kept(changed_stays, changed_at, keep_empty => true);
      END IF;
    END IF;
    written := clock_timestamp();

    -- (changed_stays is a constant of the custom plan: the branches of the other
    -- case are planned away)
    WITH cur AS MATERIALIZED (
      -- the stored rows: read at t, and where they lie (updated below by
      -- that: locked, no other recalculation can move them; lockless, a
      -- row moved meanwhile is left to the second pass, see above); after
      -- a risk-area change, with each person's re-examined stays (the
      -- status read at t and the stays taken apart here, once: later steps
      -- read plain columns, not rows built again for each person and taken
      -- apart field by field)
      SELECT q.row_id, q.person_id, q.region, q.stored_colour, q.stored_next, q.stored_valid_until,
             q.stored_inputs, (q.v).colour AS old_colour, (q.v).vaccinated AS old_vaccinated,
             (q.v).reasons AS old_reasons, (q.v).since AS old_since, (q.v).valid_until AS old_valid_until,
             (q.v).next AS old_next, q.stay_ids, q.stay_ats, q.stay_places, q.stay_highs, q.stay_venues
        FROM (SELECT s.ctid AS row_id, s.person_id, s.region, s.colour AS stored_colour, s.next AS stored_next,
                     s.valid_until AS stored_valid_until, s.inputs AS stored_inputs, @extschema@.status_at(s, t) AS v,
                     NULL::bigint[] AS stay_ids, NULL::timestamptz[] AS stay_ats, NULL::text[] AS stay_places,
                     NULL::boolean[] AS stay_highs, NULL::text[] AS stay_venues
                FROM @extschema@.person_status s
               WHERE s.person_id = ANY (persons) AND changed_stays IS NULL
              UNION ALL
              SELECT s.ctid, s.person_id, s.region, s.colour, s.next, s.valid_until, s.inputs,
                     @extschema@.status_at(s, t), x.ids, x.ats, x.places, x.highs, x.venues
                FROM @extschema@.person_status s
                JOIN unnest(changed_stays) AS x ON x.person_id = s.person_id
               WHERE changed_stays IS NOT NULL AND s.person_id = ANY (persons) AND (s.inputs IS NOT NULL OR NOT lockless)
                 -- (a work-list batch, lockless: not who lost a stay since
                 -- the change, as read with their row: the list may still
                 -- have it; they go to the second pass; one look at the
                 -- gone_at index first, nearly always nothing)
                 AND NOT (lockless AND changed_at IS NOT NULL
                          AND (SELECT EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g WHERE g.gone_at >= changed_at))
                          AND EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g
                                       WHERE g.person_id = s.person_id AND g.gone_at >= changed_at))
              OFFSET 0) q
    ), policies AS MATERIALIZED (
      -- (once a region, not once a person)
      SELECT r.region, @extschema@._policy_versions(r.region) AS vec
        FROM (SELECT DISTINCT c.region FROM cur c WHERE c.stored_inputs IS NOT NULL) r
    ), fresh AS (
      -- each person's new timeline beside their stored row (if any); from
      -- the evidence tables: everyone ...
      SELECT f.person_id, f.region, f.timeline, c.row_id, c.person_id IS NULL AS is_new, c.old_colour,
             c.old_vaccinated, c.old_reasons, c.old_since, c.old_valid_until, c.old_next, c.stored_colour,
             c.stored_next, c.stored_valid_until, c.stored_inputs
        FROM @extschema@._fresh_status(persons, t) f
        LEFT JOIN cur c ON c.person_id = f.person_id
       WHERE changed_stays IS NULL
      UNION ALL
      -- ... or, after a risk-area change, those without stored inputs ...
      SELECT f.person_id, f.region, f.timeline, c.row_id, c.person_id IS NULL, c.old_colour,
             c.old_vaccinated, c.old_reasons, c.old_since, c.old_valid_until, c.old_next, c.stored_colour,
             c.stored_next, c.stored_valid_until, c.stored_inputs
        FROM @extschema@._fresh_status(
               ARRAY(SELECT q.id FROM unnest(persons) AS q(id)
                      WHERE NOT EXISTS (SELECT 1 FROM cur c
                                         WHERE c.person_id = q.id AND c.stored_inputs IS NOT NULL)), t) f
        LEFT JOIN cur c ON c.person_id = f.person_id
       WHERE changed_stays IS NOT NULL AND NOT lockless
      UNION ALL
      -- ... and the others from their inputs and re-examined stays, judged
      -- here when they come unjudged (highs NULL: a batch of the work list)
      -- (a call a row, in a subquery kept apart: (f(...)).* would call f once
      -- a column)
      SELECT r.person_id, r.region, r.timeline, r.row_id, false, r.old_colour, r.old_vaccinated, r.old_reasons,
             r.old_since, r.old_valid_until, r.old_next, r.stored_colour, r.stored_next, r.stored_valid_until,
             r.stored_inputs
        FROM (SELECT c.person_id, c.region, c.row_id, c.old_colour, c.old_vaccinated, c.old_reasons, c.old_since,
                     c.old_valid_until, c.old_next, c.stored_colour, c.stored_next, c.stored_valid_until,
                     c.stored_inputs,
                     @extschema@._status_from_stored_inputs(c.stored_inputs, c.stay_ids, c.stay_ats, c.stay_places,
                       coalesce(c.stay_highs, @extschema@._stays_levels(designations, c.stay_places, c.stay_venues, c.stay_ats)),
                       v.vec, t, horizon) AS timeline
                FROM cur c
                JOIN policies v ON v.region = c.region
               WHERE c.stored_inputs IS NOT NULL
              OFFSET 0) r
       WHERE changed_stays IS NOT NULL
    ), changed AS MATERIALIZED (
      SELECT n.person_id, n.region, n.colour, n.vaccinated, n.reasons, n.valid_until, n.next, n.inputs,
             n.row_id, n.is_new, n.old_colour, n.old_since, n.stored_colour, n.stored_next, n.stored_valid_until
        FROM (SELECT f.person_id, f.region, (f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons,
                     (f.timeline).valid_until, (f.timeline).next, (f.timeline).inputs, f.row_id, f.is_new,
                     f.old_colour, f.old_vaccinated, f.old_reasons, f.old_since, f.old_valid_until, f.old_next,
                     f.stored_colour, f.stored_next, f.stored_valid_until, f.stored_inputs
                FROM fresh f
              OFFSET 0) n
       WHERE n.is_new
          OR n.colour <> n.old_colour OR n.vaccinated <> n.old_vaccinated
          OR n.valid_until <> n.old_valid_until OR n.reasons <> n.old_reasons
          OR n.next <> n.old_next OR n.inputs IS DISTINCT FROM n.stored_inputs
       -- (in id order: the UPDATE below reads it in this order, hashing the
       -- rows it fetches by address, and so locks them in the order every
       -- other writer of status rows locks them; waits then never go round
       -- in a circle, even in the lockless pass)
       ORDER BY n.person_id
    ), inserted AS (
      INSERT INTO @extschema@.person_status
             (person_id, region, colour, vaccinated, reasons, since, valid_until, next, computed_at, inputs)
      SELECT ch.person_id, ch.region, ch.colour, ch.vaccinated, ch.reasons, t, ch.valid_until, ch.next, t, ch.inputs
        FROM changed ch
       WHERE ch.is_new
      RETURNING person_id, region, colour, reasons
    ), updated AS (
      UPDATE @extschema@.person_status s
         SET region = ch.region, colour = ch.colour, vaccinated = ch.vaccinated, reasons = ch.reasons,
             since = CASE WHEN ch.colour <> ch.old_colour THEN changed ELSE ch.old_since END,
             valid_until = ch.valid_until, next = ch.next, computed_at = t, inputs = ch.inputs
        FROM changed ch
       -- (each row by its key, a probe a person, and only where it was
       -- read: a row moved meanwhile is not updated, see above. No
       -- "s.ctid = ANY (ARRAY(...))" beside it: on the probe's side that
       -- array is a filter, searched from its start for each row, which
       -- cost a batch of 5,000 a quarter of its time)
       WHERE s.ctid = ch.row_id AND s.person_id = ch.person_id AND NOT ch.is_new
      -- (with what history needs of the row written: history is written
      -- from these rows alone. Matched against `changed` instead, a CTE
      -- against a CTE estimated at one row each, it was a nested loop, each
      -- history row searching the rows written from their start: at 1,000
      -- people a third of the batch's time, growing with the square)
      RETURNING s.person_id, ch.region, ch.colour, ch.old_colour, ch.reasons, ch.stored_colour, ch.stored_next,
                ch.stored_valid_until
    ), elapsed AS (
      -- the stored timeline's colour changes that time has reached
      INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause, recorded_at)
      SELECT u.person_id, u.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time', written
        FROM updated u
        CROSS JOIN LATERAL @extschema@._elapsed_changes(u.stored_colour, u.stored_next, t) g
       WHERE u.stored_valid_until <= t   -- (else no later segment has begun)
    ), changes AS (
      INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause, recorded_at)
      SELECT h.person_id, h.region, h.at, h.old_colour, h.colour, h.reasons, cause, written
        FROM (SELECT i.person_id, i.region, t AS at, NULL::@extschema@.risk_colour AS old_colour, i.colour, i.reasons
                FROM inserted i
              UNION ALL
              SELECT u.person_id, u.region, changed, u.old_colour, u.colour, u.reasons
                FROM updated u
               WHERE u.colour <> u.old_colour
               ORDER BY 1) h
    )
    SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated),
           -- (lockless: those left for the second pass, in id order; looked
           -- for only when the counts say some are)
           CASE WHEN lockless AND ((SELECT count(*) FROM cur) < cardinality(persons)
                                   OR (SELECT count(*) FROM updated) < (SELECT count(*) FROM changed)) THEN ARRAY(
             SELECT q.id FROM unnest(persons) AS q(id) WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE c.person_id = q.id)
             UNION
             SELECT ch.person_id FROM changed ch WHERE ch.person_id NOT IN (SELECT u.person_id FROM updated u)
             ORDER BY 1) END
      INTO written_now, rest;
    n := n + written_now;
    EXIT WHEN NOT lockless OR coalesce(cardinality(rest), 0) = 0;
    lockless := false;
    again := true;
    persons := rest;
    changed_stays := ARRAY(SELECT x FROM unnest(changed_stays) x WHERE x.person_id = ANY (rest) ORDER BY x.person_id);
  END LOOP;
  -- the steps later topics registered (federation publishes what changed)
  FOR step IN SELECT a.step FROM @extschema@.after_recompute a ORDER BY a.step::text LOOP
    EXECUTE format('SELECT %s($1)', step::regproc) USING everyone;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[], timestamptz) IS
  'Internal: recalculates the people''s status timelines from their evidence, set-based, in slices of healthcode.recalc_batch_size people; writes only rows that change (timeline or inputs), appends history for colour changes (and for changes time has reached in the old timeline). exclusive: the caller holds the evidence lock exclusively, so the rows need no lock first. changed_stays: the stays a risk-area change re-examined (one row a person, in id order; levels NULL: judged here); people with stored inputs are then recomputed from those, without a row lock first (a row another transaction rewrites meanwhile is recalculated again, locked). changed_at: when a colour change counts from (default: now). Returns how many status rows changed.';
REVOKE ALL ON FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[], timestamptz) FROM PUBLIC;

-- Evidence times lie in the health-code era (from 2019-12-01) and not in
-- the future beyond healthcode.clock_skew. (The trigger computes the
-- earliest and latest times itself: transition tables are visible only
-- inside the trigger function.)
CREATE OR REPLACE FUNCTION @extschema@._check_evidence_times(tbl text, col text, earliest timestamptz, latest timestamptz)
RETURNS void
  AS 'MODULE_PATHNAME', 'healthcode_check_evidence_times'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._check_evidence_times(text, text, timestamptz, timestamptz) IS
  'Internal: raises 22023, naming the table and column, when a statement''s new rows have a time before 2019-12-01 or beyond now + healthcode.clock_skew.';
REVOKE ALL ON FUNCTION @extschema@._check_evidence_times(text, text, timestamptz, timestamptz) FROM PUBLIC;

-- Concurrent writers. A trigger decides whom to recalculate from what its
-- snapshot shows, and cannot see another transaction's uncommitted rows: a
-- stay being imported while its area is designated high risk in another
-- transaction would be missed by both. So the statements whose meaning
-- depends on everyone's evidence (risk areas, policy) take this lock
-- exclusively, and every other evidence trigger takes it shared before it
-- looks: one side waits for the other to commit, and (READ COMMITTED) then
-- sees its rows.
CREATE OR REPLACE FUNCTION @extschema@._evidence_lock(exclusive boolean) RETURNS void
  AS 'MODULE_PATHNAME', 'healthcode_evidence_lock'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._evidence_lock(boolean) IS
  'Internal: the transaction-level lock that orders evidence triggers (shared) against risk-area and policy triggers (exclusive), so neither misses the other''s rows.';
REVOKE ALL ON FUNCTION @extschema@._evidence_lock(boolean) FROM PUBLIC;

-- The statement trigger of every evidence table with a person_id.
-- TG_ARGV[0]: the time column checked against the future; TG_ARGV[1]: a
-- column whose changes alone never matter (e.g. declaration.audited_at).
CREATE OR REPLACE FUNCTION @extschema@._evidence_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  ignored text := coalesce(TG_ARGV[1], '');
  earliest timestamptz;
  latest timestamptz;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('SELECT min(%1$I), max(%1$I) FROM new_rows', TG_ARGV[0]) INTO earliest, latest;
    PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, TG_ARGV[0], earliest, latest);
  END IF;
  IF TG_OP = 'INSERT' THEN
    persons := ARRAY(SELECT DISTINCT n.person_id FROM new_rows n);
  ELSIF TG_OP = 'UPDATE' THEN
    persons := ARRAY(
      SELECT n.person_id FROM new_rows n JOIN old_rows o USING (id)
       WHERE to_jsonb(n) - ignored <> to_jsonb(o) - ignored
      UNION
      SELECT o.person_id FROM new_rows n JOIN old_rows o USING (id)
       WHERE to_jsonb(n) - ignored <> to_jsonb(o) - ignored);
  ELSIF TG_OP = 'DELETE' THEN
    -- (evidence older than its retention rule keeps (80_retention.sql)
    -- changes no colour from now on, by the status engine's own rule:
    -- removing it recalculates nobody; apply_retention trims the stored
    -- inputs that still hold it)
    EXECUTE format('SELECT ARRAY(SELECT DISTINCT o.person_id FROM old_rows o WHERE $1 IS NULL OR o.%I >= $1)',
                   TG_ARGV[0])
       INTO persons
      USING (SELECT r.removes_before FROM @extschema@._retention_rules(statement_timestamp()) r
              WHERE r.tbl = TG_TABLE_NAME);
  ELSE -- TRUNCATE
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._evidence_changed() IS
  'Internal: AFTER STATEMENT trigger of evidence tables: checks new times are not in the future and recalculates exactly the people whose rows the statement touched.';
REVOKE ALL ON FUNCTION @extschema@._evidence_changed() FROM PUBLIC;

-- Travel: only stays in medium- or high-risk areas can change a colour, so
-- a bulk import of ordinary itineraries recalculates only the people with
-- a risky stay in it (_stay_levels_sql: hash joins, cheap for a
-- million-row COPY, where a join per row would not be).
CREATE OR REPLACE FUNCTION @extschema@._travel_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  horizon timestamptz;
  src text;
  earliest timestamptz;
  latest timestamptz;
  written bigint;
  w @extschema@.recalc_work;
  gone_src text;
  gone_persons bigint[];
  gone_all bigint[] := '{}';
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  IF TG_OP = 'TRUNCATE' THEN
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
    -- the day's stays listed for re-examination (below) are gone: all of
    -- them are visible here, as a TRUNCATE waits for any listing that read
    -- the partition, and a listing after it finds the day empty
    IF EXISTS (SELECT 1 FROM @extschema@.recalc_work x WHERE x.kind = 'risk_area') THEN
      WITH kept AS (
        INSERT INTO @extschema@.recalc_gone_stays AS g (stay_id, stay_at, person_id, gone_at)
        SELECT d.id, d.at, d.person_id, clock_timestamp()
          FROM (SELECT DISTINCT u.id, u.at, r.person_id
                  FROM @extschema@.recalc_pending r CROSS JOIN LATERAL unnest(r.stay_ids, r.stay_ats) AS u(id, at)
                 WHERE r.stay_ids IS NOT NULL
                   AND to_char(u.at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') = substr(TG_TABLE_NAME, length('travel_') + 1)) d
        ON CONFLICT ON CONSTRAINT recalc_gone_stays_pkey DO UPDATE SET gone_at = excluded.gone_at
        RETURNING g.person_id
      )
      SELECT ARRAY(SELECT DISTINCT k.person_id FROM kept k) INTO gone_all;
    END IF;
  ELSE
    IF TG_OP <> 'DELETE' THEN
      SELECT min(n.at), max(n.at), count(*) INTO earliest, latest, written FROM new_rows n;
      PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'at', earliest, latest);
    END IF;
    -- (the few rows of an app's call, a scan or a declared trip: when no
    -- medium- or high-risk designation in force at their times names their
    -- places, a division above them or their venue, none is risky, and a
    -- look by the designations' ranges of codes (_work_stays_sql's) costs a
    -- tenth of planning the rule's query for them; the horizon, a policy
    -- lookup, is asked only past this look)
    -- (nested: a DELETE's trigger has no new_rows to parse)
    IF TG_OP = 'INSERT' AND written <= 16 THEN
      IF NOT EXISTS (SELECT FROM new_rows n JOIN @extschema@.risk_area d
                       ON d.level <> 'low'
                      AND (n.place >= d.division AND n.place <= @extschema@.division_last(d.division)
                           OR d.venue::text = n.venue)
                      AND n.at >= d.effective_from AND (d.effective_until IS NULL OR n.at < d.effective_until)) THEN
        RETURN NULL;
      END IF;
    END IF;
    horizon := @extschema@._evidence_horizon(statement_timestamp());
    src := CASE TG_OP
      WHEN 'INSERT' THEN 'new_rows'
      WHEN 'DELETE' THEN 'old_rows'
      ELSE '(SELECT n.person_id, n.id, n.at, n.place, n.venue FROM new_rows n
             UNION ALL SELECT o.person_id, o.id, o.at, o.place, o.venue FROM old_rows o)'
    END;
    EXECUTE format('SELECT ARRAY(SELECT DISTINCT r.person_id FROM (%s) r)',
                   @extschema@._stay_levels_sql(format('SELECT s.person_id, s.id, s.at, s.place, s.venue FROM %s s WHERE s.at >= $1', src)))
      INTO persons USING horizon;
    -- A stay removed (deleted, or the old version of one updated where it
    -- was, when or whose, not only its region) while a risk-area change on
    -- the work list (66_status_work.sql) may have it listed for
    -- re-examination must not come back with the change's batch: it goes
    -- into recalc_gone_stays, which every read of listed stays leaves out
    -- (a row here cannot simply be taken off the list: a listing under way
    -- reads travel in its own snapshot, and lists the stay after this
    -- trigger has looked); and a batch that read the person's status row
    -- before this commits finds it rewritten (below). Its person is
    -- recalculated here, from all their evidence, whatever level the
    -- change gives the stay (their stored status may still count it at the
    -- old one); for a listed change, the change's part comes first
    -- (_settle_pending).
    IF TG_OP <> 'INSERT' THEN
      gone_src := CASE TG_OP WHEN 'DELETE' THEN 'old_rows'
        ELSE '(SELECT o.* FROM old_rows o
                WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                                   WHERE n.id = o.id AND n.person_id = o.person_id AND n.at = o.at
                                     AND n.place = o.place AND n.venue IS NOT DISTINCT FROM o.venue))' END;
      FOR w IN SELECT * FROM @extschema@.recalc_work x WHERE x.kind = 'risk_area' ORDER BY x.id LOOP
        EXECUTE format('WITH s AS (%s),
                             kept AS (INSERT INTO @extschema@.recalc_gone_stays AS g (stay_id, stay_at, person_id, gone_at)
                                      SELECT d.id, d.at, d.person_id, clock_timestamp()
                                        FROM (SELECT DISTINCT s.id, s.at, s.person_id FROM s) d
                                      ON CONFLICT ON CONSTRAINT recalc_gone_stays_pkey DO UPDATE SET gone_at = excluded.gone_at)
                        SELECT ARRAY(SELECT DISTINCT s.person_id FROM s)',
                       @extschema@._work_stays_sql('', gone_src))
          INTO gone_persons USING w.areas, w.horizon;
        persons := persons || gone_persons;
        gone_all := gone_all || gone_persons;
      END LOOP;
    END IF;
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  -- Their status rows rewritten as they are: a batch that read one before
  -- this commits, with the stays then listed, finds it moved and takes
  -- that person again, locked, with the stays left (_recompute); after, it
  -- sees them gone. (No lock to take first: the recalculation above holds
  -- every one of them, so the order of this update's locks cannot matter.)
  IF cardinality(gone_all) > 0 THEN
    UPDATE @extschema@.person_status s SET computed_at = s.computed_at WHERE s.person_id = ANY (gone_all);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._travel_changed() IS
  'Internal: AFTER STATEMENT trigger of travel and its day partitions: recalculates the people whose new or removed stays fall in a medium- or high-risk area within the window.';
REVOKE ALL ON FUNCTION @extschema@._travel_changed() FROM PUBLIC;

-- Risk areas: the stays, within the window, in a place the old or new
-- designation covers while it was in force (_work_stays_sql); only their
-- levels can change, so they are re-examined against every designation and
-- their people recomputed from their stored inputs
-- (_status_from_stored_inputs).
CREATE OR REPLACE FUNCTION @extschema@._stays_in_changed_areas(areas @extschema@.risk_area[], horizon timestamptz)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  result @extschema@.reexamined_stays[];
BEGIN
  EXECUTE @extschema@._stays_judged_sql(
            format('SELECT DISTINCT s.person_id, s.id, s.at, s.place, s.venue FROM (%s) s', @extschema@._work_stays_sql('')))
    INTO result USING areas, horizon;
  RETURN result;
END $$;
COMMENT ON FUNCTION @extschema@._stays_in_changed_areas(@extschema@.risk_area[], timestamptz) IS
  'Internal: the stays since horizon in a place one of the designations covers while it was in force, each person''s with the level every designation in force at its time gives each now.';
REVOKE ALL ON FUNCTION @extschema@._stays_in_changed_areas(@extschema@.risk_area[], timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._risk_area_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  areas @extschema@.risk_area[];
  cause text := @extschema@._cause(TG_TABLE_NAME, TG_OP);
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM @extschema@._recalc_changed('everyone', NULL, NULL, cause);
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    areas := ARRAY(SELECT n FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    areas := ARRAY(SELECT o FROM old_rows o);
  ELSE
    areas := ARRAY(SELECT n FROM new_rows n UNION ALL SELECT o FROM old_rows o);
  END IF;
  -- here, or on the work list when it concerns many (66_status_work.sql)
  PERFORM @extschema@._recalc_changed('risk_area', areas, NULL, cause);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._risk_area_changed() IS
  'Internal: AFTER STATEMENT trigger of risk_area: re-examines the stays the old or new designation covers and recalculates their people (here, or through the work list when they are many).';
REVOKE ALL ON FUNCTION @extschema@._risk_area_changed() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._policy_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  regions text[];
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'INSERT' THEN
    regions := ARRAY(SELECT n.region FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    regions := ARRAY(SELECT o.region FROM old_rows o);
  ELSIF TG_OP = 'UPDATE' THEN
    regions := ARRAY(SELECT n.region FROM new_rows n UNION SELECT o.region FROM old_rows o);
  ELSE
    regions := ARRAY['000000'];
  END IF;
  PERFORM @extschema@._recalc_changed('policy', NULL, regions, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_changed() IS
  'Internal: AFTER STATEMENT trigger of policy: recalculates everyone in the regions the changed versions govern (here, or through the work list when they are many).';
REVOKE ALL ON FUNCTION @extschema@._policy_changed() FROM PUBLIC;

-- People: a new person gets a first status; a move to another region (or a
-- corrected registration time) changes the governing policy, and their
-- history moves with them.
CREATE OR REPLACE FUNCTION @extschema@._person_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- history follows a person by id (it has no foreign key to cascade)
    IF EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)) THEN
      RAISE EXCEPTION 'person.id cannot change' USING ERRCODE = '55000',
        DETAIL = 'A person''s id is how their evidence, status and history find them; register a new person instead.';
    END IF;
    UPDATE @extschema@.status_history h SET region = n.region
      FROM new_rows n JOIN old_rows o USING (id)
     WHERE h.person_id = n.id AND n.region <> o.region;
    -- re-keyed (a person adopted from the hub, _rekey_adopted): the digest
    -- published under the old pseudonym goes; the recalculation below
    -- publishes it under the new one
    DELETE FROM @extschema@.status_digest d USING new_rows n JOIN old_rows o USING (id)
     WHERE n.subject <> o.subject AND d.region = o.region AND d.subject = o.subject;
  END IF;
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'registered_at', min(n.registered_at), max(n.registered_at))
     FROM new_rows n;
  IF TG_OP = 'INSERT' THEN
    PERFORM @extschema@._recompute(ARRAY(SELECT n.id FROM new_rows n), @extschema@._cause(TG_TABLE_NAME, TG_OP));
  ELSE
    PERFORM @extschema@._recompute(
      ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o USING (id)
             WHERE n.region <> o.region OR n.registered_at <> o.registered_at OR n.subject <> o.subject
                -- (a national pseudonym known at last brings the reds and
                -- health data other regions pushed and shared for it)
                OR n.national_subject IS DISTINCT FROM o.national_subject),
      @extschema@._cause(TG_TABLE_NAME, TG_OP));
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_changed() IS
  'Internal: AFTER STATEMENT trigger of person: a first status for new people; for people whose region or registration time changed, their history''s region and a recalculation; for people re-keyed, their digest under the old pseudonym deleted and a recalculation; a recalculation too for those whose national pseudonym changed (other regions'' reds and shared data). Refuses a change of id.';
REVOKE ALL ON FUNCTION @extschema@._person_changed() FROM PUBLIC;

-- The days a call to make day partitions may ask for (this file's and
-- 80_retention_days.sql's), or 22023.
CREATE OR REPLACE FUNCTION @extschema@._require_day_span(first_day date, last_day date) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT isfinite(first_day) OR NOT isfinite(last_day) THEN
    RAISE EXCEPTION 'first_day and last_day must be finite days' USING ERRCODE = '22023';
  END IF;
  IF first_day < date '2019-12-01' THEN
    RAISE EXCEPTION 'first_day % lies before the health-code era (2019-12-01)', first_day
      USING ERRCODE = '22023';
  END IF;
  IF last_day - first_day > 3660 THEN
    RAISE EXCEPTION '% days asked for; at most ten years at a time', last_day - first_day + 1
      USING ERRCODE = '22023';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._require_day_span(date, date) IS
  'Internal: 22023 unless first_day..last_day are finite days of the health-code era (from 2019-12-01), at most ten years.';
REVOKE ALL ON FUNCTION @extschema@._require_day_span(date, date) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.create_travel_partitions(first_day date DEFAULT NULL, last_day date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (the partition bounds are written as text: in a form that reads back as
-- the same instant whatever the caller's DateStyle and TimeZone)
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
AS $$
DECLARE
  d date;
  name text;
  made integer := 0;
  missing integer;
  schema_name text := '@extschema@';
BEGIN
  -- (by default every day kept, whatever the data: 80_retention.sql)
  first_day := coalesce(first_day, @extschema@._travel_first_day());
  last_day := coalesce(last_day, (now() AT TIME ZONE 'Asia/Shanghai')::date + 7);
  PERFORM @extschema@._require_day_span(first_day, last_day);
  -- missing days: first by a worker, in a transaction of its own; what it
  -- could not make (or when it cannot be used) is made below, here
  missing := (SELECT count(*) FROM generate_series(first_day, last_day, interval '1 day') g
               WHERE to_regclass(format('%I.%I', schema_name, 'travel_' || to_char(g, 'YYYYMMDD'))) IS NULL);
  IF missing > 0 AND @extschema@._create_travel_partitions_apart(first_day, last_day) THEN
    made := missing - (SELECT count(*) FROM generate_series(first_day, last_day, interval '1 day') g
                        WHERE to_regclass(format('%I.%I', schema_name, 'travel_' || to_char(g, 'YYYYMMDD'))) IS NULL);
  END IF;
  FOR d IN SELECT g::date FROM generate_series(first_day, last_day, interval '1 day') g LOOP
    name := 'travel_' || to_char(d, 'YYYYMMDD');
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, name)) IS NOT NULL;
    -- Made here (no worker): a new partition locks travel (ACCESS
    -- EXCLUSIVE) and, for its foreign key, person (SHARE ROW EXCLUSIVE)
    -- until the transaction ends. Taken in the other order that deadlocks
    -- with a move, whose cascade writes travel while it holds person. So
    -- person first, then travel: whoever holds either finishes first. The
    -- lock on travel also serialises concurrent creators and, being a
    -- relation lock, makes this session see a partition another one has
    -- just committed (an advisory lock would not: 42P07).
    LOCK TABLE @extschema@.person IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE @extschema@.travel IN ACCESS EXCLUSIVE MODE;
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, name)) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.travel FOR VALUES FROM (%L) TO (%L)',
                   schema_name, name, schema_name,
                   d::timestamp AT TIME ZONE 'Asia/Shanghai', (d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai');
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I UNIQUE (person_id, region, at, place, source)',
                   schema_name, name, name || '_natural_key');
    -- who stayed in an area, and when: read from the index alone (with the
    -- person, the record and the venue, all a risk-area change lists and
    -- asks of a stay: _work_stays_sql), as such a change asks it of many
    -- people. A district's stays lie one to a heap block among everyone
    -- else's: read from the heap, listing 10,000 people's took 0.3 s of
    -- block reads at 1,000,000 people, from this index 25 ms
    EXECUTE format('CREATE INDEX %I ON %I.%I (place, at) INCLUDE (person_id, id, venue)',
                   name || '_place_at', schema_name, name);
    EXECUTE format('CREATE INDEX %I ON %I.%I (id)', name || '_id', schema_name, name);
    -- who scanned a venue around a time (exposure tracing, 84_exposures.sql:
    -- a venue is its id at its place), from the index alone
    EXECUTE format('CREATE INDEX %I ON %I.%I (venue, place, at) INCLUDE (person_id, region) WHERE source = %L',
                   name || '_venue_at', schema_name, name, 'venue_scan');
    -- once a person, venue and minute (scan_venue, import_scans): a rule the
    -- table keeps, so that a scan needs no look before it writes (ON
    -- CONFLICT DO NOTHING); a stay naming no venue is never a duplicate
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (person_id, venue, place, date_trunc(%L, at AT TIME ZONE %L)) WHERE source = %L',
                   name || '_scan_minute', schema_name, name, 'minute', 'UTC', 'venue_scan');
    -- statement triggers fire for the table a statement names: a write
    -- straight into a partition must recalculate as one through travel does
    EXECUTE format('CREATE TRIGGER travel_inserted AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_updated AFTER UPDATE ON %I.%I
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_deleted AFTER DELETE ON %I.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_truncated AFTER TRUNCATE ON %I.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, name,
                   format('Travel records of %s (China Standard Time); dropped by drop_expired_travel_partitions().', d));
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;
COMMENT ON FUNCTION @extschema@.create_travel_partitions(date, date) IS
  'Creates the missing day partitions travel_YYYYMMDD for the days first_day..last_day (default: from the first day kept, see retention_plan(), to a week ahead: every day, whatever the data, so that which partitions exist tells nothing); returns how many it made.';
REVOKE ALL ON FUNCTION @extschema@.create_travel_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_travel_partitions(date, date) TO healthcode_admin;

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
CREATE OR REPLACE FUNCTION @extschema@._audit_findings(declarations bigint[])
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

CREATE OR REPLACE FUNCTION @extschema@.audit(person_id bigint DEFAULT NULL, region text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION @extschema@.review_finding(finding_id bigint, decision text, reason text)
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

-- ---- which people a change concerns ------------------------------------------

-- Stays a risk-area change re-examines: within the window, in a place one
-- of the designations covers while it was in force (from the (place, at)
-- index alone). One definition for the listing, the readers' check, the
-- stays a deletion takes from a listing (from its transition table) and
-- the designating statement's count of them (_recalc_touched: one area at
-- a time, areas '(SELECT ($1).*)' with $1 the area, a subquery the planner
-- flattens, so that the area's bounds are constants of the index scan).
CREATE OR REPLACE FUNCTION @extschema@._work_stays_sql(person_filter text, stays text DEFAULT '@extschema@.travel',
                                           areas text DEFAULT 'unnest($1)') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'SELECT t.person_id, t.id, t.at, t.place, t.venue
          FROM ' OPERATOR(pg_catalog.||) areas OPERATOR(pg_catalog.||) ' a
          JOIN ' OPERATOR(pg_catalog.||) stays OPERATOR(pg_catalog.||) ' t
            ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
           AND (a.venue IS NULL OR t.venue = a.venue::text)
           AND t.at >= GREATEST(a.effective_from, $2)
           AND (a.effective_until IS NULL OR t.at < a.effective_until) ' OPERATOR(pg_catalog.||) person_filter;
COMMENT ON FUNCTION @extschema@._work_stays_sql(text, text, text) IS
  'Internal: the query of the stays (person_id, id, at, place, venue) of travel (or of the relation named by stays) in the designations $1 (or those areas yields) while each was in force, since horizon $2, with a filter on t appended.';
REVOKE ALL ON FUNCTION @extschema@._work_stays_sql(text, text, text) FROM PUBLIC;

-- The ids of part `part` (from 0) of `parts`: the range of ids row-secured
-- tables draw from ([2^62, 2^63), 25_pseudonyms.sql: their sequence under a
-- permutation, so spread evenly) cut in equal ranges, the first taking
-- every id below and the last every id above. A range, not the ids equal
-- to the part modulo parts: two workers listing their parts at once then
-- fill different pages of the list's primary key, where with every other
-- id each filled every page beside the other (4.6 against 4.2 s at
-- 1,000,000 people), and each starts its batches where no other worker
-- takes its own (_recalc_step).
CREATE OR REPLACE FUNCTION @extschema@._part_ids(part integer, parts integer, OUT first_id bigint, OUT last_id bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  -- (OPERATOR() binds as any operator, left to right: bracketed)
  SELECT CASE WHEN _part_ids.part OPERATOR(pg_catalog.<=) 0 THEN -9223372036854775808
              ELSE 4611686018427387904 OPERATOR(pg_catalog.+)
                   (_part_ids.part::bigint OPERATOR(pg_catalog.*) (4611686018427387904 OPERATOR(pg_catalog./) _part_ids.parts)) END,
         CASE WHEN _part_ids.part OPERATOR(pg_catalog.>=) (_part_ids.parts OPERATOR(pg_catalog.-) 1) THEN 9223372036854775807
              ELSE 4611686018427387903 OPERATOR(pg_catalog.+)
                   ((_part_ids.part OPERATOR(pg_catalog.+) 1)::bigint
                    OPERATOR(pg_catalog.*) (4611686018427387904 OPERATOR(pg_catalog./) _part_ids.parts)) END;
END;
COMMENT ON FUNCTION @extschema@._part_ids(integer, integer) IS
  'Internal: the first and last id (inclusive) of part part (from 0) of parts in which a change''s people are listed: [2^62, 2^63) in equal ranges, the first part from the smallest bigint, the last to the largest.';
REVOKE ALL ON FUNCTION @extschema@._part_ids(integer, integer) FROM PUBLIC;

-- Everyone a change concerns whose id is in part `part` of w.parts:
-- listed once by a worker, set-based; the last part listed marks the
-- change listed.
CREATE OR REPLACE FUNCTION @extschema@._list_work(w @extschema@.recalc_work, part integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- (the stays are sorted by person: in memory, for a district)
SET work_mem = '64MB'
AS $$
DECLARE
  n bigint;
  ids record := @extschema@._part_ids(part, w.parts);
BEGIN
  IF w.kind = 'risk_area' THEN
    -- one pass over the areas' stays (the (place, at) index), each
    -- person's kept with them: a batch re-examines them without reading
    -- travel again (per person, that would be an index probe a day
    -- partition; per area, a scan of it all for every batch)
    -- (sorted by person, the order the list's primary key is filled in;
    -- the three arrays agree, as one aggregation fills them in the order
    -- it is fed, with no sort of its own a person and an array; a stay two
    -- designations cover (an updated one: old and new) made distinct)
    -- (a part's people are kept after the stays are found, past a fence:
    -- a filter on the person pushed into the scan of the areas' stays made
    -- the planner read every stay instead, 6 s for 10,000 people of two
    -- districts among 10,000,000 stays)
    EXECUTE format('INSERT INTO @extschema@.recalc_pending (work_id, person_id, stay_ids, stay_ats, stay_places, stay_venues)
                    SELECT $3, s.person_id, array_agg(s.id), array_agg(s.at), array_agg(s.place), array_agg(s.venue)
                      FROM (SELECT %s x.person_id, x.id, x.at, x.place, x.venue FROM (%s) x
                             ORDER BY x.person_id, x.id) s
                     GROUP BY s.person_id',
                   CASE WHEN cardinality(w.areas) > 1 THEN 'DISTINCT' ELSE '' END,
                   CASE WHEN w.parts = 1 THEN @extschema@._work_stays_sql('')
                        ELSE format('SELECT y.* FROM (%s OFFSET 0) y WHERE y.person_id BETWEEN $4 AND $5',
                                    @extschema@._work_stays_sql('')) END)
      USING w.areas, w.horizon, w.id, ids.first_id, ids.last_id;
  ELSIF w.kind = 'policy' THEN
    INSERT INTO @extschema@.recalc_pending (work_id, person_id)
    SELECT DISTINCT w.id, p.id
      FROM unnest(w.regions) r(code)
      JOIN @extschema@.person p ON p.region >= r.code AND p.region <= @extschema@.division_last(r.code)
     WHERE p.id BETWEEN ids.first_id AND ids.last_id;
  ELSE
    -- (everyone, and a consistency check)
    INSERT INTO @extschema@.recalc_pending (work_id, person_id)
    SELECT w.id, p.id FROM @extschema@.person p WHERE p.id BETWEEN ids.first_id AND ids.last_id;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- (the row as it is now: another worker may have listed a part since w
  -- was read, and this waits for its transaction)
  UPDATE @extschema@.recalc_work x
     SET parts_done = x.parts_done || part, people = coalesce(x.people, 0) + n,
         listed_at = CASE WHEN cardinality(x.parts_done) + 1 >= x.parts THEN clock_timestamp() END
   WHERE x.id = w.id;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._list_work(@extschema@.recalc_work, integer) IS
  'Internal: lists the people a change concerns whose id is in part part of its parts (_part_ids) in recalc_pending, and marks the change listed with its last part; returns how many.';
REVOKE ALL ON FUNCTION @extschema@._list_work(@extschema@.recalc_work, integer) FROM PUBLIC;

-- Whether a change still has to recalculate a person: once listed, their
-- row in recalc_pending; before, the listing's question asked for that one
-- person, from their own rows.
CREATE OR REPLACE FUNCTION @extschema@._work_concerns(w @extschema@.recalc_work, person_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  found_one boolean;
BEGIN
  IF w.listed_at IS NOT NULL THEN
    RETURN EXISTS (SELECT 1 FROM @extschema@.recalc_pending r
                    WHERE r.work_id = w.id AND r.person_id = _work_concerns.person_id);
  ELSIF w.kind IN ('everyone', 'check') THEN
    RETURN true;
  ELSIF w.kind = 'policy' THEN
    RETURN EXISTS (SELECT 1 FROM @extschema@.person p, unnest(w.regions) r(code)
                    WHERE p.id = _work_concerns.person_id
                      AND p.region >= r.code AND p.region <= @extschema@.division_last(r.code));
  END IF;
  EXECUTE format('SELECT EXISTS (%s)', @extschema@._work_stays_sql('WHERE t.person_id = $3'))
    INTO found_one USING w.areas, w.horizon, person_id;
  RETURN found_one;
END $$;
COMMENT ON FUNCTION @extschema@._work_concerns(@extschema@.recalc_work, bigint) IS
  'Internal: whether a change on the work list still has to recalculate (or check) a person: listed, by their row in recalc_pending; not yet, by their own rows.';
REVOKE ALL ON FUNCTION @extschema@._work_concerns(@extschema@.recalc_work, bigint) FROM PUBLIC;

-- The rows of some people of a listed change, each found by the whole key
-- (a probe a person, in a subquery kept apart). Asked as `r.person_id =
-- ANY (persons)` beside the change, the key's second column was planned
-- as a filter over every row of the change whenever the list's statistics
-- predated its listing, as they do until autovacuum analyzes it: a one-row
-- import then took 0.35-0.45 s at 1,000,000 people listed, against a
-- batch of 0.2-0.3 s. (A SQL body without SET: inlined where it is read.)
CREATE OR REPLACE FUNCTION @extschema@._listed_rows(work_id bigint, persons bigint[])
RETURNS TABLE (row_id tid, person_id bigint, stay_ids bigint[], stay_ats timestamptz[], stay_places text[],
               stay_venues text[])
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT r.row_id, r.person_id, r.stay_ids, r.stay_ats, r.stay_places, r.stay_venues
    FROM (SELECT DISTINCT q.id FROM unnest(_listed_rows.persons) AS q(id)) p
    CROSS JOIN LATERAL (SELECT x.ctid AS row_id, x.person_id, x.stay_ids, x.stay_ats, x.stay_places, x.stay_venues
                          FROM @extschema@.recalc_pending x
                         WHERE x.work_id OPERATOR(pg_catalog.=) _listed_rows.work_id
                           AND x.person_id OPERATOR(pg_catalog.=) p.id
                        OFFSET 0) r;
END;
COMMENT ON FUNCTION @extschema@._listed_rows(bigint, bigint[]) IS
  'Internal: the persons'' rows of a change in recalc_pending (row_id: where each lies), each looked up by the primary key.';
REVOKE ALL ON FUNCTION @extschema@._listed_rows(bigint, bigint[]) FROM PUBLIC;

-- The stays of some people a risk-area change concerns, as its listing
-- keeps them (levels not judged yet): from recalc_pending once listed,
-- else from travel, person by person (for a few people only).
CREATE OR REPLACE FUNCTION @extschema@._work_stays_of(w @extschema@.recalc_work, persons bigint[])
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  result @extschema@.reexamined_stays[];
BEGIN
  IF w.listed_at IS NOT NULL THEN
    RETURN ARRAY(SELECT ROW(r.person_id, r.stay_ids, r.stay_ats, r.stay_places, NULL, r.stay_venues)::@extschema@.reexamined_stays
                   FROM @extschema@._listed_rows(w.id, persons) r
                  WHERE r.stay_ids IS NOT NULL
                  ORDER BY r.person_id);
  END IF;
  EXECUTE format('SELECT ARRAY(SELECT ROW(s.person_id, array_agg(s.id ORDER BY s.id), array_agg(s.at ORDER BY s.id),
                                         array_agg(s.place ORDER BY s.id), NULL,
                                         array_agg(s.venue ORDER BY s.id))::@extschema@.reexamined_stays
                                FROM (SELECT DISTINCT x.person_id, x.id, x.at, x.place, x.venue FROM (%s) x) s
                               GROUP BY s.person_id ORDER BY s.person_id)',
                 @extschema@._work_stays_sql('WHERE t.person_id = ANY ($3)'))
    INTO result USING w.areas, w.horizon, persons;
  RETURN result;
END $$;
COMMENT ON FUNCTION @extschema@._work_stays_of(@extschema@.recalc_work, bigint[]) IS
  'Internal: the persons'' stays a risk-area change concerns (one row a person, levels not judged): as listed, or from travel before the change is listed.';
REVOKE ALL ON FUNCTION @extschema@._work_stays_of(@extschema@.recalc_work, bigint[]) FROM PUBLIC;

-- The days of listed stays (Asia/Shanghai, as travel's day partitions are
-- cut), distinct and in order: in C, a batch's stays at once.
CREATE OR REPLACE FUNCTION @extschema@._stays_days(listed @extschema@.reexamined_stays[]) RETURNS date[]
  AS 'MODULE_PATHNAME', 'healthcode_stays_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._stays_days(@extschema@.reexamined_stays[]) IS
  'Internal: the days (Asia/Shanghai) of the listed stays, distinct and in order.';
REVOKE ALL ON FUNCTION @extschema@._stays_days(@extschema@.reexamined_stays[]) FROM PUBLIC;

-- Listed stays less those gone since they were listed: those whose day
-- partition was dropped (a DROP fires no trigger), and those deleted,
-- updated or truncated while a change on the list may hold them
-- (recalc_gone_stays, left by _travel_changed) since the change that
-- listed them was made (made_at: its created_at; one gone before was not
-- there to be listed, and an updated stay keeps its id; at the same instant
-- left out, which only costs the person a recalculation from all their
-- evidence). The one way
-- listed stays are read, by batches and readers alike; their levels are
-- judged where they are used (_recompute, _stays_judged).
-- keep_empty: a person left with none keeps a row, with empty arrays.
-- (Levels come back NULL, as listed: judged where they are used.)
CREATE OR REPLACE FUNCTION @extschema@._stays_kept(listed @extschema@.reexamined_stays[], made_at timestamptz,
                                        keep_empty boolean DEFAULT false)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  gone_days date[];
BEGIN
  -- (each day looked up once)
  gone_days := ARRAY(
    SELECT d.day
      FROM unnest(@extschema@._stays_days(listed)) AS d(day)
     WHERE to_regclass(format('%I.%I', '@extschema@', 'travel_' || to_char(d.day, 'YYYYMMDD'))) IS NULL);
  -- (nearly always neither)
  IF cardinality(gone_days) = 0 AND NOT EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g WHERE g.gone_at >= made_at) THEN
    RETURN listed;
  END IF;
  RETURN ARRAY(
    SELECT ROW(x.person_id, coalesce(k.ids, '{}'), coalesce(k.ats, '{}'), coalesce(k.places, '{}'), NULL,
               coalesce(k.venues, '{}'))::@extschema@.reexamined_stays
      FROM unnest(listed) x
      CROSS JOIN LATERAL (
        SELECT array_agg(u.id) AS ids, array_agg(u.at) AS ats, array_agg(u.place) AS places, array_agg(u.venue) AS venues
          FROM unnest(x.ids, x.ats, x.places, x.venues) AS u(id, at, place, venue)
         WHERE (u.at AT TIME ZONE 'Asia/Shanghai')::date <> ALL (gone_days)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g
                            WHERE g.stay_id = u.id AND g.stay_at = u.at AND g.person_id = x.person_id
                              AND g.gone_at >= made_at)) k
     WHERE k.ids IS NOT NULL OR keep_empty
     ORDER BY x.person_id);
END $$;
COMMENT ON FUNCTION @extschema@._stays_kept(@extschema@.reexamined_stays[], timestamptz, boolean) IS
  'Internal: stays listed by a change made at made_at, less those whose day partition of travel is gone and those in recalc_gone_stays since made_at (levels not judged); a person left with none is left out, or with keep_empty kept with empty arrays.';
REVOKE ALL ON FUNCTION @extschema@._stays_kept(@extschema@.reexamined_stays[], timestamptz, boolean) FROM PUBLIC;

-- The same, each given the level every designation in force at its time
-- gives it now (the one risky-stay rule).
CREATE OR REPLACE FUNCTION @extschema@._stays_judged(listed @extschema@.reexamined_stays[], made_at timestamptz)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT ARRAY(SELECT ROW(x.person_id, x.ids, x.ats, x.places,
                          @extschema@._stays_levels((SELECT @extschema@._designations()), x.places, x.venues, x.ats),
                          NULL)::@extschema@.reexamined_stays
                 FROM pg_catalog.unnest(@extschema@._stays_kept(_stays_judged.listed, _stays_judged.made_at)) x);
END;
COMMENT ON FUNCTION @extschema@._stays_judged(@extschema@.reexamined_stays[], timestamptz) IS
  'Internal: stays listed by a change made at made_at (less those gone since: _stays_kept) with each one''s level now (high true, medium false, none NULL).';
REVOKE ALL ON FUNCTION @extschema@._stays_judged(@extschema@.reexamined_stays[], timestamptz) FROM PUBLIC;

-- Takes some people of a listed change off the list: who they were (in id
-- order) and their listed stays (for a risk-area change).
CREATE OR REPLACE FUNCTION @extschema@._take_listed(w @extschema@.recalc_work, persons bigint[],
    OUT taken bigint[], OUT listed @extschema@.reexamined_stays[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- (each person by the primary key: _listed_rows; and their rows by where
-- they lie, as _take_batch deletes them: a TID scan, whatever its caller,
-- _recompute, turned off)
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_tidscan = on
AS $$
BEGIN
  WITH gone AS (
    -- (a row a batch holds is waited for, and then left: that batch took
    -- it. No other row can come to lie where one was found while this
    -- statement's snapshot still sees it, so the address is all it asks:
    -- asked the change too, it was planned as a scan of the change again)
    DELETE FROM @extschema@.recalc_pending r
     WHERE r.ctid = ANY (ARRAY(SELECT l.row_id FROM @extschema@._listed_rows(w.id, persons) l))
    RETURNING r.person_id, r.stay_ids, r.stay_ats, r.stay_places, r.stay_venues
  )
  SELECT array_agg(g.person_id ORDER BY g.person_id),
         array_agg(ROW(g.person_id, g.stay_ids, g.stay_ats, g.stay_places, NULL, g.stay_venues)::@extschema@.reexamined_stays
                   ORDER BY g.person_id) FILTER (WHERE g.stay_ids IS NOT NULL)
    INTO taken, listed FROM gone g;
END $$;
COMMENT ON FUNCTION @extschema@._take_listed(@extschema@.recalc_work, bigint[]) IS
  'Internal: deletes the persons'' rows of a listed change from recalc_pending; returns who was taken and their listed stays.';
REVOKE ALL ON FUNCTION @extschema@._take_listed(@extschema@.recalc_work, bigint[]) FROM PUBLIC;

-- Takes the next batch of a listed change off the list: at most n people
-- from person `from_id` on, in id order, skipping rows other workers hold;
-- who they were and their listed stays. (One statement: the rows locked by
-- the subquery are deleted where they lie.)
CREATE OR REPLACE FUNCTION @extschema@._take_batch(w @extschema@.recalc_work, from_id bigint, n integer,
    OUT taken bigint[], OUT listed @extschema@.reexamined_stays[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- The list in key order, from its primary key: a fresh list has no
-- statistics, and planned as a few rows it was read whole and sorted, every
-- batch. (ANALYZE after listing would fix the estimate, but waits for an
-- autovacuum of the list, up to deadlock_timeout.) The rows are deleted
-- where they lie: a TID scan.
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_tidscan = on
AS $$
BEGIN
  WITH gone AS (
    DELETE FROM @extschema@.recalc_pending r
     WHERE r.ctid = ANY (ARRAY(SELECT p.ctid FROM @extschema@.recalc_pending p
                                WHERE p.work_id = w.id AND p.person_id >= from_id
                                ORDER BY p.person_id LIMIT n FOR UPDATE SKIP LOCKED))
    RETURNING r.person_id, r.stay_ids, r.stay_ats, r.stay_places, r.stay_venues
  )
  SELECT array_agg(g.person_id ORDER BY g.person_id),
         array_agg(ROW(g.person_id, g.stay_ids, g.stay_ats, g.stay_places, NULL, g.stay_venues)::@extschema@.reexamined_stays
                   ORDER BY g.person_id) FILTER (WHERE g.stay_ids IS NOT NULL)
    INTO taken, listed FROM gone g;
END $$;
COMMENT ON FUNCTION @extschema@._take_batch(@extschema@.recalc_work, bigint, integer) IS
  'Internal: deletes the next batch (at most n people from person from_id on, not held by another worker) of a listed change from recalc_pending; returns who was taken and their listed stays.';
REVOKE ALL ON FUNCTION @extschema@._take_batch(@extschema@.recalc_work, bigint, integer) FROM PUBLIC;

-- A change's recalculation of some of its people, as a worker's batch does
-- it (dated at the change's time, under its cause): a risk-area change from
-- their stored inputs and their listed stays judged again; anything else
-- from all their evidence.
CREATE OR REPLACE FUNCTION @extschema@._recalc_people(w @extschema@.recalc_work, persons bigint[],
                                           listed @extschema@.reexamined_stays[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  stays @extschema@.reexamined_stays[];
  rest bigint[];
BEGIN
  IF w.kind = 'risk_area' THEN
    -- (judged by _recompute, a person at a time as it reads them)
    stays := @extschema@._stays_kept(listed, w.created_at);
    PERFORM @extschema@._recompute(ARRAY(SELECT (unnest(stays)).person_id), w.cause,
                                   changed_stays => stays, changed_at => w.created_at);
    -- (anyone without stays, as when their day partitions were dropped:
    -- from all their evidence; nearly always nobody: the stays' people
    -- are some of persons, and as many; else EXCEPT, which is hashed, where
    -- NOT EXISTS over two arrays would compare every pair)
    IF coalesce(cardinality(stays), 0) < cardinality(persons) THEN
      rest := ARRAY(SELECT p FROM unnest(persons) p EXCEPT SELECT s.person_id FROM unnest(stays) s);
      PERFORM @extschema@._recompute(rest, w.cause, changed_at => w.created_at);
    END IF;
  ELSE
    PERFORM @extschema@._recompute(persons, w.cause, changed_at => w.created_at);
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._recalc_people(@extschema@.recalc_work, bigint[], @extschema@.reexamined_stays[]) IS
  'Internal: recalculates some people for a change on the work list, as its worker does (listed: their stays as listed, for a risk-area change).';
REVOKE ALL ON FUNCTION @extschema@._recalc_people(@extschema@.recalc_work, bigint[], @extschema@.reexamined_stays[]) FROM PUBLIC;

-- What a recalculation for another cause (an import, a decision, a small
-- designation) does first for people changes on the list have yet to
-- reach: each such change's recalculation of them, oldest first, taking
-- them off the list; so its history entry keeps the change's cause and
-- time, and the caller's records only what the caller's own change brings.
-- (A batch that holds some of them is waited for: one batch.)
CREATE OR REPLACE FUNCTION @extschema@._settle_pending(persons bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  w @extschema@.recalc_work;
  mine bigint[];
  listed @extschema@.reexamined_stays[];
BEGIN
  FOR w IN SELECT * FROM @extschema@._pending_changes() x ORDER BY x.id LOOP
    IF w.listed_at IS NOT NULL THEN
      SELECT t.taken, t.listed INTO mine, listed FROM @extschema@._take_listed(w, persons) t;
    ELSE
      -- (listed later, they are recalculated again, to no change)
      mine := ARRAY(SELECT p FROM unnest(persons) p WHERE @extschema@._work_concerns(w, p) ORDER BY p);
      listed := CASE WHEN w.kind = 'risk_area' AND cardinality(mine) > 0
                     THEN @extschema@._work_stays_of(w, mine) END;
    END IF;
    CONTINUE WHEN coalesce(cardinality(mine), 0) = 0;
    PERFORM @extschema@._recalc_people(w, mine, listed);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._settle_pending(bigint[]) IS
  'Internal: recalculates the people for the changes on the work list that concern them (oldest first, dated at each change''s created_at) and takes them off it; what _recompute does first for any other cause.';
REVOKE ALL ON FUNCTION @extschema@._settle_pending(bigint[]) FROM PUBLIC;

-- ---- reading a status right while work is pending ------------------------------

-- The changes on the work list that change statuses (a consistency check
-- changes nothing). (A SQL body without SET: inlined where it is read.)
CREATE OR REPLACE FUNCTION @extschema@._pending_changes() RETURNS SETOF @extschema@.recalc_work
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT w.* FROM @extschema@.recalc_work w WHERE w.kind OPERATOR(pg_catalog.<>) 'check';
END;
COMMENT ON FUNCTION @extschema@._pending_changes() IS
  'Internal: the changes on the status work list that have yet to recalculate people (not the consistency checks, which change nothing).';
REVOKE ALL ON FUNCTION @extschema@._pending_changes() FROM PUBLIC;

-- Is any work pending? (Once a query, as an InitPlan: nearly always false,
-- and then reads take the stored status as before.)
-- (PL/pgSQL: every status read asks it, and a SQL function is planned
-- again at each call from PL/pgSQL)
CREATE OR REPLACE FUNCTION @extschema@._work_pending() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM @extschema@._pending_changes());
END $$;
COMMENT ON FUNCTION @extschema@._work_pending() IS
  'Internal: true while the status work list holds a change (a consistency check changes nothing).';
REVOKE ALL ON FUNCTION @extschema@._work_pending() FROM PUBLIC;

-- The same, of the changes made by an instant: an analyst's count of a
-- past day's end reads what held then, a change made later aside.
CREATE OR REPLACE FUNCTION @extschema@._work_pending_by(at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM @extschema@._pending_changes() w WHERE w.created_at <= _work_pending_by.at);
END $$;
COMMENT ON FUNCTION @extschema@._work_pending_by(timestamptz) IS
  'Internal: true while the status work list holds a change made at or before at.';
REVOKE ALL ON FUNCTION @extschema@._work_pending_by(timestamptz) FROM PUBLIC;

-- Since when a pending person's new status holds: the earliest change on
-- the list that concerns them; NULL when none does.
CREATE OR REPLACE FUNCTION @extschema@._pending_since(person_id bigint) RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  w @extschema@.recalc_work;
BEGIN
  FOR w IN SELECT * FROM @extschema@._pending_changes() x ORDER BY x.id LOOP
    IF @extschema@._work_concerns(w, _pending_since.person_id) THEN
      RETURN w.created_at;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._pending_since(bigint) IS
  'Internal: when the earliest change on the work list that still has to recalculate the person took effect; NULL when none has.';
REVOKE ALL ON FUNCTION @extschema@._pending_since(bigint) FROM PUBLIC;

-- A stored status read at an instant, right even while a change on the
-- work list has yet to recalculate it: then computed fresh from the
-- evidence (as the worker will), with since the change's time where the
-- colour differs from the stored one. For the extension's own functions,
-- which pass rows they read; _read_status is the roles' way in.
CREATE OR REPLACE FUNCTION @extschema@._status_now(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  stored @extschema@.status_instant := @extschema@.status_at(s, at);
  f record;
  w @extschema@.recalc_work;
  pending @extschema@.recalc_work[] := '{}';
  since timestamptz;
  tl @extschema@.status_timeline;
  inputs bytea := s.inputs;
  colour @extschema@.risk_colour := stored.colour;
  x @extschema@.reexamined_stays;
BEGIN
  IF s.person_id IS NULL OR NOT @extschema@._work_pending() THEN
    RETURN stored;
  END IF;
  -- the changes on the list that have yet to recalculate the person
  FOR w IN SELECT * FROM @extschema@._pending_changes() y ORDER BY y.id LOOP
    IF @extschema@._work_concerns(w, s.person_id) THEN
      pending := pending || w;
    END IF;
  END LOOP;
  IF cardinality(pending) = 0 THEN
    RETURN stored;
  END IF;
  SELECT (y.timeline).colour, (y.timeline).vaccinated, (y.timeline).reasons, (y.timeline).valid_until,
         (y.timeline).next
    INTO f FROM @extschema@._fresh_status(ARRAY[s.person_id], at) y;
  IF NOT FOUND THEN
    RETURN stored;             -- (the person is gone: their status row goes with them)
  END IF;
  since := pending[1].created_at;
  -- With several changes pending the colour may change at more than one:
  -- follow them as the workers will, oldest first, and date the colour at
  -- the last that changes it.
  IF cardinality(pending) > 1 THEN
    FOREACH w IN ARRAY pending LOOP
      IF w.kind = 'risk_area' AND inputs IS NOT NULL THEN
        x := (@extschema@._stays_judged(@extschema@._work_stays_of(w, ARRAY[s.person_id]), w.created_at))[1];
        tl := CASE WHEN x IS NULL
                   THEN (SELECT y.timeline FROM @extschema@._fresh_status(ARRAY[s.person_id], at) y)
                   ELSE @extschema@._status_from_stored_inputs(inputs, x.ids, x.ats, x.places, x.highs,
                          @extschema@._policy_versions(s.region), at, @extschema@._evidence_horizon(at)) END;
      ELSE
        tl := (SELECT y.timeline FROM @extschema@._fresh_status(ARRAY[s.person_id], at) y);
      END IF;
      EXIT WHEN tl IS NULL;
      IF tl.colour <> colour THEN
        colour := tl.colour;
        since := w.created_at;
      END IF;
      inputs := tl.inputs;
    END LOOP;
  END IF;
  RETURN ROW(f.colour, f.vaccinated, f.reasons,
             CASE WHEN f.colour = stored.colour THEN stored.since ELSE LEAST(since, at) END,
             f.valid_until, f.next)::@extschema@.status_instant;
END $$;
COMMENT ON FUNCTION @extschema@._status_now(@extschema@.person_status, timestamptz) IS
  'Internal: a stored status read at an instant (status_at), or, while a change on the work list has yet to recalculate the person, their status computed fresh from the evidence.';
REVOKE ALL ON FUNCTION @extschema@._status_now(@extschema@.person_status, timestamptz) FROM PUBLIC;

-- The same for a role reading person_status through current_status: a
-- status row made up with the id of a person outside the caller's regions
-- is read as given, never computed from that person's evidence.
CREATE OR REPLACE FUNCTION @extschema@._read_status(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF s.region IS NULL OR NOT @extschema@._in_caller_scope(s.region)
     OR NOT EXISTS (SELECT 1 FROM @extschema@.person p WHERE p.id = s.person_id AND p.region = s.region) THEN
    RETURN @extschema@.status_at(s, at);
  END IF;
  RETURN @extschema@._status_now(s, at);
END $$;
COMMENT ON FUNCTION @extschema@._read_status(@extschema@.person_status, timestamptz) IS
  'Internal: _status_now for a row of a person within the caller''s regions (current_status); any other row is read as given.';
REVOKE ALL ON FUNCTION @extschema@._read_status(@extschema@.person_status, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._work_pending() TO healthcode_operator;
GRANT EXECUTE ON FUNCTION @extschema@._read_status(@extschema@.person_status, timestamptz) TO healthcode_operator;

-- ---- recording a change, and the workers ---------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._recalc_setting(name text) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_recalc_setting'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._recalc_setting(text) IS
  'Internal: healthcode.recalc_workers, recalc_batch_size or recalc_inline_limit by short name (workers, batch_size, inline_limit), known even before the module is loaded.';
REVOKE ALL ON FUNCTION @extschema@._recalc_setting(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._launch_recalc_workers(wanted integer, after_me boolean) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_launch_recalc_workers'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._launch_recalc_workers(integer, boolean) IS
  'Internal: starts up to wanted background workers on the status work list (after_me: each waits for this transaction to end first); returns how many it could start.';
REVOKE ALL ON FUNCTION @extschema@._launch_recalc_workers(integer, boolean) FROM PUBLIC;

-- The workers running in this database (their backend_type, which
-- hc_recalc_worker.c sets), counted there from what pg_stat_activity
-- shows (the view cost a new process 9.5 ms).
CREATE OR REPLACE FUNCTION @extschema@._recalc_workers_running() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_recalc_workers_running'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._recalc_workers_running() IS
  'Internal: how many work list workers run in this database (as pg_stat_activity shows them, backend_type healthcode recalculation).';
REVOKE ALL ON FUNCTION @extschema@._recalc_workers_running() FROM PUBLIC;

-- Of those, the ones that started before the caller and are not in their
-- last look (_recalc_staff).
CREATE OR REPLACE FUNCTION @extschema@._recalc_workers_before_me() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_recalc_workers_before_me'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._recalc_workers_before_me() IS
  'Internal: how many work list workers of this database started before the calling process (by backend_start, then pid) and are not in their last look (application_name _recalc_last_look_name()).';
REVOKE ALL ON FUNCTION @extschema@._recalc_workers_before_me() FROM PUBLIC;

-- Starts workers up to healthcode.recalc_workers in this database.
CREATE OR REPLACE FUNCTION @extschema@._ensure_recalc_workers(after_me boolean) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  running integer;
BEGIN
  running := @extschema@._recalc_workers_running();
  -- A running worker may be in its last idle look at the list: counted
  -- here, it would exit without seeing the work this transaction records.
  -- So a recording transaction (after_me) starts at least one worker of
  -- its own, which waits for it to end.
  RETURN @extschema@._launch_recalc_workers(
           CASE WHEN after_me THEN greatest(@extschema@._recalc_setting('workers') - running,
                                            least(@extschema@._recalc_setting('workers'), 1))
                ELSE @extschema@._recalc_setting('workers') - running END, after_me);
END $$;
COMMENT ON FUNCTION @extschema@._ensure_recalc_workers(boolean) IS
  'Internal: starts as many workers as healthcode.recalc_workers asks for beyond those running in this database (after_me: at least one, which first waits for this transaction); returns how many it started.';
REVOKE ALL ON FUNCTION @extschema@._ensure_recalc_workers(boolean) FROM PUBLIC;

-- After a restart (or a crash) no worker runs until something starts one:
-- with the module preloaded, its launcher (hc_recalc_worker.c) calls this
-- in every database once the server accepts writes, so a list cut short
-- resumes by itself. (Run as the owner: the workers are started as it.)
CREATE OR REPLACE FUNCTION @extschema@._resume_recalc() RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._ensure_recalc_workers(false);
END $$;
COMMENT ON FUNCTION @extschema@._resume_recalc() IS
  'Internal: starts workers up to healthcode.recalc_workers where the work list holds a change (what the launcher does in each database after a restart or a crash); returns how many it started.';
REVOKE ALL ON FUNCTION @extschema@._resume_recalc() FROM PUBLIC;

-- The application_name of a worker in its last look at the list
-- (hc_recalc_worker.c sets it; written there only).
CREATE OR REPLACE FUNCTION @extschema@._recalc_last_look_name() RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_recalc_last_look_name'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._recalc_last_look_name() IS
  'Internal: the application_name a work list worker takes for its last look at the list before it exits (set in hc_recalc_worker.c), which _recalc_workers_before_me looks for (and pg_stat_activity shows).';
REVOKE ALL ON FUNCTION @extschema@._recalc_last_look_name() FROM PUBLIC;

-- What a worker not at work (starting, idle, or finding the rest of the
-- list in other workers' hands) asks before it looks at the list: -1, it
-- should leave, when as many workers as wanted started before it and are
-- not in their last look (the changes' parts, healthcode.recalc_workers
-- where each was recorded; the setting, when the list is empty); else how
-- many workers it started, up to those parts, where fewer run.
--   A recording transaction starts a worker of its own even where enough
-- run, as one may be ending its last look without seeing the change (see
-- _ensure_recalc_workers); the newer ones leave here, so changes that come
-- before the workers idle out do not pile workers up, one more each. A
-- worker marked in its last look (hc_recalc_worker.c: its application_name
-- then, set before its snapshot is taken) is not counted: it may exit
-- without seeing the change. One not so marked now takes its next
-- look later, so it sees what committed before, and the leaving worker
-- checks only once what recorded it has committed. So no change is left
-- without a worker; a worker too many at most stays for that change. And
-- a worker idle when a change was recorded, counted as running, may have
-- ended its last look since: the one that takes the change up starts the
-- missing ones here.
CREATE OR REPLACE FUNCTION @extschema@._recalc_staff() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  asked integer := (SELECT max(w.parts) FROM @extschema@.recalc_work w);
  wanted integer := coalesce(asked, greatest(@extschema@._recalc_setting('workers'), 0));
  older integer := @extschema@._recalc_workers_before_me();
  running integer := @extschema@._recalc_workers_running();
BEGIN
  IF older >= wanted THEN
    RETURN -1;
  END IF;
  IF asked IS NULL OR running >= asked THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._launch_recalc_workers(asked - running, false);
END $$;
COMMENT ON FUNCTION @extschema@._recalc_staff() IS
  'Internal: asked by a work list worker not at work: -1 (leave) when as many workers as the list asks for (its changes'' parts, or healthcode.recalc_workers when it is empty) started before it in this database and are not in their last look; else starts workers up to the changes'' parts where fewer run and returns how many.';
REVOKE ALL ON FUNCTION @extschema@._recalc_staff() FROM PUBLIC;

-- How many rows a change touches (the stays a risk-area change re-examines,
-- the people a policy or everyone change concerns), counted up to upto and
-- no further: whether it is recalculated in its statement or goes on the
-- work list. Only an index scan stops at upto: a bitmap scan collects
-- every entry of the range before its first row, and the range's size is
-- unknown when the plan is made (a parameterized scan, costed as a whole,
-- not by its first rows). Counting to 1 over a city's 10,000,000 stays read
-- all of them: 0.3 s of the designating statement at 1,000,000 people, and
-- minutes for a province.
CREATE OR REPLACE FUNCTION @extschema@._recalc_touched(kind text, areas @extschema@.risk_area[], regions text[],
                                            horizon timestamptz, upto bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
DECLARE
  touched bigint := 0;
  a @extschema@.risk_area;
  n bigint;
BEGIN
  IF kind = 'risk_area' THEN
    -- The stays _work_stays_sql() finds, an area at a time, the area a
    -- value of the query (planned with it), not a row joined to travel:
    -- as a join the planner may keep the lower bound of place out of a
    -- partition's index condition (on a day partition without statistics,
    -- where both paths cost the same), and the scan then reads every
    -- entry below the area before its first row (679 entries for a limit
    -- of 4 in status_work_stays.sql). As values both bounds are always
    -- in it.
    FOREACH a IN ARRAY areas LOOP
      EXIT WHEN touched >= upto;
      EXECUTE format('SELECT count(*) FROM (%s LIMIT $3) x',
                     @extschema@._work_stays_sql('', areas => '(SELECT ($1).*)'))
        INTO n USING a, horizon, upto - touched;
      touched := touched + n;
    END LOOP;
  ELSIF kind = 'policy' THEN
    SELECT count(*) INTO touched
      FROM (SELECT 1 FROM unnest(regions) r(code)
              JOIN @extschema@.person p ON p.region >= r.code AND p.region <= @extschema@.division_last(r.code)
             LIMIT upto) x;
  ELSE
    SELECT count(*) INTO touched FROM (SELECT 1 FROM @extschema@.person p LIMIT upto) x;
  END IF;
  RETURN touched;
END $$;
COMMENT ON FUNCTION @extschema@._recalc_touched(text, @extschema@.risk_area[], text[], timestamptz, bigint) IS
  'Internal: how many stays (risk_area: of the designations areas since horizon) or people (policy: governed by regions; everyone) a change touches, counted up to upto, reading no further.';
REVOKE ALL ON FUNCTION @extschema@._recalc_touched(text, @extschema@.risk_area[], text[], timestamptz, bigint) FROM PUBLIC;

-- What the risk-area and policy triggers call (holding the evidence lock
-- exclusively): a change that touches few rows is recalculated here, as
-- before; a larger one goes on the work list, and the statement is done.
-- kind risk_area: areas; policy: regions; everyone: neither.
CREATE OR REPLACE FUNCTION @extschema@._recalc_changed(kind text, areas @extschema@.risk_area[], regions text[], cause text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  lim bigint := @extschema@._recalc_setting('inline_limit');
  horizon timestamptz := @extschema@._evidence_horizon(statement_timestamp());
  stays @extschema@.reexamined_stays[];
BEGIN
  -- (an inline limit of 0 sends every change to the list: nothing to count)
  IF lim > 0 AND @extschema@._recalc_touched(kind, areas, regions, horizon, lim + 1) <= lim THEN
    IF kind = 'risk_area' THEN
      stays := @extschema@._stays_in_changed_areas(areas, horizon);
      PERFORM @extschema@._recompute(ARRAY(SELECT s.person_id FROM unnest(stays) s), cause,
                                     exclusive => true, changed_stays => stays);
    ELSIF kind = 'policy' THEN
      PERFORM @extschema@._recompute(@extschema@._people_governed(regions), cause, exclusive => true);
    ELSE
      PERFORM @extschema@._recompute(ARRAY(SELECT p.id FROM @extschema@.person p), cause, exclusive => true);
    END IF;
    RETURN;
  END IF;
  -- created_at is taken now, holding the lock: a recalculation that ran
  -- without seeing this change finished before it (the lock orders them),
  -- so nothing older than created_at can pass for its result
  INSERT INTO @extschema@.recalc_work (kind, areas, regions, cause, created_at, horizon, parts)
  VALUES (kind, CASE WHEN kind = 'risk_area' THEN areas END, CASE WHEN kind = 'policy' THEN regions END,
          cause, clock_timestamp(), horizon, least(greatest(@extschema@._recalc_setting('workers'), 1), 64));
  PERFORM @extschema@._ensure_recalc_workers(true);
END $$;
COMMENT ON FUNCTION @extschema@._recalc_changed(text, @extschema@.risk_area[], text[], text) IS
  'Internal: recalculates the people a risk-area (areas), policy (regions) or everyone change concerns, in this statement when it touches at most healthcode.recalc_inline_limit rows, else by recording it on the work list for the workers.';
REVOKE ALL ON FUNCTION @extschema@._recalc_changed(text, @extschema@.risk_area[], text[], text) FROM PUBLIC;

-- Forgets the gone stays that no change left on the list can have listed:
-- every change recorded after a stay went was listed without it (its
-- statement waited, for the evidence lock, for the removal to commit).
CREATE OR REPLACE FUNCTION @extschema@._forget_gone_stays() RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  DELETE FROM @extschema@.recalc_gone_stays g
   WHERE g.gone_at OPERATOR(pg_catalog.<)
         coalesce((SELECT pg_catalog.min(x.created_at) FROM @extschema@.recalc_work x WHERE x.kind = 'risk_area'),
                  'infinity');
END;
COMMENT ON FUNCTION @extschema@._forget_gone_stays() IS
  'Internal: deletes the rows of recalc_gone_stays older than every risk-area change on the work list (all, when none is left).';
REVOKE ALL ON FUNCTION @extschema@._forget_gone_stays() FROM PUBLIC;

-- One step of a worker, in a transaction of its own: list a part of the
-- people of the oldest change not listed yet (each worker its own part, so
-- that a province's listing runs on every core), or recalculate a batch of
-- the oldest listed one. Returns how many people it listed or recalculated; 0 when
-- the batches left are all in other workers' hands; -1 when the list is
-- empty. Two workers never take the same rows (SKIP LOCKED).
CREATE OR REPLACE FUNCTION @extschema@._recalc_step(batch integer DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer := coalesce(batch, @extschema@._recalc_setting('batch_size'));
  w @extschema@.recalc_work;
  persons bigint[];
  listed @extschema@.reexamined_stays[];
  checked timestamptz;
  from_id bigint;
  -- (the first id of all: ids need not be positive)
  first_id constant bigint := -9223372036854775808;
  part integer;
  now_w @extschema@.recalc_work;
BEGIN
  IF n IS NULL OR n < 1 THEN
    RAISE EXCEPTION 'batch must be at least 1, not %', coalesce(n::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  -- (each statement must see what committed before it: a listing after a
  -- removal's commit; a batch's status rows and gone stays, read together;
  -- its locked pass, the stays removed by a transaction it waited for)
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'the status work list is worked in READ COMMITTED transactions, not %',
      current_setting('transaction_isolation') USING ERRCODE = '25000';
  END IF;
  -- a part of a change not listed yet that no other worker is listing
  -- (its advisory lock, held to the end of this transaction; the change
  -- read again once it is held, as a worker that had it may have just
  -- listed it)
  FOR w IN SELECT * FROM @extschema@.recalc_work x WHERE x.listed_at IS NULL ORDER BY x.id LOOP
    FOR part IN 0 .. w.parts - 1 LOOP
      CONTINUE WHEN part = ANY (w.parts_done)
                 OR NOT pg_try_advisory_xact_lock(hashtext('healthcode listing'), hashtext(w.id || ':' || part));
      SELECT * INTO now_w FROM @extschema@.recalc_work x WHERE x.id = w.id;
      CONTINUE WHEN NOT FOUND OR part = ANY (now_w.parts_done);
      -- (this session's batches of the change start in the part it lists:
      -- each worker's in its own range until those run out)
      PERFORM set_config('hc_recalc.from', w.id || ':' || (@extschema@._part_ids(part, w.parts)).first_id, false);
      RETURN greatest(@extschema@._list_work(now_w, part), 1);
    END LOOP;
  END LOOP;
  -- (shared, as every evidence trigger: a small designation recalculated
  -- in its own statement holds it exclusively and must not meet a batch)
  PERFORM @extschema@._evidence_lock(false);
  FOR w IN SELECT * FROM @extschema@.recalc_work x WHERE x.listed_at IS NOT NULL ORDER BY x.id LOOP
    -- From where this session's last batch of the change ended (first, the
    -- start of the part it listed, if it listed one): a scan from
    -- the start would pass every row earlier batches deleted, and while two
    -- workers' transactions overlap those cannot be marked dead in the
    -- index, so each batch would cost more than the last. (A row skipped
    -- because another worker held it and then rolled back is found by one
    -- scan from the start when nothing is left after the mark.)
    from_id := CASE WHEN split_part(current_setting('hc_recalc.from', true), ':', 1) = w.id::text
                    THEN split_part(current_setting('hc_recalc.from', true), ':', 2)::bigint ELSE first_id END;
    SELECT t.taken, t.listed INTO persons, listed FROM @extschema@._take_batch(w, from_id, n) t;
    IF persons IS NULL AND from_id > first_id THEN
      SELECT t.taken, t.listed INTO persons, listed FROM @extschema@._take_batch(w, first_id, n) t;
    END IF;
    IF persons IS NOT NULL THEN
      -- (after the largest id of all, nothing: the start again)
      PERFORM set_config('hc_recalc.from', w.id || ':' || CASE WHEN persons[cardinality(persons)] = 9223372036854775807
                                                               THEN first_id ELSE persons[cardinality(persons)] + 1 END,
                         false);
    END IF;
    IF persons IS NULL THEN
      -- done, unless other workers still hold its last rows
      DELETE FROM @extschema@.recalc_work x
       WHERE x.id = w.id AND NOT EXISTS (SELECT 1 FROM @extschema@.recalc_pending r WHERE r.work_id = w.id);
      IF FOUND AND w.kind = 'risk_area' THEN
        PERFORM @extschema@._forget_gone_stays();
      END IF;
      CONTINUE;
    END IF;
    IF w.kind = 'check' THEN
      -- a consistency check: what readers see against a full recalculation,
      -- now (a stored timeline is read from its computed_at on, so never
      -- at an earlier instant: the clock, as wait_for_recalc's steps share
      -- one statement); the differences kept for the DBA
      checked := clock_timestamp();
      INSERT INTO @extschema@.consistency_finding (check_id, person_id, checked_at, stored, recomputed)
      SELECT w.id, c.person_id, checked, c.stored, c.recomputed
        FROM @extschema@._consistency_of(persons, checked) c;
      RETURN cardinality(persons);
    END IF;
    PERFORM @extschema@._recalc_people(w, persons, listed);
    RETURN cardinality(persons);
  END LOOP;
  IF EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN 0;
  END IF;
  PERFORM @extschema@._forget_gone_stays();
  RETURN -1;
END $$;
COMMENT ON FUNCTION @extschema@._recalc_step(integer) IS
  'Internal: one step of the work list in the caller''s transaction: lists a part of the people of the oldest change not listed yet (a part no other worker lists), or recalculates a batch (default healthcode.recalc_batch_size) of the oldest listed one and takes them off the list. Returns how many people; 0 when what is left is in other workers'' hands, -1 when the list is empty.';
REVOKE ALL ON FUNCTION @extschema@._recalc_step(integer) FROM PUBLIC;

-- ---- watching and waiting ---------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._recalc_progress()
RETURNS TABLE (work_id bigint, kind text, cause text, created_at timestamptz, listed_at timestamptz,
               people bigint, people_left bigint, per_second numeric, expected_end timestamptz,
               workers integer)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT w.id, w.kind, w.cause, w.created_at, w.listed_at,
         CASE WHEN w.listed_at IS NOT NULL THEN w.people END, l.people_left,
         pg_catalog.round(r.rate, 1),
         CASE WHEN r.rate OPERATOR(pg_catalog.>) 0 THEN pg_catalog.clock_timestamp()
                                   OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => l.people_left::double precision OPERATOR(pg_catalog./) r.rate::double precision) END,
         @extschema@._recalc_workers_running()
    FROM @extschema@.recalc_work w
    CROSS JOIN LATERAL (SELECT CASE WHEN w.listed_at IS NOT NULL THEN pg_catalog.count(*) END AS people_left
                          FROM @extschema@.recalc_pending p
                         WHERE p.work_id OPERATOR(pg_catalog.=) w.id) l
    CROSS JOIN LATERAL (SELECT CASE WHEN w.listed_at IS NOT NULL
                                     AND pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) w.listed_at
                               THEN (w.people OPERATOR(pg_catalog.-) l.people_left)::numeric
                                    OPERATOR(pg_catalog./) EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) w.listed_at) END AS rate) r
   ORDER BY w.id;
END;
COMMENT ON FUNCTION @extschema@._recalc_progress() IS 'Internal: the rows of recalc_progress.';
REVOKE ALL ON FUNCTION @extschema@._recalc_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._recalc_progress() TO healthcode_admin;

-- One turn of wait_for_recalc (which cannot run as the owner itself: a
-- procedure that commits may be neither SECURITY DEFINER nor SET a
-- setting): -1 when the list is empty; else starts workers up to
-- healthcode.recalc_workers and, with none running (none allowed, or no
-- free slot), does one step itself: how many people it did (0: it waits).
CREATE OR REPLACE FUNCTION @extschema@._recalc_wait_step() RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN -1;
  END IF;
  PERFORM @extschema@._ensure_recalc_workers(false);
  IF @extschema@._recalc_workers_running() > 0 THEN
    RETURN 0;
  END IF;
  RETURN greatest(@extschema@._recalc_step(), 0);
END $$;
COMMENT ON FUNCTION @extschema@._recalc_wait_step() IS
  'Internal: one turn of wait_for_recalc: -1 when the work list is empty; else starts workers and, with none running, does one step itself (returns how many people; 0 while workers do the work).';
REVOKE ALL ON FUNCTION @extschema@._recalc_wait_step() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._recalc_wait_step() TO healthcode_admin;

-- Waits until the work list is empty, starting workers where none run
-- (after a restart, none does until something starts them: this, the next
-- large change, or a scheduled call). With no worker to be had, it works
-- the list itself, committing after each batch: CALL it outside a
-- transaction block. (It runs as its caller, who needs only EXECUTE on
-- it and on _recalc_wait_step: hence every name schema-qualified.)
CREATE OR REPLACE PROCEDURE @extschema@.wait_for_recalc(timeout interval DEFAULT interval '1 hour')
LANGUAGE plpgsql
AS $$
DECLARE
  deadline timestamptz := pg_catalog.clock_timestamp()
                          OPERATOR(pg_catalog.+) coalesce(timeout, interval '1 hour');
  done integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.recalc_work) THEN
    RETURN;
  END IF;
  LOOP
    -- (each turn a transaction of its own, READ COMMITTED whatever the
    -- session's default: _recalc_step)
    COMMIT;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    done := @extschema@._recalc_wait_step();
    COMMIT;
    EXIT WHEN done OPERATOR(pg_catalog.<) 0;
    IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) deadline THEN
      RAISE EXCEPTION 'the status work list is not done after %', timeout USING ERRCODE = '57014',
        HINT = 'SELECT * FROM healthcode.recalc_progress; shows what is left.';
    END IF;
    IF done OPERATOR(pg_catalog.=) 0 THEN
      PERFORM pg_catalog.pg_sleep(0.05);
    END IF;
  END LOOP;
END $$;
COMMENT ON PROCEDURE @extschema@.wait_for_recalc(interval) IS
  'Waits until the status work list is empty (57014 after timeout), starting workers up to healthcode.recalc_workers; with none to be had, works through the list itself, committing after each batch. CALL it outside a transaction block while work is pending.';
REVOKE ALL ON PROCEDURE @extschema@.wait_for_recalc(interval) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.wait_for_recalc(interval) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.start_consistency_check() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO @extschema@.recalc_work (kind, cause, created_at, horizon, parts)
  VALUES ('check', 'consistency check', clock_timestamp(), @extschema@._evidence_horizon(statement_timestamp()),
          least(greatest(@extschema@._recalc_setting('workers'), 1), 64))
  RETURNING recalc_work.id INTO id;
  PERFORM @extschema@._ensure_recalc_workers(true);
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.start_consistency_check() IS
  'Puts a consistency check of everyone on the work list for the workers (a batch at a time, each checked when its batch runs) and returns its id; recalc_progress shows it, CALL wait_for_recalc() waits for it, and consistency_finding holds what it found (nothing: all right).';
REVOKE ALL ON FUNCTION @extschema@.start_consistency_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.start_consistency_check() TO healthcode_admin;

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
CREATE OR REPLACE FUNCTION @extschema@._require_identifier(identifier text, argname text DEFAULT 'identifier')
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_require_identifier'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._require_identifier(text, text) IS
  'Internal: the identifier normalized (see identifier_check), else 22004 (NULL) or 22023 naming the argument and what is wrong with it, never echoing the value.';
REVOKE ALL ON FUNCTION @extschema@._require_identifier(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.normalize_identifier(identifier text) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_require_identifier'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normalize_identifier(text) IS
  'An identifier in the one form it is hashed in: blanks dropped, full-width characters and lower-case letters made ASCII upper case, a first-generation 15-digit ID number widened to its 18 characters, a permit''s issue count and a passport number''s fillers dropped. An identifier that is no valid document is an error (22023) saying what is wrong; identifier_check() answers instead.';

CREATE OR REPLACE FUNCTION @extschema@.identifier_check(identifier text,
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
CREATE OR REPLACE FUNCTION @extschema@._legacy_identifier(identifier text) RETURNS text
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

CREATE OR REPLACE FUNCTION @extschema@.person_id(identifier text) RETURNS bigint
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

CREATE OR REPLACE FUNCTION @extschema@._require_person(identifier text) RETURNS bigint
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

CREATE OR REPLACE FUNCTION @extschema@.register_person(identifier text, region text, display_name text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION @extschema@.declare(
    identifier text,
    region text,
    display_name text DEFAULT NULL,
    symptoms text[] DEFAULT '{}',
    temperature numeric DEFAULT NULL,
    visited text[] DEFAULT '{}',
    contact_with_case boolean DEFAULT false)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
BEGIN
  PERFORM @extschema@._require_symptoms(declare.symptoms);
  PERFORM @extschema@._require_temperature(declare.temperature);
  PERFORM @extschema@._require_text_array(declare.visited, 'visited', 1000);
  PERFORM @extschema@._require_place(v, 'visited') FROM unnest(declare.visited) v;
  IF declare.contact_with_case IS NULL THEN
    RAISE EXCEPTION 'contact_with_case must not be NULL' USING ERRCODE = '22004';
  END IF;
  pid := @extschema@.register_person(identifier, declare.region, declare.display_name);
  -- under the person's region as it is when written (locked: a move waits)
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  SELECT p.id, p.region, statement_timestamp(), declare.symptoms, declare.temperature,
         declare.visited, declare.contact_with_case
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) IS
  'Health-information declaration: registers the person if new, records what they declare (symptoms, temperature, places visited in the window, contact with a case) and returns their resulting status. The audit cross-checks it later.';
REVOKE ALL ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.declare_trip(identifier text, place text, at timestamptz)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  -- (a stay a person makes known: 83_scans.sql)
  PERFORM @extschema@._record_stay(pid, declare_trip.place, declare_trip.at, 'declared', NULL);
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) IS
  'Trip declaration: records a stay the person declares (source declared; it counts like any other stay) and returns their status.';
REVOKE ALL ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.check_in(identifier text, temperature numeric DEFAULT NULL,
                                     symptoms text[] DEFAULT '{}')
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  PERFORM @extschema@._require_temperature(check_in.temperature);
  PERFORM @extschema@._require_symptoms(check_in.symptoms);
  -- one check-in a day; a second one that day can only make it worse
  -- (the day's key is its month partition's, 46_time_partitions.sql: no
  -- ON CONFLICT can name it, so the day's row, if any, is worsened after)
  INSERT INTO @extschema@.checkin (person_id, region, at, temperature, symptoms)
  SELECT p.id, p.region, statement_timestamp(), check_in.temperature, check_in.symptoms
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    UPDATE @extschema@.checkin k
       SET temperature = GREATEST(k.temperature, check_in.temperature),
           symptoms = ARRAY(SELECT DISTINCT x FROM unnest(k.symptoms || check_in.symptoms) x ORDER BY x)
     WHERE k.person_id = pid
       AND k.day = (statement_timestamp() AT TIME ZONE 'Asia/Shanghai')::date
       -- (the day's partition alone)
       AND k.at >= date_trunc('day', statement_timestamp() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
       AND k.at < (date_trunc('day', statement_timestamp() AT TIME ZONE 'Asia/Shanghai') + interval '1 day')
                  AT TIME ZONE 'Asia/Shanghai'
       AND (check_in.temperature > k.temperature
            OR (k.temperature IS NULL AND check_in.temperature IS NOT NULL)
            OR NOT (check_in.symptoms <@ k.symptoms));
  END IF;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.check_in(text, numeric, text[]) IS
  'Daily health check-in of a person in quarantine: temperature and symptoms for today (China Standard Time); returns the status.';
REVOKE ALL ON FUNCTION @extschema@.check_in(text, numeric, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_in(text, numeric, text[]) TO healthcode_app, healthcode_operator;

-- ---------------------------------------------------------------------------
-- Imports: telecom itineraries, lab results, doses, contact-tracing lists
-- and risk-area bulletins, each a JSON array of records.
-- ---------------------------------------------------------------------------

-- Each takes a JSON array of records (json, not jsonb: see
-- src/hc_import_pg.c) and returns how many rows were new or changed. A
-- record names its person by exactly one of "person_id" (an integer) and
-- "identifier" (their ID number). Every field of every record is checked
-- for its exact type and range before anything is written, and the first
-- bad record aborts the whole import with an error naming the record's
-- position (from 1), the field and the value shortened:
--   22P02  a value of the wrong JSON type or form (an id that is 1.5 or "7")
--   22007  a time that does not parse; 22008 one out of any range
--   22003  a number beyond its field's range (dose 11, an id of 2^64)
--   22023  any other bad value: a missing field, an unknown field, a word
--          outside its field's list, an invalid division or place code, a time
--          outside the evidence window, a person nobody registered in the
--          caller's regions, a record repeating another's key
--   42501  a risk area outside the regions the caller acts for
--   40001  a person moved out of the caller's regions or deleted by a
--          concurrent transaction between the check and the write: retry
-- Nothing is written unless every record is right, and re-running an
-- import changes nothing. The records are read as a stream (bounded
-- memory); doc/imports.md gives the recommended batch size.
CREATE OR REPLACE FUNCTION @extschema@._import_parse(records json, what text, fields text[], rules text[])
RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'healthcode_import_parse'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._import_parse(json, text, text[], text[]) IS
  'Internal: an import''s records as typed rows (ord, then the fields, as the column definition list says), each field checked against its rule (id, int:LO..HI, text, identifier, division, place, a|b|c, evidence_time, time; ! required); raises naming the first bad record and field.';
REVOKE ALL ON FUNCTION @extschema@._import_parse(json, text, text[], text[]) FROM PUBLIC;

-- Raises for an import whose check found a record naming nobody, or one
-- that repeats another's key (again, first, and which key; with no first,
-- key says what is wrong with record again).
CREATE OR REPLACE FUNCTION @extschema@._import_refuse(what text, unknown bigint, unknown_before_lock boolean,
                                            again bigint, first bigint, key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF unknown IS NOT NULL AND unknown_before_lock THEN
    RAISE EXCEPTION '% import: record % names no person registered in the regions the caller acts for', what, unknown
      USING ERRCODE = 'P0002', DETAIL = 'Nothing was imported.',
            HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  ELSIF unknown IS NOT NULL THEN
    RAISE EXCEPTION '% import: record %: its person was moved or deleted by a concurrent transaction; retry the import', what, unknown
      USING ERRCODE = '40001', DETAIL = 'Nothing was imported.';
  END IF;
  IF again IS NOT NULL AND first IS NULL THEN
    RAISE EXCEPTION '% import: record %: %', what, again, key
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  ELSIF again IS NOT NULL THEN
    RAISE EXCEPTION '% import: record % repeats record % (same %)', what, again, first, key
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.',
            HINT = 'Each record of one import must have its own key; send a correction in a later import.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._import_refuse(text, bigint, boolean, bigint, bigint, text) IS
  'Internal: 22023 naming an import record whose person is unknown or that repeats an earlier record''s key; 40001 (retry) for a person moved or deleted while the import ran.';
REVOKE ALL ON FUNCTION @extschema@._import_refuse(text, bigint, boolean, bigint, bigint, text) FROM PUBLIC;

-- Every import with people runs the same two statements: the first reads
-- the records (every field checked) and resolves their people; the second
-- locks those people and writes, unless a record names nobody. Only the
-- table, its columns and what a conflict does differ, so those are the
-- arguments: cols are the record's columns as the column definition list
-- writes them, insert the INSERT ... SELECT ... FROM recs r JOIN people p
-- USING... that writes them (with r.pid and p.region), checks an optional
-- query of (again, first, key) naming a repeated key in recs, prepare an
-- optional statement (on the records as $1) run once every record has been
-- found right and before any person is locked.
CREATE OR REPLACE FUNCTION @extschema@._import_with_people(records json, what text, fields text[], rules text[],
                                                 cols text, insert text, checks text DEFAULT NULL,
                                                 prepare text DEFAULT NULL, correct text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parse text := format(
    $q$SELECT r.*, COALESCE(r.person_id, s.id) AS pid
         FROM @extschema@._import_parse($1, %L, %L, %L) AS r(ord bigint, person_id bigint, identifier text, %s)
         LEFT JOIN @extschema@.person s ON s.subject = @extschema@._import_subject(r.identifier)$q$,
    what, fields, rules, cols);
  found text[];
BEGIN
  -- 0. people adopted from the hub (adopt_region) whom the records name by
  -- identifier: re-keyed to this node's pseudonym, so that step 1 finds
  -- them (an import that then fails undoes it with the rest)
  IF EXISTS (SELECT 1 FROM @extschema@.adopted_person) THEN
    found := @extschema@._import_execute(
      $q$SELECT @extschema@._rekey_adopted(ARRAY(
           SELECT (@extschema@.identifier_check(e ->> 'identifier')).normalized
             FROM json_array_elements(CASE WHEN json_typeof($1) = 'array' THEN $1 ELSE '[]' END) e))$q$,
      records);
  END IF;
  -- 1. read and check: nothing written, nothing locked. (Each person
  -- once: a batch names far fewer people than it has records. The scope
  -- once too: _in_caller_scope() for each of a million records costs
  -- seconds.)
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s),
            unknown AS MATERIALIZED (
              SELECT i.pid FROM (SELECT DISTINCT r.pid FROM recs r WHERE r.pid IS NOT NULL) i
               WHERE NOT EXISTS (SELECT FROM @extschema@.person p
                                  WHERE p.id = i.pid AND %L::@extschema@.division_multirange @> (p.region COLLATE "C")))
       SELECT (SELECT min(r.ord) FROM recs r WHERE r.pid IS NULL OR r.pid IN (SELECT u.pid FROM unknown u)),
              c.* FROM (%s) c RIGHT JOIN (SELECT) one ON true$q$,
    parse, @extschema@.my_region_scope(), coalesce(checks, 'SELECT NULL::bigint, NULL::bigint, NULL::text')),
    records);
  PERFORM @extschema@._import_refuse(what, found[1]::bigint, true, found[2]::bigint, found[3]::bigint, found[4]);
  IF prepare IS NOT NULL THEN
    -- (an assignment, not PERFORM: PERFORM plans a query, which copies the
    -- records into a constant of its plan)
    found := @extschema@._import_execute(prepare, records);
  END IF;
  -- 2. lock the people and write; a person gone in between stops it all
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s),
            people AS MATERIALIZED (
              SELECT * FROM @extschema@._import_people(ARRAY(SELECT DISTINCT r.pid FROM recs r WHERE r.pid IS NOT NULL))),
            gone AS MATERIALIZED (
              SELECT min(r.ord) AS ord FROM recs r WHERE NOT EXISTS (SELECT FROM people p WHERE p.id = r.pid)),
            corrected AS (%s),
            written AS (%s RETURNING 1)
       SELECT (SELECT count(*) FROM written) + (SELECT count(*) FROM corrected), (SELECT g.ord FROM gone g)$q$,
    parse, replace(coalesce(correct || ' RETURNING 1', 'SELECT 1 WHERE false'), '$ok', '(SELECT g.ord IS NULL FROM gone g)'),
    replace(insert, '$ok', '(SELECT g.ord IS NULL FROM gone g)')),
    records);
  PERFORM @extschema@._import_refuse(what, found[2]::bigint, false, NULL, NULL, NULL);
  RETURN found[1]::integer;
END $$;
COMMENT ON FUNCTION @extschema@._import_with_people(json, text, text[], text[], text, text, text, text, text) IS
  'Internal: the two statements of every import of personal evidence: read and check every record and its person (optionally a repeated key), then lock the people (FOR KEY SHARE) and write (optionally correcting rows already recorded too); returns how many rows were written or corrected.';
REVOKE ALL ON FUNCTION @extschema@._import_with_people(json, text, text[], text[], text, text, text, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.import_travel(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'travel',
    '{person_id,identifier,place,at,source,venue}',
    '{id,identifier,place!,evidence_time!,telecom|transport|venue_scan|declared,text}',
    'place text, at timestamptz, source text, venue text',
    -- (a stay before the first day kept could change no colour and would
    -- be dropped with its day: it is left out, and its day not made)
    $q$INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
       SELECT r.pid, p.region, r.place, r.at, COALESCE(r.source, 'telecom'), r.venue
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok AND r.at >= @extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai'
       ON CONFLICT DO NOTHING$q$,
    -- the day partitions, once the batch is known right: every day kept,
    -- not the days of the batch (which days exist must not tell which
    -- days some region imported)
    prepare => $q$SELECT @extschema@.create_travel_partitions() WHERE $1 IS NOT NULL$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_travel(json) IS
  'Imports stays: [{"person_id" or "identifier", "place" (a division code, or a township''s or community''s code below the county), "at" (a time), "source" (telecom, transport, venue_scan, declared; default telecom), "venue"}]. Makes the day partitions of every day kept; duplicates, and stays before the first day kept (retention_plan(): they could change no colour), are skipped; returns how many were new.';
REVOKE ALL ON FUNCTION @extschema@.import_travel(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_travel(json) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.import_test_results(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- a lab re-sending a sample with another result corrects it; a sample
  -- already recorded for someone else is a mistake, never a correction
  RETURN @extschema@._import_with_people(records, 'test result',
    '{person_id,identifier,kind,sampled_at,result,lab,sample_id}',
    '{id,identifier,pcr|antigen!,evidence_time!,positive|negative!,text!,text!}',
    'kind text, sampled_at timestamptz, result text, lab text, sample_id text',
    -- (a new sample; the one already recorded, in whatever month, is
    -- corrected below: test_result_sample holds each once)
    $q$INSERT INTO @extschema@.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
       SELECT r.pid, p.region, r.kind, r.sampled_at, r.result, r.lab, r.sample_id
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok AND NOT EXISTS (SELECT FROM @extschema@.test_result_sample k WHERE k.lab = r.lab AND k.sample_id = r.sample_id)$q$,
    $q$SELECT * FROM (
         -- (the first record that repeats an earlier one's key: linear, by hashing)
         SELECT r.ord, f.first, 'lab and sample_id'
           FROM recs r
           JOIN (SELECT x.lab, x.sample_id, min(x.ord) AS first FROM recs x GROUP BY x.lab, x.sample_id) f
             ON f.lab = r.lab AND f.sample_id = r.sample_id AND r.ord > f.first
         UNION ALL
         -- (a record repeating no other: its sample is someone else's)
         SELECT r.ord, NULL, 'its lab and sample_id are recorded for another person'
           FROM recs r JOIN @extschema@.test_result_sample k ON k.lab = r.lab AND k.sample_id = r.sample_id
          WHERE k.person_id <> r.pid) x ORDER BY 1 LIMIT 1$q$,
    -- (imports of one lab's samples one at a time, from here to the commit:
    -- two at once could each find a new sample missing, and the second
    -- would fail on test_result_sample's key. The labs locked in their
    -- order: no deadlock)
    prepare => $q$SELECT count(pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('healthcode test_result ' || l.lab, 0)))
                    FROM (SELECT DISTINCT e ->> 'lab' AS lab FROM pg_catalog.json_array_elements($1) e ORDER BY 1 OFFSET 0) l$q$,
    -- (a sample held, and the person's: found in test_result_sample, then
    -- among that person's results, not in every month's)
    correct => $q$UPDATE @extschema@.test_result t
                     SET result = r.result, kind = r.kind, sampled_at = r.sampled_at, reported_at = now()
                    FROM recs r JOIN @extschema@.test_result_sample k
                                  ON k.lab = r.lab AND k.sample_id = r.sample_id AND k.person_id = r.pid
                   WHERE $ok AND t.person_id = r.pid AND t.lab = r.lab AND t.sample_id = r.sample_id
                     AND (t.result, t.kind, t.sampled_at) IS DISTINCT FROM (r.result, r.kind, r.sampled_at)$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_test_results(json) IS
  'Imports lab results: [{"person_id" or "identifier", "kind" (pcr, antigen), "sampled_at", "result" (positive, negative), "lab", "sample_id"}]. A known sample of the same person with another result is a correction and replaces it; returns how many rows were new or corrected.';
REVOKE ALL ON FUNCTION @extschema@.import_test_results(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_test_results(json) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.import_risk_areas(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (a venue's designation lies at the venue's place: division may be left
  -- out, and must be that place when given; a venue the caller's regions
  -- do not hold looks like none)
  parse text := format($q$
    SELECT r.ord, coalesce(r.division, v.place) AS division, r.level, r.effective_from, r.effective_until,
           r.bulletin, r.venue, r.division AS named, v.place AS venue_place
      FROM @extschema@._import_parse($1, 'risk area',
             '{division,level,effective_from,effective_until,bulletin,venue}',
             '{place,low|medium|high!,time!,time,text,id}')
           AS r(ord bigint, division text, level text, effective_from timestamptz,
                effective_until timestamptz, bulletin text, venue bigint)
      LEFT JOIN @extschema@.venue v
        ON v.id = r.venue AND %L::@extschema@.division_multirange @> (v.region COLLATE "C")$q$,
    @extschema@.my_region_scope());
  found text[];
BEGIN
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s)
       SELECT (SELECT min(r.ord) FROM recs r
                WHERE NOT %L::@extschema@.division_multirange @> (r.division COLLATE "C")),
              (SELECT min(r.ord) FROM recs r WHERE r.effective_until <= r.effective_from),
              (SELECT min(r.ord) FROM recs r WHERE r.venue IS NULL AND r.named IS NULL),
              (SELECT min(r.ord) FROM recs r WHERE r.venue IS NOT NULL AND r.venue_place IS NULL),
              (SELECT min(r.ord) FROM recs r WHERE r.named <> r.venue_place),
              c.* FROM (SELECT r.ord, f.first,
                               CASE WHEN r.venue IS NULL THEN 'division and effective_from'
                                    ELSE 'venue and effective_from' END
                          FROM recs r
                          JOIN (SELECT x.division, x.venue, x.effective_from, min(x.ord) AS first
                                  FROM recs x GROUP BY x.division, x.venue, x.effective_from) f
                            ON f.division = r.division AND f.venue IS NOT DISTINCT FROM r.venue
                           AND f.effective_from = r.effective_from AND r.ord > f.first
                         ORDER BY r.ord LIMIT 1) c RIGHT JOIN (SELECT) one ON true$q$,
    parse, @extschema@.my_region_scope()), records);
  IF found[3] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": missing (a bulletin names a place or a venue)', found[3]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  IF found[4] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "venue": no such venue in the regions role % acts for', found[4],
                    @extschema@._caller()::regrole
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  IF found[5] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": not the place of the venue named', found[5]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.',
            HINT = 'Leave division out for a venue''s designation: it is the venue''s place.';
  END IF;
  IF found[1] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": outside the regions role % acts for', found[1],
                    @extschema@._caller()::regrole
      USING ERRCODE = '42501', DETAIL = 'Nothing was imported.',
            HINT = 'A DBA maps roles to regions: SELECT healthcode.grant_region(''role'', ''330000'');';
  END IF;
  IF found[2] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "effective_until": not after effective_from', found[2]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  PERFORM @extschema@._import_refuse('risk area', NULL, true, found[6]::bigint, found[7]::bigint, found[8]);
  -- a bulletin re-issued for the same place (or venue) and start updates
  -- level and end
  found := @extschema@._import_execute(format(
    $q$WITH written AS (
         INSERT INTO @extschema@.risk_area AS a (division, venue, level, effective_from, effective_until, bulletin)
         SELECT r.division, r.venue, r.level, r.effective_from, r.effective_until, r.bulletin FROM (%s) r ORDER BY r.ord
         ON CONFLICT ON CONSTRAINT risk_area_natural_key DO UPDATE
            SET level = EXCLUDED.level, effective_until = EXCLUDED.effective_until, bulletin = EXCLUDED.bulletin
          WHERE (a.level, a.effective_until, a.bulletin)
                IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.effective_until, EXCLUDED.bulletin)
         RETURNING 1)
       SELECT count(*) FROM written$q$, parse), records);
  RETURN found[1]::integer;
END $$;
COMMENT ON FUNCTION @extschema@.import_risk_areas(json) IS
  'Imports risk-area bulletins: [{"division" (a place at any level: province to community), or "venue" (a venue id of the caller''s regions), "level" (low, medium, high), "effective_from", "effective_until", "bulletin"}]. A bulletin for a known place (or venue) and start updates its level and end (an upgrade or a downgrade); returns how many rows were new or changed.';
REVOKE ALL ON FUNCTION @extschema@.import_risk_areas(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_risk_areas(json) TO healthcode_app, healthcode_operator;

-- How long a code may live is the region's policy (versioned, inherited
-- down the hierarchy like every other number): max_code_lifetime, minutes
-- by default, as a code on a phone is refreshed; a paper code, printed for
-- someone without a phone, paper_code_lifetime, only where it is set.
-- Every function a role calls to get a code checks valid_for here.
CREATE OR REPLACE FUNCTION @extschema@._require_code_lifetime(region text, valid_for interval, paper boolean, at timestamptz)
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.policy := @extschema@.policy_at(_require_code_lifetime.region, at);
  cap interval := CASE WHEN paper THEN p.paper_code_lifetime ELSE p.max_code_lifetime END;
BEGIN
  IF cap IS NULL THEN
    RAISE EXCEPTION 'region % issues no paper codes', region USING ERRCODE = '55000',
      HINT = 'A policy version of the region (or of one above it) with paper_code_lifetime set allows them.';
  END IF;
  IF valid_for > cap THEN
    RAISE EXCEPTION 'valid_for must be at most % in region %, not %', cap, region,
      quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003',
            DETAIL = format('The policy version in force there caps %s at %s.',
                            CASE WHEN paper THEN 'a paper code''s lifetime' ELSE 'a code''s lifetime' END, cap),
            HINT = CASE WHEN paper THEN 'Ask for a shorter paper code.'
                        ELSE 'A code on a phone is refreshed before it expires; someone without a phone can be given a paper code (issue_paper_code) where policy allows.' END;
  END IF;
  RETURN valid_for;
END $$;
COMMENT ON FUNCTION @extschema@._require_code_lifetime(text, interval, boolean, timestamptz) IS
  'Internal: valid_for if the policy of region in force at at allows a code (or, with paper, a paper code) to live that long; else 22003 (too long) or 55000 (no paper codes there).';
REVOKE ALL ON FUNCTION @extschema@._require_code_lifetime(text, interval, boolean, timestamptz) FROM PUBLIC;

-- One person fetching five codes must count once: a cell counts holders.
-- The day in the hash keeps a holder from being followed across days.
-- (C: every code issued and checked asks it; the day is that of China
-- Standard Time whatever the session's time zone)
CREATE OR REPLACE FUNCTION @extschema@._code_holder(subject bytea, at timestamptz) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_code_holder'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._code_holder(bytea, timestamptz) IS
  'Internal: the first 8 bytes of SHA-256(subject || the day in China Standard Time, YYYY-MM-DD): one pseudonym a holder a day.';
REVOKE ALL ON FUNCTION @extschema@._code_holder(bytea, timestamptz) FROM PUBLIC;

-- Counting a code without writing a row at each one: with healthcode in
-- shared_preload_libraries, events wait in shared memory and the call
-- that finds enough of them waiting writes them all (src/hc_code_events.c
-- says why and what a stop loses); else each call inserts its row.
CREATE OR REPLACE FUNCTION @extschema@._take_code_events()
RETURNS TABLE (at timestamptz, event text, region text, code_region text, colour text, outcome text, holder bytea)
  AS 'MODULE_PATHNAME', 'healthcode_take_code_events'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._take_code_events() IS
  'Internal: this database''s code events waiting in shared memory, taken for the calling transaction to write: gone from there when it commits, waiting again if it rolls back.';
REVOKE ALL ON FUNCTION @extschema@._take_code_events() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._buffered_code_events()
RETURNS TABLE (at timestamptz, event text, region text, code_region text, colour text, outcome text, holder bytea)
  AS 'MODULE_PATHNAME', 'healthcode_buffered_code_events'
  LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._buffered_code_events() IS
  'Internal: this database''s code events waiting in shared memory, left there: what a reader of code_event adds to its rows.';
REVOKE ALL ON FUNCTION @extschema@._buffered_code_events() FROM PUBLIC;

-- Every code event counted so far: those written and those still waiting.
CREATE OR REPLACE FUNCTION @extschema@._code_events() RETURNS SETOF @extschema@.code_event
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT c.at, c.event, c.region, c.code_region, c.colour, c.outcome, c.holder FROM @extschema@.code_event c
  UNION ALL
  SELECT b.at, b.event, b.region, b.code_region, b.colour::@extschema@.risk_colour, b.outcome, b.holder
    FROM @extschema@._buffered_code_events() b;
END;
COMMENT ON FUNCTION @extschema@._code_events() IS
  'Internal: every code event counted so far: the rows of code_event and the events still waiting in shared memory.';
REVOKE ALL ON FUNCTION @extschema@._code_events() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._flush_code_events() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  INSERT INTO @extschema@.code_event (at, event, region, code_region, colour, outcome, holder)
  SELECT e.at, e.event, e.region, e.code_region, e.colour::@extschema@.risk_colour, e.outcome, e.holder
    FROM @extschema@._take_code_events() e;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._flush_code_events() IS
  'Internal: writes this database''s code events waiting in shared memory to code_event; how many.';
REVOKE ALL ON FUNCTION @extschema@._flush_code_events() FROM PUBLIC;

-- Every code issued or checked counts here. (C: every code takes this
-- path; the rare ones, a flush and a row inserted at once, by SPI.)
CREATE OR REPLACE FUNCTION @extschema@._count_code_event(event text, region text, code_region text,
    colour @extschema@.risk_colour, outcome text, holder bytea) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_count_code_event'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._count_code_event(text, text, text, @extschema@.risk_colour, text, bytea) IS
  'Internal: counts a code issued or verified in code_event, at the transaction''s start: where healthcode is preloaded, in shared memory, the waiting events written in batches (0: counted there; 1: and the waiting ones written); else as a row inserted at once (-1).';
REVOKE ALL ON FUNCTION @extschema@._count_code_event(text, text, text, @extschema@.risk_colour, text, bytea) FROM PUBLIC;

-- The two health facts a version 2 code carries, from a person's own
-- evidence up to an instant: when their last negative test was sampled,
-- and how many vaccine doses they had had. (Also what an arrival rule reads
-- for a holder registered here: 94_checkpoints.sql.)
CREATE OR REPLACE FUNCTION @extschema@._person_health_facts(person_id bigint, at timestamptz,
    OUT last_negative_at timestamptz, OUT doses integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (SELECT max(t.sampled_at) FROM @extschema@.test_result t
           WHERE t.person_id = _person_health_facts.person_id AND t.result = 'negative'
             AND t.sampled_at <= _person_health_facts.at),
         (SELECT count(*)::integer FROM @extschema@.vaccination v
           WHERE v.person_id = _person_health_facts.person_id AND v.given_at <= _person_health_facts.at);
END;
COMMENT ON FUNCTION @extschema@._person_health_facts(bigint, timestamptz) IS
  'Internal: a person''s last negative test (sampled, up to at; NULL: none) and vaccine doses given up to at, from their evidence.';
REVOKE ALL ON FUNCTION @extschema@._person_health_facts(bigint, timestamptz) FROM PUBLIC;

-- A person's doses up to an instant as a screen and the shared health data
-- give them: distinct dose numbers, the last one's time and its vaccine.
-- (A SQL body without SET: inlined where it is joined, as by the code
-- screen at every refresh.)
CREATE OR REPLACE FUNCTION @extschema@._doses_of(person_id bigint, at timestamptz,
    OUT doses integer, OUT last_at timestamptz, OUT last_product text)
RETURNS SETOF record
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT pg_catalog.count(DISTINCT v.dose)::integer, pg_catalog.max(v.given_at),
         (pg_catalog.array_agg(v.product ORDER BY v.given_at DESC, v.dose DESC))[1]
    FROM @extschema@.vaccination v
   WHERE v.person_id OPERATOR(pg_catalog.=) _doses_of.person_id AND v.given_at OPERATOR(pg_catalog.<=) _doses_of.at;
END;
COMMENT ON FUNCTION @extschema@._doses_of(bigint, timestamptz) IS
  'Internal: a person''s vaccine doses given up to at: distinct dose numbers, when the last was given and its vaccine (one row; 0 and NULLs for none).';
REVOKE ALL ON FUNCTION @extschema@._doses_of(bigint, timestamptz) FROM PUBLIC;

-- A code for a person, with the status it was signed with (the code
-- screen shows both, read once); called by those below, which run as the
-- owner. Every code takes this path, a code screen at each refresh: one
-- query reads the person within the caller's scope, their status and the
-- policy's code lifetime, and nothing is written but the count
-- (_count_code_event), so that a screen costs little more than its
-- signature and QR symbol. (No SET: its callers pin search_path.)
CREATE OR REPLACE FUNCTION @extschema@._issue_with_status(person_id bigint, valid_for interval, paper boolean,
    health_facts boolean, OUT code @extschema@.healthcode, OUT status @extschema@.status_report)
RETURNS record
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  x record;
  f record;
  t timestamptz := statement_timestamp();
  span interval;
  counted integer;
BEGIN
  IF _issue_with_status.person_id IS NULL OR health_facts IS NULL OR paper IS NULL THEN
    RAISE EXCEPTION '% must not be NULL',
      CASE WHEN _issue_with_status.person_id IS NULL THEN 'person_id' WHEN paper IS NULL THEN 'paper'
           ELSE 'health_facts' END
      USING ERRCODE = '22004';
  END IF;
  -- (assignments, not PERFORM, on this path: PL/pgSQL evaluates a simple
  -- expression without starting an executor for it)
  valid_for := @extschema@._require_valid_for(valid_for);
  -- (before the person is read: an erasure under way ends first, and then
  -- there is no one to issue for)
  PERFORM @extschema@._lock_against_erasure(_issue_with_status.person_id);
  SELECT p.id, p.region, p.subject, s.person_id AS has_status, (s.v).*,
         CASE WHEN paper THEN pol.paper_code_lifetime ELSE pol.max_code_lifetime END AS cap
    INTO x
    FROM @extschema@.person p
    -- (the work list asked once: nearly always empty; OFFSET 0: the status
    -- read once, not once a field)
    LEFT JOIN LATERAL (SELECT y.person_id,
                              CASE WHEN EXISTS (SELECT FROM @extschema@._pending_changes())
                                   THEN @extschema@._status_now(y, t)
                                   ELSE @extschema@.status_at(y, t) END AS v
                         FROM @extschema@.person_status y WHERE y.person_id = p.id
                       OFFSET 0) s ON true
    LEFT JOIN LATERAL @extschema@._policy_in_force(p.region, t) pol ON true
   WHERE p.id = _issue_with_status.person_id AND @extschema@._in_caller_scope(p.region);
  IF NOT FOUND THEN
    PERFORM @extschema@._require_person_id(_issue_with_status.person_id);   -- (raises P0002)
    RAISE EXCEPTION 'person % changed meanwhile', _issue_with_status.person_id USING ERRCODE = '40001';
  END IF;
  IF x.cap IS NULL OR valid_for > x.cap THEN
    PERFORM @extschema@._require_code_lifetime(x.region, valid_for, paper, t);   -- (raises)
  END IF;
  IF x.has_status IS NULL THEN
    RAISE EXCEPTION 'person % has no status yet', x.id USING ERRCODE = '55000';
  END IF;
  -- codes carry whole seconds from the statement's start: never let one
  -- outlive the status it shows
  span := CASE WHEN isfinite(x.valid_until)
               THEN LEAST(valid_for, date_trunc('second', x.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'person %''s status changes within a second', x.id USING ERRCODE = '40001',
      HINT = 'Retry the call: the code would carry a colour that no longer holds when it is shown.';
  END IF;
  IF NOT health_facts THEN
    code := @extschema@.issue(x.region, x.subject, x.colour, span, x.vaccinated, paper);
  ELSE
    f := @extschema@._person_health_facts(x.id, t);
    code := @extschema@.issue(x.region, x.subject, x.colour, span, x.vaccinated, paper,
                              f.last_negative_at, LEAST(f.doses, 255));
  END IF;
  counted := @extschema@._count_code_event('issued', x.region, x.region, x.colour, 'ok',
                                           @extschema@._code_holder(x.subject, t));
  status := ROW(x.id, x.region, x.colour, x.vaccinated, x.reasons, x.since, x.valid_until)::@extschema@.status_report;
END $$;
COMMENT ON FUNCTION @extschema@._issue_with_status(bigint, interval, boolean, boolean) IS
  'Internal: a code for a person the caller may act for (counted in code_event), with the status it carries: what issue_for, issue_paper_code and code_screen share.';
REVOKE ALL ON FUNCTION @extschema@._issue_with_status(bigint, interval, boolean, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._issue_for_person(person_id bigint, valid_for interval, paper boolean,
    health_facts boolean)
RETURNS @extschema@.healthcode
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
RETURN (@extschema@._issue_with_status(_issue_for_person.person_id, _issue_for_person.valid_for,
                                        _issue_for_person.paper, _issue_for_person.health_facts)).code;
COMMENT ON FUNCTION @extschema@._issue_for_person(bigint, interval, boolean, boolean) IS
  'Internal: the code of _issue_with_status, for issue_for, issue_paper_code and issue_batch.';
REVOKE ALL ON FUNCTION @extschema@._issue_for_person(bigint, interval, boolean, boolean) FROM PUBLIC;

-- Code request and generation (GB/T 38963): the code screen, refreshed
-- before the code expires. health_facts asks for a version 2 code that
-- also carries, signed, the last negative test and the dose count, so a
-- checkpoint can apply "a negative test within 48 hours" offline; off by
-- default, as those are facts the holder shows only when travelling.
CREATE OR REPLACE FUNCTION @extschema@.issue_for(person_id bigint, valid_for interval DEFAULT interval '5 minutes',
    health_facts boolean DEFAULT false)
RETURNS @extschema@.healthcode
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN @extschema@._issue_for_person(issue_for.person_id, issue_for.valid_for, false, issue_for.health_facts);
COMMENT ON FUNCTION @extschema@.issue_for(bigint, interval, boolean) IS
  'Code request and generation: signs a code with the person''s current colour and vaccinated mark, expiring after valid_for (default 5 minutes; at most the max_code_lifetime of the policy of the person''s region) but never after the status''s valid_until. health_facts: a version 2 code that also carries the person''s last negative test and vaccine dose count, signed (verify()''s last_negative_at and doses).';
REVOKE ALL ON FUNCTION @extschema@.issue_for(bigint, interval, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_for(bigint, interval, boolean) TO healthcode_app, healthcode_operator;

-- A paper code: printed once, for someone without a phone (the elderly, a
-- child), living as long as the region's policy allows paper codes to
-- (paper_code_lifetime; none where it is not set) and marked as paper in
-- its payload, so a checkpoint sees which kind it holds.
CREATE OR REPLACE FUNCTION @extschema@.issue_paper_code(person_id bigint, valid_for interval,
    health_facts boolean DEFAULT false)
RETURNS @extschema@.healthcode
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN @extschema@._issue_for_person(issue_paper_code.person_id, issue_paper_code.valid_for, true,
                                     issue_paper_code.health_facts);
COMMENT ON FUNCTION @extschema@.issue_paper_code(bigint, interval, boolean) IS
  'A paper code for someone without a phone: like issue_for (health_facts too), but capped by the policy''s paper_code_lifetime (refused where that is not set) and marked as paper in the payload (verify()''s paper column).';
REVOKE ALL ON FUNCTION @extschema@.issue_paper_code(bigint, interval, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_paper_code(bigint, interval, boolean) TO healthcode_app, healthcode_operator;

-- ---------------------------------------------------------------------------
-- Revocation lists: one code, or every code of a person issued so far,
-- revoked before it expires (a lost phone, a wrong colour, fraud), not only
-- a whole key. Stored as hashes (hc_revocation_hash: never the code nor the
-- subject), each for as long as the codes it covers can live; verify()
-- consults them offline (reason revoked), each backend keeping the list in
-- memory until the table changes.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._revocation_hash(kind text, region text, data bytea) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_revocation_hash'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._revocation_hash(text, text, bytea) IS
  'Internal: the 16-byte hash a revocation is kept and looked up by: kind code (data: the payload) or subject (data: the subject), bound to the region.';
REVOKE ALL ON FUNCTION @extschema@._revocation_hash(text, text, bytea) FROM PUBLIC;

-- One code, by the code itself (the holder shows it, or a lost one was
-- recorded): revoked until it would have expired anyway.
CREATE OR REPLACE FUNCTION @extschema@.revoke_code(code @extschema@.healthcode, reason text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  at timestamptz;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  -- codes of the regions the caller acts for, no others
  PERFORM @extschema@._require_caller_scope(@extschema@.region(code));
  INSERT INTO @extschema@.code_revocation AS r (hash, kind, region, expires_at, reason)
  VALUES (@extschema@._revocation_hash('code', @extschema@.region(code), @extschema@.bytea(code)), 'code',
          @extschema@.region(code), @extschema@.expires_at(code), btrim(reason))
  ON CONFLICT (hash) DO UPDATE SET reason = r.reason
  RETURNING r.revoked_at INTO at;
  RETURN at;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_code(@extschema@.healthcode, text) IS
  'Revokes one code of a region the caller acts for, until it expires: verify() says revoked from now on. Returns when it was revoked (the first time, when it was revoked already).';
REVOKE ALL ON FUNCTION @extschema@.revoke_code(@extschema@.healthcode, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_code(@extschema@.healthcode, text) TO healthcode_app, healthcode_operator;

-- Every code of a person issued so far (a lost phone: codes issued from the
-- next second on are valid again). Their codes may have been issued for up
-- to 366 days under some policy version: the revocation lasts as long.
CREATE OR REPLACE FUNCTION @extschema@.revoke_codes_of(person_id bigint, reason text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  t timestamptz := statement_timestamp();
  at timestamptz;
BEGIN
  IF revoke_codes_of.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  p := @extschema@._require_person_id(revoke_codes_of.person_id);
  INSERT INTO @extschema@.code_revocation AS r (hash, kind, region, revoked_at, expires_at, reason)
  VALUES (@extschema@._revocation_hash('subject', p.region, p.subject), 'subject', p.region, t,
          t + interval '366 days', btrim(reason))
  ON CONFLICT (hash) DO UPDATE
    SET revoked_at = greatest(r.revoked_at, EXCLUDED.revoked_at),
        expires_at = greatest(r.expires_at, EXCLUDED.expires_at),
        reason = EXCLUDED.reason, revoked_by = EXCLUDED.revoked_by
  RETURNING r.revoked_at INTO at;
  RETURN at;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_codes_of(bigint, text) IS
  'Revokes every code of a person of the caller''s regions issued up to now (a lost phone, a wrong colour): verify() says revoked for them; codes issued from the next second on are valid. Returns the instant up to which they are revoked.';
REVOKE ALL ON FUNCTION @extschema@.revoke_codes_of(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_codes_of(bigint, text) TO healthcode_app, healthcode_operator;

-- Revocations whose codes have all expired cover nothing any more.
CREATE OR REPLACE FUNCTION @extschema@.drop_expired_revocations() RETURNS bigint
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH gone AS (
    DELETE FROM @extschema@.code_revocation r WHERE r.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() RETURNING 1
  )
  SELECT pg_catalog.count(*) FROM gone;
END;
COMMENT ON FUNCTION @extschema@.drop_expired_revocations() IS
  'Deletes the revocations whose codes have all expired (daily, with drop_expired_travel_partitions); returns how many.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_revocations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_revocations() TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.request_correction(person_id bigint, evidence text, evidence_id bigint, claim text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  owner bigint;
  home text;
  id bigint;
BEGIN
  IF request_correction.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF evidence IS NULL THEN
    RAISE EXCEPTION 'evidence must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM @extschema@.evidence_table e WHERE e.name = evidence AND e.correctable) THEN
    RAISE EXCEPTION 'evidence must be one of %, not %',
      (SELECT string_agg(e.name, ', ' ORDER BY e.name) FROM @extschema@.evidence_table e WHERE e.correctable),
      quote_literal(@extschema@._shorten(evidence)) USING ERRCODE = '22023';
  END IF;
  IF evidence_id IS NULL THEN
    RAISE EXCEPTION 'evidence_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(claim, 'claim');
  -- the person, locked against a move or a deletion until the request is
  -- in: filed with the region a snapshot showed, it would fail its foreign
  -- key (23503) when a move commits meanwhile. The locking read gives the
  -- newest region (READ COMMITTED); a move that comes later waits.
  SELECT p.region INTO home FROM @extschema@.person p
   WHERE p.id = request_correction.person_id AND @extschema@._in_caller_scope(p.region) FOR KEY SHARE;
  EXECUTE format('SELECT e.person_id FROM @extschema@.%I e WHERE e.id = $1 AND @extschema@._in_caller_scope(e.region)', evidence)
    INTO owner USING evidence_id;
  IF owner IS DISTINCT FROM request_correction.person_id OR home IS NULL THEN
    RAISE EXCEPTION 'person % has no % record %', request_correction.person_id, evidence, evidence_id
      USING ERRCODE = 'P0002';
  END IF;
  INSERT INTO @extschema@.correction AS c (person_id, region, evidence, evidence_id, claim)
  VALUES (request_correction.person_id, home, request_correction.evidence, request_correction.evidence_id,
          request_correction.claim)
  RETURNING c.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) IS
  'Error correction, the person''s side: disputes one evidence record with a claim; returns the request id.';
REVOKE ALL ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.decide_correction(correction_id bigint, accept boolean, reason text)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.correction;
  snapshot jsonb;
BEGIN
  IF correction_id IS NULL THEN
    RAISE EXCEPTION 'correction_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF accept IS NULL THEN
    RAISE EXCEPTION 'accept must not be NULL (true or false)' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  -- The person first, then the request: a move holds the person and
  -- cascades into the disputed record and the request; locking the request
  -- first and then deleting the record would deadlock with it. (A request
  -- never changes its person: the one read without a lock is the one.)
  PERFORM 1 FROM @extschema@.person p
   WHERE p.id = (SELECT x.person_id FROM @extschema@.correction x
                  WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region))
   FOR KEY SHARE;
  SELECT * INTO c FROM @extschema@.correction x
   WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region) FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no correction request %', correction_id USING ERRCODE = 'P0002';
  END IF;
  IF c.status <> 'pending' THEN
    RAISE EXCEPTION 'correction request % is % already', correction_id, c.status USING ERRCODE = '55000';
  END IF;
  IF accept THEN
    -- the status history names the correction as the cause
    PERFORM set_config('healthcode.change_cause',
                       format('correction %s accepted: %s', c.id, reason), true);
    EXECUTE format('DELETE FROM @extschema@.%I e WHERE e.id = $1 AND e.person_id = $2 RETURNING to_jsonb(e)',
                   c.evidence)
      INTO snapshot USING c.evidence_id, c.person_id;
    PERFORM set_config('healthcode.change_cause', '', true);
  END IF;
  UPDATE @extschema@.correction x
     SET status = CASE WHEN accept THEN 'accepted' ELSE 'rejected' END,
         decided_by = @extschema@._caller()::regrole::text, decided_at = now(), decision_reason = reason,
         evidence_snapshot = snapshot
   WHERE x.id = c.id;
  RETURN QUERY SELECT * FROM @extschema@.status(c.person_id);
END $$;
COMMENT ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) IS
  'Error correction, the operator''s side: accept (the disputed record is removed, kept as a snapshot on the request, and the status follows with the correction as the cause) or reject, with a reason; returns the person''s status.';
REVOKE ALL ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) TO healthcode_operator;

-- An ID number as a screen shows it: its first and last two characters.
CREATE OR REPLACE FUNCTION @extschema@.mask_identifier(identifier text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN pg_catalog.length(identifier) OPERATOR(pg_catalog.<=) 4
            THEN pg_catalog.repeat('*', pg_catalog.length(identifier))
            ELSE pg_catalog.left(identifier, 2)
                 OPERATOR(pg_catalog.||) pg_catalog.repeat('*', pg_catalog.length(identifier) OPERATOR(pg_catalog.-) 4)
                 OPERATOR(pg_catalog.||) pg_catalog.right(identifier, 2) END;
COMMENT ON FUNCTION @extschema@.mask_identifier(text) IS
  'An ID number as a screen shows it: its first and last two characters, the rest as *; all * for four characters or fewer.';

-- A reason in Chinese, from its rule, time, place and (for temperatures)
-- the English text's value: the engine writes English only.
CREATE OR REPLACE FUNCTION @extschema@.reason_text_zh(reason jsonb, place_zh text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
-- (a SQL body with neither SET nor SECURITY DEFINER: inlined into the
-- screen's query, which shows it for every reason; STABLE as format() is)
RETURN CASE reason OPERATOR(pg_catalog.->>) 'rule'
  WHEN 'stay_high_risk' THEN pg_catalog.format('%s 到访%s（高风险区）', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10), place_zh)
  WHEN 'stay_medium_risk' THEN pg_catalog.format('%s 到访%s（中风险区）', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10), place_zh)
  WHEN 'close_contact' THEN pg_catalog.format('%s 为病例的密切接触者', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'secondary_contact' THEN pg_catalog.format('%s 为病例的次密切接触者', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'declared_contact' THEN pg_catalog.format('%s 申报与病例有接触', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'positive_test' THEN pg_catalog.format('%s 采样的检测结果为阳性', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'pushed_red' THEN pg_catalog.format('%s 其他地区推送的红码', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'pushed_yellow' THEN pg_catalog.format('%s 其他地区共享的黄码', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'symptoms' THEN pg_catalog.format('%s 申报有症状', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'medicine_purchase' THEN
    pg_catalog.format('%s 在%s购买%s', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10),
           COALESCE(reason OPERATOR(pg_catalog.->>) 'venue', place_zh OPERATOR(pg_catalog.||) '的药店'),
           CASE pg_catalog.substring(reason OPERATOR(pg_catalog.->>) 'text', '^bought (.*) at ')
             WHEN 'antipyretics' THEN '退烧药' WHEN 'cough medicine' THEN '止咳药'
             WHEN 'antivirals' THEN '抗病毒药' WHEN 'antibiotics' THEN '抗生素' ELSE '药品' END)
  WHEN 'fever' THEN
    pg_catalog.format('%s 体温 %s°C', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10),
           pg_catalog.substring(reason OPERATOR(pg_catalog.->>) 'text', '([0-9]+\.[0-9]) °C'))
  WHEN 'abnormal_checkin' THEN
    CASE WHEN pg_catalog.substring(reason OPERATOR(pg_catalog.->>) 'text', '([0-9]+\.[0-9]) °C') IS NOT NULL
         THEN pg_catalog.format('%s 健康打卡体温 %s°C', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10),
                     pg_catalog.substring(reason OPERATOR(pg_catalog.->>) 'text', '([0-9]+\.[0-9]) °C'))
         ELSE pg_catalog.format('%s 健康打卡报告有症状', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10)) END
  WHEN 'audit_finding' THEN pg_catalog.format('申报与核查数据不符（%s 核查）', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  WHEN 'test_overdue' THEN
    CASE WHEN (reason OPERATOR(pg_catalog.->>) 'text') OPERATOR(pg_catalog.~~) '%registration%'
         THEN pg_catalog.format('需定期检测：自 %s 登记以来没有阴性结果', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
         ELSE pg_catalog.format('需定期检测：最近一次阴性结果采样于 %s', pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10)) END
  WHEN 'override' THEN
    pg_catalog.format('人工决定：%s（%s 起）',
           CASE reason OPERATOR(pg_catalog.->>) 'colour' WHEN 'green' THEN '绿码' WHEN 'yellow' THEN '黄码' ELSE '红码' END,
           pg_catalog.left(reason OPERATOR(pg_catalog.->>) 'at', 10))
  ELSE reason OPERATOR(pg_catalog.->>) 'text' END;
COMMENT ON FUNCTION @extschema@.reason_text_zh(jsonb, text) IS
  'A status reason''s text in Chinese (the engine writes English), its place named place_zh.';

-- The reasons as a screen shows them: each with its place's names and its
-- text in both languages (the English one with the place's name).
-- (one query for all of them: a screen with reasons shows it at each
-- refresh)
CREATE OR REPLACE FUNCTION @extschema@.screen_reasons(reasons jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF reasons IS NULL OR jsonb_array_length(reasons) = 0 THEN
    RETURN '[]'::jsonb;
  END IF;
  RETURN (
    SELECT jsonb_agg(r.reason || jsonb_build_object(
             'place_zh', r.names[1], 'place_en', r.names[2],
             'text_zh', @extschema@.reason_text_zh(r.reason, COALESCE(r.names[1], r.place)),
             'text_en', CASE WHEN r.place IS NULL THEN r.reason ->> 'text'
                             -- (a pharmacy's sale: the pharmacy by its name)
                             WHEN r.reason ? 'venue'
                             THEN replace(r.reason ->> 'text', 'a pharmacy in ' || r.place, r.reason ->> 'venue')
                             ELSE replace(r.reason ->> 'text', r.place, COALESCE(r.names[2], r.place)) END)
           ORDER BY r.n)
      FROM (SELECT CASE WHEN x.reason ->> 'rule' = 'medicine_purchase'
                        -- (named only where the caller acts for the pharmacy too)
                        THEN x.reason || jsonb_strip_nulls(jsonb_build_object('venue',
                               @extschema@._sale_venue_name((x.reason ->> 'ref')::bigint)))
                        ELSE x.reason END AS reason,
                   x.n,
                   NULLIF(x.reason ->> 'place', '') AS place,
                   @extschema@._division_names(NULLIF(x.reason ->> 'place', '')) AS names
              FROM jsonb_array_elements(reasons) WITH ORDINALITY AS x(reason, n)
            OFFSET 0) r);     -- (a reason is a column above: reason_text_zh, which reads it often, is inlined)
END $$;
COMMENT ON FUNCTION @extschema@.screen_reasons(jsonb) IS
  'Status reasons as a screen shows them: each with place_zh and place_en (division_label) and text_zh and text_en; a pharmacy sale''s with its venue''s name (venue) where the caller acts for the buyer.';

-- One screen: the person (found within the caller's scope by
-- _issue_with_status), a code signed at this statement's instant and the
-- status it carries (read once, so the two always agree), in one query.
-- (No SET: its callers pin search_path, and a SET costs every refresh.)
CREATE OR REPLACE FUNCTION @extschema@._code_screen(person_id bigint, qr text, valid_for interval)
RETURNS @extschema@.code_screen
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  r @extschema@.code_screen;
  t timestamptz := statement_timestamp();
BEGIN
  IF qr IS NULL OR qr NOT IN ('svg', 'png', 'none') THEN
    RAISE EXCEPTION 'qr must be svg, png or none, not %', coalesce(quote_literal(@extschema@._shorten(qr)), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  -- (the code first: it refuses what cannot be issued, a lifetime beyond
  -- the policy's or a status about to change)
  SELECT (i.status).person_id, (i.status).colour, (i.status).vaccinated, p.display_name, NULL,
         -- (most screens have no reasons: no call for those)
         CASE WHEN jsonb_array_length((i.status).reasons) > 0 THEN @extschema@.screen_reasons((i.status).reasons)
              ELSE '[]'::jsonb END,
         (i.status).since, (i.status).valid_until,
         lt.kind, lt.sampled_at, lt.result, floor(extract(epoch FROM t - lt.sampled_at) / 3600)::integer,
         d.doses, d.last_at, d.last_product,
         i.code,
         CASE qr WHEN 'svg' THEN @extschema@.qr_svg(i.code) END,
         CASE qr WHEN 'png' THEN @extschema@.qr_png(i.code) END
    INTO r
    FROM @extschema@._issue_with_status(_code_screen.person_id, valid_for, false, false) i
    JOIN @extschema@.person p ON p.id = (i.status).person_id
    LEFT JOIN LATERAL (SELECT x.kind, x.sampled_at, x.result FROM @extschema@.test_result x
                        WHERE x.person_id = (i.status).person_id AND x.sampled_at <= t
                        ORDER BY x.sampled_at DESC LIMIT 1) lt ON true
    CROSS JOIN LATERAL @extschema@._doses_of((i.status).person_id, t) d;
  RETURN r;
END $$;
COMMENT ON FUNCTION @extschema@._code_screen(bigint, text, interval) IS
  'Internal: the code screen of a person the caller may act for (code_screen).';
REVOKE ALL ON FUNCTION @extschema@._code_screen(bigint, text, interval) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.code_screen(identifier text, qr text DEFAULT 'svg',
    valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.code_screen
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.code_screen := @extschema@._code_screen(@extschema@._require_person(identifier), qr, valid_for);
BEGIN
  r.masked_identifier := @extschema@.mask_identifier(@extschema@._require_identifier(identifier));
  RETURN r;
END $$;
COMMENT ON FUNCTION @extschema@.code_screen(text, text, interval) IS
  'The citizen''s code screen in one call: colour, masked name and ID number, reasons in Chinese and English with place names, the latest test, the doses, since and until when, and a fresh code (valid_for, as issue_for) with its QR (qr: svg, png or none). P0002 for someone not registered in the caller''s regions.';
REVOKE ALL ON FUNCTION @extschema@.code_screen(text, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.code_screen(text, text, interval) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.code_screen(person_id bigint, qr text DEFAULT 'svg',
    valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.code_screen
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (PL/pgSQL: a SQL body that cannot be inlined, as a SECURITY DEFINER one
-- cannot, is planned again at every call)
AS $$
BEGIN
  -- (_issue_with_status finds the person within the caller's scope, or
  -- raises as _require_person_id does)
  RETURN @extschema@._code_screen(code_screen.person_id, code_screen.qr, code_screen.valid_for);
END $$;
COMMENT ON FUNCTION @extschema@.code_screen(bigint, text, interval) IS
  'The code screen by person id (code_screen(identifier) less the masked ID number, which is never stored).';
REVOKE ALL ON FUNCTION @extschema@.code_screen(bigint, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.code_screen(bigint, text, interval) TO healthcode_app, healthcode_operator;

-- ---------------------------------------------------------------------------
-- A citizen's own data, for their own app (doc/api.md): the itinerary card
-- (行程卡: the cities of the last days, starred where a medium- or high-risk
-- area was in force during the stay, never the raw stays), the history of
-- their colour, and their own evidence. Each by identifier, within the
-- caller's regions, one call each.
-- ---------------------------------------------------------------------------

-- The cities of a person's stays in the window, each once, in the order
-- first visited, with the highest level of a designation in force during
-- some stay there on the city, one of its districts or its province.
CREATE OR REPLACE FUNCTION @extschema@._itinerary(person_id bigint, days integer)
RETURNS TABLE (city text, city_zh text, city_en text, starred boolean, risk_level text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH stays AS (
    SELECT pg_catalog.left(t.place, 4) OPERATOR(pg_catalog.||) '00' AS city, t.at
      FROM @extschema@.travel t
     WHERE t.person_id OPERATOR(pg_catalog.=) _itinerary.person_id
       AND t.at OPERATOR(pg_catalog.>=) (pg_catalog.statement_timestamp()
                OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => _itinerary.days))
       AND t.at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
  ), cities AS (
    SELECT s.city, pg_catalog.min(s.at) AS first_at,
           pg_catalog.max((SELECT pg_catalog.max(CASE r.level WHEN 'high' THEN 2 WHEN 'medium' THEN 1 END)
                             FROM @extschema@.risk_area r
                            WHERE r.level OPERATOR(pg_catalog.<>) 'low'
                              AND (pg_catalog.left(r.division, 4) OPERATOR(pg_catalog.=) pg_catalog.left(s.city, 4)
                                   OR r.division OPERATOR(pg_catalog.=) (pg_catalog.left(s.city, 2) OPERATOR(pg_catalog.||) '0000'))
                              AND r.effective_from OPERATOR(pg_catalog.<=) s.at
                              AND (r.effective_until IS NULL OR s.at OPERATOR(pg_catalog.<) r.effective_until))) AS risk
      FROM stays s GROUP BY s.city
  )
  SELECT c.city, @extschema@.division_label(c.city, 'zh'), @extschema@.division_label(c.city, 'en'),
         c.risk IS NOT NULL, CASE c.risk WHEN 2 THEN 'high' WHEN 1 THEN 'medium' END
    FROM cities c ORDER BY c.first_at, c.city;
END;
COMMENT ON FUNCTION @extschema@._itinerary(bigint, integer) IS
  'Internal: the itinerary card of a person the caller may act for (itinerary).';
REVOKE ALL ON FUNCTION @extschema@._itinerary(bigint, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.itinerary(identifier text, days integer DEFAULT 14)
RETURNS TABLE (city text, city_zh text, city_en text, starred boolean, risk_level text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  IF days IS NULL THEN
    RAISE EXCEPTION 'days must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF days NOT BETWEEN 1 AND 30 THEN
    RAISE EXCEPTION 'days must be between 1 and 30, not %', days USING ERRCODE = '22003';
  END IF;
  RETURN QUERY SELECT * FROM @extschema@._itinerary(pid, days);
END $$;
COMMENT ON FUNCTION @extschema@.itinerary(text, integer) IS
  'The itinerary card (行程卡): the cities the person stayed in over the last days (1-30, default 14), in the order first visited, with their names; starred, with the level, where a medium- or high-risk area (on the city, a district of it or its province) was in force during a stay there. Never the stays themselves.';
REVOKE ALL ON FUNCTION @extschema@.itinerary(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.itinerary(text, integer) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.my_history(identifier text)
RETURNS TABLE (at timestamptz, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, reasons jsonb)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  RETURN QUERY
  SELECT c.at, c.from_colour, c.to_colour, @extschema@.screen_reasons(c.reasons)
    FROM @extschema@.status_changes c
   WHERE c.person_id = pid
   ORDER BY c.at DESC;
END $$;
COMMENT ON FUNCTION @extschema@.my_history(text) IS
  'The person''s own colour changes, latest first, each with its reasons as a screen shows them (screen_reasons), as far back as history is kept (retention_plan).';
REVOKE ALL ON FUNCTION @extschema@.my_history(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.my_history(text) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.my_evidence(identifier text)
RETURNS TABLE (kind text, at timestamptz, detail jsonb)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  RETURN QUERY
  SELECT e.kind, e.at, e.detail FROM (
    SELECT 'test_result' AS kind, r.sampled_at AS at,
           jsonb_build_object('id', r.id, 'kind', r.kind, 'result', r.result, 'lab', r.lab, 'reported_at', r.reported_at) AS detail
      FROM @extschema@.test_result r WHERE r.person_id = pid
    UNION ALL
    SELECT 'vaccination', v.given_at, jsonb_build_object('id', v.id, 'dose', v.dose, 'product', v.product)
      FROM @extschema@.vaccination v WHERE v.person_id = pid
    UNION ALL
    SELECT 'declaration', d.declared_at,
           jsonb_build_object('id', d.id, 'symptoms', d.symptoms, 'temperature', d.temperature, 'visited', d.visited,
                              'contact_with_case', d.contact_with_case)
      FROM @extschema@.declaration d WHERE d.person_id = pid
    UNION ALL
    SELECT 'correction', c.requested_at,
           jsonb_build_object('id', c.id, 'evidence', c.evidence, 'evidence_id', c.evidence_id, 'claim', c.claim,
                              'status', c.status, 'decided_at', c.decided_at, 'decision_reason', c.decision_reason)
      FROM @extschema@.correction c WHERE c.person_id = pid) e
  ORDER BY e.at DESC, e.kind;
END $$;
COMMENT ON FUNCTION @extschema@.my_evidence(text) IS
  'The person''s own evidence, latest first: test results, doses, declarations and correction requests (kind, time, detail with the row''s id, which request_correction takes), as far back as each is kept (retention_plan).';
REVOKE ALL ON FUNCTION @extschema@.my_evidence(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.my_evidence(text) TO healthcode_app, healthcode_operator;

-- The statuses of the people found (ord, id or NULL), as readers see them
-- now (fresh while a change on the work list has yet to reach them).
CREATE OR REPLACE FUNCTION @extschema@._statuses_of(found @extschema@.batch_item[])
RETURNS TABLE (ord integer, person_id bigint, outcome text, colour @extschema@.risk_colour, vaccinated boolean,
               since timestamptz, valid_until timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT f.ord, f.person_id,
         CASE WHEN f.outcome OPERATOR(pg_catalog.=) 'ok' AND s.person_id IS NULL THEN 'no_status' ELSE f.outcome END,
         (x.v).colour, (x.v).vaccinated, (x.v).since, (x.v).valid_until
    FROM pg_catalog.unnest(found) f
    LEFT JOIN @extschema@.person_status s ON s.person_id OPERATOR(pg_catalog.=) f.person_id
    LEFT JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                   THEN @extschema@._read_status(s, pg_catalog.statement_timestamp())
                                   ELSE @extschema@.status_at(s, pg_catalog.statement_timestamp()) END AS v
                        WHERE s.person_id IS NOT NULL OFFSET 0) x ON true
   ORDER BY f.ord;
END;
COMMENT ON FUNCTION @extschema@._statuses_of(@extschema@.batch_item[]) IS
  'Internal: the status now of each batch item found (check_statuses).';
REVOKE ALL ON FUNCTION @extschema@._statuses_of(@extschema@.batch_item[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._batch_size(n integer, most integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF n > most THEN
    RAISE EXCEPTION 'a batch has at most % items, not %', most, n USING ERRCODE = '22023',
      HINT = 'Split the list.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._batch_size(integer, integer) IS 'Internal: 22023 for a batch of more than most items.';
REVOKE ALL ON FUNCTION @extschema@._batch_size(integer, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.check_statuses(identifiers text[])
RETURNS TABLE (ord integer, person_id bigint, outcome text, colour @extschema@.risk_colour, vaccinated boolean,
               since timestamptz, valid_until timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
  -- (people adopted from the hub and not re-keyed: looked up one by one,
  -- by national pseudonym, only for the identifiers no subject matched)
  adopted boolean := EXISTS (SELECT 1 FROM @extschema@.adopted_person);
BEGIN
  IF identifiers IS NULL THEN
    RAISE EXCEPTION 'identifiers must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._batch_size(cardinality(identifiers), 100000);
  RETURN QUERY SELECT * FROM @extschema@._statuses_of(ARRAY(
    SELECT ROW(i.ord::integer, p.id,
               CASE WHEN i.norm IS NULL THEN 'invalid' WHEN p.id IS NULL THEN 'unknown' ELSE 'ok' END)::@extschema@.batch_item
      FROM (SELECT x.ord, (@extschema@.identifier_check(x.identifier)).normalized AS norm
              FROM unnest(identifiers) WITH ORDINALITY AS x(identifier, ord)) i
      LEFT JOIN @extschema@.person q ON i.norm IS NOT NULL AND q.subject = @extschema@.pseudonym(i.norm)
      LEFT JOIN @extschema@.person p
        ON p.id = COALESCE(q.id, CASE WHEN adopted AND i.norm IS NOT NULL THEN @extschema@._person_of(i.norm) END)
       AND scope @> (p.region COLLATE "C")));
END $$;
COMMENT ON FUNCTION @extschema@.check_statuses(text[]) IS
  'Batch status check (an employer, a school, a community): for each identifier, in order (ord from 1), the person, an outcome (ok; unknown: no such person in the caller''s regions; invalid: NULL, or no valid identity document, as identifier_check says) and their status now (no_status: a person with none yet). One statement for the whole list (at most 100,000).';
REVOKE ALL ON FUNCTION @extschema@.check_statuses(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_statuses(text[]) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.check_statuses(person_ids bigint[])
RETURNS TABLE (ord integer, person_id bigint, outcome text, colour @extschema@.risk_colour, vaccinated boolean,
               since timestamptz, valid_until timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  IF person_ids IS NULL THEN
    RAISE EXCEPTION 'person_ids must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._batch_size(cardinality(person_ids), 100000);
  RETURN QUERY SELECT * FROM @extschema@._statuses_of(ARRAY(
    SELECT ROW(x.ord::integer, p.id,
               CASE WHEN x.id IS NULL THEN 'invalid' WHEN p.id IS NULL THEN 'unknown' ELSE 'ok' END)::@extschema@.batch_item
      FROM unnest(person_ids) WITH ORDINALITY AS x(id, ord)
      LEFT JOIN @extschema@.person p ON p.id = x.id AND scope @> (p.region COLLATE "C")));
END $$;
COMMENT ON FUNCTION @extschema@.check_statuses(bigint[]) IS
  'Batch status check by person id: for each id, in order, the person (NULL unless ok), an outcome (ok, unknown, invalid: NULL) and their status now.';
REVOKE ALL ON FUNCTION @extschema@.check_statuses(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_statuses(bigint[]) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.issue_batch(person_ids bigint[], valid_for interval DEFAULT interval '5 minutes')
RETURNS TABLE (ord integer, person_id bigint, outcome text, code @extschema@.healthcode)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  item record;
BEGIN
  IF person_ids IS NULL THEN
    RAISE EXCEPTION 'person_ids must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- (a subtransaction an item, each with its own transaction id: a batch
  -- of codes stays small)
  PERFORM @extschema@._batch_size(cardinality(person_ids), 1000);
  -- (a bad valid_for is the whole batch's error, not an item's)
  PERFORM @extschema@._require_valid_for(valid_for);
  FOR item IN SELECT x.id, x.ord::integer AS ord FROM unnest(person_ids) WITH ORDINALITY AS x(id, ord) LOOP
    ord := item.ord;
    person_id := NULL;
    code := NULL;
    IF item.id IS NULL THEN
      outcome := 'invalid';
    ELSE
      BEGIN
        code := @extschema@._issue_for_person(item.id, valid_for, false, false);
        person_id := item.id;
        outcome := 'ok';
      EXCEPTION
        WHEN no_data_found THEN outcome := 'unknown';
        WHEN numeric_value_out_of_range THEN outcome := 'lifetime_beyond_policy';
        WHEN serialization_failure THEN outcome := 'retry';
        -- (no issuer key for the region, or no status yet)
        WHEN object_not_in_prerequisite_state THEN outcome := 'not_issuable';
      END;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.issue_batch(bigint[], interval) IS
  'A code for each of a list of people, as issue_for signs it (each counted in code_event): for each id, in order, an outcome (ok; unknown: no such person in the caller''s regions; invalid: NULL; lifetime_beyond_policy: valid_for beyond the person''s region''s policy; retry: their status changes within a second; not_issuable: no issuer key for their region, or no status yet) and the code when ok. A bad item never stops the batch; at most 1,000 items a call.';
REVOKE ALL ON FUNCTION @extschema@.issue_batch(bigint[], interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_batch(bigint[], interval) TO healthcode_app, healthcode_operator;

-- A standing link between two people of the caller's regions, locked
-- (for_update: to revoke it; else against a revocation under way); P0002
-- otherwise, the same whether a person is unknown, of another region or not
-- linked.
CREATE OR REPLACE FUNCTION @extschema@._require_link(guardian_identifier text, dependant_identifier text,
                                          for_update boolean DEFAULT false)
RETURNS @extschema@.guardian_link
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g bigint := @extschema@.person_id(@extschema@._require_identifier(guardian_identifier, 'guardian_identifier'));
  d bigint := @extschema@.person_id(@extschema@._require_identifier(dependant_identifier, 'dependant_identifier'));
  l @extschema@.guardian_link;
BEGIN
  IF for_update THEN
    SELECT * INTO l FROM @extschema@.guardian_link x
     WHERE x.guardian_id = g AND x.person_id = d AND x.revoked_at IS NULL FOR UPDATE;
  ELSE
    SELECT * INTO l FROM @extschema@.guardian_link x
     WHERE x.guardian_id = g AND x.person_id = d AND x.revoked_at IS NULL FOR SHARE;
  END IF;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no standing guardian link between these people in the regions the caller acts for'
      USING ERRCODE = 'P0002', HINT = 'A guardian acts for a dependant once link_guardian has linked them, until revoke_guardian.';
  END IF;
  RETURN l;
END $$;
COMMENT ON FUNCTION @extschema@._require_link(text, text, boolean) IS
  'Internal: the standing link of a guardian and a dependant of the caller''s regions (locked for share, or for update), else P0002; 22004/22023 for a NULL or empty identifier.';
REVOKE ALL ON FUNCTION @extschema@._require_link(text, text, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._proxy_log(l @extschema@.guardian_link, action text) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  INSERT INTO @extschema@.proxy_action (person_id, region, guardian_id, guardian_region, link_id, action, made_by)
  VALUES (l.person_id, l.region, l.guardian_id, l.guardian_region, l.id, _proxy_log.action,
          @extschema@._caller()::regrole::text);
END;
COMMENT ON FUNCTION @extschema@._proxy_log(@extschema@.guardian_link, text) IS 'Internal: records a proxy action.';
REVOKE ALL ON FUNCTION @extschema@._proxy_log(@extschema@.guardian_link, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.link_guardian(guardian_identifier text, dependant_identifier text, relation text,
                                          consent text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (a bad document is named by its argument)
  g @extschema@.person := @extschema@._require_person_id(@extschema@._require_person(
                            @extschema@._require_identifier(guardian_identifier, 'guardian_identifier')));
  d @extschema@.person := @extschema@._require_person_id(@extschema@._require_person(
                            @extschema@._require_identifier(dependant_identifier, 'dependant_identifier')));
  most integer;
  id bigint;
BEGIN
  PERFORM @extschema@._require_text(relation, 'relation', 20);
  PERFORM @extschema@._require_text(consent, 'consent', 1000);
  IF relation NOT IN ('parent', 'child', 'spouse', 'relative', 'carer', 'other') THEN
    RAISE EXCEPTION 'relation must be one of parent, child, spouse, relative, carer, other, not %',
      quote_literal(@extschema@._shorten(relation)) USING ERRCODE = '22023';
  END IF;
  IF g.id = d.id THEN
    RAISE EXCEPTION 'a person cannot be their own guardian' USING ERRCODE = '22023';
  END IF;
  -- (one link at a time a guardian, under READ COMMITTED as every role of
  -- the extension works: the count and the insert agree; NO KEY, so the
  -- guardian's codes and evidence do not wait)
  PERFORM 1 FROM @extschema@.person x WHERE x.id = g.id FOR NO KEY UPDATE;
  most := (@extschema@.policy_at(g.region, now())).max_dependants;
  IF (SELECT count(*) FROM @extschema@.guardian_link x WHERE x.guardian_id = g.id AND x.revoked_at IS NULL) >= most THEN
    RAISE EXCEPTION 'the guardian already acts for % dependants, the most the policy of region % allows', most, g.region
      USING ERRCODE = '55000', HINT = 'Revoke a link first (revoke_guardian), or ask for the policy''s max_dependants.';
  END IF;
  INSERT INTO @extschema@.guardian_link (person_id, region, guardian_id, guardian_region, relation, consent, linked_by)
  VALUES (d.id, d.region, g.id, g.region, relation, btrim(consent),
          @extschema@._caller()::regrole::text)
  RETURNING guardian_link.id INTO id;
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'these people are linked already' USING ERRCODE = '23505';
END $$;
COMMENT ON FUNCTION @extschema@.link_guardian(text, text, text, text) IS
  'Links a guardian to a dependant (both of the caller''s regions) with the dependant''s consent (the signed form''s reference) and their relation (parent, child, spouse, relative, carer, other); refused beyond the max_dependants of the guardian''s region''s policy (55000). Returns the link''s id.';
REVOKE ALL ON FUNCTION @extschema@.link_guardian(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.link_guardian(text, text, text, text) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.revoke_guardian(guardian_identifier text, dependant_identifier text, reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  l @extschema@.guardian_link;
BEGIN
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  l := @extschema@._require_link(guardian_identifier, dependant_identifier, true);
  UPDATE @extschema@.guardian_link x
     SET revoked_at = now(), revoked_by = @extschema@._caller()::regrole::text,
         revoke_reason = btrim(reason)
   WHERE x.id = l.id;
  RETURN l.id;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_guardian(text, text, text) IS
  'Revokes a standing guardian link (the dependant withdrew consent, or the guardian gave up), with a reason: from then on the guardian acts for the dependant no more. Returns the link''s id.';
REVOKE ALL ON FUNCTION @extschema@.revoke_guardian(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_guardian(text, text, text) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.code_screen_for(guardian_identifier text, dependant_identifier text,
    qr text DEFAULT 'svg', valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.code_screen
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  l @extschema@.guardian_link := @extschema@._require_link(guardian_identifier, dependant_identifier);
  r @extschema@.code_screen;
BEGIN
  r := @extschema@._code_screen(l.person_id, qr, valid_for);
  r.masked_identifier := @extschema@.mask_identifier(@extschema@._require_identifier(dependant_identifier));
  PERFORM @extschema@._proxy_log(l, 'code_screen');
  RETURN r;
END $$;
COMMENT ON FUNCTION @extschema@.code_screen_for(text, text, text, interval) IS
  'A guardian''s call for a linked dependant: the dependant''s code screen (as code_screen), logged in proxy_action as made by the guardian; P0002 without a standing link.';
REVOKE ALL ON FUNCTION @extschema@.code_screen_for(text, text, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.code_screen_for(text, text, text, interval) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.issue_for_dependant(guardian_identifier text, dependant_identifier text,
    valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  l @extschema@.guardian_link := @extschema@._require_link(guardian_identifier, dependant_identifier);
  c @extschema@.healthcode := @extschema@._issue_for_person(l.person_id, valid_for, false, false);
BEGIN
  PERFORM @extschema@._proxy_log(l, 'issue_for');
  RETURN c;
END $$;
COMMENT ON FUNCTION @extschema@.issue_for_dependant(text, text, interval) IS
  'A guardian''s call for a linked dependant: a code as issue_for signs it, logged in proxy_action as made by the guardian; P0002 without a standing link.';
REVOKE ALL ON FUNCTION @extschema@.issue_for_dependant(text, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_for_dependant(text, text, interval) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.declare_for(guardian_identifier text, dependant_identifier text,
    symptoms text[] DEFAULT '{}', temperature numeric DEFAULT NULL, visited text[] DEFAULT '{}',
    contact_with_case boolean DEFAULT false)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  l @extschema@.guardian_link := @extschema@._require_link(guardian_identifier, dependant_identifier);
BEGIN
  PERFORM @extschema@._proxy_log(l, 'declare');
  RETURN QUERY SELECT * FROM @extschema@.declare(dependant_identifier, l.region, NULL, symptoms, temperature,
                                                 visited, contact_with_case);
END $$;
COMMENT ON FUNCTION @extschema@.declare_for(text, text, text[], numeric, text[], boolean) IS
  'A guardian''s call for a linked dependant: the dependant''s health declaration (as declare), logged in proxy_action as made by the guardian; returns the dependant''s status; P0002 without a standing link.';
REVOKE ALL ON FUNCTION @extschema@.declare_for(text, text, text[], numeric, text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.declare_for(text, text, text[], numeric, text[], boolean) TO healthcode_app, healthcode_operator;

-- ---------------------------------------------------------------------------
-- Retention: every personal table has its rule, and one call applies them
-- all (apply_retention(); the daily job). Evidence counts for a colour for
-- a bounded time only, which the national policy versions alone set:
-- windowed evidence (stays, contacts, findings) for the national window
-- (_evidence_horizon), any evidence for evidence_kept_days (90 by default;
-- _evidence_kept_from), which the status engine applies too. So what
-- retention removes was already changing no colour, and no region's
-- operator can make every region's data be kept longer. retention_plan()
-- says table by table what is kept and what goes.
--
-- Travel is the big, time-ordered table: one partition a day (China
-- Standard Time), named travel_YYYYMMDD, dropped whole. The partitions are
-- made for every day from the first kept day to a week ahead, whatever the
-- data (create_travel_partitions()), so that which partitions exist tells
-- nothing about which days hold data of a region; an import leaves out
-- the stays older than the first kept day (they could change no colour).
-- ---------------------------------------------------------------------------

-- Windowed evidence older than this changes no colour from at on.
CREATE OR REPLACE FUNCTION @extschema@._windowed_kept_from(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN GREATEST(@extschema@._evidence_horizon(_windowed_kept_from.at), @extschema@._evidence_kept_from(_windowed_kept_from.at));
COMMENT ON FUNCTION @extschema@._windowed_kept_from(timestamptz) IS
  'Internal: the later of the evidence horizon and the start of the evidence kept (_evidence_kept_from): windowed evidence older than this changes no colour from at on.';
REVOKE ALL ON FUNCTION @extschema@._windowed_kept_from(timestamptz) FROM PUBLIC;

-- The first day whose travel partition is kept: the day of the window's
-- start, less a margin (a day goes once all of it lies before that).
CREATE OR REPLACE FUNCTION @extschema@._travel_first_day(margin interval DEFAULT interval '7 days') RETURNS date
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ((@extschema@._windowed_kept_from(pg_catalog.now()) OPERATOR(pg_catalog.-) margin) AT TIME ZONE 'Asia/Shanghai')::date;
COMMENT ON FUNCTION @extschema@._travel_first_day(interval) IS
  'Internal: the first day (China Standard Time) whose travel partition is kept: the day of the travel window''s start less margin (default 7 days).';
REVOKE ALL ON FUNCTION @extschema@._travel_first_day(interval) FROM PUBLIC;

-- Whether a stay at an instant lies in a day whose partition is kept. One
-- of the last eight days always does (the window is a day at least:
-- lookback_days and evidence_kept_days are 1 or more; the margin a week),
-- and then no policy is asked: a scan asks for its stay, and the lookup is
-- a sixth of a scan's time. (Not STRICT: inlined where it is called.)
CREATE OR REPLACE FUNCTION @extschema@._travel_kept(at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN _travel_kept.at OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '8 days')
    OR _travel_kept.at OPERATOR(pg_catalog.>=) (@extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai');
COMMENT ON FUNCTION @extschema@._travel_kept(timestamptz) IS
  'Internal: whether a stay at this instant lies in a travel day kept (_travel_first_day), asking the policy only for one older than eight days.';
REVOKE ALL ON FUNCTION @extschema@._travel_kept(timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.travel_retention() RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT pg_catalog.now() OPERATOR(pg_catalog.-) @extschema@._windowed_kept_from(pg_catalog.now());
END;
COMMENT ON FUNCTION @extschema@.travel_retention() IS
  'How long travel records matter to any colour, and are kept: the longest window the national policy versions in force now or later allow (their lookback_days and regional_lookback_limit_days), at most their evidence_kept_days.';
REVOKE ALL ON FUNCTION @extschema@.travel_retention() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.drop_expired_travel_partitions(margin interval DEFAULT interval '7 days')
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cutoff date;
  part record;
BEGIN
  IF margin IS NULL OR margin < interval '0' OR margin > interval '10 years' THEN
    RAISE EXCEPTION 'margin must be an interval between 0 and 10 years' USING ERRCODE = '22023';
  END IF;
  cutoff := @extschema@._travel_first_day(margin);
  FOR part IN
    SELECT c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '@extschema@.travel'::regclass
       AND c.relname ~ '^travel_[0-9]{8}$'
       AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
     ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.relname);
    RETURN NEXT part.relname;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) IS
  'Drops the travel day partitions that lie wholly before the travel window''s start (travel_retention()), minus margin (default 7 days), and returns their names. The stays in them can no longer change any colour.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) TO healthcode_admin;

-- ---- the rules, table by table ------------------------------------------------------

-- The tables whose old rows go by their time, with the start of what is
-- kept for each: one list, read by retention_plan() and _retention_delete().
CREATE OR REPLACE FUNCTION @extschema@._retention_rules(at timestamptz)
RETURNS TABLE (tbl text, time_column text, removes_before timestamptz, rule text)
LANGUAGE sql STABLE STRICT
-- (apply_retention, run as an admin, reads it: the national windows it
-- takes come from internal functions)
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  -- (the two cuts taken once, not once a table: each reads the national
  -- versions)
  SELECT r.tbl, r.time_column,
         CASE r.kept WHEN 'windowed' THEN c.windowed
                     -- (a check-in counts for the release of a trigger of
                     -- its calendar day, even a later one: whole days go)
                     WHEN 'kept_days' THEN (pg_catalog.date_trunc('day', c.kept_from AT TIME ZONE 'Asia/Shanghai')
                                            AT TIME ZONE 'Asia/Shanghai')
                     WHEN 'two_days' THEN _retention_rules.at - interval '2 days'
                     ELSE c.kept_from END,
         r.rule
    FROM (SELECT @extschema@._windowed_kept_from(_retention_rules.at) AS windowed,
                 @extschema@._evidence_kept_from(_retention_rules.at) AS kept_from) c
    CROSS JOIN (VALUES
      (1, 'audit_finding', 'found_at', 'windowed',
       'windowed evidence: the national window, at most evidence_kept_days'),
      (2, 'contact', 'exposure_at', 'windowed',
       'windowed evidence: the national window, at most evidence_kept_days'),
      (3, 'declaration', 'declared_at', 'kept',
       'evidence_kept_days (kept longer while an audit finding still kept refers to it)'),
      (4, 'test_result', 'sampled_at', 'kept', 'evidence_kept_days; whole month partitions, the rest row by row'),
      (5, 'checkin', 'at', 'kept_days', 'evidence_kept_days, whole calendar days; whole month partitions, the rest row by row'),
      (6, 'correction', 'requested_at', 'kept',
       'evidence_kept_days once decided (with the copy of the disputed row); a pending request stays until decided'),
      (7, 'code_event', 'at', 'kept', 'evidence_kept_days; whole day partitions, the rest row by row'),
      (8, 'consistency_finding', 'checked_at', 'kept', 'evidence_kept_days'),
      (9, 'exchange_reject', 'received_at', 'kept', 'evidence_kept_days'),
      (10, 'holder_check', 'at', 'two_days', 'two days (the limits on wrong identifiers count a day)'),
      (11, 'guardian_link', 'revoked_at', 'kept', 'evidence_kept_days once revoked; a standing link while it stands'),
      (12, 'proxy_action', 'at', 'kept', 'evidence_kept_days'),
      (13, 'medicine_sale', 'sold_at', 'windowed',
       'windowed evidence: the national window, at most evidence_kept_days'),
      (14, 'exposure_notice', 'until_at', 'windowed',
       'the national window: a contact filed from an older one would count no more'),
      -- (last: apply_retention trims the stored statuses just before it)
      (15, 'status_history', 'at', 'kept', 'evidence_kept_days; whole month partitions, the rest row by row')
    ) AS r(ord, tbl, time_column, kept, rule)
   ORDER BY r.ord;
END;
COMMENT ON FUNCTION @extschema@._retention_rules(timestamptz) IS
  'Internal: the tables whose rows retention removes by their time: table, time column, the start of what is kept at at, and the rule.';
REVOKE ALL ON FUNCTION @extschema@._retention_rules(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._retention_rules(timestamptz) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.retention_plan()
RETURNS TABLE (tbl text, time_column text, removes_before timestamptz, rule text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT 'travel', 'at',
         (@extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai'),
         'windowed evidence: the national window, at most evidence_kept_days; whole day partitions, a week after'
  UNION ALL
  SELECT r.tbl, r.time_column, r.removes_before, r.rule FROM @extschema@._retention_rules(pg_catalog.now()) r
  UNION ALL
  SELECT v.tbl, v.time_column, v.removes_before, v.rule
    FROM (VALUES
      ('person_status', 'inputs, reasons', @extschema@._evidence_kept_from(pg_catalog.now()),
       'the evidence no longer kept leaves its stored inputs; a status whose reasons may name it is recalculated'),
      ('vaccination', NULL, NULL::timestamptz,
       'kept while the person is registered (the dose count never expires); erase_person, purge_region'),
      ('manual_decision', NULL, NULL,
       'kept (the decision chain); an erasure makes tombstones'),
      ('person', NULL, NULL, 'kept while registered; erase_person, purge_region'),
      ('recalc_pending', NULL, NULL, 'transient: a person''s rows go when their batch is recalculated'),
      ('recalc_gone_stays', NULL, NULL, 'transient: a stay''s row goes once no change on the work list was made before it went'),
      ('adopted_person', NULL, NULL, 'transient: a person adopted from the hub leaves it when an identifier re-keys them; goes with the person'),
      ('test_result_sample', NULL, NULL,
       'goes with its test result: in the statement that deletes it (test_result''s triggers; _retention_delete), or before its month is dropped'),
      ('red_push', 'until', NULL, 'as long as the deciding region keeps its red (replicated); purge_region'),
      ('health_share', NULL, NULL, 'as long as the sharing region shares it (replicated); erase_person, purge_region'),
      ('status_digest', NULL, NULL, 'the person''s status now, while registered; erase_person, purge_region'),
      ('code_revocation', 'until', NULL, 'until every code it covers has expired: drop_expired_revocations()')
    ) AS v(tbl, time_column, removes_before, rule);
END;
COMMENT ON FUNCTION @extschema@.retention_plan() IS
  'What apply_retention() keeps and removes, table by table: the time column, the start of what is kept now (NULL: kept by another rule) and the rule.';
REVOKE ALL ON FUNCTION @extschema@.retention_plan() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.retention_plan() TO healthcode_admin;

-- One batch of one table's old rows (the evidence triggers recalculate
-- nobody for them: they change no colour; _retention_statuses trims the
-- stored inputs after).
CREATE OR REPLACE FUNCTION @extschema@._retention_delete(tbl text, batch integer) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  leaf record;
  n integer;
  total integer := 0;
BEGIN
  SELECT * INTO r FROM @extschema@._retention_rules(now()) x WHERE x.tbl = _retention_delete.tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no retention rule removes rows of %', quote_literal(@extschema@._shorten(tbl))
      USING ERRCODE = '22023';
  END IF;
  -- (a table partitioned by time: its partitions wholly gone are dropped
  -- (drop_expired_partitions); what is left to delete lies in the default
  -- partition and the partition the rule cuts into, deleted there, as a
  -- row's ctid names it in its own partition only)
  -- (a table not partitioned so has no such partitions: itself alone)
  FOR leaf IN
    SELECT CASE WHEN EXISTS (SELECT 1 FROM @extschema@._partitioned_by_time() d WHERE d.tbl = r.tbl)
                THEN r.tbl || '_default' ELSE r.tbl END AS name
    UNION ALL
    SELECT p.part FROM @extschema@._time_partitions_of(r.tbl) p
     WHERE p.from_day <= (r.removes_before AT TIME ZONE 'Asia/Shanghai')::date
  LOOP
    -- (a partition's rows deleted where they lie fire none of the table's
    -- triggers: a test result's sample goes with it, in the same statement)
    EXECUTE format(
      'WITH gone AS (DELETE FROM %1$I.%2$I WHERE ctid = ANY (ARRAY(SELECT x.ctid FROM %1$I.%2$I x WHERE x.%3$I < $1 %4$s LIMIT $2))
                     RETURNING %5$s)%6$s
       SELECT count(*) FROM gone',
      '@extschema@', leaf.name, r.time_column,
      CASE r.tbl WHEN 'declaration'
           THEN format('AND NOT EXISTS (SELECT FROM %I.audit_finding f WHERE f.declaration_id = x.id)', '@extschema@')
           WHEN 'correction' THEN 'AND x.status <> ''pending'''
           ELSE '' END,
      CASE r.tbl WHEN 'test_result' THEN 'lab, sample_id' ELSE '1' END,
      CASE r.tbl WHEN 'test_result'
           THEN format(', samples AS (DELETE FROM %I.test_result_sample k USING gone g WHERE k.lab = g.lab AND k.sample_id = g.sample_id)',
                       '@extschema@')
           ELSE '' END)
      INTO n
      USING r.removes_before, batch - total;
    total := total + n;
    EXIT WHEN total >= batch;
  END LOOP;
  RETURN total;
END $$;
COMMENT ON FUNCTION @extschema@._retention_delete(text, integer) IS
  'Internal: deletes at most batch rows of a table that its retention rule (_retention_rules) no longer keeps; returns how many.';
REVOKE ALL ON FUNCTION @extschema@._retention_delete(text, integer) FROM PUBLIC;
-- (apply_retention runs as its caller, to commit a batch at a time)
GRANT EXECUTE ON FUNCTION @extschema@._retention_delete(text, integer) TO healthcode_admin;

-- The stored statuses after the evidence went, batch of them examined
-- from after on: a status whose stored inputs still hold evidence no longer
-- kept loses it there (its timeline, from now on, is the same without it:
-- the engine's own rule); one whose current segment has ended (its reasons
-- may name such evidence) is recalculated, and so is one without inputs.
-- Returns the last person examined; NULL once all were.
CREATE OR REPLACE FUNCTION @extschema@._retention_statuses(after bigint, batch integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  horizon timestamptz := @extschema@._evidence_horizon(now());
  kept_from timestamptz := @extschema@._evidence_kept_from(now());
  last bigint;
  stale bigint[];
  trimmed bigint[];
BEGIN
  -- as every writer of status rows: the evidence lock shared (a risk-area
  -- or policy recalculation holding it exclusively rewrites rows without
  -- locking them first), then the rows, in id order
  PERFORM @extschema@._evidence_lock(false);
  SELECT max(s.person_id),
         array_agg(s.person_id ORDER BY s.person_id)
           FILTER (WHERE s.old AND (s.no_inputs OR s.valid_until <= now())),
         array_agg(s.person_id ORDER BY s.person_id)
           FILTER (WHERE s.old AND NOT s.no_inputs AND s.valid_until > now())
    INTO last, stale, trimmed
    FROM (SELECT x.person_id, x.valid_until, x.inputs IS NULL AS no_inputs,
                 x.inputs IS NULL OR @extschema@._inputs_hold_expired(x.inputs, horizon, kept_from) AS old
            FROM @extschema@.person_status x
           WHERE x.person_id > coalesce(after, -9223372036854775808)
           ORDER BY x.person_id LIMIT batch) s;
  PERFORM 1 FROM @extschema@.person_status x
   WHERE x.person_id = ANY (coalesce(trimmed, '{}') || coalesce(stale, '{}'))
   ORDER BY x.person_id FOR UPDATE;
  UPDATE @extschema@.person_status x SET inputs = @extschema@._inputs_kept(x.inputs, horizon, kept_from)
   WHERE x.person_id = ANY (trimmed) AND x.inputs IS NOT NULL;
  PERFORM @extschema@._recompute(stale, 'retention');
  RETURN last;
END $$;
COMMENT ON FUNCTION @extschema@._retention_statuses(bigint, integer) IS
  'Internal: of the next batch people after after, removes from the stored inputs the evidence no longer kept, and recalculates those whose current segment has ended (or who have no inputs); returns the last person examined, NULL when none was left.';
REVOKE ALL ON FUNCTION @extschema@._retention_statuses(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._retention_statuses(bigint, integer) TO healthcode_admin;

-- The daily job. A procedure, so that each batch commits on its own (short
-- transactions, bounded memory, imports never wait long); inside a
-- transaction block call it with commit_batches => false.
CREATE OR REPLACE PROCEDURE @extschema@.apply_retention(INOUT removed jsonb DEFAULT NULL, batch integer DEFAULT 10000,
                                             commit_batches boolean DEFAULT true)
LANGUAGE plpgsql
AS $$
DECLARE
  t text;
  n integer;
  total bigint;
  after bigint;
BEGIN
  IF batch IS NULL OR batch < 1 OR batch > 1000000 THEN
    RAISE EXCEPTION 'batch must be between 1 and 1000000, not %', coalesce(batch::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  removed := pg_catalog.jsonb_build_object(
    'travel_partitions', (SELECT pg_catalog.count(*) FROM @extschema@.drop_expired_travel_partitions() d),
    'travel_partitions_made', @extschema@.create_travel_partitions());
  -- (travel's locks gone before code_event's are asked for)
  IF commit_batches THEN COMMIT; END IF;
  removed := removed OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
    'partitions', (SELECT pg_catalog.count(*) FROM @extschema@.drop_expired_partitions() d),
    'partitions_made', @extschema@.create_partitions());
  IF commit_batches THEN COMMIT; END IF;
  FOR t IN SELECT r.tbl FROM @extschema@._retention_rules(pg_catalog.now()) r LOOP
    IF t OPERATOR(pg_catalog.=) 'status_history' THEN
      -- the stored statuses: after the evidence, before the history (a
      -- recalculation may append entries of changes time brought about)
      LOOP
        after := @extschema@._retention_statuses(after, batch);
        IF commit_batches THEN COMMIT; END IF;
        EXIT WHEN after IS NULL;
      END LOOP;
    END IF;
    total := 0;
    LOOP
      n := @extschema@._retention_delete(t, batch);
      total := total OPERATOR(pg_catalog.+) n;
      IF commit_batches THEN COMMIT; END IF;
      EXIT WHEN n OPERATOR(pg_catalog.<) batch;
    END LOOP;
    removed := removed OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t, total);
  END LOOP;
END $$;
COMMENT ON PROCEDURE @extschema@.apply_retention(jsonb, integer, boolean) IS
  'The daily retention job (CALL healthcode.apply_retention()): makes the travel partitions of the kept days and the other tables'' partitions by time (create_partitions), drops those of the days gone, deletes the rows every retention rule no longer keeps (retention_plan()), a batch per transaction, then takes the evidence no longer kept out of the stored statuses. Returns what it removed, per table. Nothing it removes could change a colour, so no deletion recalculates anyone.';
REVOKE ALL ON PROCEDURE @extschema@.apply_retention(jsonb, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.apply_retention(jsonb, integer, boolean) TO healthcode_admin;

-- A table's partitions and the days they hold, from_day until before
-- to_day (the default partition aside).
CREATE OR REPLACE FUNCTION @extschema@._time_partitions_of(tbl text) RETURNS TABLE (part text, from_day date, to_day date)
LANGUAGE sql STABLE
BEGIN ATOMIC
  -- (the CASE: no other relation's name is read as a date, in whatever
  -- order the plan takes the conditions)
  SELECT c.relname::text, f.from_day, (f.from_day OPERATOR(pg_catalog.+) ('1 ' OPERATOR(pg_catalog.||) u.unit)::interval)::date
    FROM @extschema@._partitioned_by_time() u
    JOIN pg_catalog.pg_inherits i
      ON i.inhparent OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', '@extschema@', u.tbl)::regclass
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_catalog.format('^%s_[0-9]{%s}$', u.tbl, pg_catalog.length(u.name_format)) AS pattern) n
    CROSS JOIN LATERAL (SELECT CASE WHEN c.relname OPERATOR(pg_catalog.~) n.pattern
                                    THEN pg_catalog.to_date(pg_catalog.right(c.relname, pg_catalog.length(u.name_format)),
                                                            u.name_format) END AS from_day) f
   WHERE u.tbl OPERATOR(pg_catalog.=) _time_partitions_of.tbl
     AND c.relname OPERATOR(pg_catalog.~) n.pattern;
END;
COMMENT ON FUNCTION @extschema@._time_partitions_of(text) IS
  'Internal: the partitions of a table partitioned by time (name, the first day it holds, the day after its last), its default partition aside.';
REVOKE ALL ON FUNCTION @extschema@._time_partitions_of(text) FROM PUBLIC;

-- The first day a table's retention keeps (its rule in _retention_rules).
CREATE OR REPLACE FUNCTION @extschema@._first_day_kept(tbl text) RETURNS date
LANGUAGE sql STABLE
RETURN (SELECT (r.removes_before AT TIME ZONE 'Asia/Shanghai')::date
          FROM @extschema@._retention_rules(pg_catalog.now()) r WHERE r.tbl OPERATOR(pg_catalog.=) _first_day_kept.tbl);
COMMENT ON FUNCTION @extschema@._first_day_kept(text) IS
  'Internal: the first day (China Standard Time) of which a table''s retention rule keeps rows.';
REVOKE ALL ON FUNCTION @extschema@._first_day_kept(text) FROM PUBLIC;

-- The partitions a table lacks from first_day to last_day: the name, the
-- first day each holds and the day after its last (a month's from its 1st:
-- every month first_day..last_day touches).
CREATE OR REPLACE FUNCTION @extschema@._time_partitions_missing(tbl text, first_day date, last_day date)
RETURNS TABLE (part text, from_day date, to_day date)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT n.part, g.from_day, g.to_day
    FROM @extschema@._partitioned_by_time() u
    CROSS JOIN LATERAL (SELECT s::date AS from_day, (s OPERATOR(pg_catalog.+) ('1 ' OPERATOR(pg_catalog.||) u.unit)::interval)::date AS to_day
                          FROM pg_catalog.generate_series(pg_catalog.date_trunc(u.unit, first_day::timestamp),
                                                          last_day::timestamp, ('1 ' OPERATOR(pg_catalog.||) u.unit)::interval) s) g
    CROSS JOIN LATERAL (SELECT u.tbl OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||)
                               pg_catalog.to_char(g.from_day, u.name_format) AS part) n
   WHERE u.tbl OPERATOR(pg_catalog.=) _time_partitions_missing.tbl
     AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', '@extschema@', n.part)) IS NULL
   ORDER BY g.from_day;
END;
COMMENT ON FUNCTION @extschema@._time_partitions_missing(text, date, date) IS
  'Internal: the partitions of a table partitioned by time that first_day..last_day needs and it lacks (name, the first day each holds, the day after its last).';
REVOKE ALL ON FUNCTION @extschema@._time_partitions_missing(text, date, date) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.create_partitions(first_day date DEFAULT NULL, last_day date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (the partition bounds are written as text: in a form that reads back as
-- the same instant whatever the caller's DateStyle and TimeZone)
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
-- (the table's lock waited for a second at most: below)
SET lock_timeout = '1s'
AS $$
DECLARE
  t record;
  p record;
  columns text;
  moves text;
  starts date[];
  first_made date;
  after_made date;
  made integer := 0;
  schema_name text := '@extschema@';
BEGIN
  last_day := coalesce(last_day, (now() AT TIME ZONE 'Asia/Shanghai')::date + 7);
  FOR t IN SELECT x.*, coalesce(first_day, @extschema@._first_day_kept(x.tbl)) AS first
             FROM @extschema@._partitioned_by_time() x LOOP
    PERFORM @extschema@._require_day_span(t.first, last_day);
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM @extschema@._time_partitions_missing(t.tbl, t.first, last_day));
    -- (the lock serialises creators, and makes this session see partitions
    -- another has just committed. Every code issued or checked may write
    -- the table, and would queue behind a lock still waited for: if a long
    -- reader (a pg_dump) holds it a second, the partitions wait for the
    -- next run, their rows in the default partition meanwhile)
    BEGIN
      EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', schema_name, t.tbl);
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING 'the partitions of % wait for the next run: a lock on % did not come in a second', t.tbl, t.tbl;
      CONTINUE;
    END;
    -- (the rows of the partitions to make go into each partition itself,
    -- in one statement: a row moved is no new evidence, and the table's
    -- triggers would recalculate its person)
    columns := (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = format('%I.%I', schema_name, t.tbl)::regclass AND a.attnum > 0
                   AND NOT a.attisdropped AND a.attgenerated = '');
    SELECT string_agg(format(', %I AS (INSERT INTO %I.%I (%s) SELECT %s FROM moved WHERE %I >= %L AND %I < %L)',
                             'into_' || m.part, schema_name, m.part, columns, columns,
                             t.time_column, m.from_day::timestamp AT TIME ZONE 'Asia/Shanghai',
                             t.time_column, m.to_day::timestamp AT TIME ZONE 'Asia/Shanghai'), '' ORDER BY m.from_day),
           min(m.from_day), max(m.to_day), array_agg(m.from_day)
      INTO moves, first_made, after_made, starts
      FROM @extschema@._time_partitions_missing(t.tbl, t.first, last_day) m;
    CONTINUE WHEN moves IS NULL;
    -- The default partition stands apart while the partitions are made:
    -- beside it, attaching one would scan all its rows, once a partition
    -- made (an update's backlog, or days the job missed). Its rows of those
    -- days then go to them, and it is attached again: one scan.
    EXECUTE format('ALTER TABLE %1$I.%2$I DETACH PARTITION %1$I.%3$I', schema_name, t.tbl, t.tbl || '_default');
    FOR p IN SELECT * FROM @extschema@._time_partitions_missing(t.tbl, t.first, last_day) LOOP
      EXECUTE format('CREATE TABLE %1$I.%2$I PARTITION OF %1$I.%3$I FOR VALUES FROM (%4$L) TO (%5$L)',
                     schema_name, p.part, t.tbl, p.from_day::timestamp AT TIME ZONE 'Asia/Shanghai',
                     p.to_day::timestamp AT TIME ZONE 'Asia/Shanghai');
      PERFORM @extschema@._index_partition(t.tbl, p.part);
      EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, p.part,
                     format('%s of %s (China Standard Time); dropped by drop_expired_partitions().', t.tbl,
                            CASE t.unit WHEN 'day' THEN p.from_day::text ELSE to_char(p.from_day, 'YYYY-MM') END));
      PERFORM @extschema@._comment_partition(format('%I.%I', schema_name, p.part)::regclass);
      made := made + 1;
    END LOOP;
    -- (the rows of the partitions made, and only theirs: each goes into one.
    -- The span bounds the scan; the days name the partitions)
    EXECUTE format('WITH moved AS (DELETE FROM %1$I.%2$I WHERE %3$I >= $1 AND %3$I < $2
                                      AND pg_catalog.date_trunc(%4$L, %3$I AT TIME ZONE %5$L)::date = ANY ($3)
                                    RETURNING %6$s)%7$s SELECT',
                   schema_name, t.tbl || '_default', t.time_column, t.unit, 'Asia/Shanghai', columns, moves)
      USING first_made::timestamp AT TIME ZONE 'Asia/Shanghai', after_made::timestamp AT TIME ZONE 'Asia/Shanghai', starts;
    EXECUTE format('ALTER TABLE %1$I.%2$I ATTACH PARTITION %1$I.%3$I DEFAULT', schema_name, t.tbl, t.tbl || '_default');
  END LOOP;
  RETURN made;
END $$;
COMMENT ON FUNCTION @extschema@.create_partitions(date, date) IS
  'Creates the missing partitions of the tables partitioned by time besides travel (code_event by day, <table>_YYYYMMDD; status_history, checkin and test_result by month, <table>_YYYYMM) for first_day..last_day (default: from the first day each one''s retention keeps, see retention_plan(), to a week ahead), moving into each the rows that waited in the table''s default partition; returns how many it made.';
REVOKE ALL ON FUNCTION @extschema@.create_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_partitions(date, date) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.drop_expired_partitions() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (dropping a partition locks its table: waited for a second at most, as
-- in create_partitions)
SET lock_timeout = '1s'
AS $$
DECLARE
  t record;
  part record;
BEGIN
  -- (the first day kept: once a table, not once a partition)
  FOR t IN SELECT x.tbl, @extschema@._first_day_kept(x.tbl) AS first FROM @extschema@._partitioned_by_time() x LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM @extschema@._time_partitions_of(t.tbl) p WHERE p.to_day <= t.first);
    BEGIN
      EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', '@extschema@', t.tbl);
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING 'the expired partitions of % wait for the next run: a lock on % did not come in a second', t.tbl, t.tbl;
      CONTINUE;
    END;
    FOR part IN
      SELECT p.part FROM @extschema@._time_partitions_of(t.tbl) p WHERE p.to_day <= t.first ORDER BY p.from_day
    LOOP
      -- (a partition dropped fires none of the table's triggers: its test
      -- results' samples go first)
      IF t.tbl = 'test_result' THEN
        EXECUTE format('DELETE FROM %1$I.test_result_sample k USING %1$I.%2$I p
                         WHERE k.lab = p.lab AND k.sample_id = p.sample_id', '@extschema@', part.part);
      END IF;
      EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.part);
      RETURN NEXT part.part;
    END LOOP;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_partitions() IS
  'Drops the partitions of the tables partitioned by time besides travel (code_event, status_history, checkin, test_result) that lie wholly before what their retention rule keeps (retention_plan()), and returns their names; retention deletes the older rows of the partition it cuts into, and of the default partition, row by row.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_partitions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_partitions() TO healthcode_admin;

-- ---------------------------------------------------------------------------
-- The daily jobs (issue 17): make the day partitions ahead, audit the
-- pending declarations, roll up yesterday for the trends, apply retention,
-- drop the revocations whose codes have all expired. One list of them
-- (_daily_jobs); schedule_jobs() puts them on pg_cron (Debian's
-- postgresql-15-cron) where it is installed in this database, under the
-- calling role (a healthcode_admin login: the jobs run with its rights,
-- not a superuser's), and otherwise returns the lines for the system's
-- cron. doc/operations.md.
-- ---------------------------------------------------------------------------

-- (in the order they run: the partitions before anything writes a stay,
-- the audit's findings and yesterday's rollup before retention deletes)
CREATE OR REPLACE FUNCTION @extschema@._daily_jobs() RETURNS TABLE (job text, minute integer, command text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT j.job, j.minute, j.command
    FROM (VALUES (1, 'healthcode_partitions', 0, 'SELECT @extschema@.create_travel_partitions() + @extschema@.create_partitions()'),
                 (2, 'healthcode_audit', 10, 'SELECT count(*) FROM @extschema@.audit()'),
                 (3, 'healthcode_rollup', 20, 'SELECT @extschema@.rollup_day()'),
                 (4, 'healthcode_retention', 30, 'CALL @extschema@.apply_retention()'),
                 (5, 'healthcode_revocations', 50, 'SELECT @extschema@.drop_expired_revocations()')) j(n, job, minute, command)
   ORDER BY j.n;
END;
COMMENT ON FUNCTION @extschema@._daily_jobs() IS
  'Internal: the daily jobs, in the order they run: name, minute after the hour, SQL command.';
REVOKE ALL ON FUNCTION @extschema@._daily_jobs() FROM PUBLIC;
-- (schedule_jobs runs as its caller, so that the jobs run with the caller's rights)
GRANT EXECUTE ON FUNCTION @extschema@._daily_jobs() TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.schedule_jobs(at_hour integer DEFAULT 18)
RETURNS TABLE (job text, schedule text, command text, scheduled boolean, cron_line text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  j record;
  with_cron boolean := to_regnamespace('cron') IS NOT NULL;
BEGIN
  IF at_hour IS NULL OR at_hour NOT BETWEEN 0 AND 23 THEN
    RAISE EXCEPTION 'at_hour must be an hour from 0 to 23, not %', coalesce(at_hour::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  FOR j IN SELECT * FROM @extschema@._daily_jobs() d LOOP
    job := j.job;
    schedule := format('%s %s * * *', j.minute, at_hour);
    command := j.command;
    cron_line := format('%s psql -X -q -d %s -c %s', schedule, quote_ident(current_database()),
                        quote_literal(j.command));
    IF with_cron THEN
      -- (by name: a second call changes the job instead of adding one; run by
      -- pg_cron in this database as the calling role)
      EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING j.job, schedule, j.command;
    END IF;
    scheduled := with_cron;
    RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.schedule_jobs(integer) IS
  'Puts the daily jobs (partitions ahead, audit, rollup, retention, expired revocations) on pg_cron when it is installed in this database (cron.database_name), each by name at its minute of the hour at_hour of pg_cron''s clock (UTC unless configured: 18 is 02:00 in China), run as the calling role; calling it again changes them, never adds. Returns each job, its schedule and command, whether it was scheduled, and the line for the system''s crontab where pg_cron is not installed. doc/operations.md.';
REVOKE ALL ON FUNCTION @extschema@.schedule_jobs(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.schedule_jobs(integer) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.unschedule_jobs() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer := 0;
  j record;
BEGIN
  IF to_regnamespace('cron') IS NULL THEN
    RETURN 0;
  END IF;
  FOR j IN EXECUTE 'SELECT x.jobname FROM cron.job x WHERE x.jobname = ANY ($1) AND x.username = current_user'
             USING ARRAY(SELECT d.job FROM @extschema@._daily_jobs() d) LOOP
    EXECUTE 'SELECT cron.unschedule($1::name)' USING j.jobname;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS
  'Takes the daily jobs the calling role scheduled (schedule_jobs) off pg_cron; returns how many.';
REVOKE ALL ON FUNCTION @extschema@.unschedule_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.unschedule_jobs() TO healthcode_admin;

-- ---------------------------------------------------------------------------
-- Venues (场所): the supermarkets, schools, stations, pharmacies, workplaces
-- and residential communities where codes are shown, each registered by an
-- operator of its region (issue 15). A venue is closed, never deleted: the
-- scans and traces that name it stay explained. Row-level security as the
-- personal tables have it (96_rls.sql): a role sees and registers the venues
-- of its regions only, and venue ids are opaque.
-- ---------------------------------------------------------------------------

-- The kinds of venue, in one place: the tables' checks and create_venue's
-- message read them.
CREATE OR REPLACE FUNCTION @extschema@._venue_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['supermarket', 'school', 'hospital', 'pharmacy', 'transport', 'workplace',
             'residential_community', 'restaurant', 'public_venue', 'other'];
COMMENT ON FUNCTION @extschema@._venue_kinds() IS
  'Internal: the kinds of venue (venue.kind, venue_entry_rule.kind).';

-- A venue of the caller's regions, locked (as a change of it locks it),
-- else P0002: a venue of another region looks like none.
CREATE OR REPLACE FUNCTION @extschema@._require_venue(venue_id bigint) RETURNS @extschema@.venue
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.venue;
BEGIN
  IF venue_id IS NULL THEN
    RAISE EXCEPTION 'venue_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT * INTO v FROM @extschema@.venue x
   WHERE x.id = _require_venue.venue_id AND @extschema@._in_caller_scope(x.region)
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no venue % in the regions role % acts for', venue_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  RETURN v;
END $$;
COMMENT ON FUNCTION @extschema@._require_venue(bigint) IS
  'Internal: the venue with this id in the caller''s regions, locked FOR UPDATE; else 22004 (NULL) or P0002 (unknown there, as another region''s is).';
REVOKE ALL ON FUNCTION @extschema@._require_venue(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._risk_area_venue_place() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  venue_place text;
BEGIN
  IF NEW.venue IS NULL OR @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- (as the writing role: row-level security shows it its own venues)
  SELECT v.place INTO venue_place FROM @extschema@.venue v WHERE v.id = NEW.venue;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'risk area: no venue % in the regions role % acts for', NEW.venue, current_user
      USING ERRCODE = '23503';
  END IF;
  IF NEW.division IS NULL THEN
    NEW.division := venue_place;
  ELSIF NEW.division <> venue_place THEN
    RAISE EXCEPTION 'risk area: venue % lies in %, not in %', NEW.venue, venue_place, NEW.division
      USING ERRCODE = '22023', HINT = 'Leave division out for a venue''s designation: it is the venue''s place.';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._risk_area_venue_place() IS
  'Internal: BEFORE ROW trigger of risk_area: a venue''s designation lies at the venue''s place (filled in when NULL, 22023 when another), and names a venue the writing role sees (23503 otherwise).';
REVOKE ALL ON FUNCTION @extschema@._risk_area_venue_place() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.create_venue(place text, name text, kind text, address text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
  region text := left(create_venue.place, 6);
BEGIN
  PERFORM @extschema@._require_place(create_venue.place);
  -- (its owner region is the county's six digits: a place below a county
  -- lies in one; a place of six digits must be a county itself)
  IF @extschema@.division_rank(create_venue.place) < 3 THEN
    RAISE EXCEPTION 'a venue lies in a county-level division (330106) or below it (330106001, 330106001001), not in %',
      create_venue.place USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_caller_scope(region);
  IF create_venue.name IS NULL OR create_venue.kind IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', CASE WHEN create_venue.name IS NULL THEN 'name' ELSE 'kind' END
      USING ERRCODE = '22004';
  END IF;
  IF length(btrim(create_venue.name)) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'name must have 1 to 200 characters, not %', length(btrim(create_venue.name))
      USING ERRCODE = '22023';
  END IF;
  IF NOT create_venue.kind = ANY (@extschema@._venue_kinds()) THEN
    RAISE EXCEPTION 'kind must be %, not %',
      regexp_replace(array_to_string(@extschema@._venue_kinds(), ', '), ', ([a-z_]+)$', ' or \1'),
      quote_literal(@extschema@._shorten(create_venue.kind)) USING ERRCODE = '22023';
  END IF;
  IF length(create_venue.address) > 500 THEN
    RAISE EXCEPTION 'address is too long (% characters; at most 500)', length(create_venue.address)
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.venue AS v (region, place, name, kind, address, created_by)
  VALUES (region, create_venue.place, btrim(create_venue.name), create_venue.kind, create_venue.address,
          @extschema@._caller()::regrole::text)
  RETURNING v.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.create_venue(text, text, text, text) IS
  'Registers a venue at a place (a county, or a township or community below it) of a region the caller acts for (22023 for a bad place, name, kind or address; 42501 outside the caller''s regions); returns its id.';
REVOKE ALL ON FUNCTION @extschema@.create_venue(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_venue(text, text, text, text) TO healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.close_venue(venue_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.venue;
BEGIN
  IF venue_id IS NULL OR reason IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', CASE WHEN venue_id IS NULL THEN 'venue_id' ELSE 'reason' END
      USING ERRCODE = '22004';
  END IF;
  IF length(btrim(reason)) NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'reason must have 1 to 1000 characters' USING ERRCODE = '22023';
  END IF;
  v := @extschema@._require_venue(venue_id);
  IF v.closed_at IS NOT NULL THEN
    RAISE EXCEPTION 'venue % was closed on %', venue_id, v.closed_at USING ERRCODE = '55000';
  END IF;
  UPDATE @extschema@.venue x
     SET closed_at = now(), closed_by = @extschema@._caller()::regrole::text, close_reason = btrim(reason)
   WHERE x.id = venue_id;
  -- on the node that speaks for its region (a region node, or the hub for
  -- a region it hosts), published to every other node
  -- (94_federation_exposures.sql): its code is refused online everywhere
  IF @extschema@._served_here() @> (v.region COLLATE "C") THEN
    INSERT INTO @extschema@.venue_closure (venue, venue_region, closed_at) VALUES (v.id, v.region, now())
    ON CONFLICT ON CONSTRAINT venue_closure_pkey DO NOTHING;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.close_venue(bigint, text) IS
  'Closes a venue of the caller''s regions, saying why (P0002 for a venue unknown there, 55000 when already closed). A closed venue stays, with its scans. On a region node the closure is published through the hub (venue_closure), so other nodes refuse its code online too.';
REVOKE ALL ON FUNCTION @extschema@.close_venue(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.close_venue(bigint, text) TO healthcode_operator;

-- ---- venue codes (场所码): printed once at the door, checked by every app ----
-- The signing primitive, the owner's only (as issue() is).
CREATE OR REPLACE FUNCTION @extschema@._sign_venue_code(region text, venue_id bigint) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_sign_venue_code'
  LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._sign_venue_code(text, bigint) IS
  'Internal: a venue code (HCV:...) for a venue of region, signed with the region''s active issuer key (or the nearest above it), issued now.';
REVOKE ALL ON FUNCTION @extschema@._sign_venue_code(text, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._verify_venue_code(code text, at timestamptz,
    OUT valid boolean, OUT venue_id bigint, OUT region text, OUT issued_at timestamptz,
    OUT key_id bytea, OUT reason text)
RETURNS record
  AS 'MODULE_PATHNAME', 'healthcode_verify_venue_code'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._verify_venue_code(text, timestamptz) IS
  'Internal: a venue code judged offline against the trust list: malformed, unknown_key, bad_signature, region_mismatch, key_revoked, key_not_valid_at_issue, key_expired, not_yet_valid or ok.';

CREATE OR REPLACE FUNCTION @extschema@.venue_code(venue_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (locked: a venue closed meanwhile gets no code)
  v @extschema@.venue := @extschema@._require_venue(venue_code.venue_id);
BEGIN
  IF v.closed_at IS NOT NULL THEN
    RAISE EXCEPTION 'venue % was closed on %', venue_id, v.closed_at USING ERRCODE = '55000';
  END IF;
  RETURN @extschema@._sign_venue_code(v.region, v.id);
END $$;
COMMENT ON FUNCTION @extschema@.venue_code(bigint) IS
  'The venue code (HCV:...) a venue of the caller''s regions prints at its door, signed by its region''s key; print it with venue_qr_svg or venue_qr_png. P0002 for a venue unknown in the caller''s regions, 55000 for a closed one.';
REVOKE ALL ON FUNCTION @extschema@.venue_code(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.venue_code(bigint) TO healthcode_operator;

-- A scanned venue code: offline what the signature says, online (the
-- default) also whether this node knows the venue closed. Its name and kind
-- are answered for a code that verifies: they are printed at its door.
CREATE OR REPLACE FUNCTION @extschema@.verify_venue_code(code text, at timestamptz DEFAULT pg_catalog.now(),
    online boolean DEFAULT true,
    OUT valid boolean, OUT venue_id bigint, OUT region text, OUT name text, OUT kind text,
    OUT issued_at timestamptz, OUT reason text, OUT online_check text, OUT place text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  v @extschema@.venue;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(at, 'at');
  r := @extschema@._verify_venue_code(code, at);
  valid := r.valid;
  venue_id := r.venue_id;
  region := r.region;
  issued_at := r.issued_at;
  reason := r.reason;
  online_check := 'not_asked';
  IF r.valid AND coalesce(online, true) THEN
    SELECT * INTO v FROM @extschema@.venue x WHERE x.id = r.venue_id AND x.region = r.region;
    IF NOT FOUND THEN
      -- (a venue of another node: closed if its node published its closure)
      IF EXISTS (SELECT 1 FROM @extschema@.venue_closure c WHERE c.venue = r.venue_id AND c.venue_region = r.region) THEN
        valid := false;
        reason := 'venue_closed';
        online_check := 'venue_closed';
      ELSE
        online_check := 'unknown';
      END IF;
    ELSE
      name := v.name;
      kind := v.kind;
      place := v.place;
      online_check := 'ok';
      -- (closed now, whatever at asks: when it closed is not printed at
      -- its door, and an at of the caller's choosing would find it out)
      IF v.closed_at IS NOT NULL THEN
        valid := false;
        reason := 'venue_closed';
        online_check := 'venue_closed';
      END IF;
    END IF;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_venue_code(text, timestamptz, boolean) IS
  'A scanned venue code: offline (the trust list) malformed, unknown_key, bad_signature, region_mismatch, key_revoked, key_not_valid_at_issue, key_expired (a venue prints its code again when its region''s key rotates), not_yet_valid or ok; online (the default), venue_closed when this node knows the venue closed, and its name and kind where it knows it (online_check: ok, venue_closed, unknown, or not_asked; place, where it lies, the same). A venue of another node is venue_closed where its node published its closure (venue_closure). A venue code has no expiry: it stands while its key is trusted and its venue open.';
REVOKE ALL ON FUNCTION @extschema@.verify_venue_code(text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_venue_code(text, timestamptz, boolean)
  TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE OR REPLACE FUNCTION @extschema@.venue_qr_svg(code text, ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_venue_qr_svg'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.venue_qr_svg(text, text, integer) IS
  'A venue code as an SVG QR symbol (22P02 for a text that is no venue code); ec_level L, M (default), Q or H; module_size in pixels (1-64).';

CREATE OR REPLACE FUNCTION @extschema@.venue_qr_png(code text, ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_venue_qr_png'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.venue_qr_png(text, text, integer) IS
  'A venue code as a PNG QR symbol (22P02 for a text that is no venue code).';

-- A stay a person makes known themselves (a declared trip, a venue scan):
-- its time checked as the travel trigger checks it, its day's partition
-- made, and nothing kept before the first day kept (80_retention.sql). The
-- person is locked as imports lock them. Once a person, venue and minute for
-- a scan (the day partitions' unique index: a repeat writes nothing). True
-- when a row was written.
CREATE OR REPLACE FUNCTION @extschema@._record_stay(person_id bigint, place text, at timestamptz, source text, venue text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM @extschema@._require_place(place, 'place');
  PERFORM @extschema@._require_finite(at, 'at');
  -- (the travel trigger's own check, before a partition is made for the day)
  PERFORM @extschema@._check_evidence_times('travel', 'at', at, at);
  IF NOT @extschema@._travel_kept(at) THEN
    RETURN false;
  END IF;
  IF to_regclass(format('@extschema@.%I', 'travel_' || to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'))) IS NULL THEN
    PERFORM @extschema@.create_travel_partitions();
  END IF;
  INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
  SELECT p.id, p.region, _record_stay.place, _record_stay.at, _record_stay.source, _record_stay.venue
    FROM @extschema@.person p WHERE p.id = _record_stay.person_id
     FOR KEY SHARE
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n > 0;
END $$;
COMMENT ON FUNCTION @extschema@._record_stay(bigint, text, timestamptz, text, text) IS
  'Internal: records a stay a person makes known (declare_trip, scan_venue) through the travel evidence path; true when a row was written.';
REVOKE ALL ON FUNCTION @extschema@._record_stay(bigint, text, timestamptz, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.scan_venue(person_id bigint, code text, at timestamptz DEFAULT pg_catalog.now(),
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT display_name text,
    OUT venue_id bigint, OUT venue_name text, OUT venue_kind text, OUT rule text, OUT recorded boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (one function a scan, the identifier's calling this one: each layer of a
-- call is a statement of its own, and a door's scan is the busiest call)
AS $$
DECLARE
  -- (the person, in the caller's regions: P0002 otherwise)
  who @extschema@.person := @extschema@._require_person_id(scan_venue.person_id);
  t timestamptz := COALESCE(scan_venue.at, now());
  v record;
  demand text;
  negative_test_hours integer;
  asynchronous text;
  last_negative timestamptz;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  v := @extschema@.verify_venue_code(code, t, true);
  IF NOT v.valid THEN
    -- (a code that is not a venue's, or a closed venue: no stay, no entry)
    admit := false;
    reason := v.reason;
    recorded := false;
    RETURN;
  END IF;
  -- A venue of another node (online_check unknown: its code verifies by the
  -- trust list, but the registry here does not hold it): the stay is
  -- recorded here all the same, the visitor's evidence on the visitor's
  -- node, in the venue's county as its code says (a venue's id is its own
  -- node's: with the county, it names one venue nationwide, as exposure
  -- notices from that node name it, 84_exposures.sql); its name and kind are
  -- not known here, so no entry rule of a kind applies.
  display_name := who.display_name;
  venue_id := v.venue_id;
  venue_name := v.name;
  venue_kind := v.kind;
  -- A scan is the transaction's first (and only) write when the app calls
  -- it alone: the transaction then commits without waiting for its WAL to
  -- reach the disk (a crash in the next fraction of a second may lose the
  -- last scans, never half of one; the door's answer stands), unless the
  -- DBA asks otherwise (healthcode.asynchronous_scans). Not when the
  -- transaction wrote before: what it wrote keeps the durability it asked
  -- for.
  IF current_setting('healthcode.asynchronous_scans', true) IS DISTINCT FROM 'off' AND pg_current_xact_id_if_assigned() IS NULL THEN
    asynchronous := set_config('synchronous_commit', 'off', true);
  END IF;
  -- the same person, venue and minute: one stay (the partitions' unique index)
  recorded := @extschema@._record_stay(who.id, COALESCE(v.place, v.region), t, 'venue_scan',
                                       v.venue_id::text);
  -- The colour after the stay (a venue in a risk area turns the visitor at
  -- once), read as status() reads it (the caller's scope was checked with
  -- the person), and the rule at the door, in one statement.
  -- (the work list asked once, as current_status asks it: nearly always
  -- empty, and then the stored timeline is read in the statement itself)
  SELECT CASE WHEN (SELECT @extschema@._work_pending()) THEN (@extschema@._status_now(x, t)).colour
              ELSE (@extschema@.status_at(x, t)).colour END,
         e.description, e.demand, e.negative_test_hours
    INTO colour, rule, demand, negative_test_hours
    FROM @extschema@.person_status x
    LEFT JOIN LATERAL (
      SELECT e.description, e.demand, e.negative_test_hours FROM @extschema@.venue_entry_rule e
       WHERE @extschema@.division_covers(e.region, v.region) AND e.kind = v.kind
         AND e.valid_from <= t AND (e.valid_until IS NULL OR t < e.valid_until)
       ORDER BY @extschema@.division_rank(e.region) DESC, e.valid_from DESC
       LIMIT 1) e ON true
   WHERE x.person_id = who.id;
  rule := COALESCE(rule, 'no entry rule: a green code');
  IF colour IS DISTINCT FROM 'green' THEN
    admit := false;
    reason := 'not_green';
  ELSIF demand = 'green_and_negative_test' THEN
    last_negative := (@extschema@._person_health_facts(who.id, t)).last_negative_at;
    admit := COALESCE(last_negative BETWEEN t - make_interval(hours => negative_test_hours) AND t, false);
    reason := CASE WHEN admit THEN 'ok' ELSE 'no_recent_negative_test' END;
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.scan_venue(bigint, text, timestamptz) IS
  'A visitor scans a venue''s code (扫场所码): the code verified (online), the stay recorded as a venue_scan (once for the same person, venue and minute; the triggers recalculate), and what the door keeper sees: admit, reason (ok, not_green, no_recent_negative_test, or why the code failed: malformed, bad_signature, venue_closed, ...), the colour after the stay, the masked name, the venue and the entry rule that decided (venue_entry_rule). A venue of another node (its code verifies by the trust list): the stay is recorded in the venue''s county, its name and kind NULL, and a green code is asked. The transaction commits asynchronously when the scan is its first write (healthcode.asynchronous_scans). P0002 for a person not of the caller''s regions.';
REVOKE ALL ON FUNCTION @extschema@.scan_venue(bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.scan_venue(bigint, text, timestamptz) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.scan_venue(identifier text, code text, at timestamptz DEFAULT pg_catalog.now(),
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT display_name text,
    OUT venue_id bigint, OUT venue_name text, OUT venue_kind text, OUT rule text, OUT recorded boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  SELECT * INTO admit, reason, colour, display_name, venue_id, venue_name, venue_kind, rule, recorded
    FROM @extschema@.scan_venue(@extschema@._require_person(scan_venue.identifier), scan_venue.code, scan_venue.at);
END $$;
COMMENT ON FUNCTION @extschema@.scan_venue(text, text, timestamptz) IS
  'scan_venue by the visitor''s identifier.';
REVOKE ALL ON FUNCTION @extschema@.scan_venue(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.scan_venue(text, text, timestamptz) TO healthcode_app, healthcode_operator;

-- Scans in bulk, as a venue's own system sends them: each record a person
-- (person_id or identifier), a venue (its id) and a time. Checked and
-- written as every import is (72_imports.sql); a venue unknown in the
-- caller's regions, or closed before the scan, refuses the batch naming the
-- record; once for the same person, venue and minute.
CREATE OR REPLACE FUNCTION @extschema@.import_scans(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'scan',
    '{person_id,identifier,venue,at}',
    '{id,identifier,id!,evidence_time!}',
    'venue bigint, at timestamptz',
    $q$INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
       SELECT DISTINCT ON (r.pid, v.id, date_trunc('minute', r.at)) r.pid, p.region, v.place, r.at, 'venue_scan', v.id::text
         FROM recs r JOIN people p ON p.id = r.pid JOIN @extschema@.venue v ON v.id = r.venue
        WHERE $ok AND r.at >= @extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai'
        ORDER BY r.pid, v.id, date_trunc('minute', r.at), r.at
       ON CONFLICT DO NOTHING$q$,
    checks => format(
      $q$SELECT r.ord, NULL::bigint,
                format('field "venue": no venue %%s open at the scan in the regions the caller acts for', r.venue)
           FROM recs r
          WHERE NOT EXISTS (SELECT FROM @extschema@.venue v
                             WHERE v.id = r.venue AND (v.closed_at IS NULL OR v.closed_at > r.at)
                               AND %L::@extschema@.division_multirange @> (v.region COLLATE "C"))
          ORDER BY r.ord LIMIT 1$q$, @extschema@.my_region_scope()),
    prepare => $q$SELECT @extschema@.create_travel_partitions() WHERE $1 IS NOT NULL$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_scans(json) IS
  'Imports venue scans from a venue''s system: [{"person_id" or "identifier", "venue" (a venue id of the caller''s regions, open at the scan), "at"}], each a venue_scan stay at the venue''s place (once for the same person, venue and minute); a record naming an unknown or closed venue, or a person outside the caller''s regions, refuses the batch. Returns how many stays were new.';
REVOKE ALL ON FUNCTION @extschema@.import_scans(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_scans(json) TO healthcode_app, healthcode_operator;

-- ---------------------------------------------------------------------------
-- Exposure tracing (时空伴随, issue 15): given a case (a positive test) and
-- a window, everyone who was at the same venue as the case (a venue scan)
-- or in the same community (a stay at a twelve-digit place), within the
-- policy's exposure_minutes of the case's own stay there, found from the
-- travel day partitions' indexes alone: (venue, place, at) for venues, (place,
-- at) for communities. trace_exposures files them as contacts of the case
-- in one call (the contact import's path: the triggers recalculate them).
-- Operators only, for a case of their regions. The people found may live
-- in other regions of this node: they are filed all the same, as a
-- designation of a risk area counts for whoever stayed there, but the
-- caller is shown, and counts, only the people of its own regions.
-- ---------------------------------------------------------------------------

-- A stay's venue as a venue id: travel.venue is text (an import may name a
-- venue system's own reference), so only a number a venue id can be is one.
CREATE OR REPLACE FUNCTION @extschema@._venue_id(venue text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN venue ~ '^[1-9][0-9]{0,18}$'
                 AND (pg_catalog.length(venue) < 19 OR venue COLLATE "C" <= '9223372036854775807')
            THEN venue::bigint END;
COMMENT ON FUNCTION @extschema@._venue_id(text) IS
  'Internal: a travel row''s venue as a venue id, NULL when it is no number a venue id can be.';
REVOKE ALL ON FUNCTION @extschema@._venue_id(text) FROM PUBLIC;

-- How close in time to a case's stay another's counts: the policy's
-- exposure_minutes in the case's region when it was sampled.
CREATE OR REPLACE FUNCTION @extschema@._exposure_reach(c @extschema@.test_result) RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.make_interval(mins => (@extschema@.policy_at(c.region, c.sampled_at)).exposure_minutes);
COMMENT ON FUNCTION @extschema@._exposure_reach(@extschema@.test_result) IS
  'Internal: how close in time to a case''s stay another person''s stay counts as an exposure (the policy''s exposure_minutes).';
REVOKE ALL ON FUNCTION @extschema@._exposure_reach(@extschema@.test_result) FROM PUBLIC;

-- Every exposure of a case on this node, whatever the caller's regions.
CREATE OR REPLACE FUNCTION @extschema@._exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                       at_level text)
RETURNS TABLE (person_id bigint, region text, exposure_at timestamptz, venue_id bigint, place text,
               case_at timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- (one plan for the session: a custom plan, made again at every call for
-- its values, costs more to make than to run, over a month of day
-- partitions; the generic plan prunes them as it runs)
SET plan_cache_mode = force_generic_plan
-- (the rows found are sorted by person in memory: a station's hour is
-- tens of thousands)
SET work_mem = '64MB'
AS $$
DECLARE
  c @extschema@.test_result;
  reach interval;
BEGIN
  IF case_result IS NULL OR window_from IS NULL OR window_until IS NULL OR at_level IS NULL THEN
    RAISE EXCEPTION '% must not be NULL',
      CASE WHEN case_result IS NULL THEN 'case_result' WHEN window_from IS NULL THEN 'window_from'
           WHEN window_until IS NULL THEN 'window_until' ELSE 'at_level' END
      USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(window_from, 'window_from');
  PERFORM @extschema@._require_finite(window_until, 'window_until');
  IF window_until <= window_from OR window_until - window_from > interval '31 days' THEN
    RAISE EXCEPTION 'the window must end after it starts and last at most 31 days, not % to %', window_from, window_until
      USING ERRCODE = '22023';
  END IF;
  IF at_level NOT IN ('venue', 'community') THEN
    RAISE EXCEPTION 'at_level must be venue or community, not %', quote_literal(@extschema@._shorten(at_level))
      USING ERRCODE = '22023';
  END IF;
  -- (a case of the caller's regions only: another region's looks like none)
  SELECT * INTO c FROM @extschema@.test_result r
   WHERE r.id = case_result AND @extschema@._in_caller_scope(r.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no test result % in the regions role % acts for', case_result, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  IF c.result <> 'positive' THEN
    RAISE EXCEPTION 'test result % is negative: it makes no case', case_result USING ERRCODE = '22023';
  END IF;
  reach := @extschema@._exposure_reach(c);
  -- Per stay of the case in the window (its person's rows of each day
  -- partition), the stays around it at its venue (the partial index on
  -- (venue, place, at) of venue scans) or in its community (the index on (place,
  -- at)); each person once, at their first such stay. Static queries: their
  -- plans are kept for the session, and the partitions the time range of
  -- each stay cannot reach are pruned as they run.
  IF at_level = 'venue' THEN
    RETURN QUERY
      SELECT DISTINCT ON (o.person_id) o.person_id, o.region, o.at, v.id, o.place, s.at
        FROM @extschema@.travel s
        -- (the venue's id once a stay of the case, not once a row found)
        CROSS JOIN LATERAL (SELECT @extschema@._venue_id(s.venue) AS id OFFSET 0) v
        JOIN @extschema@.travel o
          ON o.venue = s.venue AND o.place = s.place AND o.source = 'venue_scan'
         AND o.at >= s.at - reach AND o.at <= s.at + reach
       WHERE s.person_id = c.person_id AND s.at >= window_from AND s.at < window_until
         AND s.source = 'venue_scan' AND s.venue IS NOT NULL AND o.person_id <> c.person_id
       ORDER BY o.person_id, o.at, s.at;
  ELSE
    RETURN QUERY
      SELECT DISTINCT ON (o.person_id) o.person_id, o.region, o.at, NULL::bigint, o.place, s.at
        FROM @extschema@.travel s
        JOIN @extschema@.travel o ON o.place = s.place AND o.at >= s.at - reach AND o.at <= s.at + reach
       WHERE s.person_id = c.person_id AND s.at >= window_from AND s.at < window_until
         AND length(s.place) = 12 AND o.person_id <> c.person_id
       ORDER BY o.person_id, o.at, s.at;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._exposures(bigint, timestamptz, timestamptz, text) IS
  'Internal: every person on this node at the same venue (at_level venue: venue scans) or in the same community (community: stays at a twelve-digit place) as the case of a positive test of the caller''s regions, within the policy''s exposure_minutes of one of the case''s stays in the window; each once, at their first such stay.';
REVOKE ALL ON FUNCTION @extschema@._exposures(bigint, timestamptz, timestamptz, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                      at_level text DEFAULT 'venue')
RETURNS TABLE (person_id bigint, exposure_at timestamptz, venue_id bigint, place text, case_at timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  RETURN QUERY
    SELECT e.person_id, e.exposure_at, e.venue_id, e.place, e.case_at
      FROM @extschema@._exposures(case_result, window_from, window_until, at_level) e
     WHERE scope @> (e.region COLLATE "C");
END $$;
COMMENT ON FUNCTION @extschema@.exposures(bigint, timestamptz, timestamptz, text) IS
  'The people of the caller''s regions exposed to a case (a positive test of the caller''s regions, by its id) in a window of at most 31 days: at the same venue (at_level venue, the default) or in the same community (community) within the policy''s exposure_minutes of the case''s stay there; each once, at the first such stay, with the venue and place and the case''s time; in the order of the people''s ids. Changes nothing (trace_exposures files them). P0002 for a test result the caller''s regions do not hold, 22023 for a negative one or a bad window.';
REVOKE ALL ON FUNCTION @extschema@.exposures(bigint, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.exposures(bigint, timestamptz, timestamptz, text) TO healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@.trace_exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                            at_level text DEFAULT 'venue', kind text DEFAULT 'secondary',
                                            source_case text DEFAULT NULL)
RETURNS TABLE (person_id bigint, exposure_at timestamptz, venue_id bigint, place text, recorded boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
  reference text;
BEGIN
  IF case_result IS NULL THEN
    RAISE EXCEPTION 'case_result must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- (by default a reference that names no row: the test result's id is its
  -- region's, and the contacts filed, here and on other nodes, may be other
  -- regions'; a keyed digest of it, the same at every trace of the case)
  reference := COALESCE(trace_exposures.source_case,
                        'exposure trace ' || left(encode(@extschema@.pseudonym('exposure trace ' || case_result), 'hex'), 16));
  IF kind IS NULL OR kind NOT IN ('close', 'secondary') THEN
    RAISE EXCEPTION 'kind must be close or secondary, not %', coalesce(quote_literal(@extschema@._shorten(kind)), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reference, 'source_case', 200);
  -- the people locked as an import locks them (a move waits; in id order)
  RETURN QUERY
    WITH found AS MATERIALIZED (
      SELECT e.* FROM @extschema@._exposures(case_result, window_from, window_until, at_level) e
    ), locked AS MATERIALIZED (
      SELECT p.id, p.region FROM @extschema@.person p
       WHERE p.id IN (SELECT f.person_id FROM found f)
       ORDER BY p.id FOR KEY SHARE
    ), written AS (
      INSERT INTO @extschema@.contact AS x (person_id, region, kind, exposure_at, source_case)
      SELECT f.person_id, l.region, trace_exposures.kind, f.exposure_at, reference
        FROM found f JOIN locked l ON l.id = f.person_id
      ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING
      RETURNING x.person_id
    )
    SELECT f.person_id, f.exposure_at, f.venue_id, f.place, w.person_id IS NOT NULL
      FROM found f JOIN locked l ON l.id = f.person_id
      LEFT JOIN written w ON w.person_id = f.person_id
     WHERE scope @> (l.region COLLATE "C");
  -- people of other nodes who were there: the notices, through the hub
  -- (94_federation_exposures.sql; nothing on a node outside a federation)
  PERFORM @extschema@._publish_exposures(case_result, window_from, window_until, at_level, kind, reference);
END $$;
COMMENT ON FUNCTION @extschema@.trace_exposures(bigint, timestamptz, timestamptz, text, text, text) IS
  'Files everyone exposures() finds as contacts (kind secondary, the default, or close) of the case, in one call, with source_case (default "exposure trace <16 hex digits>", a keyed digest of the test result''s id, the same at every trace of it, naming no row) as the case''s reference: the status triggers recalculate them. People of other regions of this node are filed too, as a risk area counts for whoever stayed there, and are neither shown nor counted to the caller; on a region node, a notice of each of the case''s stays goes to every other node through the hub (exposure_notice), which files its own people who were there. Returns the caller''s regions'' people, recorded false for one already filed for this case, kind and time. Operators of the case''s region only.';
REVOKE ALL ON FUNCTION @extschema@.trace_exposures(bigint, timestamptz, timestamptz, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.trace_exposures(bigint, timestamptz, timestamptz, text, text, text) TO healthcode_operator;

-- ---------------------------------------------------------------------------
-- Consistency: recompute every status from the raw evidence and compare it
-- with what the triggers stored. An empty result means the incremental,
-- trigger-driven recalculation agrees with a full one.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._consistency_of(persons bigint[], at timestamptz)
RETURNS TABLE (person_id bigint, stored jsonb, recomputed jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH fresh AS (
    SELECT f.person_id, f.timeline AS v
      FROM @extschema@._fresh_status(_consistency_of.persons, _consistency_of.at) f
  ), policies AS MATERIALIZED (
    -- once a region, and the horizon once
    SELECT r.region, @extschema@._policy_versions(r.region) AS vec,
           @extschema@._evidence_horizon(_consistency_of.at) AS horizon
      FROM (SELECT DISTINCT s.region FROM @extschema@.person_status s
             WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_consistency_of.persons)) r
  ), stored AS MATERIALIZED (
    -- what readers see: while a change on the work list has yet to
    -- recalculate a person, their status computed fresh (_status_now), and
    -- their stored inputs may lag until it has
    SELECT s.person_id, x.v,
           -- the timeline a risk-area change would compute from the stored
           -- inputs (with no stay re-examined): it must be the same
           CASE WHEN s.inputs IS NOT NULL AND x.pending IS NULL THEN
             @extschema@._status_from_stored_inputs(s.inputs, '{}', '{}', '{}', '{}', v.vec, _consistency_of.at,
                                          v.horizon) END AS from_inputs
      FROM @extschema@.person_status s
      JOIN policies v ON v.region OPERATOR(pg_catalog.=) s.region
     -- (and a status row whose person is not in the batch belongs to another)
      CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                      THEN @extschema@._status_now(s, _consistency_of.at)
                                      ELSE @extschema@.status_at(s, _consistency_of.at) END AS v,
                                 CASE WHEN (SELECT @extschema@._work_pending())
                                      THEN @extschema@._pending_since(s.person_id) END AS pending
                            OFFSET 0) x
     WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_consistency_of.persons)
  ), compared AS (
    SELECT COALESCE(f.person_id, s.person_id) AS person_id,
           CASE WHEN s.person_id IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (s.v).colour, 'vaccinated', (s.v).vaccinated,
                                           'reasons', (s.v).reasons, 'valid_until', (s.v).valid_until,
                                           'next', (s.v).next) END AS stored,
           CASE WHEN f.person_id IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (f.v).colour, 'vaccinated', (f.v).vaccinated,
                                           'reasons', (f.v).reasons, 'valid_until', (f.v).valid_until,
                                           'next', (f.v).next) END AS recomputed,
           s.from_inputs
      FROM fresh f
      FULL JOIN stored s ON s.person_id OPERATOR(pg_catalog.=) f.person_id
  ), judged AS (
    SELECT c.person_id, c.stored, c.recomputed,
           CASE WHEN c.from_inputs IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (c.from_inputs).colour,
                                           'vaccinated', (c.from_inputs).vaccinated,
                                           'reasons', (c.from_inputs).reasons,
                                           'valid_until', (c.from_inputs).valid_until,
                                           'next', (c.from_inputs).next) END AS from_inputs
      FROM compared c
  )
  SELECT j.person_id,
         j.stored OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('from_inputs', j.from_inputs),
         j.recomputed OPERATOR(pg_catalog.||)
           pg_catalog.jsonb_build_object('from_inputs', CASE WHEN j.from_inputs IS NOT NULL THEN j.recomputed END)
    FROM judged j
   WHERE j.stored IS DISTINCT FROM j.recomputed
      OR (j.from_inputs IS NOT NULL AND j.from_inputs IS DISTINCT FROM j.recomputed)
   ORDER BY 1;
END;
COMMENT ON FUNCTION @extschema@._consistency_of(bigint[], timestamptz) IS
  'Internal: check_consistency for the people given (one batch).';
REVOKE ALL ON FUNCTION @extschema@._consistency_of(bigint[], timestamptz) FROM PUBLIC;

-- Everyone, a batch at a time (healthcode.recalc_batch_size people, by
-- id): memory stays bounded however many people there are.
CREATE OR REPLACE FUNCTION @extschema@.check_consistency(at timestamptz DEFAULT pg_catalog.statement_timestamp())
RETURNS TABLE (person_id bigint, stored jsonb, recomputed jsonb)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  batch integer := @extschema@._recalc_setting('batch_size');
  last_id bigint := -1;
  persons bigint[];
BEGIN
  PERFORM @extschema@._require_finite(check_consistency.at, 'at');
  LOOP
    persons := ARRAY(SELECT p.id FROM @extschema@.person p WHERE p.id > last_id ORDER BY p.id LIMIT batch);
    EXIT WHEN cardinality(persons) = 0;
    last_id := persons[cardinality(persons)];
    RETURN QUERY SELECT * FROM @extschema@._consistency_of(persons, check_consistency.at);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.check_consistency(timestamptz) IS
  'Recomputes every person''s status from the raw evidence, a batch of healthcode.recalc_batch_size people at a time, and returns each person whose status as readers see it (read at the same instant) differs, with both versions; under "from_inputs", the status computed from the evidence stored with it (person_status.inputs, what a risk-area change recomputes from), which must be the same. Empty when the triggers kept everything right.';
REVOKE ALL ON FUNCTION @extschema@.check_consistency(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_consistency(timestamptz) TO healthcode_admin;

-- ---------------------------------------------------------------------------
-- Pharmacy registration (药品登记, issue 15): a pharmacy (a venue of kind
-- pharmacy) registers each sale of fever, cough, antiviral or antibiotic
-- medicine with the buyer's identifier, one at a time at the counter or in
-- bulk from its system. A sale is evidence like any other (medicine_sale,
-- 51_evidence.sql): the triggers recalculate the buyer, and where the
-- policy says so (medicine_purchase_yellow, off by default) the buyer is
-- yellow until a negative test sampled after the sale.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.register_medicine_sale(identifier text, venue_id bigint, medicine text,
                                                   at timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(register_medicine_sale.identifier);
  v @extschema@.venue;
  n integer;
BEGIN
  IF venue_id IS NULL OR medicine IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', CASE WHEN venue_id IS NULL THEN 'venue_id' ELSE 'medicine' END
      USING ERRCODE = '22004';
  END IF;
  IF NOT medicine = ANY (@extschema@._medicines()) THEN
    RAISE EXCEPTION 'medicine must be %, not %',
      regexp_replace(array_to_string(@extschema@._medicines(), ', '), ', ([a-z_]+)$', ' or \1'),
      quote_literal(@extschema@._shorten(medicine)) USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_finite(at, 'at');
  -- (a pharmacy of the caller's regions, open at the sale: another
  -- region's looks like none)
  SELECT * INTO v FROM @extschema@.venue x
   WHERE x.id = venue_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no venue % in the regions role % acts for', venue_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  IF v.kind <> 'pharmacy' THEN
    RAISE EXCEPTION 'venue % is a %, not a pharmacy', venue_id, v.kind USING ERRCODE = '22023';
  END IF;
  IF v.closed_at IS NOT NULL AND v.closed_at <= at THEN
    RAISE EXCEPTION 'venue % was closed at the sale', venue_id USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.medicine_sale (person_id, region, medicine, sold_at, venue, place)
  SELECT p.id, p.region, register_medicine_sale.medicine, register_medicine_sale.at, v.id, v.place
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT ON CONSTRAINT medicine_sale_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n > 0;
END $$;
COMMENT ON FUNCTION @extschema@.register_medicine_sale(text, bigint, text, timestamptz) IS
  'A pharmacy''s registration of a sale (药品登记): the buyer (their identifier, of the caller''s regions), the pharmacy (a venue of kind pharmacy of the caller''s regions, open at the sale), the medicine (antipyretic, cough, antiviral, antibiotic) and when (default now). The buyer is recalculated: yellow until a negative test where the policy''s medicine_purchase_yellow says so. True when new (the same sale again: false). 22023 for a bad identifier, medicine or a venue that is no pharmacy; P0002 for an unknown person or venue; 55000 for a closed pharmacy.';
REVOKE ALL ON FUNCTION @extschema@.register_medicine_sale(text, bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.register_medicine_sale(text, bigint, text, timestamptz)
  TO healthcode_app, healthcode_operator;

-- In bulk, from a pharmacy chain's system: checked and written as every
-- import is (72_imports.sql); a record naming a venue that is no open
-- pharmacy of the caller's regions refuses the batch.
CREATE OR REPLACE FUNCTION @extschema@.import_medicine_sales(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'medicine sale',
    '{person_id,identifier,venue,medicine,at}',
    ARRAY['id', 'identifier', 'id!', array_to_string(@extschema@._medicines(), '|') || '!', 'evidence_time!'],
    'venue bigint, medicine text, at timestamptz',
    $q$INSERT INTO @extschema@.medicine_sale (person_id, region, medicine, sold_at, venue, place)
       SELECT r.pid, p.region, r.medicine, r.at, v.id, v.place
         FROM recs r JOIN people p ON p.id = r.pid JOIN @extschema@.venue v ON v.id = r.venue
        WHERE $ok
       ON CONFLICT ON CONSTRAINT medicine_sale_natural_key DO NOTHING$q$,
    checks => format(
      $q$SELECT r.ord, NULL::bigint,
                format('field "venue": no pharmacy %%s open at the sale in the regions the caller acts for', r.venue)
           FROM recs r
          WHERE NOT EXISTS (SELECT FROM @extschema@.venue v
                             WHERE v.id = r.venue AND v.kind = 'pharmacy'
                               AND (v.closed_at IS NULL OR v.closed_at > r.at)
                               AND %L::@extschema@.division_multirange @> (v.region COLLATE "C"))
          ORDER BY r.ord LIMIT 1$q$, @extschema@.my_region_scope()));
END $$;
COMMENT ON FUNCTION @extschema@.import_medicine_sales(json) IS
  'Imports pharmacy sales (药品登记): [{"person_id" or "identifier", "venue" (a pharmacy of the caller''s regions, open at the sale), "medicine" (antipyretic, cough, antiviral, antibiotic), "at"}]; a record naming anything else, or a person outside the caller''s regions, refuses the batch. Returns how many sales were new.';
REVOKE ALL ON FUNCTION @extschema@.import_medicine_sales(json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.import_medicine_sales(json) TO healthcode_app, healthcode_operator;

-- The pharmacy a sale was made at, by the sale's id, for a screen's
-- reason: its name where the caller acts for the buyer, else NULL.
CREATE OR REPLACE FUNCTION @extschema@._sale_venue_name(sale_id bigint) RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (SELECT v.name FROM @extschema@.medicine_sale m JOIN @extschema@.venue v ON v.id = m.venue
           WHERE m.id = sale_id AND @extschema@._in_caller_scope(m.region) AND @extschema@._in_caller_scope(v.region));
END $$;
COMMENT ON FUNCTION @extschema@._sale_venue_name(bigint) IS
  'Internal: the name of the pharmacy of a medicine sale, where the caller acts for both the buyer and the pharmacy (NULL otherwise), for the reasons a screen shows.';
REVOKE ALL ON FUNCTION @extschema@._sale_venue_name(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sale_venue_name(bigint) TO PUBLIC;

-- A sale written straight into the table (operators write evidence) is held
-- to what the calls check: a pharmacy the writing role sees (its own
-- regions'; row-level security), and the pharmacy's place.
CREATE OR REPLACE FUNCTION @extschema@._medicine_sale_venue() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- (as the writing role: row-level security shows it its own venues)
  SELECT x.kind, x.place INTO v FROM @extschema@.venue x WHERE x.id = NEW.venue;
  IF NOT FOUND OR v.kind <> 'pharmacy' THEN
    RAISE EXCEPTION 'medicine sale: no pharmacy % in the regions role % acts for', NEW.venue, current_user
      USING ERRCODE = '23503';
  END IF;
  IF NEW.place IS DISTINCT FROM v.place THEN
    RAISE EXCEPTION 'medicine sale: pharmacy % lies in %, not in %', NEW.venue, v.place, NEW.place
      USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._medicine_sale_venue() IS
  'Internal: BEFORE ROW trigger of medicine_sale: the venue is a pharmacy the writing role sees (23503 otherwise) and the sale''s place is its place (22023).';
REVOKE ALL ON FUNCTION @extschema@._medicine_sale_venue() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.generate_population(
    people integer,
    stays_per_person integer DEFAULT 10,
    days integer DEFAULT 21,
    seed double precision DEFAULT 0.42)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  districts text[] := ARRAY['330102', '330105', '330106', '330108', '330110', '330203',
                            '110101', '110105', '110108', '310101', '310104', '310115',
                            '440103', '440106', '440305'];
  base bigint;
  t timestamptz := statement_timestamp();
  n bigint;
BEGIN
  IF people IS NULL OR people < 1 OR people > 10000000 THEN
    RAISE EXCEPTION 'people must be between 1 and 10,000,000' USING ERRCODE = '22023';
  END IF;
  IF stays_per_person IS NULL OR stays_per_person < 0 OR stays_per_person > 1000
     OR days IS NULL OR days < 1 OR days > 366 THEN
    RAISE EXCEPTION 'stays_per_person must be 0-1000 and days 1-366' USING ERRCODE = '22023';
  END IF;
  IF seed IS NULL OR seed < -1 OR seed > 1 THEN
    RAISE EXCEPTION 'seed must be between -1 and 1' USING ERRCODE = '22023';
  END IF;
  PERFORM setseed(seed);
  PERFORM set_config('healthcode.change_cause', 'synthetic population', true);
  -- (the people registered so far, deleted ones included: the sequence's
  -- count, as ids are opaque; names after theirs stay unique)
  SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO base FROM @extschema@.person_id_seq q;

  -- risk areas: two current high-risk districts, a current medium-risk
  -- one, and a medium-risk designation that has ended
  INSERT INTO @extschema@.risk_area (division, level, effective_from, effective_until, bulletin) VALUES
    ('330106', 'high', date_trunc('day', t) - interval '6 days', NULL, 'synthetic bulletin 1'),
    ('110105', 'high', date_trunc('day', t) - interval '3 days', NULL, 'synthetic bulletin 2'),
    ('310104', 'medium', date_trunc('day', t) - interval '10 days', NULL, 'synthetic bulletin 3'),
    ('440305', 'medium', date_trunc('day', t) - interval '20 days', date_trunc('day', t) - interval '8 days', 'synthetic bulletin 4')
  ON CONFLICT ON CONSTRAINT risk_area_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'risk areas'; rows := n; RETURN NEXT;

  CREATE TEMP TABLE synthetic_person ON COMMIT DROP AS
  SELECT base + g AS k, districts[1 + floor(random() * array_length(districts, 1))::integer] AS region,
         (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','林','罗','高'])[1 + floor(random() * 20)::integer]
         || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀','霞','平'])[1 + floor(random() * 20)::integer]
         || CASE WHEN random() < 0.6
                 THEN (ARRAY['华','英','玉','兰','文','斌','辉','建','国','春'])[1 + floor(random() * 10)::integer]
                 ELSE '' END AS name,
         t - random() * interval '365 days' - interval '30 days' AS registered_at
    FROM generate_series(1, people) g;

  INSERT INTO @extschema@.person (region, subject, display_name, registered_at)
  SELECT s.region, @extschema@.pseudonym(@extschema@.synthetic_identifier(s.region, s.k)),
         @extschema@.mask_name(s.name), s.registered_at
    FROM synthetic_person s ORDER BY s.k
  ON CONFLICT ON CONSTRAINT person_subject_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'people'; rows := n; RETURN NEXT;

  CREATE TEMP TABLE synthetic_who ON COMMIT DROP AS
  SELECT p.id, p.region, random() AS r1, random() AS r2, random() AS r3
    FROM synthetic_person s
    JOIN @extschema@.person p ON p.subject = @extschema@.pseudonym(@extschema@.synthetic_identifier(s.region, s.k));

  -- itineraries: mostly at home, sometimes elsewhere
  PERFORM @extschema@.create_travel_partitions(((t - make_interval(days => days)) AT TIME ZONE 'Asia/Shanghai')::date,
                                               (t AT TIME ZONE 'Asia/Shanghai')::date);
  INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
  SELECT w.id, w.region,
         CASE WHEN random() < 0.7 THEN w.region
              ELSE districts[1 + floor(random() * array_length(districts, 1))::integer] END,
         date_trunc('second', t - interval '1 minute' - random() * make_interval(days => days)),
         (ARRAY['telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom',
                'transport', 'venue_scan'])[1 + floor(random() * 10)::integer],
         NULL
    FROM synthetic_who w
    CROSS JOIN generate_series(1, stays_per_person)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'travel records'; rows := n; RETURN NEXT;

  -- lab results: 40% tested lately, a few positive
  INSERT INTO @extschema@.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  SELECT w.id, w.region, CASE WHEN random() < 0.8 THEN 'pcr' ELSE 'antigen' END,
         date_trunc('second', t - interval '1 hour' - (k * 30 + random() * 20) * interval '1 hour'),
         CASE WHEN w.r1 < 0.003 AND k = 1 THEN 'positive' ELSE 'negative' END,
         'synthetic lab ' || (w.id % 7), 'S' || w.id || '-' || k
    FROM synthetic_who w
    CROSS JOIN generate_series(1, 3) k
   WHERE w.r1 < 0.4 AND k <= 1 + floor(w.r2 * 3)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'test results'; rows := n; RETURN NEXT;

  INSERT INTO @extschema@.vaccination (person_id, region, dose, given_at, product)
  SELECT w.id, w.region, d, t - interval '400 days' + d * interval '60 days' + random() * interval '20 days',
         (ARRAY['CoronaVac', 'BBIBP-CorV', 'Ad5-nCoV'])[1 + (w.id % 3)::integer]
    FROM synthetic_who w
    CROSS JOIN generate_series(1, 3) d
   WHERE (d = 1 AND w.r3 < 0.9) OR (d = 2 AND w.r3 < 0.85) OR (d = 3 AND w.r3 < 0.5)
  ON CONFLICT ON CONSTRAINT vaccination_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'vaccinations'; rows := n; RETURN NEXT;

  INSERT INTO @extschema@.contact (person_id, region, kind, exposure_at, source_case)
  SELECT w.id, w.region, CASE WHEN w.r2 < 0.33 THEN 'close' ELSE 'secondary' END,
         date_trunc('second', t - interval '1 hour' - random() * interval '10 days'),
         'case-' || (w.id % 97)
    FROM synthetic_who w
   WHERE w.r1 BETWEEN 0.5 AND 0.515
  ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'contacts'; rows := n; RETURN NEXT;

  -- declarations: 60% declared in the last five days; most list the
  -- districts they were in, some leave one out
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  SELECT w.id, w.region, date_trunc('second', t - interval '1 minute' - random() * interval '5 days'),
         CASE WHEN w.r3 < 0.02 THEN ARRAY['cough'] ELSE '{}' END,
         round((36.2 + random() * 0.8)::numeric, 1),
         ARRAY(SELECT DISTINCT tr.place FROM @extschema@.travel tr
                WHERE tr.person_id = w.id AND tr.place <> w.region
                  AND (w.r2 > 0.1 OR tr.place = w.region)
                ORDER BY tr.place),
         false
    FROM synthetic_who w
   WHERE w.r2 < 0.6
  ON CONFLICT ON CONSTRAINT declaration_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'declarations'; rows := n; RETURN NEXT;

  -- daily check-ins of the contacts, most days
  INSERT INTO @extschema@.checkin (person_id, region, at, temperature)
  SELECT c.person_id, c.region, date_trunc('second', d + interval '9 hours' + random() * interval '2 hours'),
         round((36.3 + random() * 0.6)::numeric, 1)
    FROM @extschema@.contact c
    JOIN synthetic_who w ON w.id = c.person_id
    CROSS JOIN LATERAL generate_series(date_trunc('day', c.exposure_at), t - interval '12 hours', interval '1 day') d
   WHERE random() < 0.9
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'check-ins'; rows := n; RETURN NEXT;

  DROP TABLE synthetic_who;
  DROP TABLE synthetic_person;
  PERFORM set_config('healthcode.change_cause', '', true);
END $$;
COMMENT ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) IS
  'Adds a synthetic population: people in fifteen districts, stays_per_person stays each over the last days days through current and past risk areas, lab results, doses, contacts, declarations and check-ins. Deterministic for a seed (-1..1). Needs the server key (pseudonyms). Returns rows added per table.';
REVOKE ALL ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.set_node(role text, region text, name text) RETURNS @extschema@.node
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

-- The exchange tables' row triggers fire ALWAYS (in the apply worker too);
-- while a dump is restored, or rows are written under replica without an
-- apply worker (pg_restore's data), they let every row through untouched.
CREATE OR REPLACE FUNCTION @extschema@._exchange_loading() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN @extschema@._restoring()
       OR (pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) 'replica'
           AND NOT @extschema@._by_replication());
COMMENT ON FUNCTION @extschema@._exchange_loading() IS
  'Internal: true while a dump is being loaded (restoring, or replica without an apply worker): the exchange tables'' triggers then leave rows as they are.';
REVOKE ALL ON FUNCTION @extschema@._exchange_loading() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._reject(tbl text, problem text, row_data jsonb) RETURNS void
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

-- The regions the healthcode region nodes this node subscribes to serve:
-- the hub hosts none of them, and a peer (94_federation_peers.sql) may
-- speak for none of them.
CREATE OR REPLACE FUNCTION @extschema@._node_served() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.range_agg(@extschema@.division_range(s.region, @extschema@.division_last(s.region), '[]')),
                  '{}'::@extschema@.division_multirange)
    FROM @extschema@.peer s WHERE s.region OPERATOR(pg_catalog.<>) '000000';
END;
COMMENT ON FUNCTION @extschema@._node_served() IS
  'Internal: the division codes the healthcode region nodes this node subscribes to serve (peer, the hub''s own row aside).';
REVOKE ALL ON FUNCTION @extschema@._node_served() FROM PUBLIC;

-- The regions whose people this node speaks for to the other nodes
-- (publishes their digests, reds and shared data): a region node its own;
-- the hub the regions it hosts; none before set_node.
CREATE OR REPLACE FUNCTION @extschema@._served_here() RETURNS @extschema@.division_multirange
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

CREATE OR REPLACE FUNCTION @extschema@.host_region(region text, name text) RETURNS @extschema@.hosted_region
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

-- The same for a row an exchange table's trigger sees: its region before
-- (an update or deletion) and after (an insertion or update) must both be
-- the sender's. (A SQL body: inlined into each check trigger.)
CREATE OR REPLACE FUNCTION @extschema@._row_sender_problem(op text, old_region text, new_region text) RETURNS text
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
CREATE OR REPLACE FUNCTION @extschema@._own_row_back(op text, old_region text, new_region text) RETURNS boolean
LANGUAGE sql STABLE
RETURN @extschema@._by_replication()
   AND COALESCE((op OPERATOR(pg_catalog.<>) 'INSERT' AND @extschema@._served_here() @> (old_region COLLATE "C"))
                OR (op OPERATOR(pg_catalog.<>) 'DELETE' AND @extschema@._served_here() @> (new_region COLLATE "C")),
                false);
COMMENT ON FUNCTION @extschema@._own_row_back(text, text, text) IS
  'Internal: true for a row a trigger sees (TG_OP, its region before and after) that comes by replication and is about a region this node speaks for (_served_here): its own row, come back through the hub.';
REVOKE ALL ON FUNCTION @extschema@._own_row_back(text, text, text) FROM PUBLIC;

-- ---- publications and subscriptions ------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.create_publication() RETURNS text
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

CREATE OR REPLACE FUNCTION @extschema@.subscription_sql(publisher_name text, publisher_region text, conninfo text,
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

CREATE OR REPLACE FUNCTION @extschema@.enable_subscription(subscription name) RETURNS void
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

CREATE OR REPLACE FUNCTION @extschema@._revocation_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row @extschema@.code_revocation;
  problem text;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  problem := @extschema@._sender_problem(CASE TG_OP WHEN 'INSERT' THEN NEW.region ELSE OLD.region END);
  IF problem IS NULL AND TG_OP = 'UPDATE' THEN
    problem := @extschema@._sender_problem(NEW.region);
  END IF;
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  IF NEW.hash IS NULL OR length(NEW.hash) <> 16 OR NEW.kind IS NULL OR NEW.kind NOT IN ('code', 'subject')
     OR NOT coalesce(@extschema@.division_code_valid(NEW.region), false)
     OR NEW.revoked_at IS NULL OR NEW.expires_at IS NULL OR NEW.revoked_by IS NULL
     OR length(btrim(coalesce(NEW.reason, ''))) = 0 THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME,
      'a revocation needs a 16-byte hash, a kind (code or subject), a region, times, a reason and who', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.code_revocation r WHERE r.hash = NEW.hash;
    IF FOUND THEN
      IF NEW.revoked_at > old_row.revoked_at OR NEW.expires_at > old_row.expires_at THEN
        UPDATE @extschema@.code_revocation r
           SET revoked_at = greatest(r.revoked_at, NEW.revoked_at), expires_at = greatest(r.expires_at, NEW.expires_at),
               reason = NEW.reason, revoked_by = NEW.revoked_by
         WHERE r.hash = NEW.hash;
      END IF;
      RETURN NULL;
    END IF;
  ELSIF to_jsonb(NEW) = to_jsonb(OLD) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._revocation_check() IS
  'Trigger (also on replicated rows): skips revocations of regions the sending node does not serve and malformed ones (logged), turns a known hash into an update, skips what changes nothing.';
REVOKE ALL ON FUNCTION @extschema@._revocation_check() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._digest_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row @extschema@.status_digest;
  problem text;
BEGIN
  -- (this node's own row, come back through the hub: 90_federation_node.sql)
  IF @extschema@._own_row_back(TG_OP, OLD.region, NEW.region) THEN
    RETURN NULL;
  END IF;
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
REVOKE ALL ON FUNCTION @extschema@._digest_check() FROM PUBLIC;

-- A digest read at an instant, as a stored status is (status_at): the
-- colour, mark and end of the segment it holds then.
CREATE OR REPLACE FUNCTION @extschema@._digest_at(d @extschema@.status_digest, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN @extschema@.status_at(ROW(0, d.region, d.colour, d.vaccinated, '[]', d.updated_at, d.valid_until,
                                 d.next, d.updated_at, NULL)::@extschema@.person_status, at);
COMMENT ON FUNCTION @extschema@._digest_at(@extschema@.status_digest, timestamptz) IS
  'Internal: a status digest read at an instant (colour, vaccinated mark, since, valid_until), as status_at reads a stored status.';
REVOKE ALL ON FUNCTION @extschema@._digest_at(@extschema@.status_digest, timestamptz) FROM PUBLIC;

-- A region node's digests and pushed reds for the people just recalculated
-- (every recalculation calls it: after_recompute, registered below).
CREATE OR REPLACE FUNCTION @extschema@._publish_status(persons bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  served @extschema@.division_multirange := @extschema@._served_here();
BEGIN
  IF isempty(served) THEN
    RETURN;
  END IF;
  -- (the people this node speaks for: a region node's, the hub's hosted regions')
  persons := ARRAY(SELECT p.id FROM unnest(persons) q(id) JOIN @extschema@.person p ON p.id = q.id
                    WHERE served @> (p.region COLLATE "C"));
  IF cardinality(persons) = 0 THEN
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
  -- what a destination needs of them (mode 1), by national pseudonym: their
  -- latest negative test and doses here. A positive test goes as the red it
  -- makes, a pushed red (below), which carries this region's own decisions
  -- (a medical release ends it); nothing other regions shared goes back.
  -- (someone with neither: no row, and the one shared before goes)
  WITH facts AS (
    SELECT p.national_subject, p.region, lt.kind, lt.sampled_at, lt.result, LEAST(d.doses, 10) AS doses, d.last_at
      FROM unnest(persons) q(id)
      JOIN @extschema@.person p ON p.id = q.id
      LEFT JOIN LATERAL (SELECT r.kind, r.sampled_at, r.result FROM @extschema@.test_result r
                          WHERE r.person_id = p.id AND r.sampled_at <= t AND r.result = 'negative'
                          ORDER BY r.sampled_at DESC LIMIT 1) lt ON true
      CROSS JOIN LATERAL @extschema@._doses_of(p.id, t) d
     WHERE p.national_subject IS NOT NULL
  ), gone AS (
    DELETE FROM @extschema@.health_share h USING facts f
     WHERE h.national_subject = f.national_subject AND h.region = f.region
       AND f.sampled_at IS NULL AND f.doses = 0
  )
  INSERT INTO @extschema@.health_share (national_subject, region, test_kind, tested_at, test_result, doses,
                                        last_dose_at, shared_at)
  SELECT f.national_subject, f.region, f.kind, f.sampled_at, f.result, f.doses, f.last_at, t
    FROM facts f
   WHERE f.sampled_at IS NOT NULL OR f.doses > 0;
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
       -- (decided by evidence of this node's own, which names its row (ref):
       -- not by reds pushed or data shared from elsewhere, whose ref is 0,
       -- and which go no further)
       AND EXISTS (SELECT 1 FROM jsonb_array_elements((x.v).reasons) r
                    WHERE r ->> 'rule' <> 'pushed_red' AND COALESCE((r ->> 'ref')::numeric, 0) <> 0)
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
  'Internal: for the people this node speaks for (a region node''s own, the regions the hub hosts: _served_here), writes their status digests, their shared health data (latest negative test and doses, by national pseudonym) and the reds decided here (to be published).';
REVOKE ALL ON FUNCTION @extschema@._publish_status(bigint[]) FROM PUBLIC;

-- ---- reds pushed from other regions ----------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._red_push_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.red_push;
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- (this node's own row, come back through the hub: 90_federation_node.sql)
  IF @extschema@._own_row_back(TG_OP, OLD.from_region, NEW.from_region) THEN
    RETURN NULL;
  END IF;
  -- a node speaks for the reds of its own regions only
  problem := @extschema@._row_sender_problem(TG_OP, OLD.from_region, NEW.from_region);
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
REVOKE ALL ON FUNCTION @extschema@._red_push_check() FROM PUBLIC;

-- The people here whom a row of the national exchange about these national
-- pseudonyms concerns (a pushed red, shared health data: its old and new
-- versions): those registered here in another region than the row's, who
-- are recalculated with the cause given. (The two exchange triggers below
-- and in 94_federation_peers.sql.)
CREATE OR REPLACE FUNCTION @extschema@._recompute_national(subjects bytea[], row_region text, cause text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  who bigint[] := ARRAY(SELECT p.id FROM @extschema@.person p
                         WHERE p.national_subject = ANY (subjects) AND p.region <> row_region);
BEGIN
  IF cardinality(who) > 0 THEN
    PERFORM @extschema@._evidence_lock(false);
    PERFORM @extschema@._recompute(who, cause);
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._recompute_national(bytea[], text, text) IS
  'Internal: recalculates the people here with one of these national pseudonyms registered in another region than row_region (a pushed red''s or shared row''s), with the cause given.';
REVOKE ALL ON FUNCTION @extschema@._recompute_national(bytea[], text, text) FROM PUBLIC;

-- People here whom a pushed red from elsewhere concerns are recalculated.
CREATE OR REPLACE FUNCTION @extschema@._red_push_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sender text := CASE TG_OP WHEN 'DELETE' THEN OLD.from_region ELSE NEW.from_region END;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._recompute_national(ARRAY(SELECT NEW.national_subject WHERE TG_OP <> 'DELETE'
                                                UNION SELECT OLD.national_subject WHERE TG_OP <> 'INSERT'),
                                          sender, 'red pushed from ' || sender);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_changed() IS
  'Trigger (also on replicated rows): recalculates the people here with the pushed red''s national pseudonym.';
REVOKE ALL ON FUNCTION @extschema@._red_push_changed() FROM PUBLIC;

-- ---- mode 2: a checkpoint asks the hub ------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.current_status_of(code @extschema@.healthcode,
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
    v := @extschema@._digest_at(d, t);
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
REVOKE ALL ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE OR REPLACE FUNCTION @extschema@.issue_for_subject(region text, subject bytea,
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
  code @extschema@.healthcode;
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
  PERFORM @extschema@._require_code_lifetime(issue_for_subject.region, valid_for, false, t);
  SELECT * INTO d FROM @extschema@.status_digest x
   WHERE x.region = issue_for_subject.region AND x.subject = issue_for_subject.subject;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'region % has published no status for this subject', issue_for_subject.region
      USING ERRCODE = 'P0002', HINT = 'The region node publishes digests once it is joined to the hub.';
  END IF;
  v := @extschema@._digest_at(d, t);
  span := CASE WHEN isfinite(v.valid_until)
               THEN LEAST(valid_for, date_trunc('second', v.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'the status changes within a second' USING ERRCODE = '40001',
      HINT = 'Retry the call: the code would carry a colour that no longer holds when it is shown.';
  END IF;
  code := @extschema@.issue(issue_for_subject.region, issue_for_subject.subject, v.colour, span, v.vaccinated);
  PERFORM @extschema@._count_code_event('issued', issue_for_subject.region, issue_for_subject.region, v.colour, 'ok',
                                        @extschema@._code_holder(issue_for_subject.subject, t));
  RETURN code;
END $$;
COMMENT ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) IS
  'Mode 3, on the hub: a code for a person of a region without an issuer of its own, signed by the nearest issuer the hub holds (the national one), with the colour the region''s digest gives now; never outliving it, nor the max_code_lifetime of the region''s policy as the hub holds it.';
REVOKE ALL ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) TO healthcode_app, healthcode_operator;

CREATE OR REPLACE FUNCTION @extschema@._policy_from_exchange() RETURNS trigger
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
             description_zh, description_en, max_code_lifetime, paper_code_lifetime,
             regional_lookback_limit_days, evidence_kept_days, max_dependants,
             holder_check_misses_per_day, holder_check_misses_per_hour, exposure_minutes, medicine_purchase_yellow)
      VALUES ('000000', NEW.valid_from, v.valid_until, v.lookback_days, v.quarantine_days_red,
             v.quarantine_days_yellow, v.red_release_negative_tests, v.negative_test_valid_hours, v.fever_celsius,
             v.vaccinated_min_doses, v.symptoms_yellow, v.periodic_testing, v.test_window,
             v.two_negatives_release_yellow, v.description_zh, v.description_en,
             -- (a hub of 0.2.0 sends neither: the defaults)
             COALESCE(v.max_code_lifetime, interval '5 minutes'), v.paper_code_lifetime,
             v.regional_lookback_limit_days, v.evidence_kept_days, COALESCE(v.max_dependants, 5),
             v.holder_check_misses_per_day, v.holder_check_misses_per_hour, COALESCE(v.exposure_minutes, 30),
             COALESCE(v.medicine_purchase_yellow, false));
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, SQLERRM, to_jsonb(NEW));
      RETURN NULL;
    END;
  END IF;
  -- the policy table's own trigger does not fire in the apply worker
  PERFORM @extschema@._evidence_lock(true);
  PERFORM @extschema@._recalc_changed('policy', NULL, ARRAY['000000'], 'national policy from the hub');
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_from_exchange() IS
  'Trigger on a region (replicated rows only): turns the hub''s national policy versions into versions here and recalculates everyone; a malformed one is logged and skipped.';
REVOKE ALL ON FUNCTION @extschema@._policy_from_exchange() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Checkpoints: a code checked where it is shown. Offline, its signature,
-- key and times (verify()); online, where this node knows the holder's
-- status now (a person registered here, or the digest their region
-- published through the hub), whether the code's colour is still theirs:
-- a code issued green before its holder turned red fails at once. Then the
-- arrival rules: what a region asks of visitors' codes.
-- ---------------------------------------------------------------------------

-- The holder's status at an instant, where this node knows it: a person
-- registered here (by the code's subject), else the digest their region
-- published. Only ever asked for a code that verifies: a forged or expired
-- one carrying someone's subject must not read their status.
CREATE OR REPLACE FUNCTION @extschema@._holder_status(code @extschema@.healthcode, at timestamptz,
    OUT known boolean, OUT colour @extschema@.risk_colour, OUT vaccinated boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s @extschema@.person_status;
  d @extschema@.status_digest;
  v @extschema@.status_instant;
BEGIN
  SELECT st.* INTO s
    FROM @extschema@.person p JOIN @extschema@.person_status st ON st.person_id = p.id
   WHERE p.subject = @extschema@.subject(code);
  IF FOUND THEN
    v := @extschema@._status_now(s, at);
  ELSE
    SELECT * INTO d FROM @extschema@.status_digest x
     WHERE x.region = @extschema@.region(code) AND x.subject = @extschema@.subject(code);
    IF NOT FOUND THEN
      known := false;
      RETURN;
    END IF;
    v := @extschema@._digest_at(d, at);
  END IF;
  known := true;
  colour := v.colour;
  vaccinated := v.vaccinated;
END $$;
COMMENT ON FUNCTION @extschema@._holder_status(@extschema@.healthcode, timestamptz) IS
  'Internal: the colour and mark of a code''s holder at an instant, from a person registered here or their region''s digest; known false when this node knows neither.';
REVOKE ALL ON FUNCTION @extschema@._holder_status(@extschema@.healthcode, timestamptz) FROM PUBLIC;

-- The holder's health facts up to an instant, where this node knows them:
-- their own evidence for a person registered here (the last negative test
-- and the doses), else the digest their region published (the last
-- negative test; a digest carries no doses). Arrival rules; only for a code
-- that verifies. source: evidence, digest, or NULL when unknown.
CREATE OR REPLACE FUNCTION @extschema@._holder_health_facts(code @extschema@.healthcode, at timestamptz,
    OUT last_negative_at timestamptz, OUT doses integer, OUT source text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  f record;
BEGIN
  SELECT p.id INTO pid FROM @extschema@.person p WHERE p.subject = @extschema@.subject(code);
  IF FOUND THEN
    f := @extschema@._person_health_facts(pid, at);
    last_negative_at := f.last_negative_at;
    doses := f.doses;
    source := 'evidence';
    RETURN;
  END IF;
  SELECT d.last_negative_at INTO last_negative_at FROM @extschema@.status_digest d
   WHERE d.region = @extschema@.region(code) AND d.subject = @extschema@.subject(code);
  IF FOUND THEN
    source := 'digest';
    last_negative_at := CASE WHEN last_negative_at <= at THEN last_negative_at END;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._holder_health_facts(@extschema@.healthcode, timestamptz) IS
  'Internal: a code''s holder''s last negative test (sampled, up to at) and vaccine doses: from their evidence where they are registered here (source evidence), else their region''s digest (source digest, no doses); source NULL when this node knows neither.';
REVOKE ALL ON FUNCTION @extschema@._holder_health_facts(@extschema@.healthcode, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.checkpoint_verify(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(), online boolean DEFAULT true)
RETURNS TABLE (valid boolean, colour @extschema@.risk_colour, region text, issued_at timestamptz,
               expires_at timestamptz, key_id bytea, reason text, vaccinated boolean, paper boolean,
               last_negative_at timestamptz, doses integer,
               online_check text, current_colour @extschema@.risk_colour)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  h record;
  checked text := 'not_asked';
  verdict text;
  now_colour @extschema@.risk_colour;
  -- (NULL: now)
  t timestamptz := coalesce(checkpoint_verify.at, now());
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_region(checkpoint, 'checkpoint', allow_national => true);
  PERFORM @extschema@._require_finite(t, 'at');
  -- a checkpoint counts for the regions its role is mapped to, no others'
  PERFORM @extschema@._require_caller_scope(checkpoint);
  SELECT * INTO v FROM @extschema@.verify(code, t) x;
  IF v.valid AND coalesce(online, true) THEN
    SELECT * INTO h FROM @extschema@._holder_status(code, t) x;
    IF NOT h.known THEN
      checked := 'unknown';
    ELSE
      now_colour := h.colour;
      checked := CASE WHEN h.colour = v.colour THEN 'ok' ELSE 'colour_changed' END;
    END IF;
  END IF;
  verdict := CASE WHEN checked = 'colour_changed' THEN checked ELSE v.reason END;
  PERFORM @extschema@._count_code_event('verified', checkpoint, v.region, v.colour, verdict,
                                        @extschema@._code_holder(@extschema@.subject(code), t));
  RETURN QUERY SELECT verdict = 'ok', v.colour, v.region, v.issued_at, v.expires_at,
                      v.key_id, verdict, v.vaccinated, v.paper, v.last_negative_at, v.doses,
                      checked, now_colour;
END $$;
COMMENT ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) IS
  'verify() (with its columns: a version 2 code''s last_negative_at and doses too) at a checkpoint of a region the caller is mapped to, counted (without the code''s subject) for the analyst views; online (the default) also compares the code''s colour with its holder''s status at that time where this node knows it. online_check: ok, colour_changed (then valid is false, reason colour_changed and current_colour the colour now), unknown (this node knows neither the person nor a digest), or not_asked (online false, or the code does not verify).';
REVOKE ALL ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE OR REPLACE FUNCTION @extschema@.verify_arrival(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(), online boolean DEFAULT true,
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT code_region text,
    OUT rule_id bigint, OUT rule text, OUT rule_region text, OUT rule_from_region text,
    OUT rule_version timestamptz, OUT last_negative_at timestamptz, OUT doses integer,
    OUT facts_from text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  h record;
  r @extschema@.arrival_rule;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(verify_arrival.at, now());
BEGIN
  SELECT * INTO v FROM @extschema@.checkpoint_verify(code, checkpoint, t, online);
  colour := v.colour;
  code_region := v.region;
  SELECT * INTO r FROM @extschema@.arrival_rule a
   WHERE @extschema@.division_covers(a.region, checkpoint)
     AND @extschema@.division_covers(a.from_region, v.region)
     AND a.valid_from <= t AND (a.valid_until IS NULL OR t < a.valid_until)
   ORDER BY @extschema@.division_rank(a.region) DESC, @extschema@.division_rank(a.from_region) DESC,
            a.valid_from DESC
   LIMIT 1;
  rule_id := r.id;
  rule := COALESCE(r.description, 'no arrival rule: a valid green code');
  rule_region := r.region;
  rule_from_region := r.from_region;
  rule_version := r.valid_from;
  IF NOT v.valid THEN
    admit := false;
    reason := v.reason;
    RETURN;
  ELSIF v.colour <> 'green' THEN
    admit := false;
    reason := 'not_green';
    RETURN;
  END IF;
  IF r.demand = 'green_and_negative_test' OR r.min_doses IS NOT NULL THEN
    -- what the code carries, signed (version 2), is enough offline; online,
    -- a later test or dose this node knows of counts too
    last_negative_at := v.last_negative_at;
    doses := v.doses;
    facts_from := CASE WHEN v.doses IS NOT NULL THEN 'code' END;
    IF coalesce(online, true) THEN
      h := @extschema@._holder_health_facts(code, t);
      IF h.source IS NOT NULL THEN
        last_negative_at := GREATEST(last_negative_at, h.last_negative_at);
        doses := GREATEST(doses, h.doses);
        facts_from := concat_ws('+', facts_from, h.source);
      END IF;
    END IF;
  END IF;
  admit := false;
  IF r.demand = 'green_and_negative_test'
     AND NOT coalesce(last_negative_at BETWEEN t - make_interval(hours => r.negative_test_hours) AND t, false) THEN
    reason := 'no_recent_negative_test';
  ELSIF r.min_doses IS NOT NULL AND coalesce(doses, 0) < r.min_doses THEN
    reason := 'not_enough_doses';
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) IS
  'Verifies a visitor''s code at a checkpoint of this region (checkpoint_verify, online by default) against its arrival rules, and names the rule that decided: rule_id (this node''s row), rule_region, rule_from_region and rule_version (its valid_from: the same on every node for a national rule). reason: a verify() reason, colour_changed, not_green, no_recent_negative_test, not_enough_doses or ok. The last negative test and doses come from the code itself (a version 2 code, signed: enough offline) and, online, from the holder''s evidence where registered here or their region''s digest, whichever is later or more (facts_from says which: code, evidence, digest, or code+evidence, code+digest).';
REVOKE ALL ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE OR REPLACE FUNCTION @extschema@._arrival_rule_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.region = '000000' THEN
    DELETE FROM @extschema@.arrival_rule_exchange x
     WHERE x.from_region = OLD.from_region AND x.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.region = '000000' THEN
    INSERT INTO @extschema@.arrival_rule_exchange (from_region, valid_from, rule)
    VALUES (NEW.from_region, NEW.valid_from, to_jsonb(NEW) - 'id');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._arrival_rule_to_exchange() IS
  'Trigger on the hub: its national arrival rule versions go into arrival_rule_exchange, to be published.';
REVOKE ALL ON FUNCTION @extschema@._arrival_rule_to_exchange() FROM PUBLIC;

-- On a region node a national rule is the hub's: written here, it would
-- differ from every other region's and be overwritten by the next version
-- the hub sends. (The apply worker's writes, below, fire no such trigger.)
CREATE OR REPLACE FUNCTION @extschema@._national_arrival_rule_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'region')
     AND ((TG_OP <> 'INSERT' AND OLD.region = '000000') OR (TG_OP <> 'DELETE' AND NEW.region = '000000')) THEN
    RAISE EXCEPTION 'national arrival rules come from the hub' USING ERRCODE = '42501',
      DETAIL = 'This node is a region node; the hub writes rules for region 000000 and publishes them to every region.',
      HINT = 'Write a rule for one of this node''s regions instead.';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._national_arrival_rule_guard() IS
  'Trigger on a region node: refuses local writes of national arrival rules (region 000000), which come from the hub.';
REVOKE ALL ON FUNCTION @extschema@._national_arrival_rule_guard() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._arrival_rule_from_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.arrival_rule;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- only what the hub sends is applied
  END IF;
  IF @extschema@._sender_problem('000000') IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'national arrival rules come from the hub only',
                                CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM @extschema@.arrival_rule a
     WHERE a.region = '000000' AND a.from_region = OLD.from_region AND a.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    BEGIN
      r := jsonb_populate_record(NULL::@extschema@.arrival_rule, NEW.rule);
      INSERT INTO @extschema@.arrival_rule (region, from_region, demand, negative_test_hours, description,
                                            valid_from, valid_until, min_doses)
      VALUES ('000000', NEW.from_region, r.demand, r.negative_test_hours, r.description,
              NEW.valid_from, r.valid_until, r.min_doses)
      ON CONFLICT ON CONSTRAINT arrival_rule_natural_key DO UPDATE
        SET demand = EXCLUDED.demand, negative_test_hours = EXCLUDED.negative_test_hours,
            description = EXCLUDED.description, valid_until = EXCLUDED.valid_until,
            min_doses = EXCLUDED.min_doses;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, SQLERRM, to_jsonb(NEW));
      RETURN NULL;
    END;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._arrival_rule_from_exchange() IS
  'Trigger on a region (replicated rows only): turns the hub''s national arrival rule versions into national rules here; a malformed one, or one not from the hub, is logged and skipped.';
REVOKE ALL ON FUNCTION @extschema@._arrival_rule_from_exchange() FROM PUBLIC;

-- The digest that names a notice: the same on every node for the same content.
CREATE OR REPLACE FUNCTION @extschema@._exposure_notice_key(n @extschema@.exposure_notice) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.md5(pg_catalog.concat_ws('|', n.from_region, n.venue, n.venue_region, n.place,
                                            pg_catalog.to_char(n.from_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                                            pg_catalog.to_char(n.until_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                                            n.kind, n.source_case));
COMMENT ON FUNCTION @extschema@._exposure_notice_key(@extschema@.exposure_notice) IS
  'Internal: the digest of a notice''s content, its key on every node.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_key(@extschema@.exposure_notice) FROM PUBLIC;

-- What is wrong with a notice, or NULL.
CREATE OR REPLACE FUNCTION @extschema@._exposure_notice_problem(n @extschema@.exposure_notice) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN n.from_region IS NULL OR NOT @extschema@.division_code_valid(n.from_region) OR n.from_region = '000000'
    THEN 'a notice names the case''s region'
  WHEN n.kind IS NULL OR n.kind NOT IN ('close', 'secondary') THEN 'a notice''s kind is close or secondary'
  WHEN n.from_at IS NULL OR n.until_at IS NULL OR NOT pg_catalog.isfinite(n.from_at) OR NOT pg_catalog.isfinite(n.until_at)
       OR n.until_at < n.from_at OR n.until_at - n.from_at > interval '2 days'
    THEN 'a notice''s span is finite, in order and at most two days'
  WHEN n.venue IS NOT NULL AND (n.venue < 1 OR n.venue_region IS NULL OR NOT @extschema@.division_code_valid(n.venue_region)
                                OR n.place IS NOT NULL)
    THEN 'a venue notice names the venue''s id and county, and no place'
  WHEN n.venue IS NULL AND (n.place IS NULL OR NOT @extschema@.place_code_valid(n.place) OR pg_catalog.length(n.place) <> 12
                            OR n.venue_region IS NOT NULL)
    THEN 'a community notice names a twelve-digit place, and no venue'
  WHEN n.source_case IS NULL OR pg_catalog.length(n.source_case) NOT BETWEEN 1 AND 200
    THEN 'a notice names the case by a reference of 1 to 200 characters'
  WHEN n.notice IS DISTINCT FROM @extschema@._exposure_notice_key(n) THEN 'a notice''s key is the digest of its content'
END;
COMMENT ON FUNCTION @extschema@._exposure_notice_problem(@extschema@.exposure_notice) IS
  'Internal: why a notice is malformed, or NULL.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_problem(@extschema@.exposure_notice) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._exposure_notice_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- a node speaks for its own regions' cases only
  problem := @extschema@._row_sender_problem(TG_OP, OLD.from_region, NEW.from_region);
  IF problem IS NULL AND TG_OP <> 'DELETE' THEN
    problem := @extschema@._exposure_notice_problem(NEW);
  END IF;
  IF problem IS NULL AND TG_OP = 'UPDATE' THEN
    problem := 'a notice never changes';
  END IF;
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  -- (the same notice again, as a relay sends it back: nothing to do)
  IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM @extschema@.exposure_notice x WHERE x.notice = NEW.notice) THEN
    RETURN NULL;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._exposure_notice_check() IS
  'Trigger (also on replicated rows): skips malformed notices, notices of regions the sending node does not serve and changes of a notice (logged), and a notice already here.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_check() FROM PUBLIC;

-- A notice from another node: this node's people who were there in its
-- span are filed as contacts of the case and recalculated. (The case's own
-- node filed its people when it traced; a region node skips its own
-- regions' notices.) In the apply worker no ordinary trigger fires: the
-- recalculation is called here.
CREATE OR REPLACE FUNCTION @extschema@._exposure_notice_arrived() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  filed bigint[];
BEGIN
  -- (a notice of this node's own people: they were traced here)
  IF @extschema@._exchange_loading() OR @extschema@._served_here() @> (NEW.from_region COLLATE "C") THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  -- (the people locked as an import locks them; a venue's scans by its id
  -- and county, a community's stays by the place; each person once, at
  -- their first stay in the span)
  WITH there AS (
    SELECT DISTINCT ON (t.person_id) t.person_id, t.at
      FROM @extschema@.travel t
     WHERE t.at >= NEW.from_at AND t.at <= NEW.until_at
       AND CASE WHEN NEW.venue IS NOT NULL
                THEN t.venue = NEW.venue::text AND t.source = 'venue_scan' AND left(t.place, 6) = NEW.venue_region
                ELSE t.place = NEW.place END
     ORDER BY t.person_id, t.at
  ), locked AS (
    SELECT p.id, p.region FROM @extschema@.person p WHERE p.id IN (SELECT x.person_id FROM there x)
     ORDER BY p.id FOR KEY SHARE
  ), written AS (
    INSERT INTO @extschema@.contact AS c (person_id, region, kind, exposure_at, source_case)
    SELECT x.person_id, l.region, NEW.kind, x.at, NEW.source_case
      FROM there x JOIN locked l ON l.id = x.person_id
    ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING
    RETURNING c.person_id
  )
  SELECT array_agg(w.person_id) INTO filed FROM written w;
  -- (written locally, the contact table's own triggers recalculate them;
  -- the apply worker fires none)
  IF @extschema@._by_replication() THEN
    PERFORM @extschema@._recompute(filed, 'exposure notice from ' || NEW.from_region);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._exposure_notice_arrived() IS
  'Trigger (also on replicated rows): files the people here who were at a notice''s venue (or in its community) in its span as contacts of the case, and recalculates them; a region node skips its own regions'' notices.';
REVOKE ALL ON FUNCTION @extschema@._exposure_notice_arrived() FROM PUBLIC;

-- The notices of a trace, written by trace_exposures on a region node: one
-- for each of the case's stays in the window (the spans _exposures reads).
CREATE OR REPLACE FUNCTION @extschema@._publish_exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                               at_level text, kind text, source_case text) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.test_result;
  reach interval;
  n integer;
BEGIN
  SELECT * INTO c FROM @extschema@.test_result r WHERE r.id = case_result;
  -- (published by the node that speaks for the case's region)
  IF NOT FOUND OR NOT @extschema@._served_here() @> (c.region COLLATE "C") THEN
    RETURN 0;
  END IF;
  reach := @extschema@._exposure_reach(c);
  -- (a venue by its id and county: its node's id, and where another node
  -- records a scan of it; the case's scans of other nodes' venues too)
  INSERT INTO @extschema@.exposure_notice
  SELECT @extschema@._exposure_notice_key(x), (x).from_region, (x).venue, (x).venue_region, (x).place,
         (x).from_at, (x).until_at, (x).kind, (x).source_case, (x).published_at
    FROM (SELECT DISTINCT ROW(NULL, c.region,
                               CASE WHEN at_level = 'venue' THEN @extschema@._venue_id(s.venue) END,
                               CASE WHEN at_level = 'venue' THEN left(s.place, 6) END,
                               CASE WHEN at_level = 'community' THEN s.place END,
                               s.at - reach, s.at + reach, _publish_exposures.kind, _publish_exposures.source_case,
                               now())::@extschema@.exposure_notice AS x
            FROM @extschema@.travel s
           WHERE s.person_id = c.person_id AND s.at >= window_from AND s.at < window_until
             AND CASE WHEN at_level = 'venue' THEN s.source = 'venue_scan' AND @extschema@._venue_id(s.venue) IS NOT NULL
                      ELSE length(s.place) = 12 END) y
  ON CONFLICT (notice) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._publish_exposures(bigint, timestamptz, timestamptz, text, text, text) IS
  'Internal: on a region node, the exposure notices of a trace (one for each of the case''s venue scans in the window, or stays in a community), to be published through the hub; returns how many were new.';
REVOKE ALL ON FUNCTION @extschema@._publish_exposures(bigint, timestamptz, timestamptz, text, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._venue_closure_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
BEGIN
  IF @extschema@._exchange_loading() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- a node speaks for its own regions' venues only
  problem := @extschema@._row_sender_problem(TG_OP, OLD.venue_region, NEW.venue_region);
  IF problem IS NULL AND TG_OP <> 'DELETE'
     AND (NEW.venue < 1 OR NOT @extschema@.division_code_valid(NEW.venue_region) OR NEW.venue_region = '000000'
          OR NEW.closed_at IS NULL OR NOT isfinite(NEW.closed_at)) THEN
    problem := 'a closure names a venue''s id and county and when it closed';
  END IF;
  IF problem IS NULL AND TG_OP = 'DELETE' THEN
    problem := 'a closure is never taken back';
  END IF;
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  -- (the same closure again, as a relay sends it back: nothing to do)
  IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM @extschema@.venue_closure x
                                   WHERE x.venue = NEW.venue AND x.venue_region = NEW.venue_region) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._venue_closure_check() IS
  'Trigger (also on replicated rows): skips malformed closures, closures of venues the sending node does not serve and the taking back of one (logged), and a closure already here.';
REVOKE ALL ON FUNCTION @extschema@._venue_closure_check() FROM PUBLIC;

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
CREATE OR REPLACE FUNCTION @extschema@._moved_tables() RETURNS text[]
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
CREATE OR REPLACE FUNCTION @extschema@._moved_filter(tbl text) RETURNS text
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

CREATE OR REPLACE FUNCTION @extschema@._moved_computed() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['person_status', 'status_history', 'status_digest', 'red_push', 'health_share'];
COMMENT ON FUNCTION @extschema@._moved_computed() IS
  'Internal: the tables among _moved_tables() whose rows are computed from the others (and from what a node receives): not counted in a move''s receipt.';
REVOKE ALL ON FUNCTION @extschema@._moved_computed() FROM PUBLIC;

-- How many rows of each table move with the region (tables with none left
-- out), but the computed ones (statuses, history, what is published), which
-- the node recalculates from the rest and from what it receives itself.
CREATE OR REPLACE FUNCTION @extschema@._moved_counts(region text) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION @extschema@._require_hosted(region text) RETURNS void
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

CREATE OR REPLACE FUNCTION @extschema@.region_export(region text) RETURNS TABLE (tbl text, data jsonb)
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

-- (a superuser's alone: it writes rows as a restore does, decisions with
-- the authors and times the file names, which no admin may set)
CREATE OR REPLACE FUNCTION @extschema@.adopt_region(region text) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION @extschema@.release_region(region text, adopted jsonb) RETURNS TABLE (what text, rows bigint)
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
CREATE OR REPLACE FUNCTION @extschema@._health_share_problem(h @extschema@.health_share) RETURNS text
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
CREATE OR REPLACE FUNCTION @extschema@._peer_bulk() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_peer_bulk'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._peer_bulk() IS
  'Internal: true while peer_publish writes a batch in this backend (health_share''s row triggers stand aside).';
REVOKE ALL ON FUNCTION @extschema@._peer_bulk() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._set_peer_bulk(on_ boolean) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_set_peer_bulk'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._set_peer_bulk(boolean) IS
  'Internal: sets _peer_bulk() for this backend until it is set again, or the (sub)transaction that set it ends; returns what it was.';
REVOKE ALL ON FUNCTION @extschema@._set_peer_bulk(boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._health_share_check() RETURNS trigger
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

-- People here whom a shared row concerns (the same national pseudonym,
-- registered here in another region) are recalculated.
CREATE OR REPLACE FUNCTION @extschema@._health_share_changed() RETURNS trigger
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

-- Emptied by hand (a replicated TRUNCATE is refused,
-- 94_federation_truncate_guard.sql): everyone here who may have had a
-- pushed red or shared data as evidence is recalculated.
CREATE OR REPLACE FUNCTION @extschema@._shared_evidence_truncated() RETURNS trigger
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

-- ---- the peer API, at the hub -------------------------------------------------------

-- The regions the calling peer speaks for, or 42501; on the hub only.
CREATE OR REPLACE FUNCTION @extschema@._peer_scope() RETURNS @extschema@.division_multirange
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
CREATE OR REPLACE FUNCTION @extschema@._peer_region_problem(region text, scope @extschema@.division_multirange,
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
CREATE OR REPLACE FUNCTION @extschema@._pseudonym_from_hex(hex text) RETURNS bytea
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
CREATE OR REPLACE FUNCTION @extschema@._peer_refuse(tbl text, refused jsonb) RETURNS bigint
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
CREATE OR REPLACE FUNCTION @extschema@.peer_publish(records json, OUT accepted bigint, OUT refused bigint)
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
CREATE OR REPLACE FUNCTION @extschema@.peer_push_reds(records json, OUT accepted bigint, OUT refused bigint)
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
CREATE OR REPLACE FUNCTION @extschema@.shared_health(national_subjects bytea[])
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

-- The row's writer, asked of its xmin: an answer is never given to the
-- transaction (or a subtransaction of it) that recorded the attempt.
CREATE OR REPLACE FUNCTION @extschema@._written_by_this_transaction(xmin xid) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_written_by_this_transaction'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._written_by_this_transaction(xid) IS
  'Internal: whether a row with this xmin was written by the current transaction or one of its subtransactions.';
REVOKE ALL ON FUNCTION @extschema@._written_by_this_transaction(xid) FROM PUBLIC;

-- The attempt: verified, compared (within the limits), recorded.
CREATE OR REPLACE FUNCTION @extschema@._holder_check_record(code text, identifier text, checkpoint text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := now();
  c @extschema@.healthcode;
  norm text;
  caller text := @extschema@._caller()::regrole::text;
  verified boolean := false;
  carried @extschema@.risk_colour;
  why text := 'malformed';
  pol @extschema@.policy;
  subj bytea;
  h bytea;
  result text := 'not_asked';
  attempt bigint;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  norm := @extschema@._require_identifier(identifier);
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'an identity check runs at READ COMMITTED only, not %', current_setting('transaction_isolation')
      USING ERRCODE = '25000',
            DETAIL = 'It counts the attempts committed before it; an older snapshot would not see them.';
  END IF;
  PERFORM @extschema@._require_region(checkpoint, 'checkpoint', allow_national => true);
  PERFORM @extschema@._require_caller_scope(checkpoint);
  c := @extschema@._code_or_null(code);
  IF c IS NOT NULL THEN
    -- (verified as any checkpoint verifies it, online, now; counted)
    SELECT x.valid, x.colour, x.reason INTO verified, carried, why
      FROM @extschema@.checkpoint_verify(c, checkpoint, t, true) x;
    subj := @extschema@.subject(c);
    h := @extschema@._code_holder(subj, t);
  END IF;
  -- (a code whose holder turned another colour is still theirs)
  IF why IN ('ok', 'colour_changed') THEN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.person p WHERE p.subject = subj) THEN
      result := 'unknown';
    ELSE
      -- one attempt at a time for a caller and for a holder, each counting
      -- the others' committed ones (caller first, then holder: no deadlock)
      -- (anyone can take the same advisory lock: waiting is bounded)
      PERFORM set_config('lock_timeout', '5s', true);
      PERFORM pg_advisory_xact_lock(hashtextextended('healthcode.holder_check caller ' || caller, 0));
      PERFORM pg_advisory_xact_lock(hashtextextended('healthcode.holder_check holder ' || encode(h, 'hex'), 0));
      pol := @extschema@.policy_at('000000', t);
      IF (SELECT count(*) FROM @extschema@.holder_check x WHERE x.holder = h AND x.outcome = 'differs')
           >= COALESCE(pol.holder_check_misses_per_day, 3)
         OR (SELECT count(*) FROM @extschema@.holder_check x
              WHERE x.checked_by = caller AND x.outcome = 'differs' AND x.at > t - interval '1 hour')
           >= COALESCE(pol.holder_check_misses_per_hour, 20) THEN
        result := 'locked';
      ELSE
        -- (the code's subject is the person's the identifier names: one
        -- adopted from the hub carries the hub's pseudonym until re-keyed)
        result := CASE WHEN EXISTS (SELECT 1 FROM @extschema@.person p
                                     WHERE p.subject = subj AND p.id = @extschema@._person_of(norm))
                       THEN 'matches' ELSE 'differs' END;
      END IF;
    END IF;
  END IF;
  INSERT INTO @extschema@.holder_check (at, region, checked_by, holder, outcome, valid, colour, reason)
  VALUES (t, checkpoint, caller, h, result, verified, carried, why)
  RETURNING id INTO attempt;
  RETURN attempt;
END $$;
COMMENT ON FUNCTION @extschema@._holder_check_record(text, text, text) IS
  'Internal (checkpoint_verify_holder''s first step): verifies the code at the checkpoint now, compares its holder with the identifier within the policy''s limits, records the attempt and returns its id. The answer is read by _holder_check_answer once this has committed.';
REVOKE ALL ON FUNCTION @extschema@._holder_check_record(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._holder_check_record(text, text, text) TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE OR REPLACE FUNCTION @extschema@._holder_check_answer(attempt bigint,
    OUT holder text, OUT valid boolean, OUT colour @extschema@.risk_colour, OUT reason text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  SELECT x.xmin AS writer, x.* INTO r FROM @extschema@.holder_check x
   WHERE x.id = attempt AND x.checked_by = @extschema@._caller()::regrole::text
     AND x.answered_at IS NULL AND x.at > now() - interval '1 minute'
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no unanswered identity check % of the caller''s in the last minute', attempt
      USING ERRCODE = 'P0002';
  END IF;
  IF @extschema@._written_by_this_transaction(r.writer) THEN
    RAISE EXCEPTION 'an identity check is answered only once its attempt is committed'
      USING ERRCODE = '25001',
            HINT = 'CALL healthcode.checkpoint_verify_holder(...) outside a transaction block (autocommit).';
  END IF;
  UPDATE @extschema@.holder_check x SET answered_at = now() WHERE x.id = attempt;
  holder := r.outcome;
  valid := r.valid;
  colour := r.colour;
  reason := r.reason;
END $$;
COMMENT ON FUNCTION @extschema@._holder_check_answer(bigint) IS
  'Internal (checkpoint_verify_holder''s second step): the answer to the caller''s attempt, once, within a minute, and never in the transaction that recorded it (25001).';
REVOKE ALL ON FUNCTION @extschema@._holder_check_answer(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._holder_check_answer(bigint) TO healthcode_app, healthcode_operator, healthcode_verifier;

-- (SECURITY INVOKER and without SET: a procedure that commits may be
-- neither; it runs nothing with the caller's rights but the two
-- functions above, schema-qualified)
CREATE OR REPLACE PROCEDURE @extschema@.checkpoint_verify_holder(code text, identifier text, checkpoint text,
    INOUT holder text DEFAULT NULL, INOUT valid boolean DEFAULT NULL,
    INOUT colour @extschema@.risk_colour DEFAULT NULL, INOUT reason text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
  attempt bigint := @extschema@._holder_check_record(code, identifier, checkpoint);
BEGIN
  COMMIT;
  SELECT a.holder, a.valid, a.colour, a.reason INTO holder, valid, colour, reason
    FROM @extschema@._holder_check_answer(attempt) a;
END $$;
COMMENT ON PROCEDURE @extschema@.checkpoint_verify_holder(text, text, text, text, boolean, @extschema@.risk_colour, text) IS
  'A checkpoint''s one call for a code and the ID document shown with it: verifies the code (checkpoint_verify, online, now; valid, colour, reason) and says whether it belongs to that identifier. holder: matches, differs, unknown (this node does not know the code''s holder: a code of another node), not_asked (the code does not verify now) or locked (the national policy limits wrong identifiers: holder_check_misses_per_day against one holder, holder_check_misses_per_hour by one role). Commits the attempt before it answers, so it must be CALLed outside a transaction block (else 2D000), at READ COMMITTED (else 25000). The identifier must be a valid document (22023).';
REVOKE ALL ON PROCEDURE @extschema@.checkpoint_verify_holder(text, text, text, text, boolean, @extschema@.risk_colour, text) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.checkpoint_verify_holder(text, text, text, text, boolean, @extschema@.risk_colour, text)
  TO healthcode_app, healthcode_operator, healthcode_verifier;

-- The erasure of some people, set-based; what went, table by table. The
-- status triggers stand aside (restore mode): the people go, nothing of
-- theirs is to be recalculated.
CREATE OR REPLACE FUNCTION @extschema@._erase(persons bigint[], days date[] DEFAULT NULL, moved boolean DEFAULT false)
RETURNS TABLE (what text, rows bigint, positions bigint[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET healthcode.restore_mode = on
AS $$
DECLARE
  t timestamptz;
  tbl text;
  n bigint;
  w @extschema@.recalc_work;
  -- (the regions this node speaks for, read once: a purge erases a region)
  served @extschema@.division_multirange := @extschema@._served_here();
BEGIN
  -- Locked in the order every writer takes them (against their codes
  -- being issued, the person, the work list's rows, the status rows): no
  -- code is issued them meanwhile (_lock_for_erasure), so every code of
  -- theirs was issued before t; a recalculation of theirs under way (it holds the status
  -- rows, a worker its list rows too) ends first, and none starts until
  -- they are gone, so nothing it publishes outlives them.
  PERFORM @extschema@._lock_for_erasure(persons);
  PERFORM 1 FROM @extschema@.person p WHERE p.id = ANY (persons) ORDER BY p.id FOR UPDATE;
  -- (each change's rows of theirs, as an import takes them: by the key)
  n := 0;
  FOR w IN SELECT * FROM @extschema@.recalc_work x ORDER BY x.id LOOP
    n := n + coalesce(cardinality((@extschema@._take_listed(w, persons)).taken), 0);
  END LOOP;
  what := 'recalc_pending'; rows := n; RETURN NEXT;
  PERFORM 1 FROM @extschema@.person_status s WHERE s.person_id = ANY (persons) ORDER BY s.person_id FOR UPDATE;
  -- (after the status rows, which a removal of their stays holds from its
  -- recalculation to its commit; one still running may leave a row more,
  -- which goes with the work list's end: _forget_gone_stays)
  DELETE FROM @extschema@.recalc_gone_stays g WHERE g.person_id = ANY (persons);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'recalc_gone_stays'; rows := n; RETURN NEXT;
  t := clock_timestamp();
  IF EXISTS (SELECT 1 FROM @extschema@.manual_decision m
              WHERE m.person_id = ANY (persons) AND m.content_digest IS NULL) THEN
    RAISE EXCEPTION 'a manual decision about these people was recorded before 0.3.0: its hash covers its content, which cannot go without breaking the chain'
      USING ERRCODE = '55000',
            HINT = 'Erase such a person once the national auditor has recorded the chain''s head and agreed to restart it.';
  END IF;
  -- the rows that name them, counted before they go with the person
  FOR tbl IN SELECT e.name FROM @extschema@.evidence_table e WHERE NOT e.public_rows AND e.name <> 'manual_decision'
             UNION ALL
             SELECT u.name FROM unnest(ARRAY['correction', 'person_status', 'status_history',
                                             'consistency_finding', 'guardian_link', 'proxy_action']) u(name)
             ORDER BY 1
  LOOP
    -- (a guardian's links and actions name them too: they go with them)
    EXECUTE format('SELECT count(*) FROM @extschema@.%I x WHERE x.person_id = ANY ($1)%s', tbl,
                   CASE WHEN tbl IN ('guardian_link', 'proxy_action') THEN ' OR x.guardian_id = ANY ($1)' ELSE '' END)
       INTO n USING persons;
    what := tbl; rows := n; RETURN NEXT;
  END LOOP;
  DELETE FROM @extschema@.consistency_finding c WHERE c.person_id = ANY (persons);
  -- (moved to a node of their own, release_region: their codes stay valid,
  -- and what is published about them is that node's to publish now; their
  -- region's code events went with them and are deleted by the caller)
  IF NOT moved THEN
  -- their codes: revoked, and their events gone (by the holder pseudonym of
  -- each day there are events of)
  INSERT INTO @extschema@.code_revocation AS r (hash, kind, region, revoked_at, expires_at, reason)
  SELECT @extschema@._revocation_hash('subject', p.region, p.subject), 'subject', p.region, t, t + interval '366 days',
         'erased'
    FROM @extschema@.person p WHERE p.id = ANY (persons)
  ON CONFLICT (hash) DO UPDATE
    SET revoked_at = greatest(r.revoked_at, EXCLUDED.revoked_at),
        expires_at = greatest(r.expires_at, EXCLUDED.expires_at), reason = EXCLUDED.reason;
  -- (the events still waiting in shared memory first: the codes issued
  -- them before this erasure began are all counted there by now)
  PERFORM @extschema@._flush_code_events();
  -- (the days there are events of: given by a purge, which asks once)
  days := COALESCE(days, ARRAY(SELECT DISTINCT (e.at AT TIME ZONE 'Asia/Shanghai')::date FROM @extschema@.code_event e));
  WITH holders AS (
    -- (midnight of the day in China Standard Time, whatever the session's
    -- time zone: the day _code_holder hashes)
    SELECT d.day, @extschema@._code_holder(p.subject, d.day::timestamp AT TIME ZONE 'Asia/Shanghai') AS holder
      FROM @extschema@.person p CROSS JOIN unnest(days) AS d(day) WHERE p.id = ANY (persons)
  ), gone AS (
    DELETE FROM @extschema@.code_event e USING holders h
     WHERE e.holder = h.holder AND (e.at AT TIME ZONE 'Asia/Shanghai')::date = h.day
    RETURNING 1
  )
  SELECT count(*) INTO n FROM gone;
  what := 'code_event'; rows := n; RETURN NEXT;
  -- what this node publishes for them to the hub
  DELETE FROM @extschema@.status_digest d USING @extschema@.person p
   WHERE p.id = ANY (persons) AND d.subject = p.subject;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'status_digest'; rows := n; RETURN NEXT;
  -- (of every region this node speaks for: a red decided before a move
  -- within them was pushed from the region before; another node's rows are
  -- that node's, which skips their deletion coming back (_own_row_back), so
  -- deleted here they would be gone everywhere but there)
  DELETE FROM @extschema@.red_push r USING @extschema@.person p
   WHERE p.id = ANY (persons) AND r.national_subject = p.national_subject
     AND served @> (r.from_region COLLATE "C");
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'red_push'; rows := n; RETURN NEXT;
  -- (likewise what the regions it speaks for shared about them)
  DELETE FROM @extschema@.health_share h USING @extschema@.person p
   WHERE p.id = ANY (persons) AND h.national_subject = p.national_subject
     AND served @> (h.region COLLATE "C");
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'health_share'; rows := n; RETURN NEXT;
  END IF;
  -- their decisions: tombstones in the chain
  WITH made AS (
    UPDATE @extschema@.manual_decision m
       SET person_id = NULL, valid_from = NULL, valid_until = NULL, authority = NULL, reason = NULL, erased_at = t
     WHERE m.person_id = ANY (persons)
    RETURNING m.chain_seq
  )
  SELECT count(*), COALESCE(array_agg(made.chain_seq ORDER BY made.chain_seq), '{}') INTO rows, positions FROM made;
  what := 'manual_decision (made tombstones)'; RETURN NEXT;
  positions := NULL;
  -- and the people, their rows with them (the foreign keys' cascades, the
  -- history by the person trigger)
  DELETE FROM @extschema@.person p WHERE p.id = ANY (persons);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'person'; rows := n; RETURN NEXT;
END $$;
COMMENT ON FUNCTION @extschema@._erase(bigint[], date[], boolean) IS
  'Internal: erases the people given (every row naming them, their code events on the days given or all, digests and pushed reds; their decisions made tombstones; their codes revoked) and returns the rows removed by table, with the chain positions made tombstones. moved: people whose region moved to a node of its own (release_region): their codes, code events and what is published about them stay.';
REVOKE ALL ON FUNCTION @extschema@._erase(bigint[], date[], boolean) FROM PUBLIC;

-- Two reports (table -> rows) added up.
CREATE OR REPLACE FUNCTION @extschema@._report_sum(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT COALESCE(pg_catalog.jsonb_object_agg(x.key, x.rows), '{}')
          FROM (SELECT r.key, pg_catalog.sum(r.value::bigint) AS rows
                  FROM (SELECT * FROM pg_catalog.jsonb_each_text(COALESCE(a, '{}'))
                        UNION ALL SELECT * FROM pg_catalog.jsonb_each_text(COALESCE(b, '{}'))) r
                 GROUP BY r.key) x);
COMMENT ON FUNCTION @extschema@._report_sum(jsonb, jsonb) IS
  'Internal: two erasure reports (table -> rows) added up.';
REVOKE ALL ON FUNCTION @extschema@._report_sum(jsonb, jsonb) FROM PUBLIC;

-- What an erasure or purge did, kept in erasure and returned to its
-- caller: the rows removed by table.
CREATE OR REPLACE FUNCTION @extschema@._record_erasure(erased text, region text, people bigint, reason text, report jsonb,
                                            tombstones bigint[])
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.erasure (erased_by, what, region, people, reason, report, tombstones)
  VALUES (@extschema@._caller()::regrole::text, erased, _record_erasure.region, people,
          btrim(_record_erasure.reason), report, tombstones);
  RETURN QUERY SELECT r.key, r.value::bigint FROM jsonb_each_text(report) r ORDER BY r.key;
END $$;
COMMENT ON FUNCTION @extschema@._record_erasure(text, text, bigint, text, jsonb, bigint[]) IS
  'Internal: records an erasure (erased: person) or purge (region) in erasure and returns its report, table by table.';
REVOKE ALL ON FUNCTION @extschema@._record_erasure(text, text, bigint, text, jsonb, bigint[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.erase_person(person_id bigint, reason text)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  erased record;
  report jsonb := '{}';
  tombstones bigint[] := '{}';
BEGIN
  IF erase_person.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  p := @extschema@._require_person_id(erase_person.person_id);
  PERFORM @extschema@._evidence_lock(false);
  FOR erased IN SELECT * FROM @extschema@._erase(ARRAY[p.id]) LOOP
    report := @extschema@._report_sum(report, jsonb_build_object(erased.what, erased.rows));
    tombstones := tombstones || COALESCE(erased.positions, '{}');
  END LOOP;
  RETURN QUERY SELECT * FROM @extschema@._record_erasure('person', p.region, 1, reason, report, tombstones);
END $$;
COMMENT ON FUNCTION @extschema@.erase_person(bigint, text) IS
  'Erases a person of the caller''s regions on request: every row that names them, their code events, what this node publishes for them; their manual decisions stay in the chain as tombstones (the chain still verifies); their codes are revoked. Returns the rows removed by table; erasure keeps the count, naming no one.';
REVOKE ALL ON FUNCTION @extschema@.erase_person(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.erase_person(bigint, text) TO healthcode_operator;

-- Every person of a region (and below it) erased in batches of
-- healthcode.recalc_batch_size people (bounded memory), with the region's
-- own code events (its checkpoints' scans), recorded in erasure as kind:
-- region for a purge, moved for a hosted region released to a node of its
-- own (its identity checks went too; _erase says what stays).
CREATE OR REPLACE FUNCTION @extschema@._erase_region(region text, kind text, reason text)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  moved boolean := kind = 'moved';
  batch integer := @extschema@._recalc_setting('batch_size');
  persons bigint[];
  days date[];
  people bigint := 0;
  n bigint;
  report jsonb := '{}';
  tombstones bigint[] := '{}';
  erased record;
BEGIN
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._flush_code_events();
  days := ARRAY(SELECT DISTINCT (e.at AT TIME ZONE 'Asia/Shanghai')::date FROM @extschema@.code_event e);
  LOOP
    persons := ARRAY(SELECT p.id FROM @extschema@.person p
                      WHERE p.region >= _erase_region.region
                        AND p.region <= @extschema@.division_last(_erase_region.region)
                      ORDER BY p.id LIMIT batch);
    EXIT WHEN cardinality(persons) = 0;
    people := people + cardinality(persons);
    FOR erased IN SELECT * FROM @extschema@._erase(persons, days, moved) LOOP
      report := @extschema@._report_sum(report, jsonb_build_object(erased.what, erased.rows));
      tombstones := tombstones || COALESCE(erased.positions, '{}');
    END LOOP;
  END LOOP;
  DELETE FROM @extschema@.code_event e
   WHERE e.region >= _erase_region.region AND e.region <= @extschema@.division_last(_erase_region.region);
  GET DIAGNOSTICS n = ROW_COUNT;
  report := @extschema@._report_sum(report, jsonb_build_object('code_event', n));
  IF moved THEN
    DELETE FROM @extschema@.holder_check h
     WHERE h.region >= _erase_region.region AND h.region <= @extschema@.division_last(_erase_region.region);
    GET DIAGNOSTICS n = ROW_COUNT;
    report := @extschema@._report_sum(report, jsonb_build_object('holder_check', n));
  END IF;
  RETURN QUERY SELECT * FROM @extschema@._record_erasure(kind, _erase_region.region, people, reason,
                                                         report, tombstones);
END $$;
COMMENT ON FUNCTION @extschema@._erase_region(text, text, text) IS
  'Internal: erases every person of a region (and below it) in batches, as erase_person does, and the region''s own code events (and, kind = moved, its identity checks); records it in erasure as kind (region or moved) and returns the rows removed by table.';
REVOKE ALL ON FUNCTION @extschema@._erase_region(text, text, text) FROM PUBLIC;

-- The end of the emergency: all personal data of a region.
CREATE OR REPLACE FUNCTION @extschema@.purge_region(region text, reason text)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM @extschema@._require_region(purge_region.region);
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  RETURN QUERY SELECT * FROM @extschema@._erase_region(purge_region.region, 'region', reason);
END $$;
COMMENT ON FUNCTION @extschema@.purge_region(text, text) IS
  'The end-of-emergency purge: erases every person of a region (and below it) as erase_person does, in batches, and the region''s own code events; returns the rows removed by table, kept in erasure.';
REVOKE ALL ON FUNCTION @extschema@.purge_region(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.purge_region(text, text) TO healthcode_admin;

-- The one rule: a count as shown, rounded to the nearest multiple of the
-- cell size (half up); NULL, for a cell to leave out, when it is below the
-- cell size. A part of a shown cell (the vaccinated among its people) is
-- rounded the same way but never left out (part => true): 0 then stands for
-- fewer than half the cell size, as any count shown stands for a range.
CREATE OR REPLACE FUNCTION @extschema@._published_count(n bigint, part boolean DEFAULT false) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN n IS NULL OR (NOT part AND n OPERATOR(pg_catalog.<) @extschema@._min_cell_size()) THEN NULL
            -- (each operation in its parentheses: OPERATOR() all bind alike)
            ELSE ((n OPERATOR(pg_catalog.+) (@extschema@._min_cell_size() OPERATOR(pg_catalog./) 2))
                  OPERATOR(pg_catalog./) @extschema@._min_cell_size()) OPERATOR(pg_catalog.*) @extschema@._min_cell_size() END;
COMMENT ON FUNCTION @extschema@._published_count(bigint, boolean) IS
  'Internal: a count of people as the analyst views show it: rounded to the nearest multiple of healthcode.min_cell_size, or NULL (leave the cell out) when below it; a part of a shown cell (part) is rounded but never NULL.';

-- Each view is a security_barrier view over a SECURITY DEFINER function
-- that returns the finished, published rows: an analyst's WHERE clause,
-- EXPLAIN ANALYZE or function of their own only ever sees those rows, never
-- the per-person rows behind an aggregate (over the tables directly, a
-- plan would show a left-out cell's count on a scan node, and a WHERE
-- function would be pushed down and called once a person). The functions
-- read the tables (not current_status, which checks its own caller's
-- rights) within the scope of the role querying.
-- (The functions are granted to healthcode_analyst: a function a view
-- calls is checked against the role querying the view.)
CREATE OR REPLACE FUNCTION @extschema@._status_summary()
RETURNS TABLE (region text, colour @extschema@.risk_colour, people bigint, vaccinated bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.region, g.colour, @extschema@._published_count(g.people), @extschema@._published_count(g.vaccinated, true)
    FROM (SELECT s.region, (x.v).colour AS colour, pg_catalog.count(*) AS people,
                 pg_catalog.count(*) FILTER (WHERE (x.v).vaccinated) AS vaccinated
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                            THEN @extschema@._status_now(s, pg_catalog.now())
                                            ELSE @extschema@.status_at(s, pg_catalog.now()) END AS v OFFSET 0) x
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (s.region COLLATE "C")
           GROUP BY s.region, (x.v).colour) g
   WHERE @extschema@._published_count(g.people) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._status_summary() IS 'Internal: the rows of status_summary.';
REVOKE ALL ON FUNCTION @extschema@._status_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._status_summary() TO healthcode_analyst;

CREATE OR REPLACE FUNCTION @extschema@._transitions_per_day()
RETURNS TABLE (day date, region text, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (c.at AT TIME ZONE 'Asia/Shanghai')::date, c.region, c.from_colour, c.to_colour,
         @extschema@._published_count(pg_catalog.count(DISTINCT c.person_id))
    FROM (SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour FROM @extschema@.status_history h
          UNION ALL
          SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g) c
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (c.region COLLATE "C")
   GROUP BY 1, 2, 3, 4
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT c.person_id)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._transitions_per_day() IS 'Internal: the rows of transitions_per_day.';
REVOKE ALL ON FUNCTION @extschema@._transitions_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._transitions_per_day() TO healthcode_analyst;

CREATE OR REPLACE FUNCTION @extschema@._tests_per_day()
RETURNS TABLE (day date, region text, people_tested bigint, people_positive bigint, positivity numeric)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.day, g.region, @extschema@._published_count(g.tested),
         @extschema@._published_count(g.positive, true),
         -- (from the rounded counts of tests: the exact ratio would give
         -- the exact counts back)
         CASE WHEN @extschema@._published_count(g.tests, true) OPERATOR(pg_catalog.>) 0
              THEN pg_catalog.round(@extschema@._published_count(g.positive_tests, true)::numeric
                                    OPERATOR(pg_catalog./) @extschema@._published_count(g.tests, true), 4) END
    FROM (SELECT (t.sampled_at AT TIME ZONE 'Asia/Shanghai')::date AS day, t.region,
                 pg_catalog.count(DISTINCT t.person_id) AS tested,
                 pg_catalog.count(DISTINCT t.person_id) FILTER (WHERE t.result = 'positive') AS positive,
                 pg_catalog.count(*) AS tests,
                 pg_catalog.count(*) FILTER (WHERE t.result = 'positive') AS positive_tests
            FROM @extschema@.test_result t
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (t.region COLLATE "C")
           GROUP BY 1, 2) g
   WHERE @extschema@._published_count(g.tested) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._tests_per_day() IS 'Internal: the rows of tests_per_day.';
REVOKE ALL ON FUNCTION @extschema@._tests_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._tests_per_day() TO healthcode_analyst;

CREATE OR REPLACE FUNCTION @extschema@._codes_per_day()
RETURNS TABLE (day date, region text, event text, colour @extschema@.risk_colour, outcome text, people bigint,
               codes bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (e.at AT TIME ZONE 'Asia/Shanghai')::date, e.region, e.event, e.colour, e.outcome,
         @extschema@._published_count(pg_catalog.count(DISTINCT e.holder)),
         @extschema@._published_count(pg_catalog.count(*), true)
    -- (with the events still waiting in shared memory: a count is never behind)
    FROM @extschema@._code_events() e
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (e.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT e.holder)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._codes_per_day() IS 'Internal: the rows of codes_per_day.';
REVOKE ALL ON FUNCTION @extschema@._codes_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._codes_per_day() TO healthcode_analyst;

CREATE OR REPLACE FUNCTION @extschema@._findings_per_day()
RETURNS TABLE (day date, region text, kind text, status text, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (f.found_at AT TIME ZONE 'Asia/Shanghai')::date, f.region, f.kind, f.status,
         @extschema@._published_count(pg_catalog.count(DISTINCT f.person_id))
    FROM @extschema@.audit_finding f
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (f.region COLLATE "C")
   GROUP BY 1, 2, 3, 4
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT f.person_id)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._findings_per_day() IS 'Internal: the rows of findings_per_day.';
REVOKE ALL ON FUNCTION @extschema@._findings_per_day() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._findings_per_day() TO healthcode_analyst;

CREATE OR REPLACE FUNCTION @extschema@._decisions_by_operator()
RETURNS TABLE (day date, region text, decided_by text, kind text, colour @extschema@.risk_colour,
               people bigint, decisions bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT (m.decided_at AT TIME ZONE 'Asia/Shanghai')::date, m.region, m.decided_by, m.kind, m.colour,
         @extschema@._published_count(pg_catalog.count(DISTINCT m.person_id)),
         @extschema@._published_count(pg_catalog.count(*), true)
    FROM @extschema@.manual_decision m
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (m.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5
  HAVING @extschema@._published_count(pg_catalog.count(DISTINCT m.person_id)) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._decisions_by_operator() IS 'Internal: the rows of decisions_by_operator.';
REVOKE ALL ON FUNCTION @extschema@._decisions_by_operator() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._decisions_by_operator() TO healthcode_analyst;

-- ---------------------------------------------------------------------------
-- Trends and totals that add up (issue 17). Counts are made exact at the
-- district (the home region, or the checkpoint's for codes verified) and
-- summed up to the city, the province and the nation before anything is
-- left out or rounded, so a district left out still counts in its city's
-- total; every cell shown then goes through the one rule of the analyst
-- views (_published_count, 97_analyst.sql).
-- The daily series are kept in daily_rollup, one small table filled a day
-- at a time by rollup_day() (the daily job): a year of trends reads it
-- alone, never the evidence or the history, which retention empties
-- after evidence_kept_days anyway.
-- ---------------------------------------------------------------------------

-- A division code and the levels above it whose totals include it: itself
-- (district), its city, its province, the nation. (A SQL body: inlined.)
CREATE OR REPLACE FUNCTION @extschema@._region_levels(region text) RETURNS TABLE (level text, region text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT l.level, l.code
    FROM (VALUES (1, 'district', _region_levels.region),
                 (2, 'city', pg_catalog.left(_region_levels.region, 4) OPERATOR(pg_catalog.||) '00'),
                 (3, 'province', pg_catalog.left(_region_levels.region, 2) OPERATOR(pg_catalog.||) '0000'),
                 (4, 'nation', '000000')) l(n, level, code)
   ORDER BY l.n;
END;
COMMENT ON FUNCTION @extschema@._region_levels(text) IS
  'Internal: a six-digit division code and the totals it counts in: district (itself), city, province, nation.';
REVOKE ALL ON FUNCTION @extschema@._region_levels(text) FROM PUBLIC;

-- Whether a viewer with this scope sees a total of this region: only when
-- it acts for all of it (a city's total to whom acts for one district of
-- it would be the others' count, less their own).
CREATE OR REPLACE FUNCTION @extschema@._scope_holds(scope @extschema@.division_multirange, region text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN scope OPERATOR(pg_catalog.@>)
       @extschema@.division_range(region COLLATE "C", @extschema@.division_last(region) COLLATE "C", '[]');
COMMENT ON FUNCTION @extschema@._scope_holds(@extschema@.division_multirange, text) IS
  'Internal: whether a scope covers the whole of a region (and so may see its totals).';
REVOKE ALL ON FUNCTION @extschema@._scope_holds(@extschema@.division_multirange, text) FROM PUBLIC;

-- ---- colours at an instant, counted --------------------------------------------
-- How many people had each colour at an instant (not after the statement's
-- start: a status written earlier in the transaction is dated by its
-- statement, after now()), with the rule of the first of their reasons
-- ('' for none), by home region: the one reading of it for the totals and
-- the daily rollup. Nearly everyone's stored segment holds at the instant,
-- so one pass over the status rows counts them as stored, grouped as
-- scanned (in parallel where the server allows: no per-person function in
-- it), and lists the few it does not hold for ("others": their colour
-- changed since, or their segment ended by then), who are then read one by
-- one (_colours_of).

-- A person's colour at an instant from the history: its last entry by
-- then, with the rule of its first reason (none: no row). (A SQL body:
-- inlined, one backward step of the (person_id, at) index.)
CREATE OR REPLACE FUNCTION @extschema@._history_at(person_id bigint, at timestamptz)
RETURNS TABLE (to_colour @extschema@.risk_colour, rule text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT h.to_colour, h.reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule'
    FROM @extschema@.status_history h
   WHERE h.person_id OPERATOR(pg_catalog.=) _history_at.person_id AND h.at OPERATOR(pg_catalog.<=) _history_at.at
   ORDER BY h.at DESC LIMIT 1;
END;
COMMENT ON FUNCTION @extschema@._history_at(bigint, timestamptz) IS
  'Internal: a person''s last history entry at or before an instant: the colour it set and the rule of its first reason.';
REVOKE ALL ON FUNCTION @extschema@._history_at(bigint, timestamptz) FROM PUBLIC;

-- A list of ids, as an aggregate that parallel workers can build in parts
-- (array_agg has no combine function before PostgreSQL 16).
CREATE OR REPLACE AGGREGATE @extschema@._id_list(bigint) (
  SFUNC = pg_catalog.array_append, STYPE = bigint[], COMBINEFUNC = pg_catalog.array_cat,
  INITCOND = '{}', PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._id_list(bigint) IS
  'Internal: the ids as an array (''{}'' for none), buildable by parallel workers.';
REVOKE ALL ON FUNCTION @extschema@._id_list(bigint) FROM PUBLIC;

-- The one pass over the status rows. (A SQL body: inlined, and so planned
-- in parallel within the caller's query.)
CREATE OR REPLACE FUNCTION @extschema@._status_groups_at(at timestamptz) RETURNS SETOF @extschema@._status_group
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.region, s.colour, s.reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule', pg_catalog.count(*),
         @extschema@._id_list(s.person_id) FILTER (WHERE s.since OPERATOR(pg_catalog.>) _status_groups_at.at
                                                      OR s.valid_until OPERATOR(pg_catalog.<=) _status_groups_at.at)
    FROM @extschema@.person_status s
   GROUP BY s.region, s.colour, (s.reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule');
END;
COMMENT ON FUNCTION @extschema@._status_groups_at(timestamptz) IS
  'Internal: the stored statuses by home region, colour and first rule, with the people whose stored segment does not hold at the instant (changed since, or ended by then).';
REVOKE ALL ON FUNCTION @extschema@._status_groups_at(timestamptz) FROM PUBLIC;

-- Some people's colours at an instant, one by one: the history's last
-- entry by then for those whose colour changed since (none: registered
-- later, colour NULL), their timeline (status_at) for the others.
CREATE OR REPLACE FUNCTION @extschema@._colours_of(ids bigint[], at timestamptz)
RETURNS TABLE (person_id bigint, region text, colour @extschema@.risk_colour, rule text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.person_id, s.region,
         CASE WHEN s.since OPERATOR(pg_catalog.>) _colours_of.at THEN h.to_colour
              ELSE (@extschema@.status_at(s, _colours_of.at)).colour END,
         CASE WHEN s.since OPERATOR(pg_catalog.>) _colours_of.at THEN h.rule
              ELSE (@extschema@.status_at(s, _colours_of.at)).reasons OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'rule' END
    FROM @extschema@.person_status s
    LEFT JOIN LATERAL (SELECT x.to_colour, x.rule FROM @extschema@._history_at(s.person_id, _colours_of.at) x
                        WHERE s.since OPERATOR(pg_catalog.>) _colours_of.at) h ON true
   WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_colours_of.ids);
END;
COMMENT ON FUNCTION @extschema@._colours_of(bigint[], timestamptz) IS
  'Internal: some people''s colour at an instant and the rule of its first reason: from the history for those whose colour changed since (NULL: none then), else from their stored timeline.';
REVOKE ALL ON FUNCTION @extschema@._colours_of(bigint[], timestamptz) FROM PUBLIC;

-- The counts at the instant from the pass's groups: as stored, but for
-- the others, each counted where their own colour then puts them.
CREATE OR REPLACE FUNCTION @extschema@._colour_counts(groups @extschema@._status_group[], at timestamptz)
RETURNS TABLE (region text, colour @extschema@.risk_colour, rule text, people bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT x.region, x.colour, COALESCE(x.rule, ''), pg_catalog.sum(x.people)::bigint
    FROM (SELECT g.region, g.colour, g.rule, g.people OPERATOR(pg_catalog.-) pg_catalog.cardinality(g.others) AS people
            FROM pg_catalog.unnest(_colour_counts.groups) g
          UNION ALL
          SELECT c.region, c.colour, c.rule, 1
            FROM @extschema@._colours_of(ARRAY(SELECT pg_catalog.unnest(g.others) FROM pg_catalog.unnest(_colour_counts.groups) g),
                                         _colour_counts.at) c
           WHERE c.colour IS NOT NULL) x
   GROUP BY x.region, x.colour, COALESCE(x.rule, '')
  HAVING pg_catalog.sum(x.people) OPERATOR(pg_catalog.>) 0;
END;
COMMENT ON FUNCTION @extschema@._colour_counts(@extschema@._status_group[], timestamptz) IS
  'Internal: people by home region, colour and first rule ('''' for none) at an instant, from _status_groups_at''s groups for it: as stored, the others counted by their own colour then.';
REVOKE ALL ON FUNCTION @extschema@._colour_counts(@extschema@._status_group[], timestamptz) FROM PUBLIC;

-- The counts at an instant. While a change on the work list made by then
-- has yet to recalculate people, everyone is read as status() reads them
-- (_status_now: fresh for those it concerns), in a query of its own: a
-- per-person function in the pass would keep it from running in parallel.
CREATE OR REPLACE FUNCTION @extschema@._colour_counts_at(at timestamptz)
RETURNS TABLE (region text, colour @extschema@.risk_colour, rule text, people bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- (no JIT: the per-person query is costed far above jit_above_cost, and
-- compiling costs more than it saves)
SET jit = off
AS $$
BEGIN
  IF @extschema@._work_pending_by(_colour_counts_at.at) THEN
    RETURN QUERY
    SELECT c.region, c.colour, COALESCE(c.rule, ''), count(*)
      FROM (SELECT s.region,
                   CASE WHEN s.since > _colour_counts_at.at THEN h.to_colour ELSE (x.v).colour END AS colour,
                   CASE WHEN s.since > _colour_counts_at.at THEN h.rule ELSE (x.v).reasons -> 0 ->> 'rule' END AS rule
              FROM @extschema@.person_status s
              LEFT JOIN LATERAL (SELECT y.to_colour, y.rule FROM @extschema@._history_at(s.person_id, _colour_counts_at.at) y
                                  WHERE s.since > _colour_counts_at.at) h ON true
              CROSS JOIN LATERAL (SELECT CASE WHEN s.since <= _colour_counts_at.at
                                              THEN @extschema@._status_now(s, _colour_counts_at.at) END AS v OFFSET 0) x) c
     WHERE c.colour IS NOT NULL
     GROUP BY c.region, c.colour, COALESCE(c.rule, '');
    RETURN;
  END IF;
  RETURN QUERY
  SELECT c.* FROM @extschema@._colour_counts(ARRAY(SELECT g FROM @extschema@._status_groups_at(_colour_counts_at.at) g),
                                             _colour_counts_at.at) c;
END $$;
COMMENT ON FUNCTION @extschema@._colour_counts_at(timestamptz) IS
  'Internal: how many people had each colour at an instant up to now, with the rule of its first reason, by home region (from the stored timeline, or the history for those who changed since; fresh for people a change on the work list made by then has yet to recalculate).';
REVOKE ALL ON FUNCTION @extschema@._colour_counts_at(timestamptz) FROM PUBLIC;

-- A day's colour changes by home region: the history's, and those time
-- made in the stored timelines of the candidates (people whose current
-- segment had ended by the day's end or now) that no recalculation wrote
-- yet. (A SQL body: inlined.)
CREATE OR REPLACE FUNCTION @extschema@._transitions_in(t0 timestamptz, t1 timestamptz, candidates bigint[])
RETURNS TABLE (region text, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, people bigint,
               events bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT t.region, t.from_colour, t.to_colour, pg_catalog.count(DISTINCT t.person_id), pg_catalog.count(*)
    FROM (SELECT h.person_id, h.region, h.from_colour, h.to_colour FROM @extschema@.status_history h
           WHERE h.at OPERATOR(pg_catalog.>=) _transitions_in.t0 AND h.at OPERATOR(pg_catalog.<) _transitions_in.t1
          UNION ALL
          SELECT s.person_id, s.region, g.from_colour, g.to_colour
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.statement_timestamp()) g
           WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_transitions_in.candidates)
             AND s.valid_until OPERATOR(pg_catalog.<) _transitions_in.t1
             AND g.at OPERATOR(pg_catalog.>=) _transitions_in.t0 AND g.at OPERATOR(pg_catalog.<) _transitions_in.t1) t
   GROUP BY t.region, t.from_colour, t.to_colour;
END;
COMMENT ON FUNCTION @extschema@._transitions_in(timestamptz, timestamptz, bigint[]) IS
  'Internal: colour changes in [t0, t1) by home region, from and to colour (people, changes): the history''s, and the ones time made in the candidates'' stored timelines that no recalculation wrote yet.';
REVOKE ALL ON FUNCTION @extschema@._transitions_in(timestamptz, timestamptz, bigint[]) FROM PUBLIC;

-- A day's exact counts, every measure: at the district (level NULL) where
-- people add up across districts, as a person counts in one only (their
-- home region), so that the totals above are sums; at every level at once
-- where they do not (codes, verified where the holder goes).
CREATE OR REPLACE FUNCTION @extschema@._rollup_rows(day date)
RETURNS TABLE (measure text, level text, region text, dim1 text, dim2 text, dim3 text, people bigint, events bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- (a day's rows are sorted to count distinct people: in memory)
SET work_mem = '64MB'
-- (no JIT: its queries over everyone are costed far above jit_above_cost,
-- and compiling them took 680 of 860 ms at 300,000 people)
SET jit = off
AS $$
DECLARE
  -- (the day's span, and its end or now, once: constants to the plan)
  t0 timestamptz := _rollup_rows.day::timestamp AT TIME ZONE 'Asia/Shanghai';
  t1 timestamptz := (_rollup_rows.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai';
  t_end timestamptz := LEAST(t1 - interval '1 microsecond', statement_timestamp());
BEGIN
  -- (a query a measure or two, without a per-person function in those
  -- over everyone: they can run in parallel)
  IF @extschema@._work_pending_by(t_end) THEN
    -- everyone's colour at the day's end, some fresh (_colour_counts_at);
    -- the changes time made, in the timelines that had ended by then
    RETURN QUERY
    SELECT 'status', NULL, c.region, c.colour::text, c.rule, '', c.people, c.people
      FROM @extschema@._colour_counts_at(t_end) c
    UNION ALL
    SELECT 'transition', NULL, t.region, COALESCE(t.from_colour::text, ''), t.to_colour::text, '', t.people, t.events
      FROM @extschema@._transitions_in(t0, t1, ARRAY(SELECT s.person_id FROM @extschema@.person_status s
                                                      WHERE s.valid_until <= t_end)) t;
  ELSE
    -- everyone's colour at the day's end (now, for today), with its main
    -- rule, and the day's colour changes, from one pass over the statuses:
    -- the timelines that had ended by then are among its others
    RETURN QUERY
    WITH g AS MATERIALIZED (
      SELECT ARRAY(SELECT x FROM @extschema@._status_groups_at(t_end) x) AS groups
    )
    SELECT 'status', NULL, c.region, c.colour::text, c.rule, '', c.people, c.people
      FROM g CROSS JOIN LATERAL @extschema@._colour_counts(g.groups, t_end) c
    UNION ALL
    SELECT 'transition', NULL, t.region, COALESCE(t.from_colour::text, ''), t.to_colour::text, '', t.people, t.events
      FROM g CROSS JOIN LATERAL @extschema@._transitions_in(t0, t1, ARRAY(SELECT unnest(x.others) FROM unnest(g.groups) x)) t;
  END IF;
  RETURN QUERY
  -- tests by sampling day: all, and the positive among them
  SELECT 'test', NULL, r.region, g.result, '', '', count(DISTINCT r.person_id), count(*)
    FROM @extschema@.test_result r
    CROSS JOIN LATERAL (VALUES (''), (CASE WHEN r.result = 'positive' THEN 'positive' END)) g(result)
   WHERE r.sampled_at >= t0 AND r.sampled_at < t1
     AND g.result IS NOT NULL
   GROUP BY r.region, g.result;
  RETURN QUERY
  -- codes issued (by the holders' region) and verified (by the checkpoint's),
  -- with the code's region: visitors' flows between regions
  SELECT 'code', l.level, l.region, e.event, COALESCE(e.code_region, ''), COALESCE(e.outcome, ''),
         count(DISTINCT e.holder), count(*)
    FROM @extschema@._code_events() e
    CROSS JOIN LATERAL @extschema@._region_levels(e.region) l
   WHERE e.at >= t0 AND e.at < t1
   GROUP BY l.level, l.region, e.event, e.code_region, e.outcome;
  RETURN QUERY
  SELECT 'finding', NULL, f.region, f.kind, f.status, '', count(DISTINCT f.person_id), count(*)
    FROM @extschema@.audit_finding f
   WHERE f.found_at >= t0 AND f.found_at < t1
   GROUP BY f.region, f.kind, f.status
  UNION ALL
  SELECT 'correction', NULL, c.region, x.what, c.evidence, x.status, count(DISTINCT c.person_id),
         count(*)
    FROM @extschema@.correction c
    CROSS JOIN LATERAL (VALUES ('requested', '', c.requested_at), ('decided', c.status, c.decided_at)) x(what, status, at)
   WHERE x.at >= t0 AND x.at < t1
   GROUP BY c.region, x.what, c.evidence, x.status
  UNION ALL
  SELECT 'decision', NULL, m.region, m.kind, COALESCE(m.colour::text, ''), m.decided_by,
         count(DISTINCT m.person_id), count(*)
    FROM @extschema@.manual_decision m
   WHERE m.decided_at >= t0 AND m.decided_at < t1
   GROUP BY m.region, m.kind, m.colour, m.decided_by;
END $$;
COMMENT ON FUNCTION @extschema@._rollup_rows(date) IS
  'Internal: a day''s exact counts for every measure of daily_rollup: by district (level NULL) where people add up across districts, else at every level.';
REVOKE ALL ON FUNCTION @extschema@._rollup_rows(date) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.rollup_day(day date DEFAULT ((pg_catalog.now() AT TIME ZONE 'Asia/Shanghai')::date - 1))
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  IF rollup_day.day IS NULL OR rollup_day.day > (now() AT TIME ZONE 'Asia/Shanghai')::date
     OR rollup_day.day < date '2019-12-01' THEN
    RAISE EXCEPTION 'day must be a day of the health-code era up to today, not %', coalesce(rollup_day.day::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  -- (one day at a time: a second call for the day waits and writes it anew)
  PERFORM pg_advisory_xact_lock(hashtext('@extschema@.daily_rollup'), (rollup_day.day - date '2000-01-01'));
  DELETE FROM @extschema@.daily_rollup r WHERE r.day = rollup_day.day;
  WITH d AS MATERIALIZED (SELECT * FROM @extschema@._rollup_rows(rollup_day.day))
  INSERT INTO @extschema@.daily_rollup (day, measure, level, region, dim1, dim2, dim3, people, events)
  SELECT rollup_day.day, d.measure, l.level, l.region, d.dim1, d.dim2, d.dim3, sum(d.people), sum(d.events)
    FROM d CROSS JOIN LATERAL @extschema@._region_levels(d.region) l
   WHERE d.level IS NULL
   GROUP BY d.measure, l.level, l.region, d.dim1, d.dim2, d.dim3
  UNION ALL
  SELECT rollup_day.day, d.measure, d.level, d.region, d.dim1, d.dim2, d.dim3, d.people, d.events
    FROM d WHERE d.level IS NOT NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.rollup_day(date) IS
  'The daily job''s rollup (schedule_jobs): writes a day''s exact counts (default yesterday, China Standard Time) into daily_rollup, at the district, city, province and nation, anew if it was written before; returns the rows. Today''s counts so far, or a day within evidence_kept_days again, may be rolled up too: the status by a day''s end comes from the history, which retention keeps that long.';
REVOKE ALL ON FUNCTION @extschema@.rollup_day(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rollup_day(date) TO healthcode_admin;

-- ---- what analysts read -------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._trends()
RETURNS TABLE (day date, measure text, level text, region text, dim1 text, dim2 text, dim3 text,
               people bigint, events bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT r.day, r.measure, r.level, r.region, r.dim1, r.dim2, r.dim3,
         @extschema@._published_count(r.people), @extschema@._published_count(r.events, true)
    FROM @extschema@.daily_rollup r
   WHERE @extschema@._scope_holds((SELECT @extschema@.my_region_scope()), r.region)
     AND @extschema@._published_count(r.people) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._trends() IS 'Internal: the rows of trends.';
REVOKE ALL ON FUNCTION @extschema@._trends() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._trends() TO healthcode_analyst;

-- The colours now, at every level, the same way: counted by district
-- first (_colour_counts_at), then the few districts' counts summed into
-- their city, province and nation (a person a row at four levels took
-- 1.85 s at 300,000 people; 0.18 s this way).
CREATE OR REPLACE FUNCTION @extschema@._status_totals()
RETURNS TABLE (level text, region text, colour @extschema@.risk_colour, people bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT g.level, g.region, g.colour, @extschema@._published_count(g.people)
    FROM (SELECT l.level, l.region, d.colour, pg_catalog.sum(d.people)::bigint AS people
            FROM (SELECT c.region, c.colour, pg_catalog.sum(c.people) AS people
                    FROM @extschema@._colour_counts_at(pg_catalog.statement_timestamp()) c
                   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (c.region COLLATE "C")
                   GROUP BY c.region, c.colour) d
            CROSS JOIN LATERAL @extschema@._region_levels(d.region) l
           GROUP BY l.level, l.region, d.colour) g
   WHERE @extschema@._scope_holds((SELECT @extschema@.my_region_scope()), g.region)
     AND @extschema@._published_count(g.people) IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._status_totals() IS 'Internal: the rows of status_totals.';
REVOKE ALL ON FUNCTION @extschema@._status_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._status_totals() TO healthcode_analyst;

-- ---- exposure by risk area ------------------------------------------------------

-- Per designation in force within the window: the people with a stay
-- there while it was (the work list's one query of an area's stays), by
-- home region and colour now. One query an area, from the (place, at)
-- index; the areas of a node are tens to hundreds.
CREATE OR REPLACE FUNCTION @extschema@._exposure_by_area()
RETURNS TABLE (risk_area bigint, division text, venue bigint, area_level text, bulletin text, region text,
               colour @extschema@.risk_colour, people bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  horizon timestamptz := @extschema@._evidence_horizon(statement_timestamp());
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
  pending boolean := @extschema@._work_pending();
  a @extschema@.risk_area;
BEGIN
  FOR a IN SELECT * FROM @extschema@.risk_area r
            WHERE r.level <> 'low' AND r.effective_from <= t
              AND (r.effective_until IS NULL OR r.effective_until > horizon)
            ORDER BY r.id LOOP
    RETURN QUERY EXECUTE format(
      $q$SELECT $3::bigint, $4, $5::bigint, $6, $7, g.region, g.colour, @extschema@._published_count(g.people)
           FROM (SELECT p.region, (CASE WHEN $8 THEN @extschema@._status_now(s, $9) ELSE @extschema@.status_at(s, $9) END).colour,
                        count(*) AS people
                   FROM (SELECT DISTINCT x.person_id FROM (%s) x) e
                   JOIN @extschema@.person p ON p.id = e.person_id
                   JOIN @extschema@.person_status s ON s.person_id = p.id
                  WHERE $10 @> (p.region COLLATE "C")
                  GROUP BY 1, 2) g
          WHERE @extschema@._published_count(g.people) IS NOT NULL$q$, @extschema@._work_stays_sql(''))
      USING ARRAY[a], horizon, a.id, a.division, a.venue, a.level, a.bulletin, pending, t, scope;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._exposure_by_area() IS 'Internal: the rows of exposure_by_area.';
REVOKE ALL ON FUNCTION @extschema@._exposure_by_area() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._exposure_by_area() TO healthcode_analyst;

-- ---------------------------------------------------------------------------
-- Manual decisions are append-only and hash-chained. Each entry commits to
-- the one before it: entry_hash = SHA-256 of the previous hash, the part of
-- the entry an erasure keeps (decision_kept: position, id, kind, colour, who,
-- when) and the digest of the part it removes (content_digest, of
-- decision_erasable: person, validity, authority, reason). Any later edit,
-- deletion or insertion in the middle -- by anyone, the table owner with
-- triggers disabled included -- breaks the chain where
-- verify_decision_chain() finds it; an auditor who keeps the head
-- (decision_chain_head()) also detects entries removed from the end. The
-- guard triggers stop ordinary edits outright. A person with manual
-- decisions cannot be deleted (the record is the point); moving them to
-- another region is allowed (the region is not part of the hashed content).
-- Erasing them (95_erasure.sql) turns their entries into tombstones: the
-- erasable part goes, its digest and the kept part stay, so the chain still
-- verifies and commits to what was removed; every tombstone is listed in
-- the erasure that made it, and one that is not is reported. (Entries
-- recorded under 0.2.0 hash their whole content, decision_content: they
-- verify as before, and cannot be made tombstones.)
-- ---------------------------------------------------------------------------

-- The whole content: everything that makes the decision, not the region
-- (which follows the person) nor the chain columns. (The hash of an entry
-- of 0.2.0 covers it; later ones cover the two parts below.)
CREATE OR REPLACE FUNCTION @extschema@.decision_content(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.chain_seq, m.id, m.person_id, m.kind, m.colour::text,
         pg_catalog.to_char(m.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         pg_catalog.to_char(m.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         m.decided_by, m.authority, m.reason,
         pg_catalog.to_char(m.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) IS
  'A manual decision''s whole content, which the hash of an entry recorded under 0.2.0 covers: a JSON array of sequence, id, person, kind, colour, validity, who, authority, reason and when (times in UTC, NULLs explicit).';
REVOKE ALL ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) TO healthcode_admin;

-- What an erasure keeps of an entry, and what it removes.
CREATE OR REPLACE FUNCTION @extschema@.decision_kept(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.chain_seq, m.id, m.kind, m.colour::text, m.decided_by,
         pg_catalog.to_char(m.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_kept(@extschema@.manual_decision) IS
  'The part of a manual decision an erasure keeps, as its hash covers it: a JSON array of sequence, id, kind, colour, who and when (time in UTC).';
REVOKE ALL ON FUNCTION @extschema@.decision_kept(@extschema@.manual_decision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_kept(@extschema@.manual_decision) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.decision_erasable(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.person_id,
         pg_catalog.to_char(m.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         pg_catalog.to_char(m.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         m.authority, m.reason)::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_erasable(@extschema@.manual_decision) IS
  'The part of a manual decision an erasure removes, whose SHA-256 (content_digest) its hash covers: a JSON array of person, validity, authority and reason (times in UTC, NULLs explicit).';
REVOKE ALL ON FUNCTION @extschema@.decision_erasable(@extschema@.manual_decision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_erasable(@extschema@.manual_decision) TO healthcode_admin;

-- An entry linked after the one before it (NULLs: the chain's first): its
-- position, the previous hash, the digest of its erasable part and its own
-- hash. The one rule of the chain, for the trigger below and for the
-- decisions a node adopts with a region (adopt_region).
CREATE OR REPLACE FUNCTION @extschema@._decision_linked(m @extschema@.manual_decision, last_seq bigint, last_hash bytea)
RETURNS @extschema@.manual_decision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  m.chain_seq := coalesce(last_seq, 0) + 1;
  m.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  -- (a tombstone only ever comes of an erasure, never of an insert)
  m.erased_at := NULL;
  m.content_digest := sha256(@extschema@.decision_erasable(m));
  m.entry_hash := sha256(m.prev_hash || @extschema@.decision_kept(m) || m.content_digest);
  RETURN m;
END $$;
COMMENT ON FUNCTION @extschema@._decision_linked(@extschema@.manual_decision, bigint, bytea) IS
  'Internal: the decision linked into the chain after the entry at last_seq with hash last_hash (NULLs: first): chain_seq, prev_hash, content_digest and entry_hash set.';
REVOKE ALL ON FUNCTION @extschema@._decision_linked(@extschema@.manual_decision, bigint, bytea) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._decision_chain_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  last @extschema@.manual_decision;
BEGIN
  -- a dump being restored brings its entries as they were: re-stamping them
  -- would falsify who decided, when, and the chain an auditor recorded
  IF @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- one writer at a time extends the chain
  PERFORM pg_advisory_xact_lock(hashtext('@extschema@.manual_decision chain'));
  SELECT * INTO last FROM @extschema@.manual_decision m ORDER BY m.chain_seq DESC LIMIT 1;
  -- who decided is the caller, whatever function recorded it
  NEW.decided_by := @extschema@._caller()::regrole::text;
  NEW.decided_at := statement_timestamp();
  RETURN @extschema@._decision_linked(NEW, last.chain_seq, last.entry_hash);
END $$;
COMMENT ON FUNCTION @extschema@._decision_chain_append() IS
  'Trigger: links a new manual decision into the hash chain, and records who (the calling role) and when; rows a dump restores keep theirs.';
REVOKE ALL ON FUNCTION @extschema@._decision_chain_append() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._decision_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND (to_jsonb(NEW) - 'region') = (to_jsonb(OLD) - 'region') THEN
    RETURN NEW;                 -- the person moved region: allowed
  END IF;
  -- the person erased: their entry becomes a tombstone (the table's check
  -- whole_or_erased says what goes), nothing else changes
  IF TG_OP = 'UPDATE' AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL AND OLD.content_digest IS NOT NULL
     AND (to_jsonb(NEW) - ARRAY['person_id', 'valid_from', 'valid_until', 'authority', 'reason', 'erased_at'])
       = (to_jsonb(OLD) - ARRAY['person_id', 'valid_from', 'valid_until', 'authority', 'reason', 'erased_at']) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'manual decisions are append-only'
    USING ERRCODE = '55000',
          HINT = 'Record a new decision instead: an override with another colour, or a release.';
END $$;
COMMENT ON FUNCTION @extschema@._decision_guard() IS
  'Trigger: manual decisions cannot be changed or deleted (only their region follows the person, and an erased person''s entry becomes a tombstone).';
REVOKE ALL ON FUNCTION @extschema@._decision_guard() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.verify_decision_chain(expected_seq bigint DEFAULT NULL, expected_hash bytea DEFAULT NULL)
RETURNS TABLE (chain_seq bigint, decision_id bigint, problem text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH listed AS (
    -- (the positions erasures made tombstones, once: a lookup, not a scan of
    -- every erasure's list for every tombstone)
    SELECT DISTINCT t.seq FROM @extschema@.erasure e CROSS JOIN LATERAL pg_catalog.unnest(e.tombstones) AS t(seq)
  ), c AS (
    SELECT m.chain_seq, m.id, m.prev_hash, m.entry_hash,
           -- (over the kept part and the erasable part's digest; entries of
           -- 0.2.0: over the whole content)
           CASE WHEN m.content_digest IS NULL
                THEN pg_catalog.sha256(m.prev_hash OPERATOR(pg_catalog.||) @extschema@.decision_content(m))
                ELSE pg_catalog.sha256(m.prev_hash OPERATOR(pg_catalog.||) @extschema@.decision_kept(m)
                                       OPERATOR(pg_catalog.||) m.content_digest) END AS recomputed,
           m.erased_at IS NULL AND m.content_digest IS NOT NULL
             AND m.content_digest OPERATOR(pg_catalog.<>) pg_catalog.sha256(@extschema@.decision_erasable(m)) AS content_changed,
           m.erased_at IS NOT NULL
             AND (m.content_digest IS NULL OR m.person_id IS NOT NULL OR m.valid_from IS NOT NULL
                  OR m.valid_until IS NOT NULL OR m.authority IS NOT NULL OR m.reason IS NOT NULL) AS tombstone_holds,
           m.erased_at IS NOT NULL AND l.seq IS NULL AS tombstone_unrecorded,
           pg_catalog.lag(m.entry_hash) OVER (ORDER BY m.chain_seq) AS before_hash,
           pg_catalog.lag(m.chain_seq) OVER (ORDER BY m.chain_seq) AS before_seq
      FROM @extschema@.manual_decision m
      LEFT JOIN listed l ON l.seq OPERATOR(pg_catalog.=) m.chain_seq
  )
  SELECT c.chain_seq, c.id, 'entry changed: its hash does not match its content'
    FROM c WHERE c.recomputed OPERATOR(pg_catalog.<>) c.entry_hash OR c.content_changed
  UNION ALL
  SELECT c.chain_seq, c.id, 'tombstone holds what an erasure removes'
    FROM c WHERE c.tombstone_holds
  UNION ALL
  SELECT c.chain_seq, c.id, 'entry made a tombstone with no erasure on record'
    FROM c WHERE c.tombstone_unrecorded
  UNION ALL
  SELECT c.chain_seq, c.id, 'entry missing before this one'
    FROM c WHERE c.chain_seq OPERATOR(pg_catalog.<>) (COALESCE(c.before_seq, 0) OPERATOR(pg_catalog.+) 1)
  UNION ALL
  SELECT c.chain_seq, c.id, 'link broken: prev_hash is not the hash of the entry before'
    FROM c WHERE c.prev_hash OPERATOR(pg_catalog.<>)
                 COALESCE(c.before_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
  UNION ALL
  SELECT verify_decision_chain.expected_seq, NULL::bigint, 'entries missing at the end: the recorded head is gone'
   WHERE verify_decision_chain.expected_seq IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM @extschema@.manual_decision m
                      WHERE m.chain_seq OPERATOR(pg_catalog.=) verify_decision_chain.expected_seq
                        AND (verify_decision_chain.expected_hash IS NULL
                             OR m.entry_hash OPERATOR(pg_catalog.=) verify_decision_chain.expected_hash))
   ORDER BY 1, 3;
END;
COMMENT ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) IS
  'Checks the manual decisions'' hash chain and returns every problem (an entry changed, missing, or out of its place); empty when intact, erased people''s tombstones included. Given a head recorded earlier (decision_chain_head()), also detects entries removed from the end.';
REVOKE ALL ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) TO healthcode_admin;

CREATE OR REPLACE FUNCTION @extschema@.record_decision(
    person_id bigint,
    kind text,
    reason text,
    authority text,
    colour @extschema@.risk_colour DEFAULT NULL,
    valid_from timestamptz DEFAULT pg_catalog.now(),
    valid_until timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  IF record_decision.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind IS NULL THEN
    RAISE EXCEPTION 'kind must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind NOT IN ('override', 'medical_release', 'appeal_upheld') THEN
    RAISE EXCEPTION 'kind must be override, medical_release or appeal_upheld, not %', quote_literal(@extschema@._shorten(kind))
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  PERFORM @extschema@._require_text(authority, 'authority');
  IF (kind = 'override') <> (colour IS NOT NULL) THEN
    RAISE EXCEPTION 'an override needs a colour; a release takes none' USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_finite(valid_from, 'valid_from');
  IF valid_until IS NOT NULL AND kind <> 'override' THEN
    RAISE EXCEPTION 'valid_until is for an override; a release takes none' USING ERRCODE = '22023';
  END IF;
  IF valid_until <= valid_from THEN
    RAISE EXCEPTION 'valid_until must lie after valid_from' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.manual_decision AS m
         (person_id, region, kind, colour, valid_from, valid_until, authority, reason)
  SELECT p.id, p.region, record_decision.kind, record_decision.colour, record_decision.valid_from,
         record_decision.valid_until, record_decision.authority, record_decision.reason
    FROM (SELECT x.* FROM @extschema@.person x WHERE x.id = record_decision.person_id FOR KEY SHARE) p
   WHERE @extschema@._in_caller_scope(p.region)
  RETURNING m.id INTO id;
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', record_decision.person_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) IS
  'Records a manual decision (override with a colour and validity, medical_release, appeal_upheld): who, why, under which authority. It is evidence: the status follows.';
REVOKE ALL ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) TO healthcode_operator;

-- ---------------------------------------------------------------------------
-- What a DBA watches (issue 17), in one view of numbers: work waiting
-- (audits, findings, corrections, the status work list), the day
-- partitions ahead and behind retention, the exchange's refused rows and
-- each subscription's lag, statuses whose timeline ran out, the code
-- events waiting in shared memory, the daily jobs. Counts only, no
-- person: readable by the admins and by PostgreSQL's pg_monitor role, as
-- whom Prometheus' postgres_exporter connects
-- (tools/prometheus/healthcode.yaml; doc/operations.md).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@._monitoring()
RETURNS TABLE (metric text, label text, value double precision, description text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  today date := (statement_timestamp() AT TIME ZONE 'Asia/Shanghai')::date;
  failed bigint;
BEGIN
  RETURN QUERY
  SELECT x.metric, ''::text, x.value::double precision, x.description FROM (VALUES
    ('declarations_pending_audit', (SELECT count(*) FROM @extschema@.declaration d WHERE d.audited_at IS NULL)::numeric,
     'Declarations the audit has not cross-checked yet.'),
    ('findings_open', (SELECT count(*) FROM @extschema@.audit_finding f WHERE f.status = 'open'),
     'Audit findings waiting for an operator''s review.'),
    ('corrections_pending', (SELECT count(*) FROM @extschema@.correction c WHERE c.decided_at IS NULL),
     'Correction requests waiting for a decision.'),
    ('recalc_changes_pending', (SELECT count(*) FROM @extschema@.recalc_work),
     'Changes on the status work list (recalc_progress).'),
    ('recalc_people_left', (SELECT coalesce(sum(p.people_left), 0) FROM @extschema@._recalc_progress() p),
     'People the work list has yet to recalculate.'),
    ('recalc_oldest_change_seconds',
     (SELECT coalesce(extract(epoch FROM statement_timestamp() - min(w.created_at)), 0) FROM @extschema@.recalc_work w),
     'Age of the oldest change on the work list.'),
    ('recalc_workers', @extschema@._recalc_workers_running(), 'Work list workers running in this database.'),
    ('travel_partition_days_ahead',
     (SELECT coalesce(max(to_date(substr(c.relname, 8), 'YYYYMMDD')) - today, -1)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '@extschema@.travel'::regclass),
     'Days ahead of today (China Standard Time) with their travel partition made (the daily job makes a week).'),
    ('travel_partitions_past_retention',
     (SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '@extschema@.travel'::regclass
         AND to_date(substr(c.relname, 8), 'YYYYMMDD') < @extschema@._travel_first_day()),
     'Travel partitions of days retention should have dropped (apply_retention).'),
    ('statuses_timeline_ended',
     (SELECT count(*) FROM @extschema@.person_status s
       WHERE CASE WHEN jsonb_array_length(s.next) = 0 THEN s.valid_until
                  ELSE (s.next -> -1 ->> 'until')::timestamptz END < statement_timestamp()),
     'Statuses whose timeline ends before now without a recalculation having written a new one (should be 0).'),
    ('exchange_rejects_last_day',
     (SELECT count(*) FROM @extschema@.exchange_reject r WHERE r.received_at > statement_timestamp() - interval '1 day'),
     'Rows from other nodes or peers refused in the last 24 hours (exchange_reject).'),
    ('code_events_waiting', (SELECT count(*) FROM @extschema@._buffered_code_events()),
     'Code events counted in shared memory and not written to code_event yet.'),
    ('rollup_days_behind',
     (SELECT coalesce(today - 1 - max(r.day), -1) FROM @extschema@.daily_rollup r),
     'Days since yesterday without a rollup (0: yesterday rolled up; -1: never).')
  ) AS x(metric, value, description);
  -- each subscription of the national exchange: how long since its publisher's last report
  RETURN QUERY
  SELECT 'replication_lag_seconds', s.subname::text,
         coalesce(extract(epoch FROM statement_timestamp() - max(s.latest_end_time)), -1)::double precision,
         'Seconds since the subscription last heard from its publisher (-1: never).'
    FROM pg_stat_subscription s JOIN @extschema@.peer p ON p.subscription = s.subname
   GROUP BY s.subname;
  -- the other tables partitioned by time (80_retention_partitions.sql),
  -- each its row (a table's partitions and its first day kept read once,
  -- for both)
  RETURN QUERY
  SELECT m.metric, g.tbl, m.value::double precision, m.description
    FROM (SELECT t.tbl, coalesce(max(p.to_day) - 1 - today, -1) AS ahead,
                 count(p.part) FILTER (WHERE p.to_day <= t.first) AS past
            FROM (SELECT x.tbl, @extschema@._first_day_kept(x.tbl) AS first FROM @extschema@._partitioned_by_time() x) t
            LEFT JOIN LATERAL @extschema@._time_partitions_of(t.tbl) p ON true
           GROUP BY t.tbl, t.first) g
   CROSS JOIN LATERAL (VALUES
     ('partition_days_ahead', g.ahead,
      'Days ahead of today (China Standard Time) with their partition of the table (label) made (the daily job makes a week).'),
     ('partitions_past_retention', g.past,
      'Partitions of the table (label) wholly of days retention should have dropped (apply_retention).')) AS m(metric, value, description);
  -- the daily jobs' failures on pg_cron, where it runs in this database
  IF to_regnamespace('cron') IS NOT NULL THEN
    EXECUTE $q$SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                WHERE j.jobname LIKE 'healthcode%' AND d.status = 'failed'
                  AND d.start_time > statement_timestamp() - interval '1 day'$q$ INTO failed;
    RETURN QUERY SELECT 'jobs_failed_last_day', '', failed::double precision,
                        'Daily jobs (schedule_jobs) pg_cron ran and saw fail in the last 24 hours.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._monitoring() IS 'Internal: the rows of monitoring.';
REVOKE ALL ON FUNCTION @extschema@._monitoring() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._monitoring() TO healthcode_admin, pg_monitor;

-- ---------------------------------------------------------------------------
-- Privileges on tables, views and sequences: who may read and write what
-- (the roles are made in 05_roles.sql). Functions are granted where each
-- is defined: every function of the extension is revoked from PUBLIC
-- there, except the pure helpers that read no table (division codes,
-- names, the type's own functions, verify), and granted to exactly the
-- roles that call it. The declared lists beside the tests fail when a
-- function's security (test/pgtap/privileges.sql) or grants
-- (test/pgtap/roles_matrix.sql) differ from them.
--
-- SECURITY DEFINER is declared where each such function is defined, with
-- SET search_path = pg_catalog, pg_temp: the functions an application
-- calls run as the extension's owner (the application has no table access)
-- and check the caller's region scope themselves (_caller(),
-- _in_caller_scope()); the status triggers run as the owner too, so a
-- recalculation always sees a person's whole evidence and may write their
-- status, whoever's statement fired it.
-- ----------------------------------------------------------------------------

-- Grants a role SELECT on a table's columns one by one (all but those
-- left out), which keeps the system columns (ctid, xmin, ...) from it:
-- table-wide SELECT would include them.
CREATE OR REPLACE FUNCTION @extschema@._grant_columns(tbl text, grantee text, left_out text[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format('GRANT SELECT (%s) ON @extschema@.%I TO %I',
                 (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                    FROM pg_attribute a
                   WHERE a.attrelid = format('@extschema@.%I', tbl)::regclass AND a.attnum > 0
                     AND NOT a.attisdropped AND a.attname <> ALL (left_out)),
                 tbl, grantee);
END $$;
COMMENT ON FUNCTION @extschema@._grant_columns(text, text, text[]) IS
  'Internal: grants a role SELECT on every column of a table of this extension but those left out, and so on no system column.';
REVOKE ALL ON FUNCTION @extschema@._grant_columns(text, text, text[]) FROM PUBLIC;

-- ---- end of what tools/update-draft.sh writes

-- ---- code_event partitioned by day, continued: 0.2.0's rows go to the
-- default partition (days made here would be the extension's, and pg_dump
-- would leave them out); the daily job's create_partitions() gives
-- each day its own, in one pass over them. 0.2.0's table is taken out of
-- the extension (which takes it off the tables pg_dump dumps the rows of),
-- then dropped
INSERT INTO @extschema@.code_event SELECT * FROM @extschema@._code_event_0_2_0;
ALTER EXTENSION healthcode DROP TABLE @extschema@._code_event_0_2_0;
DROP TABLE @extschema@._code_event_0_2_0;
-- (into the default partitions, their triggers not fired: no row is new
-- evidence; the months' partitions, made later by create_partitions(), not
-- in this script, are no members of the extension, and pg_dump dumps them)
INSERT INTO @extschema@.status_history_default (id, person_id, region, at, from_colour, to_colour, reasons, cause, recorded_at)
SELECT id, person_id, region, at, from_colour, to_colour, reasons, cause, recorded_at FROM @extschema@._status_history_0_2_0;
INSERT INTO @extschema@.checkin_default (id, person_id, region, at, temperature, symptoms)
SELECT id, person_id, region, at, temperature, symptoms FROM @extschema@._checkin_0_2_0;
INSERT INTO @extschema@.test_result_default (id, person_id, region, kind, sampled_at, result, lab, sample_id, reported_at)
SELECT id, person_id, region, kind, sampled_at, result, lab, sample_id, reported_at FROM @extschema@._test_result_0_2_0;
INSERT INTO @extschema@.test_result_sample (lab, sample_id, person_id)
SELECT lab, sample_id, person_id FROM @extschema@._test_result_0_2_0;
CREATE TRIGGER test_result_samples_inserted AFTER INSERT ON @extschema@.test_result
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
CREATE TRIGGER test_result_samples_updated AFTER UPDATE ON @extschema@.test_result
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
CREATE TRIGGER test_result_samples_deleted AFTER DELETE ON @extschema@.test_result
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
CREATE TRIGGER test_result_samples_truncated AFTER TRUNCATE ON @extschema@.test_result
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
-- (the default partitions' indexes, as each partition has them
-- (_partition_indexes): made once their rows are in)
SELECT @extschema@._index_partition(x.tbl, x.tbl || '_default') FROM @extschema@._partitioned_by_time() x;
ALTER EXTENSION healthcode DROP TABLE @extschema@._status_history_0_2_0;
ALTER EXTENSION healthcode DROP TABLE @extschema@._checkin_0_2_0;
ALTER EXTENSION healthcode DROP TABLE @extschema@._test_result_0_2_0;
DROP TABLE @extschema@._status_history_0_2_0, @extschema@._checkin_0_2_0, @extschema@._test_result_0_2_0;
-- (their columns say what their tables' say, as in a fresh install)
SELECT @extschema@._comment_partition(format('@extschema@.%I', t)::regclass)
  FROM unnest(ARRAY['status_history_default', 'checkin_default', 'test_result_default']) t;
SELECT @extschema@._comment_partition('@extschema@.code_event_default');

-- ---- travel's (place, at) index carries the venue too (64_travel_partitions.sql):
-- the day partitions made by 0.2.0 get theirs rebuilt, one after another
-- (a new one built beside the old, which then goes; a few seconds a million
-- stays)
DO $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT c.relname AS name
             FROM pg_catalog.pg_inherits h
             JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
            WHERE h.inhparent = '@extschema@.travel'::regclass
              AND to_regclass(format('%I.%I', '@extschema@', c.relname || '_place_at')) IS NOT NULL
            ORDER BY c.relname LOOP
    EXECUTE format('CREATE INDEX %I ON %I.%I (place, at) INCLUDE (person_id, id, venue)',
                   p.name || '_place_at_0_3_0', '@extschema@', p.name);
    EXECUTE format('DROP INDEX %I.%I', '@extschema@', p.name || '_place_at');
    EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', '@extschema@', p.name || '_place_at_0_3_0', p.name || '_place_at');
  END LOOP;
END $$;

-- ---- what the functions above replace ----------------------------------------------
-- (after them: _fresh_status and check_consistency, bodies parsed at creation,
-- referred to the old aggregate and _policy_vector until they were replaced)
DROP AGGREGATE @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, bigint[], timestamptz);
DROP FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, bigint[], timestamptz);
DROP FUNCTION @extschema@._status_restayed(bytea, bigint[], timestamptz[], text[], boolean[], bigint[], timestamptz, timestamptz);
DROP FUNCTION @extschema@._policy_vector(text);
DROP FUNCTION @extschema@._timestamptz_us(timestamptz);

-- ---- revocations in the exchange (91_federation_keys.sql, 94_federation_truncate_guard.sql)
ALTER TABLE @extschema@.code_revocation REPLICA IDENTITY FULL;
CREATE TRIGGER revocation_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.code_revocation
  FOR EACH ROW EXECUTE FUNCTION @extschema@._revocation_check();
ALTER TABLE @extschema@.code_revocation ENABLE ALWAYS TRIGGER revocation_check;
ALTER TABLE @extschema@.code_revocation ENABLE ALWAYS TRIGGER code_revocation_changed;
CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.code_revocation
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard();
ALTER TABLE @extschema@.code_revocation ENABLE ALWAYS TRIGGER exchange_truncate_guard;

-- ---- national arrival rules from the hub (94_federation_arrival_rules.sql) ----------
-- (a hub of 0.2.0 published none: on a hub, its national rules so far)
INSERT INTO @extschema@.arrival_rule_exchange (from_region, valid_from, rule)
SELECT a.from_region, a.valid_from, pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.-) 'id'
  FROM @extschema@.arrival_rule a
 WHERE a.region = '000000' AND EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub');
CREATE TRIGGER arrival_rule_to_exchange AFTER INSERT OR UPDATE OR DELETE ON @extschema@.arrival_rule
  FOR EACH ROW EXECUTE FUNCTION @extschema@._arrival_rule_to_exchange();
CREATE TRIGGER national_arrival_rule_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.arrival_rule
  FOR EACH ROW EXECUTE FUNCTION @extschema@._national_arrival_rule_guard();
CREATE TRIGGER arrival_rule_from_exchange BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.arrival_rule_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._arrival_rule_from_exchange();
ALTER TABLE @extschema@.arrival_rule_exchange ENABLE ALWAYS TRIGGER arrival_rule_from_exchange;
CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.arrival_rule_exchange
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard();
ALTER TABLE @extschema@.arrival_rule_exchange ENABLE ALWAYS TRIGGER exchange_truncate_guard;

-- ---- analyst views: one rule for every count (97_analyst.sql) ------------------------
-- (rounded to multiples of the cell size, cells below it left out; the
-- views' functions above no longer call these)
DROP FUNCTION @extschema@.suppress_small_part(bigint, bigint);
DROP FUNCTION @extschema@.suppress_small(bigint);
COMMENT ON VIEW @extschema@.codes_per_day IS 'Codes issued (by the people''s region) and verified (by the checkpoint''s region) per day, colour and outcome: the people who held them and the codes, rounded to multiples of healthcode.min_cell_size; left out when fewer people than the cell size held them (one person''s five codes count once).';
COMMENT ON COLUMN @extschema@.codes_per_day.people IS 'Distinct holders (rounded).';
COMMENT ON COLUMN @extschema@.codes_per_day.codes IS 'Codes (rounded).';
COMMENT ON VIEW @extschema@.decisions_by_operator IS 'Manual decisions per day, region, operator, kind and colour: a run of manual red codes by one operator stands out. Counts rounded to multiples of healthcode.min_cell_size; left out when fewer people than the cell size are concerned.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.people IS 'Distinct people (rounded).';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decisions IS 'Entries (rounded).';
COMMENT ON VIEW @extschema@.findings_per_day IS 'Audit findings by day, region, kind and review status, counting people; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.findings_per_day.people IS 'People with such a finding (rounded).';
COMMENT ON VIEW @extschema@.status_summary IS 'People by region and colour now, within the viewer''s scope; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.status_summary.people IS 'People (rounded to a multiple of the cell size).';
COMMENT ON COLUMN @extschema@.status_summary.vaccinated IS 'Of them, with the vaccinated mark (rounded to a multiple of the cell size: 0 for fewer than half of it).';
COMMENT ON VIEW @extschema@.tests_per_day IS 'Tests per sampling day and region: people tested, people positive, positivity (positive tests / tests, from their rounded counts); counts rounded to multiples of healthcode.min_cell_size, days and regions with fewer people tested left out.';
COMMENT ON COLUMN @extschema@.tests_per_day.positivity IS 'Positive tests / tests, both rounded to multiples of the cell size.';
COMMENT ON VIEW @extschema@.transitions_per_day IS 'Colour changes per day (China Standard Time) and region, from -> to, counting people; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';

-- ---- national retention, continued (55_policy.sql) -----------------------------------
-- (regional versions of 0.2.0 that look back further than the nation allows
-- are left as they are: the check applies to what is written from now on)
CREATE TRIGGER policy_lookback_lock BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.policy
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_guard AFTER INSERT OR UPDATE ON @extschema@.policy
  FOR EACH ROW WHEN (NEW.region <> '000000') EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_recheck_insert AFTER INSERT ON @extschema@.policy
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_recheck_update AFTER UPDATE ON @extschema@.policy
  REFERENCING OLD TABLE AS changed_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();
CREATE TRIGGER policy_lookback_recheck_delete AFTER DELETE ON @extschema@.policy
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_lookback_guard();

-- ---- opaque ids, and no row's place, for the roles row-level security limits ----------
-- (25_pseudonyms.sql, 96_rls.sql, 99_privileges.sql; the ids of 0.2.0 stay:
-- they lie below 2^62, the opaque ones above)
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin',
                           'audit_finding', 'manual_decision', 'person', 'correction', 'status_history'] LOOP
    EXECUTE format('ALTER TABLE @extschema@.%I ALTER COLUMN id SET DEFAULT @extschema@._next_id(%L::regclass)', t,
                   pg_catalog.pg_get_serial_sequence(format('@extschema@.%I', t), 'id'));
  END LOOP;
END $$;
REVOKE USAGE ON SEQUENCE @extschema@.person_id_seq FROM healthcode_admin;
REVOKE USAGE ON SEQUENCE @extschema@.declaration_id_seq, @extschema@.travel_id_seq, @extschema@.test_result_id_seq,
  @extschema@.vaccination_id_seq, @extschema@.contact_id_seq, @extschema@.checkin_id_seq,
  @extschema@.manual_decision_id_seq
FROM healthcode_operator;
REVOKE SELECT ON @extschema@.person, @extschema@.declaration, @extschema@.travel, @extschema@.test_result,
  @extschema@.vaccination, @extschema@.contact, @extschema@.checkin, @extschema@.manual_decision,
  @extschema@.audit_finding, @extschema@.correction, @extschema@.person_status, @extschema@.status_history
FROM healthcode_operator;
SELECT @extschema@._grant_columns(t, 'healthcode_operator',
         CASE t WHEN 'manual_decision' THEN ARRAY['chain_seq', 'prev_hash', 'entry_hash', 'content_digest'] ELSE '{}' END)
  FROM unnest(ARRAY['person', 'declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin',
                    'manual_decision', 'audit_finding', 'correction', 'person_status', 'status_history']) AS t;
REVOKE SELECT ON @extschema@.region_scope
FROM healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;
SELECT @extschema@._grant_columns('region_scope', r, '{}')
  FROM unnest(ARRAY['healthcode_operator', 'healthcode_app', 'healthcode_analyst', 'healthcode_verifier']) AS r;

-- ---- the status work list, continued (66_status_work.sql): current_status
-- computes a person the work list has yet to reach fresh; recalc_progress
CREATE OR REPLACE VIEW @extschema@.current_status WITH (security_invoker = true) AS
SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since,
       (x.v).valid_until
  FROM @extschema@.person_status s
  -- (the work list is asked once a query: nearly always empty)
  CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                  THEN @extschema@._read_status(s, pg_catalog.now())
                                  ELSE @extschema@.status_at(s, pg_catalog.now()) END AS v OFFSET 0) x;
COMMENT ON VIEW @extschema@.current_status IS
  'Every person''s effective status now: the segment of their stored timeline that contains the current time (computed fresh while a change on the work list has yet to recalculate them).';
COMMENT ON COLUMN @extschema@.current_status.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.current_status.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.current_status.colour IS 'The colour now.';
COMMENT ON COLUMN @extschema@.current_status.vaccinated IS 'The "vaccinated" mark now.';
COMMENT ON COLUMN @extschema@.current_status.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.current_status.since IS 'Since when the colour holds.';
CREATE VIEW @extschema@.recalc_progress AS
SELECT f.work_id, f.kind, f.cause, f.created_at, f.listed_at, f.people, f.people_left, f.per_second,
       f.expected_end, f.workers
  FROM @extschema@._recalc_progress() f;
COMMENT ON VIEW @extschema@.recalc_progress IS
  'The status work list: each change still being recalculated, how many people it concerns and has left, the rate since they were listed, when it should be done at that rate, and how many workers run in this database. Empty when nothing is pending.';
COMMENT ON COLUMN @extschema@.recalc_progress.work_id IS 'The change.';
COMMENT ON COLUMN @extschema@.recalc_progress.kind IS 'risk_area, policy, everyone or check.';
COMMENT ON COLUMN @extschema@.recalc_progress.cause IS 'What changed (as status_history records it).';
COMMENT ON COLUMN @extschema@.recalc_progress.created_at IS 'When the change took effect.';
COMMENT ON COLUMN @extschema@.recalc_progress.listed_at IS 'When its people were listed (NULL: not yet).';
COMMENT ON COLUMN @extschema@.recalc_progress.people IS 'People it concerns (NULL until listed).';
COMMENT ON COLUMN @extschema@.recalc_progress.people_left IS 'People not recalculated yet (NULL until listed).';
COMMENT ON COLUMN @extschema@.recalc_progress.per_second IS 'People recalculated a second since they were listed.';
COMMENT ON COLUMN @extschema@.recalc_progress.expected_end IS 'When the last should be done at that rate.';
COMMENT ON COLUMN @extschema@.recalc_progress.workers IS 'Workers running in this database.';
REVOKE ALL ON @extschema@.recalc_progress FROM PUBLIC;
GRANT SELECT ON @extschema@.recalc_progress TO healthcode_admin;

-- ---- the national retention, applied to the stored statuses (80_retention.sql) -------
-- Under 0.2.0 a positive test, a symptom or an abnormal check-in lasted
-- until released; now evidence counts for the national evidence_kept_days
-- at most. Everyone is recalculated: in this statement on a small node, on
-- the work list (the workers, readers right meanwhile) on a large one.
SELECT @extschema@._evidence_lock(true);
SELECT @extschema@._recalc_changed('everyone', NULL, NULL, 'update to 0.3.0: evidence counts for evidence_kept_days');

-- ---- venues: row-level security, opaque ids, grants, dump (as 96_rls.sql,
-- 99_privileges.sql and 95_dump.sql give the regional tables) ------------------------
DO $$
DECLARE
  scoped text := '(SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C")';
BEGIN
  ALTER TABLE @extschema@.venue ENABLE ROW LEVEL SECURITY;
  ALTER TABLE @extschema@.venue FORCE ROW LEVEL SECURITY;
  EXECUTE format('CREATE POLICY scope_select ON @extschema@.venue FOR SELECT USING (%s)', scoped);
  EXECUTE format('CREATE POLICY scope_insert ON @extschema@.venue FOR INSERT WITH CHECK (%s)', scoped);
  EXECUTE format('CREATE POLICY scope_update ON @extschema@.venue FOR UPDATE USING (%s) WITH CHECK (%s)', scoped, scoped);
  EXECUTE format('CREATE POLICY scope_delete ON @extschema@.venue FOR DELETE USING (%s)', scoped);
END $$;
ALTER TABLE @extschema@.venue ALTER COLUMN id SET DEFAULT @extschema@._next_id('@extschema@.venue_id_seq'::regclass);
GRANT SELECT ON @extschema@.venue TO healthcode_admin;
SELECT @extschema@._grant_columns('venue', 'healthcode_operator', '{}');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.venue_id_seq', '');
COMMENT ON SEQUENCE @extschema@.venue_id_seq IS 'Ids of venue rows.';

-- ---- a venue's designation (82_venues.sql) ---------------------------------------
ALTER TABLE @extschema@.risk_area
  ADD CONSTRAINT risk_area_venue_fk FOREIGN KEY (venue) REFERENCES @extschema@.venue (id);
CREATE INDEX risk_area_venue ON @extschema@.risk_area (venue) WHERE venue IS NOT NULL;
CREATE TRIGGER risk_area_venue_place BEFORE INSERT OR UPDATE OF venue, division ON @extschema@.risk_area
  FOR EACH ROW EXECUTE FUNCTION @extschema@._risk_area_venue_place();

-- ---- exposure tracing and scans: the existing day partitions get the indexes
-- the new ones are made with (64_travel_partitions.sql), the repeats of a
-- minute 0.2.0 kept removed first
DO $$
DECLARE
  part record;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '@extschema@.travel'::regclass AND c.relname ~ '^travel_[0-9]{8}$'
  LOOP
    EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %I.%I (venue, place, at) INCLUDE (person_id, region) WHERE source = %L',
                              part.relname || '_venue_at', '@extschema@', part.relname, 'venue_scan');
    -- (a venue scan 0.2.0 kept twice in a minute, a venue's reference in
    -- venue: the earliest stays, as 0.3.0 keeps scans; the repeat changes
    -- no colour, and the triggers recalculate its person all the same)
    EXECUTE pg_catalog.format($q$DELETE FROM %1$I.%2$I t USING %1$I.%2$I u
                                 WHERE t.source = 'venue_scan' AND u.source = 'venue_scan'
                                   AND u.person_id = t.person_id AND u.venue = t.venue AND u.place = t.place
                                   AND pg_catalog.date_trunc('minute', u.at AT TIME ZONE 'UTC')
                                       OPERATOR(pg_catalog.=) pg_catalog.date_trunc('minute', t.at AT TIME ZONE 'UTC')
                                   AND (u.at, u.id) OPERATOR(pg_catalog.<) (t.at, t.id)$q$,
                              '@extschema@', part.relname);
    EXECUTE pg_catalog.format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %I.%I (person_id, venue, place, pg_catalog.date_trunc(%L, at AT TIME ZONE %L)) WHERE source = %L',
                              part.relname || '_scan_minute', '@extschema@', part.relname, 'minute', 'UTC', 'venue_scan');
  END LOOP;
END $$;

-- ---- pharmacy registration, continued: as 63_status_triggers.sql, 96_rls.sql,
-- 99_privileges.sql and 95_dump.sql set up every evidence table
ALTER TABLE @extschema@.medicine_sale
  ADD CONSTRAINT medicine_sale_venue_fk FOREIGN KEY (venue) REFERENCES @extschema@.venue (id);
CREATE TRIGGER medicine_sale_venue BEFORE INSERT OR UPDATE OF venue, place ON @extschema@.medicine_sale
  FOR EACH ROW EXECUTE FUNCTION @extschema@._medicine_sale_venue();
CREATE TRIGGER medicine_sale_inserted AFTER INSERT ON @extschema@.medicine_sale REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._evidence_changed('sold_at', '');
CREATE TRIGGER medicine_sale_updated AFTER UPDATE ON @extschema@.medicine_sale
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._evidence_changed('sold_at', '');
CREATE TRIGGER medicine_sale_deleted AFTER DELETE ON @extschema@.medicine_sale REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._evidence_changed('sold_at', '');
CREATE TRIGGER medicine_sale_truncated AFTER TRUNCATE ON @extschema@.medicine_sale
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._evidence_changed('sold_at', '');
ALTER TABLE @extschema@.medicine_sale ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.medicine_sale FORCE ROW LEVEL SECURITY;
CREATE POLICY scope_select ON @extschema@.medicine_sale FOR SELECT
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_insert ON @extschema@.medicine_sale FOR INSERT
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_update ON @extschema@.medicine_sale FOR UPDATE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"))
  WITH CHECK ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
CREATE POLICY scope_delete ON @extschema@.medicine_sale FOR DELETE
  USING ((SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C"));
ALTER TABLE @extschema@.medicine_sale
  ALTER COLUMN id SET DEFAULT @extschema@._next_id('@extschema@.medicine_sale_id_seq'::regclass);
GRANT SELECT ON @extschema@.medicine_sale TO healthcode_admin;
GRANT INSERT, UPDATE, DELETE ON @extschema@.medicine_sale TO healthcode_admin, healthcode_operator;
SELECT @extschema@._grant_columns('medicine_sale', 'healthcode_operator', '{}');
REVOKE ALL ON SEQUENCE @extschema@.medicine_sale_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.medicine_sale', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.medicine_sale_id_seq', '');
COMMENT ON SEQUENCE @extschema@.medicine_sale_id_seq IS 'Ids of medicine_sale rows.';

-- ---- exposure notices, continued (94_federation_exposures.sql,
-- 94_federation_truncate_guard.sql)
CREATE TRIGGER exposure_notice_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.exposure_notice
  FOR EACH ROW EXECUTE FUNCTION @extschema@._exposure_notice_check();
ALTER TABLE @extschema@.exposure_notice ENABLE ALWAYS TRIGGER exposure_notice_check;
CREATE TRIGGER exposure_notice_arrived AFTER INSERT ON @extschema@.exposure_notice
  FOR EACH ROW EXECUTE FUNCTION @extschema@._exposure_notice_arrived();
ALTER TABLE @extschema@.exposure_notice ENABLE ALWAYS TRIGGER exposure_notice_arrived;
CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.exposure_notice
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard();
ALTER TABLE @extschema@.exposure_notice ENABLE ALWAYS TRIGGER exchange_truncate_guard;
CREATE TRIGGER venue_closure_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.venue_closure
  FOR EACH ROW EXECUTE FUNCTION @extschema@._venue_closure_check();
ALTER TABLE @extschema@.venue_closure ENABLE ALWAYS TRIGGER venue_closure_check;
CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.venue_closure
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard();
ALTER TABLE @extschema@.venue_closure ENABLE ALWAYS TRIGGER exchange_truncate_guard;

-- ---- identity checks: opaque ids (94_holder_checks.sql) --------------------------
ALTER TABLE @extschema@.holder_check
  ALTER COLUMN id SET DEFAULT @extschema@._next_id('@extschema@.holder_check_id_seq'::regclass);

-- ---- proxies: row-level security, opaque ids, grants, dump (79_proxies.sql; as
-- 96_rls.sql, 99_privileges.sql and 95_dump.sql give the personal tables)
DO $$
DECLARE
  t text;
  scoped text := '(SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C")';
  scoped_here text;
BEGIN
  FOREACH t IN ARRAY ARRAY['guardian_link', 'proxy_action'] LOOP
    scoped_here := scoped || ' AND ' || replace(scoped, 'region', 'guardian_region');
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY scope_select ON @extschema@.%I FOR SELECT USING (%s)', t, scoped_here);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t, scoped_here);
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t,
                   scoped_here, scoped_here);
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t, scoped_here);
    EXECUTE format('ALTER TABLE @extschema@.%I ALTER COLUMN id SET DEFAULT @extschema@._next_id(%L::regclass)', t,
                   format('@extschema@.%I', t || '_id_seq'));
    EXECUTE format('GRANT SELECT ON @extschema@.%I TO healthcode_admin', t);
    PERFORM @extschema@._grant_columns(t, 'healthcode_operator', '{}');
    PERFORM pg_catalog.pg_extension_config_dump(format('@extschema@.%I', t)::regclass, '');
    PERFORM pg_catalog.pg_extension_config_dump(format('@extschema@.%I', t || '_id_seq')::regclass, '');
    EXECUTE format('COMMENT ON SEQUENCE @extschema@.%I IS %L', t || '_id_seq', format('Ids of %s rows.', t));
  END LOOP;
END $$;

-- ---- the division names each backend caches (43_division_names.sql) -------------
CREATE TRIGGER division_name_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.division_name
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();

-- ---- shared health data, continued (94_federation_peers.sql,
-- 94_federation_truncate_guard.sql)
CREATE TRIGGER health_share_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.health_share
  FOR EACH ROW WHEN (NOT @extschema@._peer_bulk()) EXECUTE FUNCTION @extschema@._health_share_check();
ALTER TABLE @extschema@.health_share ENABLE ALWAYS TRIGGER health_share_check;
CREATE TRIGGER health_share_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.health_share
  FOR EACH ROW WHEN (NOT @extschema@._peer_bulk()) EXECUTE FUNCTION @extschema@._health_share_changed();
ALTER TABLE @extschema@.health_share ENABLE ALWAYS TRIGGER health_share_changed;
CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.health_share
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard();
ALTER TABLE @extschema@.health_share ENABLE ALWAYS TRIGGER exchange_truncate_guard;
CREATE TRIGGER shared_evidence_truncated AFTER TRUNCATE ON @extschema@.red_push
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._shared_evidence_truncated();
CREATE TRIGGER shared_evidence_truncated AFTER TRUNCATE ON @extschema@.health_share
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._shared_evidence_truncated();

-- ---- trends and totals that add up (97_analyst_trends.sql, 99_privileges.sql)
CREATE VIEW @extschema@.trends WITH (security_barrier) AS
SELECT f.day, f.measure, f.level, f.region, f.dim1, f.dim2, f.dim3, f.people, f.events FROM @extschema@._trends() f;
COMMENT ON VIEW @extschema@.trends IS
  'Daily series by region at the district, city, province and nation, for the regions the viewer acts for whole, from daily_rollup (the days rollup_day wrote). Totals are computed before anything is left out, so a district left out still counts in its city; counts are rounded to multiples of healthcode.min_cell_size and cells below it left out. Measures: status (people by colour at the day''s end, dim1 colour, dim2 the rule of their first reason: how many were red because of a high-risk stay), transition (dim1 from colour, '''' for a first status; dim2 to colour), test (dim1 '''' for all tests, positive for the positive; people tested and tests: positivity is events of positive over events of all), code (dim1 issued or verified, dim2 the code''s region: visitors'' flows; dim3 outcome; people are holders), finding (dim1 kind, dim2 status), correction (dim1 requested or decided, dim2 evidence table, dim3 decision), decision (dim1 kind, dim2 colour, dim3 the operator).';
COMMENT ON COLUMN @extschema@.trends.day IS 'Calendar day (China Standard Time).';
COMMENT ON COLUMN @extschema@.trends.measure IS 'status, transition, test, code, finding, correction or decision.';
COMMENT ON COLUMN @extschema@.trends.level IS 'district, city, province or nation.';
COMMENT ON COLUMN @extschema@.trends.region IS 'The division code at that level.';
COMMENT ON COLUMN @extschema@.trends.dim1 IS 'First dimension (see the view).';
COMMENT ON COLUMN @extschema@.trends.dim2 IS 'Second dimension.';
COMMENT ON COLUMN @extschema@.trends.dim3 IS 'Third dimension.';
COMMENT ON COLUMN @extschema@.trends.people IS 'Distinct people (rounded).';
COMMENT ON COLUMN @extschema@.trends.events IS 'Rows counted: tests, codes, decisions (rounded).';
CREATE VIEW @extschema@.status_totals WITH (security_barrier) AS
SELECT f.level, f.region, f.colour, f.people FROM @extschema@._status_totals() f;
COMMENT ON VIEW @extschema@.status_totals IS
  'People by colour now at the district, city, province and nation, for the regions the viewer acts for whole: totals computed before anything is left out (a district left out still counts in its city), then rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.status_totals.level IS 'district, city, province or nation.';
COMMENT ON COLUMN @extschema@.status_totals.region IS 'The division code at that level.';
COMMENT ON COLUMN @extschema@.status_totals.colour IS 'Colour now.';
COMMENT ON COLUMN @extschema@.status_totals.people IS 'People (rounded).';
GRANT SELECT ON @extschema@.trends, @extschema@.status_totals TO healthcode_admin;
GRANT SELECT ON @extschema@.trends, @extschema@.status_totals TO healthcode_analyst;

-- ---- exposure by risk area (97_analyst_trends.sql, 99_privileges.sql)
CREATE VIEW @extschema@.exposure_by_area WITH (security_barrier) AS
SELECT f.risk_area, f.division, f.venue, f.area_level, f.bulletin, f.region, f.colour, f.people
  FROM @extschema@._exposure_by_area() f;
COMMENT ON VIEW @extschema@.exposure_by_area IS
  'Per medium- or high-risk designation in force within the window (the national lookback): the people of the viewer''s regions with a stay there while it was in force, by home region and colour now; counts rounded to multiples of healthcode.min_cell_size, cells below it left out.';
COMMENT ON COLUMN @extschema@.exposure_by_area.risk_area IS 'The designation (risk_area.id).';
COMMENT ON COLUMN @extschema@.exposure_by_area.division IS 'The place it designates.';
COMMENT ON COLUMN @extschema@.exposure_by_area.venue IS 'The venue it designates, if one.';
COMMENT ON COLUMN @extschema@.exposure_by_area.area_level IS 'medium or high.';
COMMENT ON COLUMN @extschema@.exposure_by_area.bulletin IS 'The bulletin that designated it.';
COMMENT ON COLUMN @extschema@.exposure_by_area.region IS 'Home region of the people with a stay there.';
COMMENT ON COLUMN @extschema@.exposure_by_area.colour IS 'Their colour now.';
COMMENT ON COLUMN @extschema@.exposure_by_area.people IS 'People (rounded).';
GRANT SELECT ON @extschema@.exposure_by_area TO healthcode_admin;
GRANT SELECT ON @extschema@.exposure_by_area TO healthcode_analyst;

-- ---- what a DBA watches (98_monitoring.sql)
CREATE VIEW @extschema@.monitoring AS
SELECT f.metric, f.label, f.value, f.description FROM @extschema@._monitoring() f;
COMMENT ON VIEW @extschema@.monitoring IS
  'What a DBA watches, as numbers: audits, findings and corrections waiting; the status work list; travel''s and the other tables'' partitions ahead and behind retention (label: the table); statuses whose timeline ran out; refused exchange rows and each subscription''s lag (label: the subscription); code events waiting in shared memory; rollup and daily jobs. Counts only: the admins and pg_monitor (postgres_exporter, tools/prometheus/healthcode.yaml) read it.';
COMMENT ON COLUMN @extschema@.monitoring.metric IS 'What is measured.';
COMMENT ON COLUMN @extschema@.monitoring.label IS 'The subscription, for replication_lag_seconds; the table, for partition_days_ahead and partitions_past_retention; else empty.';
COMMENT ON COLUMN @extschema@.monitoring.value IS 'Its value now.';
COMMENT ON COLUMN @extschema@.monitoring.description IS 'What it means.';
REVOKE ALL ON @extschema@.monitoring FROM PUBLIC;
GRANT SELECT ON @extschema@.monitoring TO healthcode_admin, pg_monitor;

-- ---- row-level security's policies anew, with the extension's @>
-- (96_rls.sql): every scope policy of every table, 0.2.0's and this
-- update's
DO $$
DECLARE
  p record;
  expr text;
BEGIN
  FOR p IN
    SELECT c.relname, pol.polname, pol.polcmd,
           COALESCE((SELECT e.scope_column FROM @extschema@.evidence_table e WHERE e.name = c.relname AND e.public_rows),
                    'region') AS col
      FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
     WHERE c.relnamespace = '@extschema@'::regnamespace AND pol.polname LIKE 'scope\_%'
  LOOP
    expr := pg_catalog.format('(SELECT @extschema@._rls_scope()) OPERATOR(@extschema@.@>) (%I COLLATE "C")', p.col)
            || CASE WHEN p.relname IN ('guardian_link', 'proxy_action')
                    THEN ' AND (SELECT @extschema@._rls_scope()) OPERATOR(@extschema@.@>) (guardian_region COLLATE "C")'
                    ELSE '' END;
    IF p.polcmd IN ('r', 'd') THEN
      EXECUTE pg_catalog.format('ALTER POLICY %I ON @extschema@.%I USING (%s)', p.polname, p.relname, expr);
    ELSIF p.polcmd = 'a' THEN
      EXECUTE pg_catalog.format('ALTER POLICY %I ON @extschema@.%I WITH CHECK (%s)', p.polname, p.relname, expr);
    ELSE
      EXECUTE pg_catalog.format('ALTER POLICY %I ON @extschema@.%I USING (%s) WITH CHECK (%s)', p.polname, p.relname,
                                expr, expr);
    END IF;
  END LOOP;
END $$;
