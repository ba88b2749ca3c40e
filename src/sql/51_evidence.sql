-- ---------------------------------------------------------------------------
-- People and evidence. Every row carries its region (the person's home
-- division code), which row-level security keys on. Evidence rows refer to
-- their person by (person_id, region), so a row can never claim another
-- region than its person's, and a person moving region carries their
-- evidence along (ON UPDATE CASCADE).
--
-- Natural keys make imports idempotent: re-running an import with
-- INSERT ... ON CONFLICT DO NOTHING (what the import_* functions do)
-- changes nothing, fires no recalculation and writes no history. A key that
-- holds a person holds their region too (always the person's, by the
-- foreign key): a unique index is checked before the foreign key, so
-- without it an operator could probe another region's person's rows (their
-- doses, check-in days) by inserting rows under its own region.
-- ---------------------------------------------------------------------------

-- The columns every evidence table shares: id, person, region.
-- (Written out per table: CREATE TABLE ... (LIKE) would not carry the FK.)

CREATE FUNCTION @extschema@.symptoms_known(symptoms text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN symptoms OPERATOR(pg_catalog.<@) ARRAY['fever', 'cough', 'sore_throat', 'fatigue', 'shortness_of_breath',
                                               'loss_of_taste_or_smell', 'diarrhoea', 'muscle_pain', 'headache']
       AND pg_catalog.array_position(symptoms, NULL) IS NULL;
COMMENT ON FUNCTION @extschema@.symptoms_known(text[]) IS
  'True when every symptom is in the vocabulary: fever, cough, sore_throat, fatigue, shortness_of_breath, loss_of_taste_or_smell, diarrhoea, muscle_pain, headache.';

CREATE TABLE @extschema@.declaration (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  declared_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT declared_at_is_finite CHECK (pg_catalog.isfinite(declared_at)),
  symptoms      text[] NOT NULL DEFAULT '{}'
                CONSTRAINT symptoms_are_known
                CHECK (@extschema@.symptoms_known(symptoms)),
  temperature   numeric
                CONSTRAINT temperature_is_plausible CHECK (temperature BETWEEN 34.0 AND 43.0)
                CONSTRAINT temperature_in_tenths CHECK (temperature = pg_catalog.round(temperature, 1)),
  visited       text[] NOT NULL DEFAULT '{}'
                CONSTRAINT visited_are_division_codes
                CHECK (@extschema@.division_codes_valid(visited)),
  contact_with_case boolean NOT NULL DEFAULT false,
  audited_at    timestamptz,
  CONSTRAINT declaration_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT declaration_natural_key UNIQUE (person_id, region, declared_at),
  CONSTRAINT declaration_id_person_key UNIQUE (id, person_id)
);
CREATE INDEX declaration_pending ON @extschema@.declaration (declared_at) WHERE audited_at IS NULL;
-- Retention removes old rows by their time (80_retention.sql): a block
-- range index, as rows arrive roughly in time order, costs imports almost
-- nothing and finds a day's rows. (The same on each table below.)
CREATE INDEX declaration_declared_at ON @extschema@.declaration USING brin (declared_at);
COMMENT ON TABLE @extschema@.declaration IS
  'Health-information declarations (GB/T 38963 interface 1): symptoms, temperature, places visited in the lookback window, contact with a case.';
COMMENT ON COLUMN @extschema@.declaration.id IS 'Declaration id.';
COMMENT ON COLUMN @extschema@.declaration.person_id IS 'The declaring person.';
COMMENT ON COLUMN @extschema@.declaration.region IS 'The person''s home region (kept equal to person.region by the foreign key).';
COMMENT ON COLUMN @extschema@.declaration.declared_at IS 'When the declaration was made.';
COMMENT ON COLUMN @extschema@.declaration.symptoms IS 'Declared symptoms, from a fixed vocabulary; any makes yellow when the policy says so.';
COMMENT ON COLUMN @extschema@.declaration.temperature IS 'Declared temperature in degrees Celsius, 34.0-43.0, in tenths (as thermometers show it).';
COMMENT ON COLUMN @extschema@.declaration.visited IS 'Division codes the person says they visited within the lookback window; the audit compares them with imported itineraries.';
COMMENT ON COLUMN @extschema@.declaration.contact_with_case IS 'The person declares contact with a confirmed or suspected case (yellow until traced).';
COMMENT ON COLUMN @extschema@.declaration.audited_at IS 'When the background audit cross-checked this declaration; NULL while pending.';

CREATE SEQUENCE @extschema@.travel_id_seq;
COMMENT ON SEQUENCE @extschema@.travel_id_seq IS 'Ids of travel records.';
CREATE TABLE @extschema@.travel (
  id            bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.travel_id_seq'),
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  place         text NOT NULL
                CONSTRAINT place_is_place_code CHECK (@extschema@.place_code_valid(place)),
  at            timestamptz NOT NULL
                CONSTRAINT at_is_finite CHECK (pg_catalog.isfinite(at)),
  source        text NOT NULL
                CONSTRAINT source_is_known
                CHECK (source IN ('telecom', 'transport', 'venue_scan', 'declared')),
  venue         text,
  recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT travel_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
) PARTITION BY RANGE (at);
ALTER SEQUENCE @extschema@.travel_id_seq OWNED BY @extschema@.travel.id;
-- The indexes, the natural key (person_id, region, at, place, source) among them,
-- are made on each day partition by create_travel_partitions(), not on the
-- parent: the parent belongs to the extension, so pg_dump would not dump
-- its indexes, and a restore would build every partition's twice. The key
-- includes the partition key, so unique per partition is unique overall;
-- INSERT ... ON CONFLICT DO NOTHING (no target) checks it.
COMMENT ON TABLE @extschema@.travel IS
  'Where people were and when: telecom itinerary, transport, venue scans and declared trips. Partitioned by day (China Standard Time); see create_travel_partitions() and drop_expired_travel_partitions().';
COMMENT ON COLUMN @extschema@.travel.id IS 'Record id (unique by its sequence; the partitioned table''s keys must include at).';
COMMENT ON COLUMN @extschema@.travel.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.travel.region IS 'The person''s home region (not the place).';
COMMENT ON COLUMN @extschema@.travel.place IS 'The place stayed in: a division code, or below the county a township (9 digits) or village or community (12).';
COMMENT ON COLUMN @extschema@.travel.at IS 'When the person was there.';
COMMENT ON COLUMN @extschema@.travel.source IS 'telecom (itinerary), transport, venue_scan or declared (trip declaration).';
COMMENT ON COLUMN @extschema@.travel.venue IS 'The venue''s id, for venue scans (a designation of the venue covers the stay).';
COMMENT ON COLUMN @extschema@.travel.recorded_at IS 'When the record was imported.';

CREATE TABLE @extschema@.test_result (
  id            bigserial,
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
SELECT @extschema@._index_partition('test_result', 'test_result_default');
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

-- Each lab's sample once, whatever month it was sampled in: test_result's
-- key (lab, sample_id) can be only each month partition's (a partitioned
-- table's unique key must hold its partition column), so the key across
-- months is kept here, by the table's statement triggers, for every writer
-- (imports, direct writes, a region adopted from another node), at any
-- isolation level (a unique index sees what committed after a snapshot).
-- No person, no result: the owner's alone.
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

CREATE FUNCTION @extschema@._test_result_samples() RETURNS trigger
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
CREATE TRIGGER test_result_samples_inserted AFTER INSERT ON @extschema@.test_result
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
CREATE TRIGGER test_result_samples_updated AFTER UPDATE ON @extschema@.test_result
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
CREATE TRIGGER test_result_samples_deleted AFTER DELETE ON @extschema@.test_result
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();
CREATE TRIGGER test_result_samples_truncated AFTER TRUNCATE ON @extschema@.test_result
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._test_result_samples();

CREATE TABLE @extschema@.vaccination (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  dose          integer NOT NULL CONSTRAINT dose_is_between_1_and_10 CHECK (dose BETWEEN 1 AND 10),
  given_at      timestamptz NOT NULL CONSTRAINT given_at_is_finite CHECK (pg_catalog.isfinite(given_at)),
  product       text,
  CONSTRAINT vaccination_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT vaccination_natural_key UNIQUE (person_id, region, dose)
);
COMMENT ON TABLE @extschema@.vaccination IS
  'Vaccination doses. Shown on a code as the "vaccinated" mark (policy vaccinated_min_doses), never as a colour.';
COMMENT ON COLUMN @extschema@.vaccination.id IS 'Dose record id.';
COMMENT ON COLUMN @extschema@.vaccination.person_id IS 'The person vaccinated.';
COMMENT ON COLUMN @extschema@.vaccination.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.vaccination.dose IS 'Dose number, 1-10.';
COMMENT ON COLUMN @extschema@.vaccination.given_at IS 'When the dose was given.';
COMMENT ON COLUMN @extschema@.vaccination.product IS 'The vaccine.';

CREATE TABLE @extschema@.contact (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('close', 'secondary')),
  exposure_at   timestamptz NOT NULL CONSTRAINT exposure_at_is_finite CHECK (pg_catalog.isfinite(exposure_at)),
  source_case   text NOT NULL CONSTRAINT source_case_is_named CHECK (pg_catalog.length(source_case) > 0),
  CONSTRAINT contact_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT contact_natural_key UNIQUE (person_id, region, source_case, kind, exposure_at)
);
CREATE INDEX contact_person ON @extschema@.contact (person_id, exposure_at);
CREATE INDEX contact_exposure_at ON @extschema@.contact USING brin (exposure_at);
COMMENT ON TABLE @extschema@.contact IS
  'Contact-tracing lists: close contacts (red) and secondary contacts (yellow) of a case, with the exposure time.';
COMMENT ON COLUMN @extschema@.contact.id IS 'Contact record id.';
COMMENT ON COLUMN @extschema@.contact.person_id IS 'The contact.';
COMMENT ON COLUMN @extschema@.contact.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.contact.kind IS 'close or secondary.';
COMMENT ON COLUMN @extschema@.contact.exposure_at IS 'When the exposure happened: the window counts from here.';
COMMENT ON COLUMN @extschema@.contact.source_case IS 'The tracing team''s reference of the case (never an identifier).';

CREATE TABLE @extschema@.checkin (
  id            bigserial,
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
SELECT @extschema@._index_partition('checkin', 'checkin_default');
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

-- Sales of fever, cough, antiviral and antibiotic medicines a pharmacy
-- registers (药品登记, 86_pharmacy.sql): the venue (its foreign key in
-- 82_venues.sql) and its place, copied at the sale, so that the engine reads
-- them with the sale.
-- The words a sale's medicine is one of, in one place (the table's check
-- and register_medicine_sale's message read them; the engine numbers them
-- in this order: hc_medicine, src/hc_status.h).
CREATE FUNCTION @extschema@._medicines() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['antipyretic', 'cough', 'antiviral', 'antibiotic'];
COMMENT ON FUNCTION @extschema@._medicines() IS
  'Internal: the medicines a pharmacy registers (medicine_sale.medicine), in the engine''s order.';
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

CREATE TABLE @extschema@.risk_area (
  id            bigserial PRIMARY KEY,
  division      text NOT NULL
                CONSTRAINT division_is_place_code CHECK (@extschema@.place_code_valid(division)),
  level         text NOT NULL CONSTRAINT level_is_known CHECK (level IN ('low', 'medium', 'high')),
  effective_from timestamptz NOT NULL
                CONSTRAINT effective_from_is_finite CHECK (pg_catalog.isfinite(effective_from)),
  effective_until timestamptz,
  bulletin      text,
  -- (a venue's designation: the venue's own stays only, 82_venues.sql)
  venue         bigint,
  CONSTRAINT effective_until_after_from CHECK (effective_until > effective_from),
  CONSTRAINT risk_area_natural_key UNIQUE NULLS NOT DISTINCT (division, venue, effective_from)
);
CREATE INDEX risk_area_division ON @extschema@.risk_area (division);
COMMENT ON TABLE @extschema@.risk_area IS
  'Risk-area bulletins: a division (and every division below it) is low, medium or high risk over [effective_from, effective_until). A stay counts by the level in force when it happened; overlapping bulletins take the highest level.';
COMMENT ON COLUMN @extschema@.risk_area.id IS 'Bulletin row id.';
COMMENT ON COLUMN @extschema@.risk_area.division IS 'The place the bulletin names, at any level (province to community: a place code); it covers the places below it. For a venue''s designation, the venue''s place.';
COMMENT ON COLUMN @extschema@.risk_area.level IS 'low, medium (stays give yellow) or high (stays give red).';
COMMENT ON COLUMN @extschema@.risk_area.effective_from IS 'Start of the designation (may lie before the bulletin''s publication).';
COMMENT ON COLUMN @extschema@.risk_area.effective_until IS 'End of the designation; NULL while it lasts. Downgrading an area sets this.';
COMMENT ON COLUMN @extschema@.risk_area.bulletin IS 'The bulletin''s reference or text.';
COMMENT ON COLUMN @extschema@.risk_area.venue IS 'A single venue the bulletin names (a building, a market): only stays scanned at it are covered; NULL for a place''s designation.';

CREATE TABLE @extschema@.manual_decision (
  id            bigserial PRIMARY KEY,
  -- (NULL, with validity, authority and reason, once the person is erased:
  -- the entry stays in the chain as a tombstone, 95_erasure.sql)
  person_id     bigint,
  region        text NOT NULL,
  kind          text NOT NULL
                CONSTRAINT kind_is_known CHECK (kind IN ('override', 'medical_release', 'appeal_upheld')),
  colour        @extschema@.risk_colour,
  valid_from    timestamptz DEFAULT pg_catalog.now()
                CONSTRAINT valid_from_is_finite CHECK (pg_catalog.isfinite(valid_from)),
  valid_until   timestamptz,
  decided_by    text NOT NULL DEFAULT CURRENT_USER,
  authority     text CONSTRAINT authority_is_named CHECK (pg_catalog.length(pg_catalog.btrim(authority)) > 0),
  reason        text CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  decided_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- the hash chain (98_decisions.sql)
  chain_seq     bigint NOT NULL CONSTRAINT manual_decision_chain_seq_key UNIQUE,
  prev_hash     bytea NOT NULL,
  entry_hash    bytea NOT NULL,
  -- (0.3.0: the entry's content digest, which entry_hash covers, so that an
  -- erased entry's chain still verifies; NULL for entries of 0.2.0, whose
  -- hash covers the content itself)
  content_digest bytea CONSTRAINT content_digest_is_32_bytes CHECK (pg_catalog.length(content_digest) = 32),
  erased_at     timestamptz,
  CONSTRAINT whole_or_erased CHECK (
    CASE WHEN erased_at IS NULL
         THEN person_id IS NOT NULL AND valid_from IS NOT NULL AND authority IS NOT NULL AND reason IS NOT NULL
         ELSE person_id IS NULL AND valid_from IS NULL AND valid_until IS NULL AND authority IS NULL
              AND reason IS NULL AND content_digest IS NOT NULL END),
  -- a person with decisions is never deleted: the record is the point (an
  -- erasure makes their entries tombstones first, 95_erasure.sql)
  CONSTRAINT manual_decision_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT colour_only_for_override CHECK ((kind = 'override') = (colour IS NOT NULL)),
  CONSTRAINT valid_until_only_for_override CHECK (kind = 'override' OR valid_until IS NULL),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from)
);
CREATE INDEX manual_decision_person ON @extschema@.manual_decision (person_id);
COMMENT ON TABLE @extschema@.manual_decision IS
  'Manual decisions are evidence too, never a silent edit: override (a colour over [valid_from, valid_until)), medical_release and appeal_upheld (end every trigger that started before valid_from). Who, under which authority, why.';
COMMENT ON COLUMN @extschema@.manual_decision.id IS 'Decision id.';
COMMENT ON COLUMN @extschema@.manual_decision.person_id IS 'The person decided about (NULL once erased).';
COMMENT ON COLUMN @extschema@.manual_decision.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.manual_decision.kind IS 'override, medical_release or appeal_upheld.';
COMMENT ON COLUMN @extschema@.manual_decision.colour IS 'The colour an override sets; NULL for releases.';
COMMENT ON COLUMN @extschema@.manual_decision.valid_from IS 'When the decision takes effect.';
COMMENT ON COLUMN @extschema@.manual_decision.valid_until IS 'When an override ends; NULL: until further notice.';
COMMENT ON COLUMN @extschema@.manual_decision.decided_by IS 'The database role that recorded it.';
COMMENT ON COLUMN @extschema@.manual_decision.authority IS 'The authority under which it was taken (e.g. the epidemic prevention headquarters'' order number).';
COMMENT ON COLUMN @extschema@.manual_decision.reason IS 'Why: required, never empty.';
COMMENT ON COLUMN @extschema@.manual_decision.decided_at IS 'When it was recorded.';
COMMENT ON COLUMN @extschema@.manual_decision.chain_seq IS 'Position in the hash chain (1, 2, ...).';
COMMENT ON COLUMN @extschema@.manual_decision.prev_hash IS 'entry_hash of the entry before (32 zero bytes for the first).';
COMMENT ON COLUMN @extschema@.manual_decision.entry_hash IS 'SHA-256 of prev_hash, the part an erasure keeps (decision_kept()) and content_digest (entries of 0.2.0: of prev_hash and the whole content, decision_content()).';
COMMENT ON COLUMN @extschema@.manual_decision.content_digest IS 'SHA-256 of the part an erasure removes (decision_erasable()), kept when the person is erased; NULL for entries recorded under 0.2.0.';
COMMENT ON COLUMN @extschema@.manual_decision.erased_at IS 'When the person was erased (erase_person, purge_region): the entry is a tombstone, its person, validity, authority and reason gone, its place in the chain kept.';

CREATE TABLE @extschema@.audit_finding (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  declaration_id bigint NOT NULL,
  kind          text NOT NULL
                CONSTRAINT kind_is_known
                CHECK (kind IN ('undeclared_risk_stay', 'undeclared_contact', 'undeclared_fever')),
  detail        jsonb NOT NULL,
  found_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT found_at_is_finite CHECK (pg_catalog.isfinite(found_at)),
  status        text NOT NULL DEFAULT 'open'
                CONSTRAINT status_is_known CHECK (status IN ('open', 'confirmed', 'dismissed')),
  reviewed_by   text,
  reviewed_at   timestamptz,
  review_reason text,
  CONSTRAINT audit_finding_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT audit_finding_declaration_fk FOREIGN KEY (declaration_id, person_id)
    REFERENCES @extschema@.declaration (id, person_id) ON DELETE CASCADE,
  CONSTRAINT audit_finding_natural_key UNIQUE (declaration_id, kind),
  CONSTRAINT review_is_complete
    CHECK ((status = 'open') = (reviewed_at IS NULL)
           AND (status = 'open' OR (reviewed_by IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(review_reason)) > 0)))
);
CREATE INDEX audit_finding_person ON @extschema@.audit_finding (person_id);
CREATE INDEX audit_finding_found_at ON @extschema@.audit_finding USING brin (found_at);
COMMENT ON TABLE @extschema@.audit_finding IS
  'What the background audit found: a declaration contradicted by imported data. Open and confirmed findings make yellow for the lookback window; a dismissed one counts for nothing.';
COMMENT ON COLUMN @extschema@.audit_finding.id IS 'Finding id.';
COMMENT ON COLUMN @extschema@.audit_finding.person_id IS 'The declaring person.';
COMMENT ON COLUMN @extschema@.audit_finding.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.audit_finding.declaration_id IS 'The declaration found inconsistent.';
COMMENT ON COLUMN @extschema@.audit_finding.kind IS 'undeclared_risk_stay (itinerary shows a risk-area stay the declaration left out), undeclared_contact (the tracing list names the person), undeclared_fever (a check-in shows fever the declaration denied).';
COMMENT ON COLUMN @extschema@.audit_finding.detail IS 'The evidence behind the finding (record ids, places, times).';
COMMENT ON COLUMN @extschema@.audit_finding.found_at IS 'When the audit found it.';
COMMENT ON COLUMN @extschema@.audit_finding.status IS 'open, confirmed or dismissed (by an operator, with a reason).';
COMMENT ON COLUMN @extschema@.audit_finding.reviewed_by IS 'The operator role that reviewed it.';
COMMENT ON COLUMN @extschema@.audit_finding.reviewed_at IS 'When it was reviewed.';
COMMENT ON COLUMN @extschema@.audit_finding.review_reason IS 'Why it was confirmed or dismissed.';

-- Reds decided in a region, pushed to every other one through the hub
-- (92_federation_status.sql): a node's own rows are those of its people, the
-- others arrive by logical replication. A person registered here with the
-- same national pseudonym is red for as long as the pushing region says.
CREATE TABLE @extschema@.red_push (
  national_subject bytea NOT NULL,
  from_region   text NOT NULL,
  since         timestamptz NOT NULL,
  until         timestamptz NOT NULL,
  rules         text[] NOT NULL DEFAULT '{}',
  pushed_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT red_push_pkey PRIMARY KEY (national_subject, from_region)
);
COMMENT ON TABLE @extschema@.red_push IS
  'Red statuses pushed between regions ("red codes pushed by other provinces"): the national pseudonym (never an identifier), the deciding region, since and until when, the rule names. No constraint can fail on a replicated row: checks are in a trigger that logs and skips a bad one.';
COMMENT ON COLUMN @extschema@.red_push.national_subject IS 'The person''s national pseudonym.';
COMMENT ON COLUMN @extschema@.red_push.from_region IS 'The home region of the person in the deciding region''s node.';
COMMENT ON COLUMN @extschema@.red_push.since IS 'Red since.';
COMMENT ON COLUMN @extschema@.red_push.until IS 'Red until (the deciding region''s timeline; infinity while it lasts).';
COMMENT ON COLUMN @extschema@.red_push.rules IS 'Why, as rule names only (no places, no times).';
COMMENT ON COLUMN @extschema@.red_push.pushed_at IS 'When the deciding node last wrote it.';

-- Health data shared between regions (national mutual recognition, mode 1:
-- "epidemic prevention and health information data" shared without
-- changing the local code), by national pseudonym: what a destination needs
-- to decide about a visitor, never an identifier or an itinerary. A region's
-- own health-code system (healthcode_peer, at the hub) or a region node
-- writes its residents' rows; they flow with the status digests (to the
-- hub, and on to the nodes that take digests), where a person registered
-- with the same national pseudonym has them as evidence under the
-- destination's own policy (61_status_engine.sql; 94_federation_peers.sql).
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

-- ---- the one list of evidence tables --------------------------------------------
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
       ('medicine_sale', 'sold_at', '', '_evidence_changed', 'region', false, true),
       ('travel', 'at', '', '_travel_changed', 'region', false, true),
       ('risk_area', 'effective_from', '', '_risk_area_changed', 'division', true, false),
       ('policy', 'valid_from', '', '_policy_changed', 'region', true, false);
REVOKE ALL ON @extschema@.evidence_table FROM PUBLIC;
GRANT SELECT ON @extschema@.evidence_table TO PUBLIC;
