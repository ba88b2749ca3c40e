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

CREATE FUNCTION @extschema@.mask_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  -- blanks of every kind (the ideographic space U+3000 among them) around the name go
  SELECT CASE
    WHEN pg_catalog.length(n) OPERATOR(pg_catalog.=) 0 THEN NULL
    WHEN pg_catalog.length(n) OPERATOR(pg_catalog.=) 1 THEN n
    WHEN pg_catalog.length(n) OPERATOR(pg_catalog.=) 2 THEN pg_catalog.left(n, 1) OPERATOR(pg_catalog.||) '*'
    ELSE pg_catalog.left(n, 1)
         OPERATOR(pg_catalog.||) pg_catalog.repeat('*', pg_catalog.length(n) OPERATOR(pg_catalog.-) 2)
         OPERATOR(pg_catalog.||) pg_catalog.right(n, 1) END
    FROM (SELECT pg_catalog.regexp_replace(name, '^[[:space:]　]+|[[:space:]　]+$', '', 'g') AS n) t;
END;
COMMENT ON FUNCTION @extschema@.mask_name(text) IS
  'A display name with all but its first and last characters masked (张小三 -> 张*三, 张三 -> 张*); the only form of a name the database stores.';

CREATE FUNCTION @extschema@.symptoms_known(symptoms text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN symptoms OPERATOR(pg_catalog.<@) ARRAY['fever', 'cough', 'sore_throat', 'fatigue', 'shortness_of_breath',
                                               'loss_of_taste_or_smell', 'diarrhoea', 'muscle_pain', 'headache']
       AND pg_catalog.array_position(symptoms, NULL) IS NULL;
COMMENT ON FUNCTION @extschema@.symptoms_known(text[]) IS
  'True when every symptom is in the vocabulary: fever, cough, sore_throat, fatigue, shortness_of_breath, loss_of_taste_or_smell, diarrhoea, muscle_pain, headache.';

CREATE TABLE @extschema@.person (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL
                CONSTRAINT region_is_division_code
                CHECK (@extschema@.division_code_valid(region) AND region <> '000000'),
  subject       bytea NOT NULL
                CONSTRAINT subject_is_pseudonym CHECK (pg_catalog.length(subject) = 16),
  display_name  text
                CONSTRAINT display_name_is_masked
                CHECK (display_name IS NULL OR pg_catalog.strpos(display_name, '*') > 0
                       OR pg_catalog.length(display_name) = 1),
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT registered_at_is_finite CHECK (pg_catalog.isfinite(registered_at)),
  national_subject bytea
                CONSTRAINT national_subject_is_pseudonym CHECK (pg_catalog.length(national_subject) = 16),
  CONSTRAINT person_subject_key UNIQUE (subject),
  CONSTRAINT person_id_region_key UNIQUE (id, region)
);
COMMENT ON TABLE @extschema@.person IS
  'A person known to the system: internal id, home region, subject pseudonym (keyed hash of the identifier, never the identifier) and masked display name.';
COMMENT ON COLUMN @extschema@.person.id IS 'Internal id; never shown on a code.';
COMMENT ON COLUMN @extschema@.person.region IS 'Home division code: whose policy governs the person and which region''s operators see them.';
COMMENT ON COLUMN @extschema@.person.subject IS 'healthcode.pseudonym(identifier): the 16-byte keyed hash that codes carry.';
COMMENT ON COLUMN @extschema@.person.display_name IS 'The name as healthcode.mask_name() leaves it; the full name is never stored.';
COMMENT ON COLUMN @extschema@.person.registered_at IS 'When the person was registered (the start of a periodic-testing grace period).';
COMMENT ON COLUMN @extschema@.person.national_subject IS 'national_pseudonym(identifier): the same on every node that holds the national key, so a red decided in another region can reach the person here; NULL when registered without it.';

-- The columns every evidence table shares: id, person, region.
-- (Written out per table: CREATE TABLE ... (LIKE) would not carry the FK.)

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
                CONSTRAINT place_is_division_code
                CHECK (@extschema@.division_code_valid(place) AND place <> '000000'),
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
COMMENT ON COLUMN @extschema@.travel.place IS 'Division code of the place stayed in.';
COMMENT ON COLUMN @extschema@.travel.at IS 'When the person was there.';
COMMENT ON COLUMN @extschema@.travel.source IS 'telecom (itinerary), transport, venue_scan or declared (trip declaration).';
COMMENT ON COLUMN @extschema@.travel.venue IS 'The venue''s id, for venue scans.';
COMMENT ON COLUMN @extschema@.travel.recorded_at IS 'When the record was imported.';

CREATE TABLE @extschema@.test_result (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('pcr', 'antigen')),
  sampled_at    timestamptz NOT NULL CONSTRAINT sampled_at_is_finite CHECK (pg_catalog.isfinite(sampled_at)),
  result        text NOT NULL CONSTRAINT result_is_known CHECK (result IN ('positive', 'negative')),
  lab           text NOT NULL CONSTRAINT lab_is_named CHECK (pg_catalog.length(lab) > 0),
  sample_id     text NOT NULL CONSTRAINT sample_id_is_named CHECK (pg_catalog.length(sample_id) > 0),
  reported_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT test_result_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT test_result_natural_key UNIQUE (lab, sample_id)
);
CREATE INDEX test_result_person ON @extschema@.test_result (person_id, sampled_at);
COMMENT ON TABLE @extschema@.test_result IS
  'Lab results (PCR, antigen). A lab correcting a result updates its row (natural key lab + sample_id); status follows.';
COMMENT ON COLUMN @extschema@.test_result.id IS 'Result id.';
COMMENT ON COLUMN @extschema@.test_result.person_id IS 'The person tested.';
COMMENT ON COLUMN @extschema@.test_result.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.test_result.kind IS 'pcr or antigen.';
COMMENT ON COLUMN @extschema@.test_result.sampled_at IS 'When the sample was taken: test windows count from here.';
COMMENT ON COLUMN @extschema@.test_result.result IS 'positive or negative.';
COMMENT ON COLUMN @extschema@.test_result.lab IS 'The reporting lab.';
COMMENT ON COLUMN @extschema@.test_result.sample_id IS 'The lab''s sample id; with lab, the natural key.';
COMMENT ON COLUMN @extschema@.test_result.reported_at IS 'When the result was imported.';

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
COMMENT ON TABLE @extschema@.contact IS
  'Contact-tracing lists: close contacts (red) and secondary contacts (yellow) of a case, with the exposure time.';
COMMENT ON COLUMN @extschema@.contact.id IS 'Contact record id.';
COMMENT ON COLUMN @extschema@.contact.person_id IS 'The contact.';
COMMENT ON COLUMN @extschema@.contact.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.contact.kind IS 'close or secondary.';
COMMENT ON COLUMN @extschema@.contact.exposure_at IS 'When the exposure happened: the window counts from here.';
COMMENT ON COLUMN @extschema@.contact.source_case IS 'The tracing team''s reference of the case (never an identifier).';

CREATE TABLE @extschema@.checkin (
  id            bigserial PRIMARY KEY,
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
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT checkin_natural_key UNIQUE (person_id, region, day)
);
COMMENT ON TABLE @extschema@.checkin IS
  'Daily health check-ins of people in quarantine: consecutive normal days release red (14 by default) and yellow (7).';
COMMENT ON COLUMN @extschema@.checkin.id IS 'Check-in id.';
COMMENT ON COLUMN @extschema@.checkin.person_id IS 'The person checking in.';
COMMENT ON COLUMN @extschema@.checkin.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.checkin.at IS 'When the check-in was made.';
COMMENT ON COLUMN @extschema@.checkin.day IS 'The calendar day (China Standard Time) it counts for: one check-in a day.';
COMMENT ON COLUMN @extschema@.checkin.temperature IS 'Measured temperature in tenths of a degree; at or above the policy''s fever threshold the day is abnormal.';
COMMENT ON COLUMN @extschema@.checkin.symptoms IS 'Symptoms reported; any makes the day abnormal.';

CREATE TABLE @extschema@.risk_area (
  id            bigserial PRIMARY KEY,
  division      text NOT NULL
                CONSTRAINT division_is_division_code
                CHECK (@extschema@.division_code_valid(division) AND division <> '000000'),
  level         text NOT NULL CONSTRAINT level_is_known CHECK (level IN ('low', 'medium', 'high')),
  effective_from timestamptz NOT NULL
                CONSTRAINT effective_from_is_finite CHECK (pg_catalog.isfinite(effective_from)),
  effective_until timestamptz,
  bulletin      text,
  CONSTRAINT effective_until_after_from CHECK (effective_until > effective_from),
  CONSTRAINT risk_area_natural_key UNIQUE (division, effective_from)
);
CREATE INDEX risk_area_division ON @extschema@.risk_area (division);
COMMENT ON TABLE @extschema@.risk_area IS
  'Risk-area bulletins: a division (and every division below it) is low, medium or high risk over [effective_from, effective_until). A stay counts by the level in force when it happened; overlapping bulletins take the highest level.';
COMMENT ON COLUMN @extschema@.risk_area.id IS 'Bulletin row id.';
COMMENT ON COLUMN @extschema@.risk_area.division IS 'The division code the bulletin names; it covers the codes below it.';
COMMENT ON COLUMN @extschema@.risk_area.level IS 'low, medium (stays give yellow) or high (stays give red).';
COMMENT ON COLUMN @extschema@.risk_area.effective_from IS 'Start of the designation (may lie before the bulletin''s publication).';
COMMENT ON COLUMN @extschema@.risk_area.effective_until IS 'End of the designation; NULL while it lasts. Downgrading an area sets this.';
COMMENT ON COLUMN @extschema@.risk_area.bulletin IS 'The bulletin''s reference or text.';

CREATE TABLE @extschema@.manual_decision (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL
                CONSTRAINT kind_is_known CHECK (kind IN ('override', 'medical_release', 'appeal_upheld')),
  colour        @extschema@.risk_colour,
  valid_from    timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT valid_from_is_finite CHECK (pg_catalog.isfinite(valid_from)),
  valid_until   timestamptz,
  decided_by    text NOT NULL DEFAULT CURRENT_USER,
  authority     text NOT NULL CONSTRAINT authority_is_named CHECK (pg_catalog.length(pg_catalog.btrim(authority)) > 0),
  reason        text NOT NULL CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  decided_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT manual_decision_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT colour_only_for_override CHECK ((kind = 'override') = (colour IS NOT NULL)),
  CONSTRAINT valid_until_only_for_override CHECK (kind = 'override' OR valid_until IS NULL),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from)
);
CREATE INDEX manual_decision_person ON @extschema@.manual_decision (person_id);
COMMENT ON TABLE @extschema@.manual_decision IS
  'Manual decisions are evidence too, never a silent edit: override (a colour over [valid_from, valid_until)), medical_release and appeal_upheld (end every trigger that started before valid_from). Who, under which authority, why.';
COMMENT ON COLUMN @extschema@.manual_decision.id IS 'Decision id.';
COMMENT ON COLUMN @extschema@.manual_decision.person_id IS 'The person decided about.';
COMMENT ON COLUMN @extschema@.manual_decision.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.manual_decision.kind IS 'override, medical_release or appeal_upheld.';
COMMENT ON COLUMN @extschema@.manual_decision.colour IS 'The colour an override sets; NULL for releases.';
COMMENT ON COLUMN @extschema@.manual_decision.valid_from IS 'When the decision takes effect.';
COMMENT ON COLUMN @extschema@.manual_decision.valid_until IS 'When an override ends; NULL: until further notice.';
COMMENT ON COLUMN @extschema@.manual_decision.decided_by IS 'The database role that recorded it.';
COMMENT ON COLUMN @extschema@.manual_decision.authority IS 'The authority under which it was taken (e.g. the epidemic prevention headquarters'' order number).';
COMMENT ON COLUMN @extschema@.manual_decision.reason IS 'Why: required, never empty.';
COMMENT ON COLUMN @extschema@.manual_decision.decided_at IS 'When it was recorded.';

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

CREATE TABLE @extschema@.correction (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  evidence      text NOT NULL
                CONSTRAINT evidence_is_known
                CHECK (evidence IN ('travel', 'test_result', 'contact', 'vaccination', 'checkin', 'declaration')),
  evidence_id   bigint NOT NULL,
  claim         text NOT NULL CONSTRAINT claim_is_given CHECK (pg_catalog.length(pg_catalog.btrim(claim)) > 0),
  requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  status        text NOT NULL DEFAULT 'pending'
                CONSTRAINT status_is_known CHECK (status IN ('pending', 'accepted', 'rejected')),
  decided_by    text,
  decided_at    timestamptz,
  decision_reason text,
  evidence_snapshot jsonb,
  CONSTRAINT correction_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT decision_is_complete
    CHECK ((status = 'pending') = (decided_at IS NULL)
           AND (status = 'pending' OR (decided_by IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(decision_reason)) > 0)))
);
CREATE INDEX correction_pending ON @extschema@.correction (requested_at) WHERE status = 'pending';
COMMENT ON TABLE @extschema@.correction IS
  'Error correction (GB/T 38963): a person disputes one piece of evidence; an operator accepts (the evidence is removed, a copy kept here, the status follows) or rejects it, with a reason.';
COMMENT ON COLUMN @extschema@.correction.id IS 'Correction request id.';
COMMENT ON COLUMN @extschema@.correction.person_id IS 'The person asking.';
COMMENT ON COLUMN @extschema@.correction.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.correction.evidence IS 'The evidence table disputed.';
COMMENT ON COLUMN @extschema@.correction.evidence_id IS 'The id of the disputed row.';
COMMENT ON COLUMN @extschema@.correction.claim IS 'What the person says is wrong.';
COMMENT ON COLUMN @extschema@.correction.requested_at IS 'When it was asked.';
COMMENT ON COLUMN @extschema@.correction.status IS 'pending, accepted or rejected.';
COMMENT ON COLUMN @extschema@.correction.decided_by IS 'The operator role that decided.';
COMMENT ON COLUMN @extschema@.correction.decided_at IS 'When it was decided.';
COMMENT ON COLUMN @extschema@.correction.decision_reason IS 'Why it was accepted or rejected.';
COMMENT ON COLUMN @extschema@.correction.evidence_snapshot IS 'The removed evidence row, as it was, when accepted.';

CREATE INDEX person_region ON @extschema@.person (region);
CREATE INDEX person_national_subject ON @extschema@.person (national_subject) WHERE national_subject IS NOT NULL;

-- Reds decided in a region, pushed to every other one through the hub
-- (92_federation.sql): a node's own rows are those of its people, the
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
