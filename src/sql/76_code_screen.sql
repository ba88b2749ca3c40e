-- ---------------------------------------------------------------------------
-- The citizen's code screen, one call (doc/api.md): colour, masked name and
-- ID number, reasons in Chinese and English with place names, the latest
-- test, the doses, since and until when, and a fresh code with its QR.
-- ---------------------------------------------------------------------------

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

-- An ID number as a screen shows it: its first and last two characters.
CREATE FUNCTION @extschema@.mask_identifier(identifier text) RETURNS text
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
CREATE FUNCTION @extschema@.reason_text_zh(reason jsonb, place_zh text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
-- (PL/pgSQL, not a SQL body: a screen calls it for every reason, and a
-- SQL function's stored body is read back from the catalog at every call)
AS $$
DECLARE
  day text := left(reason ->> 'at', 10);
  temperature text := substring(reason ->> 'text', '([0-9]+\.[0-9]) °C');
BEGIN
  RETURN CASE reason ->> 'rule'
    WHEN 'stay_high_risk' THEN format('%s 到访%s（高风险区）', day, place_zh)
    WHEN 'stay_medium_risk' THEN format('%s 到访%s（中风险区）', day, place_zh)
    WHEN 'close_contact' THEN format('%s 为病例的密切接触者', day)
    WHEN 'secondary_contact' THEN format('%s 为病例的次密切接触者', day)
    WHEN 'declared_contact' THEN format('%s 申报与病例有接触', day)
    WHEN 'positive_test' THEN format('%s 采样的检测结果为阳性', day)
    WHEN 'pushed_red' THEN format('%s 其他地区推送的红码', day)
    WHEN 'symptoms' THEN format('%s 申报有症状', day)
    WHEN 'medicine_purchase' THEN
      format('%s 在%s购买%s', day, COALESCE(reason ->> 'venue', place_zh || '的药店'),
             CASE substring(reason ->> 'text', '^bought (.*) at ')
               WHEN 'antipyretics' THEN '退烧药' WHEN 'cough medicine' THEN '止咳药'
               WHEN 'antivirals' THEN '抗病毒药' WHEN 'antibiotics' THEN '抗生素' ELSE '药品' END)
    WHEN 'fever' THEN format('%s 体温 %s°C', day, temperature)
    WHEN 'abnormal_checkin' THEN
      CASE WHEN temperature IS NOT NULL THEN format('%s 健康打卡体温 %s°C', day, temperature)
           ELSE format('%s 健康打卡报告有症状', day) END
    WHEN 'audit_finding' THEN format('申报与核查数据不符（%s 核查）', day)
    WHEN 'test_overdue' THEN
      CASE WHEN (reason ->> 'text') LIKE '%registration%'
           THEN format('需定期检测：自 %s 登记以来没有阴性结果', day)
           ELSE format('需定期检测：最近一次阴性结果采样于 %s', day) END
    WHEN 'override' THEN
      format('人工决定：%s（%s 起）',
             CASE reason ->> 'colour' WHEN 'green' THEN '绿码' WHEN 'yellow' THEN '黄码' ELSE '红码' END, day)
    ELSE reason ->> 'text' END;
END $$;
COMMENT ON FUNCTION @extschema@.reason_text_zh(jsonb, text) IS
  'A status reason''s text in Chinese (the engine writes English), its place named place_zh.';

-- The reasons as a screen shows them: each with its place's names and its
-- text in both languages (the English one with the place's name).
CREATE FUNCTION @extschema@.screen_reasons(reasons jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF reasons IS NULL OR jsonb_array_length(reasons) = 0 THEN
    RETURN '[]'::jsonb;
  END IF;
  RETURN (
    SELECT jsonb_agg(r.reason || jsonb_build_object(
             'place_zh', p.zh, 'place_en', p.en,
             'text_zh', @extschema@.reason_text_zh(r.reason, COALESCE(p.zh, r.place)),
             'text_en', CASE WHEN r.place IS NULL THEN r.reason ->> 'text'
                             -- (a pharmacy's sale: the pharmacy by its name)
                             WHEN r.reason ? 'venue'
                             THEN replace(r.reason ->> 'text', 'a pharmacy in ' || r.place, r.reason ->> 'venue')
                             ELSE replace(r.reason ->> 'text', r.place, p.en) END)
           ORDER BY r.n)
      FROM (SELECT x.reason || CASE WHEN v.name IS NOT NULL THEN jsonb_build_object('venue', v.name) ELSE '{}' END AS reason,
                   x.n,
                   NULLIF(x.reason ->> 'place', '') AS place
              FROM jsonb_array_elements(reasons) WITH ORDINALITY AS x(reason, n)
              LEFT JOIN LATERAL (SELECT @extschema@._sale_venue_name((x.reason ->> 'ref')::bigint) AS name
                                  WHERE x.reason ->> 'rule' = 'medicine_purchase') v ON v.name IS NOT NULL) r
      CROSS JOIN LATERAL (SELECT @extschema@.division_label(r.place, 'zh') AS zh,
                                 @extschema@.division_label(r.place, 'en') AS en) p);
END $$;
COMMENT ON FUNCTION @extschema@.screen_reasons(jsonb) IS
  'Status reasons as a screen shows them: each with place_zh and place_en (division_label) and text_zh and text_en; a pharmacy sale''s with its venue''s name (venue) where the caller acts for the buyer.';

-- One screen: the person (already found within the caller's scope), a
-- code signed at this statement's instant and the status it carries (read
-- once, so the two always agree).
CREATE FUNCTION @extschema@._code_screen(person_id bigint, qr text, valid_for interval)
RETURNS @extschema@.code_screen
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.code_screen;
  t timestamptz := statement_timestamp();
BEGIN
  IF qr IS NULL OR qr NOT IN ('svg', 'png', 'none') THEN
    RAISE EXCEPTION 'qr must be svg, png or none, not %', coalesce(quote_literal(@extschema@._shorten(qr)), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  -- the code first: it refuses what cannot be issued (a lifetime beyond
  -- the policy's, a status about to change), and counts in code_event
  SELECT i.code, (i.status).person_id, (i.status).colour, (i.status).vaccinated,
         @extschema@.screen_reasons((i.status).reasons), (i.status).since, (i.status).valid_until
    INTO r.code, r.person_id, r.colour, r.vaccinated, r.reasons, r.since, r.valid_until
    FROM @extschema@._issue_with_status(_code_screen.person_id, valid_for, false, false) i;
  r.display_name := (SELECT p.display_name FROM @extschema@.person p WHERE p.id = r.person_id);
  SELECT x.kind, x.sampled_at, x.result, floor(extract(epoch FROM t - x.sampled_at) / 3600)::integer
    INTO r.latest_test_kind, r.latest_test_sampled_at, r.latest_test_result, r.latest_test_hours
    FROM @extschema@.test_result x
   WHERE x.person_id = _code_screen.person_id AND x.sampled_at <= t
   ORDER BY x.sampled_at DESC LIMIT 1;
  SELECT count(DISTINCT v.dose), max(v.given_at), (array_agg(v.product ORDER BY v.given_at DESC, v.dose DESC))[1]
    INTO r.doses, r.last_dose_at, r.last_dose_product
    FROM @extschema@.vaccination v
   WHERE v.person_id = _code_screen.person_id AND v.given_at <= t;
  r.qr_svg := CASE qr WHEN 'svg' THEN @extschema@.qr_svg(r.code) END;
  r.qr_png := CASE qr WHEN 'png' THEN @extschema@.qr_png(r.code) END;
  RETURN r;
END $$;
COMMENT ON FUNCTION @extschema@._code_screen(bigint, text, interval) IS
  'Internal: the code screen of a person the caller may act for (code_screen).';
REVOKE ALL ON FUNCTION @extschema@._code_screen(bigint, text, interval) FROM PUBLIC;

CREATE FUNCTION @extschema@.code_screen(identifier text, qr text DEFAULT 'svg',
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

CREATE FUNCTION @extschema@.code_screen(person_id bigint, qr text DEFAULT 'svg',
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
