-- ---------------------------------------------------------------------------
-- The roles. Five group roles (NOLOGIN, made here if missing; a DBA grants
-- them to login roles):
--   healthcode_admin     national: everything, every region
--   healthcode_operator  reads and manages the people of its regions
--   healthcode_app       a backend: declare, import, issue, verify, read
--                        one person's status, through functions only
--   healthcode_analyst   aggregate views only, small counts suppressed
--   healthcode_verifier  verify codes only
--   healthcode_peer      (on the hub) another region's own health-code
--                        system: shares its residents' health data and
--                        reads its visitors', through functions only
-- Made first, so that each function can be granted where it is defined.
-- Which regions a role acts for is 45_scope.sql's concern.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['healthcode_admin', 'healthcode_operator', 'healthcode_app',
                           'healthcode_analyst', 'healthcode_verifier', 'healthcode_peer'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

-- healthcode_admin has every other role's rights but a peer's: a peer speaks
-- for its own regions' system, which no national role does.
GRANT healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier TO healthcode_admin;
