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
CREATE FUNCTION @extschema@.screen_reasons(reasons jsonb) RETURNS jsonb
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
CREATE FUNCTION @extschema@._code_screen(person_id bigint, qr text, valid_for interval)
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
