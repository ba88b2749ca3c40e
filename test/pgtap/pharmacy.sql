-- Pharmacy registration (issue 15, point 5): a pharmacy registers sales of
-- fever, cough, antiviral and antibiotic medicine with the buyer's
-- identifier; the policy rule medicine_purchase_yellow (off by default)
-- turns the buyer yellow until a negative test sampled after the sale,
-- with a reason naming the medicine, the pharmacy and the day; roles and
-- regions as for any evidence.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(27);

SELECT create_key('330000') IS NOT NULL AS k \gset
SELECT create_venue('330106001001', '西湖大药房', 'pharmacy') AS v_drug \gset
SELECT create_venue('330106001001', '社区超市', 'supermarket') AS v_shop \gset
SELECT person_id AS p FROM declare('330106199001014326', '330106', '张三丰') \gset
SELECT person_id AS q FROM declare('330106199001015433', '330106', '李四') \gset
SELECT now() - interval '5 hours' AS sold \gset

-- ---- off by default -------------------------------------------------------------------------
SELECT is(register_medicine_sale('330106199001014326', :v_drug, 'antipyretic', :'sold'), true, 'a sale is registered');
SELECT is(register_medicine_sale('330106199001014326', :v_drug, 'antipyretic', :'sold'), false, 'the same sale again: not twice');
SELECT is((SELECT medicine || ' ' || place || ' ' || (venue = :v_drug) FROM medicine_sale WHERE person_id = :p),
          'antipyretic 330106001001 true', 'kept with the medicine, the pharmacy and its place');
SELECT is((SELECT colour::text FROM status(:p)), 'green', 'under the default policy a purchase changes no colour');

-- ---- the rule on ---------------------------------------------------------------------------
INSERT INTO policy (region, medicine_purchase_yellow, description_zh, description_en)
VALUES ('330100', true, '杭州：购买退烧药等需核酸', 'Hangzhou: buyers of fever medicine need a test');
SELECT is((SELECT colour::text FROM status(:p)), 'yellow', 'with medicine_purchase_yellow the buyer turns yellow');
SELECT is((SELECT r ->> 'rule' FROM status(:p) s, jsonb_array_elements(s.reasons) r), 'medicine_purchase',
          'the reason is the purchase');
SELECT is((SELECT r ->> 'text' FROM status(:p) s, jsonb_array_elements(s.reasons) r),
          'bought antipyretics at a pharmacy in 330106001001 on ' || to_char(:'sold'::timestamptz AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
          'its text names the medicine, the pharmacy''s place and the day');
SELECT is((SELECT r ->> 'text_en' FROM code_screen(:p, 'none') c, jsonb_array_elements(c.reasons) r),
          'bought antipyretics at 西湖大药房 on ' || to_char(:'sold'::timestamptz AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
          'the code screen names the pharmacy: "bought antipyretics at <venue> on <date>"');
SELECT is((SELECT r ->> 'text_zh' FROM code_screen(:p, 'none') c, jsonb_array_elements(c.reasons) r),
          to_char(:'sold'::timestamptz AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || ' 在西湖大药房购买退烧药',
          'and in Chinese');
SELECT import_test_results(json_build_array(json_build_object('person_id', :p, 'kind', 'antigen', 'result', 'negative',
         'sampled_at', :'sold'::timestamptz - interval '1 day', 'lab', 'L', 'sample_id', 'PH-1'))) AS n \gset
SELECT is((SELECT colour::text FROM status(:p)), 'yellow', 'a negative test sampled before the purchase does not release it');
SELECT import_test_results(json_build_array(json_build_object('person_id', :p, 'kind', 'antigen', 'result', 'negative',
         'sampled_at', :'sold'::timestamptz + interval '2 hours', 'lab', 'L', 'sample_id', 'PH-2'))) AS n \gset
SELECT is((SELECT colour::text FROM status(:p)), 'green', 'a negative test sampled after it does');
SELECT is((SELECT colour::text FROM status(:q)), 'green', 'someone who bought nothing stays green');

-- ---- in bulk --------------------------------------------------------------------------------
SELECT is(import_medicine_sales(json_build_array(
            json_build_object('identifier', '330106199001015433', 'venue', :v_drug, 'medicine', 'cough', 'at', now() - interval '1 hour'),
            json_build_object('person_id', :q, 'venue', :v_drug, 'medicine', 'antiviral', 'at', now() - interval '1 hour'))), 2,
          'a pharmacy''s system registers sales in bulk');
SELECT is((SELECT colour::text FROM status(:q)), 'yellow', 'and the buyer turns yellow');
SELECT is(pg_temp.error_of(format($$SELECT import_medicine_sales('[{"person_id": %s, "venue": %s, "medicine": "cough", "at": "%s"}]')$$,
                                  :q, :v_shop, now() - interval '1 hour')),
          format('22023: medicine sale import: record 1: field "venue": no pharmacy %s open at the sale in the regions the caller acts for', :v_shop),
          'a venue that is no pharmacy refuses the batch, naming the record and field');
SELECT is(pg_temp.error_of(format($$SELECT import_medicine_sales('[{"person_id": %s, "venue": %s, "medicine": "vitamins", "at": "%s"}]')$$,
                                  :q, :v_drug, now() - interval '1 hour')) ~ '^22023: medicine sale import: record 1, field "medicine"',
          true, 'a medicine the rule does not know refuses the batch');

-- ---- bad calls ------------------------------------------------------------------------------
SELECT is(pg_temp.error_of(format('SELECT register_medicine_sale(%L, %s, %L)', '330106199001014326', :v_drug, 'vitamins')),
          '22023: medicine must be antipyretic, cough, antiviral or antibiotic, not ''vitamins''', 'an unknown medicine is refused');
SELECT is(pg_temp.error_of(format('SELECT register_medicine_sale(%L, %s, %L)', '330106199001014326', :v_shop, 'cough')),
          format('22023: venue %s is a supermarket, not a pharmacy', :v_shop), 'a supermarket registers no sales');
SELECT is(pg_temp.error_of(format('SELECT register_medicine_sale(%L, %s, %L, ''infinity'')', '330106199001014326', :v_drug, 'cough')) ~ '^22[0-9A-Z]{3}: at must be a finite time',
          true, 'an infinite time is refused');
SELECT is(pg_temp.error_of(format('SELECT register_medicine_sale(%L, %s, %L, now() + interval ''1 day'')', '330106199001014326', :v_drug, 'cough')) ~ '^22',
          true, 'a sale in the future is refused');

-- ---- roles and regions ----------------------------------------------------------------------
SELECT is(pg_temp.state_as('regress_hc_app_zj', format('SELECT healthcode.register_medicine_sale(%L, %s, %L)', '330106199001014326', :v_drug, 'cough')),
          'ok', 'a Zhejiang app registers a sale at a Zhejiang pharmacy');
SELECT is((pg_temp.attempt('regress_hc_op_bj', format('SELECT healthcode.register_medicine_sale(%L, %s, %L)', '330106199001014326', :v_drug, 'cough'))).state,
          'P0002', 'a Beijing operator finds neither the buyer nor the pharmacy');
SELECT is((pg_temp.attempt('regress_hc_verifier', format('SELECT healthcode.register_medicine_sale(%L, %s, %L)', '330106199001014326', :v_drug, 'cough'))).state,
          '42501', 'a verifier may not register sales');
SELECT is(pg_temp.rows_as('regress_hc_op_bj', 'SELECT count(*) FROM healthcode.medicine_sale'), ARRAY['0'],
          'a Beijing operator sees no Zhejiang sale');

-- straight into the table, as operators may write evidence: held to the same checks
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$INSERT INTO healthcode.medicine_sale (person_id, region, medicine, sold_at, venue, place)
            VALUES (%s, '330106', 'cough', now() - interval '2 hours', %s, '330106001001')$$, :p, :v_shop)), '23503',
          'a direct write naming a supermarket is refused');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$INSERT INTO healthcode.medicine_sale (person_id, region, medicine, sold_at, venue, place)
            VALUES (%s, '330106', 'cough', now() - interval '2 hours', %s, '330106002001')$$, :p, :v_drug)), '22023',
          'or a place that is not the pharmacy''s');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$INSERT INTO healthcode.medicine_sale (person_id, region, medicine, sold_at, venue, place)
            VALUES (%s, '330106', 'cough', now() - interval '2 hours', %s, '330106001001')$$, :p, :v_drug)), 'ok',
          'a sale at the pharmacy, at its place, is taken');

SELECT * FROM finish();
ROLLBACK;
