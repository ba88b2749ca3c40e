-- A role with none of the extension's grants gets 42501 from the
-- functions, tables and views it tries; mask_name is public.
-- Needs: only the extension (04_helpers.sql); the role is made and dropped here.
SET search_path = public, healthcode;
SET timezone = 'UTC';

CREATE ROLE hc04_status_user;
SET ROLE hc04_status_user;
SELECT try($$SELECT healthcode.register_person('hc04 x', '460105')$$) AS register_person;
SELECT try($$SELECT * FROM healthcode.declare('hc04 x', '460105')$$) AS declare;
SELECT try($$SELECT * FROM healthcode.check_in('hc04 x')$$) AS check_in;
SELECT try($$SELECT healthcode.issue_for(1)$$) AS issue_for;
SELECT try($$SELECT healthcode.import_test_results('[]')$$) AS import_test_results;
SELECT try($$SELECT healthcode.create_travel_partitions()$$) AS create_travel_partitions;
SELECT try($$SELECT * FROM healthcode.generate_population(1)$$) AS generate_population;
SELECT try($$INSERT INTO healthcode.declaration (person_id, region) VALUES (1, '460105')$$) AS insert_declaration;
SELECT try($$SELECT count(*) FROM healthcode.person$$) AS read_person;
SELECT try($$SELECT count(*) FROM healthcode.current_status$$) AS read_current_status;
SELECT try($$DELETE FROM healthcode.policy WHERE region = '460000'$$) AS delete_policy;
SELECT healthcode.mask_name('张小三') AS mask_name_is_public;
RESET ROLE;
DROP ROLE hc04_status_user;
