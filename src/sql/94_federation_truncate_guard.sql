-- ---------------------------------------------------------------------------
-- Federation: the tables that receive from other nodes cannot be
-- truncated by a replicated TRUNCATE (every one of them exists by now).
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['key_exchange', 'status_digest', 'red_push', 'policy_exchange', 'code_revocation',
                                 'arrival_rule_exchange', 'exposure_notice', 'venue_closure', 'health_share'] LOOP
    EXECUTE format('CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard()', t);
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ALWAYS TRIGGER exchange_truncate_guard', t);
  END LOOP;
END $$;
