-- ---------------------------------------------------------------------------
-- Proxies (亲友代领, doc/api.md): someone without a phone — an elderly
-- person, a child — gets their code through a guardian. A link records the
-- dependant's consent (a reference to the signed form); a guardian has at
-- most the policy's max_dependants (their region's, in force now); every
-- call made for a dependant is logged as made by the guardian; a link is
-- revoked, never deleted, and a revoked link allows nothing. A link names
-- two people, maybe of two regions: a scoped role sees it only when it
-- acts for both (96_rls.sql).
-- ---------------------------------------------------------------------------

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

-- A standing link between two people of the caller's regions, locked
-- (for_update: to revoke it; else against a revocation under way); P0002
-- otherwise, the same whether a person is unknown, of another region or not
-- linked.
CREATE FUNCTION @extschema@._require_link(guardian_identifier text, dependant_identifier text,
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

CREATE FUNCTION @extschema@._proxy_log(l @extschema@.guardian_link, action text) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  INSERT INTO @extschema@.proxy_action (person_id, region, guardian_id, guardian_region, link_id, action, made_by)
  VALUES (l.person_id, l.region, l.guardian_id, l.guardian_region, l.id, _proxy_log.action,
          @extschema@._caller()::regrole::text);
END;
COMMENT ON FUNCTION @extschema@._proxy_log(@extschema@.guardian_link, text) IS 'Internal: records a proxy action.';
REVOKE ALL ON FUNCTION @extschema@._proxy_log(@extschema@.guardian_link, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.link_guardian(guardian_identifier text, dependant_identifier text, relation text,
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

CREATE FUNCTION @extschema@.revoke_guardian(guardian_identifier text, dependant_identifier text, reason text)
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

CREATE FUNCTION @extschema@.code_screen_for(guardian_identifier text, dependant_identifier text,
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

CREATE FUNCTION @extschema@.issue_for_dependant(guardian_identifier text, dependant_identifier text,
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

CREATE FUNCTION @extschema@.declare_for(guardian_identifier text, dependant_identifier text,
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
